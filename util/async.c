/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * AioContext life cycle, bottom halves, timers and the hand-off of
 * coroutines between contexts.
 *
 * Scheduling a BH appends it to the context's FIFO queue (under ctx->lock)
 * unless it is already queued, then calls aio_notify().  aio_bh_poll() runs
 * only the BHs that were queued when it started, so a BH that reschedules
 * itself runs once per poll.
 */
#include "util/osdep.h"
#include "util/aio-internal.h"

#include <sys/eventfd.h>

enum {
    BH_SCHEDULED = 1,
    BH_ONESHOT = 2,
};

struct QEMUBH {
    AioContext *ctx;
    QEMUBHFunc *cb;
    void *opaque;
    unsigned flags;        /* protected by ctx->lock */
    uint64_t seq;          /* ctx->bh_seq when queued, under ctx->lock */
    GList link;            /* in ctx->bh_queue while scheduled */
};

static AioContext *main_ctx;
/* Set in the thread that created main_ctx (cheaper than g_thread_self()). */
static __thread bool is_main_thread;
static __thread AioContext *current_ctx;
static int aio_wait_waiters;

static void co_schedule_bh_cb(void *opaque);

AioContext *aio_context_new(Error **errp)
{
    AioContext *ctx;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create an eventfd");
        return NULL;
    }
    ctx = g_new0(AioContext, 1);
    ctx->refcnt = 1;
    g_mutex_init(&ctx->lock);
    g_queue_init(&ctx->bh_queue);
    g_queue_init(&ctx->scheduled_cos);
    ctx->notify_fd = fd;
    aio_handlers_init(ctx);
    ctx->co_schedule_bh = aio_bh_new(ctx, co_schedule_bh_cb, ctx);
    return ctx;
}

void aio_context_ref(AioContext *ctx)
{
    ctx->refcnt++;
}

void aio_context_unref(AioContext *ctx)
{
    QEMUBH *bh;
    GList *link;

    if (--ctx->refcnt > 0) {
        return;
    }
    aio_gsource_destroy(ctx);
    if (ctx->linux_aio) {
        laio_cleanup(ctx->linux_aio);
    }
    if (ctx->io_uring) {
        luring_cleanup(ctx->io_uring);
    }
    qemu_bh_delete(ctx->co_schedule_bh);
    /*
     * Oneshot BHs that never ran are freed without running.  Other BHs
     * belong to their creator, who still has to qemu_bh_delete() them:
     * only unqueue those.  The links are embedded in the BHs, so they are
     * unlinked, never freed as GList nodes.
     */
    while ((link = g_queue_pop_head_link(&ctx->bh_queue))) {
        bh = link->data;
        bh->flags &= ~BH_SCHEDULED;
        if (bh->flags & BH_ONESHOT) {
            g_free(bh);
        }
    }
    assert(g_queue_is_empty(&ctx->scheduled_cos));
    g_list_free(ctx->timers);
    aio_handlers_cleanup(ctx);
    close(ctx->notify_fd);
    g_mutex_clear(&ctx->lock);
    if (ctx == main_ctx) {
        main_ctx = NULL;
        is_main_thread = false;
    }
    g_free(ctx);
}

AioContext *qemu_get_aio_context(void)
{
    if (!main_ctx) {
        main_ctx = aio_context_new(&error_abort);
        is_main_thread = true;
    }
    return main_ctx;
}

AioContext *qemu_get_current_aio_context(void)
{
    if (current_ctx) {
        return current_ctx;
    }
    if (!main_ctx || is_main_thread) {
        return qemu_get_aio_context();
    }
    return NULL;
}

void aio_context_set_current(AioContext *ctx)
{
    current_ctx = ctx;
}

