/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Dirty bitmaps on nodes: every write, zero write and discard that
 * completes on a node marks the range in each of its enabled bitmaps, at
 * the bitmap's granularity.
 */
#include "util/osdep.h"
#include "block/block-int.h"

struct BdrvDirtyBitmap {
    BlockDriverState *bs;
    HBitmap *bitmap;          /* one item per byte, granularity in bits */
    char *name;
    bool disabled;
};

void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    for (GList *l = bs->dirty_bitmaps; l; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;

        if (!bm->disabled && bytes > 0) {
            hbitmap_set(bm->bitmap, offset, bytes);
        }
    }
}
