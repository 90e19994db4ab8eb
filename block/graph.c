/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The node graph: opening nodes from option dicts, child edges and their
 * permissions, reference counting, drained sections and node replacement.
 * The permission computation and conflict checks live in graph-perm.c.
 *
 * Every node is in `all_nodes` (creation order) and, by name, in
 * `nodes_by_name`; both are main-loop state.  An edge (BdrvChild) is in its
 * parent's `children` list (when the parent is a node) and in its child's
 * `parents` list.  A node's cumulative permission is the OR of its parent
 * edges' `perm`; every parent's `perm` must be allowed by every other
 * parent's `shared_perm`.  Permissions flow down: a node's driver derives
 * each child edge's permissions from the node's cumulative ones, and
 * bdrv_refresh_perms() recomputes a subtree after a change.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "block/dirty-bitmap.h"
#include "graph-int.h"

#include <json-glib/json-glib.h>

static GList *all_nodes;
static GHashTable *nodes_by_name;
static unsigned next_implicit_id;

const char *const bdrv_detect_zeroes_names[] = { "off", "on", "unmap", NULL };
const char *const bdrv_prealloc_names[] = {
    "off", "metadata", "falloc", "full", NULL,
};

/* Options every node accepts, on top of its driver's runtime_opts. */
static const char *const common_opts[] = {
    "driver", "node-name", "read-only", "auto-read-only", "discard",
    "detect-zeroes", "cache", "force-share", NULL,
};
static const char *const cache_opts[] = { "direct", "no-flush", NULL };

/* Node lookup */

BlockDriverState *bdrv_find_node(const char *node_name)
{
    return nodes_by_name ? g_hash_table_lookup(nodes_by_name, node_name)
                         : NULL;
}

GList *bdrv_list_nodes(void)
{
    return g_list_copy(all_nodes);
}

const char *bdrv_get_node_name(const BlockDriverState *bs)
{
    return bs->node_name;
}

const char *bdrv_get_format_name(const BlockDriverState *bs)
{
    return bs->drv ? bs->drv->format_name : NULL;
}

const char *bdrv_get_filename(const BlockDriverState *bs)
{
    return bs->filename;
}

bool bdrv_is_read_only(const BlockDriverState *bs)
{
    return bs->read_only;
}

BlockDriverState *bdrv_file_bs(const BlockDriverState *bs)
{
    return bs->file ? bs->file->bs : NULL;
}

BlockDriverState *bdrv_backing_bs(const BlockDriverState *bs)
{
    return bs->backing ? bs->backing->bs : NULL;
}

BdrvChild *bdrv_find_child(BlockDriverState *bs, const char *name)
{
    for (GList *l = bs->children; l; l = l->next) {
        BdrvChild *c = l->data;

        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_child_bs(const BdrvChild *c)
{
    return c->bs;
}

BdrvChild *bdrv_filter_child(BlockDriverState *bs)
{
    for (GList *l = bs->children; l; l = l->next) {
        BdrvChild *c = l->data;

        if (c->role & BDRV_CHILD_FILTERED) {
            return c;
        }
    }
    return NULL;
}

BdrvChild *bdrv_cow_child(BlockDriverState *bs)
{
    return bs->backing && (bs->backing->role & BDRV_CHILD_COW) ?
           bs->backing : NULL;
}

BlockDriverState *bdrv_filter_or_cow_bs(BlockDriverState *bs)
{
    BdrvChild *c = bdrv_filter_child(bs);

    if (!c) {
        c = bdrv_cow_child(bs);
    }
    return c ? c->bs : NULL;
}

BlockDriverState *bdrv_skip_filters(BlockDriverState *bs)
{
    BdrvChild *c;

    while (bs && (c = bdrv_filter_child(bs))) {
        bs = c->bs;
    }
    return bs;
}

bool bdrv_is_implicit(const BlockDriverState *bs)
{
    return bs->implicit;
}

BlockdevDetectZeroes bdrv_get_detect_zeroes(const BlockDriverState *bs)
{
    return bs->detect_zeroes;
}

int bdrv_get_open_flags(const BlockDriverState *bs)
{
    return bs->open_flags;
}

int bdrv_get_refcnt(const BlockDriverState *bs)
{
    return bs->refcnt;
}

GList *bdrv_get_parent_nodes(BlockDriverState *bs)
{
    GList *nodes = NULL;

    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        if (c->klass->parent_is_bds) {
            nodes = g_list_append(nodes, c->opaque);
        }
    }
    return nodes;
}

bool bdrv_has_blk(BlockDriverState *bs)
{
    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        if (!c->klass->parent_is_bds) {
            return true;
        }
    }
    return false;
}

