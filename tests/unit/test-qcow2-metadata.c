/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the qcow2 driver's metadata handling, through the public API,
 * with QEMU 7.2's qemu-img and qemu-io as the judge where they are
 * installed: hostile headers and tables are refused without crashing or
 * overwriting anything, our check and repair agree with QEMU's, lazy
 * refcounts leave dirty images that opening repairs, the L1 and refcount
 * tables grow, and metadata writes are counted and survive injected
 * failures.  The data path (creation, read/write/zero/discard, backing,
 * compression, block status, snapshots) is tested in test-qcow2.c.
 */
#include "qcow2-test-util.h"
#include "util/buffer-zero.h"

#define IMG_SIZE (4 * MiB)

/* Hostile headers */

typedef struct HeaderPatch {
    int64_t offset;
    int width;                 /* 1, 4 or 8 bytes, big endian */
    uint64_t value;
} HeaderPatch;

/* A fresh 4 MiB v3 image (64 KiB clusters) with @n patches applied. */
static void make_patched(const char *p, const HeaderPatch *patch, int n)
{
    qt_create(p, IMG_SIZE, NULL);
    for (int i = 0; i < n; i++) {
        uint8_t b = patch[i].value;

        if (patch[i].width == 8) {
            qt_file_put_be64(p, patch[i].offset, patch[i].value);
        } else if (patch[i].width == 4) {
            qt_file_put_be32(p, patch[i].offset, patch[i].value);
        } else {
            qt_file_write(p, patch[i].offset, &b, 1);
        }
    }
}

static void test_hostile_headers(void)
{
    static const struct {
        HeaderPatch patch[2];
        int n;
        bool writable;
        const char *msg;
    } cases[] = {
        { { { 0, 4, 0x12345678 } }, 1, true,
          "Image is not in qcow2 format" },
        { { { 4, 4, 4 } }, 1, true, "Unsupported qcow2 version 4" },
        { { { 20, 4, 22 } }, 1, true, "Unsupported cluster size: 2^22" },
        { { { 20, 4, 8 } }, 1, true, "Unsupported cluster size: 2^8" },
        { { { 100, 4, 50 } }, 1, true, "qcow2 header too short" },
        { { { 100, 4, 0x20000 } }, 1, true,
          "qcow2 header exceeds cluster size" },
        { { { 96, 4, 7 } }, 1, true,
          "Reference count entry width too large; may not exceed 64 bits" },
        { { { 72, 8, 1 << 5 } }, 1, true,
          "Unsupported qcow2 feature(s): Unknown incompatible feature: 20" },
        /* The image's own feature table names the bit. */
        { { { 72, 8, 1 << 5 }, { 0x139, 1, 5 } }, 2, true,
          "Unsupported qcow2 feature(s): extended L2 entries" },
        { { { 72, 8, 1 << 1 } }, 1, true,
          "qcow2: Image is corrupt; cannot be opened read/write" },
        { { { 72, 8, 1 << 2 } }, 1, false,
          "qcow2: External data files are not supported" },
        { { { 72, 8, 1 << 4 } }, 1, false,
          "qcow2: Extended L2 entries are not supported" },
        { { { 32, 4, 1 } }, 1, false,
          "qcow2: Encrypted images are not supported" },
        { { { 32, 4, 7 } }, 1, false, "Unsupported encryption method 7" },
        { { { 36, 4, 0x10000000 } }, 1, false, "Active L1 table too large" },
        { { { 36, 4, 0 } }, 1, false, "L1 table is too small" },
        { { { 24, 8, 1ULL << 62 } }, 1, false, "Image is too big" },
        { { { 40, 8, 0x30001 } }, 1, false,
          "Active L1 table offset invalid" },
        { { { 40, 8, 1ULL << 50 } }, 1, false,
          "Active L1 table starts past the end of the file" },
        { { { 56, 4, 0x1000000 } }, 1, false,
          "Reference count table too large" },
        { { { 56, 4, 0 } }, 1, false,
          "Image does not contain a reference count table" },
        { { { 48, 8, 0x10200 } }, 1, false,
          "Reference count table offset invalid" },
        { { { 48, 8, 0xff0000000000ULL } }, 1, false,
          "Reference count table starts past the end of the file" },
        { { { 60, 4, 100000 } }, 1, false, "Snapshot table too large" },
        { { { 60, 4, 1 }, { 64, 8, 0x123 } }, 2, false,
          "Snapshot table offset invalid" },
        { { { 8, 8, 0x20000 } }, 1, false, "Invalid backing file offset" },
        { { { 8, 8, 0x8000 }, { 16, 4, 2000 } }, 2, false,
          "Backing file name too long" },
        { { { 0x74, 4, 0x100000 } }, 1, false, "Header extension too large" },
    };
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "h.qcow2");

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = NULL;

        make_patched(p, cases[i].patch, cases[i].n);
        msg = qt_open_err(p, NULL, cases[i].writable);
        if (strcmp(msg, cases[i].msg)) {
            g_error("case %zu: '%s', expected '%s'", i, msg, cases[i].msg);
        }
    }
    /* A corrupt image still opens read-only. */
    {
        HeaderPatch corrupt = { 72, 8, 1 << 1 };
        BlockBackend *blk;

        make_patched(p, &corrupt, 1);
        blk = qt_open_ro(p, NULL);
        blk_unref(blk);
    }
    qt_dir_free(dir);
}

