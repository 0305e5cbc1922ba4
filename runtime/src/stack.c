/*
 * stack.c - G stacks and the G free lists (Go's stackalloc and gfget/gfput), and the
 * SIGSEGV handler that turns a guard-page hit into "fatal: G <id> stack overflow".
 *
 * See the stack block diagram in runtime2.h.  Three sources of blocks:
 *   arena   (default): blocks of cfg.stack_bytes cut from 64-block mmaps (one arena per
 *           NUMA node when numa_local is on), guard page per block.
 *   private (reuse_g off): one mmap per G, munmap at exit; P4.1.pool measures its cost.
 *   small   (small_stacks): 2 KiB stack + G per block, slab-allocated, canary-checked.
 * Blocks are never returned to an arena: with reuse_g on they go to the per-P free list
 * (up to 64, then half to the global list, as Go's gfput), and all arenas are unmapped
 * by mn_fini.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "mn_export.h"
#include "numa_internal.h"
#include "runtime2.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 guard regions */
#endif

enum { GUARD_MADV = 0, GUARD_MPROTECT = 1, GUARD_NONE = 2 };
#define ARENA_BLOCKS 64
#define GFREE_LOCAL_MAX 64 /* Go: move half to the global list at 64 */
#define SIGSTACK_BYTES (64 * 1024 * MN_SAN_STACK_MULT)

static size_t pagesz;
static int guard_mode_seen = -1; /* for mn_x_stack_guard_mode */

static size_t gsize(void)
{
    return (sizeof(struct mn_g) + 63) & ~(size_t)63;
}

/* block_bytes - bytes of one arena block: the stack and, in default mode, the G on top.
 * Small stacks keep their Gs in separate slabs (gslab_alloc), so that an overflow, which
 * runs down into the block below, meets that block's stack, never a G. */
static size_t block_bytes(void)
{
    if (mn_sched->cfg.small_stacks)
        return MN_SMALL_STACK_BYTES * MN_SAN_STACK_MULT;
    return mn_sched->cfg.stack_bytes * MN_SAN_STACK_MULT;
}

