/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Linux io_uring back end.
 *
 * Request life: luring_co_submit() describes the request in a
 * LuringRequest on the coroutine's stack, queues it and yields.  The
 * queue is turned into submission entries and handed to the kernel by
 * submit_bh (one io_uring_submit() for everything queued in this loop
 * iteration) or at once when LURING_MAX_BATCH requests wait.  At most
 * LURING_ENTRIES requests are in the kernel at a time, so the completion
 * queue (twice that size) never overflows; the rest wait in the queue.
 *
 * The ring posts every completion to an eventfd; its AioContext handler
 * reaps them.  A completion that transferred less than asked is queued
 * again for the remainder, from the front of the queue; -EINTR and
 * -EAGAIN are retried the same way.  Anything else resumes the coroutine
 * with the result.
 */
#include "util/osdep.h"
#include "util/io-uring.h"
#include "util/aio-internal.h"
#include "util/iov.h"
#include "config-host.h"

#ifdef CONFIG_LINUX_IO_URING

#include <liburing.h>
#include <sys/eventfd.h>

#define LURING_ENTRIES 128
#define LURING_MAX_BATCH 32

struct LuringState {
    AioContext *ctx;
    struct io_uring ring;
    int efd;                  /* registered with the ring */
    GQueue pending;           /* LuringRequest * without an SQE yet */
    unsigned queued;          /* SQEs prepared, not yet accepted */
    unsigned in_flight;       /* SQEs prepared, CQE not yet reaped */
    QEMUBH *submit_bh;
};

typedef struct LuringRequest {
    Coroutine *co;
    int fd;
    int type;
    uint64_t offset;
    struct iovec *iov;        /* the caller's vector */
    int niov;
    size_t nbytes;            /* total of @iov */
    size_t done;              /* transferred by earlier completions */
    struct iovec *rest;       /* the untransferred tail of @iov, or NULL */
    int nrest;
    int ret;
    bool completed;
} LuringRequest;

bool luring_available(void)
{
    return true;
}

/* Record @req's result and resume its coroutine if it has yielded. */
static void luring_complete(LuringRequest *req, int ret)
{
    req->ret = ret;
    req->completed = true;
    if (!qemu_coroutine_entered(req->co)) {
        aio_co_wake(req->co);
    }
}

/* Point req->rest at the part of the caller's vector after req->done. */
static void luring_trim_iov(LuringRequest *req)
{
    size_t skip = req->done;
    int i = 0;

    while (skip >= req->iov[i].iov_len) {
        skip -= req->iov[i].iov_len;
        i++;
    }
    g_free(req->rest);
    req->nrest = req->niov - i;
    req->rest = g_memdup2(&req->iov[i], req->nrest * sizeof(struct iovec));
    req->rest[0].iov_base = (char *)req->rest[0].iov_base + skip;
    req->rest[0].iov_len -= skip;
}

static void luring_prep(LuringRequest *req, struct io_uring_sqe *sqe)
{
    struct iovec *iov = req->rest ? req->rest : req->iov;
    int niov = req->rest ? req->nrest : req->niov;
    uint64_t offset = req->offset + req->done;

    switch (req->type) {
    case LURING_READ:
        io_uring_prep_readv(sqe, req->fd, iov, niov, offset);
        break;
    case LURING_WRITE:
        io_uring_prep_writev(sqe, req->fd, iov, niov, offset);
        break;
    case LURING_FSYNC:
        io_uring_prep_fsync(sqe, req->fd, 0);
        break;
    case LURING_FDATASYNC:
        io_uring_prep_fsync(sqe, req->fd, IORING_FSYNC_DATASYNC);
        break;
    default:
        g_assert_not_reached();
    }
    io_uring_sqe_set_data(sqe, req);
}

/*
 * Give the kernel SQEs for as many pending requests as the in-flight
 * limit allows, then submit everything prepared.  When the kernel is
 * busy (-EAGAIN, -EBUSY) the prepared entries stay in the ring and are
 * submitted again after the next completion, or from submit_bh when
 * nothing is in flight to complete.
 */
static void luring_flush(LuringState *s)
{
    int ret;

    while (!g_queue_is_empty(&s->pending) &&
           s->in_flight < LURING_ENTRIES) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

        if (!sqe) {
            break;
        }
        luring_prep(g_queue_pop_head(&s->pending), sqe);
        s->in_flight++;
        s->queued++;
    }
    if (!s->queued) {
        return;
    }
    do {
        ret = io_uring_submit(&s->ring);
    } while (ret == -EINTR);
    if (ret >= 0) {
        s->queued -= MIN((unsigned)ret, s->queued);
        return;
    }
    /*
     * -EAGAIN/-EBUSY: out of kernel resources or completions to reap.
     * Other errors concern the ring, not one request, and are not
     * expected once it is set up; retrying is all that can be done.
     */
    if (s->in_flight == s->queued) {
        qemu_bh_schedule(s->submit_bh);
    }
}

