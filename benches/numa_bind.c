/*
 * benches/numa_bind.c - the runtime's numa_local switch, and channels across nodes.
 *
 * What is measured
 *   numa/bind/local:L   a fresh runtime on every CPU of the affinity mask (bind_p on, so
 *       each P's M stays on one CPU and so on one node), cfg.numa_local = L.  One iteration
 *       = one round: the main G spawns NB_GS Gs; each keeps NB_DATA bytes of data on its own
 *       stack (the data lives with its G), writes it once and then reads it NB_PASSES
 *       times; the main G waits for all (mn_wg_wait).  With L = 1 the runtime places each
 *       P's stacks and per-P data on its node (mbind) and steals from same-node Ps first;
 *       with L = 0 it places nothing and first touch decides.
 *   chan/numa/cap:C   T10.remote: a runtime with two Ps whose Ms are pinned to one CPU on
 *       each of two different nodes (the process's affinity is narrowed to those two CPUs
 *       before mn_init; bind_p, numa_local on); a producer G sends 8-byte messages through a
 *       channel of capacity C to the main G.  One iteration = one message.  Which P runs
 *       which G is the scheduler's choice: the row measures what the runtime does, not a
 *       forced cross-node pair.
 *   Excluded from the timer: runtime start/stop, a warm-up round.  numastat is read right
 *   before and after the timed loop, so its deltas cover the timed region (and whatever
 *   else the host allocated meanwhile: run on an idle host).
 *
 * Claims
 *   N3.2.latency   ns per access with and without binding (document: 128 vs 63)
 *   N3.2.remote    cross-node share without and with binding (document: 41% vs 6%)
 *   N3.3.foreign   numa_foreign / (numa_hit + numa_miss) below 5%
 *   T10.remote     cross-node share during the channel capacity sweep (67% / 12% / 21%)
 *
 * Arguments
 *   local   cfg.numa_local 0 or 1.
 *   cap     channel capacity 0, 1, 16, 256, 1024.
 *
 * Counters
 *   ns_per_access   (bind) wall-clock ns per 8-byte read of G data, all Gs together
 *   ns_per_msg      (chan) wall-clock ns per message
 *   numa_hit, numa_miss, numa_foreign, local_node, other_node
 *                   numastat deltas over the timed region summed over nodes, in PAGES
 *                   ALLOCATED (not accesses): the kernel counts page allocations only
 *   remote_share    other_node / (local_node + other_node): share of page allocations that
 *                   came from a node other than the allocating CPU's.  This is the only
 *                   kernel-wide proxy for the document's "cross-node access share"; it
 *                   says nothing about accesses to memory allocated earlier (0 when no page
 *                   was allocated: a steady-state workload that reuses its stacks)
 *   foreign_share   numa_foreign / (numa_hit + numa_miss)
 *
 * How to read
 *   Compare local:1 with local:0 as the ratio of ns_per_access medians (the document's
 *   128 -> 63 is a 2x claim) and compare remote_share between them (41% -> 6%).  Expect
 *   small numastat counts: with G reuse on, stacks are allocated once per P and reused, so
 *   most accesses go to memory whose placement was decided during warm-up.  For T10.remote
 *   the channel's buffer is allocated once, so remote_share mostly reflects stack and
 *   runtime allocations, not message traffic; the tables must say so.
 *
 * Confounders and host conditions
 *   Needs >= 2 NUMA nodes with memory and working mbind (else "n/a: 1 NUMA node" or the
 *   probe's reason) and a runtime that starts (else "n/a: mn_init failed: ...").
 *   chan/numa needs two nodes with CPUs.  In an emulated guest latency shows no NUMA effect.
 * numastat is host-wide: other processes' allocations land in the deltas.
 */
#include "bench.h"
#include "mn.h"
#include "bench_numa.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define NB_GS 32            /* Gs per round */
#define NB_DATA (16 * 1024) /* bytes of stack data per G (default stacks are 64 KiB) */
#define NB_PASSES 4         /* read passes over the data per G */

/* ==== shared: numastat counters ======================================================== */

