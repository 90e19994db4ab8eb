/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the hierarchical bitmap (util/hbitmap.c).
 *
 * Checks each function on hand-picked cases, with the
 * expected values worked out in the comments: empty and one-item bitmaps,
 * granularities 0, 3, 4, 9, 16, 50 and 63, ranges that cross 64-bit word
 * boundaries or end at the size, and sizes that are not a multiple of the
 * granule.  The random model test is in test-hbitmap-model.c.
 */
#include "util/osdep.h"
#include "util/hbitmap.h"

#define HB_MAX INT64_MAX

static void test_size_zero(void)
{
    int grans[] = { 0, 9 };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(grans); i++) {
        g_autoptr(HBitmap) hb = hbitmap_alloc(0, grans[i]);
        HBitmapIter hbi;
        int64_t ds = -7, dc = -7;

        g_assert_cmpint(hbitmap_size(hb), ==, 0);
        g_assert_cmpint(hbitmap_granularity(hb), ==, grans[i]);
        g_assert_cmpuint(hbitmap_count(hb), ==, 0);
        g_assert_true(hbitmap_is_empty(hb));
        g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, -1);
        g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, -1);
        g_assert_false(hbitmap_next_dirty_area(hb, 0, 100, HB_MAX, &ds, &dc));
        g_assert_cmpint(ds, ==, -7);
        g_assert_cmpint(dc, ==, -7);
        g_assert_true(hbitmap_is_all_set(hb, 0, 0));
        hbitmap_iter_init(&hbi, hb, 0);
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);

        hbitmap_set(hb, 0, 0);
        hbitmap_reset(hb, 0, 0);
        hbitmap_set_all(hb);
        g_assert_cmpuint(hbitmap_count(hb), ==, 0);
        hbitmap_reset_all(hb);

        /* Growing from nothing works like a fresh bitmap. */
        hbitmap_truncate(hb, 100);
        hbitmap_set(hb, 99, 1);
        g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==,
                        99 & ~((1 << grans[i]) - 1));
        g_assert_cmpuint(hbitmap_count(hb), ==, grans[i] ? 100 : 1);
        hbitmap_truncate(hb, 0);
        g_assert_cmpuint(hbitmap_count(hb), ==, 0);
        g_assert_true(hbitmap_is_empty(hb));
    }
}

static void test_size_one(void)
{
    int grans[] = { 0, 9, 16, 63 };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(grans); i++) {
        g_autoptr(HBitmap) hb = hbitmap_alloc(1, grans[i]);
        HBitmapIter hbi;

        g_assert_false(hbitmap_get(hb, 0));
        g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, 0);
        g_assert_false(hbitmap_is_all_set(hb, 0, 1));
        hbitmap_set(hb, 0, 1);
        g_assert_true(hbitmap_get(hb, 0));
        /* The granule is partial: only the one item counts. */
        g_assert_cmpuint(hbitmap_count(hb), ==, 1);
        g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 0);
        g_assert_cmpint(hbitmap_next_dirty(hb, 1, -1), ==, -1);
        g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, -1);
        g_assert_true(hbitmap_is_all_set(hb, 0, 1));
        hbitmap_iter_init(&hbi, hb, 0);
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 0);
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
        /* Unaligned count is fine because the range ends at the size. */
        hbitmap_reset(hb, 0, 1);
        g_assert_true(hbitmap_is_empty(hb));
    }
}

static void test_set_get(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(300, 0);
    uint64_t clear[] = { 9, 11, 59, 70, 127, 192, 298 };
    uint64_t set[] = { 10, 60, 63, 64, 69, 128, 191, 299 };
    size_t i;

    hbitmap_set(hb, 10, 1);
    hbitmap_set(hb, 60, 10);    /* crosses the first word boundary */
    hbitmap_set(hb, 128, 64);   /* exactly the third word */
    hbitmap_set(hb, 299, 1);    /* last item */
    hbitmap_set(hb, 5, 0);      /* no-op */
    g_assert_cmpuint(hbitmap_count(hb), ==, 1 + 10 + 64 + 1);
    g_assert_false(hbitmap_is_empty(hb));
    for (i = 0; i < G_N_ELEMENTS(clear); i++) {
        g_assert_false(hbitmap_get(hb, clear[i]));
    }
    for (i = 0; i < G_N_ELEMENTS(set); i++) {
        g_assert_true(hbitmap_get(hb, set[i]));
    }
    /* Overlap: only 70..74 are new. */
    hbitmap_set(hb, 65, 10);
    g_assert_cmpuint(hbitmap_count(hb), ==, 76 + 5);
    hbitmap_set_all(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, 300);
    g_assert_true(hbitmap_is_all_set(hb, 0, 300));
}

