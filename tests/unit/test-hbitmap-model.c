/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Model test for the hierarchical bitmap (util/hbitmap.c): a plain bool
 * array with one entry per granule is driven through the same random
 * operations as an HBitmap, and every answer is compared.  Seeds are fixed
 * so that a failure reproduces; a mismatch prints the seed and the index of
 * the operation.  The hand-picked cases are in test-hbitmap.c.
 */
#include "util/osdep.h"
#include "util/hbitmap.h"

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
    for (i = 0; i < G_N_ELEMENTS(model_configs); i++) {
        g_autofree char *path =
            g_strdup_printf("/hbitmap/model/size-%" PRIu64 "-gran-%d",
                            model_configs[i].size, model_configs[i].gran);

        g_test_add_data_func(path, &model_configs[i], run_model);
    }
    return g_test_run();
}
