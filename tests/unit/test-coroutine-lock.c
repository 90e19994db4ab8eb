/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for CoMutex, CoQueue, CoRwlock and the coroutine sleeps
 * (util/coroutine-lock.c, util/coroutine-sleep.c).
 *
 * Order checks log events into a string and compare it with the expected
 * sequence.  Every wait on the event loop is bounded (POLL_UNTIL).
 */
#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/coroutine-lock.h"
#include "util/aio.h"

#define TIMEOUT_NS (10 * 1000000000LL)

static void watchdog_cb(void *opaque)
{
    /* Only makes a blocking aio_poll() return; POLL_UNTIL checks the time. */
}

/* Poll @ctx until @cond holds; fail the test after TIMEOUT_NS. */
#define POLL_UNTIL(ctx, cond)                                           \
    do {                                                                \
        int64_t deadline_ = get_clock_ns() + TIMEOUT_NS;                \
        QEMUTimer *wd_ = aio_timer_new((ctx), watchdog_cb, NULL);       \
                                                                        \
        timer_mod_ns(wd_, deadline_);                                   \
        while (!(cond)) {                                               \
            g_assert_cmpint(get_clock_ns(), <, deadline_);              \
            aio_poll((ctx), true);                                      \
        }                                                               \
        timer_free(wd_);                                                \
    } while (0)

static GString *events;

