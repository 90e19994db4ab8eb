/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The raw format driver: the guest sees the bytes of its `file` child as
 * they are, optionally through a window.
 *
 * Without options raw behaves like a filter: its child has the role
 * FILTERED|PRIMARY, permissions pass straight through, and block status
 * answers RAW so the core asks the child instead.  It stays a format driver
 * all the same (not `is_filter`), because users name it as the format of an
 * image.
 *
 * The `offset` and `size` options select a window [offset, offset + size)
 * of the child, to expose one partition or an image embedded in a bigger
 * file.  With a window the child is DATA|PRIMARY (the parent no longer shows
 * exactly the child's data) and gets the default data-child permissions,
 * plus RESIZE when the window has no fixed size (see raw_child_perm()).
 *   - `offset` alone: the window runs to the end of the child and follows it
 *     when the child grows or shrinks; truncate resizes the child.
 *   - `size`: the window is fixed.  It must be a multiple of 512 bytes (as
 *     in QEMU: the core pads requests up to the request alignment, and a
 *     window ending inside a sector could then leak), must fit in the child
 *     at open, and cannot be resized.  Writes reaching past it fail with
 *     -ENOSPC, reads with -EINVAL; the core's length check normally stops
 *     them earlier, so this is the last line of defence.  If the child
 *     shrinks later, the length reported shrinks with it.
 * `offset` has no alignment requirement: the child pads as it must.
 *
 * Every request is the child's request shifted by `offset`; reads and
 * writes fire the read_aio/write_aio debug events on the child, as QEMU's
 * raw does, so blkdebug rules on those events work under raw.  Flush has no
 * callback: the core flushes the children of a node after the node itself.
 *
 * `x-probed=on` says the format was guessed (bdrv_probe_format(), set by the
 * tools when the user gave none).  As in QEMU, sector 0 of such an image is
 * then protected: a write that would make it probe as another format (a
 * guest writing a qcow2 header, say) fails with -EPERM, and requests are
 * aligned to 512 bytes so that such a write always holds all of sector 0
 * and can be checked.  The checked copy is what gets written.
 *
 * The state is set at open and never changes afterwards, so requests need
 * no lock.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/probe.h"

typedef struct BDRVRawState {
    uint64_t offset;            /* start of the window in the child */
    uint64_t size;              /* window length; valid when has_size */
    bool has_size;              /* a fixed window was asked for */
    bool probed;                /* x-probed: protect sector 0 */
} BDRVRawState;

static const char *const raw_runtime_opts[] = {
    "file",
    "offset",
    "size",
    "x-probed",
    NULL
};

static const char *const raw_create_opts[] = {
    "filename",
    "size",
    "preallocation",
    NULL
};

/* Whether I/O is shifted or bounded, i.e. the child is not FILTERED. */
static bool raw_has_window(BDRVRawState *s)
{
    return s->offset || s->has_size;
}

/* Check the window in @s against the child's current length @child_len. */
static int raw_check_window(BDRVRawState *s, int64_t child_len, Error **errp)
{
    if (s->offset > (uint64_t)child_len) {
        error_setg(errp, "Offset (%" PRIu64 ") cannot be greater than size "
                   "of the containing file (%" PRId64 ")", s->offset,
                   child_len);
        return -EINVAL;
    }
    /*
     * QEMU's wording, including its double space, which scripts matching
     * QEMU's messages may rely on.
     */
    if (s->has_size && s->size > (uint64_t)child_len - s->offset) {
        error_setg(errp, "The sum of offset (%" PRIu64 ") and size (%" PRIu64
                   ") has to be smaller or equal to the  actual size of the "
                   "containing file (%" PRId64 ")", s->offset, s->size,
                   child_len);
        return -EINVAL;
    }
    if (s->has_size && !QEMU_IS_ALIGNED(s->size, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "Specified size is not multiple of %d",
                   BDRV_SECTOR_SIZE);
        return -EINVAL;
    }
    return 0;
}

static int raw_open(BlockDriverState *bs, BlockOptions *options, int flags,
                    Error **errp)
{
    BDRVRawState *s = bs->opaque;
    BlockDriverState *child_bs;
    BdrvChildRole role;
    int64_t child_len;
    int ret;

    /*
     * The window decides the child's role and permissions, so it is known
     * before the child is attached; it is checked once the child is open.
     */
    s->has_size = qdict_haskey(options, "size");
    if (!qdict_get_size_opt(options, "offset", &s->offset, errp) ||
        !qdict_get_size_opt(options, "size", &s->size, errp) ||
        !qdict_get_bool_opt(options, "x-probed", &s->probed, errp)) {
        return -EINVAL;
    }
    if (raw_has_window(s)) {
        role = BDRV_CHILD_DATA | BDRV_CHILD_PRIMARY;
    } else {
        role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY;
    }
    bs->file = bdrv_open_child(bs, options, "file", role, false, errp);
    if (!bs->file) {
        return -EINVAL;
    }
    child_bs = bs->file->bs;

    child_len = bdrv_getlength(child_bs);
    if (child_len < 0) {
        error_setg_errno(errp, -child_len, "Could not get image size");
        ret = child_len;
        goto fail;
    }
    ret = raw_check_window(s, child_len, errp);
    if (ret < 0) {
        goto fail;
    }

    /*
     * Pass on what the child can do natively; WRITE_UNCHANGED only marks
     * the request for permission purposes and needs nothing from anyone.
     */
    bs->supported_write_flags = BDRV_REQ_WRITE_UNCHANGED |
        (child_bs->supported_write_flags & BDRV_REQ_FUA);
    bs->supported_zero_flags = BDRV_REQ_WRITE_UNCHANGED |
        (child_bs->supported_zero_flags &
         (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK));
    return 0;

fail:
    bdrv_unref_child(bs, bs->file);
    bs->file = NULL;
    return ret;
}

/*
 * Turn a request on this node into one on the child: check it against a
 * fixed window and shift it by the window's offset.
 */
static int raw_adjust_offset(BlockDriverState *bs, int64_t *offset,
                             int64_t bytes, bool is_write)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size &&
        ((uint64_t)*offset > s->size ||
         (uint64_t)bytes > s->size - (uint64_t)*offset)) {
        /* Touch nothing outside the window the user gave us. */
        return is_write ? -ENOSPC : -EINVAL;
    }
    if ((uint64_t)*offset > (uint64_t)INT64_MAX - s->offset) {
        return -EINVAL;
    }
    *offset += s->offset;
    return 0;
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    bdrv_debug_event(bs->file, BLKDBG_READ_AIO);
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

