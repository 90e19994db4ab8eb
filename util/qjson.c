/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU-shaped JSON text from a JsonNode.
 *
 * The layout (braces, brackets, ": ", ", " or newlines and four spaces of
 * indentation per level) is written here; every scalar is json-glib's
 * json_to_string() of that scalar alone, then corrected where QEMU's
 * writer (qobject/qjson.c, to_json() and to_json_str(), checked against
 * QEMU 7.2's qemu-img and qemu-storage-daemon) prints something else:
 *
 *   - Strings.  json-glib writes \" \\ \b \f \n \r \t, lower-case
 *     \u00xx for the other bytes 0x01..0x1e and 0x7f, and copies every
 *     other byte, including 0x1f (its control test stops one short) and
 *     the bytes of non-ASCII characters, raw.  QEMU writes only printable
 *     ASCII raw: its \u escapes have upper-case hex digits, 0x1f is
 *     escaped, and each non-ASCII character is decoded and written as
 *     \uXXXX (a UTF-16 surrogate pair beyond U+FFFF).  So after
 *     json-glib, \u digits are upper-cased and raw bytes outside
 *     0x20..0x7e are escaped.
 *
 *   - Invalid UTF-8 (a file name read from an image can hold any bytes;
 *     json-glib copies them).  QEMU decodes with its own rules, and each
 *     undecodable sequence becomes one \uFFFD: a stray continuation byte,
 *     0xfe or 0xff takes one byte; a lead byte takes the continuation
 *     bytes that follow it, up to the count it announces; the result is
 *     refused beyond U+10FFFF, for surrogates, for noncharacters
 *     (U+FDD0..U+FDEF and every U+xxFFFE/U+xxFFFF) and for overlong forms,
 *     except that 0xc0 0x80 is U+0000, written \u0000.  decode_utf8()
 *     applies these rules.
 *
 *   - Doubles.  Both print "%.17g" (json-glib through g_ascii_dtostr(),
 *     which is locale-independent), but json-glib appends ".0" when that
 *     text has no '.', giving "2.0" for 2 and even "1e+30.0", which is
 *     not JSON.  QEMU prints "2" and "1e+30"; the ".0" is dropped.
 *
 * Integers (int64), booleans and null are json-glib's text unchanged.
 */
#include "util/osdep.h"
#include "util/qjson.h"

/*
 * Decode the character at @p (@len bytes available, @len > 0) by QEMU's
 * rules above; *@used gets the number of bytes it takes (at least 1).
 * Returns the code point, or -1 for a sequence written as U+FFFD.
 */
static int32_t decode_utf8(const unsigned char *p, size_t len, size_t *used)
{
    /* The smallest code point that needs an n-byte sequence, by n. */
    static const uint32_t min_cp[7] = {
        0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000,
    };
    unsigned char lead = p[0];
    uint32_t cp;
    int n;

    *used = 1;
    if (lead < 0x80) {
        return lead;
    }
    if (lead < 0xc0 || lead >= 0xfe) {
        return -1;
    }
    for (n = 0; lead & (0x80 >> n); n++) {
        /* count the leading 1 bits: the sequence length, 2 to 6 */
    }
    cp = lead & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if (i >= len || (p[i] & 0xc0) != 0x80) {
            *used = i;
            return -1;
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }
    *used = n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) {
        return -1;
    }
    if (cp < min_cp[n] && !(n == 2 && cp == 0)) {
        return -1;
    }
    return cp;
}

static void append_unicode_escape(GString *out, uint32_t cp)
{
    if (cp > 0xffff) {
        cp -= 0x10000;
        g_string_append_printf(out, "\\u%04X\\u%04X", 0xd800 | (cp >> 10),
                               0xdc00 | (cp & 0x3ff));
    } else {
        g_string_append_printf(out, "\\u%04X", cp);
    }
}

/* Append json-glib's text of a string, @text, corrected as QEMU's. */
static void append_string_text(GString *out, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *end = p + strlen(text);

    while (p < end) {
        size_t used;
        int32_t cp;

        if (*p == '\\' && p + 1 < end) {
            /* json-glib's escapes; only the \u digits' case changes. */
            int hex_digits = p[1] == 'u' ? 4 : 0;

            g_string_append_len(out, (const char *)p, 2);
            for (p += 2; hex_digits-- > 0 && p < end; p++) {
                g_string_append_c(out, g_ascii_toupper(*p));
            }
            continue;
        }
        if (*p >= 0x20 && *p < 0x7f) {
            g_string_append_c(out, *p++);
            continue;
        }
        cp = decode_utf8(p, end - p, &used);
        append_unicode_escape(out, cp < 0 ? 0xfffd : cp);
        p += used;
    }
}

/* Append the text of a scalar (value or null) node. */
static void append_scalar(GString *out, JsonNode *node)
{
    g_autofree char *text = json_to_string(node, FALSE);
    size_t len = strlen(text);

    if (JSON_NODE_HOLDS_NULL(node)) {
        g_string_append(out, text);
        return;
    }
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        append_string_text(out, text);
        break;
    case G_TYPE_DOUBLE:
        if (len > 2 && strchr(text, '.') == text + len - 2 &&
            text[len - 1] == '0') {
            len -= 2;       /* json-glib's ".0" suffix */
        }
        g_string_append_len(out, text, len);
        break;
    default:
        g_string_append(out, text);
    }
}

void qjson_append_string(GString *out, const char *str)
{
    g_autoptr(JsonNode) node = json_node_init_string(json_node_alloc(), str);

    append_scalar(out, node);
}

static void append_newline(GString *out, bool pretty, int level)
{
    if (pretty) {
        g_string_append_printf(out, "\n%*s", level * 4, "");
    }
}

static void append_node(GString *out, JsonNode *node, bool pretty, int level)
{
    const char *sep = pretty ? "," : ", ";

    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(obj);

        g_string_append_c(out, '{');
        for (GList *l = members; l; l = l->next) {
            if (l != members) {
                g_string_append(out, sep);
            }
            append_newline(out, pretty, level + 1);
            qjson_append_string(out, l->data);
            g_string_append(out, ": ");
            append_node(out, json_object_get_member(obj, l->data), pretty,
                        level + 1);
        }
        append_newline(out, pretty, level);
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            if (i) {
                g_string_append(out, sep);
            }
            append_newline(out, pretty, level + 1);
            append_node(out, json_array_get_element(arr, i), pretty,
                        level + 1);
        }
        append_newline(out, pretty, level);
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
        append_scalar(out, node);
        break;
    }
}

void qjson_append(GString *out, JsonNode *node, bool pretty)
{
    append_node(out, node, pretty, 0);
}

char *qjson_to_string(JsonNode *node, bool pretty)
{
    GString *out = g_string_new(NULL);

    append_node(out, node, pretty, 0);
    return g_string_free(out, FALSE);
}
