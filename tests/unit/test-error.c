/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the Error API (util/error.c): message formatting, errno
 * suffixes, propagation, prefixes, NULL errp and error classes.
 */
#include "util/osdep.h"
#include "util/error.h"

/* A failing control-path function in the usual style: -errno plus *errp. */
static int fail_with(Error **errp, int os_errno, const char *what)
{
    error_setg_errno(errp, os_errno, "Could not open '%s'", what);
    return -os_errno;
}

static void test_setg(void)
{
    Error *err = NULL;

    error_setg(&err, "value %d is out of range [%d, %d]", 42, 0, 10);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "value 42 is out of range [0, 10]");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    error_free(err);
}

static void test_setg_errno(void)
{
    Error *err = NULL;
    g_autofree char *expect = g_strdup_printf("Could not open 'disk.img': %s",
                                              g_strerror(ENOENT));

    g_assert_cmpint(fail_with(&err, ENOENT, "disk.img"), ==, -ENOENT);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, expect);
    error_free(err);

    /* os_errno 0 adds no suffix. */
    err = NULL;
    error_setg_errno(&err, 0, "plain");
    g_assert_cmpstr(error_get_pretty(err), ==, "plain");
    error_free(err);
}

static void test_null_errp(void)
{
    /* Ignoring errors must neither crash nor leak (checked by LSan). */
    error_setg(NULL, "ignored %s", "message");
    error_setg_errno(NULL, EIO, "ignored");
    error_set(NULL, ERROR_CLASS_DEVICE_NOT_FOUND, "ignored");
    g_assert_cmpint(fail_with(NULL, EACCES, "x"), ==, -EACCES);
    error_prepend(NULL, "prefix: ");
    error_free(NULL);
}

static void test_propagate(void)
{
    Error *local_err = NULL;
    Error *err = NULL;
    Error *first = NULL;

    /* Nothing to propagate leaves the destination untouched. */
    error_propagate(&err, NULL);
    g_assert_null(err);

    error_setg(&local_err, "inner failure");
    error_propagate(&err, local_err);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "inner failure");

    /* A second error does not overwrite the first: it is freed instead. */
    first = err;
    local_err = NULL;
    error_setg(&local_err, "second failure");
    error_propagate(&err, local_err);
    g_assert_true(err == first);
    g_assert_cmpstr(error_get_pretty(err), ==, "inner failure");
    error_free(err);

    /* Propagating into NULL frees the error. */
    local_err = NULL;
    error_setg(&local_err, "dropped");
    error_propagate(NULL, local_err);
}

static void test_prepend(void)
{
    Error *err = NULL;

    /* No error set: nothing happens. */
    error_prepend(&err, "ignored: ");
    g_assert_null(err);

    error_setg(&err, "permission denied");
    error_prepend(&err, "Could not open '%s': ", "a.qcow2");
    error_prepend(&err, "node %d: ", 3);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "node 3: Could not open 'a.qcow2': permission denied");
    error_free(err);
}

static void test_class_and_copy(void)
{
    Error *err = NULL;
    Error *copy;

    error_set(&err, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
              "drive0");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_FOUND);
    g_assert_cmpstr(error_get_pretty(err), ==, "Device 'drive0' not found");

    copy = error_copy(err);
    g_assert_true(copy != err);
    g_assert_true(error_get_pretty(copy) != error_get_pretty(err));
    g_assert_cmpstr(error_get_pretty(copy), ==, error_get_pretty(err));
    g_assert_cmpint(error_get_class(copy), ==, ERROR_CLASS_DEVICE_NOT_FOUND);
    error_free(err);
    /* The copy outlives the original. */
    g_assert_cmpstr(error_get_pretty(copy), ==, "Device 'drive0' not found");
    error_free(copy);
}

static void test_autoptr(void)
{
    g_autoptr(Error) err = NULL;

    error_setg(&err, "freed at scope exit");
    g_assert_nonnull(err);
}

/* error_abort and the double-set assertion abort: check in a subprocess. */
static void test_abort(void)
{
    if (g_test_subprocess()) {
        error_setg(&error_abort, "fatal %d", 7);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Unexpected error in *fatal 7*");
}

static void test_report(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        error_set_progname("emblock-test");
        error_report("plain %s", "report");
        error_setg(&err, "reported error");
        error_report_err(err);
        error_set_progname(NULL);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("emblock-test: plain report\n"
                              "emblock-test: reported error\n");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/setg", test_setg);
    g_test_add_func("/error/setg-errno", test_setg_errno);
    g_test_add_func("/error/null-errp", test_null_errp);
    g_test_add_func("/error/propagate", test_propagate);
    g_test_add_func("/error/prepend", test_prepend);
    g_test_add_func("/error/class-and-copy", test_class_and_copy);
    g_test_add_func("/error/autoptr", test_autoptr);
    g_test_add_func("/error/abort", test_abort);
    g_test_add_func("/error/report", test_report);
    return g_test_run();
}
