/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Coroutines: cooperative threads of execution with their own stack.
 *
 * A coroutine is created with qemu_coroutine_create() (allocation only) and
 * runs when entered; it runs until it yields or returns, and control then
 * goes back to whoever entered it.  After that, every coroutine queued on the
 * entered coroutine's wake-up list (aio_co_wake() from inside a coroutine
 * queues there) is entered in turn, so one coroutine can wake another without
 * nesting stacks.
 *
 * Coroutines belong to the thread that runs them; a coroutine may be resumed
 * in another thread only through its AioContext (aio_co_schedule()).  Do not
 * cache thread-local state across a yield.
 *
 * Stacks are mmap()ed with a guard page below them and recycled through a
 * per-thread pool, so creating a coroutine usually costs no system call.
 */
#ifndef EMBLOCK_UTIL_COROUTINE_H
#define EMBLOCK_UTIL_COROUTINE_H

#include "util/osdep.h"

typedef struct Coroutine Coroutine;
typedef struct AioContext AioContext;

/* The function a coroutine runs.  When it returns, the coroutine ends. */
typedef void coroutine_fn CoroutineEntry(void *opaque);

/* Allocate a coroutine that will run entry(opaque) once entered. */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);

/*
 * Run @co in the current thread's AioContext until it yields or ends.
 * Entering a coroutine that is running, or already scheduled to run, aborts.
 */
void qemu_coroutine_enter(Coroutine *co);

/* Enter @co in @ctx (which must be the current thread's context). */
void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co);

/* Enter @co unless it is currently running (entered and not yielded). */
void qemu_coroutine_enter_if_inactive(Coroutine *co);

/* Give control back to the coroutine's caller.  Only in a coroutine. */
void coroutine_fn qemu_coroutine_yield(void);

/* The running coroutine, or the thread's leader pseudo-coroutine. */
Coroutine *qemu_coroutine_self(void);

/* Whether the caller runs in a coroutine (not on the thread's own stack). */
bool qemu_in_coroutine(void);

/* Whether @co has been entered and has not yet yielded or ended. */
bool qemu_coroutine_entered(Coroutine *co);

/* The AioContext @co was last entered in. */
AioContext *qemu_coroutine_get_aio_context(Coroutine *co);

/*
 * Tuning and statistics, for tests and benchmarks: stack size of new
 * coroutines (default 1 MiB), how many stacks are kept for reuse, and how
 * many stacks have been mapped so far by this process.
 */
void qemu_coroutine_set_stack_size(size_t size);
unsigned qemu_coroutine_pool_size(void);
uint64_t qemu_coroutine_stacks_allocated(void);

/*
 * How stacks are switched, chosen at build time: "x86_64" for the
 * hand-written switch, "sigsetjmp" for sigsetjmp/siglongjmp.
 */
const char *qemu_coroutine_switch_backend(void);

/*
 * For the locks in coroutine-lock.c: a coroutine that ends must hold no
 * CoMutex, so lock ownership is counted per coroutine.
 */
void qemu_coroutine_inc_locks(Coroutine *co);
void qemu_coroutine_dec_locks(Coroutine *co);

/*
 * Internal to the AioContext code: queue @co to be entered after the
 * running coroutine @self yields or ends (the wake-up list).
 */
void qemu_coroutine_queue_wakeup(Coroutine *self, Coroutine *co);

/*
 * Internal to the AioContext code: claim @co for a later entry from
 * its AioContext's scheduling bottom half.  Aborts, naming @who and the
 * earlier scheduler, if it is already scheduled.
 */
void qemu_coroutine_mark_scheduled(Coroutine *co, const char *who);
/* Internal to the AioContext code: the scheduled entry is happening now. */
void qemu_coroutine_clear_scheduled(Coroutine *co);

#endif /* EMBLOCK_UTIL_COROUTINE_H */
