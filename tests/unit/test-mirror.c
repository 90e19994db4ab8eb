/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job: the sparse-target table of the mirror issue (raw
 * source), events and their order, progress counters and the zero bitmap,
 * writes to the source during the job in both copy modes, cancel, pause
 * and error policies.
 */
#include "mirror-test-util.h"

/*
 * The temporary directory, event record, waits, path(), open_node(),
 * sparse_file(), allocated_bytes(), the source/target pair and the
 * failing filter come from mirror-test-util.c.
 */

#define SRC_SIZE (20 * MiB)
/* The cancel, pause and error tests use setup_pair()'s images. */
G_STATIC_ASSERT(SRC_SIZE == JT_SIZE);

/* Fill [@off, @off + @len) of the file @p with the byte @c. */
static void write_file_pattern(const char *p, int64_t off, int64_t len,
                               int c)
{
    int fd = open(p, O_WRONLY);
    g_autofree char *buf = g_malloc(len);

    g_assert_cmpint(fd, >=, 0);
    memset(buf, c, len);
    g_assert_cmpint(pwrite(fd, buf, len, off), ==, len);
    close(fd);
}

/* The two files have the same length and bytes. */
static bool files_equal(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize la, lb;

    g_assert_true(g_file_get_contents(a, &da, &la, NULL));
    g_assert_true(g_file_get_contents(b, &db, &lb, NULL));
    return la == lb && memcmp(da, db, la) == 0;
}

/* Run a full mirror of @src to @dst to completion; returns the job's ret. */
static int mirror_to_end(BlockDriverState *src, BlockDriverState *dst,
                         const MirrorOptions *opts, MirrorStats *stats,
                         int64_t *len, int64_t *offset)
{
    Job *job = mirror_start("job0", src, dst, opts, &error_abort);
    int ret;

    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    g_assert_cmpint(job->status, ==, JOB_STATUS_READY);
    if (len) {
        *len = job->progress_total;
        *offset = job->progress_current;
    }
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_true(mirror_get_stats(job, stats));
    ret = job->ret;
    job_unref(job);
    return ret;
}

/* A 20 MiB qcow2 image with 2 MiB of 0x5a at 8 MiB. */
static void make_qcow2_source(const char *p)
{
    BlockBackend *blk;
    g_autofree uint8_t *buf = g_malloc(2 * MiB);

    create_image("qcow2", p, SRC_SIZE, NULL, NULL);
    blk = blk_new_open(p, "qcow2", NULL, true, &error_abort);
    memset(buf, 0x5a, 2 * MiB);
    g_assert_cmpint(blk_pwrite(blk, 8 * MiB, 2 * MiB, buf, 0), ==, 0);
    blk_unref(blk);
}

/* The raw target holds zeroes with 2 MiB of 0x5a at 8 MiB. */
static void check_expected_content(const char *p)
{
    g_autofree uint8_t *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(p, (char **)&data, &len, NULL));
    g_assert_cmpuint(len, ==, SRC_SIZE);
    for (gsize i = 0; i < len; i++) {
        uint8_t want = i >= 8 * MiB && i < 10 * MiB ? 0x5a : 0;

        if (data[i] != want) {
            g_error("byte %zu is 0x%x, expected 0x%x", i, data[i], want);
        }
    }
}

/* The outcome table of the mirror issue, for raw and qcow2 sources. */
typedef struct SparseCase {
    const char *format;       /* the source's: "raw" or "qcow2" */
    const char *creation;     /* "external", "off", "full" */
    const char *discard;
    const char *zeroes;
    bool sparse;
} SparseCase;

static const SparseCase sparse_cases[] = {
    { "raw", "external", "ignore", "off", true },
    { "raw", "external", "unmap", "off", true },
    { "raw", "external", "unmap", "unmap", true },
    { "raw", "off", "ignore", "off", true },
    { "raw", "off", "unmap", "off", true },
    { "raw", "off", "unmap", "unmap", true },
    { "raw", "full", "ignore", "off", false },
    { "raw", "full", "unmap", "off", true },
    { "raw", "full", "unmap", "unmap", true },
    { "qcow2", "external", "ignore", "off", true },
    { "qcow2", "external", "unmap", "off", true },
    { "qcow2", "external", "unmap", "unmap", true },
    { "qcow2", "off", "ignore", "off", true },
    { "qcow2", "off", "unmap", "off", true },
    { "qcow2", "off", "unmap", "unmap", true },
    { "qcow2", "full", "ignore", "off", false },
    { "qcow2", "full", "unmap", "off", true },
    { "qcow2", "full", "unmap", "unmap", true },
};