static void event(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void event(const char *fmt, ...)
{
    va_list ap;

    if (events->len) {
        g_string_append_c(events, ' ');
    }
    va_start(ap, fmt);
    g_string_append_vprintf(events, fmt, ap);
    va_end(ap);
}

static void events_reset(void)
{
    if (!events) {
        events = g_string_new(NULL);
    }
    g_string_truncate(events, 0);
}

#define events_assert(expect) g_assert_cmpstr(events->str, ==, (expect))

/* Let everything else that is ready in this context run, then continue. */
static void coroutine_fn yield_to_loop(void)
{
    aio_co_schedule(qemu_get_current_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

static void nop_bh(void *opaque)
{
}

/*
 * Wake the main loop after changing a condition it polls for, from any
 * thread.  aio_notify() alone could be lost if the main thread is between
 * its check and its sleep; a scheduled BH is seen by the pre-sleep check.
 */
static void kick_main(void)
{
    aio_bh_schedule_oneshot(qemu_get_aio_context(), nop_bh, NULL);
}

/* A thread polling its own AioContext, stopped through a BH. */
typedef struct IOThread {
    AioContext *ctx;
    GThread *thread;
    bool stopping;
} IOThread;

static gpointer iothread_run(gpointer opaque)
{
    IOThread *t = opaque;

    aio_context_set_current(t->ctx);
    while (!t->stopping) {
        aio_poll(t->ctx, true);
    }
    aio_context_set_current(NULL);
    return NULL;
}

static void iothread_stop_bh(void *opaque)
{
    ((IOThread *)opaque)->stopping = true;
}

static void iothread_start(IOThread *t)
{
    t->ctx = aio_context_new(&error_abort);
    t->stopping = false;
    t->thread = g_thread_new("iothread", iothread_run, t);
}

static void iothread_join(IOThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, iothread_stop_bh, t);
    g_thread_join(t->thread);
    aio_context_unref(t->ctx);
}

/*
 * CoMutex mutual exclusion: many coroutines increment a counter with a
 * read-yield-write sequence inside the critical section, which loses
 * updates unless the mutex really excludes.
 */

typedef struct MutexData {
    CoMutex mutex;
    unsigned counter;
    int inside;               /* coroutines inside the critical section */
    int max_inside;
    unsigned done;            /* atomic: coroutines finished */
    unsigned iterations;
} MutexData;

static void coroutine_fn mutex_worker(void *opaque)
{
    MutexData *md = opaque;

    for (unsigned i = 0; i < md->iterations; i++) {
        unsigned old;
        int in;

        qemu_co_mutex_lock(&md->mutex);
        qemu_co_mutex_assert_locked(&md->mutex);
        in = __atomic_add_fetch(&md->inside, 1, __ATOMIC_SEQ_CST);
        if (in > md->max_inside) {
            md->max_inside = in;
        }
        old = md->counter;
        yield_to_loop();
        md->counter = old + 1;
        __atomic_sub_fetch(&md->inside, 1, __ATOMIC_SEQ_CST);
        qemu_co_mutex_unlock(&md->mutex);
        /* Give the others a chance between the critical sections too. */
        if (i % 3 == 0) {
            yield_to_loop();
        }
    }
    __atomic_add_fetch(&md->done, 1, __ATOMIC_SEQ_CST);
    kick_main();
}

static void test_mutex_exclusion(void)
{
    enum { WORKERS = 100, ITERATIONS = 20 };
    AioContext *ctx = qemu_get_aio_context();
    MutexData md = { .iterations = ITERATIONS };

    qemu_co_mutex_init(&md.mutex);
    for (unsigned i = 0; i < WORKERS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(mutex_worker, &md));
    }
    POLL_UNTIL(ctx, __atomic_load_n(&md.done, __ATOMIC_SEQ_CST) == WORKERS);
    g_assert_cmpuint(md.counter, ==, WORKERS * ITERATIONS);
    g_assert_cmpint(md.max_inside, ==, 1);
    qemu_co_mutex_destroy(&md.mutex);
}

/* The same, with half of the coroutines running in another thread. */
static void test_mutex_threads(void)
{
    enum { WORKERS = 16, ITERATIONS = 50 };
    AioContext *ctx = qemu_get_aio_context();
    MutexData md = { .iterations = ITERATIONS };
    IOThread io;

    qemu_co_mutex_init(&md.mutex);
    iothread_start(&io);
    for (unsigned i = 0; i < WORKERS; i++) {
        Coroutine *co = qemu_coroutine_create(mutex_worker, &md);

        aio_co_schedule(i % 2 ? io.ctx : ctx, co);
    }
    POLL_UNTIL(ctx, __atomic_load_n(&md.done, __ATOMIC_SEQ_CST) == WORKERS);
    iothread_join(&io);
    g_assert_cmpuint(md.counter, ==, WORKERS * ITERATIONS);
    g_assert_cmpint(md.max_inside, ==, 1);
    qemu_co_mutex_destroy(&md.mutex);
}

/*
 * CoMutex fairness: waiters get the lock in the order they queued, and the
 * unlocker cannot take it back before them.
 */

typedef struct FifoData {
    CoMutex mutex;
    Coroutine *holder;
    unsigned finished;
} FifoData;

typedef struct FifoWaiter {
    FifoData *fd;
    unsigned index;
} FifoWaiter;

static void coroutine_fn fifo_holder(void *opaque)
{
    FifoData *fd = opaque;

    qemu_co_mutex_lock(&fd->mutex);
    event("h:locked");
    qemu_coroutine_yield();             /* main queues the waiters */
    qemu_co_mutex_unlock(&fd->mutex);
    event("h:unlocked");
    /* The lock went to the first waiter: we have to queue behind all. */
    qemu_co_mutex_lock(&fd->mutex);
    event("h:relocked");
    qemu_co_mutex_unlock(&fd->mutex);
    fd->finished++;
}

static void coroutine_fn fifo_waiter(void *opaque)
{
    FifoWaiter *w = opaque;

    event("w%u:wait", w->index);
    qemu_co_mutex_lock(&w->fd->mutex);
    event("w%u:locked", w->index);
    qemu_co_mutex_unlock(&w->fd->mutex);
    w->fd->finished++;
}

static void test_mutex_fifo(void)
{
    enum { WAITERS = 5 };
    FifoData fd = { 0 };
    FifoWaiter w[WAITERS];

    events_reset();
    qemu_co_mutex_init(&fd.mutex);
    fd.holder = qemu_coroutine_create(fifo_holder, &fd);
    qemu_coroutine_enter(fd.holder);
    for (unsigned i = 0; i < WAITERS; i++) {
        w[i] = (FifoWaiter){ .fd = &fd, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(fifo_waiter, &w[i]));
    }
    qemu_coroutine_enter(fd.holder);
    g_assert_cmpuint(fd.finished, ==, WAITERS + 1);
    events_assert("h:locked w0:wait w1:wait w2:wait w3:wait w4:wait "
                  "h:unlocked w0:locked w1:locked w2:locked w3:locked "
                  "w4:locked h:relocked");
    qemu_co_mutex_destroy(&fd.mutex);
}

/* CoQueue: qemu_co_queue_next() wakes one at a time, in FIFO order. */

typedef struct QueueData {
    CoQueue queue;
    CoMutex mutex;
    bool with_mutex;
    unsigned woken;
} QueueData;

typedef struct QueueWaiter {
    QueueData *qd;
    unsigned index;
} QueueWaiter;

static void coroutine_fn queue_waiter(void *opaque)
{
    QueueWaiter *w = opaque;
    QueueData *qd = w->qd;

    if (qd->with_mutex) {
        qemu_co_mutex_lock(&qd->mutex);
    }
    event("q%u:wait", w->index);
    qemu_co_queue_wait(&qd->queue, qd->with_mutex ? &qd->mutex : NULL);
    if (qd->with_mutex) {
        /* The mutex is ours again after the wait. */
        qemu_co_mutex_assert_locked(&qd->mutex);
    }
    event("q%u:woken", w->index);
    qd->woken++;
    if (qd->with_mutex) {
        qemu_co_mutex_unlock(&qd->mutex);
    }
}

static void coroutine_fn queue_waker(void *opaque)
{
    QueueData *qd = opaque;

    /* From a coroutine, the woken one runs after we yield or end. */
    g_assert_true(qemu_co_queue_next(&qd->queue));
    event("waker:end");
}

static void run_queue_test(bool with_mutex)
{
    enum { WAITERS = 4 };
    QueueData qd = { .with_mutex = with_mutex };
    QueueWaiter w[WAITERS];

    events_reset();
    qemu_co_queue_init(&qd.queue);
    qemu_co_mutex_init(&qd.mutex);
    g_assert_true(qemu_co_queue_empty(&qd.queue));
    g_assert_false(qemu_co_queue_next(&qd.queue));

    for (unsigned i = 0; i < WAITERS; i++) {
        w[i] = (QueueWaiter){ .qd = &qd, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter, &w[i]));
    }
    g_assert_false(qemu_co_queue_empty(&qd.queue));

    /* Outside a coroutine: the first waiter runs at once. */
    g_assert_true(qemu_co_queue_next(&qd.queue));
    g_assert_cmpuint(qd.woken, ==, 1);
    event("main:next");

    qemu_coroutine_enter(qemu_coroutine_create(queue_waker, &qd));
    g_assert_cmpuint(qd.woken, ==, 2);
    event("main:restart-all");

    qemu_co_queue_restart_all(&qd.queue);
    g_assert_cmpuint(qd.woken, ==, WAITERS);
    g_assert_true(qemu_co_queue_empty(&qd.queue));
    g_assert_false(qemu_co_queue_next(&qd.queue));
    events_assert("q0:wait q1:wait q2:wait q3:wait q0:woken main:next "
                  "waker:end q1:woken main:restart-all q2:woken q3:woken");
    qemu_co_queue_destroy(&qd.queue);
    qemu_co_mutex_destroy(&qd.mutex);
}

