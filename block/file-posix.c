/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: a node backed by a POSIX file (or, with
 * fewer features, a block device).
 *
 * Every blocking system call runs on the thread pool: reads and writes
 * (unless aio=native hands them to libaio, or aio=io_uring to the
 * context's ring), flushes (unless aio=io_uring), write-zeroes,
 * discards and resizes.  Only the lseek() calls of block status and the
 * one-off alignment probe run in the event loop, because they do not wait
 * for the disk.
 *
 * Reads and writes loop over partial transfers.  A read that reaches end
 * of file fills the rest of the buffer with zeroes and succeeds (the node
 * may be longer than the file when someone else shrank it); a write that
 * makes no progress fails.  With cache.direct=on the file is opened
 * O_DIRECT: the request alignment and buffer alignment are probed by
 * trying reads at offset 0, and requests whose buffers do not meet the
 * buffer alignment go through an aligned bounce buffer on the worker.
 *
 * Zeroes are written with fallocate(): punching a hole when the caller
 * allows unmapping, else FALLOC_FL_ZERO_RANGE, else punching and
 * re-allocating.  Each fallocate mode that the file system refuses is
 * remembered, so it is tried once per node only; when nothing works the
 * callback returns -ENOTSUP and block/io.c writes a zero buffer instead.
 *
 * Block status (file-posix-status.c), resizing and creation
 * (file-posix-create.c) and OFD locking (file-posix-lock.c) live beside
 * this file; block/file-posix.h is their shared private header.
 */
#include "block/file-posix.h"
#include "util/io-uring.h"
#include "util/linux-aio.h"
#include "util/thread-pool.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

typedef enum FileAioMode {
    FILE_AIO_THREADS,
    FILE_AIO_NATIVE,
    FILE_AIO_IO_URING,
} FileAioMode;

static const char *const file_aio_names[] = {
    "threads", "native", "io_uring", NULL,
};

typedef enum FileLocking {
    FILE_LOCKING_AUTO,
    FILE_LOCKING_ON,
    FILE_LOCKING_OFF,
} FileLocking;

static const char *const file_locking_names[] = {
    "auto", "on", "off", NULL,
};

/* One request for a worker thread; lives on the submitting coroutine. */
typedef struct FileRequest {
    BDRVFileState *s;
    int64_t offset;
    int64_t bytes;
    /* Reads and writes. */
    struct iovec *iov;
    int niov;
    bool is_write;
    bool bounce;                /* buffers violate O_DIRECT alignment */
    /* Write-zeroes. */
    bool may_unmap;
} FileRequest;

static bool file_cap(gint *cap)
{
    return g_atomic_int_get(cap);
}

static void file_cap_lost(gint *cap)
{
    g_atomic_int_set(cap, 0);
}

/* fallocate(2) returning 0 or -errno, with EOPNOTSUPP spelled ENOTSUP. */
int file_fallocate(int fd, int mode, int64_t offset, int64_t len)
{
    int ret;

    do {
        ret = fallocate(fd, mode, offset, len);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
    }
    return 0;
}

int64_t file_fd_length(int fd)
{
    struct stat st;
    off_t end;

    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISREG(st.st_mode)) {
        return st.st_size;
    }
    /* Block devices report no st_size; their end is where lseek says. */
    end = lseek(fd, 0, SEEK_END);
    return end < 0 ? -errno : end;
}

/* ---- Reads and writes ------------------------------------------------ */

/*
 * Transfer @bytes between the vector and @fd at @offset, looping over
 * partial transfers (and over IOV_MAX elements at a time).  Returns how
 * many bytes were transferred, which is less than @bytes only for a read
 * that hit end of file, or -errno.  A write that makes no progress is
 * -ENOSPC.  The vector is left as it was.
 */
