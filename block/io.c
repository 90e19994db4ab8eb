/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The request path: every read, write, zero write, discard, flush and
 * truncate of a node passes through here before reaching its driver.
 *
 * What this file guarantees to drivers is listed in block-int.h.  What it
 * does on the way:
 *   - checks the range and the node's state (-EIO, -EPERM, -ENOMEDIUM);
 *   - counts the request in bs->in_flight (drain waits for zero);
 *   - pads unaligned requests to bl.request_alignment: reads read the wider
 *     range, writes become serialising read-modify-write;
 *   - tracks every request so that overlapping ones wait for serialising
 *     ones (padded writes), in FIFO order per blocking request;
 *   - zero-fills reads past the end of the node without asking the driver;
 *   - splits at bl.max_transfer / max_pwrite_zeroes / max_pdiscard;
 *   - turns zero-filled writes into zero writes (detect-zeroes), drops
 *     MAY_UNMAP and discards without discard=unmap, falls back to writing
 *     a zero buffer when a driver cannot zero, emulates FUA with a flush;
 *   - after a write: bumps write_gen, grows total_bytes, marks dirty
 *     bitmaps, invalidates the block-status cache.
 *
 * Node lengths are kept as QEMU keeps them, in whole 512-byte sectors
 * (QEMU's total_sectors): a driver's length is rounded up, so a 1000-byte
 * file is a 1024-byte node whose last 24 bytes read as zeroes (file-posix
 * zero-fills short reads) and may be written, which makes the file longer.
 * A write ending past the length grows it to the next sector boundary of
 * the (padded) request, whatever made it longer: with a request alignment
 * larger than 512 a padded write can grow the node, as in QEMU.
 * Checked against QEMU 7.2: a 1000-byte raw file has qemu-io `length`
 * 1 KiB and qemu-img info "virtual size: 1 KiB (1024 bytes)"; the file
 * node of a 196616-byte qcow2 is 197120 bytes (qemu-img info -f raw,
 * query-named-block-nodes), so emblock-img prints that as "file length".
 */
#include "util/osdep.h"
#include "block/block-int.h"

/* Largest zero buffer the write-zeroes fallback writes at once. */
#define MAX_ZERO_BOUNCE (16 * 1024 * 1024)

void bdrv_inc_in_flight(BlockDriverState *bs)
{
    __atomic_fetch_add(&bs->in_flight, 1, __ATOMIC_SEQ_CST);
}

void bdrv_dec_in_flight(BlockDriverState *bs)
{
    __atomic_fetch_sub(&bs->in_flight, 1, __ATOMIC_SEQ_CST);
    aio_wait_kick();
}

const char *const blkdebug_event_names[BLKDBG_EVENT_MAX] = {
    [BLKDBG_L1_UPDATE] = "l1_update",
    [BLKDBG_L2_LOAD] = "l2_load",
    [BLKDBG_L2_UPDATE] = "l2_update",
    [BLKDBG_L2_ALLOC_WRITE] = "l2_alloc_write",
    [BLKDBG_REFBLOCK_LOAD] = "refblock_load",
    [BLKDBG_REFBLOCK_UPDATE] = "refblock_update",
    [BLKDBG_REFBLOCK_UPDATE_PART] = "refblock_update_part",
    [BLKDBG_REFBLOCK_ALLOC] = "refblock_alloc",
    [BLKDBG_REFBLOCK_ALLOC_WRITE] = "refblock_alloc_write",
    [BLKDBG_REFTABLE_GROW] = "reftable_grow",
    [BLKDBG_CLUSTER_ALLOC] = "cluster_alloc",
    [BLKDBG_CLUSTER_ALLOC_BYTES] = "cluster_alloc_bytes",
    [BLKDBG_COW_READ] = "cow_read",
    [BLKDBG_COW_WRITE] = "cow_write",
    [BLKDBG_READ_AIO] = "read_aio",
    [BLKDBG_WRITE_AIO] = "write_aio",
    [BLKDBG_FLUSH_TO_DISK] = "flush_to_disk",
};

void bdrv_debug_event(BdrvChild *child, BlkdebugEvent event)
{
    if (child && child->bs->drv && child->bs->drv->bdrv_debug_event) {
        child->bs->drv->bdrv_debug_event(child->bs, event);
    }
}

void bdrv_get_metadata_stats(BlockDriverState *bs, BdrvMetadataStats *st)
{
    *st = bs->metadata_stats;
}

void bdrv_bsc_invalidate(BlockDriverState *bs)
{
    bs->bsc.valid = false;
}

static int bdrv_check_request(int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0 || offset > BDRV_MAX_LENGTH - bytes) {
        return -EIO;
    }
    return 0;
}

