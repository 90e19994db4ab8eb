/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the raw format driver and the null-co protocol driver.
 *
 * raw is tested over real files in a private temporary directory: each
 * 512-byte sector of a test image holds its own index (mod 256) followed by
 * a marker byte, so a read that lands at the wrong offset shows at once, and
 * the file is checked with plain pread() behind the block layer's back.
 * Block-status tests need a file system that reports holes (SEEK_HOLE); they
 * skip with a reason where it does not.
 *
 * null-co needs no files; its latency test only checks a lower bound, so a
 * slow machine cannot make it fail.
 */
#include "util/osdep.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "block/block.h"
#include "block/block-backend.h"
#include "block/probe.h"

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)

#define IMG_SIZE  (1 * MiB)

/* A temporary directory holding one image file. */
typedef struct TestDir {
    char *dir;
    char *path;
} TestDir;

static void test_dir_init(TestDir *td)
{
    GError *gerr = NULL;

    td->dir = g_dir_make_tmp("test-raw-null-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    td->path = g_build_filename(td->dir, "img.raw", NULL);
}

static void test_dir_cleanup(TestDir *td)
{
    g_assert_cmpint(unlink(td->path) == 0 || errno == ENOENT, ==, true);
    g_assert_cmpint(rmdir(td->dir), ==, 0);
    g_free(td->path);
    g_free(td->dir);
}

/* The byte at offset @off of a freshly made image. */
static uint8_t img_byte(int64_t off)
{
    return (off % 512) ? 0xc5 : (uint8_t)(off / 512);
}

/* Make @path an @size byte image filled with the img_byte() pattern. */
static void make_image(const char *path, int64_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);
    int64_t i;
    int fd;

    for (i = 0; i < size; i++) {
        buf[i] = img_byte(i);
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, size, 0), ==, size);
    g_assert_cmpint(close(fd), ==, 0);
}

/* Read @bytes at @off of the file itself, behind the block layer's back. */
static void file_read(const char *path, int64_t off, void *buf, int64_t bytes)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, bytes, off), ==, bytes);
    close(fd);
}

static int64_t file_size(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_size;
}

/* Assert that the file holds the original pattern over [off, off + bytes). */
static void assert_file_pattern(const char *path, int64_t off, int64_t bytes)
{
    g_autofree uint8_t *buf = g_malloc(bytes);
    int64_t i;

    file_read(path, off, buf, bytes);
    for (i = 0; i < bytes; i++) {
        if (buf[i] != img_byte(off + i)) {
            g_error("file byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    off + i, buf[i], img_byte(off + i));
        }
    }
}

static void assert_buf_filled(const uint8_t *buf, int64_t bytes, uint8_t c)
{
    int64_t i;

    for (i = 0; i < bytes; i++) {
        if (buf[i] != c) {
            g_error("byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    i, buf[i], c);
        }
    }
}

/* Open a node from @str, which must succeed. */
static BlockDriverState *open_ok(const char *str)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    if (!bs) {
        g_error("opening '%s' failed: %s", str, error_get_pretty(err));
    }
    g_assert_null(err);
    return bs;
}

/* Open a node from @str, which must fail with message @msg. */
static void open_fails(const char *str, const char *msg)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    g_assert_null(bs);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

/* raw over a file node on @path, with @extra ("" or ",key=value..."). */
static BlockDriverState *open_raw(const char *path, const char *extra)
{
    g_autofree char *str =
        g_strdup_printf("driver=raw,file.driver=file,file.filename=%s%s",
                        path, extra);

    return open_ok(str);
}

/* A writable, resizable backend on @bs; drops the caller's reference. */
static BlockBackend *backend_for(BlockDriverState *bs)
{
    Error *err = NULL;
    BlockBackend *blk;

    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                          BLK_PERM_RESIZE, BLK_PERM_ALL, &err);
    if (!blk) {
        g_error("blk_new_with_bs failed: %s", error_get_pretty(err));
    }
    bdrv_unref(bs);
    return blk;
}

/*
 * Whether the file system under @path reports holes: make a file with data
 * in its first 64 KiB and a hole after it, and look.
 */
static bool fs_reports_holes(const char *path)
{
    uint8_t buf[4096];
    off_t hole;
    int fd;

    memset(buf, 1, sizeof(buf));
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    g_assert_cmpint(pwrite(fd, buf, sizeof(buf), 0), ==, sizeof(buf));
    hole = lseek(fd, 0, SEEK_HOLE);
    close(fd);
    unlink(path);
    return hole >= 0 && hole < IMG_SIZE;
}

