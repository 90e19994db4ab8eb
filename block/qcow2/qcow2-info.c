/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2: what the image says about itself, for emblock-img info.
 *
 * The format-specific dict mirrors QEMU's ImageInfoSpecificQCow2 as
 * qemu-img prints it: compat and compression type always, the refcount
 * width, and for version 3 images the lazy-refcounts bit of the header,
 * the corrupt bit and whether L2 entries are extended.  Keys are added in
 * the order qemu-img prints them.
 */
#include "block/qcow2/qcow2.h"

void qcow2_get_backing_file(BlockDriverState *bs, const char **name,
                            const char **format)
{
    BDRVQcow2State *s = bs->opaque;

    *name = s->backing_file;
    *format = s->backing_format;
}

BlockOptions *qcow2_get_specific_info(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    bool v3 = s->qcow_version >= 3;
    JsonObject *info = qdict_new();
    JsonObject *data = qdict_new();

    qdict_put_str(data, "compat", v3 ? "1.1" : "0.10");
    qdict_put_str(data, "compression-type",
                  s->compression_type ? "zstd" : "zlib");
    if (v3) {
        qdict_put_bool(data, "lazy-refcounts",
                       s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
    }
    qdict_put_int(data, "refcount-bits", s->refcount_bits);
    if (v3) {
        qdict_put_bool(data, "corrupt",
                       s->incompatible_features & QCOW2_INCOMPAT_CORRUPT);
        qdict_put_bool(data, "extended-l2",
                       s->incompatible_features & QCOW2_INCOMPAT_EXTL2);
    }
    qdict_put_str(info, "type", "qcow2");
    qdict_put_obj(info, "data", data);
    qdict_unref(data);
    return info;
}
