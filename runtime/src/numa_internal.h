/*
 * numa_internal.h - NUMA topology and placement used inside the runtime (runtime/src/numa.c).
 * Degrades to one node when libnuma or the kernel's memory-policy calls are unavailable.
 * The public view (topology, mn_numa_bind) is runtime/include/mn_numa.h (same file behind it).
 *
 * Contract with the scheduler (proc.c / stack.c): call mn_numa_init once from mn_init (it
 * is idempotent and thread safe, and every other call here initialises on demand), assign
 * each P the node mn_numa_node_of_cpu(its CPU), and when cfg.numa_local is on call
 * mn_numa_bind(..., false) on fresh stack arenas and P structs *before first touch*.
 * Placement is best effort: a non-zero return from mn_numa_bind must not fail the caller.
 */
#ifndef MN_NUMA_INTERNAL_H
#define MN_NUMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mn_numa.h"

/* mn_numa_init - read the topology and probe mbind / set_mempolicy / move_pages on a
 * scratch page (once per process).  Idempotent, thread safe; returns 0 always (a host
 * without NUMA support is described as one node). */
int mn_numa_init(void);

/* mn_numa_node_of_cpu - node ID of CPU cpu (an array lookup after the first call).  For a
 * CPU the topology does not map (or cpu < 0), the ID of the first node with memory, so the
 * result is always a valid argument for mn_numa_bind.  On one node: that node's ID (0). */
int mn_numa_node_of_cpu(int cpu);

/* mn_numa_placement_ok - 1 when mn_numa_bind places memory on different nodes here (probe
 * passed and >= 2 memory nodes allowed), else 0. */
int mn_numa_placement_ok(void);

#endif
