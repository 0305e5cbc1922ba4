/*
 * bench_numa.h - NUMA measurement toolkit for benches and tests (claims N3.1.detect,
 * N3.2.latency, N3.2.remote, N3.3.penalty, N3.3.foreign, T10.remote): the skip reason when
 * placement is off, the SLIT as JSON, pinning to a node, placed and verified allocations,
 * and numastat counters.  Built on the runtime's topology (runtime/include/mn_numa.h);
 * benches/harness/bench_numa.c, link with libmn and -lnuma.
 *
 * Conventions (STYLE.md 2.5): int calls return 0 (or a documented non-negative value) or
 * a negative errno.  Callable before, during or without mn_init.
 */
#ifndef BENCH_NUMA_H
#define BENCH_NUMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_numa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* bench_numa_why_not - when the topology's placement_ok is false, why, in the bench skip
 * format: "n/a: 1 NUMA node", "n/a: mbind: Operation not permitted", "n/a: no libnuma
 * (numa_available() < 0)", ...; "" when placement works.  A static string (never NULL). */
const char *bench_numa_why_not(void);

/* bench_numa_slit_json - the distance matrix as JSON, {"nodes":[0,1],"dist":[[10,20],[20,10]]}.
 * Returns the string length (as snprintf: may exceed len, then the output is truncated). */
int bench_numa_slit_json(char *buf, size_t len);

/* bench_numa_run_on_node - pin the calling thread to the allowed CPUs of node id
 * (sched_setaffinity).  -EINVAL absent node, -ENODEV node has no allowed CPU, or the
 * negative errno of sched_setaffinity. */
MN_WUR int bench_numa_run_on_node(int id);

/* bench_numa_alloc - mmap bytes (rounded up to pages) of anonymous memory placed on node id
 * with MPOL_BIND (mn_numa_bind(..., true)), THP advised on (thp) or off (MADV_NOHUGEPAGE),
 * and touched one byte per 4 KiB page so it is allocated now.  id < 0: no policy (first
 * touch decides).  *out gets the mapping; free with munmap(*out, bytes).  Errors: as
 * mn_numa_bind, -ENOMEM. */
MN_WUR int bench_numa_alloc(void **out, size_t bytes, int id, bool thp);

/* bench_numa_page_nodes - node ID of each 4 KiB page of [addr, addr+npages*4096) with
 * move_pages(2) status queries (no migration): status[i] >= 0 is a node ID, < 0 a negative
 * errno for that page (-ENOENT: not present, -EFAULT: not mapped).  addr must be page
 * aligned.  Returns 0, -EINVAL (unaligned), -ENOSYS (move_pages unavailable here), or the
 * negative errno of move_pages. */
MN_WUR int bench_numa_page_nodes(const void *addr, size_t npages, int *status);

/* struct bench_numa_where - where the pages of a range are, summarised. */
struct bench_numa_where {
    size_t pages;                 /* pages queried */
    size_t on[MN_NUMA_MAX_NODES]; /* pages on node[i] (by index) */
    size_t failed;                /* pages whose status was a negative errno */
    int first_errno;              /* the first such status, as a negative errno */
};
/* bench_numa_where - summarise bench_numa_page_nodes over [addr, addr+bytes) (addr page
 * aligned; bytes rounded up to 4 KiB pages).  Errors as bench_numa_page_nodes, -ENOMEM. */
MN_WUR int bench_numa_where(const void *addr, size_t bytes, struct bench_numa_where *out);

/* ==== numastat ======================================================================== */

/* struct bench_numastat - one node's counters from /sys/devices/system/node/node<id>/numastat.
 * They count page allocations (in pages), not memory accesses:
 *   numa_hit      allocated on this node as intended (policy or local);
 *   numa_miss     allocated here although another node was preferred (fallback);
 *   numa_foreign  intended for this node but allocated elsewhere (the other side of miss);
 *   local_node    allocated here for a task running on this node;
 *   other_node    allocated here for a task running on another node. */
struct bench_numastat {
    uint64_t numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node;
};

/* struct bench_numastat_snap - every listed node's counters at one instant. */
struct bench_numastat_snap {
    int nnodes;                                    /* = topology nnodes */
    struct bench_numastat node[MN_NUMA_MAX_NODES]; /* by index, as topology node[] */
};

/* bench_numastat_read - counters of node id.  -EINVAL absent node, or the negative errno of
 * opening / parsing its numastat file (-ENOENT on kernels without it). */
MN_WUR int bench_numastat_read(int id, struct bench_numastat *out);

/* bench_numastat_snapshot - read every node.  0 or the first error of bench_numastat_read. */
MN_WUR int bench_numastat_snapshot(struct bench_numastat_snap *out);

/* bench_numastat_delta - after - before, per node into per_node (may be NULL) and summed
 * over nodes into total (may be NULL).  Counters are monotonic; a negative difference
 * (counter reset) is clamped to 0. */
void bench_numastat_delta(const struct bench_numastat_snap *before,
                          const struct bench_numastat_snap *after,
                          struct bench_numastat_snap *per_node, struct bench_numastat *total);

/* bench_numastat_remote_share - other_node / (local_node + other_node) of d: the share of
 * page allocations served from a node other than the allocating task's; 0 when both are 0. */
double bench_numastat_remote_share(const struct bench_numastat *d);

/* bench_numastat_foreign_share - numa_foreign / (numa_hit + numa_miss) of d (claim
 * N3.3.foreign); 0 when the denominator is 0. */
double bench_numastat_foreign_share(const struct bench_numastat *d);

#ifdef __cplusplus
}
#endif
#endif /* BENCH_NUMA_H */