/*
 * Make @path an IMG_SIZE file whose first 64 KiB hold data and whose rest
 * is a hole.
 */
static void make_sparse_image(const char *path)
{
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    int fd;

    memset(buf, 0x11, 64 * KiB);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, 64 * KiB, 0), ==, 64 * KiB);
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    g_assert_cmpint(close(fd), ==, 0);
}

/* raw: plain pass-through */

static void test_raw_read_write(void)
{
    TestDir td;
    BlockDriverState *bs;
    BlockBackend *blk;
    uint8_t buf[8192];
    int64_t i;

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    bs = open_raw(td.path, "");
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    g_assert_nonnull(bdrv_file_bs(bs));
    g_assert_cmpstr(bdrv_get_format_name(bdrv_file_bs(bs)), ==, "file");
    blk = backend_for(bs);

    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE);

    /* Reads see the file's bytes, aligned or not. */
    g_assert_cmpint(blk_pread(blk, 4096, sizeof(buf), buf, 0), ==, 0);
    for (i = 0; i < (int64_t)sizeof(buf); i++) {
        g_assert_cmpint(buf[i], ==, img_byte(4096 + i));
    }
    g_assert_cmpint(blk_pread(blk, 1000, 100, buf, 0), ==, 0);
    for (i = 0; i < 100; i++) {
        g_assert_cmpint(buf[i], ==, img_byte(1000 + i));
    }

    /* Writes land at the same offset in the file and nowhere else. */
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 65536, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    memset(buf, 0, sizeof(buf));
    file_read(td.path, 65536, buf, sizeof(buf));
    assert_buf_filled(buf, sizeof(buf), 0x5a);
    assert_file_pattern(td.path, 0, 65536);
    assert_file_pattern(td.path, 65536 + sizeof(buf),
                        IMG_SIZE - 65536 - sizeof(buf));

    /* Zero writes too. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 131072, 4096, 0), ==, 0);
    file_read(td.path, 131072, buf, 4096);
    assert_buf_filled(buf, 4096, 0);
    assert_file_pattern(td.path, 131072 + 4096, 4096);

    blk_unref(blk);
    test_dir_cleanup(&td);
}

/* The JSON spelling of the options, with typed values. */
static void test_raw_json(void)
{
    TestDir td;
    BlockBackend *blk;
    g_autofree char *json = NULL;
    uint8_t buf[512];

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    json = g_strdup_printf("{\"driver\": \"raw\", \"offset\": 2048, "
                           "\"size\": 8192, \"file\": {\"driver\": \"file\", "
                           "\"filename\": \"%s\"}}", td.path);
    blk = backend_for(open_ok(json));
    g_assert_cmpint(blk_getlength(blk), ==, 8192);
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(2048));
    g_assert_cmpint(buf[1], ==, img_byte(2049));
    blk_unref(blk);

    /* The json: prefix and string values work as well. */
    g_free(json);
    json = g_strdup_printf("json:{\"driver\": \"raw\", \"offset\": \"4k\", "
                           "\"file\": {\"driver\": \"file\", "
                           "\"filename\": \"%s\"}}", td.path);
    blk = backend_for(open_ok(json));
    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE - 4096);
    g_assert_cmpint(blk_pread(blk, 512, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(4096 + 512));
    blk_unref(blk);

    test_dir_cleanup(&td);
}

/* raw: offset/size windows */

