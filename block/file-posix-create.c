/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: creation, resizing and preallocation.
 *
 * Every resize runs on the thread pool.  Growing a regular file applies
 * the preallocation mode to the new area (off, falloc or full); device
 * files cannot be grown, only reported as long enough.  Creation takes the
 * same OFD locks as a writer that does not share resizing
 * (file-posix-lock.c) before emptying the file.
 */
#include "block/file-posix.h"
#include "util/thread-pool.h"

#include <fcntl.h>
#include <sys/stat.h>

/* Chunk size for writing zeroes with preallocation=full. */
#define FILE_ZERO_CHUNK (1 * 1024 * 1024)

/* A resize for a worker thread (also used by create, which has no node). */
typedef struct FileResizeRequest {
    int fd;
    int64_t offset;
    PreallocMode prealloc;
    Error **errp;
} FileResizeRequest;

/*
 * Write zeroes over the start of a file that was empty, so that O_DIRECT
 * alignment probing finds an allocated block rather than a hole (where
 * some file systems accept any alignment): 4 KiB, or 512 bytes for files
 * below 4 KiB, and never past @size.  Failures are ignored; this is only
 * an optimisation.
 */
static void file_allocate_first_block(int fd, int64_t size)
{
    size_t len = size < FILE_MAX_BLOCKSIZE ? BDRV_SECTOR_SIZE
                                           : FILE_MAX_BLOCKSIZE;
    void *buf;
    ssize_t n;

    len = MIN(len, (size_t)size);
    buf = qemu_try_blockalign(MAX(FILE_MAX_BLOCKSIZE, getpagesize()), len);
    if (!buf) {
        return;
    }
    memset(buf, 0, len);
    do {
        n = pwrite(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    qemu_vfree(buf);
}

/*
 * Write zeroes over [from, to) of @fd.  O_DIRECT would demand alignment
 * that @from may not have, so write through a buffered descriptor of the
 * same file in that case.
 */
static int file_write_zeroes_full(int fd, int64_t from, int64_t to,
                                  Error **errp)
{
    int flags = fcntl(fd, F_GETFL);
    int wfd = fd;
    char *buf;
    int ret = 0;

    if (flags >= 0 && (flags & O_DIRECT)) {
        char *path = g_strdup_printf("/proc/self/fd/%d", fd);

        wfd = open(path, O_WRONLY | O_CLOEXEC);
        g_free(path);
        if (wfd < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not reopen file for "
                             "preallocation");
            return ret;
        }
    }

    buf = g_malloc0(FILE_ZERO_CHUNK);
    while (from < to) {
        ssize_t n = pwrite(wfd, buf, MIN(to - from, FILE_ZERO_CHUNK), from);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ret = n < 0 ? -errno : -ENOSPC;
            error_setg_errno(errp, -ret,
                             "Could not write zeros for preallocation");
            break;
        }
        from += n;
    }
    g_free(buf);
    if (ret == 0 && fsync(wfd) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not flush file to disk");
    }
    if (wfd != fd) {
        close(wfd);
    }
    return ret;
}

/*
 * Grow @fd with preallocation=falloc: fallocate() keeps the allocation
 * metadata-only where the file system can; posix_fallocate() falls back to
 * writing.
 */
static int file_falloc(int fd, int64_t from, int64_t to, Error **errp)
{
    int ret = file_fallocate(fd, 0, from, to - from);

    if (ret == -ENOTSUP) {
        ret = -posix_fallocate(fd, from, to - from);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not preallocate new data");
    }
    return ret;
}

/*
 * Resize the regular file @fd to exactly @offset bytes.  Preallocation
 * applies to the new area when growing; shrinking allows only "off".  The
 * new area always reads as zero.
 */
static int file_resize(int fd, int64_t offset, PreallocMode prealloc,
                       Error **errp)
{
    int64_t cur = file_fd_length(fd);
    int ret = 0;

    if (cur < 0) {
        error_setg_errno(errp, -cur, "Could not determine current size");
        return cur;
    }
    if (prealloc != PREALLOC_MODE_OFF && offset < cur) {
        error_setg(errp, "Cannot use preallocation for shrinking files");
        return -ENOTSUP;
    }

    switch (prealloc) {
    case PREALLOC_MODE_OFF:
        if (ftruncate(fd, offset) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not resize file");
        }
        break;
    case PREALLOC_MODE_FALLOC:
        if (offset > cur) {
            ret = file_falloc(fd, cur, offset, errp);
        }
        break;
    case PREALLOC_MODE_FULL:
        /* Setting the size first lets the file system plan the layout. */
        if (offset > cur && ftruncate(fd, offset) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not resize file");
        } else if (offset > cur) {
            ret = file_write_zeroes_full(fd, cur, offset, errp);
        }
        break;
    default:
        error_setg(errp, "Unsupported preallocation mode: %s",
                   bdrv_prealloc_names[prealloc]);
        return -ENOTSUP;
    }

    if (ret == 0 && cur == 0 && offset > 0 &&
        prealloc != PREALLOC_MODE_FULL) {
        file_allocate_first_block(fd, offset);
    }
    return ret;
}

