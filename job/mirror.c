/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job.
 *
 * Setup inserts the mirror_top filter above the source (so every write to
 * the source passes through it and is marked dirty or, in write-blocking
 * mode, copied synchronously) and opens a BlockBackend on the target.
 *
 * The job then (1) decides what the target already holds: the zero bitmap
 * starts full when the target reads as all zeroes and zero writes would
 * not punch holes anyway, and may be established by pre-zeroing the target
 * with unmapping zero writes; (2) marks dirty what the source allocates;
 * (3) loops: each iteration takes a run of dirty granules, clears them,
 * asks the source's block status and starts COPY, ZERO or DISCARD
 * operations (at most 16 in flight, at most buf-size bytes of copies).  A
 * ZERO operation over granules all set in the zero bitmap is skipped (it
 * still counts as progress, as in QEMU, but not against the speed limit
 * nor in the zero_ops statistics); a completed zero write sets the bits;
 * any data written to the target clears them first.  So a cluster that changes back
 * and forth is never wrongly skipped, and the target is never probed.
 * (4) When nothing is dirty or in flight the first time, the target is
 * flushed and the job goes READY.  On complete (or soft cancel) it drains
 * the source, rechecks, flushes and ends; prepare then pivots the source's
 * users onto the target.
 *
 * Everything here runs in the main AioContext: the job coroutine, the
 * operation coroutines and the filter's write coroutines interleave only at
 * yields, so the bitmaps need no lock.
 */
#include "util/osdep.h"
#include "job/mirror-int.h"

static const JobDriver mirror_job_driver;

void mirror_options_init(MirrorOptions *opts)
{
    *opts = (MirrorOptions) {
        .sync = MIRROR_SYNC_MODE_FULL,
        .on_source_error = BLOCKDEV_ON_ERROR_REPORT,
        .on_target_error = BLOCKDEV_ON_ERROR_REPORT,
        .copy_mode = MIRROR_COPY_MODE_BACKGROUND,
        .auto_finalize = true,
        .auto_dismiss = true,
    };
}

bool mirror_get_stats(Job *job, MirrorStats *stats)
{
    if (job->driver != &mirror_job_driver) {
        return false;
    }
    *stats = ((MirrorBlockJob *)job)->stats;
    return true;
}

/* Granule-aligned outer bounds of a byte range, clipped to the length. */
static void mirror_round_out(MirrorBlockJob *s, int64_t *offset,
                             int64_t *bytes)
{
    int64_t start = QEMU_ALIGN_DOWN(*offset, s->granularity);
    int64_t end = MIN(QEMU_ALIGN_UP(*offset + *bytes, s->granularity),
                      s->length);

    *offset = start;
    *bytes = end - start;
}

static bool mirror_range_busy(MirrorBlockJob *s, int64_t offset,
                              int64_t bytes)
{
    return bytes > 0 && hbitmap_next_dirty(s->in_flight, offset, bytes) >= 0;
}

/* Wait until the granules of the range are owned by nobody, then own them. */
void coroutine_fn mirror_wait_range_free(MirrorBlockJob *s, int64_t offset,
                                         int64_t bytes)
{
    mirror_round_out(s, &offset, &bytes);
    while (mirror_range_busy(s, offset, bytes)) {
        qemu_co_queue_wait(&s->ops_done, NULL);
    }
    if (bytes > 0) {
        hbitmap_set(s->in_flight, offset, bytes);
    }
}

void mirror_range_release(MirrorBlockJob *s, int64_t offset, int64_t bytes)
{
    mirror_round_out(s, &offset, &bytes);
    if (bytes > 0) {
        hbitmap_reset(s->in_flight, offset, bytes);
    }
    qemu_co_queue_restart_all(&s->ops_done);
}

/* Zero-bitmap maintenance over granule-aligned ranges. */
static void zero_bitmap_clear(MirrorBlockJob *s, int64_t offset,
                              int64_t bytes)
{
    mirror_round_out(s, &offset, &bytes);
    if (s->zero && bytes > 0) {
        hbitmap_reset(s->zero, offset, bytes);
    }
}

