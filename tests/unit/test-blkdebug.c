/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the blkdebug filter.
 *
 * Almost every test opens raw over blkdebug over a file in a private
 * temporary directory, the stack iotests use, from JSON options.  Each
 * 512-byte sector of a fresh image holds its own index (mod 256) followed
 * by a marker byte, so the tests can tell from the file itself which
 * writes reached it.  Events a format driver would fire are fired with
 * bdrv_debug_event() on raw's file edge.
 *
 * Where qemu-io 7.2 can run the same configuration, the expected outcome
 * was checked against it; those tests quote its output.  Example:
 *
 *   $ qemu-io -c 'write -P 1 0 512' -c 'read 0 512' 'json:{"driver":"raw",
 *       "file":{"driver":"blkdebug","image":{"driver":"file",
 *       "filename":"r.raw"},"inject-error":[{"event":"none",
 *       "iotype":"write"}]}}'
 *   write failed: Input/output error
 *   read 512/512 bytes at offset 0
 */
#include "util/osdep.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "block/block-int.h"

#define KiB (INT64_C(1) << 10)
#define IMG_SIZE (1024 * KiB)

/* A temporary directory holding the image and config files. */
typedef struct TestDir {
    char *dir;
    char *img;
} TestDir;

static void test_dir_init(TestDir *td)
{
    GError *gerr = NULL;

    td->dir = g_dir_make_tmp("test-blkdebug-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    td->img = g_build_filename(td->dir, "img.raw", NULL);
}

/* Remove the directory and every file in it. */
static void test_dir_cleanup(TestDir *td)
{
    GDir *d = g_dir_open(td->dir, 0, NULL);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(td->dir, name, NULL);

        g_assert_cmpint(unlink(path), ==, 0);
    }
    g_dir_close(d);
    g_assert_cmpint(rmdir(td->dir), ==, 0);
    g_free(td->img);
    g_free(td->dir);
}

/* The byte at offset @off of a fresh image. */
static uint8_t img_byte(int64_t off)
{
    return (off % 512) ? 0xc5 : (uint8_t)(off / 512);
}

static void make_image(const char *path)
{
    g_autofree uint8_t *buf = g_malloc(IMG_SIZE);
    int fd;

    for (int64_t i = 0; i < IMG_SIZE; i++) {
        buf[i] = img_byte(i);
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, IMG_SIZE, 0), ==, IMG_SIZE);
    g_assert_cmpint(close(fd), ==, 0);
}

static void file_read(const char *path, int64_t off, void *buf,
                      int64_t bytes)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, bytes, off), ==, bytes);
    close(fd);
}

