/*
 * numa.c - NUMA topology, placement and numastat for the runtime, benches and tests.
 *
 * Internal interface: numa_internal.h (what the scheduler calls).  Public interface: mn_numa.h.
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
 * must know where memory is use mn_numa_alloc / mn_numa_bind(..., true) (MPOL_BIND) and verify the
 * result with move_pages status queries (mn_numa_where).
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

static void set_why(const char *what, int err)
{
    if (err)
        snprintf(topo.why_not, sizeof topo.why_not, "n/a: %s: %s", what, strerror(err));
    else
        snprintf(topo.why_not, sizeof topo.why_not, "n/a: %s", what);
}

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
        set_why("no libnuma (numa_available() < 0)", 0);
        return;
    }
    probe_calls();
    mbind_usable = topo.mbind_errno == 0;
    if (topo.mbind_errno)
        set_why("mbind", topo.mbind_errno);
    else if (topo.move_pages_errno)
        set_why("move_pages", topo.move_pages_errno);
    else if (topo.nnodes_mem < 2)
        set_why(topo.nnodes > 1 ? "1 NUMA node with memory allowed" : "1 NUMA node", 0);
    else
        topo.placement_ok = true;
}

static void ensure(void)
{
    pthread_once(&topo_once, topo_read);
}

/* ==== Internal interface (numa.h) ===================================================== */

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

int mn_numa_slit_json(char *buf, size_t len)
{
    ensure();
    size_t off = 0;
    int w;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        w = snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, __VA_ARGS__);       \
        off += (size_t)w;                                                                          \
    } while (0)
    if (len == 0)
        buf = NULL;
    PUT("{\"nodes\":[");
    for (int i = 0; i < topo.nnodes; i++)
        PUT("%s%d", i ? "," : "", topo.node[i].id);
    PUT("],\"dist\":[");
    for (int i = 0; i < topo.nnodes; i++) {
        PUT("%s[", i ? "," : "");
        for (int j = 0; j < topo.nnodes; j++)
            PUT("%s%d", j ? "," : "", topo.dist[i][j]);
        PUT("]");
    }
    PUT("]}");
#undef PUT
    return (int)off;
}

int mn_numa_run_on_node(int id)
{
    if (mn_numa_index_of(id) < 0)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = 0;
    for (int c = 0; c < MN_NUMA_MAX_CPUS; c++)
        if (cpu_mapped[c] && cpu_node[c] == id && CPU_ISSET(c, &aff)) {
            CPU_SET(c, &set);
            n++;
        }
    if (n == 0)
        return -ENODEV;
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -errno;
    return 0;
}

