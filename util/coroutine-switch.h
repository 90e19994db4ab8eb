/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The stack switch under the coroutine core (private to util/coroutine*.c).
 *
 * A suspended execution context is represented by one pointer into its own
 * stack: everything else it needs to resume (callee-saved registers, the
 * return address, or a jump buffer) is stored on that stack just below the
 * point where it stopped.  Saving a context therefore never writes outside
 * the stack being left, and a context stays valid until it is resumed once.
 *
 * Exactly one back end is linked, chosen by util/meson.build from the host
 * CPU family: a hand-written switch for x86-64
 * (coroutine-switch-x86_64.c), or sigsetjmp/siglongjmp for every other
 * CPU and for builds with -fcf-protection (coroutine-switch-sigjmp.c).
 * Both implement the functions below with the same contract, so
 * util/coroutine.c does not know which one it uses.
 *
 * Neither back end saves the signal mask, the floating-point environment
 * (MXCSR, x87 control word) or a shadow stack: a coroutine inherits them
 * from whoever resumes it.  The build does not select the hand-written
 * switch under control-flow enforcement (-fcf-protection).
 */
#ifndef EMBLOCK_UTIL_COROUTINE_SWITCH_H
#define EMBLOCK_UTIL_COROUTINE_SWITCH_H

typedef struct CoSwitchContext {
    /* Where the suspended context stopped; meaningless while it runs. */
    void *sp;
} CoSwitchContext;

/*
 * Suspend the running context into @from and resume the one suspended in
 * @to (which must have been saved by co_switch() or co_switch_call(), and
 * not resumed since).  The resumed context sees its own co_switch() call
 * return @arg.  This call returns when some later switch resumes @from,
 * possibly in another thread, with that switch's @arg.
 */
__attribute__((visibility("hidden")))
void *co_switch(CoSwitchContext *from, CoSwitchContext *to, void *arg);

/*
 * Suspend the running context into @from, then call @fn(@opaque) on the
 * same stack below it.  @fn must never return; it is how a context first
 * gets onto a new stack (util/coroutine.c calls setcontext() from it).
 * Returns, like co_switch(), the @arg of the switch that resumes @from.
 */
__attribute__((visibility("hidden")))
void *co_switch_call(CoSwitchContext *from, void (*fn)(void *opaque),
                     void *opaque);

/* Name of the back end, for benchmarks: "x86_64" or "sigsetjmp". */
__attribute__((visibility("hidden")))
extern const char co_switch_backend[];

#endif /* EMBLOCK_UTIL_COROUTINE_SWITCH_H */
