/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job, beyond test-mirror.c (test-mirror-jobs.c has the rest):
 *
 * - a matrix of sources (file node, raw over file, qcow2, qcow2 over a
 *   qcow2 backing file), targets (raw, qcow2), sync modes (full, top) and
 *   copy modes (background, write-blocking), with random writes, zero
 *   writes (with and without MAY_UNMAP) and discards to the source while
 *   the job runs: after completion the target reads byte for byte like the
 *   source, and both like a model of what was written;
 * - counters: mirroring an all-zero (or mostly zero) source onto a fresh
 *   target writes no zeroes, in both copy modes, and progress counts as
 *   QEMU's does.
 *
 * Images are created with emblock's own bdrv_create(); nothing here needs
 * QEMU installed.  Every wait has a deadline (mirror-test-util.h).
 */
#include "mirror-test-util.h"

/*
 * 1. The matrix: writes to the source while the job runs.
 */

#define MX_SIZE (8 * MiB)
#define MX_STRIPE (1 * MiB)
#define MX_OPS 120              /* per writer; two writers per case */

/* What the source must read as: the data, and which bytes are defined. */
typedef struct Model {
    uint8_t *data;
    uint8_t *known;             /* 0 after a discard: content unspecified */
} Model;

typedef struct Writer {
    BlockBackend *blk;
    Model *model;
    unsigned seed;
    int stripe;                 /* writes only in stripes == this mod 2 */
    int64_t stripe_size;
    int ops_done;
    bool done;
} Writer;

/*
 * Random requests confined to every other stripe (1 MiB, or 16 KiB so that
 * the writers share granules), so the two writers of a case never touch
 * the same bytes and the model does not depend on how they interleave.
 * Lengths from 1 byte to 256 KiB, a third of them aligned to 4 KiB or
 * 64 KiB.
 */
static void coroutine_fn writer_entry(void *opaque)
{
    Writer *w = opaque;
    GRand *rand = g_rand_new_with_seed(w->seed);
    g_autofree uint8_t *buf = g_malloc(256 * KiB);

    for (int i = 0; i < MX_OPS; i++) {
        int64_t ss = w->stripe_size;
        int nstripes = MX_SIZE / ss / 2;
        int64_t sbase = (g_rand_int_range(rand, 0, nstripes) * 2 +
                         w->stripe) * ss;
        int64_t off = sbase + g_rand_int_range(rand, 0, ss);
        int64_t len = g_rand_int_range(rand, 1, 256 * KiB + 1);
        int kind = g_rand_int_range(rand, 0, 10);
        int align = g_rand_int_range(rand, 0, 3);
        int ret;

        if (align) {
            int64_t a = align == 1 ? 4 * KiB : 64 * KiB;

            off = QEMU_ALIGN_DOWN(off, a);
            len = QEMU_ALIGN_UP(len, a);
        }
        len = MIN(len, sbase + ss - off);
        if (kind < 4) {
            int tag = g_rand_int_range(rand, 1, 256);

            fill_pattern(buf, off, len, tag);
            ret = blk_co_pwrite(w->blk, off, len, buf, 0);
            memcpy(w->model->data + off, buf, len);
            memset(w->model->known + off, 1, len);
        } else if (kind < 8) {
            ret = blk_co_pwrite_zeroes(w->blk, off, len,
                                       kind < 6 ? BDRV_REQ_MAY_UNMAP : 0);
            memset(w->model->data + off, 0, len);
            memset(w->model->known + off, 1, len);
        } else {
            ret = blk_co_pdiscard(w->blk, off, len);
            memset(w->model->known + off, 0, len);
        }
        g_assert_cmpint(ret, ==, 0);
        w->ops_done++;
        qemu_co_sleep_ns(g_rand_int_range(rand, 0, 1500000));
    }
    g_rand_free(rand);
    w->done = true;
}

typedef struct MatrixCase {
    const char *src;            /* file, raw, qcow2, qcow2-backing */
    const char *tgt;            /* raw, qcow2 */
    MirrorSyncMode sync;
    MirrorCopyMode mode;
    enum {
        FINISH_AFTER_WRITES,    /* complete once the writers are done */
        FINISH_COMPLETE_BUSY,   /* complete while they still write */
        FINISH_CANCEL_BUSY,     /* force-cancel while they still write */
    } finish;
    int64_t stripe;             /* 0: MX_STRIPE */
    int64_t speed;
    unsigned seed;
    char *name;
} MatrixCase;