/* Set the bits of the granules lying wholly inside the range. */
static void zero_bitmap_set_inward(MirrorBlockJob *s, int64_t offset,
                                   int64_t bytes)
{
    int64_t start = QEMU_ALIGN_UP(offset, s->granularity);
    int64_t end = offset + bytes == s->length ? s->length :
                  QEMU_ALIGN_DOWN(offset + bytes, s->granularity);

    if (s->zero && end > start) {
        hbitmap_set(s->zero, start, end - start);
    }
}

static bool zero_bitmap_covers(MirrorBlockJob *s, int64_t offset,
                               int64_t bytes)
{
    mirror_round_out(s, &offset, &bytes);
    return s->zero && bytes > 0 && hbitmap_is_all_set(s->zero, offset, bytes);
}

/* Record an I/O error under the policy; returns the action taken. */
static BlockErrorAction mirror_error(MirrorBlockJob *s, bool is_read,
                                     int error)
{
    BlockErrorAction action = block_job_error_action(
        &s->common, is_read ? s->opts.on_source_error :
                              s->opts.on_target_error, is_read, error);

    if (action == BLOCK_ERROR_ACTION_REPORT && s->ret == 0) {
        s->ret = -error;
    }
    return action;
}

/* Operations */

typedef struct MirrorOp {
    MirrorBlockJob *s;
    MirrorMethod method;
    int64_t offset;
    int64_t bytes;
} MirrorOp;

/*
 * The largest copy: MIRROR_MAX_IO_BYTES, or one granule when granules are
 * larger (a copy is never smaller than a granule).
 */
static int64_t mirror_copy_buf_size(MirrorBlockJob *s)
{
    return MAX(MIRROR_MAX_IO_BYTES, s->granularity);
}

/* A copy buffer of mirror_copy_buf_size(), from the job's free list. */
static void *mirror_get_buf(MirrorBlockJob *s)
{
    size_t align = MAX(s->target->bl.opt_mem_alignment, 4096);
    void *buf;

    if (!s->free_bufs) {
        return qemu_blockalign(align, mirror_copy_buf_size(s));
    }
    buf = s->free_bufs->data;
    s->free_bufs = g_slist_delete_link(s->free_bufs, s->free_bufs);
    return buf;
}

static void mirror_put_buf(MirrorBlockJob *s, void *buf)
{
    s->free_bufs = g_slist_prepend(s->free_bufs, buf);
}

static int coroutine_fn mirror_do_copy(MirrorOp *op, bool *is_read)
{
    MirrorBlockJob *s = op->s;
    void *buf = mirror_get_buf(s);
    QEMUIOVector qiov;
    int ret;

    assert(op->bytes <= mirror_copy_buf_size(s));
    qemu_iovec_init_buf(&qiov, buf, op->bytes);
    *is_read = true;
    ret = bdrv_co_preadv(s->source_child, op->offset, op->bytes, &qiov, 0);
    if (ret == 0) {
        *is_read = false;
        ret = blk_co_pwritev(s->target_blk, op->offset, op->bytes, &qiov, 0);
    }
    mirror_put_buf(s, buf);
    return ret;
}

static void coroutine_fn mirror_op_entry(void *opaque)
{
    MirrorOp *op = opaque;
    MirrorBlockJob *s = op->s;
    bool is_read = false;
    int ret = 0;

    switch (op->method) {
    case MIRROR_METHOD_COPY:
        zero_bitmap_clear(s, op->offset, op->bytes);
        ret = mirror_do_copy(op, &is_read);
        s->stats.copy_ops++;
        s->stats.copy_bytes += op->bytes;
        break;
    case MIRROR_METHOD_ZERO:
        if (zero_bitmap_covers(s, op->offset, op->bytes)) {
            s->stats.zero_ops_skipped++;
            s->stats.zero_bytes_skipped += op->bytes;
            break;
        }
        ret = blk_co_pwrite_zeroes(s->target_blk, op->offset, op->bytes,
                                   s->unmap ? BDRV_REQ_MAY_UNMAP : 0);
        if (ret == 0) {
            zero_bitmap_set_inward(s, op->offset, op->bytes);
        }
        if (s->prezeroing) {
            s->stats.prezero_bytes += op->bytes;
        } else {
            s->stats.zero_ops++;
            s->stats.zero_bytes += op->bytes;
        }
        break;
    case MIRROR_METHOD_DISCARD:
        zero_bitmap_clear(s, op->offset, op->bytes);
        ret = blk_co_pdiscard(s->target_blk, op->offset, op->bytes);
        s->stats.discard_ops++;
        break;
    }

    s->ops_in_flight--;
    if (op->method == MIRROR_METHOD_COPY) {
        s->bytes_in_flight -= op->bytes;
    }
    if (ret < 0) {
        /* Dirty again first, so that "ignore" retries it. */
        hbitmap_set(s->dirty, op->offset, op->bytes);
        mirror_error(s, is_read, -ret);
    } else if (!s->prezeroing) {
        /* Skipped zero writes count too: the range is in sync. */
        job_progress_update(&s->common, op->bytes);
    }
    mirror_range_release(s, op->offset, op->bytes);
    g_free(op);
}

