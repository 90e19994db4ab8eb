/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What an image says about itself, for tools such as emblock-img info:
 * the backing file it names and format-specific facts.  Both come from
 * the node's own driver; nodes whose driver has nothing to say answer
 * NULL (a raw node does not speak for its file).
 */
#include "util/osdep.h"
#include "block/block-int.h"

static void backing_file_of(BlockDriverState *bs, const char **name,
                            const char **format)
{
    *name = NULL;
    *format = NULL;
    if (bs->drv && bs->drv->bdrv_get_backing_file) {
        bs->drv->bdrv_get_backing_file(bs, name, format);
    }
}

const char *bdrv_get_backing_filename(BlockDriverState *bs)
{
    const char *name, *format;

    backing_file_of(bs, &name, &format);
    return name;
}

const char *bdrv_get_backing_format(BlockDriverState *bs)
{
    const char *name, *format;

    backing_file_of(bs, &name, &format);
    return name ? format : NULL;
}

BlockOptions *bdrv_get_specific_info(BlockDriverState *bs)
{
    if (!bs->drv || !bs->drv->bdrv_get_specific_info) {
        return NULL;
    }
    return bs->drv->bdrv_get_specific_info(bs);
}
