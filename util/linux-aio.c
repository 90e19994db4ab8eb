/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Linux native AIO back end.
 *
 * Request life: laio_co_submit() prepares an iocb on the coroutine's stack,
 * queues it and yields.  The queue goes to the kernel from submit_bh (one
 * io_submit for everything queued in this loop iteration, at most
 * MAX_BATCH per call) or immediately when MAX_BATCH requests wait.  The
 * eventfd handler reaps completions and wakes each coroutine.  When the
 * kernel answers EAGAIN, the rest of the queue waits for completions.
 */
#include "util/osdep.h"
#include "util/linux-aio.h"
#include "util/aio-internal.h"
#include "config-host.h"

#ifdef CONFIG_LINUX_AIO

#include <libaio.h>
#include <sys/eventfd.h>

#define MAX_EVENTS 1024
#define MAX_BATCH 32

struct LinuxAioState {
    AioContext *ctx;
    io_context_t io_ctx;
    int efd;
    GQueue pending;           /* LaioRequest * not yet submitted */
    int in_flight;            /* submitted to the kernel */
    QEMUBH *submit_bh;
    struct io_event events[MAX_EVENTS];
};

typedef struct LaioRequest {
    struct iocb iocb;
    Coroutine *co;
    struct iovec *iov;
    int niov;
    size_t nbytes;
    int type;
    int ret;
    bool done;
} LaioRequest;

bool laio_available(void)
{
    return true;
}

/* Record @req's result and resume its coroutine if it has yielded. */
static void laio_complete(LaioRequest *req, int ret)
{
    req->ret = ret;
    req->done = true;
    if (!qemu_coroutine_entered(req->co)) {
        aio_co_wake(req->co);
    }
}

static int laio_result(LaioRequest *req, long res)
{
    if (res < 0) {
        return (int)res;
    }
    if ((size_t)res == req->nbytes) {
        return 0;
    }
    if (req->type == LAIO_READ) {
        /* Short read: the rest is past end of file and reads as zero. */
        size_t done = res;

        for (int i = 0; i < req->niov; i++) {
            size_t len = req->iov[i].iov_len;

            if (done >= len) {
                done -= len;
                continue;
            }
            memset((char *)req->iov[i].iov_base + done, 0, len - done);
            done = 0;
        }
        return 0;
    }
    return -ENOSPC;
}

static void laio_flush(LinuxAioState *s)
{
    struct iocb *iocbs[MAX_BATCH];

    while (!g_queue_is_empty(&s->pending)) {
        int room = MIN(MAX_BATCH, MAX_EVENTS - s->in_flight);
        int n = 0, ret;

        for (GList *l = s->pending.head; l && n < room; l = l->next) {
            iocbs[n++] = &((LaioRequest *)l->data)->iocb;
        }
        if (n == 0) {
            return;           /* the kernel queue is full: wait */
        }
        ret = io_submit(s->io_ctx, n, iocbs);
        if (ret == -EAGAIN && s->in_flight > 0) {
            return;           /* retried when completions free slots */
        }
        if (ret < 0) {
            /* The first request is the one the kernel refused. */
            laio_complete(g_queue_pop_head(&s->pending), ret);
            continue;
        }
        for (int i = 0; i < ret; i++) {
            g_queue_pop_head(&s->pending);
        }
        s->in_flight += ret;
    }
}

static void laio_submit_bh(void *opaque)
{
    laio_flush(opaque);
}

static void laio_completion_cb(void *opaque)
{
    LinuxAioState *s = opaque;
    struct timespec zero = { 0, 0 };
    uint64_t val;
    int n;

    if (read(s->efd, &val, sizeof(val)) < 0 && errno != EAGAIN) {
        return;
    }
    do {
        n = io_getevents(s->io_ctx, 0, MAX_EVENTS, s->events, &zero);
        for (int i = 0; i < n; i++) {
            LaioRequest *req = container_of(s->events[i].obj, LaioRequest,
                                            iocb);

            s->in_flight--;
            laio_complete(req, laio_result(req, (long)s->events[i].res));
        }
    } while (n == MAX_EVENTS);
    if (!g_queue_is_empty(&s->pending)) {
        laio_flush(s);
    }
}

int coroutine_fn laio_co_submit(LinuxAioState *s, int fd, uint64_t offset,
                                struct iovec *iov, int niov, int type)
{
    LaioRequest req = {
        .co = qemu_coroutine_self(),
        .iov = iov,
        .niov = niov,
        .type = type,
    };

    for (int i = 0; i < niov; i++) {
        req.nbytes += iov[i].iov_len;
    }
    if (type == LAIO_READ) {
        io_prep_preadv(&req.iocb, fd, iov, niov, offset);
    } else {
        io_prep_pwritev(&req.iocb, fd, iov, niov, offset);
    }
    io_set_eventfd(&req.iocb, s->efd);
    g_queue_push_tail(&s->pending, &req);
    if (g_queue_get_length(&s->pending) >= MAX_BATCH) {
        laio_flush(s);
    } else {
        qemu_bh_schedule(s->submit_bh);
    }
    if (!req.done) {
        qemu_coroutine_yield();
    }
    assert(req.done);
    return req.ret;
}

LinuxAioState *aio_get_linux_aio(AioContext *ctx, Error **errp)
{
    LinuxAioState *s;
    int ret;

    if (ctx->linux_aio) {
        return ctx->linux_aio;
    }
    s = g_new0(LinuxAioState, 1);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        error_setg_errno(errp, errno, "Failed to create an eventfd for AIO");
        g_free(s);
        return NULL;
    }
    ret = io_setup(MAX_EVENTS, &s->io_ctx);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to create linux AIO context");
        close(s->efd);
        g_free(s);
        return NULL;
    }
    s->ctx = ctx;
    g_queue_init(&s->pending);
    s->submit_bh = aio_bh_new(ctx, laio_submit_bh, s);
    aio_set_fd_handler(ctx, s->efd, laio_completion_cb, NULL, s);
    ctx->linux_aio = s;
    return s;
}

void laio_cleanup(LinuxAioState *s)
{
    assert(s->in_flight == 0 && g_queue_is_empty(&s->pending));
    aio_set_fd_handler(s->ctx, s->efd, NULL, NULL, NULL);
    qemu_bh_delete(s->submit_bh);
    io_destroy(s->io_ctx);
    close(s->efd);
    s->ctx->linux_aio = NULL;
    g_free(s);
}

#else /* !CONFIG_LINUX_AIO */

bool laio_available(void)
{
    return false;
}

LinuxAioState *aio_get_linux_aio(AioContext *ctx, Error **errp)
{
    error_setg(errp, "aio=native is not supported by this build");
    return NULL;
}

void laio_cleanup(LinuxAioState *s)
{
}

int coroutine_fn laio_co_submit(LinuxAioState *s, int fd, uint64_t offset,
                                struct iovec *iov, int niov, int type)
{
    return -ENOTSUP;
}

#endif
