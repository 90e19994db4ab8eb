/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * File descriptor handlers and aio_poll() on ppoll().
 *
 * Handlers live in ctx->handlers.  Removing one while the list is being
 * walked (a handler removing itself or another) only marks it deleted; the
 * walk that finishes last sweeps the deleted entries.
 */
#include "util/osdep.h"
#include "util/aio-internal.h"

#include <poll.h>

static void aio_handler_free(gpointer p)
{
    g_free(p);
}

void aio_handlers_init(AioContext *ctx)
{
    ctx->handlers = g_ptr_array_new_with_free_func(aio_handler_free);
    ctx->pollfds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
}

void aio_handlers_cleanup(AioContext *ctx)
{
    g_ptr_array_free(ctx->handlers, TRUE);
    g_array_free(ctx->pollfds, TRUE);
}

static AioHandler *find_handler(AioContext *ctx, int fd)
{
    for (guint i = 0; i < ctx->handlers->len; i++) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);

        if (h->pfd.fd == fd && !h->deleted) {
            return h;
        }
    }
    return NULL;
}

static void sweep_handlers(AioContext *ctx)
{
    for (guint i = 0; i < ctx->handlers->len;) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);

        if (h->deleted) {
            g_ptr_array_remove_index(ctx->handlers, i);
        } else {
            i++;
        }
    }
}

void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque)
{
    AioHandler *h = find_handler(ctx, fd);

    if (!io_read && !io_write) {
        if (h) {
            aio_gsource_remove_handler(ctx, h);
            h->deleted = true;
            if (!ctx->walking_handlers) {
                sweep_handlers(ctx);
            }
        }
        return;
    }
    if (!h) {
        h = g_new0(AioHandler, 1);
        h->pfd.fd = fd;
        g_ptr_array_add(ctx->handlers, h);
        aio_gsource_add_handler(ctx, h);
    }
    h->io_read = io_read;
    h->io_write = io_write;
    h->opaque = opaque;
    h->pfd.events = (io_read ? G_IO_IN | G_IO_HUP | G_IO_ERR : 0) |
                    (io_write ? G_IO_OUT | G_IO_ERR : 0);
    aio_notify(ctx);
}

/* Dispatch the handlers whose revents are set; returns whether any ran. */
static bool aio_dispatch_handlers(AioContext *ctx)
{
    bool progress = false;

    ctx->walking_handlers++;
    for (guint i = 0; i < ctx->handlers->len; i++) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);
        int revents = h->pfd.revents & h->pfd.events;

        h->pfd.revents = 0;
        if (h->deleted || !revents) {
            continue;
        }
        if (h->io_read && (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
            h->io_read(h->opaque);
            progress = true;
        }
        if (!h->deleted && h->io_write &&
            (revents & (G_IO_OUT | G_IO_ERR))) {
            h->io_write(h->opaque);
            progress = true;
        }
    }
    if (--ctx->walking_handlers == 0) {
        sweep_handlers(ctx);
    }
    return progress;
}

/*
 * Wait for the fds for at most @timeout_ns (-1: no limit) and store the
 * results in each handler's pfd.revents.
 */
static void aio_wait_fds(AioContext *ctx, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    struct pollfd *fds;
    guint n = 0;
    int ret;

    g_array_set_size(ctx->pollfds, ctx->handlers->len + 1);
    fds = (struct pollfd *)ctx->pollfds->data;
    fds[n++] = (struct pollfd){ .fd = ctx->notify_fd, .events = POLLIN };
    for (guint i = 0; i < ctx->handlers->len; i++) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);

        if (!h->deleted) {
            fds[n++] = (struct pollfd){ .fd = h->pfd.fd,
                                        .events = h->pfd.events };
        }
    }
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000LL;
        ts.tv_nsec = timeout_ns % 1000000000LL;
        tsp = &ts;
    }
    do {
        ret = ppoll(fds, n, tsp, NULL);
    } while (ret < 0 && errno == EINTR);
    if (ret <= 0) {
        return;
    }
    if (fds[0].revents & POLLIN) {
        uint64_t val;
        ssize_t len;

        /*
         * Drain every notification seen, whether or not ctx->notified is
         * still set: aio_notify() sets the flag before it writes, so a
         * write can land after aio_notify_accept() cleared the flag, and
         * an undrained eventfd would make every later poll return at once.
         */
        len = read(ctx->notify_fd, &val, sizeof(val));
        (void)len;
    }
    n = 1;
    for (guint i = 0; i < ctx->handlers->len; i++) {
        AioHandler *h = g_ptr_array_index(ctx->handlers, i);

        if (!h->deleted) {
            h->pfd.revents = fds[n++].revents;
        }
    }
}

bool aio_poll(AioContext *ctx, bool blocking)
{
    bool progress;
    int64_t timeout = 0;
    AioContext *old = qemu_get_current_aio_context();

    aio_context_set_current(ctx);
    if (blocking) {
        __atomic_fetch_add(&ctx->notify_me, 2, __ATOMIC_SEQ_CST);
        /* Pairs with the fence in aio_notify(). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        timeout = aio_bh_pending(ctx) ? 0 : aio_timers_deadline(ctx);
    }

    ctx->walking_handlers++;
    aio_wait_fds(ctx, timeout);
    ctx->walking_handlers--;

    if (blocking) {
        __atomic_fetch_sub(&ctx->notify_me, 2, __ATOMIC_SEQ_CST);
    }
    aio_notify_accept(ctx);

    progress = aio_bh_poll(ctx);
    progress |= aio_dispatch_handlers(ctx);
    progress |= aio_timers_run(ctx);
    aio_context_set_current(old);
    return progress;
}