/* Wait for one operation to finish (any). */
static void coroutine_fn mirror_wait_for_any_op(MirrorBlockJob *s)
{
    if (s->ops_in_flight > 0) {
        qemu_co_queue_wait(&s->ops_done, NULL);
    }
}

static void coroutine_fn mirror_wait_for_all_ops(MirrorBlockJob *s)
{
    while (s->ops_in_flight > 0) {
        qemu_co_queue_wait(&s->ops_done, NULL);
    }
}

/*
 * Start an operation over granules the caller already owns (in_flight set).
 */
static void coroutine_fn mirror_start_op(MirrorBlockJob *s,
                                         MirrorMethod method,
                                         int64_t offset, int64_t bytes)
{
    MirrorOp *op = g_new0(MirrorOp, 1);

    op->s = s;
    op->method = method;
    op->offset = offset;
    op->bytes = bytes;
    s->ops_in_flight++;
    if (method == MIRROR_METHOD_COPY) {
        s->bytes_in_flight += bytes;
    }
    aio_co_enter(qemu_get_aio_context(),
                 qemu_coroutine_create(mirror_op_entry, op));
}

/*
 * Wait until another operation of @bytes fits (count, and for copies the
 * buffer budget).  Returns false when the job should stop issuing.
 */
static bool coroutine_fn mirror_wait_for_slot(MirrorBlockJob *s,
                                              MirrorMethod method,
                                              int64_t bytes)
{
    while (s->ops_in_flight >= MIRROR_MAX_IN_FLIGHT ||
           (method == MIRROR_METHOD_COPY && s->bytes_in_flight > 0 &&
            s->bytes_in_flight + bytes > s->buf_size)) {
        mirror_wait_for_any_op(s);
    }
    return s->ret == 0;
}

/*
 * One iteration: take the next run of dirty granules, clear them, and
 * start operations as the source's block status says.  Returns the
 * rate-limit delay to sleep afterwards.
 */
static int64_t coroutine_fn mirror_iteration(MirrorBlockJob *s)
{
    int64_t offset = hbitmap_next_dirty(s->dirty, s->iter_pos, -1);
    int64_t end, nb, delay = 0;

    if (offset < 0) {
        offset = hbitmap_next_dirty(s->dirty, 0, -1);
        if (offset < 0) {
            return 0;
        }
    }
    /* Someone (an operation or an active write) owns this granule. */
    while (mirror_range_busy(s, offset, 1)) {
        mirror_wait_for_any_op(s);
        if (s->ops_in_flight == 0 && mirror_range_busy(s, offset, 1)) {
            /* An active write holds it: let it finish. */
            qemu_co_queue_wait(&s->ops_done, NULL);
        }
    }
    /* Extend over following dirty granules nobody owns, up to buf-size. */
    end = offset + s->granularity;
    while (end < s->length && end - offset < s->buf_size &&
           hbitmap_get(s->dirty, end) && !hbitmap_get(s->in_flight, end)) {
        end += s->granularity;
    }
    end = MIN(end, s->length);
    s->iter_pos = end;

    /* Clear before asking block status: writes meanwhile re-dirty. */
    hbitmap_reset(s->dirty, offset, end - offset);
    hbitmap_set(s->in_flight, offset, end - offset);

    while (offset < end) {
        int64_t pnum, io_bytes;
        MirrorMethod method;
        int ret;

        nb = end - offset;
        ret = bdrv_co_block_status_above(s->source, NULL, false,
                                         BDRV_WANT_PRECISE, offset, nb,
                                         &pnum, NULL, NULL, NULL);
        if (ret < 0 || pnum <= 0) {
            io_bytes = MIN(nb, MIRROR_MAX_IO_BYTES);
            method = MIRROR_METHOD_COPY;
        } else if (ret & BDRV_BLOCK_DATA) {
            io_bytes = MIN(pnum, MIRROR_MAX_IO_BYTES);
            method = MIRROR_METHOD_COPY;
        } else {
            io_bytes = pnum;
            method = (ret & BDRV_BLOCK_ZERO) ? MIRROR_METHOD_ZERO :
                                               MIRROR_METHOD_DISCARD;
        }
        if (offset + io_bytes < s->length) {
            int64_t aligned = QEMU_ALIGN_DOWN(io_bytes, s->granularity);

            if (aligned == 0) {
                /* A granule of mixed content: copy it. */
                aligned = s->granularity;
                method = MIRROR_METHOD_COPY;
            }
            io_bytes = aligned;
        }
        io_bytes = MIN(io_bytes, end - offset);

        if (!mirror_wait_for_slot(s, method, io_bytes)) {
            /* Failing: give back what we took. */
            hbitmap_set(s->dirty, offset, end - offset);
            mirror_range_release(s, offset, end - offset);
            break;
        }
        /*
         * The speed limit charges what reaches the target: not a zero
         * write the zero bitmap will skip, nor zeroes the target unmaps.
         */
        if (method == MIRROR_METHOD_COPY ||
            (!bdrv_can_write_zeroes_with_unmap(s->target) &&
             !(method == MIRROR_METHOD_ZERO &&
               zero_bitmap_covers(s, offset, io_bytes)))) {
            delay = job_ratelimit_delay(&s->common, io_bytes);
        }
        mirror_start_op(s, method, offset, io_bytes);
        offset += io_bytes;
    }
    return delay;
}

