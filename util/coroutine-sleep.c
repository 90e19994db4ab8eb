/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Sleeping coroutines on a timer of the current AioContext.
 */
#include "util/osdep.h"
#include "util/coroutine-lock.h"
#include "util/aio.h"

static void co_sleep_cb(void *opaque)
{
    qemu_co_sleep_wake(opaque);
}

void qemu_co_sleep_wake(QemuCoSleep *w)
{
    Coroutine *co = w->to_wake;

    if (co) {
        w->to_wake = NULL;
        aio_co_wake(co);
    }
}

void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w, int64_t ns)
{
    AioContext *ctx = qemu_get_current_aio_context();
    QEMUTimer *t = aio_timer_new(ctx, co_sleep_cb, w);

    assert(qemu_in_coroutine());
    assert(!w->to_wake);
    w->to_wake = qemu_coroutine_self();
    timer_mod_ns(t, qemu_clock_get_ns() + ns);
    qemu_coroutine_yield();
    /* Woken early or by the timer: either way the timer is done with. */
    timer_free(t);
}

void coroutine_fn qemu_co_sleep_ns(int64_t ns)
{
    QemuCoSleep w = { 0 };

    qemu_co_sleep_ns_wakeable(&w, ns);
}
