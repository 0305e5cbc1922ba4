/*
 * test_tlbtrace.c - the tracepoint counter (benches/harness/tlbtrace.c) against workloads
 * whose effect is known.  Claims: T4.flush, T4.local, T4.mmap (the instrument they use).
 *
 *   - N mmap + touch + mprotect + munmap rounds on a thread created after open (inherit):
 *     mmaps, munmaps and mprotects each count N (plus a small allowance for the test's own
 *     thread start), local_mm_shootdown and the ranged class rise by at least N, and the
 *     reasons and the pages classes each add up to the total.
 *   - a pure-compute loop on two threads raises no shootdown (a small allowance for
 *     background kernel work on our mm: khugepaged, compaction) and no mmap.
 *   - an unmap on a multi-threaded process whose other thread runs on another CPU (both
 *     pinned) is a real shootdown: remote_send_ipi at the sender rises with the rounds
 *     (pin/shoot's unmap:1 rows rest on this; skips on one CPU).
 *   - a bad tracefs path gives -ENOENT and an "n/a: " reason.
 * Where tracefs or perf is not available the first two skip with the reason.
 */
#include "../harness/tlbtrace.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 500
#define SLACK 16 /* events the test harness itself may add (thread start, malloc arenas) */

static struct tlbtrace *open_or_skip(void)
{
    char why[256] = "";
    struct tlbtrace *t = NULL;
    int rc = tlbtrace_open(&t, NULL, TLBTRACE_THREADS, why, sizeof why);
    if (rc != 0) {
        cr_assert(strncmp(why, "n/a: ", 5) == 0, "error without a reason: %d '%s'", rc, why);
        cr_skip_test("%s", why);
    }
    return t;
}

static uint64_t shootdowns(const struct tlbtrace_counts *c)
{
    uint64_t s = 0;
    for (int r = 1; r < TLBTRACE_MAX_REASONS; r++) /* all but flush_on_task_switch */
        s += c->reason[r];
    return s;
}

/* ---- workload: mapping churn on a fresh thread, with a spinner so the mm spans CPUs ---- */

static atomic_int stop_spin;

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop_spin, memory_order_relaxed))
        ;
    return NULL;
}

static void *churn(void *arg)
{
    int *failed = arg;
    long pg = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < ROUNDS; i++) {
        char *p =
            mmap(NULL, (size_t)pg * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            *failed = errno;
            return NULL;
        }
        p[0] = 1; /* present pages, so the kernel has something to flush */
        p[pg] = 1;
        if (mprotect(p, (size_t)pg * 4, PROT_READ) != 0 || munmap(p, (size_t)pg * 4) != 0) {
            *failed = errno;
            return NULL;
        }
    }
    return NULL;
}

Test(tlbtrace, churn_raises_counts_and_classes_add_up)
{
    pthread_t spin, worker;
    atomic_store(&stop_spin, 0);
    cr_assert_eq(pthread_create(&spin, NULL, spinner, NULL), 0);
    struct tlbtrace *t = open_or_skip();
    cr_assert(tlbtrace_nthreads(t) >= 2, "spinner and main thread expected");
    cr_assert(tlbtrace_has_reason(t, 3), "kernel lists no local_mm_shootdown reason");

    struct tlbtrace_counts a, b, d;
    cr_assert_eq(tlbtrace_read(t, &a), 0);
    int failed = 0;
    /* Created after open: counted only through inherit. */
    cr_assert_eq(pthread_create(&worker, NULL, churn, &failed), 0);
    cr_assert_eq(pthread_join(worker, NULL), 0);
    atomic_store(&stop_spin, 1);
    cr_assert_eq(pthread_join(spin, NULL), 0);
    cr_assert_eq(tlbtrace_read(t, &b), 0);
    cr_assert_eq(failed, 0, "churn failed: %s", strerror(failed));
    tlbtrace_diff(&b, &a, &d);

    if (tlbtrace_has_syscalls(t)) {
        cr_expect(d.mmaps >= ROUNDS && d.mmaps <= ROUNDS + SLACK, "mmaps %lu for %d calls",
                  (unsigned long)d.mmaps, ROUNDS);
        cr_expect(d.munmaps >= ROUNDS && d.munmaps <= ROUNDS + SLACK, "munmaps %lu for %d calls",
                  (unsigned long)d.munmaps, ROUNDS);
        cr_expect(d.mprotects >= ROUNDS && d.mprotects <= ROUNDS + SLACK,
                  "mprotects %lu for %d calls", (unsigned long)d.mprotects, ROUNDS);
    }
    /* Each mprotect and munmap of present pages flushes the range on the calling CPU. */
    cr_expect(d.reason[3] >= ROUNDS, "local_mm_shootdown %lu < %d", (unsigned long)d.reason[3],
              ROUNDS);
    cr_expect(d.pages_ranged >= ROUNDS, "ranged flushes %lu < %d", (unsigned long)d.pages_ranged,
              ROUNDS);
    cr_expect(d.flush >= ROUNDS);

    uint64_t by_reason = 0;
    for (int r = 0; r < TLBTRACE_MAX_REASONS; r++)
        by_reason += d.reason[r];
    uint64_t by_pages = d.pages_full + d.pages_ranged + d.pages_zero;
    /* Counters are read one after another: allow a few events landing between reads. */
    cr_expect(by_reason + 4 >= d.flush && by_reason <= d.flush + 4, "reasons sum %lu vs total %lu",
              (unsigned long)by_reason, (unsigned long)d.flush);
    cr_expect(by_pages + 4 >= d.flush && by_pages <= d.flush + 4,
              "pages classes sum %lu vs total %lu", (unsigned long)by_pages,
              (unsigned long)d.flush);

    struct tlbtrace_counter cs[TLBTRACE_MAX_COUNTERS];
    int n = tlbtrace_counters(t, &d, 1.0, cs, TLBTRACE_MAX_COUNTERS);
    cr_assert(n > 0 && n <= TLBTRACE_MAX_COUNTERS);
    cr_expect_str_eq(cs[0].name, "tlb_flush");
    cr_expect_eq((uint64_t)cs[0].value, d.flush);
    bool saw_mm = false;
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, "tlb_flush.local_mm_shootdown") == 0)
            saw_mm = (uint64_t)cs[i].value == d.reason[3];
    cr_expect(saw_mm, "tlb_flush.local_mm_shootdown missing or wrong");
    tlbtrace_close(t);
}

