/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Error reporting for control-path functions (open, create, QMP ...).
 *
 * Rules, as in QEMU's include/qapi/error.h:
 * - `Error **errp` is the last parameter.  Callers may pass NULL (ignore the
 *   error), &error_abort (abort on error) or the address of a NULL Error *.
 * - On success *errp is left untouched.  On failure exactly one error is set,
 *   and the function also says so through its return value (negative errno,
 *   false or NULL) so callers need not look at *errp.
 * - Setting an error on an errp that already holds one is a bug (asserted).
 */
#ifndef EMBLOCK_UTIL_ERROR_H
#define EMBLOCK_UTIL_ERROR_H

#include "util/osdep.h"

typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
} ErrorClass;

typedef struct Error Error;

/* Pass as errp to abort the process on any error (for "cannot fail" calls). */
extern Error *error_abort;

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               int os_errno, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

/* Set a generic error with a printf-style message. */
#define error_setg(errp, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __VA_ARGS__)
/* Same, appending ": strerror(os_errno)" (os_errno is positive). */
#define error_setg_errno(errp, os_errno, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, (os_errno), \
                              __VA_ARGS__)

/* Set an error with an explicit class (QMP reports the class). */
void error_set(Error **errp, ErrorClass err_class, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Move local_err into dst_errp (or free it when dst_errp is NULL). */
void error_propagate(Error **dst_errp, Error *local_err);
/* Prepend a printf-style prefix to an already set *errp (no-op if NULL). */
void error_prepend(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

const char *error_get_pretty(const Error *err);
ErrorClass error_get_class(const Error *err);
Error *error_copy(const Error *err);
void error_free(Error *err);

/*
 * Print "PROGNAME: message" to stderr.  The program name comes from
 * error_set_progname() (default: none, just the message).
 */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void error_report_err(Error *err);   /* reports and frees */
void error_set_progname(const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

#endif /* EMBLOCK_UTIL_ERROR_H */
