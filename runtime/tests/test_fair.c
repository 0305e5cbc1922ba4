/*
 * test_fair.c - the fairness bound of mn.h ("Fairness and the absence of preemption"):
 * while Gs keep a P busy by readying each other (unbuffered ping-pong), by a chain of
 * spawns, or by spawning and yielding, a G waiting on that P's local run queue, a G whose
 * sleep has ended, and a G readied from a plain thread (global run queue) all get to run.
 * Before the bound, runnext inheritance kept the 61-tick global check and the local
 * queue from ever being reached (a 1 ms sleep waited 4.28 s).
 *
 * No timing is asserted: each load runs until the waiting G has run and says stop, or
 * until a generous limit (LIMIT_NS) passes, which is the failure.  Also: a G that never
 * switches keeps its P (no preemption) and sysmon counts it, and warns when asked.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "testutil.h"

#define LIMIT_NS (20ull * 1000000000ull) /* generous: the bound is milliseconds */

#define now_ns test_now_ns

enum load { PINGPONG, CHAIN, SPAWN_YIELD };
enum waiter { YIELDED, SLEEPING, EXTERNAL };
static const char *load_name[] = {"ping-pong", "spawn chain", "spawn-and-yield"};
static const char *waiter_name[] = {"yielded G", "sleeping G", "G readied by a plain thread"};

struct fair {
    enum load load;
    enum waiter waiter;
    int procs;
    atomic_int stop;      /* set by the waiting G once it ran */
    atomic_int timed_out; /* a load reached LIMIT_NS before stop */
    atomic_long loads_left;
    uint64_t deadline;
    struct mn_wg wg;     /* one per load instance */
    struct mn_chan *ext; /* EXTERNAL: closed by a plain thread */
    uint64_t slice_ends;
};

static bool keep_going(struct fair *f)
{
    if (atomic_load(&f->stop))
        return false;
    if (now_ns() > f->deadline) {
        atomic_store(&f->timed_out, 1);
        return false;
    }
    return true;
}

struct pair {
    struct fair *f;
    struct mn_chan *a, *b;
};

static void ping(void *arg)
{
    struct pair *p = arg;
    int v = 0;
    while (keep_going(p->f)) {
        if (mn_chan_send(p->a, &v) != 0 || mn_chan_recv(p->b, &v, NULL) != 0)
            break;
    }
    if (mn_chan_close(p->a) != 0)
        abort();
}

static void pong(void *arg)
{
    struct pair *p = arg;
    int v;
    bool ok;
    while (mn_chan_recv(p->a, &v, &ok) == 0 && ok)
        if (mn_chan_send(p->b, &v) != 0)
            break;
    mn_wg_done(&p->f->wg);
}

static void chain(void *arg)
{
    struct fair *f = arg;
    if (!keep_going(f) || mn_go(chain, f) != 0)
        mn_wg_done(&f->wg);
}

static void spawn_yield(void *arg)
{
    struct fair *f = arg;
    if (!keep_going(f) || mn_go(spawn_yield, f) != 0) {
        mn_wg_done(&f->wg);
        return;
    }
    mn_gosched();
}

static void *closer(void *arg)
{
    struct fair *f = arg;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    if (mn_chan_close(f->ext) != 0) /* readies the main G onto the global run queue */
        abort();
    return NULL;
}

static int fair_main(void *arg)
{
    struct fair *f = arg;
    struct pair pairs[4];
    f->deadline = now_ns() + LIMIT_NS;
    mn_wg_init(&f->wg);
    mn_wg_add(&f->wg, f->procs);
    for (int i = 0; i < f->procs; i++) {
        switch (f->load) {
        case PINGPONG:
            pairs[i].f = f;
            G_ASSERT(mn_chan_make(&pairs[i].a, sizeof(int), 0) == 0);
            G_ASSERT(mn_chan_make(&pairs[i].b, sizeof(int), 0) == 0);
            G_ASSERT(mn_go(pong, &pairs[i]) == 0);
            G_ASSERT(mn_go(ping, &pairs[i]) == 0);
            break;
        case CHAIN:
            G_ASSERT(mn_go(chain, f) == 0);
            break;
        case SPAWN_YIELD:
            G_ASSERT(mn_go(spawn_yield, f) == 0);
            break;
        }
    }
    /* the main G is now the waiting G: queued behind the load, asleep, or parked until
     * a plain thread readies it */
    pthread_t th;
    switch (f->waiter) {
    case YIELDED:
        mn_gosched();
        break;
    case SLEEPING:
        mn_sleep_ns(1000000);
        break;
    case EXTERNAL: {
        G_ASSERT(pthread_create(&th, NULL, closer, f) == 0);
        bool ok = true;
        G_ASSERT(mn_chan_recv(f->ext, NULL, &ok) == 0);
        G_ASSERT(!ok);
        break;
    }
    }
    atomic_store(&f->stop, 1);
    G_ASSERT(mn_wg_wait(&f->wg) == 0);
    if (f->waiter == EXTERNAL)
        pthread_join(th, NULL);
    if (f->load == PINGPONG)
        for (int i = 0; i < f->procs; i++) {
            G_ASSERT(mn_chan_free(pairs[i].a) == 0);
            G_ASSERT(mn_chan_free(pairs[i].b) == 0);
        }
    struct mn_stats st;
    G_ASSERT(mn_stats_read(&st) == 0);
    f->slice_ends = st.slice_ends;
    return 0;
}

