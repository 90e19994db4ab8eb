/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the `file` protocol driver (block/file-posix.c): creation and
 * preallocation, truncate, open options and errors, and image locking.
 * Reads, writes, write-zeroes, discard and block status are tested in
 * test-file-posix-io.c; the helpers both use are in file-posix-test-util.c.
 *
 * Each test works in a fresh temporary directory.  The tests go through
 * the public API (bdrv_create, bdrv_open_string, BlockBackend I/O,
 * truncate) and then look at the file itself with fstat() and lseek() to
 * see what the driver did: st_blocks tells allocation, SEEK_DATA/SEEK_HOLE
 * tell holes.
 *
 * Allocation checks leave slack for file-system metadata and assume
 * 4 KiB-or-smaller file-system blocks (true for ext4, XFS, btrfs, tmpfs).
 * Tests that need O_DIRECT or io_uring are skipped when the temporary
 * directory's file system, the build or the kernel lacks them.
 */
#include "file-posix-test-util.h"
#include "deny-syscall.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- Create ----------------------------------------------------------- */

static void test_create_off(void)
{
    g_autofree char *path = test_path("off.raw");
    Error *err = NULL;
    mode_t mask = umask(0);
    struct stat st;

    umask(mask);
    g_assert_cmpint(create_image(path, 64 * MiB, "off", &err), ==, 0);
    assert_no_error(err);
    st = stat_path(path);
    g_assert_cmpint(st.st_size, ==, 64 * MiB);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644 & ~mask);
    /* Only the first block is written, for O_DIRECT alignment probing. */
    g_assert_cmpint(allocated_bytes(path), >=, 4 * KiB);
    g_assert_cmpint(allocated_bytes(path), <=, 64 * KiB);
    g_assert_cmpint(seek_path(path, 0, SEEK_DATA), ==, 0);
    g_assert_cmpint(seek_path(path, 0, SEEK_HOLE), >=, 4 * KiB);
    g_assert_cmpint(seek_path(path, 0, SEEK_HOLE), <=, 64 * KiB);

    /* No preallocation option means off. */
    g_assert_cmpint(create_image(path, 8 * MiB, NULL, &err), ==, 0);
    g_assert_cmpint(stat_path(path).st_size, ==, 8 * MiB);
    g_assert_cmpint(allocated_bytes(path), <=, 64 * KiB);
    unlink(path);
}

