/*
 * benches/numa_chase.c - node x node memory latency (pointer chase) and read bandwidth.
 *
 * What is measured
 *   numa/chase/cpu:C/mem:M/thp:T   a dependent pointer chase through a random cyclic
 *       permutation of the 64-byte lines of a buffer (Sattolo's algorithm: one cycle through
 *       every line, so hardware prefetchers cannot guess the next address) whose pages are
 *       bound to node M (mbind MPOL_BIND before first touch), run by a thread pinned to the
 *       CPUs of node C.  thp:0 advises MADV_NOHUGEPAGE (4 KiB pages: a TLB miss on almost
 *       every access adds a page walk), thp:1 MADV_HUGEPAGE (2 MiB pages where the kernel
 *       grants them).  One iteration = 16 dependent loads.
 *   numa/bw/cpu:C/mem:M   one thread pinned to node C sums the 64-bit words of a buffer on
 *       node M (THP advised on); one iteration = one pass over the buffer.
 *   Excluded from the timer: allocation, placement, building the cycle (cached between the
 *   library's calls for the same row), one warm-up pass.
 *
 * Claims
 *   N3.3.penalty   remote access costs 2-3x local: ratio of remote rows to the local row of
 *                  the same CPU node, next to the SLIT distances (context key `slit`).
 *   N3.2.latency   local vs remote latency per access (the binding side is numa_bind.c).
 *
 * Arguments
 *   cpu, mem   node IDs (not indices: IDs may have gaps); quick 0..3, full 0..7.  A row for
 *              an absent node, a node without CPUs (cpu) or without memory (mem) skips with
 *              the reason, so every pair the host has gets a row.
 *   thp        0 = 4 KiB pages, 1 = transparent huge pages.
 *   Working set: 64 MiB (quick) / 256 MiB (full), well above the LLC of current servers
 *   (4 MiB and nodes 0-1 only under the smoke preset of make test: code path, no meaning);
 *   the environment variable MN_NUMA_CHASE_BYTES overrides it (the multi-node guest test
 *   uses a few MiB: placement, not speed, is tested there).
 *
 * Counters
 *   ns_per_access   wall-clock ns per dependent load (chase)
 *   bytes_per_s     bytes read per second (bw)
 *   placed_share    share of the buffer's 4 KiB pages that move_pages reports on node M
 *                   (1.0 expected; a row whose share is below 0.95 skips instead)
 *   slit_distance   the kernel's distance between C and M (10 = local)
 *
 * How to read
 *   For each cpu node C, divide every chase row by the row cpu:C/mem:C (same thp): that
 *   ratio is the remote penalty the document puts at 2-3x; compare it with slit_distance/10,
 *   which is what the firmware claims.  thp:0 minus thp:1 is roughly the page-walk cost.
 *   Bandwidth ratios read the same way, inverted.
 *
 * Confounders and host conditions
 *   Needs >= 2 NUMA nodes and working mbind/move_pages; otherwise every row skips with
 *   "n/a: 1 NUMA node" (or the probe's reason).  In an emulated guest (QEMU -numa) remote
 *   and local cost the same: the rows test placement only.  Automatic NUMA balancing
 *   (/proc/sys/kernel/numa_balancing = 1) can migrate pages during a run; placed_share is
 *   measured after the run for that reason.  SMT siblings and other load on node C's CPUs
 *   disturb the chase; run on an idle host.
 */
#include "bench.h"
#include "bench_numa.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LINE 64

/* One buffer, cached across the library's repeated calls of the same row. */
static struct {
    int cpu, mem, thp, kind; /* key; kind 0 = chase, 1 = bw */
    void *buf;
    size_t bytes;
    void **start;
} cache = {.cpu = -1};

static size_t ws_bytes(void)
{
    const char *e = getenv("MN_NUMA_CHASE_BYTES");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 0);
        if (*end == 0 && v >= 64 * 1024)
            return (size_t)v;
    }
    if (strcmp(bench_preset(), "smoke") == 0)
        return 4UL << 20; /* make test: code path only */
    return strcmp(bench_preset(), "full") == 0 ? (256UL << 20) : (64UL << 20);
}

static void cache_drop(void)
{
    if (cache.buf)
        munmap(cache.buf, cache.bytes);
    cache.buf = NULL;
    cache.cpu = -1;
}

