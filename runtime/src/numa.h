/*
 * numa.h - NUMA topology and placement used inside the runtime (runtime/src/numa.c).
 * Degrades to one node when libnuma or the kernel's memory-policy calls are unavailable.
 */
#ifndef MN_NUMA_INTERNAL_H
#define MN_NUMA_INTERNAL_H

#include <stddef.h>

/* mn_numa_init - probe topology and whether mbind works here.  Idempotent; 0 always. */
int mn_numa_init(void);
/* mn_numa_node_of_cpu - node of CPU cpu, or 0 when unknown / one node. */
int mn_numa_node_of_cpu(int cpu);
/* mn_numa_bind - mbind [addr, addr+bytes) to node (MPOL_BIND, before first touch).
 * 0, or a negative errno (-ENOSYS: placement unavailable on this host). */
int mn_numa_bind(void *addr, size_t bytes, int node);
/* mn_numa_placement_ok - whether mn_numa_bind can work on this host. */
int mn_numa_placement_ok(void);

#endif
