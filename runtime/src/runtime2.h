/*
 * runtime2.h - the runtime's core types: G, M, P, the scheduler and the sudog
 * (after Go's runtime/runtime2.go, Go 1.19).  See the design essay in proc.c.
 *
 * A G's stack block (libmill-style diagram).  With reuse_g on (default), Gs (128 bytes)
 * and stack descriptors (struct mn_stack) come densely from slabs, apart from the blocks,
 * and a G is given a block only when it first runs (proc.c stackbind: the most recently
 * freed block of its P, hot in cache and TLB) and gives it back at exit; so 1e6 spawned
 * Gs that have not run yet take 128 MB of Gs and no stack page (one page per
 * live G made spawning 1e6 Gs 3-6x dearer per G than 1e3).  With reuse_g off (private
 * blocks, one mmap per G) and for the main G, the G sits at the top of its block:
 *
 *   block                                                     block + block_bytes
 *   |<- guard ->|<------------------- usable stack ----------->|<- struct mn_g ->|
 *   | 4 KiB     |                          grows down <-- sp   | (private only)  |
 *   ^ guard: MADV_GUARD_INSTALL or PROT_NONE (64 KiB mode),     ^ stack_hi
 *     or an 8-byte canary at stack_lo (small-stack mode)
 *
 * Default mode: block_bytes = cfg.stack_bytes (64 KiB), carved 64 at a time from one
 * mmap (an arena), so 1M parked Gs take 16k mappings, well under vm.max_map_count.  The
 * guard page is installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which marks
 * page-table entries and does not split the VMA; on older kernels an mprotect'ed guard
 * splits the arena into two VMAs per stack, so guards are given only while the map
 * count budget lasts (half of vm.max_map_count) and later stacks fall back to canaries.
 * Small-stack mode: block = 2 KiB of stack, packed in slabs with no guard between them,
 * and the Gs in the dense slab, so an overflow runs into the stack below, never into
 * a G (it used to corrupt the neighbour's G and abort with a casgstatus
 * message).  What is caught there: the 8-byte canary at stack_lo is checked at every
 * switch and exit of the G, and the SIGSEGV handler reports a fault taken while the G's
 * stack pointer is below stack_lo; a frame that steps over the canary without writing it
 * and returns before the next switch is not caught.  With reuse_g off, a small stack is
 * one page (stack + G) above a MADV_GUARD_INSTALL guard page where the kernel has them.
 * Default mode: the guard page catches every overflow of code built with
 * -fstack-clash-protection (frames above a page are probed page by page); without it, a
 * frame larger than the guard can jump it, and the handler still reports a fault up to
 * 64 KiB below the stack.
 */
#ifndef MN_RUNTIME2_H
#define MN_RUNTIME2_H

#include <pthread.h>
#include <signal.h>
#include <stdalign.h>

#include "mn.h"
#include "san.h"
#include "util.h"

struct mn_g;
struct mn_m;
struct mn_p;

/* ==== G ============================================================================= */

/* G status (Go's _G* constants).  Transitions go through mn_casgstatus, which throws on
 * an illegal one (or st_rel where the G cannot be seen by anyone else yet).  Who may move
 * a G into and out of each status:
 *   IDLE      in: the stack allocator (stack.c ginit, a fresh or reused G).
 *             out: its creator, mn_go (newg: -> RUNNABLE; or -> RUNNING when it switches
 *             to the new G directly).
 *   RUNNABLE  in: newg; the G's own M after mn_gosched (after_switch); a waker (goready,
 *             checktimers) for a WAITING G; after_switch for a G back from a syscall that
 *             found no P; mn_run for the main G.
 *             out: only the M that took it off a run queue (execute, switch_to) -> RUNNING.
 *   RUNNING   in: execute / switch_to on an M holding a P; mn_syscall_exit with a P back.
 *             out: only the G itself, on its own M: park -> WAITING, gosched -> RUNNABLE,
 *             mn_syscall_enter -> SYSCALL, goexit -> DEAD.
 *   SYSCALL   in: the G itself (mn_syscall_enter).
 *             out: the G's M in mn_syscall_exit: -> RUNNING with a P, else -> RUNNABLE.
 *   WAITING   in: the G itself (mn_gopark, mn_gopark_spin), on the object's wait list.
 *             out: only a waker (goready of the object, checktimers) -> RUNNABLE.
 *   DEAD      in: the G itself (goexit0 on its M, or mn_go's failure path).
 *             out: the stack allocator when it reuses the G (-> IDLE), or never (unmapped). */
