/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QMP commands on nodes: blockdev-add, blockdev-del,
 * query-named-block-nodes and the block-dirty-bitmap-* commands.
 *
 * The monitor owns the nodes created by --blockdev and blockdev-add: it
 * keeps the reference bdrv_open_options() returned, in monitor_nodes,
 * until blockdev-del or shutdown drops it.  Nodes opened implicitly (a
 * nested "file" dict, a mirror filter) belong to their parents.
 *
 * blockdev-del refuses, in QEMU's order and words: unknown nodes, nodes a
 * BlockBackend uses (a job's target: "Node X is in use"), sources of a
 * mirror job (their parent is the job's filter: "Node 'X' is busy"),
 * nodes the monitor does not own, and nodes with other references
 * ("Block device X is in use").
 */
#include "qmp/qmp.h"
#include "block/block.h"
#include "block/dirty-bitmap.h"

/* Newest last; each holds one reference. */
static GList *monitor_nodes;

/* blockdev-add, blockdev-del */

bool qmp_blockdev_add(JsonObject *opts, bool strict, Error **errp)
{
    BlockDriverState *bs;

    if (!qmp_check_blockdev_options(opts, NULL, !strict, errp)) {
        return false;
    }
    if (!qdict_get_str(opts, "node-name")) {
        error_setg(errp, "'node-name' must be specified for the root node");
        return false;
    }
    bs = bdrv_open_options(opts, errp);
    if (!bs) {
        return false;
    }
    monitor_nodes = g_list_append(monitor_nodes, bs);
    return true;
}

void qmp_blockdev_release_all(void)
{
    while (monitor_nodes) {
        GList *last = g_list_last(monitor_nodes);
        BlockDriverState *bs = last->data;

        monitor_nodes = g_list_delete_link(monitor_nodes, last);
        bdrv_unref(bs);
    }
}

static JsonNode *qmp_blockdev_add_cmd(JsonObject *args, Error **errp)
{
    return qmp_blockdev_add(args, true, errp) ? qmp_return_empty() : NULL;
}

/* Whether a mirror job's filter sits on @bs. */
static bool node_is_job_source(BlockDriverState *bs)
{
    g_autoptr(GList) parents = bdrv_get_parent_nodes(bs);

    for (GList *l = parents; l; l = l->next) {
        const char *fmt = bdrv_get_format_name(l->data);

        if (fmt && !strcmp(fmt, "mirror_top")) {
            return true;
        }
    }
    return false;
}

static JsonNode *qmp_blockdev_del(JsonObject *args, Error **errp)
{
    const char *name = qmp_arg_str(args, "node-name", NULL);
    BlockDriverState *bs = bdrv_find_node(name);

    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'", name);
        return NULL;
    }
    if (bdrv_has_blk(bs)) {
        error_setg(errp, "Node %s is in use", name);
        return NULL;
    }
    if (node_is_job_source(bs)) {
        error_setg(errp, "Node '%s' is busy: block device is in use by "
                   "block job: mirror", name);
        return NULL;
    }
    if (!g_list_find(monitor_nodes, bs)) {
        error_setg(errp, "Node %s is not owned by the monitor", name);
        return NULL;
    }
    if (bdrv_get_refcnt(bs) > 1) {
        error_setg(errp, "Block device %s is in use", name);
        return NULL;
    }
    monitor_nodes = g_list_remove(monitor_nodes, bs);
    bdrv_unref(bs);
    return qmp_return_empty();
}

/* query-named-block-nodes */

/*
 * The backing chain as QEMU shows it: the child called "backing", which
 * for a mirror filter is its filtered child rather than a COW one.
 */
static BlockDriverState *backing_node(BlockDriverState *bs)
{
    BdrvChild *c = bdrv_find_child(bs, "backing");

    return c ? bdrv_child_bs(c) : NULL;
}

/* Filters show the file name of what they filter. */
static const char *node_filename(BlockDriverState *bs)
{
    while (bs && !*bdrv_get_filename(bs)) {
        BlockDriverState *below = bdrv_file_bs(bs);

        bs = below ? below : backing_node(bs);
    }
    return bs ? bdrv_get_filename(bs) : "";
}

/* Host bytes: filters pass the question down; no answer reads as 0. */
static int64_t node_actual_size(BlockDriverState *bs)
{
    while (bs) {
        int64_t size = bdrv_get_allocated_file_size(bs);
        BlockDriverState *below = bdrv_file_bs(bs);

        if (size >= 0) {
            return size;
        }
        bs = below ? below : backing_node(bs);
    }
    return 0;
}

/*
 * Whether QEMU would answer get_info for @bs (and so report dirty-flag):
 * ours answers for formats only, QEMU's file driver answers too, and
 * raw and filters pass the question down.
 */
static bool info_answered(BlockDriverState *bs, int ret)
{
    const char *fmt;

    if (ret >= 0) {
        return true;
    }
    for (;;) {
        bs = bdrv_skip_filters(bs);
        if (!bdrv_file_bs(bs)) {
            break;
        }
        bs = bdrv_file_bs(bs);
    }
    fmt = bdrv_get_format_name(bs);
    return fmt && !strcmp(fmt, "file");
}

static JsonObject *image_info(BlockDriverState *bs, bool flat)
{
    JsonObject *img = json_object_new();
    BlockDriverState *backing = backing_node(bs);
    const char *fmt = bdrv_get_format_name(bs);
    int64_t size = bdrv_getlength(bs);
    BlockDriverInfo bdi;
    int ret = bdrv_get_info(bs, &bdi);
    JsonObject *specific;

    if (!flat && backing) {
        json_object_set_object_member(img, "backing-image",
                                      image_info(backing, flat));
    }
    json_object_set_int_member(img, "virtual-size", MAX(size, 0));
    json_object_set_string_member(img, "filename", node_filename(bs));
    if (ret >= 0 && bdi.cluster_size > 0) {
        json_object_set_int_member(img, "cluster-size", bdi.cluster_size);
    }
    json_object_set_string_member(img, "format", fmt);
    json_object_set_int_member(img, "actual-size", node_actual_size(bs));
    specific = bdrv_get_specific_info(bs);
    if (specific) {
        json_object_set_object_member(img, "format-specific", specific);
    }
    if (info_answered(bs, ret)) {
        json_object_set_boolean_member(img, "dirty-flag",
                                       ret >= 0 && bdi.is_dirty);
    }
    return img;
}

static JsonArray *bitmaps_info(BlockDriverState *bs)
{
    g_autoptr(GList) bitmaps = bdrv_dirty_bitmap_list(bs);
    JsonArray *list;

    if (!bitmaps) {
        return NULL;
    }
    list = json_array_new();
    for (GList *l = bitmaps; l; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;
        JsonObject *info = json_object_new();

        json_object_set_string_member(info, "name",
                                      bdrv_dirty_bitmap_name(bm));
        json_object_set_boolean_member(info, "recording",
                                       bdrv_dirty_bitmap_enabled(bm));
        json_object_set_boolean_member(info, "persistent", false);
        json_object_set_boolean_member(info, "busy", false);
        json_object_set_int_member(info, "granularity",
                                   bdrv_dirty_bitmap_granularity(bm));
        json_object_set_int_member(info, "count", bdrv_get_dirty_count(bm));
        json_array_add_object_element(list, info);
    }
    return list;
}

/* One BlockDeviceInfo, with QEMU 7.2's members in its order. */
static JsonObject *node_info(BlockDriverState *bs, bool flat)
{
    static const char *const dz_names[] = { "off", "on", "unmap" };
    JsonObject *info = json_object_new();
    JsonObject *cache = json_object_new();
    JsonArray *bitmaps = bitmaps_info(bs);
    int flags = bdrv_get_open_flags(bs);
    int depth = 0;

    for (BlockDriverState *b = backing_node(bs); b; b = backing_node(b)) {
        depth++;
    }
    json_object_set_int_member(info, "iops_rd", 0);
    json_object_set_string_member(info, "detect_zeroes",
                                  dz_names[bdrv_get_detect_zeroes(bs)]);
    json_object_set_object_member(info, "image", image_info(bs, flat));
    json_object_set_int_member(info, "iops_wr", 0);
    json_object_set_boolean_member(info, "ro", bdrv_is_read_only(bs));
    json_object_set_string_member(info, "node-name",
                                  bdrv_get_node_name(bs));
    json_object_set_int_member(info, "backing_file_depth", depth);
    json_object_set_string_member(info, "drv", bdrv_get_format_name(bs));
    json_object_set_int_member(info, "iops", 0);
    json_object_set_int_member(info, "bps_wr", 0);
    json_object_set_int_member(info, "write_threshold", 0);
    if (bitmaps) {
        json_object_set_array_member(info, "dirty-bitmaps", bitmaps);
    }
    json_object_set_boolean_member(info, "encrypted", false);
    json_object_set_int_member(info, "bps", 0);
    json_object_set_int_member(info, "bps_rd", 0);
    json_object_set_boolean_member(cache, "no-flush",
                                   flags & BDRV_O_NO_FLUSH);
    json_object_set_boolean_member(cache, "direct", flags & BDRV_O_NOCACHE);
    json_object_set_boolean_member(cache, "writeback", true);
    json_object_set_object_member(info, "cache", cache);
    json_object_set_string_member(info, "file", node_filename(bs));
    return info;
}

static JsonNode *qmp_query_named_block_nodes(JsonObject *args, Error **errp)
{
    g_autoptr(GList) nodes = bdrv_list_nodes();
    bool flat = qmp_arg_bool(args, "flat", false);
    JsonArray *list = json_array_new();
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);

    /* Newest first, as QEMU lists them. */
    for (GList *l = g_list_last(nodes); l; l = l->prev) {
        json_array_add_object_element(list, node_info(l->data, flat));
    }
    json_node_take_array(n, list);
    return n;
}

