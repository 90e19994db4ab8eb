/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target: a program of guest operations on a small qcow2 image,
 * checked against a shadow model of what the guest must read.
 *
 * Input: one configuration byte, then operations of OP_BYTES bytes each
 * (a trailing partial operation is ignored).
 *
 *   config: bits 0-1 cluster size (512, 1k, 4k, 64k), bit 2 compat 0.10
 *   (v2), bit 3 a qcow2 backing file with known content (3/4 of the
 *   size), bit 4 lazy refcounts (v3), bits 5-6 virtual size (1 MiB,
 *   1 MiB + 1.5 KiB, 192 KiB, 64.5 KiB), bit 7 refcount_bits=1 (v3).
 *
 *   operation: kind byte (low nibble the operation, bit 4 a variant,
 *   bit 5 the block-status mode, bit 7 cluster-aligned range), offset (3
 *   bytes, modulo the size), length (3 bytes: 1 + value modulo the
 *   largest length, three clusters or 256 KiB).
 *
 * Operations: write (plain or FUA), write zeroes (with or without
 * MAY_UNMAP; with NO_FALLBACK, which may be refused), discard, read,
 * flush, reopen, check (must be clean), compressed write of one cluster
 * (may be refused), read of the whole image.  After each one the block
 * status at its offset must not lie:
 *   - ZERO means the model holds zeroes there (also across the chain);
 *   - DATA at a host offset of the image file means the file holds the
 *     model's bytes there;
 *   - not ALLOCATED means the model equals the backing content.
 * At the end the whole image must read as the model and check clean, and
 * closing must leave no node behind.
 *
 * The model's rules for discard are the qcow2 ones the unit model test
 * (tests/unit/test-qcow2-model.c) relies on: only whole clusters (or the
 * tail cluster up to the end) are dropped, and they read as zeroes except
 * on v2 with a backing file, where the backing content shows again.
 * Images are made once per configuration with bdrv_create() in a private
 * temporary directory and then served from fuzz-mem nodes.
 */
#include "util/osdep.h"
#include "block/block-backend.h"

#include <json-glib/json-glib.h>
#include "fuzz.h"
#include "fuzz-mem.h"

#define OP_BYTES 7
#define KiB 1024
#define MiB (1024 * 1024)

typedef struct Image {
    uint8_t *data;
    size_t len;
} Image;

typedef struct Model {
    int cs;
    bool v2;
    bool backing;
    int64_t size;
    uint8_t *ref;               /* what the guest must read */
    uint8_t *base;              /* backing content, zeroes past its end */
    BlockDriverState *file;     /* the top image's fuzz-mem node */
    BlockDriverState *base_bs;  /* the backing qcow2 node, or NULL */
    BlockBackend *blk;
    unsigned seq;
    unsigned nop;
} Model;

static char *tmpdir;
static GHashTable *templates;   /* config key -> Image */

static const int cluster_sizes[] = { 512, 1024, 4096, 65536 };
static const int64_t image_sizes[] = {
    1 * MiB, 1 * MiB + 1536, 192 * KiB, 64 * KiB + 512,
};

/* Create a qcow2 file with @opts (JSON members) and return its bytes. */
static Image *make_image(const char *opts, int64_t size)
{
    g_autofree char *path = g_build_filename(tmpdir, "t.qcow2", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"filename\": \"%s\", \"size\": %" PRId64
        "%s%s}", path, size, opts[0] ? ", " : "", opts);
    g_autoptr(JsonObject) o = qdict_parse(json, &error_abort);
    Image *img = g_new0(Image, 1);
    gsize len;

    if (bdrv_create(o, &error_abort) < 0) {
        abort();
    }
    if (!g_file_get_contents(path, (char **)&img->data, &len, NULL)) {
        abort();
    }
    img->len = len;
    unlink(path);
    return img;
}

static void fill(Model *m, uint8_t *buf, int64_t len, uint8_t v)
{
    /* Runs of one value with some noise: cheap and position-revealing. */
    memset(buf, v, len);
    for (int64_t i = 997; i < len; i += 997) {
        buf[i] = v + 1 + i / 997;
    }
    buf[0] = ++m->seq | 1;
}

/*
 * The backing image for @size: a qcow2 of 3/4 of @size written with
 * fill()'s pattern in a few places; its content goes to @content.
 */
