/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the mirror job tests (see mirror-test-util.h).  Every
 * wait has a deadline (TIMEOUT_NS), and a watchdog timer makes sure a
 * blocking aio_poll() wakes up to check it.
 */
#include "mirror-test-util.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *tmpdir;
static QEMUTimer *watchdog;
static GPtrArray *case_names;

/* Events, with their data */

GPtrArray *events;

static void event_free(gpointer p)
{
    Event *e = p;

    g_free(e->name);
    qdict_unref(e->data);
    g_free(e);
}

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    Event *e = g_new(Event, 1);

    e->name = g_strdup(event);
    e->data = qdict_clone(data);
    g_ptr_array_add(events, e);
}

/* "NAME" or "JOB_STATUS_CHANGE:status", for order checks. */
char *event_str(const Event *e)
{
    if (!strcmp(e->name, "JOB_STATUS_CHANGE")) {
        return g_strdup_printf("%s:%s", e->name,
                               json_object_get_string_member(e->data,
                                                             "status"));
    }
    return g_strdup(e->name);
}

/* The first event called @name at or after index *from (NULL if none). */
Event *find_event(const char *name, guint *from)
{
    for (guint i = from ? *from : 0; i < events->len; i++) {
        Event *e = events->pdata[i];

        if (!strcmp(e->name, name)) {
            if (from) {
                *from = i + 1;
            }
            return e;
        }
    }
    return NULL;
}

guint count_events(const char *name)
{
    guint n = 0;

    for (guint i = 0; i < events->len; i++) {
        n += !strcmp(((Event *)events->pdata[i])->name, name);
    }
    return n;
}

/* Assert that the events from index @from on are exactly @expected. */
void check_event_order(guint from, const char *const *expected, guint n)
{
    g_autoptr(GString) got = g_string_new(NULL);

    for (guint i = from; i < events->len; i++) {
        g_autofree char *s = event_str(events->pdata[i]);

        g_string_append_printf(got, "%s%s", i > from ? " " : "", s);
    }
    if (events->len - from != n) {
        g_error("events: %s (expected %u)", got->str, n);
    }
    for (guint i = 0; i < n; i++) {
        g_autofree char *s = event_str(events->pdata[from + i]);

        if (strcmp(s, expected[i])) {
            g_error("event %u is %s, expected %s; all: %s", i, s,
                    expected[i], got->str);
        }
    }
}

/* The member names of @o, sorted and comma-separated. */
char *members(JsonObject *o)
{
    GList *l = json_object_get_members(o);
    g_autoptr(GString) s = g_string_new(NULL);

    l = g_list_sort(l, (GCompareFunc)strcmp);
    for (GList *i = l; i; i = i->next) {
        g_string_append_printf(s, "%s%s", i == l ? "" : ",",
                               (char *)i->data);
    }
    g_list_free(l);
    return g_strdup(s->str);
}

/* Waiting with a deadline */

static void watchdog_cb(void *opaque)
{
}

/* One blocking poll that cannot sleep longer than 20 ms. */
void poll_once(void)
{
    timer_mod_ns(watchdog, qemu_clock_get_ns() + 20 * 1000000LL);
    aio_poll(qemu_get_aio_context(), true);
}

bool job_ended(Job *job)
{
    return job->status == JOB_STATUS_NULL ||
           job->status == JOB_STATUS_CONCLUDED;
}

/* Wait for @status; fails if the job ends first. */
void wait_for_status(Job *job, JobStatus status)
{
    WAIT_UNTIL(job->status == status || job_ended(job));
    if (job->status != status) {
        g_error("job ended (ret %d: %s) while waiting for %s", job->ret,
                job->err ? error_get_pretty(job->err) : "-",
                job_status_names[status]);
    }
}

void wait_for_end(Job *job)
{
    WAIT_UNTIL(job_ended(job));
}

/* Poll for a while (the job gets to run), without waiting for anything. */
void poll_for_ms(int ms)
{
    int64_t end = get_clock_ns() + ms * 1000000LL;

    while (get_clock_ns() < end) {
        poll_once();
    }
}

/* Images and nodes */

char *path(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *name = NULL;

    va_start(ap, fmt);
    name = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return g_build_filename(tmpdir, name, NULL);
}

/*
 * Create an image with emblock's own bdrv_create: @driver "file" (a sparse
 * raw file) or "qcow2", optionally with a qcow2 backing file and a
 * preallocation mode for files.
 */