/* The file still holds the fresh pattern over [off, off + bytes). */
static void assert_file_pattern(const char *path, int64_t off, int64_t bytes)
{
    g_autofree uint8_t *buf = g_malloc(bytes);

    file_read(path, off, buf, bytes);
    for (int64_t i = 0; i < bytes; i++) {
        if (buf[i] != img_byte(off + i)) {
            g_error("file byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    off + i, buf[i], img_byte(off + i));
        }
    }
}

/* The file holds @c over [off, off + bytes). */
static void assert_file_filled(const char *path, int64_t off, int64_t bytes,
                               uint8_t c)
{
    g_autofree uint8_t *buf = g_malloc(bytes);

    file_read(path, off, buf, bytes);
    for (int64_t i = 0; i < bytes; i++) {
        if (buf[i] != c) {
            g_error("file byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    off + i, buf[i], c);
        }
    }
}

static void write_file(const char *path, const char *text)
{
    GError *gerr = NULL;

    g_file_set_contents(path, text, -1, &gerr);
    g_assert_no_error(gerr);
}

/*
 * JSON options for raw over blkdebug over the file @img; @opts are more
 * blkdebug options ("" or "\"key\": value, ...").
 */
static char *stack_json(const char *img, const char *opts)
{
    return g_strdup_printf("{\"driver\": \"raw\", \"discard\": \"unmap\", "
                           "\"file\": {\"driver\": \"blkdebug\", %s%s"
                           "\"image\": {\"driver\": \"file\", "
                           "\"filename\": \"%s\"}}}",
                           opts, *opts ? ", " : "", img);
}

static BlockDriverState *open_ok(const char *str)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    if (!bs) {
        g_error("opening '%s' failed: %s", str, error_get_pretty(err));
    }
    return bs;
}

/* Opening @str fails with exactly @msg. */
static void open_fails(const char *str, const char *msg)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    g_assert_null(bs);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

/* A writable backend on @bs; drops the caller's reference. */
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

/* A backend on raw over blkdebug with options @opts over td->img. */
static BlockBackend *open_stack(TestDir *td, const char *opts)
{
    g_autofree char *json = stack_json(td->img, opts);

    return backend_for(open_ok(json));
}

/* Fire @event from the format's side, as qcow2 would. */
static void fire(BlockBackend *blk, BlkdebugEvent event)
{
    bdrv_debug_event(blk_bs(blk)->file, event);
}

static int write_pattern(BlockBackend *blk, int64_t off, int64_t bytes,
                         uint8_t c)
{
    g_autofree uint8_t *buf = g_malloc(bytes);

    memset(buf, c, bytes);
    return blk_pwrite(blk, off, bytes, buf, 0);
}

static int read_some(BlockBackend *blk, int64_t off, int64_t bytes)
{
    g_autofree uint8_t *buf = g_malloc(bytes);

    return blk_pread(blk, off, bytes, buf, 0);
}

/* Basic rules */

/* qemu-io 7.2 on the same rule: see the file comment. */
static void test_write_eio(void)
{
    TestDir td;
    BlockBackend *blk;
    uint8_t buf[512];

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"iotype\": \"write\"}]");
    g_assert_cmpstr(bdrv_get_format_name(bdrv_file_bs(blk_bs(blk))), ==,
                    "blkdebug");

    g_assert_cmpint(write_pattern(blk, 0, 512, 0x11), ==, -EIO);
    g_assert_cmpint(write_pattern(blk, 4096, 8192, 0x11), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, 0, 512, buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(0));
    g_assert_cmpint(buf[1], ==, img_byte(1));
    /* Other request types are not covered by the rule. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 8192, 512, 0), ==, 0);
    g_assert_cmpint(blk_pdiscard(blk, 65536, 4096), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    blk_unref(blk);

    assert_file_pattern(td.img, 0, 8192);
    assert_file_filled(td.img, 8192, 512, 0);
    test_dir_cleanup(&td);
}

/*
 * qemu-io 7.2 with errno 28: `write failed: No space left on device`.
 * errno 0 matches but injects nothing, as in QEMU.
 */
static void test_errno(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"errno\": 28}]");
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x22), ==, -ENOSPC);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, 0), ==, -ENOSPC);
    blk_unref(blk);

    /* The first matching rule decides, even when it injects nothing. */
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"iotype\": \"write\", \"errno\": 0}, "
                     "{\"event\": \"none\", \"errno\": \"7\"}]");
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x22), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -E2BIG);
    blk_unref(blk);

    assert_file_filled(td.img, 0, 512, 0x22);
    test_dir_cleanup(&td);
}

/* A once rule fails one request and is gone, even for later events. */
static void test_once(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"iotype\": \"write\", \"once\": true}, "
                     "{\"event\": \"l2_update\", \"iotype\": \"write\", "
                     "\"once\": true}]");
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x33), ==, -EIO);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x33), ==, 0);
    g_assert_cmpint(write_pattern(blk, 512, 512, 0x33), ==, 0);

    fire(blk, BLKDBG_L2_UPDATE);
    g_assert_cmpint(write_pattern(blk, 1024, 512, 0x44), ==, -EIO);
    fire(blk, BLKDBG_L2_UPDATE);
    g_assert_cmpint(write_pattern(blk, 1024, 512, 0x44), ==, 0);
    blk_unref(blk);

    assert_file_filled(td.img, 0, 1024, 0x33);
    assert_file_filled(td.img, 1024, 512, 0x44);
    test_dir_cleanup(&td);
}

/*
 * A sector rule matches requests that contain the sector's first byte.
 * qemu-io 7.2 with sector 1 agrees byte for byte: `write -P 1 600 100`,
 * `read 600 100` and `read 1000 100` succeed, `read 500 100` fails.
 */
