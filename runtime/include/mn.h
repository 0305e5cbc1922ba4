/*
 * mn.h - the public interface of the reference M:N runtime.
 *
 * A cooperative M:N scheduler modelled on Go's GMP scheduler (proc.go, Go 1.19):
 * Gs (user-level tasks with their own stacks) run on Ms (OS threads), and an M must hold
 * a P (processor: local run queue of 256 Gs plus runnext) to run Gs.  See the design
 * essay at the top of runtime/src/proc.c.
 *
 * Conventions (../shared/STYLE.md 2.5):
 *   - every int-returning call returns 0 (or a documented non-negative value) or a
 *     negative errno; strerror(-rc) prints it.  All are warn_unused_result.
 *   - "from a G" means the call must be made by code running on a G of the current
 *     runtime (inside the function given to mn_run or mn_go); such calls return -EPERM
 *     when made from a plain thread.
 *   - one runtime exists per process at a time: mn_init ... mn_run ... mn_fini, which may
 *     be repeated with different configurations.
 */
#ifndef MN_H
#define MN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MN_WUR __attribute__((warn_unused_result))

#define MN_VERSION_MAJOR 0
#define MN_VERSION_MINOR 1

/* Upper bound on GOMAXPROCS (number of Ps). */
#define MN_MAX_PROCS 256
/* Slots in each P's local run queue (Go: len(p.runq) = 256).  Claim L2.1.runq. */
#define MN_RUNQ_SLOTS 256
/* Size of a small stack when small_stacks is on (claim T1.stack.g: Go's 2 KB). */
#define MN_SMALL_STACK_BYTES 2048

/*
 * Fairness and the absence of preemption.
 *
 * Scheduling is cooperative: a G runs until it blocks (channel, wait group, mutex, sleep),
 * yields (mn_gosched), spawns or exits.  There is NO preemption: a G that never does any
 * of these keeps its P for as long as it runs, and the other Gs queued on that P wait
 * (other Ps may steal them).  sysmon counts such Gs (mn_stats.long_holds, a G that made no
 * switch on its P for MN_HOLD_NS) and, when hold_warn_ms is set, prints one warning line.
 *
 * Between Gs that do switch, the scheduler bounds how long a runnable G waits, as Go does
 * with inheritTime (proc.go schedule/runqget): a G readied or spawned by the running G
 * goes to runnext and runs next, inheriting the time slice; a slice ends after
 * MN_SLICE_PICKS inherited picks or, when sysmon sees it last MN_SLICE_NS (Go's
 * forcePreemptNS), at the next switch.  When a slice ends, the runnext G goes to the tail
 * of the local run queue, the global run queue is polled first, and the head of the local
 * queue runs.  Timers are polled at every switch and by sysmon; a G whose sleep has ended
 * goes to the runnext of the P that fired its timer (Go's checkTimers).  So a runnable G
 * at position k of its P's run queue runs within about (k + 1) slices of switches, and a
 * G in the global queue (or woken by sysmon's timers) within about one slice, provided
 * the running Gs switch.
 */
#define MN_SLICE_PICKS 64
#define MN_SLICE_NS 10000000ull /* 10 ms, Go's forcePreemptNS */
#define MN_HOLD_NS 10000000ull  /* a G that makes no switch for this long is a long hold */

/* ==== Configuration and lifecycle ================================================== */

/*
 * struct mn_config - the runtime's mechanism switches.
 *
 * Fill with mn_config_init(), which applies the defaults and then the MN_* environment
 * overrides; fields the caller sets afterwards win over both.  The on/off switches exist
 * so that a bench can compare a mechanism on and off inside one process.
 */