static ssize_t file_rw_vector(int fd, bool is_write, bool o_direct,
                              struct iovec *iov, int niov, int64_t offset,
                              size_t bytes)
{
    struct iovec *vec = iov;
    struct iovec *copy = NULL;
    int cnt = niov;
    size_t done = 0;
    ssize_t n;

    while (done < bytes) {
        if (is_write) {
            n = pwritev(fd, vec, MIN(cnt, IOV_MAX), offset + done);
        } else {
            n = preadv(fd, vec, MIN(cnt, IOV_MAX), offset + done);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            /*
             * After a short O_DIRECT read, the retry starts at an unaligned
             * position and the kernel says EINVAL: that short read was end
             * of file.
             */
            if (errno == EINVAL && !is_write && o_direct && done > 0) {
                break;
            }
            done = -errno;
            break;
        }
        if (n == 0) {
            if (is_write) {
                done = -ENOSPC;
            }
            break;
        }
        done += n;
        if (done == bytes) {
            break;
        }
        /* Partial transfer: drop what was done from the front of vec. */
        if (!copy) {
            copy = g_new(struct iovec, cnt);
            memcpy(copy, vec, cnt * sizeof(*vec));
            vec = copy;
        }
        while ((size_t)n >= vec->iov_len) {
            n -= vec->iov_len;
            vec++;
            cnt--;
            assert(cnt > 0);
        }
        vec->iov_base = (char *)vec->iov_base + n;
        vec->iov_len -= n;
    }
    g_free(copy);
    return done;
}

static int file_worker_rw(void *opaque)
{
    FileRequest *req = opaque;
    BDRVFileState *s = req->s;
    bool o_direct = s->open_flags & O_DIRECT;
    struct iovec bounce_iov;
    struct iovec *iov = req->iov;
    int niov = req->niov;
    void *buf = NULL;
    ssize_t done;

    if (req->bounce) {
        /* O_DIRECT with misaligned buffers: go through an aligned copy. */
        buf = qemu_try_blockalign(MAX(s->buf_align, getpagesize()),
                                  req->bytes);
        if (!buf) {
            return -ENOMEM;
        }
        if (req->is_write) {
            iov_to_buf(req->iov, req->niov, 0, buf, req->bytes);
        }
        bounce_iov = (struct iovec) { .iov_base = buf,
                                      .iov_len = req->bytes };
        iov = &bounce_iov;
        niov = 1;
    }

    done = file_rw_vector(s->fd, req->is_write, o_direct, iov, niov,
                          req->offset, req->bytes);
    if (done >= 0 && done < req->bytes) {
        /* End of file: the rest reads as zero. */
        iov_memset(iov, niov, done, 0, req->bytes - done);
        done = req->bytes;
    }
    if (done >= 0 && req->bounce && !req->is_write) {
        iov_from_buf(req->iov, req->niov, 0, buf, req->bytes);
    }
    qemu_vfree(buf);
    return done < 0 ? done : 0;
}

/* Whether every element of @qiov meets the O_DIRECT buffer alignment. */
static bool file_qiov_is_aligned(QEMUIOVector *qiov, size_t align)
{
    for (int i = 0; i < qiov->niov; i++) {
        if ((uintptr_t)qiov->iov[i].iov_base % align ||
            qiov->iov[i].iov_len % align) {
            return false;
        }
    }
    return true;
}

