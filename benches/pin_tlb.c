/*
 * benches/pin_tlb.c - the same memory-touching G workload with Ps bound to CPUs and not.
 *
 * What is measured
 *   One runtime per row (mn_init / mn_run / mn_fini) with GOMAXPROCS = every CPU of the
 *   affinity mask and cfg.bind_p = bind.  The main G owns one buffer of ws_kib KiB per P,
 *   mapped with MADV_NOHUGEPAGE (4 KiB pages, so the larger sizes really exceed the dTLB
 *   reach) and touched once before timing (no page faults in the timed loop).  One
 *   iteration spawns one G per buffer; each G increments one byte in every 64-byte line
 *   of its buffer (one pass) and signals a wait group; the main G waits for all of them.
 *   Excluded: runtime start/stop, buffer mapping and first touch, a warm-up iteration.
 *
 * Claims
 *   T4.flush   tlb:tlb_flush per iteration, bind:1 vs bind:0 (and by reason)
 *   T4.local   tlb_flush.local_* share of tlb_flush in bind:1
 *   T4.mmap    mmaps (syscalls:sys_enter_mmap) and stack_mmaps (the runtime's own count)
 *   T4.tlbmiss PAPI_TLB_DM from the harness where a PMU exists (n/a: no PMU here)
 *   T4.walk    row pin/walk/bind:{0,1}: skips with the reason (no PMU-free measure)
 *
 * Arguments
 *   ws_kib   working set per G, KiB.  64 fits the L1 dTLB (Zen 4: 72 entries x 4 KiB =
 *            288 KiB), 1024 the L2 dTLB (3072 x 4 KiB = 12 MiB), 16384 and 65536 exceed it.
 *   bind     cfg.bind_p: 0 = Ms float (Linux places them), 1 = the M holding P i is pinned
 *            to CPU i.  Gs still move between Ps (runnext, stealing) either way.
 *
 * Counters (all per iteration unless said)
 *   ns_per_op             wall-clock ns per iteration (one pass of every G)
 *   ns_per_line           ns per touched 64-byte line, all Gs together
 *   tlb_flush, tlb_flush.<reason>, tlb_flush.pages_full/_ranged/_zero
 *                         tracepoint counts for this process's threads (tlbtrace.h)
 *   mmaps, munmaps, mprotects   syscall tracepoint counts
 *   mmaps_run, munmaps_run      totals over the whole row, mn_init to mn_fini, buffers
 *                               included (not per iteration): the runtime's own mapping
 *                               behaviour with bind on and off (the document's 8 vs 12
 *                               reads like such a whole-program count)
 *   stack_mmaps, stack_munmaps  the runtime's mn_stats counters
 *   ws_cpu_moves          share (0..1) of G passes that ran on a different CPU than the
 *                         previous pass over the same buffer
 *   Harness: perf::CPU-MIGRATIONS, perf::CONTEXT-SWITCHES, PAPI_TLB_DM where present.
 *
 * How to read
 *   bind:1 should show fewer perf::CPU-MIGRATIONS (Ms cannot move) and ns_per_op equal or
 *   lower when the other CPU is busy.  tlb_flush counts only flushes that happen while one
 *   of our threads is on the CPU: task-switch flushes are invisible per thread and the
 *   workload maps nothing in the loop, so expect tlb_flush near 0 in both rows; the
 *   document's 1,204 vs 4,891 can only come from counting every address-space switch on
 *   the machine (HOST-NOTES).  A shootdown is counted at sender (remote_send_ipi) and at
 *   each receiver (remote_shootdown).  ws_cpu_moves shows whether pinning Ms kept working
 *   sets on one CPU: it does not pin Gs, so a G can still be stolen to the other P.
 *
 * Confounders and host conditions
 *   Needs tracefs and perf_event_open for the tracepoints (root here); without them the
 *   row still times and its label says `tlb_flush=n/a: <reason>`.  Other engineers' load
 *   makes bind:0 Ms share a CPU; compare the rows of one run.  No PMU in this KVM guest:
 *   PAPI_TLB_DM and page-walk events are n/a: no PMU.
 */
#include "bench.h"
#include "tlbtrace.h"

#include <errno.h>
#include <mn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define LINE 64

struct pin_buf {
    unsigned char *p;
    int last_cpu;  /* CPU of the previous pass, -1 before the first */
    long moves;    /* passes on another CPU than the previous one (timed loop only) */
    long passes;
};

