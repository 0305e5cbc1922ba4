/*
 * sync.c - wait groups, the G mutex and the mutex contention profile
 * (Go's sync.WaitGroup, sync.Mutex and the "mutex" profile of runtime/pprof).
 *
 * Both park Gs, never Ms: a waiter goes on a FIFO list under a short spin lock and
 * mn_gopark releases that spin lock on g0 after the G's context is saved, so the waker
 * (which takes the same spin lock) can never ready a G that is still running.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "runtime2.h"

/* ==== Profile registry ================================================================== */

#define PROF_MAX 256
static struct mn_mutex_prof prof_tab[PROF_MAX];
static int prof_n;
static uint32_t prof_lock;

/* mn_prof_reset - forget every profile row (mn_init). */
void mn_prof_reset(void)
{
    mn_spin_lock(&prof_lock);
    memset(prof_tab, 0, sizeof prof_tab);
    prof_n = 0;
    mn_spin_unlock(&prof_lock);
}

/* mn_prof_register - the row for name, created on first use; rows with the same name are
 * shared (all sharded locks of one name add up).  Never NULL: the last row absorbs
 * overflow. */
struct mn_mutex_prof *mn_prof_register(const char *name)
{
    if (!name)
        name = "unnamed";
    mn_spin_lock(&prof_lock);
    struct mn_mutex_prof *r = NULL;
    for (int i = 0; i < prof_n; i++)
        if (strncmp(prof_tab[i].name, name, sizeof prof_tab[i].name - 1) == 0)
            r = &prof_tab[i];
    if (!r) {
        r = &prof_tab[prof_n < PROF_MAX ? prof_n++ : PROF_MAX - 1];
        if (!r->name[0])
            strncpy(r->name, name, sizeof r->name - 1);
    }
    mn_spin_unlock(&prof_lock);
    return r;
}

int mn_mutex_profile(struct mn_mutex_prof *out, int n)
{
    mn_spin_lock(&prof_lock);
    int have = prof_n;
    for (int i = 0; i < have && i < n; i++) {
        /* the counters are updated with atomic adds by lock holders: load them so */
        memcpy(out[i].name, prof_tab[i].name, sizeof out[i].name);
        out[i].acquisitions = ld_relaxed(&prof_tab[i].acquisitions);
        out[i].contentions = ld_relaxed(&prof_tab[i].contentions);
        out[i].wait_ns = ld_relaxed(&prof_tab[i].wait_ns);
    }
    mn_spin_unlock(&prof_lock);
    return have;
}

/* ==== WaitGroup ========================================================================= */

void mn_wg_init(struct mn_wg *wg)
{
    memset(wg, 0, sizeof *wg);
}

/* The counter is atomic, so Add and Done take the lock only when it reaches zero (Go's
 * WaitGroup keeps counter and waiter count in one word for the same reason).  Wait reads
 * the counter under the lock before it queues, and the Add that reaches zero takes the
 * lock before it collects the waiters, so a waiter is either seen or sees zero. */
void mn_wg_add(struct mn_wg *wg, int64_t delta)
{
    int64_t n = xadd(&wg->n, delta);
    if (mn_likely(n > 0))
        return;
    if (n < 0)
        mn_throw("mn_wg_add: negative WaitGroup counter");
    mn_spin_lock(&wg->lock);
    struct mn_g *list = NULL;
    if (ld_sc(&wg->n) == 0) {
        list = wg->waiters;
        wg->waiters = NULL;
    }
    mn_spin_unlock(&wg->lock);
    while (list) {
        struct mn_g *gp = list;
        list = gp->schedlink;
        mn_goready(gp);
    }
}

void mn_wg_done(struct mn_wg *wg)
{
    mn_wg_add(wg, -1);
}

int mn_wg_wait(struct mn_wg *wg)
{
    struct mn_g *gp = mn_getg();
    if (!gp)
        return -EPERM;
    if (ld_sc(&wg->n) == 0)
        return 0;
    mn_spin_lock(&wg->lock);
    if (ld_sc(&wg->n) == 0) {
        mn_spin_unlock(&wg->lock);
        return 0;
    }
    gp->schedlink = wg->waiters;
    wg->waiters = gp;
    mn_gopark_spin(gp, &wg->lock);
    return 0;
}

