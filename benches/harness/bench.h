/*
 * bench.h - the C interface bench files use to register and time benchmarks.
 *
 * The engine is Google Benchmark (Debian's libbenchmark 1.7.1).  It has no C API, so this
 * header is a thin C face on it; benches/harness/gbench.cc adapts it to the library and
 * owns main() and the flags.  Bench files are C and never include C++ headers.
 *
 * ---- Registering a bench ------------------------------------------------------------
 *
 *     static void bm_switch_g_yield(struct bench_state *st) { ... }
 *
 *     BENCH_REGISTER(
 *         .name      = "switch/g_yield",
 *         .summary   = "two Gs yielding to each other on one P",
 *         .claims    = "T1.switch.g",
 *         .fn        = bm_switch_g_yield,
 *         .args      = { BENCH_ARG("procs", BENCH_V(1)) },
 *         .real_time = true);
 *
 * Each definition becomes one Google Benchmark per combination (cartesian product, first
 * arg outermost) of its argument values, named `<name>/<arg>:<val>/...` as required by
 * benches/FORMAT.md.  Argument values are chosen per preset: `quick` (the default, what
 * `make bench` runs), `full`, and `smoke` (make test's smoke run); an arg whose .full or
 * .smoke list is empty uses .quick there.  Values BENCH_ALL and BENCH_DEFAULT print as `all` and
 * `default` in row names.
 *
 * ---- The timed loop -------------------------------------------------------------------
 *
 *     static void bm_x(struct bench_state *st)
 *     {
 *         setup();                            // untimed
 *         while (bench_keep_running(st))      // the timer runs from the first call
 *             op();                           //  until the call that returns false
 *         bench_set_per_op_ns(st, "ns_per_op", 1.0);
 *         teardown();                         // untimed
 *     }
 *
 * The loop may run on another thread than the one the harness called fn on, e.g. on a
 * runtime G: call mn_init/mn_run inside fn and run `while (bench_keep_running(st))` in
 * the main G.  Only one thread may drive a given bench_state at a time, and the handoff
 * between threads must be synchronised (mn_run's start and return are).
 *
 * The loop costs one decrement and one predicted branch per iteration (the harness hands
 * the whole iteration count over in one KeepRunningBatch); `harness/empty` measures it.
 *
 * ---- Harness-attached counters ----------------------------------------------------------
 *
 * Around the timed region (first bench_keep_running call to the last) the harness counts
 * the events chosen with --counters (default: PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_L1_DCM,
 * PAPI_TLB_DM where a PMU exists, plus perf::CONTEXT-SWITCHES, perf::CPU-MIGRATIONS,
 * perf::PAGE-FAULTS) on every thread of the process that exists when timing starts and
 * on every thread those create during it (perf inherit), and reports them per iteration
 * under their event names.  Counters keep counting while timing is paused.  Threads
 * created before timing starts and parked (e.g. runtime Ms) are covered; a bench whose
 * threads all start inside fn and before the loop needs do nothing else.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Argument sets ================================================================== */

#define BENCH_MAX_ARGS 4  /* named arguments per bench */
#define BENCH_MAX_VALS 12 /* values per argument per preset */

/* Special argument values, printed by name in row names. */
#define BENCH_ALL (-1L)     /* "all": e.g. procs:all = every CPU in the affinity mask */
#define BENCH_DEFAULT (-2L) /* "default": e.g. stack:default = the library's default */

/* struct bench_vals - a list of argument values; build it with BENCH_V(...). */
struct bench_vals {
    int n; /* number of values; 0 = none (for .full: same as .quick) */
    long v[BENCH_MAX_VALS];
};
#define BENCH_V(...)                                                                               \
    {                                                                                              \
        .n = (int)(sizeof((long[]){__VA_ARGS__}) / sizeof(long)), .v = { __VA_ARGS__ }             \
    }

/* struct bench_arg - one named argument and its values under each preset. */
struct bench_arg {
    const char *name;        /* as in the row name, e.g. "procs"; NULL ends the list */
    struct bench_vals quick; /* values for --preset=quick */
    struct bench_vals full;  /* values for --preset=full; empty = same as quick */
    struct bench_vals smoke; /* values for --preset=smoke (make test's smoke run: tiny
                                sizes); empty = same as quick */
    bool node_ids;           /* the values are NUMA node IDs: only the IDs this host has
                                become instances (a one-node host gets node 0 only) */
};
/* BENCH_ARG("procs", BENCH_V(1, 2)): the same values in both presets.
 * BENCH_ARG_QF("n", BENCH_V(1000), BENCH_V(1000, 10000)): quick values, then full values. */
#define BENCH_ARG(nm, q)                                                                           \
    {                                                                                              \
        .name = (nm), .quick = q                                                                   \
    }
