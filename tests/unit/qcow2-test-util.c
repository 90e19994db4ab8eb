/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the qcow2 tests; see qcow2-test-util.h.
 */
#include "qcow2-test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

char *qt_dir_new(void)
{
    GError *gerr = NULL;
    char *dir = g_dir_make_tmp("test-qcow2-XXXXXX", &gerr);

    g_assert_no_error(gerr);
    return dir;
}

void qt_dir_free(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        g_unlink(p);
    }
    if (d) {
        g_dir_close(d);
    }
    g_rmdir(dir);
    g_free(dir);
}

char *qt_path(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

char *qt_create_err(const char *path, int64_t size, const char *opts)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"filename\": \"%s\", \"size\": %" PRId64
        "%s%s}", path, size, opts ? ", " : "", opts ? opts : "");
    JsonObject *o = qdict_parse(json, &error_abort);
    Error *err = NULL;
    char *msg = NULL;

    if (bdrv_create(o, &err) < 0) {
        g_assert_nonnull(err);
        msg = g_strdup(error_get_pretty(err));
        error_free(err);
    }
    qdict_unref(o);
    return msg;
}

void qt_create(const char *path, int64_t size, const char *opts)
{
    g_autofree char *msg = qt_create_err(path, size, opts);

    if (msg) {
        g_error("creating %s failed: %s", path, msg);
    }
}

static BlockDriverState *qt_open_bs(const char *path, const char *opts,
                                    bool writable, Error **errp)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"discard\": \"unmap\", \"read-only\": %s, "
        "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}%s%s}",
        writable ? "false" : "true", path, opts ? ", " : "",
        opts ? opts : "");

    return bdrv_open_string(json, errp);
}

static BlockBackend *qt_open_common(const char *path, const char *opts,
                                    bool writable)
{
    Error *err = NULL;
    BlockDriverState *bs = qt_open_bs(path, opts, writable, &err);
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    if (!bs) {
        g_error("opening %s failed: %s", path, error_get_pretty(err));
    }
    if (writable) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    blk = blk_new_with_bs(bs, perm, BLK_PERM_ALL, &error_abort);
    bdrv_unref(bs);
    return blk;
}

BlockBackend *qt_open(const char *path, const char *opts)
{
    return qt_open_common(path, opts, true);
}

BlockBackend *qt_open_ro(const char *path, const char *opts)
{
    return qt_open_common(path, opts, false);
}

BlockBackend *qt_open_injecting(const char *path, const char *rule)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"file\": {\"driver\": \"blkdebug\", "
        "\"inject-error\": [{%s}], "
        "\"image\": {\"driver\": \"file\", \"filename\": \"%s\"}}}",
        rule, path);
    BlockDriverState *bs = bdrv_open_string(json, &error_abort);
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ |
                                        BLK_PERM_WRITE, BLK_PERM_ALL,
                                        &error_abort);

    bdrv_unref(bs);
    return blk;
}

