/*
 * guest_check.c - NUMA checks run inside a multi-node QEMU guest (tests/numa-guest/run.sh).
 *
 * Usage: guest_check NODES DIST CPUS
 *   NODES  node IDs the guest was booted with, "0,1,2,3"
 *   DIST   the SLIT QEMU was given, rows by node, "10,20;20,10"
 *   CPUS   CPU IDs per node, nodes separated by ';', "0;1;;" (empty: a node without CPUs)
 *
 * Prints one line per check, "CHECK <name> PASS|FAIL <detail>", and, for the matrix, one
 * "CHASE cpu:<c> mem:<m> ns_per_access:<x> placed:<share>" line per pair.  Exits 0 when
 * every check passed, 1 otherwise, 2 on bad usage.  Tests placement and counters through
 * runtime/src/numa.c (compiled in); never speed: guest latency is emulated.
 */
#include "bench_numa.h"
#include "numa_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PG 4096UL

static int failures;

static void check(const char *name, int ok, const char *fmt, ...)
{
    va_list ap;
    printf("CHECK %s %s ", name, ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!ok)
        failures++;
}

static int exp_n;
static int exp_id[MN_NUMA_MAX_NODES];
static int exp_dist[MN_NUMA_MAX_NODES][MN_NUMA_MAX_NODES];
static int exp_ncpus[MN_NUMA_MAX_NODES];
static int exp_cpu[MN_NUMA_MAX_NODES][64];

static int parse(const char *nodes, const char *dist, const char *cpus)
{
    char *s = strdup(nodes), *tok, *save;
    for (tok = strtok_r(s, ",", &save); tok && exp_n < MN_NUMA_MAX_NODES;
         tok = strtok_r(NULL, ",", &save))
        exp_id[exp_n++] = atoi(tok);
    free(s);
    const char *p = dist;
    for (int i = 0; i < exp_n; i++)
        for (int j = 0; j < exp_n; j++) {
            char *end;
            exp_dist[i][j] = (int)strtol(p, &end, 10);
            if (end == p)
                return -1;
            p = (*end == ',' || *end == ';') ? end + 1 : end;
        }
    p = cpus;
    for (int i = 0; i < exp_n; i++) {
        while (*p && *p != ';') {
            char *end;
            long c = strtol(p, &end, 10);
            if (end == p)
                return -1;
            exp_cpu[i][exp_ncpus[i]++] = (int)c;
            p = *end == ',' ? end + 1 : end;
        }
        if (*p == ';')
            p++;
    }
    return exp_n > 0 ? 0 : -1;
}

static void check_topology(const struct mn_numa_topo *t)
{
    int ok = t->libnuma && t->nnodes == exp_n;
    for (int i = 0; ok && i < exp_n; i++)
        ok = t->node[i].id == exp_id[i] && t->node[i].mem_total > 0 && t->node[i].mem_allowed;
    check("topology.nodes", ok, "nodes %d (expected %d), max id %d, memory nodes %d", t->nnodes,
          exp_n, t->max_node_id, t->nnodes_mem);
    ok = 1;
    for (int i = 0; ok && i < exp_n; i++) {
        int got[64];
        int n = mn_numa_node_cpus(exp_id[i], false, got, 64);
        ok = n == exp_ncpus[i];
        for (int k = 0; ok && k < n; k++)
            ok = got[k] == exp_cpu[i][k] && mn_numa_node_of_cpu(got[k]) == exp_id[i] &&
                 mn_numa_cpu_node(got[k]) == exp_id[i];
        if (!ok)
            printf("  node %d: %d CPUs, expected %d\n", exp_id[i], n, exp_ncpus[i]);
    }
    check("topology.cpus", ok, "CPUs per node as configured (CPU-less nodes included)");
    ok = 1;
    for (int i = 0; i < exp_n; i++)
        for (int j = 0; j < exp_n; j++)
            if (mn_numa_distance(exp_id[i], exp_id[j]) != exp_dist[i][j]) {
                printf("  distance %d-%d: %d, expected %d\n", exp_id[i], exp_id[j],
                       mn_numa_distance(exp_id[i], exp_id[j]), exp_dist[i][j]);
                ok = 0;
            }
    char json[1024];
    (void)bench_numa_slit_json(json, sizeof json);
    check("topology.distances", ok, "%s", json);
    check("probe",
          t->placement_ok && !t->mbind_errno && !t->move_pages_errno && !t->set_mempolicy_errno &&
              t->numa_balancing == 0,
          "placement_ok %d mbind %d move_pages %d set_mempolicy %d numa_balancing %d '%s'",
          t->placement_ok, t->mbind_errno, t->move_pages_errno, t->set_mempolicy_errno,
          t->numa_balancing, bench_numa_why_not());
}

