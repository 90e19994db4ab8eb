/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job, beyond test-mirror.c (test-mirror-matrix.c has the
 * random-writes matrix and the counters): the job life cycle (manual
 * finalize and dismiss, cancel while PENDING, force cancel after READY,
 * STANDBY, refused verbs, a failed job's query), sync=none, the
 * target-is-zero hint, unusual granularities and buffer sizes, source
 * error policies with the data of BLOCK_JOB_ERROR / BLOCK_JOB_COMPLETED,
 * a target write error, dirty bitmaps.
 *
 * Images are created with emblock's own bdrv_create(); nothing here needs
 * QEMU installed.  Every wait has a deadline (mirror-test-util.h).  The
 * test paths keep the /mirror-matrix/ prefix they had before the split.
 */
#include "mirror-test-util.h"

/*
 * 3. Jobs
 */


static void test_manual_finalize_dismiss(void)
{
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Error *err = NULL;
    Job *job, *jp;
    Event *e;
    guint first;
    JsonObject *info;
    static const char *const expected[] = {
        "JOB_STATUS_CHANGE:created", "JOB_STATUS_CHANGE:running",
        "JOB_STATUS_CHANGE:ready", "BLOCK_JOB_READY",
        "JOB_STATUS_CHANGE:waiting", "JOB_STATUS_CHANGE:pending",
        "BLOCK_JOB_PENDING", "BLOCK_JOB_COMPLETED",
        "JOB_STATUS_CHANGE:concluded", "JOB_STATUS_CHANGE:null",
    };

    setup_pair("fin", &src, &dst);
    blk = blk_new_with_bs(src, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    mirror_options_init(&opts);
    opts.auto_finalize = false;
    opts.auto_dismiss = false;
    first = events->len;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    job_finalize(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'running' cannot accept "
                     "command verb 'finalize'");
    err = NULL;
    wait_for_status(job, JOB_STATUS_READY);
    job_complete(job, &error_abort);
    wait_for_status(job, JOB_STATUS_PENDING);
    /* Nothing happens in PENDING until finalize. */
    poll_for_ms(150);
    g_assert_cmpint(job->status, ==, JOB_STATUS_PENDING);
    g_assert_true(blk_bs(blk) != dst);
    e = find_event("BLOCK_JOB_PENDING", NULL);
    g_assert_nonnull(e);
    {
        g_autofree char *m = members(e->data);

        g_assert_cmpstr(m, ==, "id,type");
    }
    g_assert_cmpstr(json_object_get_string_member(e->data, "id"), ==,
                    "job0");
    g_assert_cmpstr(json_object_get_string_member(e->data, "type"), ==,
                    "mirror");
    jp = job;
    job_dismiss(&jp, &err);
    assert_error_msg(err, "Job 'job0' in state 'pending' cannot accept "
                     "command verb 'dismiss'");
    err = NULL;
    g_assert_true(jp == job);
    job_complete(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'pending' cannot accept "
                     "command verb 'complete'");
    err = NULL;

    job_finalize(job, &error_abort);
    g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_true(blk_bs(blk) == dst);          /* pivoted by finalize */
    g_assert_true(job_get("job0") == job);
    info = job_query(job);
    g_assert_cmpstr(json_object_get_string_member(info, "status"), ==,
                    "concluded");
    g_assert_false(json_object_has_member(info, "error"));
    qdict_unref(info);
    job_finalize(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'concluded' cannot accept "
                     "command verb 'finalize'");
    err = NULL;
    job_user_cancel(job, true, &err);
    assert_error_msg(err, "Job 'job0' in state 'concluded' cannot accept "
                     "command verb 'cancel'");
    err = NULL;

    job_dismiss(&jp, &error_abort);
    g_assert_null(jp);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    g_assert_null(job_get("job0"));
    check_event_order(first, expected, G_N_ELEMENTS(expected));
    job_unref(job);
    blk_unref(blk);
    teardown_pair("fin", src, dst);
}

/* Cancelling a PENDING job aborts it: no pivot, BLOCK_JOB_CANCELLED. */
static void test_cancel_pending(void)
{
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;
    guint first;
    static const char *const expected[] = {
        "JOB_STATUS_CHANGE:aborting", "BLOCK_JOB_CANCELLED",
        "JOB_STATUS_CHANGE:concluded", "JOB_STATUS_CHANGE:null",
    };

    setup_pair("cpend", &src, &dst);
    blk = blk_new_with_bs(src, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    mirror_options_init(&opts);
    opts.auto_finalize = false;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    job_complete(job, &error_abort);
    wait_for_status(job, JOB_STATUS_PENDING);
    first = events->len;
    job_user_cancel(job, false, &error_abort);
    wait_for_end(job);
    check_event_order(first, expected, G_N_ELEMENTS(expected));
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    g_assert_true(blk_bs(blk) == src);
    job_unref(job);
    blk_unref(blk);
    assert_source_untouched(src);
    teardown_pair("cpend", src, dst);
}

static void test_force_cancel_after_ready(gconstpointer opaque)
{
    MirrorCopyMode mode = GPOINTER_TO_INT(opaque);
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;
    Event *e;
    guint first;
    g_autofree char *m = NULL;
    static const char *const expected[] = {
        "JOB_STATUS_CHANGE:aborting", "BLOCK_JOB_CANCELLED",
        "JOB_STATUS_CHANGE:concluded", "JOB_STATUS_CHANGE:null",
    };

    setup_pair("fcancel", &src, &dst);
    blk = rw_blk(src);
    mirror_options_init(&opts);
    opts.copy_mode = mode;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    if (mode == MIRROR_COPY_MODE_WRITE_BLOCKING) {
        /* Active writes reach the target before they complete. */
        write_pattern(blk, 8 * MiB + 100, 300 * KiB, 0x5e);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB, 0), ==, 0);
    }
    first = events->len;
    job_user_cancel(job, true, &error_abort);
    wait_for_end(job);
    check_event_order(first, expected, G_N_ELEMENTS(expected));
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    e = find_event("BLOCK_JOB_CANCELLED", &first);
    m = members(e->data);
    g_assert_cmpstr(m, ==, "device,len,offset,speed,type");
    g_assert_cmpstr(json_object_get_string_member(e->data, "device"), ==,
                    "job0");
    g_assert_cmpstr(json_object_get_string_member(e->data, "type"), ==,
                    "mirror");
    g_assert_cmpint(json_object_get_int_member(e->data, "speed"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(e->data, "offset"), ==,
                    job->progress_current);
    g_assert_cmpint(json_object_get_int_member(e->data, "len"), ==,
                    job->progress_total);
    g_assert_cmpint(json_object_get_int_member(e->data, "offset"), >=,
                    JT_DATA);
    job_unref(job);
    /* No pivot: the user is still on the source. */
    g_assert_true(blk_bs(blk) == src);
    blk_unref(blk);
    if (mode == MIRROR_COPY_MODE_BACKGROUND) {
        assert_source_untouched(src);
    }
    /* The target is the source as of the cancel. */
    assert_nodes_equal(src, dst, JT_SIZE);
    teardown_pair("fcancel", src, dst);
}

static void test_standby(void)
{
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    Error *err = NULL;
    Job *job;
    JsonObject *info;
    guint first;
    static const char *const expected[] = {
        "JOB_STATUS_CHANGE:standby", "JOB_STATUS_CHANGE:ready",
        "JOB_STATUS_CHANGE:standby",
    };

    setup_pair("standby", &src, &dst);
    mirror_options_init(&opts);
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    first = events->len;
    job_user_pause(job, &error_abort);
    wait_for_status(job, JOB_STATUS_STANDBY);
    info = block_job_query(job);
    g_assert_cmpstr(json_object_get_string_member(info, "status"), ==,
                    "standby");
    g_assert_true(json_object_get_boolean_member(info, "paused"));
    g_assert_true(json_object_get_boolean_member(info, "ready"));
    qdict_unref(info);
    job_user_pause(job, &err);
    assert_error_msg(err, "Job is already paused");
    err = NULL;
    poll_for_ms(150);
    g_assert_cmpint(job->status, ==, JOB_STATUS_STANDBY);
    job_user_resume(job, &error_abort);
    wait_for_status(job, JOB_STATUS_READY);
    info = block_job_query(job);
    g_assert_false(json_object_get_boolean_member(info, "paused"));
    qdict_unref(info);

    /* Complete is accepted in STANDBY and takes effect on resume. */
    job_user_pause(job, &error_abort);
    wait_for_status(job, JOB_STATUS_STANDBY);
    job_complete(job, &error_abort);
    poll_for_ms(150);
    g_assert_cmpint(job->status, ==, JOB_STATUS_STANDBY);
    check_event_order(first, expected, G_N_ELEMENTS(expected));
    job_user_resume(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_nonnull(find_event("BLOCK_JOB_COMPLETED", &first));
    job_unref(job);
    assert_nodes_equal(src, dst, JT_SIZE);
    teardown_pair("standby", src, dst);
}

static void test_refused_verbs(void)
{
    BlockDriverState *src, *dst, *src2, *dst2;
    MirrorOptions opts;
    Error *err = NULL;
    Job *job, *jp;

    setup_pair("verbs", &src, &dst);
    mirror_options_init(&opts);
    opts.speed = 1 * MiB;               /* stays RUNNING for a while */

    g_assert_null(mirror_start("job0", src, src, &opts, &err));
    assert_error_msg(err, "Can't mirror node into itself");
    err = NULL;
    g_assert_null(mirror_start("0job", src, dst, &opts, &err));
    assert_error_msg(err, "Invalid job ID '0job'");
    err = NULL;

    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    poll_for_ms(20);
    g_assert_cmpint(job->status, ==, JOB_STATUS_RUNNING);

    job_complete(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'running' cannot accept "
                     "command verb 'complete'");
    err = NULL;
    jp = job;
    job_dismiss(&jp, &err);
    assert_error_msg(err, "Job 'job0' in state 'running' cannot accept "
                     "command verb 'dismiss'");
    err = NULL;
    job_user_resume(job, &err);
    assert_error_msg(err, "Can't resume a job that was not paused");
    err = NULL;
    job_set_speed(job, -1, &err);
    assert_error_msg(err, "Parameter 'speed' expects a non-negative value");
    err = NULL;

    /* A second job with the same id: refused, and nothing changed. */
    g_autofree char *sp = path("verbs2-src.raw");
    g_autofree char *tp = path("verbs2-dst.raw");
    create_image("file", sp, JT_SIZE, NULL, NULL);
    create_image("file", tp, JT_SIZE, NULL, NULL);
    src2 = open_node("driver=raw,node-name=src2,file.driver=file,"
                     "file.filename=%s", sp);
    dst2 = open_node("driver=file,node-name=dst2,filename=%s", tp);
    g_assert_null(mirror_start("job0", src2, dst2, &opts, &err));
    assert_error_msg(err, "Job ID 'job0' already in use");
    err = NULL;
    g_assert_null(bdrv_get_parent_nodes(src2));
    g_assert_false(bdrv_has_blk(dst2));
    bdrv_unref(src2);
    bdrv_unref(dst2);
    unlink(sp);
    unlink(tp);

    /* Paused before READY: still no complete. */
    job_user_pause(job, &error_abort);
    wait_for_status(job, JOB_STATUS_PAUSED);
    job_complete(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'paused' cannot accept "
                     "command verb 'complete'");
    err = NULL;
    job_user_resume(job, &error_abort);
    job_set_speed(job, 0, &error_abort);
    wait_for_status(job, JOB_STATUS_READY);
    job_finalize(job, &err);
    assert_error_msg(err, "Job 'job0' in state 'ready' cannot accept "
                     "command verb 'finalize'");
    err = NULL;
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    job_unref(job);
    teardown_pair("verbs", src, dst);
}

/* sync=none: only what is written after the start reaches the target. */
static void test_sync_none(gconstpointer opaque)
{
    MirrorCopyMode mode = GPOINTER_TO_INT(opaque);
    const int64_t gran = 64 * KiB;
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;
    g_autofree uint8_t *s_data = NULL, *t_data = NULL;
    /* [off, len): aligned, unaligned, and a zero write over old data. */
    static const int64_t w_off[] = { 8 * MiB, 10 * MiB + 1000, 2 * MiB };
    static const int64_t w_len[] = { 256 * KiB, 3000, 64 * KiB };

    setup_pair("none", &src, &dst);
    blk = rw_blk(src);
    mirror_options_init(&opts);
    opts.sync = MIRROR_SYNC_MODE_NONE;
    opts.copy_mode = mode;
    opts.granularity = gran;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    g_assert_cmpint(job->progress_current, ==, 0);
    write_pattern(blk, w_off[0], w_len[0], 0x66);
    write_pattern(blk, w_off[1], w_len[1], 0x67);
    g_assert_cmpint(blk_pwrite_zeroes(blk, w_off[2], w_len[2], 0), ==, 0);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    job_unref(job);
    blk_unref(blk);

    s_data = read_all(src, JT_SIZE);
    t_data = read_all(dst, JT_SIZE);
    for (int64_t i = 0; i < JT_SIZE; i++) {
        bool written = false, near = false;

        for (int k = 0; k < 3; k++) {
            written |= i >= w_off[k] && i < w_off[k] + w_len[k];
            near |= i >= QEMU_ALIGN_DOWN(w_off[k], gran) &&
                    i < QEMU_ALIGN_UP(w_off[k] + w_len[k], gran);
        }
        /*
         * Written bytes are the source's; the rest of their granules may
         * be copied along (background copies whole granules); everything
         * else, in particular the old data at 0..4 MiB, stays zero.
         */
        if (written || (near && t_data[i] != 0)) {
            if (t_data[i] != s_data[i]) {
                g_error("target byte %" PRId64 " is 0x%x, source 0x%x", i,
                        t_data[i], s_data[i]);
            }
        } else if (t_data[i] != 0) {
            g_error("target byte %" PRId64 " is 0x%x, expected 0", i,
                    t_data[i]);
        }
    }
    teardown_pair("none", src, dst);
}

/*
 * target-is-zero: a preallocated (so not detectably zero) target that
 * does read as zero.  With the hint and discard=ignore, zero writes are
 * skipped and the allocation kept; without it they are written.  Where
 * the target punches holes (detect-zeroes=unmap) the hint must not stop
 * the zero writes that make it sparse.
 */
typedef struct HintCase {
    bool hint;
    const char *discard;
    const char *zeroes;
    bool expect_zero_ops;
    bool expect_sparse;
} HintCase;

static const HintCase hint_cases[] = {
    { true, "ignore", "off", false, false },
    { false, "ignore", "off", true, false },
    { true, "unmap", "unmap", true, true },
};

static void test_target_is_zero(gconstpointer opaque)
{
    const HintCase *c = opaque;
    g_autofree char *sp = path("hint-src.raw");
    g_autofree char *tp = path("hint-dst.raw");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    MirrorStats stats;
    Job *job;
    int64_t alloc;

    sparse_file(sp, JT_SIZE);
    create_image("file", tp, JT_SIZE, NULL, "full");
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", sp);
    dst = open_node("driver=file,node-name=dst,filename=%s,discard=%s,"
                    "detect-zeroes=%s", tp, c->discard, c->zeroes);
    blk = rw_blk(src);
    write_pattern(blk, 8 * MiB, 2 * MiB, 0x5a);
    blk_unref(blk);
    mirror_options_init(&opts);
    opts.target_is_zero = c->hint;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_true(mirror_get_stats(job, &stats));
    g_test_message("zero ops %" PRIu64 " skipped %" PRIu64 " prezero %"
                   PRIu64 " progress %" PRId64, stats.zero_ops,
                   stats.zero_ops_skipped, stats.prezero_bytes,
                   job->progress_current);
    if (c->expect_zero_ops) {
        g_assert_cmpuint(stats.zero_ops, >, 0);
        g_assert_cmpuint(stats.zero_bytes, ==, JT_SIZE - 2 * MiB);
    } else {
        g_assert_cmpuint(stats.zero_ops, ==, 0);
        g_assert_cmpuint(stats.zero_bytes_skipped, ==, JT_SIZE - 2 * MiB);
    }
    g_assert_cmpuint(stats.prezero_bytes, ==, 0);
    check_progress(job, &stats);
    job_unref(job);
    assert_nodes_equal(src, dst, JT_SIZE);
    bdrv_unref(src);
    bdrv_unref(dst);
    alloc = allocated_bytes(tp);
    if (c->expect_sparse) {
        g_assert_cmpint(alloc, <, 4 * MiB);
    } else {
        g_assert_cmpint(alloc, >, 19 * MiB);
    }
    unlink(sp);
    unlink(tp);
}

/* Granularity and buffer size */

typedef struct GranCase {
    int64_t granularity;
    int64_t buf_size;
    MirrorCopyMode mode;
    const char *tgt;            /* raw, qcow2 */
    char *name;
} GranCase;

/* Not a multiple of any granularity above 4 KiB. */
#define GR_SIZE (13 * MiB + 196 * KiB)
#define GR_OPS 60

static void test_granularity(gconstpointer opaque)
{
    const GranCase *c = opaque;
    g_autofree char *sp = path("gr-src.raw");
    g_autofree char *tp = path("gr-dst.img");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    MirrorStats stats;
    g_autofree uint8_t *s_data = NULL, *t_data = NULL;
    guint32 seed = c->granularity + c->buf_size;
    GRand *rand = g_rand_new_with_seed(seed);
    Job *job;

    g_test_message("seed %" PRIu32, seed);
    create_image("file", sp, GR_SIZE, NULL, NULL);
    create_image(!strcmp(c->tgt, "raw") ? "file" : "qcow2", tp, GR_SIZE,
                 NULL, NULL);
    src = open_node("driver=raw,node-name=src,discard=unmap,"
                    "file.driver=file,file.filename=%s", sp);
    dst = open_node("driver=%s,node-name=dst,discard=unmap,"
                    "file.driver=file,file.filename=%s", c->tgt, tp);
    blk = rw_blk(src);
    /* Data runs across granule boundaries, and up to the unaligned end. */
    write_pattern(blk, 0, 3 * MiB + 12345, 0x10);
    write_pattern(blk, 5 * MiB - 777, 2 * MiB, 0x11);
    write_pattern(blk, GR_SIZE - 100 * KiB, 100 * KiB, 0x12);
    mirror_options_init(&opts);
    opts.granularity = c->granularity;
    opts.buf_size = c->buf_size;
    opts.copy_mode = c->mode;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    /* Requests while the job runs, synchronously from the main loop. */
    for (int i = 0; i < GR_OPS; i++) {
        int64_t len = g_rand_int_range(rand, 1, 512 * KiB);
        int64_t off = g_rand_int_range(rand, 0, GR_SIZE - len);
        int kind = g_rand_int_range(rand, 0, 3);

        if (kind == 0) {
            write_pattern(blk, off, len, g_rand_int_range(rand, 1, 256));
        } else if (kind == 1) {
            g_assert_cmpint(blk_pwrite_zeroes(blk, off, len,
                                              BDRV_REQ_MAY_UNMAP), ==, 0);
        } else {
            g_assert_cmpint(blk_pdiscard(blk, off, len), ==, 0);
        }
        poll_for_ms(g_rand_int_range(rand, 0, 3));
    }
    g_rand_free(rand);
    wait_for_status(job, JOB_STATUS_READY);
    job_complete(job, &error_abort);
    wait_for_end(job);
    if (job->ret) {
        g_error("job failed: %s", error_get_pretty(job->err));
    }
    g_assert_true(mirror_get_stats(job, &stats));
    g_assert_cmpuint(stats.copy_ops, >, 0);
    job_unref(job);
    blk_unref(blk);
    s_data = read_all(src, GR_SIZE);
    t_data = read_all(dst, GR_SIZE);
    assert_same(s_data, t_data, GR_SIZE, "source vs target");
    if (!strcmp(c->tgt, "qcow2")) {
        check_qcow2(dst, "target");
    }
    bdrv_unref(src);
    bdrv_unref(dst);
    unlink(sp);
    unlink(tp);
}

/* Source errors (reads), and the data of BLOCK_JOB_ERROR */

typedef struct SrcErrCase {
    BlockdevOnError policy;
    int err_no;
    const char *action;         /* expected in BLOCK_JOB_ERROR */
} SrcErrCase;

static const SrcErrCase src_err_cases[] = {
    { BLOCKDEV_ON_ERROR_REPORT, EIO, "report" },
    { BLOCKDEV_ON_ERROR_IGNORE, EIO, "ignore" },
    { BLOCKDEV_ON_ERROR_STOP, EIO, "stop" },
    { BLOCKDEV_ON_ERROR_ENOSPC, ENOSPC, "stop" },
    { BLOCKDEV_ON_ERROR_ENOSPC, EIO, "report" },
};

static void test_source_error(gconstpointer opaque)
{
    const SrcErrCase *c = opaque;
    BlockDriverState *src, *dst, *fsrc;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;
    Event *e;
    guint first, from;

    setup_pair("serr", &src, &dst);
    /* The job's source is a filter over the raw node that fails reads. */
    fsrc = open_fail_filter("fsrc", "src");
    blk = blk_new_with_bs(fsrc, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    mirror_options_init(&opts);
    opts.on_source_error = c->policy;
    /* The target error policy must not be the one applied. */
    opts.on_target_error = c->policy == BLOCKDEV_ON_ERROR_REPORT ?
                           BLOCKDEV_ON_ERROR_IGNORE :
                           BLOCKDEV_ON_ERROR_REPORT;
    inject.read_errno = c->err_no;
    inject.read_off = 1 * MiB;
    inject.read_len = 64 * KiB;
    inject.reads_failed = 0;
    first = events->len;
    job = mirror_start("job0", fsrc, dst, &opts, &error_abort);
    job_ref(job);
    WAIT_UNTIL(inject.reads_failed > 0 || job_ended(job));
    g_assert_cmpint(inject.reads_failed, >, 0);

    if (!strcmp(c->action, "report")) {
        wait_for_end(job);
        g_assert_cmpint(job->ret, ==, -c->err_no);
        /* As QEMU: the error is the strerror of the failed request. */
        from = first;
        e = find_event("BLOCK_JOB_COMPLETED", &from);
        g_assert_nonnull(e);
        check_completed_error(e, g_strerror(c->err_no));
        g_assert_true(blk_bs(blk) == fsrc);
    } else {
        if (!strcmp(c->action, "stop")) {
            wait_for_status(job, JOB_STATUS_PAUSED);
            g_assert_true(job->user_paused);
            g_assert_cmpint(job->iostatus, ==, c->err_no == ENOSPC ?
                            BLOCK_DEVICE_IO_STATUS_NOSPACE :
                            BLOCK_DEVICE_IO_STATUS_FAILED);
            /* Stays stopped until resumed. */
            poll_for_ms(150);
            g_assert_cmpint(job->status, ==, JOB_STATUS_PAUSED);
            inject.read_errno = 0;
            job_user_resume(job, &error_abort);
            g_assert_cmpint(job->iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
        } else {
            /* ignore: the range stays dirty and is retried. */
            WAIT_UNTIL(inject.reads_failed >= 3 || job_ended(job));
            g_assert_false(job_ended(job));
            g_assert_cmpint(job->status, !=, JOB_STATUS_READY);
            inject.read_errno = 0;
        }
        wait_for_status(job, JOB_STATUS_READY);
        job_complete(job, &error_abort);
        wait_for_end(job);
        g_assert_cmpint(job->ret, ==, 0);
        g_assert_true(blk_bs(blk) == dst);
    }
    /* One event per failed operation, each with QEMU's data. */
    g_assert_cmpuint(count_events("BLOCK_JOB_ERROR"), >=, 1);
    from = first;
    while ((e = find_event("BLOCK_JOB_ERROR", &from))) {
        check_error_event(e, "read", c->action);
    }
    job_unref(job);
    inject.read_errno = 0;
    blk_unref(blk);
    if (strcmp(c->action, "report")) {
        assert_nodes_equal(src, dst, JT_SIZE);
    }
    bdrv_unref(fsrc);
    teardown_pair("serr", src, dst);
}

/* A target write error: BLOCK_JOB_ERROR says write, COMPLETED the error. */
static void test_target_error_event(void)
{
    BlockDriverState *src, *dst, *fdst;
    MirrorOptions opts;
    Job *job;
    Event *e;
    guint first, from;

    setup_pair("terr", &src, &dst);
    fdst = open_fail_filter("fdst", "dst");
    mirror_options_init(&opts);
    inject.write_errno = EIO;
    inject.writes_failed = 0;
    first = events->len;
    job = mirror_start("job0", src, fdst, &opts, &error_abort);
    job_ref(job);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, -EIO);
    from = first;
    while ((e = find_event("BLOCK_JOB_ERROR", &from))) {
        check_error_event(e, "write", "report");
    }
    g_assert_cmpuint(count_events("BLOCK_JOB_ERROR"), >=, 1);
    from = first;
    e = find_event("BLOCK_JOB_COMPLETED", &from);
    g_assert_nonnull(e);
    {
        g_autofree char *m = members(e->data);

        g_assert_cmpstr(m, ==, "device,error,len,offset,speed,type");
    }
    check_completed_error(e, "Input/output error");
    g_assert_null(find_event("BLOCK_JOB_CANCELLED", &first));
    job_unref(job);
    inject.write_errno = 0;
    bdrv_unref(fdst);
    teardown_pair("terr", src, dst);
}

/* A failed job with auto-dismiss=false shows its error until dismissed. */
static void test_failed_job_query(void)
{
    g_autofree char *sp = path("fq-src.raw");
    g_autofree char *tp = path("fq-dst.raw");
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    JsonObject *info;
    Job *job, *jp;

    create_image("file", sp, JT_SIZE, NULL, NULL);
    create_image("file", tp, JT_SIZE / 2, NULL, NULL);
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", sp);
    dst = open_node("driver=file,node-name=dst,filename=%s", tp);
    mirror_options_init(&opts);
    opts.auto_dismiss = false;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_end(job);
    g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
    info = job_query(job);
    g_assert_cmpstr(json_object_get_string_member(info, "error"), ==,
                    "Source and target image have different sizes");
    qdict_unref(info);
    info = block_job_query(job);
    g_assert_cmpstr(json_object_get_string_member(info, "error"), ==,
                    "Source and target image have different sizes");
    qdict_unref(info);
    jp = job;
    job_dismiss(&jp, &error_abort);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    job_unref(job);
    bdrv_unref(src);
    bdrv_unref(dst);
    unlink(sp);
    unlink(tp);
}

/* Dirty bitmaps */

static void test_dirty_bitmap_node(gconstpointer opaque)
{
    const char *fmt = opaque;
    g_autofree char *p = path("bm.img");
    g_autofree char *longname = g_strnfill(1024, 'x');
    BlockDriverState *bs;
    BlockBackend *blk;
    BdrvDirtyBitmap *bm, *bm2;
    Error *err = NULL;
    uint8_t buf[512];
    GList *l;

    create_image(!strcmp(fmt, "qcow2") ? "qcow2" : "file", p, 8 * MiB,
                 NULL, NULL);
    bs = open_node("driver=%s,node-name=bm,discard=unmap,"
                   "file.driver=file,file.filename=%s", fmt, p);
    blk = rw_blk(bs);
    bm = bdrv_create_dirty_bitmap(bs, 0, "b0", &error_abort);
    /* Default: the cluster size (qcow2: 64 KiB), else 64 KiB. */
    g_assert_cmpuint(bdrv_dirty_bitmap_granularity(bm), ==, 64 * KiB);
    g_assert_true(bdrv_dirty_bitmap_enabled(bm));
    bm2 = bdrv_create_dirty_bitmap(bs, 4096, "b1", &error_abort);
    bdrv_disable_dirty_bitmap(bm2);
    g_assert_null(bdrv_create_dirty_bitmap(bs, 0, "b0", &err));
    assert_error_msg(err, "Bitmap already exists: b0");
    err = NULL;
    g_assert_null(bdrv_create_dirty_bitmap(bs, 0, "", &err));
    assert_error_msg(err, "Bitmap name cannot be empty");
    err = NULL;
    g_assert_null(bdrv_create_dirty_bitmap(bs, 0, longname, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Bitmap name too long"));
    error_free(err);
    err = NULL;
    l = bdrv_dirty_bitmap_list(bs);
    g_assert_cmpuint(g_list_length(l), ==, 2);
    g_assert_true(l->data == bm2);      /* newest first */
    g_list_free(l);

    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    /* Reads do not mark; a write, a zero write and a discard do. */
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    memset(buf, 1, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 100 * KiB, 1, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB, 0), ==, 0);
    g_assert_cmpint(blk_pdiscard(blk, 2 * MiB, 128 * KiB), ==, 0);
    /* Guest offsets, not host ones (qcow2). */
    g_assert_cmpint(blk_pwrite(blk, 5 * MiB + 64 * KiB - 1, 2, buf, 0), ==,
                    0);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 6 * 64 * KiB);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 64 * KiB));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 1 * MiB));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 1 * MiB + 64 * KiB));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 2 * MiB + 64 * KiB));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 5 * MiB));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 5 * MiB + 64 * KiB));
    /* The disabled one did not record; enabled, it records. */
    g_assert_cmpuint(bdrv_get_dirty_count(bm2), ==, 0);
    bdrv_enable_dirty_bitmap(bm2);
    g_assert_cmpint(blk_pwrite(blk, 4 * KiB, 1, buf, 0), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(bm2), ==, 4 * KiB);
    bdrv_clear_dirty_bitmap(bm);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    bdrv_release_dirty_bitmap(bm);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "b0"));
    g_assert_true(bdrv_find_dirty_bitmap(bs, "b1") == bm2);
    blk_unref(blk);
    bdrv_unref(bs);                      /* frees b1 with the node */
    unlink(p);
}