/* Dirty bitmaps */

/* The node and bitmap of remove/clear, with QEMU's lookup messages. */
static BdrvDirtyBitmap *bitmap_lookup(JsonObject *args, Error **errp)
{
    const char *node = qmp_arg_str(args, "node", NULL);
    const char *name = qmp_arg_str(args, "name", NULL);
    BlockDriverState *bs = bdrv_find_node(node);
    BdrvDirtyBitmap *bm;

    if (!bs) {
        error_setg(errp, "Node '%s' not found", node);
        return NULL;
    }
    bm = bdrv_find_dirty_bitmap(bs, name);
    if (!bm) {
        error_setg(errp, "Dirty bitmap '%s' not found", name);
    }
    return bm;
}

static JsonNode *qmp_bitmap_add(JsonObject *args, Error **errp)
{
    const char *node = qmp_arg_str(args, "node", NULL);
    const char *name = qmp_arg_str(args, "name", NULL);
    int64_t granularity = qmp_arg_int(args, "granularity", 0);
    BlockDriverState *bs = bdrv_find_node(node);
    BdrvDirtyBitmap *bm;

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   node, node);
        return NULL;
    }
    if (!*name) {
        error_setg(errp, "Bitmap name cannot be empty");
        return NULL;
    }
    if (json_object_has_member(args, "granularity") &&
        (granularity < 512 || (granularity & (granularity - 1)))) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    if (qmp_arg_bool(args, "persistent", false)) {
        error_setg(errp, "Can't store persistent bitmaps to %s: Operation "
                   "not supported", node);
        return NULL;
    }
    bm = bdrv_create_dirty_bitmap(bs, granularity, name, errp);
    if (!bm) {
        return NULL;
    }
    if (qmp_arg_bool(args, "disabled", false)) {
        bdrv_disable_dirty_bitmap(bm);
    }
    return qmp_return_empty();
}

