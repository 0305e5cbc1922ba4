/*
 * benches/runq_padding.c - P's run-queue layout, packed vs padded, and what it costs.
 *
 * Claims
 *   L2.1.runq       P's local run queue is a 256-slot FIFO ring
 *   L2.1.headtail   runqhead and runqtail sit on different cache lines (the document);
 *                   Go 1.19's runtime2.go keeps them as adjacent uint32 fields
 *   L2.1.fourlines  "the 256-entry queue fits exactly 4 cache lines": 256 pointers are
 *                   256 x 8 B = 2048 B = 32 lines of 64 B, so the arithmetic is wrong
 *   T3.latency      scheduling latency, unpadded vs padded (document: 42 ns vs 23 ns)
 *   T3.l1hit        L1 hit rate, unpadded vs padded (document: 72% vs 94%)
 *
 * Rows
 *   runq/layout/pad:{0,64,128}
 *     Not a timing: one iteration calls mn_x_p_layout(pad) and the row carries the
 *     runtime's own offsetof() facts as counters: off_status, off_schedtick, off_runqhead,
 *     off_runqtail, off_runq, off_runnext (bytes from the start of struct mn_p),
 *     line_runqhead, line_runqtail, line_runq, line_runnext (offset / 64), p_bytes,
 *     runq_slots, runq_slot_bytes, runq_bytes, runq_lines (distinct 64-byte lines the
 *     slot array spans) and headtail_same_line (0/1).  The same data for all three layouts
 *     is also put in the JSON context under "p_layout" (a JSON array, one object per pad).
 *     pad 0 is Go's packed layout; 64 puts head and tail on lines of their own; 128 puts
 *     them 128 B apart, because the adjacent-line prefetcher of many x86 cores fetches
 *     64-byte lines in 128-byte pairs and 64 bytes of padding may then not be enough.
 *
 *   runq/op/pad:{0,64,128}/stealers:{0,1}   (full preset: stealers up to 3)
 *     A standalone P (mn_x_p_new(pad), no runtime, no global queue) is pre-filled with
 *     RQ_TARGET fake Gs.  The bench thread is its owner, pinned to the first CPU of the
 *     affinity mask; each iteration it does one mn_x_runqput and one mn_x_runqget (Go's
 *     runqput / runqget: put stores the slot and releases tail, get CASes head).  Every
 *     RQ_CHECK iterations it tops the queue back up to RQ_TARGET Gs, so thieves always
 *     find work; those refill puts count as owner operations too.  Each thief is a thread
 *     pinned to CPU 1, 2, ... with its own standalone P of the same layout; it calls
 *     mn_x_runqsteal(mine, owner's P) in a loop (Go's runqsteal: load-acquire head and
 *     tail, copy half the slots, CAS head) and drops what it stole by draining its own P
 *     with mn_x_runqget.  That is the access pattern the padding is meant to help: the
 *     owner writes tail and CASes head while thieves keep reading both.  All threads are
 *     released by a ready/go barrier before the timer starts.
 *
 * Counters (runq/op)
 *   ns_per_op          wall-clock ns per owner run-queue operation (put, get or refill put)
 *   owner_ops_per_iter operations per iteration (2 + refill puts / iterations)
 *   steals_per_s       successful mn_x_runqsteal calls per second, all thieves together
 *   stolen_gs_per_s    Gs moved by them per second
 *   steal_attempts_per_s  mn_x_runqsteal calls per second (successful or not)
 *   empty_gets_per_iter   owner gets that found the queue empty (thieves won the race)
 *   p_addr_mod128      where the owner's P starts relative to a 128-byte boundary; the
 *                      line numbers above assume it is 0 (else lines shift)
 *   Harness counters (PAPI_L1_DCM, PAPI_L1_DCA or PAPI_LD_INS, ...) are per iteration and
 *   cover the owner and the thieves together (they are inherited by every thread).  On
 *   this KVM guest there is no PMU: those columns are `n/a: no PMU` and only the times
 *   show the effect.
 *
 * How to read
 *   Layout rows decide L2.1.headtail (headtail_same_line = 1 for pad:0 means the packed
 *   layout does NOT separate them: Go's layout) and L2.1.fourlines (runq_lines is 32, not
 *   4).  For T3.latency compare ns_per_op of pad:64 and pad:128 with pad:0 at the same
 *   stealers count, as a ratio inside one run.  stealers:0 is the baseline: no other CPU
 *   touches the lines, so the three layouts should be equal within noise (a difference
 *   there is layout, alignment or code, not false sharing).  With stealers:1 the owner's
 *   cost rises because the thief pulls head, tail and slot lines away; padding can only
 *   remove the part caused by head and tail sharing a line, and since every put, get and
 *   steal reads both head and tail, that part is small next to the true sharing of the
 *   slots and of head itself.  Compare steals_per_s too: a layout that makes the owner
 *   faster by letting thieves steal less has not reduced latency.  Padding can also make
 *   the owner slower: Go's runqput/runqget/runqgrab each read both head and tail, so with
 *   the two fields on separate lines two contended lines bounce between the CPUs instead
 *   of one.  The document's figures are for the full scheduler; benches/sched_latency.c
 *   measures that.  The row's real_time is per iteration (put + get + its share of the
 *   refill puts); ns_per_op divides it by owner_ops_per_iter.
 *
 * Confounders and host conditions
 *   stealers:N needs N+1 CPUs in the affinity mask, else `n/a: needs N+1 CPUs`.  Thieves
 *   spin, so on a shared 2-vCPU host another busy process halves their CPU time: check
 *   steal_attempts_per_s across rows.  vCPU placement on the host (SMT siblings or not)
 *   sets the coherence cost and is invisible to the guest.  Run-to-run spread of
 *   cross-CPU figures is larger than within-run spread: use ratios from one run.
 *   The runtime's runqput publishes tail with a sequentially consistent store (an xchg on
 *   x86, for wakep's sake), so every owner put, refills included, is a locked operation on
 *   the tail line; Go uses a release store there.  The thieves do nothing but steal, which
 *   is harsher than Go's spinning Ms (they also poll timers, the global queue and netpoll
 *   between victims), and steal half the queue each time, so the owner refills often:
 *   owner_ops_per_iter shows how much.  The smoke preset's 1 ms runs are too short for
 *   the owner/thief interplay to settle; read only quick or full results.
 */