static void test_raw_window(void)
{
    const int64_t off = 64 * KiB, size = 128 * KiB;
    TestDir td;
    BlockBackend *blk;
    uint8_t buf[4096];
    int64_t i;

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    blk = backend_for(open_raw(td.path, ",offset=64k,size=128k"));
    g_assert_cmpint(blk_getlength(blk), ==, size);

    /* Reads start at the window's offset in the file. */
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    for (i = 0; i < (int64_t)sizeof(buf); i++) {
        g_assert_cmpint(buf[i], ==, img_byte(off + i));
    }
    g_assert_cmpint(blk_pread(blk, size - 512, 512, buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(off + size - 512));

    /* So do writes, up to the window's last byte. */
    memset(buf, 0xee, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 4096, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, size - 512, 512, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 16384, 512, 0), ==, 0);

    /* Writes that reach past the window fail and change nothing. */
    g_assert_cmpint(blk_pwrite(blk, size - 512, 1024, buf, 0), <, 0);
    g_assert_cmpint(blk_pwrite(blk, size, 512, buf, 0), <, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, size - 512, 4096, 0), <, 0);
    g_assert_cmpint(blk_pread(blk, size, 512, buf, 0), <, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);

    assert_file_pattern(td.path, 0, off + 4096);
    file_read(td.path, off + 4096, buf, sizeof(buf));
    assert_buf_filled(buf, sizeof(buf), 0xee);
    assert_file_pattern(td.path, off + 8192, 16384 - 8192);
    file_read(td.path, off + 16384, buf, 512);
    assert_buf_filled(buf, 512, 0);
    assert_file_pattern(td.path, off + 16384 + 512,
                        size - 512 - 16384 - 512);
    file_read(td.path, off + size - 512, buf, 512);
    assert_buf_filled(buf, 512, 0xee);
    assert_file_pattern(td.path, off + size, IMG_SIZE - off - size);
    g_assert_cmpint(file_size(td.path), ==, IMG_SIZE);

    blk_unref(blk);
    test_dir_cleanup(&td);
}

/*
 * A window with an offset and no size follows the file and can resize.
 * Its length is rounded up to whole sectors, as every node length is:
 * qemu-io 7.2 on `driver=raw,offset=1000,file.filename=F` with a 1 MiB F
 * says `length` 1023.500 KiB (1048064 = IMG_SIZE - 1000 rounded up), and
 * after `truncate 8192` the file is 9192 bytes and `length` 8.500 KiB (the
 * file's 9216 sectors-worth minus 1000, rounded up again: 8704).
 */
static void test_raw_window_offset_only(void)
{
    TestDir td;
    BlockBackend *blk;
    BlockDriverState *bs;
    int64_t pnum = -1;
    uint8_t buf[512];
    int ret;

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    blk = backend_for(open_raw(td.path, ",offset=1000"));
    bs = blk_bs(blk);
    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE - 512);
    g_assert_cmpint(blk_pread(blk, 24, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(1024));

    /* The 488 bytes past the file read as zeroes and say so. */
    memset(buf, 0xa5, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, IMG_SIZE - 1000, 488, buf, 0), ==, 0);
    assert_buf_filled(buf, 488, 0);
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, IMG_SIZE - 1000, 4096,
                            &pnum, NULL, NULL);
    g_assert_cmphex(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED |
                    BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, 488);
    /* The last bytes of the file are not its end: no EOF before ours. */
    ret = bdrv_block_status(bs, BDRV_WANT_ZERO, IMG_SIZE - 1512, 4096,
                            &pnum, NULL, NULL);
    g_assert_cmpint(ret, >=, 0);
    g_assert_false(ret & BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, 512);
    g_assert_cmpint(file_size(td.path), ==, IMG_SIZE);

    g_assert_cmpint(blk_truncate(blk, 8192, true, PREALLOC_MODE_OFF, 0,
                                 NULL), ==, 0);
    g_assert_cmpint(file_size(td.path), ==, 8192 + 1000);
    g_assert_cmpint(blk_getlength(blk), ==, 8704);

    blk_unref(blk);
    test_dir_cleanup(&td);
}

/* A fixed window cannot be resized; the file keeps its size. */
static void test_raw_window_truncate(void)
{
    TestDir td;
    BlockBackend *blk;
    Error *err = NULL;

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    blk = backend_for(open_raw(td.path, ",size=64k"));
    g_assert_cmpint(blk_truncate(blk, 128 * KiB, true, PREALLOC_MODE_OFF, 0,
                                 &err), ==, -ENOTSUP);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Cannot resize fixed-size raw disks");
    error_free(err);
    g_assert_cmpint(blk_getlength(blk), ==, 64 * KiB);
    g_assert_cmpint(file_size(td.path), ==, IMG_SIZE);
    blk_unref(blk);

    /* Without any window raw resizes the file. */
    blk = backend_for(open_raw(td.path, ""));
    g_assert_cmpint(blk_truncate(blk, 2 * MiB, true, PREALLOC_MODE_OFF, 0,
                                 NULL), ==, 0);
    g_assert_cmpint(file_size(td.path), ==, 2 * MiB);
    g_assert_cmpint(blk_getlength(blk), ==, 2 * MiB);
    blk_unref(blk);

    test_dir_cleanup(&td);
}