static const char *src_format(const char *kind)
{
    return !strcmp(kind, "file") ? "file" :
           !strcmp(kind, "raw") ? "raw" : "qcow2";
}

static BlockDriverState *open_matrix_source(const char *kind, const char *p,
                                            bool ro)
{
    if (!strcmp(kind, "file")) {
        return open_node("driver=file,node-name=src,discard=unmap,"
                         "read-only=%s,filename=%s", ro ? "on" : "off", p);
    }
    return open_node("driver=%s,node-name=src,discard=unmap,read-only=%s,"
                     "file.driver=file,file.filename=%s", src_format(kind),
                     ro ? "on" : "off", p);
}

/* The data the source starts with (base first when there is one). */
static void fill_matrix_source(const MatrixCase *c, const char *sp,
                               const char *bp)
{
    BlockDriverState *bs;
    BlockBackend *blk;

    if (bp) {
        bs = open_node("driver=qcow2,file.driver=file,file.filename=%s", bp);
        blk = rw_blk(bs);
        write_pattern(blk, 0, 3 * MiB, 0x22);
        write_pattern(blk, 5 * MiB, 2 * MiB + 300 * KiB, 0x23);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 5 * MiB + 64 * KiB,
                                          512 * KiB, 0), ==, 0);
        blk_unref(blk);
        bdrv_unref(bs);
    }
    bs = open_matrix_source(c->src, sp, false);
    blk = rw_blk(bs);
    write_pattern(blk, 2 * MiB, 2 * MiB, 0x44);
    write_pattern(blk, 7 * MiB + 1000, 5000, 0x45);
    /* Hides the base's data in the qcow2-backing case. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB, 512 * KiB, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 6 * MiB, 128 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_matrix(gconstpointer opaque)
{
    const MatrixCase *c = opaque;
    bool backing = !strcmp(c->src, "qcow2-backing");
    bool top = c->sync == MIRROR_SYNC_MODE_TOP;
    g_autofree char *bp = backing ? path("mx-%u-base.qcow2", c->seed) : NULL;
    g_autofree char *sp = path("mx-%u-src.img", c->seed);
    g_autofree char *tp = path("mx-%u-tgt.img", c->seed);
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    Model model;
    Writer w[2];
    MirrorOptions opts;
    MirrorStats stats;
    g_autofree uint8_t *s_data = NULL, *t_data = NULL;
    Job *job;

    g_test_message("%s: seed %u (writers %u, %u)", c->name, c->seed,
                   c->seed * 2, c->seed * 2 + 1);
    if (backing) {
        create_image("qcow2", bp, MX_SIZE, NULL, NULL);
    }
    create_image(!strcmp(src_format(c->src), "qcow2") ? "qcow2" : "file",
                 sp, MX_SIZE, bp, NULL);
    fill_matrix_source(c, sp, bp);

    src = open_matrix_source(c->src, sp, false);
    if (!strcmp(c->tgt, "raw")) {
        create_image("file", tp, MX_SIZE, NULL, NULL);
        dst = open_node("driver=raw,node-name=dst,discard=unmap,"
                        "file.driver=file,file.filename=%s", tp);
    } else if (top) {
        /*
         * sync=top copies only what the top layer holds, so the target
         * needs the source's backing chain below it for its content to be
         * the source's: what QEMU users do (libvirt's shallow block copy,
         * drive-mirror sync=top with mode=existing) is create the target
         * with the same backing file and open it over the same backing
         * node.  The comparison below then reads both whole chains.
         */
        create_image("qcow2", tp, MX_SIZE, bp, NULL);
        dst = open_node("{\"driver\": \"qcow2\", \"node-name\": \"dst\", "
                        "\"discard\": \"unmap\", \"backing\": \"%s\", "
                        "\"file\": {\"driver\": \"file\", "
                        "\"filename\": \"%s\"}}",
                        bdrv_get_node_name(bdrv_backing_bs(src)), tp);
    } else {
        create_image("qcow2", tp, MX_SIZE, NULL, NULL);
        dst = open_node("driver=qcow2,node-name=dst,discard=unmap,"
                        "file.driver=file,file.filename=%s", tp);
    }

    blk = rw_blk(src);
    model.data = read_all(src, MX_SIZE);
    model.known = g_malloc(MX_SIZE);
    memset(model.known, 1, MX_SIZE);

    mirror_options_init(&opts);
    opts.sync = c->sync;
    opts.copy_mode = c->mode;
    opts.speed = c->speed;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    for (int i = 0; i < 2; i++) {
        w[i] = (Writer) { .blk = blk, .model = &model, .stripe = i,
                          .stripe_size = c->stripe ? c->stripe : MX_STRIPE,
                          .seed = c->seed * 2 + i };
        qemu_coroutine_enter(qemu_coroutine_create(writer_entry, &w[i]));
    }
    if (c->finish == FINISH_CANCEL_BUSY) {
        /* The users stay on the source, which must get all their writes. */
        if (c->speed) {
            /* Slow enough (seconds) not to be READY after a few writes. */
            WAIT_UNTIL(job_ended(job) || w[0].ops_done >= MX_OPS / 4);
            g_assert_cmpint(job->status, ==, JOB_STATUS_RUNNING);
        } else {
            WAIT_UNTIL(job_ended(job) || (job->status == JOB_STATUS_READY &&
                                          w[0].ops_done >= MX_OPS / 4));
            g_assert_cmpint(job->status, ==, JOB_STATUS_READY);
        }
        job_user_cancel(job, true, &error_abort);
        WAIT_UNTIL(w[0].done && w[1].done);
        wait_for_end(job);
        g_assert_cmpint(job->ret, ==, -ECANCELED);
    } else if (c->finish == FINISH_COMPLETE_BUSY) {
        /* Complete with requests still coming: they go to the target. */
        WAIT_UNTIL(job_ended(job) || (job->status == JOB_STATUS_READY &&
                                      w[0].ops_done >= MX_OPS / 2));
        g_assert_cmpint(job->status, ==, JOB_STATUS_READY);
        job_complete(job, &error_abort);
        WAIT_UNTIL(w[0].done && w[1].done);
    } else {
        WAIT_UNTIL((w[0].done && w[1].done &&
                    job->status == JOB_STATUS_READY) || job_ended(job));
        g_assert_cmpint(job->status, ==, JOB_STATUS_READY);
        job_complete(job, &error_abort);
    }
    wait_for_end(job);
    if (job->ret && c->finish != FINISH_CANCEL_BUSY) {
        g_error("job failed: %s", error_get_pretty(job->err));
    }
    g_assert_true(mirror_get_stats(job, &stats));
    g_test_message("copy %" PRIu64 " zero %" PRIu64 " (+%" PRIu64
                   " skipped) discard %" PRIu64 " active %" PRIu64,
                   stats.copy_ops, stats.zero_ops, stats.zero_ops_skipped,
                   stats.discard_ops, stats.active_writes);
    if (c->mode == MIRROR_COPY_MODE_WRITE_BLOCKING) {
        g_assert_cmpuint(stats.active_writes, >, 0);
    }
    job_unref(job);
    /* Completion pivoted the writers' backend onto the target. */
    g_assert_true(blk_bs(blk) == (c->finish == FINISH_CANCEL_BUSY ? src
                                                                  : dst));
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(dst);

    /* Reopen both from disk: what was written must have been kept. */
    src = open_matrix_source(c->src, sp, true);
    if (!strcmp(c->tgt, "raw")) {
        dst = open_node("driver=raw,read-only=on,file.driver=file,"
                        "file.filename=%s", tp);
    } else {
        dst = open_node("driver=qcow2,read-only=on,file.driver=file,"
                        "file.filename=%s", tp);
        check_qcow2(dst, "target");
        /* Same chain or none, as intended. */
        g_assert_true(!bdrv_backing_bs(dst) == !top);
    }
    if (!strcmp(src_format(c->src), "qcow2")) {
        check_qcow2(src, "source");
    }
    s_data = read_all(src, MX_SIZE);
    t_data = read_all(dst, MX_SIZE);
    bdrv_unref(src);
    bdrv_unref(dst);

    for (int64_t i = 0; i < MX_SIZE && c->finish != FINISH_CANCEL_BUSY;
         i++) {
        if (model.known[i] && t_data[i] != model.data[i]) {
            g_error("target byte %" PRId64 " is 0x%x, wrote 0x%x", i,
                    t_data[i], model.data[i]);
        }
    }
    if (c->finish == FINISH_AFTER_WRITES) {
        assert_same(s_data, t_data, MX_SIZE, "source vs target");
    }
    if (c->finish != FINISH_COMPLETE_BUSY) {
        for (int64_t i = 0; i < MX_SIZE; i++) {
            if (model.known[i] && s_data[i] != model.data[i]) {
                g_error("source byte %" PRId64 " is 0x%x, wrote 0x%x", i,
                        s_data[i], model.data[i]);
            }
        }
    }
    g_free(model.data);
    g_free(model.known);
    unlink(sp);
    unlink(tp);
    if (bp) {
        unlink(bp);
    }
}

