/*
 * tlbtrace.c - tlb:tlb_flush and mmap-family tracepoints as counting perf events.
 * Contract and caveats: tlbtrace.h.
 */
#include "tlbtrace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ==== Event set ========================================================================== */

enum ev_kind { EV_FLUSH, EV_REASON, EV_FULL, EV_RANGED, EV_ZERO, EV_MMAP, EV_MUNMAP, EV_MPROT };

struct evdef {
    int kind;        /* enum ev_kind */
    int reason;      /* for EV_REASON */
    uint64_t id;     /* tracepoint id */
    char filter[96]; /* "" = none */
};

#define MAX_EVS (TLBTRACE_MAX_COUNTERS)

struct tlbtrace {
    int scope;
    int nev;
    struct evdef ev[MAX_EVS];
    int ntargets; /* threads or CPUs */
    int *fd;      /* ntargets * nev, -1 where not opened */
    bool reason_ok[TLBTRACE_MAX_REASONS];
    char reason_desc[TLBTRACE_MAX_REASONS][48];
    bool has_sys;
    char sys_why[160];
};

/* Kernel enum tlb_flush_reason (include/linux/mm_types.h), lower case, TLB_ dropped. */
static const char *const reason_names[] = {
    "flush_on_task_switch", "remote_shootdown", "local_shootdown",
    "local_mm_shootdown",   "remote_send_ipi",  "remote_wrong_cpu",
};
#define NKNOWN ((int)(sizeof(reason_names) / sizeof(reason_names[0])))

const char *tlbtrace_reason_name(int r)
{
    static char other[TLBTRACE_MAX_REASONS][16];
    if (r >= 0 && r < NKNOWN)
        return reason_names[r];
    if (r < 0 || r >= TLBTRACE_MAX_REASONS)
        return "reason?";
    snprintf(other[r], sizeof other[r], "reason%d", r);
    return other[r];
}

/* ==== tracefs ============================================================================ */

static void set_why(char *why, size_t len, const char *fmt, const char *a, const char *b)
{
    if (why && len)
        snprintf(why, len, fmt, a, b);
}

static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    return (int)got;
}

/* tp_id - id of tracepoint <tracefs>/events/<name>/id, or a negative errno with why. */
static int64_t tp_id(const char *tracefs, const char *name, char *why, size_t why_len)
{
    char path[512], buf[32];
    snprintf(path, sizeof path, "%s/events/%s/id", tracefs, name);
    int n = read_file(path, buf, sizeof buf);
    if (n < 0) {
        if (n == -EACCES || n == -EPERM)
            set_why(why, why_len, "n/a: permission denied reading %s%s", path,
                    " (tracefs is root-only)");
        else if (n == -ENOENT)
            set_why(why, why_len, "n/a: no tracepoint %s (%s missing)", name, path);
        else
            set_why(why, why_len, "n/a: cannot read %s: %s", path, strerror(-n));
        return n;
    }
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || v < 0) {
        set_why(why, why_len, "n/a: bad tracepoint id in %s%s", path, "");
        return -EINVAL;
    }
    return v;
}

/* find_tracefs - choose the tracefs directory into dir (see tlbtrace_open). */
static int find_tracefs(char *dir, size_t len, char *why, size_t why_len)
{
    static const char *const cand[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
    char path[512];
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        snprintf(path, sizeof path, "%s/events/tlb/tlb_flush/id", cand[i]);
        if (access(path, F_OK) == 0 || errno == EACCES) {
            snprintf(dir, len, "%s", cand[i]);
            return 0;
        }
    }
    /* Not mounted: mount it where the kernel provides the mount point (perf does this). */
    struct stat sb;
    snprintf(path, sizeof path, "%s/events", cand[0]);
    if (stat(cand[0], &sb) == 0 && S_ISDIR(sb.st_mode) && stat(path, &sb) != 0) {
        if (mount("nodev", cand[0], "tracefs", 0, NULL) != 0) {
            int e = errno;
            set_why(why, why_len, "n/a: tracefs not mounted and mount at %s failed: %s", cand[0],
                    strerror(e));
            return -e;
        }
        snprintf(dir, len, "%s", cand[0]);
        return 0;
    }
    set_why(why, why_len, "n/a: no tracefs with tlb:tlb_flush (%s, %s)", cand[0], cand[1]);
    return -ENOENT;
}