/*
 * Metadata pointing where it must not: the image is marked corrupt, I/O
 * fails, and nothing is overwritten.
 */
static void test_hostile_tables(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "t.qcow2");
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    g_autofree char *before = NULL, *after = NULL;
    g_autofree char *msg = NULL;
    BlockBackend *blk;
    uint64_t l2;

    /* An L2 entry pointing at the refcount table: writes are refused. */
    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    memset(buf, 1, 64 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 0, 64 * KiB, buf, 0), ==, 0);
    blk_unref(blk);
    l2 = qt_file_get_be64(p, 0x30000) & QT_ENTRY_OFFSET_MASK;
    qt_file_put_be64(p, l2, QT_OFLAG_COPIED | 0x10000);
    before = qt_file_checksum(p);
    blk = qt_open(p, NULL);
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, 0), ==, -EIO);
    blk_unref(blk);
    /* Only the corrupt bit changed. */
    g_assert_cmpint(qt_file_get_be64(p, 72) & 2, ==, 2);
    qt_file_put_be64(p, 72, 0);
    after = qt_file_checksum(p);
    g_assert_cmpstr(before, ==, after);

    /*
     * An L1 entry pointing at an unaligned L2 table: reads fail too, and
     * once the image is marked corrupt it no longer opens read/write.
     */
    qt_file_put_be64(p, 0x30000, QT_OFLAG_COPIED | 0x40200);
    blk = qt_open_ro(p, NULL);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, 0), ==, -EIO);
    blk_unref(blk);
    blk = qt_open(p, NULL);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, 0), ==, -EIO);
    blk_unref(blk);
    msg = qt_open_err(p, NULL, true);
    g_assert_cmpstr(msg, ==,
                    "qcow2: Image is corrupt; cannot be opened read/write");
    qt_dir_free(dir);
}

/*
 * Random damage to the metadata of a small image: opening, I/O and check
 * may fail, but never crash or hang (run under the sanitizers).
 */