/*
 * 2. Counters: an all-zero (or almost) source onto a fresh target.
 */

#define ZC_SIZE (20 * MiB)

typedef struct ZeroCase {
    const char *src;            /* raw, qcow2 */
    const char *tgt;            /* raw, qcow2 */
    int64_t data;               /* bytes of data at 5 MiB (0: all zero) */
    MirrorCopyMode mode;
    char *name;
} ZeroCase;

static void test_zero_counters(gconstpointer opaque)
{
    const ZeroCase *c = opaque;
    g_autofree char *sp = path("zc-src.img");
    g_autofree char *tp = path("zc-tgt.img");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    MirrorStats stats;
    BdrvDirtyBitmap *tbm;
    Event *e;
    Job *job;
    guint first;

    if (!strcmp(c->src, "raw")) {
        sparse_file(sp, ZC_SIZE);
    } else {
        create_image("qcow2", sp, ZC_SIZE, NULL, NULL);
    }
    create_image(!strcmp(c->tgt, "raw") ? "file" : "qcow2", tp, ZC_SIZE,
                 NULL, NULL);
    src = open_node("driver=%s,node-name=src,discard=unmap,"
                    "file.driver=file,file.filename=%s", c->src, sp);
    dst = open_node("driver=%s,node-name=dst,discard=unmap,"
                    "file.driver=file,file.filename=%s", c->tgt, tp);
    blk = rw_blk(src);
    if (!strcmp(c->src, "qcow2")) {
        /*
         * Allocated zero clusters (data, then zeroes without unmap), zero
         * clusters that were unmapped, and unallocated ones: all read as
         * zero and all must be skipped.
         */
        write_pattern(blk, 0, 6 * MiB, 0x31);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 6 * MiB, 0), ==, 0);
        write_pattern(blk, 10 * MiB, 2 * MiB, 0x32);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 10 * MiB, 2 * MiB,
                                          BDRV_REQ_MAY_UNMAP), ==, 0);
    }
    if (c->data) {
        write_pattern(blk, 5 * MiB, c->data, 0x33);
    }

    /* What the job writes to the target marks this; skipped writes not. */
    tbm = bdrv_create_dirty_bitmap(dst, 64 * KiB, "t", &error_abort);

    mirror_options_init(&opts);
    opts.copy_mode = c->mode;
    first = events->len;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    g_assert_true(mirror_get_stats(job, &stats));
    check_progress(job, &stats);
    e = find_event("BLOCK_JOB_READY", &first);
    g_assert_nonnull(e);
    g_assert_cmpint(json_object_get_int_member(e->data, "offset"), ==,
                    job->progress_current);
    g_assert_cmpint(json_object_get_int_member(e->data, "len"), ==,
                    job->progress_current);
    /* Only the data reached the target. */
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, c->data);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_true(mirror_get_stats(job, &stats));
    g_test_message("copy %" PRIu64 "/%" PRIu64 " B, zero %" PRIu64
                   " ops, skipped %" PRIu64 " ops/%" PRIu64 " B, discard %"
                   PRIu64 ", progress %" PRId64, stats.copy_ops,
                   stats.copy_bytes, stats.zero_ops, stats.zero_ops_skipped,
                   stats.zero_bytes_skipped, stats.discard_ops,
                   job->progress_current);
    g_assert_cmpuint(stats.zero_ops, ==, 0);
    g_assert_cmpuint(stats.zero_bytes, ==, 0);
    g_assert_cmpuint(stats.prezero_bytes, ==, 0);
    g_assert_cmpuint(stats.discard_ops, ==, 0);
    g_assert_cmpuint(stats.copy_bytes, ==, c->data);
    g_assert_cmpuint(stats.zero_ops_skipped, >, 0);
    check_progress(job, &stats);
    e = find_event("BLOCK_JOB_COMPLETED", &first);
    g_assert_nonnull(e);
    g_assert_cmpint(json_object_get_int_member(e->data, "offset"), ==,
                    job->progress_current);
    job_unref(job);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, c->data);
    g_assert_true(blk_bs(blk) == dst);
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(dst);
    /* The target holds the data and nothing else. */
    g_assert_cmpint(allocated_bytes(tp), <, c->data + 1 * MiB);
    unlink(sp);
    unlink(tp);
}