/* Tracked requests */

static void tracked_request_begin(BdrvTrackedRequest *req,
                                  BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, bool is_write,
                                  bool serialising)
{
    *req = (BdrvTrackedRequest) {
        .bs = bs,
        .offset = offset,
        .bytes = bytes,
        .is_write = is_write,
        .serialising = serialising,
        .overlap_offset = offset,
        .overlap_bytes = bytes,
        .co = qemu_coroutine_self(),
    };
    qemu_co_queue_init(&req->wait_queue);
    bs->tracked_requests = g_list_prepend(bs->tracked_requests, req);
    if (serialising) {
        bs->serialising_in_flight++;
    }
}

static void tracked_request_end(BdrvTrackedRequest *req)
{
    BlockDriverState *bs = req->bs;

    if (req->serialising) {
        bs->serialising_in_flight--;
    }
    bs->tracked_requests = g_list_remove(bs->tracked_requests, req);
    qemu_co_queue_restart_all(&req->wait_queue);
    qemu_co_queue_destroy(&req->wait_queue);
}

static bool tracked_request_overlaps(BdrvTrackedRequest *a,
                                     BdrvTrackedRequest *b)
{
    return a->overlap_offset < b->overlap_offset + b->overlap_bytes &&
           b->overlap_offset < a->overlap_offset + a->overlap_bytes;
}

/*
 * Wait until no overlapping request is in flight where either side is
 * serialising.  A request already waiting for @req is skipped, so two
 * requests never wait for each other.  Returns -EBUSY with NO_WAIT.
 */
static int coroutine_fn wait_serialising_requests(BdrvTrackedRequest *req,
                                                  bool no_wait)
{
    BlockDriverState *bs = req->bs;
    bool retry;

    if (!bs->serialising_in_flight) {
        return 0;
    }
    do {
        retry = false;
        for (GList *l = bs->tracked_requests; l; l = l->next) {
            BdrvTrackedRequest *r = l->data;

            if (r == req || (!req->serialising && !r->serialising) ||
                !tracked_request_overlaps(req, r) || r->waiting_for) {
                continue;
            }
            assert(r->co != req->co);
            if (no_wait) {
                return -EBUSY;
            }
            req->waiting_for = r;
            qemu_co_queue_wait(&r->wait_queue, NULL);
            req->waiting_for = NULL;
            retry = true;
            break;
        }
    } while (retry);
    return 0;
}

/* Widen a request's overlap to @align and make it serialising. */
static void tracked_request_set_serialising(BdrvTrackedRequest *req,
                                            uint64_t align)
{
    int64_t start = QEMU_ALIGN_DOWN(req->offset, (int64_t)align);
    int64_t end = QEMU_ALIGN_UP(req->offset + req->bytes, (int64_t)align);

    if (!req->serialising) {
        req->serialising = true;
        req->bs->serialising_in_flight++;
    }
    req->overlap_offset = MIN(req->overlap_offset, start);
    req->overlap_bytes = MAX(req->overlap_offset + req->overlap_bytes, end) -
                         req->overlap_offset;
}

/* Driver calls */

static int coroutine_fn bdrv_driver_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           size_t qiov_offset,
                                           BdrvRequestFlags flags)
{
    QEMUIOVector local;
    int ret;

    if (!bs->drv->bdrv_co_preadv) {
        return -ENOTSUP;
    }
    if (qiov_offset == 0 && (int64_t)qiov->size == bytes) {
        return bs->drv->bdrv_co_preadv(bs, offset, bytes, qiov, flags);
    }
    qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
    ret = bs->drv->bdrv_co_preadv(bs, offset, bytes, &local, flags);
    qemu_iovec_destroy(&local);
    return ret;
}

/* Flush the driver's own data now (FUA emulation), whatever the gens. */
static int coroutine_fn bdrv_co_flush_driver(BlockDriverState *bs)
{
    if ((bs->open_flags & BDRV_O_NO_FLUSH) ||
        !bs->drv->bdrv_co_flush_to_disk) {
        return 0;
    }
    return bs->drv->bdrv_co_flush_to_disk(bs);
}