static void test_set_granularity(void)
{
    /* 512-item granules; 20 of them, the last holding 9728..9999. */
    g_autoptr(HBitmap) hb = hbitmap_alloc(10000, 9);

    hbitmap_set(hb, 100, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 512);
    g_assert_true(hbitmap_get(hb, 0));
    g_assert_true(hbitmap_get(hb, 511));
    g_assert_false(hbitmap_get(hb, 512));
    /* Items 1000..1099 touch granules 1 and 2. */
    hbitmap_set(hb, 1000, 100);
    g_assert_cmpuint(hbitmap_count(hb), ==, 3 * 512);
    g_assert_false(hbitmap_get(hb, 1536));
    g_assert_cmpint(hbitmap_next_dirty(hb, 600, -1), ==, 600);
    hbitmap_set(hb, 9999, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 3 * 512 + 272);
    g_assert_true(hbitmap_get(hb, 9728));
    hbitmap_set_all(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, 10000);
}

static void test_granularity_16(void)
{
    /* 17 granules of 65536 items; the last one holds 5 items. */
    g_autoptr(HBitmap) hb = hbitmap_alloc((1 << 20) + 5, 16);
    HBitmapIter hbi;

    hbitmap_set(hb, 3 * 65536 + 7, 65536);  /* granules 3 and 4 */
    g_assert_cmpuint(hbitmap_count(hb), ==, 2 * 65536);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 3 * 65536);
    g_assert_cmpint(hbitmap_next_zero(hb, 3 * 65536, -1), ==, 5 * 65536);
    hbitmap_set(hb, 1 << 20, 5);
    g_assert_cmpuint(hbitmap_count(hb), ==, 2 * 65536 + 5);
    g_assert_true(hbitmap_is_all_set(hb, 1 << 20, 5));
    g_assert_false(hbitmap_is_all_set(hb, (1 << 20) - 1, 6));
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 3 * 65536);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 4 * 65536);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 1 << 20);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    hbitmap_reset(hb, 1 << 20, 5);
    g_assert_cmpuint(hbitmap_count(hb), ==, 2 * 65536);
}

static void test_reset(void)
{
    HBitmap *hb = hbitmap_alloc(200, 0);

    hbitmap_set_all(hb);
    hbitmap_reset(hb, 10, 20);
    g_assert_cmpuint(hbitmap_count(hb), ==, 180);
    g_assert_true(hbitmap_get(hb, 9));
    g_assert_false(hbitmap_get(hb, 10));
    g_assert_false(hbitmap_get(hb, 29));
    g_assert_true(hbitmap_get(hb, 30));
    hbitmap_reset(hb, 60, 10);
    hbitmap_reset(hb, 190, 10);
    g_assert_cmpuint(hbitmap_count(hb), ==, 160);
    g_assert_false(hbitmap_get(hb, 63));
    g_assert_false(hbitmap_get(hb, 64));
    g_assert_true(hbitmap_get(hb, 189));
    hbitmap_reset(hb, 0, 200);
    g_assert_true(hbitmap_is_empty(hb));
    hbitmap_free(hb);

    /* 8-item granules, 13 of them, the last one holding 96..99. */
    hb = hbitmap_alloc(100, 3);
    hbitmap_set_all(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, 100);
    hbitmap_reset(hb, 8, 16);
    g_assert_cmpuint(hbitmap_count(hb), ==, 84);
    hbitmap_reset(hb, 96, 4);
    g_assert_cmpuint(hbitmap_count(hb), ==, 80);
    g_assert_false(hbitmap_get(hb, 96));
    g_assert_true(hbitmap_get(hb, 95));
    hbitmap_reset_all(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, 0);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, -1);
    hbitmap_free(hb);

    /* 192 words, so three words in the level above. */
    hb = hbitmap_alloc(64 * 64 * 3, 0);
    hbitmap_set(hb, 5000, 1);
    hbitmap_set(hb, 9000, 1);
    hbitmap_reset(hb, 4992, 64);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 9000);
    hbitmap_reset(hb, 8960, 64 * 64 * 3 - 8960);
    g_assert_true(hbitmap_is_empty(hb));
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, -1);
    hbitmap_set(hb, 64 * 64 * 3 - 1, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 64 * 64 * 3 - 1);
    hbitmap_free(hb);
}

