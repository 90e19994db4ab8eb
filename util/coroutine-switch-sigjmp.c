/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Portable coroutine stack switch: sigsetjmp(env, 0) and siglongjmp().
 *
 * A suspended context is a jump buffer in the frame of the co_switch() or
 * co_switch_call() call that suspended it; CoSwitchContext.sp points at it.
 * That frame stays live until the context is resumed, so the buffer does
 * too.  The value handed to the resumed context travels in the same
 * record, written by the resumer just before it jumps.
 *
 * The signal mask is not saved (savemask 0), so a switch makes no system
 * call.  glibc still runs its longjmp unwinding checks on every jump; the
 * hand-written back ends avoid that cost.
 */
/* __longjmp_chk would reject jumps to another stack as "uninitialized". */
#undef _FORTIFY_SOURCE
#include "util/osdep.h"
#include "util/coroutine-switch.h"

#include <setjmp.h>

const char co_switch_backend[] = "sigsetjmp";

typedef struct CoSigjmpFrame {
    sigjmp_buf env;
    void *arg;
} CoSigjmpFrame;

/*
 * The frame record must live on the real stack, not on AddressSanitizer's
 * fake stack: a coroutine that ends destroys its fake stack while its last
 * co_switch() frame stays suspended for the next user of the stack.
 */
#define CO_NO_ASAN __attribute__((noinline, no_sanitize_address))

static CO_NO_ASAN G_GNUC_NORETURN void co_jump(CoSwitchContext *to, void *arg)
{
    CoSigjmpFrame *peer = to->sp;

    peer->arg = arg;
    siglongjmp(peer->env, 1);
}

CO_NO_ASAN void *co_switch(CoSwitchContext *from, CoSwitchContext *to,
                           void *arg)
{
    CoSigjmpFrame self;

    from->sp = &self;
    if (!sigsetjmp(self.env, 0)) {
        co_jump(to, arg);
    }
    /* Written by the resumer after our sigsetjmp: read it from memory. */
    return *(void *volatile *)&self.arg;
}

CO_NO_ASAN void *co_switch_call(CoSwitchContext *from,
                                void (*fn)(void *opaque), void *opaque)
{
    CoSigjmpFrame self;

    from->sp = &self;
    if (!sigsetjmp(self.env, 0)) {
        fn(opaque);
        abort();
    }
    return *(void *volatile *)&self.arg;
}
