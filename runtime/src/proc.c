/*
 * proc.c - the scheduler: Gs, Ms and Ps (after Go's runtime/proc.go, Go 1.19).
 *
 * ==== Glossary ===========================================================================
 *   G        a goroutine: a user-level task with its own stack (struct mn_g).
 *   M        a machine: an OS thread (pthread) that runs Gs (struct mn_m).  Each M also has
 *            a "g0" context, its own thread stack, on which the scheduler runs.
 *   P        a processor: the right to run Gs, and the per-CPU scheduler state: a 256-slot
 *            local run queue (runq), a runnext slot and a free-G list (struct mn_p).  An M
 *            must hold a P to run Gs; there are GOMAXPROCS Ps.
 *   runq     P's local run queue: a lock-free ring; the owner puts at the tail and takes at
 *            the head, thieves take half with a CAS on the head (runqget/runqsteal).
 *   runnext  a one-G slot ahead of runq: a G readied by the running G runs next and
 *            inherits the time slice (the ping-pong case).
 *   global run queue  a list under sched.lock: overflow of local runqs, Gs readied by
 *            threads without a P (sysmon's timers), Gs of Ps removed by procresize.
 *            Checked every 61st schedule() for fairness.
 *   spinning M  an M that holds a P and looks for work to steal instead of parking.
 *
 * Source: the structure, names and protocols follow proc.go at Go 1.19 (schedule,
 * findrunnable, runqput/runqget/runqgrab/runqsteal, globrunqget, wakep, startm, stopm,
 * handoffp, entersyscall/exitsyscall, retake/sysmon, procresize, gfput/gfget) and
 * Dmitry Vyukov's "Scalable Go Scheduler Design Doc" (2012, golang.org/s/go11sched).
 * Differences from Go: scheduling is cooperative (no preemption signal: a G that never
 * yields keeps its P; sysmon only retakes Ps from syscalls), there is no GC, no netpoller,
 * timers live in one global heap fired by sysmon and by schedule(), a yielding G goes to
 * the tail of its local runq rather than the global queue (no lock on the switch path),
 * and stacks do not grow (a guard page or canary turns overflow into a fatal message).
 * The main G runs on its own 1 MiB stack, and mn_run's caller thread is not an M: it
 * sleeps until the main G returns.
 *
 * ==== The parking problem ================================================================
 * Ms must not burn CPU when there is no work, yet a readied G must not wait while a P is
 * idle.  Rejected: (a) a central dispatcher thread (one more hop per wakeup, a global
 * bottleneck), (b) waking an M on every ready (a futex wake of a few microseconds per
 * channel operation, and thundering herds), (c) Ms that always spin (burns all CPUs; on
 * this 2-vCPU host it would steal cycles from the G that does work).
 *
 * Chosen (Go's spinning-M protocol): at most one extra M is woken when work appears, and
 * only if no M is already spinning:
 *   - ready side (goready, mn_go): put the G on a queue, then wakep(): if npidle > 0 and
 *     nmspinning == 0, CAS nmspinning 0->1 and start an M with an idle P as "spinning".
 *   - a spinning M steals from random victims (4 rounds, random order; runnext only in the
 *     last round).  When it finds a G it stops spinning (resetspinning) and calls wakep()
 *     again, so the next spinner takes over: work fans out one M at a time.
 *   - a spinning M that finds nothing: releases its P to the idle list, decrements
 *     nmspinning, and THEN re-checks the global queue and every P's runq; if any is
 *     non-empty it takes an idle P back and spins again.  Only then it parks on its futex
 *     (stopm).
 * Barriers: the parking side makes its P idle and decrements nmspinning with locked
 * read-modify-writes (full barriers) before it re-reads the runqs.  The ready side puts
 * the G on its OWN P's runq with a release store and then reads npidle/nmspinning with
 * plain loads, exactly as Go (runqput's StoreRel, wakep's atomic.Load; on x86 a load may
 * pass the earlier store).  In that window an idle P can miss the new G and stay idle,
 * but the G is never lost: it sits on the queue of a P whose M is running and will take
 * it itself (pidleput throws if a P with queued Gs is ever made idle).  Gs readied by a
 * thread without a P (sysmon's timers, plain threads) go to the global queue under
 * sched.lock; the lock alone does not cover the spinning M, which checks that queue under
 * it but stops counting as spinning only after it has released it: a G queued in between
 * gets a wakep that sees the spinner and wakes nobody.  So the spinner re-checks the
 * global queue after its decrement too (Go 1.21; without it all Ms parked with timer-woken
 * Gs queued: sched::timer_wakeups_while_ms_park).  Spinning is also capped: a new M
 * spins only while 2*nmspinning < GOMAXPROCS - npidle.
 *
 * ==== Direct switches (the switch fast path) ===================================
 * Go switches G -> g0 (mcall) -> G: two register swaps per switch, and g0 re-runs all of
 * schedule()'s checks.  Here, when schedule() would have nothing to do first (direct_ok: no
 * stop-the-world, exit, armed timer, trace or latency stamps - one word, sched.nodirect,
 * plus the timer word - the slice not expired and not a 61st tick with Gs on the global
 * queue), mn_gosched, mn_gopark and mn_goexit take the next G off their own runq and swap
 * straight to it: one swap.  The hazard is that the leaving G must not become visible to
 * another P (on a runq, or to a waker through the released wait lock) before its context
 * is saved; so what g0 would do after the save (runqput of the yielder, unlockf of the
 * parker, gfree of the dead G) is left in mp->dfr_op and done by the G switched to, first
 * thing when it resumes (finish_switch; Linux's finish_task_switch does the same).  Every
 * resume point (mcall, switch_to, gostart) calls finish_switch.  mn_ctx_swap returns the
 * switcher's M, so the code after a switch needs no callee-saved register; small
 * (canary-checked) stacks, tracing and latency stamps keep the g0 path.
 * Measured with callgrind (make bench-instructions): yield switch 206.5 -> 117.5
 * instructions, fcontext's bare swap 32.5; unbuffered channel round trip on 1 P 715 -> 435
 * (State Threads' single-threaded hand-off: 266); spawn+run+exit 446 -> 343.  Channel wakes use
 * mn_goready_by (inline: the waker's runnext, no TLS read), and 4/8-byte elements are copied
 * inline.  Then (chan.c "Fast paths") 435 -> 387.5: channel fast paths that push no
 * callee-saved register, a local-exec TLS getg, and a G parking on a spin lock has the swap
 * itself release the lock once its context is saved (mn_ctx_swap_unlock) instead of a
 * deferred op for the next G; owner_inc as one `add` to memory on x86-64: 379.5.
 * One P (GOMAXPROCS 1): no other P exists, so nobody but the owner can touch runnext;
 * mn_goready_by and gopark then put and take it with plain loads and stores (runqget_solo),
 * not xchg / lock cmpxchg: two of the four locked instructions per direction of a channel
 * round trip (the other two are the channel lock).  That costs ~12 instructions per round
 * trip (the GOMAXPROCS tests) and saves time: ours/State Threads hand-off on this host
 * 2.46 -> 1.94 (CPU-time medians, same process, 4 runs each; the host was loaded, see the
 * commit).  Go has no such case; its runnext is always CASed.
 *
 * ==== Stacks bound at first run (reuse_g) ======================================
 * Go gives a G its stack in newproc.  With our 64 KiB stacks that made one touched page
 * per live G (the G sat at the top of its stack block): spawning 1e6 Gs before any ran
 * cost 3-6x more per G than 1e3 (a cold page, TLB miss and cache miss per G at spawn,
 * another at run, 4 GB of RSS).  Now a G is 128 bytes in a dense slab with no stack; the
 * spawned G's sp points at one shared, read-only boot frame (built at mn_init by
 * mn_ctx_make_boot with the initial FP control words), so the switch paths need no test:
 * the first switch to the G lands in mn_ctx_boot, which moves to the M's g0 stack below
 * its saved context (free, as for systemstack) and calls mn_gboot: the G takes its P's
 * most recently freed stack (stackbind) and gostart is called on it (mn_ctx_start).
 * mn_gfree returns the stack with the G.  A batch of Gs that each run to completion reuses
 * two hot stacks, and no frame is built at spawn.  A stack mmap failure at first run is
 * fatal ("out of memory", as Go's stack allocation), while mn_go's -ENOMEM covers the G.
 * Under ASan/TSan, which must be told a G's stack before switching to it, execute and
 * switch_to bind the stack and build the start frame before the switch instead.
 * Free Gs move between a P and the global list in O(1) batches (runtime2.h, mn_gfget).
 *
 * ==== G mutex (sync.c), Go's sync.Mutex ==================================================
 * The first mutex handed the lock FIFO to the first waiter on every contended unlock and
 * spun 120 PAUSEs even on one P: a convoy in which the lock stayed held across a context
 * switch per acquisition (ours/Go = 28-71 at 64 Gs).  Now as mutex.go: barging (a woken
 * waiter competes with running Gs, which mostly win), spinning only when it can help (more
 * than one CPU, GOMAXPROCS > idle Ps + spinning Ms + 1, nothing on our own runq; at most
 * 4 x 30 PAUSEs), a woken loser requeued at the front, and starvation mode after a waiter
 * waited 1 ms (direct FIFO hand-off, the unlocker yields its P to the waiter).  The
 * WaitGroup's counter is atomic and its lock is taken only when the counter reaches zero;
 * channel, mutex and WaitGroup waits park with mn_gopark_spin, whose direct switch releases
 * the wait lock with one store.
 *
 * ==== findrunnable: where an idle P looks, and how long it spins ========================
 * Order as Go 1.19's findrunnable: own runnext and runq, the global queue (a fair share:
 * size/GOMAXPROCS + 1, at most 128), then stealing.  Go does not steal before the global
 * queue either.  Spinning is bounded by the number of busy Ps, not by time: an M starts
 * spinning only while 2 x nmspinning < GOMAXPROCS - npidle, makes 4 passes over the other
 * Ps in a random order (runnext only in the last), then gives its P up, re-checks every
 * runq once after leaving the spinning count (the Dekker half above) and parks on its
 * futex.  The one wait is for a running P's runnext (the ping-pong case: its owner is
 * about to run it): Go sleeps usleep(3) there; we busy-wait at most 16 x 10 PAUSEs (10
 * PAUSEs took 0.26 us on this host's Xeon: at most ~4 us) and stop as soon as runnext
 * changes, so a thief that lost the race never waits the whole bound.
 * Skynet (1M leaves, 10-way fan-out; benches/skynet.c) was the case against this order:
 * ~510k Gs per tree go through the global queue and only 1-10 steals happen at 2 Ps.
 * Measured (perf record -e cpu-clock, mn_stats): the global traffic is the tree's
 * breadth-first growth overflowing the 256-slot local runq (runqputslow), the same at 1 P
 * (515k takes per tree) as at 2 Ps (514k), not a way of spreading work; globrunqget's 19%
 * of samples sit (94%) on one load, the next G's schedlink, a cache and TLB miss on a G
 * last touched when it was queued (one page per G: G density is the fix, not the order);
 * stealwork, runqgrab and the PAUSE wait got no sample.  Stealing before the global queue
 * (tried: one pass over the other Ps' runqs whenever the global queue was non-empty) took
 * 2030 steals per tree instead of 9.5, but global takes fell only 6% (484k) and
 * globrunqget's share 18.7% -> 16.9%: the overflow is still there, so it was not adopted.
 * ==== Memory ordering (what each shared variable relies on; aarch64 review) ===============
 * x86-64 is TSO: every load is an acquire and every store a release, so a missing barrier
 * there costs nothing and shows nothing.  aarch64 reorders plain loads and stores freely;
 * only the C11 orders below order them (GCC maps ld_acq/ld_sc to LDAR, st_rel/st_sc to
 * STLR, seq_cst read-modify-writes to LDAXR/STLXR or LSE ...AL forms, relaxed to plain
 * LDR/STR).  ARMv8 acquire/release are RCsc: an STLR followed by an LDAR is never
 * reordered, which x86's plain MOVs do not promise.  Every release below is paired with an
 * acquire on the reader side; a "hint" is read relaxed and re-checked under a lock or
 * only steers a heuristic.  QEMU on an x86 host runs the guest with x86's ordering, so the
 * arm64 tests cannot catch a mistake here: this table is the review.
 *   runq slots         owner: relaxed store, then st_rel(runqtail) publishes it.  Thief
 *                      (runqgrab): ld_acq(runqhead), ld_acq(runqtail), relaxed slot loads,
 *                      then cas_rel(runqhead): the release orders its slot loads before the
 *                      head moves, and the owner's ld_acq(runqhead) in runqput orders the
 *                      slot reuse after them (Go: LoadAcq/StoreRel/CasRel, same pairs).
 *   runqhead           cas_rel by owner (runqget, runqputslow) and thieves; ld_acq by all.
 *                      The owner of the only P (pp->solo, GOMAXPROCS 1) takes with st_rel:
 *                      no thief exists, and solo changes only with the world stopped.
 *   runqtail           written by the owner only (st_rel / st_sc after runqsteal filled its
 *                      own slots); ld_acq by thieves; the owner reads it plainly.
 *   runnext            xchg (seq_cst) to put, cas_sc to take, ld_sc in runqempty: the G's
 *                      fields written before the put are visible to whoever takes it.
 *                      GOMAXPROCS 1 (read by the owner while it runs on its P, so fixed
 *                      until the P stops for a stop-the-world): relaxed load and store by
 *                      the owner, the only thread that can take it (runqget_solo).
 *   G.status, G.sp     written by the G's current owner (mn_casgstatus: st_rel; sp by
 *                      mn_ctx_swap with a plain store) before the G is published through a
 *                      queue (the release above) or a wait object's lock; the next owner
 *                      gets it through that queue's acquire or the same lock.  The G's
 *                      stack is last touched by mn_ctx_swap before that publication.
 *   sudog fields       written by the waker under the channel's spin lock (xchg-acquire,
 *   (success, elem)    store-release); read by the woken G after it was handed over
 *                      through runnext/runq (release by goready's runqput, acquire by the
 *                      M that runs it).
 *   nmspinning,        the spinning-M Dekker pair.  Ready side: runq release store (or
 *   npidle             runnext xchg), then ld_sc(npidle), ld_sc(nmspinning) in wakep.
 *                      Parking side: xadd(npidle) in pidleput and xadd(nmspinning, -1)
 *                      (seq_cst), then ld_sc(runqsize) and ld_sc of every runq in
 *                      runqempty; the global queue's put is st_sc(runqsize), then
 *                      the same wakep loads, so one side sees the other.  On aarch64
 *                      STLR->LDAR keeps the ready side ordered; on x86 the store may pass
 *                      the load.  Either way a missed wakeup loses parallelism, never a G:
 *                      the G sits on the running P's own queue (essay above).  Gs readied
 *                      without a P have no running P to fall back on: their st_sc(runqsize)
 *                      (XCHG on x86, STLR on aarch64) and the spinner's re-check of
 *                      runqsize after its decrement must see each other, or G is lost.
 *   P.status           st_sc / cas_sc where an M in a syscall and sysmon race for the P
 *                      (mn_syscall_exit and retake both CAS PSYSCALL->PIDLE: the winner
 *                      owns it; pp->m = NULL is written before the st_sc(PSYSCALL)
 *                      release).  Plain stores only under sched.lock or with the world
 *                      stopped; runqgrab's relaxed read of PRUNNING is a hint (runnext wait).
 *   M.nextp, M.spinning  written by startm, then mn_notewakeup's xchg (release); read
 *                      by the woken M after mn_notesleep's ld_sc(key) (acquire).
 *   note key           xchg to wake, ld_sc to test, futex for the sleep itself.
 *   sched.lock, spin   acquire on lock (CAS / exchange), release on unlock; they order the
 *   locks              global runq, idle lists, stopwait, timers heap, free-G lists, stack
 *                      arenas, channels, wait groups and the G mutex's wait list.
 *   runqsize           st_sc under sched.lock, ld_sc outside it: a hint re-checked under
 *                      the lock before a P is given up (findrunnable) or a G is taken.
 *   gcwaiting, exiting st_sc by the one requester under sched.lock; ld_sc elsewhere; every
 *                      decision on them is re-taken under sched.lock.
 *   timers_pending     xadd +1 before the G parks, -1 after mn_goready queued it; checkdead
 *                      reads it with ld_sc (acquire) under sched.lock, so a 0 it sees
 *                      comes with the readied G's queue entry visible (no false deadlock).
 *   nmsys              xadd; ld_sc by checkdead and sysmon.
 *   timer_next         a hint, read relaxed by Ms; the heap under timerlock is the truth.
 *                      Dekker pair with sysmon's deep sleep: mn_sleep_ns st_sc(timer_next)
 *                      then ld_sc(sysmon_sleeping) (wake it when earliest); sysmon
 *                      st_sc(sysmon_sleeping) then ld_sc(timer_next) and shortens its
 *                      sleep: a new earliest timer is never slept past.
 *   goidgen            xadd.  Per-P stats: owner_inc (relaxed, single writer); readers
 *                      relaxed (aligned 64-bit loads are single-copy atomic on both ISAs).
 *   G mutex state      cas_sc / xadd (seq_cst); in starvation mode unlock readies the
 *                      first waiter (goready publishes it), which takes the lock with xadd.
 *   mu->row            profile row, published with st_rel, read with ld_acq; the per-P
 *                      acquisition counts are owner_inc'd by the P's M (sync.c).
 *   direct switches    the leaving G is put on a runq, its wait lock released or its block
 *   (mp->dfr_op)       freed by the G switched to (finish_switch), on the same M after
 *                      mn_ctx_swap stored its sp: program order on one thread, then the
 *                      usual release (runq, lock) publishes it.  sched.nodirect is set
 *                      with seq_cst fetch_or and read relaxed: a stale 0 lets one more
 *                      direct switch run on its own P before schedule() sees gcwaiting or
 *                      exiting (a hint, like Go's preemption request).
 * The context switch itself is an opaque call: the compiler keeps nothing in registers
 * across it that the ABI does not preserve, and mn_getm is noinline so a G that resumes
 * on another M re-reads the thread pointer (TPIDR_EL0 / %fs).
 *
 * ==== Switches (struct mn_config; the exact claim IDs each serves) =========================
 * Mechanisms under test: a bench turns one on and off inside one process and compares.
 *   pad_runq      layout of runqhead/runqtail: 0 = adjacent as in Go's runtime2.go, 64/128
 *                 = each on its own line (L2.1.runq, L2.1.headtail, L2.1.fourlines,
 *                 T3.l1hit, T3.latency, N3.3.sched).  All three layouts are compiled in; P
 *                 holds pointers to the fields of the one in use, so the code path is the
 *                 same for all.
 *   bind_p        the M holding P i is pinned (sched_setaffinity) to the i-th allowed CPU
 *                 when it acquires the P (T4.flush, T4.mmap, T4.local, T4.tlbmiss, T4.walk;
 *                 on in T10.lat's 2-P rows and T10.remote; off in T6.l1d, T6.per, T6.reuse,
 *                 whose G moves its own M).
 *   numa_local    P's node = its CPU's node; each P's struct and the stack arenas of Gs
 *                 it creates are bound to that node (mbind, MPOL_PREFERRED, before first
 *                 touch); stealing tries same-node victims first (N3.2.latency,
 *                 N3.2.remote, N3.3.foreign).  Trade-off: a G stolen by a P of another
 *                 node keeps its stack on the creator's node, so its stack accesses are
 *                 remote; numa/bind reports the resulting share.  Off: no placement at all
 *                 (first touch decides).
 *   reuse_g       dead Gs and their stacks are kept on per-P free lists (P4.1.pool); off:
 *                 one mmap per spawn, one munmap per exit.
 *   small_stacks  2 KiB slab stacks instead of stack_bytes mappings (T1.stack.g, T1.max.g).
 * Parameters: gomaxprocs, the number of Ps (T5.idle, T5.grunq, T5.resize via
 * mn_gomaxprocs / procresize); stack_bytes, the reserved size of a mapped stack.
 * Instruments: they observe the scheduler and change no decision it takes.
 *   sched_latency record runqput-to-run latency per P (T3.latency, N3.3.sched).
 *   schedtrace_ms Go's schedtrace line on stderr (the figures T5.idle and T5.grunq read
 *                 through mn_stats_read).
 *   trace_path    a Chrome trace of P and G events (P4.4.trace).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "mn_export.h"
#include "numa_internal.h"
#include "runtime2.h"
#include "trace.h"

struct mn_sched *mn_sched;
/* the boot frame (stackbind): read-only once built, shared by all Ms */
static char boot_area[512] __attribute__((aligned(64)));
__thread struct mn_m *mn_tls_m __attribute__((tls_model("local-exec")));
#define tls_m mn_tls_m

