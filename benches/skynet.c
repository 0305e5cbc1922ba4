/*
 * benches/skynet.c - skynet: a fan-out/fan-in tree of 1M leaves, ours against Boost.Fiber
 * (and Go: benches/go/skynet.go), on 1 P and on every CPU.
 *
 * What is measured (wall-clock time; one iteration = one whole tree)
 *   skynet/g/leaves:<L>/procs:{1,all}   the main G starts skynet(0, L): a node of size s > 1
 *                               makes an unbuffered channel, starts 10 child Gs for the
 *                               sizes s/10 and receives their 10 sums; a leaf sends its
 *                               number.  1,111,111 Gs for 1M leaves; the answer L(L-1)/2 is
 *                               checked.  procs:all = one P per CPU of the mask, Ms unpinned.
 *   skynet/fiber/leaves:<L>      the same tree with Boost.Fiber fibers and
 *                               boost::fibers::unbuffered_channel, on the calling thread
 *                               (benches/peers/fiber.cc).  100k leaves only: Boost.Fiber's
 *                               FIFO ready queue keeps nearly every fiber of the tree alive
 *                               at once, and at 1M leaves that took 7.4 GB RSS and 70 s per
 *                               tree on the 24 GiB, 2-vCPU development host (ours: 0.3 GB);
 *                               compare per leaf with skynet/g/leaves:100000.
 *   Excluded: runtime start and stop.
 *
 * Claims: T5.idle (label only: cpu_per_wall is the P-utilisation view; the rows feed issue
 * 18's ours/peer table, shown under T1.switch.g in scripts/claims.toml).
 *
 * Counters
 *   ns_per_leaf     wall ns per leaf = real time / L
 *   cpu_per_wall    process CPU time (user + sys, getrusage) / wall time of the tree: the
 *                   CPUs kept busy on average; the 1 P -> all Ps "extra CPU" reading
 *   steals, globrunq_takes  (ours) runqsteal successes and Gs taken from the global queue
 *                   per tree: how the work spread between Ps
 *
 * How to read: procs:all / procs:1 time is the parallel speed-up; compare it and the rise of
 * cpu_per_wall with go/skynet's (the same tree, Go's scheduler).
 *
 * Host conditions: none.  The smoke preset (make test) runs leaves:1000.
 */
#include "bench.h"
#include "mn.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define SKY_DIV 10

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static long leaves_for(struct bench_state *st)
{
    return bench_arg(st, "leaves");
}

/* ==== ours ============================================================================== */

struct sky_node {
    struct mn_chan *out; /* parent's channel */
    long num, size;
};

static void sky_g(void *p);

/* sky_run - the value of the subtree (num, size): a leaf's number, or the sum of its 10
 * children, started as Gs that send on a fresh unbuffered channel. */
static long sky_run(long num, long size)
{
    if (size == 1)
        return num;
    struct mn_chan *c;
    if (mn_chan_make(&c, sizeof(long), 0) < 0)
        abort();
    struct sky_node kids[SKY_DIV];
    long sub = size / SKY_DIV, sum = 0, v;
    for (int i = 0; i < SKY_DIV; i++) {
        kids[i] = (struct sky_node){c, num + i * sub, sub};
        if (mn_go(sky_g, &kids[i]) < 0)
            abort(); /* out of memory: no way to report from inside the tree */
    }
    for (int i = 0; i < SKY_DIV; i++) {
        bool ok;
        if (mn_chan_recv(c, &v, &ok) < 0 || !ok)
            abort();
        sum += v;
    }
    if (mn_chan_free(c) < 0)
        abort();
    return sum;
}

/* the child's node lives in the parent's frame, which stays until all 10 have sent */
static void sky_g(void *p)
{
    struct sky_node n = *(struct sky_node *)p;
    long v = sky_run(n.num, n.size);
    if (mn_chan_send(n.out, &v) < 0)
        abort();
}

struct sky_arg {
    struct bench_state *st;
    long leaves;
    long bad;
    double cpu, wall_ns;
    struct mn_stats s0, s1;
};

