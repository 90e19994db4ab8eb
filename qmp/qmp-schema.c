/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Checking QMP arguments against small per-command schemas.
 *
 * QEMU generates its argument checks from the QAPI schema; we describe
 * each command's arguments with a QmpArg table and check them the way
 * QEMU's strict input visitor does, with its messages:
 *
 *   - members are visited in schema order: a required one that is absent
 *     gives "Parameter 'X' is missing", one of the wrong JSON type
 *     "Invalid parameter type for 'X', expected: TYPE" (string, integer,
 *     boolean, object, array, BlockdevRef) -- except unsigned integers,
 *     which QEMU reports as "Parameter 'X' expects uint64" (or uint32_t
 *     when out of that range);
 *   - an enum value that is not a member gives "Parameter 'X' does not
 *     accept value 'V'";
 *   - after all known members, the first unknown one gives "Parameter 'X'
 *     is unexpected";
 *   - null is a value like any other: it is not "absent".
 *
 * Nested dicts are checked with their members' names prefixed by the
 * dict's ("cache.direct", "options.size").
 *
 * blockdev-add's options are a union on "driver": the common members
 * first, then those of the driver.  The per-driver tables below describe
 * the options emblock's drivers take, typed as QEMU types them.
 */
#include "qmp/qmp.h"

#include <math.h>
#include "block/block.h"

/*
 * Set while checking options that came as dotted keys: scalars are all
 * strings there (the block layer parses them), so only their presence
 * and dict structure can be checked.
 */
static bool keyval_mode;

/* Value access */

static bool node_is_int(JsonNode *n)
{
    return JSON_NODE_HOLDS_VALUE(n) &&
           json_node_get_value_type(n) == G_TYPE_INT64;
}

static bool node_is_type(JsonNode *n, GType type)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

const char *qmp_arg_str(JsonObject *args, const char *name,
                        const char *def)
{
    JsonNode *n = json_object_get_member(args, name);

    return n && node_is_type(n, G_TYPE_STRING) ? json_node_get_string(n)
                                               : def;
}

int64_t qmp_arg_int(JsonObject *args, const char *name, int64_t def)
{
    JsonNode *n = json_object_get_member(args, name);

    return n && node_is_int(n) ? json_node_get_int(n) : def;
}

bool qmp_arg_bool(JsonObject *args, const char *name, bool def)
{
    JsonNode *n = json_object_get_member(args, name);

    return n && node_is_type(n, G_TYPE_BOOLEAN) ? json_node_get_boolean(n)
                                                : def;
}

int qmp_arg_enum(JsonObject *args, const char *name,
                 const char *const *values, int def)
{
    const char *s = qmp_arg_str(args, name, NULL);

    for (int i = 0; s && values[i]; i++) {
        if (!strcmp(values[i], s)) {
            return i;
        }
    }
    return def;
}

/* Checking */

static bool enum_has(const char *const *values, const char *s)
{
    for (int i = 0; values[i]; i++) {
        if (!strcmp(values[i], s)) {
            return true;
        }
    }
    return false;
}

static bool check_enum_list(JsonNode *n, const QmpArg *a, const char *full,
                            Error **errp)
{
    JsonArray *arr;

    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: array",
                   full);
        return false;
    }
    arr = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        /* QEMU 7.2 names list elements 'null' in these messages. */
        if (!node_is_type(e, G_TYPE_STRING)) {
            error_setg(errp, "Invalid parameter type for 'null', "
                       "expected: string");
            return false;
        }
        if (!enum_has(a->values, json_node_get_string(e))) {
            error_setg(errp, "Parameter 'null' does not accept value '%s'",
                       json_node_get_string(e));
            return false;
        }
    }
    return true;
}

static bool check_uint(JsonNode *n, const QmpArg *a, const char *full,
                       Error **errp)
{
    uint64_t v;

    if (node_is_type(n, G_TYPE_DOUBLE) && a->type == QMP_ARG_UINT32) {
        /*
         * An integer literal above INT64_MAX reaches us as a double
         * (json-glib has no uint64); QEMU reads it as a uint64, which
         * is out of a uint32's range all the same.
         */
        double d = json_node_get_double(n);

        if (d >= 0x1p63 && d < 0x1p64 && d == floor(d)) {
            error_setg(errp, "Parameter '%s' expects uint32_t", full);
            return false;
        }
    }
    if (!node_is_int(n)) {
        error_setg(errp, "Parameter '%s' expects uint64", full);
        return false;
    }
    v = json_node_get_int(n);           /* negatives wrap, as in QEMU */
    if (a->type == QMP_ARG_UINT32 && v > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects uint32_t", full);
        return false;
    }
    return true;
}

