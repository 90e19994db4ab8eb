/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU-shaped JSON text from a JsonNode.
 *
 * QEMU's tools and monitor print JSON in two layouts, and scripts compare
 * their output byte for byte:
 *
 *   compact (QMP):  {"key": value, "list": [1, 2], "empty": {}}
 *   pretty (qemu-img --output=json, QMP with pretty=on):
 *
 *       {
 *           "key": value,
 *           "empty": {
 *           }
 *       }
 *
 * Members and elements are printed in the node's order.  Every scalar is
 * printed by json-glib; the layout is ours, and so are three corrections
 * of json-glib's scalar text where QEMU's differs (see qjson.c): strings
 * are pure ASCII, with everything outside 0x20..0x7e other than the
 * short escapes written as \uXXXX in upper case (invalid UTF-8 as
 * \uFFFD), and a double is plain "%.17g" without the ".0" json-glib may
 * append.
 *
 * Thread safety: none needed; the functions only read @node.
 */
#ifndef EMBLOCK_UTIL_QJSON_H
#define EMBLOCK_UTIL_QJSON_H

#include "util/osdep.h"

#include <json-glib/json-glib.h>

/* Append @node's JSON text to @out, pretty or compact, no final newline. */
void qjson_append(GString *out, JsonNode *node, bool pretty);

/* @node's JSON text, pretty or compact, no final newline (g_free it). */
char *qjson_to_string(JsonNode *node, bool pretty);

/* Append @str as a JSON string literal, escaped as by qjson_append(). */
void qjson_append_string(GString *out, const char *str);

#endif /* EMBLOCK_UTIL_QJSON_H */