static long read_long(const char *path, long dflt)
{
    FILE *f = fopen(path, "r");
    long v = dflt;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

/* mn_stack_init - choose the guard mode for this process (probe MADV_GUARD_INSTALL). */
int mn_stack_init(void)
{
    pagesz = (size_t)sysconf(_SC_PAGESIZE);
    struct mn_sched *s = mn_sched;
    s->guard_budget = read_long("/proc/sys/vm/max_map_count", 65530) / 2 - 1024;
    void *p = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    s->guard_mode = madvise(p, pagesz, MADV_GUARD_INSTALL) == 0 ? GUARD_MADV : GUARD_MPROTECT;
    munmap(p, 2 * pagesz);
    /* small stacks in slabs have no guard page; private ones (reuse_g off) get one when it
     * costs no VMA (MADV_GUARD_INSTALL): see mn_galloc */
    s->small_guard = s->guard_mode == GUARD_MADV;
    if (s->cfg.small_stacks)
        s->guard_mode = GUARD_NONE;
    guard_mode_seen = s->guard_mode;
    return 0;
}

const char *mn_x_stack_guard_mode(void)
{
    switch (guard_mode_seen) {
    case GUARD_MADV:
        return "madv_guard";
    case GUARD_MPROTECT:
        return "mprotect";
    case GUARD_NONE:
        return "canary";
    }
    return "unknown";
}

/* guard - protect the lowest page of a fresh block; false: no guard (use a canary). */
static bool guard(char *block)
{
    struct mn_sched *s = mn_sched;
    if (s->guard_mode == GUARD_MADV)
        return madvise(block, pagesz, MADV_GUARD_INSTALL) == 0;
    if (s->guard_mode == GUARD_MPROTECT &&
        __atomic_sub_fetch(&s->guard_budget, 1, __ATOMIC_RELAXED) > 0)
        return mprotect(block, pagesz, PROT_NONE) == 0;
    return false;
}

static void *map_stack(size_t bytes, int node)
{
    if (mn_unlikely(mn_x_fail_n[MN_X_FAIL_STACK] > 0)) {
        mn_x_fail_n[MN_X_FAIL_STACK]--;
        return NULL;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    xadd(&mn_sched->stack_mmaps, 1);
    if (node >= 0)
        (void)mn_numa_bind(p, bytes, node, false);
    return p;
}

/* ginit - lay out a G: at the top of its block (gp NULL), or in gp (small slab stacks,
 * whose Gs live apart) with the stack reaching the block's top. */
static struct mn_g *ginit(char *block, size_t bytes, int kind, bool guarded, int node,
                          struct mn_g *gp)
{
    char *hi = block + bytes;
    if (!gp) {
        gp = (struct mn_g *)(block + bytes - gsize());
        hi = (char *)gp;
    }
    memset(gp, 0, sizeof *gp);
    gp->block = block;
    gp->block_bytes = bytes;
    gp->stack_kind = (uint8_t)kind;
    gp->stack_hi = hi;
    gp->node = (uint8_t)(node < 0 ? 0 : node);
    if (guarded) {
        gp->stack_lo = block + pagesz;
    } else {
        gp->stack_lo = block;
        gp->canary_check = 1;
        *(uint64_t *)block = MN_CANARY;
    }
    st_rel(&gp->status, MN_GIDLE);
    return gp;
}

/* new_arena - map an arena of bytes (its first page heads the arena list: {next, bytes})
 * and return its first usable byte, or NULL.  sched.stklock held. */
static char *new_arena(size_t bytes, int node)
{
    struct mn_sched *s = mn_sched;
    char *a = map_stack(bytes, node);
    if (!a)
        return NULL;
    ((void **)a)[0] = s->arenas;
    ((size_t *)a)[1] = bytes;
    s->arenas = a;
    return a + pagesz;
}

/* gslab_alloc - room for one G of a small-stack block (sched.stklock held). */
static struct mn_g *gslab_alloc(int node)
{
    struct mn_sched *s = mn_sched;
    if (s->gslab_cur == NULL || s->gslab_cur + gsize() > s->gslab_end) {
        size_t bytes = pagesz + 1024 * gsize();
        char *a = new_arena(bytes, s->cfg.numa_local ? node : -1);
        if (!a)
            return NULL;
        s->gslab_cur = a;
        s->gslab_end = a - pagesz + bytes;
    }
    struct mn_g *gp = (struct mn_g *)s->gslab_cur;
    s->gslab_cur += gsize();
    return gp;
}

/* arena_alloc - one block from the arena of node (sched.stklock). */
static struct mn_g *arena_alloc(int node)
{
    struct mn_sched *s = mn_sched;
    size_t bb = block_bytes();
    int slot = node < 0 ? 0 : node % 64;
    mn_lock(&s->stklock);
    struct mn_g *sg = NULL;
    if (s->cfg.small_stacks && (sg = gslab_alloc(node)) == NULL) {
        mn_unlock(&s->stklock);
        return NULL;
    }
    if (s->arena_cur[slot] == NULL || s->arena_cur[slot] + bb > s->arena_end[slot]) {
        size_t nblk = s->cfg.small_stacks ? 1024 : ARENA_BLOCKS;
        size_t bytes = pagesz + nblk * bb;
        char *a = new_arena(bytes, s->cfg.numa_local ? node : -1);
        if (!a) {
            s->gslab_cur -= sg ? gsize() : 0; /* give the G room back */
            mn_unlock(&s->stklock);
            return NULL;
        }
        s->arena_cur[slot] = a;
        s->arena_end[slot] = a - pagesz + bytes;
    }
    char *block = s->arena_cur[slot];
    s->arena_cur[slot] += bb;
    mn_unlock(&s->stklock);
    bool g = !s->cfg.small_stacks && guard(block);
    return ginit(block, bb, s->cfg.small_stacks ? MN_STK_SMALL : MN_STK_ARENA, g, node, sg);
}

/* private_add - put a G with a private block on the list mn_fini unmaps. */
static void private_add(struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->privlock);
    gp->allnext = s->privg;
    if (s->privg)
        s->privg->allprev = gp;
    s->privg = gp;
    mn_unlock(&s->privlock);
}

/* mn_galloc - a fresh G and stack.  0, or -ENOMEM when mmap fails. */
int mn_galloc(struct mn_p *pp, struct mn_g **out)
{
    struct mn_sched *s = mn_sched;
    int node = (pp && s->cfg.numa_local) ? pp->node : -1;
    struct mn_g *gp;
    if (s->cfg.reuse_g) {
        gp = arena_alloc(node);
    } else {
        /* small: one page for the stack and the G, plus a guard page below it when
         * MADV_GUARD_INSTALL makes that free (no VMA split, nothing committed) */
        bool sg = s->cfg.small_stacks && s->small_guard;
        size_t bb = s->cfg.small_stacks ? (MN_SAN_STACK_MULT + sg) * pagesz : block_bytes();
        char *block = map_stack(bb, node);
        if (!block)
            return -ENOMEM;
        bool g = sg ? madvise(block, pagesz, MADV_GUARD_INSTALL) == 0
                    : !s->cfg.small_stacks && guard(block);
        gp = ginit(block, bb, MN_STK_PRIVATE, g, node, NULL);
        private_add(gp);
    }
    if (!gp)
        return -ENOMEM;
    *out = gp;
    return 0;
}

/* mn_galloc_main - the main G: a private, guarded 1 MiB block whatever the stack mode, since
 * it runs the caller's code (printf, bench loops) as Go's main goroutine does on a
 * growable stack. */
int mn_galloc_main(struct mn_g **out)
{
    size_t bb = 1024 * 1024 * MN_SAN_STACK_MULT;
    char *block = map_stack(bb, -1);
    if (!block)
        return -ENOMEM;
    /* guarded even in small-stack mode: one block, one mapping */
    bool g =
        madvise(block, pagesz, MADV_GUARD_INSTALL) == 0 || mprotect(block, pagesz, PROT_NONE) == 0;
    struct mn_g *gp = ginit(block, bb, MN_STK_PRIVATE, g, -1, NULL);
    private_add(gp);
    *out = gp;
    return 0;
}

static void unmap_private(struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->privlock);
    if (gp->allprev)
        gp->allprev->allnext = gp->allnext;
    else
        s->privg = gp->allnext;
    if (gp->allnext)
        gp->allnext->allprev = gp->allprev;
    mn_unlock(&s->privlock);
    munmap(gp->block, gp->block_bytes);
    xadd(&s->stack_munmaps, 1);
}