/* ---- workload: unmap while another thread of the process runs on another CPU ------------- */

struct pinned {
    int cpu;
    int err; /* pthread_setaffinity_np's error, 0 when pinned */
    int failed;
};

static int pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pinned_spinner(void *arg)
{
    struct pinned *p = arg;
    p->err = pin_self(p->cpu);
    spinner(NULL);
    return NULL;
}

static void *pinned_churn(void *arg)
{
    struct pinned *p = arg;
    if ((p->err = pin_self(p->cpu)) != 0)
        return NULL;
    return churn(&p->failed);
}

/* Two CPUs of our affinity mask, or skip. */
static void two_cpus_or_skip(int *a, int *b)
{
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    *a = *b = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (*a < 0)
                *a = c;
            else if (*b < 0)
                *b = c;
        }
    if (*b < 0)
        cr_skip_test("n/a: one CPU in the affinity mask (a shootdown needs two)");
}

Test(tlbtrace, unmap_with_thread_on_other_cpu_sends_shootdown_ipis)
{
    int c0, c1;
    two_cpus_or_skip(&c0, &c1);
    struct pinned sp = {.cpu = c1}, ch = {.cpu = c0};
    pthread_t spin, worker;
    atomic_store(&stop_spin, 0);
    cr_assert_eq(pthread_create(&spin, NULL, pinned_spinner, &sp), 0);
    struct tlbtrace *t = open_or_skip();
    cr_assert(tlbtrace_has_reason(t, 4), "kernel lists no remote_send_ipi reason");
    struct tlbtrace_counts a, b, d;
    cr_assert_eq(tlbtrace_read(t, &a), 0);
    cr_assert_eq(pthread_create(&worker, NULL, pinned_churn, &ch), 0);
    cr_assert_eq(pthread_join(worker, NULL), 0);
    atomic_store(&stop_spin, 1);
    cr_assert_eq(pthread_join(spin, NULL), 0);
    cr_assert_eq(tlbtrace_read(t, &b), 0);
    tlbtrace_close(t);
    cr_assert_eq(sp.err, 0, "pinning the spinner: %s", strerror(sp.err));
    cr_assert_eq(ch.err, 0, "pinning the churner: %s", strerror(ch.err));
    cr_assert_eq(ch.failed, 0, "churn failed: %s", strerror(ch.failed));
    tlbtrace_diff(&b, &a, &d);
    /* 2 flushing calls (mprotect, munmap) per round; the spinner keeps the mm loaded on
     * the other CPU, so each must reach it.  Another tenant may preempt the spinner and the
     * kernel may then trim that CPU from the mm's mask: ask for a tenth, not all. */
    cr_expect(d.reason[4] >= ROUNDS / 10, "remote_send_ipi %lu < %d over %d rounds",
              (unsigned long)d.reason[4], ROUNDS / 10, ROUNDS);
    cr_expect(d.reason[3] >= ROUNDS, "local_mm_shootdown %lu < %d", (unsigned long)d.reason[3],
              ROUNDS);
    cr_expect(d.reason[4] <= d.reason[3] + SLACK,
              "remote_send_ipi %lu above the flushes started %lu", (unsigned long)d.reason[4],
              (unsigned long)d.reason[3]);
}

