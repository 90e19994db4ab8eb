/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * blockdev-create: image creation as a job of type "create".
 *
 * The command checks its arguments (BlockdevCreateOptions, a union on
 * "driver": file and qcow2 create images, other drivers are refused as
 * QEMU refuses them), then starts a job and returns; the job does the
 * work and, as in QEMU, is not dismissed automatically: it stays
 * concluded (with its error, if any) until job-dismiss.  Everything that
 * needs the block graph (finding the node qcow2's "file" names) happens in
 * the job, so such failures show up as the job's error, like QEMU's.
 *
 * Creation goes through bdrv_create(), which takes the driver's creation
 * options (file: filename, size, preallocation; qcow2: filename, size,
 * version, cluster_size, ...).  For qcow2 the image is written into the
 * file that the "file" node opened, by its file name; the node's cached
 * length is refreshed afterwards so the image can be opened on it.
 */
#include "qmp/qmp.h"
#include "block/block.h"
#include "block/job.h"

typedef struct CreateJob {
    Job common;
    JsonObject *options;      /* the checked BlockdevCreateOptions */
} CreateJob;

static const char *const prealloc_values[] = {
    "off", "metadata", "falloc", "full", NULL,
};
static const char *const qcow2_version_values[] = { "v2", "v3", NULL };
static const char *const compression_values[] = { "zlib", "zstd", NULL };

static const QmpArg create_file_args[] = {
    { "filename", QMP_ARG_STR },
    { "size", QMP_ARG_UINT64 },
    { "preallocation", QMP_ARG_ENUM, true, prealloc_values },
    { "nocow", QMP_ARG_BOOL, true },
    { "extent-size-hint", QMP_ARG_UINT64, true },
    QMP_ARG_END
};

static const QmpArg create_qcow2_args[] = {
    { "file", QMP_ARG_BLOCKDEV_REF },
    { "data-file", QMP_ARG_BLOCKDEV_REF, true },
    { "data-file-raw", QMP_ARG_BOOL, true },
    { "extended-l2", QMP_ARG_BOOL, true },
    { "size", QMP_ARG_UINT64 },
    { "version", QMP_ARG_ENUM, true, qcow2_version_values },
    { "backing-file", QMP_ARG_STR, true },
    { "backing-fmt", QMP_ARG_STR, true },
    { "encrypt", QMP_ARG_ANY, true },
    { "cluster-size", QMP_ARG_UINT64, true },
    { "preallocation", QMP_ARG_ENUM, true, prealloc_values },
    { "lazy-refcounts", QMP_ARG_BOOL, true },
    { "refcount-bits", QMP_ARG_INT, true },
    { "compression-type", QMP_ARG_ENUM, true, compression_values },
    QMP_ARG_END
};

/* The union: "driver" first, then the branch's members. */
static bool check_create_options(JsonObject *opts, Error **errp)
{
    static const QmpArg no_members[] = { QMP_ARG_END };
    const QmpArg *branch = no_members;
    const char *driver;
    g_autoptr(JsonObject) rest = NULL;
    g_autoptr(GList) keys = NULL;

    if (!json_object_has_member(opts, "driver")) {
        error_setg(errp, "Parameter 'options.driver' is missing");
        return false;
    }
    driver = qmp_arg_str(opts, "driver", NULL);
    if (!driver) {
        error_setg(errp, "Invalid parameter type for 'options.driver', "
                   "expected: string");
        return false;
    }
    if (!g_strv_contains(bdrv_driver_names(), driver)) {
        error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                   driver);
        return false;
    }
    if (!strcmp(driver, "file")) {
        branch = create_file_args;
    } else if (!strcmp(driver, "qcow2")) {
        branch = create_qcow2_args;
    }
    /* Check the branch on a copy without "driver". */
    rest = json_object_new();
    keys = json_object_get_members(opts);
    for (GList *l = keys; l; l = l->next) {
        if (strcmp(l->data, "driver")) {
            json_object_set_member(rest, l->data, json_node_copy(
                json_object_get_member(opts, l->data)));
        }
    }
    if (!qmp_check_args(rest, branch, "options.", errp)) {
        return false;
    }
    if (branch == no_members) {
        error_setg(errp, "Driver does not support blockdev-create");
        return false;
    }
    return true;
}

/* A uint64 argument, as the block layer's size parser takes it. */
static void put_size(JsonObject *dst, const char *key, JsonObject *src,
                     const char *name)
{
    uint64_t v;

    if (!json_object_has_member(src, name)) {
        return;
    }
    v = (uint64_t)qmp_arg_int(src, name, 0);
    if (v <= INT64_MAX) {
        qdict_put_int(dst, key, v);
    } else {
        g_autofree char *s = g_strdup_printf("%" PRIu64, v);

        qdict_put_str(dst, key, s);
    }
}

