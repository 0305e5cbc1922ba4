/*
 * numa.c - NUMA topology and placement for the runtime and its users.
 *
 * Internal interface: numa_internal.h (what the scheduler calls).  Public interface: mn_numa.h.
 * The measurement toolkit built on it (numastat, verified allocations, the skip reason) is
 * the benches' own: benches/harness/bench_numa.c.
 *
 * The topology is read once (pthread_once) through libnuma: numa_nodes_ptr for the nodes
 * present (IDs may have gaps, so we walk 0..numa_max_node(), an ID and not a count),
 * numa_node_to_cpus, numa_node_size64, numa_distance (the SLIT from /sys) and
 * numa_get_mems_allowed (the cpuset).  numa_available() only says the kernel has NUMA
 * syscalls; in containers mbind, set_mempolicy and move_pages can still fail with EPERM
 * (seccomp), so each is probed once on a scratch page, and placement is switched off when
 * the probe fails.  Every later call is a table lookup or one syscall.
 *
 * Placement policy: the runtime calls mn_numa_bind(..., false), MPOL_PREFERRED (a full node
 * degrades to remote memory, visible as numa_miss, rather than SIGBUS/OOM); benches that
 * must know where memory is use mn_numa_bind(..., true) (MPOL_BIND) and verify the result
 * with move_pages status queries (bench_numa_where in the harness).
 */
#include "numa_internal.h"

#include "mn_numa.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE_4K 4096UL
#define MASK_BITS 1024 /* node IDs the nodemasks we pass to the kernel can hold */
#define MASK_WORDS (MASK_BITS / (8 * sizeof(unsigned long)))

static struct mn_numa_topo topo;
static int16_t cpu_node[MN_NUMA_MAX_CPUS]; /* node ID per CPU ID (default_node if unmapped) */
static bool cpu_mapped[MN_NUMA_MAX_CPUS];  /* the topology names a node for this CPU */
static cpu_set_t aff;                      /* the process's affinity mask at first use */
static int default_node;                   /* first node with allowed memory */
static bool mbind_usable;                  /* mbind probe passed */
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;

/* ==== Topology ======================================================================== */

static int read_int_file(const char *path, int dflt)
{
    FILE *f = fopen(path, "r");
    int v;
    if (!f)
        return dflt;
    if (fscanf(f, "%d", &v) != 1)
        v = dflt;
    fclose(f);
    return v;
}

/* topo_single - describe the host as one node 0 holding every online CPU. */
static void topo_single(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (n < 1)
        n = 1;
    if (n > MN_NUMA_MAX_CPUS)
        n = MN_NUMA_MAX_CPUS;
    topo.nnodes = 1;
    topo.max_node_id = 0;
    topo.nnodes_mem = 1;
    topo.node[0] = (struct mn_numa_node){.id = 0, .first_cpu_allowed = -1, .mem_allowed = true};
    long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
    if (pages > 0)
        topo.node[0].mem_total = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
    if (avail > 0)
        topo.node[0].mem_free = (uint64_t)avail * (uint64_t)sysconf(_SC_PAGESIZE);
    for (int c = 0; c < n; c++) {
        cpu_node[c] = 0;
        cpu_mapped[c] = true;
        topo.node[0].ncpus++;
        if (CPU_ISSET(c, &aff)) {
            topo.node[0].ncpus_allowed++;
            if (topo.node[0].first_cpu_allowed < 0)
                topo.node[0].first_cpu_allowed = c;
        }
    }
    topo.ncpus = (int)n;
    topo.dist[0][0] = 10;
}

