/*
 * sync.c - wait groups, the G mutex and the mutex contention profile
 * (Go's sync.WaitGroup, sync.Mutex and the "mutex" profile of runtime/pprof).
 *
 * Both park Gs, never Ms: a waiter goes on a FIFO list under a short spin lock and
 * mn_gopark releases that spin lock on g0 after the G's context is saved, so the waker
 * (which takes the same spin lock) can never ready a G that is still running.
 */
#include <errno.h>
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
    for (int i = 0; i < have && i < n; i++)
        out[i] = prof_tab[i];
    mn_spin_unlock(&prof_lock);
    return have;
}

static void unlock_spin(void *arg)
{
    mn_spin_unlock(arg);
}

/* ==== WaitGroup ========================================================================= */

void mn_wg_init(struct mn_wg *wg)
{
    memset(wg, 0, sizeof *wg);
}

void mn_wg_add(struct mn_wg *wg, int64_t delta)
{
    mn_spin_lock(&wg->lock);
    wg->n += delta;
    if (wg->n < 0)
        mn_throw("mn_wg_add: negative WaitGroup counter");
    struct mn_g *list = NULL;
    if (wg->n == 0) {
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
    mn_spin_lock(&wg->lock);
    if (wg->n == 0) {
        mn_spin_unlock(&wg->lock);
        return 0;
    }
    gp->schedlink = wg->waiters;
    wg->waiters = gp;
    mn_gopark(gp, unlock_spin, &wg->lock);
    return 0;
}

/* ==== Mutex ============================================================================== */
/* state: bit 0 locked, bit 1 has waiters.  Unlock with waiters hands the lock directly to
 * the first waiter (FIFO, like Go's starvation mode), so a woken G never has to retry. */

enum { MU_LOCKED = 1, MU_WAITERS = 2, MU_SPINS = 4 };

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

void mn_mutex_lock(struct mn_mutex *mu)
{
    if (mn_likely(cas_sc(&mu->state, 0, MU_LOCKED))) {
        /* relaxed atomics: mutexes that share a name share the record */
        __atomic_fetch_add(&mu_prof(mu)->acquisitions, 1, __ATOMIC_RELAXED);
        return;
    }
    struct mn_g *gp = mn_getg();
    uint64_t t0 = mn_nanotime();
    /* active spinning: a few rounds while the holder is likely running on another P */
    for (int i = 0; i < MU_SPINS; i++) {
        mn_procyield(30);
        if (ld_relaxed(&mu->state) == 0 && cas_sc(&mu->state, 0, MU_LOCKED))
            goto acquired;
    }
    if (!gp) {
        while (!cas_sc(&mu->state, 0, MU_LOCKED))
            mn_osyield();
        goto acquired;
    }
    mn_spin_lock(&mu->lock);
    for (;;) {
        uint32_t s = ld_sc(&mu->state);
        if (!(s & MU_LOCKED)) {
            if (cas_sc(&mu->state, s, s | MU_LOCKED)) {
                mn_spin_unlock(&mu->lock);
                goto acquired;
            }
            continue;
        }
        if ((s & MU_WAITERS) || cas_sc(&mu->state, s, s | MU_WAITERS))
            break;
    }
    /* FIFO: the head is woken first */
    gp->schedlink = NULL;
    if (!mu->waiters)
        mu->waiters = gp;
    else
        ((struct mn_g *)mu->wtail)->schedlink = gp;
    mu->wtail = gp;
    mn_gopark(gp, unlock_spin, &mu->lock);
    /* the unlocker handed us the lock */
acquired:;
    struct mn_mutex_prof *p = mu_prof(mu);
    __atomic_fetch_add(&p->acquisitions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->contentions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->wait_ns, mn_nanotime() - t0, __ATOMIC_RELAXED);
}

void mn_mutex_unlock(struct mn_mutex *mu)
{
    if (mn_likely(cas_sc(&mu->state, MU_LOCKED, 0)))
        return;
    mn_spin_lock(&mu->lock);
    struct mn_g *gp = mu->waiters;
    if (!gp) {
        st_sc(&mu->state, 0);
        mn_spin_unlock(&mu->lock);
        return;
    }
    mu->waiters = gp->schedlink;
    if (!mu->waiters)
        mu->wtail = NULL;
    st_sc(&mu->state, mu->waiters ? (MU_LOCKED | MU_WAITERS) : MU_LOCKED);
    mn_spin_unlock(&mu->lock);
    mn_goready(gp);
}
