/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the qcow2 driver, through the public API, with QEMU 7.2's
 * qemu-img and qemu-io as the judge where they are installed: images we
 * write must pass `qemu-img check` and compare identical to a raw
 * reference written alongside; images QEMU writes must read back the same
 * through emblock, and our check must agree with QEMU's.
 *
 * Covered: creation (layout identical to qemu-img's, option errors), read/
 * write/zero/discard round trips for v2 and v3 and several cluster sizes,
 * zero writes that change nothing writing nothing, backing chains and COW,
 * compressed clusters, block status, internal snapshots written by QEMU,
 * concurrent allocating writes.  Metadata (hostile headers, check and
 * repair, lazy refcounts, growth, events) is in test-qcow2-metadata.c.
 */
#include "qcow2-test-util.h"

#define IMG_SIZE (4 * MiB)

static const int cluster_sizes[] = { 512, 4096, 65536, 2 * 1024 * 1024 };

/* Creation options for version @v2 and cluster size @cs (g_free it). */
static char *create_opts(bool v2, int cs)
{
    return g_strdup_printf("\"compat\": \"%s\", \"cluster_size\": %d",
                           v2 ? "0.10" : "1.1", cs);
}

/* Creation */

static void test_create_layout(void)
{
    char *dir = qt_dir_new();

    for (int v2 = 0; v2 <= 1; v2++) {
        for (size_t i = 0; i < G_N_ELEMENTS(cluster_sizes); i++) {
            int cs = cluster_sizes[i];
            g_autofree char *ours = qt_path(dir, "ours.qcow2");
            g_autofree char *theirs = qt_path(dir, "theirs.qcow2");
            g_autofree char *opts = create_opts(v2, cs);
            g_autofree char *a = NULL, *b = NULL;
            BlockBackend *blk;
            BlockDriverInfo bdi;

            qt_create(ours, 64 * MiB, opts);
            blk = qt_open(ours, NULL);
            g_assert_cmpint(blk_getlength(blk), ==, 64 * MiB);
            g_assert_cmpint(bdrv_get_info(blk_bs(blk), &bdi), ==, 0);
            g_assert_cmpint(bdi.cluster_size, ==, cs);
            g_assert_false(bdi.is_dirty);
            qt_close_clean(blk, ours);
            if (!qt_have_qemu()) {
                continue;
            }
            {
                g_autofree char *o = g_strdup_printf(
                    "compat=%s,cluster_size=%d", v2 ? "0.10" : "1.1", cs);
                const char *argv[] = { QEMU_IMG, "create", "-q", "-f",
                                       "qcow2", "-o", o, theirs, "64M",
                                       NULL };

                g_assert_cmpint(qt_run(argv, NULL), ==, 0);
            }
            a = qt_file_checksum(ours);
            b = qt_file_checksum(theirs);
            g_assert_cmpstr(a, ==, b);
        }
    }
    qt_dir_free(dir);
}

static void test_create_options(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "x.qcow2");
    static const struct {
        const char *opts;
        const char *msg;
    } bad[] = {
        { "\"cluster_size\": 1000",
          "Cluster size must be a power of two between 512 and 2048k" },
        { "\"cluster_size\": 4194304",
          "Cluster size must be a power of two between 512 and 2048k" },
        { "\"refcount_bits\": 3",
          "Refcount width must be a power of two and may not exceed 64 "
          "bits" },
        { "\"compat\": \"0.10\", \"lazy_refcounts\": true",
          "Lazy refcounts only supported with compatibility level 1.1 and "
          "above (use version=v3 or greater)" },
        { "\"backing_fmt\": \"raw\"",
          "Backing format cannot be used without backing file" },
        { "\"backing_file\": \"b\", \"preallocation\": \"metadata\"",
          "Backing file and preallocation can only be used at the same "
          "time if extended_l2 is on" },
        { "\"extended_l2\": true", "Extended L2 entries are not supported" },
        { "\"compression_type\": \"zstd\"",
          "Compression type 'zstd' is not supported" },
        { "\"compat\": \"2\"",
          "Parameter 'compat' does not accept value '2'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *msg = qt_create_err(p, MiB, bad[i].opts);

        g_assert_nonnull(msg);
        if (!g_str_has_prefix(msg, bad[i].msg)) {
            g_error("creating with %s: '%s', expected '%s'", bad[i].opts,
                    msg, bad[i].msg);
        }
    }
    /* Sizes are rounded up to whole sectors, as qemu-img does. */
    qt_create(p, 1000, NULL);
    {
        BlockBackend *blk = qt_open(p, NULL);

        g_assert_cmpint(blk_getlength(blk), ==, 1024);
        blk_unref(blk);
    }
    qt_dir_free(dir);
}

/* Round trips */

/*
 * Writes, zero writes (with and without unmap) and discards against a
 * reference buffer, for one version and cluster size; then QEMU checks the
 * image and compares it with the reference written as raw.
 */
static void roundtrip_one(const char *dir, bool v2, int cs)
{
    g_autofree char *p = qt_path(dir, "rt.qcow2");
    g_autofree char *raw = qt_path(dir, "rt.raw");
    g_autofree char *opts = create_opts(v2, cs);
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    g_autofree uint8_t *data = g_malloc(IMG_SIZE);
    BlockBackend *blk;
    GRand *rand = g_rand_new_with_seed(cs + v2);

    qt_create(p, IMG_SIZE, opts);
    blk = qt_open(p, NULL);
    for (int i = 0; i < 200; i++) {
        int64_t off = g_rand_int_range(rand, 0, IMG_SIZE);
        int64_t len = g_rand_int_range(rand, 1, 3 * cs + 1000);
        int op = g_rand_int_range(rand, 0, 10);

        len = MIN(len, IMG_SIZE - off);
        if (op < 6) {
            qt_fill_pattern(data, len, i);
            g_assert_cmpint(blk_pwrite(blk, off, len, data, 0), ==, 0);
            memcpy(ref + off, data, len);
        } else if (op < 9) {
            g_assert_cmpint(blk_pwrite_zeroes(blk, off, len,
                                              op == 8 ? BDRV_REQ_MAY_UNMAP
                                                      : 0), ==, 0);
            memset(ref + off, 0, len);
        } else {
            /* Advisory: only whole clusters go, and read back as zero. */
            int64_t s = ROUND_UP(off, cs), e = QEMU_ALIGN_DOWN(off + len, cs);

            g_assert_cmpint(blk_pdiscard(blk, off, len), ==, 0);
            if (s < e) {
                memset(ref + s, 0, e - s);
            }
        }
        if (i % 50 == 49) {
            qt_assert_reads(blk, ref, 0, IMG_SIZE);
        }
    }
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    qt_assert_check_clean(blk);
    blk_unref(blk);

    blk = qt_open_ro(p, NULL);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    blk_unref(blk);
    qt_assert_qemu_matches(p, raw, ref, IMG_SIZE);
    g_rand_free(rand);
}

static void test_roundtrip(void)
{
    char *dir = qt_dir_new();

    for (int v2 = 0; v2 <= 1; v2++) {
        for (size_t i = 0; i < G_N_ELEMENTS(cluster_sizes); i++) {
            roundtrip_one(dir, v2, cluster_sizes[i]);
        }
    }
    qt_dir_free(dir);
}

/* Zero writes */

static void stats_equal(const BdrvMetadataStats *a, const BdrvMetadataStats *b)
{
    g_assert_cmpuint(a->header_writes, ==, b->header_writes);
    g_assert_cmpuint(a->l1_writes, ==, b->l1_writes);
    g_assert_cmpuint(a->l2_writes, ==, b->l2_writes);
    g_assert_cmpuint(a->refcount_writes, ==, b->refcount_writes);
}

/*
 * Zero writes over clusters that already read as zero change nothing:
 * neither the metadata counters nor a single byte of the file.
 */
static void test_zero_churn(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "z.qcow2");
    g_autofree uint8_t *buf = g_malloc(MiB);
    g_autofree char *sum1 = NULL, *sum2 = NULL;
    BdrvMetadataStats st1, st2;
    BlockBackend *blk;

    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    memset(buf, 0x42, MiB);
    /* Some data, then zero clusters with and without host clusters. */
    g_assert_cmpint(blk_pwrite(blk, 0, MiB, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512 * KiB, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 2 * MiB, MiB, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);

    for (int round = 0; round < 2; round++) {
        BdrvRequestFlags f = round ? BDRV_REQ_MAY_UNMAP : 0;

        /* MAY_UNMAP on plain zero clusters keeps them as they are. */
        bdrv_get_metadata_stats(blk_bs(blk), &st1);
        g_free(sum1);
        sum1 = qt_file_checksum(p);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 2 * MiB, MiB, f), ==, 0);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 2 * MiB, MiB, f), ==, 0);
        if (!round) {
            /* zero-alloc clusters stay as they are without unmap */
            g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512 * KiB, 0), ==, 0);
        }
        g_assert_cmpint(blk_flush(blk), ==, 0);
        bdrv_get_metadata_stats(blk_bs(blk), &st2);
        stats_equal(&st1, &st2);
        g_free(sum2);
        sum2 = qt_file_checksum(p);
        g_assert_cmpstr(sum1, ==, sum2);
    }

    /* With MAY_UNMAP, allocated zero clusters give their space back. */
    {
        int64_t before = bdrv_get_allocated_file_size(blk_bs(blk));
        int64_t pnum, map;
        int ret;

        ret = qt_status(blk, 0, MiB, &pnum, &map);
        g_assert_cmpint(ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID),
                        ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
        g_assert_cmpint(pnum, ==, 512 * KiB);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512 * KiB,
                                          BDRV_REQ_MAY_UNMAP), ==, 0);
        ret = qt_status(blk, 0, MiB, &pnum, &map);
        g_assert_cmpint(ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID |
                               BDRV_BLOCK_DATA), ==, BDRV_BLOCK_ZERO);
        g_assert_cmpint(blk_flush(blk), ==, 0);
        g_assert_cmpint(bdrv_get_allocated_file_size(blk_bs(blk)), <,
                        before);
        /* And a second time nothing at all happens. */
        bdrv_get_metadata_stats(blk_bs(blk), &st1);
        g_free(sum1);
        sum1 = qt_file_checksum(p);
        g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512 * KiB,
                                          BDRV_REQ_MAY_UNMAP), ==, 0);
        g_assert_cmpint(blk_flush(blk), ==, 0);
        bdrv_get_metadata_stats(blk_bs(blk), &st2);
        stats_equal(&st1, &st2);
        g_free(sum2);
        sum2 = qt_file_checksum(p);
        g_assert_cmpstr(sum1, ==, sum2);
    }
    qt_close_clean(blk, p);
    qt_dir_free(dir);
}