/* ==== Mutex (Go's sync.Mutex, mutex.go, and its semaphore, sema.go) ===================== */
/* state: bit 0 locked, bit 1 woken (a waiter is awake: unlock need not wake another), bit 2
 * starving; bits 3.. count the waiters.  Normal mode: unlock wakes one waiter, which
 * competes with newcomers (barging; they are running on a CPU, it is not, so they mostly
 * win and the lock is not held across a context switch).  A waiter that loses goes back to
 * the FRONT of the queue; one that has waited over 1 ms sets starving: unlock then hands
 * the mutex straight to the first waiter and yields the P to it, newcomers queue at the
 * tail without spinning; the last waiter, or one that waited under 1 ms, turns it off.
 * The queue and sema (wake-ups not yet consumed: Go's semaphore count, needed because a
 * waiter counted in state may not have queued yet) live under the spin lock mu->lock. */

enum { MU_LOCKED = 1, MU_WOKEN = 2, MU_STARVING = 4, MU_WAITER_SHIFT = 3 };
#define MU_WAITER (1u << MU_WAITER_SHIFT)
#define MU_STARVE_NS 1000000ull /* Go's starvationThresholdNs: 1 ms */
#define MU_SPINS 4              /* Go's active_spin */
#define MU_SPIN_PAUSES 30       /* Go's active_spin_cnt */

void mn_mutex_init(struct mn_mutex *mu, const char *name)
{
    memset(mu, 0, sizeof *mu);
    mu->name = name;
}

static struct mn_mutex_prof *mu_prof(struct mn_mutex *mu)
{
    struct mn_mutex_prof *p = ld_acq((struct mn_mutex_prof **)&mu->prof);
    if (!p) {
        p = mn_prof_register(mu->name);
        st_rel((struct mn_mutex_prof **)&mu->prof, p);
    }
    return p;
}

static int ncpu_cached;

/* ncpu - CPUs in the process's affinity mask (read once). */
static int ncpu(void)
{
    int n = ld_relaxed(&ncpu_cached);
    if (!n) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
        st_relaxed(&ncpu_cached, n);
    }
    return n;
}

/* can_spin - Go's sync_runtime_canSpin: spinning pays only while the holder is likely
 * running on another CPU: few rounds, more than one CPU, some other P running (GOMAXPROCS >
 * idle Ps + spinning Ms + 1), and no G waiting on our own P (it would run instead). */
static bool can_spin(struct mn_g *gp, int iter)
{
    struct mn_sched *s = mn_sched;
    if (iter >= MU_SPINS || ncpu() <= 1 || !s)
        return false;
    if (ld_relaxed(&s->gomaxprocs) <= ld_relaxed(&s->npidle) + ld_relaxed(&s->nmspinning) + 1)
        return false;
    struct mn_p *pp = gp->m->p;
    return ld_relaxed(pp->runqhead) == ld_relaxed(pp->runqtail) && !ld_relaxed(pp->runnext);
}

/* semacquire - take a wake-up of mu, parking gp until unlock gives one (Go's semacquire1;
 * lifo: a woken waiter that lost the race goes back to the front). */
static void semacquire(struct mn_mutex *mu, struct mn_g *gp, bool lifo)
{
    mn_spin_lock(&mu->lock);
    if (mu->sema > 0) {
        mu->sema--;
        mn_spin_unlock(&mu->lock);
        return;
    }
    if (lifo) {
        gp->schedlink = mu->waiters;
        mu->waiters = gp;
        if (!mu->wtail)
            mu->wtail = gp;
    } else {
        gp->schedlink = NULL;
        if (!mu->waiters)
            mu->waiters = gp;
        else
            ((struct mn_g *)mu->wtail)->schedlink = gp;
        mu->wtail = gp;
    }
    mn_gopark_spin(gp, &mu->lock);
}

/* semrelease - give one wake-up: to the first waiter, or to sema when none has queued yet.
 * handoff (starvation mode): yield the P so the waiter runs now (Go's goyield). */
static void semrelease(struct mn_mutex *mu, bool handoff)
{
    mn_spin_lock(&mu->lock);
    struct mn_g *gp = mu->waiters;
    if (!gp) {
        mu->sema++;
        mn_spin_unlock(&mu->lock);
        return;
    }
    mu->waiters = gp->schedlink;
    if (!mu->waiters)
        mu->wtail = NULL;
    mn_spin_unlock(&mu->lock);
    mn_goready(gp);
    if (handoff)
        mn_gosched();
}

/* lock_thread - a plain thread (not a G) cannot park: it takes the lock bit when free. */
static void lock_thread(struct mn_mutex *mu)
{
    for (;;) {
        uint32_t old = ld_relaxed(&mu->state);
        if (!(old & (MU_LOCKED | MU_STARVING)) && cas_sc(&mu->state, old, old | MU_LOCKED))
            return;
        mn_osyield();
    }
}

