/*
 * harness_empty.c - the harness's own loop overhead (lmbench's "measure and subtract").
 *
 * What is measured: `while (bench_keep_running(st))` with nothing in the body but a
 * compiler barrier, i.e. the per-iteration cost every other row includes.
 * Claims: none (row `harness/empty`, FORMAT.md); it tells how far ns-scale rows
 * (switch/fcontext, runq/op) are from the harness's floor.
 * Counters: ns_per_op = wall-clock ns per iteration.
 * How to read: expect well under 1 ns (a decrement and a predicted branch per iteration;
 * the iteration count reaches Google Benchmark in one batch).  Other rows do not subtract
 * it; when it is under 1 ns it is below their run-to-run spread.
 */
#include "bench.h"

static void bm_harness_empty(struct bench_state *st)
{
    while (bench_keep_running(st))
        __asm__ volatile("" ::: "memory");
    bench_set_per_op_ns(st, "ns_per_op", 1.0);
}

BENCH_REGISTER(.name = "harness/empty",
               .summary = "empty loop body: the harness's per-iteration overhead", .claims = "",
               .fn = bm_harness_empty);