/* Partial-cluster zero writes: whole-cluster zeroing only when safe. */
static void test_zero_partial(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "zp.qcow2");
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    BlockBackend *blk;
    int64_t pnum;

    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    /* Unallocated, no backing file: the cluster becomes a zero cluster. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 4096, 8192, 0), ==, 0);
    g_assert_cmpint(qt_status(blk, 0, 64 * KiB, &pnum, NULL) &
                    (BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED), ==,
                    BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    /* A data cluster: the core writes explicit zeroes instead. */
    qt_fill_pattern(ref + MiB, 64 * KiB, 3);
    g_assert_cmpint(blk_pwrite(blk, MiB, 64 * KiB, ref + MiB, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, MiB + 100, 1000,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    memset(ref + MiB + 100, 0, 1000);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    /* NO_FALLBACK on a partial cluster is refused. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, MiB + 100, 1000,
                                      BDRV_REQ_NO_FALLBACK), ==, -ENOTSUP);
    qt_close_clean(blk, p);
    qt_dir_free(dir);
}

/* Discard: v3 leaves zero clusters, v2 unallocated ones. */
static void test_discard(void)
{
    char *dir = qt_dir_new();

    for (int v2 = 0; v2 <= 1; v2++) {
        g_autofree char *p = qt_path(dir, "d.qcow2");
        g_autofree char *opts = create_opts(v2, 65536);
        g_autofree uint8_t *buf = g_malloc(MiB);
        BlockBackend *blk;
        int64_t pnum;
        int ret;

        qt_create(p, IMG_SIZE, opts);
        blk = qt_open(p, NULL);
        memset(buf, 0x11, MiB);
        g_assert_cmpint(blk_pwrite(blk, 0, MiB, buf, 0), ==, 0);
        /* Unaligned parts are ignored. */
        g_assert_cmpint(blk_pdiscard(blk, 1000, 64 * KiB), ==, 0);
        g_assert_cmpint(blk_pread(blk, 0, MiB, buf, 0), ==, 0);
        g_assert_cmpint(buf[1000], ==, 0x11);
        g_assert_cmpint(blk_pdiscard(blk, 64 * KiB, 128 * KiB), ==, 0);
        ret = qt_status(blk, 64 * KiB, MiB, &pnum, NULL);
        g_assert_cmpint(pnum, ==, 128 * KiB);
        g_assert_cmpint(ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA |
                               BDRV_BLOCK_ALLOCATED), ==,
                        v2 ? BDRV_BLOCK_ZERO
                           : BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED);
        g_assert_cmpint(blk_pread(blk, 64 * KiB, 128 * KiB, buf, 0), ==, 0);
        g_assert_true(buf[0] == 0 && buf[128 * KiB - 1] == 0);
        qt_close_clean(blk, p);
    }
    qt_dir_free(dir);
}

/* Backing chains */

static void test_backing(void)
{
    char *dir = qt_dir_new();
    g_autofree char *base = qt_path(dir, "base.qcow2");
    g_autofree char *top = qt_path(dir, "top.qcow2");
    g_autofree char *raw = qt_path(dir, "ref.raw");
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    g_autofree uint8_t *buf = g_malloc(IMG_SIZE);
    BlockBackend *blk;
    int64_t pnum;
    int depth, ret;

    qt_create(base, IMG_SIZE, "\"cluster_size\": 4096");
    blk = qt_open(base, NULL);
    qt_fill_pattern(ref, IMG_SIZE, 9);
    g_assert_cmpint(blk_pwrite(blk, 0, 2 * MiB, ref, 0), ==, 0);
    blk_unref(blk);
    memset(ref + 2 * MiB, 0, IMG_SIZE - 2 * MiB);

    /* The relative name is resolved against the overlay's directory. */
    qt_create(top, IMG_SIZE, "\"backing_file\": \"base.qcow2\", "
              "\"backing_fmt\": \"qcow2\", \"cluster_size\": 65536");
    blk = qt_open(top, NULL);
    g_assert_nonnull(bdrv_backing_bs(blk_bs(blk)));
    qt_assert_reads(blk, ref, 0, IMG_SIZE);

    /* Unallocated in the overlay: the walk goes down to the base. */
    ret = bdrv_is_allocated(blk_bs(blk), 0, IMG_SIZE, &pnum);
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpint(pnum, ==, IMG_SIZE);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, false,
                                  BDRV_WANT_PRECISE, 0, IMG_SIZE, &pnum,
                                  NULL, NULL, &depth);
    g_assert_cmpint(depth, ==, 2);
    g_assert_true(ret & BDRV_BLOCK_DATA);

    /* Partial writes copy the rest of the cluster from the base. */
    memset(buf, 0xaa, 3000);
    g_assert_cmpint(blk_pwrite(blk, 70000, 3000, buf, 0), ==, 0);
    memcpy(ref + 70000, buf, 3000);
    g_assert_cmpint(blk_pwrite(blk, 2 * MiB - 100, 200, buf, 0), ==, 0);
    memcpy(ref + 2 * MiB - 100, buf, 200);
    /* Zero writes and discards hide the base. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, MiB, 128 * KiB, 0), ==, 0);
    memset(ref + MiB, 0, 128 * KiB);
    g_assert_cmpint(blk_pdiscard(blk, 1536 * KiB, 64 * KiB), ==, 0);
    memset(ref + 1536 * KiB, 0, 64 * KiB);
    /* A partial zero write over base data needs explicit zeroes. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 300 * KiB + 5, 1000, 0), ==, 0);
    memset(ref + 300 * KiB + 5, 0, 1000);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    g_assert_cmpint(bdrv_is_allocated(blk_bs(blk), 65536, 4096, &pnum), ==,
                    1);
    qt_assert_check_clean(blk);
    blk_unref(blk);

    /* "backing": null opens the overlay alone. */
    blk = qt_open_ro(top, "\"backing\": null");
    g_assert_null(bdrv_backing_bs(blk_bs(blk)));
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, 0), ==, 0);
    g_assert_true(buf[0] == 0 && buf[4095] == 0);
    blk_unref(blk);

    qt_assert_qemu_matches(top, raw, ref, IMG_SIZE);
    qt_dir_free(dir);
}

