/*
 * benches/instr/instr.c - the headline operations, one per invocation, for counting
 * instructions per operation under callgrind (`make bench-instructions`).
 *
 * Usage: instr OP N    run N operations of OP with callgrind's instrumentation switched on
 *                      around the loop only (CALLGRIND_START/STOP_INSTRUMENTATION; run
 *                      valgrind with --instr-atstart=no).  Exit 0, or 2 with one line on a
 *                      bad OP or N.
 *        instr --list  print "OP<TAB>unit<TAB>what" for every OP.
 * scripts/bench-instructions runs every OP twice (N and 11 N) and reports
 * (Ir(11 N) - Ir(N)) / 10 N, the steady-state instructions per operation with setup,
 * warm-up and the toggles cancelled out.  Outside valgrind the macros are no-ops, so the
 * driver also runs as a plain program (make test runs each OP once, for correctness).
 *
 * Ours run on 1 P (GOMAXPROCS=1): with one P no second M exists, so the instruction count
 * of the M's thread is the whole cost of the operation.  Peers: Boost.Context's fcontext
 * (the bare register swap), Boost.Fiber (fiber.cc) and State Threads (M:1, libst).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else /* no valgrind headers: a plain program (make test-instr), toggles are no-ops */
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define RUNNING_ON_VALGRIND 0
#endif

#include <st.h>

#include "../harness/fcontext.h"
#include "mn.h"

static long n_ops;

void instr_start(void)
{
    CALLGRIND_START_INSTRUMENTATION;
}

void instr_stop(void)
{
    CALLGRIND_STOP_INSTRUMENTATION;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "instr: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    exit(1);
}

/* run_mn - run main_fn as the main G of a 1-P runtime. */
static void run_mn(int (*main_fn)(void *), void *arg)
{
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = 1;
        rc = mn_init(&cfg);
    }
    if (rc < 0)
        die("mn_init", rc);
    if ((rc = mn_run(main_fn, arg)) < 0)
        die("mn_run", rc);
    if (mn_fini() < 0)
        abort();
}

/* ==== ours: yield switch (one op = one mn_gosched = one G-to-G switch) =================== */

static volatile int yield_stop;

static void yield_partner(void *p)
{
    (void)p;
    while (!yield_stop)
        mn_gosched();
}

static int yield_main(void *p)
{
    (void)p;
    if (mn_go(yield_partner, NULL) < 0)
        die("mn_go", EAGAIN);
    mn_gosched();
    mn_gosched();
    instr_start();
    /* each mn_gosched here switches to the partner, whose mn_gosched switches back: two
     * switches per iteration, so n_ops/2 iterations */
    for (long i = 0; i < n_ops / 2; i++)
        mn_gosched();
    instr_stop();
    yield_stop = 1;
    mn_gosched();
    return 0;
}

/* ==== ours: unbuffered channel round trip (one op = send + receive both ways) ============ */

static struct mn_chan *c1, *c2;

static void chan_partner(void *p)
{
    (void)p;
    long v;
    bool ok;
    while (mn_chan_recv(c1, &v, &ok) == 0 && ok)
        if (mn_chan_send(c2, &v) < 0)
            break;
}

static int chan_main(void *p)
{
    (void)p;
    long v = 1;
    bool ok;
    if (mn_chan_make(&c1, sizeof(long), 0) < 0 || mn_chan_make(&c2, sizeof(long), 0) < 0)
        die("mn_chan_make", ENOMEM);
    if (mn_go(chan_partner, NULL) < 0)
        die("mn_go", EAGAIN);
    for (int i = 0; i < 2; i++)
        if (mn_chan_send(c1, &v) < 0 || mn_chan_recv(c2, &v, &ok) < 0)
            die("warm-up", EPIPE);
    instr_start();
    for (long i = 0; i < n_ops; i++)
        if (mn_chan_send(c1, &v) < 0 || mn_chan_recv(c2, &v, &ok) < 0)
            abort();
    instr_stop();
    if (mn_chan_close(c1) < 0)
        abort();
    mn_gosched();
    return 0;
}

/* ==== ours: spawn + run + exit, in batches (one op = one G) ============================= */

static long spawn_batch;
static struct mn_wg spawn_wg;

static void spawn_child(void *p)
{
    mn_wg_done(p);
}

static void spawn_round(long n)
{
    mn_wg_add(&spawn_wg, n);
    for (long i = 0; i < n; i++)
        if (mn_go(spawn_child, &spawn_wg) < 0)
            die("mn_go", ENOMEM);
    if (mn_wg_wait(&spawn_wg) < 0)
        abort();
}

