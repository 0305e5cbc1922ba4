/*
 * util.h - small helpers shared by the runtime's files: branch hints, an assert that
 * survives NDEBUG (libdill), compile-time asserts, atomics spelled out, mn_throw (Go's
 * throw), time and futex wrappers.
 */
#ifndef MN_UTIL_H
#define MN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define mn_likely(x) __builtin_expect(!!(x), 1)
#define mn_unlikely(x) __builtin_expect(!!(x), 0)
#define MN_STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#define MN_NOINLINE __attribute__((noinline))
#define MN_CACHE_LINE 64

/* Atomics: sequentially consistent unless the name says otherwise. */
#define ld_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ld_acq(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ld_sc(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define st_rel(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define st_sc(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define cas_sc(p, o, n)                                                                            \
    __extension__({                                                                                \
        __typeof__(*(p)) _o = (o);                                                                 \
        __atomic_compare_exchange_n((p), &_o, (n), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);     \
    })
#define cas_rel(p, o, n)                                                                           \
    __extension__({                                                                                \
        __typeof__(*(p)) _o = (o);                                                                 \
        __atomic_compare_exchange_n((p), &_o, (n), false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);     \
    })
#define xadd(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* A counter written by one owner and read by anyone: a plain increment, torn-free.  On
 * x86-64 one non-locked `add` to memory (an aligned 8-byte access is single-copy atomic,
 * and no other thread writes the counter), where the relaxed load + store pair is three
 * instructions; asm, so that the compiler sees no racy plain access.  Counters are
 * uint64_t. */
/* Sanitizer builds keep the atomics: TSan would not see the asm's write, and ASan's
 * frame layouts stay as they were (the small-stack overflow test depends on them).  Told
 * by the compiler (gcc: __SANITIZE_*__, clang: __has_feature); san.h is not included
 * here, it would define MN_SAN in files that do not expect it. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define MN_OWNER_INC_ATOMIC 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MN_OWNER_INC_ATOMIC 1
#endif
#endif
#if defined(__x86_64__) && !defined(MN_OWNER_INC_ATOMIC)
#define owner_inc(p, v)                                                                            \
    do {                                                                                           \
        _Static_assert(sizeof(*(p)) == 8, "owner_inc: a 64-bit counter");                          \
        __asm__("addq %1, %0" : "+m"(*(p)) : "er"((uint64_t)(v)));                                 \
    } while (0)
#else
#define owner_inc(p, v) st_relaxed((p), ld_relaxed(p) + (v))
#endif

/* mn_throw - print "fatal: <fmt>" and abort (Go's throw).  For impossible states only. */
__attribute__((noreturn, format(printf, 1, 2))) void mn_throw(const char *fmt, ...);
/* mn_fatal - print "fatal: <fmt>" and exit(2) without a core dump (Go's fatal): user errors
 * such as a deadlock or a stack overflow. */
__attribute__((noreturn, format(printf, 1, 2))) void mn_fatal(const char *fmt, ...);

#define mn_assert(c)                                                                               \
    do {                                                                                           \
        if (mn_unlikely(!(c)))                                                                     \
            mn_throw("%s:%d: assertion failed: %s", __FILE__, __LINE__, #c);                       \
    } while (0)

/* os_linux.c */
uint64_t mn_nanotime(void);                                           /* CLOCK_MONOTONIC, ns */
void mn_futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns); /* <0: forever */
void mn_futex_wake(uint32_t *addr, int n);
void mn_procyield(int n); /* n mn_cpu_relax hints */
void mn_osyield(void);    /* sched_yield */

/* struct mn_note - one-shot sleep/wakeup between OS threads (Go's note). */
struct mn_note {
    uint32_t key; /* 0 clear, 1 woken */
};
void mn_notesleep(struct mn_note *n);
bool mn_notetsleep(struct mn_note *n, int64_t ns); /* true: woken; false: timed out */
void mn_notewakeup(struct mn_note *n);
static inline void mn_noteclear(struct mn_note *n)
{
    st_sc(&n->key, 0);
}

/* struct mn_lock - the runtime's internal mutex for OS threads (Go's runtime mutex,
 * lock_futex.go): spin briefly with PAUSE, then sleep on a futex.  Never parks a G.
 * When prof is set, contended acquisitions are timed into it (claim P4.2.mutex). */
struct mn_mutex_prof;
struct mn_lock {
    uint32_t key; /* 0 unlocked, 1 locked, 2 locked with sleepers */
    struct mn_mutex_prof *prof;
};
void mn_lock(struct mn_lock *l);
void mn_unlock(struct mn_lock *l);

/* mn_cpu_relax - one spin-wait hint: PAUSE on x86-64, YIELD on aarch64 (Go's procyield
 * uses the same two).  Neither is a barrier. */
static inline void mn_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* mn_fpcw_save - the FP control state a new G starts with: {MXCSR, x87 control word} on
 * x86-64, {FPCR, 0} on aarch64 (the layout ctx_<abi>.S's mn_ctx_make reads). */
static inline void mn_fpcw_save(uint32_t out[2])
{
#if defined(__x86_64__)
    uint16_t cw;
    __asm__ volatile("stmxcsr %0" : "=m"(out[0]));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    out[1] = cw;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    out[0] = (uint32_t)fpcr;
    out[1] = 0;
#else
#error "no context switch for this ISA (runtime/src/ctx_<abi>.S)"
#endif
}

/* Tiny spin lock for G-level structures held for a few instructions. */
static inline void mn_spin_lock(uint32_t *w)
{
    while (__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE)) {
        int n = 0;
        while (ld_relaxed(w)) {
            if (++n < 64)
                mn_cpu_relax();
            else
                mn_osyield(), n = 0;
        }
    }
}
static inline void mn_spin_unlock(uint32_t *w)
{
    __atomic_store_n(w, 0, __ATOMIC_RELEASE);
}

/* fastrand - per-M xorshift (Go's fastrand). */
static inline uint32_t mn_fastrand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return (uint32_t)(x >> 32);
}

#endif