/* mn_gfree - a dead G: to pp's free list (gfput), or unmapped when reuse_g is off.
 * Called on g0 after the G switched away for the last time. */
void mn_gfree(struct mn_p *pp, struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    if (gp->stack_kind == MN_STK_PRIVATE) {
        unmap_private(gp);
        return;
    }
    gp->schedlink = pp->gfree;
    pp->gfree = gp;
    if (++pp->gfree_n >= GFREE_LOCAL_MAX) {
        /* move half to the global list */
        struct mn_g *head = NULL, *tail = NULL;
        int n = 0;
        while (pp->gfree_n > GFREE_LOCAL_MAX / 2) {
            struct mn_g *g = pp->gfree;
            pp->gfree = g->schedlink;
            pp->gfree_n--;
            g->schedlink = head;
            head = g;
            if (!tail)
                tail = g;
            n++;
        }
        mn_lock(&s->gflock);
        tail->schedlink = s->gfree;
        s->gfree = head;
        st_relaxed(&s->ngfree, s->ngfree + n); /* read unlocked by mn_gfget */
        mn_unlock(&s->gflock);
    }
}

/* mn_gfget - a dead G with its stack from pp's free list, refilled from the global list
 * (up to 32, Go's gfget); NULL when both are empty. */
struct mn_g *mn_gfget(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    if (pp->gfree == NULL && ld_relaxed(&s->ngfree) > 0) {
        mn_lock(&s->gflock);
        while (pp->gfree_n < GFREE_LOCAL_MAX / 2 && s->gfree) {
            struct mn_g *g = s->gfree;
            s->gfree = g->schedlink;
            st_relaxed(&s->ngfree, s->ngfree - 1);
            g->schedlink = pp->gfree;
            pp->gfree = g;
            pp->gfree_n++;
        }
        mn_unlock(&s->gflock);
    }
    struct mn_g *gp = pp->gfree;
    if (gp) {
        pp->gfree = gp->schedlink;
        pp->gfree_n--;
    }
    return gp;
}

