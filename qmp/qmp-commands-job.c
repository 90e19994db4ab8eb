/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QMP commands on jobs: blockdev-mirror, the job-* verbs, the older
 * block-job-* verbs, query-jobs and query-block-jobs.
 *
 * The job-* commands name a job by "id" and answer "Job not found"
 * (GenericError) for unknown ids; the block-job-* commands name a block
 * job by "device" and answer class DeviceNotActive "Block job 'X' not
 * found", also for jobs that are not block jobs (blockdev-create's).  Jobs
 * without an id are internal and never visible here.  Queries list the
 * newest job first, as QEMU does.
 *
 * x-query-mirror-stats is an emblock extension for tests: the counters
 * of a mirror job (operations by kind, zero writes skipped thanks to the
 * zero bitmap, bytes of each), which QEMU does not expose.  It names the
 * job like the job-* verbs ("Job not found" for unknown ids) and fails
 * with a GenericError for jobs of another type.
 */
#include "qmp/qmp.h"
#include "block/block.h"
#include "block/job.h"
#include "block/mirror.h"

static const char *const sync_values[] = {
    "top", "full", "none", "incremental", "bitmap", NULL,
};
static const char *const on_error_values[] = {
    "report", "ignore", "enospc", "stop", NULL,
};
static const char *const copy_mode_values[] = {
    "background", "write-blocking", NULL,
};

/* Lookup */

static Job *find_job(JsonObject *args, Error **errp)
{
    Job *job = job_get(qmp_arg_str(args, "id", ""));

    if (!job) {
        error_setg(errp, "Job not found");
    }
    return job;
}

static Job *find_block_job(JsonObject *args, const char *key, Error **errp)
{
    const char *id = qmp_arg_str(args, key, "");
    Job *job = job_get(id);

    if (!job || !job->driver->is_block_job) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_ACTIVE,
                  "Block job '%s' not found", id);
        return NULL;
    }
    return job;
}

/* Run @verb_fn on the job; the reply is {} or the verb's error. */
static JsonNode *verb_reply(Error *err, Error **errp)
{
    if (err) {
        error_propagate(errp, err);
        return NULL;
    }
    return qmp_return_empty();
}

/* blockdev-mirror */

static BlockDriverState *lookup_node(const char *name, Error **errp)
{
    BlockDriverState *bs = bdrv_find_node(name);

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   name, name);
    }
    return bs;
}

/* A node with no parent: nothing above it would miss the mirror. */
static bool node_is_root(BlockDriverState *bs)
{
    g_autoptr(GList) parents = bdrv_get_parent_nodes(bs);

    return !parents && !bdrv_has_blk(bs);
}

/* The checks QEMU makes before it creates the job, in its order. */
static bool mirror_check(JsonObject *args, BlockDriverState *bs,
                         MirrorOptions *opts, Error **errp)
{
    const char *device = qmp_arg_str(args, "device", NULL);
    const char *replaces = qmp_arg_str(args, "replaces", NULL);
    int sync = qmp_arg_enum(args, "sync", sync_values, 1);
    int64_t granularity = (uint32_t)qmp_arg_int(args, "granularity", 0);

    if (sync > 2) {
        error_setg(errp, "Sync mode '%s' not supported", sync_values[sync]);
        return false;
    }
    if (!node_is_root(bs)) {
        error_setg(errp, "Need a root block node");
        return false;
    }
    if (granularity && (granularity < 512 || granularity > (64 << 20))) {
        error_setg(errp, "Parameter 'granularity' expects a value in range "
                   "[512B, 64MB]");
        return false;
    }
    if (granularity & (granularity - 1)) {
        error_setg(errp, "Parameter 'granularity' expects a power of 2");
        return false;
    }
    if (qmp_arg_int(args, "buf-size", 0) < 0) {
        error_setg(errp, "Invalid parameter 'buf-size'");
        return false;
    }
    if (replaces) {
        if (!bdrv_find_node(replaces)) {
            error_setg(errp, "Failed to find node with node-name='%s'",
                       replaces);
            return false;
        }
        if (strcmp(replaces, device)) {
            error_setg(errp, "Cannot replace '%s' by a node mirrored from "
                       "'%s', because it cannot be guaranteed that doing "
                       "so would not lead to an abrupt change of visible "
                       "data", replaces, device);
            return false;
        }
    }
    if (qmp_arg_int(args, "speed", 0) < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }

    mirror_options_init(opts);
    /* MirrorSyncMode's order here: full, top, none. */
    opts->sync = sync == 1 ? MIRROR_SYNC_MODE_FULL :
                 sync == 0 ? MIRROR_SYNC_MODE_TOP : MIRROR_SYNC_MODE_NONE;
    opts->granularity = granularity;
    opts->buf_size = qmp_arg_int(args, "buf-size", 0);
    opts->speed = qmp_arg_int(args, "speed", 0);
    opts->on_source_error = qmp_arg_enum(args, "on-source-error",
                                         on_error_values, 0);
    opts->on_target_error = qmp_arg_enum(args, "on-target-error",
                                         on_error_values, 0);
    opts->copy_mode = qmp_arg_enum(args, "copy-mode", copy_mode_values, 0) ?
                      MIRROR_COPY_MODE_WRITE_BLOCKING :
                      MIRROR_COPY_MODE_BACKGROUND;
    opts->target_is_zero = qmp_arg_bool(args, "target-is-zero", false);
    opts->auto_finalize = qmp_arg_bool(args, "auto-finalize", true);
    opts->auto_dismiss = qmp_arg_bool(args, "auto-dismiss", true);
    opts->filter_node_name = qmp_arg_str(args, "filter-node-name", NULL);
    return true;
}

