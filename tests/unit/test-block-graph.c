/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The node graph: opening from options, node names, child edges,
 * permission conflicts, reference counting, drain and node replacement.
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "mem-driver.h"

static const uint64_t RW = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                           BLK_PERM_RESIZE;

static BlockDriverState *open_ok(const char *str)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    if (!bs) {
        g_error("opening '%s' failed: %s", str, error_get_pretty(err));
    }
    return bs;
}

static void expect_open_error(const char *str, const char *msg)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_string(str, &err);

    g_assert_null(bs);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), msg)) {
        g_error("'%s': expected '%s', got '%s'", str, msg,
                error_get_pretty(err));
    }
    error_free(err);
}

static void test_open_nested(void)
{
    BlockDriverState *bs = open_ok("driver=raw,node-name=top,"
                                   "file.driver=null-co,file.size=1M");
    BlockDriverState *file = bdrv_file_bs(bs);

    g_assert_cmpstr(bdrv_get_node_name(bs), ==, "top");
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    g_assert_nonnull(file);
    g_assert_cmpstr(bdrv_get_format_name(file), ==, "null-co");
    /* An unnamed nested child gets a generated name. */
    g_assert_true(g_str_has_prefix(bdrv_get_node_name(file), "#block"));
    g_assert_true(bdrv_find_node("top") == bs);
    g_assert_true(bdrv_find_node(bdrv_get_node_name(file)) == file);
    g_assert_cmpint(bdrv_getlength(bs), ==, 1 << 20);
    /* Nested children default to discard=unmap. */
    g_assert_true(file->open_flags & BDRV_O_UNMAP);
    g_assert_false(bs->open_flags & BDRV_O_UNMAP);
    bdrv_unref(bs);
    g_assert_null(bdrv_find_node("top"));
}

static void test_open_json_and_reference(void)
{
    BlockDriverState *base = open_ok("{\"driver\": \"null-co\", "
                                     "\"node-name\": \"n0\", "
                                     "\"size\": 65536}");
    BlockDriverState *top = open_ok("{\"driver\": \"raw\", "
                                    "\"node-name\": \"r0\", "
                                    "\"file\": \"n0\"}");

    g_assert_true(bdrv_file_bs(top) == base);
    g_assert_cmpint(base->refcnt, ==, 2);
    bdrv_unref(top);
    g_assert_cmpint(base->refcnt, ==, 1);
    g_assert_true(bdrv_find_node("n0") == base);
    bdrv_unref(base);
    g_assert_null(bdrv_find_node("n0"));
}

