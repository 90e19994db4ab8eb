/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: private header shared by the
 * block/file-posix*.c files only.
 *
 * Who does what:
 *   file-posix.c         open, limits, close, options, reads and writes,
 *                        flush, write-zeroes and discard, the driver struct
 *   file-posix-create.c  create, truncate and preallocation, length
 *   file-posix-lock.c    OFD locks mirroring the node's permissions
 *   file-posix-status.c  block status with SEEK_DATA/SEEK_HOLE
 */
#ifndef EMBLOCK_BLOCK_FILE_POSIX_H
#define EMBLOCK_BLOCK_FILE_POSIX_H

#include "util/osdep.h"
#include "block/block-int.h"

/* Largest request alignment probed, and the size of the block create
 * writes at the start of a new file. */
#define FILE_MAX_BLOCKSIZE 4096

typedef struct BDRVFileState {
    int fd;
    int open_flags;             /* as passed to open(2) */
    bool is_regular;            /* S_ISREG; else a block/char device */
    bool use_linux_aio;
    bool use_io_uring;          /* reads, writes and flushes */
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

/* file-posix.c */

/* fallocate(2) returning 0 or -errno, with EOPNOTSUPP spelled ENOTSUP. */
int file_fallocate(int fd, int mode, int64_t offset, int64_t len);
int64_t file_fd_length(int fd);

/* file-posix-create.c */

int coroutine_fn file_co_truncate(BlockDriverState *bs,
                                  int64_t offset, bool exact,
                                  PreallocMode prealloc,
                                  BdrvRequestFlags flags,
                                  Error **errp);
int64_t coroutine_fn file_co_getlength(BlockDriverState *bs);
int64_t coroutine_fn file_co_get_allocated_file_size(BlockDriverState *bs);
int coroutine_fn file_co_create_opts(BlockOptions *opts, Error **errp);

/* file-posix-lock.c */

int file_apply_locks(int fd, uint64_t *held_perm,
                     uint64_t *held_unshared, uint64_t perm,
                     uint64_t unshared, bool only_add, Error **errp);
int file_check_locks(int fd, uint64_t perm, uint64_t shared,
                     const char *filename, Error **errp);
int file_set_perm(BlockDriverState *bs, uint64_t perm,
                  uint64_t shared, Error **errp);

/* file-posix-status.c */

int coroutine_fn file_co_block_status(BlockDriverState *bs,
                                      unsigned mode, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map,
                                      BlockDriverState **file);

#endif