struct mn_config {
    int gomaxprocs;         /* number of Ps; 0 = mn_default_gomaxprocs(): CPUs in the affinity
                               mask, capped by the cgroup CPU quota. MN_GOMAXPROCS */
    int pad_runq;           /* P layout: 0 = runqhead/runqtail adjacent (Go's layout),
                               64 or 128 = each on its own cache line of that many bytes
                               (1 is read as 64).  Claims L2.1.runq, L2.1.headtail,
                               L2.1.fourlines, T3.l1hit, T3.latency, N3.3.sched. MN_PAD_RUNQ */
    bool bind_p;            /* pin the M holding P i to the i-th CPU of the affinity mask
                               (claims T4.flush, T4.mmap, T4.local, T4.tlbmiss, T4.walk).
                               MN_BIND_P */
    bool reuse_g;           /* dead Gs and their stacks go to per-P free lists (Go's
                               gfput/gfget), and a G takes a stack only when it first
                               runs; off: every spawn maps a fresh stack and every exit
                               unmaps it (claim P4.1.pool). Default on. MN_REUSE_G */
    size_t stack_bytes;     /* reserved bytes per G stack, guard page included; committed
                               lazily by the kernel.  Default 64 KiB. MN_STACK_BYTES.
                               Stacks do not grow: an overflow prints "fatal: G <id> stack
                               overflow (<n> bytes)" and exits 2.  Build code that runs on
                               Gs with -fstack-clash-protection (the runtime is), or a frame
                               larger than the 4 KiB guard page may jump it. */
    bool small_stacks;      /* 2 KiB stacks from a slab, no guard page, canary checked at
                               every switch and exit, Gs kept apart from the stacks so an
                               overflow cannot corrupt a G; a frame that skips the canary and
                               returns before a switch goes unseen (runtime2.h lists exactly
                               what is caught) (claim T1.stack.g). MN_SMALL_STACKS.  G code must
                               stay shallow; the runtime runs its own deep paths on the M's
                               stack.  Link with -Wl,-z,now when G code calls libc: lazy
                               binding's resolver needs ~2.7 KiB of stack on AVX-512 CPUs. */
    bool numa_local;        /* place each P's G stacks and per-P data on the NUMA node of
                               its CPU; steal from same-node Ps first (claims N3.2.latency,
                               N3.2.remote, N3.3.foreign).
                               MN_NUMA_LOCAL */
    bool sched_latency;     /* record ready-to-run latency (runqput to G start) per P, read
                               by mn_latency_read (claims T3.latency, N3.3.sched).
                               MN_SCHED_LATENCY */
    int schedtrace_ms;      /* print Go's schedtrace line to stderr every this many ms;
                               0 = off. MN_SCHEDTRACE */
    const char *trace_path; /* write a Chrome trace-event JSON file of P and G events;
                               NULL = off (claim P4.4.trace). MN_TRACE */
    int hold_warn_ms;       /* sysmon prints "mn: warning: G <id> has held P <n> for <t> ms
                               without a switch (no preemption)" once per hold longer than this;
                               0 = off (the hold is still counted in mn_stats.long_holds).
                               MN_HOLD_WARN_MS */
};

/* struct mn_procs_default - what the default GOMAXPROCS is made of (for the results'
 * context: a bench records cpus, quota and gomaxprocs with its rows). */
struct mn_procs_default {
    int cpus;       /* CPUs in the calling thread's affinity mask (sched_getaffinity) */
    double quota;   /* cgroup CPU limit in CPUs: quota / period of cgroup v2 cpu.max or v1
                       cpu.cfs_quota_us / cpu.cfs_period_us, the smallest from the
                       process's cgroup up to the root; 0 = no limit */
    int gomaxprocs; /* the default: cpus, or ceil(quota) when that is smaller (at least 1),
                       at most MN_MAX_PROCS */
};

/* mn_default_gomaxprocs - the GOMAXPROCS mn_init uses when cfg.gomaxprocs is 0.
 * The rule (Go 1.25's, but with a minimum of 1 where Go's is 2): the CPUs of the affinity
 * mask, lowered to the cgroup CPU limit rounded up.  Go keeps 2 so that a program limited
 * to under 1 CPU still runs two Ps; here a P beyond the quota only spins and queues on a
 * throttled CPU (measured under a 0.5 CPU quota: a spawn took 20.5 us on 2 Ps against
 * ~75 ns on 1), so 0.5 CPU gives 1 P.  Read once per call (files in /proc and /sys/fs/cgroup),
 * callable from any thread, no runtime needed.  Returns 0, or -EINVAL (out is NULL). */
