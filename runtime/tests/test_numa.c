/*
 * test_numa.c - NUMA topology, placement and numastat (runtime/src/numa.c, mn_numa.h).
 *
 * Every expectation is computed independently from /sys/devices/system/node, so the same
 * tests hold on this one-node host and on a multi-node host or guest.  Placement checks use
 * move_pages status queries; numastat checks count pages allocated with MADV_NOHUGEPAGE.
 * The multi-node cases (remote placement, other_node) run in tests/numa-guest.
 */
#include <criterion/criterion.h>

#include "bench_numa.h"
#include "numa_internal.h"

#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define SYSNODE "/sys/devices/system/node"

/* sys_node_ids - node IDs present in /sys, ascending; returns the count. */
static int sys_node_ids(int *ids, int max)
{
    DIR *d = opendir(SYSNODE);
    int n = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9' && n < max)
            ids[n++] = atoi(e->d_name + 4);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    return n;
}

/* sys_cpulist - CPUs of node id from its cpulist file ("0-3,8"); marks cpus[c] = 1. */
static int sys_cpulist(int id, char *cpus, int max)
{
    char path[96], buf[4096];
    snprintf(path, sizeof path, SYSNODE "/node%d/cpulist", id);
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f)
        return 0;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = 0;
    fclose(f);
    for (char *s = buf; *s && *s != '\n';) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s)
            break;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        for (long c = a; c <= b && c < max; c++, n++)
            cpus[c] = 1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

Test(numa, topology_matches_sysfs)
{
    int ids[MN_NUMA_MAX_NODES];
    int n = sys_node_ids(ids, MN_NUMA_MAX_NODES);
    const struct mn_numa_topo *t = mn_numa_topology();
    cr_assert(t->libnuma, "numa_available() < 0 on a kernel with %d nodes in /sys", n);
    cr_assert_eq(t->nnodes, n, "nodes: topology %d, /sys %d", t->nnodes, n);
    cr_assert_geq(t->max_node_id, t->nnodes - 1, "numa_max_node is an ID >= count-1");
    int total = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(t->node[i].id, ids[i]);
        cr_assert_eq(mn_numa_index_of(ids[i]), i);
        char cpus[MN_NUMA_MAX_CPUS] = {0};
        int nc = sys_cpulist(ids[i], cpus, MN_NUMA_MAX_CPUS);
        cr_assert_eq(t->node[i].ncpus, nc, "node %d: %d CPUs, cpulist has %d", ids[i],
                     t->node[i].ncpus, nc);
        cr_assert_eq(mn_numa_node_cpus(ids[i], false, NULL, 0), nc);
        for (int c = 0; c < MN_NUMA_MAX_CPUS; c++)
            if (cpus[c]) {
                cr_assert_eq(mn_numa_cpu_node(c), ids[i], "cpu %d", c);
                cr_assert_eq(mn_numa_node_of_cpu(c), ids[i], "cpu %d", c);
            }
        total += nc;
        cr_assert_leq(t->node[i].ncpus_allowed, t->node[i].ncpus);
        cr_assert_leq(t->node[i].mem_free, t->node[i].mem_total);
    }
    cr_assert_eq(t->ncpus, total);
    cr_assert_eq(mn_numa_index_of(t->max_node_id + 1), -EINVAL);
}

Test(numa, distances_match_sysfs)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    for (int i = 0; i < t->nnodes; i++) {
        char path[96];
        snprintf(path, sizeof path, SYSNODE "/node%d/distance", t->node[i].id);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        for (int j = 0; j < t->nnodes; j++) {
            int d = -1;
            cr_assert_eq(fscanf(f, "%d", &d), 1);
            cr_assert_eq(mn_numa_distance(t->node[i].id, t->node[j].id), d, "dist %d-%d",
                         t->node[i].id, t->node[j].id);
        }
        fclose(f);
        cr_assert_eq(mn_numa_distance(t->node[i].id, t->node[i].id), 10);
    }
    cr_assert_eq(mn_numa_distance(t->max_node_id + 1, t->node[0].id), -EINVAL);
    char buf[64 * 1024];
    int len = bench_numa_slit_json(buf, sizeof buf);
    cr_assert_eq((size_t)len, strlen(buf));
    cr_assert(!strncmp(buf, "{\"nodes\":[", 10), "%s", buf);
    char small[8];
    cr_assert_eq(bench_numa_slit_json(small, sizeof small), len, "snprintf-style length");
    cr_assert_eq(strlen(small), sizeof small - 1);
    if (t->nnodes == 1)
        cr_assert_str_eq(buf, "{\"nodes\":[0],\"dist\":[[10]]}");
}

