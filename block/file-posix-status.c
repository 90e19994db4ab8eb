/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: block status.
 *
 * Block status is exact only when asked whether ranges read as zero
 * (BDRV_WANT_ZERO): then SEEK_DATA/SEEK_HOLE find the extent, and the last
 * data extent found is kept in bs->bsc so a sequential walk over it costs
 * no further system call.  The cache only ever answers DATA, which is never
 * wrong: a range that reads as zero may always be reported as data.
 */
#include "block/file-posix.h"

/*
 * Find the extent containing @start.  Returns 0 with *data == start and
 * *hole the end of that data extent, or 0 with *hole == start and *data
 * the start of the next data (start lies in a hole).  -ENXIO means start
 * is in the trailing hole or past end of file; other errors mean nothing
 * is known (no SEEK_DATA support, or the file changed between the two
 * lseek() calls: -EBUSY).
 */
static int file_find_allocation(int fd, int64_t start, int64_t *data,
                                int64_t *hole)
{
    off_t d, h;

    d = lseek(fd, start, SEEK_DATA);
    if (d < 0) {
        return -errno;
    }
    if (d < start) {
        return -EIO;            /* a broken lseek() */
    }
    if (d > start) {
        *hole = start;
        *data = d;
        return 0;
    }
    h = lseek(fd, start, SEEK_HOLE);
    if (h < 0) {
        return -errno;
    }
    if (h <= start) {
        /* A hole appeared at start since SEEK_DATA: unknown. */
        return -EBUSY;
    }
    *data = start;
    *hole = h;
    return 0;
}

int coroutine_fn file_co_block_status(BlockDriverState *bs,
                                      unsigned mode, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map,
                                      BlockDriverState **file)
{
    BDRVFileState *s = bs->opaque;
    int64_t align = bs->bl.request_alignment;
    int64_t data = 0, hole = 0;
    int ret;

    *map = offset;
    *file = bs;

    /* No backing file, so everything is allocated: no need to look. */
    if (!(mode & BDRV_WANT_ZERO)) {
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    if (bs->bsc.valid && offset >= bs->bsc.data_start &&
        offset < bs->bsc.data_end) {
        *pnum = bs->bsc.data_end - offset;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    ret = file_find_allocation(s->fd, offset, &data, &hole);
    if (ret == -ENXIO) {
        /* Trailing hole (or the file is shorter than the node). */
        *pnum = bytes;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    }
    if (ret < 0) {
        /* Nothing known: data is the answer that cannot be wrong. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    if (data == offset) {
        /*
         * Data up to the hole; round up when the extent ends at an
         * unaligned end of file (calling a bit of hole data is harmless).
         */
        *pnum = ROUND_UP(hole - offset, align);
        bs->bsc.valid = true;
        bs->bsc.data_start = offset;
        bs->bsc.data_end = offset + *pnum;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    /*
     * A hole up to the next data.  Round its end down: the unit where data
     * starts is not all zero.  If no whole unit is left, that unit is data.
     */
    *pnum = QEMU_ALIGN_DOWN(data - offset, align);
    if (*pnum == 0) {
        *pnum = align;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
}