void aio_notify(AioContext *ctx)
{
    uint64_t one = 1;

    /* Pairs with the fence in the poller between notify_me and the check. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ctx->notify_me, __ATOMIC_RELAXED)) {
        if (!__atomic_exchange_n(&ctx->notified, true, __ATOMIC_SEQ_CST)) {
            ssize_t ret = write(ctx->notify_fd, &one, sizeof(one));
            (void)ret;
        }
    }
}

/*
 * The eventfd itself is drained by aio_wait_fds() whenever the poll saw it
 * readable; here only the flag is reset, so that the next aio_notify()
 * writes again.
 */
void aio_notify_accept(AioContext *ctx)
{
    __atomic_store_n(&ctx->notified, false, __ATOMIC_SEQ_CST);
}

/* Bottom halves */

QEMUBH *aio_bh_new(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = g_new0(QEMUBH, 1);

    bh->ctx = ctx;
    bh->cb = cb;
    bh->opaque = opaque;
    bh->link.data = bh;
    return bh;
}

static void bh_enqueue(QEMUBH *bh, unsigned extra_flags)
{
    AioContext *ctx = bh->ctx;
    bool queued = false;

    g_mutex_lock(&ctx->lock);
    bh->flags |= extra_flags;
    if (!(bh->flags & BH_SCHEDULED)) {
        bh->flags |= BH_SCHEDULED;
        bh->seq = ctx->bh_seq++;
        g_queue_push_tail_link(&ctx->bh_queue, &bh->link);
        queued = true;
    }
    g_mutex_unlock(&ctx->lock);
    if (queued) {
        aio_notify(ctx);
    }
}

void qemu_bh_schedule(QEMUBH *bh)
{
    bh_enqueue(bh, 0);
}

void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    bh_enqueue(aio_bh_new(ctx, cb, opaque), BH_ONESHOT);
}

void qemu_bh_cancel(QEMUBH *bh)
{
    AioContext *ctx = bh->ctx;

    g_mutex_lock(&ctx->lock);
    if (bh->flags & BH_SCHEDULED) {
        g_queue_unlink(&ctx->bh_queue, &bh->link);
        bh->flags &= ~BH_SCHEDULED;
    }
    g_mutex_unlock(&ctx->lock);
}

void qemu_bh_delete(QEMUBH *bh)
{
    if (bh) {
        qemu_bh_cancel(bh);
        g_free(bh);
    }
}

bool aio_bh_pending(AioContext *ctx)
{
    bool pending;

    g_mutex_lock(&ctx->lock);
    pending = !g_queue_is_empty(&ctx->bh_queue);
    g_mutex_unlock(&ctx->lock);
    return pending;
}

bool aio_bh_poll(AioContext *ctx)
{
    uint64_t end;
    bool progress = false;

    /*
     * Run the BHs queued before this point, and only those: queue order is
     * seq order, so stop at the first BH stamped @end or later.  (Counting
     * the queue instead would run a rescheduled BH twice when another one
     * is cancelled meanwhile.)
     */
    g_mutex_lock(&ctx->lock);
    end = ctx->bh_seq;
    g_mutex_unlock(&ctx->lock);

    for (;;) {
        QEMUBH *bh = NULL;
        GList *link;
        bool oneshot = false;

        /* bh->link is embedded in the BH: unlink it, never free it. */
        g_mutex_lock(&ctx->lock);
        link = g_queue_peek_head_link(&ctx->bh_queue);
        if (link && ((QEMUBH *)link->data)->seq < end) {
            g_queue_unlink(&ctx->bh_queue, link);
            bh = link->data;
            bh->flags &= ~BH_SCHEDULED;
            oneshot = bh->flags & BH_ONESHOT;
        }
        g_mutex_unlock(&ctx->lock);
        if (!bh) {
            break;
        }
        bh->cb(bh->opaque);
        progress = true;
        if (oneshot) {
            g_free(bh);
        }
    }
    return progress;
}

/* Timers */

int64_t qemu_clock_get_ns(void)
{
    return get_clock_ns();
}

QEMUTimer *aio_timer_new(AioContext *ctx, QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *t = g_new0(QEMUTimer, 1);

    t->ctx = ctx;
    t->cb = cb;
    t->opaque = opaque;
    return t;
}

/*
 * Order for g_list_insert_sorted(), which inserts before the first element
 * that does not compare greater: report "greater" on equal deadlines so a
 * new timer goes after those already armed for the same time.
 */
static gint timer_cmp(gconstpointer a, gconstpointer b)
{
    const QEMUTimer *ta = a, *tb = b;

    return ta->expire_ns < tb->expire_ns ? -1 : 1;
}

