/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Option dictionaries on json-glib: parsing JSON and dotted key=value
 * strings, and typed getters that accept a value's JSON type or its string
 * spelling.
 */
#include "util/osdep.h"
#include "block/options.h"

#include <json-glib/json-glib.h>

JsonObject *qdict_new(void)
{
    return json_object_new();
}

JsonObject *qdict_ref(JsonObject *d)
{
    return json_object_ref(d);
}

void qdict_unref(JsonObject *d)
{
    if (d) {
        json_object_unref(d);
    }
}

/*
 * A copy of @node sharing nothing with it: json_node_copy() shares
 * objects, arrays and even scalar values, which json_node_set_*() then
 * changes in place.  (A round trip through JSON text would lose strings
 * that are not valid UTF-8, such as file names read from an image.)
 */
static JsonNode *node_deep_copy(JsonNode *node)
{
    JsonNode *copy = json_node_new(json_node_get_node_type(node));

    if (JSON_NODE_HOLDS_OBJECT(node)) {
        json_node_take_object(copy, qdict_clone(json_node_get_object(node)));
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *src = json_node_get_array(node);
        JsonArray *dst = json_array_sized_new(json_array_get_length(src));

        for (guint i = 0; i < json_array_get_length(src); i++) {
            json_array_add_element(dst, node_deep_copy(
                                       json_array_get_element(src, i)));
        }
        json_node_take_array(copy, dst);
    } else if (JSON_NODE_HOLDS_VALUE(node)) {
        g_auto(GValue) val = G_VALUE_INIT;

        json_node_get_value(node, &val);
        json_node_set_value(copy, &val);
    }
    return copy;
}

JsonObject *qdict_clone(JsonObject *d)
{
    JsonObject *ret = json_object_new();
    g_autoptr(GList) members = json_object_get_members(d);

    for (GList *l = members; l; l = l->next) {
        json_object_set_member(ret, l->data, node_deep_copy(
                                   json_object_get_member(d, l->data)));
    }
    return ret;
}

char *qdict_to_json(JsonObject *d)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    char *text;

    json_node_set_object(node, d);
    text = json_to_string(node, FALSE);
    json_node_unref(node);
    return text;
}

bool qdict_haskey(JsonObject *d, const char *key)
{
    return d && json_object_has_member(d, key);
}

void qdict_del(JsonObject *d, const char *key)
{
    if (json_object_has_member(d, key)) {
        json_object_remove_member(d, key);
    }
}

void qdict_put_str(JsonObject *d, const char *key, const char *value)
{
    json_object_set_string_member(d, key, value);
}

void qdict_put_int(JsonObject *d, const char *key, int64_t value)
{
    json_object_set_int_member(d, key, value);
}

void qdict_put_bool(JsonObject *d, const char *key, bool value)
{
    json_object_set_boolean_member(d, key, value);
}

void qdict_put_obj(JsonObject *d, const char *key, JsonObject *value)
{
    json_object_set_object_member(d, key, json_object_ref(value));
}

JsonObject *qdict_get_dict(JsonObject *d, const char *key)
{
    JsonNode *n = d ? json_object_get_member(d, key) : NULL;

    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
        return NULL;
    }
    return json_node_get_object(n);
}

const char *qdict_get_str(JsonObject *d, const char *key)
{
    JsonNode *n = d ? json_object_get_member(d, key) : NULL;

    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

/* The member as a scalar node, or NULL (absent); errors for non-scalars. */
static JsonNode *get_scalar(JsonObject *d, const char *key, const char *what,
                            bool *ok, Error **errp)
{
    JsonNode *n = d ? json_object_get_member(d, key) : NULL;

    *ok = true;
    if (!n) {
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   key, what);
        *ok = false;
        return NULL;
    }
    return n;
}