MN_WUR int mn_default_gomaxprocs(struct mn_procs_default *out);

/* mn_config_init - defaults, then MN_* environment overrides.  Returns 0, or -EINVAL when
 * an MN_* variable does not parse (a message naming it goes to stderr). */
MN_WUR int mn_config_init(struct mn_config *cfg);

/* mn_init - start a runtime with cfg (NULL: mn_config_init's result).  Creates the Ps and
 * the sysmon thread; Ms are started on demand.  Errors: -EBUSY a runtime already exists,
 * -EINVAL a field is out of range (gomaxprocs > MN_MAX_PROCS, stack_bytes < 16 KiB or not
 * a multiple of the page size, pad_runq not 0/1/64/128), -EAGAIN/-ENOMEM from the OS.
 * Call from a plain thread, not from a G. */
MN_WUR int mn_init(const struct mn_config *cfg);

/* mn_run - run fn(arg) as the main G and block the calling thread until it returns; the
 * value fn returns is mn_run's result (use values >= 0).  When the main G returns, the
 * runtime stops: other Gs are not run again (as when Go's main returns).  Once per
 * mn_init.  Errors: -EINVAL not initialised, -EALREADY already run, -ENOMEM, -EAGAIN. */
MN_WUR int mn_run(int (*fn)(void *arg), void *arg);

/* mn_fini - stop every M and sysmon, join them and unmap every stack and G.  Leaves no
 * thread, mapping or fd behind.  Returns 0 or -EINVAL (no runtime). */
int mn_fini(void);

/* mn_config_get - copy of the configuration in force (after overrides).  -EINVAL when no
 * runtime exists. */
MN_WUR int mn_config_get(struct mn_config *out);

/* ==== Gs ============================================================================ */

/* mn_go - start a new G running fn(arg) (Go's `go` statement, newproc).  It is put in the
 * caller's runnext, as Go does.  From a G.  Errors: -EPERM not on a G, -ENOMEM (mmap
 * failed), -EAGAIN (a new M was needed and pthread_create failed). */
MN_WUR int mn_go(void (*fn)(void *arg), void *arg);

/* mn_gosched - yield the P: the calling G goes to the tail of its P's local run queue and
 * another G runs (Go's runtime.Gosched uses the global queue under sched.lock; the local
 * queue keeps the switch free of locks, and other Ps can still steal the G).  From a G; a
 * no-op on a plain thread. */
void mn_gosched(void);

/* mn_goexit - end the calling G now (as Go's runtime.Goexit).  From a G; does not return. */
__attribute__((noreturn)) void mn_goexit(void);

/* mn_goid - ID of the calling G (1 is the main G), 0 on a plain thread. */
uint64_t mn_goid(void);

/* mn_numgoroutine - Gs that exist now (running, runnable, waiting, in syscalls). */
int64_t mn_numgoroutine(void);

/* mn_gomaxprocs - set the number of Ps to n while Gs run, moving queued Gs so none is lost
 * (Go's procresize, under a stop-the-world); n = 0 only reads.  Returns the previous value,
 * or -EINVAL (n < 0 or > MN_MAX_PROCS), -EPERM (n > 0 not from a G). */
MN_WUR int mn_gomaxprocs(int n);

/* mn_sleep_ns - park the calling G for at least ns nanoseconds (Go's time.Sleep).  Timers
 * fire from the scheduler and from sysmon; expect tens of microseconds of slack.
 * From a G; on a plain thread it calls nanosleep. */
void mn_sleep_ns(uint64_t ns);

/* mn_syscall_enter / mn_syscall_exit - bracket a blocking system call (Go's entersyscall /
 * exitsyscall).  While inside, the P may be retaken by sysmon (after 20 us) and handed to
 * another M so other Gs keep running.  exit re-acquires a P, parking the G on the global
 * queue if none is free.  From a G; no-ops on a plain thread. */
void mn_syscall_enter(void);
void mn_syscall_exit(void);

