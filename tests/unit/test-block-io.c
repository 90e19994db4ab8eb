/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The request path (block/io.c) against the logging test-mem driver:
 * alignment padding, serialisation of overlapping read-modify-writes,
 * splitting, zero writes and their fallback, detect-zeroes, discard and
 * flush policy, bounds checks.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "mem-driver.h"

static const uint64_t RW = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                           BLK_PERM_RESIZE;

static BlockBackend *mem_blk(const char *opts, BlockDriverState **pbs)
{
    BlockDriverState *bs = mem_open(opts);
    BlockBackend *blk = blk_new_with_bs(bs, RW, BLK_PERM_ALL, &error_abort);

    bdrv_unref(bs);
    *pbs = bs;
    return blk;
}

/* A bare parent for edges made directly in tests. */
static const BdrvChildClass test_parent = { 0 };

static MemRequest *log_at(BlockDriverState *bs, guint i)
{
    GArray *log = mem_state(bs)->log;

    g_assert_cmpuint(i, <, log->len);
    return &g_array_index(log, MemRequest, i);
}

static void test_padding(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("align=512,size=64k", &bs);
    uint8_t *data = mem_state(bs)->data;
    uint8_t buf[3] = { 1, 2, 3 };
    uint8_t out[5];

    memset(data, 0xee, 2048);
    g_assert_cmpint(blk_pwrite(blk, 510, 3, buf, 0), ==, 0);
    /* Read both units, then write them back as one aligned request. */
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 2);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 1);
    g_assert_cmpint(log_at(bs, 4)->op, ==, MEM_WRITE);
    g_assert_cmpint(log_at(bs, 4)->offset, ==, 0);
    g_assert_cmpint(log_at(bs, 4)->bytes, ==, 1024);
    g_assert_cmpint(data[509], ==, 0xee);
    g_assert_cmpint(data[510], ==, 1);
    g_assert_cmpint(data[512], ==, 3);
    g_assert_cmpint(data[513], ==, 0xee);

    /* An unaligned read reads the whole unit and copies out. */
    mem_log_clear(bs);
    g_assert_cmpint(blk_pread(blk, 509, 5, out, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 1);
    g_assert_cmpint(log_at(bs, 0)->offset, ==, 0);
    g_assert_cmpint(log_at(bs, 0)->bytes, ==, 1024);
    g_assert_cmpmem(out, 5, ((uint8_t[]){ 0xee, 1, 2, 3, 0xee }), 5);

    /* Within one unit: one read, one write of that unit. */
    mem_log_clear(bs);
    g_assert_cmpint(blk_pwrite(blk, 1030, 2, buf, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 1);
    g_assert_cmpint(log_at(bs, 2)->offset, ==, 1024);
    g_assert_cmpint(log_at(bs, 2)->bytes, ==, 512);
    blk_unref(blk);
}

typedef struct WriteCo {
    BlockBackend *blk;
    int64_t offset;
    int64_t bytes;
    uint8_t fill;
    int ret;
    bool done;
} WriteCo;

static void coroutine_fn write_co_entry(void *opaque)
{
    WriteCo *w = opaque;
    g_autofree uint8_t *buf = g_malloc(w->bytes);

    memset(buf, w->fill, w->bytes);
    w->ret = blk_co_pwrite(w->blk, w->offset, w->bytes, buf, 0);
    w->done = true;
}

static void test_serialise_rmw(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("align=512,size=64k,delay-ns=5000000", &bs);
    uint8_t *data = mem_state(bs)->data;
    WriteCo a = { blk, 100, 10, 0xaa }, b = { blk, 105, 10, 0xbb };
    GArray *log = mem_state(bs)->log;
    guint a_write_done = 0, b_read_start = 0;

    /* Both pad the same unit: without serialisation b would lose a. */
    qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &a));
    qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &b));
    AIO_WAIT_WHILE(qemu_get_aio_context(), !a.done || !b.done);
    g_assert_cmpint(a.ret, ==, 0);
    g_assert_cmpint(b.ret, ==, 0);
    for (int i = 100; i < 105; i++) {
        g_assert_cmpint(data[i], ==, 0xaa);
    }
    for (int i = 105; i < 115; i++) {
        g_assert_cmpint(data[i], ==, 0xbb);
    }
    /* b's read of the unit started after a's write finished. */
    for (guint i = 0; i < log->len; i++) {
        MemRequest *r = &g_array_index(log, MemRequest, i);

        if (r->op == MEM_WRITE && r->done && !a_write_done) {
            a_write_done = i + 1;
        }
        if (r->op == MEM_READ && !r->done && i > 0) {
            b_read_start = i + 1;
        }
    }
    g_assert_cmpuint(a_write_done, >, 0);
    g_assert_cmpuint(b_read_start, >, a_write_done);
    blk_unref(blk);
}

