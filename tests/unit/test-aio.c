/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the AioContext event loop (util/async.c, util/aio-posix.c,
 * util/aio-gsource.c): bottom halves, timers, fd handlers, wake-ups from
 * other threads, coroutine hand-off and the GLib source.
 *
 * No test may hang: blocking polls run with a watchdog timer armed a few
 * seconds ahead, and a test that needed the watchdog to make progress
 * fails.  alarm() in main() is the last resort.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

#include <fcntl.h>

#define TIMEOUT_NS (10 * 1000000000LL)
#define MS 1000000LL

static AioContext *ctx;

/* Watchdog: a timer that makes a blocking aio_poll() return. */

typedef struct Watchdog {
    QEMUTimer *timer;
    bool fired;
} Watchdog;

static void watchdog_cb(void *opaque)
{
    ((Watchdog *)opaque)->fired = true;
}

static void watchdog_start(Watchdog *wd, AioContext *c, int64_t ns)
{
    wd->fired = false;
    wd->timer = aio_timer_new(c, watchdog_cb, wd);
    timer_mod_ns(wd->timer, qemu_clock_get_ns() + ns);
}

static void watchdog_stop(Watchdog *wd)
{
    timer_free(wd->timer);
    wd->timer = NULL;
}

/*
 * Poll @c until @cond holds.  Fails if the watchdog had to fire: whatever
 * should have woken the loop did not.
 */
#define POLL_UNTIL(c, cond)                                             \
    do {                                                                \
        Watchdog wd_;                                                   \
                                                                        \
        watchdog_start(&wd_, (c), TIMEOUT_NS);                          \
        while (!(cond) && !wd_.fired) {                                 \
            aio_poll((c), true);                                        \
        }                                                               \
        g_assert_false(wd_.fired);                                      \
        g_assert_true(cond);                                            \
        watchdog_stop(&wd_);                                            \
    } while (0)

/* Run everything that is ready now, without blocking. */
static void drain_ready(AioContext *c)
{
    for (int i = 0; i < 100 && aio_poll(c, false); i++) {
        /* keep going while there is progress */
    }
}

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

/* Bottom halves */

static void log_bh(void *opaque)
{
    event("%s", (const char *)opaque);
}

static void count_bh(void *opaque)
{
    __atomic_add_fetch((unsigned *)opaque, 1, __ATOMIC_SEQ_CST);
}

static void test_bh_order(void)
{
    QEMUBH *a = aio_bh_new(ctx, log_bh, (void *)"a");
    QEMUBH *b = aio_bh_new(ctx, log_bh, (void *)"b");
    QEMUBH *c = aio_bh_new(ctx, log_bh, (void *)"c");

    events_reset();
    g_assert_false(aio_poll(ctx, false));
    qemu_bh_schedule(b);
    qemu_bh_schedule(c);
    aio_bh_schedule_oneshot(ctx, log_bh, (void *)"once");
    qemu_bh_schedule(a);
    g_assert_true(aio_poll(ctx, false));
    events_assert("b c once a");
    g_assert_false(aio_poll(ctx, false));
    qemu_bh_delete(a);
    qemu_bh_delete(b);
    qemu_bh_delete(c);
}

static void test_bh_schedule_twice(void)
{
    unsigned runs = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_bh, &runs);

    qemu_bh_schedule(bh);
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 1);
    /* Scheduling again after it ran runs it again. */
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 2);
    qemu_bh_delete(bh);
}

static void test_bh_cancel_delete(void)
{
    unsigned runs = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_bh, &runs);
    QEMUBH *doomed = aio_bh_new(ctx, count_bh, &runs);

    qemu_bh_schedule(bh);
    qemu_bh_cancel(bh);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 0);
    /* Cancelling an idle BH is harmless; it can be scheduled again. */
    qemu_bh_cancel(bh);
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 1);

    /* A deleted BH never runs, even if it was scheduled. */
    qemu_bh_schedule(doomed);
    qemu_bh_delete(doomed);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpuint(runs, ==, 1);
    qemu_bh_delete(bh);
    qemu_bh_delete(NULL);
}

static void oneshot_bh(void *opaque)
{
    event("oneshot%d", GPOINTER_TO_INT(opaque));
}