/* ==== Channels ======================================================================= */

struct mn_chan; /* opaque; Go's hchan */

/* mn_chan_make - a channel of elements of elem_bytes bytes with a buffer of cap elements
 * (0 = unbuffered).  Callable from any thread.  Errors: -EINVAL (elem_bytes 0 or > 64 KiB),
 * -ENOMEM. */
MN_WUR int mn_chan_make(struct mn_chan **out, size_t elem_bytes, size_t cap);

/* mn_chan_send - copy *elem into the channel, blocking the G while it is full (or, when
 * unbuffered, until a receiver takes it).  Waiting senders are served FIFO.  From a G.
 * Errors: -EPIPE the channel is or becomes closed (Go panics), -EPERM not on a G. */
MN_WUR int mn_chan_send(struct mn_chan *c, const void *elem);

/* mn_chan_recv - receive into *elem (may be NULL to discard), blocking while the channel
 * is empty.  *ok (may be NULL) is true for a value sent, false when the channel is closed
 * and drained, in which case *elem is zeroed (Go's v, ok := <-c).  Returns 0 in both
 * cases; -EPERM not on a G. */
MN_WUR int mn_chan_recv(struct mn_chan *c, void *elem, bool *ok);

/* mn_chan_close - close the channel: all waiting receivers wake with ok = false, all
 * waiting senders with -EPIPE.  Callable from any thread: a plain thread (not a G) may
 * close a channel Gs wait on, and they go to the global run queue.  Because of this, the
 * "all goroutines are asleep - deadlock!" check (Go's checkdead) is deferred while the
 * process has threads other than the runtime's Ms, sysmon and mn_run's caller; sysmon
 * repeats it every few milliseconds and aborts once no such thread is left (Go never
 * reports it in a c-archive build).  Under ThreadSanitizer its helper threads count as
 * such threads, so there a deadlock hangs instead.  Errors: -EPIPE already closed. */
MN_WUR int mn_chan_close(struct mn_chan *c);

/* mn_chan_len, mn_chan_cap - elements buffered now, and buffer capacity. */
size_t mn_chan_len(const struct mn_chan *c);
size_t mn_chan_cap(const struct mn_chan *c);

/* mn_chan_free - free a channel no G is waiting on.  -EBUSY when Gs wait on it. */
MN_WUR int mn_chan_free(struct mn_chan *c);

/* ==== Wait groups and mutexes ========================================================= */

/* struct mn_wg - Go's sync.WaitGroup.  Fields are private; zero-initialise or use
 * mn_wg_init.  Usable from Gs only (Add/Done from any G, Wait parks the G). */
struct mn_wg {
    int64_t n;     /* private: counter */
    uint32_t lock; /* private: spin lock word */
    void *waiters; /* private: parked Gs */
};
void mn_wg_init(struct mn_wg *wg);
void mn_wg_add(struct mn_wg *wg, int64_t delta);
void mn_wg_done(struct mn_wg *wg);
/* mn_wg_wait - park until the counter is zero.  -EPERM not on a G. */
MN_WUR int mn_wg_wait(struct mn_wg *wg);

/* struct mn_mutex - a G mutex with Go's sync.Mutex design: the lock is taken by whoever
 * asks first (a woken waiter competes with newcomers), a waiter spins up to 4 x 30 PAUSEs
 * while spinning can help (more than one CPU, other Ps busy, nothing on its own runq), then
 * parks the G (never the M); a waiter that waited over 1 ms switches the mutex to
 * starvation mode, where unlock hands it to the first waiter in FIFO order.  Fields are
 * private; zero-initialise or use mn_mutex_init.  Contention is recorded in the mutex
 * profile under the mutex's name (claim P4.2.mutex). */
