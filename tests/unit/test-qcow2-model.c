/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Model-based random test of the qcow2 driver.
 *
 * For every combination of cluster size (512, 4k, 64k, 2M), version (v2,
 * v3) and backing file (none, or a shorter qcow2 base with random data), a
 * fixed-seed stream of operations runs against the image and against an
 * in-memory model of what the guest must see: writes, zero writes with and
 * without MAY_UNMAP (and with NO_FALLBACK, which may be refused), discards,
 * reads, flushes, reopens and consistency checks.  After every operation a
 * random block-status answer is checked against the model, because block
 * status must never lie:
 *   - ZERO means the model holds zeroes there;
 *   - DATA with a host offset means the file holds the model's bytes there;
 *   - not ALLOCATED means the model equals the backing file's content
 *     (zeroes past its end, or everywhere without one);
 *   - across the chain, ZERO still means zeroes.
 * At the end the whole image is compared, our check must be clean, and,
 * where QEMU is installed, qemu-img check and qemu-img compare against the
 * model written as raw must pass.
 */
#include "qcow2-test-util.h"

#define OPS_PER_CONFIG 700

typedef struct Model {
    const char *dir;
    char *path;
    int cs;
    bool v2;
    bool backing;
    int64_t size;
    int64_t base_size;
    uint8_t *ref;            /* what the guest must read */
    uint8_t *base;           /* the backing file's content (size bytes) */
    BlockBackend *blk;
    GRand *rand;
    unsigned seq;
    unsigned nops;
} Model;

static void fill_random(Model *m, uint8_t *buf, int64_t len)
{
    uint8_t v = g_rand_int(m->rand);

    /* Runs of one value with some noise: cheap and position-revealing. */
    for (int64_t i = 0; i < len; i++) {
        buf[i] = (i % 997) ? v : (uint8_t)(v + 1 + i / 997);
    }
    buf[0] = ++m->seq | 1;
}

/* A random range: mostly small and unaligned, sometimes whole clusters. */
static void random_range(Model *m, int64_t *off, int64_t *len)
{
    int64_t max = MIN(3 * (int64_t)m->cs, 256 * KiB);

    if (g_rand_int_range(m->rand, 0, 4) == 0) {
        int64_t nclusters = m->size / m->cs;
        int64_t c = g_rand_int_range(m->rand, 0, nclusters);
        int64_t n = g_rand_int_range(m->rand, 1, 4);

        *off = c * m->cs;
        *len = MIN(n * m->cs, m->size - *off);
        if (m->cs >= 2 * MiB && g_rand_boolean(m->rand)) {
            *len = MIN(*len, 256 * KiB);
        }
        return;
    }
    *off = g_rand_int_range(m->rand, 0, m->size);
    *len = g_rand_int_range(m->rand, 1, max + 1);
    *len = MIN(*len, m->size - *off);
}

static void model_read_check(Model *m, int64_t off, int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(blk_pread(m->blk, off, len, buf, 0), ==, 0);
    if (memcmp(buf, m->ref + off, len)) {
        for (int64_t i = 0; i < len; i++) {
            if (buf[i] != m->ref[off + i]) {
                g_error("cs=%d v2=%d backing=%d: byte %" PRId64 " reads "
                        "0x%02x, model says 0x%02x", m->cs, m->v2, m->backing,
                        off + i, buf[i], m->ref[off + i]);
            }
        }
    }
}

static bool range_is(const uint8_t *a, const uint8_t *b, int64_t len)
{
    return memcmp(a, b, len) == 0;
}

static bool range_zero(const uint8_t *a, int64_t len)
{
    for (int64_t i = 0; i < len; i++) {
        if (a[i]) {
            return false;
        }
    }
    return true;
}

