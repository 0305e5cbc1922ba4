/*
 * runtime/tests/test_layouts.c - P's run-queue layouts (cfg.pad_runq 0 / 64 / 128).
 *
 * Structural claims, checked on the runtime's own offsetof() data (mn_x_p_layout):
 *   L2.1.runq       256 slots of one pointer each
 *   L2.1.headtail   runqhead and runqtail share a 64-byte line in the packed layout (Go's)
 *                   and do not in the padded ones
 *   L2.1.fourlines  the slot array is 2048 bytes = 32 lines of 64 bytes, not 4
 * Behaviour: the same run-queue operation sequence on standalone Ps, and the same runtime
 * workloads (squares over a buffered channel, a channel relay chain, a spawn tree with a
 * wait group and yields), give identical results under every layout.  No timing asserts.
 */
#include "mn.h"
#include "mn_export.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE 64
#define NPADS 3
static const int pads[NPADS] = {0, 64, 128};

static struct mn_x_layout layout_of(int pad)
{
    struct mn_x_layout l;
    memset(&l, 0, sizeof(l));
    cr_assert_eq(mn_x_p_layout(pad, &l), 0, "mn_x_p_layout(%d)", pad);
    cr_assert_eq(l.pad, pad);
    return l;
}

/* ==== Layout facts ====================================================================== */

Test(layout, L2_1_runq_256_slots_of_8_bytes)
{
    for (int i = 0; i < NPADS; i++) {
        struct mn_x_layout l = layout_of(pads[i]);
        cr_assert_eq(l.runq_slots, 256, "pad %d: %zu slots", pads[i], l.runq_slots);
        cr_assert_eq(l.runq_slots, MN_RUNQ_SLOTS);
        cr_assert_eq(l.runq_slot_bytes, sizeof(void *));
        cr_assert_eq(l.runq_slot_bytes, 8);
        cr_assert_eq(l.runq_bytes, 2048, "pad %d: %zu bytes", pads[i], l.runq_bytes);
        cr_assert_eq(l.runq_bytes, l.runq_slots * l.runq_slot_bytes);
    }
}

Test(layout, L2_1_fourlines_is_32_lines_not_4)
{
    for (int i = 0; i < NPADS; i++) {
        struct mn_x_layout l = layout_of(pads[i]);
        size_t first = l.off_runq / LINE, last = (l.off_runq + l.runq_bytes - 1) / LINE;
        cr_assert_eq(l.runq_lines, last - first + 1, "pad %d: runq_lines %zu, offsets say %zu",
                     pads[i], l.runq_lines, last - first + 1);
        /* 2048 B cover 32 lines when the array starts on a line, 33 when it does not. */
        cr_assert(l.runq_lines == 32 || (l.runq_lines == 33 && l.off_runq % LINE != 0),
                  "pad %d: %zu lines", pads[i], l.runq_lines);
        cr_assert_neq(l.runq_lines, 4);
        cr_assert_eq(l.runq_bytes / LINE, 32);
    }
}

Test(layout, L2_1_headtail_same_line_iff_packed)
{
    for (int i = 0; i < NPADS; i++) {
        struct mn_x_layout l = layout_of(pads[i]);
        bool same = l.off_runqhead / LINE == l.off_runqtail / LINE;
        cr_assert_eq(l.headtail_same_line, same, "pad %d: flag disagrees with offsets %zu/%zu",
                     pads[i], l.off_runqhead, l.off_runqtail);
        cr_assert_eq(l.headtail_same_line, pads[i] == 0, "pad %d: head %zu tail %zu", pads[i],
                     l.off_runqhead, l.off_runqtail);
    }
}

/* In a padded layout, head and tail each own a whole block of `pad` bytes: no other
 * run-queue field (nor the owner-written schedtick or the status word) sits in it. */
Test(layout, L2_1_headtail_padded_blocks_hold_nothing_else)
{
    for (int i = 1; i < NPADS; i++) {
        int pad = pads[i];
        struct mn_x_layout l = layout_of(pad);
        size_t head = l.off_runqhead / (size_t)pad, tail = l.off_runqtail / (size_t)pad;
        cr_assert_neq(head, tail, "pad %d: head %zu and tail %zu share a %d-byte block", pad,
                      l.off_runqhead, l.off_runqtail, pad);
        size_t others[] = {l.off_runq, l.off_runq + l.runq_bytes - 1, l.off_runnext,
                           l.off_schedtick, l.off_status};
        for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
            cr_assert_neq(others[k] / (size_t)pad, head, "pad %d: offset %zu in head's block", pad,
                          others[k]);
            cr_assert_neq(others[k] / (size_t)pad, tail, "pad %d: offset %zu in tail's block", pad,
                          others[k]);
        }
    }
}

