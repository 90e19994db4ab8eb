/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The generic job: state machine, verbs, pause points, completion and
 * events.
 *
 * Life of a job: job_create() (CREATED, pause_count 1) → job_start() runs
 * driver->run() in a coroutine (RUNNING) → run() returns → a main-loop BH
 * finishes the job: on success WAITING → PENDING → (finalize: prepare,
 * commit, clean) → BLOCK_JOB_COMPLETED → CONCLUDED → NULL (with
 * auto-dismiss); on failure or force-cancel ABORTING → abort, clean →
 * BLOCK_JOB_CANCELLED or BLOCK_JOB_COMPLETED with an error → CONCLUDED →
 * NULL.  A reference is held by the job list until NULL.
 *
 * Wake-ups: a running job that sleeps (job_sleep_ns) or yields (job_yield)
 * has busy == false and is resumed by job_enter(); a paused job (parked at
 * a pause point) is resumed only when pause_count drops to 0 or it is
 * cancelled.
 */
#include "util/osdep.h"
#include "block/job.h"
#include "util/aio.h"

#include <json-glib/json-glib.h>

const char *const job_status_names[JOB_STATUS__MAX] = {
    "undefined", "created", "running", "paused", "ready", "standby",
    "waiting", "pending", "aborting", "concluded", "null",
};

const char *const job_verb_names[JOB_VERB__MAX] = {
    "cancel", "pause", "resume", "set-speed", "complete", "finalize",
    "dismiss",
};

const char *const blockdev_on_error_names[] = {
    "report", "ignore", "enospc", "stop", NULL,
};

/* Allowed transitions: [from][to]. */
static const bool job_transitions[JOB_STATUS__MAX][JOB_STATUS__MAX] = {
    [JOB_STATUS_UNDEFINED] = { [JOB_STATUS_CREATED] = true },
    [JOB_STATUS_CREATED] = { [JOB_STATUS_RUNNING] = true,
                             [JOB_STATUS_ABORTING] = true,
                             [JOB_STATUS_NULL] = true },
    [JOB_STATUS_RUNNING] = { [JOB_STATUS_PAUSED] = true,
                             [JOB_STATUS_READY] = true,
                             [JOB_STATUS_WAITING] = true,
                             [JOB_STATUS_ABORTING] = true },
    [JOB_STATUS_PAUSED] = { [JOB_STATUS_RUNNING] = true },
    [JOB_STATUS_READY] = { [JOB_STATUS_STANDBY] = true,
                           [JOB_STATUS_WAITING] = true,
                           [JOB_STATUS_ABORTING] = true },
    [JOB_STATUS_STANDBY] = { [JOB_STATUS_READY] = true },
    [JOB_STATUS_WAITING] = { [JOB_STATUS_PENDING] = true,
                             [JOB_STATUS_ABORTING] = true },
    [JOB_STATUS_PENDING] = { [JOB_STATUS_ABORTING] = true,
                             [JOB_STATUS_CONCLUDED] = true },
    [JOB_STATUS_ABORTING] = { [JOB_STATUS_ABORTING] = true,
                              [JOB_STATUS_CONCLUDED] = true },
    [JOB_STATUS_CONCLUDED] = { [JOB_STATUS_NULL] = true },
};

/* States that accept each verb: [verb][state]. */
static const bool job_verbs[JOB_VERB__MAX][JOB_STATUS__MAX] = {
#define ACTIVE_STATES [JOB_STATUS_CREATED] = true, \
    [JOB_STATUS_RUNNING] = true, [JOB_STATUS_PAUSED] = true, \
    [JOB_STATUS_READY] = true, [JOB_STATUS_STANDBY] = true
    [JOB_VERB_CANCEL] = { ACTIVE_STATES, [JOB_STATUS_WAITING] = true,
                          [JOB_STATUS_PENDING] = true },
    [JOB_VERB_PAUSE] = { ACTIVE_STATES },
    [JOB_VERB_RESUME] = { ACTIVE_STATES },
    [JOB_VERB_SET_SPEED] = { ACTIVE_STATES },
    [JOB_VERB_COMPLETE] = { [JOB_STATUS_READY] = true,
                            [JOB_STATUS_STANDBY] = true },
    [JOB_VERB_FINALIZE] = { [JOB_STATUS_PENDING] = true },
    [JOB_VERB_DISMISS] = { [JOB_STATUS_CONCLUDED] = true },
#undef ACTIVE_STATES
};

typedef struct Listener {
    JobEventListener *cb;
    void *opaque;
} Listener;