enum {
    MN_GIDLE = 0, /* just allocated or on a free list; owned by the allocator */
    MN_GRUNNABLE, /* on a run queue (local, runnext or global); not running; owner: queue */
    MN_GRUNNING,  /* running on M gp->m, which holds a P; owner: that M */
    MN_GSYSCALL,  /* inside mn_syscall_enter/exit; has an M, its P may be retaken */
    MN_GWAITING,  /* parked (gopark) on a channel, wait group, mutex or timer; on that
                     object's wait list; only goready moves it out */
    MN_GDEAD,     /* exited; on a free list or unmapped */
};

/* How a G's stack block was obtained. */
enum { MN_STK_ARENA, MN_STK_PRIVATE, MN_STK_SMALL };

#define MN_CANARY 0x6d6e5f63616e6172ULL /* "mn_canar" */

struct mn_g {
    void *sp;               /* saved stack pointer while not running */
    struct mn_m *m;         /* M running it (valid while RUNNING/SYSCALL) */
    struct mn_g *schedlink; /* link on a run queue, free list or wait list */
    uint32_t status;        /* MN_G*; atomic */
    uint8_t stack_kind;     /* MN_STK_* */
    uint8_t canary_check;   /* 1: check the canary at stack_lo at every switch */
    uint8_t is_main;        /* the main G of mn_run */
    uint8_t node;           /* NUMA node its block was bound to */
    uint64_t goid;          /* G id, 1 = main */
    void (*fn)(void *);     /* entry */
    void *arg;
    char *stack_lo;     /* lowest usable byte (above the guard / at the canary) */
    char *stack_hi;     /* top of stack (a private G starts here) */
    char *block;        /* start of the block (guard included) */
    size_t block_bytes; /* bytes of the block */
    uint64_t ready_ns;  /* when made runnable (cfg.sched_latency) */
    uintptr_t param;    /* value passed by the waker (sudog success) */
    union {
        struct {                  /* MN_STK_PRIVATE Gs: */
            struct mn_g *allnext; /* list of live private blocks */
            struct mn_g *allprev;
        };
        struct {                 /* reuse_g Gs on the global free list (stack.c): */
            struct mn_g *gflink; /* next batch (head G of a batch only) */
            int32_t gfn;         /* Gs in this batch (head G only) */
        };
    };
    struct mn_stack *stk; /* reuse_g: the stack bound at first run (proc.c stackbind),
                             NULL before and after; MN_STK_PRIVATE: NULL (G in its block) */
#ifdef MN_SAN
    void *san_fake;  /* ASan: this G's fake stack while switched out */
    void *san_fiber; /* TSan: this G's fiber */
#endif
};

#ifndef MN_SAN
MN_STATIC_ASSERT(sizeof(struct mn_g) == 128, "a G is two cache lines (dense slab)");
#endif

/* mn_stack - one stack block of the reuse_g pool (arena or small slab stack), described
 * apart from the block (descriptors are dense, like the Gs): a G takes one when it first
 * runs (proc.c stackbind) and gives it back when it exits (mn_gfree), so a G that was
 * spawned but has not run holds no stack and touches no stack page. */
struct mn_stack {
    struct mn_stack *next; /* P's or the global free-stack list */
    char *block;           /* start of the block (guard included) */
    char *lo;              /* lowest usable byte (above the guard / at the canary) */
    char *hi;              /* top of the stack (block + bytes) */
    uint8_t canary_check;  /* 1: no guard page, an 8-byte canary at lo */
    uint8_t kind;          /* MN_STK_ARENA or MN_STK_SMALL */
};

