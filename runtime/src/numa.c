/* numa.c - placeholder single-node topology; replaced by the libnuma implementation. */
#include "numa.h"

#include <errno.h>

int mn_numa_init(void)
{
    return 0;
}

int mn_numa_node_of_cpu(int cpu)
{
    (void)cpu;
    return 0;
}

int mn_numa_bind(void *addr, size_t bytes, int node)
{
    (void)addr;
    (void)bytes;
    (void)node;
    return -ENOSYS;
}

int mn_numa_placement_ok(void)
{
    return 0;
}