char *qt_open_err(const char *path, const char *opts, bool writable)
{
    Error *err = NULL;
    BlockDriverState *bs = qt_open_bs(path, opts, writable, &err);
    char *msg;

    if (bs) {
        bdrv_unref(bs);
        g_error("opening %s unexpectedly succeeded", path);
    }
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

bool qt_have_qemu(void)
{
    static int have = -1;

    if (have < 0) {
        have = g_file_test(QEMU_IMG, G_FILE_TEST_IS_EXECUTABLE) &&
               g_file_test(QEMU_IO, G_FILE_TEST_IS_EXECUTABLE);
    }
    if (!have) {
        g_test_message("qemu-img/qemu-io not installed: skipping the "
                       "cross-check with QEMU");
    }
    return have;
}

int qt_run(const char *const *argv, char **out)
{
    g_autofree char *sout = NULL, *serr = NULL;
    GError *gerr = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &sout, &serr, &status, &gerr)) {
        g_error("running %s failed: %s", argv[0], gerr->message);
    }
    if (out) {
        *out = g_strconcat(sout, serr, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int qt_qemu_check(const char *path, char **out)
{
    const char *argv[] = { QEMU_IMG, "check", "-f", "qcow2", path, NULL };

    return qt_run(argv, out);
}

int qt_qemu_check_counts(const char *path, int64_t *corruptions,
                         int64_t *leaks)
{
    const char *argv[] = { QEMU_IMG, "check", "--output=json", "-f", "qcow2",
                           path, NULL };
    g_autofree char *sout = NULL, *serr = NULL;
    GError *gerr = NULL;
    JsonObject *o;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &sout, &serr, &status, &gerr)) {
        g_error("running qemu-img failed: %s", gerr->message);
    }
    o = qdict_parse(sout, &error_abort);
    *corruptions = 0;
    *leaks = 0;
    qdict_get_int_opt(o, "corruptions", corruptions, &error_abort);
    qdict_get_int_opt(o, "leaks", leaks, &error_abort);
    qdict_unref(o);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int qt_qemu_compare(const char *qcow2, const char *raw)
{
    const char *argv[] = { QEMU_IMG, "compare", "-f", "qcow2", "-F", "raw",
                           qcow2, raw, NULL };
    g_autofree char *out = NULL;
    int ret = qt_run(argv, &out);

    if (ret) {
        g_test_message("qemu-img compare: %s", out);
    }
    return ret;
}

void qt_qemu_io(const char *path, const char *cmd)
{
    const char *argv[] = { QEMU_IO, "-f", "qcow2", "-c", cmd, path, NULL };
    g_autofree char *out = NULL;

    if (qt_run(argv, &out) != 0 || strstr(out, "failed")) {
        g_error("qemu-io -c '%s' %s: %s", cmd, path, out);
    }
}

BdrvCheckResult qt_check(BlockBackend *blk, BdrvCheckMode fix)
{
    BdrvCheckResult res;

    g_assert_cmpint(bdrv_check(blk_bs(blk), &res, fix), ==, 0);
    return res;
}

void qt_assert_check_clean(BlockBackend *blk)
{
    BdrvCheckResult r = qt_check(blk, 0);

    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

void qt_assert_qemu_clean(const char *path)
{
    g_autofree char *out = NULL;
    int ret;

    if (!qt_have_qemu()) {
        return;
    }
    ret = qt_qemu_check(path, &out);
    if (ret != 0) {
        g_error("qemu-img check %s exited %d:\n%s", path, ret, out);
    }
}

BdrvCheckResult qt_check_both(const char *path)
{
    BlockBackend *blk = qt_open_ro(path, NULL);
    BdrvCheckResult r = qt_check(blk, 0);

    blk_unref(blk);
    if (qt_have_qemu()) {
        int64_t corruptions, leaks;

        qt_qemu_check_counts(path, &corruptions, &leaks);
        g_assert_cmpint(r.corruptions, ==, corruptions);
        g_assert_cmpint(r.leaks, ==, leaks);
    }
    return r;
}

BdrvCheckResult qt_repair(const char *path, BdrvCheckMode fix)
{
    BlockBackend *blk = qt_open(path, NULL);
    BdrvCheckResult r = qt_check(blk, fix);

    blk_unref(blk);
    return r;
}

void qt_close_clean(BlockBackend *blk, const char *path)
{
    qt_assert_check_clean(blk);
    blk_unref(blk);
    qt_assert_qemu_clean(path);
}

void qt_assert_qemu_matches(const char *path, const char *raw,
                            const uint8_t *ref, int64_t len)
{
    qt_write_raw(raw, ref, len);
    qt_assert_qemu_clean(path);
    if (qt_have_qemu()) {
        g_assert_cmpint(qt_qemu_compare(path, raw), ==, 0);
    }
}

void qt_write_raw(const char *path, const void *buf, size_t len)
{
    GError *gerr = NULL;

    g_file_set_contents(path, buf, len, &gerr);
    g_assert_no_error(gerr);
}

char *qt_file_checksum(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)data,
                                       len);
}

int64_t qt_file_size(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_size;
}

int64_t qt_file_allocated(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

void qt_file_write(const char *path, int64_t off, const void *buf,
                   size_t len)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, len, off), ==, (ssize_t)len);
    close(fd);
}

void qt_file_read(const char *path, int64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, len, off), ==, (ssize_t)len);
    close(fd);
}

void qt_file_put_be64(const char *path, int64_t off, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    qt_file_write(path, off, &be, sizeof(be));
}

void qt_file_put_be32(const char *path, int64_t off, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);

    qt_file_write(path, off, &be, sizeof(be));
}

uint64_t qt_file_get_be64(const char *path, int64_t off)
{
    uint64_t be;

    qt_file_read(path, off, &be, sizeof(be));
    return GUINT64_FROM_BE(be);
}

int qt_status(BlockBackend *blk, int64_t off, int64_t bytes, int64_t *pnum,
              int64_t *map)
{
    int64_t dummy_map;
    BlockDriverState *file;

    return bdrv_block_status(blk_bs(blk), BDRV_WANT_PRECISE, off, bytes,
                             pnum, map ? map : &dummy_map, &file);
}

void qt_fill_pattern(uint8_t *buf, int64_t len, uint32_t seed)
{
    for (int64_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) | 1);
    }
}

void qt_assert_reads(BlockBackend *blk, const uint8_t *ref, int64_t off,
                     int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(blk_pread(blk, off, len, buf, 0), ==, 0);
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != ref[off + i]) {
            g_error("byte %" PRId64 " reads 0x%02x, expected 0x%02x",
                    off + i, buf[i], ref[off + i]);
        }
    }
}

static void coroutine_fn qt_co_op_entry(void *opaque)
{
    QtCoOp *op = opaque;

    if (op->buf) {
        op->ret = blk_co_pwrite(op->blk, op->off, op->len, op->buf, 0);
    } else {
        op->ret = blk_co_pwrite_zeroes(op->blk, op->off, op->len, op->flags);
    }
    op->done = true;
    aio_wait_kick();
}

void qt_run_concurrently(QtCoOp *ops, int n)
{
    bool all_done;

    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(qt_co_op_entry, &ops[i]));
    }
    do {
        all_done = true;
        for (int i = 0; i < n; i++) {
            all_done &= ops[i].done;
        }
        if (!all_done) {
            aio_poll(qemu_get_aio_context(), true);
        }
    } while (!all_done);
    for (int i = 0; i < n; i++) {
        g_assert_cmpint(ops[i].ret, ==, 0);
    }
}