/* topo_libnuma - fill topo from libnuma; false when libnuma gives no usable node. */
static bool topo_libnuma(void)
{
    struct bitmask *cpus = numa_allocate_cpumask();
    struct bitmask *mems = numa_get_mems_allowed();
    if (!cpus || !mems)
        goto fail;
    topo.max_node_id = numa_max_node();
    for (int id = 0; id <= topo.max_node_id && topo.nnodes < MN_NUMA_MAX_NODES; id++) {
        if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)id))
            continue;
        struct mn_numa_node *nd = &topo.node[topo.nnodes++];
        *nd = (struct mn_numa_node){.id = id, .first_cpu_allowed = -1};
        long long freeb = 0, total = numa_node_size64(id, &freeb);
        nd->mem_total = total > 0 ? (uint64_t)total : 0;
        nd->mem_free = total > 0 && freeb > 0 ? (uint64_t)freeb : 0;
        nd->mem_allowed = numa_bitmask_isbitset(mems, (unsigned)id) && nd->mem_total > 0;
        if (nd->mem_allowed)
            topo.nnodes_mem++;
        numa_bitmask_clearall(cpus);
        if (numa_node_to_cpus(id, cpus) != 0)
            continue;
        for (unsigned c = 0; c < cpus->size && c < MN_NUMA_MAX_CPUS; c++) {
            if (!numa_bitmask_isbitset(cpus, c))
                continue;
            cpu_node[c] = (int16_t)id;
            cpu_mapped[c] = true;
            nd->ncpus++;
            topo.ncpus++;
            if (CPU_ISSET(c, &aff)) {
                nd->ncpus_allowed++;
                if (nd->first_cpu_allowed < 0)
                    nd->first_cpu_allowed = (int)c;
            }
        }
    }
    for (int i = 0; i < topo.nnodes; i++)
        for (int j = 0; j < topo.nnodes; j++)
            topo.dist[i][j] = numa_distance(topo.node[i].id, topo.node[j].id);
    numa_bitmask_free(cpus);
    numa_bitmask_free(mems);
    return topo.nnodes > 0;
fail:
    if (cpus)
        numa_bitmask_free(cpus);
    if (mems)
        numa_bitmask_free(mems);
    return false;
}

static void mask_set(unsigned long *mask, int id)
{
    memset(mask, 0, MASK_WORDS * sizeof(unsigned long));
    mask[(unsigned)id / (8 * sizeof(unsigned long))] |=
        1UL << ((unsigned)id % (8 * sizeof(unsigned long)));
}

/* probe_calls - try mbind, get/set_mempolicy and move_pages on a scratch page. */
static void probe_calls(void)
{
    unsigned long mask[MASK_WORDS];
    void *p = mmap(NULL, PAGE_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        topo.mbind_errno = topo.move_pages_errno = errno;
        return;
    }
    mask_set(mask, default_node);
    topo.mbind_errno = mbind(p, PAGE_4K, MPOL_PREFERRED, mask, MASK_BITS + 1, 0) ? errno : 0;
    *(volatile char *)p = 1;
    void *pages[1] = {p};
    int status[1] = {-1};
    if (move_pages(0, 1, pages, NULL, status, 0) != 0)
        topo.move_pages_errno = errno;
    else if (status[0] < 0)
        topo.move_pages_errno = -status[0];
    int mode = 0;
    unsigned long cur[MASK_WORDS];
    memset(cur, 0, sizeof cur);
    if (get_mempolicy(&mode, cur, MASK_BITS + 1, NULL, 0) != 0)
        topo.set_mempolicy_errno = errno;
    else if (set_mempolicy(mode, (mode & 0xff) == MPOL_DEFAULT ? NULL : cur,
                           (mode & 0xff) == MPOL_DEFAULT ? 0 : MASK_BITS + 1) != 0)
        topo.set_mempolicy_errno = errno;
    munmap(p, PAGE_4K);
}