static void test_create_small(void)
{
    g_autofree char *path = test_path("small.raw");
    Error *err = NULL;

    /* Sizes round up to whole sectors; the first block never extends it. */
    g_assert_cmpint(create_image(path, 1000, "off", &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 1024);
    g_assert_cmpint(seek_path(path, 0, SEEK_DATA), ==, 0);

    g_assert_cmpint(create_image(path, 0, "off", &err), ==, 0);
    g_assert_cmpint(stat_path(path).st_size, ==, 0);
    g_assert_cmpint(allocated_bytes(path), ==, 0);
    unlink(path);
}

static void test_create_falloc(void)
{
    g_autofree char *path = test_path("falloc.raw");
    Error *err = NULL;

    g_assert_cmpint(create_image(path, 16 * MiB, "falloc", &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 16 * MiB);
    g_assert_cmpint(allocated_bytes(path), >=, 16 * MiB);
    unlink(path);
}

static void test_create_full(void)
{
    g_autofree char *path = test_path("full.raw");
    g_autofree char *buf = g_malloc(4 * MiB);
    Error *err = NULL;
    int fd;

    g_assert_cmpint(create_image(path, 4 * MiB + 512, "full", &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 4 * MiB + 512);
    g_assert_cmpint(allocated_bytes(path), >=, 4 * MiB + 512);
    /* Written zeroes are data, all the way. */
    g_assert_cmpint(seek_path(path, 0, SEEK_HOLE), ==, 4 * MiB + 512);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(pread(fd, buf, 4 * MiB, 0), ==, 4 * MiB);
    g_assert_true(buf_is(buf, 0, 4 * MiB));
    close(fd);
    unlink(path);
}

static void test_create_overwrite(void)
{
    g_autofree char *path = test_path("over.raw");
    char buf[4096];
    Error *err = NULL;
    int fd;

    make_filled_file(path, 1 * MiB, 0x5a);
    g_assert_cmpint(create_image(path, 64 * KiB, "off", &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 64 * KiB);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    for (int64_t off = 0; off < 64 * KiB; off += sizeof(buf)) {
        g_assert_cmpint(pread(fd, buf, sizeof(buf), off), ==, sizeof(buf));
        g_assert_true(buf_is(buf, 0, sizeof(buf)));
    }
    close(fd);
    unlink(path);
}

static void test_create_errors(void)
{
    g_autofree char *path = test_path("bad.raw");
    g_autofree char *nodir = test_path("no/such/dir.raw");
    g_autofree char *msg = NULL;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, 1 * MiB, "metadata", &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unsupported preallocation mode: metadata");
    error_free(err);
    err = NULL;

    g_assert_cmpint(create_image(path, 1 * MiB, "bogus", &err), <, 0);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;

    g_assert_cmpint(create_image(nodir, 1 * MiB, "off", &err), ==, -ENOENT);
    msg = g_strdup_printf("Could not create '%s': No such file or directory",
                          nodir);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    unlink(path);
}

/* ---- Truncate ---------------------------------------------------------- */

static void test_truncate(void)
{
    g_autofree char *path = test_path("trunc.raw");
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    BlockBackend *blk;
    Error *err = NULL;
    int64_t before;

    g_assert_cmpint(create_image(path, 0, "off", NULL), ==, 0);
    blk = open_blk(path, NULL);

    /* Growing an empty file writes its first block, like create. */
    g_assert_cmpint(blk_truncate(blk, 1 * MiB, true, PREALLOC_MODE_OFF, 0,
                                 &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB);
    g_assert_cmpint(blk_getlength(blk), ==, 1 * MiB);
    g_assert_cmpint(seek_path(path, 0, SEEK_DATA), ==, 0);
    g_assert_cmpint(allocated_bytes(path), <=, 64 * KiB);

    memset(buf, 0x66, 64 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 960 * KiB, 64 * KiB, buf, 0), ==, 0);

    /* Shrink, then grow again: the regrown area reads as zero. */
    g_assert_cmpint(blk_truncate(blk, 992 * KiB, true, PREALLOC_MODE_OFF, 0,
                                 &err), ==, 0);
    g_assert_cmpint(stat_path(path).st_size, ==, 992 * KiB);
    g_assert_cmpint(blk_truncate(blk, 1 * MiB, true, PREALLOC_MODE_OFF, 0,
                                 &err), ==, 0);
    g_assert_cmpint(blk_pread(blk, 960 * KiB, 64 * KiB, buf, 0), ==, 0);
    g_assert_true(buf_is(buf, 0x66, 32 * KiB));
    g_assert_true(buf_is(buf + 32 * KiB, 0, 32 * KiB));

    /* Preallocated growth. */
    before = allocated_bytes(path);
    g_assert_cmpint(blk_truncate(blk, 5 * MiB, true, PREALLOC_MODE_FALLOC,
                                 0, &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 5 * MiB);
    g_assert_cmpint(allocated_bytes(path), >=, before + 4 * MiB);
    before = allocated_bytes(path);
    g_assert_cmpint(blk_truncate(blk, 7 * MiB, true, PREALLOC_MODE_FULL,
                                 0, &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 7 * MiB);
    g_assert_cmpint(allocated_bytes(path), >=, before + 2 * MiB);
    g_assert_cmpint(blk_pread(blk, 6 * MiB, 64 * KiB, buf, 0), ==, 0);
    g_assert_true(buf_is(buf, 0, 64 * KiB));

    /* Preallocation cannot shrink. */
    g_assert_cmpint(blk_truncate(blk, 1 * MiB, true, PREALLOC_MODE_FALLOC,
                                 0, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "Cannot use preallocation for shrinking files"));
    error_free(err);
    err = NULL;
    g_assert_cmpint(stat_path(path).st_size, ==, 7 * MiB);

    blk_unref(blk);
    unlink(path);
}

static void test_truncate_direct_full(void)
{
    g_autofree char *path = test_path("trunc-direct.raw");
    g_autofree uint8_t *buf = g_malloc(8 * KiB);
    BlockBackend *blk;
    Error *err = NULL;

    if (skip_without_direct_io()) {
        return;
    }
    make_filled_file(path, 5000, 0x42);
    blk = open_blk(path, "cache.direct=on");
    /* Zeroes from an unaligned old end, despite O_DIRECT. */
    g_assert_cmpint(blk_truncate(blk, 5000 + 1 * MiB, true,
                                 PREALLOC_MODE_FULL, 0, &err), ==, 0);
    assert_no_error(err);
    g_assert_cmpint(stat_path(path).st_size, ==, 5000 + 1 * MiB);
    g_assert_cmpint(allocated_bytes(path), >=, 5000 + 1 * MiB);
    read_path(path, 0, buf, 8 * KiB);
    g_assert_true(buf_is(buf, 0x42, 5000));
    g_assert_true(buf_is(buf + 5000, 0, 8 * KiB - 5000));
    blk_unref(blk);
    unlink(path);
}

/* ---- Open errors ------------------------------------------------------- */

static void check_open_error(const char *path, const char *extra,
                             const char *expected)
{
    Error *err = NULL;
    BlockDriverState *bs = open_node(path, extra, &err);

    g_assert_null(bs);
    g_assert_nonnull(err);
    if (expected) {
        g_assert_cmpstr(error_get_pretty(err), ==, expected);
    }
    error_free(err);
}

static void test_open_errors(void)
{
    g_autofree char *path = test_path("err.raw");
    g_autofree char *missing = test_path("missing.raw");
    g_autofree char *msg = g_strdup_printf(
        "Could not open '%s': No such file or directory", missing);

    check_open_error(missing, NULL, msg);
    g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
    check_open_error(path, "aio=native",
                     "aio=native was specified, but it requires "
                     "cache.direct=on, which was not specified.");
    if (!luring_available()) {
        check_open_error(path, "aio=io_uring",
                         "aio=io_uring was specified, but is not supported "
                         "in this build.");
    }
    check_open_error(path, "aio=bogus", NULL);
    check_open_error(path, "locking=maybe", NULL);
    check_open_error(test_dir, "read-only=on",
                     "A regular file was expected by the 'file' driver, but "
                     "something else was given");
    unlink(path);
}

/* A kernel refusing the ring fails the open with qemu-io's message. */
static void test_open_io_uring_refused(void)
{
    g_autofree char *path = test_path("refused.raw");

    if (!luring_available()) {
        g_test_skip("built without liburing");
        return;
    }
    if (!deny_syscall_supported()) {
        g_test_skip("seccomp unavailable: cannot simulate a refusal");
        return;
    }
    if (g_test_subprocess()) {
        g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
        g_assert_cmpint(deny_syscall(__NR_io_uring_setup, EPERM), ==, 0);
        check_open_error(path, "aio=io_uring",
                         "Unable to use io_uring: failed to init linux "
                         "io_uring ring");
        unlink(path);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

static void test_open_read_only(void)
{
    g_autofree char *path = test_path("ro.raw");
    BlockDriverState *bs;
    BlockBackend *blk;
    Error *err = NULL;
    char buf[512];

    make_filled_file(path, 64 * KiB, 0x21);
    g_assert_cmpint(chmod(path, 0444), ==, 0);
    bs = open_node(path, "read-only=on", &err);
    assert_no_error(err);
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                          &error_abort);
    bdrv_unref(bs);
    g_assert_cmpint(blk_pread(blk, 512, sizeof(buf), buf, 0), ==, 0);
    g_assert_true(buf_is(buf, 0x21, sizeof(buf)));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), <, 0);
    blk_unref(blk);
    unlink(path);
}

/* ---- Locking ----------------------------------------------------------- */

static BlockBackend *try_open_locked(const char *path, const char *extra,
                                     uint64_t perm, uint64_t shared,
                                     Error **errp)
{
    BlockDriverState *bs = open_node(path, extra, &error_abort);
    BlockBackend *blk = blk_new_with_bs(bs, perm, shared, errp);

    bdrv_unref(bs);
    return blk;
}

static void test_locking(void)
{
    g_autofree char *path = test_path("lock.raw");
    g_autofree char *hint = NULL;
    uint64_t writer_shares = BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED;
    BlockBackend *a, *b;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
    a = try_open_locked(path, NULL, PERM_RW, writer_shares, &error_abort);

    /* A second writer is refused, naming the permission and the file. */
    b = try_open_locked(path, NULL, PERM_RW, BLK_PERM_ALL, &err);
    g_assert_null(b);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "Failed to get \"write\" lock"));
    hint = g_strdup_printf("Is another process using the image [%s]?", path);
    g_assert_nonnull(strstr(error_get_pretty(err), hint));
    error_free(err);
    err = NULL;

    /* A reader that shares writing is fine. */
    b = try_open_locked(path, NULL, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                        &error_abort);
    blk_unref(b);

    /* A reader that refuses to share writing is not. */
    b = try_open_locked(path, NULL, BLK_PERM_CONSISTENT_READ,
                        BLK_PERM_CONSISTENT_READ, &err);
    g_assert_null(b);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "Failed to get shared \"write\" lock"));
    error_free(err);
    err = NULL;

    /*
     * force-share=on (qemu-img -U) on a format node reaches its file child:
     * the same reader gets in, and shares whatever its user refuses.
     */
    {
        g_autofree char *opts = g_strdup_printf(
            "driver=raw,read-only=on,force-share=on,file.driver=file,"
            "file.filename=%s", path);
        BlockDriverState *bs = bdrv_open_string(opts, &error_abort);

        g_assert_true(bs->file->bs->force_share);
        b = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ,
                            BLK_PERM_CONSISTENT_READ, &error_abort);
        bdrv_unref(bs);
        blk_unref(b);
    }

    /* Nor can the file be created anew while in use. */
    g_assert_cmpint(create_image(path, 1 * MiB, "off", &err), <, 0);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_cmpint(stat_path(path).st_size, ==, 64 * KiB);

    /* locking=off does not look. */
    b = try_open_locked(path, "locking=off", PERM_RW, BLK_PERM_ALL,
                        &error_abort);
    blk_unref(b);

    /* Once the first writer is gone, the second gets in. */
    blk_unref(a);
    b = try_open_locked(path, NULL, PERM_RW, writer_shares, &error_abort);
    blk_unref(b);
    unlink(path);
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    file_posix_test_init("emblock-file-posix-XXXXXX");

    g_test_add_func("/file-posix/create/off", test_create_off);
    g_test_add_func("/file-posix/create/small", test_create_small);
    g_test_add_func("/file-posix/create/falloc", test_create_falloc);
    g_test_add_func("/file-posix/create/full", test_create_full);
    g_test_add_func("/file-posix/create/overwrite", test_create_overwrite);
    g_test_add_func("/file-posix/create/errors", test_create_errors);
    g_test_add_func("/file-posix/truncate/basic", test_truncate);
    g_test_add_func("/file-posix/truncate/direct-full",
                    test_truncate_direct_full);
    g_test_add_func("/file-posix/open/errors", test_open_errors);
    g_test_add_func("/file-posix/open/io-uring-refused",
                    test_open_io_uring_refused);
    g_test_add_func("/file-posix/open/read-only", test_open_read_only);
    g_test_add_func("/file-posix/locking", test_locking);

    ret = g_test_run();
    file_posix_test_cleanup();
    return ret;
}
