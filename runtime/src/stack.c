/*
 * stack.c - G stacks and the G free lists (Go's stackalloc and gfget/gfput), and the
 * SIGSEGV handler that turns a guard-page hit into "fatal: G <id> stack overflow".
 *
 * See the stack block diagram in runtime2.h.  With reuse_g on (the default), Gs and
 * stacks are two pools: Gs (128 bytes) and stack descriptors come densely from slabs, and
 * a G gets a stack only when it first runs (proc.c stackbind: the most recently freed
 * stack of its P, hot in cache and TLB) and gives it back when it exits.  Blocks:
 *   arena   (default): blocks of cfg.stack_bytes cut from 64-block mmaps (one arena per
 *           NUMA node when numa_local is on), guard page per block.
 *   small   (small_stacks): 2 KiB blocks cut from 1024-block slabs, canary-checked.
 *   private (reuse_g off): one mmap per G with the G at its top and the stack bound at
 *           spawn, munmap at exit; P4.1.pool measures its cost.
 * Blocks are never returned to an arena: with reuse_g on, free Gs go to the per-P free
 * list in batches (mn_gfree) and free stacks to a per-P list of up to 16, and all arenas
 * are unmapped by mn_fini.
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
#define SIGSTACK_BYTES (64 * 1024 * MN_SAN_STACK_MULT)

static size_t pagesz;
static int guard_mode_seen = -1; /* for mn_x_stack_guard_mode */

static size_t gsize(void)
{
    return (sizeof(struct mn_g) + 63) & ~(size_t)63;
}

/* block_bytes - bytes of one arena stack block (the G and the block's descriptor live in
 * the dense slab, so an overflow, which runs down into the block below, meets that
 * block's stack, never a G). */
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

/* ginit - lay out a private G at the top of its block (reuse_g off, and the main G): the
 * stack reaches up to the G. */