static void test_raw_window_invalid(void)
{
    TestDir td;
    g_autofree char *prefix = NULL;
    char *str;

    test_dir_init(&td);
    make_image(td.path, 8192);
    prefix = g_strdup_printf("driver=raw,file.driver=file,file.filename=%s",
                             td.path);

    str = g_strconcat(prefix, ",offset=8193", NULL);
    open_fails(str, "Offset (8193) cannot be greater than size of the "
               "containing file (8192)");
    g_free(str);

    str = g_strconcat(prefix, ",offset=4096,size=4608", NULL);
    open_fails(str, "The sum of offset (4096) and size (4608) has to be "
               "smaller or equal to the  actual size of the containing "
               "file (8192)");
    g_free(str);

    str = g_strconcat(prefix, ",size=16k", NULL);
    open_fails(str, "The sum of offset (0) and size (16384) has to be "
               "smaller or equal to the  actual size of the containing "
               "file (8192)");
    g_free(str);

    str = g_strconcat(prefix, ",size=1000", NULL);
    open_fails(str, "Specified size is not multiple of 512");
    g_free(str);

    /* Nothing stays open after a failure. */
    g_assert_null(bdrv_list_nodes());

    /* Edge cases that are valid: an empty window at the very end. */
    str = g_strconcat(prefix, ",offset=8192,size=0", NULL);
    {
        BlockBackend *blk = backend_for(open_ok(str));

        g_assert_cmpint(blk_getlength(blk), ==, 0);
        blk_unref(blk);
    }
    g_free(str);

    test_dir_cleanup(&td);
}

/* Without a window raw looks through to its file; with one it does not. */
static void test_raw_skip_filters(void)
{
    TestDir td;
    BlockDriverState *bs;

    test_dir_init(&td);
    make_image(td.path, 8192);

    bs = open_raw(td.path, "");
    g_assert_true(bdrv_skip_filters(bs) == bdrv_file_bs(bs));
    bdrv_unref(bs);

    bs = open_raw(td.path, ",offset=512");
    g_assert_true(bdrv_skip_filters(bs) == bs);
    bdrv_unref(bs);

    test_dir_cleanup(&td);
}

/* raw: block status */

static void test_raw_block_status(void)
{
    TestDir td;
    BlockDriverState *bs, *file;
    int64_t pnum, map;
    int ret, depth;

    test_dir_init(&td);
    if (!fs_reports_holes(td.path)) {
        g_test_skip("the file system does not report holes");
        test_dir_cleanup(&td);
        return;
    }
    make_sparse_image(td.path);
    bs = open_raw(td.path, "");

    /* Data: the file's answer, mapped at the same offset. */
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 0, IMG_SIZE, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_cmpint(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                           BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_RAW), ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_true(ret & BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    g_assert_cmpint(map, ==, 0);
    g_assert_true(file == bdrv_file_bs(bs));

    /* The hole reads as zero. */
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 64 * KiB,
                            IMG_SIZE - 64 * KiB, &pnum, &map, &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_false(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_RAW));
    g_assert_true(ret & BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, IMG_SIZE - 64 * KiB);
    if (ret & BDRV_BLOCK_OFFSET_VALID) {
        g_assert_cmpint(map, ==, 64 * KiB);
        g_assert_true(file == bdrv_file_bs(bs));
    }

    /* The chain walk gives the same answers, from the top layer. */
    ret = bdrv_block_status_above(bs, NULL, false, BDRV_WANT_PRECISE, 0,
                                  IMG_SIZE, &pnum, &map, &file, &depth);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_DATA);
    g_assert_cmpint(pnum, ==, 64 * KiB);
    g_assert_cmpint(depth, ==, 1);
    ret = bdrv_block_status_above(bs, NULL, false, BDRV_WANT_PRECISE,
                                  64 * KiB, IMG_SIZE - 64 * KiB, &pnum, &map,
                                  &file, &depth);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_false(ret & BDRV_BLOCK_DATA);
    g_assert_cmpint(pnum, ==, IMG_SIZE - 64 * KiB);

    bdrv_unref(bs);
    test_dir_cleanup(&td);
}