static void test_reset_unaligned_aborts(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(100, 3);

        hbitmap_reset(hb, 8, 5);    /* count not aligned, not at the end */
        hbitmap_free(hb);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
}

static void test_count_huge(void)
{
    const int64_t gstart = INT64_MAX - ((INT64_C(1) << 50) - 1);
    g_autoptr(HBitmap) hb = hbitmap_alloc(INT64_MAX, 63);
    g_autoptr(HBitmap) hb50 = NULL;
    HBitmapIter hbi;
    int64_t ds, dc;

    /* One granule covering every item. */
    hbitmap_set_all(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, INT64_MAX);
    g_assert_true(hbitmap_get(hb, INT64_MAX - 1));
    g_assert_cmpint(hbitmap_next_dirty(hb, 5, -1), ==, 5);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, -1);
    g_assert_true(hbitmap_is_all_set(hb, 0, INT64_MAX));
    hbitmap_reset(hb, 0, INT64_MAX);
    g_assert_true(hbitmap_is_empty(hb));

    /*
     * 2^13 granules of 2^50 items; the last starts at 2^63 - 2^50 = gstart
     * and holds 2^50 - 1 items.
     */
    hb50 = hbitmap_alloc(INT64_MAX, 50);
    hbitmap_set(hb50, INT64_MAX - 1, 1);
    g_assert_cmpuint(hbitmap_count(hb50), ==, (UINT64_C(1) << 50) - 1);
    g_assert_cmpint(hbitmap_next_dirty(hb50, 0, -1), ==, gstart);
    g_assert_cmpint(hbitmap_next_dirty(hb50, INT64_MAX - 1, 1), ==,
                    INT64_MAX - 1);
    g_assert_cmpint(hbitmap_next_dirty(hb50, 0, gstart), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb50, gstart, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb50, 0, -1), ==, 0);
    g_assert_cmpint(hbitmap_next_zero(hb50, 0, INT64_MAX), ==, 0);
    g_assert_true(hbitmap_next_dirty_area(hb50, 0, INT64_MAX, HB_MAX,
                                          &ds, &dc));
    g_assert_cmpint(ds, ==, gstart);
    g_assert_cmpint(dc, ==, (INT64_C(1) << 50) - 1);
    hbitmap_iter_init(&hbi, hb50, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, gstart);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    /* Drops the last granule. */
    hbitmap_truncate(hb50, gstart);
    g_assert_true(hbitmap_is_empty(hb50));
    hbitmap_truncate(hb50, INT64_MAX);
    g_assert_false(hbitmap_get(hb50, INT64_MAX - 1));
}

static void test_count_unaligned(void)
{
    /* Granule 1 covers 512..999 only. */
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 9);

    hbitmap_set(hb, 999, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 488);
    hbitmap_set(hb, 0, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 1000);
    hbitmap_reset(hb, 512, 488);
    g_assert_cmpuint(hbitmap_count(hb), ==, 512);
}

static void test_next_dirty(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 0);
    g_autoptr(HBitmap) hb4 = hbitmap_alloc(100, 4);

    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, -1);
    hbitmap_set(hb, 100, 5);
    hbitmap_set(hb, 700, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 100);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 100), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 101), ==, 100);
    g_assert_cmpint(hbitmap_next_dirty(hb, 102, -1), ==, 102);
    g_assert_cmpint(hbitmap_next_dirty(hb, 105, -1), ==, 700);
    g_assert_cmpint(hbitmap_next_dirty(hb, 105, 595), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 105, 596), ==, 700);
    g_assert_cmpint(hbitmap_next_dirty(hb, 701, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 999, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 1000, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 2000, 5), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 0), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 100, INT64_MAX), ==, 100);
    g_assert_cmpint(hbitmap_next_dirty(hb, 200, INT64_MAX), ==, 700);

    /* Item 33 sets granule 2, items 32..47. */
    hbitmap_set(hb4, 33, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb4, 0, -1), ==, 32);
    g_assert_cmpint(hbitmap_next_dirty(hb4, 40, -1), ==, 40);
    g_assert_cmpint(hbitmap_next_dirty(hb4, 0, 32), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb4, 0, 33), ==, 32);
    g_assert_cmpint(hbitmap_next_dirty(hb4, 48, -1), ==, -1);
}

