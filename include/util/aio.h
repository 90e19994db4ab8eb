/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * AioContext: the event loop that drives emblock's I/O.
 *
 * An AioContext holds file descriptor handlers, bottom halves (BHs) and
 * timers.  One thread at a time polls it with aio_poll(); while it does,
 * that context is the thread's "current" context, which is where coroutines
 * entered from its callbacks run.  The main thread's default context is
 * qemu_get_aio_context().
 *
 * Thread rules: qemu_bh_schedule(), aio_bh_schedule_oneshot(),
 * aio_co_schedule() and aio_notify() may be called from any thread; all
 * other functions only from the thread that polls the context.
 *
 * aio_poll() order, as in QEMU: compute the timeout from pending BHs and the
 * nearest timer, wait for file descriptors, then run scheduled BHs, then
 * ready fd handlers, then expired timers.
 */
#ifndef EMBLOCK_UTIL_AIO_H
#define EMBLOCK_UTIL_AIO_H

#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/error.h"

typedef void IOHandler(void *opaque);
typedef void QEMUBHFunc(void *opaque);
typedef void QEMUTimerCB(void *opaque);
typedef struct QEMUBH QEMUBH;
typedef struct QEMUTimer QEMUTimer;

/* Create a context (reference count 1). */
AioContext *aio_context_new(Error **errp);
void aio_context_ref(AioContext *ctx);
void aio_context_unref(AioContext *ctx);

/* The main loop's context, created on first use. */
AioContext *qemu_get_aio_context(void);
/* The context the calling thread is polling (main context by default). */
AioContext *qemu_get_current_aio_context(void);
/* Make @ctx the current thread's context (for threads that run a loop). */
void aio_context_set_current(AioContext *ctx);

/*
 * Register read and/or write callbacks for @fd; both NULL removes the
 * handler.  The callbacks run from aio_poll() when the fd is ready.
 */
void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque);

/*
 * Poll once.  Non-blocking mode never sleeps.  Blocking mode sleeps until an
 * fd is ready, a timer expires, a BH is scheduled or aio_notify() is called.
 * Returns whether any callback (BH, handler, timer) ran.
 */
bool aio_poll(AioContext *ctx, bool blocking);

/* Wake a blocking aio_poll() of @ctx (any thread). */
void aio_notify(AioContext *ctx);

/* Bottom halves: a callback run once per schedule, from aio_poll(). */
QEMUBH *aio_bh_new(AioContext *ctx, QEMUBHFunc *cb, void *opaque);
void qemu_bh_schedule(QEMUBH *bh);
void qemu_bh_cancel(QEMUBH *bh);
/* Free @bh; it will not run again, even if scheduled. */
void qemu_bh_delete(QEMUBH *bh);
/* Run cb(opaque) once from @ctx's loop; the BH frees itself. */
void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

/* Timers on the monotonic nanosecond clock. */
int64_t qemu_clock_get_ns(void);
QEMUTimer *aio_timer_new(AioContext *ctx, QEMUTimerCB *cb, void *opaque);
/* Arm (or re-arm) @t to fire once the clock reaches @expire_ns. */
void timer_mod_ns(QEMUTimer *t, int64_t expire_ns);
void timer_del(QEMUTimer *t);
bool timer_pending(QEMUTimer *t);
void timer_free(QEMUTimer *t);

/*
 * Resume @co in @ctx from its event loop: the hand-off that works from any
 * thread.  Scheduling a coroutine that is already scheduled aborts.
 */
void aio_co_schedule(AioContext *ctx, Coroutine *co);

/*
 * Resume a coroutine that yielded waiting for an event.  In the coroutine's
 * own context: if the caller is a coroutine, @co runs after the caller
 * yields or ends; otherwise it is entered now.  From another thread it is
 * scheduled in its context.
 */
void aio_co_wake(Coroutine *co);
/* Same as aio_co_wake() but with an explicit context. */
void aio_co_enter(AioContext *ctx, Coroutine *co);

/*
 * A GSource that dispatches @ctx, so a GLib main loop can drive it
 * (g_source_attach(aio_get_g_source(ctx), main_context)).  Returns a new
 * reference.
 */
GSource *aio_get_g_source(AioContext *ctx);

/*
 * Poll @ctx until @cond is false.  Whoever makes @cond false from another
 * thread or a BH must call aio_wait_kick() (or aio_notify(ctx)).
 */
#define AIO_WAIT_WHILE(ctx, cond)        \
    do {                                 \
        aio_wait_begin();                \
        while (cond) {                   \
            aio_poll((ctx), true);       \
        }                                \
        aio_wait_end();                  \
    } while (0)

/* Wake every AIO_WAIT_WHILE() loop on the main context (any thread). */
void aio_wait_kick(void);
void aio_wait_begin(void);
void aio_wait_end(void);

/*
 * Run entry(opaque) in a coroutine and poll the current context until it
 * ends (the synchronous-wrapper pattern).  @done must be set by the
 * coroutine when it finishes.  From inside a coroutine, just calls it.
 */
void aio_run_co_sync(CoroutineEntry *entry, void *opaque, bool *done);

#endif /* EMBLOCK_UTIL_AIO_H */