static void test_fuzz(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "f.qcow2");
    g_autofree char *pristine = qt_path(dir, "pristine.qcow2");
    g_autofree uint8_t *buf = g_malloc(256 * KiB);
    g_autofree char *img = NULL;
    gsize img_len;
    GRand *rand = g_rand_new_with_seed(1234);
    BlockBackend *blk;

    qt_create(pristine, MiB, "\"cluster_size\": 4096");
    blk = qt_open(pristine, NULL);
    memset(buf, 7, 256 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 4096, 200 * KiB, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 512 * KiB, 64 * KiB, 0), ==, 0);
    blk_unref(blk);
    g_assert_true(g_file_get_contents(pristine, &img, &img_len, NULL));

    for (int iter = 0; iter < 100; iter++) {
        g_autofree char *copy = g_memdup2(img, img_len);
        int flips = g_rand_int_range(rand, 1, 6);
        Error *err = NULL;
        g_autofree char *json = g_strdup_printf(
            "{\"driver\": \"qcow2\", \"backing\": null, "
            "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", p);
        BlockDriverState *bs;

        for (int f = 0; f < flips; f++) {
            /* Mostly the metadata clusters at the start of the image. */
            gsize pos = g_rand_boolean(rand) ?
                        g_rand_int_range(rand, 0, 0x200) :
                        g_rand_int_range(rand, 0, MIN(img_len, 8 * 4096));

            copy[pos] ^= 1 << g_rand_int_range(rand, 0, 8);
        }
        g_assert_true(g_file_set_contents(p, copy, img_len, NULL));
        bs = bdrv_open_string(json, &err);
        if (!bs) {
            error_free(err);
            continue;
        }
        blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                              BLK_PERM_ALL, &error_abort);
        bdrv_unref(bs);
        blk_pread(blk, 0, MIN(256 * KiB, blk_getlength(blk)), buf, 0);
        if (blk_getlength(blk) >= 256 * KiB) {
            blk_pwrite(blk, 100 * KiB, 8 * KiB, buf, 0);
            blk_pwrite_zeroes(blk, 128 * KiB, 64 * KiB, BDRV_REQ_MAY_UNMAP);
        }
        {
            BdrvCheckResult r;

            bdrv_check(bs, &r, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
        }
        blk_unref(blk);
    }
    g_rand_free(rand);
    qt_dir_free(dir);
}

/* Check and repair */

/* Offsets in a 64 KiB-cluster image after writing clusters 0..3. */
#define L1_OFF 0x30000
#define RB_OFF 0x20000

static uint64_t l2_offset_of(const char *p)
{
    return qt_file_get_be64(p, L1_OFF) & QT_ENTRY_OFFSET_MASK;
}

static void set_refcount16(const char *p, int64_t cluster, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);

    qt_file_write(p, RB_OFF + cluster * 2, &be, 2);
}

static void make_four_clusters(const char *p)
{
    g_autofree uint8_t *buf = g_malloc(256 * KiB);
    BlockBackend *blk;

    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    qt_fill_pattern(buf, 256 * KiB, 1);
    g_assert_cmpint(blk_pwrite(blk, 0, 256 * KiB, buf, 0), ==, 0);
    blk_unref(blk);
}