/* ==== Forward declarations =============================================================== */
static void schedule(struct mn_m *mp);
static void sysmon_wake(struct mn_sched *s);
static struct mn_g *findrunnable(struct mn_m *mp, bool *inherit);
static void execute(struct mn_m *mp, struct mn_g *gp, bool inherit);
static inline bool runqput(struct mn_p *pp, struct mn_g *gp, bool next);
static inline struct mn_g *runqget(struct mn_p *pp, bool *inherit);
static struct mn_g *runqsteal(struct mn_p *pp, struct mn_p *p2, bool stealnext);
static bool runqempty(struct mn_p *pp);
static void globrunqput(struct mn_g *gp);
static void globrunqputbatch(struct mn_g *head, struct mn_g *tail, int32_t n);
static struct mn_g *globrunqget(struct mn_p *pp, int32_t max);
static void pidleput(struct mn_p *pp);
static struct mn_p *pidleget(void);
static inline int wakep(void);
static int startm(struct mn_p *pp, bool spinning);
static void stopm(struct mn_m *mp);
static void handoffp(struct mn_p *pp);
static void acquirep(struct mn_m *mp, struct mn_p *pp);
static struct mn_p *releasep(struct mn_m *mp);
static void gcstopm(struct mn_m *mp);
static void checktimers(struct mn_p *pp, uint64_t now);
static int newm(struct mn_p *pp, bool spinning);
static void mexit(struct mn_m *mp) __attribute__((noreturn));

/* ==== Current M and G ==================================================================== */

/* mn_getm - the M of the calling thread, or NULL.  noinline so that a G that migrates
 * between Ms never reuses a TLS address computed on the previous thread. */
MN_NOINLINE struct mn_m *mn_getm(void)
{
    struct mn_m *mp = tls_m;
    __asm__ volatile("" ::: "memory");
    return mp;
}

MN_NOINLINE struct mn_g *mn_getg(void)
{
    struct mn_m *mp = mn_getm();
    return mp ? mp->curg : NULL;
}

/* systemstack - run fn(arg) on the M's g0 stack when called on a small (under 16 KiB) G
 * stack, directly otherwise (Go's systemstack).  For the runtime's deep slow paths:
 * creating an M (calloc, pthread_create) and mapping a new stack arena would overflow a
 * 2 KiB G stack.  g0 is parked in mn_ctx_swap below its saved sp, so everything below
 * that sp is free while a G runs on this M. */
static void systemstack(void (*fn)(void *), void *arg)
{
    struct mn_m *mp = mn_getm();
    struct mn_g *gp = mp ? mp->curg : NULL;
    if (gp && (size_t)(gp->stack_hi - gp->stack_lo) < 16384) {
        uintptr_t sp = ((uintptr_t)mp->g0_sp - 256) & ~(uintptr_t)15;
        mn_systemstack_call(fn, arg, (void *)sp);
    } else {
        fn(arg);
    }
}

/* mn_casgstatus - move gp from one status to another; throws on an illegal transition.
 * Every transition is made by the one party that owns the G at that moment (the M
 * running it, the M that took it off a queue, the waker holding the wait object's lock),
 * so a checked load and a release store suffice; Go needs a CAS only because its GC
 * scans stacks concurrently. */
void mn_casgstatus(struct mn_g *gp, uint32_t from, uint32_t to)
{
    uint32_t cur = ld_relaxed(&gp->status);
    if (mn_unlikely(cur != from))
        mn_throw("casgstatus: G %lu: from %u to %u, but status is %u", (unsigned long)gp->goid,
                 from, to, cur);
    st_rel(&gp->status, to);
}

static inline uint64_t lat_stamp(void)
{
    return mn_sched->cfg.sched_latency ? mn_nanotime() : 0;
}

/* ==== Local run queue (Go's runqput / runqget / runqgrab / runqsteal) ===================== */

/* runqempty - whether pp has no G in runq or runnext.  Any thread. */
static bool runqempty(struct mn_p *pp)
{
    /* Go: read head, tail, runnext, then tail again to get a consistent snapshot. */
    for (;;) {
        uint32_t head = ld_sc(pp->runqhead);
        uint32_t tail = ld_sc(pp->runqtail);
        struct mn_g *next = ld_sc(pp->runnext);
        if (tail == ld_sc(pp->runqtail))
            return head == tail && next == NULL;
    }
}

/* runqputslow - runq is full: move half of it plus gp to the global queue. Owner only. */
static MN_NOINLINE bool runqputslow(struct mn_p *pp, struct mn_g *gp, uint32_t h, uint32_t t)
{
    struct mn_g *batch[MN_RUNQ_SLOTS / 2 + 1];
    uint32_t n = (t - h) / 2;
    if (n != MN_RUNQ_SLOTS / 2)
        mn_throw("runqputslow: queue is not full");
    for (uint32_t i = 0; i < n; i++)
        batch[i] = ld_relaxed(&pp->runq[(h + i) % MN_RUNQ_SLOTS]);
    if (!cas_rel(pp->runqhead, h, h + n))
        return false;
    batch[n] = gp;
    for (uint32_t i = 0; i < n; i++)
        batch[i]->schedlink = batch[i + 1];
    batch[n]->schedlink = NULL;
    mn_lock(&mn_sched->lock);
    globrunqputbatch(batch[0], batch[n], (int32_t)n + 1);
    mn_unlock(&mn_sched->lock);
    return true;
}

/* runqput_full - runqput's tail put when the queue looked full: spill half to the global
 * queue (or retry if a thief made room).  false only for a standalone P. */
static MN_NOINLINE bool runqput_full(struct mn_p *pp, struct mn_g *gp)
{
    for (;;) {
        uint32_t h = ld_acq(pp->runqhead);
        uint32_t t = *pp->runqtail;
        if (t - h < MN_RUNQ_SLOTS) {
            st_relaxed(&pp->runq[t % MN_RUNQ_SLOTS], gp);
            st_rel(pp->runqtail, t + 1);
            return true;
        }
        if (mn_sched == NULL)
            return false;
        if (runqputslow(pp, gp, h, t))
            return true;
    }
}

/* runqput - put gp on pp's local queue; next: into runnext, kicking the previous runnext
 * to the tail.  A full queue spills half to the global queue.  Owner of pp only.
 * Returns false only for a standalone P (no runtime) whose queue is full. */
static inline __attribute__((always_inline)) bool runqput(struct mn_p *pp, struct mn_g *gp,
                                                          bool next)
{
    if (next) {
        /* Go loops on a CAS; an exchange does the same in one step (a thief that CASes
         * runnext to NULL meanwhile just leaves us nothing to kick). */
        struct mn_g *old = xchg(pp->runnext, gp);
        if (old == NULL)
            return true;
        gp = old; /* kick the old runnext to the tail */
    }
    uint32_t h = ld_acq(pp->runqhead);
    uint32_t t = *pp->runqtail;
    if (mn_likely(t - h < MN_RUNQ_SLOTS)) {
        st_relaxed(&pp->runq[t % MN_RUNQ_SLOTS], gp);
        st_rel(pp->runqtail, t + 1); /* makes the slot visible to thieves */
        return true;
    }
    return runqput_full(pp, gp); /* a tail call: the inlined fast path keeps no registers */
}

/* runqget - next G from pp: runnext first (inherits the time slice), then the head of runq.
 * Owner only. */
static inline __attribute__((always_inline)) struct mn_g *runqget(struct mn_p *pp, bool *inherit)
{
    struct mn_g *next = ld_relaxed(pp->runnext);
    if (next && cas_sc(pp->runnext, next, NULL)) {
        *inherit = true;
        return next;
    }
    *inherit = false;
    for (;;) {
        uint32_t h = ld_acq(pp->runqhead);
        uint32_t t = *pp->runqtail;
        if (t == h)
            return NULL;
        struct mn_g *gp = ld_relaxed(&pp->runq[h % MN_RUNQ_SLOTS]);
        /* Go CASes because a thief may move the head too; the only P has no thief (the
         * world is stopped while GOMAXPROCS changes), so a release store does: no locked
         * instruction on the switch path of a 1-P program */
        if (pp->solo) {
            st_rel(pp->runqhead, h + 1);
            return gp;
        }
        if (cas_rel(pp->runqhead, h, h + 1))
            return gp;
    }
}

/* runqget_solo - runqget for the owner of the only P (GOMAXPROCS 1, read by the caller
 * while it runs on pp): no other P exists, so no thief can touch runnext, and it is taken
 * with a plain load and store instead of a CAS (a locked instruction, ~20 cycles here).
 * GOMAXPROCS cannot change before pp stops: mn_gomaxprocs stops the world first. */
static inline __attribute__((always_inline)) struct mn_g *runqget_solo(struct mn_p *pp,
                                                                       bool *inherit)
{
    struct mn_g *next = ld_relaxed(pp->runnext);
    if (next) {
        st_relaxed(pp->runnext, NULL);
        *inherit = true;
        return next;
    }
    return runqget(pp, inherit);
}