/*
 * For a probed image: whether the write may change sector 0 as it would.
 * The core aligned it to 512 bytes (raw_refresh_limits()), so it starts at
 * 0 and covers the sector.  On success *@local holds the checked sector
 * followed by the rest of @qiov, to be written instead; free *@buf after.
 */
static int raw_check_sector0(BlockDriverState *bs, QEMUIOVector *qiov,
                             QEMUIOVector *local, uint8_t **buf)
{
    uint8_t *sector = qemu_blockalign(MAX(bs->bl.opt_mem_alignment, 512),
                                      BDRV_SECTOR_SIZE);

    assert(qiov->size >= BDRV_SECTOR_SIZE);
    qemu_iovec_to_buf(qiov, 0, sector, BDRV_SECTOR_SIZE);
    if (strcmp(bdrv_probe_buf(sector, BDRV_SECTOR_SIZE, NULL),
               bs->drv->format_name)) {
        qemu_vfree(sector);
        return -EPERM;
    }
    qemu_iovec_init(local, qiov->niov + 1);
    qemu_iovec_add(local, sector, BDRV_SECTOR_SIZE);
    qemu_iovec_concat(local, qiov, BDRV_SECTOR_SIZE,
                      qiov->size - BDRV_SECTOR_SIZE);
    *buf = sector;
    return 0;
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVRawState *s = bs->opaque;
    QEMUIOVector local;
    uint8_t *sector = NULL;
    int ret;

    if (s->probed && offset < BDRV_SECTOR_SIZE && bytes) {
        assert(offset == 0 && bytes >= BDRV_SECTOR_SIZE);
        ret = raw_check_sector0(bs, qiov, &local, &sector);
        if (ret < 0) {
            return ret;
        }
        qiov = &local;
    }
    ret = raw_adjust_offset(bs, &offset, bytes, true);
    if (ret == 0) {
        bdrv_debug_event(bs->file, BLKDBG_WRITE_AIO);
        ret = bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
    }
    if (sector) {
        qemu_iovec_destroy(&local);
        qemu_vfree(sector);
    }
    return ret;
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

/*
 * Whatever the child says about the same bytes: the core asks it.  Past the
 * child's end there is nothing to ask: node lengths are rounded up to whole
 * sectors, so a window with an unaligned offset ends up to 511 bytes beyond
 * its child, and those bytes read as zeroes (the child zero-fills reads past
 * its end).  They are reported as ZERO with no mapping, since no byte of
 * the child holds them.  (QEMU 7.2 fails there with "Unexpected end of
 * image".)
 */
static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            unsigned mode, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    int64_t child_len = bs->file->bs->total_bytes;
    int64_t host = offset + s->offset;

    if (host >= child_len) {
        *pnum = bytes;
        return BDRV_BLOCK_ZERO;
    }
    *pnum = MIN(bytes, child_len - host);
    *map = host;
    *file = bs->file->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

/*
 * The child's length minus the offset, capped by a fixed window.  Asked
 * each time so that a child resized behind our back is noticed.  The
 * child's length is already whole sectors and the core rounds ours up
 * again, as QEMU does: a 1 MiB file under offset=1000 gives 1048064 bytes,
 * and after truncating it to 3000 bytes, 2560 (qemu-io 7.2 prints
 * "1023.500 KiB" and "2.500 KiB" for `length`).
 */
static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len = bdrv_co_getlength(bs->file->bs);

    if (len < 0) {
        return len;
    }
    if ((uint64_t)len <= s->offset) {
        return 0;
    }
    len -= s->offset;
    if (s->has_size && (uint64_t)len > s->size) {
        len = s->size;
    }
    return len;
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size) {
        error_setg(errp, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    if ((uint64_t)offset > (uint64_t)INT64_MAX - s->offset) {
        error_setg(errp, "Disk size too large for the chosen offset");
        return -EINVAL;
    }
    return bdrv_co_truncate(bs->file, offset + s->offset, exact, prealloc,
                            flags, errp);
}

static int64_t coroutine_fn raw_co_get_allocated_file_size(
    BlockDriverState *bs)
{
    return bdrv_co_get_allocated_file_size(bs->file->bs);
}

static int coroutine_fn raw_co_get_info(BlockDriverState *bs,
                                        BlockDriverInfo *bdi)
{
    BlockDriverState *child_bs = bs->file->bs;

    if (!child_bs->drv || !child_bs->drv->bdrv_co_get_info) {
        return -ENOTSUP;
    }
    return child_bs->drv->bdrv_co_get_info(child_bs, bdi);
}

/* A probed image is written in whole sectors, so sector 0 can be checked. */
static void raw_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->probed) {
        bs->bl.request_alignment = MAX(bs->bl.request_alignment,
                                       BDRV_SECTOR_SIZE);
    }
}