/* Ways to name the backing file: node name, header without format. */
static void test_backing_options(void)
{
    char *dir = qt_dir_new();
    g_autofree char *raw = qt_path(dir, "base.raw");
    g_autofree char *top = qt_path(dir, "top.qcow2");
    g_autofree char *json = NULL;
    g_autofree char *msg = NULL;
    g_autofree uint8_t *buf = g_malloc(MiB);
    BlockDriverState *base;
    BlockBackend *blk;

    memset(buf, 0x3c, MiB);
    g_assert_true(g_file_set_contents(raw, (char *)buf, MiB, NULL));

    /* A header without a backing format: opened as raw (with a warning). */
    qt_create(top, 2 * MiB, "\"backing_file\": \"base.raw\"");
    blk = qt_open_ro(top, NULL);
    g_assert_cmpstr(bdrv_get_format_name(bdrv_backing_bs(blk_bs(blk))), ==,
                    "raw");
    g_assert_cmpint(blk_pread(blk, MiB - 4096, 8192, buf, 0), ==, 0);
    g_assert_true(buf[0] == 0x3c && buf[4095] == 0x3c);
    g_assert_true(buf[4096] == 0 && buf[8191] == 0);
    blk_unref(blk);

    /* An existing node by name. */
    json = g_strdup_printf("{\"driver\": \"raw\", \"node-name\": \"base0\", "
                           "\"read-only\": true, \"file\": {\"driver\": "
                           "\"file\", \"filename\": \"%s\"}}", raw);
    base = bdrv_open_string(json, &error_abort);
    blk = qt_open_ro(top, "\"backing\": \"base0\"");
    g_assert_true(bdrv_backing_bs(blk_bs(blk)) == base);
    blk_unref(blk);
    bdrv_unref(base);

    /* A missing backing file. */
    g_assert_cmpint(unlink(raw), ==, 0);
    msg = qt_open_err(top, NULL, false);
    g_assert_true(g_str_has_prefix(msg, "Could not open backing file: "));
    qt_dir_free(dir);
}

