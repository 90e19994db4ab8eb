/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Option dictionaries (QEMU's QDict role), as json-glib JsonObjects.
 *
 * A dict comes from JSON text or from dotted `key=value,...` strings (all
 * values are then strings, nested by the dots: `file.driver=file` becomes
 * {"file": {"driver": "file"}}; `a.0.x=1` makes a list).  Typed getters
 * accept both the JSON type and its string spelling ("on"/"off",
 * "true"/"false", sizes with k/M/G/T suffixes), so both forms behave alike.
 */
#ifndef EMBLOCK_BLOCK_OPTIONS_H
#define EMBLOCK_BLOCK_OPTIONS_H

#include "util/osdep.h"
#include "util/error.h"

typedef struct _JsonObject JsonObject;

/* Parse JSON (optionally prefixed "json:") or dotted keys; NULL on error. */
JsonObject *qdict_parse(const char *str, Error **errp);
/* Parse only dotted keys ("a=b,c.d=e"; ",," escapes a comma in a value). */
JsonObject *qdict_parse_dotted(const char *str, Error **errp);
JsonObject *qdict_new(void);
JsonObject *qdict_ref(JsonObject *d);
void qdict_unref(JsonObject *d);
/* A deep copy. */
JsonObject *qdict_clone(JsonObject *d);
/* Compact JSON text of @d (g_free it). */
char *qdict_to_json(JsonObject *d);

bool qdict_haskey(JsonObject *d, const char *key);
void qdict_del(JsonObject *d, const char *key);
void qdict_put_str(JsonObject *d, const char *key, const char *value);
void qdict_put_int(JsonObject *d, const char *key, int64_t value);
void qdict_put_bool(JsonObject *d, const char *key, bool value);
void qdict_put_obj(JsonObject *d, const char *key, JsonObject *value);

/* The member as a dict, or NULL when absent or not a dict. */
JsonObject *qdict_get_dict(JsonObject *d, const char *key);
/* The member as a string (scalars are not converted), or NULL. */
const char *qdict_get_str(JsonObject *d, const char *key);

/*
 * Typed getters: return true and store the value when the key is present
 * and valid, true leaving *value alone when absent, false with @errp set
 * ("Parameter 'KEY' expects ...") when present but invalid.
 */
bool qdict_get_bool_opt(JsonObject *d, const char *key, bool *value,
                        Error **errp);
bool qdict_get_int_opt(JsonObject *d, const char *key, int64_t *value,
                       Error **errp);
bool qdict_get_size_opt(JsonObject *d, const char *key, uint64_t *value,
                        Error **errp);
/* Pick one of @names (NULL-terminated) by index; -1 with @errp if not. */
bool qdict_get_enum_opt(JsonObject *d, const char *key,
                        const char *const *names, int *value, Error **errp);

/*
 * Check that every key of @d is in @allowed (NULL-terminated); else fail
 * with "Invalid parameter 'KEY'" (prefixed by @prefix when not NULL).
 */
bool qdict_check_keys(JsonObject *d, const char *const *allowed,
                      Error **errp);

/* Parse a size with an optional k/K/M/G/T/P/E suffix (binary units). */
bool parse_size(const char *str, uint64_t *value, Error **errp);

#endif /* EMBLOCK_BLOCK_OPTIONS_H */
