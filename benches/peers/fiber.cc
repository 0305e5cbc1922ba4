// benches/peers/fiber.cc - Boost.Fiber peer rows for the bench binary: yield,
// unbuffered-channel round trip, spawn+join and the skynet tree, all fibers on the calling
// thread (Boost.Fiber's default round-robin scheduler).  C-callable; the rows are
// registered by benches/peers.c, which calls these with its bench_state.
#include <boost/fiber/all.hpp>

#include <exception>
#include <vector>

#include "bench.h"
#include "fiber_pair.h"

extern "C" {
void peer_fiber_yield(struct bench_state *st);
void peer_fiber_chan(struct bench_state *st);
void peer_fiber_spawn(struct bench_state *st, long batch);
long peer_fiber_skynet(long leaves);
}

// one iteration = this fiber yields to the partner and the partner yields back (2 switches)
void peer_fiber_yield(struct bench_state *st)
{
    fiber_yield_pair([st](auto yield) {
        while (bench_keep_running(st))
            yield();
    });
}

// one iteration = a round trip: push on c1, pop on c2; the partner does the reverse
void peer_fiber_chan(struct bench_state *st)
{
    fiber_chan_pair([st](auto round_trip) {
        round_trip();
        while (bench_keep_running(st))
            round_trip();
    });
}

// one iteration = `batch` fibers created, run to their end and joined
void peer_fiber_spawn(struct bench_state *st, long batch)
{
    std::vector<boost::fibers::fiber> fs;
    fs.reserve((size_t)batch);
    long sink = 0;
    while (bench_keep_running(st)) {
        for (long i = 0; i < batch; i++)
            fs.emplace_back([&sink] { sink++; });
        for (auto &f : fs)
            f.join();
        fs.clear();
    }
    bench_do_not_optimize(&sink);
}

static void sky(boost::fibers::unbuffered_channel<long> &out, long num, long size)
{
    if (size == 1) {
        out.push(num);
        return;
    }
    boost::fibers::unbuffered_channel<long> c;
    long sub = size / 10, sum = 0, v;
    // launch::dispatch runs the child at once (the parent waits in the ready queue), as
    // Go's and our runnext do; with the default post, the round-robin queue walks the tree
    // breadth-first and holds all 1.1M fibers (and stacks) alive at once
    for (int i = 0; i < 10; i++)
        boost::fibers::fiber(boost::fibers::launch::dispatch, [&c, num, i, sub] {
            sky(c, num + i * sub, sub);
        }).detach();
    for (int i = 0; i < 10; i++) {
        c.pop(v);
        sum += v;
    }
    out.push(sum);
}

// the skynet tree of benches/skynet.c: 10-way fan-out, unbuffered channels
long peer_fiber_skynet(long leaves)
{
    try {
        boost::fibers::unbuffered_channel<long> top;
        boost::fibers::fiber root([&top, leaves] { sky(top, 0, leaves); });
        long v = -1;
        top.pop(v);
        root.join();
        return v;
    } catch (const std::exception &) {
        return -1;
    }
}