/* Through a window, status is the file's at the shifted offset. */
static void test_raw_block_status_window(void)
{
    TestDir td;
    BlockDriverState *bs, *file;
    int64_t pnum, map;
    int ret;

    test_dir_init(&td);
    if (!fs_reports_holes(td.path)) {
        g_test_skip("the file system does not report holes");
        test_dir_cleanup(&td);
        return;
    }
    make_sparse_image(td.path);
    bs = open_raw(td.path, ",offset=32k,size=512k");

    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 0, 512 * KiB, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_DATA);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 32 * KiB);
    g_assert_cmpint(map, ==, 32 * KiB);
    g_assert_true(file == bdrv_file_bs(bs));

    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 32 * KiB, 480 * KiB,
                            &pnum, &map, &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_false(ret & BDRV_BLOCK_DATA);
    g_assert_true(ret & BDRV_BLOCK_EOF);
    /* The hole goes on past the window, but the answer stops at its end. */
    g_assert_cmpint(pnum, ==, 480 * KiB);
    if (ret & BDRV_BLOCK_OFFSET_VALID) {
        g_assert_cmpint(map, ==, 64 * KiB);
    }

    bdrv_unref(bs);
    test_dir_cleanup(&td);
}

/* raw: image creation goes to the file driver */

static void test_raw_create(void)
{
    TestDir td;
    BlockOptions *opts;
    BlockBackend *blk;
    Error *err = NULL;

    test_dir_init(&td);
    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "filename", td.path);
    qdict_put_int(opts, "size", 3 * MiB);
    g_assert_cmpint(bdrv_create(opts, &err), ==, 0);
    g_assert_null(err);
    qdict_unref(opts);
    g_assert_cmpint(file_size(td.path), ==, 3 * MiB);

    blk = backend_for(open_raw(td.path, ""));
    g_assert_cmpint(blk_getlength(blk), ==, 3 * MiB);
    blk_unref(blk);

    test_dir_cleanup(&td);
}

/* null-co */

/*
 * Probing, with QEMU's rules (checked with qemu-io 7.2 without -f): a
 * qcow2 magic with version >= 2 and at least 72 bytes of header is qcow2,
 * anything else raw (an empty file, "QFI\xfb" alone, a version 1 header).
 */
static void test_probe_buf(void)
{
    uint8_t buf[BDRV_PROBE_BUF_SIZE] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

    g_assert_cmpstr(bdrv_probe_buf(buf, sizeof(buf), NULL), ==, "qcow2");
    g_assert_cmpstr(bdrv_probe_buf(buf, 72, "x"), ==, "qcow2");
    g_assert_cmpstr(bdrv_probe_buf(buf, 71, "x"), ==, "raw");
    buf[7] = 2;
    g_assert_cmpstr(bdrv_probe_buf(buf, sizeof(buf), NULL), ==, "qcow2");
    buf[7] = 1;
    g_assert_cmpstr(bdrv_probe_buf(buf, sizeof(buf), NULL), ==, "raw");
    buf[7] = 3;
    buf[3] = 0xfa;
    g_assert_cmpstr(bdrv_probe_buf(buf, sizeof(buf), NULL), ==, "raw");
}

static void test_probe_format(void)
{
    static const uint8_t hdr[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    TestDir td;
    Error *err = NULL;
    int fd;

    test_dir_init(&td);
    fd = open(td.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    /* Empty, then only the magic (zero-padded: too short), then 100 bytes. */
    g_assert_cmpstr(bdrv_probe_format(td.path, false, &error_abort), ==,
                    "raw");
    g_assert_cmpint(pwrite(fd, hdr, 4, 0), ==, 4);
    g_assert_cmpstr(bdrv_probe_format(td.path, true, &error_abort), ==,
                    "raw");
    g_assert_cmpint(pwrite(fd, hdr, sizeof(hdr), 0), ==, sizeof(hdr));
    g_assert_cmpint(ftruncate(fd, 100), ==, 0);
    g_assert_cmpstr(bdrv_probe_format(td.path, false, &error_abort), ==,
                    "qcow2");
    g_assert_cmpint(close(fd), ==, 0);
    /* The probe wrote nothing. */
    g_assert_cmpint(file_size(td.path), ==, 100);
    test_dir_cleanup(&td);

    g_assert_null(bdrv_probe_format("/nonexistent/emblock", false, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Could not open "
                    "'/nonexistent/emblock': No such file or directory");
    error_free(err);
}

/*
 * x-probed=on (the tools set it when they guessed raw): a write that would
 * make sector 0 probe as qcow2 fails with EPERM and changes nothing, as in
 * QEMU; other writes to it, unaligned ones included, go through.
 */
static void test_raw_probed_sector0(void)
{
    uint8_t hdr[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    uint8_t buf[512];
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.path, IMG_SIZE);
    blk = backend_for(open_raw(td.path, ",x-probed=on"));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(hdr), hdr, 0), ==, -EPERM);
    g_assert_cmpint(blk_pwrite(blk, 0, 8, hdr, 0), ==, -EPERM);
    assert_file_pattern(td.path, 0, 4096);
    /* Not sector 0, or not a header: fine. */
    g_assert_cmpint(blk_pwrite(blk, 512, sizeof(hdr), hdr, 0), ==, 0);
    memset(buf, 0x11, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 3, 100, buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, 0), ==, 0);
    file_read(td.path, 512, buf, 8);
    g_assert_cmpmem(buf, 8, hdr, 8);
    file_read(td.path, 0, buf, 512);
    assert_buf_filled(buf, 512, 0);
    blk_unref(blk);

    /* Without it the same header write is just data. */
    blk = backend_for(open_raw(td.path, ""));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(hdr), hdr, 0), ==, 0);
    blk_unref(blk);
    file_read(td.path, 0, buf, 8);
    g_assert_cmpmem(buf, 8, hdr, 8);
    test_dir_cleanup(&td);
}