/*
 * Write-blocking mode after READY: zero writes to the source over clusters
 * the target already has as zero are skipped (seen on a dirty bitmap of
 * the target node, which only writes that reach it mark); a cluster that
 * got data in between is written again (never wrongly skipped).
 */
static void test_zero_counters_active(void)
{
    g_autofree char *sp = path("za-src.img");
    g_autofree char *tp = path("za-tgt.img");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    BdrvDirtyBitmap *tbm;
    MirrorOptions opts;
    MirrorStats st0, st;
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    g_autofree uint8_t *s_data = NULL, *t_data = NULL;
    int64_t p0, bytes = 0;
    Job *job;

    sparse_file(sp, 8 * MiB);
    create_image("file", tp, 8 * MiB, NULL, NULL);
    src = open_node("driver=raw,node-name=src,discard=unmap,"
                    "file.driver=file,file.filename=%s", sp);
    dst = open_node("driver=file,node-name=dst,discard=unmap,filename=%s",
                    tp);
    tbm = bdrv_create_dirty_bitmap(dst, 64 * KiB, "t", &error_abort);
    blk = rw_blk(src);
    mirror_options_init(&opts);
    opts.copy_mode = MIRROR_COPY_MODE_WRITE_BLOCKING;
    opts.granularity = 64 * KiB;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 0);
    g_assert_true(mirror_get_stats(job, &st0));
    p0 = job->progress_current;

    /* Known zero: skipped, with and without MAY_UNMAP, aligned or not. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 4 * MiB, BDRV_REQ_MAY_UNMAP),
                    ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 100, 300 * KiB, 0), ==, 0);
    bytes += 4 * MiB + 300 * KiB;
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 0);
    g_assert_true(mirror_get_stats(job, &st));
    g_assert_cmpuint(st.active_writes, ==, st0.active_writes + 2);
    g_assert_cmpuint(st.zero_ops, ==, 0);

    /* Data, then zeroes over it: written. */
    memset(buf, 0x77, 64 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 1 * MiB, 64 * KiB, buf, 0), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 64 * KiB);
    bdrv_clear_dirty_bitmap(tbm);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB, 0), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 64 * KiB);
    bdrv_clear_dirty_bitmap(tbm);
    bytes += 2 * 64 * KiB;
    /* Now known zero again, also for a part of the granule. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB + 512, 4 * KiB, 0), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 0);
    /* A few data bytes inside the granule make it unknown again. */
    g_assert_cmpint(blk_pwrite(blk, 1 * MiB + 1000, 10, buf, 0), ==, 0);
    bdrv_clear_dirty_bitmap(tbm);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(tbm), ==, 64 * KiB);
    bytes += 4 * KiB + 10 + 64 * KiB;
    /* QEMU counts every active write's bytes as progress, skipped or not. */
    g_assert_cmpint(job->progress_current, ==, p0 + bytes);
    g_assert_cmpint(job->progress_total, ==, job->progress_current);

    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    job_unref(job);
    blk_unref(blk);
    s_data = read_all(src, 8 * MiB);
    t_data = read_all(dst, 8 * MiB);
    assert_same(s_data, t_data, 8 * MiB, "source vs target");
    for (int64_t i = 0; i < 8 * MiB; i++) {
        g_assert_cmpint(t_data[i], ==, 0);
    }
    bdrv_unref(src);
    bdrv_unref(dst);
    g_assert_cmpint(allocated_bytes(tp), <, 512 * KiB);
    unlink(sp);
    unlink(tp);
}

