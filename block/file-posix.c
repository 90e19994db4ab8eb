/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: a node backed by a POSIX file (or, with
 * fewer features, a block device).
 *
 * Every blocking system call runs on the thread pool: reads and writes
 * (unless aio=native hands them to libaio), flushes, write-zeroes,
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
 * Block status is exact only when asked whether ranges read as zero
 * (BDRV_WANT_ZERO): then SEEK_DATA/SEEK_HOLE find the extent, and the last
 * data extent found is kept in bs->bsc so a sequential walk over it costs
 * no further system call.  The cache only ever answers DATA, which is never
 * wrong: a range that reads as zero may always be reported as data.
 *
 * With locking=on (or auto, where OFD locks exist) the node mirrors its
 * cumulative permissions into open-file-description locks on the image,
 * as QEMU does: byte 100 + i is read-locked while permission bit i is
 * taken, byte 200 + i while it is not shared.  Another user asking for a
 * permission tests for any lock on the opposite byte.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "util/linux-aio.h"
#include "util/thread-pool.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

/* Largest request alignment probed, and the size of the block create
 * writes at the start of a new file. */
#define FILE_MAX_BLOCKSIZE 4096
/* Chunk size for writing zeroes with preallocation=full. */
#define FILE_ZERO_CHUNK (1 * 1024 * 1024)
/* First lock byte for taken permissions, and for unshared ones. */
#define FILE_LOCK_PERM_BASE 100
#define FILE_LOCK_SHARED_BASE 200

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

typedef struct BDRVFileState {
    int fd;
    int open_flags;             /* as passed to open(2) */
    bool is_regular;            /* S_ISREG; else a block/char device */
    bool use_linux_aio;
    bool use_lock;
    /* Lock bytes held: bit i of each means byte BASE + i is locked. */
    uint64_t locked_perm;
    uint64_t locked_unshared;

    /* Probed in refresh_limits; read by workers, never changed after. */
    size_t buf_align;           /* O_DIRECT buffer alignment (1: none) */

    /*
     * What the file system supports, found out the hard way: each starts
     * true and is cleared (atomically, from a worker thread) the first time
     * the kernel refuses the call.  Never set back.
     */
    gint has_write_zeroes;      /* FALLOC_FL_ZERO_RANGE */
    gint has_discard;           /* FALLOC_FL_PUNCH_HOLE */
    gint has_fallocate;         /* fallocate() mode 0 */
    gint has_nowait;            /* preadv2(RWF_NOWAIT) */
    /*
     * errno of a failed fdatasync(), or 0.  After one failure the kernel
     * may have dropped dirty pages, so every later flush fails too.
     */
    gint flush_errno;
} BDRVFileState;

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

/* A resize for a worker thread (also used by create, which has no node). */
typedef struct FileResizeRequest {
    int fd;
    int64_t offset;
    PreallocMode prealloc;
    Error **errp;
} FileResizeRequest;

static bool file_cap(gint *cap)
{
    return g_atomic_int_get(cap);
}

static void file_cap_lost(gint *cap)
{
    g_atomic_int_set(cap, 0);
}

/* fallocate(2) returning 0 or -errno, with EOPNOTSUPP spelled ENOTSUP. */
static int file_fallocate(int fd, int mode, int64_t offset, int64_t len)
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

static int64_t file_fd_length(int fd)
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
    FileRequest req = { .s = bs->opaque };

    return thread_pool_submit_co(file_worker_flush, &req);
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

/* ---- Block status ----------------------------------------------------- */

/*
 * Find the extent containing @start.  Returns 0 with *data == start and
 * *hole the end of that data extent, or 0 with *hole == start and *data
 * the start of the next data (start lies in a hole).  -ENXIO means start
 * is in the trailing hole or past end of file; other errors mean nothing
 * is known (no SEEK_DATA support, or the file changed between the two
 * lseek() calls: -EBUSY).
 */
static int file_find_allocation(int fd, int64_t start, int64_t *data,
                                int64_t *hole)
{
    off_t d, h;

    d = lseek(fd, start, SEEK_DATA);
    if (d < 0) {
        return -errno;
    }
    if (d < start) {
        return -EIO;            /* a broken lseek() */
    }
    if (d > start) {
        *hole = start;
        *data = d;
        return 0;
    }
    h = lseek(fd, start, SEEK_HOLE);
    if (h < 0) {
        return -errno;
    }
    if (h <= start) {
        /* A hole appeared at start since SEEK_DATA: unknown. */
        return -EBUSY;
    }
    *data = start;
    *hole = h;
    return 0;
}

