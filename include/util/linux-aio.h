/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Linux native AIO (libaio) back end.
 *
 * One LinuxAioState per AioContext, created by aio_get_linux_aio(): an
 * io_context_t sized for 1024 requests and an eventfd whose handler reaps
 * completions.  Requests submitted while the loop is busy are batched: they
 * go to the kernel in one io_submit() from a bottom half (or at once when 32
 * are queued).  The kernel refusing the context (io_setup failing) is
 * reported as an error so callers can fall back to the thread pool.
 */
#ifndef EMBLOCK_UTIL_LINUX_AIO_H
#define EMBLOCK_UTIL_LINUX_AIO_H

#include "util/osdep.h"
#include "util/aio.h"

typedef struct LinuxAioState LinuxAioState;

enum {
    LAIO_READ,
    LAIO_WRITE,
};

/* Whether the build includes libaio support. */
bool laio_available(void);

/*
 * The context's state, created on first use.  NULL with @errp set when the
 * kernel refuses (or the build lacks libaio).
 */
LinuxAioState *aio_get_linux_aio(AioContext *ctx, Error **errp);

/* Free @s (from aio_context_unref()); no request may be in flight. */
void laio_cleanup(LinuxAioState *s);

/*
 * Read or write @bytes (the total of @iov) at @offset of @fd and yield until
 * the kernel completes it.  Returns 0 on success or -errno.  A short read is
 * completed with zeroes (end of file); a short write is -ENOSPC.  The caller
 * must run in the coroutine context of the AioContext that owns @s.
 */
int coroutine_fn laio_co_submit(LinuxAioState *s, int fd, uint64_t offset,
                                struct iovec *iov, int niov, int type);

#endif /* EMBLOCK_UTIL_LINUX_AIO_H */
