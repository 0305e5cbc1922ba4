/*
 * bench_numa.c - NUMA measurement toolkit for benches and tests (bench_numa.h), on top of
 * the runtime's topology and placement calls (mn_numa.h).
 *
 * Benches that must know where memory is allocate with bench_numa_alloc (MPOL_BIND through
 * mn_numa_bind(..., true)) and verify the result with move_pages status queries
 * (bench_numa_where); numastat deltas count page allocations per node.
 */
#include "bench_numa.h"

#include <errno.h>
#include <numaif.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_4K 4096UL

const char *bench_numa_why_not(void)
{
    static char why[96];
    const struct mn_numa_topo *t = mn_numa_topology();
    if (!t->libnuma)
        snprintf(why, sizeof why, "n/a: no libnuma (numa_available() < 0)");
    else if (t->mbind_errno)
        snprintf(why, sizeof why, "n/a: mbind: %s", strerror(t->mbind_errno));
    else if (t->move_pages_errno)
        snprintf(why, sizeof why, "n/a: move_pages: %s", strerror(t->move_pages_errno));
    else if (!t->placement_ok)
        snprintf(why, sizeof why, "n/a: %s",
                 t->nnodes > 1 ? "1 NUMA node with memory allowed" : "1 NUMA node");
    else
        why[0] = 0;
    return why;
}

int bench_numa_slit_json(char *buf, size_t len)
{
    const struct mn_numa_topo *t = mn_numa_topology();
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
    for (int i = 0; i < t->nnodes; i++)
        PUT("%s%d", i ? "," : "", t->node[i].id);
    PUT("],\"dist\":[");
    for (int i = 0; i < t->nnodes; i++) {
        PUT("%s[", i ? "," : "");
        for (int j = 0; j < t->nnodes; j++)
            PUT("%s%d", j ? "," : "", t->dist[i][j]);
        PUT("]");
    }
    PUT("]}");
#undef PUT
    return (int)off;
}

int bench_numa_run_on_node(int id)
{
    int cpus[MN_NUMA_MAX_CPUS];
    int n = mn_numa_node_cpus(id, true, cpus, MN_NUMA_MAX_CPUS);
    if (n < 0)
        return n;
    if (n == 0)
        return -ENODEV;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++)
        CPU_SET(cpus[i], &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -errno;
    return 0;
}

int bench_numa_alloc(void **out, size_t bytes, int id, bool thp)
{
    const size_t huge = 2UL << 20;
    const struct mn_numa_topo *t = mn_numa_topology();
    if (bytes == 0)
        return -EINVAL;
    if (id >= 0) { /* mn_numa_bind's checks, before anything is mapped */
        int i = mn_numa_index_of(id);
        if (i < 0)
            return i;
        if (!t->node[i].mem_allowed)
            return -ENODEV;
        if (t->mbind_errno)
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
        int rc = mn_numa_bind(p, bytes, id, true);
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

int bench_numa_page_nodes(const void *addr, size_t npages, int *status)
{
    enum { BATCH = 512 };
    void *pages[BATCH];
    const struct mn_numa_topo *t = mn_numa_topology();
    if ((uintptr_t)addr & (PAGE_4K - 1))
        return -EINVAL;
    if (t->move_pages_errno && t->move_pages_errno != ENOENT)
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

int bench_numa_where(const void *addr, size_t bytes, struct bench_numa_where *out)
{
    size_t npages = (bytes + PAGE_4K - 1) / PAGE_4K;
    memset(out, 0, sizeof *out);
    int *st = malloc((npages ? npages : 1) * sizeof *st);
    if (!st)
        return -ENOMEM;
    int rc = bench_numa_page_nodes(addr, npages, st);
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

int bench_numastat_read(int id, struct bench_numastat *out)
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

int bench_numastat_snapshot(struct bench_numastat_snap *out)
{
    const struct mn_numa_topo *t = mn_numa_topology();
    memset(out, 0, sizeof *out);
    out->nnodes = t->nnodes;
    for (int i = 0; i < t->nnodes; i++) {
        int rc = bench_numastat_read(t->node[i].id, &out->node[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

void bench_numastat_delta(const struct bench_numastat_snap *before,
                          const struct bench_numastat_snap *after,
                          struct bench_numastat_snap *per_node, struct bench_numastat *total)
{
    struct bench_numastat t = {0};
    int n = before->nnodes < after->nnodes ? before->nnodes : after->nnodes;
    if (per_node) {
        memset(per_node, 0, sizeof *per_node);
        per_node->nnodes = n;
    }
    for (int i = 0; i < n; i++) {
        const struct bench_numastat *a = &before->node[i], *b = &after->node[i];
        struct bench_numastat d = {
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

double bench_numastat_remote_share(const struct bench_numastat *d)
{
    uint64_t den = d->local_node + d->other_node;
    return den ? (double)d->other_node / (double)den : 0.0;
}

double bench_numastat_foreign_share(const struct bench_numastat *d)
{
    uint64_t den = d->numa_hit + d->numa_miss;
    return den ? (double)d->numa_foreign / (double)den : 0.0;
}