#define BENCH_ARG_QF(nm, q, f)                                                                     \
    {                                                                                              \
        .name = (nm), .quick = q, .full = f                                                        \
    }
/* BENCH_ARG_QFS(name, quick, full, smoke): also the values the smoke test uses. */
#define BENCH_ARG_QFS(nm, q, f, s)                                                                 \
    {                                                                                              \
        .name = (nm), .quick = q, .full = f, .smoke = s                                            \
    }

/* BENCH_ARG_NODES(name, quick, full, smoke): as BENCH_ARG_QFS, values are NUMA node IDs. */
#define BENCH_ARG_NODES(nm, q, f, s)                                                               \
    {                                                                                              \
        .name = (nm), .quick = q, .full = f, .smoke = s, .node_ids = true                          \
    }

/* ==== Definitions ===================================================================== */

struct bench_state; /* one running benchmark instance; opaque except for the fast path */

/*
 * struct bench_def - one registered benchmark (perf bench's {name, summary, fn} row).
 * Fill with designated initializers through BENCH_REGISTER; unset fields are 0.
 */
struct bench_def {
    const char *name;    /* "<area>/<what>", FORMAT.md; unique */
    const char *summary; /* one line, shown by --list */
    const char *claims;  /* claim IDs, comma separated ("T1.switch.g"); the row label */
    void (*fn)(struct bench_state *st);
    /* Instead of fn: fn_capture(st, capture), one body serving several benches, each
     * registered with its own constant (Google Benchmark's BENCHMARK_CAPTURE), e.g.
     * chan/throughput and chan/latency.  Set fn or fn_capture. */
    void (*fn_capture)(struct bench_state *st, long capture);
    long capture;
    struct bench_arg args[BENCH_MAX_ARGS];
    bool real_time;           /* time in wall-clock time: required when >1 OS thread works */
    bool manual_time;         /* the bench reports time itself with bench_set_iteration_time */
    long iterations;          /* fixed iteration count (0 = let the library size it), e.g. 1
                                 for a bench whose single iteration is a whole experiment */
    int repetitions;          /* fixed repetitions (0 = the preset's / command line's) */
    double min_time_s;        /* minimum timed seconds (0 = the preset's / command line's) */
    bool quick_skip;          /* not under --preset=quick (full and smoke run it) */
    void (*context_fn)(void); /* called once before the runs when an instance of this
                                 bench is selected; may call bench_context */
    const char *file;         /* the source file, set by BENCH_REGISTER; shown by --list */
};

/* bench_register - add def to the registry (called by BENCH_REGISTER's constructor).
 * def must stay valid for the program's life.  A duplicate name aborts at start-up. */
void bench_register(const struct bench_def *def);

#define BENCH_CAT_2(a, b) a##b
#define BENCH_CAT_(a, b) BENCH_CAT_2(a, b)
/* BENCH_REGISTER(.name = ..., .fn = ..., ...) - register a bench at program start; the
 * definition records the file it stands in (bench --list prints it). */
#define BENCH_REGISTER(...)                                                                        \
    static const struct bench_def BENCH_CAT_(bench_def_, __LINE__) = {.file = __FILE__,            \
                                                                      __VA_ARGS__};                \
    __attribute__((constructor)) static void BENCH_CAT_(bench_reg_, __LINE__)(void)                \
    {                                                                                              \
        bench_register(&BENCH_CAT_(bench_def_, __LINE__));                                         \
    }

/* ==== Running ========================================================================= */

/* Public so the loop test can be inlined; fields other than left are private. */
struct bench_state {
    int64_t left; /* iterations left in the current batch (fast path) */
    void *impl;   /* private: the harness's per-run data */
};

/* bench__next - slow path of bench_keep_running; private. */
bool bench__next(struct bench_state *st);

/* bench_keep_running - true while the bench should run one more iteration.  The first
 * call starts the timer and the counters, the call that returns false stops them.  Call it
 * until it returns false (do not break out of the loop).  Any thread may drive the loop,
 * one at a time. */
static inline bool bench_keep_running(struct bench_state *st)
{
    if (__builtin_expect(st->left > 0, 1)) {
        st->left--;
        return true;
    }
    return bench__next(st);
}

/* bench_finish - stop the timer now: the same as calling bench_keep_running until it
 * returns false, for a bench whose Gs or threads did the iterations themselves, without a
 * loop of one decrement per iteration inside the timed window.  Call it once, after the
 * first bench_keep_running call, instead of that final loop. */
static inline void bench_finish(struct bench_state *st)
{
    st->left = 0;
    (void)bench__next(st);
}

/* bench_arg - value of the named argument for this instance (BENCH_ALL / BENCH_DEFAULT
 * as given).  Aborts with a message when the bench has no such argument (a bench bug). */