static GList *jobs;
static GList *listeners;

/* Events */

void job_add_event_listener(JobEventListener *cb, void *opaque)
{
    Listener *l = g_new(Listener, 1);

    l->cb = cb;
    l->opaque = opaque;
    listeners = g_list_append(listeners, l);
}

void job_remove_event_listener(JobEventListener *cb, void *opaque)
{
    for (GList *l = listeners; l; l = l->next) {
        Listener *li = l->data;

        if (li->cb == cb && li->opaque == opaque) {
            listeners = g_list_delete_link(listeners, l);
            g_free(li);
            return;
        }
    }
}

void job_event_emit(const char *event, JsonObject *data)
{
    for (GList *l = listeners; l; l = l->next) {
        Listener *li = l->data;

        li->cb(event, data, li->opaque);
    }
}

/* {type, device, len, offset, speed} of block-job events. */
static JsonObject *block_job_event_data(Job *job)
{
    JsonObject *d = json_object_new();

    json_object_set_string_member(d, "device", job->id);
    json_object_set_int_member(d, "len", job->progress_total);
    json_object_set_int_member(d, "offset", job->progress_current);
    json_object_set_int_member(d, "speed", job->speed);
    json_object_set_string_member(d, "type", job->driver->type_name);
    return d;
}

static void job_emit_block_event(Job *job, const char *event,
                                 const char *error)
{
    JsonObject *d;

    if (!job->id || !job->driver->is_block_job) {
        return;
    }
    d = block_job_event_data(job);
    if (error) {
        json_object_set_string_member(d, "error", error);
    }
    job_event_emit(event, d);
    json_object_unref(d);
}

static void job_state_transition(Job *job, JobStatus s1)
{
    JobStatus s0 = job->status;

    assert(job_transitions[s0][s1]);
    job->status = s1;
    if (job->id && s0 != s1) {
        JsonObject *d = json_object_new();

        json_object_set_string_member(d, "status", job_status_names[s1]);
        json_object_set_string_member(d, "id", job->id);
        job_event_emit("JOB_STATUS_CHANGE", d);
        json_object_unref(d);
    }
}

int job_apply_verb(Job *job, JobVerb verb, Error **errp)
{
    if (job_verbs[verb][job->status]) {
        return 0;
    }
    error_setg(errp, "Job '%s' in state '%s' cannot accept command verb "
               "'%s'", job->id ? job->id : "", job_status_names[job->status],
               job_verb_names[verb]);
    return -EPERM;
}

/* Creation and lookup */

static bool job_id_valid(const char *id)
{
    if (!*id || !g_ascii_isalpha(*id)) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return strlen(id) < 128;
}

Job *job_get(const char *id)
{
    for (GList *l = jobs; l; l = l->next) {
        Job *job = l->data;

        if (job->id && !strcmp(job->id, id)) {
            return job;
        }
    }
    return NULL;
}

GList *job_list(void)
{
    return g_list_copy(jobs);
}

Job *job_create(const char *id, const JobDriver *driver, bool auto_finalize,
                bool auto_dismiss, Error **errp)
{
    Job *job;

    if (id) {
        if (!job_id_valid(id)) {
            error_setg(errp, "Invalid job ID '%s'", id);
            return NULL;
        }
        if (job_get(id)) {
            error_setg(errp, "Job ID '%s' already in use", id);
            return NULL;
        }
    }
    assert(driver->instance_size >= sizeof(Job));
    job = g_malloc0(driver->instance_size);
    job->id = g_strdup(id);
    job->driver = driver;
    job->refcnt = 1;
    job->pause_count = 1;
    job->busy = false;
    job->auto_finalize = auto_finalize;
    job->auto_dismiss = auto_dismiss;
    jobs = g_list_append(jobs, job);
    job_state_transition(job, JOB_STATUS_CREATED);
    return job;
}

void job_ref(Job *job)
{
    job->refcnt++;
}

void job_unref(Job *job)
{
    assert(job->refcnt > 0);
    if (--job->refcnt > 0) {
        return;
    }
    assert(job->status == JOB_STATUS_NULL || job->status ==
           JOB_STATUS_CREATED);
    error_free(job->err);
    g_free(job->id);
    g_free(job);
}

bool job_is_completed(Job *job)
{
    return job->status == JOB_STATUS_CONCLUDED ||
           job->status == JOB_STATUS_NULL ||
           job->status == JOB_STATUS_ABORTING;
}

bool job_is_ready(Job *job)
{
    return job->status == JOB_STATUS_READY ||
           job->status == JOB_STATUS_STANDBY;
}