static Image *make_base(int64_t size, uint8_t *content)
{
    int64_t bsize = QEMU_ALIGN_DOWN(size * 3 / 4, 512);
    g_autofree char *path = g_build_filename(tmpdir, "b.qcow2", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"driver\": \"qcow2\", \"filename\": \"%s\", \"size\": %" PRId64
        ", \"cluster_size\": 4096}", path, bsize);
    g_autoptr(JsonObject) o = qdict_parse(json, &error_abort);
    Model tmp = { 0 };
    BlockBackend *blk;
    Image *img = g_new0(Image, 1);
    gsize len;

    bdrv_create(o, &error_abort);
    blk = blk_new_open(path, "qcow2", NULL, true, &error_abort);
    for (int64_t off = 0; off < bsize; off += bsize / 5) {
        int64_t n = MIN(bsize / 10 + 777, bsize - off);

        fill(&tmp, content + off, n, (uint8_t)(off >> 9));
        if (blk_pwrite(blk, off, n, content + off, 0) < 0) {
            abort();
        }
    }
    blk_unref(blk);
    if (!g_file_get_contents(path, (char **)&img->data, &len, NULL)) {
        abort();
    }
    img->len = len;
    unlink(path);
    return img;
}

static Image *get_template(uint8_t config)
{
    int cs = cluster_sizes[config & 3];
    bool v2 = config & 4, lazy = (config & 16) && !v2;
    bool rc1 = (config & 128) && !v2;
    int64_t size = image_sizes[(config >> 5) & 3];
    guint key = config & ~8u;
    Image *img = g_hash_table_lookup(templates, GUINT_TO_POINTER(key));
    g_autofree char *opts = NULL;

    if (!img) {
        opts = g_strdup_printf("\"cluster_size\": %d, \"compat\": \"%s\", "
                               "\"lazy_refcounts\": %s, "
                               "\"refcount_bits\": %d",
                               cs, v2 ? "0.10" : "1.1",
                               lazy ? "true" : "false", rc1 ? 1 : 16);
        img = make_image(opts, size);
        g_hash_table_insert(templates, GUINT_TO_POINTER(key), img);
    }
    return img;
}

static Image *get_base(int64_t size, uint8_t *content)
{
    static Image *bases[G_N_ELEMENTS(image_sizes)];
    static uint8_t *contents[G_N_ELEMENTS(image_sizes)];
    size_t i = 0;

    while (image_sizes[i] != size) {
        i++;
    }
    if (!bases[i]) {
        contents[i] = g_malloc0(size);
        bases[i] = make_base(size, contents[i]);
    }
    memcpy(content, contents[i], size);
    return bases[i];
}

static void model_open(Model *m)
{
    g_autoptr(JsonObject) opts = qdict_new();
    BlockDriverState *bs;

    qdict_put_str(opts, "driver", "qcow2");
    qdict_put_str(opts, "file", bdrv_get_node_name(m->file));
    qdict_put_str(opts, "discard", "unmap");
    if (m->base_bs) {
        qdict_put_str(opts, "backing", bdrv_get_node_name(m->base_bs));
    } else {
        json_object_set_null_member(opts, "backing");
    }
    bs = bdrv_open_options(opts, &error_abort);
    m->blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                             BLK_PERM_RESIZE, BLK_PERM_ALL, &error_abort);
    bdrv_unref(bs);
}

static void open_base(Model *m, Image *img)
{
    g_autoptr(JsonObject) opts = qdict_new();
    BlockDriverState *file = fuzz_mem_open(img->data, img->len, true);

    qdict_put_str(opts, "driver", "qcow2");
    qdict_put_str(opts, "file", bdrv_get_node_name(file));
    qdict_put_bool(opts, "read-only", true);
    json_object_set_null_member(opts, "backing");
    m->base_bs = bdrv_open_options(opts, &error_abort);
    bdrv_unref(file);
}

static bool range_zero(const uint8_t *a, int64_t len)
{
    return len == 0 || (a[0] == 0 && !memcmp(a, a + 1, len - 1));
}

static void read_check(Model *m, int64_t off, int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    int ret = blk_pread(m->blk, off, len, buf, 0);

    if (ret < 0) {
        fuzz_fail("op %u: read %" PRId64 "+%" PRId64 " failed: %s", m->nop,
                  off, len, strerror(-ret));
    }
    if (!memcmp(buf, m->ref + off, len)) {
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != m->ref[off + i]) {
            fuzz_fail("op %u: byte %" PRId64 " reads 0x%02x, model says "
                      "0x%02x", m->nop, off + i, buf[i], m->ref[off + i]);
        }
    }
}