/* One random block-status query on the top node and one on the chain. */
static void model_status_check(Model *m)
{
    BlockDriverState *bs = blk_bs(m->blk), *file = NULL;
    int64_t off = g_rand_int_range(m->rand, 0, m->size);
    int64_t pnum, map = 0;
    unsigned mode = g_rand_boolean(m->rand) ? BDRV_WANT_PRECISE
                                            : BDRV_WANT_ALLOCATED;
    int ret;

    ret = bdrv_block_status(bs, mode, off, m->size - off, &pnum, &map, &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_cmpint(pnum, >, 0);
    g_assert_cmpint(off + pnum, <=, m->size);
    if ((ret & BDRV_BLOCK_ZERO) && !range_zero(m->ref + off, pnum)) {
        g_error("cs=%d v2=%d backing=%d op %u: status %#x at %" PRId64
                "+%" PRId64 " says zero, model disagrees", m->cs, m->v2,
                m->backing, m->nops, ret, off, pnum);
    }
    if ((ret & BDRV_BLOCK_DATA) && (ret & BDRV_BLOCK_OFFSET_VALID) &&
        !(ret & BDRV_BLOCK_ZERO)) {
        g_autofree uint8_t *buf = g_malloc(pnum);
        int64_t flen = qt_file_size(m->path);
        int64_t n = MAX(0, MIN(pnum, flen - map));

        memset(buf, 0, pnum);
        if (n) {
            qt_file_read(m->path, map, buf, n);
        }
        g_assert_true(range_is(buf, m->ref + off, pnum));
    }
    if (!(ret & BDRV_BLOCK_ALLOCATED)) {
        g_assert_true(range_is(m->base + off, m->ref + off, pnum));
    }
    g_assert_false(ret & BDRV_BLOCK_COMPRESSED);

    ret = bdrv_block_status_above(bs, NULL, false, BDRV_WANT_ZERO, off,
                                  m->size - off, &pnum, NULL, NULL, NULL);
    g_assert_cmpint(ret, >=, 0);
    if (ret & BDRV_BLOCK_ZERO) {
        g_assert_true(range_zero(m->ref + off, pnum));
    }
}

static void model_open(Model *m)
{
    m->blk = qt_open(m->path, NULL);
}

static void model_check_clean(Model *m)
{
    BdrvCheckResult r = qt_check(m->blk, 0);

    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

/* Whole clusters of [off, off + len) that a discard takes. */
static void model_discard(Model *m, int64_t off, int64_t len)
{
    int64_t s = ROUND_UP(off, m->cs);
    int64_t e = QEMU_ALIGN_DOWN(off + len, m->cs);

    if (off + len == m->size) {
        e = m->size;
    }
    if (s >= e) {
        return;
    }
    if (m->v2 && m->backing) {
        /* v2 has no zero flag: the backing file shows again. */
        memcpy(m->ref + s, m->base + s, e - s);
    } else {
        memset(m->ref + s, 0, e - s);
    }
}

static void model_op(Model *m, int i)
{
    int op = g_rand_int_range(m->rand, 0, 100);
    int64_t off, len;
    int ret;

    random_range(m, &off, &len);
    m->nops = i;
    if (getenv("QCOW2_MODEL_TRACE")) {
        fprintf(stderr, "op %d: kind %d off %" PRId64 " len %" PRId64 "\n",
                i, op, off, len);
    }
    if (op < 40) {
        g_autofree uint8_t *buf = g_malloc(len);

        fill_random(m, buf, len);
        g_assert_cmpint(blk_pwrite(m->blk, off, len, buf, 0), ==, 0);
        memcpy(m->ref + off, buf, len);
    } else if (op < 60) {
        BdrvRequestFlags f = g_rand_boolean(m->rand) ? BDRV_REQ_MAY_UNMAP : 0;

        g_assert_cmpint(blk_pwrite_zeroes(m->blk, off, len, f), ==, 0);
        memset(m->ref + off, 0, len);
    } else if (op < 65) {
        ret = blk_pwrite_zeroes(m->blk, off, len, BDRV_REQ_NO_FALLBACK |
                                BDRV_REQ_MAY_UNMAP);
        g_assert_true(ret == 0 || ret == -ENOTSUP);
        if (ret == 0) {
            memset(m->ref + off, 0, len);
        } else {
            /*
             * Refused part way: the pieces before the refusal may be
             * zero already.  Every byte must be either old or zero.
             */
            g_autofree uint8_t *buf = g_malloc(len);

            g_assert_cmpint(blk_pread(m->blk, off, len, buf, 0), ==, 0);
            for (int64_t j = 0; j < len; j++) {
                g_assert_true(buf[j] == m->ref[off + j] || buf[j] == 0);
            }
            memcpy(m->ref + off, buf, len);
        }
    } else if (op < 80) {
        g_assert_cmpint(blk_pdiscard(m->blk, off, len), ==, 0);
        model_discard(m, off, len);
    } else if (op < 95) {
        model_read_check(m, off, len);
    } else if (op < 97) {
        g_assert_cmpint(blk_flush(m->blk), ==, 0);
    } else if (op < 99) {
        blk_unref(m->blk);
        model_open(m);
    } else if (i % 4 == 0) {
        model_check_clean(m);
    }
    model_status_check(m);
}

/* A shorter qcow2 base with random data in random places. */
static void make_base(Model *m)
{
    g_autofree char *base = qt_path(m->dir, "base.qcow2");
    BlockBackend *blk;

    qt_create(base, m->base_size, "\"cluster_size\": 65536");
    blk = qt_open(base, NULL);
    for (int i = 0; i < 40; i++) {
        int64_t off = g_rand_int_range(m->rand, 0, m->base_size);
        int64_t len = g_rand_int_range(m->rand, 1, 3 * m->cs + 1);

        len = MIN(len, m->base_size - off);
        fill_random(m, m->base + off, len);
        g_assert_cmpint(blk_pwrite(blk, off, len, m->base + off, 0), ==, 0);
    }
    blk_unref(blk);
}

static void run_model(const char *dir, int cs, bool v2, bool backing)
{
    Model m = {
        .dir = dir, .cs = cs, .v2 = v2, .backing = backing,
        .size = cs >= 2 * MiB ? 32 * MiB : 8 * MiB,
        .rand = g_rand_new_with_seed(cs * 4 + v2 * 2 + backing),
    };
    g_autofree char *opts = NULL;
    g_autofree char *raw = qt_path(dir, "model.raw");

    m.path = qt_path(dir, "model.qcow2");
    m.base_size = m.size * 3 / 4;
    m.ref = g_malloc0(m.size);
    m.base = g_malloc0(m.size);
    if (backing) {
        make_base(&m);
        memcpy(m.ref, m.base, m.size);
    }
    opts = g_strdup_printf("\"compat\": \"%s\", \"cluster_size\": %d%s",
                           v2 ? "0.10" : "1.1", cs,
                           backing ? ", \"backing_file\": \"base.qcow2\", "
                                     "\"backing_fmt\": \"qcow2\"" : "");
    qt_create(m.path, m.size, opts);
    model_open(&m);
    for (int i = 0; i < OPS_PER_CONFIG; i++) {
        model_op(&m, i);
    }
    model_read_check(&m, 0, m.size);
    model_check_clean(&m);
    blk_unref(m.blk);

    if (qt_have_qemu()) {
        g_autofree char *out = NULL;

        g_assert_true(g_file_set_contents(raw, (char *)m.ref, m.size, NULL));
        if (qt_qemu_check(m.path, &out) != 0) {
            g_error("qemu-img check (cs=%d v2=%d backing=%d):\n%s", cs, v2,
                    backing, out);
        }
        g_assert_cmpint(qt_qemu_compare(m.path, raw), ==, 0);
    }
    g_rand_free(m.rand);
    g_free(m.ref);
    g_free(m.base);
    g_free(m.path);
}

static void test_model(gconstpointer opaque)
{
    int cs = GPOINTER_TO_INT(opaque);
    char *dir = qt_dir_new();

    for (int v2 = 0; v2 <= 1; v2++) {
        for (int backing = 0; backing <= 1; backing++) {
            run_model(dir, cs, v2, backing);
        }
    }
    qt_dir_free(dir);
}

int main(int argc, char **argv)
{
    static const int sizes[] = { 512, 4096, 65536, 2 * 1024 * 1024 };

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2-model/cluster-%d",
                                                sizes[i]);

        g_test_add_data_func(name, GINT_TO_POINTER(sizes[i]), test_model);
    }
    return g_test_run();
}
