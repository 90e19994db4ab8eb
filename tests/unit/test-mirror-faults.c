/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Cancelling a mirror that an I/O error stopped (on-target-error=stop)
 * or that the user paused: as in QEMU, the cancel ends the pause, so the
 * concluded job no longer reports itself paused, nor its io-status
 * failed.  (Regression: the pause count and io-status used to survive
 * the cancel.)  The daemon-level fault matrix is tests/qmp/
 * test-mirror-faults.py.
 */
#include "mirror-test-util.h"

static void check_concluded_unpaused(Job *job)
{
    g_autoptr(JsonObject) info = block_job_query(job);

    g_assert_cmpint(job->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_false(job->user_paused);
    g_assert_cmpint(job->pause_count, ==, 0);
    g_assert_cmpint(job->iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_false(json_object_get_boolean_member(info, "paused"));
    g_assert_cmpstr(json_object_get_string_member(info, "io-status"), ==,
                    "ok");
    g_assert_cmpstr(json_object_get_string_member(info, "error"), ==,
                    "Operation canceled");
}

/* @opaque: the errno the target fails with (the user pauses if 0). */
static void test_cancel_paused(gconstpointer opaque)
{
    int err_no = GPOINTER_TO_INT(opaque);
    BlockDriverState *src, *dst, *fdst;
    MirrorOptions opts;
    Job *job, *held;
    guint from;

    setup_pair("mfc", &src, &dst);
    fdst = open_fail_filter("fdst", "dst");
    mirror_options_init(&opts);
    opts.on_target_error = BLOCKDEV_ON_ERROR_STOP;
    opts.auto_dismiss = false;
    opts.speed = err_no ? 0 : 1 * MiB;   /* a user pause finds it running */
    inject.write_errno = err_no;
    inject.writes_failed = 0;
    from = events->len;
    job = mirror_start("job0", src, fdst, &opts, &error_abort);
    job_ref(job);
    if (err_no) {
        wait_for_status(job, JOB_STATUS_PAUSED);
        g_assert_cmpint(inject.writes_failed, >, 0);
        g_assert_cmpint(job->iostatus, ==, err_no == ENOSPC ?
                        BLOCK_DEVICE_IO_STATUS_NOSPACE :
                        BLOCK_DEVICE_IO_STATUS_FAILED);
    } else {
        job_user_pause(job, &error_abort);
        wait_for_status(job, JOB_STATUS_PAUSED);
    }
    g_assert_true(job->user_paused);

    job_user_cancel(job, true, &error_abort);
    g_assert_false(job->user_paused);
    g_assert_cmpint(job->iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    wait_for_end(job);
    check_concluded_unpaused(job);
    g_assert_nonnull(find_event("BLOCK_JOB_CANCELLED", &from));
    g_assert_null(find_event("BLOCK_JOB_COMPLETED", &from));
    held = job;
    job_dismiss(&job, &error_abort);
    g_assert_null(job);
    job_unref(held);
    inject.write_errno = 0;
    bdrv_unref(fdst);
    teardown_pair("mfc", src, dst);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    mirror_test_init("emblock-mirror-faults-XXXXXX");
    g_test_add_data_func("/mirror-faults/cancel-stopped/eio",
                         GINT_TO_POINTER(EIO), test_cancel_paused);
    g_test_add_data_func("/mirror-faults/cancel-stopped/enospc",
                         GINT_TO_POINTER(ENOSPC), test_cancel_paused);
    g_test_add_data_func("/mirror-faults/cancel-user-paused",
                         GINT_TO_POINTER(0), test_cancel_paused);
    ret = g_test_run();
    mirror_test_cleanup();
    return ret;
}
