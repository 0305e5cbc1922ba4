/*
 * os_linux.c - the OS layer: monotonic time, futex sleep/wake, notes (one-shot
 * thread wakeups, Go's lock_futex.go notes) and the runtime's internal lock.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mn.h"
#include "mn_export.h"
#include "util.h"

uint64_t mn_nanotime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mn_futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
    }
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
}

void mn_futex_wake(uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void mn_procyield(int n)
{
    while (n-- > 0)
        mn_cpu_relax();
}

void mn_osyield(void)
{
    sched_yield();
}

static void vfatal(const char *fmt, va_list ap)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "fatal: ");
    n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
}

void mn_throw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfatal(fmt, ap);
    va_end(ap);
    abort();
}

void mn_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfatal(fmt, ap);
    va_end(ap);
    _exit(2);
}

/* ==== Notes ============================================================================ */

void mn_notesleep(struct mn_note *n)
{
    while (ld_sc(&n->key) == 0)
        mn_futex_wait(&n->key, 0, -1);
}

bool mn_notetsleep(struct mn_note *n, int64_t ns)
{
    if (ld_sc(&n->key) != 0)
        return true;
    uint64_t deadline = mn_nanotime() + (uint64_t)ns;
    for (;;) {
        mn_futex_wait(&n->key, 0, ns);
        if (ld_sc(&n->key) != 0)
            return true;
        uint64_t now = mn_nanotime();
        if (now >= deadline)
            return false;
        ns = (int64_t)(deadline - now);
    }
}

void mn_notewakeup(struct mn_note *n)
{
    uint32_t old = xchg(&n->key, 1);
    if (old != 0)
        mn_throw("notewakeup: double wakeup (%u)", old);
    mn_futex_wake(&n->key, 1);
}

/* ==== Internal lock (Go's lock_futex.go: spin, yield, then sleep) ======================= */

#include "runtime2.h"

