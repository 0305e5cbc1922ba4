/*
 * benches/switch_pingpong.c - G-to-G and thread-to-thread switch cost, with the user-level
 * peers that bound it from below.
 *
 * What is measured (all rows: wall-clock time; one iteration = one round trip)
 *   switch/g_yield/procs:1      two Gs on one P, each calling mn_gosched in a loop: one
 *                               iteration = main yields to the partner and back = 2 switches
 *   switch/g_chan/procs:{1,2}   unbuffered channel ping-pong: main sends on c1 and receives
 *                               on c2, the partner G does the reverse; one iteration = one
 *                               round trip = 2 messages.  procs:2 runs with bind_p (P i's M
 *                               pinned to CPU i) so placement is stated, not load-dependent;
 *                               Go's goready puts the woken G in the waker's runnext, so the
 *                               pair may still share one P most of the time.
 *   switch/pthread_futex/cpus:{1,2}  two pthreads hand a token through one futex word
 *                               (FUTEX_WAIT/WAKE, no spinning); cpus:1 = both pinned to the
 *                               first CPU of the mask (every handoff is a kernel context
 *                               switch), cpus:2 = pinned to the first and second CPU (every
 *                               handoff is a cross-CPU wake-up)
 *   switch/pipe/cpus:{1,2}      the same with a 1-byte write/read through two pipes (lmbench
 *                               lat_ctx / perf bench sched pipe)
 *   switch/ucontext             glibc swapcontext between two contexts on one thread
 *   switch/fcontext             Boost.Context jump_fcontext between two contexts (the
 *                               physical-limit reference: a register swap)
 *   Excluded: runtime start/stop, thread creation, pinning (before the timer).
 *
 * Claims: T1.switch.g (g_*, ucontext, fcontext), T1.switch.pthread (pthread_futex, pipe).
 *
 * Counters
 *   ns_per_switch     ns per one-way switch = real time per iteration / 2
 *   ns_per_roundtrip  ns per round trip (two switches, or two messages) = time per iteration
 *   Every row reports both, so peers compare on the same footing.
 *   pthread_futex and pipe rows also (lmbench lat_ctx's method: subtract the transport):
 *   transport_ns_per_roundtrip  the same syscalls on one thread with no switch (futex: two
 *                     FUTEX_WAKE nobody waits for and two FUTEX_WAIT that return EAGAIN;
 *                     pipe: two 1-byte write+read on one pipe), timed by the bench with its
 *                     own clock just before and just after the loop (mean of the two)
 *   ns_per_switch_net (ns_per_roundtrip - transport_ns_per_roundtrip) / 2: the switch alone
 *   csw_per_roundtrip the main thread's context switches per round trip (getrusage
 *                     RUSAGE_THREAD, voluntary + involuntary: on one CPU the woken partner
 *                     often preempts the waker inside FUTEX_WAKE): >= 1 when every round
 *                     trip really switched; the manipulation check of the cpus:1 rows
 *
 * How to read
 *   fcontext is the floor for a user-level switch; a G yield pays the scheduler
 *   (runq put/get, status CAS) on top; the design target is g_yield <= 5x fcontext.
 *   ucontext costs a sigprocmask syscall per switch.  pthread_futex cpus:1 is two kernel
 *   context switches per round trip; ns_per_switch_net is the switch with the futex or
 *   pipe syscalls taken out, which is what "a thread switch costs 1-10 us" is about.
 *   cpus:2 is a cross-CPU wake-up (an IPI and an idle exit on the other CPU), not a
 *   switch: on a VM it can be 10x cpus:1 (HOST-NOTES); it is shown as its own row.
 *
 * Host conditions: cpus:2 and procs:2 rows need 2 CPUs in the mask, else
 * `n/a: needs 2 CPUs`.  The G rows skip with the reason when the runtime cannot start.
 */
#include "bench.h"
#include "fcontext.h"
#include "mn.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ==== Shared helpers ================================================================== */

static void report_rt(struct bench_state *st)
{
    bench_set_per_op_ns(st, "ns_per_roundtrip", 1.0);
    bench_set_per_op_ns(st, "ns_per_switch", 2.0);
}

/* run_g - run main_fn(arg) as the main G of a runtime with procs Ps (bind: cfg.bind_p),
 * then report the round-trip counters; a failed mn_init or mn_run skips the row. */