static void test_sector(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"sector\": 2}]");
    g_assert_cmpint(write_pattern(blk, 0, 1024, 0x55), ==, 0);
    g_assert_cmpint(write_pattern(blk, 1024, 512, 0x55), ==, -EIO);
    g_assert_cmpint(write_pattern(blk, 1536, 512, 0x55), ==, 0);
    g_assert_cmpint(read_some(blk, 512, 1024), ==, -EIO);
    g_assert_cmpint(read_some(blk, 0, 1024), ==, 0);
    g_assert_cmpint(read_some(blk, 1100, 100), ==, 0);
    g_assert_cmpint(read_some(blk, 1000, 100), ==, -EIO);
    g_assert_cmpint(read_some(blk, 1024, 1), ==, -EIO);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 4096, 0), ==, -EIO);
    g_assert_cmpint(blk_pdiscard(blk, 0, 4096), ==, -EIO);
    /* A flush covers no sector. */
    g_assert_cmpint(blk_flush(blk), ==, 0);
    blk_unref(blk);

    assert_file_filled(td.img, 0, 1024, 0x55);
    assert_file_pattern(td.img, 1024, 512);
    assert_file_filled(td.img, 1536, 512, 0x55);
    test_dir_cleanup(&td);
}

/* Each iotype only fails its own kind of request. */
static void test_iotypes(void)
{
    static const char *const types[] = {
        "read", "write", "write-zeroes", "discard", "flush", "block-status",
    };
    TestDir td;

    test_dir_init(&td);
    make_image(td.img);
    for (int i = 0; i < (int)G_N_ELEMENTS(types); i++) {
        g_autofree char *opts = g_strdup_printf(
            "\"inject-error\": [{\"event\": \"none\", \"iotype\": \"%s\"}]",
            types[i]);
        BlockBackend *blk = open_stack(&td, opts);
        BlockDriverState *bs = blk_bs(blk);
        int64_t pnum;
        int ret;

        ret = read_some(blk, 0, 512);
        g_assert_cmpint(ret, ==, i == 0 ? -EIO : 0);
        ret = write_pattern(blk, 0, 512, 0x66);
        g_assert_cmpint(ret, ==, i == 1 ? -EIO : 0);
        ret = blk_pwrite_zeroes(blk, 4096, 4096, 0);
        g_assert_cmpint(ret, ==, i == 2 ? -EIO : 0);
        ret = blk_pdiscard(blk, 8192, 4096);
        g_assert_cmpint(ret, ==, i == 3 ? -EIO : 0);
        /* Something was written, so the flush reaches blkdebug. */
        ret = blk_flush(blk);
        g_assert_cmpint(ret, ==, i == 4 ? -EIO : 0);
        ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, 0, 4096, &pnum, NULL,
                                NULL);
        if (i == 5) {
            g_assert_cmpint(ret, ==, -EIO);
        } else {
            g_assert_cmpint(ret, >=, 0);
            g_assert_true(ret & BDRV_BLOCK_DATA);
        }
        blk_unref(blk);
    }
    test_dir_cleanup(&td);
}

/*
 * Without an iotype every kind but block status fails; qemu-io 7.2 shows
 * the same: `map` works, `write -z` fails.
 */
static void test_default_iotypes(void)
{
    TestDir td;
    BlockBackend *blk;
    BlockDriverState *file;
    int64_t pnum, map;
    int ret;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\"}]");
    g_assert_cmpint(read_some(blk, 0, 512), ==, -EIO);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x77), ==, -EIO);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, 0), ==, -EIO);
    g_assert_cmpint(blk_pdiscard(blk, 0, 4096), ==, -EIO);
    /* Block status passes through to the file, as for any filter. */
    ret = bdrv_block_status(blk_bs(blk), BDRV_WANT_PRECISE, 4096, 4096,
                            &pnum, &map, &file);
    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpint(map, ==, 4096);
    g_assert_cmpstr(bdrv_get_format_name(file), ==, "file");
    blk_unref(blk);
    assert_file_pattern(td.img, 0, 4096);
    test_dir_cleanup(&td);
}

/* A flush has nothing to do, and fails nothing, before any write. */
static void test_flush(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    /* qemu-io 7.2: `flush` prints nothing (success) on a fresh image. */
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"iotype\": \"flush\"}]");
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x12), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, -EIO);
    /* Not flushed, so the next flush tries (and fails) again. */
    g_assert_cmpint(blk_flush(blk), ==, -EIO);
    blk_unref(blk);
    test_dir_cleanup(&td);
}

/* Events and states */