struct pin_run {
    struct bench_state *st;
    size_t ws;                 /* bytes per buffer */
    int bind;
    struct tlbtrace *tt;       /* NULL when not available */
    struct tlbtrace_counts tl; /* delta over the timed loop */
    struct mn_stats s0, s1;
    int np;
    struct pin_buf *bufs;
    struct mn_wg wg;
    int timed;                 /* count moves only in the timed loop */
    int err;                   /* negative errno from the G side */
    char why[160];
};

struct pin_task {
    struct pin_run *r;
    struct pin_buf *b;
};

/* pin_pass - one G: one increment per line of its buffer. */
static void pin_pass(void *arg)
{
    struct pin_task *t = arg;
    struct pin_buf *b = t->b;
    int cpu = sched_getcpu();
    if (t->r->timed) {
        if (b->last_cpu >= 0 && cpu != b->last_cpu)
            b->moves++;
        b->passes++;
    }
    b->last_cpu = cpu;
    unsigned char *p = b->p;
    for (size_t i = 0; i < t->r->ws; i += LINE)
        p[i]++;
    bench_do_not_optimize(p);
    mn_wg_done(&t->r->wg);
}

/* pin_iter - spawn one G per buffer and wait for all.  0 or a negative errno. */
static int pin_iter(struct pin_run *r, struct pin_task *tasks)
{
    mn_wg_add(&r->wg, r->np);
    for (int i = 0; i < r->np; i++) {
        int rc = mn_go(pin_pass, &tasks[i]);
        if (rc < 0) {
            mn_wg_add(&r->wg, -(r->np - i));
            return rc;
        }
    }
    return mn_wg_wait(&r->wg);
}

static int pin_main(void *arg)
{
    struct pin_run *r = arg;
    int rc;
    prctl(PR_SET_NAME, "pin-touch", 0, 0, 0);
    r->np = mn_gomaxprocs(0);
    if (r->np <= 0) {
        snprintf(r->why, sizeof r->why, "n/a: mn_gomaxprocs: %s", strerror(-r->np));
        bench_skip(r->st, r->why);
        return 0;
    }
    r->bufs = calloc((size_t)r->np, sizeof *r->bufs);
    struct pin_task *tasks = calloc((size_t)r->np, sizeof *tasks);
    if (!r->bufs || !tasks) {
        bench_skip(r->st, "n/a: out of memory");
        goto out;
    }
    for (int i = 0; i < r->np; i++) {
        void *p = mmap(NULL, r->ws, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(r->why, sizeof r->why, "n/a: mmap %zu bytes: %s", r->ws, strerror(errno));
            bench_skip(r->st, r->why);
            goto out;
        }
        (void)madvise(p, r->ws, MADV_NOHUGEPAGE); /* 4 KiB pages: dTLB reach matters */
        memset(p, 1, r->ws);                      /* first touch outside the timer */
        r->bufs[i].p = p;
        r->bufs[i].last_cpu = -1;
        tasks[i].r = r;
        tasks[i].b = &r->bufs[i];
    }
    mn_wg_init(&r->wg);
    if ((rc = pin_iter(r, tasks)) < 0) { /* warm-up: Ms started, stacks cached */
        r->err = rc;
        goto out;
    }

    struct tlbtrace_counts a, b;
    bool tt_ok = r->tt && tlbtrace_read(r->tt, &a) == 0;
    if (mn_stats_read(&r->s0) != 0)
        memset(&r->s0, 0, sizeof r->s0);
    r->timed = 1;
    while (bench_keep_running(r->st))
        if ((rc = pin_iter(r, tasks)) < 0 && !r->err)
            r->err = rc;
    r->timed = 0;
    if (tt_ok && tlbtrace_read(r->tt, &b) == 0)
        tlbtrace_diff(&b, &a, &r->tl);
    else if (r->tt) {
        tlbtrace_close(r->tt);
        r->tt = NULL;
        snprintf(r->why, sizeof r->why, "tlb_flush=n/a: tracepoint read failed");
    }
    if (mn_stats_read(&r->s1) != 0)
        r->s1 = r->s0;
out:
    for (int i = 0; r->bufs && i < r->np; i++)
        if (r->bufs[i].p)
            munmap(r->bufs[i].p, r->ws);
    free(tasks);
    return 0;
}

