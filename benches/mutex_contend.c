/*
 * benches/mutex_contend.c - mn_mutex under contention, one lock against sharded locks,
 * with the runtime's mutex profile (claim P4.2.mutex).
 *
 * What is measured (wall-clock time; one iteration = one lock + unlock)
 *   mutex/contend/gs:<n>/shards:{1,16}
 *       GOMAXPROCS = all CPUs of the mask.  The main G spawns n worker Gs that share the
 *       iterations between them; each marks itself ready and waits at a start gate (a
 *       WaitGroup); the main G waits until all are ready, starts the timer, opens the gate
 *       and waits for them.  Op i of a worker draws the next value of its xorshift (seed
 *       from its index), locks shard x mod shards (also with one shard, so the per-op work
 *       does not depend on the shard count), increments that shard's counter and unlocks.
 *       No yields: a G runs until it parks on the mutex.  This is the Go twin's work
 *       exactly (benches/go/mutex.go: the same gate, xorshift, ops and GOMAXPROCS), so the
 *       ours/Go ratio compares the two mutexes.  All shards share one profile name, so the
 *       row's profile is their sum (as Go's mutex profile sums by call site).  Excluded:
 *       runtime start and stop, spawning the Gs.
 *
 * Claims: P4.2.mutex (the document: scheduler-lock contention shows in a mutex profile as
 * contentions, total delay and mean delay; its thresholds are partly missing).
 *
 * Counters
 *   ns_per_op          wall-clock ns per lock + unlock, all Gs together (includes the
 *                      xorshift step and opening the start gate, as Go's)
 *   contentions        share of lock calls that found the mutex held (profile delta /
 *                      iterations), 0..1
 *   wait_ns_mean       mean wait of a contended lock call (profile wait_ns / contentions)
 *   sched_lock_contentions, sched_lock_wait_ns_mean, sched_lock_acquisitions
 *                      the same for the scheduler's own global-queue lock ("sched.lock"),
 *                      per op where the name says so: the P4.2 view of scheduler-lock
 *                      contention caused by this workload (parking waiters, idle Ps and
 *                      the global queue take it)
 *   acquisitions       profile lock calls per op: exactly 1 unless the profile loses
 *                      counts.  When this was written it read ~0.97-0.99 at shards:16: the
 *                      16 same-named mutexes share one profile record, which sync.c
 *                      increments with a plain ++ (safe only for one mutex)
 *   mismatch           iterations - sum of shard counters: 0 unless mutual exclusion
 *                      failed (a runtime bug)
 *
 * How to read
 *   gs:1 is the uncontended cost.  With one shard and n >= 2 Gs on 2+ Ps the lock is
 *   contended whenever two Ps run workers at once; 16 shards cut contentions roughly by
 *   the chance that two running workers pick the same shard.  A high wait_ns_mean with few
 *   contentions means waiters parked (slow path); a low one means the brief spin won.
 *   With one CPU in the mask a worker runs all its ops before the next starts (no yields,
 *   Gs are not preempted while they run), so contentions near 0 there is the expected
 *   reading, not a defect.
 *
 * Host conditions: none.  Rows skip with the reason when the runtime cannot start.
 */
#include "bench.h"
#include "mn.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_MAX_SHARDS 16
#define MC_NAME "bench.mutex_contend"

struct shard {
    struct mn_mutex mu;
    long count;
} __attribute__((aligned(64)));

struct worker {
    struct mc_arg *a;
    int k;
    long ops;
};

struct mc_arg {
    struct bench_state *st;
    int gs, shards;
    struct shard shard[MC_MAX_SHARDS];
    struct worker *w;
    struct mn_wg ready, start, done; /* start: the gate, count 1 until the timer runs */
    struct mn_mutex_prof mu0, mu1, sl0, sl1;
    int err;
    const char *err_what;
};

/* prof_get - the profile row called name into *out (zeroed when absent). */
static void prof_get(const char *name, struct mn_mutex_prof *out)
{
    struct mn_mutex_prof rows[64], *all = rows;
    int cap = 64, n = mn_mutex_profile(rows, cap);

    memset(out, 0, sizeof *out);
    if (n > cap && (all = calloc((size_t)n, sizeof(*all))) != NULL) {
        cap = n;
        n = mn_mutex_profile(all, cap);
    } else if (n > cap) {
        all = rows;
    }
    for (int i = 0; i < n && i < cap; i++)
        if (strcmp(all[i].name, name) == 0)
            *out = all[i];
    if (all != rows)
        free(all);
}

static void mc_worker(void *p)
{
    struct worker *w = p;
    struct mc_arg *a = w->a;
    uint64_t x = (uint64_t)w->k * 0x9e3779b97f4a7c15ull + 1; /* as benches/go/mutex.go */
    uint64_t shards = (uint64_t)a->shards;

    mn_wg_done(&a->ready);
    bench_ignore(mn_wg_wait(&a->start));
    for (long i = 0; i < w->ops; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct shard *sh = &a->shard[x % shards];
        mn_mutex_lock(&sh->mu);
        sh->count++;
        mn_mutex_unlock(&sh->mu);
    }
    mn_wg_done(&a->done);
}

