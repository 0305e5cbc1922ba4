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
 *   T4.tlbmiss PAPI_TLB_DM from the harness where a PMU exists (n/a: no PMU here); this
 *              row (pin/touch) maps nothing in its loop, so it shows no shootdowns
 *   T4.flush, T4.local, T4.mmap   row pin/shoot below: a workload that unmaps memory (real
 *              shootdowns) with a control arm that does not, and its own migration counts
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
#include <linux/perf_event.h>
#include <mn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LINE 64

struct pin_buf {
    unsigned char *p;
    int last_cpu; /* CPU of the previous pass, -1 before the first */
    long moves;   /* passes on another CPU than the previous one (timed loop only) */
    long passes;
};

struct pin_run {
    struct bench_state *st;
    size_t ws; /* bytes per buffer */
    int bind;
    struct tlbtrace *tt;       /* NULL when not available */
    struct tlbtrace_counts tl; /* delta over the timed loop */
    struct mn_stats s0, s1;
    int np;
    struct pin_buf *bufs;
    struct mn_wg wg;
    int timed; /* count moves only in the timed loop */
    int err;   /* negative errno from the G side */
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

/* go_all - one G per task, fn(&tasks[i]) for i < n (each calls mn_wg_done(wg)), and wait
 * for all: one iteration of pin/touch and pin/shoot.  0 or a negative errno (a failed
 * mn_go takes its and the later Gs' counts back from wg). */
static int go_all(struct mn_wg *wg, int n, void (*fn)(void *), void *tasks, size_t task_bytes)
{
    mn_wg_add(wg, n);
    for (int i = 0; i < n; i++) {
        int rc = mn_go(fn, (char *)tasks + (size_t)i * task_bytes);
        if (rc < 0) {
            mn_wg_add(wg, -(n - i));
            return rc;
        }
    }
    return mn_wg_wait(wg);
}

/* pin_iter - spawn one G per buffer and wait for all.  0 or a negative errno. */
static int pin_iter(struct pin_run *r, struct pin_task *tasks)
{
    return go_all(&r->wg, r->np, pin_pass, tasks, sizeof *tasks);
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

/* pin_run - start the runtime for a pin row (GOMAXPROCS default, bind_p = bind) with
 * main_fn(arg) as the main G.  False when the row was skipped (mn_config_init or the
 * runtime failed: bench_run_runtime's policy); a runtime failure inside the loop (*err < 0)
 * is a bug in the bench or the runtime and aborts, naming the row. */
static bool pin_run(struct bench_state *st, const char *row, bool bind, int (*main_fn)(void *),
                    void *arg, const int *err)
{
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc != 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return false;
    }
    cfg.gomaxprocs = 0;
    cfg.bind_p = bind;
    if (bench_run_runtime(st, &cfg, main_fn, arg) < 0)
        return false;
    if (*err < 0) {
        fprintf(stderr, "bench: %s: %s\n", row, strerror(-*err));
        abort();
    }
    return true;
}

/* pin_tlb_counters - the tracepoint counts tl of tt per iteration (it iterations) as the
 * row's counters (tlbtrace_counters' names), and why syscall counts are missing if they are. */
static void pin_tlb_counters(struct bench_state *st, const struct tlbtrace *tt,
                             const struct tlbtrace_counts *tl, int64_t it)
{
    struct tlbtrace_counter cs[TLBTRACE_MAX_COUNTERS];
    int n = tlbtrace_counters(tt, tl, (double)it, cs, TLBTRACE_MAX_COUNTERS);
    for (int i = 0; i < n && i < TLBTRACE_MAX_COUNTERS; i++)
        bench_set_counter(st, cs[i].name, cs[i].value, BENCH_C_PLAIN);
    if (!tlbtrace_has_syscalls(tt))
        bench_label_extra(st, tlbtrace_syscalls_why(tt));
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

    if (!pin_run(st, "pin/touch", r.bind != 0, pin_main, &r, &r.err)) {
        tlbtrace_close(r.tt);
        return;
    }
    struct tlbtrace_counts whole;
    bool whole_ok = r.tt && tlbtrace_has_syscalls(r.tt) && tlbtrace_read(r.tt, &whole) == 0;

    int64_t it = bench_iterations(st);
    if (it > 0 && r.np > 0) {
        bench_set_per_op_ns(st, "ns_per_op", 1.0);
        bench_set_per_op_ns(st, "ns_per_line", (double)r.np * (double)(r.ws / LINE));
        if (r.tt)
            pin_tlb_counters(st, r.tt, &r.tl, it);
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
            bench_set_counter(st, "ws_cpu_moves", (double)moves / (double)passes, BENCH_C_PLAIN);
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
               .claims = "T4.tlbmiss", .fn = bm_pin_touch,
               .args = {BENCH_ARG("ws_kib", BENCH_V(64, 1024, 16384, 65536)),
                        BENCH_ARG("bind", BENCH_V(0, 1))},
               .real_time = true);

/* ==== pin/shoot: real TLB shootdowns, Ps bound or not (T4.flush, T4.local, T4.mmap) ====
 *
 * What is measured
 *   One runtime per row, GOMAXPROCS = every CPU of the affinity mask, cfg.bind_p = bind.
 *   One iteration spawns SHOOT_GS_PER_P Gs per P; each G takes a chunk of SHOOT_CHUNK
 *   bytes, writes one byte per 4 KiB page, and gives the chunk back:
 *     unmap:1  the chunk is mmap'ed for the pass and munmap'ed after it, the way an
 *              allocator returns a span to the OS (Go's scavenger, glibc trim): every
 *              munmap of a present page makes the kernel flush the range on every CPU
 *              that may cache this mm's translations (a shootdown: IPIs to the others);
 *     unmap:0  the same pass over a chunk mapped once before timing: no syscall, so
 *              no shootdown (the control arm).
 *   The main G waits for the Gs of the iteration (mn_wg).  Excluded: runtime start/stop,
 *   the control arm's mapping, a warm-up iteration.
 *
 * Counters (per iteration unless said)
 *   tlb_flush, tlb_flush.<reason>, ...  tlb:tlb_flush on this process's threads (tlbtrace.h)
 *   shootdowns          flushes this process started: local_mm_shootdown + local_shootdown
 *                       (each munmap/mprotect that flushes logs one on its own CPU)
 *   shootdowns_remote   of those, the ones that sent IPIs to other CPUs (remote_send_ipi)
 *   shootdown_events    every tlb_flush event but flush_on_task_switch: the sender's
 *                       local and send-IPI events plus remote_shootdown on receiving CPUs
 *                       while one of our threads ran there (the "flush events" T4.flush
 *                       compares, task switches left out as HOST-NOTES asks)
 *   local_share         1 - shootdowns_remote / shootdowns (0..1, whole timed loop): the
 *                       share of this process's shootdowns that stayed on one CPU (T4.local)
 *   sys_remote_shootdown  remote_shootdown events on every CPU of the machine (pid = -1),
 *                       per iteration: receivers our threads did not run on are counted
 *                       too, and so is every other process's shootdown (cross-check only)
 *   mmaps, munmaps, mprotects  syscalls by this process in the timed loop (T4.mmap: the
 *                       workload's mapping calls alone, set-up excluded)
 *   migrations          CPU migrations of the Ms that ran the workload's Gs, summed over
 *                       the timed loop (a total per repetition, not per iteration; the
 *                       kernel's se.nr_migrations of each such thread): the manipulation
 *                       check, ~0 with bind:1, > 0 with bind:0 when Linux moved an M
 *   migrations_all      the same for every thread of the process (a software perf event
 *                       with inherit opened before mn_init: sysmon, idle Ms, main thread)
 *   m_cpu_moves         share (0..1) of G passes that found their M on another CPU than
 *                       the previous G that M ran (the Ms that run the workload)
 *   Harness: perf::CPU-MIGRATIONS etc. where its counters are on.
 *
 * How to read
 *   unmap:1 against unmap:0 shows the workload causes shootdowns (shootdowns ~ the Gs per
 *   iteration) and the control arm does not (~0).  With Ps bound each M stays on its CPU,
 *   so both CPUs keep the mm loaded and most munmaps must IPI the other one; unbound, Ms
 *   may share a CPU when another tenant keeps the other busy, and shootdowns stay local.
 *   Whether pinning lowers flush events (the document's 1,204 vs 4,891) or raises the
 *   local share above 92% is what the rows decide; a row whose migrations do not show the
 *   treatment (bind:1 moved, bind:0 never moved) cannot decide it.
 *
 * Confounders and host conditions
 *   Needs tracefs and perf_event_open (root here); else the tlb counters are absent and the
 *   label says why.  Another tenant's load decides where bind:0 Ms run: compare the rows
 *   of one run.  A KVM guest with PV TLB flush skips IPIs to preempted vCPUs (it sets a
 *   flag instead) but still logs remote_send_ipi at the sender.
 */

#define SHOOT_CHUNK (64 * 1024) /* 16 pages: the kernel flushes the range page by page */
#define SHOOT_GS_PER_P 4
#ifndef SHOOT_GAP_NS
#define SHOOT_GAP_NS 0
#endif
#define SHOOT_PAGE 4096

struct shoot_m { /* what the G passes saw of one M (by thread id) */
    pid_t tid;
    int last_cpu;
    int64_t mig0; /* se.nr_migrations when the timed loop started; -1 unknown */
};

#define SHOOT_MAX_MS 64

struct shoot_run {
    struct bench_state *st;
    int unmap;
    struct tlbtrace *tt;           /* this process's threads, NULL when not available */
    struct tlbtrace *sys;          /* every CPU, NULL when not available */
    struct tlbtrace_counts tl, sl; /* deltas over the timed loop */
    int mig_fd;                    /* perf software CPU_MIGRATIONS, inherit; -1 when absent */
    uint64_t migrations_all;       /* its delta over the timed loop: every thread */
    int64_t migrations;            /* delta of the workload Ms' se.nr_migrations; -1 unknown */
    int np, ng;
    unsigned char **chunks; /* unmap:0: one fixed chunk per G */
    struct mn_wg wg;
    int timed;
    atomic_long moves, passes;
    pthread_mutex_t mu; /* guards ms[] (taken once per pass, off the flush path) */
    struct shoot_m ms[SHOOT_MAX_MS];
    int nms;
    int err;
    char why[200];
};

struct shoot_task {
    struct shoot_run *r;
    int i;
};

/* shoot_note_m - record whether this G's M is on another CPU than at its previous pass. */
static void shoot_note_m(struct shoot_run *r)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int cpu = sched_getcpu();
    pthread_mutex_lock(&r->mu);
    int k;
    for (k = 0; k < r->nms && r->ms[k].tid != tid; k++)
        ;
    if (k == r->nms && k < SHOOT_MAX_MS) {
        r->ms[k].tid = tid;
        r->ms[k].last_cpu = cpu;
        r->ms[k].mig0 = r->timed ? 0 : -1; /* an M first seen in the loop: since birth */
        r->nms++;
    } else if (k < r->nms) {
        if (r->timed) {
            atomic_fetch_add_explicit(&r->passes, 1, memory_order_relaxed);
            if (r->ms[k].last_cpu != cpu)
                atomic_fetch_add_explicit(&r->moves, 1, memory_order_relaxed);
        }
        r->ms[k].last_cpu = cpu;
    }
    pthread_mutex_unlock(&r->mu);
}

/* shoot_pass - one G: take a chunk, write one byte per page, give the chunk back. */
static void shoot_pass(void *arg)
{
    struct shoot_task *t = arg;
    struct shoot_run *r = t->r;
    shoot_note_m(r);
    unsigned char *p = r->chunks ? r->chunks[t->i] : NULL;
    if (r->unmap) {
        p = mmap(NULL, SHOOT_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            r->err = -errno;
            mn_wg_done(&r->wg);
            return;
        }
    }
    for (size_t i = 0; i < SHOOT_CHUNK; i += SHOOT_PAGE)
        p[i]++;
    bench_do_not_optimize(p);
    if (r->unmap && munmap(p, SHOOT_CHUNK) != 0)
        r->err = -errno;
    mn_wg_done(&r->wg);
}

static int shoot_iter(struct shoot_run *r, struct shoot_task *tasks)
{
    return go_all(&r->wg, r->ng, shoot_pass, tasks, sizeof *tasks);
}

/* shoot_nr_migrations - se.nr_migrations of thread tid of this process (from
 * /proc/self/task/<tid>/sched, CONFIG_SCHED_DEBUG), or -1 when it cannot be read. */
static int64_t shoot_nr_migrations(pid_t tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/sched", (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int64_t v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "se.nr_migrations", 16) == 0) {
            char *colon = strchr(line, ':');
            if (colon)
                v = strtoll(colon + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static uint64_t shoot_read_fd(int fd)
{
    uint64_t v = 0;
    if (fd >= 0 && read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        v = 0;
    return v;
}

static int shoot_main(void *arg)
{
    struct shoot_run *r = arg;
    int rc;
    prctl(PR_SET_NAME, "pin-shoot", 0, 0, 0);
    r->np = mn_gomaxprocs(0);
    if (r->np <= 0) {
        bench_skip_errno(r->st, "mn_gomaxprocs", r->np);
        return 0;
    }
    r->ng = r->np * SHOOT_GS_PER_P;
    struct shoot_task *tasks = calloc((size_t)r->ng, sizeof *tasks);
    if (!tasks) {
        bench_skip(r->st, "n/a: out of memory");
        return 0;
    }
    if (!r->unmap) {
        r->chunks = calloc((size_t)r->ng, sizeof *r->chunks);
        for (int i = 0; r->chunks && i < r->ng; i++) {
            void *p =
                mmap(NULL, SHOOT_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                snprintf(r->why, sizeof r->why, "n/a: mmap: %s", strerror(errno));
                bench_skip(r->st, r->why);
                goto out;
            }
            memset(p, 1, SHOOT_CHUNK);
            r->chunks[i] = p;
        }
        if (!r->chunks) {
            bench_skip(r->st, "n/a: out of memory");
            goto out;
        }
    }
    for (int i = 0; i < r->ng; i++) {
        tasks[i].r = r;
        tasks[i].i = i;
    }
    mn_wg_init(&r->wg);
    if ((rc = shoot_iter(r, tasks)) < 0) { /* warm-up: Ms started and (bind:1) pinned */
        r->err = rc;
        goto out;
    }

    struct tlbtrace_counts a, b, sa, sb;
    bool tt_ok = r->tt && tlbtrace_read(r->tt, &a) == 0;
    bool sys_ok = r->sys && tlbtrace_read(r->sys, &sa) == 0;
    uint64_t m0 = shoot_read_fd(r->mig_fd);
    pthread_mutex_lock(&r->mu);
    for (int k = 0; k < r->nms; k++)
        r->ms[k].mig0 = shoot_nr_migrations(r->ms[k].tid);
    r->timed = 1;
    pthread_mutex_unlock(&r->mu);
    while (bench_keep_running(r->st)) {
        if ((rc = shoot_iter(r, tasks)) < 0 && !r->err)
            r->err = rc;
        if (SHOOT_GAP_NS) { /* Ms go idle and park; Linux places them again on wake-up */
            bench_pause(r->st);
            mn_sleep_ns(SHOOT_GAP_NS);
            bench_resume(r->st);
        }
    }
    r->migrations_all = shoot_read_fd(r->mig_fd) - m0;
    pthread_mutex_lock(&r->mu);
    r->timed = 0;
    r->migrations = 0;
    for (int k = 0; k < r->nms && r->migrations >= 0; k++) {
        int64_t now = shoot_nr_migrations(r->ms[k].tid);
        r->migrations = now < 0 || r->ms[k].mig0 < 0 ? -1 : r->migrations + now - r->ms[k].mig0;
    }
    pthread_mutex_unlock(&r->mu);
    if (tt_ok && tlbtrace_read(r->tt, &b) == 0) {
        tlbtrace_diff(&b, &a, &r->tl);
    } else if (r->tt) {
        tlbtrace_close(r->tt);
        r->tt = NULL;
        snprintf(r->why, sizeof r->why, "tlb_flush=n/a: tracepoint read failed");
    }
    if (sys_ok && tlbtrace_read(r->sys, &sb) == 0) {
        tlbtrace_diff(&sb, &sa, &r->sl);
    } else if (r->sys) {
        tlbtrace_close(r->sys);
        r->sys = NULL;
    }
out:
    for (int i = 0; r->chunks && i < r->ng; i++)
        if (r->chunks[i])
            munmap(r->chunks[i], SHOOT_CHUNK);
    free(r->chunks);
    r->chunks = NULL;
    free(tasks);
    return 0;
}

/* shoot_open_migrations - a counting software event for CPU migrations of the calling
 * thread and (inherit) every thread it creates later.  fd or -1 with why. */
static int shoot_open_migrations(char *why, size_t len)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_MIGRATIONS;
    a.inherit = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "migrations=n/a: perf_event_open: %s", strerror(errno));
        return -1;
    }
    return (int)fd;
}

static void bm_pin_shoot(struct bench_state *st)
{
    struct shoot_run r;
    memset(&r, 0, sizeof r);
    r.st = st;
    r.unmap = (int)bench_arg(st, "unmap");
    int bind = (int)bench_arg(st, "bind");
    pthread_mutex_init(&r.mu, NULL);

    /* Before mn_init: the runtime's threads are created later and inherit the events. */
    char why[200] = "", mwhy[120] = "";
    if (tlbtrace_open(&r.tt, NULL, TLBTRACE_THREADS, why, sizeof why) != 0) {
        r.tt = NULL;
        snprintf(r.why, sizeof r.why, "tlb_flush=%s", why);
    } else if (tlbtrace_open(&r.sys, NULL, TLBTRACE_CPUS, why, sizeof why) != 0) {
        r.sys = NULL;
    }
    r.mig_fd = shoot_open_migrations(mwhy, sizeof mwhy);

    if (!pin_run(st, "pin/shoot", bind != 0, shoot_main, &r, &r.err))
        goto done;

    int64_t it = bench_iterations(st);
    if (it > 0 && r.np > 0) {
        bench_set_per_op_ns(st, "ns_per_op", 1.0);
        if (r.tt) {
            pin_tlb_counters(st, r.tt, &r.tl, it);
            /* reason values: 0 task switch, 1 remote_shootdown, 2 local_shootdown,
             * 3 local_mm_shootdown, 4 remote_send_ipi, 5 remote_wrong_cpu */
            double started = (double)(r.tl.reason[2] + r.tl.reason[3]);
            double remote = (double)r.tl.reason[4];
            double events = (double)(r.tl.flush - r.tl.reason[0]);
            bench_set_counter(st, "shootdowns", started / (double)it, BENCH_C_PLAIN);
            bench_set_counter(st, "shootdowns_remote", remote / (double)it, BENCH_C_PLAIN);
            bench_set_counter(st, "shootdown_events", events / (double)it, BENCH_C_PLAIN);
            if (started > 0)
                bench_set_counter(st, "local_share",
                                  started > remote ? 1.0 - remote / started : 0.0, BENCH_C_PLAIN);
        }
        if (r.sys)
            bench_set_counter(st, "sys_remote_shootdown", (double)r.sl.reason[1] / (double)it,
                              BENCH_C_PLAIN);
        if (r.migrations >= 0)
            bench_set_counter(st, "migrations", (double)r.migrations, BENCH_C_PLAIN);
        else
            bench_label_extra(st, "migrations=n/a: no /proc/self/task/*/sched "
                                  "(CONFIG_SCHED_DEBUG)");
        if (r.mig_fd >= 0)
            bench_set_counter(st, "migrations_all", (double)r.migrations_all, BENCH_C_PLAIN);
        long passes = atomic_load(&r.passes);
        if (passes > 0)
            bench_set_counter(st, "m_cpu_moves", (double)atomic_load(&r.moves) / (double)passes,
                              BENCH_C_PLAIN);
        bench_set_counter(st, "procs", r.np, BENCH_C_PLAIN);
        bench_set_counter(st, "gs_per_iter", r.ng, BENCH_C_PLAIN);
    }
    if (r.why[0])
        bench_label_extra(st, r.why);
    if (mwhy[0])
        bench_label_extra(st, mwhy);
done:
    if (r.mig_fd >= 0)
        close(r.mig_fd);
    tlbtrace_close(r.tt);
    tlbtrace_close(r.sys);
    pthread_mutex_destroy(&r.mu);
}

BENCH_REGISTER(.name = "pin/shoot",
               .summary = "Gs map, touch and unmap chunks (TLB shootdowns), Ps bound or not",
               .claims = "T4.flush,T4.local,T4.mmap", .fn = bm_pin_shoot,
               .args = {BENCH_ARG("unmap", BENCH_V(0, 1)), BENCH_ARG("bind", BENCH_V(0, 1))},
               /* Linux moves two busy Ms on two CPUs about twice a second here: a
                * repetition must be long enough for the unpinned arm to show it */
               .min_time_s = 0.5, .real_time = true);

/* pin/walk - T4.walk (average page-table walk depth) has no PMU-free measure, and no
 * portable PMU event gives a depth either (Intel and AMD expose walk counts, walk cycles or
 * page-walk-cache hits as native events).  The row says which of the two applies. */
static void bm_pin_walk(struct bench_state *st)
{
    bench_skip(st, bench_pmu_present()
                       ? "n/a: walk depth is no portable PMU event; count native walk "
                         "events with --counters"
                       : "n/a: no PMU");
}

BENCH_REGISTER(.name = "pin/walk", .summary = "page-table walk depth, pinned vs not (PMU only)",
               .claims = "T4.walk", .fn = bm_pin_walk, .args = {BENCH_ARG("bind", BENCH_V(0, 1))},
               .iterations = 1, .repetitions = 1);