/*
 * FUA emulation: flush this node's driver and everything below that it
 * writes to, so the data just written is stable.
 */
static int coroutine_fn bdrv_co_flush_fua(BlockDriverState *bs)
{
    int ret = bdrv_co_flush_driver(bs);

    for (GList *l = bs->children; l && ret == 0; l = l->next) {
        BdrvChild *c = l->data;

        if (c->perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)) {
            ret = bdrv_co_flush(c->bs);
        }
    }
    return ret;
}


static int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset,
                                            BdrvRequestFlags flags)
{
    BdrvRequestFlags emulate_fua = flags & BDRV_REQ_FUA &
                                   ~bs->supported_write_flags;
    QEMUIOVector local;
    int ret;

    if (!bs->drv->bdrv_co_pwritev) {
        return -ENOTSUP;
    }
    flags &= bs->supported_write_flags;
    if (qiov_offset == 0 && (int64_t)qiov->size == bytes) {
        ret = bs->drv->bdrv_co_pwritev(bs, offset, bytes, qiov, flags);
    } else {
        qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
        ret = bs->drv->bdrv_co_pwritev(bs, offset, bytes, &local, flags);
        qemu_iovec_destroy(&local);
    }
    if (ret == 0 && emulate_fua) {
        ret = bdrv_co_flush_fua(bs);
    }
    return ret;
}

static int64_t max_transfer_aligned(BlockDriverState *bs)
{
    int64_t max = bs->bl.max_transfer ? bs->bl.max_transfer :
                                        BDRV_REQUEST_MAX_BYTES;

    max = MIN(max, BDRV_REQUEST_MAX_BYTES);
    return MAX(QEMU_ALIGN_DOWN(max, (int64_t)bs->bl.request_alignment),
               (int64_t)bs->bl.request_alignment);
}

/*
 * Read an aligned range: the part inside the node from the driver in
 * max_transfer pieces, the part past the end as zeroes.
 */
static int coroutine_fn bdrv_aligned_preadv(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset,
                                            BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t in_node = QEMU_ALIGN_UP(MAX(bs->total_bytes - offset, 0), align);
    int64_t max = max_transfer_aligned(bs);
    int64_t done = 0;

    in_node = MIN(in_node, bytes);
    while (done < in_node) {
        int64_t num = MIN(in_node - done, max);
        int ret = bdrv_driver_preadv(bs, offset + done, num, qiov,
                                     qiov_offset + done, flags);
        if (ret < 0) {
            return ret;
        }
        done += num;
    }
    if (done < bytes) {
        qemu_iovec_memset(qiov, qiov_offset + done, 0, bytes - done);
    }
    return 0;
}

/* Padding of unaligned requests */

typedef struct BdrvPad {
    uint8_t *buf;            /* one or two alignment units */
    int64_t buf_len;
    int64_t head;            /* bytes before the request in the first unit */
    int64_t tail;            /* bytes after the request in the last unit */
    bool merged;             /* head and tail in the same unit */
    QEMUIOVector qiov;       /* [head pad][caller's data][tail pad] */
} BdrvPad;

/*
 * Compute the padding of [offset, offset + bytes) and build the widened
 * vector.  Returns false (nothing allocated) when the request is aligned.
 */
static bool bdrv_pad_init(BlockDriverState *bs, int64_t *offset,
                          int64_t *bytes, QEMUIOVector *qiov,
                          size_t qiov_offset, BdrvPad *pad)
{
    int64_t align = bs->bl.request_alignment;
    int64_t end = *offset + *bytes;

    memset(pad, 0, sizeof(*pad));
    pad->head = *offset % align;
    pad->tail = end % align ? align - end % align : 0;
    if (!pad->head && !pad->tail) {
        return false;
    }
    pad->merged = QEMU_ALIGN_DOWN(*offset, align) ==
                  QEMU_ALIGN_DOWN(end - 1, align) || *bytes == 0;
    pad->buf_len = pad->merged ? align : 2 * align;
    pad->buf = qemu_blockalign(MAX(bs->bl.opt_mem_alignment, 512),
                               pad->buf_len);
    qemu_iovec_init(&pad->qiov, 4);
    if (pad->head) {
        qemu_iovec_add(&pad->qiov, pad->buf, pad->head);
    }
    if (*bytes) {
        qemu_iovec_concat(&pad->qiov, qiov, qiov_offset, *bytes);
    }
    if (pad->tail) {
        uint8_t *tail_unit = pad->merged ? pad->buf : pad->buf + align;

        qemu_iovec_add(&pad->qiov, tail_unit + align - pad->tail, pad->tail);
    }
    *offset -= pad->head;
    *bytes += pad->head + pad->tail;
    return true;
}

