/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The public block API: opening and closing nodes, the graph, block status
 * and node-level queries.  Tools and embedders include this and
 * block-backend.h, never block-int.h.
 *
 * Context rules: graph functions (open, close, attach, replace, drain) run
 * in the main loop, outside coroutines unless stated.  bdrv_co_* functions
 * are coroutine_fn and run in the node's AioContext; each has a synchronous
 * wrapper without _co_ that polls the event loop until it is done and must
 * not be called from a coroutine.
 *
 * Errors: control-path functions return a negative errno (or NULL/false)
 * and set @errp; I/O functions return a negative errno only.
 */
#ifndef EMBLOCK_BLOCK_H
#define EMBLOCK_BLOCK_H

#include "block/block-common.h"
#include "block/options.h"

/*
 * Open a node (and the children its options name) from an options dict:
 * `driver` (required), `node-name`, `read-only`, `auto-read-only`,
 * `discard`, `detect-zeroes`, `cache.direct`, `cache.no-flush`, plus the
 * driver's own options; `file`/`backing` may be nested dicts or names of
 * existing nodes.  Unknown options are an error.  @options is not consumed.
 * The new node has one reference, owned by the caller.
 */
BlockDriverState *bdrv_open_options(BlockOptions *options, Error **errp);

/*
 * Same, from a string: JSON (`{"driver": "raw", ...}`, also with the
 * `json:` prefix) or dotted keys (`driver=raw,file.filename=x`).
 */
BlockDriverState *bdrv_open_string(const char *str, Error **errp);

/*
 * Open @filename with format @fmt (NULL: raw) over a `file` node, with
 * extra options @extra (may be NULL; keys as in bdrv_open_options, applied
 * to the format node, `file.*` keys to the file node).
 */
BlockDriverState *bdrv_open_image(const char *filename, const char *fmt,
                                  BlockOptions *extra, Error **errp);

void bdrv_ref(BlockDriverState *bs);
/* Drop a reference; the last one closes the node and detaches children. */
void bdrv_unref(BlockDriverState *bs);

/* Look a node up by node name (NULL if there is none). */
BlockDriverState *bdrv_find_node(const char *node_name);
/* Every node, in creation order (a new list; g_list_free it). */
GList *bdrv_list_nodes(void);

const char *bdrv_get_node_name(const BlockDriverState *bs);
const char *bdrv_get_format_name(const BlockDriverState *bs);
const char *bdrv_get_filename(const BlockDriverState *bs);
bool bdrv_is_read_only(const BlockDriverState *bs);
/* The `file` and `backing` children's nodes, or NULL. */
BlockDriverState *bdrv_file_bs(const BlockDriverState *bs);
BlockDriverState *bdrv_backing_bs(const BlockDriverState *bs);
/* Follow filter children (and raw without offset/size) down to a format. */
BlockDriverState *bdrv_skip_filters(BlockDriverState *bs);
/* The child edge of @bs named @name, or NULL. */
BdrvChild *bdrv_find_child(BlockDriverState *bs, const char *name);
/* The node an edge points at. */
BlockDriverState *bdrv_child_bs(const BdrvChild *c);
/* The node name of @bs's parent edge user for messages. */
char *bdrv_get_parent_name(const BlockDriverState *bs);

/*
 * Node facts for front ends (query-named-block-nodes, blockdev-del):
 * whether the node was created implicitly (by a parent's options or a
 * job, named "#blockN"), its detect-zeroes mode and BDRV_O_* open flags,
 * the references held on it (its owner's, one per parent edge, jobs'),
 * the nodes having it as a child (a new list in attach order; g_list_free
 * it), and whether a non-node parent (a BlockBackend: a tool, a job's
 * target) is attached to it.
 */
bool bdrv_is_implicit(const BlockDriverState *bs);
BlockdevDetectZeroes bdrv_get_detect_zeroes(const BlockDriverState *bs);
int bdrv_get_open_flags(const BlockDriverState *bs);
int bdrv_get_refcnt(const BlockDriverState *bs);
GList *bdrv_get_parent_nodes(BlockDriverState *bs);
bool bdrv_has_blk(BlockDriverState *bs);

int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs);
int64_t bdrv_getlength(BlockDriverState *bs);
/*
 * Re-read the node's length from its driver, for when the image changed
 * behind the node's back (blockdev-create writing the file by name).
 */
