/*
 * ctx_aarch64.S - G context switch for AAPCS64 (the Arm 64-bit procedure call standard,
 * Linux/aarch64).  The x86-64 twin is ctx_x86_64.S; runtime/runtime.mk assembles the one
 * that matches the target ($(CC) -dumpmachine).
 *
 * A switch saves what AAPCS64 (section 6.1.1, "General-purpose registers" and 6.1.2,
 * "SIMD and Floating-Point registers") says a callee must preserve: x19-x28, the frame
 * pointer x29, the link register x30, sp, and the low 64 bits of v8-v15 (d8-d15), plus the
 * FPCR (rounding mode, flush-to-zero, default NaN: the FP modes, the counterpart of x86's
 * MXCSR and x87 control word).  FPSR holds only cumulative exception flags, which the ABI
 * does not preserve across calls.  Boost.Context's jump_arm64_aapcs_elf_gas.S saves the
 * same registers except the FPCR.  No signal mask is touched.
 *
 * FPCR: reading it is cheap, but writing it can be context-synchronising on some cores,
 * so the switch writes it only when the incoming G's value differs (it almost never
 * does: every G starts with the FPCR that mn_init saw).
 *
 * The switch ends in `br x30` rather than `ret`: `ret` is predicted by the return stack,
 * whose top entry is the matching `bl` of the *outgoing* G, so a ret into another G would
 * be mispredicted every time (the same reason ctx_x86_64.S ends in an indirect jmp; Go's
 * gogo on arm64 also ends in a plain B (R6)).
 *
 * Saved frame, 176 bytes (a multiple of 16, as sp must be), from the saved sp upward:
 *   +0 d8 d9  +16 d10 d11  +32 d12 d13  +48 d14 d15
 *   +64 x19 x20  +80 x21 x22  +96 x23 x24  +112 x25 x26  +128 x27 x28
 *   +144 x29 x30 (x30 = resume address)  +160 fpcr  +168 pad
 */
#define FRAME 176

        .text