/* Copy member @name of @src to @dst as @key, if present. */
static void put_member(JsonObject *dst, const char *key, JsonObject *src,
                       const char *name)
{
    JsonNode *n = json_object_get_member(src, name);

    if (n) {
        json_object_set_member(dst, key, json_node_copy(n));
    }
}

/* The "file" of a qcow2 creation: a node, or a file driver dict. */
static const char *qcow2_target(JsonObject *o, BlockDriverState **node,
                                Error **errp)
{
    JsonNode *n = json_object_get_member(o, "file");
    const char *name;
    JsonObject *d;

    *node = NULL;
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        d = json_node_get_object(n);
        if (g_strcmp0(qdict_get_str(d, "driver"), "file") ||
            !qdict_get_str(d, "filename")) {
            error_setg(errp, "Only 'file' nodes can hold a new qcow2 image");
            return NULL;
        }
        return qdict_get_str(d, "filename");
    }
    name = json_node_get_string(n);
    *node = bdrv_find_node(name);
    if (!*node) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   name, name);
        return NULL;
    }
    if (g_strcmp0(bdrv_get_format_name(*node), "file")) {
        error_setg(errp, "Only 'file' nodes can hold a new qcow2 image");
        return NULL;
    }
    return bdrv_get_filename(*node);
}

static int coroutine_fn create_qcow2(JsonObject *o, JsonObject *c,
                                     Error **errp)
{
    BlockDriverState *node;
    const char *filename = qcow2_target(o, &node, errp);
    int ret;

    if (!filename) {
        return -EINVAL;
    }
    if (json_object_has_member(o, "data-file") ||
        json_object_has_member(o, "encrypt")) {
        error_setg(errp, "External data files and encryption are not "
                   "supported");
        return -ENOTSUP;
    }
    qdict_put_str(c, "driver", "qcow2");
    qdict_put_str(c, "filename", filename);
    put_size(c, "size", o, "size");
    put_member(c, "version", o, "version");
    put_size(c, "cluster_size", o, "cluster-size");
    put_member(c, "refcount_bits", o, "refcount-bits");
    put_member(c, "lazy_refcounts", o, "lazy-refcounts");
    put_member(c, "backing_file", o, "backing-file");
    put_member(c, "backing_fmt", o, "backing-fmt");
    put_member(c, "preallocation", o, "preallocation");
    put_member(c, "extended_l2", o, "extended-l2");
    put_member(c, "compression_type", o, "compression-type");
    if (node) {
        bdrv_ref(node);
    }
    ret = bdrv_create(c, errp);
    if (node) {
        /* The file changed under the node: let it see the new length. */
        int r = bdrv_co_refresh_total_bytes(node);

        if (ret == 0 && r < 0) {
            error_setg_errno(errp, -r, "Could not refresh the size of '%s'",
                             bdrv_get_node_name(node));
            ret = r;
        }
        bdrv_unref(node);
    }
    return ret;
}

static int coroutine_fn create_run(Job *job, Error **errp)
{
    CreateJob *s = container_of(job, CreateJob, common);
    JsonObject *o = s->options;
    g_autoptr(JsonObject) c = qdict_new();
    const char *driver = qdict_get_str(o, "driver");
    int ret;

    job_progress_set_remaining(job, 1);
    if (!strcmp(driver, "file")) {
        qdict_put_str(c, "driver", "file");
        put_member(c, "filename", o, "filename");
        put_size(c, "size", o, "size");
        put_member(c, "preallocation", o, "preallocation");
        put_member(c, "nocow", o, "nocow");
        ret = bdrv_create(c, errp);
    } else {
        ret = create_qcow2(o, c, errp);
    }
    job_progress_update(job, 1);
    return ret;
}

static void create_clean(Job *job)
{
    CreateJob *s = container_of(job, CreateJob, common);

    qdict_unref(s->options);
    s->options = NULL;
}

static const JobDriver create_job_driver = {
    .instance_size = sizeof(CreateJob),
    .type_name = "create",
    .run = create_run,
    .clean = create_clean,
};

static JsonNode *qmp_blockdev_create(JsonObject *args, Error **errp)
{
    const char *job_id = qmp_arg_str(args, "job-id", NULL);
    JsonObject *opts = json_object_get_object_member(args, "options");
    CreateJob *s;

    if (!check_create_options(opts, errp)) {
        return NULL;
    }
    s = (CreateJob *)job_create(job_id, &create_job_driver, true, false,
                                errp);
    if (!s) {
        return NULL;
    }
    s->options = qdict_clone(opts);
    job_start(&s->common);
    return qmp_return_empty();
}

static const QmpArg blockdev_create_args[] = {
    { "job-id", QMP_ARG_STR },
    { "options", QMP_ARG_OBJECT },
    QMP_ARG_END
};

const QmpCommand qmp_create_commands[] = {
    { "blockdev-create", qmp_blockdev_create, blockdev_create_args },
    { NULL }
};
