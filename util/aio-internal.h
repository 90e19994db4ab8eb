/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * AioContext internals shared by async.c (BHs, timers, coroutine hand-off),
 * aio-posix.c (fd handlers and polling) and aio-gsource.c (GLib source).
 */
#ifndef EMBLOCK_UTIL_AIO_INTERNAL_H
#define EMBLOCK_UTIL_AIO_INTERNAL_H

#include "util/aio.h"
#include "util/linux-aio.h"
#include "util/io-uring.h"

typedef struct AioHandler {
    GPollFD pfd;          /* also registered with the GSource */
    IOHandler *io_read;
    IOHandler *io_write;
    void *opaque;
    bool deleted;         /* removed while handlers were being walked */
} AioHandler;

struct AioContext {
    int refcnt;

    /* Protects bh_queue, scheduled_cos and the BH flags. */
    GMutex lock;
    GQueue bh_queue;              /* scheduled QEMUBHs, in schedule order */
    GQueue scheduled_cos;         /* coroutines for co_schedule_bh */
    uint64_t bh_seq;              /* stamp of the next queued BH */
    QEMUBH *co_schedule_bh;

    /*
     * Non-zero while a thread is about to sleep in (or is sleeping in) a
     * poll of this context: only then does aio_notify() write the eventfd.
     */
    int notify_me;
    bool notified;
    int notify_fd;                /* eventfd, drained by aio_wait_fds() */

    /* Only touched by the polling thread. */
    GPtrArray *handlers;          /* AioHandler * */
    int walking_handlers;
    GArray *pollfds;              /* scratch array for ppoll */
    GList *timers;                /* armed QEMUTimers, by deadline */

    GSource *source;              /* lazily created, see aio-gsource.c */
    LinuxAioState *linux_aio;     /* lazily created, see linux-aio.c */
    LuringState *io_uring;        /* lazily created, see io-uring.c */
};

struct QEMUTimer {
    AioContext *ctx;
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire_ns;
    bool pending;
};

/* async.c */
bool aio_bh_poll(AioContext *ctx);
bool aio_bh_pending(AioContext *ctx);
bool aio_timers_run(AioContext *ctx);
/* Nanoseconds until the next timer, 0 if one is due, -1 if none. */
int64_t aio_timers_deadline(AioContext *ctx);
void aio_notify_accept(AioContext *ctx);

/* aio-posix.c */
void aio_handlers_init(AioContext *ctx);
void aio_handlers_cleanup(AioContext *ctx);

/* aio-gsource.c */
void aio_gsource_add_handler(AioContext *ctx, AioHandler *h);
void aio_gsource_remove_handler(AioContext *ctx, AioHandler *h);
void aio_gsource_destroy(AioContext *ctx);

#endif /* EMBLOCK_UTIL_AIO_INTERNAL_H */
