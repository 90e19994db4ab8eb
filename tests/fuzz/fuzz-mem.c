/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The fuzz-mem driver (see fuzz-mem.h).  Requests arrive from the block
 * core already bounds-checked against nothing but the node's alignment
 * (1), so every callback copes with any offset: reads past the end give
 * zeroes, writes past it grow the buffer.
 */
#include "fuzz-mem.h"

typedef struct FuzzMemState {
    uint8_t *data;
    int64_t size;           /* the node's length */
    int64_t cap;            /* bytes allocated at @data */
} FuzzMemState;

/* Make room for @end bytes (zero-filled past the old size). */
static int fuzz_mem_reserve(FuzzMemState *s, int64_t end)
{
    if (end > FUZZ_MEM_MAX) {
        return -ENOSPC;
    }
    if (end > s->cap) {
        int64_t cap = MAX(end, MIN(2 * s->cap, (int64_t)FUZZ_MEM_MAX));

        s->data = g_realloc(s->data, cap);
        memset(s->data + s->cap, 0, cap - s->cap);
        s->cap = cap;
    }
    return 0;
}

static int fuzz_mem_open_cb(BlockDriverState *bs, BlockOptions *options,
                            int flags, Error **errp)
{
    g_strlcpy(bs->filename, "fuzz-mem", sizeof(bs->filename));
    return 0;
}

static void fuzz_mem_close(BlockDriverState *bs)
{
    FuzzMemState *s = bs->opaque;

    g_free(s->data);
}

static int coroutine_fn fuzz_mem_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    FuzzMemState *s = bs->opaque;
    int64_t avail = MAX(MIN(bytes, s->size - offset), 0);

    qemu_iovec_memset(qiov, 0, 0, bytes);
    if (avail) {
        qemu_iovec_from_buf(qiov, 0, s->data + offset, avail);
    }
    return 0;
}

static int coroutine_fn fuzz_mem_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    FuzzMemState *s = bs->opaque;
    int ret = fuzz_mem_reserve(s, offset + bytes);

    if (ret < 0) {
        return ret;
    }
    qemu_iovec_to_buf(qiov, 0, s->data + offset, bytes);
    s->size = MAX(s->size, offset + bytes);
    return 0;
}

static int coroutine_fn fuzz_mem_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    FuzzMemState *s = bs->opaque;
    int ret = fuzz_mem_reserve(s, offset + bytes);

    if (ret < 0) {
        return ret;
    }
    memset(s->data + offset, 0, bytes);
    s->size = MAX(s->size, offset + bytes);
    return 0;
}

static int coroutine_fn fuzz_mem_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    FuzzMemState *s = bs->opaque;
    int64_t end = MIN(offset + bytes, s->size);

    if (offset < end) {
        memset(s->data + offset, 0, end - offset);
    }
    return 0;
}

static int coroutine_fn fuzz_mem_co_flush(BlockDriverState *bs)
{
    return 0;
}

static int coroutine_fn fuzz_mem_co_truncate(BlockDriverState *bs,
                                             int64_t offset, bool exact,
                                             PreallocMode prealloc,
                                             BdrvRequestFlags flags,
                                             Error **errp)
{
    FuzzMemState *s = bs->opaque;
    int ret = fuzz_mem_reserve(s, offset);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Cannot grow fuzz-mem node");
        return ret;
    }
    if (offset < s->size) {
        memset(s->data + offset, 0, s->size - offset);
    }
    s->size = offset;
    return 0;
}

static int64_t coroutine_fn fuzz_mem_co_getlength(BlockDriverState *bs)
{
    return ((FuzzMemState *)bs->opaque)->size;
}

static const BlockDriver fuzz_mem_driver = {
    .format_name = "fuzz-mem",
    .instance_size = sizeof(FuzzMemState),
    .protocol = true,
    .bdrv_open = fuzz_mem_open_cb,
    .bdrv_close = fuzz_mem_close,
    .bdrv_co_preadv = fuzz_mem_co_preadv,
    .bdrv_co_pwritev = fuzz_mem_co_pwritev,
    .bdrv_co_pwrite_zeroes = fuzz_mem_co_pwrite_zeroes,
    .bdrv_co_pdiscard = fuzz_mem_co_pdiscard,
    .bdrv_co_flush_to_disk = fuzz_mem_co_flush,
    .bdrv_co_truncate = fuzz_mem_co_truncate,
    .bdrv_co_getlength = fuzz_mem_co_getlength,
};

BlockDriverState *fuzz_mem_open(const void *data, size_t len, bool read_only)
{
    g_autoptr(JsonObject) options = qdict_new();
    BlockDriverState *bs;
    FuzzMemState *s;

    assert(len <= FUZZ_MEM_MAX);
    qdict_put_bool(options, "read-only", read_only);
    bs = bdrv_new_open_driver(&fuzz_mem_driver, options, &error_abort);
    s = bs->opaque;
    fuzz_mem_reserve(s, len);
    if (len) {
        memcpy(s->data, data, len);
    }
    s->size = len;
    bs->total_bytes = len;
    return bs;
}

const uint8_t *fuzz_mem_data(BlockDriverState *bs, int64_t *len)
{
    FuzzMemState *s = bs->opaque;

    *len = s->size;
    return s->data;
}
