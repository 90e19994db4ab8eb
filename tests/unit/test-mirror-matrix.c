/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job, beyond test-mirror.c:
 *
 * - a matrix of sources (file node, raw over file, qcow2, qcow2 over a
 *   qcow2 backing file), targets (raw, qcow2), sync modes (full, top) and
 *   copy modes (background, write-blocking), with random writes, zero
 *   writes (with and without MAY_UNMAP) and discards to the source while
 *   the job runs: after completion the target reads byte for byte like the
 *   source, and both like a model of what was written;
 * - counters: mirroring an all-zero (or mostly zero) source onto a fresh
 *   target writes no zeroes, in both copy modes, and progress counts as
 *   QEMU's does;
 * - the job life cycle (manual finalize and dismiss, force cancel after
 *   READY, STANDBY, refused verbs), sync=none, the target-is-zero hint,
 *   unusual granularities and buffer sizes, source error policies with
 *   the data of BLOCK_JOB_ERROR / BLOCK_JOB_CANCELLED, dirty bitmaps.
 *
 * Images are created with emblock's own bdrv_create(); nothing here needs
 * QEMU installed.  Every wait has a deadline (TIMEOUT_NS), and a watchdog
 * timer makes sure a blocking aio_poll() wakes up to check it.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/mirror.h"
#include "block/dirty-bitmap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
/* Every wait in this file gives up after this long. */
#define TIMEOUT_NS (30 * 1000000000LL)

static char *tmpdir;
static QEMUTimer *watchdog;

/* Events, with their data */

typedef struct Event {
    char *name;
    JsonObject *data;
} Event;

static GPtrArray *events;

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
static char *event_str(const Event *e)
{
    if (!strcmp(e->name, "JOB_STATUS_CHANGE")) {
        return g_strdup_printf("%s:%s", e->name,
                               json_object_get_string_member(e->data,
                                                             "status"));
    }
    return g_strdup(e->name);
}

/* The first event called @name at or after index *from (NULL if none). */
static Event *find_event(const char *name, guint *from)
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

static guint count_events(const char *name)
{
    guint n = 0;

    for (guint i = 0; i < events->len; i++) {
        n += !strcmp(((Event *)events->pdata[i])->name, name);
    }
    return n;
}

/* Assert that the events from index @from on are exactly @expected. */
static void check_event_order(guint from, const char *const *expected,
                              guint n)
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
static char *members(JsonObject *o)
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
static void poll_once(void)
{
    timer_mod_ns(watchdog, qemu_clock_get_ns() + 20 * 1000000LL);
    aio_poll(qemu_get_aio_context(), true);
}

