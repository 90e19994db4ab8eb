/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Named dirty bitmaps on nodes (block-dirty-bitmap-add and friends).
 *
 * A bitmap records which parts of a node were written since it was created
 * or last cleared, at its granularity: every write, zero write and discard
 * that completes on the node sets the granules it touched in each enabled
 * bitmap of that node.  Bitmaps live in memory only (not persistent).
 *
 * All functions are main-loop functions.  A bitmap belongs to its node and
 * goes away with it; a released bitmap must not be used again.
 */
#ifndef EMBLOCK_BLOCK_DIRTY_BITMAP_H
#define EMBLOCK_BLOCK_DIRTY_BITMAP_H

#include "block/block-common.h"

/*
 * Create bitmap @name on @bs, enabled, all clear.  @granularity is in
 * bytes, a power of two of at least 512; 0 picks the default (the node's
 * cluster size, at least 4 KiB, else 64 KiB).  Fails with QEMU's messages
 * for an empty name ("Bitmap name cannot be empty"), one longer than 1023
 * bytes ("Bitmap name too long: NAME"), a duplicate ("Bitmap already
 * exists: NAME") or a bad granularity.
 */
BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp);
/* The bitmap called @name on @bs, or NULL. */
BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name);
/* Remove the bitmap from its node and free it. */
void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap);
/* Clear every granule. */
void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap);
/* Stop / resume recording writes. */
void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap);

/* The bitmaps of @bs, newest first (a new list; g_list_free it). */
GList *bdrv_dirty_bitmap_list(BlockDriverState *bs);
const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap);
uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap);
/* Bytes covered by set granules (clipped to the node's length). */
uint64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bitmap);
/* Whether the granule holding byte @offset is set. */
bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bitmap, int64_t offset);

#endif /* EMBLOCK_BLOCK_DIRTY_BITMAP_H */
