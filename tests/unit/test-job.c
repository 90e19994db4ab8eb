/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The generic job (job/job.c) with a toy driver: QEMU's verb table, the
 * life cycle and the order of driver callbacks and events on success,
 * failure, prepare failure and cancel (also before the start), pause
 * points, soft and force cancel, internal jobs, job ids, rate limiting.
 * Every wait has a deadline.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/job.h"

#include <json-glib/json-glib.h>

#define TIMEOUT_NS (30 * 1000000000LL)

static QEMUTimer *watchdog;
static GPtrArray *events;       /* "EVENT" or "JOB_STATUS_CHANGE:status" */
static GPtrArray *event_errors; /* BLOCK_JOB_COMPLETED "error" or "" */

static void record_event(const char *event, JsonObject *data, void *opaque)
{
    if (!strcmp(event, "JOB_STATUS_CHANGE")) {
        g_ptr_array_add(events, g_strdup_printf("%s:%s", event,
                        json_object_get_string_member(data, "status")));
        return;
    }
    g_ptr_array_add(events, g_strdup(event));
    if (!strcmp(event, "BLOCK_JOB_COMPLETED")) {
        g_ptr_array_add(event_errors, g_strdup(
            json_object_has_member(data, "error") ?
            json_object_get_string_member(data, "error") : ""));
    }
}

static void check_events(guint from, const char *expected)
{
    g_autoptr(GString) got = g_string_new(NULL);

    for (guint i = from; i < events->len; i++) {
        g_string_append_printf(got, "%s%s", i > from ? " " : "",
                               (char *)events->pdata[i]);
    }
    g_assert_cmpstr(got->str, ==, expected);
}

static void watchdog_cb(void *opaque)
{
}

