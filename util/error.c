/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Error objects: a class, a message and where it was raised.
 */
#include "util/osdep.h"
#include "util/error.h"

struct Error {
    ErrorClass err_class;
    char *msg;
    const char *src;
    int line;
};

/* A sentinel: its address is what callers pass; it never holds an error. */
Error *error_abort;

static char *progname;

static void error_install(Error **errp, ErrorClass cls, const char *src,
                          int line, char *msg)
{
    Error *err;

    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error in %s:%d: %s\n", src, line, msg);
        abort();
    }
    if (!errp) {
        g_free(msg);
        return;
    }
    assert(*errp == NULL);
    err = g_new0(Error, 1);
    err->err_class = cls;
    err->msg = msg;
    err->src = src;
    err->line = line;
    *errp = err;
}

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_install(errp, ERROR_CLASS_GENERIC_ERROR, src, line,
                  g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               int os_errno, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (os_errno) {
        char *full = g_strdup_printf("%s: %s", msg, g_strerror(os_errno));
        g_free(msg);
        msg = full;
    }
    error_install(errp, ERROR_CLASS_GENERIC_ERROR, src, line, msg);
}

void error_set(Error **errp, ErrorClass err_class, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_install(errp, err_class, "?", 0, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    if (dst_errp == &error_abort) {
        fprintf(stderr, "Unexpected error in %s:%d: %s\n", local_err->src,
                local_err->line, local_err->msg);
        abort();
    }
    if (!dst_errp || *dst_errp) {
        error_free(local_err);
        return;
    }
    *dst_errp = local_err;
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    va_list ap;
    char *prefix, *msg;

    if (!errp || !*errp || errp == &error_abort) {
        return;
    }
    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free(prefix);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

ErrorClass error_get_class(const Error *err)
{
    return err->err_class;
}

Error *error_copy(const Error *err)
{
    Error *copy = g_new0(Error, 1);

    *copy = *err;
    copy->msg = g_strdup(err->msg);
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

void error_set_progname(const char *name)
{
    g_free(progname);
    progname = g_strdup(name);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    if (progname) {
        fprintf(stderr, "%s: ", progname);
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    error_free(err);
}