static int spawn_main(void *p)
{
    (void)p;
    mn_wg_init(&spawn_wg);
    spawn_round(spawn_batch); /* warm-up: fills the free lists */
    instr_start();
    for (long done = 0; done < n_ops; done += spawn_batch)
        spawn_round(spawn_batch);
    instr_stop();
    return 0;
}

/* ==== ours: G mutex, uncontended and handed between two Gs ============================== */

static struct mn_mutex mu;
static long mu_count;

static int mutex_main(void *p)
{
    (void)p;
    mn_mutex_init(&mu, "instr.mutex");
    mn_mutex_lock(&mu);
    mn_mutex_unlock(&mu);
    instr_start();
    for (long i = 0; i < n_ops; i++) {
        mn_mutex_lock(&mu);
        mu_count++;
        mn_mutex_unlock(&mu);
    }
    instr_stop();
    return 0;
}

/* contended: two Gs, each holds the lock across a yield, so every lock call finds it held
 * by the other G and parks: one op = lock (park, wake) + unlock (wake the other) + the
 * yield inside the critical section. */
static struct mn_wg mu_wg;

static void mutex_worker(void *p)
{
    long n = (long)p;
    for (long i = 0; i < n; i++) {
        mn_mutex_lock(&mu);
        mu_count++;
        mn_gosched();
        mn_mutex_unlock(&mu);
    }
    mn_wg_done(&mu_wg);
}

static int mutex_contend_main(void *p)
{
    (void)p;
    mn_mutex_init(&mu, "instr.mutex");
    mn_wg_init(&mu_wg);
    mn_wg_add(&mu_wg, 2);
    instr_start();
    for (int k = 0; k < 2; k++)
        if (mn_go(mutex_worker, (void *)(n_ops / 2)) < 0)
            die("mn_go", EAGAIN);
    if (mn_wg_wait(&mu_wg) < 0)
        abort();
    instr_stop();
    return 0;
}

/* ==== peers: Boost.Context fcontext (one op = one jump) ================================= */

static void fctx_partner(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

static void op_fcontext(void)
{
    static char stack[65536] __attribute__((aligned(16)));
    fcontext_t f = make_fcontext(stack + sizeof stack, sizeof stack, fctx_partner);
    transfer_t t = jump_fcontext(f, NULL);
    instr_start();
    for (long i = 0; i < n_ops / 2; i++)
        t = jump_fcontext(t.fctx, NULL);
    instr_stop();
}

/* ==== peers: State Threads (M:1) ======================================================== */

static st_cond_t st_c[2];
static int st_turn;

/* hand-off: two threads pass a turn through two condition variables; one op = a round
 * trip (two hand-offs), State Threads' stand-in for an unbuffered channel. */
static void *st_partner(void *p)
{
    (void)p;
    for (;;) {
        while (st_turn != 1)
            st_cond_wait(st_c[1]);
        st_turn = 0;
        st_cond_signal(st_c[0]);
    }
    return NULL;
}

/* State Threads' st_init raises RLIMIT_NOFILE's soft limit to the hard one; valgrind
 * refuses that (it keeps fds for itself), so under valgrind the call is made a no-op.
 * Outside valgrind this forwards to the kernel unchanged. */
int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
    if (RUNNING_ON_VALGRIND && res == RLIMIT_NOFILE)
        return 0;
    return prlimit(0, res, rl, NULL);
}

static void st_setup(void)
{
    if (st_init() < 0)
        die("st_init", errno);
}

static void op_st_handoff(void)
{
    st_setup();
    st_c[0] = st_cond_new();
    st_c[1] = st_cond_new();
    if (!st_thread_create(st_partner, NULL, 0, 65536))
        die("st_thread_create", errno);
    for (long i = -2; i < n_ops; i++) {
        if (i == 0)
            instr_start();
        st_turn = 1;
        st_cond_signal(st_c[1]);
        while (st_turn != 0)
            st_cond_wait(st_c[0]);
    }
    instr_stop();
}

static void *st_child(void *p)
{
    (void)p;
    return NULL;
}

/* spawn: create a batch of joinable threads, join them all; one op = one thread. */
static void st_round(st_thread_t *t, long n)
{
    for (long i = 0; i < n; i++)
        if (!(t[i] = st_thread_create(st_child, NULL, 1, 65536)))
            die("st_thread_create", errno);
    for (long i = 0; i < n; i++)
        st_thread_join(t[i], NULL);
}