static JsonNode *qmp_blockdev_mirror(JsonObject *args, Error **errp)
{
    const char *job_id = qmp_arg_str(args, "job-id", NULL);
    BlockDriverState *bs, *target;
    MirrorOptions opts;

    bs = lookup_node(qmp_arg_str(args, "device", NULL), errp);
    if (!bs) {
        return NULL;
    }
    target = lookup_node(qmp_arg_str(args, "target", NULL), errp);
    if (!target || !mirror_check(args, bs, &opts, errp)) {
        return NULL;
    }
    if (bs == target) {
        error_setg(errp, "Can't mirror node into itself");
        return NULL;
    }
    if (!job_id) {
        /* Node sources have no device name to stand in for the id. */
        error_setg(errp, "Invalid job ID ''");
        return NULL;
    }
    if (!mirror_start(job_id, bs, target, &opts, errp)) {
        return NULL;
    }
    return qmp_return_empty();
}

/* job-* */

static JsonNode *qmp_job_pause(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_user_pause(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_job_resume(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_user_resume(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_job_cancel(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_user_cancel(job, true, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_job_complete(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_complete(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_job_finalize(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_ref(job);
    job_finalize(job, &err);
    job_unref(job);
    return verb_reply(err, errp);
}

static JsonNode *qmp_job_dismiss(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_dismiss(&job, &err);
    return verb_reply(err, errp);
}

/* block-job-* */

static JsonNode *qmp_block_job_set_speed(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "device", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_set_speed(job, qmp_arg_int(args, "speed", 0), &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_cancel(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "device", errp);
    bool force = qmp_arg_bool(args, "force", false);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    if (job->user_paused && !force) {
        error_setg(errp, "The block job for device '%s' is currently paused",
                   job->id);
        return NULL;
    }
    job_user_cancel(job, force, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_pause(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "device", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_user_pause(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_resume(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "device", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_user_resume(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_complete(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "device", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_complete(job, &err);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_finalize(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "id", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_ref(job);
    job_finalize(job, &err);
    job_unref(job);
    return verb_reply(err, errp);
}

static JsonNode *qmp_block_job_dismiss(JsonObject *args, Error **errp)
{
    Job *job = find_block_job(args, "id", errp);
    Error *err = NULL;

    if (!job) {
        return NULL;
    }
    job_dismiss(&job, &err);
    return verb_reply(err, errp);
}

/* Queries */

static JsonNode *query_jobs(bool block_only)
{
    g_autoptr(GList) jobs = job_list();
    JsonArray *list = json_array_new();
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);

    for (GList *l = g_list_last(jobs); l; l = l->prev) {
        Job *job = l->data;

        if (!job->id || (block_only && !job->driver->is_block_job)) {
            continue;
        }
        json_array_add_object_element(list, block_only ?
                                      block_job_query(job) :
                                      job_query(job));
    }
    json_node_take_array(n, list);
    return n;
}

static JsonNode *qmp_query_jobs(JsonObject *args, Error **errp)
{
    return query_jobs(false);
}

static JsonNode *qmp_query_block_jobs(JsonObject *args, Error **errp)
{
    return query_jobs(true);
}

static JsonNode *qmp_x_query_mirror_stats(JsonObject *args, Error **errp)
{
    Job *job = find_job(args, errp);
    MirrorStats st;
    JsonObject *o;
    JsonNode *n;

    if (!job) {
        return NULL;
    }
    if (!mirror_get_stats(job, &st)) {
        error_setg(errp, "Job '%s' is not a mirror job", job->id);
        return NULL;
    }
    o = json_object_new();
    json_object_set_int_member(o, "copy-ops", st.copy_ops);
    json_object_set_int_member(o, "copy-bytes", st.copy_bytes);
    json_object_set_int_member(o, "zero-ops", st.zero_ops);
    json_object_set_int_member(o, "zero-bytes", st.zero_bytes);
    json_object_set_int_member(o, "zero-ops-skipped", st.zero_ops_skipped);
    json_object_set_int_member(o, "zero-bytes-skipped",
                               st.zero_bytes_skipped);
    json_object_set_int_member(o, "discard-ops", st.discard_ops);
    json_object_set_int_member(o, "prezero-bytes", st.prezero_bytes);
    json_object_set_int_member(o, "active-writes", st.active_writes);
    n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static const QmpArg blockdev_mirror_args[] = {
    { "job-id", QMP_ARG_STR, true },
    { "device", QMP_ARG_STR },
    { "target", QMP_ARG_STR },
    { "replaces", QMP_ARG_STR, true },
    { "sync", QMP_ARG_ENUM, false, sync_values },
    { "speed", QMP_ARG_INT, true },
    { "granularity", QMP_ARG_UINT32, true },
    { "buf-size", QMP_ARG_INT, true },
    { "on-source-error", QMP_ARG_ENUM, true, on_error_values },
    { "on-target-error", QMP_ARG_ENUM, true, on_error_values },
    { "filter-node-name", QMP_ARG_STR, true },
    { "copy-mode", QMP_ARG_ENUM, true, copy_mode_values },
    { "auto-finalize", QMP_ARG_BOOL, true },
    { "auto-dismiss", QMP_ARG_BOOL, true },
    { "target-is-zero", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

static const QmpArg job_id_args[] = {
    { "id", QMP_ARG_STR },
    QMP_ARG_END
};

static const QmpArg block_job_device_args[] = {
    { "device", QMP_ARG_STR },
    QMP_ARG_END
};

static const QmpArg block_job_cancel_args[] = {
    { "device", QMP_ARG_STR },
    { "force", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

static const QmpArg block_job_set_speed_args[] = {
    { "device", QMP_ARG_STR },
    { "speed", QMP_ARG_INT },
    QMP_ARG_END
};

const QmpCommand qmp_job_commands[] = {
    { "blockdev-mirror", qmp_blockdev_mirror, blockdev_mirror_args },
    { "job-pause", qmp_job_pause, job_id_args },
    { "job-resume", qmp_job_resume, job_id_args },
    { "job-cancel", qmp_job_cancel, job_id_args },
    { "job-complete", qmp_job_complete, job_id_args },
    { "job-finalize", qmp_job_finalize, job_id_args },
    { "job-dismiss", qmp_job_dismiss, job_id_args },
    { "block-job-set-speed", qmp_block_job_set_speed,
      block_job_set_speed_args },
    { "block-job-cancel", qmp_block_job_cancel, block_job_cancel_args },
    { "block-job-pause", qmp_block_job_pause, block_job_device_args },
    { "block-job-resume", qmp_block_job_resume, block_job_device_args },
    { "block-job-complete", qmp_block_job_complete, block_job_device_args },
    { "block-job-finalize", qmp_block_job_finalize, job_id_args },
    { "block-job-dismiss", qmp_block_job_dismiss, job_id_args },
    { "query-jobs", qmp_query_jobs },
    { "query-block-jobs", qmp_query_block_jobs },
    { "x-query-mirror-stats", qmp_x_query_mirror_stats, job_id_args },
    { NULL }
};
