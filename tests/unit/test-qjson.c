/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for util/qjson.c: QEMU's two JSON layouts and its string escaping.
 *
 * The golden strings were checked against QEMU 7.2: the layouts and the
 * doubles against qemu-storage-daemon's replies (compact, and pretty=on),
 * the strings against `qemu-img info --output=json` of a qcow2 image whose
 * backing file name holds them (qemu-img create -b NAME -F raw -u).
 *
 *   /qjson/layout/...     nested objects and arrays, empty ones, top-level
 *                        scalars, members in insertion order
 *   /qjson/string/...     every ASCII byte, non-ASCII characters, invalid
 *                        UTF-8 (one \uFFFD per undecodable sequence, as
 *                        QEMU counts them), escaped keys
 *   /qjson/string/all-code-points  every code point from U+0001 to
 *                        U+10FFFF against an independent UTF-16 encoding
 *   /qjson/number/...     int64 limits, doubles without json-glib's ".0"
 *   /qjson/round-trip    json-glib parses both layouts back to the tree
 */
#include "util/osdep.h"
#include "util/qjson.h"

static JsonNode *parse(const char *text)
{
    g_autoptr(GError) err = NULL;
    JsonNode *node = json_from_string(text, &err);

    g_assert_no_error(err);
    g_assert_nonnull(node);
    return node;
}

static void assert_text(JsonNode *node, bool pretty, const char *want)
{
    g_autofree char *got = qjson_to_string(node, pretty);

    g_assert_cmpstr(got, ==, want);
}

static void assert_string(const char *str, const char *want)
{
    g_autoptr(JsonNode) node = json_node_init_string(json_node_alloc(), str);
    g_autoptr(GString) out = g_string_new(NULL);

    assert_text(node, false, want);
    assert_text(node, true, want);
    qjson_append_string(out, str);
    g_assert_cmpstr(out->str, ==, want);
}

static const char nested[] =
    "{\"a\": [], \"b\": {}, \"c\": [1, {\"d\": null, \"e\": true}], "
    "\"f\": false, \"g\": -5, \"h\": \"x\"}";

static void test_layout_compact(void)
{
    g_autoptr(JsonNode) node = parse(nested);

    assert_text(node, false, nested);
}

static void test_layout_pretty(void)
{
    g_autoptr(JsonNode) node = parse(nested);

    assert_text(node, true,
                "{\n"
                "    \"a\": [\n"
                "    ],\n"
                "    \"b\": {\n"
                "    },\n"
                "    \"c\": [\n"
                "        1,\n"
                "        {\n"
                "            \"d\": null,\n"
                "            \"e\": true\n"
                "        }\n"
                "    ],\n"
                "    \"f\": false,\n"
                "    \"g\": -5,\n"
                "    \"h\": \"x\"\n"
                "}");
}

static void test_layout_empty(void)
{
    g_autoptr(JsonNode) obj = parse("{}");
    g_autoptr(JsonNode) arr = parse("[]");

    assert_text(obj, false, "{}");
    assert_text(obj, true, "{\n}");
    assert_text(arr, false, "[]");
    assert_text(arr, true, "[\n]");
}

static void test_layout_scalars(void)
{
    g_autoptr(JsonNode) null = json_node_init_null(json_node_alloc());
    g_autoptr(JsonNode) yes = json_node_init_boolean(json_node_alloc(), true);
    g_autoptr(JsonNode) num = json_node_init_int(json_node_alloc(), 42);
    g_autoptr(JsonNode) arr = parse("[[[]], [null]]");

    assert_text(null, false, "null");
    assert_text(null, true, "null");
    assert_text(yes, true, "true");
    assert_text(num, true, "42");
    assert_text(arr, false, "[[[]], [null]]");
    assert_text(arr, true,
                "[\n    [\n        [\n        ]\n    ],\n"
                "    [\n        null\n    ]\n]");
}

