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
/* A row's acquisitions are counted per P: the uncontended lock is one CAS on the mutex's
 * own line, as Go's, and an atomic add to a record shared by every CPU would move a second
 * line between CPUs on every lock (it cost as much as the CAS itself in the 2-P contended
 * bench).  The owner of P p adds to prof_acq[p][row] (one writer at a time: a P has one M;
 * a G in a syscall has none and adds to the row's shared counter); readers sum.  P ids
 * stay valid until mn_fini and the table outlives it, so a profile read after mn_fini
 * still counts everything.  Contentions and wait_ns are added on the slow path only,
 * atomically to the row. */

#define PROF_MAX 256
static struct mn_mutex_prof prof_tab[PROF_MAX];
static int prof_n;
static uint32_t prof_lock;
static uint64_t prof_acq[MN_MAX_PROCS][PROF_MAX]; /* [P id][row]: owner_inc by the P's M */

/* mn_prof_reset - forget every profile row (mn_init). */
void mn_prof_reset(void)
{
    mn_spin_lock(&prof_lock);
    for (int p = 0; p < MN_MAX_PROCS; p++) /* only the used rows: untouched pages stay so */
        for (int i = 0; i < prof_n; i++)
            st_relaxed(&prof_acq[p][i], 0);
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
        uint64_t acq = ld_relaxed(&prof_tab[i].acquisitions);
        for (int p = 0; p < MN_MAX_PROCS; p++)
            acq += ld_relaxed(&prof_acq[p][i]);
        out[i].acquisitions = acq;
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
/* Design (each choice is Go's unless it says otherwise; Go 1.19's sync/mutex.go and
 * runtime/sema.go are the reference, read, not copied):
 *
 * state: bit 0 locked, bit 1 woken, bit 2 starving; bits 3.. count the waiters.
 *
 * Fast paths.  Lock is one CAS 0 -> locked, unlock one atomic add of -locked; nothing
 * else touches a line another CPU writes.  When the CAS fails only because flag bits are
 * set (waiters queued, a woken waiter on its way) and the lock is free, a second CAS from
 * the value the first one returned takes it, inline: Go's lockSlow does the same in its
 * first round.  Such a call is not a contention and reads no clock.
 *
 * Barging (normal mode).  Unlock wakes one waiter, which then competes with newcomers; they
 * are running on a CPU and it is not, so they mostly win and the lock is not held across a
 * context switch.  A woken waiter that loses goes back to the FRONT of the queue.
 *
 * Woken flag.  Set by unlock when it wakes a waiter, or by a spinner: while it is set,
 * unlock wakes nobody else, so one unlock never wakes a herd.  The woken waiter (or
 * spinner) clears it when its CAS succeeds.
 *
 * Spinning.  A contended locker spins (4 rounds of 30 PAUSEs) only while that can pay:
 * the mutex is held and not starving, there is more than one CPU, some other P is running
 * (GOMAXPROCS > idle Ps + spinning Ms + 1) so the holder is likely on a CPU, and our own
 * runq and runnext are empty (a runnable G would get the P instead).  Otherwise it parks
 * the G (never the M) on the mutex's queue.
 *
 * Starvation mode.  A waiter that has waited over 1 ms since the call found the mutex held
 * sets starving on its next attempt.  Unlock then hands the mutex to the queue's head
 * (FIFO) and yields its P to it (Go's goyield); newcomers neither spin nor take it, they
 * queue at the tail.  The head that receives it clears starving when it is the last waiter
 * or waited under 1 ms, as Go (otherwise two Gs could keep it in starvation mode, where
 * every unlock costs a switch).  runtime/tests/test_mutex.c: on one P, Gs that hold the lock
 * across a yield starve a queued waiter forever without this mode.
 *
 * Semaphore.  The queue and sema (wake-ups not yet consumed: Go's semaphore count, needed
 * because a waiter counted in state may not have queued yet) live under the spin lock
 * mu->lock; mn_gopark_spin releases it after the G's context is saved.  Go keeps one
 * semaphore table for all addresses; a per-mutex queue needs no hashing.
 *
 * Clock.  A contended call reads the clock when it finds the mutex held (the start of
 * its wait and of the 1 ms starvation clock; Go starts the latter at its first park, a
 * spin of at most 120 PAUSEs later), after each wake-up (the starvation test, as Go), and
 * at the end only when it spun after its last wake-up: the profile's wait_ns reuses the
 * wake-up's reading.
 *
 * Profile (ours; Go's mutex profile samples contended Unlocks with stacks).  Each lock call
 * counts an acquisition in its P's slot of the row (registry above: no shared atomic on
 * the fast path); a call that found the mutex held adds one contention and its wait. */

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

static MN_NOINLINE uint32_t mu_row_slow(struct mn_mutex *mu)
{
    struct mn_mutex_prof *p = mn_prof_register(mu->name);
    uint32_t row = (uint32_t)(p - prof_tab) + 1;
    st_rel(&mu->row, row);
    return row;
}

/* mu_row - mu's profile row + 1 (registered on first use); mu_prof - that row. */
static inline uint32_t mu_row(struct mn_mutex *mu)
{
    uint32_t row = ld_acq(&mu->row);
    return mn_likely(row) ? row : mu_row_slow(mu);
}

static inline struct mn_mutex_prof *mu_prof(struct mn_mutex *mu)
{
    return &prof_tab[mu_row(mu) - 1];
}

/* count_acq - one acquisition of mu, by M mp (NULL: a plain thread): into mp's P's slot of
 * the row, without an atomic read-modify-write (the registry's comment). */
static inline void count_acq(struct mn_mutex *mu, struct mn_m *mp)
{
    uint32_t row = mu_row(mu) - 1;
    struct mn_p *pp = mp ? mp->p : NULL;
    if (mn_likely(pp))
        owner_inc(&prof_acq[pp->id][row], 1);
    else
        __atomic_fetch_add(&prof_tab[row].acquisitions, 1, __ATOMIC_RELAXED);
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

/* lock_slow - Go's lockSlow (mutex.go), with G parking for runtime_SemacquireMutex.
 * wait_start: when the lock call found the mutex held (also the start of the starvation
 * clock; Go starts it at the first park, a spin of at most 4 x 30 PAUSEs earlier).
 * Returns the time the lock was taken: the clock read after the last wake-up when the
 * lock came right after it (Go reads it there too, for the starvation test), else a
 * fresh read: a contended call reads the clock once when it finds the mutex held, once
 * per wake-up, and once more at the end only when it spun after its last wake-up. */
static uint64_t lock_slow(struct mn_mutex *mu, struct mn_g *gp, uint64_t wait_start)
{
    bool starving = false, awoke = false, parked = false;
    uint64_t now = 0; /* the clock at the last wake-up; 0 once stale (we spun after it) */
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
            now = 0;
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
            return now ? now : mn_nanotime(); /* locked with a CAS */
        semacquire(mu, gp, parked);           /* a waiter woken before goes back to the front */
        parked = true;
        now = mn_nanotime();
        starving = starving || now - wait_start > MU_STARVE_NS;
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
            return now;
        }
        awoke = true;
        iter = 0;
    }
}