static void run_g(struct bench_state *st, int procs, bool bind, int (*main_fn)(void *), void *arg)
{
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = procs;
        cfg.bind_p = bind;
    }
    if (rc < 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return;
    }
    (void)bench_run_runtime(st, &cfg, main_fn, arg);
    report_rt(st);
}

/* ==== switch/g_yield ==================================================================== */

struct yield_arg {
    struct bench_state *st;
    atomic_int stop;
};

static void yield_partner(void *p)
{
    struct yield_arg *a = p;
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed))
        mn_gosched();
}

static int yield_main(void *p)
{
    struct yield_arg *a = p;
    int rc = mn_go(yield_partner, a);
    if (rc < 0) {
        bench_skip_errno(a->st, "mn_go", rc);
        return 0;
    }
    mn_gosched(); /* let the partner start before timing */
    while (bench_keep_running(a->st))
        mn_gosched();
    atomic_store(&a->stop, 1);
    return 0;
}

static void bm_switch_g_yield(struct bench_state *st)
{
    struct yield_arg a = {.st = st};
    run_g(st, (int)bench_arg(st, "procs"), false, yield_main, &a);
}

BENCH_REGISTER(.name = "switch/g_yield",
               .summary = "two Gs yielding (mn_gosched) to each other on one P",
               .claims = "T1.switch.g", .fn = bm_switch_g_yield,
               .args = {BENCH_ARG("procs", BENCH_V(1))}, .real_time = true);

/* ==== switch/g_chan ===================================================================== */

struct chan_arg {
    struct bench_state *st;
    struct mn_chan *c1, *c2;
    struct mn_wg done;
};

static void chan_partner(void *p)
{
    struct chan_arg *a = p;
    long v;
    bool ok;
    while (mn_chan_recv(a->c1, &v, &ok) == 0 && ok)
        if (mn_chan_send(a->c2, &v) < 0)
            break;
    mn_wg_done(&a->done);
}

static int chan_main(void *p)
{
    struct chan_arg *a = p;
    long v = 1;
    bool ok;
    int rc = mn_chan_make(&a->c1, sizeof(long), 0);
    if (rc == 0)
        rc = mn_chan_make(&a->c2, sizeof(long), 0);
    if (rc < 0) {
        bench_skip_errno(a->st, "mn_chan_make", rc);
        return 0;
    }
    mn_wg_init(&a->done);
    mn_wg_add(&a->done, 1);
    if ((rc = mn_go(chan_partner, a)) < 0) {
        bench_skip_errno(a->st, "mn_go", rc);
        return 0;
    }
    /* one warm-up round trip, so the partner is parked in recv when timing starts */
    if (mn_chan_send(a->c1, &v) < 0 || mn_chan_recv(a->c2, &v, &ok) < 0) {
        bench_skip(a->st, "n/a: channel warm-up failed");
        return 0;
    }
    while (bench_keep_running(a->st))
        if (mn_chan_send(a->c1, &v) < 0 || mn_chan_recv(a->c2, &v, &ok) < 0)
            abort(); /* cannot fail on open channels from a G: a runtime bug */
    bench_ignore(mn_chan_close(a->c1));
    bench_ignore(mn_wg_wait(&a->done));
    bench_ignore(mn_chan_free(a->c1));
    bench_ignore(mn_chan_free(a->c2));
    return 0;
}

static void bm_switch_g_chan(struct bench_state *st)
{
    int procs = (int)bench_arg(st, "procs");
    if (procs > bench_ncpus()) {
        bench_skip(st, "n/a: needs 2 CPUs");
        return;
    }
    struct chan_arg a = {.st = st};
    run_g(st, procs, procs > 1, chan_main, &a);
}

BENCH_REGISTER(.name = "switch/g_chan",
               .summary = "unbuffered channel ping-pong between two Gs (1 P; 2 Ps bound)",
               .claims = "T1.switch.g", .fn = bm_switch_g_chan,
               .args = {BENCH_ARG("procs", BENCH_V(1, 2))}, .real_time = true);

/* ==== Thread peers: futex and pipe ======================================================= */

static long futex(atomic_int *uaddr, int op, int val)
{
    return syscall(SYS_futex, (int *)uaddr, op, val, NULL, NULL, 0);
}

/* Token protocol on one word: 0 = main's turn is over, partner's turn; 1 = partner done,
 * main's turn.  2 = stop. */