static void test_next_zero(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(200, 0);
    g_autoptr(HBitmap) big = hbitmap_alloc(64 * 100, 0);
    g_autoptr(HBitmap) hb9 = hbitmap_alloc(1000, 9);

    g_assert_cmpint(hbitmap_next_zero(hb, 5, 10), ==, 5);
    g_assert_cmpint(hbitmap_next_zero(hb, 199, -1), ==, 199);
    g_assert_cmpint(hbitmap_next_zero(hb, 200, -1), ==, -1);
    hbitmap_set_all(hb);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, -1);
    hbitmap_reset(hb, 64, 64);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, 64);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, 64), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, 65), ==, 64);
    g_assert_cmpint(hbitmap_next_zero(hb, 100, -1), ==, 100);
    g_assert_cmpint(hbitmap_next_zero(hb, 127, 1), ==, 127);
    g_assert_cmpint(hbitmap_next_zero(hb, 128, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 128, INT64_MAX), ==, -1);

    /* A long scan over full words. */
    hbitmap_set_all(big);
    hbitmap_reset(big, 64 * 100 - 1, 1);
    g_assert_cmpint(hbitmap_next_zero(big, 0, -1), ==, 64 * 100 - 1);
    g_assert_cmpint(hbitmap_next_zero(big, 0, 64 * 100 - 1), ==, -1);

    hbitmap_set_all(hb9);
    hbitmap_reset(hb9, 512, 488);
    g_assert_cmpint(hbitmap_next_zero(hb9, 0, -1), ==, 512);
    g_assert_cmpint(hbitmap_next_zero(hb9, 600, -1), ==, 600);
    g_assert_cmpint(hbitmap_next_zero(hb9, 0, 512), ==, -1);
}

static void test_next_dirty_area(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 0);
    g_autoptr(HBitmap) hb9 = hbitmap_alloc(1000, 9);
    int64_t ds, dc;

#define AREA(h, s, e, m, exp_start, exp_count) \
    do { \
        ds = dc = -7; \
        g_assert_true(hbitmap_next_dirty_area(h, s, e, m, &ds, &dc)); \
        g_assert_cmpint(ds, ==, exp_start); \
        g_assert_cmpint(dc, ==, exp_count); \
    } while (0)
#define NO_AREA(h, s, e, m) \
    do { \
        ds = dc = -7; \
        g_assert_false(hbitmap_next_dirty_area(h, s, e, m, &ds, &dc)); \
        g_assert_cmpint(ds, ==, -7); \
        g_assert_cmpint(dc, ==, -7); \
    } while (0)

    NO_AREA(hb, 0, 1000, HB_MAX);
    hbitmap_set(hb, 100, 50);
    hbitmap_set(hb, 300, 100);
    AREA(hb, 0, 1000, HB_MAX, 100, 50);
    AREA(hb, 0, 120, HB_MAX, 100, 20);
    AREA(hb, 120, 1000, HB_MAX, 120, 30);
    AREA(hb, 0, 1000, 10, 100, 10);
    AREA(hb, 150, 1000, HB_MAX, 300, 100);
    AREA(hb, 0, 5000, HB_MAX, 100, 50);
    AREA(hb, 399, 400, HB_MAX, 399, 1);
    NO_AREA(hb, 150, 300, HB_MAX);
    NO_AREA(hb, 400, 2000, HB_MAX);
    NO_AREA(hb, 500, 400, HB_MAX);
    NO_AREA(hb, 2000, 3000, HB_MAX);
    hbitmap_set(hb, 990, 10);
    AREA(hb, 950, INT64_MAX, HB_MAX, 990, 10);
    AREA(hb, 950, INT64_MAX, 1, 990, 1);

    /* Item 600 sets granule 1, which is partial: 512..999. */
    hbitmap_set(hb9, 600, 1);
    AREA(hb9, 0, 1000, HB_MAX, 512, 488);
    AREA(hb9, 700, 800, HB_MAX, 700, 100);
    NO_AREA(hb9, 0, 512, HB_MAX);

#undef AREA
#undef NO_AREA
}