/* Initialisation: the zero bitmap and the dirty bitmap */

static int coroutine_fn mirror_prezero(MirrorBlockJob *s)
{
    int64_t chunk = QEMU_ALIGN_DOWN(MIN((int64_t)INT_MAX, 1LL << 30),
                                    s->granularity);

    s->prezeroing = true;
    for (int64_t offset = 0; offset < s->length && s->ret == 0;) {
        int64_t bytes = MIN(chunk, s->length - offset);

        if (!mirror_wait_for_slot(s, MIRROR_METHOD_ZERO, bytes)) {
            break;
        }
        mirror_wait_range_free(s, offset, bytes);
        mirror_start_op(s, MIRROR_METHOD_ZERO, offset, bytes);
        offset += bytes;
        job_pause_point(&s->common);
        if (job_is_cancelled(&s->common)) {
            break;
        }
    }
    mirror_wait_for_all_ops(s);
    s->prezeroing = false;
    return s->ret;
}

static int coroutine_fn mirror_dirty_init(MirrorBlockJob *s, Error **errp)
{
    BlockDriverState *target = s->target;
    bool can_unmap = bdrv_can_write_zeroes_with_unmap(target);
    bool punch_holes = target->detect_zeroes ==
                       BLOCKDEV_DETECT_ZEROES_UNMAP && can_unmap;
    BlockDriverState *base = NULL;
    int z, ret;

    z = s->opts.target_is_zero ? 1 : bdrv_co_is_all_zeroes(target);
    if (z < 0) {
        error_setg_errno(errp, -z, "Could not tell whether the target is "
                         "zero");
        return z;
    }
    if (s->opts.sync == MIRROR_SYNC_MODE_TOP) {
        if (z > 0 && !punch_holes) {
            hbitmap_set_all(s->zero);
        }
        base = bdrv_backing_bs(s->source);
    } else if (z == 0 || punch_holes) {
        if (!can_unmap || punch_holes) {
            /* Everything must be written; zero ops punch or allocate. */
            hbitmap_set_all(s->dirty);
            return 0;
        }
        ret = mirror_prezero(s);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not zero the target");
            return ret;
        }
    } else {
        hbitmap_set_all(s->zero);
    }

    /* Dirty what the source allocates (above the base for sync=top). */
    for (int64_t offset = 0; offset < s->length;) {
        int64_t pnum;

        ret = base ? bdrv_co_is_allocated(s->source, offset,
                                          s->length - offset, &pnum) :
                     bdrv_co_is_allocated_above(s->source, NULL, false,
                                                offset, s->length - offset,
                                                &pnum);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read the source's "
                             "allocation");
            return ret;
        }
        assert(pnum > 0);
        if (ret > 0) {
            hbitmap_set(s->dirty, offset, pnum);
        }
        offset += pnum;
        if (job_is_cancelled(&s->common)) {
            return 0;
        }
    }
    return 0;
}

