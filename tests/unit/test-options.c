/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Option dictionaries: JSON and dotted-key parsing, typed getters, and the
 * errors for bad input.
 */
#include "util/osdep.h"
#include "block/options.h"

#include <json-glib/json-glib.h>

static void test_json(void)
{
    Error *err = NULL;
    JsonObject *d = qdict_parse("{\"driver\": \"qcow2\", \"file\": "
                                "{\"driver\": \"file\", \"filename\": "
                                "\"a.qcow2\"}, \"read-only\": true}", &err);
    JsonObject *file;
    bool ro = false;

    g_assert_null(err);
    g_assert_nonnull(d);
    g_assert_cmpstr(qdict_get_str(d, "driver"), ==, "qcow2");
    file = qdict_get_dict(d, "file");
    g_assert_nonnull(file);
    g_assert_cmpstr(qdict_get_str(file, "filename"), ==, "a.qcow2");
    g_assert_true(qdict_get_bool_opt(d, "read-only", &ro, &err));
    g_assert_true(ro);
    qdict_unref(d);

    d = qdict_parse("json:{\"driver\": \"raw\"}", &error_abort);
    g_assert_cmpstr(qdict_get_str(d, "driver"), ==, "raw");
    qdict_unref(d);
}

static void test_dotted(void)
{
    JsonObject *d = qdict_parse("driver=raw,file.driver=file,"
                                "file.filename=x,,y,cache.direct=on",
                                &error_abort);
    JsonObject *file = qdict_get_dict(d, "file");
    JsonObject *cache = qdict_get_dict(d, "cache");
    bool direct = false;

    g_assert_cmpstr(qdict_get_str(d, "driver"), ==, "raw");
    g_assert_cmpstr(qdict_get_str(file, "driver"), ==, "file");
    /* ",," is a literal comma inside a value. */
    g_assert_cmpstr(qdict_get_str(file, "filename"), ==, "x,y");
    g_assert_true(qdict_get_bool_opt(cache, "direct", &direct, &error_abort));
    g_assert_true(direct);
    qdict_unref(d);

    d = qdict_parse("", &error_abort);
    g_assert_nonnull(d);
    qdict_unref(d);
}

static void expect_parse_error(const char *str, const char *msg)
{
    Error *err = NULL;
    JsonObject *d = qdict_parse(str, &err);

    g_assert_null(d);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), msg)) {
        g_error("%s: got \"%s\"", str, error_get_pretty(err));
    }
    error_free(err);
}

static void test_parse_errors(void)
{
    expect_parse_error("driver", "Expected '=' after parameter 'driver'");
    expect_parse_error("a=1,a=2", "Parameter 'a' is set more than once");
    expect_parse_error("a=1,a.b=2", "conflicts with a value");
    expect_parse_error("a..b=1", "Invalid parameter 'a..b'");
    expect_parse_error("{\"driver\": ", "JSON parse error");
    expect_parse_error("{not json}", "JSON parse error");
    expect_parse_error("json:[1, 2]", "Expected a JSON object");
}

static void test_getters(void)
{
    JsonObject *d = qdict_parse("{\"b\": \"off\", \"i\": \"42\", "
                                "\"n\": 7, \"s\": \"1.5M\", \"e\": \"unmap\", "
                                "\"bad\": \"maybe\", \"neg\": -1, "
                                "\"obj\": {}}", &error_abort);
    static const char *const names[] = { "off", "on", "unmap", NULL };
    Error *err = NULL;
    bool b = true;
    int64_t i = 0;
    uint64_t sz = 0;
    int e = -1;

    g_assert_true(qdict_get_bool_opt(d, "b", &b, &error_abort));
    g_assert_false(b);
    g_assert_true(qdict_get_int_opt(d, "i", &i, &error_abort));
    g_assert_cmpint(i, ==, 42);
    g_assert_true(qdict_get_int_opt(d, "n", &i, &error_abort));
    g_assert_cmpint(i, ==, 7);
    g_assert_true(qdict_get_size_opt(d, "s", &sz, &error_abort));
    g_assert_cmpuint(sz, ==, 1572864);
    g_assert_true(qdict_get_enum_opt(d, "e", names, &e, &error_abort));
    g_assert_cmpint(e, ==, 2);

    /* Absent keys leave the value alone and succeed. */
    i = 99;
    g_assert_true(qdict_get_int_opt(d, "absent", &i, &error_abort));
    g_assert_cmpint(i, ==, 99);

    g_assert_false(qdict_get_bool_opt(d, "bad", &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' expects 'on' or 'off'");
    error_free(err);
    err = NULL;
    g_assert_false(qdict_get_enum_opt(d, "bad", names, &e, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' does not accept value 'maybe'");
    error_free(err);
    err = NULL;
    g_assert_false(qdict_get_size_opt(d, "neg", &sz, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_false(qdict_get_int_opt(d, "obj", &i, &err));
    g_assert_nonnull(err);
    error_free(err);
    qdict_unref(d);
}

static void test_check_keys(void)
{
    static const char *const allowed[] = { "a", "b", NULL };
    JsonObject *d = qdict_parse("a=1,b=2", &error_abort);
    Error *err = NULL;

    g_assert_true(qdict_check_keys(d, allowed, &error_abort));
    qdict_put_str(d, "c", "3");
    g_assert_false(qdict_check_keys(d, allowed, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'c'");
    error_free(err);
    qdict_unref(d);
}

static void test_parse_size(void)
{
    static const struct {
        const char *str;
        uint64_t value;
    } good[] = {
        { "0", 0 }, { "512", 512 }, { "1k", 1024 }, { "1K", 1024 },
        { "64M", 64 << 20 }, { "1G", 1ULL << 30 }, { "2T", 2ULL << 40 },
        { "0.5k", 512 }, { "18446744073709551615", UINT64_MAX },
    };
    static const char *const bad[] = {
        "", "-1", "1x", "k", "1kk", " 1", "1e999", "20E",
    };
    uint64_t v;

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_assert_true(parse_size(good[i].str, &v, &error_abort));
        g_assert_cmpuint(v, ==, good[i].value);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;

        g_assert_false(parse_size(bad[i], &v, &err));
        g_assert_nonnull(err);
        error_free(err);
    }
}

static void test_clone(void)
{
    JsonObject *d = qdict_parse("a.b=1", &error_abort);
    JsonObject *c = qdict_clone(d);

    qdict_put_str(qdict_get_dict(c, "a"), "b", "2");
    g_assert_cmpstr(qdict_get_str(qdict_get_dict(d, "a"), "b"), ==, "1");
    qdict_unref(c);
    qdict_unref(d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/options/json", test_json);
    g_test_add_func("/options/dotted", test_dotted);
    g_test_add_func("/options/parse-errors", test_parse_errors);
    g_test_add_func("/options/getters", test_getters);
    g_test_add_func("/options/check-keys", test_check_keys);
    g_test_add_func("/options/parse-size", test_parse_size);
    g_test_add_func("/options/clone", test_clone);
    return g_test_run();
}