/* Members come out in the order they were added, not sorted. */
static void test_layout_order(void)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *o = json_object_new();
    g_autoptr(GString) out = g_string_new("prefix ");

    json_object_set_int_member(o, "z", 1);
    json_object_set_int_member(o, "a", 2);
    json_object_set_int_member(o, "m", 3);
    json_node_take_object(node, o);
    assert_text(node, false, "{\"z\": 1, \"a\": 2, \"m\": 3}");
    qjson_append(out, node, false);
    g_assert_cmpstr(out->str, ==, "prefix {\"z\": 1, \"a\": 2, \"m\": 3}");
}

static void test_string_ascii(void)
{
    char all[0x80];
    g_autoptr(GString) want = g_string_new("\"");

    for (int i = 1; i < 0x80; i++) {
        all[i - 1] = i;
    }
    all[0x7f] = 0;
    g_string_append(want,
                    "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                    "\\b\\t\\n\\u000B\\f\\r\\u000E\\u000F"
                    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016"
                    "\\u0017\\u0018\\u0019\\u001A\\u001B\\u001C\\u001D"
                    "\\u001E\\u001F"
                    " !\\\"#$%&'()*+,-./0123456789:;<=>?"
                    "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_"
                    "`abcdefghijklmnopqrstuvwxyz{|}~\\u007F\"");
    assert_string(all, want->str);
    assert_string("", "\"\"");
}

/* qemu-img info of a backing file named $'\u00e9\x01\x1f\x7f"\\/\u20ac..' */
static void test_string_unicode(void)
{
    assert_string("\xc3\xa9\x01\x1f\x7f\"\\/\xe2\x82\xac\xf0\x9f\x98\x80\t",
                  "\"\\u00E9\\u0001\\u001F\\u007F\\\"\\\\/\\u20AC"
                  "\\uD83D\\uDE00\\t\"");
}

static void test_string_invalid_utf8(void)
{
    /*
     * A truncated sequence is one \uFFFD, 0xff one, the overlong C0 80 is
     * U+0000, a noncharacter (U+FFFE) and an encoded surrogate are
     * replaced.
     */
    assert_string("\xe9\x80" "A\xff\xc0\x80" "B\xef\xbf\xbe\xed\xa0\x80" "C",
                  "\"\\uFFFDA\\uFFFD\\u0000B\\uFFFD\\uFFFDC\"");
    /*
     * Overlong E0 80 AF; a 5-byte sequence; two stray continuation bytes;
     * beyond U+10FFFF; U+FDD0 and U+FDEF (noncharacters) but U+FDF0;
     * U+1FFFF; overlong C1 BF; U+FFFD itself; U+10FFFD; a 4-byte sequence
     * cut short by the end of the string.
     */
    assert_string("\xe0\x80\xafX\xf8\x88\x80\x80\x80Y\x80\x80Z"
                  "\xf4\x90\x80\x80\xef\xb7\x90\xef\xb7\xaf\xef\xb7\xb0"
                  "\xf0\x9f\xbf\xbf\xc1\xbf\xef\xbf\xbd\xf4\x8f\xbf\xbd"
                  "~A\xf0\x9f\x98",
                  "\"\\uFFFDX\\uFFFDY\\uFFFD\\uFFFDZ\\uFFFD\\uFFFD\\uFFFD"
                  "\\uFDF0\\uFFFD\\uFFFD\\uFFFD\\uDBFF\\uDFFD~A\\uFFFD\"");
}

static void test_string_keys(void)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "\xc3\xa9\n\"", "\x1f");
    json_node_take_object(node, o);
    assert_text(node, false, "{\"\\u00E9\\n\\\"\": \"\\u001F\"}");
    assert_text(node, true, "{\n    \"\\u00E9\\n\\\"\": \"\\u001F\"\n}");
}