static int coroutine_fn file_co_rw(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   bool is_write)
{
    BDRVFileState *s = bs->opaque;
    QEMUIOVector slice = { 0 };
    FileRequest req = {
        .s = s,
        .offset = offset,
        .bytes = bytes,
        .is_write = is_write,
    };
    bool aligned;
    int ret;

    /* The system calls transfer the whole vector: trim a longer one. */
    assert(qiov->size >= (size_t)bytes);
    if (qiov->size > (size_t)bytes) {
        qemu_iovec_init_slice(&slice, qiov, 0, bytes);
        qiov = &slice;
    }

    aligned = !(s->open_flags & O_DIRECT) ||
              file_qiov_is_aligned(qiov, s->buf_align);
    if (s->use_linux_aio && aligned && qiov->niov <= IOV_MAX) {
        LinuxAioState *aio =
            aio_get_linux_aio(qemu_get_current_aio_context(), NULL);

        /* A context that cannot have libaio falls back to the pool. */
        if (aio) {
            ret = laio_co_submit(aio, s->fd, offset, qiov->iov, qiov->niov,
                                 is_write ? LAIO_WRITE : LAIO_READ);
            qemu_iovec_destroy(&slice);
            return ret;
        }
    }
    if (s->use_io_uring && aligned && qiov->niov <= IOV_MAX) {
        LuringState *ring =
            aio_get_linux_io_uring(qemu_get_current_aio_context(), NULL);

        /* A context that cannot have a ring falls back to the pool. */
        if (ring) {
            ret = luring_co_submit(ring, s->fd, offset, qiov->iov,
                                   qiov->niov,
                                   is_write ? LURING_WRITE : LURING_READ);
            qemu_iovec_destroy(&slice);
            return ret;
        }
    }

#ifdef RWF_NOWAIT
    /*
     * A buffered read whose pages are all cached completes inline: the copy
     * costs less than handing the request to a worker and back.  Anything
     * else (EAGAIN, a short read, no support) goes to the pool.
     */
    if (!is_write && !(s->open_flags & O_DIRECT) &&
        g_atomic_int_get(&s->has_nowait) && qiov->niov <= IOV_MAX) {
        ssize_t n = preadv2(s->fd, qiov->iov, qiov->niov, offset,
                            RWF_NOWAIT);

        if (n == bytes) {
            qemu_iovec_destroy(&slice);
            return 0;
        }
        if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL ||
                      errno == ENOSYS)) {
            g_atomic_int_set(&s->has_nowait, 0);
        }
    }
#endif

    req.iov = qiov->iov;
    req.niov = qiov->niov;
    req.bounce = !aligned;
    ret = thread_pool_submit_co(file_worker_rw, &req);
    qemu_iovec_destroy(&slice);
    return ret;
}

static int coroutine_fn file_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    return file_co_rw(bs, offset, bytes, qiov, false);
}

static int coroutine_fn file_co_pwritev(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    return file_co_rw(bs, offset, bytes, qiov, true);
}

/* ---- Flush ------------------------------------------------------------ */

static int file_worker_flush(void *opaque)
{
    FileRequest *req = opaque;
    BDRVFileState *s = req->s;
    int err = g_atomic_int_get(&s->flush_errno);
    int ret;

    if (err) {
        return -err;
    }
    do {
        ret = fdatasync(s->fd);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        /*
         * Linux may drop the dirty pages of a failed writeback, so a later
         * fdatasync() could succeed without the data on disk: fail for good.
         */
        err = errno;
        g_atomic_int_set(&s->flush_errno, err);
        return -err;
    }
    return 0;
}

static int coroutine_fn file_co_flush_to_disk(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    FileRequest req = { .s = s };
    LuringState *ring = NULL;
    int err, ret;

    if (s->use_io_uring) {
        ring = aio_get_linux_io_uring(qemu_get_current_aio_context(), NULL);
    }
    if (!ring) {
        return thread_pool_submit_co(file_worker_flush, &req);
    }
    /* The same sticky failure as file_worker_flush(). */
    err = g_atomic_int_get(&s->flush_errno);
    if (err) {
        return -err;
    }
    ret = luring_co_submit(ring, s->fd, 0, NULL, 0, LURING_FDATASYNC);
    if (ret < 0) {
        g_atomic_int_set(&s->flush_errno, -ret);
    }
    return ret;
}

/* ---- Write-zeroes and discard ----------------------------------------- */

static int file_punch_hole(BDRVFileState *s, int64_t offset, int64_t bytes)
{
    return file_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          offset, bytes);
}

/*
 * Make the file at least @end bytes long.  fallocate() without KEEP_SIZE
 * only ever raises the size, so allocating the last byte cannot undo a
 * concurrent write that extended the file further, as ftruncate() after an
 * fstat() could; the one block it allocates is punched again by the
 * caller.  ftruncate() remains the fallback.
 */