Test(layout, runnext_follows_runq)
{
    for (int i = 0; i < NPADS; i++) {
        struct mn_x_layout l = layout_of(pads[i]);
        cr_assert_geq(l.off_runnext, l.off_runq + l.runq_bytes, "pad %d: runnext %zu, runq %zu",
                      pads[i], l.off_runnext, l.off_runq);
        cr_assert_geq(l.p_bytes, l.off_runnext + sizeof(void *));
        cr_assert_geq(l.p_bytes, l.off_runq + l.runq_bytes);
    }
}

/* The padded layouts start the slot array on a line of its own, so it spans exactly 32. */
Test(layout, L2_1_fourlines_padded_runq_starts_a_line)
{
    for (int i = 1; i < NPADS; i++) {
        struct mn_x_layout l = layout_of(pads[i]);
        cr_assert_eq(l.off_runq % LINE, 0, "pad %d: runq at %zu", pads[i], l.off_runq);
        cr_assert_eq(l.runq_lines, 32, "pad %d: %zu lines", pads[i], l.runq_lines);
    }
}

Test(layout, bad_pad_is_einval)
{
    struct mn_x_layout l;
    cr_assert_eq(mn_x_p_layout(32, &l), -EINVAL);
    cr_assert_eq(mn_x_p_layout(-1, &l), -EINVAL);
    cr_assert_eq(mn_x_p_layout(256, &l), -EINVAL);
    cr_assert_null(mn_x_p_new(32));
}

/* ==== Run-queue operations, same trace under every layout ================================ */

#define TRACE_MAX 2048
#define NG 600

struct trace {
    uint64_t ids[TRACE_MAX];
    size_t n;
};

static void rec(struct trace *t, const struct mn_g *gp)
{
    cr_assert_lt(t->n, TRACE_MAX);
    t->ids[t->n++] = gp ? mn_x_g_id(gp) : 0;
}

/* runq_script - a fixed sequence of puts, gets, runnext puts and a steal; records every G
 * that comes out (0 for "none") and checks the FIFO and exactly-once properties. */
static void runq_script(int pad, struct trace *t)
{
    struct mn_p *pp = mn_x_p_new(pad), *dst = mn_x_p_new(pad);
    struct mn_g *gs = mn_x_fake_gs(NG);
    cr_assert_not_null(pp);
    cr_assert_not_null(dst);
    cr_assert_not_null(gs);
    int seen[NG + 1] = {0};

    for (size_t i = 0; i < MN_RUNQ_SLOTS; i++)
        cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, i), false), "pad %d: put %zu", pad, i);
    cr_assert_eq(mn_x_runqlen(pp), MN_RUNQ_SLOTS);
    cr_assert_not(mn_x_runqput(pp, mn_x_fake_g(gs, MN_RUNQ_SLOTS), false),
                  "pad %d: 257th put must fail", pad);

    for (uint64_t want = 1; want <= 10; want++) { /* FIFO: IDs 1..10 */
        struct mn_g *gp = mn_x_runqget(pp);
        cr_assert_not_null(gp);
        cr_assert_eq(mn_x_g_id(gp), want, "pad %d", pad);
        rec(t, gp);
        seen[mn_x_g_id(gp)]++;
    }
    /* runnext takes precedence over the queue. */
    cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, 300), true));
    struct mn_g *gp = mn_x_runqget(pp);
    cr_assert_eq(mn_x_g_id(gp), 301, "pad %d: runnext first", pad);
    rec(t, gp);
    seen[301]++;

    /* Steal half into dst; every stolen G must come out of dst once. */
    uint32_t before = mn_x_runqlen(pp);
    gp = mn_x_runqsteal(dst, pp, false);
    cr_assert_not_null(gp, "pad %d: steal from %u queued", pad, before);
    rec(t, gp);
    seen[mn_x_g_id(gp)]++;
    uint32_t moved = 1 + mn_x_runqlen(dst);
    cr_assert_eq(mn_x_runqlen(pp) + moved, before, "pad %d", pad);
    cr_assert_geq(moved, before / 2, "pad %d: stole %u of %u", pad, moved, before);
    while ((gp = mn_x_runqget(dst)) != NULL) {
        rec(t, gp);
        seen[mn_x_g_id(gp)]++;
    }
    while ((gp = mn_x_runqget(pp)) != NULL) {
        rec(t, gp);
        seen[mn_x_g_id(gp)]++;
    }
    rec(t, NULL);
    cr_assert_eq(mn_x_runqlen(pp), 0);
    cr_assert_null(mn_x_runqsteal(dst, pp, true), "pad %d: steal from empty P", pad);

    for (int id = 1; id <= MN_RUNQ_SLOTS; id++)
        cr_assert_eq(seen[id], 1, "pad %d: G %d seen %d times", pad, id, seen[id]);
    cr_assert_eq(seen[301], 1);
    cr_assert_eq(t->n, MN_RUNQ_SLOTS + 2, "pad %d: %zu records", pad, t->n);

    mn_x_p_free(pp);
    mn_x_p_free(dst);
    free(gs);
}