/* RUNNEXT_WAIT_ROUNDS - how long a thief waits for a running P to take its own runnext G
 * before stealing it: rounds of 10 PAUSEs (~0.1-0.4 us each), ended early as soon as
 * runnext changes.  Go 1.19 sleeps usleep(3) there; a fixed 3 us busy-wait (what this
 * runtime did) burned the thief's CPU even when the owner had long taken the G. */
#define RUNNEXT_WAIT_ROUNDS 16

/* runqgrab - copy half of pp's runq into batch[batchhead...]; when the queue is empty and
 * stealnext, take runnext instead.  Returns the number of Gs grabbed.  Any thread. */
static uint32_t runqgrab(struct mn_p *pp, struct mn_g **batch, uint32_t batchhead, bool stealnext)
{
    for (;;) {
        uint32_t h = ld_acq(pp->runqhead);
        uint32_t t = ld_acq(pp->runqtail);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            if (stealnext) {
                struct mn_g *next = ld_sc(pp->runnext);
                if (next) {
                    /* Go waits ~3 us here so that a P about to run its runnext G (the
                     * ping-pong case) keeps it rather than losing it to a thief; we wait
                     * at most RUNNEXT_WAIT_ROUNDS and stop as soon as the owner took it. */
                    if (ld_relaxed(&pp->status) == MN_PRUNNING)
                        for (int i = 0; i < RUNNEXT_WAIT_ROUNDS && ld_relaxed(pp->runnext) == next;
                             i++)
                            mn_procyield(10);
                    if (!cas_sc(pp->runnext, next, NULL))
                        continue;
                    st_relaxed(&batch[batchhead % MN_RUNQ_SLOTS], next);
                    return 1;
                }
            }
            return 0;
        }
        if (n > MN_RUNQ_SLOTS / 2) /* read inconsistent h and t */
            continue;
        for (uint32_t i = 0; i < n; i++) {
            struct mn_g *g = ld_relaxed(&pp->runq[(h + i) % MN_RUNQ_SLOTS]);
            st_relaxed(&batch[(batchhead + i) % MN_RUNQ_SLOTS], g);
        }
        if (cas_rel(pp->runqhead, h, h + n))
            return n;
    }
}

/* runqsteal - steal half of p2's Gs into pp's runq and return one of them.  pp's owner. */
static struct mn_g *runqsteal(struct mn_p *pp, struct mn_p *p2, bool stealnext)
{
    uint32_t t = *pp->runqtail;
    uint32_t n = runqgrab(p2, pp->runq, t, stealnext);
    if (n == 0)
        return NULL;
    n--;
    struct mn_g *gp = ld_relaxed(&pp->runq[(t + n) % MN_RUNQ_SLOTS]);
    if (n == 0)
        return gp;
    uint32_t h = ld_acq(pp->runqhead);
    if (t - h + n >= MN_RUNQ_SLOTS)
        mn_throw("runqsteal: runq overflow");
    st_sc(pp->runqtail, t + n);
    return gp;
}

/* ==== Global run queue (sched.lock held) ================================================== */

static void globrunqput(struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    gp->schedlink = NULL;
    if (s->runqtail)
        s->runqtail->schedlink = gp;
    else
        s->runqhead = gp;
    s->runqtail = gp;
    st_sc(&s->runqsize, s->runqsize + 1);
}

static void globrunqputhead(struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    gp->schedlink = s->runqhead;
    s->runqhead = gp;
    if (!s->runqtail)
        s->runqtail = gp;
    st_sc(&s->runqsize, s->runqsize + 1);
}

static void globrunqputbatch(struct mn_g *head, struct mn_g *tail, int32_t n)
{
    struct mn_sched *s = mn_sched;
    tail->schedlink = NULL;
    if (s->runqtail)
        s->runqtail->schedlink = head;
    else
        s->runqhead = head;
    s->runqtail = tail;
    st_sc(&s->runqsize, s->runqsize + n);
}

/* globrunqget - take a fair share of the global queue (Go: size/GOMAXPROCS + 1, at most
 * max when max > 0, at most half a runq); return one and put the rest on pp's runq. */
static struct mn_g *globrunqget(struct mn_p *pp, int32_t max)
{
    struct mn_sched *s = mn_sched;
    int64_t size = s->runqsize;
    if (size == 0)
        return NULL;
    int64_t n = size / s->gomaxprocs + 1;
    if (n > size)
        n = size;
    if (max > 0 && n > max)
        n = max;
    if (n > MN_RUNQ_SLOTS / 2)
        n = MN_RUNQ_SLOTS / 2;
    st_sc(&s->runqsize, size - n);
    owner_inc(&pp->st.globrunq_takes, (uint64_t)n);
    struct mn_g *gp = s->runqhead;
    s->runqhead = gp->schedlink;
    n--;
    while (n-- > 0) {
        struct mn_g *g1 = s->runqhead;
        s->runqhead = g1->schedlink;
        runqput(pp, g1, false);
    }
    if (!s->runqhead)
        s->runqtail = NULL;
    return gp;
}

/* ==== Idle Ps and Ms (sched.lock held) ===================================================== */

static void pidleput(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    if (!runqempty(pp))
        mn_throw("pidleput: P %d has a non-empty run queue", pp->id);
    st_sc(&pp->status, MN_PIDLE);
    st_relaxed(&pp->idle_since, mn_nanotime()); /* mn_stats_read reads it */
    pp->link = s->pidle;
    s->pidle = pp;
    xadd(&s->npidle, 1);
    MN_TRACE(MN_EV_P_IDLE, pp->id, 0, 0);
}

static struct mn_p *pidleget(void)
{
    struct mn_sched *s = mn_sched;
    struct mn_p *pp = s->pidle;
    if (pp) {
        s->pidle = pp->link;
        xadd(&s->npidle, -1);
        if (pp->idle_since)
            owner_inc(&pp->st.idle_ns, mn_nanotime() - pp->idle_since);
        st_relaxed(&pp->idle_since, 0);
    }
    return pp;
}

static void mput(struct mn_m *mp)
{
    struct mn_sched *s = mn_sched;
    mp->schedlink = s->midle;
    s->midle = mp;
    st_relaxed(&s->nmidle, s->nmidle + 1); /* mn_stats_read reads it */
}

static struct mn_m *mget(void)
{
    struct mn_sched *s = mn_sched;
    struct mn_m *mp = s->midle;
    if (mp) {
        s->midle = mp->schedlink;
        st_relaxed(&s->nmidle, s->nmidle - 1);
    }
    return mp;
}

/* foreign_threads - threads of this process that are not the runtime's (Ms, sysmon, and
 * the thread blocked in mn_run): plain threads that may still ready a G, e.g. by
 * mn_chan_close.  Read from /proc/self/task; INT_MIN when it cannot be read. */
static int foreign_threads(struct mn_sched *s)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return INT_MIN;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    /* Under TSan its own helper threads (one or two, restarted after fork) count here
     * too, so there the deadlock is never declared (runtime2.h san notes, README). */
    return n - (s->mcount + (s->sysmon_started ? 1 : 0) + 1);
}

/* checkdead - called with sched.lock held when an M goes idle, and by sysmon while a check
 * is deferred: if no M runs, none is in a syscall, no timer is pending and nothing is
 * queued, every G is blocked.  Go's checkdead then throws; but a plain thread (not an M)
 * can still ready a G through mn_chan_close, as sysmon's timers do, and Go itself never
 * declares a deadlock in a c-archive/c-shared build for the same reason.  So while the
 * process has threads other than the runtime's, the verdict is deferred and sysmon checks
 * again every few milliseconds: the abort comes only once no such thread is left. */
static void checkdead(void)
{
    struct mn_sched *s = mn_sched;
    st_relaxed(&s->deadcheck, 0);
    if (s->exiting || !s->ran)
        return;
    if (s->mcount - s->nmidle > 0 || ld_sc(&s->nmsys) > 0 || ld_sc(&s->timers_pending) > 0 ||
        ld_sc(&s->runqsize) > 0)
        return;
    for (int i = 0; i < s->gomaxprocs; i++)
        if (!runqempty(s->allp[i]))
            return;
    /* < 0 (an M counted before its thread exists cannot occur here: it is not idle):
     * none foreign.  INT_MIN (unreadable) defers. */
    int ft = foreign_threads(s);
    if (ft > 0 || ft == INT_MIN) {
        st_relaxed(&s->deadcheck, 1); /* a plain thread may still wake a G: sysmon rechecks */
        return;
    }
    mn_fatal("all goroutines are asleep - deadlock!");
}

/* ==== Ps and Ms ========================================================================== */

static void bind_cpu(struct mn_m *mp, int cpu)
{
    if (cpu < 0 || mp->bound_cpu == cpu)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) == 0)
        mp->bound_cpu = cpu;
}

/* acquirep - attach pp to mp (Go's acquirep/wirep).  pp must be idle and owned by us. */
static void acquirep(struct mn_m *mp, struct mn_p *pp)
{
    if (mp->p || (pp->m && pp->m != mp))
        mn_throw("acquirep: M %d already has P or P %d has an M", mp->id, pp->id);
    mp->p = pp;
    pp->m = mp;
    st_sc(&pp->status, MN_PRUNNING);
    if (mn_sched->cfg.bind_p)
        bind_cpu(mp, pp->cpu);
    MN_TRACE(MN_EV_P_START, pp->id, 0, mp->id);
}

/* releasep - detach mp's P and return it (status idle; caller puts it somewhere). */
static struct mn_p *releasep(struct mn_m *mp)
{
    struct mn_p *pp = mp->p;
    if (!pp || pp->m != mp)
        mn_throw("releasep: invalid P state");
    MN_TRACE(MN_EV_P_STOP, pp->id, 0, mp->id);
    mp->p = NULL;
    pp->m = NULL;
    st_sc(&pp->status, MN_PIDLE);
    return pp;
}

static void *mstart(void *arg);

/* g0: the scheduler and signal handlers run here (larger under a sanitizer, san.h) */
#define M_STACK_BYTES (256 * 1024 * MN_SAN_STACK_MULT)

/* newm - create an M (thread) that starts with P pp.  mcount was already counted by the
 * caller.  0 or -EAGAIN/-ENOMEM; on failure pp goes back to the idle list.  Runs on the
 * system stack (newm1), since calloc and pthread_create are deep.
 * Shutdown: an M is put on allm only while the runtime is not exiting, and mcreating
 * counts the Ms between that check and pthread_create, so mn_fini waits for them before
 * it joins allm and unmaps their stacks. */
struct newm_args {
    struct mn_p *pp;
    bool spinning;
    int rc;
};

static void newm1(void *arg)
{
    struct newm_args *a = arg;
    struct mn_sched *s = mn_sched;
    struct mn_p *pp = a->pp;
    struct mn_m *mp = calloc(1, sizeof *mp);
    int rc = -ENOMEM;
    if (!mp)
        goto fail;
    mp->nextp = pp;
    mp->spinning = a->spinning;
    mp->bound_cpu = -1;
    /* The M's g0 stack is ours, not glibc's: glibc caches the stacks of joined threads,
     * and mn_fini promises to leave no mapping behind. */
    mp->g0stack = mmap(NULL, M_STACK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mp->g0stack == MAP_FAILED) {
        free(mp);
        goto fail;
    }
    (void)mprotect(mp->g0stack, 4096, PROT_NONE); /* guard page */
    mn_lock(&s->lock);
    if (s->exiting) {
        mn_unlock(&s->lock);
        munmap(mp->g0stack, M_STACK_BYTES);
        free(mp);
        rc = -ESHUTDOWN;
        goto fail;
    }
    mp->id = s->mnext++;
    s->mcreating++;
    mn_unlock(&s->lock);
    mp->fastrand = 0x9e3779b97f4a7c15ull * (uint64_t)(mp->id + 1) ^ mn_nanotime();
    if (!mp->fastrand)
        mp->fastrand = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, mp->g0stack, M_STACK_BYTES);
    if (mn_unlikely(mn_x_fail_n[MN_X_FAIL_THREAD] > 0)) {
        mn_x_fail_n[MN_X_FAIL_THREAD]--;
        rc = -mn_x_fail_err[MN_X_FAIL_THREAD];
    } else {
        rc = -pthread_create(&mp->thread, &attr, mstart, mp);
    }
    pthread_attr_destroy(&attr);
    mn_lock(&s->lock);
    s->mcreating--;
    if (rc == 0) {
        mp->alllink = s->allm;
        s->allm = mp;
        mn_unlock(&s->lock);
        a->rc = 0;
        return;
    }
    mn_unlock(&s->lock);
    munmap(mp->g0stack, M_STACK_BYTES);
    free(mp);
fail:
    mn_lock(&s->lock);
    st_relaxed(&s->mcount, s->mcount - 1);
    if (pp && !s->exiting) {
        /* nobody can run pp's queue now: hand its Gs to the global queue */
        bool inh;
        struct mn_g *gp;
        while ((gp = runqget(pp, &inh)) != NULL)
            globrunqput(gp);
        pidleput(pp);
    }
    mn_unlock(&s->lock);
    if (a->spinning)
        xadd(&s->nmspinning, -1);
    a->rc = rc == -ESHUTDOWN ? 0 : rc;
}

static int newm(struct mn_p *pp, bool spinning)
{
    struct newm_args a = {pp, spinning, 0};
    systemstack(newm1, &a);
    return a.rc;
}

/* startm - run pp (or an idle P when NULL) on an idle M, creating one if needed.
 * spinning: the caller incremented nmspinning for this M.  Any thread. */
static int startm(struct mn_p *pp, bool spinning)
{
    struct mn_sched *s = mn_sched;
    mn_lock(&s->lock);
    if (s->exiting) {
        mn_unlock(&s->lock);
        if (spinning)
            xadd(&s->nmspinning, -1);
        return 0;
    }
    if (!pp) {
        pp = pidleget();
        if (!pp) {
            mn_unlock(&s->lock);
            if (spinning)
                xadd(&s->nmspinning, -1);
            return 0;
        }
    }
    struct mn_m *mp = mget();
    if (!mp) {
        st_relaxed(&s->mcount, s->mcount + 1);
        mn_unlock(&s->lock);
        return newm(pp, spinning);
    }
    mn_unlock(&s->lock);
    if (mp->spinning || mp->nextp)
        mn_throw("startm: M %d is spinning or has a P", mp->id);
    mp->spinning = spinning;
    mp->nextp = pp;
    mn_notewakeup(&mp->park);
    return 0;
}

/* wakep - try to add one spinning M when there is an idle P and no spinner (essay).  The
 * test is inlined into the ready paths; only a wake-up calls out. */
static int wakep_slow(struct mn_sched *s)
{
    if (ld_sc(&s->nmspinning) != 0 || !cas_sc(&s->nmspinning, 0, 1))
        return 0;
    return startm(NULL, true);
}