/* mn_gfpurge - move all of pp's free Gs to the global list (P destroyed by procresize). */
void mn_gfpurge(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->gflock);
    while (pp->gfree) {
        struct mn_g *g = pp->gfree;
        pp->gfree = g->schedlink;
        g->schedlink = s->gfree;
        s->gfree = g;
        st_relaxed(&s->ngfree, s->ngfree + 1);
    }
    pp->gfree_n = 0;
    mn_unlock(&s->gflock);
}

/* mn_stack_fini - unmap every arena and every live private block. */
void mn_stack_fini(void)
{
    struct mn_sched *s = mn_sched;
    while (s->privg) {
        struct mn_g *g = s->privg;
        s->privg = g->allnext;
        munmap(g->block, g->block_bytes);
        xadd(&s->stack_munmaps, 1);
    }
    while (s->arenas) {
        void *a = s->arenas;
        s->arenas = ((void **)a)[0];
        munmap(a, ((size_t *)a)[1]);
        xadd(&s->stack_munmaps, 1);
    }
}

/* ==== Stack overflow reporting ========================================================== */

static struct sigaction old_segv, old_bus;
static int signals_installed;

/* fmt_u64 - async-signal-safe decimal formatting. */
static size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0, i = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        buf[i++] = tmp[--n];
    return i;
}

static void overflow_msg(struct mn_g *gp)
{
    char buf[96];
    size_t n = 0;
    static const char a[] = "fatal: G ", b[] = " stack overflow (", c[] = " bytes)\n";
    memcpy(buf, a, sizeof a - 1), n += sizeof a - 1;
    n += fmt_u64(buf + n, gp->goid);
    memcpy(buf + n, b, sizeof b - 1), n += sizeof b - 1;
    n += fmt_u64(buf + n, (uint64_t)(gp->stack_hi - gp->stack_lo));
    memcpy(buf + n, c, sizeof c - 1), n += sizeof c - 1;
    ssize_t w = write(2, buf, n);
    (void)w;
}

/* fault_sp - the stack pointer of the interrupted code, or 0 where unknown. */
static uintptr_t fault_sp(void *uc)
{
    ucontext_t *u = uc;
#if defined(__x86_64__)
    return (uintptr_t)u->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)u->uc_mcontext.sp;
#else
    (void)u;
    return 0;
#endif
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    struct mn_m *mp = mn_getm();
    struct mn_g *gp = mp ? mp->curg : NULL;
    char *addr = (char *)si->si_addr;
    uintptr_t sp = fault_sp(uc);
    /* This G's overflow: a fault in the guard page, or within 64 KiB below the stack's low
     * end (a frame of code built without -fstack-clash-protection can jump the guard), or
     * any fault while the G's stack pointer is below its stack or its canary is gone (a
     * small stack ran into the stack below). */
    if (gp && ((addr < gp->stack_lo && addr + 65536 >= gp->block) ||
               (sp && sp < (uintptr_t)gp->stack_lo && sp + 65536 >= (uintptr_t)gp->block) ||
               (gp->canary_check && *(uint64_t *)gp->stack_lo != MN_CANARY))) {
        overflow_msg(gp);
        _exit(2);
    }
    /* Not ours: restore the previous disposition and let the fault happen again. */
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

/* mn_check_canary - called at every switch away from a canary-guarded G. */
void mn_check_canary(struct mn_g *gp)
{
    if (mn_unlikely(*(uint64_t *)gp->stack_lo != MN_CANARY)) {
        overflow_msg(gp);
        _exit(2);
    }
}

int mn_signals_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) || sigaction(SIGBUS, &sa, &old_bus))
        return -errno;
    signals_installed = 1;
    return 0;
}

void mn_signals_fini(void)
{
    if (signals_installed) {
        sigaction(SIGSEGV, &old_segv, NULL);
        sigaction(SIGBUS, &old_bus, NULL);
        signals_installed = 0;
    }
}

/* mn_m_altstack - give the calling M thread an alternate signal stack (freed by mn_fini). */
int mn_m_altstack(struct mn_m *mp)
{
    void *p =
        mmap(NULL, SIGSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    stack_t ss = {.ss_sp = p, .ss_size = SIGSTACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL)) {
        munmap(p, SIGSTACK_BYTES);
        return -errno;
    }
    mp->altstack = p;
    return 0;
}