/* lock_contended - the lock call found mu held: wait for it, then count the contention.
 * Out of line so that mn_mutex_lock's fast path is a CAS and a store without a frame. */
static MN_NOINLINE void lock_contended(struct mn_mutex *mu)
{
    struct mn_g *gp = mn_getg_entry(); /* entry: nothing has switched yet */
    uint64_t t0 = mn_nanotime(), t1;
    if (gp) {
        t1 = lock_slow(mu, gp, t0);
    } else {
        lock_thread(mu);
        t1 = mn_nanotime();
    }
    count_acq(mu, mn_getm()); /* we may have parked and resumed on another M */
    struct mn_mutex_prof *p = mu_prof(mu);
    __atomic_fetch_add(&p->contentions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->wait_ns, t1 - t0, __ATOMIC_RELAXED);
}

void mn_mutex_lock(struct mn_mutex *mu)
{
    uint32_t old = 0;
    if (mn_likely(__atomic_compare_exchange_n(&mu->state, &old, MU_LOCKED, false, __ATOMIC_SEQ_CST,
                                              __ATOMIC_SEQ_CST)) ||
        /* Not held, only flagged (a woken waiter is on its way, or waiters are queued):
         * take it as lockSlow's first round would; that is no contention.  A woken
         * waiter's rival (barging) comes here on every lock call. */
        (!(old & (MU_LOCKED | MU_STARVING)) && cas_sc(&mu->state, old, old | MU_LOCKED))) {
        count_acq(mu, mn_tls_m); /* entry: no switch yet, the inlined TLS read is safe */
        return;
    }
    lock_contended(mu);
}

/* unlock_slow - Go's unlockSlow: wake one waiter unless one is awake or the lock was
 * taken again; in starvation mode hand it over. */
static MN_NOINLINE void unlock_slow(struct mn_mutex *mu, uint32_t new)
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