static inline int wakep(void)
{
    struct mn_sched *s = mn_sched;
    if (mn_likely(ld_sc(&s->npidle) == 0))
        return 0;
    return wakep_slow(s);
}

/* stopwait_done - one more P has stopped for the stop-the-world; the last one wakes the
 * G that requested it (mn_gomaxprocs).  sched.lock held. */
static void stopwait_done(struct mn_sched *s)
{
    if (--s->stopwait == 0)
        mn_notewakeup(&s->stopnote);
}

/* handoffp - hand off pp from an M blocked in a syscall (Go's handoffp). */
static void handoffp(struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    if (!runqempty(pp) || ld_sc(&s->runqsize) != 0) {
        (void)startm(pp, false);
        return;
    }
    if (ld_sc(&s->nmspinning) + ld_sc(&s->npidle) == 0 && cas_sc(&s->nmspinning, 0, 1)) {
        (void)startm(pp, true);
        return;
    }
    mn_lock(&s->lock);
    if (s->gcwaiting) {
        st_sc(&pp->status, MN_PGCSTOP);
        stopwait_done(s);
        mn_unlock(&s->lock);
        return;
    }
    if (s->runqsize != 0) {
        mn_unlock(&s->lock);
        (void)startm(pp, false);
        return;
    }
    pidleput(pp);
    mn_unlock(&s->lock);
}

/* stopm - park mp on the idle list until startm hands it a P.  Exits the thread when the
 * runtime is exiting.  Called on g0 without a P. */
static void stopm(struct mn_m *mp)
{
    struct mn_sched *s = mn_sched;
    if (mp->p || mp->spinning)
        mn_throw("stopm: M %d holds a P or spins", mp->id);
    mn_lock(&s->lock);
    if (s->exiting) {
        mn_unlock(&s->lock);
        mexit(mp);
    }
    mput(mp);
    checkdead();
    mn_unlock(&s->lock);
    mn_notesleep(&mp->park);
    mn_noteclear(&mp->park);
    if (ld_sc(&s->exiting) && !mp->nextp)
        mexit(mp);
    acquirep(mp, mp->nextp);
    mp->nextp = NULL;
}

/* gcstopm - stop mp for a stop-the-world: give up the P, then park. */
static void gcstopm(struct mn_m *mp)
{
    struct mn_sched *s = mn_sched;
    if (mp->spinning) {
        mp->spinning = false;
        xadd(&s->nmspinning, -1);
    }
    struct mn_p *pp = releasep(mp);
    mn_lock(&s->lock);
    st_sc(&pp->status, MN_PGCSTOP);
    stopwait_done(s);
    mn_unlock(&s->lock);
    stopm(mp);
}

/* mexit - end the calling M thread (runtime exiting).  Its P, if any, is dropped. */
static void mexit(struct mn_m *mp)
{
    if (mp->p)
        releasep(mp);
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    tls_m = NULL;
    pthread_exit(NULL);
}

/* resetspinning - mp found work: stop spinning and let another M take over (essay). */
static void resetspinning(struct mn_m *mp)
{
    mp->spinning = false;
    int32_t n = xadd(&mn_sched->nmspinning, -1);
    if (n < 0)
        mn_throw("resetspinning: negative nmspinning");
    (void)wakep();
}

/* ==== schedule / findrunnable / execute ==================================================== */

/* stealwork - one spinning M's attempt to steal: 4 rounds over all Ps in a random order
 * (Go's randomOrder: a random start and a stride coprime with GOMAXPROCS); runnext is
 * taken only in the last round.  With numa_local, same-node victims come first in each
 * round. */
static struct mn_g *stealwork(struct mn_m *mp, struct mn_p *pp)
{
    struct mn_sched *s = mn_sched;
    for (int round = 0; round < 4; round++) {
        bool stealnext = round == 3;
        int n = ld_sc(&s->gomaxprocs);
        uint32_t r = mn_fastrand(&mp->fastrand);
        uint32_t start = r % (uint32_t)n;
        uint32_t inc = 1;
        /* smallest stride > r%n coprime with n, found by trying upward */
        for (uint32_t c = 1 + (r >> 16) % (uint32_t)n; c <= (uint32_t)n; c++) {
            uint32_t a = c, b = (uint32_t)n;
            while (b) {
                uint32_t t = a % b;
                a = b;
                b = t;
            }
            if (a == 1) {
                inc = c;
                break;
            }
        }
        for (int pass = 0; pass < (s->cfg.numa_local ? 2 : 1); pass++) {
            uint32_t pos = start;
            for (int i = 0; i < n; i++, pos = (pos + inc) % (uint32_t)n) {
                if (ld_sc(&s->gcwaiting) || ld_sc(&s->exiting))
                    return NULL;
                struct mn_p *p2 = s->allp[pos];
                if (p2 == pp)
                    continue;
                if (s->cfg.numa_local && (pass == 0) != (p2->node == pp->node))
                    continue;
                struct mn_g *gp = runqsteal(pp, p2, stealnext);
                if (gp) {
                    owner_inc(&pp->st.steals, 1);
                    owner_inc(&pp->st.stolen_gs, 1 + (*pp->runqtail - ld_relaxed(pp->runqhead)));
                    MN_TRACE(MN_EV_P_STEAL, pp->id, 1 + (*pp->runqtail - ld_relaxed(pp->runqhead)),
                             p2->id);
                    return gp;
                }
            }
        }
    }
    return NULL;
}

/* findrunnable - find a G to run, stealing or parking the M as needed (Go's findrunnable).
 * Returns with mp holding a P.  Called on g0. */
static struct mn_g *findrunnable(struct mn_m *mp, bool *inherit)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *gp;
top:;
    struct mn_p *pp = mp->p;
    if (ld_sc(&s->gcwaiting)) {
        gcstopm(mp);
        goto top;
    }
    if (ld_sc(&s->exiting))
        mexit(mp);
    uint64_t tn = ld_relaxed(&s->timer_next);
    if (tn != UINT64_MAX)
        checktimers(pp, mn_nanotime());

    if ((gp = runqget(pp, inherit)))
        return gp;
    if (ld_sc(&s->runqsize) != 0) {
        mn_lock(&s->lock);
        gp = globrunqget(pp, 0);
        mn_unlock(&s->lock);
        if (gp) {
            *inherit = false;
            return gp;
        }
    }
    /* Spin only while fewer than half the busy Ps have spinners (Go). */
    int32_t procs = ld_sc(&s->gomaxprocs);
    if (mp->spinning || 2 * ld_sc(&s->nmspinning) < procs - ld_sc(&s->npidle)) {
        if (!mp->spinning) {
            mp->spinning = true;
            xadd(&s->nmspinning, 1);
        }
        gp = stealwork(mp, pp);
        if (gp) {
            *inherit = false;
            return gp;
        }
    }

    /* Nothing found: give up the P. */
    mn_lock(&s->lock);
    if (s->gcwaiting) {
        mn_unlock(&s->lock);
        gcstopm(mp);
        goto top;
    }
    if (s->runqsize != 0) {
        gp = globrunqget(pp, 0);
        mn_unlock(&s->lock);
        *inherit = false;
        return gp;
    }
    releasep(mp);
    pidleput(pp);
    mn_unlock(&s->lock);

    if (mp->spinning) {
        if (mn_unlikely(ld_relaxed(&mn_x_fail_n[MN_X_DELAY_SPINDOWN]) > 0) &&
            xadd(&mn_x_fail_n[MN_X_DELAY_SPINDOWN], -1) >= 0)
            usleep((useconds_t)mn_x_fail_err[MN_X_DELAY_SPINDOWN]); /* test hook: widen */
        mp->spinning = false;
        if (xadd(&s->nmspinning, -1) < 0)
            mn_throw("findrunnable: negative nmspinning");
        /* Re-check the global queue and all run queues after the decrement (the Dekker
         * half of the essay; Go 1.21's findRunnable: "Check global and P runqueues
         * again").  A G put on the global queue after our locked check above - sysmon's
         * fired timers, a plain thread's mn_goready - got a wakep that still saw us
         * spinning and so woke nobody: without this check every M could park with it
         * queued (seen: sched::sleep_and_waitgroup hung under qemu-aarch64).  Pairs with
         * globrunqput's st_sc(runqsize) and wakep's ld_sc(nmspinning). */
        if (ld_sc(&s->runqsize) != 0) {
            struct mn_p *p2 = NULL;
            gp = NULL;
            mn_lock(&s->lock);
            if (s->runqsize != 0 && (p2 = pidleget()) != NULL)
                gp = globrunqget(p2, 0);
            mn_unlock(&s->lock);
            if (gp) {
                acquirep(mp, p2);
                mp->spinning = true; /* schedule()'s resetspinning wakes the next M */
                xadd(&s->nmspinning, 1);
                *inherit = false;
                return gp;
            }
        }
        int32_t n = ld_sc(&s->gomaxprocs);
        for (int i = 0; i < n; i++) {
            if (!runqempty(s->allp[i])) {
                mn_lock(&s->lock);
                struct mn_p *p2 = pidleget();
                mn_unlock(&s->lock);
                if (p2) {
                    acquirep(mp, p2);
                    mp->spinning = true;
                    xadd(&s->nmspinning, 1);
                    goto top;
                }
                break;
            }
        }
    }
    stopm(mp);
    goto top;
}

/* ==== The two switches, with the sanitizers told (san.h) ================================== */

#ifdef MN_TSAN
#define MN_NOTSAN __attribute__((no_sanitize("thread"), noinline))
#else
#define MN_NOTSAN
#endif

#ifdef MN_SAN
/* the sanitizer half of san_swap: nothing instrumented between the TSan switch and the
 * stack switch (no_sanitize(thread)), as __tsan_switch_to_fiber requires */
static MN_NOTSAN struct mn_m *san_swap_slow(void **save, void *to_sp, struct mn_m *mp,
                                            struct mn_g *from_g, struct mn_g *to_g, bool dying)
{
#ifdef MN_ASAN
    void **fake = from_g ? (dying ? NULL : &from_g->san_fake) : &mp->san_fake;
    const void *bottom = to_g ? (const void *)to_g->stack_lo : mp->g0stack;
    size_t size = to_g ? (size_t)(to_g->stack_hi - to_g->stack_lo) : M_STACK_BYTES;
    __sanitizer_start_switch_fiber(fake, bottom, size);
#else
    (void)from_g, (void)dying;
#endif
#ifdef MN_TSAN
    __tsan_switch_to_fiber(to_g ? to_g->san_fiber : mp->san_fiber, 0);
#endif
    struct mn_m *r = mn_ctx_swap(save, to_sp, mp);
#ifdef MN_ASAN
    /* resumed: from_g on whatever M resumed it, or g0 on its own M */
    __sanitizer_finish_switch_fiber(from_g ? from_g->san_fake : mp->san_fake, NULL, NULL);
#endif
    return r;
}
#endif

/* san_swap - mn_ctx_swap with the sanitizers told (san.h): from from_g (NULL: mp's g0) to
 * to_g (NULL: mp's g0) at to_sp.  dying: from_g never runs again (ASan frees its fake
 * stack; its TSan fiber is destroyed by whoever frees the G).  Returns what mn_ctx_swap
 * returns: the M that resumed us.  Without a sanitizer, exactly mn_ctx_swap. */
static inline __attribute__((always_inline)) struct mn_m *san_swap(void **save, void *to_sp,
                                                                   struct mn_m *mp,
                                                                   struct mn_g *from_g,
                                                                   struct mn_g *to_g, bool dying)
{
#ifdef MN_SAN
    return san_swap_slow(save, to_sp, mp, from_g, to_g, dying);
#else
    (void)from_g, (void)to_g, (void)dying;
    return mn_ctx_swap(save, to_sp, mp);
#endif
}

/* san_gcreate / san_gdestroy - a new G's TSan fiber; drop it once the G is dead. */
static inline void san_gcreate(struct mn_g *gp)
{
#ifdef MN_TSAN
    gp->san_fiber = __tsan_create_fiber(0);
#else
    (void)gp;
#endif
}

static inline void san_gdestroy(struct mn_g *gp)
{
#ifdef MN_TSAN
    if (gp->san_fiber)
        __tsan_destroy_fiber(gp->san_fiber);
    gp->san_fiber = NULL;
#else
    (void)gp;
#endif
}

static void gostart(struct mn_g *gp);

/* stackbind - give gp, about to run for the first time, a stack (reuse_g: Gs are spawned
 * without one).  Called by the M that runs gp, on its g0 stack (mn_gboot); under the
 * sanitizers, which must be told the stack before the switch, by execute and switch_to,
 * with the start frame built here.  Out of memory for a stack is fatal, as in Go. */
static MN_NOINLINE void stackbind(struct mn_p *pp, struct mn_g *gp)
{
    struct mn_stack *sd = mn_stackalloc(pp);
    if (!sd)
        mn_fatal("out of memory: no stack for G %lu", (unsigned long)gp->goid);
    gp->stk = sd;
    gp->block = sd->block;
    gp->stack_lo = sd->lo;
    gp->stack_hi = sd->hi;
    gp->canary_check = sd->canary_check;
#ifdef MN_SAN
    gp->sp = mn_ctx_make(sd->hi, gostart, gp, mn_sched->mxcsr_fpucw);
#endif
}

/* mn_gboot - the first code of a pooled G's first run, on its M's g0 stack (mn_ctx_boot;
 * the switch to gp found gp->sp at the shared boot frame): bind a stack and start gostart
 * there.  Does not return. */
void mn_gboot(struct mn_m *mp)
{
    struct mn_g *gp = mp->curg;
    stackbind(mp->p, gp);
    mn_ctx_start(gp->stack_hi, gp, gostart);
}

/* slice_account - the time-slice bookkeeping of a G about to run on pp (execute and
 * switch_prep): a G that inherits the slice (runnext) extends it, any other starts a new one
 * (Go's execute and inheritTime); pp's owner. */
static inline __attribute__((always_inline)) void slice_account(struct mn_p *pp, struct mn_g *gp,
                                                                bool inherit)
{
    if (inherit) {
        pp->inherits++;
    } else {
        st_relaxed(&pp->schedtick, pp->schedtick + 1); /* sysmon reads it */
        pp->inherits = 0;
    }
    owner_inc(&pp->st.schedticks, 1);
    st_relaxed(&pp->curgoid, gp->goid);
}