#define WAIT_UNTIL(cond)                                                  \
    do {                                                                  \
        int64_t deadline_ = get_clock_ns() + TIMEOUT_NS;                  \
        while (!(cond)) {                                                 \
            if (get_clock_ns() >= deadline_) {                            \
                g_error("%s:%d: timed out waiting for %s", __FILE__,      \
                        __LINE__, #cond);                                 \
            }                                                             \
            timer_mod_ns(watchdog, qemu_clock_get_ns() + 20000000LL);     \
            aio_poll(qemu_get_aio_context(), true);                       \
        }                                                                 \
    } while (0)

static void poll_for_ms(int ms)
{
    int64_t end = get_clock_ns() + ms * 1000000LL;

    while (get_clock_ns() < end) {
        timer_mod_ns(watchdog, qemu_clock_get_ns() + 5000000LL);
        aio_poll(qemu_get_aio_context(), true);
    }
}

static bool job_ended(Job *job)
{
    return job->status == JOB_STATUS_CONCLUDED ||
           job->status == JOB_STATUS_NULL;
}

/* The toy job */

typedef struct ToyJob {
    Job common;
    int iterations;             /* run: stop after this many (or ready) */
    int ready_at;               /* go READY at this iteration (-1: never) */
    int run_ret;                /* returned by run */
    const char *run_err;        /* and this error, if not NULL */
    int prepare_ret;
    bool accept_soft_cancel;
    bool complete_requested;
    int done;                   /* iterations done */
    int pauses, resumes;
    GString *calls;             /* callback order */
} ToyJob;

static int coroutine_fn toy_run(Job *job, Error **errp)
{
    ToyJob *t = container_of(job, ToyJob, common);

    g_string_append(t->calls, "run ");
    while (!job_is_cancelled(job)) {
        if (t->done == t->ready_at) {
            job_transition_to_ready(job);
        }
        if (t->complete_requested ||
            (job->cancelled && job_is_ready(job))) {
            break;
        }
        if (t->ready_at < 0 && t->done >= t->iterations) {
            break;
        }
        job_progress_set_remaining(job, 1000);
        job_progress_update(job, 1);
        t->done++;
        job_sleep_ns(job, 1000000);
    }
    if (t->run_err) {
        error_setg(errp, "%s", t->run_err);
    }
    return t->run_ret;
}

static void coroutine_fn toy_pause(Job *job)
{
    container_of(job, ToyJob, common)->pauses++;
}

static void coroutine_fn toy_resume(Job *job)
{
    container_of(job, ToyJob, common)->resumes++;
}

static void toy_complete(Job *job, Error **errp)
{
    container_of(job, ToyJob, common)->complete_requested = true;
    job_enter(job);
}

static bool toy_cancel(Job *job, bool force)
{
    return container_of(job, ToyJob, common)->accept_soft_cancel;
}

static int toy_prepare(Job *job)
{
    ToyJob *t = container_of(job, ToyJob, common);

    g_string_append(t->calls, "prepare ");
    return t->prepare_ret;
}

static void toy_commit(Job *job)
{
    g_string_append(container_of(job, ToyJob, common)->calls, "commit ");
}

static void toy_abort(Job *job)
{
    g_string_append(container_of(job, ToyJob, common)->calls, "abort ");
}

static void toy_clean(Job *job)
{
    g_string_append(container_of(job, ToyJob, common)->calls, "clean");
}

static const JobDriver toy_driver = {
    .instance_size = sizeof(ToyJob),
    .type_name = "toy",
    .is_block_job = true,
    .run = toy_run,
    .pause = toy_pause,
    .resume = toy_resume,
    .complete = toy_complete,
    .cancel = toy_cancel,
    .prepare = toy_prepare,
    .commit = toy_commit,
    .abort = toy_abort,
    .clean = toy_clean,
};

/* A referenced toy job (the caller drops it with toy_free). */
static ToyJob *toy_new(const char *id, bool auto_finalize, bool auto_dismiss)
{
    ToyJob *t = (ToyJob *)job_create(id, &toy_driver, auto_finalize,
                                     auto_dismiss, &error_abort);

    t->iterations = 5;
    t->ready_at = -1;
    t->calls = g_string_new(NULL);
    job_ref(&t->common);
    return t;
}

static void toy_free(ToyJob *t)
{
    g_string_free(t->calls, TRUE);
    job_unref(&t->common);
}

/* Tests */

static void test_verb_table(void)
{
    /* QEMU's JobVerbTable (job.c, since 6.1): U C R P Y S W D X E N */
    static const char *const allowed[JOB_VERB__MAX] = {
        [JOB_VERB_CANCEL]    = "01111111000",
        [JOB_VERB_PAUSE]     = "01111100000",
        [JOB_VERB_RESUME]    = "01111100000",
        [JOB_VERB_SET_SPEED] = "01111100000",
        [JOB_VERB_COMPLETE]  = "00001100000",
        [JOB_VERB_FINALIZE]  = "00000001000",
        [JOB_VERB_DISMISS]   = "00000000010",
    };
    ToyJob *t = toy_new("verbs", true, true);
    Job *job = &t->common;

    for (int v = 0; v < JOB_VERB__MAX; v++) {
        for (int s = 0; s < JOB_STATUS__MAX; s++) {
            Error *err = NULL;
            int ret;

            job->status = s;
            ret = job_apply_verb(job, v, &err);
            if (allowed[v][s] == '1') {
                g_assert_cmpint(ret, ==, 0);
                g_assert_null(err);
            } else {
                g_autofree char *msg = g_strdup_printf(
                    "Job 'verbs' in state '%s' cannot accept command verb "
                    "'%s'", job_status_names[s], job_verb_names[v]);

                g_assert_cmpint(ret, <, 0);
                g_assert_cmpstr(error_get_pretty(err), ==, msg);
                error_free(err);
            }
        }
    }
    job->status = JOB_STATUS_CREATED;
    job_user_cancel(job, true, &error_abort);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    toy_free(t);
}

static void test_success(gconstpointer opaque)
{
    bool manual = GPOINTER_TO_INT(opaque);
    ToyJob *t = toy_new("toy0", !manual, !manual);
    Job *job = &t->common;
    guint first = events->len - 1;      /* "created" came with job_create */
    Job *jp = job;

    job_start(job);
    WAIT_UNTIL(job_ended(job) || job->status == JOB_STATUS_PENDING);
    if (manual) {
        g_assert_cmpint(job->status, ==, JOB_STATUS_PENDING);
        g_assert_cmpstr(t->calls->str, ==, "run ");
        job_finalize(job, &error_abort);
        g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
        job_dismiss(&jp, &error_abort);
        g_assert_null(jp);
    }
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    g_assert_cmpint(job->ret, ==, 0);
    g_assert_cmpstr(t->calls->str, ==, "run prepare commit clean");
    g_assert_cmpint(job->progress_current, ==, 5);
    check_events(first, manual ?
                 "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                 "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                 "BLOCK_JOB_PENDING BLOCK_JOB_COMPLETED "
                 "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null" :
                 "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                 "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                 "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded "
                 "JOB_STATUS_CHANGE:null");
    g_assert_cmpstr(event_errors->pdata[event_errors->len - 1], ==, "");
    toy_free(t);
}

typedef struct FailCase {
    int run_ret;
    const char *run_err;
    int prepare_ret;
    const char *calls;
    const char *error;
} FailCase;

static const FailCase fail_cases[] = {
    /* QEMU: job->err from job->ret's strerror when run set none. */
    { -EIO, NULL, 0, "run abort clean", "Input/output error" },
    { -EINVAL, "Custom failure", 0, "run abort clean", "Custom failure" },
    { 0, NULL, -EPERM, "run prepare abort clean",
      "Operation not permitted" },
};

static void test_failure(gconstpointer opaque)
{
    const FailCase *c = opaque;
    ToyJob *t = toy_new("toy0", true, false);
    Job *job = &t->common;
    JsonObject *info;
    guint first;

    t->run_ret = c->run_ret;
    t->run_err = c->run_err;
    t->prepare_ret = c->prepare_ret;
    first = events->len;
    job_start(job);
    WAIT_UNTIL(job_ended(job));
    g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_cmpint(job->ret, <, 0);
    g_assert_cmpstr(t->calls->str, ==, c->calls);
    g_assert_cmpstr(event_errors->pdata[event_errors->len - 1], ==,
                    c->error);
    check_events(first, c->prepare_ret ?
                 "JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:waiting "
                 "JOB_STATUS_CHANGE:pending JOB_STATUS_CHANGE:aborting "
                 "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded" :
                 "JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:aborting "
                 "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded");
    info = job_query(job);
    g_assert_cmpstr(json_object_get_string_member(info, "error"), ==,
                    c->error);
    json_object_unref(info);
    job_dismiss(&job, &error_abort);
    g_assert_cmpint(t->common.status, ==, JOB_STATUS_NULL);
    toy_free(t);
}

static void test_cancel_created(void)
{
    ToyJob *t = toy_new("toy0", true, true);
    Job *job = &t->common;
    guint first = events->len;

    job_user_cancel(job, false, &error_abort);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    g_assert_false(g_str_has_prefix(t->calls->str, "run"));
    check_events(first, "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED "
                 "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    toy_free(t);
}

/* A soft cancel before READY, or one the driver refuses, is forced. */
static void test_cancel_running(gconstpointer opaque)
{
    bool accept = GPOINTER_TO_INT(opaque);
    ToyJob *t = toy_new("toy0", true, true);
    Job *job = &t->common;
    guint first;

    t->ready_at = 3;
    t->accept_soft_cancel = accept;
    job_start(job);
    WAIT_UNTIL(t->done >= 1);
    g_assert_cmpint(job->status, ==, JOB_STATUS_RUNNING);
    first = events->len;
    job_user_cancel(job, false, &error_abort);
    WAIT_UNTIL(job_ended(job));
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    check_events(first, "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED "
                 "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    g_assert_cmpstr(t->calls->str, ==, "run abort clean");
    toy_free(t);

    /* READY: a soft cancel the driver accepts completes normally. */
    t = toy_new("toy1", true, true);
    job = &t->common;
    t->ready_at = 1;
    t->accept_soft_cancel = accept;
    job_start(job);
    WAIT_UNTIL(job->status == JOB_STATUS_READY);
    first = events->len;
    job_user_cancel(job, false, &error_abort);
    WAIT_UNTIL(job_ended(job));
    if (accept) {
        g_assert_cmpint(job->ret, ==, 0);
        g_assert_cmpstr(t->calls->str, ==,
                        "run prepare commit clean");
        check_events(first, "JOB_STATUS_CHANGE:waiting "
                     "JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                     "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    } else {
        g_assert_cmpint(job->ret, ==, -ECANCELED);
        g_assert_cmpstr(t->calls->str, ==,
                        "run abort clean");
        check_events(first, "JOB_STATUS_CHANGE:aborting "
                     "BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded "
                     "JOB_STATUS_CHANGE:null");
    }
    toy_free(t);
}

static void test_pause_resume(void)
{
    ToyJob *t = toy_new("toy0", true, true);
    Job *job = &t->common;
    Error *err = NULL;
    int done;
    guint first;

    t->ready_at = 1000000;              /* runs until completed */
    job_start(job);
    WAIT_UNTIL(t->done >= 2);
    first = events->len;
    job_user_pause(job, &error_abort);
    WAIT_UNTIL(job->status == JOB_STATUS_PAUSED);
    g_assert_cmpint(t->pauses, ==, 1);
    g_assert_true(job->paused);
    done = t->done;
    poll_for_ms(30);
    g_assert_cmpint(t->done, ==, done);
    /* The job is parked: waking it does not run it. */
    job_enter(job);
    poll_for_ms(10);
    g_assert_cmpint(t->done, ==, done);
    job_user_pause(job, &err);
    g_assert_cmpstr(error_get_pretty(err), ==, "Job is already paused");
    error_free(err);
    job_user_resume(job, &error_abort);
    WAIT_UNTIL(t->done > done);
    g_assert_cmpint(t->resumes, ==, 1);
    g_assert_cmpint(job->status, ==, JOB_STATUS_RUNNING);
    check_events(first, "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running");

    /* Paused jobs can be cancelled. */
    job_user_pause(job, &error_abort);
    WAIT_UNTIL(job->status == JOB_STATUS_PAUSED);
    job_user_cancel(job, true, &error_abort);
    WAIT_UNTIL(job_ended(job));
    g_assert_cmpint(job->ret, ==, -ECANCELED);
    toy_free(t);
}

static void test_internal_job(void)
{
    ToyJob *t = toy_new(NULL, false, false);
    Job *job = &t->common;
    guint first = events->len;

    job_start(job);
    WAIT_UNTIL(job_ended(job) || job->status == JOB_STATUS_PENDING);
    job_finalize(job, &error_abort);
    /* No events, and dismissed at once without an id. */
    g_assert_cmpuint(events->len, ==, first);
    g_assert_cmpint(job->status, ==, JOB_STATUS_NULL);
    toy_free(t);
}

static void test_job_ids(void)
{
    static const char *const bad[] = { "", "1a", "a b", "a/b", "-x" };
    g_autofree char *longid = g_strnfill(128, 'a');
    ToyJob *t = toy_new("a-1._b", true, true);
    Error *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *msg = g_strdup_printf("Invalid job ID '%s'", bad[i]);

        g_assert_null(job_create(bad[i], &toy_driver, true, true, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, msg);
        error_free(err);
        err = NULL;
    }
    g_assert_null(job_create(longid, &toy_driver, true, true, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_null(job_create("a-1._b", &toy_driver, true, true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Job ID 'a-1._b' already in use");
    error_free(err);
    g_assert_true(job_get("a-1._b") == &t->common);
    job_user_cancel(&t->common, true, &error_abort);
    g_assert_null(job_get("a-1._b"));
    toy_free(t);
}

static void test_cancel_sync_all(void)
{
    ToyJob *a = toy_new("a", true, true);
    ToyJob *b = toy_new("b", false, false);

    a->ready_at = 1000000;
    b->ready_at = 2;
    job_start(&a->common);
    job_start(&b->common);
    WAIT_UNTIL(b->common.status == JOB_STATUS_READY);
    job_user_pause(&a->common, &error_abort);
    job_cancel_sync_all();
    /*
     * As QEMU's (quit): every job ends and leaves the list, also one with
     * auto-dismiss=false (cancelling a concluded job dismisses it).
     */
    g_assert_cmpint(a->common.status, ==, JOB_STATUS_NULL);
    g_assert_cmpint(b->common.status, ==, JOB_STATUS_NULL);
    g_assert_cmpint(a->common.ret, ==, -ECANCELED);
    g_assert_cmpint(b->common.ret, ==, -ECANCELED);
    g_assert_null(job_get("a"));
    g_assert_null(job_get("b"));
    toy_free(a);
    toy_free(b);
}

static void test_speed(void)
{
    ToyJob *t = toy_new("toy0", true, true);
    Job *job = &t->common;
    Error *err = NULL;
    int64_t d;

    job_set_speed(job, -1, &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'speed' expects a non-negative value");
    error_free(err);
    /* Unlimited: never a delay. */
    g_assert_cmpint(job_ratelimit_delay(job, 1 << 30), ==, 0);
    job_set_speed(job, 10 * 1000 * 1000, &error_abort);   /* 1 MB a slice */
    g_assert_cmpint(job_ratelimit_delay(job, 500 * 1000), ==, 0);
    d = job_ratelimit_delay(job, 2 * 1000 * 1000);
    /* 2.5 slices worth of bytes: wait until the third slice. */
    g_assert_cmpint(d, >, 100 * 1000 * 1000);
    g_assert_cmpint(d, <=, 200 * 1000 * 1000);
    job_user_cancel(job, true, &error_abort);
    toy_free(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    events = g_ptr_array_new_with_free_func(g_free);
    event_errors = g_ptr_array_new_with_free_func(g_free);
    watchdog = aio_timer_new(qemu_get_aio_context(), watchdog_cb, NULL);
    job_add_event_listener(record_event, NULL);

    g_test_add_func("/job/verb-table", test_verb_table);
    g_test_add_data_func("/job/success/auto", GINT_TO_POINTER(false),
                         test_success);
    g_test_add_data_func("/job/success/manual", GINT_TO_POINTER(true),
                         test_success);
    g_test_add_data_func("/job/failure/errno", &fail_cases[0], test_failure);
    g_test_add_data_func("/job/failure/error", &fail_cases[1], test_failure);
    g_test_add_data_func("/job/failure/prepare", &fail_cases[2],
                         test_failure);
    g_test_add_func("/job/cancel/created", test_cancel_created);
    g_test_add_data_func("/job/cancel/soft-accepted", GINT_TO_POINTER(true),
                         test_cancel_running);
    g_test_add_data_func("/job/cancel/soft-refused", GINT_TO_POINTER(false),
                         test_cancel_running);
    g_test_add_func("/job/cancel/sync-all", test_cancel_sync_all);
    g_test_add_func("/job/pause-resume", test_pause_resume);
    g_test_add_func("/job/internal", test_internal_job);
    g_test_add_func("/job/ids", test_job_ids);
    g_test_add_func("/job/speed", test_speed);

    ret = g_test_run();

    job_remove_event_listener(record_event, NULL);
    timer_free(watchdog);
    g_ptr_array_free(events, TRUE);
    g_ptr_array_free(event_errors, TRUE);
    return ret;
}