static bool node_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 31 || !g_ascii_isalpha(name[0])) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && !strchr("-._", name[i])) {
            return false;
        }
    }
    return true;
}

/* Edges */

/* The description of a node parent for messages. */
static char *bdrv_child_cb_get_parent_desc(BdrvChild *c)
{
    BlockDriverState *parent = c->opaque;

    return g_strdup_printf("node '%s'", parent->node_name);
}

static void bdrv_child_cb_drained_begin(BdrvChild *c)
{
    bdrv_drained_begin(c->opaque);
}

static void bdrv_child_cb_drained_end(BdrvChild *c)
{
    bdrv_drained_end(c->opaque);
}

static bool bdrv_drain_poll(BlockDriverState *bs);

static bool bdrv_child_cb_drained_poll(BdrvChild *c)
{
    return bdrv_drain_poll(c->opaque);
}

static const BdrvChildClass child_of_bds = {
    .parent_is_bds = true,
    .get_parent_desc = bdrv_child_cb_get_parent_desc,
    .drained_begin = bdrv_child_cb_drained_begin,
    .drained_end = bdrv_child_cb_drained_end,
    .drained_poll = bdrv_child_cb_drained_poll,
};

static BdrvChild *bdrv_child_new(BlockDriverState *bs, const char *name,
                                 const BdrvChildClass *klass,
                                 BdrvChildRole role, void *opaque)
{
    BdrvChild *c = g_new0(BdrvChild, 1);

    c->bs = bs;
    c->name = g_strdup(name);
    c->klass = klass;
    c->role = role;
    c->opaque = opaque;
    return c;
}

static void bdrv_child_free(BdrvChild *c)
{
    g_free(c->name);
    g_free(c);
}

BdrvChild *bdrv_root_attach_child(BlockDriverState *bs, const char *name,
                                  const BdrvChildClass *klass,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared, void *opaque,
                                  Error **errp)
{
    BdrvChild *c = bdrv_child_new(bs, name, klass, role, opaque);
    g_autofree char *user = bdrv_child_user_desc(c);

    if (!bdrv_check_edge_perm(bs, c, user, perm, shared, errp)) {
        bdrv_child_free(c);
        return NULL;
    }
    c->perm = perm;
    c->shared_perm = shared;
    bs->parents = g_list_append(bs->parents, c);
    if (bdrv_refresh_perms(bs, errp) < 0) {
        bs->parents = g_list_remove(bs->parents, c);
        bdrv_refresh_perms(bs, NULL);
        bdrv_child_free(c);
        return NULL;
    }
    bdrv_ref(bs);
    /* A new parent of a drained node must see the drain too. */
    if (bs->quiesce_counter > 0 && klass->drained_begin) {
        klass->drained_begin(c);
    }
    return c;
}

void bdrv_root_unref_child(BdrvChild *c)
{
    BlockDriverState *bs = c->bs;

    /* Parents are told once per drained child, not per nesting level. */
    if (bs->quiesce_counter > 0 && c->klass->drained_end) {
        c->klass->drained_end(c);
    }
    bs->parents = g_list_remove(bs->parents, c);
    bdrv_refresh_perms(bs, NULL);
    bdrv_child_free(c);
    bdrv_unref(bs);
}