static void test_sparse_table(gconstpointer opaque)
{
    const SparseCase *c = opaque;
    g_autofree char *src_path = path("src.raw");
    g_autofree char *dst_path = path("dst.raw");
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    MirrorStats stats;
    int64_t alloc;

    if (!strcmp(c->format, "qcow2")) {
        make_qcow2_source(src_path);
    } else {
        sparse_file(src_path, SRC_SIZE);
        write_file_pattern(src_path, 8 * MiB, 2 * MiB, 0x5a);
    }
    if (!strcmp(c->creation, "external")) {
        sparse_file(dst_path, SRC_SIZE);
    } else {
        create_image("file", dst_path, SRC_SIZE, NULL, c->creation);
    }

    src = open_node("driver=%s,node-name=src,file.driver=file,"
                    "file.filename=%s", c->format, src_path);
    dst = open_node("driver=file,node-name=dst,filename=%s,discard=%s,"
                    "detect-zeroes=%s", dst_path, c->discard, c->zeroes);
    mirror_options_init(&opts);
    g_assert_cmpint(mirror_to_end(src, dst, &opts, &stats, NULL, NULL),
                    ==, 0);
    bdrv_unref(src);
    bdrv_unref(dst);

    alloc = allocated_bytes(dst_path);
    g_test_message("%s/%s/%s: %" PRId64 " bytes allocated", c->creation,
                   c->discard, c->zeroes, alloc);
    if (c->sparse) {
        g_assert_cmpint(alloc, <, 4 * MiB);
    } else {
        g_assert_cmpint(alloc, >, 19 * MiB);
    }
    check_expected_content(dst_path);
    unlink(src_path);
    unlink(dst_path);
}

static void test_events_and_counters(void)
{
    g_autofree char *src_path = path("ev-src.raw");
    g_autofree char *dst_path = path("ev-dst.raw");
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    MirrorStats stats;
    int64_t len, offset;
    static const char *const expected[] = {
        "JOB_STATUS_CHANGE:created", "JOB_STATUS_CHANGE:running",
        "JOB_STATUS_CHANGE:ready", "BLOCK_JOB_READY",
        "JOB_STATUS_CHANGE:waiting", "JOB_STATUS_CHANGE:pending",
        "BLOCK_JOB_COMPLETED", "JOB_STATUS_CHANGE:concluded",
        "JOB_STATUS_CHANGE:null",
    };

    sparse_file(src_path, SRC_SIZE);
    write_file_pattern(src_path, 8 * MiB, 2 * MiB, 0x5a);
    sparse_file(dst_path, SRC_SIZE);
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", src_path);
    dst = open_node("driver=file,node-name=dst,filename=%s", dst_path);
    g_ptr_array_set_size(events, 0);
    mirror_options_init(&opts);
    g_assert_cmpint(mirror_to_end(src, dst, &opts, &stats, &len, &offset),
                    ==, 0);
    check_event_order(0, expected, G_N_ELEMENTS(expected));
    /*
     * The target was all zero: the 18 MiB of holes were skipped, not
     * written.  Progress counts the whole (raw, so all dirty) source, the
     * skipped zero writes included, as QEMU's does (facts 5.7).
     */
    g_assert_cmpuint(stats.zero_ops, ==, 0);
    g_assert_cmpuint(stats.zero_bytes_skipped, ==, 18 * MiB);
    g_assert_cmpuint(stats.copy_bytes, ==, 2 * MiB);
    g_assert_cmpint(offset, ==, SRC_SIZE);
    g_assert_cmpint(len, ==, SRC_SIZE);
    bdrv_unref(src);
    bdrv_unref(dst);
    g_assert_true(files_equal(src_path, dst_path));
}