static void bdrv_pad_destroy(BdrvPad *pad)
{
    qemu_iovec_destroy(&pad->qiov);
    qemu_vfree(pad->buf);
}

/*
 * For a padded write: read the head and tail units (already widened
 * offset/bytes) into the pad buffer.
 */
static int coroutine_fn bdrv_pad_read(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, BdrvPad *pad)
{
    int64_t align = bs->bl.request_alignment;
    QEMUIOVector unit;
    int ret = 0;

    if (pad->merged) {
        qemu_iovec_init_buf(&unit, pad->buf, align);
        return bdrv_aligned_preadv(bs, offset, align, &unit, 0, 0);
    }
    if (pad->head) {
        qemu_iovec_init_buf(&unit, pad->buf, align);
        ret = bdrv_aligned_preadv(bs, offset, align, &unit, 0, 0);
    }
    if (ret == 0 && pad->tail) {
        qemu_iovec_init_buf(&unit, pad->buf + align, align);
        ret = bdrv_aligned_preadv(bs, offset + bytes - align, align, &unit,
                                  0, 0);
    }
    return ret;
}

/* Reads */

static int coroutine_fn bdrv_co_preadv_bs(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    BdrvTrackedRequest req;
    BdrvPad pad;
    bool padded;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0 || bytes > BDRV_REQUEST_MAX_BYTES) {
        return -EIO;
    }
    if (bytes == 0 && offset % bs->bl.request_alignment) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    padded = bdrv_pad_init(bs, &offset, &bytes, qiov, 0, &pad);
    tracked_request_begin(&req, bs, offset, bytes, false, false);
    ret = wait_serialising_requests(&req, flags & BDRV_REQ_NO_WAIT);
    if (ret == 0) {
        ret = bdrv_aligned_preadv(bs, offset, bytes,
                                  padded ? &pad.qiov : qiov, 0,
                                  flags & ~BDRV_REQ_NO_WAIT);
    }
    tracked_request_end(&req);
    if (padded) {
        bdrv_pad_destroy(&pad);
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    return bdrv_co_preadv_bs(child->bs, offset, bytes, qiov, flags);
}

int coroutine_fn bdrv_co_pread_node(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, void *buf,
                                    BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv_bs(bs, offset, bytes, &qiov, flags);
}

int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv(child, offset, bytes, &qiov, flags);
}

/* Writes */

/* Book-keeping after a successful write or zero write of the range. */
static void bdrv_write_done(BlockDriverState *bs, int64_t offset,
                            int64_t bytes)
{
    bs->write_gen++;
    if (offset + bytes > bs->total_bytes) {
        bs->total_bytes = QEMU_ALIGN_UP(offset + bytes, BDRV_SECTOR_SIZE);
    }
    bdrv_bsc_invalidate(bs);
    bdrv_set_dirty(bs, offset, bytes);
}

/* Write zeroes from a zero buffer, for drivers that cannot zero. */
static int coroutine_fn bdrv_write_zero_buffer(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    int64_t chunk = MIN(max_transfer_aligned(bs), MAX_ZERO_BOUNCE);
    size_t buf_len = MIN(chunk, bytes);
    void *buf = qemu_blockalign(MAX(bs->bl.opt_mem_alignment, 512), buf_len);
    QEMUIOVector qiov;
    int ret = 0;

    memset(buf, 0, buf_len);
    flags &= ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_MAY_UNMAP |
               BDRV_REQ_NO_FALLBACK);
    while (bytes > 0 && ret == 0) {
        int64_t num = MIN(bytes, (int64_t)buf_len);

        qemu_iovec_init_buf(&qiov, buf, num);
        ret = bdrv_driver_pwritev(bs, offset, num, &qiov, 0, flags);
        offset += num;
        bytes -= num;
    }
    qemu_vfree(buf);
    return ret;
}