static bool check_blockdev_ref(JsonNode *n, const QmpArg *a,
                               const char *full, Error **errp)
{
    g_autofree char *prefix = NULL;

    if (node_is_type(n, G_TYPE_STRING)) {
        return true;
    }
    if (a->type == QMP_ARG_BLOCKDEV_REF_OR_NULL && JSON_NODE_HOLDS_NULL(n)) {
        return true;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   full, a->type == QMP_ARG_BLOCKDEV_REF ? "BlockdevRef" :
                   "BlockdevRefOrNull");
        return false;
    }
    prefix = g_strconcat(full, ".", NULL);
    return qmp_check_blockdev_options(json_node_get_object(n), prefix,
                                      keyval_mode, errp);
}

static bool check_value(JsonNode *n, const QmpArg *a, const char *full,
                        Error **errp)
{
    const char *expected = NULL;

    if (keyval_mode && node_is_type(n, G_TYPE_STRING) &&
        (a->type == QMP_ARG_INT || a->type == QMP_ARG_UINT64 ||
         a->type == QMP_ARG_UINT32 || a->type == QMP_ARG_BOOL)) {
        return true;
    }
    switch (a->type) {
    case QMP_ARG_STR:
        expected = node_is_type(n, G_TYPE_STRING) ? NULL : "string";
        break;
    case QMP_ARG_INT:
        expected = node_is_int(n) ? NULL : "integer";
        break;
    case QMP_ARG_UINT64:
    case QMP_ARG_UINT32:
        return check_uint(n, a, full, errp);
    case QMP_ARG_BOOL:
        expected = node_is_type(n, G_TYPE_BOOLEAN) ? NULL : "boolean";
        break;
    case QMP_ARG_ENUM:
        if (!node_is_type(n, G_TYPE_STRING)) {
            expected = "string";
        } else if (!enum_has(a->values, json_node_get_string(n))) {
            /* QEMU names the member alone here, without its path. */
            error_setg(errp, "Parameter '%s' does not accept value '%s'",
                       a->name, json_node_get_string(n));
            return false;
        }
        break;
    case QMP_ARG_ENUM_LIST:
        return check_enum_list(n, a, full, errp);
    case QMP_ARG_OBJECT:
        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            expected = "object";
        } else if (a->members) {
            g_autofree char *prefix = g_strconcat(full, ".", NULL);

            return qmp_check_args(json_node_get_object(n), a->members,
                                  prefix, errp);
        }
        break;
    case QMP_ARG_BLOCKDEV_REF:
    case QMP_ARG_BLOCKDEV_REF_OR_NULL:
        return check_blockdev_ref(n, a, full, errp);
    case QMP_ARG_ANY:
        break;
    }
    if (expected) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   full, expected);
        return false;
    }
    return true;
}