static void test_queue_order(void)
{
    run_queue_test(false);
}

static void test_queue_with_mutex(void)
{
    run_queue_test(true);
}

/* restart_all from inside a coroutine wakes everyone after it yields. */

static void coroutine_fn queue_restarter(void *opaque)
{
    QueueData *qd = opaque;

    qemu_co_queue_restart_all(&qd->queue);
    event("restarter:yield");
    qemu_coroutine_yield();
    event("restarter:end");
}

static void test_queue_restart_from_coroutine(void)
{
    QueueData qd = { 0 };
    QueueWaiter w[3];
    Coroutine *restarter;

    events_reset();
    qemu_co_queue_init(&qd.queue);
    qemu_co_mutex_init(&qd.mutex);
    for (unsigned i = 0; i < 3; i++) {
        w[i] = (QueueWaiter){ .qd = &qd, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter, &w[i]));
    }
    restarter = qemu_coroutine_create(queue_restarter, &qd);
    qemu_coroutine_enter(restarter);
    event("main");
    qemu_coroutine_enter(restarter);
    events_assert("q0:wait q1:wait q2:wait restarter:yield q0:woken "
                  "q1:woken q2:woken main restarter:end");
    qemu_co_queue_destroy(&qd.queue);
    qemu_co_mutex_destroy(&qd.mutex);
}

/* CoRwlock */

typedef struct RwData {
    CoRwlock lock;
    int readers_inside;
    int max_readers;
    int writers_inside;
    unsigned finished;
} RwData;

typedef struct RwUser {
    RwData *rd;
    const char *name;
    bool writer;
} RwUser;