Test(runq, same_trace_under_every_layout)
{
    static struct trace t[NPADS];
    for (int i = 0; i < NPADS; i++)
        runq_script(pads[i], &t[i]);
    for (int i = 1; i < NPADS; i++) {
        cr_assert_eq(t[i].n, t[0].n);
        for (size_t k = 0; k < t[0].n; k++)
            cr_assert_eq(t[i].ids[k], t[0].ids[k], "pad %d differs from pad 0 at %zu", pads[i], k);
    }
}

/* ==== Runtime workloads under every layout ================================================ */

/* run_with - one runtime with pad_runq = pad on procs Ps; returns mn_run's value. */
static int run_with(int pad, int procs, bool latency, int (*fn)(void *), void *arg)
{
    struct mn_config cfg;
    cr_assert_eq(mn_config_init(&cfg), 0);
    cfg.gomaxprocs = procs;
    cfg.pad_runq = pad;
    cfg.sched_latency = latency;
    cfg.schedtrace_ms = 0;
    cfg.trace_path = NULL;
    cr_assert_eq(mn_init(&cfg), 0, "mn_init pad %d procs %d", pad, procs);
    int rc = mn_run(fn, arg);
    cr_assert_eq(mn_fini(), 0);
    cr_assert_geq(rc, 0, "mn_run pad %d procs %d: %d", pad, procs, rc);
    return rc;
}

/* squares: the document's chapter 1 example - 1000 Gs square their id and send it over a
 * buffered channel; the main G sums 1000 values: 0^2 + ... + 999^2 = 332833500. */
static struct mn_chan *sq_c;

static void sq_worker(void *arg)
{
    int64_t v = (int64_t)(intptr_t)arg;
    v *= v;
    G_ASSERT(mn_chan_send(sq_c, &v) == 0);
}

static int sq_main(void *arg)
{
    (void)arg;
    G_ASSERT(mn_chan_make(&sq_c, sizeof(int64_t), 100) == 0);
    for (intptr_t i = 0; i < 1000; i++)
        G_ASSERT(mn_go(sq_worker, (void *)i) == 0);
    int64_t sum = 0, v;
    bool ok;
    for (int i = 0; i < 1000; i++) {
        G_ASSERT(mn_chan_recv(sq_c, &v, &ok) == 0);
        G_ASSERT(ok);
        sum += v;
    }
    G_ASSERT(mn_chan_free(sq_c) == 0);
    return (int)sum;
}

/* chain: CH_N Gs relay a value through CH_N+1 unbuffered channels, each adding 1; the main
 * G sends CH_ROUNDS values in and sums what comes out. */
#define CH_N 100
#define CH_ROUNDS 50
static struct mn_chan *ch[CH_N + 1];

static void ch_link(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t v;
    bool ok;
    for (;;) {
        G_ASSERT(mn_chan_recv(ch[i], &v, &ok) == 0);
        if (!ok)
            break;
        v++;
        G_ASSERT(mn_chan_send(ch[i + 1], &v) == 0);
    }
}

static int ch_main(void *arg)
{
    (void)arg;
    for (int i = 0; i <= CH_N; i++)
        G_ASSERT(mn_chan_make(&ch[i], sizeof(int64_t), 0) == 0);
    for (intptr_t i = 0; i < CH_N; i++)
        G_ASSERT(mn_go(ch_link, (void *)i) == 0);
    int64_t sum = 0;
    for (int64_t r = 0; r < CH_ROUNDS; r++) {
        int64_t v = r * 1000;
        bool ok;
        G_ASSERT(mn_chan_send(ch[0], &v) == 0);
        G_ASSERT(mn_chan_recv(ch[CH_N], &v, &ok) == 0);
        G_ASSERT(ok);
        G_ASSERT(v == r * 1000 + CH_N);
        sum += v;
    }
    return (int)sum; /* the links stay parked on ch[0]; the runtime stops with the main G */
}