static void report_numastat(struct bench_state *st, const struct bench_numastat_snap *a,
                            const struct bench_numastat_snap *b)
{
    struct bench_numastat d;
    bench_numastat_delta(a, b, NULL, &d);
    bench_set_counter(st, "numa_hit", (double)d.numa_hit, BENCH_C_PLAIN);
    bench_set_counter(st, "numa_miss", (double)d.numa_miss, BENCH_C_PLAIN);
    bench_set_counter(st, "numa_foreign", (double)d.numa_foreign, BENCH_C_PLAIN);
    bench_set_counter(st, "local_node", (double)d.local_node, BENCH_C_PLAIN);
    bench_set_counter(st, "other_node", (double)d.other_node, BENCH_C_PLAIN);
    bench_set_counter(st, "remote_share", bench_numastat_remote_share(&d), BENCH_C_PLAIN);
    bench_set_counter(st, "foreign_share", bench_numastat_foreign_share(&d), BENCH_C_PLAIN);
}

/* ==== numa/bind ======================================================================== */

struct bind_run {
    struct bench_state *st;
    struct mn_wg wg;
    struct bench_numastat_snap before, after;
    int snap_rc;
    uint64_t sink;
};

static void bind_worker(void *arg)
{
    struct bind_run *r = arg;
    volatile uint64_t data[NB_DATA / sizeof(uint64_t)]; /* lives on this G's stack */
    uint64_t sum = 0;
    for (size_t i = 0; i < NB_DATA / sizeof(uint64_t); i++)
        data[i] = i;
    for (int p = 0; p < NB_PASSES; p++)
        for (size_t i = 0; i < NB_DATA / sizeof(uint64_t); i++)
            sum += data[i];
    __atomic_fetch_add(&r->sink, sum, __ATOMIC_RELAXED);
    mn_wg_done(&r->wg);
}

static int bind_round(struct bind_run *r)
{
    mn_wg_add(&r->wg, NB_GS);
    for (int i = 0; i < NB_GS; i++) {
        int rc = mn_go(bind_worker, r);
        if (rc) {
            mn_wg_add(&r->wg, -(NB_GS - i));
            return rc;
        }
    }
    return mn_wg_wait(&r->wg);
}

static int bind_main(void *arg)
{
    struct bind_run *r = arg;
    if (bind_round(r) != 0) /* warm-up: Ms started, stacks allocated */
        return 1;
    r->snap_rc = bench_numastat_snapshot(&r->before);
    while (bench_keep_running(r->st))
        if (bind_round(r) != 0)
            return 1;
    if (!r->snap_rc)
        r->snap_rc = bench_numastat_snapshot(&r->after);
    return 0;
}

/* bind_config - the runtime configuration of a numa row: GOMAXPROCS gomaxprocs (0: the
 * default), every P's M bound to its CPU, numa_local as given.  False when the MN_*
 * environment is bad (the row is skipped). */
static bool bind_config(struct bench_state *st, struct mn_config *cfg, int gomaxprocs,
                        bool numa_local)
{
    if (mn_config_init(cfg) != 0) {
        bench_skip(st, "n/a: bad MN_* environment");
        return false;
    }
    cfg->gomaxprocs = gomaxprocs;
    cfg->bind_p = true;
    cfg->numa_local = numa_local;
    return true;
}

static void bm_numa_bind(struct bench_state *st)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    struct mn_config cfg;
    static struct bind_run r; /* static: the Gs outlive nothing, but keep it off the stack */
    if (!t->placement_ok) {
        bench_skip(st, bench_numa_why_not());
        return;
    }
    if (!bind_config(st, &cfg, 0, bench_arg(st, "local") != 0))
        return;
    memset(&r, 0, sizeof r);
    r.st = st;
    mn_wg_init(&r.wg);
    int rc = bench_run_runtime(st, &cfg, bind_main, &r);
    if (rc > 0)
        bench_skip_errno(st, "mn_run", -EIO); /* bind_main's own failure */
    if (rc != 0)
        return;
    bench_set_per_op_ns(st, "ns_per_access",
                        (double)NB_GS * NB_PASSES * (NB_DATA / sizeof(uint64_t)));
    if (r.snap_rc == 0)
        report_numastat(st, &r.before, &r.after);
    bench_do_not_optimize(&r.sink);
}

