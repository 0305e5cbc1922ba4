/*
 * sysinfo.c - the host description written into every results file's JSON context
 * (benches/FORMAT.md "Context keys").  Everything comes from /proc and /sys, read once at
 * start-up; a value that cannot be read is "n/a: <reason>" so consumers can show why.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* read_line - first line of path into buf without the newline; 0 or -errno. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    if (!fgets(buf, (int)n, f)) {
        fclose(f);
        return -EIO;
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static void add_file(void (*add)(const char *, const char *), const char *key, const char *path,
                     const char *missing)
{
    char buf[512];
    if (read_line(path, buf, sizeof buf) == 0)
        add(key, buf);
    else
        add(key, missing);
}

int bench_pmu_present(void)
{
    /* A CPU PMU registers as "cpu" (x86), "cpu_core"/"cpu_atom" (hybrid), "armv8_*" or
     * "arm_*" (arm64); software, tracepoint, breakpoint, msr, uprobe, kprobe are not. */
    DIR *d = opendir("/sys/bus/event_source/devices");
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while ((de = readdir(d)) && !found)
        found = !strcmp(de->d_name, "cpu") || !strncmp(de->d_name, "cpu_", 4) ||
                !strncmp(de->d_name, "armv8", 5) || !strncmp(de->d_name, "arm_", 4);
    closedir(d);
    return found;
}

void bench_sysinfo(void (*add)(const char *key, const char *value))
{
    char buf[4096], line[512];
    struct utsname u;

    if (gethostname(buf, sizeof buf) == 0)
        add("host", buf);
    if (uname(&u) == 0) {
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.machine);
        add("kernel", buf);
    }

    /* cpu_model: first "model name" line (x86) or "Model"/"CPU part" elsewhere. */
    snprintf(buf, sizeof buf, "n/a: no model name in /proc/cpuinfo");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5)) {
                char *c = strchr(line, ':');
                if (c) {
                    c += 1 + (c[1] == ' ');
                    c[strcspn(c, "\n")] = 0;
                    snprintf(buf, sizeof buf, "%s", c);
                    break;
                }
            }
        fclose(f);
    }
    add("cpu_model", buf);

    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        snprintf(buf, sizeof buf, "%d", CPU_COUNT(&set));
        add("cores", buf);
    }
    add_file(add, "smt", "/sys/devices/system/cpu/smt/active", "n/a: no smt control");

    /* numa_nodes and slit: nodes with a distance file, and the SLIT rows "10 21;21 10". */
    int nodes = 0;
    char slit[2048] = "";
    for (int n = 0; n < 1024; n++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/distance", n);
        if (read_line(path, line, sizeof line) != 0) {
            if (access("/sys/devices/system/node", F_OK) != 0)
                break;
            if (n > 64)
                break;
            continue;
        }
        nodes++;
        size_t len = strlen(slit);
        snprintf(slit + len, sizeof slit - len, "%s%.200s", len ? ";" : "", line);
    }
    snprintf(buf, sizeof buf, "%d", nodes ? nodes : 1);
    add("numa_nodes", buf);
    add("slit", nodes ? slit : "n/a: no /sys/devices/system/node");

    add_file(add, "governor", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "none");
    add_file(add, "thp", "/sys/kernel/mm/transparent_hugepage/enabled", "n/a: no THP");
    add_file(add, "perf_event_paranoid", "/proc/sys/kernel/perf_event_paranoid",
             "n/a: no perf_event");
    add("pmu", bench_pmu_present() ? "present" : "absent");
    add_file(add, "threads_max", "/proc/sys/kernel/threads-max", "n/a");
    add_file(add, "pid_max", "/proc/sys/kernel/pid_max", "n/a");
    add_file(add, "max_map_count", "/proc/sys/vm/max_map_count", "n/a");
}