static int mc_main(void *p)
{
    struct mc_arg *a = p;
    int64_t n = bench_iterations(a->st);
    int rc;

    mn_wg_add(&a->ready, a->gs);
    mn_wg_add(&a->start, 1);
    mn_wg_add(&a->done, a->gs);
    for (int k = 0; k < a->gs; k++) {
        a->w[k] = (struct worker){.a = a, .k = k, .ops = n / a->gs + (k < n % a->gs)};
        if ((rc = mn_go(mc_worker, &a->w[k])) < 0) {
            a->err = rc, a->err_what = "mn_go";
            mn_wg_done(&a->ready);
            mn_wg_done(&a->done);
        }
    }
    bench_ignore(mn_wg_wait(&a->ready));
    prof_get(MC_NAME, &a->mu0);
    prof_get("sched.lock", &a->sl0);
    if (!bench_keep_running(a->st)) { /* starts the timer; false only when skipped */
        for (int k = 0; k < a->gs; k++)
            a->w[k].ops = 0; /* the gate's release orders this before the workers read it */
        mn_wg_done(&a->start);
        bench_ignore(mn_wg_wait(&a->done));
        return 0;
    }
    mn_wg_done(&a->start);
    bench_ignore(mn_wg_wait(&a->done));
    bench_finish(a->st); /* the iterations were done by the workers */
    prof_get(MC_NAME, &a->mu1);
    prof_get("sched.lock", &a->sl1);
    return 0;
}

static void bm_mutex_contend(struct bench_state *st)
{
    size_t bytes = (sizeof(struct mc_arg) + 63) & ~(size_t)63;
    struct mc_arg *a = aligned_alloc(64, bytes); /* shards are cache-line aligned */
    struct mn_config cfg;
    double iters, con, acq, sl_con, sum = 0;
    int rc;

    if (a)
        memset(a, 0, bytes);
    if (!a || !(a->w = calloc((size_t)bench_arg(st, "gs"), sizeof(struct worker)))) {
        bench_skip(st, "n/a: out of memory");
        goto out;
    }
    a->st = st;
    a->gs = (int)bench_arg(st, "gs");
    a->shards = (int)bench_arg(st, "shards");
    if (a->shards < 1 || a->shards > MC_MAX_SHARDS || a->gs < 1) {
        bench_skip(st, "n/a: bad arguments");
        goto out;
    }
    for (int i = 0; i < a->shards; i++)
        mn_mutex_init(&a->shard[i].mu, MC_NAME);
    mn_wg_init(&a->ready);
    mn_wg_init(&a->start);
    mn_wg_init(&a->done);
    rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = bench_ncpus() < MN_MAX_PROCS ? bench_ncpus() : MN_MAX_PROCS;
    }
    if (rc < 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        goto out;
    }
    if (bench_run_runtime(st, &cfg, mc_main, a) < 0)
        goto out;
    if (a->err) {
        bench_skip_errno(st, a->err_what, a->err);
        goto out;
    }

    iters = (double)bench_iterations(st);
    for (int i = 0; i < a->shards; i++)
        sum += (double)a->shard[i].count;
    con = (double)(a->mu1.contentions - a->mu0.contentions);
    acq = (double)(a->mu1.acquisitions - a->mu0.acquisitions);
    sl_con = (double)(a->sl1.contentions - a->sl0.contentions);
    bench_set_per_op_ns(st, "ns_per_op", 1.0);
    bench_set_counter(st, "contentions", iters > 0 ? con / iters : 0, BENCH_C_PLAIN);
    bench_set_counter(st, "wait_ns_mean",
                      con > 0 ? (double)(a->mu1.wait_ns - a->mu0.wait_ns) / con : 0, BENCH_C_PLAIN);
    bench_set_counter(st, "acquisitions", iters > 0 ? acq / iters : 0, BENCH_C_PLAIN);
    bench_set_counter(st, "sched_lock_acquisitions",
                      iters > 0 ? (double)(a->sl1.acquisitions - a->sl0.acquisitions) / iters : 0,
                      BENCH_C_PLAIN);
    bench_set_counter(st, "sched_lock_contentions", iters > 0 ? sl_con / iters : 0, BENCH_C_PLAIN);
    bench_set_counter(st, "sched_lock_wait_ns_mean",
                      sl_con > 0 ? (double)(a->sl1.wait_ns - a->sl0.wait_ns) / sl_con : 0,
                      BENCH_C_PLAIN);
    bench_set_counter(st, "mismatch", iters - sum, BENCH_C_PLAIN);
out:
    if (a)
        free(a->w);
    free(a);
}

BENCH_REGISTER(.name = "mutex/contend",
               .summary = "n Gs locking one mn_mutex vs 16 shards; contention from the profile",
               .claims = "P4.2.mutex", .fn = bm_mutex_contend,
               .args = {BENCH_ARG_QF("gs", BENCH_V(1, 4, 16, 64), BENCH_V(1, 2, 4, 8, 16, 64, 256)),
                        BENCH_ARG("shards", BENCH_V(1, 16))},
               .real_time = true);