/* The main loop */

/*
 * Yield to the event loop if the job has not done so for a slice: with
 * requests that complete without yielding (cached reads, a failing target
 * under on-target-error=ignore) the loop would otherwise starve everyone
 * else of the AioContext.
 */
static void coroutine_fn mirror_throttle(MirrorBlockJob *s)
{
    int64_t now = get_clock_ns();

    if (now - s->last_yield_ns >= MIRROR_SLICE_NS) {
        s->last_yield_ns = now;
        job_sleep_ns(&s->common, 0);
    }
}

static int coroutine_fn mirror_flush_target(MirrorBlockJob *s)
{
    int ret = blk_co_flush(s->target_blk);

    if (ret < 0 && mirror_error(s, false, -ret) ==
        BLOCK_ERROR_ACTION_REPORT) {
        return ret;
    }
    return ret < 0 ? 1 : 0;     /* 1: ignored or stopped, try again */
}

static int coroutine_fn mirror_run(Job *job, Error **errp)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);
    int64_t target_len = bdrv_co_getlength(s->target);
    int ret;

    s->length = bdrv_co_getlength(s->source);
    s->last_yield_ns = get_clock_ns();
    if (s->length < 0 || target_len < 0) {
        error_setg(errp, "Could not get the image sizes");
        return -EIO;
    }
    if (s->length != target_len) {
        error_setg(errp, "Source and target image have different sizes");
        return -EINVAL;
    }
    s->dirty = hbitmap_alloc(s->length, s->granularity_bits);
    s->in_flight = hbitmap_alloc(s->length, s->granularity_bits);
    s->zero = hbitmap_alloc(s->length, s->granularity_bits);

    if (s->length > 0 && s->opts.sync != MIRROR_SYNC_MODE_NONE) {
        ret = mirror_dirty_init(s, errp);
        if (ret < 0 || job_is_cancelled(job)) {
            return ret;
        }
    }

    for (;;) {
        int64_t cnt, delay = 0;

        if (s->ret < 0) {
            break;
        }
        mirror_throttle(s);
        job_pause_point(job);
        if (job_is_cancelled(job)) {
            break;
        }
        cnt = hbitmap_count(s->dirty);
        job_progress_set_remaining(job, s->bytes_in_flight + cnt +
                                   s->active_bytes_in_flight);

        if (cnt > 0 && s->ops_in_flight < MIRROR_MAX_IN_FLIGHT) {
            delay = mirror_iteration(s);
            if (delay) {
                job_sleep_ns(job, delay);
            }
            continue;
        }
        if (cnt > 0 || s->ops_in_flight > 0) {
            mirror_wait_for_any_op(s);
            continue;
        }

        /* Nothing dirty, nothing in flight. */
        if (!s->synced) {
            ret = mirror_flush_target(s);
            if (ret < 0) {
                s->ret = ret;
                break;
            }
            if (ret > 0) {
                continue;
            }
            s->synced = true;
            s->actively_synced =
                s->opts.copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING;
            job_transition_to_ready(job);
        }
        if (s->should_complete || job->cancelled) {
            /* Quiesce the source's users, then make sure of the last bits. */
            bdrv_drained_begin(s->source);
            s->in_drain = true;
            if (hbitmap_count(s->dirty) == 0 && s->ops_in_flight == 0 &&
                s->active_bytes_in_flight == 0) {
                ret = mirror_flush_target(s);
                if (ret == 0) {
                    break;
                }
                if (ret < 0) {
                    s->ret = ret;
                    break;
                }
            }
            bdrv_drained_end(s->source);
            s->in_drain = false;
            continue;
        }
        job_sleep_ns(job, MIRROR_SLICE_NS);
    }

    mirror_wait_for_all_ops(s);
    while (s->active_bytes_in_flight > 0) {
        qemu_co_queue_wait(&s->ops_done, NULL);
    }
    /* No message of our own: the job reports strerror(), as QEMU's. */
    return s->ret < 0 ? s->ret : 0;
}

/* Completion and the graph change */