long bench_arg(struct bench_state *st, const char *name);

/* bench_ncpus - CPUs in the process's affinity mask (what procs:all means). */
int bench_ncpus(void);

/* bench_iterations - iterations the library asked for in this run (valid inside fn). */
int64_t bench_iterations(struct bench_state *st);

/* bench_preset - "quick", "full" or "smoke" (make test: 1 repetition, 1 ms, tiny sizes;
 * benches with size caps not in their row name scale them down under it). */
const char *bench_preset(void);

/* Counter flags (Google Benchmark's Counter::Flags). */
enum bench_counter_flags {
    BENCH_C_PLAIN = 0,        /* reported as given */
    BENCH_C_RATE = 1,         /* divided by the run's seconds: per second */
    BENCH_C_AVG_ITER = 2,     /* divided by the iteration count: per iteration */
    BENCH_C_AVG_ITER_RATE = 3 /* both */
};

/* bench_set_counter - report a derived counter; name carries its unit (FORMAT.md:
 * ns_per_switch, bytes_per_g, reached...).  Call from fn or the loop's thread after the
 * loop; a later call with the same name replaces the value. */
void bench_set_counter(struct bench_state *st, const char *name, double value, int flags);

/* bench_set_per_op_ns - report name = timed wall-clock ns / (iterations * ops_per_iter),
 * e.g. bench_set_per_op_ns(st, "ns_per_switch", 2.0) for a round trip of two switches.
 * Wall-clock time is the harness's CLOCK_MONOTONIC over the timed loop, pauses excluded;
 * call after the loop has ended. */
void bench_set_per_op_ns(struct bench_state *st, const char *name, double ops_per_iter);

/* bench_elapsed_ns - wall-clock ns of the timed loop so far, pauses excluded. */
double bench_elapsed_ns(struct bench_state *st);

/* bench_skip - mark this run as not measurable here (Google Benchmark's SkipWithError):
 * the JSON row gets error_occurred and error_message = reason, which must start "n/a: ".
 * Call before the loop (the loop then runs zero iterations) or instead of it. */
void bench_skip(struct bench_state *st, const char *reason);

/* bench_skip_errno - bench_skip for a call that failed with rc, a negative errno (the
 * runtime's and the harness's convention).  what names the call, e.g. "mn_init".  The
 * reason is "n/a: <what> failed: <strerror(-rc)>".  Same rules as bench_skip on when to
 * call it. */
void bench_skip_errno(struct bench_state *st, const char *what, int rc);

/* bench_pause / bench_resume - exclude a part of an iteration from the timer (expensive:
 * ~100s of ns each; use only around per-iteration setup that dwarfs it). */
void bench_pause(struct bench_state *st);
void bench_resume(struct bench_state *st);

/* bench_set_iteration_time - for .manual_time benches: seconds this iteration took. */
void bench_set_iteration_time(struct bench_state *st, double seconds);

/* bench_label_extra - append ";<text>" to the row's label after the claims, e.g.
 * bench_label_extra(st, "limit=memory cap") gives "T1.max.g;limit=memory cap". */
void bench_label_extra(struct bench_state *st, const char *text);

/* bench_context - add a key to the JSON context block (strings only, 1.7.1); for
 * bench-specific tables, JSON-encoded.  The context is written before the first bench
 * runs, so call it from a def's .context_fn (or a constructor); later calls are ignored
 * with a warning on stderr. */
void bench_context(const char *key, const char *value);

/* bench_warm_cpus - spin every CPU of the affinity mask for ms milliseconds (HOST-NOTES:
 * CPUs run up to 1.6x slower for a few hundred ms after idling).  The harness calls it
 * once before the first bench; benches that idle long between runs may call it again. */
void bench_warm_cpus(int ms);

/* bench_run_runtime - the harness owns the runtime's start and stop (lmbench's benchmp
 * init/bench/cleanup): mn_init(cfg) (cfg NULL: mn_config_init's defaults), mn_run(main_fn,
 * arg) with main_fn as the main G, mn_fini().  One failure policy for every bench: the
 * first of the three calls that fails skips the row with bench_skip_errno ("n/a: mn_init
 * failed: <strerror>", likewise mn_run, mn_fini) and its negative errno is returned; the
 * runtime is stopped on every path that started it.  Returns main_fn's result (>= 0). */
struct mn_config;
int bench_run_runtime(struct bench_state *st, const struct mn_config *cfg, int (*main_fn)(void *),
                      void *arg);

/* bench_pin_self - pin the calling thread to the cpu-th CPU (0-based index into the
 * affinity mask the process started with).  Returns 0 or a negative errno. */