/* parse_reasons - the reason values (and descriptions) listed by the format file's
 * __print_symbolic(REC->reason, { N, "desc" }, ...).  Falls back to the known enum. */
static void parse_reasons(struct tlbtrace *t, const char *tracefs)
{
    char path[512], buf[4096];
    snprintf(path, sizeof path, "%s/events/tlb/tlb_flush/format", tracefs);
    int found = 0;
    if (read_file(path, buf, sizeof buf) > 0) {
        const char *p = strstr(buf, "__print_symbolic(REC->reason");
        while (p && (p = strchr(p, '{')) != NULL) {
            int r;
            char desc[48];
            if (sscanf(p, "{ %d , \"%47[^\"]\" }", &r, desc) == 2 && r >= 0 &&
                r < TLBTRACE_MAX_REASONS) {
                t->reason_ok[r] = true;
                snprintf(t->reason_desc[r], sizeof t->reason_desc[r], "%s", desc);
                found++;
            }
            p++;
        }
    }
    if (!found)
        for (int r = 0; r < NKNOWN; r++)
            t->reason_ok[r] = true;
}

/* ==== perf events ========================================================================= */

static int perf_open(const struct evdef *ev, pid_t pid, int cpu, bool inherit)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_TRACEPOINT;
    a.config = ev->id;
    a.inherit = inherit;
    a.disabled = 0;
    long fd = syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ev->filter[0] && ioctl((int)fd, PERF_EVENT_IOC_SET_FILTER, ev->filter) != 0) {
        int e = -errno;
        close((int)fd);
        return e;
    }
    return (int)fd;
}