/* Events fired by the format node activate their rules. */
static void test_event_from_parent(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"l2_update\", "
                     "\"iotype\": \"write\"}, {\"event\": \"l2_load\", "
                     "\"iotype\": \"read\", \"errno\": 28}]");
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x88), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);

    fire(blk, BLKDBG_L2_UPDATE);
    g_assert_cmpint(write_pattern(blk, 512, 512, 0x88), ==, -EIO);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    /* An event without inject rules leaves the active set alone. */
    fire(blk, BLKDBG_COW_READ);
    g_assert_cmpint(write_pattern(blk, 512, 512, 0x88), ==, -EIO);
    /* One with inject rules replaces it. */
    fire(blk, BLKDBG_L2_LOAD);
    g_assert_cmpint(write_pattern(blk, 512, 512, 0x99), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    blk_unref(blk);

    assert_file_filled(td.img, 0, 512, 0x88);
    assert_file_filled(td.img, 512, 512, 0x99);
    test_dir_cleanup(&td);
}

/*
 * States: write_aio (fired by raw for each write) moves 1 -> 2 -> 3; the
 * read rule exists only in state 2.  One write moves one step (had the
 * event fired twice for it, state 2 would be skipped and the read rule
 * never armed).  An armed rule stays armed when the state moves on, until
 * an event arms others.  The same rules from a config file with qemu-io
 * 7.2 (`read 0 512`, `write -P 1 0 512`, `read 0 512`) give `read
 * 512/512`, `wrote 512/512`, `read failed: No space left on device`.
 */
static void test_state(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td,
        "\"set-state\": [{\"event\": \"write_aio\", \"state\": 1, "
        "\"new_state\": 2}, {\"event\": \"write_aio\", \"state\": 2, "
        "\"new_state\": 3}], "
        "\"inject-error\": [{\"event\": \"read_aio\", \"state\": 2, "
        "\"iotype\": \"read\", \"errno\": 28}]");
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xaa), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xaa), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    blk_unref(blk);
    test_dir_cleanup(&td);
}

/*
 * Rules are matched against the state before the event: an inject rule
 * for the state a set-state rule of the same event moves to is armed only
 * by the next occurrence of the event.
 */
static void test_state_same_event(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td,
        "\"set-state\": [{\"event\": \"l2_update\", \"new_state\": 2}], "
        "\"inject-error\": [{\"event\": \"l2_update\", \"state\": 2, "
        "\"iotype\": \"write\"}]");
    fire(blk, BLKDBG_L2_UPDATE);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xbb), ==, 0);
    fire(blk, BLKDBG_L2_UPDATE);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xbb), ==, -EIO);
    blk_unref(blk);
    test_dir_cleanup(&td);
}

/*
 * flush_to_disk fires when blkdebug is flushed.  qemu-io 7.2, which
 * flushes after each write in its default cache mode, agrees on the same
 * sequence: reads work until the first flush after a write.
 */
static void test_flush_event(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"inject-error\": [{\"event\": "
                     "\"flush_to_disk\", \"iotype\": \"read\"}]");
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xcc), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -EIO);
    blk_unref(blk);
    test_dir_cleanup(&td);
}

/*
 * Straight under a BlockBackend no format fires read_aio/write_aio, so
 * blkdebug fires them itself.
 */
static void test_events_without_format(void)
{
    TestDir td;
    g_autofree char *json = NULL;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    json = g_strdup_printf("{\"driver\": \"blkdebug\", \"inject-error\": "
                           "[{\"event\": \"write_aio\", \"iotype\": "
                           "\"read\"}], \"image\": {\"driver\": \"file\", "
                           "\"filename\": \"%s\"}}", td.img);
    blk = backend_for(open_ok(json));
    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0xdd), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -EIO);
    blk_unref(blk);
    assert_file_filled(td.img, 0, 512, 0xdd);
    test_dir_cleanup(&td);
}

/* immediately */

typedef struct WriteCo {
    BlockBackend *blk;
    int ret;
    bool done;
} WriteCo;

static void coroutine_fn write_co_entry(void *opaque)
{
    WriteCo *w = opaque;
    uint8_t buf[512];

    memset(buf, 0xee, sizeof(buf));
    w->ret = blk_co_pwrite(w->blk, 0, sizeof(buf), buf, 0);
    w->done = true;
}