void create_image(const char *driver, const char *p, int64_t size,
                  const char *backing, const char *prealloc)
{
    JsonObject *o = qdict_new();

    unlink(p);
    qdict_put_str(o, "driver", driver);
    qdict_put_str(o, "filename", p);
    qdict_put_int(o, "size", size);
    if (backing) {
        qdict_put_str(o, "backing_file", backing);
        qdict_put_str(o, "backing_fmt", "qcow2");
    }
    if (prealloc) {
        qdict_put_str(o, "preallocation", prealloc);
    }
    g_assert_cmpint(bdrv_create(o, &error_abort), ==, 0);
    qdict_unref(o);
}

/*
 * A raw file that is one hole.  (bdrv_create writes the first 4 KiB, as
 * QEMU does, so such a file has a small allocated head the job copies as
 * data; tests that count progress exactly start from a true hole.)
 */
void sparse_file(const char *p, int64_t size)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
}

BlockDriverState *open_node(const char *fmt, ...)
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

BlockBackend *rw_blk(BlockDriverState *bs)
{
    return blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                           BLK_PERM_ALL, &error_abort);
}

/* The whole content of @bs as its users read it (g_free it). */
uint8_t *read_all(BlockDriverState *bs, int64_t size)
{
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ,
                                        BLK_PERM_ALL, &error_abort);
    uint8_t *buf = g_malloc(size);

    g_assert_cmpint(blk_getlength(blk), ==, size);
    g_assert_cmpint(blk_pread(blk, 0, size, buf, 0), ==, 0);
    blk_unref(blk);
    return buf;
}