static int list_tids(pid_t **out)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -errno;
    int n = 0, cap = 16;
    pid_t *v = malloc(sizeof *v * (size_t)cap);
    struct dirent *de;
    while (v && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            pid_t *nv = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[n++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    if (!v)
        return -ENOMEM;
    *out = v;
    return n;
}

static void add_ev(struct tlbtrace *t, int kind, int reason, uint64_t id, const char *filter)
{
    struct evdef *e = &t->ev[t->nev++];
    e->kind = kind;
    e->reason = reason;
    e->id = id;
    snprintf(e->filter, sizeof e->filter, "%s", filter ? filter : "");
}

int tlbtrace_open(struct tlbtrace **out, const char *tracefs, int scope, char *why, size_t why_len)
{
    char dir[256], f[96];
    int rc;
    if (!out || (scope != TLBTRACE_THREADS && scope != TLBTRACE_CPUS)) {
        set_why(why, why_len, "n/a: %s%s", "bad tlbtrace_open arguments", "");
        return -EINVAL;
    }
    *out = NULL;
    if (tracefs)
        snprintf(dir, sizeof dir, "%s", tracefs);
    else if ((rc = find_tracefs(dir, sizeof dir, why, why_len)) != 0)
        return rc;

    int64_t flush_id = tp_id(dir, "tlb/tlb_flush", why, why_len);
    if (flush_id < 0)
        return (int)flush_id;

    struct tlbtrace *t = calloc(1, sizeof *t);
    if (!t) {
        set_why(why, why_len, "n/a: %s%s", "out of memory", "");
        return -ENOMEM;
    }
    t->scope = scope;
    parse_reasons(t, dir);

    add_ev(t, EV_FLUSH, -1, (uint64_t)flush_id, NULL);
    for (int r = 0; r < TLBTRACE_MAX_REASONS; r++)
        if (t->reason_ok[r]) {
            snprintf(f, sizeof f, "reason == %d", r);
            add_ev(t, EV_REASON, r, (uint64_t)flush_id, f);
        }
    snprintf(f, sizeof f, "pages == %lu", ULONG_MAX);
    add_ev(t, EV_FULL, -1, (uint64_t)flush_id, f);
    snprintf(f, sizeof f, "pages != 0 && pages != %lu", ULONG_MAX);
    add_ev(t, EV_RANGED, -1, (uint64_t)flush_id, f);
    add_ev(t, EV_ZERO, -1, (uint64_t)flush_id, "pages == 0");

    static const struct {
        int kind;
        const char *tp;
    } sys[] = {{EV_MMAP, "syscalls/sys_enter_mmap"},
               {EV_MUNMAP, "syscalls/sys_enter_munmap"},
               {EV_MPROT, "syscalls/sys_enter_mprotect"}};
    int64_t sid[3];
    t->has_sys = true;
    for (int i = 0; i < 3 && t->has_sys; i++) {
        sid[i] = tp_id(dir, sys[i].tp, t->sys_why, sizeof t->sys_why);
        if (sid[i] < 0)
            t->has_sys = false;
    }
    if (t->has_sys)
        for (int i = 0; i < 3; i++)
            add_ev(t, sys[i].kind, -1, (uint64_t)sid[i], NULL);

    /* Targets: our threads, or the CPUs. */
    pid_t *tids = NULL;
    int ntargets;
    if (scope == TLBTRACE_THREADS) {
        ntargets = list_tids(&tids);
        if (ntargets < 0) {
            set_why(why, why_len, "n/a: cannot list /proc/self/task: %s", strerror(-ntargets), "");
            rc = ntargets;
            goto fail;
        }
    } else {
        long nc = sysconf(_SC_NPROCESSORS_CONF);
        ntargets = nc > 0 ? (int)nc : 1;
    }
    t->ntargets = ntargets;
    t->fd = malloc(sizeof *t->fd * (size_t)(ntargets * t->nev));
    if (!t->fd) {
        set_why(why, why_len, "n/a: %s%s", "out of memory", "");
        rc = -ENOMEM;
        goto fail;
    }
    for (int i = 0; i < ntargets * t->nev; i++)
        t->fd[i] = -1;

    int opened = 0;
    for (int k = 0; k < ntargets; k++) {
        for (int e = 0; e < t->nev; e++) {
            int fd = scope == TLBTRACE_THREADS ? perf_open(&t->ev[e], tids[k], -1, true)
                                               : perf_open(&t->ev[e], -1, k, false);
            if (fd == -ESRCH || (scope == TLBTRACE_CPUS && fd == -ENODEV))
                break; /* the thread exited meanwhile / the CPU is offline */
            if (fd < 0) {
                char what[64];
                snprintf(what, sizeof what, "%s", strerror(-fd));
                if (fd == -EACCES || fd == -EPERM) {
                    char par[16] = "?";
                    if (read_file("/proc/sys/kernel/perf_event_paranoid", par, sizeof par) > 0)
                        par[strcspn(par, "\n")] = 0;
                    set_why(why, why_len,
                            "n/a: perf_event_open on a tracepoint denied (%s; "
                            "perf_event_paranoid=%s, needs CAP_PERFMON or root)",
                            what, par);
                } else if (fd == -ENOSYS) {
                    set_why(why, why_len, "n/a: no perf_event_open (%s)%s", what, "");
                } else {
                    set_why(why, why_len, "n/a: perf_event_open on tlb:tlb_flush: %s%s", what,
                            t->ev[e].filter[0] ? " (filter rejected?)" : "");
                }
                rc = fd;
                goto fail;
            }
            t->fd[k * t->nev + e] = fd;
            opened++;
        }
    }
    free(tids);
    if (!opened) {
        set_why(why, why_len, "n/a: %s%s", "no thread or CPU to attach to", "");
        tlbtrace_close(t);
        return -ESRCH;
    }
    *out = t;
    return 0;

fail:
    free(tids);
    tlbtrace_close(t);
    return rc;
}

int tlbtrace_read(struct tlbtrace *t, struct tlbtrace_counts *out)
{
    if (!t || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < t->ntargets; k++) {
        for (int e = 0; e < t->nev; e++) {
            int fd = t->fd[k * t->nev + e];
            if (fd < 0)
                continue;
            uint64_t v;
            if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
                return errno ? -errno : -EIO;
            const struct evdef *d = &t->ev[e];
            switch (d->kind) {
            case EV_FLUSH:
                out->flush += v;
                break;
            case EV_REASON:
                out->reason[d->reason] += v;
                break;
            case EV_FULL:
                out->pages_full += v;
                break;
            case EV_RANGED:
                out->pages_ranged += v;
                break;
            case EV_ZERO:
                out->pages_zero += v;
                break;
            case EV_MMAP:
                out->mmaps += v;
                break;
            case EV_MUNMAP:
                out->munmaps += v;
                break;
            case EV_MPROT:
                out->mprotects += v;
                break;
            }
        }
    }
    return 0;
}

void tlbtrace_close(struct tlbtrace *t)
{
    if (!t)
        return;
    if (t->fd)
        for (int i = 0; i < t->ntargets * t->nev; i++)
            if (t->fd[i] >= 0)
                close(t->fd[i]);
    free(t->fd);
    free(t);
}

void tlbtrace_diff(const struct tlbtrace_counts *a, const struct tlbtrace_counts *b,
                   struct tlbtrace_counts *out)
{
    out->flush = a->flush - b->flush;
    for (int r = 0; r < TLBTRACE_MAX_REASONS; r++)
        out->reason[r] = a->reason[r] - b->reason[r];
    out->pages_full = a->pages_full - b->pages_full;
    out->pages_ranged = a->pages_ranged - b->pages_ranged;
    out->pages_zero = a->pages_zero - b->pages_zero;
    out->mmaps = a->mmaps - b->mmaps;
    out->munmaps = a->munmaps - b->munmaps;
    out->mprotects = a->mprotects - b->mprotects;
}

bool tlbtrace_has_reason(const struct tlbtrace *t, int r)
{
    return t && r >= 0 && r < TLBTRACE_MAX_REASONS && t->reason_ok[r];
}

const char *tlbtrace_reason_desc(const struct tlbtrace *t, int r)
{
    return tlbtrace_has_reason(t, r) ? t->reason_desc[r] : "";
}

bool tlbtrace_has_syscalls(const struct tlbtrace *t)
{
    return t && t->has_sys;
}

const char *tlbtrace_syscalls_why(const struct tlbtrace *t)
{
    return t && !t->has_sys ? t->sys_why : "";
}

int tlbtrace_nthreads(const struct tlbtrace *t)
{
    return t ? t->ntargets : 0;
}

int tlbtrace_counters(const struct tlbtrace *t, const struct tlbtrace_counts *c, double per,
                      struct tlbtrace_counter *out, int n)
{
    int k = 0;
    if (per <= 0)
        per = 1;
#define PUT(nm, v)                                                                                 \
    do {                                                                                           \
        if (k < n) {                                                                               \
            snprintf(out[k].name, sizeof out[k].name, "%s", nm);                                   \
            out[k].value = (double)(v) / per;                                                      \
        }                                                                                          \
        k++;                                                                                       \
    } while (0)
    char nm[48];
    PUT("tlb_flush", c->flush);
    for (int r = 0; r < TLBTRACE_MAX_REASONS; r++)
        if (tlbtrace_has_reason(t, r)) {
            snprintf(nm, sizeof nm, "tlb_flush.%.37s", tlbtrace_reason_name(r));
            PUT(nm, c->reason[r]);
        }
    PUT("tlb_flush.pages_full", c->pages_full);
    PUT("tlb_flush.pages_ranged", c->pages_ranged);
    PUT("tlb_flush.pages_zero", c->pages_zero);
    if (tlbtrace_has_syscalls(t)) {
        PUT("mmaps", c->mmaps);
        PUT("munmaps", c->munmaps);
        PUT("mprotects", c->mprotects);
    }
#undef PUT
    return k;
}
