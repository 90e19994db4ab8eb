/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job: the sparse-target table of the mirror issue (raw
 * source), events and their order, progress counters and the zero bitmap,
 * writes to the source during the job in both copy modes, cancel, pause
 * and error policies.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/mirror.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

#define MiB (1024 * 1024)
#define SRC_SIZE (20 * MiB)
/* Every wait in this file gives up after this long. */
#define TIMEOUT_NS (30 * 1000000000LL)

static char *tmpdir;
static GPtrArray *events;

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    const char *status = json_object_has_member(data, "status") ?
        json_object_get_string_member(data, "status") : NULL;

    g_ptr_array_add(events, status ? g_strdup_printf("%s:%s", event, status)
                                   : g_strdup(event));
}

static char *path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

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

static void truncate_file(const char *p, int64_t size)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
}

static int64_t allocated_bytes(const char *p)
{
    struct stat st;

    g_assert_cmpint(stat(p, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

static bool files_equal(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize la, lb;

    g_assert_true(g_file_get_contents(a, &da, &la, NULL));
    g_assert_true(g_file_get_contents(b, &db, &lb, NULL));
    return la == lb && memcmp(da, db, la) == 0;
}

static BlockDriverState *open_node(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static BlockDriverState *open_node(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *str = NULL;
    Error *err = NULL;
    BlockDriverState *bs;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    bs = bdrv_open_string(str, &err);
    if (!bs) {
        g_error("open %s: %s", str, error_get_pretty(err));
    }
    return bs;
}

/* Poll until @job is in @status (or concluded), failing after a timeout. */
static void wait_for_status(Job *job, JobStatus status)
{
    int64_t deadline = get_clock_ns() + TIMEOUT_NS;

    while (job->status != status && job->status != JOB_STATUS_NULL &&
           job->status != JOB_STATUS_CONCLUDED) {
        g_assert_cmpint(get_clock_ns(), <, deadline);
        aio_poll(qemu_get_aio_context(), true);
    }
}

static void wait_for_end(Job *job)
{
    int64_t deadline = get_clock_ns() + TIMEOUT_NS;

    while (job->status != JOB_STATUS_NULL &&
           job->status != JOB_STATUS_CONCLUDED) {
        g_assert_cmpint(get_clock_ns(), <, deadline);
        aio_poll(qemu_get_aio_context(), true);
    }
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

/* The outcome table of the mirror issue, raw source. */
typedef struct SparseCase {
    const char *creation;     /* "external", "off", "full" */
    const char *discard;
    const char *zeroes;
    bool sparse;
} SparseCase;

static const SparseCase sparse_cases[] = {
    { "external", "ignore", "off", true },
    { "external", "unmap", "off", true },
    { "external", "unmap", "unmap", true },
    { "off", "ignore", "off", true },
    { "off", "unmap", "off", true },
    { "off", "unmap", "unmap", true },
    { "full", "ignore", "off", false },
    { "full", "unmap", "off", true },
    { "full", "unmap", "unmap", true },
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

    truncate_file(src_path, SRC_SIZE);
    write_file_pattern(src_path, 8 * MiB, 2 * MiB, 0x5a);
    if (!strcmp(c->creation, "external")) {
        truncate_file(dst_path, SRC_SIZE);
    } else {
        JsonObject *o = qdict_new();

        qdict_put_str(o, "driver", "file");
        qdict_put_str(o, "filename", dst_path);
        qdict_put_int(o, "size", SRC_SIZE);
        qdict_put_str(o, "preallocation", c->creation);
        unlink(dst_path);
        g_assert_cmpint(bdrv_create(o, &error_abort), ==, 0);
        qdict_unref(o);
    }

    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", src_path);
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
    g_assert_true(files_equal(src_path, dst_path));
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

    truncate_file(src_path, SRC_SIZE);
    write_file_pattern(src_path, 8 * MiB, 2 * MiB, 0x5a);
    truncate_file(dst_path, SRC_SIZE);
    src = open_node("driver=raw,node-name=src,file.driver=file,"
                    "file.filename=%s", src_path);
    dst = open_node("driver=file,node-name=dst,filename=%s", dst_path);
    g_ptr_array_set_size(events, 0);
    mirror_options_init(&opts);
    g_assert_cmpint(mirror_to_end(src, dst, &opts, &stats, &len, &offset),
                    ==, 0);
    g_assert_cmpuint(events->len, ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < events->len; i++) {
        g_assert_cmpstr(events->pdata[i], ==, expected[i]);
    }
    /*
     * The target was all zero: the 18 MiB of holes were skipped, not
     * written, and only the 2 MiB of data count as progress.
     */
    g_assert_cmpuint(stats.zero_ops, ==, 0);
    g_assert_cmpuint(stats.zero_bytes_skipped, ==, 18 * MiB);
    g_assert_cmpuint(stats.copy_bytes, ==, 2 * MiB);
    g_assert_cmpint(offset, ==, 2 * MiB);
    g_assert_cmpint(len, ==, 2 * MiB);
    bdrv_unref(src);
    bdrv_unref(dst);
    g_assert_true(files_equal(src_path, dst_path));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("emblock-mirror-XXXXXX", NULL);
    events = g_ptr_array_new_with_free_func(g_free);
    job_add_event_listener(record_event, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(sparse_cases); i++) {
        const SparseCase *c = &sparse_cases[i];
        g_autofree char *name = g_strdup_printf("/mirror/sparse/raw/%s-%s-%s",
                                                c->creation, c->discard,
                                                c->zeroes);
        g_test_add_data_func(name, c, test_sparse_table);
    }
    g_test_add_func("/mirror/events-and-counters", test_events_and_counters);
    ret = g_test_run();
    job_remove_event_listener(record_event, NULL);
    g_ptr_array_free(events, TRUE);
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