struct mn_mutex {
    uint32_t state;   /* private: locked, woken, starving bits; waiter count */
    uint32_t lock;    /* private: spin lock of the wait queue and sema */
    uint32_t sema;    /* private: wake-ups not yet taken by a waiter */
    uint32_t row;     /* private: profile row + 1, 0 before the first lock */
    void *waiters;    /* private: FIFO head */
    void *wtail;      /* private: FIFO tail */
    const char *name; /* private */
};
void mn_mutex_init(struct mn_mutex *mu, const char *name);
void mn_mutex_lock(struct mn_mutex *mu);
void mn_mutex_unlock(struct mn_mutex *mu);

/* One row of the mutex contention profile (Go's mutex profile: contentions and delay). */
struct mn_mutex_prof {
    char name[48];
    uint64_t acquisitions; /* lock calls */
    uint64_t contentions;  /* lock calls that found it held */
    uint64_t wait_ns;      /* total time waited by contended calls */
};
/* mn_mutex_profile - copy up to n rows into out; returns the number of rows that exist
 * (may exceed n).  The scheduler's own global-run-queue lock reports as "sched.lock". */
int mn_mutex_profile(struct mn_mutex_prof *out, int n);

/* ==== Statistics ====================================================================== */

/* struct mn_stats - counters since mn_init (monotonic) and gauges (now). */
struct mn_stats {
    uint64_t spawns;                 /* Gs created by mn_go */
    uint64_t g_allocs;               /* Gs freshly allocated (reuse_g off: G and stack) */
    uint64_t g_reuses;               /* Gs taken from a free list (gfget): spawns - g_allocs */
    uint64_t steals;                 /* successful runqsteal calls */
    uint64_t stolen_gs;              /* Gs moved by them */
    uint64_t globrunq_takes;         /* Gs taken from the global run queue */
    uint64_t handoffs;               /* Ps handed off from an M in a syscall (handoffp) */
    uint64_t parks;                  /* gopark calls */
    uint64_t schedticks;             /* schedule() picks */
    uint64_t idle_ns;                /* summed time Ps spent idle */
    uint64_t stack_mmaps;            /* mmap calls made for stacks (claim T4.mmap) */
    uint64_t stack_munmaps;          /* munmap calls made for stacks */
    uint64_t stw;                    /* stop-the-world pauses (GOMAXPROCS changes) */
    uint64_t slice_ends;             /* inherited time slices ended by the fairness bound */
    uint64_t preempt_reqs;           /* of those, slices sysmon ended after MN_SLICE_NS */
    uint64_t long_holds;             /* Gs seen by sysmon holding their P without a switch for
                                        more than MN_HOLD_NS (cooperative: never preempted) */
    uint64_t uptime_ns;              /* since mn_init */
    int32_t gomaxprocs;              /* Ps now */
    int32_t idle_ps;                 /* Ps on the idle list */
    int32_t ms;                      /* Ms (threads) created and alive */
    int32_t idle_ms;                 /* Ms parked on the idle list */
    int32_t spinning_ms;             /* Ms spinning in findrunnable */
    int32_t syscall_ms;              /* Ms inside mn_syscall_enter/exit */
    int64_t globrunq_len;            /* Gs on the global run queue */
    int64_t goroutines;              /* Gs that exist */
    uint32_t runq_len[MN_MAX_PROCS]; /* local run queue length of P i (runnext counts) */
};

/* mn_stats_read - fill *out.  Cheap (sums per-P counters, no stop).  -EINVAL no runtime. */
MN_WUR int mn_stats_read(struct mn_stats *out);

/* mn_latency_read - when sched_latency is on: the ready-to-run latency histogram merged
 * over Ps.  bins[i] counts latencies in [2^i, 2^(i+1)) ns, i < 40.  *n_out = samples (the
 * sum of bins), *sum_ns = their summed latency (read separately: while Ms keep running it
 * may include a few samples more or less than n).  -EINVAL no runtime, -ENODATA
 * sched_latency off. */
#define MN_LAT_BINS 40
MN_WUR int mn_latency_read(uint64_t bins[MN_LAT_BINS], uint64_t *n_out, uint64_t *sum_ns);
/* mn_latency_reset - zero the histograms (call from a G with the workload quiet). */
void mn_latency_reset(void);

#ifdef __cplusplus
}
#endif
#endif /* MN_H */