/* Images written by qemu-io read back the same through emblock. */
static void test_qemu_written(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "q.qcow2");
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    g_autofree char *out = NULL;
    BlockBackend *blk;
    BdrvCheckResult r;
    int64_t pnum;
    int ret;

    if (!qt_have_qemu()) {
        qt_dir_free(dir);
        return;
    }
    qt_create(p, IMG_SIZE, NULL);
    qt_qemu_io(p, "write -P 0x11 0 64k");
    memset(ref, 0x11, 64 * KiB);
    qt_qemu_io(p, "write -P 0x22 100k 300k");
    memset(ref + 100 * KiB, 0x22, 300 * KiB);
    qt_qemu_io(p, "write -z 128k 64k");
    memset(ref + 128 * KiB, 0, 64 * KiB);
    qt_qemu_io(p, "write -c -P 0x33 1M 64k");
    memset(ref + MiB, 0x33, 64 * KiB);
    qt_qemu_io(p, "write -c -P 0x34 1088k 64k");
    memset(ref + 1088 * KiB, 0x34, 64 * KiB);
    qt_qemu_io(p, "write -P 0x44 2M 256k");
    memset(ref + 2 * MiB, 0x44, 256 * KiB);
    qt_qemu_io(p, "discard 2M 128k");
    memset(ref + 2 * MiB, 0, 128 * KiB);
    qt_qemu_io(p, "write -z -u 2176k 64k");
    memset(ref + 2176 * KiB, 0, 64 * KiB);

    blk = qt_open_ro(p, NULL);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    ret = qt_status(blk, MiB, IMG_SIZE, &pnum, NULL);
    g_assert_cmpint(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED |
                           BDRV_BLOCK_OFFSET_VALID), ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    r = qt_check(blk, 0);
    g_assert_cmpint(r.corruptions + r.leaks + r.check_errors, ==, 0);
    g_assert_cmpint(r.compressed_clusters, ==, 2);
    blk_unref(blk);
    g_assert_cmpint(qt_qemu_check(p, &out), ==, 0);

    /* Overwrite part of a compressed cluster: COW decompresses it. */
    blk = qt_open(p, NULL);
    g_assert_cmpint(blk_pwrite_zeroes(blk, MiB + 4096, 4096, 0), ==, 0);
    memset(ref + MiB + 4096, 0, 4096);
    memset(ref + 1088 * KiB + 10, 0x55, 10);
    g_assert_cmpint(blk_pwrite(blk, 1088 * KiB + 10, 10,
                               ref + 1088 * KiB + 10, 0), ==, 0);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    qt_close_clean(blk, p);
    qt_dir_free(dir);
}