static const QmpArg *schema_find(const QmpArg *schema, const char *name)
{
    for (const QmpArg *a = schema; a && a->name; a++) {
        if (!strcmp(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

/* Type checks of the members @schema knows, in schema order. */
static bool check_known(JsonObject *args, const QmpArg *schema,
                        const char *prefix, Error **errp)
{
    for (const QmpArg *a = schema; a && a->name; a++) {
        g_autofree char *full = g_strconcat(prefix ? prefix : "", a->name,
                                            NULL);
        JsonNode *n = json_object_get_member(args, a->name);

        if (!n) {
            if (!a->optional) {
                error_setg(errp, "Parameter '%s' is missing", full);
                return false;
            }
            continue;
        }
        if (!check_value(n, a, full, errp)) {
            return false;
        }
    }
    return true;
}

/* The first member none of @schemas (NULL-terminated) knows. */
static bool check_unknown(JsonObject *args, const QmpArg *const *schemas,
                          const char *prefix, Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(args);

    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        bool known = false;

        for (int i = 0; schemas[i] && !known; i++) {
            known = schema_find(schemas[i], name) != NULL;
        }
        if (!known) {
            error_setg(errp, "Parameter '%s%s' is unexpected",
                       prefix ? prefix : "", name);
            return false;
        }
    }
    return true;
}

bool qmp_check_args(JsonObject *args, const QmpArg *schema,
                    const char *prefix, Error **errp)
{
    const QmpArg *const schemas[] = { schema, NULL };

    return check_known(args, schema, prefix, errp) &&
           check_unknown(args, schemas, prefix, errp);
}

/* blockdev-add options (BlockdevOptions) */

static const char *const discard_values[] = {
    "ignore", "unmap", "off", "on", NULL,
};
static const char *const detect_zeroes_values[] = {
    "off", "on", "unmap", NULL,
};
static const char *const aio_values[] = {
    "threads", "native", "io_uring", NULL,
};
static const char *const on_off_auto_values[] = {
    "auto", "on", "off", NULL,
};

static const QmpArg cache_members[] = {
    { "direct", QMP_ARG_BOOL, true },
    { "no-flush", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

/* BlockdevOptionsBase, after "driver". */
static const QmpArg blockdev_common[] = {
    { "node-name", QMP_ARG_STR, true },
    { "discard", QMP_ARG_ENUM, true, discard_values },
    { "cache", QMP_ARG_OBJECT, true, NULL, cache_members },
    { "read-only", QMP_ARG_BOOL, true },
    { "auto-read-only", QMP_ARG_BOOL, true },
    { "force-share", QMP_ARG_BOOL, true },
    { "detect-zeroes", QMP_ARG_ENUM, true, detect_zeroes_values },
    QMP_ARG_END
};

static const QmpArg blockdev_file[] = {
    { "filename", QMP_ARG_STR },
    { "locking", QMP_ARG_ENUM, true, on_off_auto_values },
    { "aio", QMP_ARG_ENUM, true, aio_values },
    QMP_ARG_END
};

static const QmpArg blockdev_raw[] = {
    { "file", QMP_ARG_BLOCKDEV_REF },
    { "offset", QMP_ARG_INT, true },
    { "size", QMP_ARG_INT, true },
    QMP_ARG_END
};

static const QmpArg blockdev_null[] = {
    { "size", QMP_ARG_INT, true },
    { "latency-ns", QMP_ARG_UINT64, true },
    { "read-zeroes", QMP_ARG_BOOL, true },
    QMP_ARG_END
};

static const QmpArg blockdev_qcow2[] = {
    { "file", QMP_ARG_BLOCKDEV_REF },
    { "backing", QMP_ARG_BLOCKDEV_REF_OR_NULL, true },
    { "lazy-refcounts", QMP_ARG_BOOL, true },
    { "pass-discard-request", QMP_ARG_BOOL, true },
    { "pass-discard-snapshot", QMP_ARG_BOOL, true },
    { "pass-discard-other", QMP_ARG_BOOL, true },
    { "overlap-check", QMP_ARG_ANY, true },
    { "cache-size", QMP_ARG_INT, true },
    { "l2-cache-size", QMP_ARG_INT, true },
    { "l2-cache-entry-size", QMP_ARG_INT, true },
    { "refcount-cache-size", QMP_ARG_INT, true },
    { "cache-clean-interval", QMP_ARG_INT, true },
    QMP_ARG_END
};

static const QmpArg blockdev_blkdebug[] = {
    { "image", QMP_ARG_BLOCKDEV_REF },
    { "config", QMP_ARG_STR, true },
    { "align", QMP_ARG_INT, true },
    { "max-transfer", QMP_ARG_INT, true },
    { "opt-write-zero", QMP_ARG_INT, true },
    { "max-write-zero", QMP_ARG_INT, true },
    { "opt-discard", QMP_ARG_INT, true },
    { "max-discard", QMP_ARG_INT, true },
    { "inject-error", QMP_ARG_ANY, true },
    { "set-state", QMP_ARG_ANY, true },
    QMP_ARG_END
};

static const struct {
    const char *driver;
    const QmpArg *members;
} blockdev_drivers[] = {
    { "file", blockdev_file },
    { "raw", blockdev_raw },
    { "null-co", blockdev_null },
    { "qcow2", blockdev_qcow2 },
    { "blkdebug", blockdev_blkdebug },
};

static bool check_blockdev_options(JsonObject *opts, const char *prefix,
                                   Error **errp)
{
    static const QmpArg driver_arg[] = {
        { "driver", QMP_ARG_STR },
        QMP_ARG_END
    };
    const char *const *names = bdrv_driver_names();
    const QmpArg *members = NULL;
    const char *driver;

    if (!check_known(opts, driver_arg, prefix, errp)) {
        return false;
    }
    driver = qmp_arg_str(opts, "driver", NULL);
    if (!g_strv_contains(names, driver)) {
        error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                   driver);
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(blockdev_drivers); i++) {
        if (!strcmp(blockdev_drivers[i].driver, driver)) {
            members = blockdev_drivers[i].members;
        }
    }
    if (!check_known(opts, blockdev_common, prefix, errp)) {
        return false;
    }
    if (members) {
        const QmpArg *const schemas[] = {
            driver_arg, blockdev_common, members, NULL,
        };

        return check_known(opts, members, prefix, errp) &&
               check_unknown(opts, schemas, prefix, errp);
    }
    /* A driver without a table: the block layer checks the rest. */
    return true;
}

bool qmp_check_blockdev_options(JsonObject *opts, const char *prefix,
                                bool keyval, Error **errp)
{
    bool saved = keyval_mode;
    bool ok;

    keyval_mode = keyval;
    ok = check_blockdev_options(opts, prefix, errp);
    keyval_mode = saved;
    return ok;
}