bool job_is_cancelled(Job *job)
{
    /* A soft cancel of a ready job lets it finish normally. */
    return job->cancelled && job->force_cancel;
}

/* Completion (main loop) */

/* Leave the job list (state NULL) and drop the list's reference. */
static void job_do_dismiss(Job *job)
{
    job_state_transition(job, JOB_STATUS_NULL);
    jobs = g_list_remove(jobs, job);
    job_unref(job);
}

static void job_conclude(Job *job)
{
    job_state_transition(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss || !job->id) {
        job_do_dismiss(job);
    }
}

static void job_finish_failure(Job *job)
{
    const char *msg;

    job_state_transition(job, JOB_STATUS_ABORTING);
    if (!job->err) {
        job->err = NULL;
        error_setg(&job->err, "%s", g_strerror(-job->ret));
    }
    if (job->driver->abort) {
        job->driver->abort(job);
    }
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    msg = error_get_pretty(job->err);
    if (job->cancelled && job->force_cancel && job->ret == -ECANCELED) {
        job_emit_block_event(job, "BLOCK_JOB_CANCELLED", NULL);
    } else {
        job_emit_block_event(job, "BLOCK_JOB_COMPLETED", msg);
    }
    job_conclude(job);
}

static void job_do_finalize(Job *job)
{
    int ret = job->driver->prepare ? job->driver->prepare(job) : 0;

    if (ret < 0) {
        job->ret = ret;
        job_finish_failure(job);
        return;
    }
    if (job->driver->commit) {
        job->driver->commit(job);
    }
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    job_emit_block_event(job, "BLOCK_JOB_COMPLETED", NULL);
    job_conclude(job);
}

static void job_exit_bh(void *opaque)
{
    Job *job = opaque;

    if (job->ret == 0 && job_is_cancelled(job)) {
        job->ret = -ECANCELED;
    }
    if (job->ret < 0) {
        job_finish_failure(job);
    } else {
        job_state_transition(job, JOB_STATUS_WAITING);
        job_state_transition(job, JOB_STATUS_PENDING);
        if (job->auto_finalize) {
            job_do_finalize(job);
        } else if (job->id && job->driver->is_block_job) {
            JsonObject *d = json_object_new();

            json_object_set_string_member(d, "type", job->driver->type_name);
            json_object_set_string_member(d, "id", job->id);
            job_event_emit("BLOCK_JOB_PENDING", d);
            json_object_unref(d);
        }
    }
    job_unref(job);
}

static void coroutine_fn job_co_entry(void *opaque)
{
    Job *job = opaque;
    Error *err = NULL;

    job_pause_point(job);
    job->ret = job->driver->run(job, &err);
    if (err) {
        job->err = err;
    }
    job->deferred = true;
    job->busy = false;
    aio_bh_schedule_oneshot(qemu_get_aio_context(), job_exit_bh, job);
}

void job_start(Job *job)
{
    assert(job->status == JOB_STATUS_CREATED);
    job_ref(job);          /* dropped by job_exit_bh */
    job->co = qemu_coroutine_create(job_co_entry, job);
    job->pause_count--;
    job->busy = true;
    job_state_transition(job, JOB_STATUS_RUNNING);
    aio_co_enter(qemu_get_aio_context(), job->co);
}

/* The job's coroutine */

void job_enter(Job *job)
{
    if (job->busy || job->deferred || job->paused || !job->co) {
        return;
    }
    job->busy = true;
    if (job->sleep.to_wake) {
        qemu_co_sleep_wake(&job->sleep);
    } else {
        aio_co_wake(job->co);
    }
}

void coroutine_fn job_pause_point(Job *job)
{
    JobStatus status;

    if (job->pause_count == 0 || job_is_cancelled(job)) {
        return;
    }
    if (job->driver->pause) {
        job->driver->pause(job);
    }
    status = job->status;
    job_state_transition(job, status == JOB_STATUS_READY ?
                         JOB_STATUS_STANDBY : JOB_STATUS_PAUSED);
    job->paused = true;
    job->busy = false;
    while (job->pause_count > 0 && !job_is_cancelled(job)) {
        qemu_coroutine_yield();
    }
    job->paused = false;
    job->busy = true;
    job_state_transition(job, status);
    if (job->driver->resume) {
        job->driver->resume(job);
    }
}

void coroutine_fn job_sleep_ns(Job *job, int64_t ns)
{
    if (!job_is_cancelled(job) && job->pause_count == 0) {
        job->busy = false;
        qemu_co_sleep_ns_wakeable(&job->sleep, ns);
        job->busy = true;
    }
    job_pause_point(job);
}