/* Compressed writes pack clusters into shared host clusters. */
static void test_compressed_writes(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "cmp.qcow2");
    g_autofree char *raw = qt_path(dir, "cmp.raw");
    const int64_t size = 2 * MiB + 4096;   /* a partial last cluster */
    g_autofree uint8_t *ref = g_malloc0(size);
    BlockBackend *blk;
    BdrvCheckResult r;
    int64_t pnum;

    qt_create(p, size, NULL);
    blk = qt_open(p, NULL);
    for (int i = 0; i < 8; i++) {
        /* Compressible: runs of one byte. */
        memset(ref + i * 64 * KiB, 0x10 + i, 64 * KiB);
        memset(ref + i * 64 * KiB + 5000, 0x80 + i, 3000);
    }
    g_assert_cmpint(blk_pwrite(blk, 0, 512 * KiB, ref,
                               BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    g_assert_cmpint(qt_status(blk, 0, size, &pnum, NULL) &
                    (BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED |
                     BDRV_BLOCK_OFFSET_VALID), ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED);
    /* Incompressible data is written as a normal cluster. */
    for (int64_t i = 0; i < 64 * KiB; i++) {
        ref[MiB + i] = g_random_int();
    }
    g_assert_cmpint(blk_pwrite(blk, MiB, 64 * KiB, ref + MiB,
                               BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    g_assert_cmpint(qt_status(blk, MiB, size, &pnum, NULL) &
                    BDRV_BLOCK_COMPRESSED, ==, 0);
    /* The partial last cluster, zero-padded. */
    memset(ref + 2 * MiB, 0x99, 4096);
    g_assert_cmpint(blk_pwrite(blk, 2 * MiB, 4096, ref + 2 * MiB,
                               BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    /* Refused as by QEMU: partial clusters, allocated clusters. */
    g_assert_cmpint(blk_pwrite(blk, 1536 * KiB, 4096, ref,
                               BDRV_REQ_WRITE_COMPRESSED), ==, -EINVAL);
    g_assert_cmpint(blk_pwrite(blk, 0, 64 * KiB, ref,
                               BDRV_REQ_WRITE_COMPRESSED), ==, -EIO);
    /* Overwriting some compressed clusters drops their references. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 64 * KiB, 64 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    memset(ref + 64 * KiB, 0, 64 * KiB);
    memset(ref + 200 * KiB, 0x42, 100);
    g_assert_cmpint(blk_pwrite(blk, 200 * KiB, 100, ref + 200 * KiB, 0), ==,
                    0);
    qt_assert_reads(blk, ref, 0, size);
    r = qt_check(blk, 0);
    g_assert_cmpint(r.corruptions + r.leaks + r.check_errors, ==, 0);
    g_assert_cmpint(r.compressed_clusters, ==, 7);
    blk_unref(blk);

    qt_assert_qemu_matches(p, raw, ref, size);
    qt_dir_free(dir);
}


/* Block status */

static void test_block_status(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "s.qcow2");
    g_autofree uint8_t *buf = g_malloc(MiB);
    const int mask = BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                     BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    BlockBackend *blk;
    int64_t pnum, map;
    int ret;

    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    /* A fresh image without backing file is known to be all zero. */
    g_assert_cmpint(bdrv_is_all_zeroes(blk_bs(blk)), ==, 1);
    memset(buf, 0x12, MiB);
    g_assert_cmpint(blk_pwrite(blk, 0, 512 * KiB, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 512 * KiB, 128 * KiB, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 64 * KiB, 0), ==, 0);

    /* Contiguous data clusters come back in one answer. */
    ret = qt_status(blk, 64 * KiB, IMG_SIZE, &pnum, &map);
    g_assert_cmpint(ret & mask, ==, BDRV_BLOCK_DATA |
                    BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, 448 * KiB);
    g_assert_cmpint(map, ==, 6 * 64 * KiB);
    /* Zero-alloc: zero with a host offset. */
    ret = qt_status(blk, 0, IMG_SIZE, &pnum, &map);
    g_assert_cmpint(ret & mask, ==, BDRV_BLOCK_ZERO |
                    BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    g_assert_cmpint(map, ==, 5 * 64 * KiB);
    /* Zero-plain, then unallocated (zero without a backing file). */
    ret = qt_status(blk, 512 * KiB, IMG_SIZE, &pnum, NULL);
    g_assert_cmpint(ret & mask, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, 128 * KiB);
    ret = qt_status(blk, 640 * KiB, IMG_SIZE, &pnum, NULL);
    g_assert_cmpint(ret & mask, ==, BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, IMG_SIZE - 640 * KiB);
    g_assert_true(ret & BDRV_BLOCK_EOF);
    /* Allocation queries. */
    g_assert_cmpint(bdrv_is_allocated(blk_bs(blk), 0, IMG_SIZE, &pnum), ==,
                    1);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    g_assert_cmpint(bdrv_is_allocated(blk_bs(blk), 640 * KiB, IMG_SIZE,
                                      &pnum), ==, 0);
    g_assert_cmpint(bdrv_is_all_zeroes(blk_bs(blk)), ==, 0);
    blk_unref(blk);
    qt_dir_free(dir);
}

/* Data written by QEMU in an image with internal snapshots stays intact. */
static void test_snapshots(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "sn.qcow2");
    g_autofree char *snap = qt_path(dir, "sn.raw");
    g_autofree char *cur = qt_path(dir, "cur.raw");
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    g_autofree uint8_t *old = NULL;
    BlockBackend *blk;

    if (!qt_have_qemu()) {
        qt_dir_free(dir);
        return;
    }
    qt_create(p, IMG_SIZE, NULL);
    qt_qemu_io(p, "write -P 0x21 0 1M");
    memset(ref, 0x21, MiB);
    {
        const char *argv[] = { QEMU_IMG, "snapshot", "-c", "s1", p, NULL };

        g_assert_cmpint(qt_run(argv, NULL), ==, 0);
    }
    old = g_memdup2(ref, IMG_SIZE);
    blk = qt_open(p, NULL);
    /* Shared L2 table and shared data clusters: both copied on write. */
    memset(ref + 1000, 0x5e, 3000);
    g_assert_cmpint(blk_pwrite(blk, 1000, 3000, ref + 1000, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 256 * KiB, 128 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    memset(ref + 256 * KiB, 0, 128 * KiB);
    g_assert_cmpint(blk_pdiscard(blk, 512 * KiB, 64 * KiB), ==, 0);
    memset(ref + 512 * KiB, 0, 64 * KiB);
    memset(ref + 2 * MiB, 0x5f, 100);
    g_assert_cmpint(blk_pwrite(blk, 2 * MiB, 100, ref + 2 * MiB, 0), ==, 0);
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    qt_close_clean(blk, p);
    {
        const char *argv[] = { QEMU_IMG, "convert", "-f", "qcow2", "-O",
                               "raw", "-l", "snapshot.name=s1", p, snap,
                               NULL };
        g_autofree char *data = NULL;
        gsize len;

        g_assert_cmpint(qt_run(argv, NULL), ==, 0);
        g_assert_true(g_file_get_contents(snap, &data, &len, NULL));
        g_assert_cmpmem(data, len, old, IMG_SIZE);
    }
    g_assert_true(g_file_set_contents(cur, (char *)ref, IMG_SIZE, NULL));
    g_assert_cmpint(qt_qemu_compare(p, cur), ==, 0);
    qt_dir_free(dir);
}

/* Concurrent allocating writes to the same clusters. */
static void test_concurrent_writes(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "cw.qcow2");
    g_autofree uint8_t *ref = g_malloc0(IMG_SIZE);
    QtCoOp w[16];
    BlockBackend *blk;

    qt_create(p, IMG_SIZE, "\"cluster_size\": 4096");
    blk = qt_open(p, NULL);
    for (int i = 0; i < 16; i++) {
        /* Disjoint pieces, several per cluster, in a scattered order. */
        int slot = (i * 7) % 16;

        w[i] = (QtCoOp) {
            .blk = blk, .off = slot * 1536 + 100, .len = 1536,
            .buf = g_malloc(1536),
        };
        memset(w[i].buf, 0x40 + i, 1536);
        memcpy(ref + w[i].off, w[i].buf, 1536);
    }
    qt_run_concurrently(w, 16);
    for (int i = 0; i < 16; i++) {
        g_free(w[i].buf);
    }
    qt_assert_reads(blk, ref, 0, IMG_SIZE);
    qt_close_clean(blk, p);
    qt_dir_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qcow2/create/layout", test_create_layout);
    g_test_add_func("/qcow2/create/options", test_create_options);
    g_test_add_func("/qcow2/rw/roundtrip", test_roundtrip);
    g_test_add_func("/qcow2/zero/churn", test_zero_churn);
    g_test_add_func("/qcow2/zero/partial", test_zero_partial);
    g_test_add_func("/qcow2/discard", test_discard);
    g_test_add_func("/qcow2/backing", test_backing);
    g_test_add_func("/qcow2/backing/options", test_backing_options);
    g_test_add_func("/qcow2/qemu-written", test_qemu_written);
    g_test_add_func("/qcow2/compressed-writes", test_compressed_writes);
    g_test_add_func("/qcow2/block-status", test_block_status);
    g_test_add_func("/qcow2/snapshots", test_snapshots);
    g_test_add_func("/qcow2/concurrent-writes", test_concurrent_writes);
    return g_test_run();
}