static int coroutine_fn file_co_block_status(BlockDriverState *bs,
                                             unsigned mode, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file)
{
    BDRVFileState *s = bs->opaque;
    int64_t align = bs->bl.request_alignment;
    int64_t data = 0, hole = 0;
    int ret;

    *map = offset;
    *file = bs;

    /* No backing file, so everything is allocated: no need to look. */
    if (!(mode & BDRV_WANT_ZERO)) {
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    if (bs->bsc.valid && offset >= bs->bsc.data_start &&
        offset < bs->bsc.data_end) {
        *pnum = bs->bsc.data_end - offset;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    ret = file_find_allocation(s->fd, offset, &data, &hole);
    if (ret == -ENXIO) {
        /* Trailing hole (or the file is shorter than the node). */
        *pnum = bytes;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    }
    if (ret < 0) {
        /* Nothing known: data is the answer that cannot be wrong. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    if (data == offset) {
        /*
         * Data up to the hole; round up when the extent ends at an
         * unaligned end of file (calling a bit of hole data is harmless).
         */
        *pnum = ROUND_UP(hole - offset, align);
        bs->bsc.valid = true;
        bs->bsc.data_start = offset;
        bs->bsc.data_end = offset + *pnum;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    /*
     * A hole up to the next data.  Round its end down: the unit where data
     * starts is not all zero.  If no whole unit is left, that unit is data.
     */
    *pnum = QEMU_ALIGN_DOWN(data - offset, align);
    if (*pnum == 0) {
        *pnum = align;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
}

/* ---- Resizing and creation ------------------------------------------- */

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

static int coroutine_fn file_co_truncate(BlockDriverState *bs,
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

static int64_t coroutine_fn file_co_getlength(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    return file_fd_length(s->fd);
}

static int64_t coroutine_fn file_co_get_allocated_file_size(
    BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* ---- Locking ---------------------------------------------------------- */

/* Take (F_RDLCK) or drop (F_UNLCK) the OFD lock on one byte of @fd. */
static int file_lock_byte(int fd, int64_t byte, short type)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = type,
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1 if another open file holds a lock on @byte, 0 if not, or -errno. */
static int file_byte_locked_elsewhere(int fd, int64_t byte)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = F_WRLCK,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

/* Bring the lock on @byte (tracked by @bit in *held) to @want. */
static int file_update_lock(int fd, int64_t byte, uint64_t *held,
                            uint64_t bit, bool want, bool only_add,
                            Error **errp)
{
    int ret;

    if (want && !(*held & bit)) {
        ret = file_lock_byte(fd, byte, F_RDLCK);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to lock byte %" PRId64,
                             byte);
            return ret;
        }
        *held |= bit;
    } else if (!want && (*held & bit) && !only_add) {
        ret = file_lock_byte(fd, byte, F_UNLCK);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to unlock byte %" PRId64,
                             byte);
            return ret;
        }
        *held &= ~bit;
    }
    return 0;
}

/*
 * Make the lock bytes held on @fd match @perm (bytes 100 + i) and
 * @unshared (bytes 200 + i); *held_perm and *held_unshared record what is
 * held.  With @only_add nothing is released, so a permission change can
 * first hold the union of old and new and drop the rest once it is sure.
 */
static int file_apply_locks(int fd, uint64_t *held_perm,
                            uint64_t *held_unshared, uint64_t perm,
                            uint64_t unshared, bool only_add, Error **errp)
{
    for (int i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        uint64_t bit = 1ULL << i;
        int ret;

        ret = file_update_lock(fd, FILE_LOCK_PERM_BASE + i, held_perm, bit,
                               perm & bit, only_add, errp);
        if (ret == 0) {
            ret = file_update_lock(fd, FILE_LOCK_SHARED_BASE + i,
                                   held_unshared, bit, unshared & bit,
                                   only_add, errp);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/*
 * Check that no other user of the image refuses to share what we take
 * (@perm) or takes what we refuse to share (not in @shared).
 */
static int file_check_locks(int fd, uint64_t perm, uint64_t shared,
                            const char *filename, Error **errp)
{
    for (int i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        uint64_t bit = 1ULL << i;
        int ret;

        if (perm & bit) {
            ret = file_byte_locked_elsewhere(fd, FILE_LOCK_SHARED_BASE + i);
            if (ret > 0) {
                error_setg(errp, "Failed to get \"%s\" lock\n"
                           "Is another process using the image [%s]?",
                           bdrv_perm_name(bit), filename);
                return -EAGAIN;
            }
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to check lock byte %d",
                                 FILE_LOCK_SHARED_BASE + i);
                return ret;
            }
        }
        if (!(shared & bit)) {
            ret = file_byte_locked_elsewhere(fd, FILE_LOCK_PERM_BASE + i);
            if (ret > 0) {
                error_setg(errp, "Failed to get shared \"%s\" lock\n"
                           "Is another process using the image [%s]?",
                           bdrv_perm_name(bit), filename);
                return -EAGAIN;
            }
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to check lock byte %d",
                                 FILE_LOCK_PERM_BASE + i);
                return ret;
            }
        }
    }
    return 0;
}

static int file_set_perm(BlockDriverState *bs, uint64_t perm,
                         uint64_t shared, Error **errp)
{
    BDRVFileState *s = bs->opaque;
    uint64_t old_perm = s->locked_perm;
    uint64_t old_unshared = s->locked_unshared;
    uint64_t unshared = ~shared & BLK_PERM_ALL;
    int ret;

    if (!s->use_lock) {
        return 0;
    }
    /* Hold the union first: there is never a window without a lock. */
    ret = file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                           old_perm | perm, old_unshared | unshared, true,
                           errp);
    if (ret == 0) {
        ret = file_check_locks(s->fd, perm, shared, bs->filename, errp);
    }
    if (ret < 0) {
        file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                         old_perm, old_unshared, false, NULL);
        return ret;
    }
    return file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                            perm, unshared, false, errp);
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
        error_setg(errp, "aio=io_uring was specified, but is not supported "
                   "in this build.");
        return -EINVAL;
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

static int coroutine_fn file_co_create_opts(BlockOptions *opts, Error **errp)
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
