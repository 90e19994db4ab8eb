/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The model of test-block-model.c: known bugs, the seeded generator, the
 * history printed on failure, the choice of request ranges, and running
 * one sequence on a fresh image (making the image, opening it as the
 * configuration says, a watchdog against hangs, cleaning up).  Also the
 * direct-I/O image the regression cases open.  block-model-util.h says
 * what the model holds.
 */
#include "block-model-util.h"

/* Whole-image verification every this many operations. */
#define MODEL_CHECKPOINT 400

/* A sequence that makes no progress for this long has hung. */
#define MODEL_STALL_SECONDS 60

/* ---- Known bugs ------------------------------------------------------ */

static const char *const model_bug_names[] = {
    [BUG_SERIALISING_CYCLE] = "block/io.c wait_serialising_requests(): "
        "three overlapping serialising requests can wait for each other in "
        "a cycle (only direct two-way waits are skipped)",
};

/* None open at the moment; the array keeps one dummy entry for C. */
static const ModelBug model_open_bugs[] = {
    BUG_NONE,
};

/* Whether @bug is listed as open and the user did not ask to see it. */
bool bug_open(ModelBug bug)
{
    size_t i;

    if (bug == BUG_NONE || g_getenv("EMBLOCK_MODEL_KNOWN_BUGS")) {
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(model_open_bugs); i++) {
        if (model_open_bugs[i] == bug) {
            return true;
        }
    }
    return false;
}

/* Skip the current test case if @bug is open; returns whether it did. */
bool skip_if_bug_open(ModelBug bug)
{
    g_autofree char *why = NULL;

    if (!bug_open(bug)) {
        return false;
    }
    why = g_strdup_printf("known bug, set EMBLOCK_MODEL_KNOWN_BUGS=1 to "
                          "run: %s", model_bug_names[bug]);
    g_test_skip(why);
    return true;
}

/* ---- Random numbers (splitmix64: the same sequence everywhere) -------- */

