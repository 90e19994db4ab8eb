/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * BlockBackend: a user's handle owning the root edge of a graph.
 *
 * Requests are bounds-checked here (so a tool's out-of-range request gets
 * -EIO rather than reaching a driver) and counted in blk->in_flight, which a
 * drain of the root node waits for.  While the root is drained, new requests
 * wait in queued_requests unless queuing is disabled.
 */
#include "util/osdep.h"
#include "block/block-int.h"

struct BlockBackend {
    char *name;
    BdrvChild *root;
    uint64_t perm;
    uint64_t shared_perm;
    unsigned in_flight;
    int quiesce_counter;
    bool disable_request_queuing;
    CoQueue queued_requests;
};

static char *blk_root_get_parent_desc(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    if (blk->name) {
        return g_strdup_printf("block device '%s'", blk->name);
    }
    return g_strdup("an unnamed block backend");
}

static void blk_root_drained_begin(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    blk->quiesce_counter++;
}

static void blk_root_drained_end(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    assert(blk->quiesce_counter > 0);
    if (--blk->quiesce_counter == 0) {
        qemu_co_queue_restart_all(&blk->queued_requests);
    }
}

static bool blk_root_drained_poll(BdrvChild *c)
{
    BlockBackend *blk = c->opaque;

    return __atomic_load_n(&blk->in_flight, __ATOMIC_SEQ_CST) > 0;
}

static const BdrvChildClass child_root = {
    .get_parent_desc = blk_root_get_parent_desc,
    .drained_begin = blk_root_drained_begin,
    .drained_end = blk_root_drained_end,
    .drained_poll = blk_root_drained_poll,
};

BlockBackend *blk_new(uint64_t perm, uint64_t shared_perm)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);

    blk->perm = perm;
    blk->shared_perm = shared_perm;
    qemu_co_queue_init(&blk->queued_requests);
    return blk;
}

int blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, Error **errp)
{
    assert(!blk->root);
    blk->root = bdrv_root_attach_child(bs, "root", &child_root,
                                       BDRV_CHILD_FILTERED |
                                       BDRV_CHILD_PRIMARY,
                                       blk->perm, blk->shared_perm, blk,
                                       errp);
    return blk->root ? 0 : -EPERM;
}

void blk_remove_bs(BlockBackend *blk)
{
    if (blk->root) {
        BdrvChild *root = blk->root;

        bdrv_drained_begin(root->bs);
        blk->root = NULL;
        /* Undo our view of the drain before the edge goes. */
        bdrv_drained_end(root->bs);
        bdrv_root_unref_child(root);
    }
}

BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared_perm, Error **errp)
{
    BlockBackend *blk = blk_new(perm, shared_perm);

    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           BlockOptions *extra, bool writable, Error **errp)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_ALL;
    JsonObject *options = extra ? qdict_clone(extra) : qdict_new();

    if (writable) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    } else if (!qdict_haskey(options, "read-only")) {
        qdict_put_str(options, "read-only", "on");
    }
    bs = bdrv_open_image(filename, fmt, options, errp);
    qdict_unref(options);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, perm, shared, errp);
    bdrv_unref(bs);
    return blk;
}

void blk_unref(BlockBackend *blk)
{
    if (!blk) {
        return;
    }
    blk_remove_bs(blk);
    qemu_co_queue_destroy(&blk->queued_requests);
    g_free(blk->name);
    g_free(blk);
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->root ? blk->root->bs : NULL;
}

void blk_set_name(BlockBackend *blk, const char *name)
{
    g_free(blk->name);
    blk->name = g_strdup(name);
}

const char *blk_name(BlockBackend *blk)
{
    return blk->name ? blk->name : "";
}

void blk_set_disable_request_queuing(BlockBackend *blk, bool disable)
{
    blk->disable_request_queuing = disable;
}

int blk_set_perm(BlockBackend *blk, uint64_t perm, uint64_t shared_perm,
                 Error **errp)
{
    if (blk->root) {
        int ret = bdrv_child_try_set_perm(blk->root, perm, shared_perm,
                                          errp);
        if (ret < 0) {
            return ret;
        }
    }
    blk->perm = perm;
    blk->shared_perm = shared_perm;
    return 0;
}

/* Requests */

static void coroutine_fn blk_wait_while_drained(BlockBackend *blk)
{
    while (blk->quiesce_counter && !blk->disable_request_queuing) {
        qemu_co_queue_wait(&blk->queued_requests, NULL);
    }
}