static int file_grow(BDRVFileState *s, int64_t end)
{
    int64_t len;
    int ret;

    if (file_cap(&s->has_fallocate)) {
        ret = file_fallocate(s->fd, 0, end - 1, 1);
        if (ret != -ENOTSUP) {
            return ret;
        }
        file_cap_lost(&s->has_fallocate);
    }
    len = file_fd_length(s->fd);
    if (len < 0) {
        return len;
    }
    if (len < end && ftruncate(s->fd, end) < 0) {
        return -errno;
    }
    return 0;
}

/*
 * Zero [offset, offset + bytes) by deallocating it: punch a hole inside
 * the file, grow the file over any part past its end.  -ENOTSUP when the
 * file system cannot punch holes.
 */
static int file_zero_unmap(BDRVFileState *s, int64_t offset, int64_t bytes)
{
    int64_t len;
    int ret;

    if (!file_cap(&s->has_discard) || !s->is_regular) {
        return -ENOTSUP;
    }
    len = file_fd_length(s->fd);
    if (len < 0) {
        return len;
    }
    if (offset + bytes > len) {
        ret = file_grow(s, offset + bytes);
        if (ret < 0) {
            return ret;
        }
    }
    ret = file_punch_hole(s, offset, bytes);
    if (ret == -ENOTSUP || ret == -EINVAL) {
        file_cap_lost(&s->has_discard);
        return -ENOTSUP;
    }
    return ret;
}

/*
 * Zero [offset, offset + bytes) keeping it allocated (or allocating it,
 * past end of file).  -ENOTSUP when no fallocate mode can do it; the
 * caller then writes a zero buffer.
 */
static int file_zero_alloc(BDRVFileState *s, int64_t offset, int64_t bytes)
{
    int64_t len;
    int ret;

    if (file_cap(&s->has_write_zeroes)) {
        ret = file_fallocate(s->fd, FALLOC_FL_ZERO_RANGE, offset, bytes);
        if (ret == -ENOTSUP) {
            file_cap_lost(&s->has_write_zeroes);
        } else if (ret != -EINVAL) {
            /*
             * Done, or a real error.  Some file systems say EINVAL for
             * ranges they do not like, so that one tries the next way.
             */
            return ret;
        }
    }

    if (file_cap(&s->has_discard) && file_cap(&s->has_fallocate)) {
        ret = file_punch_hole(s, offset, bytes);
        if (ret == 0) {
            ret = file_fallocate(s->fd, 0, offset, bytes);
            if (ret != -ENOTSUP) {
                return ret;
            }
            file_cap_lost(&s->has_fallocate);
        } else if (ret == -ENOTSUP || ret == -EINVAL) {
            file_cap_lost(&s->has_discard);
        } else {
            return ret;
        }
    }

    /* Entirely past end of file, plain allocation reads as zero. */
    len = file_fd_length(s->fd);
    if (file_cap(&s->has_fallocate) && len >= 0 && offset >= len) {
        ret = file_fallocate(s->fd, 0, offset, bytes);
        if (ret != -ENOTSUP) {
            return ret;
        }
        file_cap_lost(&s->has_fallocate);
    }
    return -ENOTSUP;
}

static int file_worker_zeroes(void *opaque)
{
    FileRequest *req = opaque;
    int ret;

    if (req->may_unmap) {
        ret = file_zero_unmap(req->s, req->offset, req->bytes);
        if (ret != -ENOTSUP) {
            return ret;
        }
    }
    return file_zero_alloc(req->s, req->offset, req->bytes);
}

static int coroutine_fn file_co_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags)
{
    FileRequest req = {
        .s = bs->opaque,
        .offset = offset,
        .bytes = bytes,
        .may_unmap = flags & BDRV_REQ_MAY_UNMAP,
    };

    return thread_pool_submit_co(file_worker_zeroes, &req);
}