/* execute - run gp on mp until it switches back to g0.  Called on g0 with a P. */
static void execute(struct mn_m *mp, struct mn_g *gp, bool inherit)
{
    struct mn_p *pp = mp->p;
    mn_casgstatus(gp, MN_GRUNNABLE, MN_GRUNNING);
    slice_account(pp, gp, inherit);
    if (mn_unlikely(gp->ready_ns)) {
        uint64_t d = mn_nanotime() - gp->ready_ns;
        gp->ready_ns = 0;
        int b = d ? 63 - __builtin_clzll(d) : 0;
        if (b >= MN_LAT_BINS)
            b = MN_LAT_BINS - 1;
        owner_inc(&pp->st.lat_bins[b], 1);
        owner_inc(&pp->st.lat_sum_ns, d);
    }
    gp->m = mp;
    mp->curg = gp;
#ifdef MN_SAN
    if (gp->sp == mn_sched->boot_sp)
        stackbind(pp, gp);
#endif
    MN_TRACE(MN_EV_G_START, pp->id, gp->goid, 0);
    (void)san_swap(&mp->g0_sp, gp->sp, mp, NULL, gp, false);
}

/* schedule - one round of the scheduler: pick the next G and run it (Go's schedule()). */
static void schedule(struct mn_m *mp)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *gp = NULL;
    bool inherit = false;
    struct mn_p *pp = mp->p;
    if (ld_sc(&s->gcwaiting)) {
        gcstopm(mp);
        pp = mp->p;
    }
    if (ld_sc(&s->exiting))
        mexit(mp);
    if (ld_relaxed(&s->timer_next) != UINT64_MAX)
        checktimers(pp, mn_nanotime());
    /* Fairness (Go's inheritTime, mn.h "Fairness"): a G taken from runnext inherits the
     * time slice, and schedtick counts slices, not picks.  Two Gs that keep readying each
     * other (or a chain of spawns) would otherwise hold one slice forever and starve the
     * local and global queues: Go ends such a slice by preempting after 10 ms; we end it
     * at the next switch after MN_SLICE_PICKS inherited picks, or once sysmon has seen
     * the slice last MN_SLICE_NS and set pp->preempt.  The runnext G then goes to the
     * tail, the global queue is polled, and the head of the local queue runs. */
    bool expired = pp->inherits >= MN_SLICE_PICKS || ld_relaxed(&pp->preempt);
    if (mn_unlikely(expired)) {
        pp->inherits = 0;
        st_relaxed(&pp->preempt, 0);
        owner_inc(&pp->st.slice_ends, 1);
        struct mn_g *next = ld_relaxed(pp->runnext);
        if (next && cas_sc(pp->runnext, next, NULL))
            runqput(pp, next, false);
    }
    /* Every 61st slice (and at the end of an inherited one) look at the global queue
     * first, so it is not starved by Gs that keep the local queue busy (Go). */
    if ((expired || pp->schedtick % 61 == 0) && ld_sc(&s->runqsize) > 0) {
        mn_lock(&s->lock);
        gp = globrunqget(pp, 1);
        mn_unlock(&s->lock);
    }
    if (!gp)
        gp = runqget(pp, &inherit);
    if (!gp)
        gp = findrunnable(mp, &inherit);
    if (mp->spinning)
        resetspinning(mp);
    execute(mp, gp, inherit);
}

/* ==== The g0 loop and the switches to it (Go's mcall and what park_m etc. do) ============= */

/* mcall - switch from gp to its M's g0, which performs op for it.  Returns when gp is
 * resumed, possibly on another M.  Called on gp. */
static void finish_switch(struct mn_m *mp);

static MN_NOINLINE void mcall(struct mn_g *gp, int op)
{
    struct mn_m *mp = gp->m;
    if (gp->canary_check)
        mn_check_canary(gp);
    mp->op = op;
    /* resumed by execute (g0) or by a direct switch, maybe on another M */
    finish_switch(san_swap(&gp->sp, mp->g0_sp, mp, gp, NULL, op == MN_OP_GOEXIT));
}

/* ==== Direct switches (the switch fast path; essay: "Direct switches") ==================== */

/* direct_ok - whether the running G's P may pick the next G itself, on the G's stack,
 * instead of passing through g0's schedule(): true when schedule() would have nothing to
 * do before taking the head of the local runq (no stop-the-world or exit pending, no timer
 * armed, no tracing or latency stamps, the slice not expired, not a 61st tick with Gs on
 * the global queue).  Keep in step with schedule(); switch_to keeps in step with
 * execute(). */
static inline bool direct_ok(struct mn_sched *s, struct mn_p *pp)
{
    if (mn_unlikely(ld_relaxed(&s->nodirect))) /* gcwaiting, exiting, trace, latency */
        return false;
    if (ld_relaxed(&s->timer_next) != UINT64_MAX)
        return false;
    /* the slice has expired (schedule()'s fairness bound): schedule() ends it */
    MN_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slice_word: inherits low");
    if (mn_unlikely(ld_relaxed(&pp->slice_word) > MN_SLICE_PICKS - 1)) /* inherits, preempt */
        return false;
    return ld_relaxed(&s->runqsize) == 0 || pp->schedtick % 61 != 0;
}

/* finish_switch - first thing a G does when resumed or started: what the G that switched
 * to it directly left for after its context was saved (mp->dfr_op).  A no-op when g0 ran
 * the G (execute), which finishes everything before it switches. */
static MN_NOINLINE void finish_switch_slow(struct mn_m *mp, int op, struct mn_g *prev)
{
    if (op == MN_DFR_UNLOCK) {
        void (*f)(void *) = mp->unlockf;
        mp->unlockf = NULL;
        if (f)
            f(mp->unlockarg);
    } else {
        san_gdestroy(prev); /* its last switch is done: drop its TSan fiber */
        mn_gfree(mp->p, prev);
    }
}

static inline __attribute__((always_inline)) void finish_switch(struct mn_m *mp)
{
    int op = mp->dfr_op;
    if (mn_likely(op == MN_DFR_NONE))
        return;
    struct mn_g *prev = mp->dfr_g;
    mp->dfr_op = MN_DFR_NONE;
    if (op == MN_DFR_RUNQPUT) {
        runqput(mp->p, prev, false);
    } else { /* MN_DFR_UNLOCK, MN_DFR_GFREE */
        finish_switch_slow(mp, op, prev);
    }
}

/* switch_prep - execute()'s bookkeeping for next, taken from mp's P's runq, before a
 * direct switch to it (switch_to, switch_to_unlock). */
static inline __attribute__((always_inline)) void switch_prep(struct mn_m *mp, struct mn_g *next,
                                                              bool inherit)
{
    struct mn_p *pp = mp->p;
    /* next came off our own runq, so it is RUNNABLE by construction: the store needs no
     * check (the slow path keeps mn_casgstatus's) */
    st_rel(&next->status, MN_GRUNNING);
    slice_account(pp, next, inherit);
    next->m = mp;
    mp->curg = next;
#ifdef MN_SAN
    if (next->sp == mn_sched->boot_sp) /* the sanitizers must see the stack before the swap */
        stackbind(pp, next);
#endif
}

/* switch_to - leave gp (already moved to its new status, with mp->dfr_op saying what is
 * left to do for it) and run next, taken from mp's P's runq, on this M: execute()'s work
 * without g0.  Returns when gp is resumed (maybe on another M). */
static inline __attribute__((always_inline)) void switch_to(struct mn_m *mp, struct mn_g *gp,
                                                            struct mn_g *next, bool inherit)
{
    switch_prep(mp, next, inherit);
    finish_switch(san_swap(&gp->sp, next->sp, mp, gp, next, mp->dfr_op == MN_DFR_GFREE));
}

#ifndef MN_SAN
/* switch_to_unlock - switch_to for a G parking on a spin lock: the swap itself releases
 * the lock once gp is saved and off its stack (mn_ctx_swap_unlock), where switch_to would
 * leave it to next through mp->dfr_op.  Not in the sanitizer builds, whose TSan would not
 * see that release (they take the dfr_op path). */
static inline __attribute__((always_inline)) void
switch_to_unlock(struct mn_m *mp, struct mn_g *gp, struct mn_g *next, bool inherit, uint32_t *lock)
{
    switch_prep(mp, next, inherit);
    finish_switch(mn_ctx_swap_unlock(&gp->sp, next->sp, mp, lock));
}
#endif

static void goexit0(struct mn_m *mp, struct mn_g *gp);

/* after_switch - on g0: finish what the G asked for in mcall.  gp is fully saved. */
static void after_switch(struct mn_m *mp)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *gp = mp->curg;
    int op = mp->op;
    mp->op = MN_OP_NONE;
    mp->curg = NULL;
    if (mp->p)
        st_relaxed(&mp->p->curgoid, 0);
    switch (op) {
    case MN_OP_PARK: {
        void (*f)(void *) = mp->unlockf;
        mp->unlockf = NULL;
        owner_inc(&mp->p->st.parks, 1);
        MN_TRACE(MN_EV_G_BLOCK, mp->p->id, gp->goid, 0);
        mn_casgstatus(gp, MN_GRUNNING, MN_GWAITING);
        if (f)
            f(mp->unlockarg);
        break;
    }
    case MN_OP_GOSCHED:
        /* Go's goschedImpl puts the G on the global queue under sched.lock.  We put it at
         * the tail of the local runq instead, which keeps the switch path free of locks;
         * other Ps can still steal it, and the 61-tick global check keeps the
         * global queue from starving. */
        MN_TRACE(MN_EV_G_YIELD, mp->p->id, gp->goid, 0);
        mn_casgstatus(gp, MN_GRUNNING, MN_GRUNNABLE);
        gp->ready_ns = lat_stamp();
        runqput(mp->p, gp, false);
        break;
    case MN_OP_GOEXIT:
        goexit0(mp, gp);
        break;
    case MN_OP_EXITSYSCALL: {
        /* exitsyscall0: no P was free when the G left its syscall. */
        mn_casgstatus(gp, MN_GSYSCALL, MN_GRUNNABLE);
        gp->ready_ns = lat_stamp();
        mn_lock(&s->lock);
        struct mn_p *pp = s->gcwaiting ? NULL : pidleget();
        if (!pp)
            globrunqput(gp);
        mn_unlock(&s->lock);
        if (pp) {
            acquirep(mp, pp);
            execute(mp, gp, false);
            after_switch(mp);
            return;
        }
        stopm(mp);
        break;
    }
    default:
        mn_throw("after_switch: bad op %d", op);
    }
}

/* mstart - body of every M thread: the g0 loop. */
static void *mstart(void *arg)
{
    struct mn_m *mp = arg;
    tls_m = mp;
#ifdef MN_TSAN
    mp->san_fiber = __tsan_get_current_fiber();
#endif
    char name[16];
    snprintf(name, sizeof name, "mn-M%d", mp->id);
    prctl(PR_SET_NAME, name);
    (void)mn_m_altstack(mp);
    struct mn_p *pp = mp->nextp;
    mp->nextp = NULL;
    acquirep(mp, pp);
    for (;;) {
        schedule(mp);
        after_switch(mp);
    }
    return NULL;
}

/* ==== G lifecycle: spawn, exit, park, ready, yield ======================================== */

static void gostart(struct mn_g *gp)
{
#ifdef MN_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL); /* first entry: no fake stack yet */
#endif
    finish_switch(gp->m); /* started by execute or by a direct switch */
    gp->fn(gp->arg);
    mn_goexit();
}

void mn_goexit(void)
{
    struct mn_g *gp = mn_getg_entry();
    if (!gp)
        mn_throw("mn_goexit: not on a G");
    struct mn_m *mp = gp->m;
    struct mn_p *pp = mp->p;
    struct mn_g *next;
    bool inherit;
    /* the main G is MN_STK_PRIVATE too; goexit0 tells the world it ended */
    if (gp->stack_kind != MN_STK_PRIVATE && !gp->canary_check && direct_ok(mn_sched, pp) &&
        (next = runqget(pp, &inherit)) != NULL) {
        /* goexit0 without g0: the next G frees gp once gp's stack is left.  gp is the
         * running G: RUNNING by construction. */
        st_rel(&gp->status, MN_GDEAD);
        owner_inc(&pp->st.g_exits, 1);
        gp->m = NULL;
        mp->dfr_op = MN_DFR_GFREE;
        mp->dfr_g = gp;
        switch_to(mp, gp, next, inherit);
        mn_throw("mn_goexit: dead G resumed");
    }
    mcall(gp, MN_OP_GOEXIT);
    mn_throw("mn_goexit: dead G resumed");
}

static void goexit0(struct mn_m *mp, struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    struct mn_p *pp = mp->p;
    MN_TRACE(MN_EV_G_END, pp->id, gp->goid, 0);
    mn_casgstatus(gp, MN_GRUNNING, MN_GDEAD);
    owner_inc(&pp->st.g_exits, 1);
    gp->m = NULL;
    san_gdestroy(gp);
    if (gp->is_main) {
        mn_lock(&s->lock);
        st_sc(&s->exiting, 1);
        __atomic_fetch_or(&s->nodirect, MN_NODIRECT_EXIT, __ATOMIC_SEQ_CST);
        /* wake every idle M so that it exits */
        struct mn_m *m;
        while ((m = mget()) != NULL)
            mn_notewakeup(&m->park);
        mn_unlock(&s->lock);
        sysmon_wake(s);
        mn_notewakeup(&s->main_done);
        return; /* main G's block is freed by mn_fini */
    }
    if (gp->canary_check)
        mn_check_canary(gp);
    mn_gfree(pp, gp);
}

struct galloc_args {
    struct mn_p *pp;
    struct mn_g *gp;
    int rc;
};

static void galloc1(void *arg)
{
    struct galloc_args *a = arg;
    a->rc = mn_galloc(a->pp, &a->gp);
}

/* newg - a G ready to run fn(arg), with an id; not yet queued. */
static int newg(struct mn_p *pp, void (*fn)(void *), void *arg, struct mn_g **out)
{
    struct mn_sched *s = mn_sched;
    struct mn_g *gp = NULL;
    if (s->cfg.reuse_g && pp)
        gp = mn_gfget(pp);
    if (!gp) { /* reused Gs are counted as spawns - g_allocs (mn_stats_read) */
        struct galloc_args a = {pp, NULL, 0};
        systemstack(galloc1, &a); /* may map a new arena: deep for a small stack */
        if (a.rc)
            return a.rc;
        gp = a.gp;
        if (pp)
            owner_inc(&pp->st.g_allocs, 1);
    }
    gp->fn = fn;
    gp->arg = arg;
    /* a private G has its stack already; a pooled one gets it when it first runs: its
     * first switch lands in the boot frame (mn_gboot) */
    if (gp->stack_kind == MN_STK_PRIVATE)
        gp->sp = mn_ctx_make(gp->stack_hi, gostart, gp, s->mxcsr_fpucw);
    else
        gp->sp = s->boot_sp;
    san_gcreate(gp);
    if (pp) {
        if (pp->goidcache == pp->goidcacheend) {
            pp->goidcache = xadd(&s->goidgen, 16) - 15;
            pp->goidcacheend = pp->goidcache + 16;
        }
        gp->goid = pp->goidcache++;
    }
    st_rel(&gp->status, MN_GRUNNABLE);
    *out = gp;
    return 0;
}