/*
 * Zero an aligned range: cut it at the zero alignment (head piece, body
 * in max_pwrite_zeroes chunks, tail piece) and call the driver for each,
 * falling back to a zero buffer on -ENOTSUP unless NO_FALLBACK.
 */
static int coroutine_fn bdrv_do_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags)
{
    const BlockDriver *drv = bs->drv;
    int64_t align = MAX(bs->bl.pwrite_zeroes_alignment,
                        (int64_t)bs->bl.request_alignment);
    int64_t max = bs->bl.max_pwrite_zeroes ?
                  MAX(QEMU_ALIGN_DOWN(bs->bl.max_pwrite_zeroes, align),
                      align) : INT64_MAX;
    BdrvRequestFlags emulate_fua = flags & BDRV_REQ_FUA &
                                   ~bs->supported_zero_flags;
    int ret = 0;

    bdrv_bsc_invalidate(bs);
    while (bytes > 0 && ret == 0) {
        int64_t num = bytes;

        if (offset % align) {
            num = MIN(num, align - offset % align);
        } else if (num > align) {
            num = MIN(QEMU_ALIGN_DOWN(num, align), max);
        }
        ret = -ENOTSUP;
        if (drv->bdrv_co_pwrite_zeroes) {
            ret = drv->bdrv_co_pwrite_zeroes(bs, offset, num,
                                             flags & bs->supported_zero_flags);
        }
        if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK)) {
            ret = bdrv_write_zero_buffer(bs, offset, num, flags);
        }
        offset += num;
        bytes -= num;
    }
    if (ret == 0 && emulate_fua) {
        ret = bdrv_co_flush_driver(bs);
    }
    return ret;
}

/*
 * Write an aligned range with a tracked request already in place:
 * detect-zeroes, then a zero write or data pieces of max_transfer.
 */
static int coroutine_fn bdrv_aligned_pwritev(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             QEMUIOVector *qiov,
                                             size_t qiov_offset,
                                             BdrvRequestFlags flags)
{
    int64_t max = max_transfer_aligned(bs);
    int64_t done = 0;
    int ret = 0;

    if (bs->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OFF &&
        !(flags & BDRV_REQ_ZERO_WRITE) && bs->drv->bdrv_co_pwrite_zeroes &&
        qemu_iovec_is_zero(qiov, qiov_offset, bytes)) {
        flags |= BDRV_REQ_ZERO_WRITE;
        if (bs->detect_zeroes == BLOCKDEV_DETECT_ZEROES_UNMAP &&
            (bs->open_flags & BDRV_O_UNMAP)) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        ret = bdrv_do_pwrite_zeroes(bs, offset, bytes, flags);
    } else {
        while (done < bytes && ret == 0) {
            int64_t num = MIN(bytes - done, max);

            ret = bdrv_driver_pwritev(bs, offset + done, num, qiov,
                                      qiov_offset + done, flags);
            done += num;
        }
    }
    if (ret == 0) {
        bdrv_write_done(bs, offset, bytes);
    }
    return ret;
}

/* Checks shared by writes and zero writes. */
static int bdrv_check_write(BdrvChild *child, int64_t offset, int64_t bytes)
{
    BlockDriverState *bs = child->bs;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    assert(child->perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED));
    return bdrv_check_request(offset, bytes);
}

int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    BdrvPad pad;
    bool padded;
    int ret;

    if (flags & BDRV_REQ_ZERO_WRITE) {
        return bdrv_co_pwrite_zeroes(child, offset, bytes, flags);
    }
    ret = bdrv_check_write(child, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes > BDRV_REQUEST_MAX_BYTES) {
        return -EIO;
    }
    if (bytes == 0 && offset % bs->bl.request_alignment) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    padded = bdrv_pad_init(bs, &offset, &bytes, qiov, 0, &pad);
    tracked_request_begin(&req, bs, offset, bytes, true, false);
    if (padded) {
        tracked_request_set_serialising(&req, bs->bl.request_alignment);
    }
    ret = wait_serialising_requests(&req, flags & BDRV_REQ_NO_WAIT);
    flags &= ~BDRV_REQ_NO_WAIT;
    if (ret == 0 && padded) {
        ret = bdrv_pad_read(bs, offset, bytes, &pad);
    }
    if (ret == 0) {
        ret = bdrv_aligned_pwritev(bs, offset, bytes,
                                   padded ? &pad.qiov : qiov, 0, flags);
    }
    tracked_request_end(&req);
    if (padded) {
        bdrv_pad_destroy(&pad);
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return bdrv_co_pwritev(child, offset, bytes, &qiov, flags);
}