/* Writes to the source while the job runs */

typedef struct Writer {
    BlockBackend *blk;
    int64_t size;
    int ops;
    unsigned seed;
    bool done;
} Writer;

static void coroutine_fn writer_entry(void *opaque)
{
    Writer *w = opaque;
    GRand *rand = g_rand_new_with_seed(w->seed);
    g_autofree uint8_t *buf = g_malloc(256 * 1024);

    for (int i = 0; i < w->ops; i++) {
        int64_t len = g_rand_int_range(rand, 1, 256 * 1024);
        int64_t off = g_rand_int_range(rand, 0, w->size - len);
        int kind = g_rand_int_range(rand, 0, 4);
        int ret;

        if (kind == 0) {
            memset(buf, g_rand_int_range(rand, 1, 256), len);
            ret = blk_co_pwrite(w->blk, off, len, buf, 0);
        } else if (kind == 1) {
            ret = blk_co_pwrite_zeroes(w->blk, off, len, BDRV_REQ_MAY_UNMAP);
        } else if (kind == 2) {
            ret = blk_co_pwrite_zeroes(w->blk, off, len, 0);
        } else {
            /* Aligned, so the file really punches and reads zero. */
            off = QEMU_ALIGN_DOWN(off, 4096);
            len = QEMU_ALIGN_UP(len, 4096);
            ret = blk_co_pdiscard(w->blk, off, MIN(len, w->size - off));
        }
        g_assert_cmpint(ret, ==, 0);
        qemu_co_sleep_ns(g_rand_int_range(rand, 0, 2000000));
    }
    g_rand_free(rand);
    w->done = true;
}

static void run_with_writer(MirrorCopyMode mode, unsigned seed)
{
    g_autofree char *src_path = path("w-src.raw");
    g_autofree char *dst_path = path("w-dst.raw");
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    MirrorStats stats;
    Writer w = { .size = 8 * MiB, .ops = 200, .seed = seed };
    Job *job;

    sparse_file(src_path, 8 * MiB);
    write_file_pattern(src_path, 1 * MiB, 3 * MiB, 0x11);
    sparse_file(dst_path, 8 * MiB);
    src = open_node("driver=raw,node-name=src,discard=unmap,"
                    "file.driver=file,file.filename=%s", src_path);
    dst = open_node("driver=file,node-name=dst,discard=unmap,filename=%s",
                    dst_path);
    blk = rw_blk(src);
    w.blk = blk;
    mirror_options_init(&opts);
    opts.copy_mode = mode;
    opts.granularity = 65536;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    /* The user's backend now sits above the mirror filter. */
    g_assert_cmpstr(bdrv_get_format_name(blk_bs(blk)), ==, "mirror_top");
    qemu_coroutine_enter(qemu_coroutine_create(writer_entry, &w));
    WAIT_UNTIL((w.done && job->status == JOB_STATUS_READY) ||
               job->status == JOB_STATUS_CONCLUDED);
    g_assert_cmpint(job->status, !=, JOB_STATUS_CONCLUDED);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_true(mirror_get_stats(job, &stats));
    if (mode == MIRROR_COPY_MODE_WRITE_BLOCKING) {
        g_assert_cmpuint(stats.active_writes, >, 0);
    }
    job_unref(job);
    /* Completion pivoted the user onto the target. */
    g_assert_true(blk_bs(blk) == dst);
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(dst);
    g_assert_true(files_equal(src_path, dst_path));
}

static void test_writes_background(void)
{
    run_with_writer(MIRROR_COPY_MODE_BACKGROUND, 1);
    run_with_writer(MIRROR_COPY_MODE_BACKGROUND, 2);
}

static void test_writes_write_blocking(void)
{
    run_with_writer(MIRROR_COPY_MODE_WRITE_BLOCKING, 3);
    run_with_writer(MIRROR_COPY_MODE_WRITE_BLOCKING, 4);
}

/* Cancel, pause, size mismatch */