/* sudog - a G waiting on a channel (Go's sudog).  Lives on the waiting G's stack. */
struct mn_sudog {
    struct mn_g *g;
    struct mn_sudog *next;
    void *elem;   /* data to send or where to receive */
    bool success; /* true: the operation completed; false: woken by close */
};

/* ==== M ============================================================================= */

/* What the g0 loop must do after a G switched to it (the argument of Go's mcall). */
enum { MN_OP_NONE, MN_OP_PARK, MN_OP_GOSCHED, MN_OP_GOEXIT, MN_OP_EXITSYSCALL };
/* What a G reached by a direct G-to-G switch does first for the G that left (proc.c,
 * "Direct switches"): put it on the runq, release its wait lock, or free it. */
enum { MN_DFR_NONE, MN_DFR_RUNQPUT, MN_DFR_UNLOCK, MN_DFR_GFREE };

struct mn_m {
    void *g0_sp;        /* the M's own (thread) stack context while a G runs */
    struct mn_g *curg;  /* G running on this M, or NULL on g0 */
    struct mn_p *p;     /* attached P, or NULL */
    struct mn_p *nextp; /* P handed over by startm; taken on wake */
    struct mn_p *oldp;  /* P before mn_syscall_enter */
    int32_t id;
    bool spinning;           /* looking for work; counted in sched.nmspinning */
    int op;                  /* MN_OP_* for the g0 loop */
    void (*unlockf)(void *); /* MN_OP_PARK / MN_DFR_UNLOCK: called once the G is parked */
    void *unlockarg;
    int dfr_op; /* MN_DFR_*: what the G switched to directly must finish
                   for dfr_g once dfr_g's context is saved (proc.c) */
    struct mn_g *dfr_g;
    struct mn_note park;    /* sleep while on the idle list */
    struct mn_m *schedlink; /* idle list link (under sched.lock) */
    struct mn_m *alllink;   /* all Ms (for mn_fini) */
    pthread_t thread;
    uint64_t fastrand;
    int bound_cpu;  /* CPU this thread is pinned to, or -1 */
    void *altstack; /* signal stack, for the stack-overflow message */
    void *g0stack;  /* the thread's own stack (mmap, unmapped by mn_fini) */
#ifdef MN_SAN
    void *san_fake;  /* ASan: g0's fake stack while a G runs */
    void *san_fiber; /* TSan: the thread's own fiber (g0) */
#endif
};

MN_STATIC_ASSERT(offsetof(struct mn_m, g0_sp) == 0, "mn_ctx_boot reads g0_sp at offset 0");

/* ==== P ============================================================================= */

/* P status (Go's _P* constants).  Who may move a P into and out of each status:
 *   IDLE      in: the M that releases it (releasep, pidleput); sysmon's retake or the M
 *             itself in mn_syscall_exit, by CAS from SYSCALL; procresize for surplus Ps.
 *             out: the M that takes it off the idle list (acquirep -> RUNNING).
 *   RUNNING   in: acquirep by the M that will own it; procresize for the caller's P.
 *             out: only its owner M: releasep -> IDLE, mn_syscall_enter -> SYSCALL,
 *             gcstopm / mn_gomaxprocs -> GCSTOP.
 *   SYSCALL   in: the owner M in mn_syscall_enter.
 *             out: by CAS, whoever wins: the M back from the syscall, sysmon's retake
 *             (-> IDLE, handoffp), or a stop-the-world (-> GCSTOP).
 *   GCSTOP    in: the stopping M (mn_gomaxprocs) for every P, or each P's owner
 *             (gcstopm, handoffp) during a stop-the-world.
 *             out: procresize, in the stopping M only (-> RUNNING / IDLE / DEAD).
 *   DEAD      in: procresize, for Ps beyond the new GOMAXPROCS.
 *             out: procresize, when GOMAXPROCS grows again. */
