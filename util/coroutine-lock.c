/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * CoMutex, CoQueue and CoRwlock.
 *
 * Each object's GMutex is held only for queue manipulation, never across a
 * yield.  A waiter is woken with aio_co_wake(), so when the waker is itself
 * a coroutine the woken one runs after the waker yields or ends.
 */
#include "util/osdep.h"
#include "util/coroutine-lock.h"
#include "util/aio.h"

void qemu_co_mutex_init(CoMutex *mutex)
{
    memset(mutex, 0, sizeof(*mutex));
    g_mutex_init(&mutex->lock);
    g_queue_init(&mutex->waiters);
}

void qemu_co_mutex_destroy(CoMutex *mutex)
{
    assert(!mutex->locked);
    g_mutex_clear(&mutex->lock);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    assert(qemu_in_coroutine());
    g_mutex_lock(&mutex->lock);
    if (!mutex->locked) {
        mutex->locked = true;
        mutex->holder = self;
        g_mutex_unlock(&mutex->lock);
    } else {
        assert(mutex->holder != self);
        g_queue_push_tail(&mutex->waiters, self);
        g_mutex_unlock(&mutex->lock);
        /* The unlocker hands the lock over before waking us. */
        qemu_coroutine_yield();
        assert(mutex->holder == self);
    }
    qemu_coroutine_inc_locks(self);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine *next;

    g_mutex_lock(&mutex->lock);
    assert(mutex->locked && mutex->holder == self);
    next = g_queue_pop_head(&mutex->waiters);
    mutex->holder = next;
    mutex->locked = next != NULL;
    g_mutex_unlock(&mutex->lock);
    qemu_coroutine_dec_locks(self);
    if (next) {
        aio_co_wake(next);
    }
}

void qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    assert(mutex->locked && mutex->holder == qemu_coroutine_self());
}

void qemu_co_queue_init(CoQueue *queue)
{
    g_mutex_init(&queue->lock);
    g_queue_init(&queue->entries);
}

void qemu_co_queue_destroy(CoQueue *queue)
{
    assert(g_queue_is_empty(&queue->entries));
    g_mutex_clear(&queue->lock);
}

void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock)
{
    Coroutine *self = qemu_coroutine_self();

    assert(qemu_in_coroutine());
    g_mutex_lock(&queue->lock);
    g_queue_push_tail(&queue->entries, self);
    g_mutex_unlock(&queue->lock);
    if (lock) {
        qemu_co_mutex_unlock(lock);
    }
    qemu_coroutine_yield();
    if (lock) {
        qemu_co_mutex_lock(lock);
    }
}

bool qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *next;

    g_mutex_lock(&queue->lock);
    next = g_queue_pop_head(&queue->entries);
    g_mutex_unlock(&queue->lock);
    if (next) {
        aio_co_wake(next);
    }
    return next != NULL;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* wake them one by one, in order */
    }
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    bool empty;

    g_mutex_lock(&queue->lock);
    empty = g_queue_is_empty(&queue->entries);
    g_mutex_unlock(&queue->lock);
    return empty;
}

typedef struct CoRwWaiter {
    Coroutine *co;
    bool writer;
} CoRwWaiter;

void qemu_co_rwlock_init(CoRwlock *lock)
{
    memset(lock, 0, sizeof(*lock));
    g_mutex_init(&lock->lock);
    g_queue_init(&lock->waiters);
}

void qemu_co_rwlock_destroy(CoRwlock *lock)
{
    assert(!lock->readers && !lock->writer);
    g_mutex_clear(&lock->lock);
}

/* Queue the caller and yield until an unlock grants it the lock. */
static void coroutine_fn rwlock_wait_locked(CoRwlock *lock, bool writer)
{
    CoRwWaiter w = { .co = qemu_coroutine_self(), .writer = writer };

    g_queue_push_tail(&lock->waiters, &w);
    g_mutex_unlock(&lock->lock);
    qemu_coroutine_yield();
}

void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    g_mutex_lock(&lock->lock);
    if (!lock->writer && g_queue_is_empty(&lock->waiters)) {
        lock->readers++;
        g_mutex_unlock(&lock->lock);
        return;
    }
    rwlock_wait_locked(lock, false);
}

void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    g_mutex_lock(&lock->lock);
    if (!lock->writer && !lock->readers &&
        g_queue_is_empty(&lock->waiters)) {
        lock->writer = true;
        g_mutex_unlock(&lock->lock);
        return;
    }
    rwlock_wait_locked(lock, true);
}

void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock)
{
    GQueue wake = G_QUEUE_INIT;
    CoRwWaiter *w;
    Coroutine *co;

    g_mutex_lock(&lock->lock);
    if (lock->writer) {
        lock->writer = false;
    } else {
        assert(lock->readers > 0);
        lock->readers--;
    }
    /* Grant the lock to the head waiter, and to all readers behind it. */
    if (!lock->readers && (w = g_queue_peek_head(&lock->waiters))) {
        if (w->writer) {
            lock->writer = true;
            g_queue_push_tail(&wake, g_queue_pop_head(&lock->waiters));
        } else {
            while ((w = g_queue_peek_head(&lock->waiters)) && !w->writer) {
                lock->readers++;
                g_queue_push_tail(&wake, g_queue_pop_head(&lock->waiters));
            }
        }
    }
    g_mutex_unlock(&lock->lock);
    while ((w = g_queue_pop_head(&wake))) {
        co = w->co;          /* @w lives on co's stack: read it first */
        aio_co_wake(co);
    }
}
