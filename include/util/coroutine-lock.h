/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Sleeping locks and wait queues for coroutines, and sleeping on a timer.
 *
 * All of these may be used by coroutines running in different threads; the
 * internal state of each object is protected by a small GMutex, and a woken
 * coroutine is resumed through aio_co_wake() in its own AioContext.  Every
 * lock/wait function is a coroutine_fn and must not be called outside a
 * coroutine.
 */
#ifndef EMBLOCK_UTIL_COROUTINE_LOCK_H
#define EMBLOCK_UTIL_COROUTINE_LOCK_H

#include "util/coroutine.h"

/*
 * CoMutex: a fair mutex.  Waiters queue in FIFO order and the lock is handed
 * directly to the first of them on unlock, so nobody can barge in.
 */
typedef struct CoMutex {
    GMutex lock;            /* protects the fields below */
    bool locked;
    Coroutine *holder;
    GQueue waiters;         /* Coroutine * */
} CoMutex;

void qemu_co_mutex_init(CoMutex *mutex);
void qemu_co_mutex_destroy(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);
/* Assert the calling coroutine holds @mutex. */
void qemu_co_mutex_assert_locked(CoMutex *mutex);

/*
 * CoQueue: coroutines waiting for a condition.  qemu_co_queue_wait() adds
 * the caller, releases @lock (if not NULL), yields, and takes @lock again
 * once woken.  Wake-ups are FIFO.
 */
typedef struct CoQueue {
    GMutex lock;
    GQueue entries;         /* Coroutine * */
} CoQueue;

void qemu_co_queue_init(CoQueue *queue);
void qemu_co_queue_destroy(CoQueue *queue);
void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock);
/* Wake the first waiter; returns whether there was one. */
bool qemu_co_queue_next(CoQueue *queue);
/* Wake every waiter. */
void qemu_co_queue_restart_all(CoQueue *queue);
bool qemu_co_queue_empty(CoQueue *queue);

/*
 * CoRwlock: many readers or one writer; FIFO between readers and writers,
 * so a waiting writer blocks readers that come after it.
 */
typedef struct CoRwlock {
    GMutex lock;
    int readers;
    bool writer;
    GQueue waiters;         /* CoRwWaiter * */
} CoRwlock;

void qemu_co_rwlock_init(CoRwlock *lock);
void qemu_co_rwlock_destroy(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock);

/* Sleep for @ns nanoseconds on a timer of the current AioContext. */
void coroutine_fn qemu_co_sleep_ns(int64_t ns);

/*
 * A sleep that another party can cut short with qemu_co_sleep_wake()
 * (which does nothing when nobody sleeps on @w).
 */
typedef struct QemuCoSleep {
    Coroutine *to_wake;
} QemuCoSleep;

void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w, int64_t ns);
void qemu_co_sleep_wake(QemuCoSleep *w);

#endif /* EMBLOCK_UTIL_COROUTINE_LOCK_H */