enum {
    MN_PIDLE = 0, /* on the idle list, or being handed over */
    MN_PRUNNING,  /* owned by an M running Gs or the scheduler */
    MN_PSYSCALL,  /* its M is in a syscall; sysmon may CAS it to IDLE and hand it off */
    MN_PGCSTOP,   /* stopped for a stop-the-world (GOMAXPROCS change) */
    MN_PDEAD,     /* beyond GOMAXPROCS */
};

/*
 * Run-queue layouts.  All three exist in every binary; P.pad selects one at mn_init and
 * the P's runqhead/runqtail/runq/runnext pointers point into it.
 *   packed: Go's layout (runtime2.go: runqhead uint32; runqtail uint32; runq [256]guintptr;
 *           runnext guintptr) - head and tail share a cache line (claim L2.1.headtail says
 *           they should not; Go does it anyway).
 *   pad64 / pad128: head, tail each alone on a 64- / 128-byte line (128 covers the
 *           adjacent-line prefetcher of many x86 parts).
 * Claim L2.1.fourlines: 256 slots of 8 bytes are 2048 bytes = 32 lines, not 4.
 */
struct mn_runq_packed {
    uint32_t head;                    /* L2.1.headtail: next slot to take; thieves CAS */
    uint32_t tail;                    /* next slot to fill; written by owner only */
    struct mn_g *runq[MN_RUNQ_SLOTS]; /* ring */
    struct mn_g *runnext;             /* next G to run, ahead of runq */
};
struct mn_runq_pad64 {
    alignas(64) uint32_t head;
    alignas(64) uint32_t tail;
    alignas(64) struct mn_g *runq[MN_RUNQ_SLOTS];
    struct mn_g *runnext;
};
struct mn_runq_pad128 {
    alignas(128) uint32_t head;
    alignas(128) uint32_t tail;
    alignas(128) struct mn_g *runq[MN_RUNQ_SLOTS];
    struct mn_g *runnext;
};
MN_STATIC_ASSERT(offsetof(struct mn_runq_packed, tail) - offsetof(struct mn_runq_packed, head) == 4,
                 "packed: runqtail right after runqhead, as in Go");
MN_STATIC_ASSERT(offsetof(struct mn_runq_pad64, tail) / 64 !=
                     offsetof(struct mn_runq_pad64, head) / 64,
                 "pad64: head and tail on different 64-byte lines");
MN_STATIC_ASSERT(offsetof(struct mn_runq_pad64, runq) / 64 !=
                     offsetof(struct mn_runq_pad64, tail) / 64,
                 "pad64: runq starts on its own line");
MN_STATIC_ASSERT(offsetof(struct mn_runq_pad128, tail) - offsetof(struct mn_runq_pad128, head) >=
                     128,
                 "pad128: head and tail 128 bytes apart");
MN_STATIC_ASSERT(sizeof(((struct mn_runq_packed *)0)->runq) == 2048,
                 "L2.1.runq: 256 slots of 8 bytes = 2048 bytes = 32 lines");

/* Per-P counters: written by the P's owner only (owner_inc), read by anyone. */
struct mn_pstats {
    uint64_t spawns, g_allocs, g_exits; /* reuses: spawns - g_allocs (mn_stats_read) */
    uint64_t steals, stolen_gs, globrunq_takes, parks, schedticks;
    uint64_t slice_ends; /* inherited slices ended by the bound (schedule) */
    uint64_t idle_ns;
    uint64_t lat_bins[MN_LAT_BINS];
    uint64_t lat_sum_ns;
};

