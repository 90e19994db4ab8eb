/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the hierarchical bitmap (util/hbitmap.c).
 *
 * The first half checks each function on hand-picked cases, with the
 * expected values worked out in the comments: empty and one-item bitmaps,
 * granularities 0, 3, 4, 9, 16, 50 and 63, ranges that cross 64-bit word
 * boundaries or end at the size, and sizes that are not a multiple of the
 * granule.
 *
 * The second half is a model test: a plain bool array with one entry per
 * granule is driven through the same random operations as an HBitmap, and
 * every answer is compared.  Seeds are fixed so that a failure reproduces; a
 * mismatch prints the seed and the index of the operation.
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

/*
 * The model test.
 *
 * The model keeps one bool per granule and answers every query by walking
 * that array granule by granule.  It shares no code with util/hbitmap.c.
 */
typedef struct Model {
    GRand *rand;
    guint32 seed;
    uint64_t op;                /* index of the operation being checked */
    const char *op_name;
    uint64_t max_size;          /* largest size truncate may pick */
    int gran;
    uint64_t size;              /* items */
    uint64_t ngran;             /* granules */
    bool *set;                  /* ngran entries */
    uint64_t count;             /* set items, kept as granules flip */
    HBitmap *hb;
} Model;

static void model_fail(const Model *m, int line, const char *what,
                       int64_t got, int64_t expected)
{
    fprintf(stderr, "hbitmap model mismatch: seed %" PRIu32 ", operation %"
            PRIu64 " (%s), size %" PRIu64 ", granularity %d: %s is %"
            PRId64 ", expected %" PRId64 " (test line %d)\n",
            m->seed, m->op, m->op_name, m->size, m->gran, what, got,
            expected, line);
    g_test_message("model mismatch: seed %" PRIu32 ", operation %" PRIu64,
                   m->seed, m->op);
    g_assert_cmpint(got, ==, expected);
}