void mn_lock(struct mn_lock *l)
{
    uint32_t v = 0;
    if (mn_likely(__atomic_compare_exchange_n(&l->key, &v, 1, false, __ATOMIC_ACQUIRE,
                                              __ATOMIC_RELAXED))) {
        if (l->prof)
            owner_inc(&l->prof->acquisitions, 1); /* lock held; read unlocked */
        return;
    }
    uint64_t t0 = mn_nanotime();
    /* Spin: 4 rounds of 30 PAUSEs, then one sched_yield, then sleep (Go's constants). */
    uint32_t wait = 1;
    for (;;) {
        for (int i = 0; i < 4; i++) {
            while (ld_relaxed(&l->key) == 0) {
                v = 0;
                if (__atomic_compare_exchange_n(&l->key, &v, wait, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
                    goto got;
            }
            mn_procyield(30);
        }
        mn_osyield();
        if (xchg(&l->key, 2) == 0) {
            wait = 2;
            goto got;
        }
        wait = 2;
        mn_futex_wait(&l->key, 2, -1);
    }
got:
    if (l->prof) {
        owner_inc(&l->prof->acquisitions, 1); /* lock held; read unlocked */
        owner_inc(&l->prof->contentions, 1);  /* lock held; read unlocked */
        owner_inc(&l->prof->wait_ns, mn_nanotime() - t0);
    }
}

void mn_unlock(struct mn_lock *l)
{
    uint32_t v = __atomic_exchange_n(&l->key, 0, __ATOMIC_RELEASE);
    if (mn_unlikely(v == 2))
        mn_futex_wake(&l->key, 1);
    else if (mn_unlikely(v == 0))
        mn_throw("unlock of unlocked lock");
}

/* ==== Default GOMAXPROCS: the affinity mask and the cgroup CPU limit ====================== */

/* read_line - the first line of prefix+path into buf; false when it cannot be read. */
static bool read_line(const char *prefix, const char *path, char *buf, size_t len)
{
    char full[8192];
    int n = snprintf(full, sizeof full, "%s%s", prefix, path);
    if (n < 0 || (size_t)n >= sizeof full)
        return false;
    FILE *f = fopen(full, "re");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    return ok;
}

/* dir_limit - the CPU limit set in one cgroup directory (CPUs), 0 when none.  v2: cpu.max
 * "<quota> <period>" or "max <period>"; v1: cpu.cfs_quota_us (-1 = none) and
 * cpu.cfs_period_us. */
static double dir_limit(const char *prefix, const char *dir, bool v2)
{
    char path[4200], a[128], b[128];
    if (v2) {
        snprintf(path, sizeof path, "%s/cpu.max", dir);
        if (!read_line(prefix, path, a, sizeof a))
            return 0;
        char q[64];
        long long period;
        if (sscanf(a, "%63s %lld", q, &period) != 2 || strcmp(q, "max") == 0 || period <= 0)
            return 0;
        long long quota = atoll(q);
        return quota > 0 ? (double)quota / (double)period : 0;
    }
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (!read_line(prefix, path, a, sizeof a))
        return 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (!read_line(prefix, path, b, sizeof b))
        return 0;
    long long quota = atoll(a), period = atoll(b);
    return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}

/* hierarchy_limit - the smallest limit from the process's cgroup up to the mount's root
 * (a parent's limit caps its children, as Go's internal/cgroup walks it). */
static double hierarchy_limit(const char *prefix, const char *mnt, const char *rel, bool v2)
{
    char dir[4096];
    double best = 0;
    snprintf(dir, sizeof dir, "%s%s", mnt, strcmp(rel, "/") ? rel : "");
    for (;;) {
        double l = dir_limit(prefix, dir, v2);
        if (l > 0 && (best == 0 || l < best))
            best = l;
        size_t mlen = strlen(mnt);
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= mlen || !slash || slash < dir + mlen)
            break;
        *slash = 0;
    }
    return best;
}

/* has_item - whether the comma-separated list contains item. */
static bool has_item(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, item, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* mn_x_cpu_quota - the cgroup CPU limit of this process in CPUs (quota / period, smallest
 * over cgroup v1's cpu hierarchy and v2's unified one, each walked up to its mount's
 * root), 0 when there is none.  prefix ("" normally) is prepended to every path read, so
 * a test can feed a fake /proc/self/cgroup, /proc/self/mountinfo and cgroup tree. */
double mn_x_cpu_quota(const char *prefix)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", prefix);
    FILE *cg = fopen(path, "re");
    if (!cg)
        return 0;
    char v1path[2048] = "", v2path[2048] = "", line[4096];
    bool have_v1 = false, have_v2 = false;
    while (fgets(line, sizeof line, cg)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = 0;
        if (strcmp(line, "0") == 0 && c1[1] == 0) {
            snprintf(v2path, sizeof v2path, "%s", c2 + 1);
            have_v2 = true;
        } else if (has_item(c1 + 1, "cpu")) {
            snprintf(v1path, sizeof v1path, "%s", c2 + 1);
            have_v1 = true;
        }
    }
    fclose(cg);
    snprintf(path, sizeof path, "%s/proc/self/mountinfo", prefix);
    FILE *mi = fopen(path, "re");
    if (!mi)
        return 0;
    double best = 0;
    while (fgets(line, sizeof line, mi)) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char root[2048], mnt[2048];
        if (sscanf(line, "%*s %*s %*s %2047s %2047s", root, mnt) != 2)
            continue;
        char *dash = strstr(line, " - ");
        if (!dash)
            continue;
        char fstype[64], source[256], super[1024] = "";
        if (sscanf(dash + 3, "%63s %255s %1023s", fstype, source, super) < 2)
            continue;
        bool v2 = strcmp(fstype, "cgroup2") == 0;
        bool v1 = strcmp(fstype, "cgroup") == 0 && has_item(super, "cpu");
        if (!(v2 && have_v2) && !(v1 && have_v1))
            continue;
        const char *rel = v2 ? v2path : v1path;
        size_t rl = strlen(root);
        if (strcmp(root, "/") != 0) { /* a container sees its cgroup as the mount's root */
            if (strncmp(rel, root, rl) != 0 || (rel[rl] != 0 && rel[rl] != '/'))
                continue;
            rel = rel[rl] ? rel + rl : "/";
        }
        double l = hierarchy_limit(prefix, mnt, rel, v2);
        if (l > 0 && (best == 0 || l < best))
            best = l;
    }
    fclose(mi);
    return best;
}

int mn_default_gomaxprocs(struct mn_procs_default *out)
{
    if (!out)
        return -EINVAL;
    cpu_set_t set;
    int cpus = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        cpus = CPU_COUNT(&set);
    out->cpus = cpus;
    out->quota = mn_x_cpu_quota("");
    int procs = cpus;
    if (out->quota > 0) {
        double up = (double)(long)out->quota;
        int q = (int)(up < out->quota ? up + 1 : up); /* round up */
        if (q < 1)
            q = 1;
        if (q < procs)
            procs = q;
    }
    if (procs > MN_MAX_PROCS)
        procs = MN_MAX_PROCS;
    out->gomaxprocs = procs;
    return 0;
}