/*
 * An injected error normally comes back from the event loop; with
 * `immediately` it comes back before the request ever yields.
 */
static void test_immediately(void)
{
    static const char *const opts[] = {
        "\"inject-error\": [{\"event\": \"none\", \"iotype\": \"write\"}]",
        "\"inject-error\": [{\"event\": \"none\", \"iotype\": \"write\", "
        "\"immediately\": true}]",
    };
    TestDir td;

    test_dir_init(&td);
    make_image(td.img);
    for (int i = 0; i < 2; i++) {
        BlockBackend *blk = open_stack(&td, opts[i]);
        WriteCo w = { .blk = blk };

        qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &w));
        if (i == 0) {
            g_assert_false(w.done);
            aio_poll(qemu_get_aio_context(), false);
        }
        g_assert_true(w.done);
        g_assert_cmpint(w.ret, ==, -EIO);
        blk_unref(blk);
    }
    assert_file_pattern(td.img, 0, 512);
    test_dir_cleanup(&td);
}

/* Limits */

/*
 * align=4096 makes the core pad a 512-byte write into read-modify-write:
 * the data around it survives, and a read rule on sector 0 fails a write
 * to sector 1 because the padding read covers sector 0.
 *
 * qemu-io 7.2 differs here: it ignores the failed padding read, reports
 * `wrote 512/512 bytes at offset 100` and writes zeroes over the rest of
 * the 4 KiB unit.  We fail the write and leave the file alone.
 */
static void test_align_rmw(void)
{
    TestDir td;
    BlockBackend *blk;
    uint8_t buf[512];

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"align\": 4096");
    g_assert_cmpint(bdrv_file_bs(blk_bs(blk))->bl.request_alignment, ==,
                    4096);
    g_assert_cmpint(blk_bs(blk)->bl.request_alignment, ==, 4096);
    g_assert_cmpint(write_pattern(blk, 512, 512, 0x5a), ==, 0);
    g_assert_cmpint(blk_pread(blk, 100, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, img_byte(100));
    g_assert_cmpint(buf[412], ==, 0x5a);
    blk_unref(blk);
    assert_file_pattern(td.img, 0, 512);
    assert_file_filled(td.img, 512, 512, 0x5a);
    assert_file_pattern(td.img, 1024, 8192);

    blk = open_stack(&td, "\"align\": \"4k\", \"inject-error\": "
                     "[{\"event\": \"none\", \"iotype\": \"read\", "
                     "\"sector\": 0}]");
    g_assert_cmpint(write_pattern(blk, 1024, 512, 0x6b), ==, -EIO);
    g_assert_cmpint(write_pattern(blk, 4096 + 512, 512, 0x6b), ==, 0);
    blk_unref(blk);
    assert_file_filled(td.img, 512, 512, 0x5a);
    assert_file_pattern(td.img, 1024, 3584);
    assert_file_filled(td.img, 4096 + 512, 512, 0x6b);

    /* Without the alignment nothing is read, so nothing fails. */
    blk = open_stack(&td, "\"inject-error\": [{\"event\": \"none\", "
                     "\"iotype\": \"read\", \"sector\": 0}]");
    g_assert_cmpint(write_pattern(blk, 1024, 512, 0x6b), ==, 0);
    blk_unref(blk);
    assert_file_filled(td.img, 1024, 512, 0x6b);
    test_dir_cleanup(&td);
}

/*
 * max-transfer=4096 makes the core split: a 16 KiB write whose second
 * piece hits a sector rule leaves the first piece written and the others
 * not.
 */
static void test_max_transfer(void)
{
    TestDir td;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"max-transfer\": 4096, \"inject-error\": "
                     "[{\"event\": \"none\", \"iotype\": \"write\", "
                     "\"sector\": 9}]");
    g_assert_cmpint(blk_bs(blk)->bl.max_transfer, ==, 4096);
    g_assert_cmpint(write_pattern(blk, 0, 16384, 0x7c), ==, -EIO);
    /* Reads are split the same way and work. */
    g_assert_cmpint(read_some(blk, 0, 65536), ==, 0);
    blk_unref(blk);
    assert_file_filled(td.img, 0, 4096, 0x7c);
    assert_file_pattern(td.img, 4096, 12288);
    test_dir_cleanup(&td);
}