#define WAIT_UNTIL(cond)                                                  \
    do {                                                                  \
        int64_t deadline_ = get_clock_ns() + TIMEOUT_NS;                  \
        while (!(cond)) {                                                 \
            if (get_clock_ns() >= deadline_) {                            \
                g_error("%s:%d: timed out waiting for %s", __FILE__,      \
                        __LINE__, #cond);                                 \
            }                                                             \
            poll_once();                                                  \
        }                                                                 \
    } while (0)

static bool job_ended(Job *job)
{
    return job->status == JOB_STATUS_NULL ||
           job->status == JOB_STATUS_CONCLUDED;
}

/* Wait for @status; fails if the job ends first. */
static void wait_for_status(Job *job, JobStatus status)
{
    WAIT_UNTIL(job->status == status || job_ended(job));
    if (job->status != status) {
        g_error("job ended (ret %d: %s) while waiting for %s", job->ret,
                job->err ? error_get_pretty(job->err) : "-",
                job_status_names[status]);
    }
}

static void wait_for_end(Job *job)
{
    WAIT_UNTIL(job_ended(job));
}

/* Poll for a while (the job gets to run), without waiting for anything. */
static void poll_for_ms(int ms)
{
    int64_t end = get_clock_ns() + ms * 1000000LL;

    while (get_clock_ns() < end) {
        poll_once();
    }
}

/* Images and nodes */

static char *path(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static char *path(const char *fmt, ...)
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
static void create_image(const char *driver, const char *p, int64_t size,
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
static void sparse_file(const char *p, int64_t size)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
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

static BlockBackend *rw_blk(BlockDriverState *bs)
{
    return blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                           BLK_PERM_ALL, &error_abort);
}

/* The whole content of @bs as its users read it (g_free it). */
static uint8_t *read_all(BlockDriverState *bs, int64_t size)
{
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ,
                                        BLK_PERM_ALL, &error_abort);
    uint8_t *buf = g_malloc(size);

    g_assert_cmpint(blk_getlength(blk), ==, size);
    g_assert_cmpint(blk_pread(blk, 0, size, buf, 0), ==, 0);
    blk_unref(blk);
    return buf;
}

static int64_t allocated_bytes(const char *p)
{
    struct stat st;

    g_assert_cmpint(stat(p, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

/* Fail with the first differing offset of two buffers. */
static void assert_same(const uint8_t *a, const uint8_t *b, int64_t size,
                        const char *what)
{
    for (int64_t i = 0; i < size; i++) {
        if (a[i] != b[i]) {
            g_error("%s: first difference at byte %" PRId64 " (0x%x vs 0x%x)",
                    what, i, a[i], b[i]);
        }
    }
}

static void check_qcow2(BlockDriverState *bs, const char *what)
{
    BdrvCheckResult r = { 0 };

    g_assert_cmpint(bdrv_check(bs, &r, 0), ==, 0);
    if (r.corruptions || r.leaks || r.check_errors) {
        g_error("%s: check: %d corruptions, %d leaks, %d errors", what,
                r.corruptions, r.leaks, r.check_errors);
    }
}

/* A byte pattern that tells offsets and writes apart. */
static void fill_pattern(uint8_t *buf, int64_t off, int64_t len, int tag)
{
    for (int64_t i = 0; i < len; i++) {
        uint64_t x = off + i;

        buf[i] = (uint8_t)(tag + x * 7 + (x >> 9) * 13 + (x >> 16));
    }
}

static void write_pattern(BlockBackend *blk, int64_t off, int64_t len,
                          int tag)
{
    g_autofree uint8_t *buf = g_malloc(len);

    fill_pattern(buf, off, len, tag);
    g_assert_cmpint(blk_pwrite(blk, off, len, buf, 0), ==, 0);
}

/* A filter that fails reads and/or writes (test-mirror.c's, extended) */

static struct {
    int read_errno;             /* 0: reads pass */
    int write_errno;            /* 0: writes pass */
    int64_t read_off, read_len; /* reads meeting this range fail */
    int reads_failed;
    int writes_failed;
} inject;

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

static BlockDriverState *open_fail_filter(const char *node_name,
                                          const char *child)
{
    g_autofree char *s = g_strdup_printf(
        "driver=test-fail-rw,node-name=%s,file=%s", node_name, child);
    JsonObject *o = qdict_parse(s, &error_abort);
    BlockDriverState *bs = bdrv_new_open_driver(&fail_driver, o,
                                                &error_abort);

    qdict_unref(o);
    return bs;
}

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

/*
 * Progress as QEMU counts it (block-layer-facts.md 5.7): the bytes of every
 * successful operation, skipped zero writes included (what QEMU's
 * zero-skipping series does not count them for is the speed limit); the
 * pre-zero pass never counts.  Once the job is idle nothing remains.
 */
static void check_progress(Job *job, const MirrorStats *st)
{
    g_assert_cmpuint(st->discard_ops, ==, 0);
    g_assert_cmpint(job->progress_current, ==,
                    st->copy_bytes + st->zero_bytes + st->zero_bytes_skipped);
    g_assert_cmpint(job->progress_total, ==, job->progress_current);
}

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

/*
 * 3. Jobs
 */

#define JT_SIZE (20 * MiB)
#define JT_DATA (4 * MiB)

/* A raw source with JT_DATA of pattern at 0 and a sparse target file. */
static void setup_pair(const char *tag, BlockDriverState **src,
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

static void teardown_pair(const char *tag, BlockDriverState *src,
                          BlockDriverState *dst)
{
    g_autofree char *sp = path("%s-src.raw", tag);
    g_autofree char *tp = path("%s-dst.raw", tag);

    bdrv_unref(src);
    bdrv_unref(dst);
    unlink(sp);
    unlink(tp);
}

static void assert_nodes_equal(BlockDriverState *a, BlockDriverState *b,
                               int64_t size)
{
    g_autofree uint8_t *da = read_all(a, size);
    g_autofree uint8_t *db = read_all(b, size);

    assert_same(da, db, size, "source vs target");
}

/* The source still holds exactly what setup_pair wrote. */
static void assert_source_untouched(BlockDriverState *src)
{
    g_autofree uint8_t *d = read_all(src, JT_SIZE);
    g_autofree uint8_t *want = g_malloc0(JT_SIZE);

    fill_pattern(want, 0, JT_DATA, 0x33);
    assert_same(d, want, JT_SIZE, "source");
}

static void assert_error_msg(Error *err, const char *msg)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

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

static void check_error_event(Event *e, const char *operation,
                              const char *action)
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
static void check_completed_error(Event *e, const char *want)
{
    const char *msg = json_object_get_string_member(e->data, "error");

    g_assert_cmpstr(msg, ==, want);
}

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

static GPtrArray *case_names;

static char *keep_name(char *name)
{
    g_ptr_array_add(case_names, name);
    return name;
}

static const char *mode_name(MirrorCopyMode mode)
{
    return mode == MIRROR_COPY_MODE_BACKGROUND ? "background"
                                               : "write-blocking";
}

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
    tmpdir = g_dir_make_tmp("emblock-mirror-matrix-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    case_names = g_ptr_array_new_with_free_func(g_free);
    events = g_ptr_array_new_with_free_func(event_free);
    watchdog = aio_timer_new(qemu_get_aio_context(), watchdog_cb, NULL);
    job_add_event_listener(record_event, NULL);

    add_matrix_tests(cases);
    add_zero_tests(cases);
    g_test_add_func("/mirror-matrix/counters/write-blocking-skips",
                    test_zero_counters_active);
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
    return ret;
}