struct thr_arg {
    atomic_int word;
    atomic_int ready;
    int cpu;            /* index into the mask for the partner */
    int p2c[2], c2p[2]; /* pipes: parent-to-child, child-to-parent */
    bool use_pipe;
};

static void futex_wait_while(atomic_int *w, int val)
{
    while (atomic_load_explicit(w, memory_order_acquire) == val)
        futex(w, FUTEX_WAIT_PRIVATE, val);
}

static void *thr_partner(void *p)
{
    struct thr_arg *a = p;
    (void)bench_pin_self(a->cpu);
    atomic_store(&a->ready, 1);
    if (a->use_pipe) {
        char c;
        while (read(a->p2c[0], &c, 1) == 1 && c != 'q')
            if (write(a->c2p[1], &c, 1) != 1)
                break;
        return NULL;
    }
    for (;;) {
        futex_wait_while(&a->word, 1); /* wait for the token (word == 0) */
        if (atomic_load(&a->word) == 2)
            return NULL;
        atomic_store_explicit(&a->word, 1, memory_order_release);
        futex(&a->word, FUTEX_WAKE_PRIVATE, 1);
    }
}

/* ==== Transport alone (lmbench's overhead subtraction) ==================================== */

/* The syscalls of one futex round trip without the switch: two FUTEX_WAKE on a word nobody
 * waits on and two FUTEX_WAIT whose expected value does not match (they return EAGAIN at
 * once), on the calling thread.  Returns ns per round trip (own CLOCK_MONOTONIC over n). */
static double futex_transport_ns(long n)
{
    atomic_int w = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            atomic_store_explicit(&w, k, memory_order_release);
            futex(&w, FUTEX_WAKE_PRIVATE, 1);
            futex(&w, FUTEX_WAIT_PRIVATE, k + 1); /* value differs: EAGAIN */
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
}

/* The pipe work of one round trip without the switch (lmbench lat_ctx's overhead): two
 * 1-byte writes each read back from the same pipe by the same thread.  ns per round trip,
 * or -1 when the pipe cannot be made. */
static double pipe_transport_ns(long n)
{
    int fd[2];
    char c = 'x';
    if (pipe(fd) < 0)
        return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (write(fd[1], &c, 1) != 1 || read(fd[0], &c, 1) != 1)
                abort();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd[0]);
    close(fd[1]);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
}

#define TRANSPORT_N 20000 /* round trips per transport measurement (~10 ms here) */

static double transport_ns(bool use_pipe)
{
    long n = strcmp(bench_preset(), "smoke") == 0 ? 200 : TRANSPORT_N;
    return use_pipe ? pipe_transport_ns(n) : futex_transport_ns(n);
}

/* thread_switches - the calling thread's context switches so far, voluntary (it blocked)
 * and involuntary (preempted, e.g. by the partner it just woke on the same CPU). */
static long thread_switches(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw + ru.ru_nivcsw : -1;
}