static int file_worker_discard(void *opaque)
{
    FileRequest *req = opaque;
    BDRVFileState *s = req->s;
    int ret;

    if (!file_cap(&s->has_discard)) {
        return -ENOTSUP;
    }
    ret = file_punch_hole(s, req->offset, req->bytes);
    if (ret == -ENOTSUP || ret == -EINVAL || ret == -ENOTTY) {
        file_cap_lost(&s->has_discard);
        return -ENOTSUP;
    }
    return ret;
}

static int coroutine_fn file_co_pdiscard(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes)
{
    FileRequest req = {
        .s = bs->opaque,
        .offset = offset,
        .bytes = bytes,
    };

    return thread_pool_submit_co(file_worker_discard, &req);
}

/* ---- Open, limits, close --------------------------------------------- */

/*
 * Whether an O_DIRECT read of @len bytes at offset 0 into @buf is
 * accepted.  Only EINVAL means misalignment; data, end of file or an I/O
 * error all say the alignment itself was fine.
 */
static bool file_io_aligned(int fd, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = pread(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    return n >= 0 || errno != EINVAL;
}

/*
 * Find the smallest request size (512 to 4096) and buffer alignment that
 * O_DIRECT reads accept.  Returns false when none works.
 */
static bool file_probe_alignment(int fd, uint32_t *request_align,
                                 size_t *buf_align)
{
    size_t max_align = MAX(FILE_MAX_BLOCKSIZE, getpagesize());
    char *buf = qemu_blockalign(max_align, 2 * max_align);
    size_t align;

    *request_align = 0;
    *buf_align = 0;
    for (align = 512; align <= FILE_MAX_BLOCKSIZE; align <<= 1) {
        if (file_io_aligned(fd, buf, align)) {
            *request_align = align;
            break;
        }
    }
    for (align = 512; align <= max_align; align <<= 1) {
        if (file_io_aligned(fd, buf + align, max_align)) {
            *buf_align = align;
            break;
        }
    }
    qemu_vfree(buf);
    return *request_align && *buf_align;
}

static void file_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVFileState *s = bs->opaque;
    uint32_t request_align = 1;
    size_t buf_align = 1;

    if ((s->open_flags & O_DIRECT) &&
        !file_probe_alignment(s->fd, &request_align, &buf_align)) {
        error_setg(errp, "Could not find working O_DIRECT alignment\n"
                   "Try cache.direct=off");
        return;
    }
    s->buf_align = buf_align;
    bs->bl.request_alignment = request_align;
    bs->bl.min_mem_alignment = buf_align;
    bs->bl.opt_mem_alignment = MAX(buf_align, (size_t)getpagesize());
}

/* Check the aio mode against the open flags and set it up. */
static int file_setup_aio(BlockDriverState *bs, FileAioMode aio,
                          Error **errp)
{
    BDRVFileState *s = bs->opaque;
    AioContext *ctx;

    if (aio == FILE_AIO_IO_URING) {
        /* Unlike libaio, io_uring is asynchronous with or without O_DIRECT. */
        if (!luring_available()) {
            error_setg(errp, "aio=io_uring was specified, but is not "
                       "supported in this build.");
            return -EINVAL;
        }
        ctx = bs->aio_context ? bs->aio_context :
              qemu_get_current_aio_context();
        if (!aio_get_linux_io_uring(ctx, errp)) {
            error_prepend(errp, "Unable to use io_uring: ");
            return -EINVAL;
        }
        s->use_io_uring = true;
        return 0;
    }
    if (aio != FILE_AIO_NATIVE) {
        return 0;
    }
    /* Linux does asynchronous I/O only on files opened O_DIRECT. */
    if (!(s->open_flags & O_DIRECT)) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        return -EINVAL;
    }
    if (!laio_available()) {
        error_setg(errp, "aio=native was specified, but is not supported "
                   "in this build.");
        return -EINVAL;
    }
    ctx = bs->aio_context ? bs->aio_context : qemu_get_current_aio_context();
    if (!aio_get_linux_aio(ctx, errp)) {
        error_prepend(errp, "Unable to use native AIO: ");
        return -EINVAL;
    }
    s->use_linux_aio = true;
    return 0;
}