#include "bench.h"
#include "mn_export.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define RQ_TARGET 128 /* Gs the owner keeps queued (half the ring) */
#define RQ_CHECK 16   /* owner iterations between refills */
#define RQ_POOL 4096  /* fake Gs cycled through (power of two) */
#define RQ_MAX_THIEVES 8

static const int rq_pads[] = {0, 64, 128};

/* ==== Layout table =================================================================== */

static void rq_layout_or_die(int pad, struct mn_x_layout *l)
{
    int rc = mn_x_p_layout(pad, l);
    if (rc != 0) {
        fprintf(stderr, "bench: runq/layout: mn_x_p_layout(%d): %s\n", pad, strerror(-rc));
        abort();
    }
}

/* rq_layout_context - the three layouts as a JSON array in context key "p_layout", for the
 * tables script (FORMAT.md: bench-specific tables, JSON encoded). */
__attribute__((constructor)) static void rq_layout_context(void)
{
    static char buf[2048];
    size_t off = 0;
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "[");
    for (size_t i = 0; i < sizeof(rq_pads) / sizeof(rq_pads[0]); i++) {
        struct mn_x_layout l;
        if (mn_x_p_layout(rq_pads[i], &l) != 0) /* the layout rows will abort and say why */
            continue;
        off += (size_t)snprintf(
            buf + off, sizeof(buf) - off,
            "%s{\"pad\":%d,\"p_bytes\":%zu,\"off_status\":%zu,\"off_schedtick\":%zu,"
            "\"off_runqhead\":%zu,\"off_runqtail\":%zu,\"off_runq\":%zu,\"off_runnext\":%zu,"
            "\"runq_slots\":%zu,\"runq_slot_bytes\":%zu,\"runq_bytes\":%zu,"
            "\"runq_lines\":%zu,\"headtail_same_line\":%s,\"line_bytes\":64}",
            off > 1 ? "," : "", l.pad, l.p_bytes, l.off_status, l.off_schedtick, l.off_runqhead,
            l.off_runqtail, l.off_runq, l.off_runnext, l.runq_slots, l.runq_slot_bytes,
            l.runq_bytes, l.runq_lines, l.headtail_same_line ? "true" : "false");
    }
    snprintf(buf + off, sizeof(buf) - off, "]");
    bench_context("p_layout", buf);
}

