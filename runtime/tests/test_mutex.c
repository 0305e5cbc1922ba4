/*
 * test_mutex.c - the G mutex's starvation mode (sync.c; Go's sync.Mutex, mutex.go): a
 * waiter is not starved forever by Gs that keep retaking the lock.
 *
 * Two hog Gs loop lock, mn_gosched, unlock until told to stop.  In normal mode a woken
 * waiter competes with the G that just unlocked, which is running and retakes the lock
 * first (barging), so the waiter goes back to the front of the queue each time; a third G
 * that queued behind it would wait forever.  Starvation mode (a waiter that waited over
 * 1 ms makes unlock hand the lock to the queue's head in FIFO order) lets it in.  The
 * third G locks once and stops the hogs.
 *
 * No timing is asserted: the hogs run until the third G got the lock, or until a generous
 * limit (LIMIT_NS), which is the failure.
 */
#include <stdatomic.h>

#include "testutil.h"

#define LIMIT_NS (20ull * 1000000000ull) /* generous: starvation mode starts after 1 ms */
#define HOGS 2

struct starve {
    struct mn_mutex mu;
    struct mn_wg wg;
    atomic_int stop;         /* set by the waiter once it held the lock */
    atomic_int timed_out;    /* a hog reached LIMIT_NS first */
    atomic_long hog_locks;   /* lock calls by the hogs (all) */
    long hog_locks_at_start; /* hog_locks when the waiter asked */
    int inside;              /* Gs in the critical section (under mu) */
    int violations;          /* another G found inside (under mu) */
    uint64_t deadline;
};

static void enter(struct starve *s)
{
    if (s->inside++ != 0)
        s->violations++;
}

static void leave(struct starve *s)
{
    s->inside--;
}

static void hog(void *arg)
{
    struct starve *s = arg;
    while (!atomic_load(&s->stop)) {
        if (test_now_ns() > s->deadline) {
            atomic_store(&s->timed_out, 1);
            break;
        }
        mn_mutex_lock(&s->mu);
        enter(s);
        atomic_fetch_add(&s->hog_locks, 1);
        mn_gosched(); /* hold it across a switch: whoever else wants it waits */
        leave(s);
        mn_mutex_unlock(&s->mu);
    }
    mn_wg_done(&s->wg);
}

static void waiter(void *arg)
{
    struct starve *s = arg;
    s->hog_locks_at_start = atomic_load(&s->hog_locks);
    mn_mutex_lock(&s->mu);
    enter(s);
    atomic_store(&s->stop, 1);
    leave(s);
    mn_mutex_unlock(&s->mu);
    mn_wg_done(&s->wg);
}

static int starve_main(void *arg)
{
    struct starve *s = arg;
    mn_wg_add(&s->wg, HOGS + 1);
    for (int i = 0; i < HOGS; i++)
        G_ASSERT(mn_go(hog, s) == 0);
    /* let the hogs take the lock in turns first, so the waiter queues behind one */
    while (atomic_load(&s->hog_locks) < 100 && test_now_ns() < s->deadline)
        mn_gosched();
    G_ASSERT(mn_go(waiter, s) == 0);
    G_ASSERT(mn_wg_wait(&s->wg) == 0);
    return 0;
}

Test(mutex, starvation_mode_lets_a_waiter_in, .timeout = 120)
{
    for (int procs = 1; procs <= 2; procs++) {
        struct starve *s = calloc(1, sizeof(*s));
        cr_assert(s);
        mn_mutex_init(&s->mu, "test.starve");
        mn_wg_init(&s->wg);
        s->deadline = test_now_ns() + LIMIT_NS;
        struct mn_config c = cfg_procs(procs);
        run_cfg(&c, starve_main, s);
        cr_expect_eq(atomic_load(&s->timed_out), 0,
                     "procs=%d: the waiter did not get the mutex within %llu s while the hogs "
                     "kept retaking it",
                     procs, LIMIT_NS / 1000000000ull);
        cr_expect(atomic_load(&s->stop), "procs=%d: the waiter held the mutex", procs);
        cr_expect_eq(s->violations, 0, "procs=%d: mutual exclusion", procs);
        cr_expect_geq(s->hog_locks_at_start, 100, "procs=%d: the hogs ran first", procs);
        cr_log_info("procs=%d: the hogs locked %ld times, %ld of them while the waiter waited",
                    procs, atomic_load(&s->hog_locks),
                    atomic_load(&s->hog_locks) - s->hog_locks_at_start);
        free(s);
    }
}
