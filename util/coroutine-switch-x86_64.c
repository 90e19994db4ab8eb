/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Hand-written coroutine stack switch for x86-64 (System V ABI).
 *
 * To its caller a switch is an ordinary function call: it may clobber the
 * caller-saved registers and returns a value in %rax.  So the only state to
 * keep is what the ABI makes callee-saved: %rbx, %rbp, %r12-%r15 and the
 * stack pointer.  A suspended context is the return address pushed by its
 * call to co_switch()/co_switch_call() followed (downwards) by those six
 * registers; CoSwitchContext.sp points at the last one pushed:
 *
 *     sp + 48   return address
 *     sp + 40   %rbp
 *     sp + 32   %rbx
 *     sp + 24   %r12
 *     sp + 16   %r13
 *     sp +  8   %r14
 *     sp +  0   %r15
 *
 * Resuming pops the six registers and the return address.  Because every
 * suspended context has this layout, the CFI below stays true after %rsp
 * has moved to the other stack, and debuggers can unwind a switch in
 * progress.
 *
 * The return address is popped and jumped to rather than used by "ret":
 * "ret" is predicted from the return stack buffer, which holds the call
 * chain of the context being left, so it would mispredict on every switch.
 * The indirect jump is predicted from its own history instead; on a 2-core
 * AMD EPYC VM this made an enter+yield round trip about a third cheaper.
 * It is also why this file cannot serve with control-flow enforcement:
 * the jump lands on a call's return site, which carries no endbr64, and no
 * shadow stack is switched.  util/meson.build builds it only when the
 * compiler does not define __CET__.
 *
 * MXCSR and the x87 control word are not saved (see coroutine-switch.h).
 */
#include "util/coroutine-switch.h"

#ifndef __x86_64__
#error "coroutine-switch-x86_64.c is for x86-64 hosts only"
#endif
#ifdef __CET__
#error "coroutine-switch-x86_64.c does not support -fcf-protection"
#endif

const char co_switch_backend[] = "x86_64";

#define CO_ENTRY(name)                                                  \
    ".globl " #name "\n\t"                                              \
    ".hidden " #name "\n\t"                                             \
    ".type " #name ", @function\n\t"                                    \
    ".p2align 4\n"                                                      \
    #name ":\n\t"                                                       \
    ".cfi_startproc\n\t"

#define CO_PUSH(reg)                                                    \
    "pushq %" #reg "\n\t"                                               \
    ".cfi_adjust_cfa_offset 8\n\t"                                      \
    ".cfi_rel_offset %" #reg ", 0\n\t"

#define CO_POP(reg)                                                     \
    "popq %" #reg "\n\t"                                                \
    ".cfi_adjust_cfa_offset -8\n\t"                                     \
    ".cfi_restore %" #reg "\n\t"

#define CO_SAVE                                                         \
    CO_PUSH(rbp) CO_PUSH(rbx) CO_PUSH(r12)                              \
    CO_PUSH(r13) CO_PUSH(r14) CO_PUSH(r15)

#define CO_END(name)                                                    \
    ".cfi_endproc\n\t"                                                  \
    ".size " #name ", . - " #name "\n"

__asm__(
    ".text\n\t"

    /* void *co_switch(from = %rdi, to = %rsi, arg = %rdx) */
    CO_ENTRY(co_switch)
    CO_SAVE
    "movq %rsp, (%rdi)\n\t"
    "movq (%rsi), %rsp\n\t"
    CO_POP(r15) CO_POP(r14) CO_POP(r13)
    CO_POP(r12) CO_POP(rbx) CO_POP(rbp)
    "movq %rdx, %rax\n\t"
    "popq %rcx\n\t"
    ".cfi_adjust_cfa_offset -8\n\t"
    ".cfi_register %rip, %rcx\n\t"
    "jmp *%rcx\n\t"
    CO_END(co_switch)

    /* void *co_switch_call(from = %rdi, fn = %rsi, opaque = %rdx) */
    CO_ENTRY(co_switch_call)
    CO_SAVE
    "movq %rsp, (%rdi)\n\t"
    /* Entry left %rsp at 8 mod 16 and six pushes keep it there. */
    "subq $8, %rsp\n\t"
    ".cfi_adjust_cfa_offset 8\n\t"
    "movq %rdx, %rdi\n\t"
    "call *%rsi\n\t"
    "ud2\n\t"
    CO_END(co_switch_call)
);