/* Registration */

static void add_matrix_tests(GPtrArray *cases)
{
    static const char *const srcs[] = { "file", "raw", "qcow2",
                                        "qcow2-backing" };
    static const char *const tgts[] = { "raw", "qcow2" };
    unsigned seed = 1000;

    for (int s = 0; s < 4; s++) {
        for (int t = 0; t < 2; t++) {
            for (int sync = 0; sync < 2; sync++) {
                for (int m = 0; m < 2; m++) {
                    MatrixCase *c;

                    /* sync=top only over a backing file, onto qcow2. */
                    if (sync && (strcmp(srcs[s], "qcow2-backing") ||
                                 strcmp(tgts[t], "qcow2"))) {
                        continue;
                    }
                    c = g_new0(MatrixCase, 1);
                    c->src = srcs[s];
                    c->tgt = tgts[t];
                    c->sync = sync ? MIRROR_SYNC_MODE_TOP
                                   : MIRROR_SYNC_MODE_FULL;
                    c->mode = m;
                    c->seed = seed++;
                    c->name = keep_name(g_strdup_printf(
                        "/mirror-matrix/writes/%s/%s/%s/%s", c->src, c->tgt,
                        sync ? "top" : "full", mode_name(c->mode)));
                    g_ptr_array_add(cases, c);
                    g_test_add_data_func(c->name, c, test_matrix);
                }
            }
        }
    }
    /*
     * Writers sharing granules (16 KiB stripes), completion or a force
     * cancel (before and after READY) while the writers are still busy.
     */
    for (int i = 0; i < 16; i++) {
        MatrixCase *c = g_new0(MatrixCase, 1);
        static const char *const what[] = { "fine-stripes",
                                            "complete-under-load",
                                            "cancel-under-load",
                                            "cancel-before-ready" };
        int kind = i / 4;

        c->src = i % 4 < 2 ? "raw" : "qcow2-backing";
        c->tgt = i % 4 < 2 ? "raw" : "qcow2";
        c->sync = MIRROR_SYNC_MODE_FULL;
        c->mode = i % 2;
        c->finish = kind == 0 ? FINISH_AFTER_WRITES :
                    kind == 1 ? FINISH_COMPLETE_BUSY : FINISH_CANCEL_BUSY;
        c->stripe = kind == 0 ? 16 * KiB : 0;
        c->speed = kind == 3 ? 2 * MiB : 0;
        c->seed = seed++;
        c->name = keep_name(g_strdup_printf(
            "/mirror-matrix/%s/%s/%s/%s", what[kind], c->src, c->tgt,
            mode_name(c->mode)));
        g_ptr_array_add(cases, c);
        g_test_add_data_func(c->name, c, test_matrix);
    }
}

