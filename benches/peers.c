/*
 * benches/peers.c - the C user-level thread libraries measurable from Debian, beside ours:
 * Boost.Fiber (libboost-fiber-dev, M:1 here, benches/peers/fiber.cc) and State
 * Threads (libst-dev, M:1).  The skynet rows are in benches/skynet.c.
 *
 * What is measured (wall-clock time)
 *   switch/fiber_yield          two fibers calling this_fiber::yield; one iteration = 2
 *                               switches (as switch/g_yield)
 *   switch/fiber_chan           unbuffered_channel ping-pong; one iteration = a round trip
 *                               (as switch/g_chan)
 *   switch/st_handoff           State Threads: two threads hand a turn through two
 *                               condition variables (st_cond_signal / st_cond_wait; ST has
 *                               no channel); one iteration = a round trip
 *   spawn/fiber/batch:1000      fiber create + run + join, batches of 1000 (as spawn/g)
 *   spawn/st/batch:1000         st_thread_create (joinable, 64 KiB stack, as our default)
 *                               + run + st_thread_join, batches of 1000
 *   Excluded: library set-up (st_init, the first fiber's scheduler).
 *
 * Claims: T1.switch.g, T1.create.g (peer rows).
 * Counters: ns_per_switch, ns_per_roundtrip (both on every switch row), ns_per_spawn.
 * How to read: ours/peer on the same operation in the same run (README speed table).
 * Host conditions: none.
 */
#include "bench.h"

#include <errno.h>
#include <st.h>
#include <stdlib.h>
#include <string.h>

void peer_fiber_yield(struct bench_state *st);
void peer_fiber_chan(struct bench_state *st);
void peer_fiber_spawn(struct bench_state *st, long batch);

#define PEER_BATCH 1000

static void report_rt(struct bench_state *st)
{
    bench_set_per_op_ns(st, "ns_per_roundtrip", 1.0);
    bench_set_per_op_ns(st, "ns_per_switch", 2.0);
}

/* ==== Boost.Fiber ========================================================================= */

static void bm_fiber_yield(struct bench_state *st)
{
    peer_fiber_yield(st);
    report_rt(st);
}
BENCH_REGISTER(.name = "switch/fiber_yield", .summary = "Boost.Fiber: two fibers yielding (peer)",
               .claims = "T1.switch.g", .fn = bm_fiber_yield, .real_time = true);

static void bm_fiber_chan(struct bench_state *st)
{
    peer_fiber_chan(st);
    report_rt(st);
}
BENCH_REGISTER(.name = "switch/fiber_chan",
               .summary = "Boost.Fiber: unbuffered_channel ping-pong (peer)",
               .claims = "T1.switch.g", .fn = bm_fiber_chan, .real_time = true);

static void bm_fiber_spawn(struct bench_state *st)
{
    peer_fiber_spawn(st, PEER_BATCH);
    bench_set_per_op_ns(st, "ns_per_spawn", PEER_BATCH);
}
BENCH_REGISTER(.name = "spawn/fiber",
               .summary = "Boost.Fiber: create+run+join, batches of 1000 (peer)",
               .claims = "T1.create.g", .fn = bm_fiber_spawn,
               .args = {BENCH_ARG("batch", BENCH_V(PEER_BATCH))}, .real_time = true);

/* ==== State Threads ========================================================================= */

/* st_ready - st_init once per process (it makes the calling thread ST's primordial thread;
 * the harness runs every bench on that same thread). */
static int st_ready(struct bench_state *st)
{
    static int done, rc;
    if (!done) {
        rc = st_init() < 0 ? -errno : 0;
        done = 1;
    }
    if (rc < 0)
        bench_skip_errno(st, "st_init", rc);
    return rc;
}

struct st_pp {
    st_cond_t c[2];
    int turn, stop;
};

static void *st_partner(void *p)
{
    struct st_pp *a = p;
    for (;;) {
        while (a->turn != 1)
            st_cond_wait(a->c[1]);
        if (a->stop)
            return NULL;
        a->turn = 0;
        st_cond_signal(a->c[0]);
    }
}

static void bm_st_handoff(struct bench_state *st)
{
    if (st_ready(st) < 0)
        return;
    struct st_pp a = {.c = {st_cond_new(), st_cond_new()}};
    st_thread_t t = st_thread_create(st_partner, &a, 1, 65536);
    if (!a.c[0] || !a.c[1] || !t) {
        bench_skip(st, "n/a: st_thread_create/st_cond_new failed");
        return;
    }
    while (bench_keep_running(st)) {
        a.turn = 1;
        st_cond_signal(a.c[1]);
        while (a.turn != 0)
            st_cond_wait(a.c[0]);
    }
    a.stop = 1;
    a.turn = 1;
    st_cond_signal(a.c[1]);
    st_thread_join(t, NULL);
    st_cond_destroy(a.c[0]);
    st_cond_destroy(a.c[1]);
    report_rt(st);
}
BENCH_REGISTER(.name = "switch/st_handoff",
               .summary = "State Threads: condition-variable hand-off round trip (peer)",
               .claims = "T1.switch.g", .fn = bm_st_handoff, .real_time = true);

static void *st_child(void *p)
{
    (*(long *)p)++;
    return NULL;
}

static void bm_st_spawn(struct bench_state *st)
{
    if (st_ready(st) < 0)
        return;
    st_thread_t t[PEER_BATCH];
    long sink = 0;
    while (bench_keep_running(st)) {
        for (int i = 0; i < PEER_BATCH; i++)
            if (!(t[i] = st_thread_create(st_child, &sink, 1, 65536)))
                abort(); /* out of memory mid-loop: nothing sensible to report */
        for (int i = 0; i < PEER_BATCH; i++)
            st_thread_join(t[i], NULL);
    }
    bench_set_per_op_ns(st, "ns_per_spawn", PEER_BATCH);
}
BENCH_REGISTER(.name = "spawn/st",
               .summary = "State Threads: create+run+join, batches of 1000 (peer)",
               .claims = "T1.create.g", .fn = bm_st_spawn,
               .args = {BENCH_ARG("batch", BENCH_V(PEER_BATCH))}, .real_time = true);