static void mirror_complete(Job *job, Error **errp)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    if (!s->synced) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id ? job->id : "");
        return;
    }
    s->should_complete = true;
    job_enter(job);
}

/* Pausing waits for the operations in flight, so a paused job is idle. */
static void coroutine_fn mirror_pause(Job *job)
{
    mirror_wait_for_all_ops(container_of(job, MirrorBlockJob, common));
}

static bool mirror_cancel(Job *job, bool force)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    /* A soft cancel of a synced job finishes it without the pivot. */
    return !force && s->synced;
}

/*
 * Take the filter out, and pivot the source's users to the target when the
 * job completed as asked.  Runs in the main loop.
 */
static int mirror_exit_common(Job *job, bool pivot)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);
    MirrorTopState *mt = s->mirror_top->opaque;
    BlockDriverState *top = s->mirror_top;
    BlockDriverState *below;
    Error *local_err = NULL;
    int ret = 0;

    bdrv_ref(top);
    /*
     * Once the filter drops its permissions no request may pass it, and
     * none may reach the target while the graph changes: both stay
     * drained until the filter is out of the graph.
     */
    bdrv_drained_begin(top);
    bdrv_drained_begin(s->target);
    mt->job = NULL;
    s->stop = true;
    bdrv_refresh_perms(top, NULL);
    blk_unref(s->target_blk);
    s->target_blk = NULL;

    if (pivot) {
        if (bdrv_replace_node(s->source, s->target, &local_err) < 0) {
            error_free(job->err);
            job->err = local_err;
            ret = -EPERM;
        }
    }
    /* The filter's users get what is below it: the source or the target. */
    below = bdrv_filter_child(top)->bs;
    bdrv_replace_node(top, below, &error_abort);
    bdrv_drained_end(s->target);
    if (s->in_drain) {
        bdrv_drained_end(s->source);
        s->in_drain = false;
    }
    bdrv_drained_end(top);
    bdrv_unref(top);
    return ret;
}

static int mirror_prepare(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    return mirror_exit_common(job, s->should_complete && !job->cancelled);
}

static void mirror_abort(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    if (!s->stop) {
        mirror_exit_common(job, false);
    }
}

static void mirror_clean(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    if (s->target_blk) {
        blk_unref(s->target_blk);
        s->target_blk = NULL;
    }
    hbitmap_free(s->dirty);
    hbitmap_free(s->in_flight);
    hbitmap_free(s->zero);
    s->dirty = s->in_flight = s->zero = NULL;
    g_slist_free_full(s->free_bufs, qemu_vfree);
    s->free_bufs = NULL;
    qemu_co_queue_destroy(&s->ops_done);
    bdrv_unref(s->mirror_top);
    bdrv_unref(s->target);
    bdrv_unref(s->source);
}

static void mirror_query(Job *job, JsonObject *info)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    qdict_put_bool(info, "actively-synced", s->actively_synced);
}

static const JobDriver mirror_job_driver = {
    .instance_size = sizeof(MirrorBlockJob),
    .type_name = "mirror",
    .is_block_job = true,
    .run = mirror_run,
    .complete = mirror_complete,
    .pause = mirror_pause,
    .cancel = mirror_cancel,
    .prepare = mirror_prepare,
    .abort = mirror_abort,
    .clean = mirror_clean,
    .query = mirror_query,
};

/* Setup */

static int64_t mirror_default_granularity(BlockDriverState *target)
{
    BlockDriverInfo bdi = { 0 };

    if (bdrv_get_info(target, &bdi) == 0 && bdi.cluster_size > 0) {
        return MIN(MAX(bdi.cluster_size, 4096), 65536);
    }
    return 65536;
}