int bench_pin_self(int cpu);

/* bench_do_not_optimize - keep the compiler from deleting the computation of p's pointee. */
static inline void bench_do_not_optimize(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* bench_ignore - consume a status whose failure changes nothing, e.g. teardown's
 * mn_chan_free or a wait after the timed loop.  A (void) cast does not silence GCC's
 * warn_unused_result (mn.h marks its status returns MN_WUR); passing it here does. */
static inline void bench_ignore(int rc)
{
    (void)rc;
}

/* ==== Helpers every bench file may use =============================================== */

/* bench_now_ns - CLOCK_MONOTONIC now, in ns: the one clock of the harness (the timed loop's)
 * and of the benches' own windows and timestamps.  Exact in a double (< 2^53 ns of uptime). */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bench_hist_quantile - the value below which a share q (0 < q <= 1) of a histogram's n
 * samples lie: the grouped-data quantile, interpolated linearly inside the bin that holds
 * the (q*n)-th sample, as Prometheus' histogram_quantile does.  The true value lies in that
 * bin, so the error is below one bin width (a factor of 2 for log2 bins, 1/32 of the value
 * for 32 sub-bins per power of two), and samples spread evenly in the bin make it exact.
 * Bin i counts the values [lo(i), lo(i+1)); bins has nbins counts; lo(nbins) ends the last
 * bin.  Returns 0 when n is 0, lo(nbins) when the bins hold fewer than q*n samples.  The
 * one estimator behind every lat_p50_ns / lat_p99_ns counter. */
double bench_hist_quantile(const uint64_t *bins, int nbins, double (*lo)(int i), uint64_t n,
                           double q);

/* bench_pmu_present - true when the kernel exposes a CPU PMU (/sys/bus/event_source/
 * devices/cpu, cpu_core/cpu_atom, armv8_*, ...), false on e.g. a KVM guest without vPMU:
 * the one "is there a PMU" check (the context key `pmu` says the same). */
int bench_pmu_present(void);

#ifndef __cplusplus /* C-only helpers (stdatomic.h): for the bench files */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

/* bench_affinity_save / bench_affinity_restore - the calling thread's affinity mask, kept
 * before a bench pins the thread (bench_pin_self, sched_setaffinity) and put back after it,
 * on every exit path.  save returns 0 or a negative errno; restore ignores errors (the
 * mask it puts back was valid when saved). */
static inline int bench_affinity_save(cpu_set_t *saved)
{
    return sched_getaffinity(0, sizeof *saved, saved) == 0 ? 0 : -errno;
}
static inline void bench_affinity_restore(const cpu_set_t *saved)
{
    (void)sched_setaffinity(0, sizeof *saved, saved);
}

/* bench_pin_saving - bench_affinity_save(saved), then pin the calling thread to the cpu-th
 * CPU (bench_pin_self).  When the pin fails the row is skipped ("n/a: cannot pin to CPU
 * <cpu>"), the mask is unchanged, and false is returned. */
static inline bool bench_pin_saving(struct bench_state *st, cpu_set_t *saved, int cpu)
{
    (void)bench_affinity_save(saved);
    if (bench_pin_self(cpu) == 0)
        return true;
    char why[48];
    snprintf(why, sizeof why, "n/a: cannot pin to CPU %d", cpu);
    bench_skip(st, why);
    return false;
}

/* struct bench_gate - a ready/go gate between the bench thread and n helper threads that
 * must all be in place (pinned, warmed) before the timed loop starts: each helper calls
 * bench_gate_arrive and spins until the bench thread, after bench_gate_wait_ready(n),
 * calls bench_gate_open; helpers then loop while bench_gate_running, until
 * bench_gate_stop (which also opens the gate, for a skip path that never opened it).
 * Zero-initialise it. */
struct bench_gate {
    atomic_int ready; /* helpers arrived */
    atomic_int go;    /* opened */
    atomic_int stop;  /* the bench thread's loop has ended */
};
static inline void bench_gate_arrive(struct bench_gate *g)
{
    atomic_fetch_add(&g->ready, 1);
    while (!atomic_load_explicit(&g->go, memory_order_acquire))
        ;
}
static inline void bench_gate_wait_ready(struct bench_gate *g, int n)
{
    while (atomic_load(&g->ready) < n)
        ;
}
static inline void bench_gate_open(struct bench_gate *g)
{
    atomic_store_explicit(&g->go, 1, memory_order_release);
}
static inline bool bench_gate_running(struct bench_gate *g)
{
    return !atomic_load_explicit(&g->stop, memory_order_relaxed);
}
static inline void bench_gate_stop(struct bench_gate *g)
{
    atomic_store(&g->stop, 1);
    atomic_store(&g->go, 1);
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* BENCH_H */