BdrvChild *bdrv_attach_child(BlockDriverState *parent, BlockDriverState *bs,
                             const char *name, BdrvChildRole role,
                             Error **errp)
{
    BdrvChild tmp = { .bs = bs, .role = role, .opaque = parent,
                      .name = (char *)name, .klass = &child_of_bds };
    uint64_t perm, shared;
    BdrvChild *c;

    if (parent == bs || bdrv_filter_or_cow_bs(bs) == parent) {
        error_setg(errp, "Making '%s' a %s child of '%s' would create a "
                   "cycle", bs->node_name, name, parent->node_name);
        return NULL;
    }
    bdrv_child_compute_perm(parent, &tmp, &perm, &shared);
    c = bdrv_root_attach_child(bs, name, &child_of_bds, role, perm, shared,
                               parent, errp);
    if (!c) {
        return NULL;
    }
    parent->children = g_list_append(parent->children, c);
    if (role & BDRV_CHILD_COW) {
        parent->backing = c;
    } else if (!strcmp(name, "file") || !strcmp(name, "image")) {
        parent->file = c;
    }
    return c;
}

void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child)
{
    if (!child) {
        return;
    }
    if (parent->file == child) {
        parent->file = NULL;
    }
    if (parent->backing == child) {
        parent->backing = NULL;
    }
    parent->children = g_list_remove(parent->children, child);
    bdrv_root_unref_child(child);
}

/* Opening */

/*
 * Options a nested child inherits from its parent: read-only, force-share
 * and cache modes (unless set), and discard=unmap for children holding data, since
 * the parent decides what reaches them.  Backing files are read-only.
 */
static void bdrv_inherit_options(JsonObject *child, JsonObject *parent,
                                 BdrvChildRole role)
{
    JsonObject *pcache = qdict_get_dict(parent, "cache");

    if (role & BDRV_CHILD_COW) {
        qdict_del(child, "read-only");
        qdict_put_str(child, "read-only", "on");
    } else if (!qdict_haskey(child, "read-only") &&
               qdict_haskey(parent, "read-only")) {
        json_object_set_member(child, "read-only",
            json_node_copy(json_object_get_member(parent, "read-only")));
    }
    if (!qdict_haskey(child, "force-share") &&
        qdict_haskey(parent, "force-share")) {
        json_object_set_member(child, "force-share",
            json_node_copy(json_object_get_member(parent, "force-share")));
    }
    if (pcache) {
        JsonObject *ccache = qdict_get_dict(child, "cache");

        if (!ccache) {
            ccache = qdict_new();
            qdict_put_obj(child, "cache", ccache);
            qdict_unref(ccache);
        }
        for (int i = 0; cache_opts[i]; i++) {
            JsonNode *n = json_object_get_member(pcache, cache_opts[i]);

            if (n && !qdict_haskey(ccache, cache_opts[i])) {
                json_object_set_member(ccache, cache_opts[i],
                                       json_node_copy(n));
            }
        }
    }
    if (!(role & BDRV_CHILD_COW) && !qdict_haskey(child, "discard")) {
        qdict_put_str(child, "discard", "unmap");
    }
}

BdrvChild *bdrv_open_child(BlockDriverState *parent, BlockOptions *options,
                           const char *name, BdrvChildRole role,
                           bool allow_none, Error **errp)
{
    JsonNode *n = json_object_get_member(options, name);
    BlockDriverState *bs;
    BdrvChild *c;

    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        if (!allow_none) {
            error_setg(errp, "A block device must be specified for \"%s\"",
                       name);
        }
        return NULL;
    }
    if (JSON_NODE_HOLDS_VALUE(n) &&
        json_node_get_value_type(n) == G_TYPE_STRING) {
        const char *ref = json_node_get_string(n);

        bs = bdrv_find_node(ref);
        if (!bs) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       ref, ref);
            return NULL;
        }
        bdrv_ref(bs);
    } else if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *copy = qdict_clone(json_node_get_object(n));

        bdrv_inherit_options(copy, options, role);
        bs = bdrv_open_options(copy, errp);
        qdict_unref(copy);
        if (!bs) {
            return NULL;
        }
        bs->implicit = !qdict_haskey(json_node_get_object(n), "node-name");
    } else {
        error_setg(errp, "Invalid parameter type for '%s', expected: "
                   "a dict or a node name", name);
        return NULL;
    }
    c = bdrv_attach_child(parent, bs, name, role, errp);
    bdrv_unref(bs);
    return c;
}