int64_t allocated_bytes(const char *p)
{
    struct stat st;

    g_assert_cmpint(stat(p, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

/* Fail with the first differing offset of two buffers. */
void assert_same(const uint8_t *a, const uint8_t *b, int64_t size,
                 const char *what)
{
    for (int64_t i = 0; i < size; i++) {
        if (a[i] != b[i]) {
            g_error("%s: first difference at byte %" PRId64 " (0x%x vs 0x%x)",
                    what, i, a[i], b[i]);
        }
    }
}

void check_qcow2(BlockDriverState *bs, const char *what)
{
    BdrvCheckResult r = { 0 };

    g_assert_cmpint(bdrv_check(bs, &r, 0), ==, 0);
    if (r.corruptions || r.leaks || r.check_errors) {
        g_error("%s: check: %d corruptions, %d leaks, %d errors", what,
                r.corruptions, r.leaks, r.check_errors);
    }
}

/* A byte pattern that tells offsets and writes apart. */
void fill_pattern(uint8_t *buf, int64_t off, int64_t len, int tag)
{
    for (int64_t i = 0; i < len; i++) {
        uint64_t x = off + i;

        buf[i] = (uint8_t)(tag + x * 7 + (x >> 9) * 13 + (x >> 16));
    }
}

void write_pattern(BlockBackend *blk, int64_t off, int64_t len, int tag)
{
    g_autofree uint8_t *buf = g_malloc(len);

    fill_pattern(buf, off, len, tag);
    g_assert_cmpint(blk_pwrite(blk, off, len, buf, 0), ==, 0);
}

/* A filter that fails reads and/or writes */

InjectState inject;

static const char *const fail_opts[] = { "file", NULL };

static int fail_open(BlockDriverState *bs, BlockOptions *options, int flags,
                     Error **errp)
{
    if (!bdrv_open_child(bs, options, "file",
                         BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false,
                         errp)) {
        return -EINVAL;
    }
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP;
    return 0;
}

static int coroutine_fn fail_preadv(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    BdrvRequestFlags flags)
{
    if (inject.read_errno && offset < inject.read_off + inject.read_len &&
        offset + bytes > inject.read_off) {
        inject.reads_failed++;
        return -inject.read_errno;
    }
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn fail_pwritev(BlockDriverState *bs, int64_t offset,
                                     int64_t bytes, QEMUIOVector *qiov,
                                     BdrvRequestFlags flags)
{
    if (inject.write_errno) {
        inject.writes_failed++;
        return -inject.write_errno;
    }
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static const BlockDriver fail_driver = {
    .format_name = "test-fail-rw",
    .is_filter = true,
    .runtime_opts = fail_opts,
    .bdrv_open = fail_open,
    .bdrv_co_preadv = fail_preadv,
    .bdrv_co_pwritev = fail_pwritev,
};

BlockDriverState *open_fail_filter(const char *node_name, const char *child)
{
    g_autofree char *s = g_strdup_printf(
        "driver=test-fail-rw,node-name=%s,file=%s", node_name, child);
    JsonObject *o = qdict_parse(s, &error_abort);
    BlockDriverState *bs = bdrv_new_open_driver(&fail_driver, o,
                                                &error_abort);

    qdict_unref(o);
    return bs;
}

/* Job checks */

/*
 * Progress as QEMU counts it (block-layer-facts.md 5.7): the bytes of every
 * successful operation, skipped zero writes included (what QEMU's
 * zero-skipping series does not count them for is the speed limit); the
 * pre-zero pass never counts.  Once the job is idle nothing remains.
 */
void check_progress(Job *job, const MirrorStats *st)
{
    g_assert_cmpuint(st->discard_ops, ==, 0);
    g_assert_cmpint(job->progress_current, ==,
                    st->copy_bytes + st->zero_bytes + st->zero_bytes_skipped);
    g_assert_cmpint(job->progress_total, ==, job->progress_current);
}

/* A source/target pair (the job tests) */

/* A raw source with JT_DATA of pattern at 0 and a sparse target file. */
void setup_pair(const char *tag, BlockDriverState **src,
                BlockDriverState **dst)
{
    g_autofree char *sp = path("%s-src.raw", tag);
    g_autofree char *tp = path("%s-dst.raw", tag);
    BlockBackend *blk;

    create_image("file", sp, JT_SIZE, NULL, NULL);
    create_image("file", tp, JT_SIZE, NULL, NULL);
    *src = open_node("driver=raw,node-name=src,discard=unmap,"
                     "file.driver=file,file.filename=%s", sp);
    *dst = open_node("driver=file,node-name=dst,discard=unmap,filename=%s",
                     tp);
    blk = rw_blk(*src);
    write_pattern(blk, 0, JT_DATA, 0x33);
    blk_unref(blk);
}

void teardown_pair(const char *tag, BlockDriverState *src,
                   BlockDriverState *dst)
{
    g_autofree char *sp = path("%s-src.raw", tag);
    g_autofree char *tp = path("%s-dst.raw", tag);

    bdrv_unref(src);
    bdrv_unref(dst);
    unlink(sp);
    unlink(tp);
}

void assert_nodes_equal(BlockDriverState *a, BlockDriverState *b,
                        int64_t size)
{
    g_autofree uint8_t *da = read_all(a, size);
    g_autofree uint8_t *db = read_all(b, size);

    assert_same(da, db, size, "source vs target");
}

/* The source still holds exactly what setup_pair wrote. */
void assert_source_untouched(BlockDriverState *src)
{
    g_autofree uint8_t *d = read_all(src, JT_SIZE);
    g_autofree uint8_t *want = g_malloc0(JT_SIZE);

    fill_pattern(want, 0, JT_DATA, 0x33);
    assert_same(d, want, JT_SIZE, "source");
}

void assert_error_msg(Error *err, const char *msg)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

void check_error_event(Event *e, const char *operation, const char *action)
{
    g_autofree char *m = members(e->data);

    g_assert_cmpstr(m, ==, "action,device,operation");
    g_assert_cmpstr(json_object_get_string_member(e->data, "device"), ==,
                    "job0");
    g_assert_cmpstr(json_object_get_string_member(e->data, "operation"),
                    ==, operation);
    g_assert_cmpstr(json_object_get_string_member(e->data, "action"), ==,
                    action);
}

/*
 * QEMU's BLOCK_JOB_COMPLETED "error" for a failed I/O request is just the
 * strerror (job->err is set from job->ret; mirror_run does not set one).
 */
void check_completed_error(Event *e, const char *want)
{
    const char *msg = json_object_get_string_member(e->data, "error");

    g_assert_cmpstr(msg, ==, want);
}

/* Registration */

char *keep_name(char *name)
{
    g_ptr_array_add(case_names, name);
    return name;
}

const char *mode_name(MirrorCopyMode mode)
{
    return mode == MIRROR_COPY_MODE_BACKGROUND ? "background"
                                               : "write-blocking";
}

/* Setup and cleanup */

void mirror_test_init(const char *tmpl)
{
    tmpdir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(tmpdir);
    case_names = g_ptr_array_new_with_free_func(g_free);
    events = g_ptr_array_new_with_free_func(event_free);
    watchdog = aio_timer_new(qemu_get_aio_context(), watchdog_cb, NULL);
    job_add_event_listener(record_event, NULL);
}

void mirror_test_cleanup(void)
{
    job_remove_event_listener(record_event, NULL);
    timer_free(watchdog);
    g_ptr_array_free(events, TRUE);
    g_ptr_array_free(case_names, TRUE);
    /* Whatever a failed test left behind. */
    {
        GDir *d = g_dir_open(tmpdir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(tmpdir, name, NULL);

            unlink(p);
        }
        if (d) {
            g_dir_close(d);
        }
    }
    rmdir(tmpdir);
    g_free(tmpdir);
}