static void test_check_repair(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "c.qcow2");
    BdrvCheckResult r;
    uint64_t l2, e0, e1;

    /* A leak: a free cluster (inside the file) with refcount 1. */
    make_four_clusters(p);
    {
        BlockBackend *blk = qt_open(p, NULL);

        g_assert_cmpint(blk_pdiscard(blk, 64 * KiB, 64 * KiB), ==, 0);
        blk_unref(blk);
    }
    set_refcount16(p, 6, 1);
    r = qt_check_both(p);
    g_assert_cmpint(r.leaks, ==, 1);
    g_assert_cmpint(r.corruptions, ==, 0);
    r = qt_repair(p, BDRV_FIX_LEAKS);
    g_assert_cmpint(r.leaks_fixed, ==, 1);
    g_assert_cmpint(r.leaks, ==, 0);
    qt_assert_qemu_clean(p);

    /* Two L2 entries sharing one cluster: too low a refcount. */
    make_four_clusters(p);
    l2 = l2_offset_of(p);
    e0 = qt_file_get_be64(p, l2);
    e1 = qt_file_get_be64(p, l2 + 8);
    qt_file_put_be64(p, l2 + 8, e0);
    r = qt_check_both(p);
    g_assert_cmpint(r.corruptions, >=, 1);
    g_assert_cmpint(r.leaks, ==, 1);
    r = qt_repair(p, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.corruptions_fixed, >=, 1);
    g_assert_cmpint(r.leaks_fixed, ==, 1);
    qt_assert_qemu_clean(p);
    /* Both entries now lack COPIED (refcount 2). */
    g_assert_cmpuint(qt_file_get_be64(p, l2) & QT_OFLAG_COPIED, ==, 0);
    g_assert_cmpuint(qt_file_get_be64(p, l2 + 8) & QT_OFLAG_COPIED, ==, 0);
    (void)e1;

    /* A COPIED flag missing. */
    make_four_clusters(p);
    l2 = l2_offset_of(p);
    qt_file_put_be64(p, l2 + 16, qt_file_get_be64(p, l2 + 16) &
                     ~QT_OFLAG_COPIED);
    r = qt_check_both(p);
    g_assert_cmpint(r.corruptions, ==, 1);
    r = qt_repair(p, BDRV_FIX_ERRORS);
    g_assert_cmpint(r.corruptions_fixed, ==, 1);
    qt_assert_qemu_clean(p);

    /* A used cluster with refcount 0: the refcounts are rebuilt. */
    make_four_clusters(p);
    set_refcount16(p, 6, 0);
    r = qt_check_both(p);
    g_assert_cmpint(r.corruptions, ==, 2);   /* refcount and COPIED */
    r = qt_repair(p, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    qt_assert_qemu_clean(p);
    {
        BlockBackend *blk = qt_open(p, NULL);
        g_autofree uint8_t *ref = g_malloc(256 * KiB);

        qt_fill_pattern(ref, 256 * KiB, 1);
        qt_assert_reads(blk, ref, 0, 256 * KiB);
        /* Allocation still works on the rebuilt structure. */
        g_assert_cmpint(blk_pwrite(blk, 2 * MiB, 256 * KiB, ref, 0), ==, 0);
        blk_unref(blk);
        qt_assert_qemu_clean(p);
    }
    qt_dir_free(dir);
}

/* Lazy refcounts: a crash leaves a dirty image that opening repairs. */
static void test_lazy_refcounts(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "l.qcow2");
    g_autofree uint8_t *buf = g_malloc(128 * KiB);
    BlockBackend *blk;
    BlockDriverInfo bdi;
    BdrvCheckResult r;

    qt_create(p, IMG_SIZE, "\"lazy_refcounts\": true");
    blk = qt_open(p, NULL);
    memset(buf, 0x77, 128 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 0, 128 * KiB, buf, 0), ==, 0);
    g_assert_cmpint(bdrv_get_info(blk_bs(blk), &bdi), ==, 0);
    g_assert_true(bdi.is_dirty);
    g_assert_cmpuint(qt_file_get_be64(p, 72) & 1, ==, 1);
    blk_unref(blk);
    /* A clean close clears the dirty bit. */
    g_assert_cmpuint(qt_file_get_be64(p, 72) & 1, ==, 0);
    qt_assert_qemu_clean(p);

    if (!qt_have_qemu()) {
        qt_dir_free(dir);
        return;
    }
    {
        const char *argv[] = { QEMU_IO, "-f", "qcow2", "-c",
                               "write -P 0x66 256k 64k", "-c", "abort", p,
                               NULL };

        qt_run(argv, NULL);
    }
    g_assert_cmpuint(qt_file_get_be64(p, 72) & 1, ==, 1);
    blk = qt_open_ro(p, NULL);
    g_assert_cmpint(bdrv_get_info(blk_bs(blk), &bdi), ==, 0);
    g_assert_true(bdi.is_dirty);
    blk_unref(blk);
    r = qt_check_both(p);
    g_assert_cmpint(r.corruptions, >, 0);
    /* Opening read/write repairs it before anything else. */
    blk = qt_open(p, NULL);
    g_assert_cmpint(bdrv_get_info(blk_bs(blk), &bdi), ==, 0);
    g_assert_false(bdi.is_dirty);
    memset(buf, 0x66, 64 * KiB);
    g_assert_cmpint(blk_pread(blk, 256 * KiB, 64 * KiB, buf + 64 * KiB, 0),
                    ==, 0);
    g_assert_cmpmem(buf, 64 * KiB, buf + 64 * KiB, 64 * KiB);
    blk_unref(blk);
    qt_assert_qemu_clean(p);
    qt_dir_free(dir);
}