static void test_open_errors(void)
{
    BlockDriverState *bs;

    expect_open_error("node-name=x", "Parameter 'driver' is missing");
    expect_open_error("driver=nosuch",
                      "Parameter 'driver' does not accept value 'nosuch'");
    expect_open_error("driver=null-co,bogus=1", "Invalid parameter 'bogus'");
    expect_open_error("driver=null-co,cache.bogus=1",
                      "Invalid parameter 'bogus'");
    expect_open_error("driver=null-co,node-name=1abc",
                      "Invalid node-name: '1abc'");
    expect_open_error("driver=null-co,node-name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                      "Invalid node-name");
    expect_open_error("driver=null-co,read-only=maybe",
                      "Parameter 'read-only' expects 'on' or 'off'");
    expect_open_error("driver=null-co,detect-zeroes=unmap",
                      "setting detect-zeroes to unmap is not allowed without "
                      "setting discard operation to unmap");
    expect_open_error("driver=null-co,discard=sometimes",
                      "Parameter 'discard' does not accept value");
    expect_open_error("driver=raw,file=nosuchnode",
                      "Cannot find device='nosuchnode' nor "
                      "node-name='nosuchnode'");
    expect_open_error("driver=raw",
                      "A block device must be specified for \"file\"");
    expect_open_error("driver=file,filename=/nonexistent/dir/x",
                      "No such file or directory");

    bs = open_ok("driver=null-co,node-name=dup");
    expect_open_error("driver=null-co,node-name=dup",
                      "Duplicate nodes with node-name='dup'");
    bdrv_unref(bs);
}

static void test_open_flags(void)
{
    BlockDriverState *bs = open_ok("driver=null-co,read-only=on,"
                                   "cache.direct=on,cache.no-flush=on,"
                                   "discard=unmap,detect-zeroes=unmap");

    g_assert_true(bdrv_is_read_only(bs));
    g_assert_false(bs->open_flags & BDRV_O_RDWR);
    g_assert_true(bs->open_flags & BDRV_O_NOCACHE);
    g_assert_true(bs->open_flags & BDRV_O_NO_FLUSH);
    g_assert_true(bs->open_flags & BDRV_O_UNMAP);
    g_assert_cmpint(bs->detect_zeroes, ==, BLOCKDEV_DETECT_ZEROES_UNMAP);
    bdrv_unref(bs);
}

static void test_perm_conflict(void)
{
    BlockDriverState *bs = open_ok("driver=null-co,node-name=shared0");
    BlockBackend *b1 = blk_new(RW, BLK_PERM_CONSISTENT_READ);
    BlockBackend *b2 = blk_new(RW, BLK_PERM_ALL);
    BlockBackend *reader = blk_new(BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL);
    Error *err = NULL;

    blk_set_name(b1, "first");
    blk_set_name(b2, "second");
    g_assert_cmpint(blk_insert_bs(b1, bs, &error_abort), ==, 0);
    g_assert_cmpint(blk_insert_bs(reader, bs, &error_abort), ==, 0);
    g_assert_cmpint(blk_insert_bs(b2, bs, &err), <, 0);
    /* Both users are named. */
    g_assert_nonnull(strstr(error_get_pretty(err), "block device 'second'"));
    g_assert_nonnull(strstr(error_get_pretty(err), "block device 'first'"));
    g_assert_nonnull(strstr(error_get_pretty(err), "'write'"));
    error_free(err);
    err = NULL;

    /* A reader that refuses to share writes conflicts with the writer. */
    blk_unref(b2);
    b2 = blk_new(BLK_PERM_CONSISTENT_READ, BLK_PERM_CONSISTENT_READ);
    blk_set_name(b2, "strict");
    g_assert_cmpint(blk_insert_bs(b2, bs, &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "which uses 'write'"));
    error_free(err);
    err = NULL;

    /* Once the writer is gone, it fits. */
    blk_unref(b1);
    g_assert_cmpint(blk_insert_bs(b2, bs, &error_abort), ==, 0);
    blk_unref(b2);
    blk_unref(reader);
    bdrv_unref(bs);
}

static void test_read_only_node(void)
{
    BlockDriverState *bs = open_ok("driver=null-co,read-only=on");
    BlockBackend *blk = blk_new(RW, BLK_PERM_ALL);
    Error *err = NULL;

    g_assert_cmpint(blk_insert_bs(blk, bs, &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "is read-only"));
    error_free(err);
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_child_perms(void)
{
    BlockDriverState *bs = open_ok("driver=raw,file.driver=null-co");
    BlockDriverState *file = bdrv_file_bs(bs);
    BlockBackend *blk;
    uint64_t perm, shared;

    blk = blk_new_with_bs(bs, RW, BLK_PERM_CONSISTENT_READ, &error_abort);
    /* raw passes its parent's permissions through to its file. */
    bdrv_get_cumulative_perm(file, &perm, &shared);
    g_assert_cmphex(perm, ==, RW);
    g_assert_cmphex(shared, ==, BLK_PERM_CONSISTENT_READ);
    blk_unref(blk);
    bdrv_get_cumulative_perm(file, &perm, &shared);
    g_assert_cmphex(perm & BLK_PERM_WRITE, ==, 0);
    bdrv_unref(bs);
}

/* Drain */

typedef struct ReadCo {
    BlockBackend *blk;
    int ret;
    bool done;
} ReadCo;

static void coroutine_fn read_co_entry(void *opaque)
{
    ReadCo *r = opaque;
    uint8_t buf[512];

    r->ret = blk_co_pread(r->blk, 0, sizeof(buf), buf, 0);
    r->done = true;
}

static void test_drain_waits_for_requests(void)
{
    BlockDriverState *bs = mem_open("delay-ns=20000000");
    BlockBackend *blk = blk_new_with_bs(bs, RW, BLK_PERM_ALL, &error_abort);
    ReadCo reads[4] = { 0 };
    ReadCo late = { .blk = blk };

    for (int i = 0; i < 4; i++) {
        reads[i].blk = blk;
        qemu_coroutine_enter(qemu_coroutine_create(read_co_entry, &reads[i]));
        g_assert_false(reads[i].done);
    }
    g_assert_cmpint(mem_state(bs)->in_driver, ==, 4);
    bdrv_drained_begin(bs);
    /* Everything in flight has completed. */
    for (int i = 0; i < 4; i++) {
        g_assert_true(reads[i].done);
        g_assert_cmpint(reads[i].ret, ==, 0);
    }
    g_assert_cmpint(bs->in_flight, ==, 0);

    /* A new request waits in the backend until the drain ends. */
    mem_log_clear(bs);
    qemu_coroutine_enter(qemu_coroutine_create(read_co_entry, &late));
    for (int i = 0; i < 5; i++) {
        aio_poll(qemu_get_aio_context(), false);
    }
    g_assert_false(late.done);
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 0);
    bdrv_drained_end(bs);
    AIO_WAIT_WHILE(qemu_get_aio_context(), !late.done);
    g_assert_cmpint(late.ret, ==, 0);
    g_assert_cmpuint(mem_log_count(bs, MEM_READ), ==, 1);
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_drain_propagates_to_parents(void)
{
    BlockDriverState *bs = open_ok("driver=raw,node-name=dtop,"
                                   "file.driver=null-co");
    BlockDriverState *file = bdrv_file_bs(bs);

    bdrv_drained_begin(file);
    g_assert_cmpint(file->quiesce_counter, ==, 1);
    g_assert_cmpint(bs->quiesce_counter, ==, 1);
    bdrv_drained_begin(file);
    bdrv_drained_end(file);
    g_assert_cmpint(bs->quiesce_counter, ==, 1);
    bdrv_drained_end(file);
    g_assert_cmpint(bs->quiesce_counter, ==, 0);
    bdrv_unref(bs);
}

static void test_replace_node(void)
{
    BlockDriverState *a = mem_open("size=64k");
    BlockDriverState *b = mem_open("size=64k");
    BlockBackend *blk = blk_new_with_bs(a, RW, BLK_PERM_ALL, &error_abort);
    uint8_t buf[512];

    memset(buf, 0xab, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(bdrv_replace_node(a, b, &error_abort), ==, 0);
    g_assert_true(blk_bs(blk) == b);
    g_assert_null(a->parents);
    memset(buf, 0xcd, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(mem_state(a)->data[0], ==, 0xab);
    g_assert_cmpint(mem_state(b)->data[0], ==, 0xcd);
    blk_unref(blk);
    bdrv_unref(a);
    bdrv_unref(b);
}

static void test_replace_node_perm_conflict(void)
{
    BlockDriverState *a = mem_open("size=64k");
    BlockDriverState *b = mem_open("size=64k");
    BlockBackend *user = blk_new_with_bs(a, RW, BLK_PERM_ALL, &error_abort);
    BlockBackend *owner = blk_new_with_bs(b, RW, BLK_PERM_CONSISTENT_READ,
                                          &error_abort);
    Error *err = NULL;

    g_assert_cmpint(bdrv_replace_node(a, b, &err), <, 0);
    g_assert_nonnull(err);
    error_free(err);
    /* Nothing moved. */
    g_assert_true(blk_bs(user) == a);
    blk_unref(user);
    blk_unref(owner);
    bdrv_unref(a);
    bdrv_unref(b);
}

static void test_refcount(void)
{
    BlockDriverState *bs = open_ok("driver=null-co,node-name=rc");
    BlockBackend *blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ,
                                        BLK_PERM_ALL, &error_abort);

    g_assert_cmpint(bs->refcnt, ==, 2);
    bdrv_unref(bs);
    /* The backend keeps the node alive. */
    g_assert_true(bdrv_find_node("rc") == bs);
    blk_unref(blk);
    g_assert_null(bdrv_find_node("rc"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/graph/open/nested", test_open_nested);
    g_test_add_func("/graph/open/json-and-reference",
                    test_open_json_and_reference);
    g_test_add_func("/graph/open/errors", test_open_errors);
    g_test_add_func("/graph/open/flags", test_open_flags);
    g_test_add_func("/graph/perm/conflict", test_perm_conflict);
    g_test_add_func("/graph/perm/read-only", test_read_only_node);
    g_test_add_func("/graph/perm/child", test_child_perms);
    g_test_add_func("/graph/drain/in-flight", test_drain_waits_for_requests);
    g_test_add_func("/graph/drain/parents", test_drain_propagates_to_parents);
    g_test_add_func("/graph/replace", test_replace_node);
    g_test_add_func("/graph/replace-conflict",
                    test_replace_node_perm_conflict);
    g_test_add_func("/graph/refcount", test_refcount);
    return g_test_run();
}