/* Zero writes and discards are cut at max-write-zero and max-discard. */
static void test_zero_discard_limits(void)
{
    TestDir td;
    BlockBackend *blk;
    BlockDriverState *bd;

    test_dir_init(&td);
    make_image(td.img);
    blk = open_stack(&td, "\"align\": 512, \"opt-write-zero\": 4096, "
                     "\"max-write-zero\": 8192, \"opt-discard\": 4096, "
                     "\"max-discard\": 16384, \"inject-error\": "
                     "[{\"event\": \"none\", \"iotype\": \"write-zeroes\", "
                     "\"sector\": 40}]");
    bd = bdrv_file_bs(blk_bs(blk));
    g_assert_cmpint(bd->bl.request_alignment, ==, 512);
    g_assert_cmpint(bd->bl.pwrite_zeroes_alignment, ==, 4096);
    g_assert_cmpint(bd->bl.max_pwrite_zeroes, ==, 8192);
    g_assert_cmpint(bd->bl.pdiscard_alignment, ==, 4096);
    g_assert_cmpint(bd->bl.max_pdiscard, ==, 16384);

    /* Pieces [0, 8k) and [8k, 16k) are zeroed, [16k, 24k) fails. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 65536, 0), ==, -EIO);
    /* blkdebug asserts that every piece respects the limits. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 65536 + 1024, 40960, 0), ==, 0);
    g_assert_cmpint(blk_pdiscard(blk, 131072 + 512, 100000), ==, 0);
    blk_unref(blk);
    assert_file_filled(td.img, 0, 16384, 0);
    assert_file_pattern(td.img, 16384, 65536 - 16384);
    assert_file_filled(td.img, 65536 + 1024, 40960, 0);
    test_dir_cleanup(&td);
}

/* Configuration forms */

/* The config file of QEMU's blkdebug, alone and with inline rules. */
static void test_config_file(void)
{
    TestDir td;
    g_autofree char *conf = NULL;
    g_autofree char *opts = NULL;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    conf = g_build_filename(td.dir, "blkdebug.conf", NULL);
    write_file(conf,
               "# Fail the reads that follow the first write.\n"
               "[set-state]\n"
               "state = \"1\"\n"
               "event = \"write_aio\"\n"
               "new_state = \"2\"\n"
               "\n"
               "  [inject-error]  \n"
               "event = \"read_aio\"\n"
               "state = \"2\"\n"
               "iotype = \"read\"\n"
               "errno   =   \"28\"\n"
               "once = \"on\"\n");
    opts = g_strdup_printf("\"config\": \"%s\"", conf);
    blk = open_stack(&td, opts);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x21), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    blk_unref(blk);

    /* File rules come before inline ones; both apply. */
    g_free(opts);
    opts = g_strdup_printf("\"config\": \"%s\", \"inject-error\": "
                           "[{\"event\": \"read_aio\", \"state\": 2}]",
                           conf);
    blk = open_stack(&td, opts);
    g_assert_cmpint(write_pattern(blk, 0, 512, 0x21), ==, 0);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -EIO);
    blk_unref(blk);
    test_dir_cleanup(&td);
}

static void test_config_errors(void)
{
    static const struct {
        const char *text;
        const char *msg;        /* after "PATH:" */
    } cases[] = {
        { "event = \"none\"\n", "1: 'event' is outside any section" },
        { "[bogus]\n", "1: Unknown section [bogus] (expected "
          "[inject-error] or [set-state])" },
        { "[inject-error]\nevent = none\n", "2: parse error (expected "
          "[section] or key = \"value\")" },
        { "[inject-error\n", "1: parse error" },
        { "# c\n[inject-error]\nevent = \"none\"\nevent = \"none\"\n",
          "4: 'event' is set twice in one section" },
        { "[set-state]\nevent = \"none\"\nnew_state = \"2\"\n\n"
          "[inject-error]\nevent = \"none\"\nfoo = \"1\"\n",
          "5: Invalid parameter 'foo'" },
        { "[inject-error]\nevent = \"nonex\"\n",
          "1: Invalid event name 'nonex'" },
    };
    TestDir td;
    g_autofree char *conf = NULL;

    test_dir_init(&td);
    make_image(td.img);
    conf = g_build_filename(td.dir, "bad.conf", NULL);
    for (int i = 0; i < (int)G_N_ELEMENTS(cases); i++) {
        g_autofree char *opts = g_strdup_printf("\"config\": \"%s\"", conf);
        g_autofree char *json = stack_json(td.img, opts);
        g_autofree char *msg = g_strdup_printf("%s:%s", conf, cases[i].msg);

        write_file(conf, cases[i].text);
        open_fails(json, msg);
    }
    g_assert_cmpint(unlink(conf), ==, 0);
    {
        g_autofree char *opts = g_strdup_printf("\"config\": \"%s\"", conf);
        g_autofree char *json = stack_json(td.img, opts);
        g_autofree char *msg = g_strdup_printf(
            "Could not read blkdebug config file '%s': %s", conf,
            g_strerror(ENOENT));

        open_fails(json, msg);
    }
    test_dir_cleanup(&td);
}

