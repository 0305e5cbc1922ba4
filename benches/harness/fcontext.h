/*
 * fcontext.h - Boost.Context's C-callable core, for the fcontext peer rows (the bench's
 * switch/fcontext and the instruction counts of benches/instr).  Boost declares these in
 * boost/context/detail/fcontext.hpp, extern "C" inside a namespace, so the symbols are
 * plain C names; linked from libboost_context.  transfer_t is two pointers, returned in
 * rax:rdx (x0:x1 on aarch64) in C and C++ alike.
 */
#ifndef BENCH_FCONTEXT_H
#define BENCH_FCONTEXT_H

#include <stddef.h>

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

#endif
