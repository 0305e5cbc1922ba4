// benches/instr/fiber.cc - Boost.Fiber peers of the instruction driver (instr.c): yield,
// unbuffered-channel round trip and spawn+join, all fibers on the calling thread (Boost's
// default round-robin scheduler).  C-callable; instr_start/instr_stop bracket the loop.
#include <boost/fiber/all.hpp>

#include <vector>

#include "../peers/fiber_pair.h"

extern "C" {
void instr_start(void);
void instr_stop(void);
void instr_fiber_yield(long n);
void instr_fiber_chan(long n);
void instr_fiber_spawn(long n, long batch);
}

// one op = one this_fiber::yield (one fiber-to-fiber switch); two fibers alternate
void instr_fiber_yield(long n)
{
    fiber_yield_pair([n](auto yield) {
        yield();
        instr_start();
        for (long i = 0; i < n / 2; i++)
            yield();
        instr_stop();
    });
}

// one op = a round trip: push on c1, pop on c2; the partner does the reverse
void instr_fiber_chan(long n)
{
    fiber_chan_pair([n](auto round_trip) {
        round_trip();
        round_trip();
        instr_start();
        for (long i = 0; i < n; i++)
            round_trip();
        instr_stop();
    });
}

static void fiber_round(std::vector<boost::fibers::fiber> &fs, long batch)
{
    for (long i = 0; i < batch; i++)
        fs.emplace_back([] {});
    for (auto &f : fs)
        f.join();
    fs.clear();
}

// one op = one fiber created, run to its end and joined; batches of `batch`
void instr_fiber_spawn(long n, long batch)
{
    std::vector<boost::fibers::fiber> fs;
    fs.reserve((size_t)batch);
    fiber_round(fs, batch);
    instr_start();
    for (long done = 0; done < n; done += batch)
        fiber_round(fs, batch);
    instr_stop();
}