static void test_is_all_set(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(300, 0);
    g_autoptr(HBitmap) hb9 = hbitmap_alloc(1000, 9);

    hbitmap_set(hb, 10, 100);
    g_assert_true(hbitmap_is_all_set(hb, 10, 100));
    g_assert_true(hbitmap_is_all_set(hb, 63, 2));
    g_assert_false(hbitmap_is_all_set(hb, 9, 2));
    g_assert_false(hbitmap_is_all_set(hb, 109, 2));
    g_assert_true(hbitmap_is_all_set(hb, 200, 0));
    g_assert_true(hbitmap_is_all_set(hb, 300, 0));
    g_assert_false(hbitmap_is_all_set(hb, 0, 300));
    hbitmap_set_all(hb);
    g_assert_true(hbitmap_is_all_set(hb, 0, 300));

    hbitmap_set(hb9, 513, 1);
    g_assert_true(hbitmap_is_all_set(hb9, 512, 488));
    g_assert_true(hbitmap_is_all_set(hb9, 999, 1));
    g_assert_false(hbitmap_is_all_set(hb9, 511, 2));
}

static void test_iter(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 0);
    g_autoptr(HBitmap) hb9 = hbitmap_alloc(10000, 9);
    g_autoptr(HBitmap) sparse = hbitmap_alloc(UINT64_C(1) << 26, 0);
    int64_t expect[] = { 0, 63, 64, 500, 999, -1, -1 };
    int64_t far = (INT64_C(1) << 26) - 1;
    HBitmapIter hbi;
    size_t i;

    hbitmap_set(hb, 0, 1);
    hbitmap_set(hb, 63, 2);
    hbitmap_set(hb, 500, 1);
    hbitmap_set(hb, 999, 1);
    hbitmap_iter_init(&hbi, hb, 0);
    for (i = 0; i < G_N_ELEMENTS(expect); i++) {
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, expect[i]);
    }
    hbitmap_iter_init(&hbi, hb, 64);
    for (i = 2; i < G_N_ELEMENTS(expect); i++) {
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, expect[i]);
    }
    hbitmap_iter_init(&hbi, hb, 1000);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    hbitmap_iter_init(&hbi, hb, UINT64_MAX);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);

    /* Results are granule starts, even for an unaligned first item. */
    hbitmap_set(hb9, 1000, 1);
    hbitmap_set(hb9, 5000, 1);
    hbitmap_iter_init(&hbi, hb9, 600);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 512);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 4608);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    hbitmap_iter_init(&hbi, hb9, 1024);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 4608);

    /* 2^26 bits make six levels; the search must skip the empty parts. */
    hbitmap_set(sparse, 0, 1);
    hbitmap_set(sparse, 12345678, 3);
    hbitmap_set(sparse, far, 1);
    hbitmap_iter_init(&hbi, sparse, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 12345678);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 12345679);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 12345680);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, far);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(sparse, 1, -1), ==, 12345678);
    g_assert_cmpint(hbitmap_next_dirty(sparse, 12345681, -1), ==, far);
    g_assert_cmpuint(hbitmap_count(sparse), ==, 5);
}

/*
 * Check one result of an iterator over a bitmap that changes under it:
 * -1, or a granule start inside the current size and above the last result.
 */
static int64_t check_iter_step(HBitmapIter *hbi, const HBitmap *hb,
                               int64_t *last)
{
    int64_t item = hbitmap_iter_next(hbi);

    if (item >= 0) {
        g_assert_cmpint(item, >, *last);
        g_assert_cmpuint(item, <, hbitmap_size(hb));
        g_assert_cmpint(item % (1 << hbitmap_granularity(hb)), ==, 0);
        *last = item;
    }
    return item;
}

static void test_iter_modify(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(4096, 0);
    HBitmapIter hbi;
    int64_t last = -1;
    int64_t item;
    uint64_t i;

    for (i = 0; i < 4096; i += 100) {
        hbitmap_set(hb, i, 1);
    }
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(check_iter_step(&hbi, hb, &last), ==, 0);
    g_assert_cmpint(check_iter_step(&hbi, hb, &last), ==, 100);
    hbitmap_reset(hb, 200, 1);
    hbitmap_set(hb, 50, 1);     /* behind the iterator: never reported */
    item = check_iter_step(&hbi, hb, &last);
    g_assert_true(item == 200 || item == 300);
    hbitmap_set(hb, 350, 1);
    item = check_iter_step(&hbi, hb, &last);
    g_assert_true(item == 300 || item == 350 || item == 400);

    /* Shrink under the iterator, then grow again. */
    hbitmap_truncate(hb, 1000);
    while (check_iter_step(&hbi, hb, &last) >= 0) {
        continue;
    }
    g_assert_cmpint(last, <=, 900);
    hbitmap_truncate(hb, 10);
    g_assert_cmpint(check_iter_step(&hbi, hb, &last), ==, -1);
    hbitmap_truncate(hb, 100000);
    hbitmap_set(hb, 99999, 1);
    item = check_iter_step(&hbi, hb, &last);
    g_assert_true(item == -1 || item == 99999);
    g_assert_cmpint(check_iter_step(&hbi, hb, &last), ==, -1);
}