/* Growth */

/* Growing: the L1 table moves and grows; shrinking is refused. */
static void test_truncate(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "t.qcow2");
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    Error *err = NULL;
    BlockBackend *blk;
    int64_t pnum;

    qt_create(p, MiB, "\"cluster_size\": 512");
    blk = qt_open(p, NULL);
    memset(buf, 0x31, 64 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 0, 64 * KiB, buf, 0), ==, 0);
    g_assert_cmpint(blk_truncate(blk, 64 * MiB, false, PREALLOC_MODE_OFF, 0,
                                 &error_abort), ==, 0);
    g_assert_cmpint(blk_getlength(blk), ==, 64 * MiB);
    g_assert_cmpint(blk_pwrite(blk, 64 * MiB - 64 * KiB, 64 * KiB, buf, 0),
                    ==, 0);
    g_assert_cmpint(blk_truncate(blk, MiB, false, PREALLOC_MODE_OFF, 0, &err),
                    ==, -ENOTSUP);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "qcow2 doesn't support shrinking images yet");
    error_free(err);
    qt_assert_check_clean(blk);
    blk_unref(blk);
    blk = qt_open_ro(p, NULL);
    g_assert_cmpint(blk_getlength(blk), ==, 64 * MiB);
    blk_unref(blk);
    qt_assert_qemu_clean(p);

    /*
     * Metadata preallocation of the new part: allocated clusters that
     * read as zero, which block status learns from the holes below.
     */
    qt_create(p, MiB, NULL);
    blk = qt_open(p, NULL);
    g_assert_cmpint(blk_truncate(blk, 64 * MiB, false,
                                 PREALLOC_MODE_METADATA, 0, &error_abort),
                    ==, 0);
    g_assert_cmpint(qt_status(blk, 32 * MiB, MiB, &pnum, NULL) &
                    (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                     BDRV_BLOCK_OFFSET_VALID), ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                    BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(bdrv_is_allocated(blk_bs(blk), 32 * MiB, MiB, &pnum),
                    ==, 1);
    g_assert_cmpint(blk_pread(blk, 32 * MiB, 64 * KiB, buf, 0), ==, 0);
    g_assert_true(buffer_is_zero(buf, 64 * KiB));
    qt_close_clean(blk, p);
    qt_dir_free(dir);
}

/*
 * Small clusters and wide refcounts: the refcount table must grow (and
 * refcount blocks be added) several times; QEMU must agree afterwards.
 */
