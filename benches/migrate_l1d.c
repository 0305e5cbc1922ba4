/*
 * benches/migrate_l1d.c - a hot working set processed by a G whose M is moved between
 * CPUs at a controlled rate.
 *
 * What is measured
 *   One runtime per row, GOMAXPROCS = 1, bind_p off.  The main G pins its own M to the
 *   first CPU A of the affinity mask, then runs the timed loop.  One harness iteration is
 *   one experiment of fixed length (mig_duration_ns: at least 10 periods of the forced
 *   rate and at least 0.2 s, 0.5 s and 20 periods under `full`; 2 s at 5/s), made of
 *   passes over the working set: one 64-bit read-modify-write in every 64-byte line.  The
 *   per-pass figures divide by the passes counted.  After each
 *   pass the G reads CLOCK_MONOTONIC (in every row, rate:0 included, so the cost is
 *   common); when the next move is due it calls sched_setaffinity on its own thread to
 *   the other CPU (A <-> B, the first two CPUs of the mask), which migrates the M and with
 *   it the G and its working set's future misses.  Moves are due every 1/rate seconds.
 *   Excluded: runtime start/stop, allocation and first touch, a warm-up pass.
 *
 * Claims
 *   T6.l1d   L1d behaviour vs forced migrations per second: PAPI_L1_DCM from the harness
 *            where a PMU exists (n/a: no PMU here); PMU-free proxy: ns_per_op vs rate
 *   T6.per   slope of the sweep: extra ns per pass per migration (see How to read)
 *   T6.reuse row migrate/reuse: n/a with the reason (below)
 *
 * Arguments
 *   ws       l1 = half of L1d (sysconf _SC_LEVEL1_DCACHE_SIZE), l2 = half of L2: the set
 *            stays hot in that level as long as the G stays on one CPU.  Two definitions,
 *            since the harness's argument values are numbers.
 *   rate     forced migrations per second: 0, 5, 20 (the document's); full adds 100, 1000.
 *
 * Counters
 *   ns_per_op         wall-clock ns per pass (elapsed / passes)
 *   ns_per_line       ns per line touched
 *   passes            passes in the experiment
 *   offered_rate_hz   the forced rate (= rate)
 *   achieved_rate_hz  migrations / elapsed seconds: the manipulation check
 *   rate_realised     1 when achieved_rate_hz is within 20% of rate (rate 0: no migration
 *                     at all), else 0 and the label says `rate not realised: X/s achieved`
 *   migrations        CPU migrations of the G's thread in the experiment (perf software
 *                     event PERF_COUNT_SW_CPU_MIGRATIONS on that thread; total, not per
 *                     iteration); migrations_per_s the same per second of loop
 *                     (falls back to verified_moves, and the label says so, when the
 *                     counter cannot be opened: it needs perf_event_paranoid <= 1 or
 *                     CAP_PERFMON, since migrations are kernel-side events).  The achieved
 *                     rate can fall short of `rate`: a move waits until the target CPU
 *                     runs the thread, ~1 ms when another process keeps that CPU busy.
 *   forced_moves      sched_setaffinity calls the loop made (total)
 *   verified_moves    of those, the ones after which sched_getcpu() was the target
 *   work_ns_per_op    ns_per_op minus move_ns_per_op: the passes alone, refills included
 *   move_ns_per_op    ns per pass spent inside those calls (the syscall and the switch,
 *                     not the cache refill that follows)
 *   ws_bytes          the working set in bytes
 *   Harness: perf::CPU-MIGRATIONS, perf::CONTEXT-SWITCHES, PAPI_L1_DCM where present.
 *
 * How to read
 *   Throughput loss per migration (T6.per), from one run's rows:
 *     loss_ns = (ns_per_op[rate:R] - ns_per_op[rate:0]) * iterations[R] / migrations[R]
 *   i.e. the extra time the sweep costs per migration; the same formula on
 *   work_ns_per_op keeps only the refill of the working set on the new CPU (the move
 *   itself can wait ~1 ms for a busy target CPU and then dominates ns_per_op).
 *   At 5 or 20 moves per second a refill of an L1-sized set (~400 lines) is lost in the
 *   noise of millions of passes per second, which is why rates 100 and 1000 are here.
 *   With a PMU, PAPI_L1_DCM per pass vs rate gives the document's hit-rate curve.
 *
 * T6.reuse
 *   Reuse distance (distinct lines touched between two uses of a line) is a property of
 *   the program's address stream, not of where it runs: this loop's sweep has a reuse
 *   distance of exactly ws/64 - 1 lines at every rate.  Migrations change whether a reuse
 *   hits, not the distance; the document's falling "reuse distance" cannot be measured
 *   without a memory-access trace, and Go's schedtrace has no such field.  The row skips
 *   with that reason; the hit-side effect is the ns_per_op sweep above.
 *
 * Confounders and host conditions
 *   Needs 2 CPUs in the affinity mask (else `n/a: needs 2 CPUs`).  The vCPUs may share
 *   an L2 or L3 on the host, which hides part of the refill.  A busy other CPU delays the
 *   move (the thread waits to run there): move_ns_per_op shows it.  The harness's
 *   perf::CPU-MIGRATIONS also counts the runtime's other threads (sysmon).
 */