/*
 * Bitmaps during a mirror: on the target, the job's writes mark it (data
 * only: the zero writes it skips do not); on the source, the users' writes
 * passing the mirror filter mark it and the job's reads do not.
 */
static void test_dirty_bitmap_mirror(gconstpointer opaque)
{
    MirrorCopyMode mode = GPOINTER_TO_INT(opaque);
    g_autofree char *sp = path("bmm-src.raw");
    g_autofree char *tp = path("bmm-dst.raw");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    BdrvDirtyBitmap *sbm, *tbm;
    MirrorOptions opts;
    Job *job;

    sparse_file(sp, JT_SIZE);
    create_image("file", tp, JT_SIZE, NULL, NULL);
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", sp);
    dst = open_node("driver=file,node-name=dst,filename=%s", tp);
    blk = rw_blk(src);
    write_pattern(blk, 8 * MiB, 2 * MiB, 0x5a);
    sbm = bdrv_create_dirty_bitmap(src, 64 * KiB, "s", &error_abort);
    tbm = bdrv_create_dirty_bitmap(dst, 64 * KiB, "t", &error_abort);
    mirror_options_init(&opts);
    opts.copy_mode = mode;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    g_assert_cmpuint(bdrv_get_dirty_count(sbm), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 2 * MiB);
    g_assert_true(bdrv_dirty_bitmap_get(tbm, 8 * MiB));
    g_assert_false(bdrv_dirty_bitmap_get(tbm, 10 * MiB));
    write_pattern(blk, 15 * MiB + 10, 100, 0x5b);
    g_assert_cmpuint(bdrv_get_dirty_count(sbm), ==, 64 * KiB);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    job_unref(job);
    /* The write reached the target, one way or the other. */
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 2 * MiB + 64 * KiB);
    g_assert_true(bdrv_dirty_bitmap_get(tbm, 15 * MiB));
    /* After the pivot the user's writes mark the target's bitmap. */
    g_assert_true(blk_bs(blk) == dst);
    write_pattern(blk, 0, 1, 0x5c);
    g_assert_true(bdrv_dirty_bitmap_get(tbm, 0));
    g_assert_cmpuint(bdrv_get_dirty_count(sbm), ==, 64 * KiB);
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(dst);
    unlink(sp);
    unlink(tp);
}