static void bm_runq_layout(struct bench_state *st)
{
    int pad = (int)bench_arg(st, "pad");
    struct mn_x_layout l;
    while (bench_keep_running(st)) {
        rq_layout_or_die(pad, &l);
        bench_do_not_optimize(&l);
    }
    bench_set_counter(st, "p_bytes", (double)l.p_bytes, BENCH_C_PLAIN);
    bench_set_counter(st, "off_status", (double)l.off_status, BENCH_C_PLAIN);
    bench_set_counter(st, "off_schedtick", (double)l.off_schedtick, BENCH_C_PLAIN);
    bench_set_counter(st, "off_runqhead", (double)l.off_runqhead, BENCH_C_PLAIN);
    bench_set_counter(st, "off_runqtail", (double)l.off_runqtail, BENCH_C_PLAIN);
    bench_set_counter(st, "off_runq", (double)l.off_runq, BENCH_C_PLAIN);
    bench_set_counter(st, "off_runnext", (double)l.off_runnext, BENCH_C_PLAIN);
    bench_set_counter(st, "line_runqhead", (double)(l.off_runqhead / 64), BENCH_C_PLAIN);
    bench_set_counter(st, "line_runqtail", (double)(l.off_runqtail / 64), BENCH_C_PLAIN);
    bench_set_counter(st, "line_runq", (double)(l.off_runq / 64), BENCH_C_PLAIN);
    bench_set_counter(st, "line_runnext", (double)(l.off_runnext / 64), BENCH_C_PLAIN);
    bench_set_counter(st, "runq_slots", (double)l.runq_slots, BENCH_C_PLAIN);
    bench_set_counter(st, "runq_slot_bytes", (double)l.runq_slot_bytes, BENCH_C_PLAIN);
    bench_set_counter(st, "runq_bytes", (double)l.runq_bytes, BENCH_C_PLAIN);
    bench_set_counter(st, "runq_lines", (double)l.runq_lines, BENCH_C_PLAIN);
    bench_set_counter(st, "headtail_same_line", l.headtail_same_line ? 1.0 : 0.0, BENCH_C_PLAIN);
    /* The document's arithmetic (section 2.2): runqhead + runqtail + 256 x 8 = 2056 B, and
     * a [12]uint64 (96 B) pad "aligns p to a 64-byte boundary".  runq_block_bytes is the
     * span from runqhead to the end of runq as laid out here (2056 when they are packed);
     * pad_to_64 is what that span needs to reach the next multiple of 64 B. */
    size_t first = l.off_runqhead < l.off_runqtail ? l.off_runqhead : l.off_runqtail;
    size_t block = l.off_runq + l.runq_bytes - first;
    bench_set_counter(st, "runq_block_bytes", (double)block, BENCH_C_PLAIN);
    bench_set_counter(st, "pad_to_64", (double)((64 - block % 64) % 64), BENCH_C_PLAIN);
    bench_set_counter(st, "p_bytes_mod64", (double)(l.p_bytes % 64), BENCH_C_PLAIN);
}

BENCH_REGISTER(.name = "runq/layout",
               .summary = "offsets and cache lines of P's run-queue fields, per pad_runq",
               .claims = "L2.1.runq,L2.1.headtail,L2.1.fourlines", .fn = bm_runq_layout,
               .args = {BENCH_ARG("pad", BENCH_V(0, 64, 128))}, .iterations = 1);

/* ==== Owner vs thieves ================================================================ */

struct rq_run;

struct rq_thief {
    pthread_t t;
    struct rq_run *r;
    int cpu; /* index into the start-up affinity mask */
    int pin_rc;
    struct mn_p *mine;  /* where stolen Gs go */
    uint64_t attempts;  /* mn_x_runqsteal calls */
    uint64_t steals;    /* calls that returned a G */
    uint64_t stolen_gs; /* Gs moved */
    char pad[64];       /* keep thieves' counters off each other's lines */
};

struct rq_run {
    struct mn_p *pp;        /* the owner's P */
    struct bench_gate gate; /* thieves pinned and waiting / start / the owner's loop ended */
};

static void *rq_thief_main(void *arg)
{
    struct rq_thief *th = arg;
    struct rq_run *r = th->r;
    prctl(PR_SET_NAME, "rq-thief", 0, 0, 0);
    th->pin_rc = bench_pin_self(th->cpu);
    bench_gate_arrive(&r->gate);
    uint64_t attempts = 0, steals = 0, stolen = 0;
    while (bench_gate_running(&r->gate)) {
        attempts++;
        if (mn_x_runqsteal(th->mine, r->pp, false) != NULL) {
            steals++;
            stolen++;
            while (mn_x_runqget(th->mine) != NULL) /* drop the rest of the batch */
                stolen++;
        }
    }
    th->attempts = attempts;
    th->steals = steals;
    th->stolen_gs = stolen;
    return NULL;
}