/* bm_thread_pingpong - switch/pthread_futex (capture 0) and switch/pipe (capture 1). */
static void bm_thread_pingpong(struct bench_state *st, long capture)
{
    bool use_pipe = capture != 0;
    int cpus = (int)bench_arg(st, "cpus");
    if (cpus > bench_ncpus()) {
        bench_skip(st, "n/a: needs 2 CPUs");
        return;
    }
    struct thr_arg a = {.word = 1, .cpu = cpus - 1, .use_pipe = use_pipe};
    if (use_pipe && (pipe(a.p2c) < 0 || pipe(a.c2p) < 0)) {
        bench_skip(st, "n/a: pipe failed");
        return;
    }
    cpu_set_t saved;
    (void)bench_affinity_save(&saved);
    (void)bench_pin_self(0);
    pthread_t t;
    if (pthread_create(&t, NULL, thr_partner, &a) != 0) {
        bench_skip(st, "n/a: pthread_create failed");
        goto out;
    }
    while (!atomic_load(&a.ready))
        sched_yield();
    /* Transport alone, on this thread and CPU, before and after the loop (the mean of
     * the two is subtracted: a drift in CPU speed shows in both). */
    double tr0 = transport_ns(use_pipe);
    long csw0 = thread_switches();
    if (use_pipe) {
        char c = 'x';
        while (bench_keep_running(st))
            if (write(a.p2c[1], &c, 1) != 1 || read(a.c2p[0], &c, 1) != 1)
                abort();
        c = 'q';
        if (write(a.p2c[1], &c, 1) != 1)
            abort();
    } else {
        while (bench_keep_running(st)) {
            atomic_store_explicit(&a.word, 0, memory_order_release);
            futex(&a.word, FUTEX_WAKE_PRIVATE, 1);
            futex_wait_while(&a.word, 0);
        }
        atomic_store(&a.word, 2);
        futex(&a.word, FUTEX_WAKE_PRIVATE, 1);
    }
    long csw1 = thread_switches();
    pthread_join(t, NULL);
    double tr1 = transport_ns(use_pipe);
    report_rt(st);
    int64_t it = bench_iterations(st);
    if (it > 0 && tr0 > 0 && tr1 > 0) {
        double rt = bench_elapsed_ns(st) / (double)it, tr = (tr0 + tr1) / 2;
        bench_set_counter(st, "transport_ns_per_roundtrip", tr, BENCH_C_PLAIN);
        bench_set_counter(st, "ns_per_switch_net", (rt - tr) / 2, BENCH_C_PLAIN);
    }
    if (it > 0 && csw0 >= 0 && csw1 >= 0)
        bench_set_counter(st, "csw_per_roundtrip", (double)(csw1 - csw0) / (double)it,
                          BENCH_C_PLAIN);
out:
    bench_affinity_restore(&saved);
    if (use_pipe)
        for (int i = 0; i < 2; i++) {
            close(a.p2c[i]);
            close(a.c2p[i]);
        }
}

BENCH_REGISTER(.name = "switch/pthread_futex",
               .summary = "two pthreads passing a token through a futex, 1 CPU or 2 CPUs",
               .claims = "T1.switch.pthread", .fn_capture = bm_thread_pingpong, .capture = 0,
               .args = {BENCH_ARG("cpus", BENCH_V(1, 2))}, .real_time = true);

BENCH_REGISTER(.name = "switch/pipe",
               .summary = "two pthreads ping-ponging one byte through two pipes, 1 or 2 CPUs",
               .claims = "T1.switch.pthread", .fn_capture = bm_thread_pingpong, .capture = 1,
               .args = {BENCH_ARG("cpus", BENCH_V(1, 2))}, .real_time = true);

/* ==== User-level peers: ucontext and Boost.Context fcontext ============================= */

#define PEER_STACK (64 * 1024)

static ucontext_t uc_main, uc_co;

static void uc_body(void)
{
    for (;;)
        swapcontext(&uc_co, &uc_main);
}

static void bm_switch_ucontext(struct bench_state *st)
{
    void *stack = malloc(PEER_STACK);
    if (!stack || getcontext(&uc_co) < 0) {
        bench_skip(st, "n/a: getcontext/malloc failed");
        free(stack);
        return;
    }
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = PEER_STACK;
    uc_co.uc_link = NULL;
    makecontext(&uc_co, uc_body, 0);
    swapcontext(&uc_main, &uc_co); /* warm-up: first entry */
    while (bench_keep_running(st))
        swapcontext(&uc_main, &uc_co);
    report_rt(st);
    free(stack); /* the coroutine is abandoned mid-loop, as nothing refers to it */
}

BENCH_REGISTER(.name = "switch/ucontext",
               .summary = "glibc swapcontext between two contexts on one thread (peer)",
               .claims = "T1.switch.g", .fn = bm_switch_ucontext, .real_time = true);

/* Boost.Context's C-callable core: harness/fcontext.h. */

static void fc_body(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

static void bm_switch_fcontext(struct bench_state *st)
{
    char *stack = malloc(PEER_STACK);
    if (!stack) {
        bench_skip(st, "n/a: malloc failed");
        return;
    }
    fcontext_t co = make_fcontext(stack + PEER_STACK, PEER_STACK, fc_body);
    co = jump_fcontext(co, NULL).fctx; /* warm-up: first entry */
    while (bench_keep_running(st))
        co = jump_fcontext(co, NULL).fctx;
    report_rt(st);
    free(stack);
}

BENCH_REGISTER(.name = "switch/fcontext",
               .summary = "Boost.Context jump_fcontext between two contexts (peer, floor)",
               .claims = "T1.switch.g", .fn = bm_switch_fcontext, .real_time = true);