/*
 * Dotted keys make {"inject-error": {"0": {...}, "1": {...}}}.  This is
 * the facts sheet's qemu-io 7.2 example (run with --image-opts), which
 * prints `write failed: Input/output error`.
 */
static void test_dotted(void)
{
    TestDir td;
    g_autofree char *str = NULL;
    BlockBackend *blk;

    test_dir_init(&td);
    make_image(td.img);
    str = g_strdup_printf("driver=raw,file.driver=blkdebug,"
                          "file.image.driver=file,file.image.filename=%s,"
                          "file.inject-error.0.event=none,"
                          "file.inject-error.0.iotype=write,"
                          "file.inject-error.1.event=none,"
                          "file.inject-error.1.iotype=read,"
                          "file.inject-error.1.errno=28,"
                          "file.inject-error.1.once=on,"
                          "file.align=4k", td.img);
    blk = backend_for(open_ok(str));
    /* Aligned, so that no padding read meets the read rule first. */
    g_assert_cmpint(write_pattern(blk, 0, 4096, 0x31), ==, -EIO);
    g_assert_cmpint(read_some(blk, 0, 512), ==, -ENOSPC);
    g_assert_cmpint(read_some(blk, 0, 512), ==, 0);
    g_assert_cmpint(blk_bs(blk)->bl.request_alignment, ==, 4096);
    blk_unref(blk);

    g_free(str);
    str = g_strdup_printf("driver=raw,file.driver=blkdebug,"
                          "file.image.driver=file,file.image.filename=%s,"
                          "file.inject-error.1.event=none", td.img);
    open_fails(str, "Parameter 'inject-error' expects a list: entry 0 is "
               "missing");
    test_dir_cleanup(&td);
}

