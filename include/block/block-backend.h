/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * BlockBackend: the user's handle on a node (a tool, a job, a device).
 *
 * A backend owns the root edge of the graph it uses, with the permissions
 * it asked for; it bounds-checks requests against the node's length, counts
 * them for drain, and queues new ones while the node is drained (unless
 * queuing is disabled, as jobs do for their targets).
 */
#ifndef EMBLOCK_BLOCK_BACKEND_H
#define EMBLOCK_BLOCK_BACKEND_H

#include "block/block.h"

/* A backend with no node yet that will take @perm and share @shared. */
BlockBackend *blk_new(uint64_t perm, uint64_t shared_perm);
/* Attach @bs as the root node (takes a reference); checks permissions. */
int blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, Error **errp);
/* Detach the root node. */
void blk_remove_bs(BlockBackend *blk);
/*
 * Open an image like bdrv_open_image() and attach it with CONSISTENT_READ
 * (+ WRITE|RESIZE when @writable), sharing everything else except, when
 * writable, WRITE and RESIZE.
 */
BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           BlockOptions *extra, bool writable,
                           Error **errp);
/* Same for an already-open node (takes a reference on it). */
BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared_perm, Error **errp);
void blk_unref(BlockBackend *blk);

BlockDriverState *blk_bs(BlockBackend *blk);
/* The name used in permission-conflict messages. */
void blk_set_name(BlockBackend *blk, const char *name);
const char *blk_name(BlockBackend *blk);
/* Jobs' targets keep running during drain instead of queuing. */
void blk_set_disable_request_queuing(BlockBackend *blk, bool disable);
/* Change the permissions the backend holds on its node. */
int blk_set_perm(BlockBackend *blk, uint64_t perm, uint64_t shared_perm,
                 Error **errp);

int64_t coroutine_fn blk_co_getlength(BlockBackend *blk);
int64_t blk_getlength(BlockBackend *blk);

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn blk_co_pread(BlockBackend *blk, int64_t offset,
                              int64_t bytes, void *buf,
                              BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite(BlockBackend *blk, int64_t offset,
                               int64_t bytes, const void *buf,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes);
int coroutine_fn blk_co_flush(BlockBackend *blk);
int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp);

/* Synchronous wrappers: poll until done; not from a coroutine. */
int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags);
int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags);
int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_flush(BlockBackend *blk);
int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags, Error **errp);

#endif /* EMBLOCK_BLOCK_BACKEND_H */