static void test_bh_oneshot(void)
{
    events_reset();
    for (int i = 0; i < 3; i++) {
        aio_bh_schedule_oneshot(ctx, oneshot_bh, GINT_TO_POINTER(i));
    }
    g_assert_true(aio_poll(ctx, false));
    events_assert("oneshot0 oneshot1 oneshot2");
    /* Each ran once and freed itself (LeakSanitizer checks the latter). */
    g_assert_false(aio_poll(ctx, false));
    events_assert("oneshot0 oneshot1 oneshot2");
}

/* A BH that deletes itself from its own callback. */

typedef struct SelfDelete {
    QEMUBH *bh;
    unsigned runs;
} SelfDelete;

static void self_delete_bh(void *opaque)
{
    SelfDelete *sd = opaque;

    sd->runs++;
    qemu_bh_delete(sd->bh);
    sd->bh = NULL;
}

static void test_bh_delete_self(void)
{
    SelfDelete sd = { 0 };

    sd.bh = aio_bh_new(ctx, self_delete_bh, &sd);
    qemu_bh_schedule(sd.bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpuint(sd.runs, ==, 1);
    g_assert_null(sd.bh);
    g_assert_false(aio_poll(ctx, false));
}

/*
 * A BH that reschedules itself runs once per aio_poll(), even when another
 * BH queued before it is cancelled during the same poll.
 */

typedef struct Resched {
    QEMUBH *self;
    QEMUBH *victim;
    unsigned runs;
} Resched;

static void resched_bh(void *opaque)
{
    Resched *r = opaque;

    r->runs++;
    if (r->victim) {
        qemu_bh_cancel(r->victim);
    }
    qemu_bh_schedule(r->self);
}

static void test_bh_reschedule_self(void)
{
    unsigned victim_runs = 0;
    Resched r = { 0 };

    r.self = aio_bh_new(ctx, resched_bh, &r);
    r.victim = aio_bh_new(ctx, count_bh, &victim_runs);
    qemu_bh_schedule(r.self);
    qemu_bh_schedule(r.victim);
    for (unsigned i = 1; i <= 5; i++) {
        g_assert_true(aio_poll(ctx, false));
        g_assert_cmpuint(r.runs, ==, i);
    }
    g_assert_cmpuint(victim_runs, ==, 0);
    qemu_bh_delete(r.self);
    qemu_bh_delete(r.victim);
    g_assert_false(aio_poll(ctx, false));
}

/* A BH scheduled from a BH runs in the next poll, not this one. */

typedef struct Chain {
    QEMUBH *next;
} Chain;

static void chain_first_bh(void *opaque)
{
    Chain *c = opaque;

    event("first");
    qemu_bh_schedule(c->next);
}

static void test_bh_schedule_from_bh(void)
{
    Chain c;
    QEMUBH *first = aio_bh_new(ctx, chain_first_bh, &c);

    events_reset();
    c.next = aio_bh_new(ctx, log_bh, (void *)"second");
    qemu_bh_schedule(first);
    g_assert_true(aio_poll(ctx, false));
    events_assert("first");
    g_assert_true(aio_poll(ctx, false));
    events_assert("first second");
    qemu_bh_delete(first);
    qemu_bh_delete(c.next);
}

/* Unreferencing a context frees its pending oneshot BHs without running. */
static void test_context_unref_pending(void)
{
    AioContext *c = aio_context_new(&error_abort);
    unsigned runs = 0;
    QEMUBH *bh = aio_bh_new(c, count_bh, &runs);

    aio_bh_schedule_oneshot(c, count_bh, &runs);
    aio_bh_schedule_oneshot(c, count_bh, &runs);
    qemu_bh_schedule(bh);
    qemu_bh_delete(bh);
    aio_context_unref(c);
    g_assert_cmpuint(runs, ==, 0);
}

/* Timers */

typedef struct TimerEvent {
    const char *name;
    int64_t deadline;
    int64_t fired_at;
} TimerEvent;

static void timer_event_cb(void *opaque)
{
    TimerEvent *te = opaque;

    te->fired_at = qemu_clock_get_ns();
    event("%s", te->name);
}

static unsigned count_fired(TimerEvent *te, unsigned n)
{
    unsigned fired = 0;

    for (unsigned i = 0; i < n; i++) {
        fired += te[i].fired_at != 0;
    }
    return fired;
}

static void test_timer_order(void)
{
    static const struct {
        const char *name;
        int64_t offset;
    } spec[] = {
        { "t30", 30 * MS }, { "t10a", 10 * MS }, { "t20", 20 * MS },
        { "t10b", 10 * MS }, { "t0", 0 }, { "t10c", 10 * MS },
    };
    enum { N = G_N_ELEMENTS(spec) };
    TimerEvent te[N];
    QEMUTimer *t[N];
    int64_t base = qemu_clock_get_ns();

    events_reset();
    for (unsigned i = 0; i < N; i++) {
        te[i] = (TimerEvent){ .name = spec[i].name,
                              .deadline = base + spec[i].offset };
        t[i] = aio_timer_new(ctx, timer_event_cb, &te[i]);
        timer_mod_ns(t[i], te[i].deadline);
        g_assert_true(timer_pending(t[i]));
    }
    POLL_UNTIL(ctx, count_fired(te, N) == N);
    /* Deadline order; equal deadlines in the order they were armed. */
    events_assert("t0 t10a t10b t10c t20 t30");
    for (unsigned i = 0; i < N; i++) {
        g_assert_cmpint(te[i].fired_at, >=, te[i].deadline);
        g_assert_false(timer_pending(t[i]));
        timer_free(t[i]);
    }
}

static void test_timer_del_and_rearm(void)
{
    TimerEvent a = { .name = "a" }, b = { .name = "b" };
    QEMUTimer *ta = aio_timer_new(ctx, timer_event_cb, &a);
    QEMUTimer *tb = aio_timer_new(ctx, timer_event_cb, &b);
    int64_t now = qemu_clock_get_ns();

    events_reset();
    g_assert_false(timer_pending(ta));
    timer_mod_ns(ta, now);
    timer_mod_ns(tb, now);
    timer_del(ta);
    g_assert_false(timer_pending(ta));
    timer_del(ta);                      /* deleting twice is harmless */
    /* Re-arming a pending timer moves it: b now fires after a. */
    timer_mod_ns(tb, now + 20 * MS);
    timer_mod_ns(ta, now + 10 * MS);
    POLL_UNTIL(ctx, b.fired_at != 0);
    events_assert("a b");
    g_assert_cmpint(a.fired_at, >=, now + 10 * MS);
    g_assert_cmpint(b.fired_at, >=, now + 20 * MS);

    /* A freed pending timer never fires. */
    timer_mod_ns(ta, now);
    timer_free(ta);
    drain_ready(ctx);
    events_assert("a b");
    timer_free(tb);
    timer_free(NULL);
}

/* A blocking aio_poll() with only a timer armed returns once it expires. */
static void test_timer_wakes_poll(void)
{
    TimerEvent te = { .name = "t" };
    QEMUTimer *t = aio_timer_new(ctx, timer_event_cb, &te);

    events_reset();
    te.deadline = qemu_clock_get_ns() + 20 * MS;
    timer_mod_ns(t, te.deadline);
    POLL_UNTIL(ctx, te.fired_at != 0);
    g_assert_cmpint(te.fired_at, >=, te.deadline);
    timer_free(t);
}

/* File descriptor handlers */

typedef struct PipeData {
    int fds[2];
    unsigned reads;
    unsigned writes;
    char last;
    bool remove_self;
    bool remove_other;
    struct PipeData *other;
} PipeData;

static void pipe_open(PipeData *pd)
{
    g_assert_cmpint(pipe2(pd->fds, O_CLOEXEC | O_NONBLOCK), ==, 0);
}

static void pipe_close(PipeData *pd)
{
    close(pd->fds[0]);
    close(pd->fds[1]);
}

static void pipe_put(PipeData *pd, char c)
{
    g_assert_cmpint(write(pd->fds[1], &c, 1), ==, 1);
}

static void pipe_read_cb(void *opaque)
{
    PipeData *pd = opaque;
    char c;

    pd->reads++;
    while (read(pd->fds[0], &c, 1) == 1) {
        pd->last = c;
    }
    if (pd->remove_other) {
        aio_set_fd_handler(ctx, pd->other->fds[0], NULL, NULL, NULL);
    }
    if (pd->remove_self) {
        aio_set_fd_handler(ctx, pd->fds[0], NULL, NULL, NULL);
    }
}

static void pipe_write_cb(void *opaque)
{
    PipeData *pd = opaque;

    pd->writes++;
    if (pd->remove_self) {
        aio_set_fd_handler(ctx, pd->fds[1], NULL, NULL, NULL);
    }
}

static void test_fd_read(void)
{
    PipeData pd = { 0 };

    pipe_open(&pd);
    aio_set_fd_handler(ctx, pd.fds[0], pipe_read_cb, NULL, &pd);
    drain_ready(ctx);
    g_assert_cmpuint(pd.reads, ==, 0);

    pipe_put(&pd, 'x');
    POLL_UNTIL(ctx, pd.reads == 1);
    g_assert_cmpint(pd.last, ==, 'x');
    /* Drained: no more calls. */
    drain_ready(ctx);
    g_assert_cmpuint(pd.reads, ==, 1);

    pipe_put(&pd, 'y');
    POLL_UNTIL(ctx, pd.reads == 2);
    g_assert_cmpint(pd.last, ==, 'y');

    /* After removal, data on the fd no longer calls the handler. */
    aio_set_fd_handler(ctx, pd.fds[0], NULL, NULL, NULL);
    pipe_put(&pd, 'z');
    drain_ready(ctx);
    g_assert_cmpuint(pd.reads, ==, 2);
    pipe_close(&pd);
}

static void test_fd_write(void)
{
    PipeData pd = { .remove_self = true };

    pipe_open(&pd);
    /* An empty pipe is writable at once; the handler removes itself. */
    aio_set_fd_handler(ctx, pd.fds[1], NULL, pipe_write_cb, &pd);
    POLL_UNTIL(ctx, pd.writes == 1);
    drain_ready(ctx);
    g_assert_cmpuint(pd.writes, ==, 1);
    pipe_close(&pd);
}

static void test_fd_remove_self(void)
{
    PipeData pd = { .remove_self = true };

    pipe_open(&pd);
    aio_set_fd_handler(ctx, pd.fds[0], pipe_read_cb, NULL, &pd);
    pipe_put(&pd, 'a');
    POLL_UNTIL(ctx, pd.reads == 1);
    pipe_put(&pd, 'b');
    drain_ready(ctx);
    g_assert_cmpuint(pd.reads, ==, 1);

    /* The fd can be registered again afterwards. */
    pd.remove_self = false;
    aio_set_fd_handler(ctx, pd.fds[0], pipe_read_cb, NULL, &pd);
    POLL_UNTIL(ctx, pd.reads == 2);
    g_assert_cmpint(pd.last, ==, 'b');
    aio_set_fd_handler(ctx, pd.fds[0], NULL, NULL, NULL);
    pipe_close(&pd);
}

/* Two ready handlers; whichever runs first removes the other. */
static void test_fd_remove_other(void)
{
    PipeData a = { .remove_other = true }, b = { .remove_other = true };

    pipe_open(&a);
    pipe_open(&b);
    a.other = &b;
    b.other = &a;
    aio_set_fd_handler(ctx, a.fds[0], pipe_read_cb, NULL, &a);
    aio_set_fd_handler(ctx, b.fds[0], pipe_read_cb, NULL, &b);
    pipe_put(&a, '1');
    pipe_put(&b, '2');
    POLL_UNTIL(ctx, a.reads + b.reads >= 1);
    drain_ready(ctx);
    g_assert_cmpuint(a.reads + b.reads, ==, 1);
    /* The survivor still works. */
    if (a.reads) {
        a.remove_other = false;
        pipe_put(&a, '3');
        POLL_UNTIL(ctx, a.reads == 2);
        aio_set_fd_handler(ctx, a.fds[0], NULL, NULL, NULL);
    } else {
        b.remove_other = false;
        pipe_put(&b, '3');
        POLL_UNTIL(ctx, b.reads == 2);
        aio_set_fd_handler(ctx, b.fds[0], NULL, NULL, NULL);
    }
    pipe_close(&a);
    pipe_close(&b);
}

/* Wake-ups from other threads */

typedef struct ThreadArg {
    AioContext *ctx;
    QEMUBH *bh;
    Coroutine *co;
    int64_t delay_us;
    bool stop;                          /* atomic */
    unsigned count;                     /* atomic */
    unsigned target;
    GMutex lock;
    GCond cond;
    bool failed;
} ThreadArg;

static gpointer schedule_bh_thread(gpointer opaque)
{
    ThreadArg *ta = opaque;

    g_usleep(ta->delay_us);
    qemu_bh_schedule(ta->bh);
    return NULL;
}

/* The main thread sleeps in aio_poll(); another thread schedules a BH. */
static void test_cross_thread_bh(void)
{
    ThreadArg ta = { .ctx = ctx, .delay_us = 50000 };
    unsigned runs = 0;
    GThread *thread;

    ta.bh = aio_bh_new(ctx, count_bh, &runs);
    thread = g_thread_new("bh", schedule_bh_thread, &ta);
    POLL_UNTIL(ctx, __atomic_load_n(&runs, __ATOMIC_SEQ_CST) == 1);
    g_thread_join(thread);
    qemu_bh_delete(ta.bh);
}

static gpointer notify_thread(gpointer opaque)
{
    ThreadArg *ta = opaque;

    /* Keep notifying until the poller reports that it woke up. */
    while (!__atomic_load_n(&ta->stop, __ATOMIC_SEQ_CST)) {
        g_usleep(5000);
        aio_notify(ta->ctx);
    }
    return NULL;
}

/* A plain aio_notify() from another thread ends a blocking aio_poll(). */
static void test_cross_thread_notify(void)
{
    ThreadArg ta = { .ctx = ctx };
    Watchdog wd;
    GThread *thread;

    drain_ready(ctx);
    watchdog_start(&wd, ctx, TIMEOUT_NS);
    thread = g_thread_new("notify", notify_thread, &ta);
    /* Nothing is ready: only the notification can end this poll. */
    aio_poll(ctx, true);
    __atomic_store_n(&ta.stop, true, __ATOMIC_SEQ_CST);
    g_thread_join(thread);
    g_assert_false(wd.fired);
    watchdog_stop(&wd);
}

static void pingpong_bh(void *opaque)
{
    ThreadArg *ta = opaque;

    g_mutex_lock(&ta->lock);
    ta->count++;
    g_cond_signal(&ta->cond);
    g_mutex_unlock(&ta->lock);
}

static gpointer pingpong_thread(gpointer opaque)
{
    ThreadArg *ta = opaque;

    for (unsigned i = 0; i < ta->target; i++) {
        gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

        g_mutex_lock(&ta->lock);
        g_assert_cmpuint(ta->count, ==, i);
        g_mutex_unlock(&ta->lock);
        aio_bh_schedule_oneshot(ta->ctx, pingpong_bh, ta);
        g_mutex_lock(&ta->lock);
        while (ta->count == i) {
            if (!g_cond_wait_until(&ta->cond, &ta->lock, deadline)) {
                ta->failed = true;
                break;
            }
        }
        g_mutex_unlock(&ta->lock);
        if (ta->failed) {
            break;
        }
    }
    return NULL;
}

/*
 * Many wake-ups in a row, each needed to make progress: a lost wake-up
 * (a race between the poller going to sleep and aio_notify()) shows up as
 * the watchdog firing.
 */
static void test_cross_thread_pingpong(void)
{
    ThreadArg ta = { .ctx = ctx, .target = 2000 };
    GThread *thread;

    g_mutex_init(&ta.lock);
    g_cond_init(&ta.cond);
    thread = g_thread_new("pingpong", pingpong_thread, &ta);
    POLL_UNTIL(ctx, ({
        unsigned n;

        g_mutex_lock(&ta.lock);
        n = ta.count;
        g_mutex_unlock(&ta.lock);
        n == ta.target || ta.failed;
    }));
    g_thread_join(thread);
    g_assert_false(ta.failed);
    g_assert_cmpuint(ta.count, ==, ta.target);
    g_mutex_clear(&ta.lock);
    g_cond_clear(&ta.cond);
}

/* aio_co_schedule() from another thread */

typedef struct CoSchedData {
    GThread *main_thread;
    unsigned resumed;
    bool wrong_thread;
} CoSchedData;

static void coroutine_fn wait_for_schedule(void *opaque)
{
    CoSchedData *cd = opaque;

    qemu_coroutine_yield();
    if (g_thread_self() != cd->main_thread ||
        qemu_get_current_aio_context() != ctx) {
        cd->wrong_thread = true;
    }
    cd->resumed++;
}

typedef struct CoSchedThread {
    Coroutine **cos;
    unsigned n;
} CoSchedThread;

static gpointer co_schedule_thread(gpointer opaque)
{
    CoSchedThread *ct = opaque;

    g_usleep(20000);                    /* let the main thread sleep */
    for (unsigned i = 0; i < ct->n; i++) {
        aio_co_schedule(ctx, ct->cos[i]);
    }
    return NULL;
}

static void test_co_schedule_cross_thread(void)
{
    enum { N = 100 };
    CoSchedData cd = { .main_thread = g_thread_self() };
    Coroutine *cos[N];
    CoSchedThread ct = { .cos = cos, .n = N };
    GThread *thread;

    for (unsigned i = 0; i < N; i++) {
        cos[i] = qemu_coroutine_create(wait_for_schedule, &cd);
        qemu_coroutine_enter(cos[i]);
    }
    thread = g_thread_new("co-schedule", co_schedule_thread, &ct);
    POLL_UNTIL(ctx, cd.resumed == N);
    g_thread_join(thread);
    g_assert_false(cd.wrong_thread);
}

/* Scheduling a coroutine that is already scheduled aborts. */
static void test_co_schedule_twice_aborts(void)
{
    if (g_test_subprocess()) {
        CoSchedData cd = { .main_thread = g_thread_self() };
        Coroutine *co = qemu_coroutine_create(wait_for_schedule, &cd);

        qemu_coroutine_enter(co);
        aio_co_schedule(ctx, co);
        aio_co_schedule(ctx, co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*already scheduled*");
}

/* AIO_WAIT_WHILE() with aio_wait_kick() from another thread. */

static gpointer kick_thread(gpointer opaque)
{
    bool *flag = opaque;

    g_usleep(20000);
    __atomic_store_n(flag, true, __ATOMIC_SEQ_CST);
    aio_wait_kick();
    return NULL;
}

static void test_aio_wait_kick(void)
{
    bool flag = false;
    GThread *thread = g_thread_new("kick", kick_thread, &flag);
    Watchdog wd;

    watchdog_start(&wd, ctx, TIMEOUT_NS);
    AIO_WAIT_WHILE(ctx, !__atomic_load_n(&flag, __ATOMIC_SEQ_CST) &&
                   !wd.fired);
    g_assert_false(wd.fired);
    watchdog_stop(&wd);
    g_thread_join(thread);
}

/* aio_run_co_sync(): run a coroutine that yields to the loop, and wait. */

typedef struct SyncData {
    unsigned steps;
    bool done;
} SyncData;

static void coroutine_fn sync_co(void *opaque)
{
    SyncData *sd = opaque;

    for (unsigned i = 0; i < 10; i++) {
        aio_co_schedule(qemu_get_current_aio_context(),
                        qemu_coroutine_self());
        qemu_coroutine_yield();
        sd->steps++;
    }
    sd->done = true;
}

static void test_run_co_sync(void)
{
    SyncData sd = { 0 };

    aio_run_co_sync(sync_co, &sd, &sd.done);
    g_assert_true(sd.done);
    g_assert_cmpuint(sd.steps, ==, 10);
}

/* GSource: a GLib main loop drives the context. */

static gboolean gsource_watchdog(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Iterate @mc until @cond holds; fail after TIMEOUT_NS. */
#define ITERATE_UNTIL(mc, cond)                                         \
    do {                                                                \
        bool fired_ = false;                                            \
        GSource *wd_ = g_timeout_source_new(TIMEOUT_NS / 1000000);      \
                                                                        \
        g_source_set_callback(wd_, gsource_watchdog, &fired_, NULL);    \
        g_source_attach(wd_, (mc));                                     \
        while (!(cond) && !fired_) {                                    \
            g_main_context_iteration((mc), TRUE);                       \
        }                                                               \
        g_assert_false(fired_);                                         \
        g_source_destroy(wd_);                                          \
        g_source_unref(wd_);                                            \
    } while (0)

static void test_gsource(void)
{
    AioContext *c = aio_context_new(&error_abort);
    GMainContext *mc = g_main_context_new();
    GSource *src = aio_get_g_source(c);
    unsigned runs = 0;
    QEMUBH *bh = aio_bh_new(c, count_bh, &runs);
    TimerEvent te = { .name = "gtimer" };
    QEMUTimer *t = aio_timer_new(c, timer_event_cb, &te);
    PipeData pd = { 0 };
    ThreadArg ta = { .ctx = c, .delay_us = 20000 };
    GThread *thread;

    events_reset();
    g_source_attach(src, mc);

    /* A BH. */
    qemu_bh_schedule(bh);
    ITERATE_UNTIL(mc, runs == 1);

    /* A timer. */
    te.deadline = qemu_clock_get_ns() + 20 * MS;
    timer_mod_ns(t, te.deadline);
    ITERATE_UNTIL(mc, te.fired_at != 0);
    g_assert_cmpint(te.fired_at, >=, te.deadline);

    /* An fd handler, including one registered after the source exists. */
    pipe_open(&pd);
    aio_set_fd_handler(c, pd.fds[0], pipe_read_cb, NULL, &pd);
    pipe_put(&pd, 'g');
    ITERATE_UNTIL(mc, pd.reads == 1);
    g_assert_cmpint(pd.last, ==, 'g');
    aio_set_fd_handler(c, pd.fds[0], NULL, NULL, NULL);
    pipe_close(&pd);

    /* A BH scheduled by another thread wakes a sleeping GLib loop. */
    ta.bh = bh;
    thread = g_thread_new("gsource-bh", schedule_bh_thread, &ta);
    ITERATE_UNTIL(mc, __atomic_load_n(&runs, __ATOMIC_SEQ_CST) == 2);
    g_thread_join(thread);

    events_assert("gtimer");
    timer_free(t);
    qemu_bh_delete(bh);
    g_source_destroy(src);
    g_source_unref(src);
    aio_context_unref(c);
    g_main_context_unref(mc);
}

int main(int argc, char **argv)
{
    /* Last-resort bound on the whole program (the sanitized run included). */
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    ctx = qemu_get_aio_context();

    g_test_add_func("/aio/bh/order", test_bh_order);
    g_test_add_func("/aio/bh/schedule-twice", test_bh_schedule_twice);
    g_test_add_func("/aio/bh/cancel-delete", test_bh_cancel_delete);
    g_test_add_func("/aio/bh/oneshot", test_bh_oneshot);
    g_test_add_func("/aio/bh/delete-self", test_bh_delete_self);
    g_test_add_func("/aio/bh/reschedule-self", test_bh_reschedule_self);
    g_test_add_func("/aio/bh/schedule-from-bh", test_bh_schedule_from_bh);
    g_test_add_func("/aio/bh/context-unref-pending",
                    test_context_unref_pending);
    g_test_add_func("/aio/timer/order", test_timer_order);
    g_test_add_func("/aio/timer/del-and-rearm", test_timer_del_and_rearm);
    g_test_add_func("/aio/timer/wakes-poll", test_timer_wakes_poll);
    g_test_add_func("/aio/fd/read", test_fd_read);
    g_test_add_func("/aio/fd/write", test_fd_write);
    g_test_add_func("/aio/fd/remove-self", test_fd_remove_self);
    g_test_add_func("/aio/fd/remove-other", test_fd_remove_other);
    g_test_add_func("/aio/thread/bh", test_cross_thread_bh);
    g_test_add_func("/aio/thread/notify", test_cross_thread_notify);
    g_test_add_func("/aio/thread/pingpong", test_cross_thread_pingpong);
    g_test_add_func("/aio/thread/co-schedule",
                    test_co_schedule_cross_thread);
    g_test_add_func("/aio/co-schedule-twice-aborts",
                    test_co_schedule_twice_aborts);
    g_test_add_func("/aio/wait-kick", test_aio_wait_kick);
    g_test_add_func("/aio/run-co-sync", test_run_co_sync);
    g_test_add_func("/aio/gsource", test_gsource);
    return g_test_run();
}