void coroutine_fn job_yield(Job *job)
{
    if (job_is_cancelled(job)) {
        return;
    }
    job->busy = false;
    qemu_coroutine_yield();
    job->busy = true;
}

/* Wake a paused job whose pause ended or that got cancelled. */
static void job_wake_paused(Job *job)
{
    if (job->paused && (job->pause_count == 0 || job_is_cancelled(job))) {
        aio_co_wake(job->co);
    }
}

void job_transition_to_ready(Job *job)
{
    job_state_transition(job, JOB_STATUS_READY);
    job->ready_reached = true;
    job_emit_block_event(job, "BLOCK_JOB_READY", NULL);
}

/* Verbs */

void job_user_pause(Job *job, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_PAUSE, errp) < 0) {
        return;
    }
    if (job->user_paused) {
        error_setg(errp, "Job is already paused");
        return;
    }
    job->user_paused = true;
    job->pause_count++;
    job_enter(job);
}

void job_user_resume(Job *job, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_RESUME, errp) < 0) {
        return;
    }
    if (!job->user_paused) {
        error_setg(errp, "Can't resume a job that was not paused");
        return;
    }
    job->user_paused = false;
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    job->pause_count--;
    job_wake_paused(job);
}

void job_user_cancel(Job *job, bool force, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_CANCEL, errp) < 0) {
        return;
    }
    /*
     * As QEMU: a cancel ends a user pause (or a stop on an I/O error), so
     * the job runs to its end and no longer reports itself paused or
     * failed in query-block-jobs.
     */
    if (job->user_paused) {
        job->user_paused = false;
        job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
        assert(job->pause_count > 0);
        job->pause_count--;
    }
    if (job->status == JOB_STATUS_CREATED) {
        /* Never started: conclude right away. */
        job->cancelled = job->force_cancel = true;
        job->ret = -ECANCELED;
        job_finish_failure(job);
        return;
    }
    if (job->status == JOB_STATUS_PENDING ||
        job->status == JOB_STATUS_WAITING) {
        job->cancelled = job->force_cancel = true;
        job->ret = -ECANCELED;
        job_finish_failure(job);
        return;
    }
    if (!force && job_is_ready(job) && job->driver->cancel &&
        job->driver->cancel(job, false)) {
        job->cancelled = true;
    } else {
        if (job->driver->cancel) {
            job->driver->cancel(job, true);
        }
        job->cancelled = job->force_cancel = true;
    }
    job_wake_paused(job);
    job_enter(job);
}

void job_complete(Job *job, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_COMPLETE, errp) < 0) {
        return;
    }
    if (job->cancelled || !job->driver->complete) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id ? job->id : "");
        return;
    }
    job->driver->complete(job, errp);
}

void job_finalize(Job *job, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_FINALIZE, errp) < 0) {
        return;
    }
    job_do_finalize(job);
}

void job_dismiss(Job **jobptr, Error **errp)
{
    Job *job = *jobptr;

    if (job_apply_verb(job, JOB_VERB_DISMISS, errp) < 0) {
        return;
    }
    *jobptr = NULL;
    job_do_dismiss(job);
}

void job_set_speed(Job *job, int64_t speed, Error **errp)
{
    if (job_apply_verb(job, JOB_VERB_SET_SPEED, errp) < 0) {
        return;
    }
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return;
    }
    job->speed = speed;
    job_enter(job);
}

void job_cancel_sync(Job *job, bool force)
{
    job_ref(job);
    if (!job_is_completed(job) && job->status != JOB_STATUS_PENDING) {
        job_user_cancel(job, force, NULL);
    } else if (job->status == JOB_STATUS_PENDING) {
        job_user_cancel(job, true, NULL);
    }
    AIO_WAIT_WHILE(qemu_get_aio_context(),
                   job->status != JOB_STATUS_CONCLUDED &&
                   job->status != JOB_STATUS_NULL);
    if (job->status == JOB_STATUS_CONCLUDED) {
        /* As QEMU: cancelling a concluded job dismisses it. */
        job_do_dismiss(job);
    }
    job_unref(job);
}

void job_cancel_sync_all(void)
{
    /*
     * The first job each time: cancelling one may end (and free) others,
     * so no snapshot of the list is kept.  Each call leaves its job NULL,
     * out of the list.
     */
    while (jobs) {
        job_cancel_sync(jobs->data, true);
    }
}