static int file_worker_resize(void *opaque)
{
    FileResizeRequest *req = opaque;

    return file_resize(req->fd, req->offset, req->prealloc, req->errp);
}

int coroutine_fn file_co_truncate(BlockDriverState *bs,
                                  int64_t offset, bool exact,
                                  PreallocMode prealloc,
                                  BdrvRequestFlags flags,
                                  Error **errp)
{
    BDRVFileState *s = bs->opaque;
    FileResizeRequest req = {
        .fd = s->fd,
        .offset = offset,
        .prealloc = prealloc,
        .errp = errp,
    };
    int64_t cur;

    bdrv_bsc_invalidate(bs);
    if (s->is_regular) {
        /* Regular files always get exactly @offset. */
        return thread_pool_submit_co(file_worker_resize, &req);
    }

    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Preallocation mode '%s' unsupported for this "
                   "non-regular file", bdrv_prealloc_names[prealloc]);
        return -ENOTSUP;
    }
    cur = file_fd_length(s->fd);
    if (cur < 0) {
        error_setg_errno(errp, -cur, "Failed to get device length");
        return cur;
    }
    if (offset > cur) {
        error_setg(errp, "Cannot grow device files");
        return -EINVAL;
    }
    if (offset < cur && exact) {
        error_setg(errp, "Cannot resize device files");
        return -ENOTSUP;
    }
    return 0;
}

int64_t coroutine_fn file_co_getlength(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    return file_fd_length(s->fd);
}

int64_t coroutine_fn file_co_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/*
 * Create (or empty) the file and give it the requested size and
 * preallocation.  Like an open for writing that does not share resizing,
 * it first makes sure no one else uses the file.
 */
static int file_create_fd(int fd, const char *filename, int64_t size,
                          PreallocMode prealloc, Error **errp)
{
    uint64_t held_perm = 0, held_unshared = 0;
    uint64_t perm = BLK_PERM_WRITE | BLK_PERM_RESIZE;
    uint64_t shared = BLK_PERM_ALL & ~BLK_PERM_RESIZE;
    FileResizeRequest req = {
        .fd = fd,
        .offset = size,
        .prealloc = prealloc,
        .errp = errp,
    };
    int ret;

#ifdef F_OFD_SETLK
    ret = file_apply_locks(fd, &held_perm, &held_unshared, perm,
                           ~shared & BLK_PERM_ALL, false, errp);
    if (ret == 0) {
        ret = file_check_locks(fd, perm, shared, filename, errp);
    }
    if (ret < 0) {
        return ret;
    }
#endif
    /* Empty it first so that preallocation covers the whole size. */
    if (ftruncate(fd, 0) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not clear the new file");
        return ret;
    }
    return thread_pool_submit_co(file_worker_resize, &req);
}

int coroutine_fn file_co_create_opts(BlockOptions *opts, Error **errp)
{
    const char *filename = qdict_get_str(opts, "filename");
    uint64_t size = 0;
    int prealloc = PREALLOC_MODE_OFF;
    int fd, ret;

    if (!filename) {
        error_setg(errp, "Parameter 'filename' is required");
        return -EINVAL;
    }
    if (g_str_has_prefix(filename, "file:")) {
        filename += strlen("file:");
    }
    if (!qdict_get_size_opt(opts, "size", &size, errp) ||
        !qdict_get_enum_opt(opts, "preallocation", bdrv_prealloc_names,
                            &prealloc, errp)) {
        return -EINVAL;
    }
    /* As QEMU's raw images: whole sectors. */
    if (size > (uint64_t)BDRV_MAX_LENGTH) {
        error_setg(errp, "Image size must be less than 8 EiB!");
        return -EFBIG;
    }
    size = ROUND_UP(size, BDRV_SECTOR_SIZE);
    if (prealloc != PREALLOC_MODE_OFF && prealloc != PREALLOC_MODE_FALLOC &&
        prealloc != PREALLOC_MODE_FULL) {
        error_setg(errp, "Unsupported preallocation mode: %s",
                   bdrv_prealloc_names[prealloc]);
        return -ENOTSUP;
    }

    fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not create '%s'", filename);
        return ret;
    }
    ret = file_create_fd(fd, filename, size, prealloc, errp);
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not close the new file");
    }
    return ret;
}
