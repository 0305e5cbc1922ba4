/*
 * tlbtrace.h - count the tlb:tlb_flush tracepoint (by reason and by pages class) and the
 * mmap/munmap/mprotect syscall tracepoints for the threads of this process.
 *
 * Claims: T4.flush, T4.local, T4.mmap (benches/pin_tlb.c), and the mmap side of any bench.
 *
 * ---- How it counts ----------------------------------------------------------------------
 *
 * Each event is a counting perf event of type PERF_TYPE_TRACEPOINT whose config is the
 * tracepoint id read from tracefs (<tracefs>/events/tlb/tlb_flush/id).  One tracepoint
 * cannot be broken down by a field in counting mode, so there is one event per class,
 * each with a filter (PERF_EVENT_IOC_SET_FILTER): "reason == N" for every reason the
 * kernel's format file lists, and "pages == ULONG_MAX" (full flush, the kernel's
 * TLB_FLUSH_ALL = -1), "pages == 0" and "pages != 0 && pages != ULONG_MAX" (ranged) for
 * the pages classes.  The sum over reasons and the sum over pages classes each equal the
 * unfiltered total (up to events that land between two reads).
 *
 * Scope TLBTRACE_THREADS (the default): one event set per thread in /proc/self/task at
 * open time, each with inherit = 1, so threads those threads create later (runtime Ms,
 * sysmon) are counted too and their counts fold into their creator's events when they
 * exit.  Only events that fire while one of our threads is current are counted.
 * Scope TLBTRACE_CPUS: one event set per online CPU with pid = -1; counts every process
 * on the machine (other users' work included), so it is only for cross-checks.
 *
 * ---- Caveats (read before quoting a number; see /work/shared/HOST-NOTES.md) ------------
 *
 *   - One shootdown is counted twice: the sender logs remote_send_ipi (and usually a
 *     local_mm_shootdown for its own CPU) and every receiver logs remote_shootdown.  Add
 *     reasons only knowing this.
 *   - flush_on_task_switch is logged inside switch_mm during a context switch, after the
 *     outgoing task's per-task events were scheduled out and before the incoming task's
 *     are scheduled in, so in scope TLBTRACE_THREADS the ordinary address-space switches
 *     are not counted (on this host perf stat on a mprotect/munmap churn process saw 0,
 *     perf stat -a saw them); only the few logged while one of our threads is current
 *     (e.g. leaving lazy-TLB mode) are.  In scope TLBTRACE_CPUS task-switch flushes are
 *     counted and dominate the total: every switch to another address space logs one
 *     even when nothing real is flushed (pages == 0, or a full flush by ASID change).
 *   - remote_shootdown is counted per thread only when one of our threads is running on
 *     the receiving CPU; an idle receiver is not ours.
 *   - Background kernel work on our mm (khugepaged, compaction, KSM) can add shootdowns
 *     that the workload did not cause.
 *
 * ---- Errors -----------------------------------------------------------------------------
 *
 * tlbtrace_open returns 0 or a negative errno and, on error, writes a reason that starts
 * with "n/a: " into why (for bench_skip): -ENOENT tracefs or the tracepoint is missing,
 * -EACCES/-EPERM permission denied (tracefs is root-only; perf_event_paranoid), -ENOSYS
 * no perf_event_open, -EMFILE too many fds, -ENOMEM.  The syscall tracepoints are
 * optional (CONFIG_FTRACE_SYSCALLS): when absent, open still succeeds, has_syscalls is
 * false and syscalls_why says why.
 */
#ifndef TLBTRACE_H
#define TLBTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TLBTRACE_MAX_REASONS 8 /* reason values 0..7 (the kernel has 0..5 as of 6.18) */
#define TLBTRACE_MAX_COUNTERS (1 + TLBTRACE_MAX_REASONS + 3 + 3)

enum tlbtrace_scope {
    TLBTRACE_THREADS = 0, /* this process's threads, inherit = 1 (default) */
    TLBTRACE_CPUS = 1,    /* every task on every online CPU (system-wide) */
};