static void test_cancel_before_ready(void)
{
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;

    setup_pair("cancel", &src, &dst);
    blk = blk_new_with_bs(src, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    mirror_options_init(&opts);
    opts.speed = 1 * MiB;           /* slow enough not to get ready */
    g_ptr_array_set_size(events, 0);
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    for (int i = 0; i < 10; i++) {
        aio_poll(qemu_get_aio_context(), false);
    }
    g_assert_cmpint(job->status, ==, JOB_STATUS_RUNNING);
    job_user_cancel(job, false, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    g_assert_nonnull(find_event("BLOCK_JOB_CANCELLED", NULL));
    job_unref(job);
    /* The filter is gone and the source is where it was. */
    g_assert_true(blk_bs(blk) == src);
    blk_unref(blk);
    teardown_pair("cancel", src, dst);
}

static void test_soft_cancel_after_ready(void)
{
    BlockDriverState *src, *dst;
    BlockBackend *blk;
    MirrorOptions opts;
    Job *job;

    setup_pair("soft", &src, &dst);
    blk = blk_new_with_bs(src, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    mirror_options_init(&opts);
    g_ptr_array_set_size(events, 0);
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_status(job, JOB_STATUS_READY);
    job_user_cancel(job, false, &error_abort);
    wait_for_end(job);
    /* Finished in sync, successfully, but without the pivot. */
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_nonnull(find_event("BLOCK_JOB_COMPLETED", NULL));
    g_assert_true(blk_bs(blk) == src);
    job_unref(job);
    blk_unref(blk);
    teardown_pair("soft", src, dst);
}

static void test_pause_resume(void)
{
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    Error *err = NULL;
    Job *job;
    int64_t progress;

    setup_pair("pause", &src, &dst);
    mirror_options_init(&opts);
    opts.speed = 4 * MiB;
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    job_user_pause(job, &error_abort);
    job_user_pause(job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==, "Job is already paused");
    error_free(err);
    err = NULL;
    wait_for_status(job, JOB_STATUS_PAUSED);
    g_assert_cmpint(job->status, ==, JOB_STATUS_PAUSED);
    progress = job->progress_current;
    for (int i = 0; i < 20; i++) {
        aio_poll(qemu_get_aio_context(), false);
    }
    g_assert_cmpint(job->progress_current, ==, progress);
    job_complete(job, &err);
    g_assert_nonnull(strstr(error_get_pretty(err), "cannot accept command "
                            "verb 'complete'"));
    error_free(err);
    err = NULL;
    job_user_resume(job, &error_abort);
    job_user_resume(job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Can't resume a job that was not paused");
    error_free(err);
    job_set_speed(job, 0, &error_abort);
    wait_for_status(job, JOB_STATUS_READY);
    job_complete(job, &error_abort);
    wait_for_end(job);
    g_assert_cmpint(job->ret, ==, 0);
    job_unref(job);
    teardown_pair("pause", src, dst);
}

static void test_size_mismatch(void)
{
    g_autofree char *src_path = path("size-src.raw");
    g_autofree char *dst_path = path("size-dst.raw");
    BlockDriverState *src, *dst;
    MirrorOptions opts;
    Job *job;

    /* Not setup_pair(): the target must be half the source's size. */
    sparse_file(src_path, SRC_SIZE);
    write_file_pattern(src_path, 0, 4 * MiB, 0x33);
    sparse_file(dst_path, SRC_SIZE / 2);
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", src_path);
    dst = open_node("driver=file,node-name=dst,filename=%s", dst_path);
    mirror_options_init(&opts);
    job = mirror_start("job0", src, dst, &opts, &error_abort);
    job_ref(job);
    wait_for_end(job);
    g_assert_cmpint(job->ret, <, 0);
    g_assert_cmpstr(error_get_pretty(job->err), ==,
                    "Source and target image have different sizes");
    job_unref(job);
    teardown_pair("size", src, dst);
}

/* Error policies, with a filter over the target that fails writes */

static void run_error_policy(BlockdevOnError policy, int err_no,
                             const char *expected_action)
{
    BlockDriverState *src, *dst, *fdst;
    MirrorOptions opts;
    Job *job;

    setup_pair("err", &src, &dst);
    fdst = open_fail_filter("fdst", "dst");
    mirror_options_init(&opts);
    opts.on_target_error = policy;
    inject.write_errno = err_no;
    inject.writes_failed = 0;
    g_ptr_array_set_size(events, 0);
    job = mirror_start("job0", src, fdst, &opts, &error_abort);
    job_ref(job);
    WAIT_UNTIL(inject.writes_failed > 0);
    if (!strcmp(expected_action, "report")) {
        wait_for_end(job);
        g_assert_cmpint(job->ret, ==, -err_no);
        g_assert_nonnull(job->err);
    } else {
        if (!strcmp(expected_action, "stop")) {
            wait_for_status(job, JOB_STATUS_PAUSED);
            g_assert_cmpint(job->status, ==, JOB_STATUS_PAUSED);
            g_assert_cmpint(job->iostatus, ==, err_no == ENOSPC ?
                            BLOCK_DEVICE_IO_STATUS_NOSPACE :
                            BLOCK_DEVICE_IO_STATUS_FAILED);
            inject.write_errno = 0;
            job_user_resume(job, &error_abort);
        } else {
            /* ignore: failing ranges stay dirty and are retried. */
            for (int i = 0; i < 20; i++) {
                aio_poll(qemu_get_aio_context(), false);
            }
            inject.write_errno = 0;
        }
        wait_for_status(job, JOB_STATUS_READY);
        job_complete(job, &error_abort);
        wait_for_end(job);
        g_assert_cmpint(job->ret, ==, 0);
    }
    g_assert_nonnull(find_event("BLOCK_JOB_ERROR", NULL));
    job_unref(job);
    inject.write_errno = 0;
    bdrv_unref(fdst);
    if (strcmp(expected_action, "report")) {
        g_autofree char *a = path("err-src.raw");
        g_autofree char *b = path("err-dst.raw");

        bdrv_unref(src);
        bdrv_unref(dst);
        g_assert_true(files_equal(a, b));
        unlink(a);
        unlink(b);
    } else {
        teardown_pair("err", src, dst);
    }
}

static void test_error_report(void)
{
    run_error_policy(BLOCKDEV_ON_ERROR_REPORT, EIO, "report");
}

static void test_error_ignore(void)
{
    run_error_policy(BLOCKDEV_ON_ERROR_IGNORE, EIO, "ignore");
}

static void test_error_stop(void)
{
    run_error_policy(BLOCKDEV_ON_ERROR_STOP, EIO, "stop");
}

static void test_error_enospc(void)
{
    run_error_policy(BLOCKDEV_ON_ERROR_ENOSPC, ENOSPC, "stop");
    run_error_policy(BLOCKDEV_ON_ERROR_ENOSPC, EIO, "report");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    mirror_test_init("emblock-mirror-XXXXXX");
    for (size_t i = 0; i < G_N_ELEMENTS(sparse_cases); i++) {
        const SparseCase *c = &sparse_cases[i];
        g_autofree char *name = g_strdup_printf("/mirror/sparse/%s/%s-%s-%s",
                                                c->format, c->creation,
                                                c->discard, c->zeroes);
        g_test_add_data_func(name, c, test_sparse_table);
    }
    g_test_add_func("/mirror/events-and-counters", test_events_and_counters);
    g_test_add_func("/mirror/writes/background", test_writes_background);
    g_test_add_func("/mirror/writes/write-blocking",
                    test_writes_write_blocking);
    g_test_add_func("/mirror/cancel/before-ready", test_cancel_before_ready);
    g_test_add_func("/mirror/cancel/soft-after-ready",
                    test_soft_cancel_after_ready);
    g_test_add_func("/mirror/pause-resume", test_pause_resume);
    g_test_add_func("/mirror/size-mismatch", test_size_mismatch);
    g_test_add_func("/mirror/error/report", test_error_report);
    g_test_add_func("/mirror/error/ignore", test_error_ignore);
    g_test_add_func("/mirror/error/stop", test_error_stop);
    g_test_add_func("/mirror/error/enospc", test_error_enospc);
    ret = g_test_run();
    mirror_test_cleanup();
    return ret;
}