/* Parse the options every node has; fills flags and detect-zeroes. */
static bool bdrv_parse_common_options(JsonObject *options, int *flags,
                                      BlockdevDetectZeroes *dz,
                                      bool *auto_ro, bool *force_share,
                                      Error **errp)
{
    static const char *const discard_names[] = {
        "ignore", "unmap", "off", "on", NULL,
    };
    JsonObject *cache = qdict_get_dict(options, "cache");
    bool read_only = false, direct = false, no_flush = false;
    int discard = 0, detect = BLOCKDEV_DETECT_ZEROES_OFF;

    *auto_ro = false;
    *force_share = false;
    if (qdict_haskey(options, "cache") && !cache) {
        error_setg(errp, "Invalid parameter type for 'cache', expected: "
                   "dict");
        return false;
    }
    if ((cache && !qdict_check_keys(cache, cache_opts, errp)) ||
        !qdict_get_bool_opt(options, "read-only", &read_only, errp) ||
        !qdict_get_bool_opt(options, "auto-read-only", auto_ro, errp) ||
        !qdict_get_bool_opt(options, "force-share", force_share, errp) ||
        !qdict_get_bool_opt(cache, "direct", &direct, errp) ||
        !qdict_get_bool_opt(cache, "no-flush", &no_flush, errp) ||
        !qdict_get_enum_opt(options, "discard", discard_names, &discard,
                            errp) ||
        !qdict_get_enum_opt(options, "detect-zeroes",
                            bdrv_detect_zeroes_names, &detect, errp)) {
        return false;
    }
    if (*force_share && !read_only) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    *flags = (read_only ? 0 : BDRV_O_RDWR) |
             (direct ? BDRV_O_NOCACHE : 0) |
             (no_flush ? BDRV_O_NO_FLUSH : 0) |
             ((discard & 1) ? BDRV_O_UNMAP : 0) |
             (*auto_ro ? BDRV_O_AUTO_RDONLY : 0);
    if (detect == BLOCKDEV_DETECT_ZEROES_UNMAP && !(*flags & BDRV_O_UNMAP)) {
        error_setg(errp, "setting detect-zeroes to unmap is not allowed "
                   "without setting discard operation to unmap");
        return false;
    }
    *dz = detect;
    return true;
}

static void bdrv_free_unopened(BlockDriverState *bs)
{
    while (bs->children) {
        bdrv_unref_child(bs, bs->children->data);
    }
    qdict_unref(bs->options);
    g_free(bs->opaque);
    g_free(bs);
}

typedef struct RefreshLengthCo {
    BlockDriverState *bs;
    int ret;
    bool done;
} RefreshLengthCo;

static void coroutine_fn refresh_length_entry(void *opaque)
{
    RefreshLengthCo *s = opaque;

    s->ret = bdrv_co_refresh_total_bytes(s->bs);
    s->done = true;
    aio_wait_kick();
}

static int bdrv_open_driver(BlockDriverState *bs, JsonObject *options,
                            int flags, Error **errp)
{
    RefreshLengthCo rl = { .bs = bs };
    Error *local_err = NULL;
    int ret;

    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    ret = bs->drv->bdrv_open(bs, options, flags, errp);
    if (ret < 0) {
        return ret;
    }
    bdrv_refresh_limits(bs, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        ret = -EINVAL;
    } else {
        aio_run_co_sync(refresh_length_entry, &rl, &rl.done);
        ret = rl.ret;
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not get the size of '%s'",
                             bs->node_name);
        }
    }
    if (ret < 0 && bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    return ret;
}