int mn_go(void (*fn)(void *), void *arg)
{
    struct mn_g *cur = mn_getg_entry();
    if (!cur)
        return -EPERM;
    struct mn_p *pp = cur->m->p;
    struct mn_g *gp;
    int rc = newg(pp, fn, arg, &gp);
    if (rc)
        return rc;
    owner_inc(&pp->st.spawns, 1);
    MN_TRACE(MN_EV_G_CREATE, pp->id, gp->goid, (int64_t)cur->goid);
    if (mn_unlikely(mn_sched->cfg.sched_latency)) /* else 0: execute zeroes it after use */
        gp->ready_ns = mn_nanotime();
    runqput(pp, gp, true);
    rc = wakep();
    if (mn_unlikely(rc < 0)) {
        /* No M could be started.  If gp is still in our runnext, take it back so the
         * caller sees a clean failure; otherwise it is already queued and will run. */
        if (cas_sc(pp->runnext, gp, NULL)) {
            st_rel(&gp->status, MN_GRUNNING);
            mn_casgstatus(gp, MN_GRUNNING, MN_GDEAD);
            owner_inc(&pp->st.g_exits, 1);
            san_gdestroy(gp);
            mn_gfree(pp, gp);
            return rc;
        }
    }
    return 0;
}

/* mn_goready_ret, mn_goready_kick, mn_wakep_ret, mn_goready_badstatus - the cold parts of
 * mn_goready_by (runtime2.h). */
int mn_goready_ret(struct mn_g *gp)
{
    mn_goready(gp);
    return 0;
}

int mn_goready_kick(struct mn_p *pp, struct mn_g *old)
{
    runqput(pp, old, false);
    if (ld_sc(&mn_sched->npidle) != 0)
        (void)wakep();
    return 0;
}

int mn_wakep_ret(void)
{
    (void)wakep();
    return 0;
}

void mn_goready_badstatus(struct mn_g *gp)
{
    mn_casgstatus(gp, MN_GWAITING, MN_GRUNNABLE); /* throws: gp is not WAITING */
    mn_throw("goready: G %lu is not waiting", (unsigned long)gp->goid);
}

static void unlock_spin_cb(void *w)
{
    mn_spin_unlock(w);
}

/* gopark - mn_gopark's body, inlined into both entry points.  spin: unlockf(arg) is
 * mn_spin_unlock(arg), which the direct switch does with one store in the swap. */
static inline __attribute__((always_inline)) void gopark(struct mn_g *gp, void (*unlockf)(void *),
                                                         void *arg, bool spin)
{
    struct mn_m *mp = gp->m;
    struct mn_p *pp = mp->p;
    struct mn_g *next;
    bool inherit;
    struct mn_sched *s = mn_sched;
    if (!gp->canary_check && direct_ok(s, pp) &&
        (next = ld_relaxed(&s->gomaxprocs) == 1 ? runqget_solo(pp, &inherit)
                                                : runqget(pp, &inherit)) != NULL) {
        /* park_m without g0: gp is WAITING now, but stays unreachable to wakers until its
         * wait lock is released after gp's context is saved: by the swap (a spin lock) or
         * by next (unlockf, finish_switch) */
        owner_inc(&pp->st.parks, 1);
        st_rel(&gp->status, MN_GWAITING); /* the running G: RUNNING by construction */
#ifndef MN_SAN
        if (spin) {
            switch_to_unlock(mp, gp, next, inherit, arg);
            return;
        }
#else
        (void)spin;
#endif
        mp->unlockf = unlockf;
        mp->unlockarg = arg;
        mp->dfr_op = MN_DFR_UNLOCK;
        mp->dfr_g = gp;
        switch_to(mp, gp, next, inherit);
        return;
    }
    mp->unlockf = unlockf;
    mp->unlockarg = arg;
    mcall(gp, MN_OP_PARK);
}

void mn_gopark_spin(struct mn_g *gp, uint32_t *lock)
{
    gopark(gp, unlock_spin_cb, lock, true);
}

/* mn_gopark - park gp (status WAITING) and run the scheduler; unlockf(arg) runs on g0 after
 * gp's context is saved, so a waker that takes the same lock sees a parked G.  Returns when
 * mn_goready(gp) has been called and gp is scheduled again.  Called on gp. */
void mn_gopark(struct mn_g *gp, void (*unlockf)(void *), void *arg)
{
    gopark(gp, unlockf, arg, false);
}

/* mn_goready - make a WAITING gp runnable: into the caller's runnext when the caller runs
 * on a P (Go's ready), else onto the global queue; then wakep.  Any thread. */
void mn_goready(struct mn_g *gp)
{
    struct mn_sched *s = mn_sched;
    struct mn_m *mp = mn_tls_m; /* no switch in here: the inlined TLS read is safe */
    mn_casgstatus(gp, MN_GWAITING, MN_GRUNNABLE);
    gp->ready_ns = lat_stamp();
    if (mp && mp->p && mp->curg) {
        struct mn_p *pp = mp->p;
        MN_TRACE(MN_EV_G_UNBLOCK, pp->id, gp->goid, 0);
        /* runqput(pp, gp, true) with the runnext exchange inline */
        struct mn_g *old = xchg(pp->runnext, gp);
        if (old)
            runqput(pp, old, false);
    } else {
        MN_TRACE(MN_EV_G_UNBLOCK, -1, gp->goid, 0);
        mn_lock(&s->lock);
        globrunqput(gp);
        mn_unlock(&s->lock);
    }
    (void)wakep();
}

void mn_gosched(void)
{
    struct mn_m *mp = mn_tls_m; /* entry: no switch yet (mn_getg_entry) */
    struct mn_g *gp = mp ? mp->curg : NULL;
    if (!gp)
        return;
    struct mn_p *pp = mp->p;
    struct mn_g *next;
    bool inherit;
    if (!gp->canary_check && direct_ok(mn_sched, pp) && (next = runqget(pp, &inherit)) != NULL) {
        /* goschedImpl without g0: next puts gp at the runq's tail once gp is saved.  gp
         * is the running G, so RUNNING by construction. */
        st_rel(&gp->status, MN_GRUNNABLE);
        mp->dfr_op = MN_DFR_RUNQPUT;
        mp->dfr_g = gp;
        switch_to(mp, gp, next, inherit);
        return;
    }
    mcall(gp, MN_OP_GOSCHED);
}

uint64_t mn_goid(void)
{
    struct mn_g *gp = mn_getg();
    return gp ? gp->goid : 0;
}

int64_t mn_numgoroutine(void)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return 0;
    int64_t n = ld_relaxed(&s->ran) && !ld_relaxed(&s->exiting) ? 1 : 0; /* main G */
    for (int i = 0; i < s->nallp; i++) {
        struct mn_p *pp = s->allp[i];
        n += (int64_t)(ld_relaxed(&pp->st.spawns) - ld_relaxed(&pp->st.g_exits));
    }
    return n;
}

/* ==== Syscalls (Go's entersyscall / exitsyscall) ========================================== */

void mn_syscall_enter(void)
{
    struct mn_g *gp = mn_getg();
    if (!gp)
        return;
    struct mn_sched *s = mn_sched;
    struct mn_m *mp = gp->m;
    struct mn_p *pp = mp->p;
    st_relaxed(&pp->syscalltick, pp->syscalltick + 1); /* sysmon reads it */
    mn_casgstatus(gp, MN_GRUNNING, MN_GSYSCALL);
    xadd(&s->nmsys, 1);
    mp->oldp = pp;
    mp->p = NULL;
    pp->m = NULL;
    st_sc(&pp->status, MN_PSYSCALL);
    if (ld_sc(&s->sysmon_sleeping))
        sysmon_wake(s);
    if (ld_sc(&s->gcwaiting)) {
        /* a stop-the-world is waiting for this P */
        mn_lock(&s->lock);
        if (cas_sc(&pp->status, MN_PSYSCALL, MN_PGCSTOP))
            stopwait_done(s);
        mn_unlock(&s->lock);
    }
}

void mn_syscall_exit(void)
{
    struct mn_g *gp = mn_getg();
    if (!gp)
        return;
    struct mn_sched *s = mn_sched;
    struct mn_m *mp = gp->m;
    struct mn_p *oldp = mp->oldp;
    mp->oldp = NULL;
    xadd(&s->nmsys, -1);
    /* fast path: our P was not retaken */
    if (oldp && cas_sc(&oldp->status, MN_PSYSCALL, MN_PIDLE)) {
        acquirep(mp, oldp);
        mn_casgstatus(gp, MN_GSYSCALL, MN_GRUNNING);
        return;
    }
    /* second chance: an idle P */
    if (!ld_sc(&s->gcwaiting) && ld_sc(&s->npidle) > 0) {
        mn_lock(&s->lock);
        struct mn_p *pp = s->gcwaiting ? NULL : pidleget();
        mn_unlock(&s->lock);
        if (pp) {
            acquirep(mp, pp);
            mn_casgstatus(gp, MN_GSYSCALL, MN_GRUNNING);
            return;
        }
    }
    mcall(gp, MN_OP_EXITSYSCALL);
}

/* ==== Timers ============================================================================== */

static void timer_siftdown(struct mn_timer *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < n && h[l].when < h[m].when)
            m = l;
        if (l + 1 < n && h[l + 1].when < h[m].when)
            m = l + 1;
        if (m == i)
            return;
        struct mn_timer t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* checktimers - ready every G whose sleep has ended.  pp: the P of the calling M (on g0,
 * from schedule or findrunnable), whose runnext gets the Gs so that they run next, as Go's
 * checkTimers readies them on the P running the timers; NULL (sysmon): the global queue. */
static void checktimers(struct mn_p *pp, uint64_t now)
{
    struct mn_sched *s = mn_sched;
    if (now < ld_relaxed(&s->timer_next))
        return;
    struct mn_g *ready = NULL;
    mn_lock(&s->timerlock);
    while (s->ntimers > 0 && s->timers[0].when <= now) {
        struct mn_g *gp = s->timers[0].gp;
        s->timers[0] = s->timers[--s->ntimers];
        timer_siftdown(s->timers, s->ntimers, 0);
        gp->schedlink = ready;
        ready = gp;
    }
    st_relaxed(&s->timer_next, s->ntimers ? s->timers[0].when : UINT64_MAX);
    mn_unlock(&s->timerlock);
    bool any = ready != NULL;
    while (ready) {
        struct mn_g *gp = ready;
        ready = gp->schedlink;
        if (pp) {
            mn_casgstatus(gp, MN_GWAITING, MN_GRUNNABLE);
            gp->ready_ns = lat_stamp();
            MN_TRACE(MN_EV_G_UNBLOCK, pp->id, gp->goid, 0);
            runqput(pp, gp, true);
        } else {
            mn_goready(gp);
        }
        xadd(&s->timers_pending, -1);
    }
    if (pp && any)
        (void)wakep();
}

static void unlock_timers(void *arg)
{
    mn_unlock(arg);
}

