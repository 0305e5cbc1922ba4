/*
 * benches/spawn_create.c - cost of creating, running and ending a G, against a pthread.
 *
 * What is measured (wall-clock time)
 *   spawn/g/procs:{1,all}/reuse:{1,0}  one iteration = the main G starts a batch of 1000 Gs
 *                               (mn_go), each calls mn_wg_done and exits, and the main G
 *                               waits for the batch (mn_wg_wait): create + schedule + run +
 *                               exit, as Go's `go f(); wg.Done()` in rounds of 1k.
 *                               procs:all = one P per CPU of the affinity mask (Ms unpinned:
 *                               stealing Ps on other CPUs take part, as in Go); reuse:1 =
 *                               dead Gs and their stacks go to per-P free lists (gfput/
 *                               gfget), reuse:0 = every spawn maps a fresh stack and every
 *                               exit unmaps it.
 *   spawn/g_live/batch:{1000,1000000}  procs:1, reuse:1, one iteration = a batch of 1000 or
 *                               1e6 Gs spawned before any runs (all live at once), then run
 *                               and waited for: the cost per G as the number of live Gs
 *                               grows (within 2x of the 1000 row).  Both rows run
 *                               in one process, so their ratio is a same-run ratio.
 *   spawn/pthread               one iteration = pthread_create of a thread that returns at
 *                               once + pthread_join; default attributes, unpinned.
 *   Excluded: runtime start-up and shutdown (outside the timer).
 *
 * Claims: T1.create.g, P4.1.pool (reuse on vs off), T1.create.pthread.
 *
 * Counters: ns_per_spawn = real time / (iterations * batch); batch = Gs per iteration.
 *
 * How to read: spawn/pthread / spawn/g/procs:1/reuse:1 is the G-vs-thread creation ratio
 * (target: >= 300x).  reuse:0 vs reuse:1 is P4.1.pool's gain from pooling Gs and
 * stacks; with reuse:0 expect mmap/munmap and page faults per spawn (perf::PAGE-FAULTS).
 * procs:all can be slower than procs:1: waking idle Ps costs futex wake-ups that a
 * single P never pays (Go shows the same).
 *
 * Host conditions: none; the G rows skip with the reason when the runtime cannot start.
 */
#include "bench.h"
#include "mn.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPAWN_BATCH 1000

/* ==== spawn/g =============================================================================== */

struct spawn_arg {
    struct bench_state *st;
    struct mn_wg wg;
    int batch; /* Gs per iteration */
};

static void spawn_child(void *p)
{
    mn_wg_done(p);
}

static int spawn_main(void *p)
{
    struct spawn_arg *a = p;
    mn_wg_init(&a->wg);
    /* one untimed batch: fills the free lists when reuse is on, starts the Ms */
    for (int i = 0; i < a->batch; i++) {
        mn_wg_add(&a->wg, 1);
        int rc = mn_go(spawn_child, &a->wg);
        if (rc < 0) {
            mn_wg_add(&a->wg, -1);
            bench_skip_errno(a->st, "mn_go", rc);
            if (mn_wg_wait(&a->wg) < 0)
                abort();
            return 0;
        }
    }
    if (mn_wg_wait(&a->wg) < 0)
        abort();
    while (bench_keep_running(a->st)) {
        mn_wg_add(&a->wg, a->batch);
        for (int i = 0; i < a->batch; i++)
            if (mn_go(spawn_child, &a->wg) < 0)
                abort(); /* succeeded in the warm-up batch: out of memory now */
        if (mn_wg_wait(&a->wg) < 0)
            abort();
    }
    return 0;
}

static void bm_spawn_g(struct bench_state *st)
{
    long procs = bench_arg(st, "procs");
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = procs == BENCH_ALL ? bench_ncpus() : (int)procs;
        cfg.reuse_g = bench_arg(st, "reuse") != 0;
    }
    if (rc < 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return;
    }
    struct spawn_arg a = {.st = st, .batch = SPAWN_BATCH};
    (void)bench_run_runtime(st, &cfg, spawn_main, &a);
    bench_set_per_op_ns(st, "ns_per_spawn", SPAWN_BATCH);
    bench_set_counter(st, "batch", SPAWN_BATCH, BENCH_C_PLAIN);
}

BENCH_REGISTER(.name = "spawn/g",
               .summary = "G create+run+exit in batches of 1000, 1 P / all Ps, reuse_g on/off",
               .claims = "T1.create.g,P4.1.pool", .fn = bm_spawn_g,
               .args = {BENCH_ARG("procs", BENCH_V(1, BENCH_ALL)),
                        BENCH_ARG("reuse", BENCH_V(1, 0))},
               .real_time = true);

/* spawn/g_live: as spawn/g/procs:1/reuse:1 with batch Gs live at once. */
static void bm_spawn_g_live(struct bench_state *st)
{
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc < 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return;
    }
    cfg.gomaxprocs = 1;
    struct spawn_arg a = {.st = st, .batch = (int)bench_arg(st, "batch")};
    (void)bench_run_runtime(st, &cfg, spawn_main, &a);
    bench_set_per_op_ns(st, "ns_per_spawn", a.batch);
    bench_set_counter(st, "batch", a.batch, BENCH_C_PLAIN);
}

BENCH_REGISTER(.name = "spawn/g_live",
               .summary = "G create+run+exit, 1 P, batches of 1000 vs 1e6 live Gs (same run)",
               .claims = "T1.create.g", .fn = bm_spawn_g_live,
               .args = {BENCH_ARG_QFS("batch", BENCH_V(1000, 1000000), BENCH_V(1000, 1000000),
                                      BENCH_V(1000, 10000))},
               .real_time = true);

/* ==== spawn/pthread ========================================================================== */

static void *thread_nop(void *p)
{
    return p;
}

static void bm_spawn_pthread(struct bench_state *st)
{
    pthread_t t;
    /* untimed warm-up: the first create maps the stack cache */
    if (pthread_create(&t, NULL, thread_nop, NULL) != 0) {
        bench_skip(st, "n/a: pthread_create failed");
        return;
    }
    pthread_join(t, NULL);
    while (bench_keep_running(st)) {
        if (pthread_create(&t, NULL, thread_nop, NULL) != 0)
            abort();
        pthread_join(t, NULL);
    }
    bench_set_per_op_ns(st, "ns_per_spawn", 1.0);
    bench_set_counter(st, "batch", 1, BENCH_C_PLAIN);
}

BENCH_REGISTER(.name = "spawn/pthread",
               .summary = "pthread_create + pthread_join of a thread that returns at once",
               .claims = "T1.create.pthread", .fn = bm_spawn_pthread, .real_time = true);