/* Status @ret maps [off, off + pnum) to @map in the image file. */
static void check_host(Model *m, int ret, int64_t off, int64_t pnum,
                       int64_t map)
{
    int64_t flen;
    const uint8_t *fdata = fuzz_mem_data(m->file, &flen);

    if (map + pnum <= flen && !memcmp(fdata + map, m->ref + off, pnum)) {
        return;
    }
    for (int64_t i = 0; i < pnum; i++) {
        uint8_t host = map + i < flen ? fdata[map + i] : 0;

        if (host != m->ref[off + i]) {
            fuzz_fail("op %u: status %#x maps %" PRId64 "+%" PRId64
                      " to host %" PRId64 ", whose byte %" PRId64
                      " is 0x%02x, the model says 0x%02x", m->nop, ret,
                      off, pnum, map, i, host, m->ref[off + i]);
        }
    }
}

static void status_check(Model *m, int64_t off, bool precise)
{
    BlockDriverState *bs = blk_bs(m->blk), *file = NULL;
    unsigned mode = precise ? BDRV_WANT_PRECISE : BDRV_WANT_ALLOCATED;
    int64_t pnum = 0, map = 0;
    int ret;

    ret = bdrv_block_status(bs, mode, off, m->size - off, &pnum, &map, &file);
    if (ret < 0) {
        fuzz_fail("op %u: block status at %" PRId64 " failed: %s", m->nop,
                  off, strerror(-ret));
    }
    fuzz_assert(pnum > 0 && off + pnum <= m->size);
    if ((ret & BDRV_BLOCK_ZERO) && !range_zero(m->ref + off, pnum)) {
        fuzz_fail("op %u: status %#x at %" PRId64 "+%" PRId64 " says zero, "
                  "the model disagrees", m->nop, ret, off, pnum);
    }
    if ((ret & BDRV_BLOCK_DATA) && (ret & BDRV_BLOCK_OFFSET_VALID) &&
        !(ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_COMPRESSED)) &&
        file == m->file) {
        check_host(m, ret, off, pnum, map);
    }
    if (!(ret & BDRV_BLOCK_ALLOCATED) &&
        memcmp(m->base + off, m->ref + off, pnum)) {
        fuzz_fail("op %u: status %#x at %" PRId64 "+%" PRId64 " says "
                  "unallocated, the model differs from the backing file",
                  m->nop, ret, off, pnum);
    }

    ret = bdrv_block_status_above(bs, NULL, false, BDRV_WANT_ZERO, off,
                                  m->size - off, &pnum, NULL, NULL, NULL);
    fuzz_assert(ret >= 0 && pnum > 0 && off + pnum <= m->size);
    if ((ret & BDRV_BLOCK_ZERO) && !range_zero(m->ref + off, pnum)) {
        fuzz_fail("op %u: chain status %#x at %" PRId64 "+%" PRId64
                  " says zero, the model disagrees", m->nop, ret, off, pnum);
    }
}

static void check_clean(Model *m)
{
    BdrvCheckResult r;

    memset(&r, 0, sizeof(r));
    fuzz_assert(bdrv_check(blk_bs(m->blk), &r, 0) == 0);
    if (r.corruptions || r.leaks || r.check_errors) {
        fuzz_fail("op %u: check finds %d corruptions, %d leaks, %d errors",
                  m->nop, r.corruptions, r.leaks, r.check_errors);
    }
}

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
        memcpy(m->ref + s, m->base + s, e - s);
    } else {
        memset(m->ref + s, 0, e - s);
    }
}

/*
 * A request that may be refused or stop part way (@ret < 0): every byte
 * must read as before or as @want (NULL: zero); the model takes what is
 * there.
 */
static void accept_partial(Model *m, int64_t off, int64_t len,
                           const uint8_t *want, int ret)
{
    g_autofree uint8_t *buf = g_malloc(len);

    fuzz_assert(blk_pread(m->blk, off, len, buf, 0) == 0);
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != m->ref[off + i] && buf[i] != (want ? want[i] : 0)) {
            fuzz_fail("op %u: refused request (%s) left byte %" PRId64
                      " as 0x%02x", m->nop, strerror(-ret), off + i, buf[i]);
        }
    }
    memcpy(m->ref + off, buf, len);
}