/* struct tlbtrace_counts - one reading (monotonic since open) or a difference of two. */
struct tlbtrace_counts {
    uint64_t flush;                        /* tlb:tlb_flush, all reasons */
    uint64_t reason[TLBTRACE_MAX_REASONS]; /* by reason value; 0 for reasons not listed */
    uint64_t pages_full;                   /* pages == -1 (TLB_FLUSH_ALL) */
    uint64_t pages_ranged;                 /* 0 < pages < -1 */
    uint64_t pages_zero;                   /* pages == 0 */
    uint64_t mmaps;                        /* syscalls:sys_enter_mmap */
    uint64_t munmaps;                      /* syscalls:sys_enter_munmap */
    uint64_t mprotects;                    /* syscalls:sys_enter_mprotect */
};

/* struct tlbtrace_counter - one named value, as a bench reports it (FORMAT.md names). */
struct tlbtrace_counter {
    char name[48]; /* "tlb_flush", "tlb_flush.<reason>", "tlb_flush.pages_full", "mmaps" */
    double value;
};

struct tlbtrace; /* opaque: the open events */

/*
 * tlbtrace_open - open and enable the events.  tracefs: the tracefs mount to read ids
 * from, or NULL for the default search (/sys/kernel/tracing, then
 * /sys/kernel/debug/tracing; when neither has the events and /sys/kernel/tracing is an
 * empty directory, tracefs is mounted there, as perf does).  scope: enum tlbtrace_scope.
 * why/why_len: receives "n/a: <reason>" on error (may be NULL).
 * Returns 0 and *out, or a negative errno (see the header comment).  Any thread; the
 * thread set is taken from /proc/self/task now, so open before the workload's threads
 * start or after they all exist (both are covered; later threads through inherit).
 */
__attribute__((warn_unused_result)) int tlbtrace_open(struct tlbtrace **out, const char *tracefs,
                                                      int scope, char *why, size_t why_len);

/* tlbtrace_read - sum the events over all threads (or CPUs) into *out.  Returns 0 or a
 * negative errno from read(2).  Any thread. */
__attribute__((warn_unused_result)) int tlbtrace_read(struct tlbtrace *t,
                                                      struct tlbtrace_counts *out);

/* tlbtrace_close - close every event and free t (NULL is a no-op). */
void tlbtrace_close(struct tlbtrace *t);

/* tlbtrace_diff - out = after - before, field by field. */
void tlbtrace_diff(const struct tlbtrace_counts *after, const struct tlbtrace_counts *before,
                   struct tlbtrace_counts *out);

/* tlbtrace_has_reason - whether the kernel lists reason r (0 <= r < TLBTRACE_MAX_REASONS). */
bool tlbtrace_has_reason(const struct tlbtrace *t, int r);

/* tlbtrace_reason_name - counter suffix for reason r: the kernel enum's name in lower case
 * without TLB_ ("flush_on_task_switch", "remote_shootdown", "local_shootdown",
 * "local_mm_shootdown", "remote_send_ipi", "remote_wrong_cpu"), "reason<r>" for a value
 * this file does not know.  Static storage. */
const char *tlbtrace_reason_name(int r);

/* tlbtrace_reason_desc - the kernel's own description of reason r from the format file
 * ("remote shootdown"), or "" when unknown.  Valid while t is open. */
const char *tlbtrace_reason_desc(const struct tlbtrace *t, int r);

/* tlbtrace_has_syscalls - whether mmaps/munmaps/mprotects are counted; when not,
 * tlbtrace_syscalls_why gives "n/a: <reason>". */
bool tlbtrace_has_syscalls(const struct tlbtrace *t);
const char *tlbtrace_syscalls_why(const struct tlbtrace *t);

/* tlbtrace_counters - c as named counters (FORMAT.md): tlb_flush, tlb_flush.<reason> for
 * each reason the kernel lists, tlb_flush.pages_full/_ranged/_zero, and mmaps, munmaps,
 * mprotects when counted.  Values are c's divided by per (e.g. the iteration count; 1 for
 * raw counts).  Writes at most n; returns how many exist. */
int tlbtrace_counters(const struct tlbtrace *t, const struct tlbtrace_counts *c, double per,
                      struct tlbtrace_counter *out, int n);

/* tlbtrace_nthreads - threads (or CPUs) the events were opened on. */
int tlbtrace_nthreads(const struct tlbtrace *t);

#ifdef __cplusplus
}
#endif
#endif /* TLBTRACE_H */