static void add_zero_tests(GPtrArray *cases)
{
    static const char *const fmts[] = { "raw", "qcow2" };

    for (int s = 0; s < 2; s++) {
        for (int t = 0; t < 2; t++) {
            for (int m = 0; m < 2; m++) {
                for (int d = 0; d < 2; d++) {
                    ZeroCase *c = g_new0(ZeroCase, 1);

                    c->src = fmts[s];
                    c->tgt = fmts[t];
                    c->mode = m;
                    c->data = d ? 1 * MiB + 64 * KiB : 0;
                    c->name = keep_name(g_strdup_printf(
                        "/mirror-matrix/counters/%s/%s-to-%s/%s",
                        d ? "mostly-zero" : "all-zero", c->src, c->tgt,
                        mode_name(c->mode)));
                    g_ptr_array_add(cases, c);
                    g_test_add_data_func(c->name, c, test_zero_counters);
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func(g_free);
    int ret;

    g_test_init(&argc, &argv, NULL);
    mirror_test_init("emblock-mirror-matrix-XXXXXX");

    add_matrix_tests(cases);
    add_zero_tests(cases);
    g_test_add_func("/mirror-matrix/counters/write-blocking-skips",
                    test_zero_counters_active);

    ret = g_test_run();

    mirror_test_cleanup();
    return ret;
}
