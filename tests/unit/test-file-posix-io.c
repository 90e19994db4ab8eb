/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the data path of the `file` protocol driver
 * (block/file-posix.c): reads and writes on every back end (the thread
 * pool, buffered and O_DIRECT; Linux AIO; io_uring), flush, write-zeroes,
 * discard and block status with SEEK_DATA/SEEK_HOLE.  Creation, truncate,
 * open and locking are tested in test-file-posix.c; the helpers both use
 * are in file-posix-test-util.c.
 *
 * Each test works in a fresh temporary directory.  Most go through the
 * public API (BlockBackend I/O, block status) and then look at the file
 * itself with fstat() and lseek() to see what the driver did: st_blocks
 * tells allocation, SEEK_DATA/SEEK_HOLE tell holes.  A few call the
 * driver's callbacks directly from a coroutine where the core would hide
 * the behaviour under test: short reads past the real end of file (the
 * core zero-fills beyond the node's length itself), the exact
 * block-status answers before the core clamps them, the block-status
 * cache, and unaligned buffers with O_DIRECT.
 *
 * Allocation checks leave slack for file-system metadata and assume
 * 4 KiB-or-smaller file-system blocks (true for ext4, XFS, btrfs, tmpfs).
 * Tests that need O_DIRECT, libaio or io_uring are skipped when the
 * temporary directory's file system, the build or the kernel lacks them.
 */
#include "file-posix-test-util.h"
#include "deny-syscall.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- Reads and writes -------------------------------------------------- */

/* Write patterns through @blk at awkward places and read them back. */
static void check_round_trip(BlockBackend *blk, const char *path)
{
    size_t len = 192 * KiB;
    uint8_t *wbuf = qemu_blockalign(4096, len);
    uint8_t *rbuf = qemu_blockalign(4096, len);
    int fd;

    for (size_t i = 0; i < len; i++) {
        wbuf[i] = i * 7 + 3;
    }
    /* Aligned, then unaligned offset and length (the core pads). */
    g_assert_cmpint(blk_pwrite(blk, 64 * KiB, len, wbuf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 1000, 3000, wbuf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);

    g_assert_cmpint(blk_pread(blk, 64 * KiB, len, rbuf, 0), ==, 0);
    g_assert_cmpmem(rbuf, len, wbuf, len);
    g_assert_cmpint(blk_pread(blk, 1000, 3000, rbuf, 0), ==, 0);
    g_assert_cmpmem(rbuf, 3000, wbuf, 3000);
    g_assert_cmpint(blk_pread(blk, 0, 1000, rbuf, 0), ==, 0);
    g_assert_true(buf_is(rbuf, 0, 1000));

    /* The bytes really are in the file. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(pread(fd, rbuf, len, 64 * KiB), ==, len);
    g_assert_cmpmem(rbuf, len, wbuf, len);
    close(fd);

    qemu_vfree(wbuf);
    qemu_vfree(rbuf);
}

static void test_rw_buffered(void)
{
    g_autofree char *path = test_path("rw.raw");
    BlockBackend *blk;

    g_assert_cmpint(create_image(path, 1 * MiB, "off", NULL), ==, 0);
    blk = open_blk(path, NULL);
    g_assert_cmpint(blk_bs(blk)->bl.request_alignment, ==, 1);
    check_round_trip(blk, path);
    blk_unref(blk);
    unlink(path);
}

static void test_rw_direct(void)
{
    g_autofree char *path = test_path("direct.raw");
    BlockBackend *blk;
    BlockDriverState *bs;

    if (skip_without_direct_io()) {
        return;
    }
    g_assert_cmpint(create_image(path, 1 * MiB, "off", NULL), ==, 0);
    blk = open_blk(path, "cache.direct=on");
    bs = blk_bs(blk);
    g_assert_cmpint(bs->bl.request_alignment, >=, 512);
    g_assert_cmpint(bs->bl.request_alignment, <=, 4096);
    g_assert_cmpint(bs->bl.min_mem_alignment, >=, 512);
    g_assert_cmpint(bs->bl.opt_mem_alignment, >=, bs->bl.min_mem_alignment);
    check_round_trip(blk, path);
    blk_unref(blk);
    unlink(path);
}

static void test_rw_native(void)
{
    g_autofree char *path = test_path("native.raw");
    BlockBackend *blk;

    if (skip_without_linux_aio()) {
        return;
    }
    g_assert_cmpint(create_image(path, 1 * MiB, "off", NULL), ==, 0);
    blk = open_blk(path, "cache.direct=on,aio=native");
    check_round_trip(blk, path);
    blk_unref(blk);
    unlink(path);
}

/*
 * aio=io_uring, buffered or O_DIRECT.  The I/O runs in a child in which
 * the system calls of the thread-pool path (preadv, pwritev, fdatasync)
 * fail, so it passes only if reads, writes and flushes really go through
 * the ring.  With O_DIRECT only aligned requests are made: the core pads
 * unaligned ones with vectors that the driver bounces on the pool.
 */
static void check_rw_io_uring(const char *name, const char *extra,
                              bool aligned_only)
{
    static const long pool_syscalls[] = {
        __NR_preadv, __NR_pwritev, __NR_preadv2, __NR_pwritev2,
        __NR_fdatasync, __NR_fsync,
    };
    g_autofree char *path = test_path(name);
    size_t len = 192 * KiB;
    uint8_t *wbuf, *rbuf;
    BlockBackend *blk;
    int fd;

    g_assert_cmpint(create_image(path, 1 * MiB, "off", NULL), ==, 0);
    blk = open_blk(path, extra);
    if (deny_syscall_supported()) {
        g_assert_cmpint(deny_syscalls(pool_syscalls,
                                      G_N_ELEMENTS(pool_syscalls), EPERM),
                        ==, 0);
    }
    if (!aligned_only) {
        check_round_trip(blk, path);
        goto out;
    }
    wbuf = qemu_blockalign(4096, len);
    rbuf = qemu_blockalign(4096, len);
    for (size_t i = 0; i < len; i++) {
        wbuf[i] = i * 11 + 5;
    }
    g_assert_cmpint(blk_pwrite(blk, 64 * KiB, len, wbuf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(blk_pread(blk, 64 * KiB, len, rbuf, 0), ==, 0);
    g_assert_cmpmem(rbuf, len, wbuf, len);
    g_assert_cmpint(blk_pread(blk, 0, 64 * KiB, rbuf, 0), ==, 0);
    g_assert_true(buf_is(rbuf, 0, 64 * KiB));
    /* The bytes really are in the file. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(pread(fd, rbuf, len, 64 * KiB), ==, len);
    g_assert_cmpmem(rbuf, len, wbuf, len);
    close(fd);
    qemu_vfree(wbuf);
    qemu_vfree(rbuf);
out:
    blk_unref(blk);
    unlink(path);
}

static void test_rw_io_uring(void)
{
    if (skip_without_io_uring()) {
        return;
    }
    if (g_test_subprocess()) {
        if (direct_io_works()) {
            check_rw_io_uring("uring-direct.raw",
                              "cache.direct=on,aio=io_uring", true);
        }
        check_rw_io_uring("uring.raw", "aio=io_uring", false);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

/* O_DIRECT with buffers the kernel would refuse: the driver bounces. */
static void check_misaligned_buffers(const char *extra)
{
    g_autofree char *path = test_path("misaligned.raw");
    BlockDriverState *bs;
    size_t len = 8 * KiB;
    uint8_t *mem = qemu_blockalign(4096, len + 4096);
    uint8_t *back = qemu_blockalign(4096, len + 4096);

    g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
    bs = open_node(path, extra, &error_abort);
    for (size_t i = 0; i < len; i++) {
        mem[8 + i] = i ^ 0x5c;
    }
    g_assert_cmpint(drv_rw(bs, true, 16 * KiB, mem + 8, len), ==, 0);
    g_assert_cmpint(drv_rw(bs, false, 16 * KiB, back + 24, len), ==, 0);
    g_assert_cmpmem(back + 24, len, mem + 8, len);
    bdrv_unref(bs);
    qemu_vfree(mem);
    qemu_vfree(back);
    unlink(path);
}

static void test_rw_misaligned_buffer(void)
{
    if (skip_without_direct_io()) {
        return;
    }
    check_misaligned_buffers("cache.direct=on");
    if (laio_available()) {
        check_misaligned_buffers("cache.direct=on,aio=native");
    }
    if (io_uring_works()) {
        check_misaligned_buffers("cache.direct=on,aio=io_uring");
    }
}

/*
 * The file shrinks under the node: reads past its new end get the data
 * up to it and zeroes after, and succeed.
 */
static void check_short_read(const char *extra, int64_t offset)
{
    g_autofree char *path = test_path("short.raw");
    BlockDriverState *bs;
    uint8_t *buf = qemu_blockalign(4096, 8 * KiB);
    int64_t eof = 5000;

    make_filled_file(path, 8 * KiB, 0x11);
    bs = open_node(path, extra, &error_abort);
    g_assert_cmpint(truncate(path, eof), ==, 0);

    memset(buf, 0xaa, 8 * KiB);
    g_assert_cmpint(drv_rw(bs, false, offset, buf, 8 * KiB - offset), ==, 0);
    g_assert_true(buf_is(buf, 0x11, eof - offset));
    g_assert_true(buf_is(buf + eof - offset, 0, 8 * KiB - eof));

    /* Entirely past the end: all zeroes. */
    memset(buf, 0xaa, 4 * KiB);
    g_assert_cmpint(drv_rw(bs, false, 8 * KiB, buf, 4 * KiB), ==, 0);
    g_assert_true(buf_is(buf, 0, 4 * KiB));

    bdrv_unref(bs);
    qemu_vfree(buf);
    unlink(path);
}

static void test_rw_short_read(void)
{
    check_short_read(NULL, 0);
    check_short_read(NULL, 4096);
    if (io_uring_works()) {
        check_short_read("aio=io_uring", 0);
        check_short_read("aio=io_uring", 4096);
    }
    if (direct_io_works()) {
        check_short_read("cache.direct=on", 0);
        check_short_read("cache.direct=on", 4096);
        if (laio_available()) {
            check_short_read("cache.direct=on,aio=native", 4096);
        }
        if (io_uring_works()) {
            check_short_read("cache.direct=on,aio=io_uring", 0);
            check_short_read("cache.direct=on,aio=io_uring", 4096);
        }
    }
}


/*
 * Writes past end of file grow it.  BlockBackends refuse them, so ask the
 * driver directly.
 */
static void test_rw_past_eof(void)
{
    g_autofree char *path = test_path("grow.raw");
    BlockDriverState *bs;
    char buf[512];

    g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
    bs = open_node(path, NULL, &error_abort);
    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(drv_rw(bs, true, 1 * MiB, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB + 512);
    g_assert_cmpint(drv_getlength(bs), ==, 1 * MiB + 512);
    memset(buf, 0, sizeof(buf));
    read_path(path, 1 * MiB, buf, sizeof(buf));
    g_assert_true(buf_is(buf, 0x77, sizeof(buf)));
    read_path(path, 512 * KiB, buf, sizeof(buf));
    g_assert_true(buf_is(buf, 0, sizeof(buf)));
    bdrv_unref(bs);
    unlink(path);
}

static void test_flush(void)
{
    g_autofree char *path = test_path("flush.raw");
    BlockBackend *blk;
    char buf[512] = { 1 };

    g_assert_cmpint(create_image(path, 64 * KiB, "off", NULL), ==, 0);
    blk = open_blk(path, NULL);
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    blk_unref(blk);
    unlink(path);
}

/* ---- Write-zeroes and discard ----------------------------------------- */

/* Check that [0, 64K) and [192K, 256K) hold 0x55 and [64K, 192K) zero. */
static void check_zeroed_middle(BlockBackend *blk)
{
    g_autofree uint8_t *buf = g_malloc(256 * KiB);

    g_assert_cmpint(blk_pread(blk, 0, 256 * KiB, buf, 0), ==, 0);
    g_assert_true(buf_is(buf, 0x55, 64 * KiB));
    g_assert_true(buf_is(buf + 64 * KiB, 0, 128 * KiB));
    g_assert_true(buf_is(buf + 192 * KiB, 0x55, 64 * KiB));
}

static void test_zeroes_unmap(void)
{
    g_autofree char *path = test_path("zu.raw");
    BlockBackend *blk;
    int64_t before;

    make_filled_file(path, 1 * MiB, 0x55);
    blk = open_blk(path, "discard=unmap");
    before = allocated_bytes(path);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 64 * KiB, 128 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    check_zeroed_middle(blk);
    /* Deallocated: a hole that SEEK_DATA skips. */
    g_assert_cmpint(allocated_bytes(path), <=, before - 120 * KiB);
    g_assert_cmpint(seek_path(path, 64 * KiB, SEEK_DATA), ==, 192 * KiB);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB);

    /* NO_FALLBACK is fine: nothing here falls back to writing. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 512 * KiB, 64 * KiB,
                                      BDRV_REQ_MAY_UNMAP |
                                      BDRV_REQ_NO_FALLBACK), ==, 0);
    g_assert_cmpint(seek_path(path, 512 * KiB, SEEK_DATA), ==, 576 * KiB);
    blk_unref(blk);
    unlink(path);
}

static void test_zeroes_alloc(void)
{
    g_autofree char *path = test_path("za.raw");
    BlockBackend *blk;
    int64_t before;

    make_filled_file(path, 1 * MiB, 0x55);
    /* Without discard=unmap the core drops MAY_UNMAP anyway. */
    blk = open_blk(path, NULL);
    before = allocated_bytes(path);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 64 * KiB, 128 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    check_zeroed_middle(blk);
    /* The space stays allocated. */
    g_assert_cmpint(allocated_bytes(path), >=, before - 8 * KiB);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB);

    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 64 * KiB,
                                      BDRV_REQ_NO_FALLBACK), ==, 0);
    blk_unref(blk);
    unlink(path);
}

/* Zero writes past end of file grow it (driver level, as above). */
static void check_zeroes_past_eof(BdrvRequestFlags flags)
{
    g_autofree char *path = test_path("zeof.raw");
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    BlockDriverState *bs;

    make_filled_file(path, 64 * KiB, 0x55);
    bs = open_node(path, NULL, &error_abort);
    g_assert_cmpint(drv_zeroes(bs, 1 * MiB, 64 * KiB, flags), ==, 0);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB + 64 * KiB);
    g_assert_cmpint(drv_getlength(bs), ==, 1 * MiB + 64 * KiB);
    read_path(path, 1 * MiB, buf, 64 * KiB);
    g_assert_true(buf_is(buf, 0, 64 * KiB));
    read_path(path, 0, buf, 64 * KiB);
    g_assert_true(buf_is(buf, 0x55, 64 * KiB));
    if (flags & BDRV_REQ_MAY_UNMAP) {
        /* At most the file-system block holding the last byte. */
        g_assert_cmpint(allocated_bytes(path), <=, 64 * KiB + 8 * KiB);
        int64_t data = seek_path(path, 64 * KiB, SEEK_DATA);

        g_assert_true(data == -ENXIO || data >= 1 * MiB + 56 * KiB);
    }

    /* Straddling the end of file works as well. */
    g_assert_cmpint(drv_zeroes(bs, 1 * MiB + 32 * KiB, 64 * KiB, flags), ==,
                    0);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB + 96 * KiB);
    read_path(path, 1 * MiB + 32 * KiB, buf, 64 * KiB);
    g_assert_true(buf_is(buf, 0, 64 * KiB));
    bdrv_unref(bs);
    unlink(path);
}

static void test_zeroes_past_eof(void)
{
    check_zeroes_past_eof(BDRV_REQ_MAY_UNMAP);
    check_zeroes_past_eof(0);
    check_zeroes_past_eof(BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK);
}

static void test_discard(void)
{
    g_autofree char *path = test_path("discard.raw");
    BlockBackend *blk;
    int64_t before;

    make_filled_file(path, 1 * MiB, 0x55);

    /* discard=ignore (the default): the core drops it. */
    blk = open_blk(path, NULL);
    before = allocated_bytes(path);
    g_assert_cmpint(blk_pdiscard(blk, 64 * KiB, 128 * KiB), ==, 0);
    g_assert_cmpint(allocated_bytes(path), ==, before);
    blk_unref(blk);

    blk = open_blk(path, "discard=unmap");
    g_assert_cmpint(blk_pdiscard(blk, 64 * KiB, 128 * KiB), ==, 0);
    g_assert_cmpint(allocated_bytes(path), <=, before - 120 * KiB);
    g_assert_cmpint(seek_path(path, 64 * KiB, SEEK_DATA), ==, 192 * KiB);
    g_assert_cmpint(stat_path(path).st_size, ==, 1 * MiB);
    blk_unref(blk);
    unlink(path);
}

/* ---- Block status ----------------------------------------------------- */

/*
 * 1 MiB: data [0, 64K), hole [64K, 192K), data [192K, 256K), then a
 * trailing hole.
 */
static void make_holey_file(const char *path)
{
    make_filled_file(path, 1 * MiB, 0x33);
    punch_path(path, 64 * KiB, 128 * KiB);
    punch_path(path, 256 * KiB, 768 * KiB);
}

static void test_status_no_want_zero(void)
{
    g_autofree char *path = test_path("st0.raw");
    BlockDriverState *bs;
    int64_t pnum;
    int ret;

    make_holey_file(path);
    bs = open_node(path, NULL, &error_abort);

    /* Everything is data, the whole request, without looking. */
    ret = drv_status(bs, 0, 64 * KiB, 512 * KiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 512 * KiB);
    ret = drv_status(bs, BDRV_WANT_ALLOCATED, 256 * KiB, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 4096);
    ret = drv_status(bs, BDRV_WANT_OFFSET_VALID, 0, 1 * MiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 1 * MiB);

    /* Through the core: allocated all the way, in one extent. */
    ret = bdrv_block_status(bs, BDRV_WANT_ALLOCATED, 0, 1 * MiB, &pnum,
                            NULL, NULL);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_DATA);
    g_assert_false(ret & BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 1 * MiB);
    g_assert_cmpint(bdrv_is_allocated(bs, 64 * KiB, 128 * KiB, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 128 * KiB);

    bdrv_unref(bs);
    unlink(path);
}

static void test_status_precise(void)
{
    g_autofree char *path = test_path("st1.raw");
    g_autofree uint8_t *buf = g_malloc(1 * MiB);
    BlockDriverState *bs;
    BlockBackend *blk;
    int64_t pnum, map, off;
    BlockDriverState *file;
    int ret;

    make_holey_file(path);
    blk = open_blk(path, NULL);
    bs = blk_bs(blk);

    ret = drv_status(bs, BDRV_WANT_PRECISE, 0, 1 * MiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    ret = drv_status(bs, BDRV_WANT_ZERO, 64 * KiB, 960 * KiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 128 * KiB);
    /* Inside the hole: up to the next data. */
    ret = drv_status(bs, BDRV_WANT_PRECISE, 100 * KiB, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 92 * KiB);
    ret = drv_status(bs, BDRV_WANT_PRECISE, 192 * KiB, 832 * KiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    /* Trailing hole: zero for the rest of the request. */
    ret = drv_status(bs, BDRV_WANT_PRECISE, 256 * KiB, 768 * KiB, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 768 * KiB);

    /* Through the core, with its ALLOCATED/EOF bits and mapping. */
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 64 * KiB, 960 * KiB,
                            &pnum, &map, &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_false(ret & BDRV_BLOCK_DATA);
    g_assert_cmpint(pnum, ==, 128 * KiB);
    g_assert_cmpint(map, ==, 64 * KiB);
    g_assert_true(file == bs);
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 256 * KiB, 768 * KiB,
                            &pnum, NULL, NULL);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_true(ret & BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, 768 * KiB);

    /* Never lie: every extent called ZERO reads as zeroes. */
    g_assert_cmpint(blk_pread(blk, 0, 1 * MiB, buf, 0), ==, 0);
    for (off = 0; off < 1 * MiB; off += pnum) {
        ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, off, 1 * MiB - off,
                                &pnum, NULL, NULL);
        g_assert_cmpint(ret, >=, 0);
        g_assert_cmpint(pnum, >, 0);
        if (ret & BDRV_BLOCK_ZERO) {
            g_assert_true(buf_is(buf + off, 0, pnum));
        }
    }
    blk_unref(blk);
    unlink(path);
}

static void test_status_cache(void)
{
    g_autofree char *path = test_path("st2.raw");
    BlockBackend *blk;
    BlockDriverState *bs;
    int64_t pnum;
    int ret;

    make_holey_file(path);
    blk = open_blk(path, "discard=unmap");
    bs = blk_bs(blk);
    bdrv_bsc_invalidate(bs);

    /* Finding data fills the cache with the extent. */
    ret = drv_status(bs, BDRV_WANT_PRECISE, 0, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    g_assert_true(bs->bsc.valid);
    g_assert_cmpint(bs->bsc.data_start, ==, 0);
    g_assert_cmpint(bs->bsc.data_end, ==, 64 * KiB);

    /*
     * A hole punched behind the driver's back goes unnoticed while the
     * cache answers (data is still a truthful answer): proof that
     * sequential queries inside the extent make no lseek().
     */
    punch_path(path, 0, 64 * KiB);
    for (int64_t off = 4096; off < 64 * KiB; off += 4096) {
        ret = drv_status(bs, BDRV_WANT_PRECISE, off, 4096, &pnum);
        g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
        g_assert_cmpint(pnum, ==, 64 * KiB - off);
    }
    /* Outside the cached extent the file is asked. */
    ret = drv_status(bs, BDRV_WANT_PRECISE, 64 * KiB, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);

    /* The cache still holds [0, 64K); any zero write clears it. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 512 * KiB, 4096,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_false(bs->bsc.valid);
    ret = drv_status(bs, BDRV_WANT_PRECISE, 4096, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 188 * KiB);

    /* So does a discard. */
    ret = drv_status(bs, BDRV_WANT_PRECISE, 192 * KiB, 4096, &pnum);
    g_assert_true(ret & BDRV_BLOCK_DATA);
    g_assert_true(bs->bsc.valid);
    g_assert_cmpint(blk_pdiscard(blk, 192 * KiB, 64 * KiB), ==, 0);
    g_assert_false(bs->bsc.valid);
    ret = drv_status(bs, BDRV_WANT_PRECISE, 192 * KiB, 4096, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);

    /* Without WANT_ZERO the cache is neither needed nor filled. */
    bdrv_bsc_invalidate(bs);
    drv_status(bs, BDRV_WANT_ALLOCATED, 0, 4096, &pnum);
    g_assert_false(bs->bsc.valid);
    blk_unref(blk);
    unlink(path);
}

static void test_status_unaligned_eof(void)
{
    g_autofree char *path = test_path("st3.raw");
    BlockDriverState *bs;
    int64_t pnum;
    int ret;

    make_filled_file(path, 5000, 0x44);

    bs = open_node(path, NULL, &error_abort);
    ret = drv_status(bs, BDRV_WANT_PRECISE, 0, 5000, &pnum);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 5000);
    bdrv_unref(bs);

    if (direct_io_works()) {
        uint32_t align;

        bs = open_node(path, "cache.direct=on", &error_abort);
        align = bs->bl.request_alignment;
        ret = drv_status(bs, BDRV_WANT_PRECISE, 0, ROUND_UP(5000, align),
                         &pnum);
        g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
        g_assert_cmpint(pnum, ==, ROUND_UP(5000, align));
        bdrv_unref(bs);
    }
    unlink(path);
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    file_posix_test_init("emblock-file-posix-io-XXXXXX");

    g_test_add_func("/file-posix/rw/buffered", test_rw_buffered);
    g_test_add_func("/file-posix/rw/direct", test_rw_direct);
    g_test_add_func("/file-posix/rw/native", test_rw_native);
    g_test_add_func("/file-posix/rw/io-uring", test_rw_io_uring);
    g_test_add_func("/file-posix/rw/misaligned-buffer",
                    test_rw_misaligned_buffer);
    g_test_add_func("/file-posix/rw/short-read", test_rw_short_read);
    g_test_add_func("/file-posix/rw/past-eof", test_rw_past_eof);
    g_test_add_func("/file-posix/flush", test_flush);
    g_test_add_func("/file-posix/zeroes/unmap", test_zeroes_unmap);
    g_test_add_func("/file-posix/zeroes/alloc", test_zeroes_alloc);
    g_test_add_func("/file-posix/zeroes/past-eof", test_zeroes_past_eof);
    g_test_add_func("/file-posix/discard", test_discard);
    g_test_add_func("/file-posix/block-status/no-want-zero",
                    test_status_no_want_zero);
    g_test_add_func("/file-posix/block-status/precise", test_status_precise);
    g_test_add_func("/file-posix/block-status/cache", test_status_cache);
    g_test_add_func("/file-posix/block-status/unaligned-eof",
                    test_status_unaligned_eof);

    ret = g_test_run();
    file_posix_test_cleanup();
    return ret;
}