/* Registration */

static void add_granularity_tests(GPtrArray *cases)
{
    static const struct {
        int64_t gran, buf;
        MirrorCopyMode mode;
        const char *tgt;
    } g[] = {
        { 512, 0, MIRROR_COPY_MODE_BACKGROUND, "raw" },
        { 4 * KiB, 64 * KiB, MIRROR_COPY_MODE_WRITE_BLOCKING, "qcow2" },
        { 64 * KiB, 4 * KiB, MIRROR_COPY_MODE_BACKGROUND, "qcow2" },
        { 1 * MiB, 1 * MiB, MIRROR_COPY_MODE_BACKGROUND, "raw" },
        { 2 * MiB, 0, MIRROR_COPY_MODE_BACKGROUND, "raw" },
        { 2 * MiB, 1 * MiB, MIRROR_COPY_MODE_WRITE_BLOCKING, "qcow2" },
        { 4 * MiB, 8 * MiB, MIRROR_COPY_MODE_BACKGROUND, "qcow2" },
        { 4 * MiB, 0, MIRROR_COPY_MODE_WRITE_BLOCKING, "raw" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(g); i++) {
        GranCase *c = g_new0(GranCase, 1);

        c->granularity = g[i].gran;
        c->buf_size = g[i].buf;
        c->mode = g[i].mode;
        c->tgt = g[i].tgt;
        c->name = keep_name(g_strdup_printf(
            "/mirror-matrix/granularity/%" PRId64 "-buf-%" PRId64 "/%s/%s",
            c->granularity, c->buf_size, c->tgt, mode_name(c->mode)));
        g_ptr_array_add(cases, c);
        g_test_add_data_func(c->name, c, test_granularity);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func(g_free);
    int ret;

    g_test_init(&argc, &argv, NULL);
    mirror_test_init("emblock-mirror-jobs-XXXXXX");

    g_test_add_func("/mirror-matrix/job/manual-finalize-dismiss",
                    test_manual_finalize_dismiss);
    g_test_add_func("/mirror-matrix/job/cancel-pending", test_cancel_pending);
    g_test_add_data_func("/mirror-matrix/job/force-cancel-ready/background",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_BACKGROUND),
                         test_force_cancel_after_ready);
    g_test_add_data_func("/mirror-matrix/job/force-cancel-ready/"
                         "write-blocking",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_WRITE_BLOCKING),
                         test_force_cancel_after_ready);
    g_test_add_func("/mirror-matrix/job/standby", test_standby);
    g_test_add_func("/mirror-matrix/job/refused-verbs", test_refused_verbs);
    g_test_add_func("/mirror-matrix/job/failed-query", test_failed_job_query);
    g_test_add_data_func("/mirror-matrix/sync-none/background",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_BACKGROUND),
                         test_sync_none);
    g_test_add_data_func("/mirror-matrix/sync-none/write-blocking",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_WRITE_BLOCKING),
                         test_sync_none);
    for (size_t i = 0; i < G_N_ELEMENTS(hint_cases); i++) {
        const HintCase *c = &hint_cases[i];

        g_test_add_data_func(keep_name(g_strdup_printf(
                                 "/mirror-matrix/target-is-zero/%s/%s-%s",
                                 c->hint ? "hint" : "no-hint", c->discard,
                                 c->zeroes)),
                             c, test_target_is_zero);
    }
    add_granularity_tests(cases);
    for (size_t i = 0; i < G_N_ELEMENTS(src_err_cases); i++) {
        const SrcErrCase *c = &src_err_cases[i];

        g_test_add_data_func(keep_name(g_strdup_printf(
                                 "/mirror-matrix/source-error/%s-%s",
                                 blockdev_on_error_names[c->policy],
                                 c->err_no == EIO ? "eio" : "enospc")),
                             c, test_source_error);
    }
    g_test_add_func("/mirror-matrix/target-error/event",
                    test_target_error_event);
    g_test_add_data_func("/mirror-matrix/dirty-bitmap/raw", "raw",
                         test_dirty_bitmap_node);
    g_test_add_data_func("/mirror-matrix/dirty-bitmap/qcow2", "qcow2",
                         test_dirty_bitmap_node);
    g_test_add_data_func("/mirror-matrix/dirty-bitmap/mirror/background",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_BACKGROUND),
                         test_dirty_bitmap_mirror);
    g_test_add_data_func("/mirror-matrix/dirty-bitmap/mirror/"
                         "write-blocking",
                         GINT_TO_POINTER(MIRROR_COPY_MODE_WRITE_BLOCKING),
                         test_dirty_bitmap_mirror);

    ret = g_test_run();

    mirror_test_cleanup();
    return ret;
}