#include "bench.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <mn.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LINE 64

enum { WS_L1 = 1, WS_L2 = 2 };

struct mig_run {
    struct bench_state *st;
    int ws_level;
    long rate;
    size_t ws;
    uint64_t migrations;
    bool have_migrations; /* perf counter opened */
    long forced;
    long verified; /* forced moves after which sched_getcpu() was the target CPU */
    long passes;   /* passes over the working set in the timed loop */
    double dur_ns; /* length of one experiment (one harness iteration) */
    double move_ns;
    int err;
    char why[160];
};

/* mig_ws_bytes - half of the cache level's size, a multiple of the line; 0 if unknown. */
static size_t mig_ws_bytes(int level)
{
    long sz = sysconf(level == WS_L1 ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL2_CACHE_SIZE);
    if (sz <= 0)
        return 0;
    return ((size_t)sz / 2) & ~(size_t)(LINE - 1);
}

/* mig_counter_open - PERF_COUNT_SW_CPU_MIGRATIONS for the calling thread, or -errno. */
static int mig_counter_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_MIGRATIONS;
    /* Migrations happen in the kernel: with exclude_kernel = 1 this event reads 0 (seen
     * here), so it needs perf_event_paranoid <= 1 or CAP_PERFMON; else the caller falls
     * back to the moves it verified with sched_getcpu. */
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

static uint64_t mig_counter_read(int fd)
{
    uint64_t v = 0;
    if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        return 0;
    return v;
}

static int mig_pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof s, &s) == 0 ? 0 : -errno;
}