/* Option errors name the rule and what is wrong with it. */
static void test_bad_options(void)
{
    static const struct {
        const char *opts;
        const char *msg;
    } cases[] = {
        /* qemu-io 7.2: `invalid parameter value: nonex` */
        { "\"inject-error\": [{\"event\": \"nonex\"}]",
          "inject-error.0: Invalid event name 'nonex'" },
        { "\"inject-error\": [{\"event\": \"none\"}, "
          "{\"event\": \"none\", \"iotype\": \"bogus\"}]",
          "inject-error.1: Invalid iotype 'bogus' (expected read, write, "
          "write-zeroes, discard, flush or block-status)" },
        /* qemu-io 7.2: `Missing event name for rule` */
        { "\"inject-error\": [{\"iotype\": \"write\"}]",
          "inject-error.0: Missing event name for rule" },
        { "\"inject-error\": [{\"event\": 5}]",
          "inject-error.0: Parameter 'event' expects a string" },
        { "\"inject-error\": [{\"event\": \"none\", \"bogus\": 1}]",
          "inject-error.0: Invalid parameter 'bogus'" },
        { "\"inject-error\": [{\"event\": \"none\", \"errno\": -3}]",
          "inject-error.0: Parameter 'errno' expects an integer from 0 to "
          "4095, not -3" },
        { "\"inject-error\": [{\"event\": \"none\", \"sector\": -2}]",
          "inject-error.0: Parameter 'sector' expects an integer from -1 "
          "to 18014398509481983, not -2" },
        { "\"inject-error\": [{\"event\": \"none\", \"once\": \"maybe\"}]",
          NULL },
        { "\"inject-error\": [{\"event\": \"none\", \"new_state\": 2}]",
          "inject-error.0: Invalid parameter 'new_state'" },
        { "\"set-state\": [{\"event\": \"none\", \"state\": 1}]",
          "set-state.0: Parameter 'new_state' is missing" },
        { "\"set-state\": [{\"event\": \"none\", \"new_state\": -1}]",
          "set-state.0: Parameter 'new_state' expects an integer from 0 to "
          "9223372036854775807, not -1" },
        { "\"set-state\": [{\"event\": \"none\", \"new_state\": 2, "
          "\"iotype\": \"read\"}]",
          "set-state.0: Invalid parameter 'iotype'" },
        { "\"inject-error\": 5",
          "Parameter 'inject-error' expects a list of rules" },
        { "\"inject-error\": [5]",
          "inject-error.0: expected a dict of rule options" },
        { "\"config\": 5", "Parameter 'config' expects a file name" },
        /* qemu-io 7.2: `Cannot meet constraints with align 3` */
        { "\"align\": 3", "Cannot meet constraints with align 3 (must be a "
          "power of two below 2 GiB)" },
        { "\"align\": \"2G\"", "Cannot meet constraints with align "
          "2147483648 (must be a power of two below 2 GiB)" },
        /* qemu-io 7.2: `Cannot meet constraints with max-transfer 1000` */
        { "\"align\": 4096, \"max-transfer\": 1000",
          "Cannot meet constraints with max-transfer 1000 (must be a "
          "multiple of 4096)" },
        { "\"align\": 512, \"opt-write-zero\": 1024, "
          "\"max-write-zero\": 1536",
          "Cannot meet constraints with max-write-zero 1536 (must be a "
          "multiple of 1024)" },
        { "\"align\": 4096, \"opt-discard\": 512",
          "Cannot meet constraints with opt-discard 512 (must be a "
          "multiple of 4096)" },
        { "\"max-discard\": \"4G\"",
          "Cannot meet constraints with max-discard 4294967296 (must be "
          "below 2 GiB)" },
        { "\"align\": -1", NULL },
        { "\"suspend\": 1", "Invalid parameter 'suspend'" },
    };
    TestDir td;

    test_dir_init(&td);
    make_image(td.img);
    for (int i = 0; i < (int)G_N_ELEMENTS(cases); i++) {
        g_autofree char *json = stack_json(td.img, cases[i].opts);

        if (cases[i].msg) {
            open_fails(json, cases[i].msg);
        } else {
            /* A getter's message, already tested with options.c. */
            Error *err = NULL;

            g_assert_null(bdrv_open_string(json, &err));
            g_assert_nonnull(err);
            error_free(err);
        }
    }
    /* Without a child there is nothing to filter. */
    open_fails("{\"driver\": \"blkdebug\"}",
               "A block device must be specified for \"image\"");
    /* Nothing was left open by the failures. */
    g_assert_null(bdrv_list_nodes());
    test_dir_cleanup(&td);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/blkdebug/rules/write-eio", test_write_eio);
    g_test_add_func("/blkdebug/rules/errno", test_errno);
    g_test_add_func("/blkdebug/rules/once", test_once);
    g_test_add_func("/blkdebug/rules/sector", test_sector);
    g_test_add_func("/blkdebug/rules/iotypes", test_iotypes);
    g_test_add_func("/blkdebug/rules/default-iotypes", test_default_iotypes);
    g_test_add_func("/blkdebug/rules/flush", test_flush);
    g_test_add_func("/blkdebug/rules/immediately", test_immediately);
    g_test_add_func("/blkdebug/events/from-parent", test_event_from_parent);
    g_test_add_func("/blkdebug/events/state", test_state);
    g_test_add_func("/blkdebug/events/state-same-event",
                    test_state_same_event);
    g_test_add_func("/blkdebug/events/flush-to-disk", test_flush_event);
    g_test_add_func("/blkdebug/events/without-format",
                    test_events_without_format);
    g_test_add_func("/blkdebug/limits/align-rmw", test_align_rmw);
    g_test_add_func("/blkdebug/limits/max-transfer", test_max_transfer);
    g_test_add_func("/blkdebug/limits/zero-discard",
                    test_zero_discard_limits);
    g_test_add_func("/blkdebug/config/file", test_config_file);
    g_test_add_func("/blkdebug/config/file-errors", test_config_errors);
    g_test_add_func("/blkdebug/config/dotted", test_dotted);
    g_test_add_func("/blkdebug/config/bad-options", test_bad_options);
    return g_test_run();
}
