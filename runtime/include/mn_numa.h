/*
 * mn_numa.h - NUMA topology, placement and counters for benches and tests (claims
 * N3.1.detect, N3.2.latency, N3.2.remote, N3.3.penalty, N3.3.foreign, T10.remote).  Implemented in
 * runtime/src/numa.c on top of libnuma; link with -lnuma.
 *
 * What real hosts do, and what this interface does about it:
 *   - node IDs have gaps (nodes 0 and 2 only): nodes are listed by index 0..nnodes-1,
 *     each entry carrying its kernel ID; numa_max_node() is the highest ID, not a count.
 *   - nodes without CPUs (memory expanders, CXL) or without memory (CPU-only nodes) are
 *     listed with ncpus = 0 or mem_total = 0.
 *   - a cpuset may allow only some nodes' memory or CPUs: mem_allowed / ncpus_allowed.
 *   - containers where numa_available() succeeds but mbind / set_mempolicy / move_pages
 *     fail with EPERM (seccomp, missing CAP_SYS_NICE): numa.c probes each call once on a
 *     scratch page and reports the errno in struct mn_numa_topo; placement is then off.
 *
 * Conventions (STYLE.md 2.5): int calls return 0 (or a documented non-negative value) or
 * a negative errno.  All calls are thread safe and callable before, during or without
 * mn_init; the topology is read once (first call) and cached for the process's life.
 */
#ifndef MN_NUMA_H
#define MN_NUMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MN_NUMA_MAX_NODES 64  /* nodes listed; IDs may be larger than this */
#define MN_NUMA_MAX_CPUS 1024 /* CPU IDs mapped to nodes */

/* ==== Topology ======================================================================== */

/* struct mn_numa_node - one node present in /sys/devices/system/node. */
struct mn_numa_node {
    int id;                /* kernel node ID (may have gaps) */
    int ncpus;             /* CPUs of the node (online), any cpuset */
    int ncpus_allowed;     /* of those, CPUs in this process's affinity mask */
    int first_cpu_allowed; /* lowest allowed CPU ID of the node, -1 when none */
    uint64_t mem_total;    /* bytes (numa_node_size64); 0 for a memoryless node */
    uint64_t mem_free;     /* bytes free when the topology was read */
    bool mem_allowed;      /* node is in this process's cpuset mems_allowed */
};

/* struct mn_numa_topo - the whole host, as read once at first use. */
struct mn_numa_topo {
    bool libnuma;    /* numa_available() >= 0 */
    int nnodes;      /* nodes listed in node[] (count, not an ID) */
    int max_node_id; /* numa_max_node(): highest ID, >= nnodes - 1 */
    int nnodes_mem;  /* nodes with memory that the cpuset allows */
    int ncpus;       /* CPUs mapped to some node */
    struct mn_numa_node node[MN_NUMA_MAX_NODES];
    int dist[MN_NUMA_MAX_NODES][MN_NUMA_MAX_NODES]; /* SLIT distance between node[i] and
                                                       node[j] (by index); 10 = local;
                                                       0 when the kernel gives none */
    /* Probes of the memory-policy calls on a scratch page (0 = works, else the errno). */
    int mbind_errno;
    int set_mempolicy_errno; /* get_mempolicy + set_mempolicy back to the same policy */
    int move_pages_errno;    /* status query (nodes == NULL) */
    int numa_balancing;      /* /proc/sys/kernel/numa_balancing, -1 when unreadable */
    bool placement_ok;       /* mbind and move_pages work and >= 2 memory nodes allowed */
    char why_not[96];        /* when !placement_ok: "n/a: 1 NUMA node", "n/a: mbind:
                                Operation not permitted", ... (bench_skip reasons) */
};

/* mn_numa_topology - the cached topology (read on first call; never NULL).  Without
 * libnuma or /sys it describes one node 0 holding every CPU. */
const struct mn_numa_topo *mn_numa_topology(void);

/* mn_numa_index_of - index in topo->node[] of node ID id, or -EINVAL when absent. */
MN_WUR int mn_numa_index_of(int id);

/* mn_numa_distance - SLIT distance between node IDs a and b (10 = local), as the kernel
 * reports it in /sys/devices/system/node/node<a>/distance.  -EINVAL for an absent node,
 * -ENODATA when the kernel gives no distances. */
MN_WUR int mn_numa_distance(int a, int b);

/* mn_numa_cpu_node - node ID of CPU cpu, or -EINVAL when cpu is not mapped. */
MN_WUR int mn_numa_cpu_node(int cpu);

/* mn_numa_node_cpus - write up to max CPU IDs of node id (ascending) to cpus; allowed_only:
 * only CPUs in the affinity mask.  Returns the number of CPUs of the node (may exceed max),
 * or -EINVAL for an absent node. */