Test(numa, placement_verdict_and_reason)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    cr_assert_eq(mn_numa_init(), 0);
    cr_assert_eq(mn_numa_placement_ok(), t->placement_ok);
    if (t->placement_ok) {
        cr_assert_geq(t->nnodes_mem, 2);
        cr_assert_eq(t->mbind_errno, 0);
        cr_assert_eq(bench_numa_why_not()[0], 0);
    } else {
        cr_assert(!strncmp(bench_numa_why_not(), "n/a: ", 5), "why_not '%s'", bench_numa_why_not());
    }
    if (t->nnodes == 1 && t->mbind_errno == 0 && t->move_pages_errno == 0)
        cr_assert_str_eq(bench_numa_why_not(), "n/a: 1 NUMA node");
    /* an unknown CPU maps to a node mn_numa_bind accepts */
    int dn = mn_numa_node_of_cpu(-1);
    cr_assert_geq(mn_numa_index_of(dn), 0);
    cr_assert_eq(mn_numa_node_of_cpu(MN_NUMA_MAX_CPUS + 5), dn);
    cr_assert_eq(mn_numa_cpu_node(-1), -EINVAL);
    int cpu = sched_getcpu();
    cr_assert_eq(mn_numa_node_of_cpu(cpu), mn_numa_cpu_node(cpu));
}

Test(numa, bind_places_pages_on_each_memory_node)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    const size_t bytes = 64 * 4096;
    for (int i = 0; i < t->nnodes; i++) {
        int id = t->node[i].id;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert_neq(p, MAP_FAILED);
        cr_assert_eq(madvise(p, bytes, MADV_NOHUGEPAGE), 0);
        int rc = mn_numa_bind(p, bytes, id, false);
        if (!t->node[i].mem_allowed) {
            cr_assert_eq(rc, -ENODEV, "memoryless / forbidden node %d: %d", id, rc);
            munmap(p, bytes);
            continue;
        }
        if (t->mbind_errno) {
            cr_assert_eq(rc, -ENOSYS);
            munmap(p, bytes);
            continue;
        }
        cr_assert_eq(rc, 0, "bind node %d: %s", id, strerror(-rc));
        memset(p, 1, bytes);
        struct bench_numa_where w;
        rc = bench_numa_where(p, bytes, &w);
        if (t->move_pages_errno == 0) {
            cr_assert_eq(rc, 0);
            cr_assert_eq(w.pages, 64);
            cr_assert_eq(w.failed, 0, "first errno %d", w.first_errno);
            cr_assert_eq(w.on[i], 64, "pages on node %d: %zu of 64", id, w.on[i]);
        }
        munmap(p, bytes);
    }
    cr_assert_eq(mn_numa_bind(&t, 0, t->node[0].id, false), -EINVAL);
    cr_assert_eq(mn_numa_bind(&t, 8, t->max_node_id + 1, false), -EINVAL);
    int st[1];
    cr_assert_eq(bench_numa_page_nodes((char *)&st + 1, 1, st), -EINVAL, "unaligned address");
}

Test(numa, alloc_strict_and_unmapped_status)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    if (t->mbind_errno || t->move_pages_errno)
        cr_skip_test("%s", bench_numa_why_not());
    int dn = mn_numa_node_of_cpu(-1);
    void *p;
    cr_assert_eq(bench_numa_alloc(&p, 10 * 4096 + 1, dn, false), 0);
    cr_assert_eq((uintptr_t)p % (2u << 20), 0, "2 MiB aligned");
    struct bench_numa_where w;
    cr_assert_eq(bench_numa_where(p, 11 * 4096, &w), 0);
    cr_assert_eq(w.on[mn_numa_index_of(dn)], 11);
    munmap(p, 11 * 4096);
    /* a page that is no longer mapped reports a per-page negative errno */
    int st[1] = {12345};
    cr_assert_eq(bench_numa_page_nodes(p, 1, st), 0);
    cr_assert_lt(st[0], 0, "status of an unmapped page: %d", st[0]);
    cr_assert_eq(bench_numa_alloc(&p, 0, dn, false), -EINVAL);
    cr_assert_eq(bench_numa_alloc(&p, 4096, t->max_node_id + 1, false), -EINVAL);
}