/* ---- workload: pure compute ------------------------------------------------------------- */

static void *compute(void *arg)
{
    volatile uint64_t *out = arg;
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < 30 * 1000 * 1000; i++) { /* xorshift: registers only */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    *out = x;
    return NULL;
}

Test(tlbtrace, compute_raises_no_shootdown)
{
    pthread_t th[2];
    static volatile uint64_t sink[2];
    struct tlbtrace *t = open_or_skip();
    struct tlbtrace_counts a, b, d;
    /* Threads first, then read: thread start maps a stack. */
    cr_assert_eq(tlbtrace_read(t, &a), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, compute, (void *)&sink[i]), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_join(th[i], NULL), 0);
    cr_assert_eq(tlbtrace_read(t, &b), 0);
    tlbtrace_diff(&b, &a, &d);
    /* pthread_create/exit map and unmap the two stacks (and free them at join): bounded
     * by a handful per thread, independent of the 30M-iteration loop length. */
    cr_expect(shootdowns(&d) <= SLACK, "compute raised %lu shootdowns",
              (unsigned long)shootdowns(&d));
    if (tlbtrace_has_syscalls(t))
        cr_expect(d.mmaps <= SLACK, "compute made %lu mmaps", (unsigned long)d.mmaps);
    tlbtrace_close(t);
}

/* ---- errors ------------------------------------------------------------------------------ */

Test(tlbtrace, bad_tracefs_path_gives_reason)
{
    char why[256] = "";
    struct tlbtrace *t = (struct tlbtrace *)1;
    int rc = tlbtrace_open(&t, "/nonexistent/tracing", TLBTRACE_THREADS, why, sizeof why);
    cr_expect_eq(rc, -ENOENT);
    cr_expect_null(t);
    cr_expect(strncmp(why, "n/a: ", 5) == 0, "reason '%s'", why);
    cr_expect(strstr(why, "/nonexistent/tracing") != NULL, "reason names the path: '%s'", why);
}

Test(tlbtrace, bad_scope_is_einval)
{
    char why[64] = "";
    struct tlbtrace *t = NULL;
    cr_expect_eq(tlbtrace_open(&t, NULL, 7, why, sizeof why), -EINVAL);
    cr_expect(strncmp(why, "n/a: ", 5) == 0);
}

Test(tlbtrace, reason_names_follow_kernel_enum)
{
    cr_expect_str_eq(tlbtrace_reason_name(0), "flush_on_task_switch");
    cr_expect_str_eq(tlbtrace_reason_name(1), "remote_shootdown");
    cr_expect_str_eq(tlbtrace_reason_name(3), "local_mm_shootdown");
    cr_expect_str_eq(tlbtrace_reason_name(4), "remote_send_ipi");
    cr_expect_str_eq(tlbtrace_reason_name(7), "reason7");
}

/* System-wide scope sees at least what our own churn causes (plus everyone else's). */
Test(tlbtrace, cpu_scope_counts_churn)
{
    char why[256] = "";
    struct tlbtrace *t = NULL;
    int rc = tlbtrace_open(&t, NULL, TLBTRACE_CPUS, why, sizeof why);
    if (rc != 0) {
        cr_assert(strncmp(why, "n/a: ", 5) == 0, "error without a reason: %d '%s'", rc, why);
        cr_skip_test("%s", why);
    }
    cr_assert(tlbtrace_nthreads(t) >= 1);
    struct tlbtrace_counts a, b, d;
    int failed = 0;
    cr_assert_eq(tlbtrace_read(t, &a), 0);
    churn(&failed);
    cr_assert_eq(tlbtrace_read(t, &b), 0);
    cr_assert_eq(failed, 0, "churn failed: %s", strerror(failed));
    tlbtrace_diff(&b, &a, &d);
    cr_expect(d.reason[3] >= ROUNDS, "local_mm_shootdown %lu < %d", (unsigned long)d.reason[3],
              ROUNDS);
    if (tlbtrace_has_syscalls(t))
        cr_expect(d.mmaps >= ROUNDS, "system-wide mmaps %lu < %d", (unsigned long)d.mmaps, ROUNDS);
    tlbtrace_close(t);
}
