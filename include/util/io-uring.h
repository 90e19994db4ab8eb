/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Linux io_uring back end (through liburing).
 *
 * One LuringState per AioContext, created by aio_get_linux_io_uring(): a
 * ring with 128 submission slots and an eventfd, registered with the ring,
 * whose handler reaps completions.  Requests issued while the loop is busy
 * are batched: they reach the kernel in one io_uring_submit() from a
 * bottom half (or at once when 32 are queued).  The
 * kernel refusing the ring (no io_uring, seccomp, the io_uring_disabled
 * sysctl) is reported as an error so callers can fail or fall back.
 *
 * Threading: a LuringState is used only by the thread running its
 * AioContext.
 */
#ifndef EMBLOCK_UTIL_IO_URING_H
#define EMBLOCK_UTIL_IO_URING_H

#include "util/osdep.h"
#include "util/aio.h"

typedef struct LuringState LuringState;

enum {
    LURING_READ,
    LURING_WRITE,
    LURING_FSYNC,       /* data and metadata */
    LURING_FDATASYNC,   /* data, and only the metadata needed to read it */
};

/* Whether the build includes io_uring support. */
bool luring_available(void);

/*
 * The context's state, created on first use.  NULL with @errp set when the
 * kernel refuses a ring (the message ends with the kernel's reason) or the
 * build lacks liburing.
 */
LuringState *aio_get_linux_io_uring(AioContext *ctx, Error **errp);

/* Free @s (from aio_context_unref()); no request may be in flight. */
void luring_cleanup(LuringState *s);

/*
 * Run one request on @fd and yield until it completes:
 *   LURING_READ / LURING_WRITE transfer @bytes (the total of @iov) at
 *   @offset.  Short transfers are resubmitted for the remainder; a read
 *   that reaches end of file completes the rest with zeroes, a write that
 *   makes no progress fails with -ENOSPC.
 *   LURING_FSYNC / LURING_FDATASYNC ignore @offset and @iov.
 * Returns 0 on success or -errno.  @iov must stay valid (it is not
 * modified) until the call returns.  The caller must run in a coroutine
 * of the AioContext that owns @s.
 */
int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  struct iovec *iov, int niov, int type);

#endif /* EMBLOCK_UTIL_IO_URING_H */