static void topo_read(void)
{
    for (int c = 0; c < MN_NUMA_MAX_CPUS; c++)
        cpu_node[c] = -1;
    CPU_ZERO(&aff);
    if (sched_getaffinity(getpid(), sizeof aff, &aff) != 0)
        CPU_ZERO(&aff);
    topo.numa_balancing = read_int_file("/proc/sys/kernel/numa_balancing", -1);
    topo.libnuma = numa_available() >= 0;
    if (!topo.libnuma || !topo_libnuma()) {
        memset(topo.node, 0, sizeof topo.node);
        topo.nnodes = topo.ncpus = topo.nnodes_mem = 0;
        for (int c = 0; c < MN_NUMA_MAX_CPUS; c++) {
            cpu_node[c] = -1;
            cpu_mapped[c] = false;
        }
        topo_single();
    }
    default_node = topo.node[0].id;
    for (int i = 0; i < topo.nnodes; i++)
        if (topo.node[i].mem_allowed) {
            default_node = topo.node[i].id;
            break;
        }
    for (int c = 0; c < MN_NUMA_MAX_CPUS; c++)
        if (cpu_node[c] < 0)
            cpu_node[c] = (int16_t)default_node;
    if (!topo.libnuma) {
        topo.mbind_errno = topo.move_pages_errno = topo.set_mempolicy_errno = ENOSYS;
        return;
    }
    probe_calls();
    mbind_usable = topo.mbind_errno == 0;
    topo.placement_ok = !topo.mbind_errno && !topo.move_pages_errno && topo.nnodes_mem >= 2;
}

static void ensure(void)
{
    pthread_once(&topo_once, topo_read);
}

/* ==== Internal interface (numa_internal.h) and placement (mn_numa_bind, mn_numa.h) ===== */

int mn_numa_init(void)
{
    ensure();
    return 0;
}

int mn_numa_node_of_cpu(int cpu)
{
    ensure();
    if (cpu < 0 || cpu >= MN_NUMA_MAX_CPUS)
        return default_node;
    return cpu_node[cpu];
}

int mn_numa_placement_ok(void)
{
    ensure();
    return topo.placement_ok;
}

/* check_node - 0 when memory can be placed on node ID id, else a negative errno. */
static int check_node(int id)
{
    int i = mn_numa_index_of(id);
    if (i < 0)
        return i;
    if (!topo.node[i].mem_allowed)
        return -ENODEV;
    return 0;
}

static int do_mbind(void *addr, size_t bytes, int id, int mode)
{
    unsigned long mask[MASK_WORDS];
    uintptr_t a = (uintptr_t)addr & ~(PAGE_4K - 1);
    size_t len = (size_t)((uintptr_t)addr + bytes - a);
    if (id >= MASK_BITS)
        return -EINVAL;
    mask_set(mask, id);
    if (mbind((void *)a, len, mode, mask, MASK_BITS + 1, 0) != 0)
        return -errno;
    return 0;
}

int mn_numa_bind(void *addr, size_t bytes, int node, bool strict)
{
    ensure();
    if (bytes == 0)
        return -EINVAL;
    int rc = check_node(node);
    if (rc)
        return rc;
    if (!mbind_usable)
        return -ENOSYS;
    if (!strict && topo.nnodes_mem < 2)
        return 0; /* the only memory node: every page lands there anyway */
    return do_mbind(addr, bytes, node, strict ? MPOL_BIND : MPOL_PREFERRED);
}

/* ==== Public interface (mn_numa.h) ==================================================== */

const struct mn_numa_topo *mn_numa_topology(void)
{
    ensure();
    return &topo;
}

int mn_numa_index_of(int id)
{
    ensure();
    for (int i = 0; i < topo.nnodes; i++)
        if (topo.node[i].id == id)
            return i;
    return -EINVAL;
}

int mn_numa_distance(int a, int b)
{
    int i = mn_numa_index_of(a), j = mn_numa_index_of(b);
    if (i < 0 || j < 0)
        return -EINVAL;
    return topo.dist[i][j] > 0 ? topo.dist[i][j] : -ENODATA;
}

int mn_numa_cpu_node(int cpu)
{
    ensure();
    if (cpu < 0 || cpu >= MN_NUMA_MAX_CPUS || !cpu_mapped[cpu])
        return -EINVAL;
    return cpu_node[cpu];
}

int mn_numa_node_cpus(int id, bool allowed_only, int *cpus, int max)
{
    if (mn_numa_index_of(id) < 0)
        return -EINVAL;
    int n = 0;
    for (int c = 0; c < MN_NUMA_MAX_CPUS; c++) {
        if (!cpu_mapped[c] || cpu_node[c] != id || (allowed_only && !CPU_ISSET(c, &aff)))
            continue;
        if (cpus && n < max)
            cpus[n] = c;
        n++;
    }
    return n;
}
