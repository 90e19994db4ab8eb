/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the `file` protocol driver (block/file-posix.c).
 *
 * Each test works in a fresh temporary directory.  Most go through the
 * public API (bdrv_create, bdrv_open_string, BlockBackend I/O, block
 * status) and then look at the file itself with fstat() and lseek() to
 * see what the driver did: st_blocks tells allocation, SEEK_DATA/SEEK_HOLE
 * tell holes.  A few call the driver's callbacks directly from a coroutine
 * where the core would hide the behaviour under test: short reads past the
 * real end of file (the core zero-fills beyond the node's length itself),
 * the exact block-status answers before the core clamps them, the
 * block-status cache, and unaligned buffers with O_DIRECT.
 *
 * Allocation checks leave slack for file-system metadata and assume
 * 4 KiB-or-smaller file-system blocks (true for ext4, XFS, btrfs, tmpfs).
 * Tests that need O_DIRECT, libaio or io_uring are skipped when the
 * temporary directory's file system, the build or the kernel lacks them.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "util/io-uring.h"
#include "util/linux-aio.h"
#include "deny-syscall.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define KiB 1024LL
#define MiB (1024 * KiB)

#define PERM_RW (BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE)

/* Fail with the message when @err is set. */
#define assert_no_error(err)                                            \
    do {                                                                \
        if (err) {                                                      \
            g_error("unexpected error: %s", error_get_pretty(err));     \
        }                                                               \
    } while (0)

static char *test_dir;

/* ---- Helpers ---------------------------------------------------------- */

static char *test_path(const char *name)
{
    return g_build_filename(test_dir, name, NULL);
}

static int create_image(const char *path, int64_t size, const char *prealloc,
                        Error **errp)
{
    JsonObject *opts = qdict_new();
    int ret;

    qdict_put_str(opts, "driver", "file");
    qdict_put_str(opts, "filename", path);
    qdict_put_int(opts, "size", size);
    if (prealloc) {
        qdict_put_str(opts, "preallocation", prealloc);
    }
    ret = bdrv_create(opts, errp);
    qdict_unref(opts);
    return ret;
}

/* Open a file node with extra dotted options (may be NULL). */
static BlockDriverState *open_node(const char *path, const char *extra,
                                   Error **errp)
{
    g_autofree char *str = g_strdup_printf("driver=file,filename=%s%s%s",
                                           path, extra ? "," : "",
                                           extra ? extra : "");

    return bdrv_open_string(str, errp);
}

/* A read-write backend on a new file node, sharing everything. */
static BlockBackend *open_blk(const char *path, const char *extra)
{
    Error *err = NULL;
    BlockDriverState *bs = open_node(path, extra, &err);
    BlockBackend *blk;

    assert_no_error(err);
    g_assert_nonnull(bs);
    blk = blk_new_with_bs(bs, PERM_RW, BLK_PERM_ALL, &err);
    assert_no_error(err);
    g_assert_nonnull(blk);
    bdrv_unref(bs);
    return blk;
}

static struct stat stat_path(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st;
}

static int64_t allocated_bytes(const char *path)
{
    return (int64_t)stat_path(path).st_blocks * 512;
}

/* lseek(SEEK_DATA or SEEK_HOLE) on the file, -errno on failure. */
static int64_t seek_path(const char *path, int64_t offset, int whence)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t ret;

    g_assert_cmpint(fd, >=, 0);
    ret = lseek(fd, offset, whence);
    ret = ret < 0 ? -errno : ret;
    close(fd);
    return ret;
}

/* Make a file of @size bytes filled with @c, written and synced. */
static void make_filled_file(const char *path, int64_t size, int c)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_autofree char *buf = g_malloc(size);

    g_assert_cmpint(fd, >=, 0);
    memset(buf, c, size);
    g_assert_cmpint(pwrite(fd, buf, size, 0), ==, size);
    g_assert_cmpint(fsync(fd), ==, 0);
    close(fd);
}

static void punch_path(const char *path, int64_t offset, int64_t len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              offset, len), ==, 0);
    close(fd);
}

static bool buf_is(const void *buf, int c, size_t len)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < len; i++) {
        if (p[i] != c) {
            return false;
        }
    }
    return true;
}

/* Whether files in the test directory can be opened O_DIRECT. */
static bool direct_io_works(void)
{
    g_autofree char *path = test_path("direct-probe");
    int fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);

    if (fd >= 0) {
        close(fd);
    }
    unlink(path);
    return fd >= 0;
}

static bool skip_without_direct_io(void)
{
    if (!direct_io_works()) {
        g_test_skip("O_DIRECT not supported in the temporary directory");
        return true;
    }
    return false;
}

static bool skip_without_linux_aio(void)
{
    if (skip_without_direct_io()) {
        return true;
    }
    if (!laio_available()) {
        g_test_skip("built without libaio");
        return true;
    }
    return false;
}

/* ---- Calling driver callbacks from a coroutine ------------------------ */

typedef struct DrvCall {
    BlockDriverState *bs;
    bool is_write;
    BdrvRequestFlags flags;
    unsigned mode;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    int64_t pnum;
    int64_t map;
    BlockDriverState *file;
    int ret;
    bool done;
} DrvCall;