/* Take the lock, log, yield while holding it, then unlock. */
static void coroutine_fn rw_user(void *opaque)
{
    RwUser *u = opaque;
    RwData *rd = u->rd;

    event("%s:wait", u->name);
    if (u->writer) {
        qemu_co_rwlock_wrlock(&rd->lock);
        g_assert_cmpint(rd->readers_inside, ==, 0);
        g_assert_cmpint(rd->writers_inside, ==, 0);
        rd->writers_inside++;
    } else {
        qemu_co_rwlock_rdlock(&rd->lock);
        g_assert_cmpint(rd->writers_inside, ==, 0);
        rd->readers_inside++;
        rd->max_readers = MAX(rd->max_readers, rd->readers_inside);
    }
    event("%s:locked", u->name);
    qemu_coroutine_yield();             /* main decides when to unlock */
    if (u->writer) {
        rd->writers_inside--;
    } else {
        rd->readers_inside--;
    }
    event("%s:unlock", u->name);
    qemu_co_rwlock_unlock(&rd->lock);
    rd->finished++;
}

static Coroutine *rw_start(RwUser *u, RwData *rd, const char *name,
                           bool writer)
{
    Coroutine *co;

    *u = (RwUser){ .rd = rd, .name = name, .writer = writer };
    co = qemu_coroutine_create(rw_user, u);
    qemu_coroutine_enter(co);
    return co;
}

static void test_rwlock_readers(void)
{
    RwData rd = { 0 };
    RwUser u[3];
    Coroutine *co[3];

    events_reset();
    qemu_co_rwlock_init(&rd.lock);
    co[0] = rw_start(&u[0], &rd, "r0", false);
    co[1] = rw_start(&u[1], &rd, "r1", false);
    co[2] = rw_start(&u[2], &rd, "r2", false);
    /* All three hold the lock at once. */
    g_assert_cmpint(rd.readers_inside, ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        qemu_coroutine_enter(co[i]);
    }
    g_assert_cmpint(rd.max_readers, ==, 3);
    g_assert_cmpuint(rd.finished, ==, 3);
    events_assert("r0:wait r0:locked r1:wait r1:locked r2:wait r2:locked "
                  "r0:unlock r1:unlock r2:unlock");
    qemu_co_rwlock_destroy(&rd.lock);
}

static void test_rwlock_writer_exclusion(void)
{
    RwData rd = { 0 };
    RwUser u[4];
    Coroutine *w0, *r0, *r1, *w1;

    events_reset();
    qemu_co_rwlock_init(&rd.lock);
    w0 = rw_start(&u[0], &rd, "w0", true);
    r0 = rw_start(&u[1], &rd, "r0", false);
    r1 = rw_start(&u[2], &rd, "r1", false);
    w1 = rw_start(&u[3], &rd, "w1", true);
    /* Only the first writer holds the lock. */
    g_assert_cmpint(rd.writers_inside, ==, 1);
    g_assert_cmpint(rd.readers_inside, ==, 0);

    /* w0 unlocks: both readers get it together (FIFO head is a reader). */
    qemu_coroutine_enter(w0);
    g_assert_cmpint(rd.readers_inside, ==, 2);
    g_assert_cmpint(rd.writers_inside, ==, 0);

    /* One reader leaves: w1 still waits for the other. */
    qemu_coroutine_enter(r0);
    g_assert_cmpint(rd.writers_inside, ==, 0);
    qemu_coroutine_enter(r1);
    g_assert_cmpint(rd.writers_inside, ==, 1);

    qemu_coroutine_enter(w1);
    g_assert_cmpuint(rd.finished, ==, 4);
    events_assert("w0:wait w0:locked r0:wait r1:wait w1:wait "
                  "w0:unlock r0:locked r1:locked r0:unlock "
                  "r1:unlock w1:locked w1:unlock");
    qemu_co_rwlock_destroy(&rd.lock);
}

/* A waiting writer blocks readers that come after it. */
static void test_rwlock_writer_blocks_readers(void)
{
    RwData rd = { 0 };
    RwUser u[3];
    Coroutine *r1, *w, *r2;

    events_reset();
    qemu_co_rwlock_init(&rd.lock);
    r1 = rw_start(&u[0], &rd, "r1", false);
    w = rw_start(&u[1], &rd, "w", true);
    r2 = rw_start(&u[2], &rd, "r2", false);
    /* r2 could share with r1, but the writer is queued before it. */
    g_assert_cmpint(rd.readers_inside, ==, 1);
    g_assert_cmpint(rd.writers_inside, ==, 0);

    qemu_coroutine_enter(r1);
    g_assert_cmpint(rd.writers_inside, ==, 1);
    g_assert_cmpint(rd.readers_inside, ==, 0);
    qemu_coroutine_enter(w);
    g_assert_cmpint(rd.readers_inside, ==, 1);
    qemu_coroutine_enter(r2);
    g_assert_cmpuint(rd.finished, ==, 3);
    events_assert("r1:wait r1:locked w:wait r2:wait r1:unlock w:locked "
                  "w:unlock r2:locked r2:unlock");
    qemu_co_rwlock_destroy(&rd.lock);
}

