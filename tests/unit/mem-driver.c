/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The test-mem driver (see mem-driver.h).
 */
#include "util/osdep.h"
#include "mem-driver.h"

static const char *const mem_opts[] = {
    "size", "align", "max-transfer", "can-zero", "delay-ns", NULL,
};

static int mem_open_cb(BlockDriverState *bs, BlockOptions *options,
                       int flags, Error **errp)
{
    MemState *s = bs->opaque;
    uint64_t size = 1 << 20, align = 1, max_transfer = 0;
    int64_t delay = 0;
    bool can_zero = true;

    if (!qdict_get_size_opt(options, "size", &size, errp) ||
        !qdict_get_size_opt(options, "align", &align, errp) ||
        !qdict_get_size_opt(options, "max-transfer", &max_transfer, errp) ||
        !qdict_get_bool_opt(options, "can-zero", &can_zero, errp) ||
        !qdict_get_int_opt(options, "delay-ns", &delay, errp)) {
        return -EINVAL;
    }
    s->size = size;
    s->data = g_malloc0(size);
    s->align = align;
    s->max_transfer = max_transfer;
    s->can_zero = can_zero;
    s->delay_ns = delay;
    s->log = g_array_new(FALSE, TRUE, sizeof(MemRequest));
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK;
    g_strlcpy(bs->filename, "test-mem", sizeof(bs->filename));
    return 0;
}

static void mem_close(BlockDriverState *bs)
{
    MemState *s = bs->opaque;

    g_free(s->data);
    g_array_free(s->log, TRUE);
}

static void mem_refresh_limits(BlockDriverState *bs, Error **errp)
{
    MemState *s = bs->opaque;

    bs->bl.request_alignment = s->align;
    bs->bl.max_transfer = s->max_transfer;
}

/* Log the arrival, check the core's promises, maybe sleep. */
static void coroutine_fn mem_enter(BlockDriverState *bs, MemOp op,
                                   int64_t offset, int64_t bytes,
                                   BdrvRequestFlags flags, MemRequest *req)
{
    MemState *s = bs->opaque;

    *req = (MemRequest){ op, offset, bytes, flags, false };
    g_array_append_val(s->log, *req);
    if (op != MEM_FLUSH) {
        g_assert_cmpint(offset % s->align, ==, 0);
        g_assert_true(bytes % s->align == 0 || offset + bytes == s->size);
        g_assert_cmpint(offset + bytes, <=,
                        QEMU_ALIGN_UP(s->size, (int64_t)s->align));
        if (s->max_transfer && (op == MEM_READ || op == MEM_WRITE)) {
            g_assert_cmpint(bytes, <=, s->max_transfer);
        }
    }
    s->in_driver++;
    if (s->delay_ns) {
        qemu_co_sleep_ns(s->delay_ns);
    }
}

static void mem_leave(BlockDriverState *bs, MemRequest *req)
{
    MemState *s = bs->opaque;

    s->in_driver--;
    req->done = true;
    g_array_append_val(s->log, *req);
}

static int coroutine_fn mem_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    MemState *s = bs->opaque;
    MemRequest req;

    mem_enter(bs, MEM_READ, offset, bytes, flags, &req);
    g_assert_cmpint(qiov->size, ==, bytes);
    /* Past the end (up to the alignment) reads as zeroes. */
    qemu_iovec_memset(qiov, 0, 0, bytes);
    qemu_iovec_from_buf(qiov, 0, s->data + offset,
                        MIN(bytes, MAX(s->size - offset, 0)));
    mem_leave(bs, &req);
    return 0;
}

static int coroutine_fn mem_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    MemState *s = bs->opaque;
    MemRequest req;

    mem_enter(bs, MEM_WRITE, offset, bytes, flags, &req);
    g_assert_cmpint(qiov->size, ==, bytes);
    g_assert_cmpint(offset + bytes, <=, s->size);
    qemu_iovec_to_buf(qiov, 0, s->data + offset, bytes);
    mem_leave(bs, &req);
    return 0;
}

static int coroutine_fn mem_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    MemState *s = bs->opaque;
    MemRequest req;

    if (!s->can_zero) {
        return -ENOTSUP;
    }
    mem_enter(bs, MEM_ZERO, offset, bytes, flags, &req);
    memset(s->data + offset, 0, bytes);
    mem_leave(bs, &req);
    return 0;
}

static int coroutine_fn mem_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    MemState *s = bs->opaque;
    MemRequest req;

    mem_enter(bs, MEM_DISCARD, offset, bytes, 0, &req);
    memset(s->data + offset, 0, bytes);
    mem_leave(bs, &req);
    return 0;
}

static int coroutine_fn mem_co_flush(BlockDriverState *bs)
{
    MemRequest req;

    mem_enter(bs, MEM_FLUSH, 0, 0, 0, &req);
    mem_leave(bs, &req);
    return 0;
}

static int64_t coroutine_fn mem_co_getlength(BlockDriverState *bs)
{
    return ((MemState *)bs->opaque)->size;
}

const BlockDriver mem_driver = {
    .format_name = "test-mem",
    .instance_size = sizeof(MemState),
    .protocol = true,
    .runtime_opts = mem_opts,
    .bdrv_open = mem_open_cb,
    .bdrv_close = mem_close,
    .bdrv_refresh_limits = mem_refresh_limits,
    .bdrv_co_preadv = mem_co_preadv,
    .bdrv_co_pwritev = mem_co_pwritev,
    .bdrv_co_pwrite_zeroes = mem_co_pwrite_zeroes,
    .bdrv_co_pdiscard = mem_co_pdiscard,
    .bdrv_co_flush_to_disk = mem_co_flush,
    .bdrv_co_getlength = mem_co_getlength,
};

BlockDriverState *mem_open(const char *opts)
{
    JsonObject *options = qdict_parse(opts, &error_abort);
    BlockDriverState *bs = bdrv_new_open_driver(&mem_driver, options,
                                                &error_abort);

    qdict_unref(options);
    return bs;
}

MemState *mem_state(BlockDriverState *bs)
{
    return bs->opaque;
}

void mem_log_clear(BlockDriverState *bs)
{
    g_array_set_size(mem_state(bs)->log, 0);
}

unsigned mem_log_count(BlockDriverState *bs, MemOp op)
{
    GArray *log = mem_state(bs)->log;
    unsigned n = 0;

    for (guint i = 0; i < log->len; i++) {
        MemRequest *r = &g_array_index(log, MemRequest, i);

        n += r->op == op && !r->done;
    }
    return n;
}