Job *mirror_start(const char *job_id, BlockDriverState *source,
                  BlockDriverState *target, const MirrorOptions *opts,
                  Error **errp)
{
    MirrorBlockJob *s;
    BlockDriverState *top;
    JsonObject *topts;
    int64_t granularity = opts->granularity;

    if (source == target) {
        error_setg(errp, "Can't mirror node into itself");
        return NULL;
    }
    if (granularity == 0) {
        granularity = mirror_default_granularity(target);
    }
    if (granularity < 512 || granularity > (64 << 20) ||
        (granularity & (granularity - 1))) {
        error_setg(errp, "Parameter 'granularity' expects a value in range "
                   "[512B, 64MB]");
        return NULL;
    }
    if (opts->buf_size < 0) {
        error_setg(errp, "Invalid parameter 'buf-size'");
        return NULL;
    }

    /* The filter, above the source. */
    topts = qdict_new();
    qdict_put_str(topts, "backing", bdrv_get_node_name(source));
    if (opts->filter_node_name) {
        qdict_put_str(topts, "node-name", opts->filter_node_name);
    }
    top = bdrv_new_open_driver(&bdrv_mirror_top, topts, errp);
    qdict_unref(topts);
    if (!top) {
        return NULL;
    }
    top->implicit = !opts->filter_node_name;

    s = (MirrorBlockJob *)job_create(job_id, &mirror_job_driver,
                                     opts->auto_finalize,
                                     opts->auto_dismiss, errp);
    if (!s) {
        bdrv_unref(top);
        return NULL;
    }
    s->opts = *opts;
    s->opts.filter_node_name = NULL;
    s->granularity = granularity;
    s->granularity_bits = __builtin_ctzll(granularity);
    s->buf_size = QEMU_ALIGN_UP(opts->buf_size ? opts->buf_size : 16 << 20,
                                granularity);
    s->unmap = true;
    s->source = source;
    s->target = target;
    s->mirror_top = top;
    s->source_child = bdrv_filter_child(top);
    s->common.speed = opts->speed;
    qemu_co_queue_init(&s->ops_done);
    bdrv_ref(source);
    bdrv_ref(target);

    s->target_blk = blk_new(BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED);
    blk_set_name(s->target_blk, job_id ? job_id : "mirror");
    blk_set_disable_request_queuing(s->target_blk, true);
    if (blk_insert_bs(s->target_blk, target, errp) < 0 ||
        bdrv_replace_node(source, top, errp) < 0) {
        blk_unref(s->target_blk);
        s->target_blk = NULL;
        bdrv_unref(target);
        bdrv_unref(source);
        qemu_co_queue_destroy(&s->ops_done);
        bdrv_unref(top);
        job_user_cancel(&s->common, true, NULL);
        return NULL;
    }
    ((MirrorTopState *)top->opaque)->job = s;
    job_start(&s->common);
    return &s->common;
}

/* Active (write-blocking) mode: the filter's synchronous copy. */

int coroutine_fn mirror_sync_target_write(MirrorBlockJob *s,
                                          MirrorMethod method,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    int64_t start = QEMU_ALIGN_UP(offset, s->granularity);
    int64_t end = offset + bytes == s->length ? s->length :
                  QEMU_ALIGN_DOWN(offset + bytes, s->granularity);
    int64_t out_off = offset, out_bytes = bytes;
    int ret = 0;

    mirror_round_out(s, &out_off, &out_bytes);
    s->stats.active_writes++;
    switch (method) {
    case MIRROR_METHOD_COPY:
        zero_bitmap_clear(s, offset, bytes);
        ret = blk_co_pwritev(s->target_blk, offset, bytes, qiov,
                             flags & BDRV_REQ_FUA);
        break;
    case MIRROR_METHOD_ZERO:
        if (zero_bitmap_covers(s, offset, bytes)) {
            s->stats.zero_ops_skipped++;
            s->stats.zero_bytes_skipped += bytes;
            break;
        }
        ret = blk_co_pwrite_zeroes(s->target_blk, offset, bytes,
                                   s->unmap ? BDRV_REQ_MAY_UNMAP : 0);
        if (ret == 0) {
            zero_bitmap_set_inward(s, offset, bytes);
        }
        break;
    case MIRROR_METHOD_DISCARD:
        zero_bitmap_clear(s, offset, bytes);
        ret = blk_co_pdiscard(s->target_blk, offset, bytes);
        break;
    }
    if (ret < 0) {
        hbitmap_set(s->dirty, out_off, out_bytes);
        s->actively_synced = false;
        mirror_error(s, false, -ret);
        /* The source write succeeded; the job deals with the target. */
        return 0;
    }
    /* Whole granules are in sync now; partial ones stay as they were. */
    if (end > start) {
        hbitmap_reset(s->dirty, start, end - start);
    }
    job_progress_increase_remaining(&s->common, bytes);
    job_progress_update(&s->common, bytes);
    return 0;
}