static void bm_runq_op(struct bench_state *st)
{
    int pad = (int)bench_arg(st, "pad");
    int nthieves = (int)bench_arg(st, "stealers");
    char why[64];

    if (nthieves > RQ_MAX_THIEVES || nthieves + 1 > bench_ncpus()) {
        snprintf(why, sizeof(why), "n/a: needs %d CPUs", nthieves + 1);
        bench_skip(st, why);
        return;
    }
    cpu_set_t saved;
    if (!bench_pin_saving(st, &saved, 0))
        return;

    struct rq_run r = {.pp = mn_x_p_new(pad)};
    struct mn_g *gs = mn_x_fake_gs(RQ_POOL);
    struct rq_thief *th = calloc((size_t)(nthieves ? nthieves : 1), sizeof(*th));
    if (!r.pp || !gs || !th) {
        fprintf(stderr, "bench: runq/op: out of memory (pad %d)\n", pad);
        abort();
    }
    size_t next = 0; /* next pool index */
    for (int i = 0; i < RQ_TARGET; i++)
        if (!mn_x_runqput(r.pp, mn_x_fake_g(gs, next++ % RQ_POOL), false)) {
            fprintf(stderr, "bench: runq/op: prefill: queue full at %d\n", i);
            abort();
        }

    for (int k = 0; k < nthieves; k++) {
        th[k] = (struct rq_thief){.r = &r, .cpu = 1 + k, .mine = mn_x_p_new(pad)};
        if (!th[k].mine || pthread_create(&th[k].t, NULL, rq_thief_main, &th[k]) != 0) {
            fprintf(stderr, "bench: runq/op: cannot start thief %d\n", k);
            abort();
        }
    }
    bench_gate_wait_ready(&r.gate, nthieves);
    int pin_fail = 0;
    for (int k = 0; k < nthieves; k++)
        pin_fail |= th[k].pin_rc != 0;

    uint64_t iters = 0, refills = 0, empty = 0;
    double t0 = 0, t1 = 0;
    if (pin_fail) {
        bench_skip(st, "n/a: cannot pin a thief");
    } else {
        struct mn_p *pp = r.pp;
        bench_gate_open(&r.gate);
        t0 = (double)bench_now_ns();
        unsigned check = 0;
        while (bench_keep_running(st)) {
            /* The queue never fills: it holds at most RQ_TARGET + 1 < 256 here. */
            (void)mn_x_runqput(pp, mn_x_fake_g(gs, next++ & (RQ_POOL - 1)), false);
            empty += mn_x_runqget(pp) == NULL;
            iters++;
            if (++check == RQ_CHECK) {
                check = 0;
                for (uint32_t n = mn_x_runqlen(pp); n < RQ_TARGET; n++) {
                    (void)mn_x_runqput(pp, mn_x_fake_g(gs, next++ & (RQ_POOL - 1)), false);
                    refills++;
                }
            }
        }
        t1 = (double)bench_now_ns();
    }
    bench_gate_stop(&r.gate); /* also opens the gate, in case the skip path never did */
    uint64_t attempts = 0, steals = 0, stolen = 0;
    for (int k = 0; k < nthieves; k++) {
        pthread_join(th[k].t, NULL);
        attempts += th[k].attempts;
        steals += th[k].steals;
        stolen += th[k].stolen_gs;
        mn_x_p_free(th[k].mine);
    }

    if (!pin_fail && iters > 0) {
        double ops_per_iter = 2.0 + (double)refills / (double)iters;
        double win_s = (t1 - t0) / 1e9;
        bench_set_per_op_ns(st, "ns_per_op", ops_per_iter);
        bench_set_counter(st, "owner_ops_per_iter", ops_per_iter, BENCH_C_PLAIN);
        bench_set_counter(st, "steals_per_s", win_s > 0 ? (double)steals / win_s : 0,
                          BENCH_C_PLAIN);
        bench_set_counter(st, "stolen_gs_per_s", win_s > 0 ? (double)stolen / win_s : 0,
                          BENCH_C_PLAIN);
        bench_set_counter(st, "steal_attempts_per_s", win_s > 0 ? (double)attempts / win_s : 0,
                          BENCH_C_PLAIN);
        bench_set_counter(st, "empty_gets_per_iter", (double)empty / (double)iters, BENCH_C_PLAIN);
        bench_set_counter(st, "p_addr_mod128", (double)((uintptr_t)r.pp % 128), BENCH_C_PLAIN);
    }
    mn_x_p_free(r.pp);
    free(gs);
    free(th);
    bench_affinity_restore(&saved);
}

BENCH_REGISTER(.name = "runq/op",
               .summary = "owner put+get on a P's run queue while pinned thieves steal",
               .claims = "T3.latency,T3.l1hit", .fn = bm_runq_op,
               .args = {BENCH_ARG("pad", BENCH_V(0, 64, 128)),
                        BENCH_ARG_QF("stealers", BENCH_V(0, 1), BENCH_V(0, 1, 2, 3))},
               .real_time = true);
