/*
 * sysinfo.c - the host description written into every results file's JSON context
 * (benches/FORMAT.md "Context keys").  Everything comes from /proc and /sys, read once at
 * start-up; a value that cannot be read is "n/a: <reason>" so consumers can show why.
 */
#include "harness.h"
#include "mn.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

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

/* hypervisor - "present: <vendor>" (CPUID leaf 0x40000000 signature), "present" (cpuinfo
 * flag only), "absent" or "unknown: <reason>". */
static void hypervisor(char *out, size_t n)
{
    char line[4096];
    int flag = -1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        flag = 0;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "flags", 5)) {
                flag = strstr(line, " hypervisor") != NULL;
                break;
            }
        fclose(f);
    }
    char vendor[13] = "";
#if defined(__x86_64__) || defined(__i386__)
    if (flag == 1) {
        unsigned int eax, ebx, ecx, edx;
        __cpuid(0x40000000, eax, ebx, ecx, edx);
        memcpy(vendor, &ebx, 4);
        memcpy(vendor + 4, &ecx, 4);
        memcpy(vendor + 8, &edx, 4);
        for (int i = 0; i < 12; i++)
            if ((unsigned char)vendor[i] < 0x20 || (unsigned char)vendor[i] > 0x7e)
                vendor[i] = 0;
    }
#endif
    if (flag == 1)
        snprintf(out, n, vendor[0] ? "present: %s (CPUID 0x40000000)" : "present%s",
                 vendor[0] ? vendor : " (cpuinfo flag hypervisor)");
    else if (flag == 0 && access("/sys/hypervisor/type", R_OK) == 0 &&
             read_line("/sys/hypervisor/type", line, sizeof line) == 0)
        snprintf(out, n, "present: %.100s (/sys/hypervisor/type)", line);
    else if (flag == 0)
        snprintf(out, n, "absent (no hypervisor flag in /proc/cpuinfo)");
    else
        snprintf(out, n, "unknown: /proc/cpuinfo unreadable");
}

/* boost - turbo/boost state from cpufreq: "on", "off", or "unknown: <reason>". */
static void boost(char *out, size_t n)
{
    char v[64];
    if (read_line("/sys/devices/system/cpu/cpufreq/boost", v, sizeof v) == 0)
        snprintf(out, n, "%s (cpufreq/boost)", atoi(v) ? "on" : "off");
    else if (read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof v) == 0)
        snprintf(out, n, "%s (intel_pstate/no_turbo=%s)", atoi(v) ? "off" : "on", v);
    else if (read_line("/sys/devices/system/cpu/amd_pstate/status", v, sizeof v) == 0)
        snprintf(out, n, "unknown: amd_pstate %s without a boost file", v);
    else
        snprintf(out, n,
                 "unknown: no boost control in /sys/devices/system/cpu (no cpufreq "
                 "driver: a guest's clock is the host's business)");
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

    add_file(add, "governor", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
             "unknown: no cpufreq in /sys/devices/system/cpu/cpu0 (Google Benchmark's "
             "cpu_scaling_enabled=false means the same, not that scaling is off)");
    boost(buf, sizeof buf);
    add("boost", buf);
    hypervisor(buf, sizeof buf);
    add("hypervisor", buf);
    /* cgroup CPU limit and default GOMAXPROCS: the runtime's own reading (mn.h
     * mn_default_gomaxprocs: cgroup v2 cpu.max or v1 cfs quota, smallest up to the root). */
    struct mn_procs_default pd;
    if (mn_default_gomaxprocs(&pd) == 0) {
        if (pd.quota > 0)
            snprintf(buf, sizeof buf, "%.2f CPUs (cgroup CPU limit)", pd.quota);
        else
            snprintf(buf, sizeof buf, "none (no cgroup CPU limit on this process)");
        add("cpu_quota", buf);
        /* The runtime's own rule (mn.h mn_default_gomaxprocs): affinity CPUs, lowered to
         * the cgroup CPU limit rounded up. */
        if (pd.quota > 0)
            snprintf(buf, sizeof buf, "%d (mn_default_gomaxprocs: %d CPUs, quota %.2f CPUs)",
                     pd.gomaxprocs, pd.cpus, pd.quota);
        else
            snprintf(buf, sizeof buf, "%d (mn_default_gomaxprocs: %d CPUs, no quota)",
                     pd.gomaxprocs, pd.cpus);
        add("gomaxprocs_default", buf);
    } else {
        add("cpu_quota", "unknown: mn_default_gomaxprocs failed");
        add("gomaxprocs_default", "unknown: mn_default_gomaxprocs failed");
    }
    add_file(add, "thp", "/sys/kernel/mm/transparent_hugepage/enabled", "n/a: no THP");
    add_file(add, "perf_event_paranoid", "/proc/sys/kernel/perf_event_paranoid",
             "n/a: no perf_event");
    add("pmu", bench_pmu_present() ? "present" : "absent");
    add_file(add, "threads_max", "/proc/sys/kernel/threads-max", "n/a");
    add_file(add, "pid_max", "/proc/sys/kernel/pid_max", "n/a");
    add_file(add, "max_map_count", "/proc/sys/vm/max_map_count", "n/a");
}