Test(numa, numastat_counts_page_allocations)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    struct bench_numastat s;
    cr_assert_eq(bench_numastat_read(t->max_node_id + 1, &s), -EINVAL);
    int rc = bench_numastat_read(t->node[0].id, &s);
    if (rc == -ENOENT)
        cr_skip_test("no numastat in /sys");
    cr_assert_eq(rc, 0);
    if (t->mbind_errno)
        cr_skip_test("%s", bench_numa_why_not());
    /* Run on a node with CPUs and allocate there: local_node and numa_hit grow by at least
     * the page count on that node (other tasks only add). */
    int id = -1;
    for (int i = 0; i < t->nnodes && id < 0; i++)
        if (t->node[i].mem_allowed && t->node[i].ncpus_allowed)
            id = t->node[i].id;
    if (id < 0)
        cr_skip_test("no node with both CPUs and memory allowed");
    cpu_set_t old;
    cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
    cr_assert_eq(bench_numa_run_on_node(id), 0);
    cr_assert_eq(mn_numa_node_of_cpu(sched_getcpu()), id);
    const size_t pages = 512;
    struct bench_numastat_snap a, b, per;
    struct bench_numastat d;
    cr_assert_eq(bench_numastat_snapshot(&a), 0);
    void *p;
    cr_assert_eq(bench_numa_alloc(&p, pages * 4096, id, false), 0);
    cr_assert_eq(bench_numastat_snapshot(&b), 0);
    munmap(p, pages * 4096);
    cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
    bench_numastat_delta(&a, &b, &per, &d);
    int i = mn_numa_index_of(id);
    cr_assert_geq(per.node[i].numa_hit, pages, "numa_hit +%llu",
                  (unsigned long long)per.node[i].numa_hit);
    cr_assert_geq(per.node[i].local_node, pages, "local_node +%llu",
                  (unsigned long long)per.node[i].local_node);
    cr_assert_geq(d.numa_hit, per.node[i].numa_hit);
    if (t->nnodes == 1) {
        cr_assert_eq(d.other_node, 0);
        cr_assert_eq(d.numa_miss, 0);
        cr_assert_eq(d.numa_foreign, 0);
    }
}

Test(numa, numastat_delta_and_shares)
{
    struct bench_numastat_snap a = {.nnodes = 2}, b = {.nnodes = 2}, per;
    struct bench_numastat d;
    a.node[0] = (struct bench_numastat){.numa_hit = 100, .local_node = 90, .other_node = 10};
    b.node[0] = (struct bench_numastat){
        .numa_hit = 160, .local_node = 120, .other_node = 40, .numa_foreign = 3};
    a.node[1] = (struct bench_numastat){.numa_hit = 50, .numa_miss = 7};
    b.node[1] = (struct bench_numastat){.numa_hit = 40, .numa_miss = 10}; /* reset: clamped */
    bench_numastat_delta(&a, &b, &per, &d);
    cr_assert_eq(per.nnodes, 2);
    cr_assert_eq(per.node[0].numa_hit, 60);
    cr_assert_eq(per.node[1].numa_hit, 0);
    cr_assert_eq(per.node[1].numa_miss, 3);
    cr_assert_eq(d.numa_hit, 60);
    cr_assert_eq(d.local_node, 30);
    cr_assert_eq(d.other_node, 30);
    cr_assert_eq(d.numa_foreign, 3);
    cr_assert_float_eq(bench_numastat_remote_share(&d), 0.5, 1e-12);
    cr_assert_float_eq(bench_numastat_foreign_share(&d), 3.0 / 63.0, 1e-12);
    struct bench_numastat z = {0};
    cr_assert_eq(bench_numastat_remote_share(&z), 0.0);
    cr_assert_eq(bench_numastat_foreign_share(&z), 0.0);
    bench_numastat_delta(&a, &b, NULL, NULL); /* both outputs optional */
}