struct mn_p {
    /* read-mostly line: set at init */
    int32_t id;
    int32_t pad;           /* 0, 64, 128: which runq layout is in use */
    uint32_t *runqhead;    /* -> rq.<layout>.head */
    uint32_t *runqtail;    /* -> rq.<layout>.tail */
    struct mn_g **runq;    /* -> rq.<layout>.runq */
    struct mn_g **runnext; /* -> rq.<layout>.runnext.  Go's runtime2.go: "runnext, if
                              non-nil, is a runnable G that was ready'd by the current
                              G and should be run next instead of what's in runq if
                              there's time remaining in the running G's time slice.
                              [...] Note that while other P's may atomically CAS this
                              to zero, only the owner P can CAS it to a valid G." */
    int32_t cpu;           /* CPU for bind_p */
    int32_t node;          /* NUMA node of cpu */
    uint32_t solo;         /* 1: the only P (GOMAXPROCS 1): no thief can take from its runq,
                              so runqget moves runqhead with a store, not a CAS; written by
                              mn_init and procresize with the world stopped */
    /* owner-written */
    uint32_t status;    /* MN_P*; atomic */
    uint32_t schedtick; /* time slices started: incremented on every pick that
                           does not inherit the slice (Go's schedtick) */
    union {
        struct {
            uint32_t inherits; /* picks that inherited the current slice (runnext) */
            uint32_t preempt;  /* atomic: sysmon ended this slice (Go's preempt) */
        };
        uint64_t slice_word; /* both, for one test: > MN_SLICE_PICKS - 1 iff inherits >=
                                MN_SLICE_PICKS or preempt != 0 (little-endian) */
    };
    uint64_t curgoid;                 /* id of the G running now, 0 none (for sysmon's warning) */
    uint32_t syscalltick;             /* incremented on every mn_syscall_enter */
    uint32_t sysmontick;              /* sysmon's last seen syscalltick */
    uint64_t sysmonwhen;              /* when sysmon first saw that syscalltick */
    uint32_t sysmon_schedtick;        /* sysmon's last seen schedtick (slice) */
    uint64_t sysmon_slicewhen;        /* when sysmon first saw it */
    uint64_t sysmon_picks;            /* sysmon's last seen st.schedticks (any pick) */
    uint64_t sysmon_pickwhen;         /* when sysmon first saw it */
    uint32_t sysmon_held;             /* this hold was counted (1) and warned about (2) */
    struct mn_p *link;                /* idle list (sched.lock) */
    struct mn_m *m;                   /* M holding it */
    uint64_t goidcache, goidcacheend; /* batch of G ids (Go: 16 at a time) */
    uint64_t idle_since;              /* nanotime when put on the idle list */
    struct mn_g *gfree;               /* dead Gs (gfput/gfget): the loaded batch */
    int32_t gfree_n;                  /* Gs in gfree */
    struct mn_g *gfree2;              /* a full spare batch (MN_GF_BATCH Gs) or NULL */
    struct mn_stack *stkfree;         /* free stacks of this P (mn_stackalloc/free) */
    int32_t stkfree_n;
    union {
        struct mn_runq_packed packed;
        struct mn_runq_pad64 pad64;
        struct mn_runq_pad128 pad128;
    } rq; /* L2.1.runq, L2.1.headtail, L2.1.fourlines: the run queue in one of three layouts */
    alignas(64) struct mn_pstats st;
};

/* ==== Scheduler ====================================================================== */

struct mn_timer {
    uint64_t when;
    struct mn_g *gp;
};

struct mn_sched {
    struct mn_lock lock; /* "sched.lock": idle lists, global runq, STW */
    struct mn_config cfg;
    int32_t gomaxprocs; /* atomic read */
    struct mn_p *allp[MN_MAX_PROCS];
    int32_t nallp; /* Ps ever allocated */

    struct mn_m *midle; /* idle Ms */
    int32_t nmidle;
    int32_t mcount;    /* Ms created and not exited */
    int32_t mcreating; /* newm calls between registering and pthread_create */
    int32_t mnext;     /* next M id */
    struct mn_m *allm;
    int32_t nmsys;      /* Ms in a syscall (atomic) */
    int32_t nmspinning; /* atomic */

    struct mn_p *pidle; /* idle Ps */
    int32_t npidle;     /* atomic */

    struct mn_g *runqhead; /* global run queue */
    struct mn_g *runqtail;
    int64_t runqsize; /* atomic read */