static bool is_noncharacter(gunichar c)
{
    return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

/*
 * Every code point, 4096 at a time, against glib's UTF-16 encoder:
 * printable ASCII raw, the rest \uXXXX (pairs beyond the BMP);
 * surrogates (which have no valid UTF-8 form; glib still encodes them
 * as three bytes) and noncharacters become \uFFFD.
 */
static void test_string_all_code_points(void)
{
    for (gunichar base = 0; base <= 0x10ffff; base += 4096) {
        g_autoptr(GString) in = g_string_new(NULL);
        g_autoptr(GString) want = g_string_new("\"");

        for (gunichar c = MAX(base, 0x20); c < base + 4096; c++) {
            char utf8[6];
            gunichar2 *utf16;
            glong n;

            g_string_append_len(in, utf8, g_unichar_to_utf8(c, utf8));
            if (c == '"' || c == '\\') {
                g_string_append_printf(want, "\\%c", c);
                continue;
            }
            if (c < 0x7f) {
                g_string_append_c(want, c);
                continue;
            }
            if ((c >= 0xd800 && c <= 0xdfff) || is_noncharacter(c)) {
                g_string_append(want, "\\uFFFD");
                continue;
            }
            utf16 = g_ucs4_to_utf16(&c, 1, NULL, &n, NULL);
            g_assert_nonnull(utf16);
            for (glong i = 0; i < n; i++) {
                g_string_append_printf(want, "\\u%04X", utf16[i]);
            }
            g_free(utf16);
        }
        g_string_append_c(want, '"');
        assert_string(in->str, want->str);
    }
}

static void test_number_int(void)
{
    g_autoptr(JsonNode) node = parse("[9223372036854775807, "
                                     "-9223372036854775808, 0, -1]");

    assert_text(node, false, "[9223372036854775807, -9223372036854775808, "
                             "0, -1]");
}

/* QEMU prints doubles with "%.17g" (qemu-storage-daemon echoing ids). */
static void test_number_double(void)
{
    static const struct {
        double val;
        const char *want;
    } cases[] = {
        { 2.0, "2" },
        { 1e30, "1e+30" },
        { -0.0, "-0" },
        { 0.1, "0.10000000000000001" },
        { 1.5, "1.5" },
        { -2.5e-7, "-2.4999999999999999e-07" },
        { 1e16, "10000000000000000" },
        { 1e17, "1e+17" },
        { 123456789012.0, "123456789012" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(JsonNode) node = json_node_init_double(json_node_alloc(),
                                                         cases[i].val);

        assert_text(node, false, cases[i].want);
    }
}

/* json-glib reads both layouts back to an equal tree. */
static void test_round_trip(void)
{
    static const char *const texts[] = {
        nested,
        "{\"k\\u00e9\": [\"\\u0001\\u001f\\ud83d\\ude00\", {\"x\": "
        "[[], {}, 3]}], \"\\\\\": \"/\"}",
        "[]",
        "\"\\u20ac\"",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_autoptr(JsonNode) node = parse(texts[i]);

        for (int pretty = 0; pretty < 2; pretty++) {
            g_autofree char *text = qjson_to_string(node, pretty);
            g_autoptr(JsonNode) back = parse(text);

            g_assert_true(json_node_equal(node, back));
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qjson/layout/compact", test_layout_compact);
    g_test_add_func("/qjson/layout/pretty", test_layout_pretty);
    g_test_add_func("/qjson/layout/empty", test_layout_empty);
    g_test_add_func("/qjson/layout/scalars", test_layout_scalars);
    g_test_add_func("/qjson/layout/order", test_layout_order);
    g_test_add_func("/qjson/string/ascii", test_string_ascii);
    g_test_add_func("/qjson/string/unicode", test_string_unicode);
    g_test_add_func("/qjson/string/invalid-utf8", test_string_invalid_utf8);
    g_test_add_func("/qjson/string/keys", test_string_keys);
    g_test_add_func("/qjson/string/all-code-points",
                    test_string_all_code_points);
    g_test_add_func("/qjson/number/int", test_number_int);
    g_test_add_func("/qjson/number/double", test_number_double);
    g_test_add_func("/qjson/round-trip", test_round_trip);
    return g_test_run();
}