/* Start a request: wait out drains, check the range, count it. */
static int coroutine_fn blk_co_begin(BlockBackend *blk, int64_t offset,
                                     int64_t bytes, bool check_length)
{
    BlockDriverState *bs;

    blk_wait_while_drained(blk);
    bs = blk_bs(blk);
    if (!bs) {
        return -ENOMEDIUM;
    }
    if (offset < 0 || bytes < 0 || offset > BDRV_MAX_LENGTH - bytes) {
        return -EIO;
    }
    if (check_length) {
        if (bytes > BDRV_REQUEST_MAX_BYTES ||
            offset > bs->total_bytes - bytes) {
            return -EIO;
        }
    }
    __atomic_fetch_add(&blk->in_flight, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void blk_co_end(BlockBackend *blk)
{
    __atomic_fetch_sub(&blk->in_flight, 1, __ATOMIC_SEQ_CST);
    aio_wait_kick();
}

int64_t coroutine_fn blk_co_getlength(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);

    return bs ? bdrv_co_getlength(bs) : -ENOMEDIUM;
}

int64_t blk_getlength(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);

    return bs ? bdrv_getlength(bs) : -ENOMEDIUM;
}

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags)
{
    int ret = blk_co_begin(blk, offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_preadv(blk->root, offset, bytes, qiov, flags);
    blk_co_end(blk);
    return ret;
}

int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    int ret = blk_co_begin(blk, offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_pwritev(blk->root, offset, bytes, qiov, flags);
    blk_co_end(blk);
    return ret;
}

int coroutine_fn blk_co_pread(BlockBackend *blk, int64_t offset,
                              int64_t bytes, void *buf,
                              BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return blk_co_preadv(blk, offset, bytes, &qiov, flags);
}

int coroutine_fn blk_co_pwrite(BlockBackend *blk, int64_t offset,
                               int64_t bytes, const void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return blk_co_pwritev(blk, offset, bytes, &qiov, flags);
}

int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags)
{
    int ret = blk_co_begin(blk, offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    if (offset > blk_bs(blk)->total_bytes - bytes) {
        ret = -EIO;
    } else {
        ret = bdrv_co_pwrite_zeroes(blk->root, offset, bytes, flags);
    }
    blk_co_end(blk);
    return ret;
}

int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes)
{
    int ret = blk_co_begin(blk, offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    if (offset > blk_bs(blk)->total_bytes - bytes) {
        ret = -EIO;
    } else {
        ret = bdrv_co_pdiscard(blk->root, offset, bytes);
    }
    blk_co_end(blk);
    return ret;
}

int coroutine_fn blk_co_flush(BlockBackend *blk)
{
    int ret = blk_co_begin(blk, 0, 0, false);

    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(blk_bs(blk));
    blk_co_end(blk);
    return ret;
}

int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp)
{
    int ret;

    if (!blk_bs(blk)) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    ret = blk_co_begin(blk, 0, 0, false);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Cannot resize");
        return ret;
    }
    ret = bdrv_co_truncate(blk->root, offset, exact, prealloc, flags, errp);
    blk_co_end(blk);
    return ret;
}

/* Synchronous wrappers: one coroutine per call, polled to completion. */

typedef enum BlkOp {
    BLK_OP_READ, BLK_OP_WRITE, BLK_OP_ZEROES, BLK_OP_DISCARD, BLK_OP_FLUSH,
    BLK_OP_TRUNCATE,
} BlkOp;

typedef struct BlkRwCo {
    BlkOp op;
    BlockBackend *blk;
    int64_t offset;
    int64_t bytes;
    void *buf;
    BdrvRequestFlags flags;
    bool exact;
    PreallocMode prealloc;
    Error **errp;
    int ret;
    bool done;
} BlkRwCo;

static void coroutine_fn blk_rw_co_entry(void *opaque)
{
    BlkRwCo *rw = opaque;

    switch (rw->op) {
    case BLK_OP_READ:
        rw->ret = blk_co_pread(rw->blk, rw->offset, rw->bytes, rw->buf,
                               rw->flags);
        break;
    case BLK_OP_WRITE:
        rw->ret = blk_co_pwrite(rw->blk, rw->offset, rw->bytes, rw->buf,
                                rw->flags);
        break;
    case BLK_OP_ZEROES:
        rw->ret = blk_co_pwrite_zeroes(rw->blk, rw->offset, rw->bytes,
                                       rw->flags);
        break;
    case BLK_OP_DISCARD:
        rw->ret = blk_co_pdiscard(rw->blk, rw->offset, rw->bytes);
        break;
    case BLK_OP_FLUSH:
        rw->ret = blk_co_flush(rw->blk);
        break;
    case BLK_OP_TRUNCATE:
        rw->ret = blk_co_truncate(rw->blk, rw->offset, rw->exact,
                                  rw->prealloc, rw->flags, rw->errp);
        break;
    }
    rw->done = true;
    aio_wait_kick();
}

static int blk_rw_sync(BlkRwCo *rw)
{
    aio_run_co_sync(blk_rw_co_entry, rw, &rw->done);
    return rw->ret;
}

int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags)
{
    BlkRwCo rw = { .op = BLK_OP_READ, .blk = blk, .offset = offset,
                   .bytes = bytes, .buf = buf, .flags = flags };
    return blk_rw_sync(&rw);
}

int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags)
{
    BlkRwCo rw = { .op = BLK_OP_WRITE, .blk = blk, .offset = offset,
                   .bytes = bytes, .buf = (void *)buf, .flags = flags };
    return blk_rw_sync(&rw);
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags)
{
    BlkRwCo rw = { .op = BLK_OP_ZEROES, .blk = blk, .offset = offset,
                   .bytes = bytes, .flags = flags };
    return blk_rw_sync(&rw);
}

int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    BlkRwCo rw = { .op = BLK_OP_DISCARD, .blk = blk, .offset = offset,
                   .bytes = bytes };
    return blk_rw_sync(&rw);
}

int blk_flush(BlockBackend *blk)
{
    BlkRwCo rw = { .op = BLK_OP_FLUSH, .blk = blk };
    return blk_rw_sync(&rw);
}

int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags, Error **errp)
{
    BlkRwCo rw = { .op = BLK_OP_TRUNCATE, .blk = blk, .offset = offset,
                   .exact = exact, .prealloc = prealloc, .flags = flags,
                   .errp = errp };
    return blk_rw_sync(&rw);
}
