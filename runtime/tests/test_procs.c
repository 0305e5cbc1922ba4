/*
 * test_procs.c - the default GOMAXPROCS (mn.h mn_default_gomaxprocs): the affinity mask,
 * lowered to the cgroup CPU limit rounded up (under a 0.5 CPU quota the
 * runtime picked 2 Ps).  The cgroup reader runs on fake v1/v2 trees (mn_x_cpu_quota's
 * prefix), and, where this process may create a cgroup (root, cgroup v1 cpu or v2 with
 * the cpu controller), on a real 0.5 CPU quota in a child.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mn_export.h"
#include "testutil.h"

static char tree[256];

static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s", tree, rel);
    for (char *p = path + strlen(tree) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void fake_tree(void)
{
    snprintf(tree, sizeof tree, "/tmp/mn-test-cgroup-%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tree);
    cr_assert_eq(system(cmd), 0);
    mkdir(tree, 0755);
}

static void rm_tree(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tree);
    cr_assert_eq(system(cmd), 0);
}

#define MOUNTS                                                                                     \
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"           \
    "31 25 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"                         \
    "32 25 0:28 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"

Test(procs, cgroup_v1_limit_of_an_ancestor_caps_the_child)
{
    fake_tree();
    put("/proc/self/cgroup", "4:memory:/m\n1:cpu,cpuacct:/a/b\n0::/\n");
    put("/proc/self/mountinfo", MOUNTS);
    put("/sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "-1\n");
    put("/sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_period_us", "100000\n");
    cr_assert_eq(mn_x_cpu_quota(tree), 0, "no limit anywhere");
    put("/sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "150000\n");
    put("/sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "100000\n");
    cr_assert_float_eq(mn_x_cpu_quota(tree), 1.5, 1e-9, "the parent's 1.5 CPUs cap the child");
    put("/sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "50000\n");
    cr_assert_float_eq(mn_x_cpu_quota(tree), 0.5, 1e-9, "the smaller limit wins");
    rm_tree();
}

Test(procs, cgroup_v2_cpu_max_and_container_root)
{
    fake_tree();
    put("/proc/self/cgroup", "0::/svc/job\n");
    put("/proc/self/mountinfo", MOUNTS);
    put("/sys/fs/cgroup/unified/svc/job/cpu.max", "max 100000\n");
    cr_assert_eq(mn_x_cpu_quota(tree), 0, "max is no limit");
    put("/sys/fs/cgroup/unified/svc/cpu.max", "250000 100000\n");
    cr_assert_float_eq(mn_x_cpu_quota(tree), 2.5, 1e-9);
    /* a container: its cgroup is the mount's root */
    put("/proc/self/mountinfo", "40 30 0:30 /svc/job /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put("/sys/fs/cgroup/cpu.max", "20000 100000\n");
    cr_assert_float_eq(mn_x_cpu_quota(tree), 0.2, 1e-9, "the container's own cpu.max");
    put("/proc/self/cgroup", "garbage\n");
    cr_assert_eq(mn_x_cpu_quota(tree), 0, "an unparsable file is no limit");
    rm_tree();
}

Test(procs, default_is_affinity_capped_by_quota)
{
    struct mn_procs_default d;
    cr_assert_eq(mn_default_gomaxprocs(NULL), -EINVAL);
    cr_assert_eq(mn_default_gomaxprocs(&d), 0);
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    cr_assert_eq(d.cpus, CPU_COUNT(&set));
    cr_assert_eq(d.quota, mn_x_cpu_quota(""));
    int want = d.cpus;
    if (d.quota > 0) {
        int q = (int)d.quota + ((double)(int)d.quota < d.quota);
        want = q < 1 ? 1 : (q < want ? q : want);
    }
    cr_assert_eq(d.gomaxprocs, want, "cpus %d quota %g", d.cpus, d.quota);
    /* mn_init with gomaxprocs 0 takes it */
    unsetenv("MN_GOMAXPROCS");
    cr_assert_eq(mn_init(NULL), 0);
    cr_assert_eq(mn_gomaxprocs(0), d.gomaxprocs);
    cr_assert_eq(mn_fini(), 0);
}

/* ---- a real 0.5 CPU quota, where this process may make a cgroup ---------------------- */

static char cgdir[256];
static bool cg_v2;

static bool write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

static bool make_cgroup(void)
{
    char ctl[256] = "";
    FILE *f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "r");
    if (f) {
        if (!fgets(ctl, sizeof ctl, f))
            ctl[0] = 0;
        fclose(f);
    }
    if (strstr(ctl, "cpu")) {
        snprintf(cgdir, sizeof cgdir, "/sys/fs/cgroup/mn-test-%d", (int)getpid());
        cg_v2 = true;
        return mkdir(cgdir, 0755) == 0 && write_file(cgdir, "cpu.max", "50000 100000");
    }
    const char *v1[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
    for (int i = 0; i < 2; i++) {
        snprintf(cgdir, sizeof cgdir, "%s/mn-test-%d", v1[i], (int)getpid());
        cg_v2 = false;
        if (mkdir(cgdir, 0755) == 0) {
            if (write_file(cgdir, "cpu.cfs_period_us", "100000") &&
                write_file(cgdir, "cpu.cfs_quota_us", "50000"))
                return true;
            rmdir(cgdir);
        }
    }
    return false;
}

static void quota_child(void)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (!write_file(cgdir, "cgroup.procs", pid))
        _exit(10);
    struct mn_procs_default d;
    if (mn_default_gomaxprocs(&d) != 0)
        _exit(11);
    if (d.quota < 0.49 || d.quota > 0.51) {
        fprintf(stderr, "quota %g\n", d.quota);
        _exit(12);
    }
    if (d.gomaxprocs != 1) {
        fprintf(stderr, "gomaxprocs %d\n", d.gomaxprocs);
        _exit(13);
    }
    unsetenv("MN_GOMAXPROCS");
    if (mn_init(NULL) != 0 || mn_gomaxprocs(0) != 1 || mn_fini() != 0)
        _exit(14);
    _exit(0);
}

Test(procs, half_cpu_quota_gives_one_p, .timeout = 60)
{
    if (!make_cgroup())
        cr_skip_test("cannot create a cgroup with a CPU quota here (not root, or no cpu "
                     "controller): the fake-tree tests cover the reader");
    char buf[512];
    int st = run_child(quota_child, buf, sizeof buf);
    /* the child has exited: its cgroup is empty and can go */
    int rm = rmdir(cgdir);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s status %x: %s", cg_v2 ? "v2" : "v1", st,
              buf);
    cr_assert_eq(rm, 0, "rmdir %s", cgdir);
}