static void coroutine_fn drv_rw_entry(void *opaque)
{
    DrvCall *c = opaque;
    const BlockDriver *drv = c->bs->drv;

    if (c->is_write) {
        c->ret = drv->bdrv_co_pwritev(c->bs, c->offset, c->bytes, c->qiov, 0);
    } else {
        c->ret = drv->bdrv_co_preadv(c->bs, c->offset, c->bytes, c->qiov, 0);
    }
    c->done = true;
}

/* The driver's own read or write of @len bytes of @buf at @offset. */
static int drv_rw(BlockDriverState *bs, bool is_write, int64_t offset,
                  void *buf, size_t len)
{
    QEMUIOVector qiov;
    DrvCall c = {
        .bs = bs,
        .is_write = is_write,
        .offset = offset,
        .bytes = len,
        .qiov = &qiov,
    };

    qemu_iovec_init_buf(&qiov, buf, len);
    aio_run_co_sync(drv_rw_entry, &c, &c.done);
    return c.ret;
}

static void coroutine_fn drv_zeroes_entry(void *opaque)
{
    DrvCall *c = opaque;

    c->ret = c->bs->drv->bdrv_co_pwrite_zeroes(c->bs, c->offset, c->bytes,
                                               c->flags);
    c->done = true;
}

/* The driver's own write-zeroes. */
static int drv_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags)
{
    DrvCall c = {
        .bs = bs,
        .offset = offset,
        .bytes = bytes,
        .flags = flags,
    };

    aio_run_co_sync(drv_zeroes_entry, &c, &c.done);
    return c.ret;
}

static void coroutine_fn drv_getlength_entry(void *opaque)
{
    DrvCall *c = opaque;

    c->pnum = c->bs->drv->bdrv_co_getlength(c->bs);
    c->done = true;
}

/* The driver's own idea of the length (the core caches its own). */
static int64_t drv_getlength(BlockDriverState *bs)
{
    DrvCall c = { .bs = bs };

    aio_run_co_sync(drv_getlength_entry, &c, &c.done);
    return c.pnum;
}

static void coroutine_fn drv_status_entry(void *opaque)
{
    DrvCall *c = opaque;

    c->ret = c->bs->drv->bdrv_co_block_status(c->bs, c->mode, c->offset,
                                              c->bytes, &c->pnum, &c->map,
                                              &c->file);
    c->done = true;
}

/* The driver's own block-status answer; checks map and file too. */
static int drv_status(BlockDriverState *bs, unsigned mode, int64_t offset,
                      int64_t bytes, int64_t *pnum)
{
    DrvCall c = {
        .bs = bs,
        .mode = mode,
        .offset = offset,
        .bytes = bytes,
    };

    aio_run_co_sync(drv_status_entry, &c, &c.done);
    g_assert_cmpint(c.ret, >=, 0);
    g_assert_true(c.ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(c.map, ==, offset);
    g_assert_true(c.file == bs);
    g_assert_cmpint(c.pnum, >, 0);
    *pnum = c.pnum;
    return c.ret;
}

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
 * Whether the build has io_uring and the kernel gives this process a ring
 * (a sysctl or a container's seccomp profile may refuse it).
 */
static bool io_uring_works(void)
{
    Error *err = NULL;

    if (!luring_available()) {
        return false;
    }
    if (!aio_get_linux_io_uring(qemu_get_current_aio_context(), &err)) {
        error_free(err);
        return false;
    }
    return true;
}

/* Skips the test, saying why, unless io_uring_works(). */
static bool skip_without_io_uring(void)
{
    Error *err = NULL;

    if (!luring_available()) {
        g_test_skip("built without liburing");
        return true;
    }
    if (!aio_get_linux_io_uring(qemu_get_current_aio_context(), &err)) {
        g_autofree char *msg = g_strdup_printf("io_uring unavailable: %s",
                                               error_get_pretty(err));

        g_test_skip(msg);
        error_free(err);
        return true;
    }
    return false;
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

/* Read @len bytes at @offset of the file itself. */
static void read_path(const char *path, int64_t offset, void *buf,
                      size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, len, offset), ==, len);
    close(fd);
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

static void remove_test_dir(void)
{
    GDir *dir = g_dir_open(test_dir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = test_path(name);

        chmod(path, 0644);
        unlink(path);
    }
    if (dir) {
        g_dir_close(dir);
    }
    rmdir(test_dir);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_dir = g_dir_make_tmp("emblock-file-posix-XXXXXX", NULL);
    g_assert_nonnull(test_dir);

    g_test_add_func("/file-posix/create/off", test_create_off);
    g_test_add_func("/file-posix/create/small", test_create_small);
    g_test_add_func("/file-posix/create/falloc", test_create_falloc);
    g_test_add_func("/file-posix/create/full", test_create_full);
    g_test_add_func("/file-posix/create/overwrite", test_create_overwrite);
    g_test_add_func("/file-posix/create/errors", test_create_errors);
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
    g_test_add_func("/file-posix/truncate/basic", test_truncate);
    g_test_add_func("/file-posix/truncate/direct-full",
                    test_truncate_direct_full);
    g_test_add_func("/file-posix/open/errors", test_open_errors);
    g_test_add_func("/file-posix/open/io-uring-refused",
                    test_open_io_uring_refused);
    g_test_add_func("/file-posix/open/read-only", test_open_read_only);
    g_test_add_func("/file-posix/locking", test_locking);

    ret = g_test_run();
    remove_test_dir();
    g_free(test_dir);
    return ret;
}