BENCH_REGISTER(.name = "numa/bind",
               .summary = "G data on G stacks, all Ps bound to CPUs, numa_local off vs on",
               .claims = "N3.2.latency,N3.2.remote,N3.3.foreign", .fn = bm_numa_bind,
               .args = {BENCH_ARG("local", BENCH_V(0, 1))}, .real_time = true);

/* ==== chan/numa ======================================================================== */

struct chan_run {
    struct bench_state *st;
    struct mn_chan *c;
    struct mn_wg wg;
    int64_t msgs;
    int prod_rc;
    struct bench_numastat_snap before, after;
    int snap_rc;
};

static void chan_producer(void *arg)
{
    struct chan_run *r = arg;
    for (int64_t i = 0; i < r->msgs; i++) {
        uint64_t v = (uint64_t)i;
        int rc = mn_chan_send(r->c, &v);
        if (rc) {
            r->prod_rc = rc;
            break;
        }
    }
    mn_wg_done(&r->wg);
}

static int chan_main(void *arg)
{
    struct chan_run *r = arg;
    uint64_t v;
    r->msgs = bench_iterations(r->st);
    mn_wg_add(&r->wg, 1);
    if (mn_go(chan_producer, r) != 0)
        return 1;
    r->snap_rc = bench_numastat_snapshot(&r->before);
    while (bench_keep_running(r->st))
        if (mn_chan_recv(r->c, &v, NULL) != 0)
            return 1;
    if (!r->snap_rc)
        r->snap_rc = bench_numastat_snapshot(&r->after);
    /* Close so a producer with messages left (it should have none) ends with -EPIPE. */
    if (mn_chan_close(r->c) != 0)
        return 1;
    return mn_wg_wait(&r->wg) == 0 && (r->prod_rc == 0 || r->prod_rc == -EPIPE) ? 0 : 1;
}

static void bm_chan_numa(struct bench_state *st)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    static struct chan_run r;
    struct mn_config cfg;
    cpu_set_t old, two;
    int a = -1, b = -1;
    if (!t->placement_ok) {
        bench_skip(st, bench_numa_why_not());
        return;
    }
    for (int i = 0; i < t->nnodes; i++) /* first allowed CPU of two different nodes */
        if (t->node[i].first_cpu_allowed >= 0) {
            if (a < 0)
                a = t->node[i].first_cpu_allowed;
            else if (b < 0)
                b = t->node[i].first_cpu_allowed;
        }
    if (b < 0) {
        bench_skip(st, "n/a: 1 NUMA node with CPUs");
        return;
    }
    if (!bind_config(st, &cfg, 2, true))
        return;
    CPU_ZERO(&two);
    CPU_SET(a, &two);
    CPU_SET(b, &two);
    if (bench_affinity_save(&old) != 0 || sched_setaffinity(0, sizeof two, &two)) {
        bench_skip(st, "n/a: cannot narrow the affinity mask");
        return;
    }
    memset(&r, 0, sizeof r);
    r.st = st;
    mn_wg_init(&r.wg);
    int rc = mn_chan_make(&r.c, sizeof(uint64_t), (size_t)bench_arg(st, "cap"));
    if (rc) {
        bench_skip_errno(st, "mn_chan_make", rc);
        goto out;
    }
    rc = bench_run_runtime(st, &cfg, chan_main, &r);
    if (rc > 0)
        bench_skip_errno(st, "mn_run", -EIO); /* chan_main's own failure */
    if (rc != 0)
        goto out_chan;
    bench_set_per_op_ns(st, "ns_per_msg", 1.0);
    if (r.snap_rc == 0)
        report_numastat(st, &r.before, &r.after);
out_chan:
    if (mn_chan_free(r.c) != 0)
        bench_skip(st, "n/a: channel still in use after the run (bench bug)");
out:
    bench_affinity_restore(&old);
}

BENCH_REGISTER(.name = "chan/numa",
               .summary =
                   "channel capacity sweep with the two Ps on different nodes, numastat deltas",
               .claims = "T10.remote", .fn = bm_chan_numa,
               .args = {BENCH_ARG("cap", BENCH_V(0, 1, 16, 256, 1024))}, .real_time = true);