/* build_cycle - link every line of buf into one random cycle (Sattolo), xorshift RNG. */
static void **build_cycle(char *buf, size_t bytes)
{
    size_t n = bytes / LINE;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return NULL;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i); /* j < i: Sattolo, a single cycle */
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        *(void **)(buf + idx[i] * LINE) = buf + idx[(i + 1) % n] * LINE;
    void **start = (void **)(buf + idx[0] * LINE);
    free(idx);
    return start;
}

/* prepare - setup shared by both benches: the pair exists and placement works here, then
 * the calling thread runs on node cpu; its previous mask is saved in *old for the caller
 * to restore.  Returns false after bench_skip (nothing to restore then). */
static bool prepare(struct bench_state *st, int cpu, int mem, cpu_set_t *old)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    char why[128];
    if (!t->placement_ok) {
        bench_skip(st, bench_numa_why_not());
        return false;
    }
    int ci = mn_numa_index_of(cpu), mi = mn_numa_index_of(mem);
    if (ci < 0 || mi < 0) {
        snprintf(why, sizeof why, "n/a: no node %d (host has %d nodes, highest ID %d)",
                 ci < 0 ? cpu : mem, t->nnodes, t->max_node_id);
        bench_skip(st, why);
        return false;
    }
    if (t->node[ci].ncpus_allowed == 0) {
        snprintf(why, sizeof why, "n/a: node %d has no CPU allowed here", cpu);
        bench_skip(st, why);
        return false;
    }
    if (!t->node[mi].mem_allowed) {
        snprintf(why, sizeof why, "n/a: node %d has no memory allowed here", mem);
        bench_skip(st, why);
        return false;
    }
    if (bench_affinity_save(old) != 0 || bench_numa_run_on_node(cpu) != 0) {
        bench_skip(st, "n/a: cannot pin to the CPU node");
        return false;
    }
    return true;
}

/* get_buffer - the cached buffer for this row, allocated on mem; NULL after bench_skip. */
static char *get_buffer(struct bench_state *st, int cpu, int mem, int thp, int kind)
{
    size_t bytes = ws_bytes();
    if (cache.buf && cache.cpu == cpu && cache.mem == mem && cache.thp == thp &&
        cache.kind == kind && cache.bytes == bytes)
        return cache.buf;
    cache_drop();
    void *p;
    int rc = bench_numa_alloc(&p, bytes, mem, thp);
    if (rc) {
        char why[128];
        snprintf(why, sizeof why, "n/a: cannot allocate %zu MiB on node %d: %s", bytes >> 20, mem,
                 strerror(-rc));
        bench_skip(st, why);
        return NULL;
    }
    cache.buf = p;
    cache.bytes = bytes;
    cache.start = kind == 0 ? build_cycle(p, bytes) : NULL;
    if (kind == 0 && !cache.start) {
        cache_drop();
        bench_skip(st, "n/a: out of memory building the cycle");
        return NULL;
    }
    cache.cpu = cpu;
    cache.mem = mem;
    cache.thp = thp;
    cache.kind = kind;
    return p;
}

/* report_placement - placed_share and slit_distance counters; false (after skip) when the
 * memory is not where it was bound. */
static bool report_placement(struct bench_state *st, int cpu, int mem)
{
    struct bench_numa_where w;
    int rc = bench_numa_where(cache.buf, cache.bytes, &w);
    char why[128];
    if (rc) {
        snprintf(why, sizeof why, "n/a: move_pages: %s", strerror(-rc));
        bench_skip(st, why);
        return false;
    }
    double share = w.pages ? (double)w.on[mn_numa_index_of(mem)] / (double)w.pages : 0.0;
    bench_set_counter(st, "placed_share", share, BENCH_C_PLAIN);
    bench_set_counter(st, "slit_distance", mn_numa_distance(cpu, mem), BENCH_C_PLAIN);
    if (share < 0.95) {
        snprintf(why, sizeof why, "n/a: only %.0f%% of pages on node %d after the run",
                 share * 100.0, mem);
        bench_skip(st, why);
        return false;
    }
    return true;
}

