/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 under injected I/O errors: regressions found by the error-path
 * matrix (tests/qcow2/errmatrix.py), each reduced to one failing write.
 *
 * Covered: a discard or unmapping zero write whose L2 update never
 * reaches the file (blkdebug l2_update, once off) must not have punched
 * the clusters it freed, so they still read as before (a compressed
 * cluster used to fail to decompress); with the L2 write failing once,
 * the retry at the next flush completes the operation.  Both checkers
 * must find no corruption afterwards.
 */
#include "qcow2-test-util.h"

#define CS 4096
#define IMG_SIZE (1 * MiB)

/* The compressed cluster, and a normal one after it. */
#define COMP_OFF (2 * CS)
#define DATA_OFF (3 * CS)

typedef enum ErrOp {
    ERR_OP_DISCARD,
    ERR_OP_ZERO_UNMAP,
} ErrOp;

/* An image with a compressed and a normal cluster of @pat, closed. */
static void make_image(const char *path, uint8_t pat)
{
    g_autofree uint8_t *buf = g_malloc(CS);
    BlockBackend *blk;

    qt_create(path, IMG_SIZE, "\"cluster_size\": 4096");
    blk = qt_open(path, NULL);
    memset(buf, pat, CS);
    g_assert_cmpint(blk_pwrite(blk, COMP_OFF, CS, buf,
                               BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, DATA_OFF, CS, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    blk_unref(blk);
}

/* @path as qcow2 over blkdebug failing from the first L2 table write. */
static BlockBackend *open_failing_l2_update(const char *path, bool once)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"discard\": \"unmap\", "
        "\"file\": {\"driver\": \"blkdebug\", "
        "\"inject-error\": [{\"event\": \"l2_update\", \"errno\": 5, "
        "\"once\": %s}], "
        "\"image\": {\"driver\": \"file\", \"filename\": \"%s\"}}}",
        once ? "true" : "false", path);
    BlockDriverState *bs = bdrv_open_string(json, &error_abort);
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ |
                                        BLK_PERM_WRITE, BLK_PERM_ALL,
                                        &error_abort);

    bdrv_unref(bs);
    return blk;
}

static int run_op(BlockBackend *blk, ErrOp op)
{
    if (op == ERR_OP_DISCARD) {
        return blk_pdiscard(blk, COMP_OFF, 2 * CS);
    }
    return blk_pwrite_zeroes(blk, COMP_OFF, 2 * CS, BDRV_REQ_MAY_UNMAP);
}

/* Both clusters must read entirely as @pat, and check clean. */
static void assert_clusters(const char *path, uint8_t pat)
{
    g_autofree uint8_t *buf = g_malloc(CS);
    BlockBackend *blk = qt_open_ro(path, NULL);

    for (int64_t off = COMP_OFF; off <= DATA_OFF; off += CS) {
        g_assert_cmpint(blk_pread(blk, off, CS, buf, 0), ==, 0);
        for (int i = 0; i < CS; i++) {
            if (buf[i] != pat) {
                g_error("byte %" PRId64 " reads %#x, expected %#x",
                        off + i, buf[i], pat);
            }
        }
    }
    qt_assert_check_clean(blk);
    blk_unref(blk);
    qt_assert_qemu_clean(path);
}

/*
 * The L2 update never reaches the file: the operation (with its flush)
 * fails, and the clusters keep their data.  Before the fix, the freed
 * clusters were discarded in the file first, so the compressed one no
 * longer decompressed (-EIO on read) while checks found nothing wrong.
 */
static void test_l2_update_lost(gconstpointer opaque)
{
    ErrOp op = GPOINTER_TO_INT(opaque);
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "t.qcow2");
    BlockBackend *blk;
    int ret;

    make_image(p, 0x6b);
    blk = open_failing_l2_update(p, false);
    ret = run_op(blk, op);
    if (ret == 0) {
        ret = blk_flush(blk);
    }
    g_assert_cmpint(ret, ==, -EIO);
    blk_unref(blk);             /* its cache flush fails too */

    assert_clusters(p, 0x6b);
    qt_dir_free(dir);
}

/*
 * The L2 update fails once: the flush that retries it succeeds, so the
 * operation completes and the clusters read as zeroes, without leaks.
 */
static void test_l2_update_once(gconstpointer opaque)
{
    ErrOp op = GPOINTER_TO_INT(opaque);
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "t.qcow2");
    BlockBackend *blk;

    make_image(p, 0x6b);
    blk = open_failing_l2_update(p, true);
    g_assert_cmpint(run_op(blk, op), ==, 0);
    if (blk_flush(blk) < 0) {
        g_assert_cmpint(blk_flush(blk), ==, 0);
    }
    blk_unref(blk);

    assert_clusters(p, 0);
    qt_dir_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/qcow2-errors/discard/l2-update-lost",
                         GINT_TO_POINTER(ERR_OP_DISCARD),
                         test_l2_update_lost);
    g_test_add_data_func("/qcow2-errors/zero-unmap/l2-update-lost",
                         GINT_TO_POINTER(ERR_OP_ZERO_UNMAP),
                         test_l2_update_lost);
    g_test_add_data_func("/qcow2-errors/discard/l2-update-once",
                         GINT_TO_POINTER(ERR_OP_DISCARD),
                         test_l2_update_once);
    g_test_add_data_func("/qcow2-errors/zero-unmap/l2-update-once",
                         GINT_TO_POINTER(ERR_OP_ZERO_UNMAP),
                         test_l2_update_once);
    return g_test_run();
}