static void test_aligned_writes_run_in_parallel(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("align=512,size=64k,delay-ns=5000000", &bs);
    WriteCo a = { blk, 0, 512, 1 }, b = { blk, 0, 512, 2 };

    /* Aligned overlapping writes are not serialised by the block layer. */
    qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &a));
    qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &b));
    g_assert_cmpint(mem_state(bs)->in_driver, ==, 2);
    AIO_WAIT_WHILE(qemu_get_aio_context(), !a.done || !b.done);
    blk_unref(blk);
}

static void test_max_transfer(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("max-transfer=4096,size=64k", &bs);
    g_autofree uint8_t *buf = g_malloc0(10000);

    g_assert_cmpint(blk_pread(blk, 100, 10000, buf, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 3);
    g_assert_cmpint(blk_pwrite(blk, 100, 10000, buf, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 3);
    blk_unref(blk);
}

static void test_bounds(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("size=64k", &bs);
    uint8_t buf[512] = { 0 };

    g_assert_cmpint(blk_pread(blk, 65536 - 256, 512, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pwrite(blk, 65536, 1, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, -1, 1, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 65000, 1000, 0), ==, -EIO);
    g_assert_cmpint(blk_pdiscard(blk, 0, 65537), ==, -EIO);
    g_assert_cmpuint(mem_state(bs)->log->len, ==, 0);
    blk_unref(blk);
}

static void test_read_past_eof_zero_filled(void)
{
    BlockDriverState *bs = mem_open("size=1000,align=512");
    BdrvChild *c;
    uint8_t buf[1024];

    memset(mem_state(bs)->data, 0x11, 1000);
    c = bdrv_root_attach_child(bs, "test", &test_parent, 0, 0, BLK_PERM_ALL, NULL,
                               &error_abort);
    memset(buf, 0x55, sizeof(buf));
    g_assert_cmpint(bdrv_pread(c, 0, 1024, buf, 0), ==, 0);
    g_assert_cmpint(buf[999], ==, 0x11);
    g_assert_cmpint(buf[1000], ==, 0);
    g_assert_cmpint(buf[1023], ==, 0);
    /* The driver was asked up to the aligned end of the node only. */
    g_assert_cmpint(log_at(bs, 0)->bytes, ==, 1024);
    memset(buf, 0x55, sizeof(buf));
    mem_log_clear(bs);
    g_assert_cmpint(bdrv_pread(c, 1024, 512, buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, 0);
    g_assert_cmpuint(mem_state(bs)->log->len, ==, 0);
    bdrv_root_unref_child(c);
}

static void test_zero_write(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("align=512,size=64k", &bs);
    uint8_t *data = mem_state(bs)->data;

    memset(data, 0xff, 65536);
    /* Unaligned head and tail are written as data, the middle zeroed. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 100, 2000, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_ZERO), ==, 1);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 2);
    g_assert_cmpint(data[99], ==, 0xff);
    for (int i = 100; i < 2100; i++) {
        g_assert_cmpint(data[i], ==, 0);
    }
    g_assert_cmpint(data[2100], ==, 0xff);

    /* MAY_UNMAP is dropped without discard=unmap. */
    mem_log_clear(bs);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, BDRV_REQ_MAY_UNMAP),
                    ==, 0);
    g_assert_false(log_at(bs, 0)->flags & BDRV_REQ_MAY_UNMAP);
    /* NO_FALLBACK on an unaligned request cannot work. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1, 512, BDRV_REQ_NO_FALLBACK),
                    ==, -ENOTSUP);
    blk_unref(blk);

    blk = mem_blk("align=512,size=64k,discard=unmap", &bs);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, BDRV_REQ_MAY_UNMAP),
                    ==, 0);
    g_assert_true(log_at(bs, 0)->flags & BDRV_REQ_MAY_UNMAP);
    blk_unref(blk);
}

static void test_zero_write_fallback(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("can-zero=off,size=64k", &bs);
    uint8_t *data = mem_state(bs)->data;

    memset(data, 0xff, 65536);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 4096, 8192, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 1);
    g_assert_cmpint(data[4095], ==, 0xff);
    g_assert_cmpint(data[4096], ==, 0);
    g_assert_cmpint(data[12287], ==, 0);
    g_assert_cmpint(data[12288], ==, 0xff);
    mem_log_clear(bs);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 512, BDRV_REQ_NO_FALLBACK),
                    ==, -ENOTSUP);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 0);
    blk_unref(blk);
}

static void test_detect_zeroes(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("detect-zeroes=on,size=64k", &bs);
    uint8_t zero[4096] = { 0 }, one[4096];

    memset(one, 1, sizeof(one));
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, zero, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_ZERO), ==, 1);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 0);
    g_assert_false(log_at(bs, 0)->flags & BDRV_REQ_MAY_UNMAP);
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, one, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_WRITE), ==, 1);
    blk_unref(blk);

    blk = mem_blk("detect-zeroes=unmap,discard=unmap,size=64k", &bs);
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, zero, 0), ==, 0);
    g_assert_true(log_at(bs, 0)->flags & BDRV_REQ_MAY_UNMAP);
    blk_unref(blk);

    blk = mem_blk("size=64k", &bs);
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, zero, 0), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_ZERO), ==, 0);
    blk_unref(blk);
}

static void test_discard_policy(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("size=64k", &bs);

    /* discard=ignore (the default for blockdev-add) drops discards. */
    g_assert_cmpint(blk_pdiscard(blk, 0, 4096), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_DISCARD), ==, 0);
    blk_unref(blk);

    blk = mem_blk("size=64k,discard=unmap,align=512", &bs);
    g_assert_cmpint(blk_pdiscard(blk, 100, 2000), ==, 0);
    /* Only the part aligned to the request alignment is passed down. */
    g_assert_cmpuint(mem_log_count(bs, MEM_DISCARD), >=, 1);
    g_assert_cmpint(log_at(bs, 0)->offset, ==, 512);
    blk_unref(blk);
}

static void test_flush_generations(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = mem_blk("size=64k", &bs);
    uint8_t buf[512] = { 1 };

    g_assert_cmpint(blk_flush(blk), ==, 0);
    /* Nothing written since open: no flush reaches the driver. */
    g_assert_cmpuint(mem_log_count(bs, MEM_FLUSH), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 0, 512, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_FLUSH), ==, 1);
    /* FUA without driver support becomes a flush after the write. */
    g_assert_cmpint(blk_pwrite(blk, 0, 512, buf, BDRV_REQ_FUA), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_FLUSH), ==, 2);
    blk_unref(blk);

    blk = mem_blk("size=64k,cache.no-flush=on", &bs);
    g_assert_cmpint(blk_pwrite(blk, 0, 512, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_FLUSH), ==, 0);
    blk_unref(blk);
}