/* Progress and rate limiting */

void job_progress_update(Job *job, int64_t done)
{
    job->progress_current += done;
    job->progress_total = MAX(job->progress_total, job->progress_current);
}

void job_progress_set_remaining(Job *job, int64_t remaining)
{
    job->progress_total = job->progress_current + remaining;
}

void job_progress_increase_remaining(Job *job, int64_t delta)
{
    job->progress_total += delta;
}

#define RATE_SLICE_NS (100 * 1000 * 1000LL)

int64_t job_ratelimit_delay(Job *job, int64_t n)
{
    int64_t now = qemu_clock_get_ns();
    int64_t quota;

    if (!job->speed) {
        return 0;
    }
    if (now - job->rate_slice_start >= RATE_SLICE_NS) {
        job->rate_slice_start = now;
        job->rate_slice_bytes = 0;
    }
    job->rate_slice_bytes += n;
    quota = MAX(job->speed * RATE_SLICE_NS / 1000000000LL, 1);
    if (job->rate_slice_bytes <= quota) {
        return 0;
    }
    /* Sleep until the slices this much work is worth have passed. */
    return job->rate_slice_start +
           RATE_SLICE_NS * (job->rate_slice_bytes / quota) - now;
}

/* Errors and queries */

BlockErrorAction block_job_error_action(Job *job, BlockdevOnError on_err,
                                        bool is_read, int error)
{
    BlockErrorAction action;
    static const char *const action_names[] = { "report", "ignore", "stop" };

    switch (on_err) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
        action = error == ENOSPC ? BLOCK_ERROR_ACTION_STOP :
                                   BLOCK_ERROR_ACTION_REPORT;
        break;
    case BLOCKDEV_ON_ERROR_STOP:
        action = BLOCK_ERROR_ACTION_STOP;
        break;
    case BLOCKDEV_ON_ERROR_IGNORE:
        action = BLOCK_ERROR_ACTION_IGNORE;
        break;
    default:
        action = BLOCK_ERROR_ACTION_REPORT;
        break;
    }
    if (job->id) {
        JsonObject *d = json_object_new();

        json_object_set_string_member(d, "device", job->id);
        json_object_set_string_member(d, "operation",
                                      is_read ? "read" : "write");
        json_object_set_string_member(d, "action", action_names[action]);
        job_event_emit("BLOCK_JOB_ERROR", d);
        json_object_unref(d);
    }
    if (action == BLOCK_ERROR_ACTION_STOP) {
        if (!job->user_paused) {
            job->user_paused = true;
            job->pause_count++;
        }
        job->iostatus = error == ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE :
                                          BLOCK_DEVICE_IO_STATUS_FAILED;
    }
    return action;
}

JsonObject *job_query(Job *job)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "id", job->id ? job->id : "");
    json_object_set_string_member(info, "type", job->driver->type_name);
    json_object_set_string_member(info, "status",
                                  job_status_names[job->status]);
    json_object_set_int_member(info, "current-progress",
                               job->progress_current);
    json_object_set_int_member(info, "total-progress", job->progress_total);
    if (job->err && job->status == JOB_STATUS_CONCLUDED) {
        json_object_set_string_member(info, "error",
                                      error_get_pretty(job->err));
    }
    return info;
}

JsonObject *block_job_query(Job *job)
{
    static const char *const iostatus_names[] = { "ok", "failed", "nospace" };
    JsonObject *info = json_object_new();

    json_object_set_boolean_member(info, "auto-finalize", job->auto_finalize);
    json_object_set_boolean_member(info, "auto-dismiss", job->auto_dismiss);
    json_object_set_boolean_member(info, "busy", job->busy);
    json_object_set_string_member(info, "device", job->id ? job->id : "");
    json_object_set_string_member(info, "io-status",
                                  iostatus_names[job->iostatus]);
    json_object_set_int_member(info, "len", job->progress_total);
    json_object_set_int_member(info, "offset", job->progress_current);
    json_object_set_boolean_member(info, "paused", job->pause_count > 0);
    json_object_set_boolean_member(info, "ready", job_is_ready(job));
    json_object_set_int_member(info, "speed", job->speed);
    json_object_set_string_member(info, "status",
                                  job_status_names[job->status]);
    json_object_set_string_member(info, "type", job->driver->type_name);
    if (job->err && job->status == JOB_STATUS_CONCLUDED) {
        json_object_set_string_member(info, "error",
                                      error_get_pretty(job->err));
    }
    if (job->driver->query) {
        job->driver->query(job, info);
    }
    return info;
}