    struct mn_lock gflock; /* global G free list: full batches linked by gflink */
    struct mn_g *gfree;
    int32_t ngfree;           /* Gs in it (read unlocked as a hint) */
    struct mn_stack *stkfree; /* global free-stack list (gflock) */
    int32_t nstkfree;         /* stacks in it (read unlocked as a hint) */

    struct mn_lock stklock; /* stack arenas */
    void *arenas;           /* list of arena mappings (first word links) */
    char *arena_cur[64];    /* per node: next free block */
    char *arena_end[64];
    char *gslab_cur, *gslab_end; /* reuse_g: slab of Gs and stack descriptors (dense) */
    bool small_guard;            /* private small stacks get a MADV_GUARD_INSTALL page */
    long guard_budget;           /* mprotect guards still allowed */
    int guard_mode;              /* 0 madv_guard, 1 mprotect, 2 canary only */
    struct mn_lock privlock;     /* MN_STK_PRIVATE live list */
    struct mn_g *privg;

    struct mn_lock timerlock;
    struct mn_timer *timers; /* min-heap by when */
    int32_t ntimers, timercap;
    uint64_t timer_next;    /* atomic: earliest when, UINT64_MAX none */
    int32_t timers_pending; /* sleeping Gs not yet readied (atomic) */

    uint32_t gcwaiting; /* atomic: stop-the-world requested */
    uint32_t nodirect;  /* atomic: reasons every switch must pass through
                           schedule() (proc.c direct_ok): MN_NODIRECT_* bits */
    int32_t stopwait;   /* Ps still to stop (sched.lock) */
    struct mn_note stopnote;
    struct mn_mutex worldsema; /* one stop-the-world at a time */

    int exiting;        /* main G returned / mn_fini (sched.lock, atomic read) */
    uint32_t deadcheck; /* atomic: checkdead deferred while plain threads exist */
    int ran;            /* mn_run called */
    int main_status;
    struct mn_note main_done;

    pthread_t sysmon;
    int sysmon_started;
    struct mn_note sysmon_note;
    uint32_t sysmon_sleeping; /* atomic: sysmon in a long sleep */

    uint64_t goidgen; /* atomic: G id batches */
    uint64_t start_ns;
    uint64_t handoffs, stw;              /* atomic */
    uint64_t long_holds;                 /* atomic: Gs seen holding their P > MN_HOLD_NS (sysmon) */
    uint64_t preempt_reqs;               /* atomic: slices sysmon ended (> MN_SLICE_NS) */
    uint64_t stack_mmaps, stack_munmaps; /* atomic */
    uint32_t mxcsr_fpucw[2];             /* FP control words new Gs start with (mn_fpcw_save) */
    void *boot_sp; /* sp of every pooled G that has not run yet: the boot frame (proc.c) */
};

extern struct mn_sched *mn_sched; /* NULL when no runtime exists */

/* sched.nodirect bits: one load tells the switch fast path that schedule() has work. */
enum {
    MN_NODIRECT_STATIC = 1, /* tracing or latency stamps on (set at init) */
    MN_NODIRECT_STW = 2,    /* gcwaiting: a stop-the-world is pending */
    MN_NODIRECT_EXIT = 4
}; /* exiting */

/* ==== Cross-file functions (mn_ + Go's name) ========================================== */

/* proc.c */
extern int mn_x_fail_n[3], mn_x_fail_err[3]; /* mn_x_inject */
/* mn_tls_m - the M of this thread (NULL on a plain thread).  local-exec: libmn.a is linked
 * into executables only (PIE included), where the thread pointer plus a link-time offset
 * reaches it: one load (initial-exec costs a second instruction for the offset). */
extern __thread struct mn_m *mn_tls_m __attribute__((tls_model("local-exec")));
/* mn_getg_entry - the calling G, or NULL on a plain thread, inlined.  Only at the entry of
 * a call, before anything in that function can switch: the compiler may keep the thread
 * pointer in a register across a switch, after which the G may run on another M.  Code
 * after a switch uses gp->m (set by whoever resumed gp), or mn_getm(), which is noinline. */
