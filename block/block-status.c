/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Block status: what each part of a node holds, and where.
 *
 * The promise everything relies on: block status never lies.  A range
 * reported ZERO reads as zeroes; an OFFSET_VALID answer points at the bytes
 * in *file at *map; a range without ALLOCATED reads from the layer below.
 * Answers may be imprecise only in the safe direction (DATA where the bytes
 * happen to be zero, a shorter *pnum).
 *
 * Per node (bdrv_co_do_block_status): clamp to the node's length, align to
 * request_alignment, ask the driver (or answer for it), follow RAW to the
 * named file, add ALLOCATED for DATA/ZERO, ZERO for the unallocated parts
 * of nodes without a backing file, follow RECURSE for precise queries, and
 * add EOF.  Across a chain (bdrv_co_block_status_above): walk filter and
 * backing children down to the base until a layer allocates the range.
 *
 * The mode (BDRV_WANT_*) says what the caller needs, so drivers and this
 * code skip work nobody asked for; several decisions test for exactly
 * BDRV_WANT_PRECISE, as QEMU does.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "util/buffer-zero.h"

/* is_all_zeroes reads a non-zero head extent up to this size. */
#define ALL_ZEROES_MAX_HEAD (128 * 1024)

/* The driver's answer, or the default one for drivers without a callback. */
static int coroutine_fn bdrv_driver_block_status(BlockDriverState *bs,
                                                 unsigned mode,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    BdrvChild *filtered;

    if (bs->drv->bdrv_co_block_status) {
        return bs->drv->bdrv_co_block_status(bs, mode, offset, bytes, pnum,
                                             map, file);
    }
    *pnum = bytes;
    filtered = bdrv_filter_child(bs);
    if (filtered) {
        *map = offset;
        *file = filtered->bs;
        return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
    }
    if (bs->drv->protocol) {
        *map = offset;
        *file = bs;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    return BDRV_BLOCK_DATA;
}

static int coroutine_fn bdrv_co_do_block_status(BlockDriverState *bs,
                                                unsigned mode,
                                                int64_t offset,
                                                int64_t bytes,
                                                int64_t *pnum,
                                                int64_t *map,
                                                BlockDriverState **file)
{
    int64_t total = bs->total_bytes;
    int64_t align = bs->bl.request_alignment;
    int64_t aligned_offset, aligned_bytes, local_map = 0;
    BlockDriverState *local_file = NULL;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (offset >= total) {
        *pnum = 0;
        return BDRV_BLOCK_EOF;
    }
    bytes = MIN(bytes, total - offset);
    if (bytes == 0) {
        *pnum = 0;
        return 0;
    }
    aligned_offset = QEMU_ALIGN_DOWN(offset, align);
    aligned_bytes = MIN(QEMU_ALIGN_UP(offset + bytes, align),
                        QEMU_ALIGN_UP(total, align)) - aligned_offset;

    bdrv_inc_in_flight(bs);
    ret = bdrv_driver_block_status(bs, mode, aligned_offset, aligned_bytes,
                                   pnum, &local_map, &local_file);
    if (ret < 0) {
        *pnum = 0;
        goto out;
    }
    assert(*pnum > 0);
    /* Back to the caller's offset; the answer covers at most the request. */
    *pnum -= offset - aligned_offset;
    if (*pnum <= 0) {
        /* The driver answered less than the unaligned head: retry there. */
        *pnum = MIN(bytes, align - (offset - aligned_offset));
        ret = BDRV_BLOCK_DATA;
        local_file = NULL;
    }
    *pnum = MIN(*pnum, bytes);
    if (ret & BDRV_BLOCK_OFFSET_VALID) {
        local_map += offset - aligned_offset;
    }

    if (ret & BDRV_BLOCK_RAW) {
        assert((ret & BDRV_BLOCK_OFFSET_VALID) && local_file);
        ret = bdrv_co_do_block_status(local_file, mode, local_map, *pnum,
                                      pnum, &local_map, &local_file);
        /* The file's end is not ours (a raw window): EOF is set below. */
        ret = ret < 0 ? ret : ret & ~BDRV_BLOCK_EOF;
        goto out;
    }

    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (bs->drv->supports_backing) {
        BdrvChild *cow = bdrv_cow_child(bs);

        if (!cow) {
            ret |= BDRV_BLOCK_ZERO;
        } else if (mode == BDRV_WANT_PRECISE &&
                   offset >= cow->bs->total_bytes) {
            ret |= BDRV_BLOCK_ZERO;
        }
    }

    if (mode == BDRV_WANT_PRECISE && (ret & BDRV_BLOCK_RECURSE) &&
        local_file && local_file != bs && (ret & BDRV_BLOCK_DATA) &&
        (ret & BDRV_BLOCK_OFFSET_VALID)) {
        int64_t file_pnum;
        int ret2 = bdrv_co_do_block_status(local_file, mode, local_map,
                                           *pnum, &file_pnum, NULL, NULL);

        if (ret2 >= 0) {
            if ((ret2 & BDRV_BLOCK_EOF) &&
                (!file_pnum || (ret2 & BDRV_BLOCK_ZERO))) {
                /* Past the end of the file: reads as zero. */
                ret |= BDRV_BLOCK_ZERO;
            } else {
                *pnum = file_pnum;
                ret |= ret2 & BDRV_BLOCK_ZERO;
            }
        }
    }
    ret &= ~BDRV_BLOCK_RECURSE;

out:
    bdrv_dec_in_flight(bs);
    if (ret >= 0 && offset + *pnum == total) {
        ret |= BDRV_BLOCK_EOF;
    }
    if (ret >= 0 && map) {
        *map = local_map;
    }
    if (ret >= 0 && file) {
        *file = local_file;
    }
    return ret;
}

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, unsigned mode,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file)
{
    return bdrv_co_block_status_above(bs, bdrv_filter_or_cow_bs(bs), false,
                                      mode, offset, bytes, pnum, map, file,
                                      NULL);
}