MN_WUR int mn_numa_node_cpus(int id, bool allowed_only, int *cpus, int max);

/* mn_numa_slit_json - the distance matrix as JSON, {"nodes":[0,1],"dist":[[10,20],[20,10]]},
 * for the bench context key `slit`.  Returns the string length (as snprintf: may exceed
 * len, then the output is truncated). */
int mn_numa_slit_json(char *buf, size_t len);

/* ==== Placement ====================================================================== */

/* mn_numa_run_on_node - pin the calling thread to the allowed CPUs of node id
 * (sched_setaffinity).  -EINVAL absent node, -ENODEV node has no allowed CPU, or the
 * negative errno of sched_setaffinity. */
MN_WUR int mn_numa_run_on_node(int id);

/* Placing an existing range on a node: mn_numa_bind(addr, bytes, id, strict), declared
 * with the runtime's calls in runtime/src/numa_internal.h. */

/* mn_numa_alloc - mmap bytes (rounded up to pages) of anonymous memory placed on node id
 * with MPOL_BIND, THP advised on (thp) or off (MADV_NOHUGEPAGE), and touched one byte per
 * 4 KiB page so it is allocated now.  id < 0: no policy (first touch decides).  *out gets
 * the mapping; free with munmap(*out, bytes).  Errors: as mn_numa_bind, -ENOMEM. */
MN_WUR int mn_numa_alloc(void **out, size_t bytes, int id, bool thp);

/* mn_numa_page_nodes - node ID of each 4 KiB page of [addr, addr+npages*4096) with
 * move_pages(2) status queries (no migration): status[i] >= 0 is a node ID, < 0 a negative
 * errno for that page (-ENOENT: not present, -EFAULT: not mapped).  addr must be page
 * aligned.  Returns 0, -EINVAL (unaligned), -ENOSYS (move_pages unavailable here), or the
 * negative errno of move_pages. */
MN_WUR int mn_numa_page_nodes(const void *addr, size_t npages, int *status);

/* struct mn_numa_where - where the pages of a range are, summarised. */
struct mn_numa_where {
    size_t pages;                 /* pages queried */
    size_t on[MN_NUMA_MAX_NODES]; /* pages on node[i] (by index) */
    size_t failed;                /* pages whose status was a negative errno */
    int first_errno;              /* the first such status, as a negative errno */
};
/* mn_numa_where - summarise mn_numa_page_nodes over [addr, addr+bytes) (addr page
 * aligned; bytes rounded up to 4 KiB pages).  Errors as mn_numa_page_nodes, -ENOMEM. */
MN_WUR int mn_numa_where(const void *addr, size_t bytes, struct mn_numa_where *out);

/* ==== numastat ======================================================================== */

/* struct mn_numastat - one node's counters from /sys/devices/system/node/node<id>/numastat.
 * They count page allocations (in pages), not memory accesses:
 *   numa_hit      allocated on this node as intended (policy or local);
 *   numa_miss     allocated here although another node was preferred (fallback);
 *   numa_foreign  intended for this node but allocated elsewhere (the other side of miss);
 *   local_node    allocated here for a task running on this node;
 *   other_node    allocated here for a task running on another node. */
struct mn_numastat {
    uint64_t numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node;
};

/* struct mn_numastat_snap - every listed node's counters at one instant. */
struct mn_numastat_snap {
    int nnodes;                                 /* = topology nnodes */
    struct mn_numastat node[MN_NUMA_MAX_NODES]; /* by index, as topology node[] */
};

/* mn_numastat_read - counters of node id.  -EINVAL absent node, or the negative errno of
 * opening / parsing its numastat file (-ENOENT on kernels without it). */
MN_WUR int mn_numastat_read(int id, struct mn_numastat *out);

/* mn_numastat_snapshot - read every node.  0 or the first error of mn_numastat_read. */
MN_WUR int mn_numastat_snapshot(struct mn_numastat_snap *out);

/* mn_numastat_delta - after - before, per node into per_node (may be NULL) and summed
 * over nodes into total (may be NULL).  Counters are monotonic; a negative difference
 * (counter reset) is clamped to 0. */
void mn_numastat_delta(const struct mn_numastat_snap *before, const struct mn_numastat_snap *after,
                       struct mn_numastat_snap *per_node, struct mn_numastat *total);

/* mn_numastat_remote_share - other_node / (local_node + other_node) of d: the share of page
 * allocations served from a node other than the allocating task's; 0 when both are 0. */
double mn_numastat_remote_share(const struct mn_numastat *d);

/* mn_numastat_foreign_share - numa_foreign / (numa_hit + numa_miss) of d (claim
 * N3.3.foreign); 0 when the denominator is 0. */
double mn_numastat_foreign_share(const struct mn_numastat *d);

#ifdef __cplusplus
}
#endif
#endif /* MN_NUMA_H */
