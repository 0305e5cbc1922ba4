/*
 * guest_sched.c - numa_local through the scheduler, inside a multi-node guest.
 *
 * Usage: guest_sched WIRED   (WIRED: 1 = the runtime calls mn_numa_bind, enforce the checks;
 *                             0 = print the findings and exit 0)
 *
 * A runtime with one P per CPU (bind_p on, so each P's M stays on its CPU and node),
 * numa_local on and G reuse off (every G gets a fresh stack from the spawning P, which
 * makes the expected node exact).  The main G starts one "spawner" G per P; each spins
 * (without yielding, so idle Ps steal the others) until spawners run on every node with
 * CPUs, then spawns children.  Each child asks move_pages where its stack page is.  Checks:
 *   sched.spawners_cover_nodes   spawners ran on every node that has a P
 *   sched.stacks_on_spawner_node every child's stack page is on the node of the P that
 *                                created it (the P's node = its CPU's node)
 * Prints "CHECK <name> PASS|FAIL <detail>"; exits 1 on a failure when WIRED, else 0.
 */
#include "mn.h"
#include "bench_numa.h"
#include "numa_internal.h"

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NCH 16 /* children per spawner */

struct rec {
    int spawner_node, run_node, stack_node, rc;
};

static struct mn_wg wg;
static struct rec *recs;
static int nsp;
static uint64_t want_mask, seen_mask;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int node_here(void)
{
    return mn_numa_node_of_cpu(sched_getcpu());
}

static void child(void *arg)
{
    struct rec *r = arg;
    volatile char here = 1;
    const void *page = (const void *)((uintptr_t)&here & ~(uintptr_t)4095);
    int st = -1;
    r->rc = bench_numa_page_nodes(page, 1, &st);
    r->stack_node = st;
    r->run_node = node_here();
    mn_wg_done(&wg);
}

static void spawner(void *arg)
{
    int i = (int)(intptr_t)arg;
    int idx = mn_numa_index_of(node_here());
    __atomic_or_fetch(&seen_mask, 1ULL << (idx & 63), __ATOMIC_SEQ_CST);
    double t0 = now_s();
    while ((__atomic_load_n(&seen_mask, __ATOMIC_SEQ_CST) & want_mask) != want_mask &&
           now_s() - t0 < 5.0)
        ; /* hog this P so idle Ps steal the other spawners */
    int node = node_here();
    mn_wg_add(&wg, NCH);
    for (int k = 0; k < NCH; k++) {
        struct rec *r = &recs[i * NCH + k];
        r->spawner_node = node;
        r->rc = 1;
        if (mn_go(child, r) != 0)
            mn_wg_done(&wg);
    }
    mn_wg_done(&wg);
}

static int main_g(void *arg)
{
    (void)arg;
    mn_wg_add(&wg, nsp);
    for (int i = 0; i < nsp; i++)
        if (mn_go(spawner, (void *)(intptr_t)i) != 0)
            mn_wg_done(&wg);
    return mn_wg_wait(&wg) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int wired = argc > 1 && atoi(argv[1]) == 1, failures = 0;
    const struct mn_numa_topo *t = mn_numa_topology();
    struct mn_config cfg;
    if (mn_config_init(&cfg) != 0)
        return 2;
    cfg.gomaxprocs = 0;
    cfg.bind_p = true;
    cfg.numa_local = true;
    cfg.reuse_g = false;
    cpu_set_t aff;
    sched_getaffinity(0, sizeof aff, &aff);
    nsp = CPU_COUNT(&aff);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &aff))
            want_mask |= 1ULL << (mn_numa_index_of(mn_numa_node_of_cpu(c)) & 63);
    recs = calloc((size_t)nsp * NCH, sizeof *recs);
    mn_wg_init(&wg);
    int rc = mn_init(&cfg);
    if (rc == 0)
        rc = mn_run(main_g, NULL);
    (void)mn_fini();
    if (rc != 0 || !recs) {
        printf("CHECK sched.run FAIL mn_init/mn_run returned %d\n", rc);
        return wired ? 1 : 0;
    }
    int ok_cover = (seen_mask & want_mask) == want_mask;
    printf("CHECK sched.spawners_cover_nodes %s seen node mask 0x%llx, wanted 0x%llx\n",
           ok_cover ? "PASS" : "FAIL", (unsigned long long)seen_mask,
           (unsigned long long)want_mask);
    failures += !ok_cover;
    int n = nsp * NCH, on = 0, bad = 0, remote_run = 0;
    for (int i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->rc == 0 && r->stack_node == r->spawner_node)
            on++;
        else if (bad++ < 5)
            printf("  child %d: rc %d, spawned on node %d, stack on %d, ran on %d\n", i, r->rc,
                   r->spawner_node, r->stack_node, r->run_node);
        remote_run += r->run_node != r->spawner_node;
    }
    printf("SCHED children %d, stacks on the spawning P's node %d, children run on another "
           "node %d (stolen), nodes %d\n",
           n, on, remote_run, t->nnodes);
    printf("CHECK sched.stacks_on_spawner_node %s %d of %d\n", on == n ? "PASS" : "FAIL", on, n);
    failures += on != n;
    if (!wired) {
        printf("SCHED not enforced: the runtime does not call mn_numa_bind\n");
        return 0;
    }
    return failures ? 1 : 0;
}