static void bm_pin_touch(struct bench_state *st)
{
    struct pin_run r;
    memset(&r, 0, sizeof r);
    r.st = st;
    r.ws = (size_t)bench_arg(st, "ws_kib") * 1024;
    r.bind = (int)bench_arg(st, "bind");

    /* Before mn_init: the runtime's threads are created later and inherit the events. */
    char why[200] = "";
    if (tlbtrace_open(&r.tt, NULL, TLBTRACE_THREADS, why, sizeof why) != 0) {
        r.tt = NULL;
        snprintf(r.why, sizeof r.why, "tlb_flush=%s", why);
    }

    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = 0;
        cfg.bind_p = r.bind != 0;
        rc = mn_init(&cfg);
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "n/a: mn_init: %s", strerror(-rc));
        bench_skip(st, why);
        tlbtrace_close(r.tt);
        return;
    }
    rc = mn_run(pin_main, &r);
    (void)mn_fini();
    struct tlbtrace_counts whole;
    bool whole_ok = r.tt && tlbtrace_has_syscalls(r.tt) && tlbtrace_read(r.tt, &whole) == 0;
    if (rc < 0 || r.err < 0) {
        /* A runtime failure inside the loop is a bug in the bench or the runtime. */
        fprintf(stderr, "pin/touch: %s\n", strerror(-(rc < 0 ? rc : r.err)));
        abort();
    }

    int64_t it = bench_iterations(st);
    if (it > 0 && r.np > 0) {
        bench_set_per_op_ns(st, "ns_per_op", 1.0);
        bench_set_per_op_ns(st, "ns_per_line", (double)r.np * (double)(r.ws / LINE));
        if (r.tt) {
            struct tlbtrace_counter cs[TLBTRACE_MAX_COUNTERS];
            int n = tlbtrace_counters(r.tt, &r.tl, (double)it, cs, TLBTRACE_MAX_COUNTERS);
            for (int i = 0; i < n && i < TLBTRACE_MAX_COUNTERS; i++)
                bench_set_counter(st, cs[i].name, cs[i].value, BENCH_C_PLAIN);
            if (!tlbtrace_has_syscalls(r.tt))
                bench_label_extra(st, tlbtrace_syscalls_why(r.tt));
        }
        bench_set_counter(st, "stack_mmaps",
                          (double)(r.s1.stack_mmaps - r.s0.stack_mmaps) / (double)it,
                          BENCH_C_PLAIN);
        bench_set_counter(st, "stack_munmaps",
                          (double)(r.s1.stack_munmaps - r.s0.stack_munmaps) / (double)it,
                          BENCH_C_PLAIN);
        long moves = 0, passes = 0;
        for (int i = 0; r.bufs && i < r.np; i++) {
            moves += r.bufs[i].moves;
            passes += r.bufs[i].passes;
        }
        if (passes > 0)
            bench_set_counter(st, "ws_cpu_moves", (double)moves / (double)passes,
                              BENCH_C_PLAIN);
        bench_set_counter(st, "procs", r.np, BENCH_C_PLAIN);
        if (whole_ok) {
            bench_set_counter(st, "mmaps_run", (double)whole.mmaps, BENCH_C_PLAIN);
            bench_set_counter(st, "munmaps_run", (double)whole.munmaps, BENCH_C_PLAIN);
        }
    }
    if (r.why[0])
        bench_label_extra(st, r.why);
    free(r.bufs);
    tlbtrace_close(r.tt);
}

BENCH_REGISTER(.name = "pin/touch",
               .summary = "G passes over per-P working sets, Ps bound to CPUs or not",
               .claims = "T4.flush,T4.local,T4.mmap,T4.tlbmiss",
               .fn = bm_pin_touch,
               .args = {BENCH_ARG("ws_kib", BENCH_V(64, 1024, 16384, 65536)),
                        BENCH_ARG("bind", BENCH_V(0, 1))},
               .real_time = true);

/* pin/walk - T4.walk (average page-table walk depth) has no PMU-free measure, and no
 * portable PMU event gives a depth either (Intel and AMD expose walk counts, walk cycles or
 * page-walk-cache hits as native events).  The row says which of the two applies. */
static void bm_pin_walk(struct bench_state *st)
{
    static const char *const pmus[] = {"/sys/bus/event_source/devices/cpu",
                                       "/sys/bus/event_source/devices/cpu_core",
                                       "/sys/bus/event_source/devices/armv8_pmuv3_0"};
    bool pmu = false;
    for (size_t i = 0; i < sizeof pmus / sizeof pmus[0]; i++)
        pmu = pmu || access(pmus[i], F_OK) == 0;
    bench_skip(st, pmu ? "n/a: walk depth is no portable PMU event; count native walk "
                         "events with --counters"
                       : "n/a: no PMU");
}

BENCH_REGISTER(.name = "pin/walk",
               .summary = "page-table walk depth, pinned vs not (PMU only)",
               .claims = "T4.walk",
               .fn = bm_pin_walk,
               .args = {BENCH_ARG("bind", BENCH_V(0, 1))},
               .iterations = 1,
               .repetitions = 1);
