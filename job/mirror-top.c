/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mirror_top: the filter the mirror job puts above its source.
 *
 * Reads pass through.  Writes, zero writes and discards go to the source
 * and then either mark the job's dirty bitmap (background mode: the job
 * copies them later) or, in write-blocking mode, are copied to the target
 * before they complete, so the job converges however busy the source is.
 * An active write first waits until no job operation owns its granules, and
 * owns them while it runs.
 *
 * Once the job lets go (opaque->job == NULL) the filter is a plain
 * pass-through that takes no permissions on the source.
 */
#include "util/osdep.h"
#include "job/mirror-int.h"

static const char *const mirror_top_opts[] = { "backing", NULL };

static int mirror_top_open(BlockDriverState *bs, BlockOptions *options,
                           int flags, Error **errp)
{
    if (!bdrv_open_child(bs, options, "backing",
                         BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false,
                         errp)) {
        return -EINVAL;
    }
    bs->supported_write_flags = BDRV_REQ_FUA;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK |
                               BDRV_REQ_FUA;
    return 0;
}

static void mirror_top_child_perm(BlockDriverState *bs, BdrvChild *c,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared, uint64_t *nperm,
                                  uint64_t *nshared)
{
    MirrorTopState *mt = bs->opaque;

    if (mt->job && mt->job->stop) {
        *nperm = 0;
        *nshared = BLK_PERM_ALL;
        return;
    }
    if (!mt->job && bs->parents == NULL) {
        /* Being set up: only read, and let the current users go on. */
        *nperm = BLK_PERM_CONSISTENT_READ;
        *nshared = BLK_PERM_ALL;
        return;
    }
    *nperm = (perm & BLK_PERM_ALL) | BLK_PERM_CONSISTENT_READ;
    *nshared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
               BLK_PERM_WRITE_UNCHANGED;
}

static int coroutine_fn mirror_top_preadv(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    return bdrv_co_preadv(bdrv_filter_child(bs), offset, bytes, qiov, flags);
}

/* Write to the source and keep the job informed; see the file comment. */
static int coroutine_fn mirror_top_do_write(BlockDriverState *bs,
                                            MirrorMethod method,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    MirrorTopState *mt = bs->opaque;
    MirrorBlockJob *s = mt->job;
    BdrvChild *child = bdrv_filter_child(bs);
    bool active = s && s->ret == 0 && !job_is_cancelled(&s->common) &&
                  s->dirty && s->opts.copy_mode ==
                  MIRROR_COPY_MODE_WRITE_BLOCKING;
    int ret;

    if (active) {
        mirror_wait_range_free(s, offset, bytes);
        s->active_bytes_in_flight += bytes;
    }
    switch (method) {
    case MIRROR_METHOD_COPY:
        ret = bdrv_co_pwritev(child, offset, bytes, qiov, flags);
        break;
    case MIRROR_METHOD_ZERO:
        ret = bdrv_co_pwrite_zeroes(child, offset, bytes, flags);
        break;
    default:
        ret = bdrv_co_pdiscard(child, offset, bytes);
        break;
    }
    /* The job may have let go while we wrote. */
    s = mt->job;
    if (ret == 0 && s && s->dirty) {
        if (active) {
            ret = mirror_sync_target_write(s, method, offset, bytes, qiov,
                                           flags);
        } else {
            hbitmap_set(s->dirty, offset, bytes);
            s->actively_synced = false;
        }
    }
    if (active && s) {
        s->active_bytes_in_flight -= bytes;
        mirror_range_release(s, offset, bytes);
    }
    return ret;
}

static int coroutine_fn mirror_top_pwritev(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_COPY, offset, bytes, qiov,
                               flags);
}

static int coroutine_fn mirror_top_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 BdrvRequestFlags flags)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_ZERO, offset, bytes, NULL,
                               flags);
}

static int coroutine_fn mirror_top_pdiscard(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_DISCARD, offset, bytes,
                               NULL, 0);
}

static void mirror_top_refresh_limits(BlockDriverState *bs, Error **errp)
{
    /* Inherited from the source; nothing of our own. */
}

const BlockDriver bdrv_mirror_top = {
    .format_name = "mirror_top",
    .instance_size = sizeof(MirrorTopState),
    .is_filter = true,
    .runtime_opts = mirror_top_opts,
    .bdrv_open = mirror_top_open,
    .bdrv_child_perm = mirror_top_child_perm,
    .bdrv_refresh_limits = mirror_top_refresh_limits,
    .bdrv_co_preadv = mirror_top_preadv,
    .bdrv_co_pwritev = mirror_top_pwritev,
    .bdrv_co_pwrite_zeroes = mirror_top_pwrite_zeroes,
    .bdrv_co_pdiscard = mirror_top_pdiscard,
};