static int sky_main(void *p)
{
    struct sky_arg *a = p;
    if (mn_stats_read(&a->s0) < 0)
        return 0;
    double c0 = cpu_s();
    while (bench_keep_running(a->st)) {
        long got = sky_run(0, a->leaves);
        if (got != a->leaves * (a->leaves - 1) / 2)
            a->bad++;
    }
    a->cpu = cpu_s() - c0;
    a->wall_ns = bench_elapsed_ns(a->st);
    bench_ignore(mn_stats_read(&a->s1));
    return 0;
}

static void report(struct bench_state *st, long leaves, double cpu, double wall_ns)
{
    double it = (double)bench_iterations(st);
    bench_set_per_op_ns(st, "ns_per_leaf", (double)leaves);
    bench_set_counter(st, "cpu_per_wall", wall_ns > 0 ? cpu * 1e9 / wall_ns : 0, BENCH_C_PLAIN);
    bench_set_counter(st, "leaves", (double)leaves, BENCH_C_PLAIN);
    (void)it;
}

static void bm_skynet_g(struct bench_state *st)
{
    struct sky_arg a = {.st = st, .leaves = leaves_for(st)};
    long procs = bench_arg(st, "procs");
    struct mn_config cfg;
    int rc = mn_config_init(&cfg);
    if (rc == 0) {
        cfg.gomaxprocs = procs == BENCH_ALL ? bench_ncpus() : (int)procs;
        if (cfg.gomaxprocs > MN_MAX_PROCS)
            cfg.gomaxprocs = MN_MAX_PROCS;
    }
    if (rc < 0) {
        bench_skip_errno(st, "mn_config_init", rc);
        return;
    }
    if (bench_run_runtime(st, &cfg, sky_main, &a) < 0)
        return;
    if (a.bad) {
        bench_skip(st, "n/a: skynet sum wrong (runtime bug)");
        return;
    }
    double it = (double)bench_iterations(st);
    report(st, a.leaves, a.cpu, a.wall_ns);
    if (it > 0) {
        bench_set_counter(st, "steals", (double)(a.s1.steals - a.s0.steals) / it, BENCH_C_PLAIN);
        bench_set_counter(st, "globrunq_takes",
                          (double)(a.s1.globrunq_takes - a.s0.globrunq_takes) / it, BENCH_C_PLAIN);
    }
}

BENCH_REGISTER(.name = "skynet/g",
               .summary =
                   "skynet tree of 100k and 1M leaves (10-way fan-out, unbuffered channels), ours",
               .claims = "T5.idle", .fn = bm_skynet_g,
               .args = {BENCH_ARG_QFS("leaves", BENCH_V(100000, 1000000), BENCH_V(100000, 1000000),
                                      BENCH_V(1000)),
                        BENCH_ARG("procs", BENCH_V(1, BENCH_ALL))},
               .real_time = true, .iterations = 1);

/* ==== Boost.Fiber (benches/peers/fiber.cc) ================================================ */

long peer_fiber_skynet(long leaves); /* the tree's sum, or -1 (an exception) */

static void bm_skynet_fiber(struct bench_state *st)
{
    long leaves = leaves_for(st), bad = 0;
    double c0 = cpu_s();
    while (bench_keep_running(st))
        if (peer_fiber_skynet(leaves) != leaves * (leaves - 1) / 2)
            bad++;
    double cpu = cpu_s() - c0;
    if (bad) {
        bench_skip(st, "n/a: Boost.Fiber skynet failed");
        return;
    }
    report(st, leaves, cpu, bench_elapsed_ns(st));
}

BENCH_REGISTER(.name = "skynet/fiber",
               .summary = "skynet tree of 100k leaves, Boost.Fiber on one thread (peer)",
               .claims = "T5.idle", .fn = bm_skynet_fiber,
               .args = {BENCH_ARG_QFS("leaves", BENCH_V(100000), BENCH_V(100000), BENCH_V(1000))},
               .real_time = true, .iterations = 1);