void timer_del(QEMUTimer *t)
{
    if (t->pending) {
        t->ctx->timers = g_list_remove(t->ctx->timers, t);
        t->pending = false;
    }
}

void timer_mod_ns(QEMUTimer *t, int64_t expire_ns)
{
    timer_del(t);
    t->expire_ns = expire_ns;
    t->pending = true;
    /* Equal deadlines keep their arming order. */
    t->ctx->timers = g_list_insert_sorted(t->ctx->timers, t, timer_cmp);
    aio_notify(t->ctx);
}

bool timer_pending(QEMUTimer *t)
{
    return t->pending;
}

void timer_free(QEMUTimer *t)
{
    if (t) {
        timer_del(t);
        g_free(t);
    }
}

int64_t aio_timers_deadline(AioContext *ctx)
{
    QEMUTimer *t;
    int64_t delta;

    if (!ctx->timers) {
        return -1;
    }
    t = ctx->timers->data;
    delta = t->expire_ns - qemu_clock_get_ns();
    return delta > 0 ? delta : 0;
}

bool aio_timers_run(AioContext *ctx)
{
    int64_t now = qemu_clock_get_ns();
    bool progress = false;

    while (ctx->timers) {
        QEMUTimer *t = ctx->timers->data;

        if (t->expire_ns > now) {
            break;
        }
        ctx->timers = g_list_delete_link(ctx->timers, ctx->timers);
        t->pending = false;
        t->cb(t->opaque);
        progress = true;
    }
    return progress;
}

/* Coroutine hand-off */

static void co_schedule_bh_cb(void *opaque)
{
    AioContext *ctx = opaque;
    GQueue list = G_QUEUE_INIT;
    Coroutine *co;
    AioContext *old = current_ctx;

    g_mutex_lock(&ctx->lock);
    list = ctx->scheduled_cos;
    g_queue_init(&ctx->scheduled_cos);
    g_mutex_unlock(&ctx->lock);

    current_ctx = ctx;
    while ((co = g_queue_pop_head(&list))) {
        qemu_coroutine_clear_scheduled(co);
        qemu_aio_coroutine_enter(ctx, co);
    }
    current_ctx = old;
}

void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    qemu_coroutine_mark_scheduled(co, __func__);
    g_mutex_lock(&ctx->lock);
    g_queue_push_tail(&ctx->scheduled_cos, co);
    g_mutex_unlock(&ctx->lock);
    qemu_bh_schedule(ctx->co_schedule_bh);
}

void aio_co_enter(AioContext *ctx, Coroutine *co)
{
    if (ctx != qemu_get_current_aio_context()) {
        aio_co_schedule(ctx, co);
        return;
    }
    if (qemu_in_coroutine()) {
        Coroutine *self = qemu_coroutine_self();

        assert(self != co);
        qemu_coroutine_queue_wakeup(self, co);
        return;
    }
    qemu_aio_coroutine_enter(ctx, co);
}

void aio_co_wake(Coroutine *co)
{
    AioContext *ctx = qemu_coroutine_get_aio_context(co);

    aio_co_enter(ctx ? ctx : qemu_get_current_aio_context(), co);
}

/* Waiting for conditions */

static void aio_wait_bh(void *opaque)
{
}

void aio_wait_kick(void)
{
    if (__atomic_load_n(&aio_wait_waiters, __ATOMIC_SEQ_CST) > 0) {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), aio_wait_bh, NULL);
    }
}

void aio_wait_begin(void)
{
    __atomic_fetch_add(&aio_wait_waiters, 1, __ATOMIC_SEQ_CST);
}

void aio_wait_end(void)
{
    __atomic_fetch_sub(&aio_wait_waiters, 1, __ATOMIC_SEQ_CST);
}


void aio_run_co_sync(CoroutineEntry *entry, void *opaque, bool *done)
{
    AioContext *ctx;

    if (qemu_in_coroutine()) {
        entry(opaque);
        return;
    }
    ctx = qemu_get_current_aio_context();
    qemu_aio_coroutine_enter(ctx, qemu_coroutine_create(entry, opaque));
    AIO_WAIT_WHILE(ctx, !*done);
}