#define MODEL_CMP(m, got, expected) \
    do { \
        int64_t got_ = (int64_t)(got); \
        int64_t exp_ = (int64_t)(expected); \
        if (got_ != exp_) { \
            model_fail((m), __LINE__, #got, got_, exp_); \
        } \
    } while (0)

static uint64_t gran_start(const Model *m, uint64_t k)
{
    return k << m->gran;
}

/* One past the last item of granule k (which may be partial). */
static uint64_t gran_end(const Model *m, uint64_t k)
{
    return MIN(m->size, (k + 1) << m->gran);
}

static void model_mark(Model *m, uint64_t k, bool value)
{
    if (m->set[k] != value) {
        uint64_t n = gran_end(m, k) - gran_start(m, k);

        m->count = value ? m->count + n : m->count - n;
        m->set[k] = value;
    }
}

static void model_fill(Model *m, uint64_t start, uint64_t count, bool value)
{
    uint64_t k;

    if (count == 0) {
        return;
    }
    for (k = start >> m->gran; k <= (start + count - 1) >> m->gran; k++) {
        model_mark(m, k, value);
    }
}

/* End of a (start, count) search, as the API defines it; 0 if empty. */
static uint64_t model_search_end(const Model *m, int64_t start, int64_t count)
{
    if ((uint64_t)start >= m->size || count == 0) {
        return 0;
    }
    if (count == -1 || (uint64_t)count >= m->size - start) {
        return m->size;
    }
    return start + count;
}

static int64_t model_next(const Model *m, int64_t start, int64_t count,
                          bool value)
{
    uint64_t end = model_search_end(m, start, count);
    uint64_t k;

    for (k = (uint64_t)start >> m->gran; gran_start(m, k) < end; k++) {
        if (m->set[k] == value) {
            return MAX((uint64_t)start, gran_start(m, k));
        }
    }
    return -1;
}

static bool model_dirty_area(const Model *m, int64_t start, int64_t end,
                             int64_t max, int64_t *ds, int64_t *dc)
{
    uint64_t first, stop, k;
    int64_t s;

    end = MIN((uint64_t)end, m->size);
    if (start >= end) {
        return false;
    }
    s = model_next(m, start, end - start, true);
    if (s < 0) {
        return false;
    }
    first = stop = s;
    for (k = first >> m->gran; stop < (uint64_t)end && m->set[k]; k++) {
        stop = MIN(gran_end(m, k), (uint64_t)end);
        if (stop - first >= (uint64_t)max) {
            break;
        }
    }
    *ds = first;
    *dc = MIN(stop - first, (uint64_t)max);
    return true;
}

static uint64_t rand64(Model *m, uint64_t n)
{
    uint64_t r = ((uint64_t)g_rand_int(m->rand) << 32) | g_rand_int(m->rand);

    return n ? r % n : 0;
}

static bool chance(Model *m, int percent)
{
    return g_rand_int_range(m->rand, 0, 100) < percent;
}

/* The size of three granules, capped to stay a valid int64_t. */
static uint64_t three_granules(const Model *m)
{
    return m->gran < 61 ? UINT64_C(3) << m->gran : INT64_MAX - 1;
}

/* A random item of granule k. */
static uint64_t item_in(Model *m, uint64_t k)
{
    return gran_start(m, k) + rand64(m, gran_end(m, k) - gran_start(m, k));
}

/*
 * Pick granules g0 <= g1 (ngran > 0): mostly short runs of up to 4096
 * granules, often starting next to a word boundary, and now and then the
 * whole bitmap.
 */
static void pick_granules(Model *m, uint64_t *g0, uint64_t *g1)
{
    uint64_t len;

    if (chance(m, 1)) {
        *g0 = 0;
        *g1 = m->ngran - 1;
        return;
    }
    len = 1 + rand64(m, UINT64_C(1) << g_rand_int_range(m->rand, 0, 13));
    len = MIN(len, m->ngran);
    *g0 = rand64(m, m->ngran - len + 1);
    if (chance(m, 25)) {
        uint64_t snapped = QEMU_ALIGN_DOWN(*g0, 64) + rand64(m, 3);

        *g0 = snapped >= 1 ? snapped - 1 : 0;
        *g0 = MIN(*g0, m->ngran - len);
    }
    *g1 = *g0 + len - 1;
}

/* A random (start, count) inside the bitmap; count may be 0. */
static void pick_range(Model *m, uint64_t *start, uint64_t *count)
{
    uint64_t g0, g1, last;

    if (m->ngran == 0 || chance(m, 4)) {
        *start = rand64(m, m->size + 1);
        *count = 0;
        return;
    }
    pick_granules(m, &g0, &g1);
    *start = item_in(m, g0);
    last = item_in(m, g1);
    if (last < *start) {
        uint64_t tmp = last;

        last = *start;
        *start = tmp;
    }
    *count = last - *start + 1;
}

/* A search start: usually inside the bitmap, sometimes at or past its end. */
static int64_t pick_search_start(Model *m)
{
    if (m->ngran == 0 || chance(m, 3)) {
        uint64_t past = rand64(m, 100);

        return m->size + MIN(past, INT64_MAX - m->size);
    }
    return item_in(m, rand64(m, m->ngran));
}

/* A search count for a search from start: -1, 0, huge, or a range. */
static int64_t pick_search_count(Model *m, int64_t start)
{
    int r = g_rand_int_range(m->rand, 0, 100);
    uint64_t s, c;

    if (r < 3) {
        return -1;
    } else if (r < 6) {
        return 0;
    } else if (r < 9) {
        return INT64_MAX - start;
    }
    pick_range(m, &s, &c);
    return MAX(c, 1);
}

static void model_check_all(Model *m)
{
    HBitmapIter hbi;
    uint64_t k, brute = 0;

    m->op_name = "full check";
    MODEL_CMP(m, hbitmap_size(m->hb), m->size);
    MODEL_CMP(m, hbitmap_granularity(m->hb), m->gran);
    MODEL_CMP(m, hbitmap_count(m->hb), m->count);
    MODEL_CMP(m, hbitmap_is_empty(m->hb), m->count == 0);
    hbitmap_iter_init(&hbi, m->hb, 0);
    for (k = 0; k < m->ngran; k++) {
        MODEL_CMP(m, hbitmap_get(m->hb, gran_start(m, k)), m->set[k]);
        MODEL_CMP(m, hbitmap_get(m->hb, gran_end(m, k) - 1), m->set[k]);
        if (m->set[k]) {
            brute += gran_end(m, k) - gran_start(m, k);
            MODEL_CMP(m, hbitmap_iter_next(&hbi), gran_start(m, k));
        }
    }
    MODEL_CMP(m, hbitmap_iter_next(&hbi), -1);
    MODEL_CMP(m, brute, m->count);
}

static void model_truncate(Model *m, uint64_t size)
{
    uint64_t old = m->ngran;
    uint64_t k;
    bool last_set;

    /* Forget the dropped granules while m->size still covers them. */
    m->ngran = (size >> m->gran) + ((size & ((UINT64_C(1) << m->gran) - 1))
                                    != 0);
    for (k = m->ngran; k < old; k++) {
        model_mark(m, k, false);
    }
    /* The last granule kept from before may gain or lose items. */
    k = MIN(old, m->ngran);
    last_set = k > 0 && m->set[k - 1];
    if (last_set) {
        m->count -= gran_end(m, k - 1) - gran_start(m, k - 1);
    }
    m->size = size;
    if (last_set) {
        m->count += gran_end(m, k - 1) - gran_start(m, k - 1);
    }
    m->set = g_renew(bool, m->set, MAX(m->ngran, 1));
    for (k = old; k < m->ngran; k++) {
        m->set[k] = false;
    }
    hbitmap_truncate(m->hb, size);
}

static void model_step(Model *m)
{
    int op = g_rand_int_range(m->rand, 0, 1000);
    uint64_t start, count;
    int64_t s, c, ds, dc, eds = -7, edc = -7;
    bool found;

    if (op < 200) {
        m->op_name = "set";
        pick_range(m, &start, &count);
        hbitmap_set(m->hb, start, count);
        model_fill(m, start, count, true);
        MODEL_CMP(m, hbitmap_count(m->hb), m->count);
    } else if (op < 350) {
        uint64_t g0, g1;

        m->op_name = "reset";
        if (m->ngran == 0) {
            return;
        }
        pick_granules(m, &g0, &g1);
        start = gran_start(m, g0);
        count = gran_end(m, g1) - start;
        hbitmap_reset(m->hb, start, count);
        model_fill(m, start, count, false);
        MODEL_CMP(m, hbitmap_count(m->hb), m->count);
    } else if (op < 450) {
        m->op_name = "get";
        if (m->ngran == 0) {
            return;
        }
        start = item_in(m, rand64(m, m->ngran));
        MODEL_CMP(m, hbitmap_get(m->hb, start), m->set[start >> m->gran]);
    } else if (op < 480) {
        m->op_name = "count";
        MODEL_CMP(m, hbitmap_count(m->hb), m->count);
        MODEL_CMP(m, hbitmap_is_empty(m->hb), m->count == 0);
    } else if (op < 600) {
        m->op_name = "next_dirty";
        s = pick_search_start(m);
        c = pick_search_count(m, s);
        MODEL_CMP(m, hbitmap_next_dirty(m->hb, s, c), model_next(m, s, c, 1));
    } else if (op < 720) {
        m->op_name = "next_zero";
        s = pick_search_start(m);
        c = pick_search_count(m, s);
        MODEL_CMP(m, hbitmap_next_zero(m->hb, s, c), model_next(m, s, c, 0));
    } else if (op < 800) {
        int64_t end, max;

        m->op_name = "next_dirty_area";
        s = pick_search_start(m);
        c = pick_search_count(m, s);
        end = (c < 0 || c > INT64_MAX - s) ? INT64_MAX : s + c;
        if (chance(m, 5)) {
            int64_t back = 1 + rand64(m, 10);

            end = s - MIN(s, back);
        }
        max = chance(m, 30) ? 1 + (int64_t)rand64(m, three_granules(m)) :
              INT64_MAX;
        ds = dc = -7;
        found = hbitmap_next_dirty_area(m->hb, s, end, max, &ds, &dc);
        MODEL_CMP(m, found, model_dirty_area(m, s, end, max, &eds, &edc));
        MODEL_CMP(m, ds, eds);
        MODEL_CMP(m, dc, edc);
    } else if (op < 880) {
        uint64_t k;

        m->op_name = "is_all_set";
        pick_range(m, &start, &count);
        found = true;
        for (k = start >> m->gran; count && k <= (start + count - 1) >> m->gran;
             k++) {
            found = found && m->set[k];
        }
        MODEL_CMP(m, hbitmap_is_all_set(m->hb, start, count), found);
    } else if (op < 990) {
        HBitmapIter hbi;
        uint64_t k;
        int steps = g_rand_int_range(m->rand, 1, 40);

        m->op_name = "iter";
        start = (uint64_t)pick_search_start(m);
        hbitmap_iter_init(&hbi, m->hb, start);
        for (k = start >> m->gran; steps-- > 0; k++) {
            while (k < m->ngran && !m->set[k]) {
                k++;
            }
            MODEL_CMP(m, hbitmap_iter_next(&hbi),
                      k < m->ngran ? (int64_t)gran_start(m, k) : -1);
            if (k >= m->ngran) {
                break;
            }
        }
    } else if (op < 993) {
        m->op_name = "set_all";
        hbitmap_set_all(m->hb);
        model_fill(m, 0, m->size, true);
        MODEL_CMP(m, hbitmap_count(m->hb), m->size);
    } else if (op < 996) {
        m->op_name = "reset_all";
        hbitmap_reset_all(m->hb);
        model_fill(m, 0, m->size, false);
        MODEL_CMP(m, hbitmap_count(m->hb), 0);
    } else {
        m->op_name = "truncate";
        if (chance(m, 50)) {
            /* Move the size by a little, often inside the last granule. */
            uint64_t delta = rand64(m, three_granules(m));

            start = chance(m, 50) ? m->size - MIN(delta, m->size) :
                    m->size + MIN(delta, m->max_size - m->size);
        } else {
            start = rand64(m, m->max_size + 1);
        }
        model_truncate(m, start);
        model_check_all(m);
    }
}

typedef struct ModelConfig {
    uint64_t size;
    int gran;
    int ops;                    /* per seed */
} ModelConfig;

static const guint32 model_seeds[] = { 1, 0x5eed, 20240601 };

static void run_model(gconstpointer opaque)
{
    const ModelConfig *cfg = opaque;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(model_seeds); i++) {
        Model m = {
            .rand = g_rand_new_with_seed(model_seeds[i]),
            .seed = model_seeds[i],
            .gran = cfg->gran,
            .max_size = cfg->size > INT64_MAX / 2 ? INT64_MAX : cfg->size * 2,
            .op_name = "alloc",
        };
        int n;

        m.hb = hbitmap_alloc(cfg->size, cfg->gran);
        model_truncate(&m, cfg->size);  /* sets up size, ngran and set[] */
        model_check_all(&m);
        for (n = 0; n < cfg->ops; n++) {
            m.op = n;
            model_step(&m);
            if (n % 2000 == 1999) {
                model_check_all(&m);
            }
        }
        m.op = cfg->ops;
        model_check_all(&m);
        hbitmap_free(m.hb);
        g_free(m.set);
        g_rand_free(m.rand);
    }
    g_test_message("%d random operations with each of %zu seeds",
                   cfg->ops, G_N_ELEMENTS(model_seeds));
}

static const ModelConfig model_configs[] = {
    { 1, 0, 4000 },
    { 64, 0, 10000 },
    { 65, 0, 10000 },
    { 1000, 0, 20000 },
    { 4133, 0, 20000 },
    { 5000 * 8 + 3, 3, 20000 },
    { 512 * 3000 + 100, 9, 20000 },
    { 65536 * 2000 + 1, 16, 20000 },
    { (UINT64_C(1) << 40) + 7, 29, 10000 },
    { INT64_MAX, 51, 10000 },
    { 12345, 63, 4000 },
    { 64 * 64 * 64 + 100, 0, 10000 },
};

int main(int argc, char **argv)
{
    size_t i;

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
    for (i = 0; i < G_N_ELEMENTS(model_configs); i++) {
        g_autofree char *path =
            g_strdup_printf("/hbitmap/model/size-%" PRIu64 "-gran-%d",
                            model_configs[i].size, model_configs[i].gran);

        g_test_add_data_func(path, &model_configs[i], run_model);
    }
    return g_test_run();
}