/*
 * Without a window the child sees exactly what our parents ask for.  With
 * one, the defaults for a data child apply; they never take RESIZE, but a
 * window with no fixed size is resized by resizing the child, so it takes
 * RESIZE whenever a parent of ours does.
 */
static void raw_child_perm(BlockDriverState *bs, BdrvChild *c,
                           BdrvChildRole role, uint64_t perm,
                           uint64_t shared, uint64_t *nperm,
                           uint64_t *nshared)
{
    BDRVRawState *s = bs->opaque;

    if (!raw_has_window(s)) {
        bdrv_filter_child_perm(bs, c, role, perm, shared, nperm, nshared);
        return;
    }
    bdrv_default_child_perm(bs, c, role, perm, shared, nperm, nshared);
    if (!s->has_size) {
        *nperm |= perm & BLK_PERM_RESIZE;
    }
}

/*
 * A raw image is a plain file of the given size: let the file driver make
 * it, from a copy of @opts naming that driver.
 */
static int coroutine_fn raw_co_create_opts(BlockOptions *opts, Error **errp)
{
    const BlockDriver *file_drv = bdrv_find_format("file");
    BlockOptions *file_opts;
    int ret;

    if (!file_drv || !file_drv->bdrv_co_create_opts) {
        error_setg(errp, "The file driver cannot create images");
        return -ENOTSUP;
    }

    file_opts = qdict_clone(opts);
    qdict_put_str(file_opts, "driver", "file");
    ret = file_drv->bdrv_co_create_opts(file_opts, errp);
    qdict_unref(file_opts);
    return ret;
}

const BlockDriver bdrv_raw = {
    .format_name                     = "raw",
    .instance_size                   = sizeof(BDRVRawState),
    .runtime_opts                    = raw_runtime_opts,
    .create_opts                     = raw_create_opts,

    .bdrv_open                       = raw_open,
    .bdrv_refresh_limits             = raw_refresh_limits,
    .bdrv_child_perm                 = raw_child_perm,
    .bdrv_co_preadv                  = raw_co_preadv,
    .bdrv_co_pwritev                 = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes           = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard                = raw_co_pdiscard,
    .bdrv_co_block_status            = raw_co_block_status,
    .bdrv_co_truncate                = raw_co_truncate,
    .bdrv_co_getlength               = raw_co_getlength,
    .bdrv_co_get_allocated_file_size = raw_co_get_allocated_file_size,
    .bdrv_co_get_info                = raw_co_get_info,
    .bdrv_co_create_opts             = raw_co_create_opts,
};