static int mig_main(void *arg)
{
    struct mig_run *r = arg;
    prctl(PR_SET_NAME, "migrate-hot", 0, 0, 0);

    cpu_set_t orig;
    int cpus[2] = {-1, -1}, n = 0;
    if (bench_affinity_save(&orig) != 0) {
        snprintf(r->why, sizeof r->why, "n/a: sched_getaffinity: %s", strerror(errno));
        bench_skip(r->st, r->why);
        return 0;
    }
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &orig))
            cpus[n++] = c;
    if (n < 2) {
        bench_skip(r->st, "n/a: needs 2 CPUs");
        return 0;
    }
    uint64_t *buf = aligned_alloc(4096, r->ws);
    if (!buf) {
        bench_skip(r->st, "n/a: out of memory");
        return 0;
    }
    memset(buf, 0, r->ws);
    const size_t stride = LINE / sizeof *buf, words = r->ws / sizeof *buf;

    int rc = mig_pin(cpus[0]);
    if (rc < 0) {
        snprintf(r->why, sizeof r->why, "n/a: cannot pin to CPU %d: %s", cpus[0], strerror(-rc));
        bench_skip(r->st, r->why);
        free(buf);
        return 0;
    }
    int fd = mig_counter_open();
    r->have_migrations = fd >= 0;
    if (fd < 0)
        snprintf(r->why, sizeof r->why, "migrations=verified forced moves (perf_event_open: %s)",
                 strerror(-fd));

    for (size_t i = 0; i < words; i += stride) /* warm-up pass */
        buf[i]++;

    const double period = r->rate > 0 ? 1e9 / (double)r->rate : 0;
    int at = 0;
    uint64_t m0 = mig_counter_read(fd);
    /* One harness iteration = one experiment of r->dur_ns: long enough for `rate` moves
     * to happen (mig_duration_ns), however short the preset's min_time is. */
    while (bench_keep_running(r->st)) {
        double start = (double)bench_now_ns(), now = start;
        double next = start + period;
        while (now - start < r->dur_ns) {
            for (size_t i = 0; i < words; i += stride)
                buf[i]++;
            bench_do_not_optimize(buf);
            r->passes++;
            now = (double)bench_now_ns();
            if (period > 0 && now >= next) {
                at ^= 1;
                if ((rc = mig_pin(cpus[at])) < 0 && !r->err)
                    r->err = rc;
                if (sched_getcpu() == cpus[at]) /* setaffinity on self moves first */
                    r->verified++;
                double done = (double)bench_now_ns();
                r->move_ns += done - now;
                r->forced++;
                next += period;
                if (next < done) /* fell behind (e.g. waited for the CPU): do not burst */
                    next = done + period;
                now = done;
            }
        }
    }
    r->migrations = mig_counter_read(fd) - m0;
    if (fd >= 0)
        close(fd);
    bench_affinity_restore(&orig);
    free(buf);
    return 0;
}

/* mig_duration_ns - how long one experiment runs: at least MIG_MIN_MOVES periods of the
 * forced rate, so that a rate of 5/s is realised (with 0.1 s, as before, no move happened
 * at 5/s and rate 5 equalled rate 0), and at least a floor for rate 0 and high rates.
 * The smoke preset runs 10 ms (numbers meaningless, rates not realised: the row says so). */
#define MIG_MIN_MOVES 10
static double mig_duration_ns(long rate)
{
    const char *preset = bench_preset();
    if (strcmp(preset, "smoke") == 0)
        return 10e6;
    double floor_ns = strcmp(preset, "full") == 0 ? 0.5e9 : 0.2e9;
    double moves_ns = rate > 0 ? MIG_MIN_MOVES * 1e9 / (double)rate : 0;
    if (strcmp(preset, "full") == 0)
        moves_ns *= 2;
    return moves_ns > floor_ns ? moves_ns : floor_ns;
}

/* A point whose achieved migration rate is off the forced one by more than this share is
 * labelled `rate not realised` (and its rate_realised counter is 0). */
#define MIG_RATE_TOLERANCE 0.2