int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool include_base, unsigned mode,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth)
{
    int64_t top_total = bs->total_bytes;
    int64_t dummy;
    BlockDriverState *p;
    int ret, d = 1;

    pnum = pnum ? pnum : &dummy;
    if (!include_base && bs == base) {
        *pnum = bytes;
        if (depth) {
            *depth = 0;
        }
        return 0;
    }
    ret = bdrv_co_do_block_status(bs, mode, offset, bytes, pnum, map, file);
    if (ret < 0 || *pnum == 0 || (ret & BDRV_BLOCK_ALLOCATED) ||
        bs == base) {
        goto out;
    }
    bytes = *pnum;
    for (p = bs; include_base || bdrv_filter_or_cow_bs(p) != base;) {
        bool cow = bdrv_cow_child(p) != NULL && !bdrv_filter_child(p);

        p = bdrv_filter_or_cow_bs(p);
        if (!p) {
            break;
        }
        d += cow;
        ret = bdrv_co_do_block_status(p, mode, offset, bytes, pnum, map,
                                      file);
        if (ret < 0) {
            goto out;
        }
        if (*pnum == 0) {
            /* A shorter layer: the rest reads as zero, decided here. */
            *pnum = bytes;
            if (file) {
                *file = p;
            }
            ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
            break;
        }
        if (ret & BDRV_BLOCK_ALLOCATED) {
            break;
        }
        bytes = MIN(bytes, *pnum);
        if (p == base) {
            break;
        }
    }
    /* EOF is about the top node only. */
    ret &= ~BDRV_BLOCK_EOF;
    if (offset + *pnum == top_total) {
        ret |= BDRV_BLOCK_EOF;
    }
out:
    if (depth) {
        *depth = ret >= 0 && (ret & BDRV_BLOCK_ALLOCATED) ? d : 0;
    }
    return ret;
}

int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum)
{
    int ret = bdrv_co_block_status_above(bs, bs, true, BDRV_WANT_ALLOCATED,
                                         offset, bytes, pnum, NULL, NULL,
                                         NULL);

    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}

int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            bool include_base, int64_t offset,
                                            int64_t bytes, int64_t *pnum)
{
    int depth;
    int ret = bdrv_co_block_status_above(top, base, include_base,
                                         BDRV_WANT_ALLOCATED, offset, bytes,
                                         pnum, NULL, NULL, &depth);

    if (ret < 0) {
        return ret;
    }
    return (ret & BDRV_BLOCK_ALLOCATED) ? depth : 0;
}

int coroutine_fn bdrv_co_is_zero_fast(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes)
{
    while (bytes > 0) {
        int64_t pnum;
        int ret = bdrv_co_block_status_above(bs, NULL, false, BDRV_WANT_ZERO,
                                             offset, bytes, &pnum, NULL,
                                             NULL, NULL);

        if (ret < 0) {
            return ret;
        }
        if (!(ret & BDRV_BLOCK_ZERO) || pnum == 0) {
            return 0;
        }
        offset += pnum;
        bytes -= pnum;
    }
    return 1;
}