BlockDriverState *bdrv_open_options(BlockOptions *options, Error **errp)
{
    const char *drvname = qdict_get_str(options, "driver");
    const BlockDriver *drv;

    if (!drvname) {
        error_setg(errp, qdict_haskey(options, "driver") ?
                   "Invalid parameter type for 'driver', expected: string" :
                   "Parameter 'driver' is missing");
        return NULL;
    }
    drv = bdrv_find_format(drvname);
    if (!drv) {
        error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                   drvname);
        return NULL;
    }
    return bdrv_new_open_driver(drv, options, errp);
}

BlockDriverState *bdrv_new_open_driver(const BlockDriver *drv,
                                       BlockOptions *options, Error **errp)
{
    const char *node_name = qdict_get_str(options, "node-name");
    BlockDriverState *bs;
    BlockdevDetectZeroes dz;
    bool auto_ro, force_share;
    int flags, ret;
    Error *local_err = NULL;
    g_autoptr(GList) members = NULL;

    members = json_object_get_members(options);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;

        if (!g_strv_contains(common_opts, key) &&
            !(drv->runtime_opts && g_strv_contains(drv->runtime_opts, key))) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return NULL;
        }
    }
    if (node_name) {
        if (!node_name_valid(node_name)) {
            error_setg(errp, "Invalid node-name: '%s'", node_name);
            return NULL;
        }
        if (bdrv_find_node(node_name)) {
            error_setg(errp, "Duplicate nodes with node-name='%s'",
                       node_name);
            return NULL;
        }
    } else if (qdict_haskey(options, "node-name")) {
        error_setg(errp, "Invalid parameter type for 'node-name', "
                   "expected: string");
        return NULL;
    }
    if (!bdrv_parse_common_options(options, &flags, &dz, &auto_ro,
                                   &force_share, errp)) {
        return NULL;
    }

    bs = g_new0(BlockDriverState, 1);
    bs->drv = drv;
    bs->opaque = g_malloc0(MAX(drv->instance_size, 1));
    bs->refcnt = 1;
    bs->aio_context = qemu_get_aio_context();
    bs->detect_zeroes = dz;
    bs->force_share = force_share;
    bs->options = qdict_clone(options);
    bs->bl.request_alignment = 1;
    qemu_co_mutex_init(&bs->flush_lock);
    if (node_name) {
        g_strlcpy(bs->node_name, node_name, sizeof(bs->node_name));
    } else {
        g_snprintf(bs->node_name, sizeof(bs->node_name), "#block%03u",
                   next_implicit_id++);
    }

    ret = bdrv_open_driver(bs, options, flags, &local_err);
    if (ret < 0 && auto_ro && (flags & BDRV_O_RDWR) &&
        (ret == -EACCES || ret == -EROFS || ret == -EPERM)) {
        /* auto-read-only: settle for read-only access. */
        error_free(local_err);
        local_err = NULL;
        while (bs->children) {
            bdrv_unref_child(bs, bs->children->data);
        }
        memset(bs->opaque, 0, MAX(drv->instance_size, 1));
        ret = bdrv_open_driver(bs, options, flags & ~BDRV_O_RDWR,
                               &local_err);
    }
    error_propagate(errp, local_err);
    if (ret < 0) {
        bdrv_free_unopened(bs);
        return NULL;
    }
    if (!bs->filename[0] && bs->file) {
        g_strlcpy(bs->filename, bs->file->bs->filename,
                  sizeof(bs->filename));
    }
    if (!nodes_by_name) {
        nodes_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(nodes_by_name, bs->node_name, bs);
    all_nodes = g_list_append(all_nodes, bs);
    return bs;
}

BlockDriverState *bdrv_open_string(const char *str, Error **errp)
{
    JsonObject *options = qdict_parse(str, errp);
    BlockDriverState *bs;

    if (!options) {
        return NULL;
    }
    bs = bdrv_open_options(options, errp);
    qdict_unref(options);
    return bs;
}