static inline struct mn_g *mn_getg_entry(void)
{
    struct mn_m *mp = mn_tls_m;
    return mp ? mp->curg : NULL;
}
struct mn_m *mn_getm(void);
struct mn_g *mn_getg(void);
void mn_gopark(struct mn_g *gp, void (*unlockf)(void *), void *arg);
/* mn_gopark_spin - mn_gopark(gp, <mn_spin_unlock>, lock): park releasing a spin lock (the
 * channel and mutex wait queues), which the direct switch releases with one store. */
void mn_gopark_spin(struct mn_g *gp, uint32_t *lock);
void mn_goready(struct mn_g *gp);
void mn_casgstatus(struct mn_g *gp, uint32_t from, uint32_t to);
/* Cold parts of mn_goready_by, each returning 0 so that the callers' fast paths end in a
 * tail call: mn_goready_ret (mn_goready), mn_goready_kick (the previous runnext to the
 * runq's tail, then wakep if a P is idle), mn_wakep_ret (wakep), mn_goready_badstatus
 * (throws). */
int mn_goready_ret(struct mn_g *gp);
int mn_goready_kick(struct mn_p *pp, struct mn_g *old);
int mn_wakep_ret(void);
__attribute__((noreturn)) void mn_goready_badstatus(struct mn_g *gp);

/* mn_goready_by - mn_goready(gp) called by self, the running G (it knows its M without a
 * TLS read): gp goes into self's P's runnext, the previous runnext to the runq's tail, and
 * an idle P is woken if there is one (Go's ready).  Inline for the channel fast paths,
 * which return its value (always 0): every call in it is a tail call, so they keep no
 * callee-saved register.  Tracing and latency stamps take mn_goready. */
static inline int mn_goready_by(struct mn_g *self, struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    if (mn_unlikely(ld_relaxed(&s->nodirect))) /* set atomically by mn_gomaxprocs */
        return mn_goready_ret(gp);
    struct mn_p *pp = self->m->p;
    if (mn_unlikely(ld_relaxed(&gp->status) != MN_GWAITING))
        mn_goready_badstatus(gp);
    st_rel(&gp->status, MN_GRUNNABLE);
    struct mn_g *old;
    if (ld_relaxed(&s->gomaxprocs) == 1) {
        /* the only P: no thief exists, a plain exchange will do (proc.c runqget_solo) */
        old = ld_relaxed(pp->runnext);
        st_relaxed(pp->runnext, gp);
    } else {
        old = xchg(pp->runnext, gp);
    }
    if (mn_unlikely(old != NULL))
        return mn_goready_kick(pp, old);
    if (mn_unlikely(ld_sc(&s->npidle) != 0))
        return mn_wakep_ret();
    return 0;
}

/* stack.c */
int mn_stack_init(void);
void mn_stack_fini(void);
int mn_galloc(struct mn_p *pp, struct mn_g **out);
int mn_galloc_main(struct mn_g **out);
struct mn_g *mn_gfget_slow(struct mn_p *pp);
void mn_gfput_full(struct mn_p *pp);
void mn_gfree_private(struct mn_g *gp);
struct mn_stack *mn_stackalloc_slow(struct mn_p *pp);
void mn_stackfree_spill(struct mn_p *pp);

/* Free Gs move between a P and the global list in whole batches (a magazine: Bonwick and
 * Adams, "Magazines and Vmem", USENIX 2001): a P keeps a loaded batch (gfree, gfree_n Gs)
 * and one full spare (gfree2, MN_GF_BATCH Gs); a put that fills the loaded batch makes it
 * the spare and sends the old spare, if any, to the global list (mn_gfput_full); a get
 * from an empty loaded batch takes the spare, else a whole batch from the global list
 * (mn_gfget_slow).  Each transfer is O(1) under gflock, where Go's gfput/gfget move Gs one
 * at a time (64 kept per P, half moved at once); a P keeps 0 to 2 x MN_GF_BATCH free Gs.
 * Free stacks (reuse_g) stay per P up to MN_STKFREE_LOCAL_MAX, beyond which half go to the
 * global list (mn_stackfree_spill).  The fast paths are inline: they run once per spawn. */