int mn_numa_alloc(void **out, size_t bytes, int id, bool thp)
{
    const size_t huge = 2UL << 20;
    ensure();
    if (bytes == 0)
        return -EINVAL;
    if (id >= 0) {
        int rc = check_node(id);
        if (rc)
            return rc;
        if (!mbind_usable)
            return -ENOSYS;
    }
    bytes = (bytes + PAGE_4K - 1) & ~(PAGE_4K - 1);
    /* Over-map by 2 MiB and trim, so THP can back the range from its first byte. */
    size_t span = bytes + huge;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return -errno;
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (raw + span > p + bytes)
        munmap(p + bytes, (size_t)(raw + span - (p + bytes)));
    if (madvise(p, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0 && !thp) {
        int e = errno;
        munmap(p, bytes);
        return -e;
    }
    if (id >= 0) {
        int rc = do_mbind(p, bytes, id, MPOL_BIND);
        if (rc) {
            munmap(p, bytes);
            return rc;
        }
    }
    for (size_t off = 0; off < bytes; off += PAGE_4K)
        ((volatile char *)p)[off] = 0;
    *out = p;
    return 0;
}

int mn_numa_page_nodes(const void *addr, size_t npages, int *status)
{
    enum { BATCH = 512 };
    void *pages[BATCH];
    ensure();
    if ((uintptr_t)addr & (PAGE_4K - 1))
        return -EINVAL;
    if (topo.move_pages_errno && topo.move_pages_errno != ENOENT)
        return -ENOSYS;
    for (size_t done = 0; done < npages;) {
        size_t n = npages - done < BATCH ? npages - done : BATCH;
        for (size_t i = 0; i < n; i++)
            pages[i] = (char *)addr + (done + i) * PAGE_4K;
        if (move_pages(0, n, pages, NULL, status + done, 0) != 0)
            return -errno;
        done += n;
    }
    return 0;
}

int mn_numa_where(const void *addr, size_t bytes, struct mn_numa_where *out)
{
    size_t npages = (bytes + PAGE_4K - 1) / PAGE_4K;
    memset(out, 0, sizeof *out);
    int *st = malloc((npages ? npages : 1) * sizeof *st);
    if (!st)
        return -ENOMEM;
    int rc = mn_numa_page_nodes(addr, npages, st);
    if (rc == 0) {
        out->pages = npages;
        for (size_t i = 0; i < npages; i++) {
            int idx = st[i] >= 0 ? mn_numa_index_of(st[i]) : -1;
            if (idx >= 0) {
                out->on[idx]++;
            } else {
                if (!out->failed)
                    out->first_errno = st[i] < 0 ? st[i] : -EINVAL;
                out->failed++;
            }
        }
    }
    free(st);
    return rc;
}

/* ==== numastat ======================================================================== */

int mn_numastat_read(int id, struct mn_numastat *out)
{
    char path[96], key[32];
    unsigned long long v;
    if (mn_numa_index_of(id) < 0)
        return -EINVAL;
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/numastat", id);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    memset(out, 0, sizeof *out);
    int seen = 0;
    while (fscanf(f, "%31s %llu", key, &v) == 2) {
        seen++;
        if (!strcmp(key, "numa_hit"))
            out->numa_hit = v;
        else if (!strcmp(key, "numa_miss"))
            out->numa_miss = v;
        else if (!strcmp(key, "numa_foreign"))
            out->numa_foreign = v;
        else if (!strcmp(key, "interleave_hit"))
            out->interleave_hit = v;
        else if (!strcmp(key, "local_node"))
            out->local_node = v;
        else if (!strcmp(key, "other_node"))
            out->other_node = v;
    }
    fclose(f);
    return seen ? 0 : -EBADMSG;
}

int mn_numastat_snapshot(struct mn_numastat_snap *out)
{
    ensure();
    memset(out, 0, sizeof *out);
    out->nnodes = topo.nnodes;
    for (int i = 0; i < topo.nnodes; i++) {
        int rc = mn_numastat_read(topo.node[i].id, &out->node[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

void mn_numastat_delta(const struct mn_numastat_snap *before, const struct mn_numastat_snap *after,
                       struct mn_numastat_snap *per_node, struct mn_numastat *total)
{
    struct mn_numastat t = {0};
    int n = before->nnodes < after->nnodes ? before->nnodes : after->nnodes;
    if (per_node) {
        memset(per_node, 0, sizeof *per_node);
        per_node->nnodes = n;
    }
    for (int i = 0; i < n; i++) {
        const struct mn_numastat *a = &before->node[i], *b = &after->node[i];
        struct mn_numastat d = {
            .numa_hit = sub(b->numa_hit, a->numa_hit),
            .numa_miss = sub(b->numa_miss, a->numa_miss),
            .numa_foreign = sub(b->numa_foreign, a->numa_foreign),
            .interleave_hit = sub(b->interleave_hit, a->interleave_hit),
            .local_node = sub(b->local_node, a->local_node),
            .other_node = sub(b->other_node, a->other_node),
        };
        if (per_node)
            per_node->node[i] = d;
        t.numa_hit += d.numa_hit;
        t.numa_miss += d.numa_miss;
        t.numa_foreign += d.numa_foreign;
        t.interleave_hit += d.interleave_hit;
        t.local_node += d.local_node;
        t.other_node += d.other_node;
    }
    if (total)
        *total = t;
}

double mn_numastat_remote_share(const struct mn_numastat *d)
{
    uint64_t den = d->local_node + d->other_node;
    return den ? (double)d->other_node / (double)den : 0.0;
}

double mn_numastat_foreign_share(const struct mn_numastat *d)
{
    uint64_t den = d->numa_hit + d->numa_miss;
    return den ? (double)d->numa_foreign / (double)den : 0.0;
}