static JsonNode *qmp_bitmap_remove(JsonObject *args, Error **errp)
{
    BdrvDirtyBitmap *bm = bitmap_lookup(args, errp);

    if (!bm) {
        return NULL;
    }
    bdrv_release_dirty_bitmap(bm);
    return qmp_return_empty();
}

static JsonNode *qmp_bitmap_clear(JsonObject *args, Error **errp)
{
    BdrvDirtyBitmap *bm = bitmap_lookup(args, errp);

    if (!bm) {
        return NULL;
    }
    bdrv_clear_dirty_bitmap(bm);
    return qmp_return_empty();
}

static const QmpArg blockdev_del_args[] = {
    { "node-name", QMP_ARG_STR },
    QMP_ARG_END
};

static const QmpArg query_nodes_args[] = {
    { "flat", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

static const QmpArg bitmap_add_args[] = {
    { "node", QMP_ARG_STR },
    { "name", QMP_ARG_STR },
    { "granularity", QMP_ARG_UINT32, true },
    { "persistent", QMP_ARG_BOOL, true },
    { "disabled", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

static const QmpArg bitmap_args[] = {
    { "node", QMP_ARG_STR },
    { "name", QMP_ARG_STR },
    QMP_ARG_END
};

const QmpCommand qmp_block_commands[] = {
    { "blockdev-add", qmp_blockdev_add_cmd, NULL, true },
    { "blockdev-del", qmp_blockdev_del, blockdev_del_args },
    { "query-named-block-nodes", qmp_query_named_block_nodes,
      query_nodes_args },
    { "block-dirty-bitmap-add", qmp_bitmap_add, bitmap_add_args },
    { "block-dirty-bitmap-remove", qmp_bitmap_remove, bitmap_args },
    { "block-dirty-bitmap-clear", qmp_bitmap_clear, bitmap_args },
    { NULL }
};