int coroutine_fn bdrv_co_refresh_total_bytes(BlockDriverState *bs);
/* Bytes the node occupies on the host (st_blocks for files); -ENOTSUP. */
int64_t coroutine_fn bdrv_co_get_allocated_file_size(BlockDriverState *bs);
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);

/*
 * Drained sections: no request runs on @bs (or on nodes above it that
 * could send some) between begin and end; requests in flight complete
 * before begin returns.  Sections nest.
 */
void bdrv_drained_begin(BlockDriverState *bs);
void bdrv_drained_end(BlockDriverState *bs);
void bdrv_drain_all(void);

/*
 * Make every parent of @from point at @to instead (permissions are checked
 * first; nothing changes on failure).  Used when a mirror completes.
 */
int bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                      Error **errp);

/*
 * Create an image: @options holds `driver` plus the driver's creation
 * options (for files `filename`, `size`, `preallocation`).
 */
int bdrv_create(BlockOptions *options, Error **errp);

/* Resize the node (and what lies under it as the driver decides). */
int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp);

/*
 * Block status of one node, see block-status.c for the full contract.
 * Returns the BDRV_BLOCK_* bits for [offset, offset + *pnum), with *pnum
 * > 0 unless offset is at or past the end; *map and *file describe the
 * host location when OFFSET_VALID is set (either may be NULL).
 * @mode is a mask of BDRV_WANT_*.
 */
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, unsigned mode,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file);
int bdrv_block_status(BlockDriverState *bs, unsigned mode, int64_t offset,
                      int64_t bytes, int64_t *pnum, int64_t *map,
                      BlockDriverState **file);

/*
 * Block status through the chain from @bs down to @base (excluded unless
 * @include_base; NULL: the whole chain).  *depth (may be NULL) is the layer
 * that answered, 1 being @bs; 0 when nothing in the range is allocated.
 */
int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool include_base, unsigned mode,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth);
int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            bool include_base, unsigned mode, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file, int *depth);

/* 1 if [offset, offset + *pnum) is allocated in @bs itself, else 0. */
int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum);
int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum);
/*
 * Depth (1 = @top) of the first layer allocating the range down to @base,
 * or 0; *pnum is how far that answer holds.
 */
int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            bool include_base, int64_t offset,
                                            int64_t bytes, int64_t *pnum);
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum);
/* 1 if the range is known to read as zero, 0 if unknown, or -errno. */
int coroutine_fn bdrv_co_is_zero_fast(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes);
/* 1 if the whole node (with its chain) is known to read as zero. */
int coroutine_fn bdrv_co_is_all_zeroes(BlockDriverState *bs);
int bdrv_is_all_zeroes(BlockDriverState *bs);

/* Whether the node can honour BDRV_REQ_MAY_UNMAP on zero writes. */
bool bdrv_can_write_zeroes_with_unmap(BlockDriverState *bs);

/*
 * Check the image's consistency (qemu-img check), repairing what @fix asks
 * for.  Returns 0 when the check ran (its findings are in @result), or
 * -ENOTSUP when the format has no check, or another -errno.
 */
int bdrv_check(BlockDriverState *bs, BdrvCheckResult *result,
               BdrvCheckMode fix);

/* Driver information: cluster size, dirty flag (-ENOTSUP without). */
int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);

/* The node's metadata-write counters (all zero for non-formats). */
void bdrv_get_metadata_stats(BlockDriverState *bs, BdrvMetadataStats *st);

/*
 * The backing file as @bs's image names it (NULL if none) and the format
 * the image records for it (NULL if none), whether or not a backing node
 * was opened (qemu-img info opens images without their chain).  Valid
 * until @bs is closed.
 */
const char *bdrv_get_backing_filename(BlockDriverState *bs);
const char *bdrv_get_backing_format(BlockDriverState *bs);

/*
 * Format-specific facts for qemu-img info: a new dict {"type": FORMAT,
 * "data": {...}} using QEMU's key names, in QEMU's order; NULL when the
 * driver has none.  Free it with qdict_unref().
 */
BlockOptions *bdrv_get_specific_info(BlockDriverState *bs);

/* Names of the registered drivers (a static NULL-terminated array). */
const char *const *bdrv_driver_names(void);

#endif /* EMBLOCK_BLOCK_H */