/*
 * Write one unaligned unit partially as zeroes: read it, zero the part,
 * write it back as data.  The caller holds a serialising request.
 */
static int coroutine_fn bdrv_zero_partial_unit(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t unit = QEMU_ALIGN_DOWN(offset, align);
    uint8_t *buf = qemu_blockalign(MAX(bs->bl.opt_mem_alignment, 512), align);
    QEMUIOVector qiov;
    int ret;

    qemu_iovec_init_buf(&qiov, buf, align);
    ret = bdrv_aligned_preadv(bs, unit, align, &qiov, 0, 0);
    if (ret == 0) {
        memset(buf + (offset - unit), 0, bytes);
        flags &= ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_MAY_UNMAP |
                   BDRV_REQ_NO_FALLBACK);
        ret = bdrv_aligned_pwritev(bs, unit, align, &qiov, 0, flags);
    }
    qemu_vfree(buf);
    return ret;
}

int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    int64_t align = bs->bl.request_alignment;
    int64_t head, tail_start, end = offset + bytes;
    BdrvTrackedRequest req;
    int ret;

    ret = bdrv_check_write(child, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    flags |= BDRV_REQ_ZERO_WRITE;
    if ((flags & BDRV_REQ_NO_FALLBACK) &&
        !(bs->supported_zero_flags & BDRV_REQ_NO_FALLBACK)) {
        return -ENOTSUP;
    }
    if (!(bs->open_flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    if (bytes == 0) {
        return 0;
    }
    head = offset % align;
    tail_start = QEMU_ALIGN_DOWN(end, align);
    if ((flags & BDRV_REQ_NO_FALLBACK) && (head || end % align)) {
        return -ENOTSUP;
    }

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, true, false);
    if (head || end % align) {
        tracked_request_set_serialising(&req, align);
    }
    ret = wait_serialising_requests(&req, flags & BDRV_REQ_NO_WAIT);
    flags &= ~BDRV_REQ_NO_WAIT;
    if (ret == 0 && head) {
        int64_t num = MIN(bytes, align - head);

        ret = bdrv_zero_partial_unit(bs, offset, num, flags);
        offset += num;
        bytes -= num;
    }
    if (ret == 0 && bytes > 0 && offset < tail_start) {
        int64_t num = tail_start - offset;

        ret = bdrv_do_pwrite_zeroes(bs, offset, num, flags);
        if (ret == 0) {
            bdrv_write_done(bs, offset, num);
        }
        offset += num;
        bytes -= num;
    }
    if (ret == 0 && bytes > 0) {
        ret = bdrv_zero_partial_unit(bs, offset, bytes, flags);
    }
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

/* Discard */

int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes)
{
    BlockDriverState *bs = child->bs;
    int64_t req_align = bs->bl.request_alignment;
    int64_t align = MAX(bs->bl.pdiscard_alignment, req_align);
    int64_t max = bs->bl.max_pdiscard ?
                  MAX(QEMU_ALIGN_DOWN(bs->bl.max_pdiscard, align), align) :
                  INT64_MAX;
    int64_t start, end;
    BdrvTrackedRequest req;
    int ret;

    ret = bdrv_check_write(child, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    /* Discard is advisory: without discard=unmap it does nothing. */
    if (!(bs->open_flags & BDRV_O_UNMAP) || !bs->drv->bdrv_co_pdiscard) {
        return 0;
    }
    /* Parts smaller than the request alignment cannot be passed down. */
    start = QEMU_ALIGN_UP(offset, req_align);
    end = offset + bytes == bs->total_bytes ? offset + bytes :
          QEMU_ALIGN_DOWN(offset + bytes, req_align);
    if (start >= end) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    bdrv_bsc_invalidate(bs);
    tracked_request_begin(&req, bs, start, end - start, true, false);
    ret = wait_serialising_requests(&req, false);
    for (offset = start; ret == 0 && offset < end;) {
        int64_t num = end - offset;

        if (offset % align) {
            num = MIN(num, align - offset % align);
        } else if (num > align) {
            num = MIN(QEMU_ALIGN_DOWN(num, align), max);
        }
        ret = bs->drv->bdrv_co_pdiscard(bs, offset, num);
        if (ret == -ENOTSUP || ret == -EINVAL) {
            ret = 0;
        }
        offset += num;
    }
    if (ret == 0) {
        bs->write_gen++;
        bdrv_set_dirty(bs, start, end - start);
    }
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

/* Flush */

static int coroutine_fn bdrv_co_flush_internal(BlockDriverState *bs)
{
    uint64_t gen;
    int ret = 0;

    qemu_co_mutex_lock(&bs->flush_lock);
    gen = bs->write_gen;
    if (bs->flushed_gen != gen && !bs->read_only) {
        ret = bdrv_co_flush_driver(bs);
    }
    if (ret == 0) {
        bs->flushed_gen = gen;
    }
    qemu_co_mutex_unlock(&bs->flush_lock);
    return ret;
}

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    int ret;

    if (!bs || !bs->drv) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    ret = bdrv_co_flush_internal(bs);
    /* Then everything below that we may have written to. */
    for (GList *l = bs->children; l && ret == 0; l = l->next) {
        BdrvChild *c = l->data;

        if (c->perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)) {
            ret = bdrv_co_flush(c->bs);
        }
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

/* Length and truncate */

int coroutine_fn bdrv_co_refresh_total_bytes(BlockDriverState *bs)
{
    BdrvChild *filtered = bdrv_filter_child(bs);
    int64_t len;

    if (bs->drv->bdrv_co_getlength) {
        len = bs->drv->bdrv_co_getlength(bs);
    } else if (filtered) {
        len = filtered->bs->total_bytes;
    } else if (bs->file) {
        len = bs->file->bs->total_bytes;
    } else {
        len = -ENOMEDIUM;
    }
    if (len < 0) {
        return len;
    }
    if (len > INT64_MAX - (BDRV_SECTOR_SIZE - 1)) {
        return -EFBIG;
    }
    bs->total_bytes = QEMU_ALIGN_UP(len, BDRV_SECTOR_SIZE);
    return 0;
}

int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs)
{
    return bs->drv ? bs->total_bytes : -ENOMEDIUM;
}

int64_t coroutine_fn bdrv_co_get_allocated_file_size(BlockDriverState *bs)
{
    if (bs->drv->bdrv_co_get_allocated_file_size) {
        return bs->drv->bdrv_co_get_allocated_file_size(bs);
    }
    if (bs->file) {
        return bdrv_co_get_allocated_file_size(bs->file->bs);
    }
    return -ENOTSUP;
}

int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp)
{
    BlockDriverState *bs = child->bs;
    BdrvChild *filtered = bdrv_filter_child(bs);
    int64_t old_size = bs->total_bytes;
    BdrvTrackedRequest req;
    int ret;

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (offset < 0 || offset > BDRV_MAX_LENGTH) {
        error_setg(errp, "Image size cannot be negative or exceed the "
                   "maximum length");
        return -EINVAL;
    }
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    assert(child->perm & BLK_PERM_RESIZE);
    bdrv_inc_in_flight(bs);
    /* Serialise against everything in the area that appears or goes. */
    tracked_request_begin(&req, bs, MIN(offset, old_size),
                          BDRV_MAX_LENGTH - MIN(offset, old_size), true,
                          true);
    ret = wait_serialising_requests(&req, false);
    if (ret == 0) {
        if (bs->drv->bdrv_co_truncate) {
            ret = bs->drv->bdrv_co_truncate(bs, offset, exact, prealloc,
                                            flags, errp);
        } else if (filtered) {
            ret = bdrv_co_truncate(filtered, offset, exact, prealloc, flags,
                                   errp);
        } else {
            error_setg(errp, "Image format driver does not support resize");
            ret = -ENOTSUP;
        }
    }
    if (ret == 0) {
        ret = bdrv_co_refresh_total_bytes(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not refresh total size");
        } else {
            bs->write_gen++;
            bdrv_bsc_invalidate(bs);
            if (offset > old_size) {
                bdrv_set_dirty(bs, old_size, offset - old_size);
            }
        }
    }
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BdrvChild *filtered = bdrv_filter_child(bs);

    memset(bdi, 0, sizeof(*bdi));
    if (bs->drv->bdrv_co_get_info) {
        return bs->drv->bdrv_co_get_info(bs, bdi);
    }
    if (filtered) {
        return bdrv_co_get_info(filtered->bs, bdi);
    }
    return -ENOTSUP;
}