/* SWAP_OUT: the first half of both swaps.  Save the callee-saved registers and FPCR (the
 * frame above; x9 keeps the outgoing FPCR for .Lswap_resume), store sp in *x0 (save_sp),
 * take x1 (new_sp). */
        .macro  SWAP_OUT
        sub     sp, sp, #FRAME
        stp     d8, d9, [sp, #0]
        stp     d10, d11, [sp, #16]
        stp     d12, d13, [sp, #32]
        stp     d14, d15, [sp, #48]
        stp     x19, x20, [sp, #64]
        stp     x21, x22, [sp, #80]
        stp     x23, x24, [sp, #96]
        stp     x25, x26, [sp, #112]
        stp     x27, x28, [sp, #128]
        stp     x29, x30, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x10, sp
        str     x10, [x0]
        mov     sp, x1
        .endm

/* struct mn_m *mn_ctx_swap(void **save_sp, void *new_sp, struct mn_m *arg)
 * Save the current context, store its sp in *save_sp, resume the context at new_sp, whose
 * own mn_ctx_swap call returns arg (x0). */
        .globl  mn_ctx_swap
        .type   mn_ctx_swap, %function
        .p2align 4
mn_ctx_swap:
        SWAP_OUT
.Lswap_resume:
        ldr     x10, [sp, #160]
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x10
1:      ldp     d8, d9, [sp, #0]
        ldp     d10, d11, [sp, #16]
        ldp     d12, d13, [sp, #32]
        ldp     d14, d15, [sp, #48]
        ldp     x19, x20, [sp, #64]
        ldp     x21, x22, [sp, #80]
        ldp     x23, x24, [sp, #96]
        ldp     x25, x26, [sp, #112]
        ldp     x27, x28, [sp, #128]
        ldp     x29, x30, [sp, #144]
        add     sp, sp, #FRAME
        mov     x0, x2
        br      x30
        .size   mn_ctx_swap, .-mn_ctx_swap

/* struct mn_m *mn_ctx_swap_unlock(void **save_sp, void *new_sp, struct mn_m *arg,
 *                                 uint32_t *lock)
 * mn_ctx_swap that stores 0 to *lock once the current context is saved and sp has left
 * its stack (see ctx_x86_64.S); the STLR orders the frame and the saved sp before it.
 * x9 still holds the outgoing FPCR for the compare at .Lswap_resume. */
        .globl  mn_ctx_swap_unlock
        .type   mn_ctx_swap_unlock, %function
        .p2align 4
mn_ctx_swap_unlock:
        SWAP_OUT
        stlr    wzr, [x3]
        b       .Lswap_resume
        .size   mn_ctx_swap_unlock, .-mn_ctx_swap_unlock

/* mn_ctx_entry: first code a new G runs.  x19 = start function, x20 = its G.  x29 = 0
 * ends frame-pointer unwinding here; sp is 16-byte aligned (the frame was). */
        .globl  mn_ctx_entry
        .type   mn_ctx_entry, %function
        .p2align 4
mn_ctx_entry:
        mov     x0, x20
        mov     x29, xzr
        blr     x19
        brk     #0x3e8
        .size   mn_ctx_entry, .-mn_ctx_entry

/* void *mn_ctx_make(char *stack_hi, void (*start)(struct mn_g *), struct mn_g *gp,
 *                   const uint32_t fpcw[2])
 * Build a frame below stack_hi that mn_ctx_swap resumes into mn_ctx_entry; returns its sp.
 * fpcw[0] = the FPCR the G starts with (fpcw[1] is x86's x87 word, unused here). */
        .globl  mn_ctx_make
        .type   mn_ctx_make, %function
        .p2align 4
mn_ctx_make:
        and     x8, x0, #-16
        sub     x8, x8, #FRAME
        stp     xzr, xzr, [x8, #0]
        stp     xzr, xzr, [x8, #16]
        stp     xzr, xzr, [x8, #32]
        stp     xzr, xzr, [x8, #48]
        stp     x1, x2, [x8, #64]
        stp     xzr, xzr, [x8, #80]
        stp     xzr, xzr, [x8, #96]
        stp     xzr, xzr, [x8, #112]
        stp     xzr, xzr, [x8, #128]
        adrp    x9, mn_ctx_entry
        add     x9, x9, :lo12:mn_ctx_entry
        stp     xzr, x9, [x8, #144]
        ldr     w10, [x3]
        stp     x10, xzr, [x8, #160]
        mov     x0, x8
        ret
        .size   mn_ctx_make, .-mn_ctx_make

/* void *mn_ctx_make_boot(char *top, const uint32_t fpcw[2])
 * Build below top the boot frame (proc.c "Stacks bound at first run"): a frame that
 * mn_ctx_swap resumes into mn_ctx_boot with the FPCR fpcw[0].  Every G that has not run
 * yet has its sp there; the switch only reads the frame, so Ms share it. */
        .globl  mn_ctx_make_boot
        .type   mn_ctx_make_boot, %function
        .p2align 4
mn_ctx_make_boot:
        stp     x29, x30, [sp, #-16]!
        mov     x3, x1
        mov     x2, xzr
        mov     x1, xzr
        bl      mn_ctx_make
        adrp    x9, mn_ctx_boot
        add     x9, x9, :lo12:mn_ctx_boot
        str     x9, [x0, #152]
        ldp     x29, x30, [sp], #16
        ret
        .size   mn_ctx_make_boot, .-mn_ctx_make_boot

/* mn_ctx_boot: where a switch to a G that has not run yet lands, with x0 = the M (what
 * mn_ctx_swap returns) and sp in the shared boot frame, which must not be written.  Moves
 * to the M's g0 stack below its saved context (free while a G runs, as for systemstack)
 * and calls mn_gboot(mp), which gives the G (mp->curg) a stack and starts it there. */
        .globl  mn_ctx_boot
        .type   mn_ctx_boot, %function
        .p2align 4
mn_ctx_boot:
        ldr     x9, [x0]                /* mp->g0_sp: offset 0 (runtime2.h asserts it) */
        sub     x9, x9, #256
        and     sp, x9, #-16
        mov     x29, xzr
        bl      mn_gboot
        brk     #0x3e8
        .size   mn_ctx_boot, .-mn_ctx_boot

/* void mn_ctx_start(char *stack_hi, struct mn_g *gp, void (*start)(struct mn_g *))
 * Call start(gp) on the stack that ends at stack_hi; never returns. */
        .globl  mn_ctx_start
        .type   mn_ctx_start, %function
        .p2align 4
mn_ctx_start:
        and     sp, x0, #-16
        mov     x0, x1
        mov     x29, xzr
        blr     x2
        brk     #0x3e8
        .size   mn_ctx_start, .-mn_ctx_start

/* void mn_systemstack_call(void (*fn)(void *), void *arg, void *sp)
 * Call fn(arg) with the stack pointer at sp (16-byte aligned, below anything live on that
 * stack), then return on the caller's stack (Go's systemstack).  x29 (callee-saved) keeps
 * the caller's stack pointer across the call. */
        .globl  mn_systemstack_call
        .type   mn_systemstack_call, %function
        .p2align 4
mn_systemstack_call:
        stp     x29, x30, [sp, #-16]!
        mov     x29, sp
        mov     sp, x2
        mov     x9, x0
        mov     x0, x1
        blr     x9
        mov     sp, x29
        ldp     x29, x30, [sp], #16
        ret
        .size   mn_systemstack_call, .-mn_systemstack_call

        .section .note.GNU-stack,"",%progbits