/* Sleeping */

typedef struct SleepData {
    int64_t ns;
    int64_t slept;
    QemuCoSleep w;
    bool wakeable;
    bool done;
} SleepData;

static void coroutine_fn sleep_co(void *opaque)
{
    SleepData *sd = opaque;
    int64_t start = qemu_clock_get_ns();

    if (sd->wakeable) {
        qemu_co_sleep_ns_wakeable(&sd->w, sd->ns);
    } else {
        qemu_co_sleep_ns(sd->ns);
    }
    sd->slept = qemu_clock_get_ns() - start;
    sd->done = true;
}

static void test_sleep(void)
{
    AioContext *ctx = qemu_get_aio_context();
    SleepData sd[3] = {
        { .ns = 30 * 1000000 },
        { .ns = 10 * 1000000 },
        { .ns = 20 * 1000000 },
    };

    events_reset();
    for (unsigned i = 0; i < 3; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(sleep_co, &sd[i]));
        g_assert_false(sd[i].done);
    }
    POLL_UNTIL(ctx, sd[0].done && sd[1].done && sd[2].done);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(sd[i].slept, >=, sd[i].ns);
    }
}

static void wake_sleeper_bh(void *opaque)
{
    qemu_co_sleep_wake(opaque);
}

static void test_sleep_wake(void)
{
    AioContext *ctx = qemu_get_aio_context();
    /* Far longer than POLL_UNTIL's bound: only the wake can end it. */
    SleepData sd = { .ns = 3600 * 1000000000LL, .wakeable = true };
    QEMUTimer *t = aio_timer_new(ctx, wake_sleeper_bh, &sd.w);

    /* Waking nobody is a no-op. */
    qemu_co_sleep_wake(&sd.w);

    qemu_coroutine_enter(qemu_coroutine_create(sleep_co, &sd));
    g_assert_nonnull(sd.w.to_wake);
    timer_mod_ns(t, qemu_clock_get_ns() + 5 * 1000000);
    POLL_UNTIL(ctx, sd.done);
    g_assert_null(sd.w.to_wake);
    /* A second wake after the sleep ended does nothing. */
    qemu_co_sleep_wake(&sd.w);
    timer_free(t);
}

/* Waking from another coroutine: the sleeper runs after the waker. */

static void coroutine_fn wake_from_co(void *opaque)
{
    SleepData *sd = opaque;

    qemu_co_sleep_wake(&sd->w);
    g_assert_false(sd->done);
    event("waker:end");
}

static void test_sleep_wake_from_coroutine(void)
{
    SleepData sd = { .ns = 3600 * 1000000000LL, .wakeable = true };

    events_reset();
    qemu_coroutine_enter(qemu_coroutine_create(sleep_co, &sd));
    qemu_coroutine_enter(qemu_coroutine_create(wake_from_co, &sd));
    g_assert_true(sd.done);
    events_assert("waker:end");
}

int main(int argc, char **argv)
{
    /* Last-resort bound on the whole program (the sanitized run included). */
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/co-lock/mutex/exclusion", test_mutex_exclusion);
    g_test_add_func("/co-lock/mutex/threads", test_mutex_threads);
    g_test_add_func("/co-lock/mutex/fifo", test_mutex_fifo);
    g_test_add_func("/co-lock/queue/order", test_queue_order);
    g_test_add_func("/co-lock/queue/with-mutex", test_queue_with_mutex);
    g_test_add_func("/co-lock/queue/restart-from-coroutine",
                    test_queue_restart_from_coroutine);
    g_test_add_func("/co-lock/rwlock/readers", test_rwlock_readers);
    g_test_add_func("/co-lock/rwlock/writer-exclusion",
                    test_rwlock_writer_exclusion);
    g_test_add_func("/co-lock/rwlock/writer-blocks-readers",
                    test_rwlock_writer_blocks_readers);
    g_test_add_func("/co-lock/sleep/duration", test_sleep);
    g_test_add_func("/co-lock/sleep/wake", test_sleep_wake);
    g_test_add_func("/co-lock/sleep/wake-from-coroutine",
                    test_sleep_wake_from_coroutine);
    return g_test_run();
}
