/*
 * ctx_x86_64.S - G context switch for the System V x86-64 ABI.
 *
 * A switch saves what the ABI says a callee must preserve: rbx, rbp, r12-r15, the stack
 * pointer, and the MXCSR and x87 control words (the FP modes; Boost.Context's fcontext
 * saves the same set).  No signal mask is touched (glibc's swapcontext makes a
 * rt_sigprocmask syscall per switch, ~170 ns on this kind of host).  The switch ends in an
 * indirect jmp rather than ret: a ret whose target is not the matching call's return
 * address is mispredicted every time (HOST-NOTES: 2.2 ns vs 7.0 ns per switch).
 *
 * Saved frame, from the saved sp upward:
 *   +0 mxcsr (4 bytes) | x87 cw (2 bytes) | pad   +8 r15  +16 r14  +24 r13  +32 r12
 *   +40 rbx  +48 rbp  +56 resume address
 * Other ABIs (aarch64) get their own file with the same three symbols.
 */
        .text

/* SWAP_OUT: the first half of both swaps.  Push the callee-saved registers and the FP
 * control words (the saved frame above), store sp in *rdi (save_sp), take rsi (new_sp). */
        .macro  SWAP_OUT
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        .endm

/* struct mn_m *mn_ctx_swap(void **save_sp, void *new_sp, struct mn_m *arg)
 * Save the current context, store its sp in *save_sp, resume the context at new_sp, whose
 * own mn_ctx_swap call returns arg (rax). */
        .globl  mn_ctx_swap
        .type   mn_ctx_swap, @function
        .p2align 4
mn_ctx_swap:
        SWAP_OUT
.Lswap_resume:
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        movq    %rdx, %rax
        jmp     *%rcx
        .size   mn_ctx_swap, .-mn_ctx_swap

/* struct mn_m *mn_ctx_swap_unlock(void **save_sp, void *new_sp, struct mn_m *arg,
 *                                 uint32_t *lock)
 * mn_ctx_swap that stores 0 to *lock once the current context is saved and the stack
 * pointer has left its stack (mn_gopark_spin's direct switch: the parked G's wait lock is
 * released as soon as a waker may resume it, and nothing touches its stack after that,
 * not even a signal frame).  x86 keeps stores in order, so the saved frame and sp are
 * visible before the lock is free. */
        .globl  mn_ctx_swap_unlock
        .type   mn_ctx_swap_unlock, @function
        .p2align 4
mn_ctx_swap_unlock:
        SWAP_OUT
        movl    $0, (%rcx)
        jmp     .Lswap_resume
        .size   mn_ctx_swap_unlock, .-mn_ctx_swap_unlock

/* mn_ctx_entry: first code a new G runs.  rbx = start function, r12 = its G. The stack
 * is 16-byte aligned here, so the call below gives start the alignment the ABI wants. */
        .globl  mn_ctx_entry
        .type   mn_ctx_entry, @function
        .p2align 4
mn_ctx_entry:
        movq    %r12, %rdi
        xorl    %ebp, %ebp
        callq   *%rbx
        ud2
        .size   mn_ctx_entry, .-mn_ctx_entry

/* void *mn_ctx_make(char *stack_hi, void (*start)(struct mn_g *), struct mn_g *gp,
 *                   const uint32_t fpcw[2])
 * Build a frame below stack_hi that mn_ctx_swap resumes into mn_ctx_entry; returns its sp.
 * fpcw = {mxcsr, x87 control word} the G starts with. */
        .globl  mn_ctx_make
        .type   mn_ctx_make, @function
        .p2align 4
mn_ctx_make:
        movq    %rdi, %rax
        andq    $-16, %rax
        subq    $64, %rax
        movl    (%rcx), %r8d
        movl    %r8d, 0(%rax)
        movl    4(%rcx), %r8d
        movl    %r8d, 4(%rax)
        movq    $0, 8(%rax)
        movq    $0, 16(%rax)
        movq    $0, 24(%rax)
        movq    %rdx, 32(%rax)
        movq    %rsi, 40(%rax)
        movq    $0, 48(%rax)
        leaq    mn_ctx_entry(%rip), %r8
        movq    %r8, 56(%rax)
        ret
        .size   mn_ctx_make, .-mn_ctx_make

/* void *mn_ctx_make_boot(char *top, const uint32_t fpcw[2])
 * Build below top the boot frame (proc.c "Stacks bound at first run"): a frame that
 * mn_ctx_swap resumes into mn_ctx_boot with the FP control words fpcw.  Every G that has
 * not run yet has its sp there; the switch only reads the frame, so Ms share it. */
        .globl  mn_ctx_make_boot
        .type   mn_ctx_make_boot, @function
        .p2align 4
mn_ctx_make_boot:
        movq    %rsi, %rcx
        leaq    mn_ctx_boot(%rip), %rsi
        xorl    %edx, %edx
        call    mn_ctx_make
        leaq    mn_ctx_boot(%rip), %r8
        movq    %r8, 56(%rax)
        ret
        .size   mn_ctx_make_boot, .-mn_ctx_make_boot

/* mn_ctx_boot: where a switch to a G that has not run yet lands, with rax = the M (what
 * mn_ctx_swap returns) and rsp in the shared boot frame, which must not be written.  Moves
 * to the M's g0 stack below its saved context (free while a G runs, as for systemstack)
 * and calls mn_gboot(mp), which gives the G (mp->curg) a stack and starts it there. */
        .globl  mn_ctx_boot
        .type   mn_ctx_boot, @function
        .p2align 4
mn_ctx_boot:
        movq    (%rax), %rsp            /* mp->g0_sp: offset 0 (runtime2.h asserts it) */
        subq    $256, %rsp
        andq    $-16, %rsp
        movq    %rax, %rdi
        xorl    %ebp, %ebp
        callq   mn_gboot
        ud2
        .size   mn_ctx_boot, .-mn_ctx_boot

/* void mn_ctx_start(char *stack_hi, struct mn_g *gp, void (*start)(struct mn_g *))
 * Call start(gp) on the stack that ends at stack_hi; never returns. */
        .globl  mn_ctx_start
        .type   mn_ctx_start, @function
        .p2align 4
mn_ctx_start:
        movq    %rdi, %rsp
        andq    $-16, %rsp
        movq    %rsi, %rdi
        xorl    %ebp, %ebp
        callq   *%rdx
        ud2
        .size   mn_ctx_start, .-mn_ctx_start

/* void mn_systemstack_call(void (*fn)(void *), void *arg, void *sp)
 * Call fn(arg) with the stack pointer at sp (16-byte aligned, below anything live on that
 * stack), then return on the caller's stack (Go's systemstack).  rbp keeps the caller's
 * stack pointer across the call. */
        .globl  mn_systemstack_call
        .type   mn_systemstack_call, @function
        .p2align 4
mn_systemstack_call:
        pushq   %rbp
        movq    %rsp, %rbp
        movq    %rdx, %rsp
        movq    %rdi, %rax
        movq    %rsi, %rdi
        callq   *%rax
        movq    %rbp, %rsp
        popq    %rbp
        ret
        .size   mn_systemstack_call, .-mn_systemstack_call

        .section .note.GNU-stack,"",@progbits