int coroutine_fn bdrv_co_is_all_zeroes(BlockDriverState *bs)
{
    int64_t len = bs->total_bytes;
    int64_t pnum;
    uint8_t *buf;
    int ret;

    if (len == 0) {
        return 1;
    }
    ret = bdrv_co_block_status_above(bs, NULL, false, BDRV_WANT_ZERO, 0, len,
                                     &pnum, NULL, NULL, NULL);
    if (ret < 0) {
        return ret;
    }
    if (ret & BDRV_BLOCK_ZERO) {
        return bdrv_co_is_zero_fast(bs, pnum, len - pnum);
    }
    if (pnum > ALL_ZEROES_MAX_HEAD) {
        return 0;
    }
    ret = bdrv_co_is_zero_fast(bs, pnum, len - pnum);
    if (ret <= 0) {
        return ret;
    }
    /* A small non-zero-looking head, e.g. a raw file's first block. */
    buf = qemu_blockalign(MAX(bs->bl.opt_mem_alignment, 512), pnum);
    ret = bdrv_co_pread_node(bs, 0, pnum, buf, 0);
    if (ret == 0) {
        ret = buffer_is_zero(buf, pnum);
    }
    qemu_vfree(buf);
    return ret;
}

bool bdrv_can_write_zeroes_with_unmap(BlockDriverState *bs)
{
    return (bs->open_flags & BDRV_O_UNMAP) &&
           (bs->supported_zero_flags & BDRV_REQ_MAY_UNMAP);
}

/* Synchronous wrappers */

typedef struct BlockStatusCo {
    BlockDriverState *bs;
    BlockDriverState *base;
    bool include_base;
    unsigned mode;
    int64_t offset;
    int64_t bytes;
    int64_t *pnum;
    int64_t *map;
    BlockDriverState **file;
    int *depth;
    int op;
    int ret;
    bool done;
} BlockStatusCo;

enum { BS_ABOVE, BS_ALLOCATED, BS_ALLOCATED_ABOVE, BS_ALL_ZEROES };

static void coroutine_fn block_status_entry(void *opaque)
{
    BlockStatusCo *s = opaque;

    switch (s->op) {
    case BS_ABOVE:
        s->ret = bdrv_co_block_status_above(s->bs, s->base, s->include_base,
                                            s->mode, s->offset, s->bytes,
                                            s->pnum, s->map, s->file,
                                            s->depth);
        break;
    case BS_ALLOCATED:
        s->ret = bdrv_co_is_allocated(s->bs, s->offset, s->bytes, s->pnum);
        break;
    case BS_ALLOCATED_ABOVE:
        s->ret = bdrv_co_is_allocated_above(s->bs, s->base, s->include_base,
                                            s->offset, s->bytes, s->pnum);
        break;
    case BS_ALL_ZEROES:
        s->ret = bdrv_co_is_all_zeroes(s->bs);
        break;
    }
    s->done = true;
    aio_wait_kick();
}

static int block_status_sync(BlockStatusCo *s)
{
    aio_run_co_sync(block_status_entry, s, &s->done);
    return s->ret;
}

int bdrv_block_status(BlockDriverState *bs, unsigned mode, int64_t offset,
                      int64_t bytes, int64_t *pnum, int64_t *map,
                      BlockDriverState **file)
{
    BlockStatusCo s = { .op = BS_ABOVE, .bs = bs,
                        .base = bdrv_filter_or_cow_bs(bs), .mode = mode,
                        .offset = offset, .bytes = bytes, .pnum = pnum,
                        .map = map, .file = file };
    return block_status_sync(&s);
}

int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            bool include_base, unsigned mode, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file, int *depth)
{
    BlockStatusCo s = { .op = BS_ABOVE, .bs = bs, .base = base,
                        .include_base = include_base, .mode = mode,
                        .offset = offset, .bytes = bytes, .pnum = pnum,
                        .map = map, .file = file, .depth = depth };
    return block_status_sync(&s);
}

int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum)
{
    BlockStatusCo s = { .op = BS_ALLOCATED, .bs = bs, .offset = offset,
                        .bytes = bytes, .pnum = pnum };
    return block_status_sync(&s);
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum)
{
    BlockStatusCo s = { .op = BS_ALLOCATED_ABOVE, .bs = top, .base = base,
                        .include_base = include_base, .offset = offset,
                        .bytes = bytes, .pnum = pnum };
    return block_status_sync(&s);
}

int bdrv_is_all_zeroes(BlockDriverState *bs)
{
    BlockStatusCo s = { .op = BS_ALL_ZEROES, .bs = bs };
    return block_status_sync(&s);
}