uint64_t rng_next(Model *m)
{
    uint64_t z = (m->rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
int64_t rng_range(Model *m, int64_t lo, int64_t hi)
{
    g_assert(lo <= hi);
    return lo + (int64_t)(rng_next(m) % (uint64_t)(hi - lo + 1));
}

/* True with probability @percent / 100. */
bool rng_chance(Model *m, int percent)
{
    return rng_range(m, 0, 99) < percent;
}

/* ---- History and failure reports ----------------------------------- */

void G_GNUC_PRINTF(2, 3) model_log(Model *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_vsnprintf(m->history[m->op % MODEL_HISTORY], sizeof(m->history[0]),
                fmt, ap);
    va_end(ap);
    g_atomic_int_inc(&m->progress);
    if (m->trace) {
        g_printerr("%6" PRId64 ": %s\n", m->op,
                   m->history[m->op % MODEL_HISTORY]);
    }
}

/* Print where the sequence stands: configuration, seed, last operations. */
void model_report(Model *m, const char *msg)
{
    int64_t i;

    g_printerr("\nmodel failure: %s, seed %" PRIu32 ", operation %" PRId64
               ": %s\n", m->cfg->path, m->seed, m->op, msg);
    g_printerr("last operations:\n");
    for (i = MAX(0, m->op - MODEL_HISTORY + 1); i <= m->op; i++) {
        g_printerr("  %6" PRId64 ": %s\n", i,
                   m->history[i % MODEL_HISTORY]);
    }
    g_printerr("replay: EMBLOCK_MODEL_SEED=%" PRIu32 " %s -p %s\n"
               "image: %s (node window %" PRId64 "+%" PRId64 ")\n",
               m->seed, g_get_prgname(), m->cfg->path, m->path,
               m->cfg->window_offset, m->size);
}

void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN
model_fail(Model *m, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    model_report(m, msg);
    g_error("%s seed %" PRIu32 " op %" PRId64 ": %s", m->cfg->path, m->seed,
            m->op, msg);
}

/* Check that @got equals the model at node offset @off, for @bytes. */
void model_compare(Model *m, const char *what, const uint8_t *got,
                   const uint8_t *want, int64_t off, int64_t bytes)
{
    int64_t i;

    if (memcmp(got, want, bytes) == 0) {
        return;
    }
    for (i = 0; got[i] == want[i]; i++) {
        /* find the first difference */
    }
    model_fail(m, "%s: byte %" PRId64 " (of %" PRId64 "+%" PRId64
               ") is 0x%02x, expected 0x%02x", what, off + i, off, bytes,
               got[i], want[i]);
}

/* ---- Choosing ranges ------------------------------------------------- */

/* A request length: mostly small, sometimes large; at most @max. */
int64_t pick_len(Model *m, int64_t max)
{
    int r = rng_range(m, 0, 99);
    int64_t len;

    if (r < 2) {
        len = 0;
    } else if (r < 35) {
        len = rng_range(m, 1, 512);
    } else if (r < 60) {
        len = rng_range(m, 1, 4 * KiB);
    } else if (r < 85) {
        len = rng_range(m, 1, 64 * KiB);
    } else if (r < 96) {
        len = rng_range(m, 64 * KiB, 512 * KiB);
    } else {
        len = rng_range(m, 512 * KiB, MODEL_MAX_IO);
    }
    return MIN(len, max);
}

/* An offset for @len bytes, often across a @unit boundary. */
static int64_t pick_across(Model *m, int64_t len, int64_t unit)
{
    int64_t b = rng_range(m, 1, m->size / unit) * unit;

    if (len < 2) {
        return b - len;
    }
    return b - rng_range(m, 1, len - 1);
}

/* A start offset for @len bytes, so that the range fits in the node. */
int64_t pick_offset(Model *m, int64_t len)
{
    int64_t max = m->size - len;
    int r = rng_range(m, 0, 99);
    int64_t off;

    if (r < 35) {
        off = rng_range(m, 0, max);
    } else if (r < 55) {
        off = pick_across(m, len, 4 * KiB);
    } else if (r < 70) {
        off = pick_across(m, len, 64 * KiB);
    } else if (r < 80) {
        /* At or near the end of the node. */
        off = rng_chance(m, 50) ? max : max - rng_range(m, 0, 4 * KiB);
    } else if (r < 85) {
        off = rng_range(m, 0, MIN(max, 4 * KiB));
    } else if (r < 95) {
        off = QEMU_ALIGN_DOWN(rng_range(m, 0, max), 4 * KiB);
    } else {
        off = QEMU_ALIGN_DOWN(rng_range(m, 0, max), 512);
    }
    return MAX(0, MIN(off, max));
}

/* The I/O buffer, now and then at an address that is not aligned. */
uint8_t *pick_buf(Model *m, const char **note)
{
    if (rng_chance(m, 10)) {
        *note = " (unaligned buffer)";
        return m->buf + rng_range(m, 1, 4 * KiB - 1);
    }
    *note = "";
    return m->buf;
}

/* ---- Setting up ------------------------------------------------------ */

/* Make the image: sparse, with a few extents of random data. */
static void model_make_image(Model *m)
{
    int64_t size = m->cfg->file_size;
    int i, fd;

    fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    for (i = 0; i < 12; i++) {
        int64_t len = rng_range(m, 1, 256 * KiB);
        int64_t off = rng_range(m, 0, size - len);
        int64_t j;

        for (j = 0; j < len; j++) {
            m->host_ref[off + j] = rng_next(m);
        }
        g_assert_cmpint(pwrite(fd, m->host_ref + off, len, off), ==, len);
    }
    g_assert_cmpint(close(fd), ==, 0);
}

/* Whether files in @dir can be opened O_DIRECT. */
bool dir_supports_direct(const char *dir)
{
    g_autofree char *probe = g_build_filename(dir, "probe", NULL);
    int fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);

    if (fd >= 0) {
        close(fd);
    }
    unlink(probe);
    return fd >= 0;
}

/*
 * Open the model's image as the configuration says.  Returns false (and
 * skips the test) when the host cannot do what the configuration needs.
 */
static bool model_open(Model *m)
{
    g_autofree char *opts = g_strdup_printf(m->cfg->opts, m->path);
    const char *msg;
    Error *err = NULL;

    m->bs = bdrv_open_string(opts, &err);
    if (!m->bs) {
        msg = error_get_pretty(err);
        if (m->cfg->native_aio &&
            (strstr(msg, "not supported in this build") ||
             strstr(msg, "Unable to use native AIO"))) {
            g_autofree char *why =
                g_strdup_printf("aio=native is not available: %s", msg);

            g_test_skip(why);
            error_free(err);
            return false;
        }
        g_error("opening '%s' failed: %s", opts, msg);
    }
    m->blk = blk_new_with_bs(m->bs, BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE | BLK_PERM_RESIZE,
                             BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED, &error_abort);
    bdrv_unref(m->bs);
    m->file_bs = bdrv_file_bs(m->bs) ? bdrv_file_bs(m->bs) : m->bs;
    g_assert_cmpint(blk_getlength(m->blk), ==, m->size);
    return true;
}

static void model_cleanup(Model *m)
{
    if (m->blk) {
        blk_unref(m->blk);
    }
    if (m->host_fd >= 0) {
        close(m->host_fd);
    }
    unlink(m->path);
    g_assert_cmpint(rmdir(m->dir), ==, 0);
    qemu_vfree(m->buf);
    qemu_vfree(m->vbuf);
    g_free(m->host_ref);
    g_free(m->path);
    g_free(m->dir);
}

/*
 * A request that never completes leaves the main thread polling forever;
 * this thread notices that no operation started for MODEL_STALL_SECONDS
 * and reports the sequence (reading it racily: the main thread is stuck).
 */
static gpointer model_watchdog(gpointer opaque)
{
    Model *m = opaque;
    int last = g_atomic_int_get(&m->progress);
    gint64 since = g_get_monotonic_time();

    while (!g_atomic_int_get(&m->stop)) {
        int now = g_atomic_int_get(&m->progress);

        if (now != last) {
            last = now;
            since = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - since >
                   MODEL_STALL_SECONDS * G_USEC_PER_SEC) {
            model_report(m, "no progress: a request never completed");
            g_error("%s seed %" PRIu32 ": hung at operation %" PRId64,
                    m->cfg->path, m->seed, m->op);
        }
        g_usleep(G_USEC_PER_SEC / 10);
    }
    return NULL;
}

/*
 * The node's length: the window, or the rest of the file; whole sectors
 * either way.  The file node rounds the file's size up and raw rounds its
 * share of that up again, as QEMU does.
 */
static int64_t model_node_size(const ModelConfig *cfg)
{
    int64_t file_len = QEMU_ALIGN_UP(cfg->file_size, 512);

    if (cfg->window_size) {
        return cfg->window_size;
    }
    return QEMU_ALIGN_UP(file_len - cfg->window_offset, 512);
}

/* Run @nops random operations from @seed on a fresh image. */
void model_run(const ModelConfig *cfg, uint32_t seed, int64_t nops)
{
    Model m = {
        .cfg = cfg,
        .seed = seed,
        .rng = seed,
        .host_fd = -1,
        .size = model_node_size(cfg),
        .trace = g_getenv("EMBLOCK_MODEL_TRACE") != NULL,
        /* Three requests sharing units can deadlock while the bug is open. */
        .max_batch = cfg->direct && bug_open(BUG_SERIALISING_CYCLE) ? 2 : 8,
    };
    GError *gerr = NULL;
    gint64 start = g_get_monotonic_time();
    GThread *watchdog;

    m.dir = g_dir_make_tmp("test-block-model-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    m.path = g_build_filename(m.dir, "img.raw", NULL);
    /* Room for the file to grow to the node's end padded to 64 KiB. */
    m.host_cap = QEMU_ALIGN_UP(MAX(cfg->file_size,
                                   cfg->window_offset + m.size), 64 * KiB) +
                 64 * KiB;
    m.host_ref = g_malloc0(m.host_cap);
    m.ref = m.host_ref + cfg->window_offset;
    m.buf = qemu_blockalign(4 * KiB, MODEL_MAX_IO + 4 * KiB);
    m.vbuf = qemu_blockalign(4 * KiB, m.host_cap);

    if (cfg->direct && !dir_supports_direct(m.dir)) {
        g_autofree char *why =
            g_strdup_printf("the file system of %s has no O_DIRECT", m.dir);

        g_test_skip(why);
        model_cleanup(&m);
        return;
    }
    model_make_image(&m);
    m.host_fd = open(m.path, O_RDONLY);
    g_assert_cmpint(m.host_fd, >=, 0);
    if (!model_open(&m)) {
        model_cleanup(&m);
        return;
    }

    watchdog = g_thread_new("model-watchdog", model_watchdog, &m);
    for (m.op = 0; m.op < nops; m.op++) {
        model_step(&m);
        if (m.op % MODEL_CHECKPOINT == MODEL_CHECKPOINT - 1) {
            m.op++;
            op_checkpoint(&m);
        }
    }
    op_flush(&m);
    m.op++;
    op_checkpoint(&m);
    g_atomic_int_set(&m.stop, 1);
    g_thread_join(watchdog);

    g_test_message("seed %" PRIu32 ": %" PRId64 " ops in %.2f s: %" PRId64
                   " writes, %" PRId64 " zero writes, %" PRId64
                   " discards (%" PRId64 " bytes now zero), %" PRId64
                   " reads, %" PRId64 " block status (%" PRId64 " ZERO, %"
                   PRId64 " DATA), %" PRId64 " is-allocated, %" PRId64
                   " is-all-zeroes (%" PRId64 " yes), %" PRId64 " flushes",
                   seed, m.op + 1,
                   (g_get_monotonic_time() - start) / 1e6, m.stats.writes,
                   m.stats.zero_writes, m.stats.discards,
                   m.stats.discarded_zero, m.stats.reads, m.stats.status,
                   m.stats.status_zero, m.stats.status_data,
                   m.stats.allocated, m.stats.all_zeroes,
                   m.stats.all_zeroes_yes, m.stats.flushes);
    model_cleanup(&m);
}

/* ---- A direct-I/O image for the regression cases ------------------- */

void direct_image_close(DirectImage *d)
{
    if (d->blk) {
        blk_unref(d->blk);
    }
    unlink(d->path);
    g_assert_cmpint(rmdir(d->dir), ==, 0);
    g_free(d->path);
    g_free(d->dir);
}

/* Open it, or skip the test and return false without O_DIRECT. */
bool direct_image_open(DirectImage *d, int64_t size)
{
    g_autofree char *opts = NULL;
    GError *gerr = NULL;
    BlockDriverState *bs;
    int fd;

    d->dir = g_dir_make_tmp("test-block-model-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    d->path = g_build_filename(d->dir, "img.raw", NULL);
    d->blk = NULL;
    if (!dir_supports_direct(d->dir)) {
        g_test_skip("no O_DIRECT in the temporary directory");
        direct_image_close(d);
        return false;
    }
    fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    g_assert_cmpint(close(fd), ==, 0);
    opts = g_strdup_printf("driver=file,filename=%s,cache.direct=on",
                           d->path);
    bs = bdrv_open_string(opts, &error_abort);
    d->blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                             BLK_PERM_RESIZE, BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED, &error_abort);
    bdrv_unref(bs);
    return true;
}
