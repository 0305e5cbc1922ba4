/*
 * mn_numa.h - NUMA topology and placement as the runtime sees them (cfg.numa_local; claims
 * N3.1.detect, T10.remote): which node each CPU and so each P is on, whether placement works
 * here, and placing memory on a node.  Implemented in runtime/src/numa.c on top of libnuma;
 * link with -lnuma.  The benches' measurement toolkit on top of it (numastat, verified
 * allocations, skip reasons) is benches/harness/bench_numa.h.
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

/* ==== Placement ====================================================================== */

/* mn_numa_bind - set the memory policy of [addr, addr+bytes) to node before first touch.
 * strict: MPOL_BIND (allocation fails with SIGBUS/OOM when the node is full; benches that
 * must know where memory is); else MPOL_PREFERRED (a full node falls back to another one,
 * seen as numa_miss: the scheduler's choice).  addr is rounded down and the end up to page
 * boundaries, so a neighbour sharing the first or last page gets the policy too.  Pages
 * already touched stay where they are (no MPOL_MF_MOVE).  One mbind syscall, no allocation.
 * Returns 0 (also without a syscall when !strict and only one memory node is allowed: the
 * memory is on that node anyway), -EINVAL (bytes == 0 or node absent), -ENODEV (node has
 * no memory or the cpuset forbids it), -ENOSYS (the kernel refused the probe, e.g. EPERM in
 * a container: mbind_errno says why), or mbind's negative errno. */
int mn_numa_bind(void *addr, size_t bytes, int node, bool strict);

#ifdef __cplusplus
}
#endif
#endif /* MN_NUMA_H */