static void test_read_only_write(void)
{
    BlockDriverState *bs = mem_open("read-only=on");
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ,
                                        BLK_PERM_ALL, &error_abort);
    BdrvChild *c;
    uint8_t buf[512] = { 0 };

    bdrv_unref(bs);
    /* Even an edge that claims WRITE cannot write a read-only node. */
    c = bdrv_root_attach_child(bs, "test", &test_parent, 0, 0, BLK_PERM_ALL, NULL,
                               &error_abort);
    c->perm = BLK_PERM_WRITE;
    g_assert_cmpint(bdrv_pwrite(c, 0, 512, buf, 0), ==, -EPERM);
    c->perm = 0;
    bdrv_root_unref_child(c);
    blk_unref(blk);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/padding", test_padding);
    g_test_add_func("/io/serialise-rmw", test_serialise_rmw);
    g_test_add_func("/io/aligned-parallel",
                    test_aligned_writes_run_in_parallel);
    g_test_add_func("/io/max-transfer", test_max_transfer);
    g_test_add_func("/io/bounds", test_bounds);
    g_test_add_func("/io/read-past-eof", test_read_past_eof_zero_filled);
    g_test_add_func("/io/zero-write", test_zero_write);
    g_test_add_func("/io/zero-write-fallback", test_zero_write_fallback);
    g_test_add_func("/io/detect-zeroes", test_detect_zeroes);
    g_test_add_func("/io/discard-policy", test_discard_policy);
    g_test_add_func("/io/flush-generations", test_flush_generations);
    g_test_add_func("/io/read-only", test_read_only_write);
    return g_test_run();
}