/* tree: every node adds its depth to a sum, yields once, and spawns TR_FAN children down
 * to depth TR_DEPTH; nodes = (6^5 - 1) / 5 = 1555, depth sum = sum_d d * 6^d = 9330. */
#define TR_FAN 6
#define TR_DEPTH 4
static struct mn_wg tr_wg;
static atomic_int tr_nodes, tr_depths;

static void tr_node(void *arg)
{
    int d = (int)(intptr_t)arg;
    atomic_fetch_add(&tr_nodes, 1);
    atomic_fetch_add(&tr_depths, d);
    mn_gosched();
    if (d < TR_DEPTH) {
        mn_wg_add(&tr_wg, TR_FAN);
        for (int k = 0; k < TR_FAN; k++)
            G_ASSERT(mn_go(tr_node, (void *)(intptr_t)(d + 1)) == 0);
    }
    mn_wg_done(&tr_wg);
}

static int tr_main(void *arg)
{
    (void)arg;
    mn_wg_init(&tr_wg);
    atomic_store(&tr_nodes, 0);
    atomic_store(&tr_depths, 0);
    mn_wg_add(&tr_wg, 1);
    G_ASSERT(mn_go(tr_node, (void *)(intptr_t)0) == 0);
    G_ASSERT(mn_wg_wait(&tr_wg) == 0);
    return atomic_load(&tr_nodes) * 100000 + atomic_load(&tr_depths);
}

static int cfg_pad_main(void *arg)
{
    (void)arg;
    struct mn_config c;
    G_ASSERT(mn_config_get(&c) == 0);
    return c.pad_runq;
}

Test(workload, squares_identical_under_every_layout, .timeout = 120)
{
    for (int procs = 1; procs <= 2; procs++)
        for (int i = 0; i < NPADS; i++)
            cr_assert_eq(run_with(pads[i], procs, false, sq_main, NULL), 332833500,
                         "pad %d procs %d", pads[i], procs);
}

Test(workload, chain_identical_under_every_layout, .timeout = 120)
{
    int want = 0;
    for (int r = 0; r < CH_ROUNDS; r++)
        want += r * 1000 + CH_N;
    for (int procs = 1; procs <= 2; procs++)
        for (int i = 0; i < NPADS; i++)
            cr_assert_eq(run_with(pads[i], procs, false, ch_main, NULL), want, "pad %d procs %d",
                         pads[i], procs);
}

Test(workload, spawn_tree_identical_under_every_layout, .timeout = 120)
{
    int nodes = 0, depths = 0, width = 1;
    for (int d = 0; d <= TR_DEPTH; d++, width *= TR_FAN) {
        nodes += width;
        depths += d * width;
    }
    cr_assert_eq(nodes, 1555);
    for (int procs = 1; procs <= 2; procs++)
        for (int i = 0; i < NPADS; i++)
            cr_assert_eq(run_with(pads[i], procs, false, tr_main, NULL), nodes * 100000 + depths,
                         "pad %d procs %d", pads[i], procs);
}

Test(workload, config_reports_the_layout, .timeout = 60)
{
    for (int i = 0; i < NPADS; i++)
        cr_assert_eq(run_with(pads[i], 2, false, cfg_pad_main, NULL), pads[i]);
}

/* ==== The latency histogram the T3 / N3.3 scheduler bench reads =========================== */

static int lat_main(void *arg)
{
    (void)arg;
    uint64_t bins[MN_LAT_BINS], n = 0, sum = 0;
    (void)sq_main(NULL);
    G_ASSERT(mn_latency_read(bins, &n, &sum) == 0);
    G_ASSERT(n > 0, "a spawn workload recorded no ready-to-run latency");
    uint64_t total = 0;
    for (int i = 0; i < MN_LAT_BINS; i++)
        total += bins[i];
    G_ASSERT(total == n, "bins sum to %llu, n = %llu", (unsigned long long)total,
             (unsigned long long)n);
    /* 1000 spawned Gs each went through runqput once before first running. */
    G_ASSERT(n >= 1000);
    return 1;
}

static int nolat_main(void *arg)
{
    (void)arg;
    uint64_t bins[MN_LAT_BINS], n, sum;
    return mn_latency_read(bins, &n, &sum) == -ENODATA ? 1 : 0;
}

Test(latency, histogram_counts_every_sample_under_every_layout, .timeout = 60)
{
    for (int i = 0; i < NPADS; i++)
        cr_assert_eq(run_with(pads[i], 2, true, lat_main, NULL), 1, "pad %d", pads[i]);
}

Test(latency, off_reads_enodata, .timeout = 60)
{
    cr_assert_eq(run_with(0, 1, false, nolat_main, NULL), 1);
}