static void bm_numa_chase(struct bench_state *st)
{
    int cpu = (int)bench_arg(st, "cpu"), mem = (int)bench_arg(st, "mem");
    int thp = (int)bench_arg(st, "thp");
    cpu_set_t old;
    if (!prepare(st, cpu, mem, &old))
        return;
    if (!get_buffer(st, cpu, mem, thp, 0))
        goto out;
    void **p = cache.start;
    for (size_t i = 0; i < cache.bytes / LINE; i++) /* warm-up pass: TLB, caches */
        p = (void **)*p;
    while (bench_keep_running(st)) {
#define HOP p = (void **)*p;
        HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP HOP
#undef HOP
    }
    bench_do_not_optimize(p);
    bench_set_per_op_ns(st, "ns_per_access", 16.0);
    report_placement(st, cpu, mem);
out:
    bench_affinity_restore(&old);
}

static void bm_numa_bw(struct bench_state *st)
{
    int cpu = (int)bench_arg(st, "cpu"), mem = (int)bench_arg(st, "mem");
    cpu_set_t old;
    if (!prepare(st, cpu, mem, &old))
        return;
    const uint64_t *w = (const uint64_t *)get_buffer(st, cpu, mem, 1, 1);
    if (!w)
        goto out;
    size_t n = cache.bytes / sizeof *w;
    uint64_t sum = 0;
    int64_t passes = 0;
    for (size_t i = 0; i < n; i++) /* warm-up pass */
        sum += w[i];
    while (bench_keep_running(st)) {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 4 <= n; i += 4) {
            s0 += w[i];
            s1 += w[i + 1];
            s2 += w[i + 2];
            s3 += w[i + 3];
        }
        sum += s0 + s1 + s2 + s3;
        passes++;
    }
    bench_do_not_optimize(&sum);
    double ns = bench_elapsed_ns(st);
    if (ns > 0)
        bench_set_counter(st, "bytes_per_s", (double)passes * (double)cache.bytes * 1e9 / ns,
                          BENCH_C_PLAIN);
    report_placement(st, cpu, mem);
out:
    bench_affinity_restore(&old);
}

/* numa_topology context key: what the tables print beside the matrix. */
__attribute__((constructor)) static void numa_chase_context(void)
{
    char buf[4096];
    const struct mn_numa_topo *t = mn_numa_topology();
    int off = snprintf(buf, sizeof buf,
                       "{\"nodes\":%d,\"mem_nodes\":%d,\"placement\":\"%s\","
                       "\"numa_balancing\":%d,\"node\":[",
                       t->nnodes, t->nnodes_mem, t->placement_ok ? "ok" : bench_numa_why_not(),
                       t->numa_balancing);
    for (int i = 0; i < t->nnodes && off < (int)sizeof buf - 128; i++)
        off += snprintf(buf + off, sizeof buf - (size_t)off,
                        "%s{\"id\":%d,\"cpus\":%d,\"mem_bytes\":%llu}", i ? "," : "", t->node[i].id,
                        t->node[i].ncpus, (unsigned long long)t->node[i].mem_total);
    snprintf(buf + off, sizeof buf - (size_t)off, "]}");
    bench_context("numa_topology", buf);
}

/* NODE_ARG(name) - a node-ID argument: nodes 0-3 in quick, 0-7 in full, 0-1 in smoke (IDs
 * the host lacks skip). */
#define NODE_ARG(nm)                                                                               \
    BENCH_ARG_NODES(nm, BENCH_V(0, 1, 2, 3), BENCH_V(0, 1, 2, 3, 4, 5, 6, 7), BENCH_V(0, 1))

BENCH_REGISTER(.name = "numa/chase",
               .summary = "dependent pointer chase, CPU on node cpu, memory on node mem, 4K or THP",
               .claims = "N3.3.penalty,N3.2.latency", .fn = bm_numa_chase,
               .args = {NODE_ARG("cpu"), NODE_ARG("mem"),
                        BENCH_ARG_QFS("thp", BENCH_V(0, 1), BENCH_V(0, 1), BENCH_V(0))});

BENCH_REGISTER(.name = "numa/bw",
               .summary = "read bandwidth, one thread on node cpu, memory on node mem",
               .claims = "N3.3.penalty", .fn = bm_numa_bw,
               .args = {NODE_ARG("cpu"), NODE_ARG("mem")});
