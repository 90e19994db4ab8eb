/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Jobs: long-running background operations (mirror, image creation) with
 * QEMU's state machine, verbs, progress and events.
 *
 * States and the moves between them follow QEMU's job.c table; an illegal
 * move is a programming error (asserted).  Every real change of a job with
 * an id emits JOB_STATUS_CHANGE.  A job runs in a coroutine in the main
 * AioContext; all functions here are main-loop functions unless marked
 * coroutine_fn (those are for the job's own coroutine).
 *
 * Events go to listeners registered with job_add_event_listener() (the
 * QMP server), as an event name and a JsonObject of data.
 */
#ifndef EMBLOCK_BLOCK_JOB_H
#define EMBLOCK_BLOCK_JOB_H

#include "block/block-common.h"
#include "block/options.h"
#include "util/coroutine-lock.h"

typedef enum JobStatus {
    JOB_STATUS_UNDEFINED,
    JOB_STATUS_CREATED,
    JOB_STATUS_RUNNING,
    JOB_STATUS_PAUSED,
    JOB_STATUS_READY,
    JOB_STATUS_STANDBY,
    JOB_STATUS_WAITING,
    JOB_STATUS_PENDING,
    JOB_STATUS_ABORTING,
    JOB_STATUS_CONCLUDED,
    JOB_STATUS_NULL,
    JOB_STATUS__MAX,
} JobStatus;

typedef enum JobVerb {
    JOB_VERB_CANCEL,
    JOB_VERB_PAUSE,
    JOB_VERB_RESUME,
    JOB_VERB_SET_SPEED,
    JOB_VERB_COMPLETE,
    JOB_VERB_FINALIZE,
    JOB_VERB_DISMISS,
    JOB_VERB__MAX,
} JobVerb;

/* on-source-error / on-target-error */
typedef enum BlockdevOnError {
    BLOCKDEV_ON_ERROR_REPORT,
    BLOCKDEV_ON_ERROR_IGNORE,
    BLOCKDEV_ON_ERROR_ENOSPC,
    BLOCKDEV_ON_ERROR_STOP,
    BLOCKDEV_ON_ERROR__MAX,
} BlockdevOnError;

typedef enum BlockErrorAction {
    BLOCK_ERROR_ACTION_REPORT,
    BLOCK_ERROR_ACTION_IGNORE,
    BLOCK_ERROR_ACTION_STOP,
} BlockErrorAction;

typedef enum BlockDeviceIoStatus {
    BLOCK_DEVICE_IO_STATUS_OK,
    BLOCK_DEVICE_IO_STATUS_FAILED,
    BLOCK_DEVICE_IO_STATUS_NOSPACE,
} BlockDeviceIoStatus;

extern const char *const job_status_names[JOB_STATUS__MAX];
extern const char *const job_verb_names[JOB_VERB__MAX];
extern const char *const blockdev_on_error_names[];

typedef struct Job Job;
typedef struct JobDriver JobDriver;

/* What a kind of job implements.  Only run is required. */
struct JobDriver {
    size_t instance_size;       /* the driver's struct, embedding Job first */
    const char *type_name;      /* "mirror", "create" */
    /* The job's work; 0 on success, -errno (and @errp) on failure. */
    int coroutine_fn (*run)(Job *job, Error **errp);
    /* At a pause point, before the job goes to sleep / after it wakes. */
    void coroutine_fn (*pause)(Job *job);
    void coroutine_fn (*resume)(Job *job);
    /* The user asked to complete a ready job (job-complete). */
    void (*complete)(Job *job, Error **errp);
    /*
     * A cancel request.  Return true to accept a soft (non-force) cancel
     * (the job then finishes successfully without its final action).
     */
    bool (*cancel)(Job *job, bool force);
    /* Finalisation: prepare (may fail), then commit or abort, then clean. */
    int (*prepare)(Job *job);
    void (*commit)(Job *job);
    void (*abort)(Job *job);
    void (*clean)(Job *job);
    /* Extra fields for query-block-jobs and events (may be NULL). */
    void (*query)(Job *job, JsonObject *info);
    /* Whether this is a block job (emits BLOCK_JOB_* events). */
    bool is_block_job;
};

struct Job {
    char *id;                   /* NULL for internal jobs (no events) */
    const JobDriver *driver;
    int refcnt;
    JobStatus status;
    Coroutine *co;

    int pause_count;            /* > 0: pause at the next pause point */
    bool user_paused;
    bool paused;                /* parked at a pause point */
    bool busy;                  /* false while sleeping/yielded for events */
    bool cancelled;
    bool force_cancel;
    bool auto_finalize;
    bool auto_dismiss;
    bool ready_reached;         /* went through READY once */
    bool deferred;              /* run() returned; completion scheduled */

    int ret;
    Error *err;

    int64_t progress_current;
    int64_t progress_total;

    /* Block-job fields (see blockjob.c). */
    int64_t speed;              /* bytes/s, 0 = unlimited */
    int64_t rate_slice_start;   /* ns */
    int64_t rate_slice_bytes;
    BlockDeviceIoStatus iostatus;

    QemuCoSleep sleep;
};

typedef void JobEventListener(const char *event, JsonObject *data,
                              void *opaque);

void job_add_event_listener(JobEventListener *cb, void *opaque);
void job_remove_event_listener(JobEventListener *cb, void *opaque);
/* Emit an event to every listener (data is not consumed). */
void job_event_emit(const char *event, JsonObject *data);

/*
 * Create a job in state CREATED.  @id may be NULL for internal jobs; else
 * it must be a valid, unused id ("Invalid job ID '...'",
 * "Job ID '...' already in use").
 */
Job *job_create(const char *id, const JobDriver *driver, bool auto_finalize,
                bool auto_dismiss, Error **errp);
void job_ref(Job *job);
void job_unref(Job *job);
/* Start the job coroutine (CREATED → RUNNING). */
void job_start(Job *job);

Job *job_get(const char *id);
/* Every job (a new list). */
GList *job_list(void);
bool job_is_completed(Job *job);
bool job_is_ready(Job *job);
bool job_is_cancelled(Job *job);

/* Check that @verb is allowed in the job's state (QEMU's message). */
int job_apply_verb(Job *job, JobVerb verb, Error **errp);

/* Verbs, as QMP calls them. */
void job_user_pause(Job *job, Error **errp);
void job_user_resume(Job *job, Error **errp);
void job_user_cancel(Job *job, bool force, Error **errp);
void job_complete(Job *job, Error **errp);
void job_finalize(Job *job, Error **errp);
void job_dismiss(Job **job, Error **errp);
void job_set_speed(Job *job, int64_t speed, Error **errp);
/*
 * Cancel and wait until the job has concluded, then dismiss it (as QEMU
 * does when cancelling a concluded job): for shutdown and quit.
 */
void job_cancel_sync(Job *job, bool force);
void job_cancel_sync_all(void);

/* For the job's coroutine. */
void coroutine_fn job_pause_point(Job *job);
/* Sleep @ns (or until job_enter()); also a pause point. */
void coroutine_fn job_sleep_ns(Job *job, int64_t ns);
/* Yield until job_enter(); not a pause point. */
void coroutine_fn job_yield(Job *job);
/* Wake a job that sleeps or yields (not one that is paused). */
void job_enter(Job *job);
/* RUNNING → READY, with the BLOCK_JOB_READY event. */
void job_transition_to_ready(Job *job);

void job_progress_update(Job *job, int64_t done);
void job_progress_set_remaining(Job *job, int64_t remaining);
void job_progress_increase_remaining(Job *job, int64_t delta);

/* Rate limiting: how long to sleep after @n bytes (0: go on). */
int64_t job_ratelimit_delay(Job *job, int64_t n);

/*
 * An I/O error in a block job: decide the action from @on_err, emit
 * BLOCK_JOB_ERROR, and pause the job (user pause) for STOP.
 */
BlockErrorAction block_job_error_action(Job *job, BlockdevOnError on_err,
                                        bool is_read, int error);

/* query-jobs / query-block-jobs entries (new objects). */
JsonObject *job_query(Job *job);
JsonObject *block_job_query(Job *job);

#endif /* EMBLOCK_BLOCK_JOB_H */