bool qdict_get_bool_opt(JsonObject *d, const char *key, bool *value,
                        Error **errp)
{
    bool ok;
    JsonNode *n = get_scalar(d, key, "boolean", &ok, errp);
    const char *s;

    if (!n) {
        return ok;
    }
    if (json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
        *value = json_node_get_boolean(n);
        return true;
    }
    s = json_node_get_value_type(n) == G_TYPE_STRING ?
        json_node_get_string(n) : "";
    if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes")) {
        *value = true;
    } else if (!strcmp(s, "off") || !strcmp(s, "false") ||
               !strcmp(s, "no")) {
        *value = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

bool qdict_get_int_opt(JsonObject *d, const char *key, int64_t *value,
                       Error **errp)
{
    bool ok;
    JsonNode *n = get_scalar(d, key, "int", &ok, errp);
    const char *s;
    char *end;
    long long v;

    if (!n) {
        return ok;
    }
    if (json_node_get_value_type(n) == G_TYPE_INT64) {
        *value = json_node_get_int(n);
        return true;
    }
    if (json_node_get_value_type(n) != G_TYPE_STRING) {
        error_setg(errp, "Parameter '%s' expects an integer", key);
        return false;
    }
    s = json_node_get_string(n);
    errno = 0;
    v = strtoll(s, &end, 0);
    if (!*s || *end || errno) {
        error_setg(errp, "Parameter '%s' expects an integer", key);
        return false;
    }
    *value = v;
    return true;
}

bool parse_size(const char *str, uint64_t *value, Error **errp)
{
    static const char suffixes[] = "BKMGTPE";
    char *end;
    double d;
    uint64_t mul = 1;
    const char *p;

    errno = 0;
    if (!str || !*str || *str == '-' || g_ascii_isspace(*str)) {
        goto bad;
    }
    /* Integers are taken exactly; a fraction needs a suffix. */
    {
        unsigned long long v = strtoull(str, &end, 10);

        if (errno == 0 && end != str && *end == '\0') {
            *value = v;
            return true;
        }
    }
    d = g_ascii_strtod(str, &end);
    if (end == str || errno || d < 0) {
        goto bad;
    }
    if (*end) {
        p = strchr(suffixes, g_ascii_toupper(*end));
        if (!p || end[1]) {
            goto bad;
        }
        mul = 1ULL << (10 * (p - suffixes));
    }
    if (d * mul >= 18446744073709549568.0) {
        goto bad;
    }
    *value = (uint64_t)(d * mul);
    return true;
bad:
    error_setg(errp, "Parameter size expects a non-negative number below "
               "2^64 (optionally with a suffix of k, M, G, T, P or E)");
    return false;
}

bool qdict_get_size_opt(JsonObject *d, const char *key, uint64_t *value,
                        Error **errp)
{
    bool ok;
    JsonNode *n = get_scalar(d, key, "size", &ok, errp);
    Error *local_err = NULL;

    if (!n) {
        return ok;
    }
    if (json_node_get_value_type(n) == G_TYPE_INT64) {
        if (json_node_get_int(n) < 0) {
            error_setg(errp, "Parameter '%s' expects a non-negative size",
                       key);
            return false;
        }
        *value = json_node_get_int(n);
        return true;
    }
    if (json_node_get_value_type(n) != G_TYPE_STRING ||
        !parse_size(json_node_get_string(n), value, &local_err)) {
        error_free(local_err);
        error_setg(errp, "Parameter '%s' expects a size", key);
        return false;
    }
    return true;
}

bool qdict_get_enum_opt(JsonObject *d, const char *key,
                        const char *const *names, int *value, Error **errp)
{
    const char *s;

    if (!qdict_haskey(d, key)) {
        return true;
    }
    s = qdict_get_str(d, key);
    for (int i = 0; s && names[i]; i++) {
        if (!strcmp(names[i], s)) {
            *value = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", key,
               s ? s : "(not a string)");
    return false;
}

bool qdict_check_keys(JsonObject *d, const char *const *allowed,
                      Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(d);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        bool found = false;

        for (int i = 0; allowed && allowed[i]; i++) {
            if (!strcmp(allowed[i], key)) {
                found = true;
                break;
            }
        }
        if (!found) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
    }
    return true;
}

/* Dotted keys */

/*
 * Store @value at the dotted path @key inside @root, creating dicts on the
 * way.  Fails if a path component is both a value and a dict.
 */
static bool dotted_put(JsonObject *root, const char *key, const char *value,
                       Error **errp)
{
    g_auto(GStrv) parts = g_strsplit(key, ".", -1);
    JsonObject *d = root;
    int n = g_strv_length(parts);

    for (int i = 0; i < n; i++) {
        if (!*parts[i]) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
        if (i == n - 1) {
            if (json_object_has_member(d, parts[i])) {
                error_setg(errp, "Parameter '%s' is set more than once", key);
                return false;
            }
            json_object_set_string_member(d, parts[i], value);
        } else {
            JsonNode *m = json_object_get_member(d, parts[i]);

            if (!m) {
                json_object_set_object_member(d, parts[i],
                                              json_object_new());
                m = json_object_get_member(d, parts[i]);
            } else if (!JSON_NODE_HOLDS_OBJECT(m)) {
                error_setg(errp, "Parameter '%s' conflicts with a value",
                           key);
                return false;
            }
            d = json_node_get_object(m);
        }
    }
    return true;
}

JsonObject *qdict_parse_dotted(const char *str, Error **errp)
{
    JsonObject *root = json_object_new();
    const char *p = str;

    while (*p) {
        GString *key = g_string_new(NULL);
        GString *val = g_string_new(NULL);
        bool ok;

        while (*p && *p != '=' && *p != ',') {
            g_string_append_c(key, *p++);
        }
        if (*p != '=') {
            error_setg(errp, "Expected '=' after parameter '%s'", key->str);
            g_string_free(key, TRUE);
            g_string_free(val, TRUE);
            json_object_unref(root);
            return NULL;
        }
        p++;
        /* A value runs to the next single comma; ",," is a literal comma. */
        while (*p) {
            if (*p == ',') {
                if (p[1] != ',') {
                    break;
                }
                p++;
            }
            g_string_append_c(val, *p++);
        }
        if (*p == ',') {
            p++;
        }
        ok = dotted_put(root, key->str, val->str, errp);
        g_string_free(key, TRUE);
        g_string_free(val, TRUE);
        if (!ok) {
            json_object_unref(root);
            return NULL;
        }
    }
    return root;
}

JsonObject *qdict_parse(const char *str, Error **errp)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) gerr = NULL;
    JsonNode *root;

    bool json = g_str_has_prefix(str, "json:");

    if (json) {
        str += 5;
    }
    while (g_ascii_isspace(*str)) {
        str++;
    }
    if (!json && *str != '{') {
        return qdict_parse_dotted(str, errp);
    }
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, str, -1, &gerr)) {
        error_setg(errp, "JSON parse error: %s", gerr->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(errp, "Expected a JSON object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}