/* lock_slow - Go's lockSlow (mutex.go), with G parking for runtime_SemacquireMutex. */
static void lock_slow(struct mn_mutex *mu, struct mn_g *gp)
{
    uint64_t wait_start = 0;
    bool starving = false, awoke = false;
    int iter = 0;
    uint32_t old = ld_relaxed(&mu->state);
    for (;;) {
        if ((old & (MU_LOCKED | MU_STARVING)) == MU_LOCKED && can_spin(gp, iter)) {
            /* tell unlock not to wake another waiter while we spin */
            if (!awoke && !(old & MU_WOKEN) && (old >> MU_WAITER_SHIFT) != 0 &&
                cas_sc(&mu->state, old, old | MU_WOKEN))
                awoke = true;
            mn_procyield(MU_SPIN_PAUSES);
            iter++;
            old = ld_relaxed(&mu->state);
            continue;
        }
        uint32_t new = old;
        if (!(old & MU_STARVING))
            new |= MU_LOCKED; /* do not try to take a starving mutex: queue instead */
        if (old & (MU_LOCKED | MU_STARVING))
            new += MU_WAITER;
        if (starving && (old & MU_LOCKED))
            new |= MU_STARVING;
        if (awoke) {
            if (!(new &MU_WOKEN))
                mn_throw("sync: inconsistent mutex state");
            new &= ~(uint32_t)MU_WOKEN;
        }
        if (!cas_sc(&mu->state, old, new)) {
            old = ld_relaxed(&mu->state);
            continue;
        }
        if (!(old & (MU_LOCKED | MU_STARVING)))
            return; /* locked with a CAS */
        bool lifo = wait_start != 0;
        if (!wait_start)
            wait_start = mn_nanotime();
        semacquire(mu, gp, lifo);
        starving = starving || mn_nanotime() - wait_start > MU_STARVE_NS;
        old = ld_relaxed(&mu->state);
        if (old & MU_STARVING) {
            /* handed to us: take it, drop our waiter count, leave starvation mode if we
             * are the last waiter or did not wait long */
            if ((old & (MU_LOCKED | MU_WOKEN)) || (old >> MU_WAITER_SHIFT) == 0)
                mn_throw("sync: inconsistent mutex state");
            uint32_t delta = MU_LOCKED - MU_WAITER;
            if (!starving || (old >> MU_WAITER_SHIFT) == 1)
                delta -= MU_STARVING;
            xadd(&mu->state, delta);
            return;
        }
        awoke = true;
        iter = 0;
    }
}

void mn_mutex_lock(struct mn_mutex *mu)
{
    if (mn_likely(cas_sc(&mu->state, 0, MU_LOCKED))) {
        /* relaxed atomics: mutexes that share a name share the record */
        __atomic_fetch_add(&mu_prof(mu)->acquisitions, 1, __ATOMIC_RELAXED);
        return;
    }
    struct mn_g *gp = mn_getg();
    uint64_t t0 = mn_nanotime();
    if (gp)
        lock_slow(mu, gp);
    else
        lock_thread(mu);
    struct mn_mutex_prof *p = mu_prof(mu);
    __atomic_fetch_add(&p->acquisitions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->contentions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->wait_ns, mn_nanotime() - t0, __ATOMIC_RELAXED);
}

/* unlock_slow - Go's unlockSlow: wake one waiter unless one is awake or the lock was
 * taken again; in starvation mode hand it over. */
static void unlock_slow(struct mn_mutex *mu, uint32_t new)
{
    if (!((new + MU_LOCKED) & MU_LOCKED))
        mn_throw("sync: unlock of unlocked mutex");
    if (new &MU_STARVING) {
        semrelease(mu, true);
        return;
    }
    uint32_t old = new;
    for (;;) {
        if ((old >> MU_WAITER_SHIFT) == 0 || (old & (MU_LOCKED | MU_WOKEN | MU_STARVING)))
            return;
        if (cas_sc(&mu->state, old, (old - MU_WAITER) | MU_WOKEN)) {
            semrelease(mu, false);
            return;
        }
        old = ld_relaxed(&mu->state);
    }
}

void mn_mutex_unlock(struct mn_mutex *mu)
{
    uint32_t new = xadd(&mu->state, -(uint32_t)MU_LOCKED);
    if (mn_unlikely(new != 0))
        unlock_slow(mu, new);
}
