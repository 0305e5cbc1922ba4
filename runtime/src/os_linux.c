/*
 * os_linux.c - the OS layer: monotonic time, futex sleep/wake, notes (one-shot
 * thread wakeups, Go's lock_futex.go notes) and the runtime's internal lock.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mn.h"
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
            l->prof->acquisitions++;
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
        l->prof->acquisitions++;
        l->prof->contentions++;
        l->prof->wait_ns += mn_nanotime() - t0;
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