static void run_fair(enum load load, enum waiter waiter)
{
    for (int procs = 1; procs <= 2; procs++) {
        struct fair *f = calloc(1, sizeof *f);
        cr_assert(f);
        f->load = load;
        f->waiter = waiter;
        f->procs = procs;
        if (waiter == EXTERNAL)
            cr_assert_eq(mn_chan_make(&f->ext, sizeof(int), 0), 0);
        struct mn_config c = cfg_procs(procs);
        run_cfg(&c, fair_main, f);
        cr_assert_not(atomic_load(&f->timed_out),
                      "GOMAXPROCS=%d: the %s did not run within %llu s of %s load", procs,
                      waiter_name[waiter], LIMIT_NS / 1000000000ull, load_name[load]);
        if (procs == 1 && waiter == YIELDED)
            cr_assert_gt(f->slice_ends, 0, "the bound, not luck, let the yielded G run");
        if (f->ext)
            cr_assert_eq(mn_chan_free(f->ext), 0);
        free(f);
    }
}

/* FAIR_TEST(name, load, victim) - Test(fair, name) running run_fair(load, victim): one
 * case of the load x victim matrix below. */
#define FAIR_TEST(name, load, victim)                                                              \
    Test(fair, name, .timeout = 120)                                                               \
    {                                                                                              \
        run_fair(load, victim);                                                                    \
    }

FAIR_TEST(yielded_g_runs_under_pingpong, PINGPONG, YIELDED)
FAIR_TEST(yielded_g_runs_under_spawn_chain, CHAIN, YIELDED)
FAIR_TEST(yielded_g_runs_under_spawn_and_yield, SPAWN_YIELD, YIELDED)
FAIR_TEST(sleeping_g_runs_under_pingpong, PINGPONG, SLEEPING)
FAIR_TEST(sleeping_g_runs_under_spawn_chain, CHAIN, SLEEPING)
FAIR_TEST(sleeping_g_runs_under_spawn_and_yield, SPAWN_YIELD, SLEEPING)
FAIR_TEST(global_queue_g_runs_under_pingpong, PINGPONG, EXTERNAL)
FAIR_TEST(global_queue_g_runs_under_spawn_chain, CHAIN, EXTERNAL)
FAIR_TEST(global_queue_g_runs_under_spawn_and_yield, SPAWN_YIELD, EXTERNAL)

/* ---- a G that never switches keeps its P; sysmon counts it and can warn ---------------- */

static atomic_int hog_seen;

static void hog(void *arg)
{
    (void)arg;
    uint64_t deadline = now_ns() + LIMIT_NS;
    struct mn_stats st;
    /* no switch at all: only sysmon can see this; wait for its count */
    while (now_ns() < deadline) {
        G_ASSERT(mn_stats_read(&st) == 0);
        if (st.long_holds > 0) {
            atomic_store(&hog_seen, 1);
            break;
        }
    }
}

static atomic_int other_ran;
static void other(void *arg)
{
    (void)arg;
    atomic_store(&other_ran, 1);
}

static int hog_main(void *arg)
{
    (void)arg;
    atomic_store(&hog_seen, 0);
    atomic_store(&other_ran, 0);
    G_ASSERT(mn_go(other, NULL) == 0);
    hog(NULL); /* the main G itself: 'other' sits in runnext of the one P */
    G_ASSERT(atomic_load(&other_ran) == 0, "no preemption: the queued G did not run");
    G_ASSERT(atomic_load(&hog_seen), "sysmon counted the long hold");
    /* once it switches, the queued G runs (it may be behind this one: sysmon ended the
     * slice, which sent the runnext G to the tail of the queue) */
    uint64_t deadline = now_ns() + LIMIT_NS;
    while (!atomic_load(&other_ran) && now_ns() < deadline)
        mn_gosched();
    G_ASSERT(atomic_load(&other_ran) == 1);
    return 0;
}

Test(fair, no_preemption_long_hold_counted, .timeout = 120)
{
    struct mn_config c = cfg_procs(1);
    run_cfg(&c, hog_main, NULL);
}

static void warn_child(void)
{
    struct mn_config c = cfg_procs(1);
    c.hold_warn_ms = 1;
    if (mn_init(&c) == 0 && mn_run(hog_main, NULL) == 0 && mn_fini() == 0)
        _exit(0);
    _exit(1);
}

Test(fair, long_hold_warning, .timeout = 120)
{
    char buf[1024];
    int st = run_child(warn_child, buf, sizeof buf);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x, stderr: %s", st, buf);
    cr_assert_not_null(strstr(buf, "mn: warning: G 1 has held P 0 for "), "%s", buf);
    cr_assert_not_null(strstr(buf, "without a switch (no preemption"), "%s", buf);
}