static void test_refcount_growth(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "g.qcow2");
    g_autofree char *raw = qt_path(dir, "g.raw");
    const int64_t size = 12 * MiB;
    g_autofree uint8_t *ref = g_malloc0(size);
    static const char *const opts[] = {
        "\"cluster_size\": 512",
        "\"cluster_size\": 512, \"refcount_bits\": 64",
        "\"cluster_size\": 4096, \"refcount_bits\": 1",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        BlockBackend *blk;

        qt_create(p, size, opts[i]);
        blk = qt_open(p, NULL);
        qt_fill_pattern(ref, size, i);
        for (int64_t off = 0; off < size; off += MiB) {
            g_assert_cmpint(blk_pwrite(blk, off, MiB, ref + off, 0), ==, 0);
        }
        /* Free some, allocate again: the holes are reused. */
        g_assert_cmpint(blk_pwrite_zeroes(blk, 3 * MiB, 2 * MiB,
                                          BDRV_REQ_MAY_UNMAP), ==, 0);
        memset(ref + 3 * MiB, 0, 2 * MiB);
        g_assert_cmpint(blk_pwrite(blk, 4 * MiB, 4096, ref, 0), ==, 0);
        memcpy(ref + 4 * MiB, ref, 4096);
        qt_assert_reads(blk, ref, 0, size);
        qt_assert_check_clean(blk);
        blk_unref(blk);
        qt_assert_qemu_matches(p, raw, ref, size);
    }
    qt_dir_free(dir);
}

/* Metadata writes are counted; failures at debug events are survived. */
static void test_events(void)
{
    char *dir = qt_dir_new();
    g_autofree char *p = qt_path(dir, "ev.qcow2");
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    BdrvMetadataStats st;
    BlockBackend *blk;

    qt_create(p, IMG_SIZE, NULL);
    blk = qt_open(p, NULL);
    memset(buf, 3, 64 * KiB);
    g_assert_cmpint(blk_pwrite(blk, 0, 64 * KiB, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    bdrv_get_metadata_stats(blk_bs(blk), &st);
    /* One new L2 table (write + L1 entry), refcounts, the L2 update. */
    g_assert_cmpuint(st.l1_writes, ==, 1);
    g_assert_cmpuint(st.l2_writes, >=, 2);
    g_assert_cmpuint(st.refcount_writes, >=, 1);
    g_assert_cmpuint(st.header_writes, ==, 0);
    blk_unref(blk);

    /*
     * The data write of an allocating write fails: the request fails, the
     * clusters it took are given back, a retry works.
     */
    blk = qt_open_injecting(p, "\"event\": \"cow_write\", \"errno\": 5, "
                            "\"once\": true, \"immediately\": true");
    g_assert_cmpint(blk_pwrite(blk, 3 * MiB, 4096, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pwrite(blk, 3 * MiB, 4096, buf, 0), ==, 0);
    blk_unref(blk);
    blk = qt_open_ro(p, NULL);
    qt_assert_check_clean(blk);
    blk_unref(blk);

    /*
     * QEMU's name for a refcount block write from the cache,
     * refblock_update_part, is taken too: a refcount update failing at
     * the flush fails the flush, and leaves at most leaks.
     */
    blk = qt_open_injecting(p, "\"event\": \"refblock_update_part\", "
                            "\"errno\": 5, \"once\": true");
    {
        int ret = blk_pwrite(blk, 5 * MiB, 4096, buf, 0);

        if (ret == 0) {
            ret = blk_flush(blk);
        }
        g_assert_cmpint(ret, ==, -EIO);
    }
    blk_unref(blk);
    {
        BlockBackend *b2 = qt_open_ro(p, NULL);
        BdrvCheckResult r = qt_check(b2, 0);

        g_assert_cmpint(r.corruptions, ==, 0);
        g_assert_cmpint(r.check_errors, ==, 0);
        blk_unref(b2);
    }
    qt_dir_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qcow2/hostile/headers", test_hostile_headers);
    g_test_add_func("/qcow2/hostile/tables", test_hostile_tables);
    g_test_add_func("/qcow2/hostile/fuzz", test_fuzz);
    g_test_add_func("/qcow2/check/repair", test_check_repair);
    g_test_add_func("/qcow2/check/lazy-refcounts", test_lazy_refcounts);
    g_test_add_func("/qcow2/growth/truncate", test_truncate);
    g_test_add_func("/qcow2/growth/refcounts", test_refcount_growth);
    g_test_add_func("/qcow2/events", test_events);
    return g_test_run();
}