BlockDriverState *bdrv_open_image(const char *filename, const char *fmt,
                                  BlockOptions *extra, Error **errp)
{
    JsonObject *options = extra ? qdict_clone(extra) : qdict_new();
    JsonObject *file;
    BlockDriverState *bs;

    if (!qdict_haskey(options, "driver")) {
        qdict_put_str(options, "driver", fmt ? fmt : "raw");
    }
    file = qdict_get_dict(options, "file");
    if (!file && !qdict_haskey(options, "file")) {
        file = qdict_new();
        qdict_put_obj(options, "file", file);
        qdict_unref(file);
    }
    if (file) {
        if (!qdict_haskey(file, "driver")) {
            qdict_put_str(file, "driver", "file");
        }
        if (!qdict_haskey(file, "filename")) {
            qdict_put_str(file, "filename", filename);
        }
    }
    bs = bdrv_open_options(options, errp);
    qdict_unref(options);
    return bs;
}

/* Reference counting and closing */

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

static void bdrv_close(BlockDriverState *bs)
{
    assert(!bs->parents);
    bdrv_drained_begin(bs);
    if (bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    bdrv_drained_end(bs);
    while (bs->children) {
        bdrv_unref_child(bs, bs->children->data);
    }
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    assert(bs->refcnt > 0);
    if (--bs->refcnt > 0) {
        return;
    }
    /* Flush what the driver cached, best effort, then close. */
    if (!bs->read_only) {
        bdrv_flush(bs);
    }
    bdrv_close(bs);
    while (bs->dirty_bitmaps) {
        bdrv_release_dirty_bitmap(bs->dirty_bitmaps->data);
    }
    g_hash_table_remove(nodes_by_name, bs->node_name);
    all_nodes = g_list_remove(all_nodes, bs);
    qemu_co_mutex_destroy(&bs->flush_lock);
    qdict_unref(bs->options);
    g_free(bs->opaque);
    g_free(bs);
}

/* Drained sections */

static bool bdrv_drain_poll(BlockDriverState *bs)
{
    if (__atomic_load_n(&bs->in_flight, __ATOMIC_SEQ_CST)) {
        return true;
    }
    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        if (c->klass->drained_poll && c->klass->drained_poll(c)) {
            return true;
        }
    }
    return false;
}

void bdrv_drained_begin(BlockDriverState *bs)
{
    if (bs->quiesce_counter++ == 0) {
        for (GList *l = bs->parents; l; l = l->next) {
            BdrvChild *c = l->data;

            if (c->klass->drained_begin) {
                c->klass->drained_begin(c);
            }
        }
        if (bs->drv->bdrv_drain_begin) {
            bs->drv->bdrv_drain_begin(bs);
        }
    }
    if (!qemu_in_coroutine()) {
        AIO_WAIT_WHILE(bs->aio_context, bdrv_drain_poll(bs));
    } else {
        /* From a coroutine: wait in the loop while others finish. */
        while (bdrv_drain_poll(bs)) {
            qemu_co_sleep_ns(100000);
        }
    }
}

void bdrv_drained_end(BlockDriverState *bs)
{
    assert(bs->quiesce_counter > 0);
    if (--bs->quiesce_counter == 0) {
        if (bs->drv->bdrv_drain_end) {
            bs->drv->bdrv_drain_end(bs);
        }
        for (GList *l = bs->parents; l; l = l->next) {
            BdrvChild *c = l->data;

            if (c->klass->drained_end) {
                c->klass->drained_end(c);
            }
        }
    }
}

void bdrv_drain_all(void)
{
    for (GList *l = all_nodes; l; l = l->next) {
        bdrv_drained_begin(l->data);
    }
    for (GList *l = all_nodes; l; l = l->next) {
        bdrv_drained_end(l->data);
    }
}

/* Replacing a node */

int bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                      Error **errp)
{
    GList *moving = NULL;
    int ret = 0;

    /* Edges from @to itself (or from its chain) stay where they are. */
    for (GList *l = from->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        if (!(c->klass->parent_is_bds && c->opaque == to)) {
            moving = g_list_append(moving, c);
        }
    }
    for (GList *l = moving; l; l = l->next) {
        BdrvChild *c = l->data;
        g_autofree char *user = bdrv_child_user_desc(c);

        if (!bdrv_check_edge_perm(to, c, user, c->perm, c->shared_perm,
                                  errp)) {
            g_list_free(moving);
            return -EPERM;
        }
    }
    bdrv_ref(from);
    bdrv_drained_begin(from);
    bdrv_drained_begin(to);
    for (GList *l = moving; l; l = l->next) {
        BdrvChild *c = l->data;

        from->parents = g_list_remove(from->parents, c);
        c->bs = to;
        to->parents = g_list_append(to->parents, c);
        /* The edge's drain follows the node it now points at. */
        if (from->quiesce_counter > 0 && c->klass->drained_end) {
            c->klass->drained_end(c);
        }
        if (to->quiesce_counter > 0 && c->klass->drained_begin) {
            c->klass->drained_begin(c);
        }
        bdrv_ref(to);
        bdrv_unref(from);
    }
    if (bdrv_refresh_perms(to, errp) < 0) {
        ret = -EPERM;
    }
    bdrv_refresh_perms(from, NULL);
    bdrv_drained_end(to);
    bdrv_drained_end(from);
    bdrv_unref(from);
    g_list_free(moving);
    return ret;
}

/* Limits */

void bdrv_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BlockLimits bl = { .request_alignment = 1 };

    for (GList *l = bs->children; l; l = l->next) {
        BdrvChild *c = l->data;
        BlockLimits *cl = &c->bs->bl;

        if (!(c->role & (BDRV_CHILD_DATA | BDRV_CHILD_FILTERED |
                         BDRV_CHILD_COW))) {
            continue;
        }
        bl.request_alignment = MAX(bl.request_alignment,
                                   cl->request_alignment);
        bl.min_mem_alignment = MAX(bl.min_mem_alignment,
                                   cl->min_mem_alignment);
        bl.opt_mem_alignment = MAX(bl.opt_mem_alignment,
                                   cl->opt_mem_alignment);
#define MIN_NONZERO(a, b) ((a) && (b) ? MIN(a, b) : MAX(a, b))
        bl.max_transfer = MIN_NONZERO(bl.max_transfer, cl->max_transfer);
        bl.max_pwrite_zeroes = MIN_NONZERO(bl.max_pwrite_zeroes,
                                           cl->max_pwrite_zeroes);
        bl.max_pdiscard = MIN_NONZERO(bl.max_pdiscard, cl->max_pdiscard);
#undef MIN_NONZERO
    }
    bs->bl = bl;
    if (bs->drv->bdrv_refresh_limits) {
        bs->drv->bdrv_refresh_limits(bs, errp);
    }
}

/* Image creation */

typedef struct CreateCo {
    const BlockDriver *drv;
    JsonObject *options;
    Error **errp;
    int ret;
    bool done;
} CreateCo;

static void coroutine_fn bdrv_create_entry(void *opaque)
{
    CreateCo *cco = opaque;

    cco->ret = cco->drv->bdrv_co_create_opts(cco->options, cco->errp);
    cco->done = true;
    aio_wait_kick();
}

int bdrv_create(BlockOptions *options, Error **errp)
{
    const char *drvname = qdict_get_str(options, "driver");
    const BlockDriver *drv;
    CreateCo cco = { .options = options, .errp = errp };
    g_autoptr(GList) members = NULL;

    if (!drvname) {
        error_setg(errp, "Parameter 'driver' is missing");
        return -EINVAL;
    }
    drv = bdrv_find_format(drvname);
    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", drvname);
        return -ENOENT;
    }
    if (!drv->bdrv_co_create_opts) {
        error_setg(errp, "Format driver '%s' does not support image "
                   "creation", drvname);
        return -ENOTSUP;
    }
    members = json_object_get_members(options);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;

        if (strcmp(key, "driver") &&
            !(drv->create_opts && g_strv_contains(drv->create_opts, key))) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return -EINVAL;
        }
    }
    cco.drv = drv;
    aio_run_co_sync(bdrv_create_entry, &cco, &cco.done);
    return cco.ret;
}
