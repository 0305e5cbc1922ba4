/*
 * mn_export.h - runtime internals exposed to tests and benches only (the analog of Go's
 * export_test.go).  Not part of the public interface; names carry the mn_x_ prefix.
 */
#ifndef MN_EXPORT_H
#define MN_EXPORT_H

#include "mn.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mn_p;
struct mn_g;

/* struct mn_x_layout - where the run-queue fields of a P sit, for one pad_runq setting
 * (claims L2.1.runq, L2.1.headtail, L2.1.fourlines).  Offsets in bytes from the start of
 * struct mn_p; lines are offset / 64 (x86-64 cache line). */
struct mn_x_layout {
    int pad;              /* 0, 64 or 128 */
    size_t p_bytes;       /* sizeof(struct mn_p) */
    size_t off_status;    /* the field before the run queue block (P status word) */
    size_t off_schedtick; /* a field the owner writes on every schedule() */
    size_t off_runqhead;
    size_t off_runqtail;
    size_t off_runq; /* first slot */
    size_t off_runnext;
    size_t runq_slots;       /* MN_RUNQ_SLOTS */
    size_t runq_slot_bytes;  /* sizeof(struct mn_g *) */
    size_t runq_bytes;       /* slots * slot bytes */
    size_t runq_lines;       /* distinct 64-byte lines the runq array spans */
    bool headtail_same_line; /* runqhead and runqtail share a 64-byte line */
};
/* mn_x_p_layout - fill *out for pad (0, 64, 128).  -EINVAL for another pad. */
MN_WUR int mn_x_p_layout(int pad, struct mn_x_layout *out);

/* Standalone Ps and fake Gs, for run-queue tests and the run-queue microbench.  A
 * standalone P belongs to no runtime; its queue cannot spill to a global queue. */
struct mn_p *mn_x_p_new(int pad); /* NULL on ENOMEM or bad pad */
void mn_x_p_free(struct mn_p *pp);
struct mn_g *mn_x_fake_gs(size_t n);                   /* n Gs with IDs 1..n; free() the result */
struct mn_g *mn_x_fake_g(struct mn_g *base, size_t i); /* &base[i] */
uint64_t mn_x_g_id(const struct mn_g *gp);

/* Go's runqput (next: put in runnext, kicking the old runnext to the tail), runqget
 * (runnext first) and runqsteal (take half of src's queue into dst; stealnext: may take
 * src's runnext when the queue is empty).  mn_x_runqput returns false when the queue is
 * full (a runtime P would spill half to the global queue instead).  Concurrency as in
 * Go: put/get only by the owner thread; steal from any thread with dst owned by it. */
bool mn_x_runqput(struct mn_p *pp, struct mn_g *gp, bool next);
struct mn_g *mn_x_runqget(struct mn_p *pp);
struct mn_g *mn_x_runqsteal(struct mn_p *dst, struct mn_p *src, bool stealnext);
uint32_t mn_x_runqlen(struct mn_p *pp); /* queued Gs, runnext not counted */

/* mn_x_stack_guard_mode - how stacks are guarded in this process: "madv_guard" (Linux 6.13+
 * guard regions, no VMA split), "mprotect" (guard page per stack, splits the mapping),
 * "canary" (small stacks, or guards over the map-count budget). */
const char *mn_x_stack_guard_mode(void);

/* mn_x_cpu_quota - this process's cgroup CPU limit in CPUs (quota / period, the smallest
 * over cgroup v1's cpu hierarchy and v2's unified one, each walked from the process's
 * cgroup up to its mount's root); 0 when there is none.  prefix is prepended to every path
 * read (/proc/self/cgroup, /proc/self/mountinfo, the cgroup files): "" for the real ones,
 * a directory for a test's fake tree.  mn_default_gomaxprocs uses prefix "". */
double mn_x_cpu_quota(const char *prefix);

/* Fault injection for the error paths: the next n calls of that kind fail with err
 * (a positive errno).  MN_X_FAIL_THREAD: pthread_create of a new M; MN_X_FAIL_STACK: the
 * mmap of a new G stack.  MN_X_DELAY_SPINDOWN is a delay, not a failure: the next n
 * spinning Ms that found no work sleep err microseconds after giving up their P and before
 * they stop counting as spinning (findrunnable), to widen that lost wake-up window for a
 * test.  n = 0 disarms. */
enum mn_x_fault { MN_X_FAIL_THREAD, MN_X_FAIL_STACK, MN_X_DELAY_SPINDOWN };
void mn_x_inject(enum mn_x_fault what, int n, int err);

#ifdef __cplusplus
}
#endif
#endif /* MN_EXPORT_H */