/* bm_migrate_hot - migrate/hot/ws:l1 (capture WS_L1) and migrate/hot/ws:l2 (WS_L2). */
static void bm_migrate_hot(struct bench_state *st, long capture)
{
    int level = (int)capture;
    struct mig_run r;
    memset(&r, 0, sizeof r);
    r.st = st;
    r.ws_level = level;
    r.rate = bench_arg(st, "rate");
    r.ws = mig_ws_bytes(level);
    r.dur_ns = mig_duration_ns(r.rate);
    if (r.ws == 0) {
        bench_skip(st, level == WS_L1 ? "n/a: L1d size unknown (sysconf)"
                                      : "n/a: L2 size unknown (sysconf)");
        return;
    }
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = 1;
        cfg.bind_p = false; /* the G moves its own M; binding would fight it */
    }
    if (rc != 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return;
    }
    if (bench_run_runtime(st, &cfg, mig_main, &r) < 0)
        return;
    if (r.err < 0) {
        fprintf(stderr, "bench: migrate/hot: %s\n", strerror(-r.err));
        abort();
    }
    int64_t it = bench_iterations(st);
    if (it > 0 && r.passes > 0) {
        double el = bench_elapsed_ns(st);
        double passes = (double)r.passes;
        bench_set_counter(st, "ns_per_op", el / passes, BENCH_C_PLAIN);
        bench_set_counter(st, "ns_per_line", el / passes / (double)(r.ws / LINE), BENCH_C_PLAIN);
        bench_set_counter(st, "passes", passes, BENCH_C_PLAIN);
        bench_set_counter(st, "forced_moves", (double)r.forced, BENCH_C_PLAIN);
        bench_set_counter(st, "move_ns_per_op", r.move_ns / passes, BENCH_C_PLAIN);
        bench_set_counter(st, "work_ns_per_op", (el - r.move_ns) / passes, BENCH_C_PLAIN);
        bench_set_counter(st, "ws_bytes", (double)r.ws, BENCH_C_PLAIN);
        double mig = r.have_migrations ? (double)r.migrations : (double)r.verified;
        bench_set_counter(st, "migrations", mig, BENCH_C_PLAIN);
        bench_set_counter(st, "verified_moves", (double)r.verified, BENCH_C_PLAIN);
        bench_set_counter(st, "offered_rate_hz", (double)r.rate, BENCH_C_PLAIN);
        if (el > 0) {
            double achieved = mig * 1e9 / el;
            bench_set_counter(st, "migrations_per_s", achieved, BENCH_C_PLAIN);
            bench_set_counter(st, "achieved_rate_hz", achieved, BENCH_C_PLAIN);
            /* rate 0: realised when nothing moved the thread (< 1 per experiment) */
            bool ok = r.rate > 0 ? achieved >= (1 - MIG_RATE_TOLERANCE) * (double)r.rate &&
                                       achieved <= (1 + MIG_RATE_TOLERANCE) * (double)r.rate
                                 : mig < 1.0 * (double)it;
            bench_set_counter(st, "rate_realised", ok ? 1 : 0, BENCH_C_PLAIN);
            if (!ok) {
                char note[96];
                snprintf(note, sizeof note, "rate not realised: %.3g/s achieved for %ld/s",
                         achieved, r.rate);
                bench_label_extra(st, note);
            }
        }
    }
    if (r.why[0] && strncmp(r.why, "n/a: ", 5) != 0)
        bench_label_extra(st, r.why);
}

BENCH_REGISTER(.name = "migrate/hot/ws:l1",
               .summary = "L1-sized hot set, its G's M moved between 2 CPUs at rate/s",
               .claims = "T6.l1d,T6.per", .fn_capture = bm_migrate_hot, .capture = WS_L1,
               .args = {BENCH_ARG_QF("rate", BENCH_V(0, 5, 20), BENCH_V(0, 5, 20, 100, 1000))},
               .iterations = 1, .real_time = true);

BENCH_REGISTER(.name = "migrate/hot/ws:l2",
               .summary = "L2-sized hot set, its G's M moved between 2 CPUs at rate/s",
               .claims = "T6.l1d,T6.per", .fn_capture = bm_migrate_hot, .capture = WS_L2,
               .args = {BENCH_ARG_QF("rate", BENCH_V(0, 5, 20), BENCH_V(0, 5, 20, 100, 1000))},
               .iterations = 1, .real_time = true);

/* migrate/reuse - T6.reuse: see the header. */
static void bm_migrate_reuse(struct bench_state *st)
{
    bench_skip(st, "n/a: reuse distance is a property of the access trace (this sweep: "
                   "ws/64-1 lines at every rate) and needs a memory-access trace to measure; "
                   "Go's schedtrace has no such field; see migrate/hot ns_per_op vs rate");
}

BENCH_REGISTER(.name = "migrate/reuse",
               .summary = "cache-line reuse distance vs migrations (not measurable: why)",
               .claims = "T6.reuse", .fn = bm_migrate_reuse, .iterations = 1, .repetitions = 1);
