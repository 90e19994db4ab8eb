/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the `file` driver tests (see file-posix-test-util.h):
 * the temporary directory, image creation and open helpers, looking at
 * the file itself (stat, lseek, fallocate), probes for O_DIRECT, libaio
 * and io_uring, and calls into the driver's callbacks from a coroutine.
 */
#include "file-posix-test-util.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

char *test_dir;

/* ---- The temporary directory ------------------------------------------ */

char *test_path(const char *name)
{
    return g_build_filename(test_dir, name, NULL);
}

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

void file_posix_test_init(const char *tmpl)
{
    test_dir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(test_dir);
}

void file_posix_test_cleanup(void)
{
    remove_test_dir();
    g_free(test_dir);
    test_dir = NULL;
}

/* ---- Images and files ------------------------------------------------- */

int create_image(const char *path, int64_t size, const char *prealloc,
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
BlockDriverState *open_node(const char *path, const char *extra,
                            Error **errp)
{
    g_autofree char *str = g_strdup_printf("driver=file,filename=%s%s%s",
                                           path, extra ? "," : "",
                                           extra ? extra : "");

    return bdrv_open_string(str, errp);
}

/* A read-write backend on a new file node, sharing everything. */
BlockBackend *open_blk(const char *path, const char *extra)
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

struct stat stat_path(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st;
}

int64_t allocated_bytes(const char *path)
{
    return (int64_t)stat_path(path).st_blocks * 512;
}

/* lseek(SEEK_DATA or SEEK_HOLE) on the file, -errno on failure. */
int64_t seek_path(const char *path, int64_t offset, int whence)
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
void make_filled_file(const char *path, int64_t size, int c)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_autofree char *buf = g_malloc(size);

    g_assert_cmpint(fd, >=, 0);
    memset(buf, c, size);
    g_assert_cmpint(pwrite(fd, buf, size, 0), ==, size);
    g_assert_cmpint(fsync(fd), ==, 0);
    close(fd);
}

void punch_path(const char *path, int64_t offset, int64_t len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              offset, len), ==, 0);
    close(fd);
}

bool buf_is(const void *buf, int c, size_t len)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < len; i++) {
        if (p[i] != c) {
            return false;
        }
    }
    return true;
}

/* Read @len bytes at @offset of the file itself. */
void read_path(const char *path, int64_t offset, void *buf,
               size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, len, offset), ==, len);
    close(fd);
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
int drv_rw(BlockDriverState *bs, bool is_write, int64_t offset,
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
int drv_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
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
int64_t drv_getlength(BlockDriverState *bs)
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
int drv_status(BlockDriverState *bs, unsigned mode, int64_t offset,
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

/* ---- What the file system, build and kernel support ------------------- */

/* Whether files in the test directory can be opened O_DIRECT. */
bool direct_io_works(void)
{
    g_autofree char *path = test_path("direct-probe");
    int fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);

    if (fd >= 0) {
        close(fd);
    }
    unlink(path);
    return fd >= 0;
}

bool skip_without_direct_io(void)
{
    if (!direct_io_works()) {
        g_test_skip("O_DIRECT not supported in the temporary directory");
        return true;
    }
    return false;
}

bool skip_without_linux_aio(void)
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

/*
 * Whether the build has io_uring and the kernel gives this process a ring
 * (a sysctl or a container's seccomp profile may refuse it).
 */
bool io_uring_works(void)
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
bool skip_without_io_uring(void)
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