static void test_null_defaults(void)
{
    BlockDriverState *bs = open_ok("driver=null-co");
    BlockBackend *blk;
    uint8_t buf[4096];

    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "null-co");
    g_assert_null(bdrv_file_bs(bs));
    blk = backend_for(bs);
    g_assert_cmpint(blk_getlength(blk), ==, GiB);

    /* Reads succeed and leave the buffer alone. */
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0xaa);
    g_assert_cmpint(blk_pread(blk, GiB - 100, 100, buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0xaa);

    /* Writes, zero writes, discards and flushes all succeed. */
    g_assert_cmpint(blk_pwrite(blk, 512, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 7, 3, buf, BDRV_REQ_FUA), ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, MiB, 0), ==, 0);
    g_assert_cmpint(blk_pdiscard(blk, 0, MiB), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);

    /* ... and stored nothing. */
    memset(buf, 0xbb, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 512, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0xbb);

    g_assert_cmpint(bdrv_get_allocated_file_size(blk_bs(blk)), ==, 0);
    blk_unref(blk);
}

static void test_null_read_zeroes(void)
{
    BlockBackend *blk;
    uint8_t buf[4096];

    blk = backend_for(open_ok("driver=null-co,read-zeroes=on"));
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 12345, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0);
    blk_unref(blk);

    /* JSON booleans work, and false means untouched. */
    blk = backend_for(open_ok("{\"driver\": \"null-co\", "
                              "\"read-zeroes\": false}"));
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0xaa);
    blk_unref(blk);

    blk = backend_for(open_ok("{\"driver\": \"null-co\", "
                              "\"read-zeroes\": true}"));
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0);
    blk_unref(blk);
}

static void test_null_size(void)
{
    BlockBackend *blk;
    uint8_t buf[512];

    blk = backend_for(open_ok("driver=null-co,size=1M"));
    g_assert_cmpint(blk_getlength(blk), ==, MiB);
    g_assert_cmpint(blk_pread(blk, MiB - 512, 512, buf, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, MiB, 512, buf, 0), <, 0);
    g_assert_cmpint(blk_pwrite(blk, MiB - 256, 512, buf, 0), <, 0);
    blk_unref(blk);

    /*
     * Whole sectors, as QEMU counts: qemu-io 7.2 on `driver=null-co,
     * size=12345` says `length` 12.500 KiB, reads 12345+455 and fails
     * reading at 12800.
     */
    blk = backend_for(open_ok("{\"driver\": \"null-co\", \"size\": 12345}"));
    g_assert_cmpint(blk_getlength(blk), ==, 12800);
    g_assert_cmpint(blk_pread(blk, 12345, 455, buf, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 12800, 1, buf, 0), <, 0);
    blk_unref(blk);

    blk = backend_for(open_ok("driver=null-co,size=0"));
    g_assert_cmpint(blk_getlength(blk), ==, 0);
    blk_unref(blk);

    blk = backend_for(open_ok("driver=null-co,size=2T"));
    g_assert_cmpint(blk_getlength(blk), ==, 2 * 1024 * GiB);
    blk_unref(blk);
}