static int file_open(BlockDriverState *bs, BlockOptions *options, int flags,
                     Error **errp)
{
    BDRVFileState *s = bs->opaque;
    const char *filename = qdict_get_str(options, "filename");
    int aio = (flags & BDRV_O_NATIVE_AIO) ? FILE_AIO_NATIVE :
              (flags & BDRV_O_IO_URING) ? FILE_AIO_IO_URING :
              FILE_AIO_THREADS;
    int locking = FILE_LOCKING_AUTO;
    struct stat st;
    int ret;

    s->fd = -1;
    if (!filename) {
        error_setg(errp, "Parameter 'filename' is required");
        return -EINVAL;
    }
    if (!qdict_get_enum_opt(options, "aio", file_aio_names, &aio, errp) ||
        !qdict_get_enum_opt(options, "locking", file_locking_names,
                            &locking, errp)) {
        return -EINVAL;
    }
#ifdef F_OFD_SETLK
    s->use_lock = locking != FILE_LOCKING_OFF;
#else
    if (locking == FILE_LOCKING_ON) {
        error_setg(errp, "locking=on was specified, but OFD locks are not "
                   "available on this host");
        return -ENOTSUP;
    }
#endif
    if (!bs->filename[0]) {
        g_strlcpy(bs->filename, filename, sizeof(bs->filename));
    }

    s->open_flags = O_CLOEXEC;
    s->open_flags |= (flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & BDRV_O_NOCACHE) {
        s->open_flags |= O_DIRECT;
    }
    s->fd = open(filename, s->open_flags);
    if (s->fd < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not open '%s'", filename);
        return ret == -EROFS ? -EACCES : ret;
    }

    if (fstat(s->fd, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat file");
        goto fail;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) &&
        !S_ISCHR(st.st_mode)) {
        error_setg(errp, "A regular file was expected by the 'file' driver, "
                   "but something else was given");
        ret = -EINVAL;
        goto fail;
    }
    s->is_regular = S_ISREG(st.st_mode);
    s->has_write_zeroes = true;
    s->has_discard = true;
    s->has_fallocate = s->is_regular;
    s->has_nowait = s->is_regular;

    ret = file_setup_aio(bs, aio, errp);
    if (ret < 0) {
        goto fail;
    }

    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK;
    return 0;

fail:
    close(s->fd);
    s->fd = -1;
    return ret;
}

static void file_close(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    /* Closing the descriptor also drops its OFD locks. */
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static const char *const file_runtime_opts[] = {
    "filename",
    "aio",
    "locking",
    NULL,
};

static const char *const file_create_opts[] = {
    "filename",
    "size",
    "preallocation",
    "nocow",                    /* accepted and ignored */
    NULL,
};

const BlockDriver bdrv_file = {
    .format_name = "file",
    .instance_size = sizeof(BDRVFileState),
    .protocol = true,
    .runtime_opts = file_runtime_opts,
    .create_opts = file_create_opts,

    .bdrv_open = file_open,
    .bdrv_close = file_close,
    .bdrv_refresh_limits = file_refresh_limits,
    .bdrv_set_perm = file_set_perm,

    .bdrv_co_preadv = file_co_preadv,
    .bdrv_co_pwritev = file_co_pwritev,
    .bdrv_co_pwrite_zeroes = file_co_pwrite_zeroes,
    .bdrv_co_pdiscard = file_co_pdiscard,
    .bdrv_co_flush_to_disk = file_co_flush_to_disk,
    .bdrv_co_block_status = file_co_block_status,
    .bdrv_co_truncate = file_co_truncate,
    .bdrv_co_getlength = file_co_getlength,
    .bdrv_co_get_allocated_file_size = file_co_get_allocated_file_size,
    .bdrv_co_create_opts = file_co_create_opts,
};