/* first_cpu_node - index of the first node with an allowed CPU. */
static int first_cpu_node(const struct mn_numa_topo *t)
{
    for (int i = 0; i < t->nnodes; i++)
        if (t->node[i].ncpus_allowed > 0)
            return i;
    return -1;
}

static void check_remote_alloc(const struct mn_numa_topo *t, int home)
{
    const size_t pages = 256;
    for (int m = 0; m < t->nnodes; m++) {
        void *p;
        struct bench_numa_where w = {0};
        int rc = bench_numa_alloc(&p, pages * PG, t->node[m].id, false);
        if (rc == 0) {
            rc = bench_numa_where(p, pages * PG, &w);
            munmap(p, pages * PG);
        }
        char name[64];
        snprintf(name, sizeof name, "alloc.cpu%d.mem%d", t->node[home].id, t->node[m].id);
        check(name, rc == 0 && w.on[m] == pages && w.failed == 0,
              "rc %d, %zu of %zu pages on node %d (failed %zu, first errno %d)", rc, w.on[m], pages,
              t->node[m].id, w.failed, w.first_errno);
    }
}

/* The scheduler's path: mn_numa_bind (MPOL_PREFERRED) on a fresh arena before first touch,
 * as stack.c does for each P's stacks when numa_local is on. */
static void check_numa_local_bind(const struct mn_numa_topo *t)
{
    const size_t pages = 64;
    for (int m = 0; m < t->nnodes; m++) {
        struct bench_numa_where w = {0};
        char *p =
            mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int rc = p == MAP_FAILED ? -errno : 0;
        if (!rc) {
            (void)madvise(p, pages * PG, MADV_NOHUGEPAGE);
            rc =
                mn_numa_bind(p + 100, pages * PG - 100, t->node[m].id, false); /* unaligned start */
        }
        if (!rc) {
            memset(p, 1, pages * PG);
            rc = bench_numa_where(p, pages * PG, &w);
        }
        if (p != MAP_FAILED)
            munmap(p, pages * PG);
        char name[64];
        snprintf(name, sizeof name, "numa_local.bind.node%d", t->node[m].id);
        check(name, rc == 0 && w.on[m] == pages, "rc %d, %zu of %zu pages on node %d", rc, w.on[m],
              pages, t->node[m].id);
    }
    int ok = 1;
    for (int i = 0; i < t->nnodes; i++) {
        int cpus[64];
        int n = mn_numa_node_cpus(t->node[i].id, true, cpus, 64);
        for (int k = 0; k < n && k < 64; k++)
            if (mn_numa_node_of_cpu(cpus[k]) != t->node[i].id)
                ok = 0;
    }
    check("numa_local.node_of_cpu", ok && mn_numa_placement_ok() == 1,
          "every allowed CPU maps to its node; placement_ok %d", mn_numa_placement_ok());
}