static void test_null_block_status(void)
{
    BlockDriverState *bs, *file;
    int64_t pnum, map;
    int ret;

    bs = open_ok("driver=null-co,size=1M");
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 4096, 8192, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_false(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                          BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_RAW));
    g_assert_cmpint(pnum, ==, 8192);
    g_assert_cmpint(map, ==, 4096);
    g_assert_true(file == bs);

    /* Unallocated everywhere, to the end. */
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 0, MiB, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_cmpint(pnum, ==, MiB);
    g_assert_true(ret & BDRV_BLOCK_EOF);
    g_assert_false(ret & BDRV_BLOCK_DATA);
    g_assert_cmpint(bdrv_is_allocated(bs, 0, MiB, &pnum), ==, 0);
    bdrv_unref(bs);

    bs = open_ok("driver=null-co,size=1M,read-zeroes=on");
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 4096, 8192, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_true(ret & BDRV_BLOCK_ALLOCATED);
    g_assert_false(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_RAW));
    g_assert_cmpint(pnum, ==, 8192);
    g_assert_cmpint(map, ==, 4096);
    g_assert_true(file == bs);
    g_assert_cmpint(bdrv_is_all_zeroes(bs), ==, 1);
    bdrv_unref(bs);
}

/* raw over null-co: status passes through to the protocol's answer. */
static void test_null_under_raw(void)
{
    BlockDriverState *bs, *file;
    BlockBackend *blk;
    int64_t pnum, map;
    uint8_t buf[512];
    int ret;

    bs = open_ok("driver=raw,offset=1k,file.driver=null-co,file.size=64k,"
                 "file.read-zeroes=on");
    ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 0, 63 * KiB, &pnum, &map,
                            &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_ZERO);
    g_assert_false(ret & BDRV_BLOCK_DATA);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(pnum, ==, 63 * KiB);
    g_assert_cmpint(map, ==, KiB);
    g_assert_true(file == bdrv_file_bs(bs));

    blk = backend_for(bs);
    g_assert_cmpint(blk_getlength(blk), ==, 63 * KiB);
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    assert_buf_filled(buf, sizeof(buf), 0);
    blk_unref(blk);
}

static void test_null_latency(void)
{
    const int64_t latency = 20 * 1000 * 1000;
    BlockBackend *blk;
    uint8_t buf[512];
    int64_t start;

    blk = backend_for(open_ok("driver=null-co,latency-ns=20000000"));

    start = get_clock_ns();
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(get_clock_ns() - start, >=, latency);

    start = get_clock_ns();
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(get_clock_ns() - start, >=, latency);

    start = get_clock_ns();
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(get_clock_ns() - start, >=, latency);

    blk_unref(blk);
}

static void test_null_invalid(void)
{
    open_fails("driver=null-co,latency-ns=-1", "latency-ns is invalid");
    open_fails("driver=null-co,filename=/dev/null",
               "The only allowed filename for this driver is 'null-co://'");
    g_assert_null(bdrv_list_nodes());

    bdrv_unref(open_ok("driver=null-co,filename=null-co://"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/raw/read-write", test_raw_read_write);
    g_test_add_func("/raw/json", test_raw_json);
    g_test_add_func("/raw/window/io", test_raw_window);
    g_test_add_func("/raw/window/offset-only", test_raw_window_offset_only);
    g_test_add_func("/raw/window/truncate", test_raw_window_truncate);
    g_test_add_func("/raw/window/invalid", test_raw_window_invalid);
    g_test_add_func("/raw/skip-filters", test_raw_skip_filters);
    g_test_add_func("/raw/block-status/plain", test_raw_block_status);
    g_test_add_func("/raw/block-status/window",
                    test_raw_block_status_window);
    g_test_add_func("/raw/create", test_raw_create);
    g_test_add_func("/raw/probe/buf", test_probe_buf);
    g_test_add_func("/raw/probe/format", test_probe_format);
    g_test_add_func("/raw/probe/sector0", test_raw_probed_sector0);
    g_test_add_func("/null/defaults", test_null_defaults);
    g_test_add_func("/null/read-zeroes", test_null_read_zeroes);
    g_test_add_func("/null/size", test_null_size);
    g_test_add_func("/null/block-status", test_null_block_status);
    g_test_add_func("/null/under-raw", test_null_under_raw);
    g_test_add_func("/null/latency", test_null_latency);
    g_test_add_func("/null/invalid", test_null_invalid);

    return g_test_run();
}
