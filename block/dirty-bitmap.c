/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Dirty bitmaps on nodes: every write, zero write and discard that
 * completes on a node marks the range in each of its enabled bitmaps, at
 * the bitmap's granularity.
 *
 * A bitmap is an HBitmap over the node's bytes, created at the node's
 * length.  A node can grow by writes past its end or by truncate, so
 * marking a range beyond a bitmap's size first grows the bitmap to cover
 * it.  The node keeps its bitmaps in bs->dirty_bitmaps, newest first, the
 * order QEMU reports them in.  Main-loop state only: the I/O path that
 * calls bdrv_set_dirty() runs in the same (main) AioContext.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/dirty-bitmap.h"

/* QEMU's limit on a bitmap name (BDRV_BITMAP_MAX_NAME_SIZE). */
#define DIRTY_BITMAP_MAX_NAME 1023

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
        uint64_t end = offset + bytes;

        if (bm->disabled || bytes <= 0) {
            continue;
        }
        if (end > hbitmap_size(bm->bitmap)) {
            hbitmap_truncate(bm->bitmap, end);
        }
        hbitmap_set(bm->bitmap, offset, bytes);
    }
}

static uint32_t default_granularity(BlockDriverState *bs)
{
    BlockDriverInfo bdi;

    if (bdrv_get_info(bs, &bdi) >= 0 && bdi.cluster_size > 0) {
        return MAX(4096, bdi.cluster_size);
    }
    return 65536;
}

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp)
{
    BdrvDirtyBitmap *bm;
    int64_t len;

    if (!name || !*name) {
        error_setg(errp, "Bitmap name cannot be empty");
        return NULL;
    }
    if (strlen(name) > DIRTY_BITMAP_MAX_NAME) {
        error_setg(errp, "Bitmap name too long: %s", name);
        return NULL;
    }
    if (bdrv_find_dirty_bitmap(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return NULL;
    }
    if (granularity == 0) {
        granularity = default_granularity(bs);
    }
    if (granularity < 512 || (granularity & (granularity - 1))) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    len = bdrv_getlength(bs);
    if (len < 0) {
        error_setg_errno(errp, -len, "could not get length of device");
        return NULL;
    }
    bm = g_new0(BdrvDirtyBitmap, 1);
    bm->bs = bs;
    bm->bitmap = hbitmap_alloc(len, __builtin_ctz(granularity));
    bm->name = g_strdup(name);
    bs->dirty_bitmaps = g_list_prepend(bs->dirty_bitmaps, bm);
    return bm;
}

BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    for (GList *l = bs->dirty_bitmaps; l; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;

        if (bm->name && !strcmp(bm->name, name)) {
            return bm;
        }
    }
    return NULL;
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    BlockDriverState *bs = bitmap->bs;

    bs->dirty_bitmaps = g_list_remove(bs->dirty_bitmaps, bitmap);
    hbitmap_free(bitmap->bitmap);
    g_free(bitmap->name);
    g_free(bitmap);
}

void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    hbitmap_reset_all(bitmap->bitmap);
}

void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    bitmap->disabled = true;
}

void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    bitmap->disabled = false;
}

GList *bdrv_dirty_bitmap_list(BlockDriverState *bs)
{
    return g_list_copy(bs->dirty_bitmaps);
}

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->name;
}

uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap)
{
    return 1U << hbitmap_granularity(bitmap->bitmap);
}

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap)
{
    return !bitmap->disabled;
}

uint64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bitmap)
{
    return hbitmap_count(bitmap->bitmap);
}

bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bitmap, int64_t offset)
{
    if (offset < 0 || (uint64_t)offset >= hbitmap_size(bitmap->bitmap)) {
        return false;
    }
    return hbitmap_get(bitmap->bitmap, offset);
}