static void test_truncate(void)
{
    HBitmap *hb = hbitmap_alloc(100, 0);
    uint64_t big = 64 * 64 * 64 + 1;

    hbitmap_set(hb, 90, 10);
    hbitmap_truncate(hb, 200);
    g_assert_cmpuint(hbitmap_size(hb), ==, 200);
    g_assert_cmpuint(hbitmap_count(hb), ==, 10);
    g_assert_false(hbitmap_get(hb, 150));
    hbitmap_set(hb, 190, 10);
    g_assert_cmpuint(hbitmap_count(hb), ==, 20);
    hbitmap_truncate(hb, 95);
    g_assert_cmpuint(hbitmap_count(hb), ==, 5);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, 90);
    g_assert_cmpint(hbitmap_next_zero(hb, 90, -1), ==, -1);
    hbitmap_truncate(hb, 200);
    g_assert_cmpuint(hbitmap_count(hb), ==, 5);
    g_assert_false(hbitmap_get(hb, 96));
    g_assert_false(hbitmap_get(hb, 199));
    hbitmap_truncate(hb, 0);
    g_assert_cmpuint(hbitmap_count(hb), ==, 0);
    hbitmap_truncate(hb, big);
    hbitmap_set(hb, big - 1, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, big - 1);
    hbitmap_truncate(hb, big - 1);
    g_assert_true(hbitmap_is_empty(hb));
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, -1), ==, -1);
    hbitmap_free(hb);

    /* A partial granule keeps its bit when the size moves inside it. */
    hb = hbitmap_alloc(1000, 9);
    hbitmap_set(hb, 999, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 488);
    hbitmap_truncate(hb, 1024);
    g_assert_cmpuint(hbitmap_count(hb), ==, 512);
    g_assert_true(hbitmap_get(hb, 1023));
    hbitmap_truncate(hb, 600);
    g_assert_cmpuint(hbitmap_count(hb), ==, 88);
    hbitmap_truncate(hb, 512);
    g_assert_cmpuint(hbitmap_count(hb), ==, 0);
    hbitmap_truncate(hb, 1000);
    g_assert_false(hbitmap_get(hb, 999));
    hbitmap_free(hb);

    /* Shrinking and growing across many words rebuilds the summaries. */
    hb = hbitmap_alloc(100000, 0);
    hbitmap_set_all(hb);
    hbitmap_truncate(hb, 50000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 50000);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, -1);
    hbitmap_truncate(hb, 100000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 50000);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, -1), ==, 50000);
    g_assert_cmpint(hbitmap_next_dirty(hb, 50000, -1), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 49000, -1), ==, 49000);
    hbitmap_free(hb);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hbitmap/size/zero", test_size_zero);
    g_test_add_func("/hbitmap/size/one", test_size_one);
    g_test_add_func("/hbitmap/set/basic", test_set_get);
    g_test_add_func("/hbitmap/set/granularity", test_set_granularity);
    g_test_add_func("/hbitmap/set/granularity-16", test_granularity_16);
    g_test_add_func("/hbitmap/reset/basic", test_reset);
    g_test_add_func("/hbitmap/reset/unaligned-aborts",
                    test_reset_unaligned_aborts);
    g_test_add_func("/hbitmap/count/unaligned", test_count_unaligned);
    g_test_add_func("/hbitmap/count/huge", test_count_huge);
    g_test_add_func("/hbitmap/next-dirty", test_next_dirty);
    g_test_add_func("/hbitmap/next-zero", test_next_zero);
    g_test_add_func("/hbitmap/next-dirty-area", test_next_dirty_area);
    g_test_add_func("/hbitmap/is-all-set", test_is_all_set);
    g_test_add_func("/hbitmap/iter/basic", test_iter);
    g_test_add_func("/hbitmap/iter/modify", test_iter_modify);
    g_test_add_func("/hbitmap/truncate", test_truncate);
    return g_test_run();
}