static void op_st_spawn(void)
{
    st_setup();
    st_thread_t *t = malloc((size_t)spawn_batch * sizeof *t);
    if (!t)
        die("malloc", ENOMEM);
    st_round(t, spawn_batch);
    instr_start();
    for (long done = 0; done < n_ops; done += spawn_batch)
        st_round(t, spawn_batch);
    instr_stop();
    free(t);
}

/* ==== peers: Boost.Fiber (fiber.cc) ====================================================== */

void instr_fiber_yield(long n);
void instr_fiber_chan(long n);
void instr_fiber_spawn(long n, long batch);

static void op_fiber_yield(void)
{
    instr_fiber_yield(n_ops);
}
static void op_fiber_chan(void)
{
    instr_fiber_chan(n_ops);
}
static void op_fiber_spawn(void)
{
    instr_fiber_spawn(n_ops, spawn_batch);
}

/* ==== table ============================================================================== */

static int (*mn_main_fn)(void *);
static void op_mn(void)
{
    run_mn(mn_main_fn, NULL);
}

struct op {
    const char *name; /* the results row is instr/<name> */
    const char *unit; /* what one op is */
    int (*mn_main)(void *);
    void (*peer)(void);
    long batch;
    const char *what;
};

static const struct op ops[] = {
    {"switch/g_yield/procs:1", "switch", yield_main, NULL, 0,
     "ours: one mn_gosched between two Gs on 1 P (one G-to-G switch)"},
    {"switch/g_chan/procs:1", "roundtrip", chan_main, NULL, 0,
     "ours: unbuffered channel round trip (send+recv each way) between two Gs on 1 P"},
    {"spawn/g/procs:1/batch:1000", "spawn", spawn_main, NULL, 1000,
     "ours: mn_go + run + mn_wg_done + exit, batches of 1000, 1 P"},
    {"spawn/g/procs:1/batch:100000", "spawn", spawn_main, NULL, 100000,
     "ours: the same with 100000 live Gs per batch"},
    {"spawn/g/procs:1/batch:1000000", "spawn", spawn_main, NULL, 1000000,
     "ours: the same with 1e6 live Gs per batch"},
    {"mutex/uncontended/procs:1", "lock+unlock", mutex_main, NULL, 0,
     "ours: mn_mutex_lock + unlock, no other G"},
    {"mutex/handoff/procs:1", "lock+unlock", mutex_contend_main, NULL, 0,
     "ours: two Gs each holding the lock across a yield: every lock parks"},
    {"switch/fcontext", "switch", NULL, op_fcontext, 0,
     "peer: Boost.Context jump_fcontext (bare register swap)"},
    {"switch/fiber_yield", "switch", NULL, op_fiber_yield, 0,
     "peer: Boost.Fiber this_fiber::yield between two fibers"},
    {"switch/fiber_chan", "roundtrip", NULL, op_fiber_chan, 0,
     "peer: Boost.Fiber unbuffered_channel round trip between two fibers"},
    {"switch/st_handoff", "roundtrip", NULL, op_st_handoff, 0,
     "peer: State Threads condition-variable hand-off round trip"},
    {"spawn/fiber/batch:1000", "spawn", NULL, op_fiber_spawn, 1000,
     "peer: Boost.Fiber fiber create + join, batches of 1000"},
    {"spawn/st/batch:1000", "spawn", NULL, op_st_spawn, 1000,
     "peer: State Threads st_thread_create + join, batches of 1000"},
};

int main(int argc, char **argv)
{
    size_t nops = sizeof ops / sizeof ops[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < nops; i++)
            printf("%s\t%s\t%s\n", ops[i].name, ops[i].unit, ops[i].what);
        return 0;
    }
    char *end = NULL;
    long n = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || !end || *end || n < 2) {
        fprintf(stderr, "instr: usage: instr OP N (N >= 2) | instr --list\n");
        return 2;
    }
    for (size_t i = 0; i < nops; i++) {
        if (strcmp(ops[i].name, argv[1]) != 0)
            continue;
        n_ops = n;
        spawn_batch = ops[i].batch;
        if (spawn_batch && n % spawn_batch) {
            fprintf(stderr, "instr: %s: N must be a multiple of %ld\n", argv[1], spawn_batch);
            return 2;
        }
        if (ops[i].mn_main) {
            mn_main_fn = ops[i].mn_main;
            op_mn();
        } else {
            ops[i].peer();
        }
        return 0;
    }
    fprintf(stderr, "instr: unknown OP '%s' (instr --list)\n", argv[1]);
    return 2;
}
