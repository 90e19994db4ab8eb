/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The null-co protocol driver: a device of a given size that stores nothing.
 *
 * Writes and flushes succeed without doing anything.  Reads leave the
 * caller's buffer as it was, unless `read-zeroes` is set, in which case they
 * fill it with zeroes; block status says the same thing: OFFSET_VALID for
 * every range (the node maps onto itself), plus ZERO with `read-zeroes`,
 * never DATA.  Without ZERO or DATA a range counts as unallocated, which is
 * honest: nothing was ever stored.
 *
 * There is no write-zeroes callback: the core falls back to writing a zero
 * buffer, which lands here and is thrown away like any other write.
 *
 * Options:
 *   size         length of the device (default 1 GiB; k/M/G/T suffixes)
 *   latency-ns   every read, write and flush sleeps this long on a timer of
 *                the node's AioContext before completing (default 0)
 *   read-zeroes  reads return zeroes (default false)
 *   filename     accepted only as "null-co://", for command lines that name
 *                the device by filename
 *
 * This is a test tool first: with `latency-ns` it stands in for a slow
 * device, and without `read-zeroes` it costs no memory bandwidth at all.
 * The state is written once at open and only read afterwards, so requests
 * may run concurrently without a lock.
 */
#include "util/osdep.h"
#include "util/coroutine-lock.h"
#include "block/block-int.h"

#define NULL_DEFAULT_SIZE  (INT64_C(1) << 30)

typedef struct BDRVNullState {
    int64_t length;             /* bytes the device claims to hold */
    int64_t latency_ns;         /* delay of every request, ≥ 0 */
    bool read_zeroes;           /* reads fill the buffer with zeroes */
} BDRVNullState;

static const char *const null_runtime_opts[] = {
    "filename",
    "size",
    "latency-ns",
    "read-zeroes",
    NULL
};

static int null_open(BlockDriverState *bs, BlockOptions *options, int flags,
                     Error **errp)
{
    BDRVNullState *s = bs->opaque;
    const char *filename = qdict_get_str(options, "filename");
    uint64_t size = NULL_DEFAULT_SIZE;
    int64_t latency_ns = 0;
    bool read_zeroes = false;

    if (filename && strcmp(filename, "null-co://") != 0) {
        error_setg(errp, "The only allowed filename for this driver is "
                   "'null-co://'");
        return -EINVAL;
    }
    if (!qdict_get_size_opt(options, "size", &size, errp) ||
        !qdict_get_int_opt(options, "latency-ns", &latency_ns, errp) ||
        !qdict_get_bool_opt(options, "read-zeroes", &read_zeroes, errp)) {
        return -EINVAL;
    }
    if (size > (uint64_t)BDRV_MAX_LENGTH) {
        error_setg(errp, "size must not exceed %" PRId64, BDRV_MAX_LENGTH);
        return -EINVAL;
    }
    if (latency_ns < 0) {
        error_setg(errp, "latency-ns is invalid");
        return -EINVAL;
    }

    s->length = size;
    s->latency_ns = latency_ns;
    s->read_zeroes = read_zeroes;

    /* Nothing is ever cached, so every write is as durable as it gets. */
    bs->supported_write_flags = BDRV_REQ_FUA;
    return 0;
}

/* What every request ends with: the configured delay, then success. */
static int coroutine_fn null_co_complete(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    if (s->latency_ns) {
        qemu_co_sleep_ns(s->latency_ns);
    }
    return 0;
}

static int coroutine_fn null_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVNullState *s = bs->opaque;

    if (s->read_zeroes) {
        qemu_iovec_memset(qiov, 0, 0, bytes);
    }
    return null_co_complete(bs);
}

static int coroutine_fn null_co_pwritev(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    return null_co_complete(bs);
}

static int coroutine_fn null_co_flush_to_disk(BlockDriverState *bs)
{
    return null_co_complete(bs);
}

/*
 * The answer covers the whole request: the device is uniform.  No latency
 * here, as block status is metadata, not I/O.
 */
static int coroutine_fn null_co_block_status(BlockDriverState *bs,
                                             unsigned mode, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file)
{
    BDRVNullState *s = bs->opaque;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    return BDRV_BLOCK_OFFSET_VALID | (s->read_zeroes ? BDRV_BLOCK_ZERO : 0);
}

static int64_t coroutine_fn null_co_getlength(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    return s->length;
}

/* Nothing is stored anywhere. */
static int64_t coroutine_fn null_co_get_allocated_file_size(
    BlockDriverState *bs)
{
    return 0;
}

const BlockDriver bdrv_null_co = {
    .format_name                     = "null-co",
    .instance_size                   = sizeof(BDRVNullState),
    .protocol                        = true,
    .runtime_opts                    = null_runtime_opts,

    .bdrv_open                       = null_open,
    .bdrv_co_preadv                  = null_co_preadv,
    .bdrv_co_pwritev                 = null_co_pwritev,
    .bdrv_co_flush_to_disk           = null_co_flush_to_disk,
    .bdrv_co_block_status            = null_co_block_status,
    .bdrv_co_getlength               = null_co_getlength,
    .bdrv_co_get_allocated_file_size = null_co_get_allocated_file_size,
};