static struct mn_g *ginit(char *block, size_t bytes, bool guarded, int node)
{
    struct mn_g *gp = (struct mn_g *)(block + bytes - gsize());
    memset(gp, 0, sizeof *gp);
    gp->block = block;
    gp->block_bytes = bytes;
    gp->stack_kind = MN_STK_PRIVATE;
    gp->stack_hi = (char *)gp;
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

#define GSLAB_BYTES (4096 * 128) /* per slab mapping: 4096 Gs of 128 bytes */

/* slab_alloc - bytes (a multiple of 64) for a G or a stack descriptor from the dense slab
 * (sched.stklock held), or NULL.  Slabs are arenas: unmapped by mn_stack_fini only. */
static void *slab_alloc(size_t bytes, int node)
{
    struct mn_sched *s = mn_sched;
    if (s->gslab_cur == NULL || s->gslab_cur + bytes > s->gslab_end) {
        size_t sz = pagesz + GSLAB_BYTES * MN_SAN_STACK_MULT;
        char *a = new_arena(sz, s->cfg.numa_local ? node : -1);
        if (!a)
            return NULL;
        s->gslab_cur = a;
        s->gslab_end = a - pagesz + sz;
    }
    void *p = s->gslab_cur;
    s->gslab_cur += bytes;
    return p;
}

#define STK_DESC_BYTES ((sizeof(struct mn_stack) + 63) & ~(size_t)63)

/* arena_alloc - a fresh stack block from the arena of node, with its descriptor, or NULL
 * when mmap fails.  Default mode: a guard page at the bottom (or a canary when no guard
 * can be had); small stacks: a canary. */
static struct mn_stack *arena_alloc(int node)
{
    struct mn_sched *s = mn_sched;
    size_t bb = block_bytes();
    int slot = node < 0 ? 0 : node % 64;
    mn_lock(&s->stklock);
    struct mn_stack *sd = slab_alloc(STK_DESC_BYTES, node);
    if (!sd) {
        mn_unlock(&s->stklock);
        return NULL;
    }
    if (s->arena_cur[slot] == NULL || s->arena_cur[slot] + bb > s->arena_end[slot]) {
        size_t nblk = s->cfg.small_stacks ? 1024 : ARENA_BLOCKS;
        size_t bytes = pagesz + nblk * bb;
        char *a = new_arena(bytes, s->cfg.numa_local ? node : -1);
        if (!a) {
            s->gslab_cur -= STK_DESC_BYTES; /* give the descriptor's room back */
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
    sd->next = NULL;
    sd->block = block;
    sd->hi = block + bb;
    sd->kind = s->cfg.small_stacks ? MN_STK_SMALL : MN_STK_ARENA;
    if (g) {
        sd->lo = block + pagesz;
        sd->canary_check = 0;
    } else {
        sd->lo = block;
        sd->canary_check = 1;
        *(uint64_t *)block = MN_CANARY;
    }
    return sd;
}

/* mn_stackalloc_slow - mn_stackalloc (runtime2.h) when pp has no free stack: a batch from
 * the global list, else a fresh block (may mmap: call it on g0 or a default-size G stack).
 * NULL when mmap fails.  pp's owner. */
struct mn_stack *mn_stackalloc_slow(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    struct mn_stack *sd;
    if (ld_relaxed(&s->nstkfree) > 0) {
        mn_lock(&s->gflock);
        while (pp->stkfree_n < MN_STKFREE_LOCAL_MAX / 2 && s->stkfree) {
            sd = s->stkfree;
            s->stkfree = sd->next;
            st_relaxed(&s->nstkfree, s->nstkfree - 1);
            sd->next = pp->stkfree;
            pp->stkfree = sd;
            pp->stkfree_n++;
        }
        mn_unlock(&s->gflock);
        if ((sd = pp->stkfree) != NULL) {
            pp->stkfree = sd->next;
            pp->stkfree_n--;
            return sd;
        }
    }
    return arena_alloc(s->cfg.numa_local ? pp->node : -1);
}

/* mn_stackfree_spill - pp holds more than MN_STKFREE_LOCAL_MAX free stacks: half of them
 * to the global list. */
void mn_stackfree_spill(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->gflock);
    while (pp->stkfree_n > MN_STKFREE_LOCAL_MAX / 2) {
        struct mn_stack *sd = pp->stkfree;
        pp->stkfree = sd->next;
        pp->stkfree_n--;
        sd->next = s->stkfree;
        s->stkfree = sd;
        st_relaxed(&s->nstkfree, s->nstkfree + 1);
    }
    mn_unlock(&s->gflock);
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

/* mn_galloc - a fresh G: with reuse_g, a G of the dense slab, without a stack (it gets one
 * when it first runs: proc.c stackbind); else a G at the top of its own mapping (one mmap
 * per spawn, one munmap per exit: P4.1.pool's "off").  0, or -ENOMEM when mmap fails. */
int mn_galloc(struct mn_p *pp, struct mn_g **out)
{
    struct mn_sched *s = mn_sched;
    int node = (pp && s->cfg.numa_local) ? pp->node : -1;
    struct mn_g *gp;
    if (s->cfg.reuse_g) {
        mn_lock(&s->stklock);
        gp = slab_alloc(gsize(), node);
        mn_unlock(&s->stklock);
        if (gp) {
            memset(gp, 0, sizeof *gp);
            gp->stack_kind = s->cfg.small_stacks ? MN_STK_SMALL : MN_STK_ARENA;
            gp->node = (uint8_t)(node < 0 ? 0 : node);
            st_rel(&gp->status, MN_GIDLE);
        }
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
        gp = ginit(block, bb, g, node);
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
    struct mn_g *gp = ginit(block, bb, g, -1);
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

/* Free-G batches and free stacks: runtime2.h, above mn_gfget. */

/* gfbatch_push - put a batch of n Gs (linked by schedlink from head) on the global list.
 * gflock held. */
static void gfbatch_push(struct mn_g *head, int32_t n)
{
    struct mn_sched *s = mn_sched;
    head->gflink = s->gfree;
    head->gfn = n;
    s->gfree = head;
    st_relaxed(&s->ngfree, s->ngfree + n); /* read unlocked by mn_gfget */
}

/* mn_gfput_full - pp's loaded batch is full: it becomes the spare, the old spare goes to the
 * global list. */
void mn_gfput_full(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *full = pp->gfree2;
    pp->gfree2 = pp->gfree;
    pp->gfree = NULL;
    pp->gfree_n = 0;
    if (full) {
        mn_lock(&s->gflock);
        gfbatch_push(full, MN_GF_BATCH);
        mn_unlock(&s->gflock);
    }
}

/* mn_gfree_private - a dead G of its own mapping (reuse_g off): unmap it. */
void mn_gfree_private(struct mn_g *gp)
{
    unmap_private(gp);
}

/* mn_gfget_slow - mn_gfget (runtime2.h) when pp's loaded batch is empty: load the spare, else a
 * global batch; then take one G.  NULL when all are empty. */
struct mn_g *mn_gfget_slow(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *gp;
    if (pp->gfree2) {
        gp = pp->gfree2;
        pp->gfree2 = NULL;
        pp->gfree_n = MN_GF_BATCH;
    } else {
        if (ld_relaxed(&s->ngfree) == 0)
            return NULL;
        mn_lock(&s->gflock);
        gp = s->gfree;
        if (gp) {
            s->gfree = gp->gflink;
            pp->gfree_n = gp->gfn;
            st_relaxed(&s->ngfree, s->ngfree - gp->gfn);
        }
        mn_unlock(&s->gflock);
        if (!gp)
            return NULL;
    }
    pp->gfree = gp->schedlink;
    pp->gfree_n--;
    return gp;
}

/* mn_gfpurge - move all of pp's free Gs and free stacks to the global lists (P destroyed
 * by procresize). */
void mn_gfpurge(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->gflock);
    if (pp->gfree2)
        gfbatch_push(pp->gfree2, MN_GF_BATCH);
    if (pp->gfree)
        gfbatch_push(pp->gfree, pp->gfree_n);
    pp->gfree2 = pp->gfree = NULL;
    pp->gfree_n = 0;
    while (pp->stkfree) {
        struct mn_stack *sd = pp->stkfree;
        pp->stkfree = sd->next;
        sd->next = s->stkfree;
        s->stkfree = sd;
        st_relaxed(&s->nstkfree, s->nstkfree + 1);
    }
    pp->stkfree_n = 0;
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