Test(numa, run_on_node_pins_to_its_cpus)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    cpu_set_t old, now;
    cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
    cr_assert_eq(bench_numa_run_on_node(t->max_node_id + 1), -EINVAL);
    for (int i = 0; i < t->nnodes; i++) {
        int rc = bench_numa_run_on_node(t->node[i].id);
        if (t->node[i].ncpus_allowed == 0) {
            cr_assert_eq(rc, -ENODEV);
            continue;
        }
        cr_assert_eq(rc, 0);
        cr_assert_eq(sched_getaffinity(0, sizeof now, &now), 0);
        cr_assert_eq(CPU_COUNT(&now), t->node[i].ncpus_allowed);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &now))
                cr_assert_eq(mn_numa_cpu_node(c), t->node[i].id);
    }
    cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
}

/* The filter below applies to this ISA's syscall numbers only (other ABIs pass). */
#if defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#endif

/* A container whose seccomp profile refuses the memory-policy calls with EPERM while
 * get_mempolicy (what numa_available() uses) works.  Criterion runs each test in a fresh
 * process, so the topology is first read here, under the filter. */
Test(numa, container_eperm_probe_turns_placement_off)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mbind, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_set_mempolicy, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_move_pages, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "seccomp: %s",
                 strerror(errno));
    const struct mn_numa_topo *t = mn_numa_topology();
    cr_assert(t->libnuma, "numa_available() still says yes");
    cr_assert_eq(t->mbind_errno, EPERM);
    cr_assert_eq(t->set_mempolicy_errno, EPERM);
    cr_assert_eq(t->move_pages_errno, EPERM);
    cr_assert_eq(t->placement_ok, false);
    cr_assert_eq(mn_numa_placement_ok(), 0);
    cr_assert_str_eq(bench_numa_why_not(), "n/a: mbind: Operation not permitted");
    int id = mn_numa_node_of_cpu(0);
    char buf[8192] __attribute__((aligned(4096)));
    cr_assert_eq(mn_numa_bind(buf, sizeof buf, id, false), -ENOSYS);
    cr_assert_eq(mn_numa_bind(buf, sizeof buf, id, true), -ENOSYS);
    void *p;
    cr_assert_eq(bench_numa_alloc(&p, 4096, id, false), -ENOSYS);
    int st[2];
    cr_assert_eq(bench_numa_page_nodes(buf, 2, st), -ENOSYS);
    /* topology and numastat still work: they only read /sys */
    cr_assert_geq(t->nnodes, 1);
    struct bench_numastat_snap snap;
    cr_assert_eq(bench_numastat_snapshot(&snap), 0);
}

/* A process started with an affinity mask smaller than the machine (taskset, a cpuset):
 * nodes keep all their CPUs, and the allowed ones are counted apart. */
Test(numa, affinity_subset_counts_allowed_cpus)
{
    int first = -1;
    for (int c = 0; c < MN_NUMA_MAX_CPUS && first < 0; c++) {
        char cpus[MN_NUMA_MAX_CPUS] = {0};
        int ids[MN_NUMA_MAX_NODES], n = sys_node_ids(ids, MN_NUMA_MAX_NODES);
        for (int i = 0; i < n; i++)
            sys_cpulist(ids[i], cpus, MN_NUMA_MAX_CPUS);
        if (cpus[c])
            first = c;
    }
    cr_assert_geq(first, 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0); /* before the first read */
    const struct mn_numa_topo *t = mn_numa_topology();
    int allowed = 0, total = 0;
    for (int i = 0; i < t->nnodes; i++) {
        allowed += t->node[i].ncpus_allowed;
        total += t->node[i].ncpus;
        if (t->node[i].id == mn_numa_cpu_node(first)) {
            cr_assert_eq(t->node[i].ncpus_allowed, 1);
            cr_assert_eq(t->node[i].first_cpu_allowed, first);
            int c = -1;
            cr_assert_eq(mn_numa_node_cpus(t->node[i].id, true, &c, 1), 1);
            cr_assert_eq(c, first);
        } else {
            cr_assert_eq(t->node[i].ncpus_allowed, 0);
            cr_assert_eq(t->node[i].first_cpu_allowed, -1);
        }
    }
    cr_assert_eq(allowed, 1);
    cr_assert_eq(total, t->ncpus, "every CPU still listed under its node");
}
