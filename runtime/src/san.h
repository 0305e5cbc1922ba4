/*
 * san.h - what the sanitizers need to know about G stack switches.
 *
 * ASan and TSan assume one stack per thread; mn_ctx_swap moves a thread between its g0
 * stack and G stacks, so without help ASan reports false stack-buffer/use-after-return
 * errors and TSan mixes up the histories of unrelated Gs.  Under -fsanitize=address the
 * switch is bracketed by __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber
 * (each G and each g0 keeps its fake stack across switches; NULL is passed only when a G
 * dies, which frees its fake stack); under -fsanitize=thread each G gets a TSan fiber
 * (__tsan_create_fiber at spawn, __tsan_destroy_fiber once dead, on g0) and
 * __tsan_switch_to_fiber is called right before mn_ctx_swap, with nothing instrumented in
 * between.  Without a sanitizer every hook is an empty inline.  Sources: compiler-rt's
 * common_interface_defs.h and tsan_interface.h; Go's race detector does the same per G
 * (racegostart / racegoend).
 */
#ifndef MN_SAN_H
#define MN_SAN_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MN_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define MN_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(MN_ASAN)
#define MN_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(MN_TSAN)
#define MN_TSAN 1
#endif
#if defined(MN_ASAN) || defined(MN_TSAN)
#define MN_SAN 1
/* Instrumented frames are several times larger: G stacks (small ones included, so that
 * systemstack never needs to switch stacks) and M stacks grow by this factor.  gcc's TSan
 * alone wants ~900 KiB of thread stack. */
#define MN_SAN_STACK_MULT 16
#else
#define MN_SAN_STACK_MULT 1
#endif

#ifdef MN_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef MN_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#endif