static void check_numastat(const struct mn_numa_topo *t, int home)
{
    const size_t pages = 1024;
    int remote = -1;
    for (int i = 0; i < t->nnodes && remote < 0; i++)
        if (i != home && t->node[i].mem_allowed)
            remote = i;
    struct bench_numastat_snap a, b, d;
    struct bench_numastat tot;
    void *p = NULL, *q = NULL;
    int rc = bench_numastat_snapshot(&a);
    if (!rc)
        rc = bench_numa_alloc(&p, pages * PG, t->node[remote].id, false);
    if (!rc)
        rc = bench_numa_alloc(&q, pages * PG, t->node[home].id, false);
    if (!rc)
        rc = bench_numastat_snapshot(&b);
    if (p)
        munmap(p, pages * PG);
    if (q)
        munmap(q, pages * PG);
    if (rc) {
        check("numastat", 0, "rc %d", rc);
        return;
    }
    bench_numastat_delta(&a, &b, &d, &tot);
    const struct bench_numastat *r = &d.node[remote], *h = &d.node[home];
    printf("  remote node %d: hit %llu miss %llu foreign %llu local %llu other %llu\n",
           t->node[remote].id, (unsigned long long)r->numa_hit, (unsigned long long)r->numa_miss,
           (unsigned long long)r->numa_foreign, (unsigned long long)r->local_node,
           (unsigned long long)r->other_node);
    printf("  home node %d:   hit %llu miss %llu foreign %llu local %llu other %llu\n",
           t->node[home].id, (unsigned long long)h->numa_hit, (unsigned long long)h->numa_miss,
           (unsigned long long)h->numa_foreign, (unsigned long long)h->local_node,
           (unsigned long long)h->other_node);
    check("numastat.remote_bind_counts_other_node",
          r->numa_hit >= pages && r->other_node >= pages && r->local_node < pages,
          "%zu pages bound to node %d from a CPU of node %d", pages, t->node[remote].id,
          t->node[home].id);
    check("numastat.local_alloc_counts_local_node",
          h->numa_hit >= pages && h->local_node >= pages && h->other_node < pages,
          "%zu pages bound to the home node %d", pages, t->node[home].id);
    check("numastat.shares",
          bench_numastat_remote_share(&tot) > 0.25 && bench_numastat_remote_share(&tot) < 0.75,
          "remote_share %.3f (about half the pages were remote)",
          bench_numastat_remote_share(&tot));
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A small standalone chase: every (CPU node, memory node) pair gets a value and a verified
 * placement.  The value is printed, never compared: guest latency is emulated. */
static void check_chase_matrix(const struct mn_numa_topo *t)
{
    const size_t bytes = 1UL << 20, lines = bytes / 64;
    cpu_set_t old;
    int pairs = 0, good = 0;
    sched_getaffinity(0, sizeof old, &old);
    for (int c = 0; c < t->nnodes; c++) {
        if (t->node[c].ncpus_allowed == 0)
            continue;
        if (bench_numa_run_on_node(t->node[c].id) != 0)
            continue;
        for (int m = 0; m < t->nnodes; m++) {
            if (!t->node[m].mem_allowed)
                continue;
            pairs++;
            char *buf;
            if (bench_numa_alloc((void **)&buf, bytes, t->node[m].id, false) != 0)
                continue;
            uint64_t x = 88172645463325252ULL;
            size_t *idx = malloc(lines * sizeof *idx);
            for (size_t i = 0; i < lines; i++)
                idx[i] = i;
            for (size_t i = lines - 1; i > 0; i--) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                size_t j = x % i, tmp = idx[i];
                idx[i] = idx[j], idx[j] = tmp;
            }
            for (size_t i = 0; i < lines; i++)
                *(void **)(buf + idx[i] * 64) = buf + idx[(i + 1) % lines] * 64;
            free(idx);
            void **p = (void **)buf;
            double t0 = now_ns();
            for (size_t i = 0; i < 4 * lines; i++)
                p = (void **)*p;
            double ns = (now_ns() - t0) / (4.0 * lines);
            struct bench_numa_where w = {0};
            int rc = bench_numa_where(buf, bytes, &w);
            double share = w.pages ? (double)w.on[m] / (double)w.pages : 0;
            printf("CHASE cpu:%d mem:%d ns_per_access:%.1f placed:%.3f end:%p\n", t->node[c].id,
                   t->node[m].id, ns, share, (void *)p);
            if (rc == 0 && share == 1.0 && ns > 0)
                good++;
            munmap(buf, bytes);
        }
    }
    sched_setaffinity(0, sizeof old, &old);
    int expect = 0;
    for (int c = 0; c < t->nnodes; c++)
        for (int m = 0; m < t->nnodes; m++)
            expect += t->node[c].ncpus_allowed > 0 && t->node[m].mem_allowed;
    check("chase.matrix", pairs == expect && good == expect,
          "%d of %d (cpu node, mem node) pairs measured with every page on the mem node", good,
          expect);
}

int main(int argc, char **argv)
{
    if (argc != 4 || parse(argv[1], argv[2], argv[3]) != 0) {
        fprintf(stderr, "usage: guest_check NODES DIST CPUS  e.g. 0,1 '10,20;20,10' '0;1'\n");
        return 2;
    }
    if (mn_numa_init() != 0)
        return 1;
    const struct mn_numa_topo *t = mn_numa_topology();
    check_topology(t);
    int home = first_cpu_node(t);
    if (t->nnodes < 2 || home < 0 || !t->placement_ok) {
        check("multi-node", 0, "cannot continue: %s", bench_numa_why_not());
        return 1;
    }
    if (bench_numa_run_on_node(t->node[home].id) != 0)
        check("run_on_node", 0, "cannot pin to node %d", t->node[home].id);
    check_remote_alloc(t, home);
    check_numa_local_bind(t);
    check_numastat(t, home);
    check_chase_matrix(t);
    printf("GUEST-CHECK %s (%d failed)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