void mn_sleep_ns(uint64_t ns)
{
    struct mn_g *gp = mn_getg();
    if (!gp) {
        struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return;
    }
    struct mn_sched *s = mn_sched;
    uint64_t when = mn_nanotime() + ns;
    mn_lock(&s->timerlock);
    if (s->ntimers == s->timercap) {
        int cap = s->timercap ? 2 * s->timercap : 64;
        struct mn_timer *t = realloc(s->timers, (size_t)cap * sizeof *t);
        if (!t)
            mn_throw("mn_sleep_ns: out of memory for timers");
        s->timers = t;
        s->timercap = cap;
    }
    int i = s->ntimers++;
    s->timers[i] = (struct mn_timer){when, gp};
    while (i > 0 && s->timers[(i - 1) / 2].when > s->timers[i].when) {
        struct mn_timer t = s->timers[i];
        s->timers[i] = s->timers[(i - 1) / 2];
        s->timers[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    bool earliest = s->timers[0].when == when;
    st_sc(&s->timer_next, s->timers[0].when); /* before the flag's load: sysmon pairs */
    xadd(&s->timers_pending, 1);
    /* sysmon sleeps until the next timer: wake it when this one is earlier */
    if (earliest && ld_sc(&s->sysmon_sleeping))
        sysmon_wake(s);
    mn_gopark(gp, unlock_timers, &s->timerlock);
}

/* ==== sysmon (Go's sysmon: retake Ps from syscalls, fire timers, schedtrace) ================ */

static void schedtrace(uint64_t now);

/* sysmon_wake - wake sysmon from its sleep; idempotent (any number of wakers). */
static void sysmon_wake(struct mn_sched *s)
{
    if (xchg(&s->sysmon_note.key, 1) == 0)
        mn_futex_wake(&s->sysmon_note.key, 1);
}

static void retake(uint64_t now)
{
    struct mn_sched *s = mn_sched;
    int n = ld_sc(&s->gomaxprocs);
    for (int i = 0; i < n; i++) {
        struct mn_p *pp = s->allp[i];
        if (ld_sc(&pp->status) != MN_PSYSCALL)
            continue;
        uint32_t t = ld_relaxed(&pp->syscalltick);
        if (pp->sysmontick != t) {
            pp->sysmontick = t;
            pp->sysmonwhen = now;
            continue;
        }
        /* Go: leave the P alone if it has no work and others can take work anyway, unless
         * the syscall has lasted 10 ms. */
        if (runqempty(pp) && ld_sc(&s->nmspinning) + ld_sc(&s->npidle) > 0 &&
            now - pp->sysmonwhen < 10000000)
            continue;
        if (now - pp->sysmonwhen < 20000)
            continue;
        if (cas_sc(&pp->status, MN_PSYSCALL, MN_PIDLE)) {
            xadd(&s->handoffs, 1);
            handoffp(pp);
        }
    }
}

/* sysmon_slices - the time half of the fairness bound (mn.h "Fairness"), from Go's
 * retake/preemptone: a P whose slice (schedtick) has lasted MN_SLICE_NS gets pp->preempt,
 * which ends the slice at its next switch.  A P whose G has made no switch at all for
 * MN_HOLD_NS cannot be preempted (cooperative): it is counted once in long_holds and,
 * with hold_warn_ms, reported once on stderr. */
static void sysmon_slices(uint64_t now)
{
    struct mn_sched *s = mn_sched;
    int n = ld_sc(&s->gomaxprocs);
    for (int i = 0; i < n; i++) {
        struct mn_p *pp = s->allp[i];
        if (ld_sc(&pp->status) != MN_PRUNNING) {
            pp->sysmon_pickwhen = pp->sysmon_slicewhen = now;
            continue;
        }
        uint32_t t = ld_relaxed(&pp->schedtick);
        if (t != pp->sysmon_schedtick) {
            pp->sysmon_schedtick = t;
            pp->sysmon_slicewhen = now;
        } else if (now - pp->sysmon_slicewhen >= MN_SLICE_NS && !ld_relaxed(&pp->preempt)) {
            st_relaxed(&pp->preempt, 1);
            xadd(&s->preempt_reqs, 1);
            pp->sysmon_slicewhen = now;
        }
        uint64_t k = ld_relaxed(&pp->st.schedticks);
        uint64_t goid = ld_relaxed(&pp->curgoid);
        if (k != pp->sysmon_picks || goid == 0) {
            pp->sysmon_picks = k;
            pp->sysmon_pickwhen = now;
            pp->sysmon_held = 0;
            continue;
        }
        uint64_t held = now - pp->sysmon_pickwhen;
        if (held >= MN_HOLD_NS && !(pp->sysmon_held & 1)) {
            pp->sysmon_held |= 1;
            xadd(&s->long_holds, 1);
        }
        if (s->cfg.hold_warn_ms > 0 && !(pp->sysmon_held & 2) &&
            held >= (uint64_t)s->cfg.hold_warn_ms * 1000000) {
            pp->sysmon_held |= 2;
            fprintf(stderr,
                    "mn: warning: G %llu has held P %d for %llu ms without a switch (no "
                    "preemption: Gs queued on this P wait until it blocks or yields)\n",
                    (unsigned long long)goid, pp->id, (unsigned long long)(held / 1000000));
        }
    }
}

static void *sysmon(void *arg)
{
    struct mn_sched *s = arg;
    prctl(PR_SET_NAME, "mn-sysmon");
    uint64_t delay = 20000, idle = 0; /* ns; Go: 20 us, doubling after 50 idle rounds, max 10 ms */
    uint64_t next_trace = s->cfg.schedtrace_ms ? mn_nanotime() : UINT64_MAX;
    while (!ld_sc(&s->exiting)) {
        uint64_t now = mn_nanotime();
        uint64_t wait = delay;
        uint64_t tn = ld_relaxed(&s->timer_next);
        if (tn != UINT64_MAX)
            wait = tn > now ? (tn - now < wait ? tn - now : wait) : 0;
        if (next_trace != UINT64_MAX)
            wait = next_trace > now ? (next_trace - now < wait ? next_trace - now : wait) : 0;
        if (wait > 0) {
            bool deep = delay >= 1000000;
            if (deep) {
                st_sc(&s->sysmon_sleeping, 1);
                /* A timer added after tn was read saw sysmon_sleeping 0 and woke nobody:
                 * read timer_next again after publishing the flag (mn_sleep_ns stores it
                 * st_sc before it loads the flag), so the sleep ends at that timer, not a
                 * whole period (up to 10 ms) later. */
                uint64_t tn2 = ld_sc(&s->timer_next);
                if (tn2 != tn) {
                    uint64_t now2 = mn_nanotime();
                    wait = tn2 <= now2 ? 0 : (tn2 - now2 < wait ? tn2 - now2 : wait);
                }
            }
            if (wait > 0 && mn_notetsleep(&s->sysmon_note, (int64_t)wait)) {
                mn_noteclear(&s->sysmon_note);
                delay = 20000;
                idle = 0;
            }
            if (deep)
                st_sc(&s->sysmon_sleeping, 0);
        }
        if (ld_sc(&s->exiting))
            break;
        now = mn_nanotime();
        if (ld_relaxed(&s->timer_next) <= now)
            checktimers(NULL, now);
        uint64_t h0 = ld_relaxed(&s->handoffs);
        if (ld_sc(&s->nmsys) > 0 && !ld_sc(&s->gcwaiting))
            retake(now);
        if (!ld_sc(&s->gcwaiting))
            sysmon_slices(now);
        if (ld_relaxed(&s->deadcheck)) {
            mn_lock(&s->lock);
            checkdead();
            mn_unlock(&s->lock);
        }
        if (ld_sc(&s->nmsys) > 0 || ld_relaxed(&s->handoffs) != h0) {
            delay = 20000;
            idle = 0;
        } else if (++idle > 50 && delay < 10000000) {
            delay *= 2;
        }
        if (now >= next_trace) {
            schedtrace(now);
            next_trace = now + (uint64_t)s->cfg.schedtrace_ms * 1000000;
        }
    }
    return NULL;
}

/* schedtrace - print Go's GODEBUG=schedtrace line to stderr, in the format of Go 1.19 (the
 * Go peer the suite compares with, Debian 12's golang-go; proc.go schedtrace):
 * SCHED <t>ms: gomaxprocs= idleprocs= threads= spinningthreads= idlethreads= runqueue=
 * [<runq length of each P>].  Go 1.21 added needspinning= after spinningthreads=; it is
 * left out so that a parser of the peer's lines reads ours. */
static void schedtrace(uint64_t now)
{
    struct mn_stats st;
    if (mn_stats_read(&st) != 0)
        return;
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
                     "SCHED %llums: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
                     "idlethreads=%d runqueue=%lld [",
                     (unsigned long long)((now - mn_sched->start_ns) / 1000000), st.gomaxprocs,
                     st.idle_ps, st.ms + 1, st.spinning_ms, st.idle_ms, (long long)st.globrunq_len);
    for (int i = 0; i < st.gomaxprocs && n < (int)sizeof buf - 16; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, i ? " %u" : "%u", st.runq_len[i]);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "]\n");
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
}

/* ==== Stop the world and procresize (Go's stopTheWorld / procresize / startTheWorld) ====== */

static struct mn_p *palloc(int id, int pad);

/* pad_norm - the P layout a pad_runq value selects: 0 (packed, as Go), 64 (1 is an alias
 * for 64, "on") or 128 bytes between runqhead and runqtail; -1 for any other value.  The one
 * place that reads cfg.pad_runq / MN_PAD_RUNQ / mn_x_p_* pad arguments. */
static int pad_norm(int pad)
{
    if (pad == 1)
        return 64;
    return pad == 0 || pad == 64 || pad == 128 ? pad : -1;
}

static void p_init(struct mn_p *pp, int id, int pad)
{
    memset(pp, 0, sizeof *pp);
    pp->id = id;
    pp->pad = pad;
    switch (pad) {
    case 0:
        pp->runqhead = &pp->rq.packed.head;
        pp->runqtail = &pp->rq.packed.tail;
        pp->runq = pp->rq.packed.runq;
        pp->runnext = &pp->rq.packed.runnext;
        break;
    case 64:
        pp->runqhead = &pp->rq.pad64.head;
        pp->runqtail = &pp->rq.pad64.tail;
        pp->runq = pp->rq.pad64.runq;
        pp->runnext = &pp->rq.pad64.runnext;
        break;
    default:
        pp->runqhead = &pp->rq.pad128.head;
        pp->runqtail = &pp->rq.pad128.tail;
        pp->runq = pp->rq.pad128.runq;
        pp->runnext = &pp->rq.pad128.runnext;
        break;
    }
    pp->cpu = -1;
}

static int allowed_cpus(int *cpus, int max)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        cpus[0] = 0;
        return 1;
    }
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n ? n : 1;
}

/* palloc - a new P.  Each P gets its own page-aligned mapping, so that with numa_local
 * its pages can be bound to its node before anything touches them (a heap block would
 * share pages with other data).  Freed by pfree. */
static struct mn_p *palloc(int id, int pad)
{
    int cpus[MN_MAX_PROCS];
    int n = allowed_cpus(cpus, MN_MAX_PROCS);
    int cpu = cpus[id % n];
    int node = mn_numa_node_of_cpu(cpu);
    void *mem =
        mmap(NULL, sizeof(struct mn_p), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    if (mn_sched->cfg.numa_local)
        (void)mn_numa_bind(mem, sizeof(struct mn_p), node, false); /* best effort */
    struct mn_p *pp = mem;
    p_init(pp, id, pad);
    pp->cpu = cpu;
    pp->node = node;
    return pp;
}

static void pfree(struct mn_p *pp)
{
    munmap(pp, sizeof(struct mn_p));
}

/* procresize - change the number of Ps to n with the world stopped and sched.lock held.
 * Gs queued on Ps beyond n move to the global queue (runnext first, then in order, at the
 * head), their free Gs to the global free list.  The caller keeps its P if it survives,
 * else takes P 0.  Returns the list of Ps that have work (linked by ->link). */
static struct mn_p *procresize(struct mn_m *mp, int n)
{
    struct mn_sched *s = mn_sched;
    int old = s->gomaxprocs;
    for (int i = s->nallp; i < n; i++) {
        s->allp[i] = palloc(i, s->cfg.pad_runq);
        if (!s->allp[i])
            mn_throw("procresize: out of memory");
        s->nallp = i + 1;
    }
    for (int i = old; i < n; i++)
        st_sc(&s->allp[i]->status, MN_PGCSTOP);
    for (int i = n; i < old; i++) {
        struct mn_p *pp = s->allp[i];
        bool inh;
        struct mn_g *gp;
        /* move queued Gs to the head of the global queue, keeping their order */
        struct mn_g *list[MN_RUNQ_SLOTS + 1];
        int k = 0;
        while ((gp = runqget(pp, &inh)) != NULL)
            list[k++] = gp;
        while (k > 0)
            globrunqputhead(list[--k]);
        mn_gfpurge(pp);
        st_sc(&pp->status, MN_PDEAD);
        pp->m = NULL;
    }
    st_sc(&s->gomaxprocs, n);
    for (int i = 0; i < n; i++)
        s->allp[i]->solo = n == 1; /* runqget: no thieves */
    if (mp->p && mp->p->id >= n) {
        mp->p->m = NULL;
        mp->p = NULL;
        acquirep(mp, s->allp[0]);
    } else if (mp->p) {
        st_sc(&mp->p->status, MN_PRUNNING);
    }
    /* the idle list may hold stale Ps; rebuild it */
    s->pidle = NULL;
    st_sc(&s->npidle, 0);
    struct mn_p *runnable = NULL;
    for (int i = n - 1; i >= 0; i--) {
        struct mn_p *pp = s->allp[i];
        if (mp->p == pp)
            continue;
        pp->m = NULL;
        if (runqempty(pp)) {
            pidleput(pp);
        } else {
            st_sc(&pp->status, MN_PIDLE);
            pp->link = runnable;
            runnable = pp;
        }
    }
    return runnable;
}

int mn_gomaxprocs(int n)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return -EINVAL;
    if (n < 0 || n > MN_MAX_PROCS)
        return -EINVAL;
    int old = ld_sc(&s->gomaxprocs);
    if (n == 0)
        return old;
    struct mn_g *gp = mn_getg();
    if (!gp)
        return -EPERM;
    mn_mutex_lock(&s->worldsema);
    old = s->gomaxprocs;
    if (n == old) {
        mn_mutex_unlock(&s->worldsema);
        return old;
    }
    struct mn_m *mp = gp->m;
    /* stopTheWorld */
    mn_lock(&s->lock);
    s->stopwait = s->gomaxprocs;
    st_sc(&s->gcwaiting, 1);
    __atomic_fetch_or(&s->nodirect, MN_NODIRECT_STW, __ATOMIC_SEQ_CST);
    st_sc(&mp->p->status, MN_PGCSTOP);
    s->stopwait--;
    for (int i = 0; i < s->gomaxprocs; i++) {
        struct mn_p *pp = s->allp[i];
        if (ld_sc(&pp->status) == MN_PSYSCALL && cas_sc(&pp->status, MN_PSYSCALL, MN_PGCSTOP))
            s->stopwait--;
    }
    struct mn_p *pp;
    while ((pp = pidleget()) != NULL) {
        st_sc(&pp->status, MN_PGCSTOP);
        s->stopwait--;
    }
    bool wait = s->stopwait > 0;
    mn_unlock(&s->lock);
    while (wait) {
        if (mn_notetsleep(&s->stopnote, 100000)) {
            mn_noteclear(&s->stopnote);
            break;
        }
        mn_lock(&s->lock);
        wait = s->stopwait > 0;
        mn_unlock(&s->lock);
    }
    mn_noteclear(&s->stopnote);
    /* the world is stopped: resize */
    mn_lock(&s->lock);
    struct mn_p *runnable = procresize(mp, n);
    st_sc(&s->gcwaiting, 0);
    __atomic_fetch_and(&s->nodirect, ~(uint32_t)MN_NODIRECT_STW, __ATOMIC_SEQ_CST);
    mn_unlock(&s->lock);
    xadd(&s->stw, 1);
    /* startTheWorld */
    while (runnable) {
        struct mn_p *p1 = runnable;
        runnable = p1->link;
        (void)startm(p1, false);
    }
    (void)wakep();
    mn_mutex_unlock(&s->worldsema);
    return old;
}

/* ==== Configuration and lifecycle ========================================================= */

static int env_long(const char *name, long lo, long hi, long *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 0);
    if (errno || *end || x < lo || x > hi) {
        fprintf(stderr, "mn: %s=%s: expected an integer in [%ld, %ld]\n", name, v, lo, hi);
        return -EINVAL;
    }
    *out = x;
    return 1;
}

int mn_config_init(struct mn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->reuse_g = true;
    cfg->stack_bytes = 64 * 1024;
    long v;
    int rc;
#define ENV(name, lo, hi, field)                                                                   \
    if ((rc = env_long(name, lo, hi, &v)) < 0)                                                     \
        return rc;                                                                                 \
    if (rc)                                                                                        \
        cfg->field = v;
    ENV("MN_GOMAXPROCS", 0, MN_MAX_PROCS, gomaxprocs);
    ENV("MN_PAD_RUNQ", 0, 128, pad_runq);
    if (pad_norm(cfg->pad_runq) < 0) {
        fprintf(stderr, "mn: MN_PAD_RUNQ=%s: expected 0 (packed, as Go), 64 or 128\n",
                getenv("MN_PAD_RUNQ"));
        return -EINVAL;
    }
    ENV("MN_BIND_P", 0, 1, bind_p);
    ENV("MN_REUSE_G", 0, 1, reuse_g);
    ENV("MN_STACK_BYTES", 16384, 1L << 30, stack_bytes);
    long page = sysconf(_SC_PAGESIZE);
    if (cfg->stack_bytes % (size_t)page) {
        fprintf(stderr, "mn: MN_STACK_BYTES=%s: expected a multiple of the page size (%ld)\n",
                getenv("MN_STACK_BYTES"), page);
        return -EINVAL;
    }
    ENV("MN_SMALL_STACKS", 0, 1, small_stacks);
    ENV("MN_NUMA_LOCAL", 0, 1, numa_local);
    ENV("MN_SCHED_LATENCY", 0, 1, sched_latency);
    ENV("MN_SCHEDTRACE", 0, 3600000, schedtrace_ms);
    ENV("MN_HOLD_WARN_MS", 0, 3600000, hold_warn_ms);
#undef ENV
    const char *t = getenv("MN_TRACE");
    if (t && *t)
        cfg->trace_path = t;
    return 0;
}

