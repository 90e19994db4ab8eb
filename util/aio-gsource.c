/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A GSource wrapping an AioContext, so that an embedding GLib main loop can
 * drive emblock's event loop.  The source polls the context's eventfd and
 * every handler fd; dispatch runs one non-blocking aio_poll().
 */
#include "util/osdep.h"
#include "util/aio-internal.h"

typedef struct AioSource {
    GSource source;
    AioContext *ctx;
    GPollFD notify_pfd;
} AioSource;

static gboolean aio_source_prepare(GSource *source, gint *timeout)
{
    AioContext *ctx = ((AioSource *)source)->ctx;
    int64_t deadline;

    /* Ask aio_notify() to write the eventfd while GLib may sleep. */
    __atomic_fetch_or(&ctx->notify_me, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    deadline = aio_bh_pending(ctx) ? 0 : aio_timers_deadline(ctx);
    if (deadline == 0) {
        /*
         * GLib will not sleep, and skips check() for a source that is ready
         * at prepare(), so drop the request here; left set, it would make
         * every aio_notify() write the eventfd from now on.
         */
        __atomic_fetch_and(&ctx->notify_me, ~1, __ATOMIC_SEQ_CST);
        *timeout = 0;
        return TRUE;
    }
    /* Round up to whole milliseconds, and clamp what does not fit a gint. */
    *timeout = deadline < 0 ? -1 :
               (gint)MIN(DIV_ROUND_UP(deadline, 1000000), G_MAXINT);
    return FALSE;
}

static gboolean aio_source_check(GSource *source)
{
    AioSource *as = (AioSource *)source;
    AioContext *ctx = as->ctx;

    __atomic_fetch_and(&ctx->notify_me, ~1, __ATOMIC_SEQ_CST);
    if (as->notify_pfd.revents || aio_bh_pending(ctx) ||
        aio_timers_deadline(ctx) == 0) {
        return TRUE;
    }
    for (guint i = 0; i < ctx->handlers->len; i++) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);

        if (!h->deleted && (h->pfd.revents & h->pfd.events)) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean aio_source_dispatch(GSource *source, GSourceFunc callback,
                                    gpointer user_data)
{
    AioContext *ctx = ((AioSource *)source)->ctx;

    aio_poll(ctx, false);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs aio_source_funcs = {
    .prepare = aio_source_prepare,
    .check = aio_source_check,
    .dispatch = aio_source_dispatch,
};

GSource *aio_get_g_source(AioContext *ctx)
{
    if (!ctx->source) {
        AioSource *as = (AioSource *)g_source_new(&aio_source_funcs,
                                                  sizeof(AioSource));

        as->ctx = ctx;
        as->notify_pfd.fd = ctx->notify_fd;
        as->notify_pfd.events = G_IO_IN;
        g_source_add_poll(&as->source, &as->notify_pfd);
        for (guint i = 0; i < ctx->handlers->len; i++) {
            AioHandler *h = g_ptr_array_index(ctx->handlers, i);

            if (!h->deleted) {
                g_source_add_poll(&as->source, &h->pfd);
            }
        }
        ctx->source = &as->source;
    }
    return g_source_ref(ctx->source);
}

void aio_gsource_add_handler(AioContext *ctx, AioHandler *h)
{
    if (ctx->source) {
        g_source_add_poll(ctx->source, &h->pfd);
    }
}

void aio_gsource_remove_handler(AioContext *ctx, AioHandler *h)
{
    if (ctx->source) {
        g_source_remove_poll(ctx->source, &h->pfd);
    }
}

void aio_gsource_destroy(AioContext *ctx)
{
    if (ctx->source) {
        g_source_destroy(ctx->source);
        g_source_unref(ctx->source);
        ctx->source = NULL;
    }
}