#define MN_GF_BATCH 32
#define MN_STKFREE_LOCAL_MAX 16

/* mn_gfget - a dead G from pp's free list (Go's gfget); NULL when pp's and the global
 * lists are empty.  The G holds no stack (reuse_g only).  pp's owner. */
static inline struct mn_g *mn_gfget(struct mn_p *pp)
{
    struct mn_g *gp = pp->gfree;
    if (mn_unlikely(gp == NULL))
        return mn_gfget_slow(pp);
    pp->gfree = gp->schedlink;
    pp->gfree_n--;
    return gp;
}

/* mn_stackalloc - a stack for a G about to run for the first time: the most recently freed
 * one of pp (hot in cache and TLB), else mn_stackalloc_slow.  NULL when out of memory.
 * pp's owner. */
static inline struct mn_stack *mn_stackalloc(struct mn_p *pp)
{
    struct mn_stack *sd = pp->stkfree;
    if (mn_unlikely(sd == NULL))
        return mn_stackalloc_slow(pp);
    pp->stkfree = sd->next;
    pp->stkfree_n--;
    return sd;
}

/* mn_gfree - a dead G (its last switch done): its stack back to pp's free stacks and the G
 * to pp's free list (Go's gfput), or both unmapped when reuse_g is off.  pp's owner. */
static inline void mn_gfree(struct mn_p *pp, struct mn_g *gp)
{
    if (mn_unlikely(gp->stack_kind == MN_STK_PRIVATE)) {
        mn_gfree_private(gp);
        return;
    }
    struct mn_stack *sd = gp->stk;
    if (sd) {
        sd->next = pp->stkfree;
        pp->stkfree = sd;
        gp->stk = NULL;
        if (mn_unlikely(++pp->stkfree_n > MN_STKFREE_LOCAL_MAX))
            mn_stackfree_spill(pp);
    }
    gp->schedlink = pp->gfree;
    pp->gfree = gp;
    if (mn_unlikely(++pp->gfree_n == MN_GF_BATCH))
        mn_gfput_full(pp);
}
void mn_gfpurge(struct mn_p *pp);
int mn_signals_init(void);
void mn_signals_fini(void);
int mn_m_altstack(struct mn_m *mp);
void mn_check_canary(struct mn_g *gp);

/* ctx_<abi>.S */
/* mn_ctx_swap - save the caller's context at *save_sp, resume the one at new_sp; the
 * resumed context's own mn_ctx_swap call returns arg (the switcher's M), so code after a
 * switch needs no register kept across it (a new G's first frame ignores it). */
struct mn_m *mn_ctx_swap(void **save_sp, void *new_sp, struct mn_m *arg);
/* mn_ctx_swap_unlock - mn_ctx_swap that also stores 0 (release) to *lock once the current
 * context is saved and the stack pointer has left its stack (a parking G's wait lock). */
struct mn_m *mn_ctx_swap_unlock(void **save_sp, void *new_sp, struct mn_m *arg, uint32_t *lock);
void mn_ctx_entry(void);
void *mn_ctx_make(char *stack_hi, void (*start)(struct mn_g *), struct mn_g *gp,
                  const uint32_t fpcw[2]);
void mn_systemstack_call(void (*fn)(void *), void *arg, void *sp);
/* the boot frame every G that has not run yet resumes into (proc.c stackbind) */
void *mn_ctx_make_boot(char *top, const uint32_t fpcw[2]);
void mn_ctx_start(char *stack_hi, struct mn_g *gp, void (*start)(struct mn_g *))
    __attribute__((noreturn));
void mn_gboot(struct mn_m *mp) __attribute__((noreturn)); /* proc.c, from mn_ctx_boot */

/* sync.c */
void mn_prof_reset(void);
struct mn_mutex_prof *mn_prof_register(const char *name);

#endif