static void luring_submit_bh(void *opaque)
{
    luring_flush(opaque);
}

/* Handle one completion with result @res. */
static void luring_process(LuringState *s, LuringRequest *req, int res)
{
    if (res == -EINTR || res == -EAGAIN) {
        g_queue_push_head(&s->pending, req);
        return;
    }
    if (res < 0 || req->type == LURING_FSYNC ||
        req->type == LURING_FDATASYNC) {
        luring_complete(req, res < 0 ? res : 0);
        return;
    }
    req->done += res;
    if (req->done == req->nbytes) {
        luring_complete(req, 0);
        return;
    }
    if (res == 0) {
        if (req->type == LURING_WRITE) {
            luring_complete(req, -ENOSPC);
            return;
        }
        /* End of file: the rest reads as zero. */
        iov_memset(req->iov, req->niov, req->done, 0,
                   req->nbytes - req->done);
        luring_complete(req, 0);
        return;
    }
    luring_trim_iov(req);
    g_queue_push_head(&s->pending, req);
}

static void luring_completion_cb(void *opaque)
{
    LuringState *s = opaque;
    struct io_uring_cqe *cqe;
    uint64_t val;

    if (read(s->efd, &val, sizeof(val)) < 0 && errno != EAGAIN) {
        return;
    }
    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringRequest *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(&s->ring, cqe);
        s->in_flight--;
        luring_process(s, req, res);
    }
    if (s->queued || !g_queue_is_empty(&s->pending)) {
        luring_flush(s);
    }
}

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  struct iovec *iov, int niov, int type)
{
    LuringRequest req = {
        .co = qemu_coroutine_self(),
        .fd = fd,
        .type = type,
        .offset = offset,
        .iov = iov,
        .niov = niov,
    };

    req.nbytes = iov_size(iov, niov);
    if ((type == LURING_READ || type == LURING_WRITE) && !req.nbytes) {
        return 0;
    }
    g_queue_push_tail(&s->pending, &req);
    if (g_queue_get_length(&s->pending) >= LURING_MAX_BATCH) {
        luring_flush(s);
    } else {
        qemu_bh_schedule(s->submit_bh);
    }
    if (!req.completed) {
        qemu_coroutine_yield();
    }
    assert(req.completed);
    g_free(req.rest);
    return req.ret;
}

LuringState *aio_get_linux_io_uring(AioContext *ctx, Error **errp)
{
    LuringState *s;
    int ret;

    if (ctx->io_uring) {
        return ctx->io_uring;
    }
    s = g_new0(LuringState, 1);
    ret = io_uring_queue_init(LURING_ENTRIES, &s->ring, 0);
    if (ret < 0) {
        /*
         * QEMU's words, and like qemu-io 7.2 without a reason: liburing
         * returns the error instead of setting errno, which QEMU prints,
         * so with the ring refused (kernel.io_uring_disabled=2) qemu-io
         * says just "Unable to use io_uring: failed to init linux io_uring
         * ring".
         */
        error_setg(errp, "failed to init linux io_uring ring");
        g_free(s);
        return NULL;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        error_setg_errno(errp, errno, "Failed to create an eventfd for "
                         "io_uring");
        goto fail_ring;
    }
    ret = io_uring_register_eventfd(&s->ring, s->efd);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to register an eventfd with "
                         "the io_uring ring");
        close(s->efd);
        goto fail_ring;
    }
    s->ctx = ctx;
    g_queue_init(&s->pending);
    s->submit_bh = aio_bh_new(ctx, luring_submit_bh, s);
    aio_set_fd_handler(ctx, s->efd, luring_completion_cb, NULL, s);
    ctx->io_uring = s;
    return s;

fail_ring:
    io_uring_queue_exit(&s->ring);
    g_free(s);
    return NULL;
}

void luring_cleanup(LuringState *s)
{
    assert(s->in_flight == 0 && g_queue_is_empty(&s->pending));
    aio_set_fd_handler(s->ctx, s->efd, NULL, NULL, NULL);
    qemu_bh_delete(s->submit_bh);
    io_uring_queue_exit(&s->ring);
    close(s->efd);
    s->ctx->io_uring = NULL;
    g_free(s);
}

#else /* !CONFIG_LINUX_IO_URING */

bool luring_available(void)
{
    return false;
}

LuringState *aio_get_linux_io_uring(AioContext *ctx, Error **errp)
{
    error_setg(errp, "aio=io_uring is not supported by this build");
    return NULL;
}

void luring_cleanup(LuringState *s)
{
}

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  struct iovec *iov, int niov, int type)
{
    return -ENOTSUP;
}

#endif
