/*
 * benches/falseshare.c - how large false sharing can be on this host (sanity row for T3).
 *
 * What is measured
 *   Two threads, pinned to the first and second CPU of the affinity mask, each increment
 *   their own 64-bit counter as fast as they can.  The bench thread (CPU 0) runs the timed
 *   loop, one increment per iteration; the partner (CPU 1) increments its own counter
 *   from the ready/go barrier until the loop has ended.  An increment is a relaxed atomic
 *   load plus a relaxed atomic store (plain `mov; add; mov`, no lock prefix): each counter
 *   has one writer, so this is the cheapest write that still reaches memory every time.
 *     falseshare/same_line       both counters in one 64-byte-aligned line (8 bytes apart)
 *     falseshare/separate_lines  the counters 128 bytes apart: different 64-byte lines and
 *                                different 128-byte pairs, so the adjacent-line
 *                                prefetcher cannot tie them together either
 *   Excluded: thread creation, pinning and the barrier (all before the timer starts).
 *
 * Claims
 *   None directly; it is the sanity row for T3.latency and T3.l1hit: it shows what an
 *   unpadded line written by two CPUs costs here, which bounds what padding P's
 *   runqhead/runqtail apart (benches/runq_padding.c) could possibly gain.
 *
 * Arguments
 *   none.
 *
 * Counters
 *   ns_per_op           wall-clock ns per increment of the bench thread
 *   partner_ops_per_s   increments per second the partner made while the loop ran
 *   Harness counters (PAPI_L1_DCM, ...) where a PMU exists; this KVM guest has none.
 *
 * How to read
 *   separate_lines is the cost of an increment that stays in the core's L1: a chain of
 *   load, add, store on one address, which cores that forward or rename stores (AMD Zen,
 *   recent Intel) run at about one cycle per increment.  same_line adds a coherence miss
 *   whenever the partner wrote the line since our last write: the ratio
 *   same_line / separate_lines is the false-sharing penalty for a line written by two CPUs
 *   at full rate.  A run-queue whose head and tail share a line is written far less often
 *   than this, so its penalty is at most this ratio and usually much less.
 *
 * Confounders and host conditions
 *   Needs 2 CPUs in the affinity mask, else the rows skip with `n/a: needs 2 CPUs`.  On a
 *   VM the two vCPUs may be SMT siblings of one host core (then the line never leaves the
 *   shared L1 and the penalty is small) or on different cores/sockets (large penalty):
 *   the verdict is about this host's placement, which the guest cannot see.  If another
 *   process keeps a vCPU busy the partner runs less often and same_line looks cheaper;
 *   check partner_ops_per_s is of the same order in both rows.  Real time throughout.
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* Two counters in one 64-byte line, or 128 bytes apart; the struct is 256-byte aligned so
 * the layout does not depend on where the allocator or the stack put it. */
struct fs_counters {
    _Alignas(256) uint64_t words[32]; /* 256 bytes: words[0], words[1] or words[16] */
};

struct fs_run {
    uint64_t *mine;           /* bench thread's counter */
    uint64_t *theirs;         /* partner's counter */
    struct bench_gate gate;   /* partner pinned and waiting / start / loop ended */
    int pin_rc;               /* partner's bench_pin_self result */
    double start_ns, stop_ns; /* partner's own window (CLOCK_MONOTONIC) */
    uint64_t partner_ops;
};

/* fs_inc - one increment of a counter that only the calling thread writes. */
static inline void fs_inc(uint64_t *c)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static void *fs_partner(void *arg)
{
    struct fs_run *r = arg;
    prctl(PR_SET_NAME, "fs-partner", 0, 0, 0);
    r->pin_rc = bench_pin_self(1);
    bench_gate_arrive(&r->gate);
    r->start_ns = (double)bench_now_ns();
    uint64_t n = 0;
    while (bench_gate_running(&r->gate)) {
        /* 64 increments per check of stop, so the stop flag's line is rarely read. */
        for (int i = 0; i < 64; i++)
            fs_inc(r->theirs);
        n += 64;
    }
    r->stop_ns = (double)bench_now_ns();
    r->partner_ops = n;
    return NULL;
}

static void fs_bench(struct bench_state *st, size_t partner_word)
{
    if (bench_ncpus() < 2) {
        bench_skip(st, "n/a: needs 2 CPUs");
        return;
    }
    cpu_set_t saved;
    if (!bench_pin_saving(st, &saved, 0))
        return;
    struct fs_counters *c = aligned_alloc(256, sizeof(*c));
    if (!c) {
        fprintf(stderr, "bench: falseshare: out of memory\n");
        abort();
    }
    memset(c, 0, sizeof(*c));
    struct fs_run r = {.mine = &c->words[0], .theirs = &c->words[partner_word]};
    pthread_t t;
    if (pthread_create(&t, NULL, fs_partner, &r) != 0) {
        fprintf(stderr, "bench: falseshare: pthread_create failed\n");
        abort();
    }
    bench_gate_wait_ready(&r.gate, 1);
    if (r.pin_rc != 0) {
        bench_gate_stop(&r.gate);
        pthread_join(t, NULL);
        free(c);
        bench_affinity_restore(&saved);
        bench_skip(st, "n/a: cannot pin to CPU 1");
        return;
    }
    bench_gate_open(&r.gate);

    uint64_t *mine = r.mine;
    while (bench_keep_running(st))
        fs_inc(mine);

    bench_gate_stop(&r.gate);
    pthread_join(t, NULL);
    bench_set_per_op_ns(st, "ns_per_op", 1.0);
    double win = r.stop_ns - r.start_ns;
    bench_set_counter(st, "partner_ops_per_s", win > 0 ? (double)r.partner_ops / (win / 1e9) : 0,
                      BENCH_C_PLAIN);
    bench_do_not_optimize(c);
    free(c);
    bench_affinity_restore(&saved);
}

static void bm_falseshare_same_line(struct bench_state *st)
{
    fs_bench(st, 1); /* words[0] and words[1]: bytes 0 and 8 of one line */
}

static void bm_falseshare_separate_lines(struct bench_state *st)
{
    fs_bench(st, 16); /* words[0] and words[16]: bytes 0 and 128 */
}

BENCH_REGISTER(.name = "falseshare/same_line",
               .summary = "two pinned threads increment counters in one cache line",
               .claims = "T3.latency", .fn = bm_falseshare_same_line, .real_time = true);

BENCH_REGISTER(.name = "falseshare/separate_lines",
               .summary = "two pinned threads increment counters 128 bytes apart",
               .claims = "T3.latency", .fn = bm_falseshare_separate_lines, .real_time = true);