int mn_config_get(struct mn_config *out)
{
    if (!mn_sched)
        return -EINVAL;
    *out = mn_sched->cfg;
    return 0;
}

/* prebind - resolve, on this thread's big stack, the libc entry points Gs reach through
 * the runtime.  With lazy binding the first call of each goes through the dynamic
 * linker's resolver, which saves the whole vector register state (about 2.7 KiB with
 * AVX-512) on the calling stack: more than a 2 KiB small stack holds.  Programs that run
 * their own libc calls on small stacks should link with -Wl,-z,now. */
static void prebind(void)
{
    static volatile size_t n = 8;
    char a[16], b[16];
    memset(a, 0, n);
    memcpy(b, a, n);
    memmove(a, b, n);
    __asm__ volatile("" : : "r"(a), "r"(b) : "memory"); /* keep the calls */
    (void)mn_nanotime();
    mn_osyield();
    uint32_t w = 1;
    mn_futex_wake(&w, 1);
    mn_futex_wait(&w, 0, 0); /* returns at once: *w != 0 */
}

int mn_init(const struct mn_config *cfg_in)
{
    if (mn_sched)
        return -EBUSY;
    if (mn_getm())
        return -EPERM;
    struct mn_config cfg;
    if (cfg_in) {
        cfg = *cfg_in;
    } else {
        int rc = mn_config_init(&cfg);
        if (rc)
            return rc;
    }
    cfg.pad_runq = pad_norm(cfg.pad_runq);
    long page = sysconf(_SC_PAGESIZE);
    if (cfg.gomaxprocs < 0 || cfg.gomaxprocs > MN_MAX_PROCS || cfg.pad_runq < 0 ||
        (!cfg.small_stacks && (cfg.stack_bytes < 16384 || cfg.stack_bytes % (size_t)page)) ||
        cfg.schedtrace_ms < 0 || cfg.hold_warn_ms < 0)
        return -EINVAL;
    if (cfg.gomaxprocs == 0) {
        struct mn_procs_default d;
        if (mn_default_gomaxprocs(&d) == 0) {
            cfg.gomaxprocs = d.gomaxprocs;
        } else {
            int cpus[MN_MAX_PROCS];
            cfg.gomaxprocs = allowed_cpus(cpus, MN_MAX_PROCS);
        }
    }
    struct mn_sched *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->cfg = cfg;
    s->timer_next = UINT64_MAX;
    s->start_ns = mn_nanotime();
    s->mnext = 0;
    mn_mutex_init(&s->worldsema, "worldsema");
    mn_fpcw_save(s->mxcsr_fpucw);
    s->boot_sp = mn_ctx_make_boot(boot_area + sizeof boot_area, s->mxcsr_fpucw);
    mn_sched = s;
    prebind();
    mn_prof_reset();
    s->lock.prof = mn_prof_register("sched.lock");
    (void)mn_numa_init();
    int rc = mn_stack_init();
    if (rc)
        goto fail;
    for (int i = 0; i < cfg.gomaxprocs; i++) {
        s->allp[i] = palloc(i, cfg.pad_runq);
        if (!s->allp[i]) {
            rc = -ENOMEM;
            goto fail;
        }
        s->nallp = i + 1;
    }
    s->gomaxprocs = cfg.gomaxprocs;
    s->allp[0]->solo = cfg.gomaxprocs == 1; /* runqget: no thieves */
    s->nodirect = cfg.trace_path != NULL || cfg.sched_latency ? MN_NODIRECT_STATIC : 0;
    for (int i = cfg.gomaxprocs - 1; i >= 0; i--)
        pidleput(s->allp[i]);
    if ((rc = mn_signals_init()))
        goto fail;
    if (cfg.trace_path && (rc = mn_trace_open(cfg.trace_path))) {
        fprintf(stderr, "mn: trace file %s (MN_TRACE / trace_path): %s\n", cfg.trace_path,
                strerror(-rc));
        goto fail_sig;
    }
    if ((rc = -pthread_create(&s->sysmon, NULL, sysmon, s)))
        goto fail_trace;
    s->sysmon_started = 1;
    return 0;
fail_trace:
    if (cfg.trace_path)
        mn_trace_close();
fail_sig:
    mn_signals_fini();
fail:
    for (int i = 0; i < s->nallp; i++)
        pfree(s->allp[i]);
    mn_stack_fini();
    free(s);
    mn_sched = NULL;
    return rc;
}

struct main_arg {
    int (*fn)(void *);
    void *arg;
};

static void main_g(void *arg)
{
    struct main_arg *ma = arg;
    mn_sched->main_status = ma->fn(ma->arg);
}

int mn_run(int (*fn)(void *), void *arg)
{
    struct mn_sched *s = mn_sched;
    if (!s || !fn)
        return -EINVAL;
    if (s->ran)
        return -EALREADY;
    if (mn_getm())
        return -EPERM;
    struct main_arg ma = {fn, arg};
    struct mn_g *gp;
    int rc = mn_galloc_main(&gp);
    if (rc)
        return rc;
    gp->fn = main_g;
    gp->arg = &ma;
    gp->sp = mn_ctx_make(gp->stack_hi, gostart, gp, s->mxcsr_fpucw);
    san_gcreate(gp);
    st_rel(&gp->status, MN_GRUNNABLE);
    gp->goid = 1;
    s->goidgen = 1;
    gp->is_main = 1;
    mn_lock(&s->lock);
    st_relaxed(&s->ran, 1); /* mn_numgoroutine reads it unlocked (sysmon's schedtrace) */
    globrunqput(gp);
    mn_unlock(&s->lock);
    rc = startm(NULL, false);
    if (rc) {
        mn_lock(&s->lock);
        s->runqhead = s->runqtail = NULL;
        s->runqsize = 0;
        s->exiting = 1;
        s->nodirect |= MN_NODIRECT_EXIT;
        mn_unlock(&s->lock);
        return rc;
    }
    mn_notesleep(&s->main_done);
    return s->main_status;
}

int mn_fini(void)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return -EINVAL;
    if (mn_getm())
        return -EPERM;
    mn_lock(&s->lock);
    st_sc(&s->exiting, 1);
    __atomic_fetch_or(&s->nodirect, MN_NODIRECT_EXIT, __ATOMIC_SEQ_CST);
    struct mn_m *m;
    while ((m = mget()) != NULL)
        mn_notewakeup(&m->park);
    mn_unlock(&s->lock);
    if (s->sysmon_started) {
        sysmon_wake(s);
        pthread_join(s->sysmon, NULL);
    }
    /* Ms being created right now are registered once pthread_create returns */
    for (;;) {
        mn_lock(&s->lock);
        int creating = s->mcreating;
        mn_unlock(&s->lock);
        if (!creating)
            break;
        mn_osyield();
    }
    /* join every M; an M still parked (woken above) or running exits on its own */
    for (;;) {
        mn_lock(&s->lock);
        m = s->allm;
        if (m)
            s->allm = m->alllink;
        mn_unlock(&s->lock);
        if (!m)
            break;
        pthread_join(m->thread, NULL);
        if (m->altstack)
            munmap(m->altstack, 64 * 1024 * MN_SAN_STACK_MULT); /* SIGSTACK_BYTES */
        munmap(m->g0stack, M_STACK_BYTES);
        free(m);
    }
    if (s->cfg.trace_path)
        mn_trace_close();
    mn_signals_fini();
    mn_stack_fini();
    for (int i = 0; i < s->nallp; i++)
        pfree(s->allp[i]);
    free(s->timers);
    mn_sched = NULL;
    free(s);
    return 0;
}

/* ==== Statistics ========================================================================== */

int mn_stats_read(struct mn_stats *out)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->nallp; i++) {
        struct mn_p *pp = s->allp[i];
        struct mn_pstats *st = &pp->st;
        out->spawns += ld_relaxed(&st->spawns);
        out->g_allocs += ld_relaxed(&st->g_allocs);
        out->steals += ld_relaxed(&st->steals);
        out->stolen_gs += ld_relaxed(&st->stolen_gs);
        out->globrunq_takes += ld_relaxed(&st->globrunq_takes);
        out->parks += ld_relaxed(&st->parks);
        out->schedticks += ld_relaxed(&st->schedticks);
        out->slice_ends += ld_relaxed(&st->slice_ends);
        out->idle_ns += ld_relaxed(&st->idle_ns);
        /* every spawn either allocated a G or reused one: no counter on the spawn path */
        uint64_t sp = ld_relaxed(&st->spawns), al = ld_relaxed(&st->g_allocs);
        out->g_reuses += sp > al ? sp - al : 0;
        uint64_t since = ld_relaxed(&pp->idle_since);
        uint64_t now = mn_nanotime();
        if (since && now > since && i < s->gomaxprocs)
            out->idle_ns += now - since;
    }
    int n = ld_sc(&s->gomaxprocs);
    for (int i = 0; i < n; i++) {
        struct mn_p *pp = s->allp[i];
        uint32_t h = ld_relaxed(pp->runqhead), t = ld_relaxed(pp->runqtail);
        out->runq_len[i] = (t - h) + (ld_relaxed(pp->runnext) ? 1 : 0);
        if (out->runq_len[i] > MN_RUNQ_SLOTS + 1)
            out->runq_len[i] = 0; /* torn read */
    }
    out->handoffs = ld_relaxed(&s->handoffs);
    out->stack_mmaps = ld_relaxed(&s->stack_mmaps);
    out->stack_munmaps = ld_relaxed(&s->stack_munmaps);
    out->stw = ld_relaxed(&s->stw);
    out->preempt_reqs = ld_relaxed(&s->preempt_reqs);
    out->long_holds = ld_relaxed(&s->long_holds);
    out->uptime_ns = mn_nanotime() - s->start_ns;
    out->gomaxprocs = n;
    out->idle_ps = ld_sc(&s->npidle);
    out->ms = ld_relaxed(&s->mcount);
    out->idle_ms = ld_relaxed(&s->nmidle);
    out->spinning_ms = ld_sc(&s->nmspinning);
    out->syscall_ms = ld_sc(&s->nmsys);
    out->globrunq_len = ld_sc(&s->runqsize);
    out->goroutines = mn_numgoroutine();
    return 0;
}

int mn_latency_read(uint64_t bins[MN_LAT_BINS], uint64_t *n_out, uint64_t *sum_ns)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return -EINVAL;
    if (!s->cfg.sched_latency)
        return -ENODATA;
    uint64_t n = 0, sum = 0;
    memset(bins, 0, sizeof(uint64_t) * MN_LAT_BINS);
    for (int i = 0; i < s->nallp; i++) {
        struct mn_pstats *st = &s->allp[i]->st;
        for (int b = 0; b < MN_LAT_BINS; b++) {
            uint64_t c = ld_relaxed(&st->lat_bins[b]);
            bins[b] += c;
            n += c; /* n from the bins themselves: consistent while Ms keep recording */
        }
        sum += ld_relaxed(&st->lat_sum_ns);
    }
    if (n_out)
        *n_out = n;
    if (sum_ns)
        *sum_ns = sum;
    return 0;
}

void mn_latency_reset(void)
{
    struct mn_sched *s = mn_sched;
    if (!s)
        return;
    for (int i = 0; i < s->nallp; i++) {
        struct mn_pstats *st = &s->allp[i]->st;
        for (int b = 0; b < MN_LAT_BINS; b++)
            st_relaxed(&st->lat_bins[b], 0);
        st_relaxed(&st->lat_sum_ns, 0);
    }
}

/* ==== Exported internals (mn_export.h) ===================================================== */

int mn_x_p_layout(int pad, struct mn_x_layout *out)
{
    pad = pad_norm(pad);
    if (pad < 0)
        return -EINVAL;
    static struct mn_p probe;
    p_init(&probe, 0, pad);
    char *base = (char *)&probe;
    memset(out, 0, sizeof *out);
    out->pad = pad;
    out->p_bytes = sizeof(struct mn_p);
    out->off_status = offsetof(struct mn_p, status);
    out->off_schedtick = offsetof(struct mn_p, schedtick);
    out->off_runqhead = (size_t)((char *)probe.runqhead - base);
    out->off_runqtail = (size_t)((char *)probe.runqtail - base);
    out->off_runq = (size_t)((char *)probe.runq - base);
    out->off_runnext = (size_t)((char *)probe.runnext - base);
    out->runq_slots = MN_RUNQ_SLOTS;
    out->runq_slot_bytes = sizeof(struct mn_g *);
    out->runq_bytes = MN_RUNQ_SLOTS * sizeof(struct mn_g *);
    out->runq_lines = (out->off_runq + out->runq_bytes - 1) / 64 - out->off_runq / 64 + 1;
    out->headtail_same_line = out->off_runqhead / 64 == out->off_runqtail / 64;
    return 0;
}

struct mn_p *mn_x_p_new(int pad)
{
    pad = pad_norm(pad);
    if (pad < 0)
        return NULL;
    struct mn_p *pp = aligned_alloc(128, (sizeof(struct mn_p) + 127) & ~(size_t)127);
    if (pp)
        p_init(pp, 0, pad);
    return pp;
}

void mn_x_p_free(struct mn_p *pp)
{
    free(pp);
}

struct mn_g *mn_x_fake_gs(size_t n)
{
    struct mn_g *gs = calloc(n ? n : 1, sizeof *gs);
    for (size_t i = 0; gs && i < n; i++)
        gs[i].goid = i + 1;
    return gs;
}

struct mn_g *mn_x_fake_g(struct mn_g *base, size_t i)
{
    return &base[i];
}

uint64_t mn_x_g_id(const struct mn_g *gp)
{
    return gp ? gp->goid : 0;
}

bool mn_x_runqput(struct mn_p *pp, struct mn_g *gp, bool next)
{
    if (!next && *pp->runqtail - ld_acq(pp->runqhead) >= MN_RUNQ_SLOTS)
        return false;
    if (next && ld_relaxed(pp->runnext) && *pp->runqtail - ld_acq(pp->runqhead) >= MN_RUNQ_SLOTS)
        return false;
    return runqput(pp, gp, next);
}

struct mn_g *mn_x_runqget(struct mn_p *pp)
{
    bool inh;
    return runqget(pp, &inh);
}

struct mn_g *mn_x_runqsteal(struct mn_p *dst, struct mn_p *src, bool stealnext)
{
    return runqsteal(dst, src, stealnext);
}

int mn_x_fail_n[3], mn_x_fail_err[3];

void mn_x_inject(enum mn_x_fault what, int n, int err)
{
    st_relaxed(&mn_x_fail_err[what], err);
    st_rel(&mn_x_fail_n[what], n); /* Ms read MN_X_DELAY_SPINDOWN's while running */
}

uint32_t mn_x_runqlen(struct mn_p *pp)
{
    return ld_acq(pp->runqtail) - ld_acq(pp->runqhead);
}