static void run_op(Model *m, const uint8_t *p)
{
    int kind = p[0] & 15;
    bool variant = p[0] & 16;
    int64_t max = MIN(3 * (int64_t)m->cs, 256 * KiB);
    int64_t off = ((p[1] << 16) | (p[2] << 8) | p[3]) % m->size;
    int64_t len = 1 + ((p[4] << 16) | (p[5] << 8) | p[6]) % max;
    g_autofree uint8_t *buf = NULL;
    int ret;

    if ((p[0] & 128) || kind == 11) {
        off = QEMU_ALIGN_DOWN(off, m->cs);
        len = kind == 11 ? m->cs : ROUND_UP(len, m->cs);
    }
    len = MIN(len, m->size - off);

    switch (kind) {
    case 0: case 1: case 2:
        buf = g_malloc(len);
        fill(m, buf, len, p[1] ^ p[6]);
        ret = blk_pwrite(m->blk, off, len, buf, variant ? BDRV_REQ_FUA : 0);
        if (ret < 0) {
            fuzz_fail("op %u: write failed: %s", m->nop, strerror(-ret));
        }
        memcpy(m->ref + off, buf, len);
        break;
    case 3:
        ret = blk_pwrite_zeroes(m->blk, off, len,
                                variant ? BDRV_REQ_MAY_UNMAP : 0);
        if (ret < 0) {
            fuzz_fail("op %u: write zeroes failed: %s", m->nop,
                      strerror(-ret));
        }
        memset(m->ref + off, 0, len);
        break;
    case 4:
        ret = blk_pwrite_zeroes(m->blk, off, len, BDRV_REQ_NO_FALLBACK |
                                (variant ? BDRV_REQ_MAY_UNMAP : 0));
        if (ret == 0) {
            memset(m->ref + off, 0, len);
        } else if (ret == -ENOTSUP) {
            accept_partial(m, off, len, NULL, ret);
        } else {
            fuzz_fail("op %u: write zeroes without fallback: %s", m->nop,
                      strerror(-ret));
        }
        break;
    case 5:
        ret = blk_pdiscard(m->blk, off, len);
        if (ret < 0) {
            fuzz_fail("op %u: discard failed: %s", m->nop, strerror(-ret));
        }
        model_discard(m, off, len);
        break;
    case 6: case 7:
        read_check(m, off, len);
        break;
    case 8:
        fuzz_assert(blk_flush(m->blk) == 0);
        break;
    case 9:
        blk_unref(m->blk);
        model_open(m);
        break;
    case 10:
        check_clean(m);
        break;
    case 11:
        buf = g_malloc(len);
        if (variant) {
            memset(buf, p[5], len);     /* compresses well */
        } else {
            fill(m, buf, len, p[6]);
        }
        ret = blk_pwrite(m->blk, off, len, buf, BDRV_REQ_WRITE_COMPRESSED);
        if (ret == 0) {
            memcpy(m->ref + off, buf, len);
        } else {
            accept_partial(m, off, len, buf, ret);
        }
        break;
    case 12:
        break;                          /* block status only */
    case 13:
        read_check(m, 0, m->size);
        break;
    default:
        /* Small unaligned zero writes, the read-modify-write path. */
        len = MIN(1 + p[6] % 700, m->size - off);
        ret = blk_pwrite_zeroes(m->blk, off, len, BDRV_REQ_MAY_UNMAP);
        fuzz_assert(ret == 0);
        memset(m->ref + off, 0, len);
        break;
    }
    status_check(m, off, p[0] & 32);
}

static void cleanup_tmpdir(void)
{
    rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    tmpdir = g_dir_make_tmp("fuzz-ops-XXXXXX", NULL);
    if (!tmpdir) {
        abort();
    }
    atexit(cleanup_tmpdir);
    templates = g_hash_table_new(NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t config = size ? data[0] : 0;
    Model m = {
        .cs = cluster_sizes[config & 3],
        .v2 = config & 4,
        .backing = config & 8,
        .size = image_sizes[(config >> 5) & 3],
    };
    Image *img;

    if (size < 1) {
        return -1;
    }
    img = get_template(config);
    m.ref = g_malloc0(m.size);
    m.base = g_malloc0(m.size);
    if (m.backing) {
        open_base(&m, get_base(m.size, m.base));
        memcpy(m.ref, m.base, m.size);
    }
    m.file = fuzz_mem_open(img->data, img->len, false);
    model_open(&m);

    for (size_t i = 1; i + OP_BYTES <= size; i += OP_BYTES) {
        m.nop = (i - 1) / OP_BYTES;
        run_op(&m, data + i);
    }
    m.nop = UINT_MAX;
    read_check(&m, 0, m.size);
    check_clean(&m);

    blk_unref(m.blk);
    bdrv_unref(m.file);
    if (m.base_bs) {
        bdrv_unref(m.base_bs);
    }
    {
        g_autoptr(GList) left = bdrv_list_nodes();

        fuzz_assert(left == NULL);
    }
    g_free(m.ref);
    g_free(m.base);
    return 0;
}
