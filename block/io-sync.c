/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Synchronous wrappers for open/close paths and tools.
 *
 * Each wrapper runs the coroutine version of its request (bdrv_co_pread(),
 * bdrv_co_pwrite(), bdrv_co_flush(), bdrv_co_getlength(),
 * bdrv_co_get_allocated_file_size(), bdrv_co_get_info() or the driver's
 * bdrv_co_check) through aio_run_co_sync() and polls until it completes,
 * so there is only one implementation of each request, in io.c.  The
 * wrappers return what the coroutine version returns; their contracts are
 * those of the coroutine versions (block-int.h, block.h).  bdrv_check()
 * zeroes @result first and returns -ENOTSUP when the driver has no
 * check callback.
 */
#include "util/osdep.h"
#include "block/block-int.h"

typedef struct BdrvSyncCo {
    BdrvChild *child;
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    void *buf;
    BdrvRequestFlags flags;
    BlockDriverInfo *bdi;
    BdrvCheckResult *check;
    BdrvCheckMode fix;
    int op;
    int64_t ret;
    bool done;
} BdrvSyncCo;

enum {
    SYNC_READ, SYNC_WRITE, SYNC_FLUSH, SYNC_LENGTH, SYNC_ALLOCATED, SYNC_INFO,
    SYNC_CHECK,
};

static void coroutine_fn bdrv_sync_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    switch (s->op) {
    case SYNC_READ:
        s->ret = bdrv_co_pread(s->child, s->offset, s->bytes, s->buf,
                               s->flags);
        break;
    case SYNC_WRITE:
        s->ret = bdrv_co_pwrite(s->child, s->offset, s->bytes, s->buf,
                                s->flags);
        break;
    case SYNC_FLUSH:
        s->ret = bdrv_co_flush(s->bs);
        break;
    case SYNC_LENGTH:
        s->ret = bdrv_co_getlength(s->bs);
        break;
    case SYNC_ALLOCATED:
        s->ret = bdrv_co_get_allocated_file_size(s->bs);
        break;
    case SYNC_INFO:
        s->ret = bdrv_co_get_info(s->bs, s->bdi);
        break;
    case SYNC_CHECK:
        s->ret = s->bs->drv->bdrv_co_check ?
                 s->bs->drv->bdrv_co_check(s->bs, s->check, s->fix) :
                 -ENOTSUP;
        break;
    }
    s->done = true;
    aio_wait_kick();
}

static int64_t bdrv_sync(BdrvSyncCo *s)
{
    aio_run_co_sync(bdrv_sync_entry, s, &s->done);
    return s->ret;
}

int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags)
{
    BdrvSyncCo s = { .op = SYNC_READ, .child = child, .offset = offset,
                     .bytes = bytes, .buf = buf, .flags = flags };
    return bdrv_sync(&s);
}

int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags)
{
    BdrvSyncCo s = { .op = SYNC_WRITE, .child = child, .offset = offset,
                     .bytes = bytes, .buf = (void *)buf, .flags = flags };
    return bdrv_sync(&s);
}

int bdrv_flush(BlockDriverState *bs)
{
    BdrvSyncCo s = { .op = SYNC_FLUSH, .bs = bs };
    return bdrv_sync(&s);
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    BdrvSyncCo s = { .op = SYNC_LENGTH, .bs = bs };
    return bdrv_sync(&s);
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    BdrvSyncCo s = { .op = SYNC_ALLOCATED, .bs = bs };
    return bdrv_sync(&s);
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BdrvSyncCo s = { .op = SYNC_INFO, .bs = bs, .bdi = bdi };
    return bdrv_sync(&s);
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *result,
               BdrvCheckMode fix)
{
    BdrvSyncCo s = { .op = SYNC_CHECK, .bs = bs, .check = result,
                     .fix = fix };
    memset(result, 0, sizeof(*result));
    return bdrv_sync(&s);
}
