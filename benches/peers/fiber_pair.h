// benches/peers/fiber_pair.h - the Boost.Fiber pairs both fiber peers measure (the bench
// binary's rows, benches/peers/fiber.cc, and the instruction driver, benches/instr/fiber.cc),
// written once.  Each starts a partner fiber on the calling thread, hands `loop` the one
// operation to repeat, and stops and joins the partner when `loop` returns.
#ifndef FIBER_PAIR_H
#define FIBER_PAIR_H

#include <boost/fiber/all.hpp>

// fiber_yield_pair - loop(yield): yield() is one this_fiber::yield, a switch to the partner
// (which yields straight back).  The partner has run once before loop starts.
template <class Loop> void fiber_yield_pair(Loop loop)
{
    bool stop = false;
    boost::fibers::fiber partner([&stop] {
        while (!stop)
            boost::this_fiber::yield();
    });
    boost::this_fiber::yield();
    loop([] { boost::this_fiber::yield(); });
    stop = true;
    partner.join();
}

// fiber_chan_pair - loop(round_trip): round_trip() pushes a value on an unbuffered channel
// and pops the partner's echo from a second one (a round trip, two hand-offs).
template <class Loop> void fiber_chan_pair(Loop loop)
{
    boost::fibers::unbuffered_channel<long> c1, c2;
    boost::fibers::fiber partner([&] {
        long v;
        while (c1.pop(v) == boost::fibers::channel_op_status::success)
            c2.push(v);
    });
    long v = 1;
    loop([&] {
        c1.push(v);
        c2.pop(v);
    });
    c1.close();
    partner.join();
}

#endif
