/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Model-based random test of the request path and of block status, on real
 * files through the `file` driver alone and through `raw` over `file`.
 *
 * The model is a byte array holding what the whole host file must contain
 * (the node shows a window of it: all of it, or raw's offset/size window).
 * A seeded generator issues a long sequence of operations through a
 * BlockBackend: writes of patterned, all-zero and almost-zero buffers at
 * unaligned offsets (many crossing 4 KiB and 64 KiB boundaries or touching
 * the end), zero writes with and without BDRV_REQ_MAY_UNMAP, discards,
 * flushes, reads, and block-status queries in every mode.  Each one is
 * checked against the model:
 *
 *   - reads return exactly the model's bytes;
 *   - writes and zero writes succeed and change exactly their range;
 *   - discard is advisory: afterwards each byte of the range reads as its
 *     old value or as zero, and the model adopts what the image returns;
 *     without discard=unmap on the node discard must change nothing;
 *   - block status never lies: a ZERO range is zero in the model; with
 *     OFFSET_VALID, *file is the file node, *map is where the range lies in
 *     the file, and the host file (read with pread() on a separate fd)
 *     holds the model's bytes there; *pnum is positive and inside the
 *     request; EOF is set exactly when the answer reaches the end; nodes
 *     without a backing file report everything allocated (at depth 1);
 *   - bdrv_is_all_zeroes() says 1 only when the model is all zero;
 *   - at checkpoints the whole node reads back as the model, and the whole
 *     host file (including bytes outside a raw window) equals the model.
 *
 * Node lengths are whole sectors, as in QEMU: a file of 4 MiB - 777 bytes is
 * a node of 4 MiB - 512, whose last 265 bytes lie past the end of the file
 * and read as zeroes.  Writes there make the file longer, as qemu-io 7.2
 * does (tests/xcheck/io-scripts/tail-*.cmds pin the exact sizes against
 * it), so the host file may grow, but never past the node's end padded to
 * the request alignment, and whatever lies beyond its end in the model
 * must be zero: growing may not lose or invent a byte.
 *
 * Batches issue 2 to 8 requests at once from coroutines, on disjoint but
 * often adjacent ranges (some as scattered I/O vectors), so that requests
 * padded to the same alignment unit must be serialised; each is then
 * checked like its synchronous form.  A watchdog thread turns a hang into
 * a failure report.
 *
 * Every configuration runs three fixed seeds and one random seed per run
 * (printed).  EMBLOCK_MODEL_SEED=N runs only seed N, EMBLOCK_MODEL_OPS=N
 * changes the number of operations per sequence (-m slow multiplies the
 * default by ten), EMBLOCK_MODEL_TRACE=1 prints every operation; select a
 * configuration with -p PATH.  A failure prints the configuration, seed,
 * operation index and the last operations, then aborts (leaving the image
 * in its temporary directory).  Bugs found and not yet fixed are listed in
 * model_open_bugs (block-model-util.c): what hits them skips unless
 * EMBLOCK_MODEL_KNOWN_BUGS=1.
 *
 * This file holds the configurations, the regression cases and main();
 * the model, the operations and the batches live in block-model-util.c,
 * block-model-ops.c and block-model-batch.c (see block-model-util.h).
 */
#include "block-model-util.h"

/*
 * Operations per sequence unless EMBLOCK_MODEL_OPS says otherwise; ten
 * times as many with -m slow.
 */
#define MODEL_OPS_DEFAULT 500

static const uint32_t model_fixed_seeds[] = { 1, 0x5eed1e55, 20250611 };
static uint32_t model_random_seed;

static void test_model(gconstpointer opaque)
{
    const ModelConfig *cfg = opaque;
    const char *env_seed = g_getenv("EMBLOCK_MODEL_SEED");
    const char *env_ops = g_getenv("EMBLOCK_MODEL_OPS");
    int64_t nops = MODEL_OPS_DEFAULT;
    size_t i;

    if (skip_if_bug_open(cfg->bug)) {
        return;
    }
    if (g_test_slow()) {
        nops *= 10;
    }
    if (env_ops) {
        nops = g_ascii_strtoll(env_ops, NULL, 0);
        g_assert_cmpint(nops, >, 0);
    }
    if (env_seed) {
        model_run(cfg, (uint32_t)g_ascii_strtoull(env_seed, NULL, 0), nops);
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(model_fixed_seeds); i++) {
        model_run(cfg, model_fixed_seeds[i], nops);
    }
    g_test_message("random seed %" PRIu32 " (replay with "
                   "EMBLOCK_MODEL_SEED=%" PRIu32 ")", model_random_seed,
                   model_random_seed);
    model_run(cfg, model_random_seed, nops);
}

/* ---- Regression cases for what the random test found ---------------- */

typedef struct CycleWrite {
    BlockBackend *blk;
    int64_t off;
    int64_t len;
    int ret;
    bool done;
} CycleWrite;

static void coroutine_fn cycle_write_entry(void *opaque)
{
    CycleWrite *w = opaque;
    uint8_t *buf = qemu_blockalign(4 * KiB, w->len);

    memset(buf, (uint8_t)w->off, w->len);
    w->ret = blk_co_pwrite(w->blk, w->off, w->len, buf, 0);
    qemu_vfree(buf);
    w->done = true;
    aio_wait_kick();
}

/*
 * Four unaligned writes to disjoint bytes, started in this order, padded
 * to request-alignment units (512 or 4096 bytes) they partly share.  The
 * first runs; the second shares a unit with it and waits for it; the third
 * shares one with the second and waits for it; the fourth shares units
 * with both and finds the third first (the newest).  When the first ends,
 * the second finds the fourth, which is not waiting for the second
 * directly, and waits for it: second -> fourth -> third -> second.  QEMU
 * skips every request that is itself waiting.
 */
static void test_serialising_cycle(void)
{
    CycleWrite w[] = {
        { .off = 100, .len = 10 },
        { .off = 500, .len = 600 },
        { .off = 1200, .len = 900 },
        { .off = 1100, .len = 50 },
    };
    uint8_t want[2100], got[2100];
    gint64 deadline;
    DirectImage d;
    bool all_done;
    size_t i;

    if (skip_if_bug_open(BUG_SERIALISING_CYCLE) ||
        !direct_image_open(&d, 64 * KiB)) {
        return;
    }
    memset(want, 0, sizeof(want));
    for (i = 0; i < G_N_ELEMENTS(w); i++) {
        w[i].blk = d.blk;
        memset(want + w[i].off, (uint8_t)w[i].off, w[i].len);
        qemu_coroutine_enter(qemu_coroutine_create(cycle_write_entry, &w[i]));
    }
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    do {
        all_done = true;
        for (i = 0; i < G_N_ELEMENTS(w); i++) {
            all_done &= w[i].done;
        }
        if (!all_done && !aio_poll(qemu_get_aio_context(), false)) {
            g_usleep(1000);
        }
    } while (!all_done && g_get_monotonic_time() < deadline);
    for (i = 0; i < G_N_ELEMENTS(w); i++) {
        if (!w[i].done) {
            /* The hung coroutines hold the node: no way to clean up. */
            g_error("write %" PRId64 "+%" PRId64 " never completed: the "
                    "serialising requests wait for each other in a cycle",
                    w[i].off, w[i].len);
        }
        g_assert_cmpint(w[i].ret, ==, 0);
    }
    g_assert_cmpint(blk_pread(d.blk, 0, sizeof(got), got, 0), ==, 0);
    g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    direct_image_close(&d);
}

/*
 * O_DIRECT writes past the end of a file of 64 KiB - 777 bytes, which is a
 * node of 65024 bytes.  What qemu-io 7.2 does on such a file (with data,
 * so that it probes a 512-byte alignment):
 *   qemu-io -f raw -t none -c 'write -P 0x5a 65000 1' -c length F
 * prints `length` 63.500 KiB before and after, and leaves F 65024 bytes
 * long: the write is padded to [64512, 65024) with zeroes read from past
 * the end, so the file grows to the end of the padded unit and the bytes
 * between its old end and the write are zero.  The node grows only if the
 * padding reaches past its own end, i.e. with an alignment above 512.
 */
static void test_tail_padding(void)
{
    const int64_t size = 64 * KiB - 777;
    uint8_t *buf = qemu_blockalign(4 * KiB, 4 * KiB);
    uint8_t *old = g_malloc(size);
    g_autofree uint8_t *got = g_malloc(size);
    int64_t align, node_len, file_len;
    struct stat st;
    DirectImage d;
    int fd;

    if (!direct_image_open(&d, size)) {
        qemu_vfree(buf);
        g_free(old);
        return;
    }
    fd = open(d.path, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    memset(old, 0xc3, size);
    g_assert_cmpint(pwrite(fd, old, size, 0), ==, size);
    align = blk_bs(d.blk)->bl.request_alignment;
    g_assert_cmpint(blk_getlength(d.blk), ==, 65024);

    memset(buf, 0x5a, 4 * KiB);
    g_assert_cmpint(blk_pwrite(d.blk, 65000, 1, buf, 0), ==, 0);
    file_len = QEMU_ALIGN_UP(65001, align);
    node_len = MAX(65024, file_len);
    g_assert_cmpint(blk_getlength(d.blk), ==, node_len);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, file_len);

    /* The old data is intact, the gap and the padding are zeroes. */
    g_assert_cmpint(pread(fd, got, size, 0), ==, size);
    g_assert_cmpmem(got, size, old, size);
    memset(buf, 0xa5, 4 * KiB);
    g_assert_cmpint(pread(fd, buf, file_len - size, size), ==,
                    file_len - size);
    g_assert_true(buffer_is_zero(buf, 65000 - size));
    g_assert_cmpint(buf[65000 - size], ==, 0x5a);
    g_assert_true(buffer_is_zero(buf + 65001 - size, file_len - 65001));

    /* Into the last unit of the old file: nothing grows any more. */
    g_assert_cmpint(blk_pwrite(d.blk, size - 10, 1, buf + 65000 - size, 0),
                    ==, 0);
    g_assert_cmpint(blk_pwrite_zeroes(d.blk, size - 5, 5, 0), ==, 0);
    g_assert_cmpint(blk_getlength(d.blk), ==, node_len);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, file_len);
    memset(buf, 0xa5, 4 * KiB);
    g_assert_cmpint(blk_pread(d.blk, size - 11, 12, buf, 0), ==, 0);
    g_assert_cmpmem(buf, 12, ((uint8_t[12]){ 0xc3, 0x5a, 0xc3, 0xc3, 0xc3,
                                             0xc3 }), 12);
    g_assert_cmpint(close(fd), ==, 0);
    qemu_vfree(buf);
    g_free(old);
    direct_image_close(&d);
}

#define IMG(opts) "driver=file,filename=%s," opts
#define RAW(opts) "driver=raw,file.driver=file,file.filename=%s," opts

static const ModelConfig model_configs[] = {
    {
        .path = "/block-model/file/unmap",
        .opts = IMG("discard=unmap"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/file/ignore",
        .opts = IMG("discard=ignore"),
        .file_size = 4 * MiB - 777,
    }, {
        .path = "/block-model/file/detect-zeroes-unmap",
        .opts = IMG("discard=unmap,detect-zeroes=unmap"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/file/detect-zeroes-on",
        .opts = IMG("discard=ignore,detect-zeroes=on"),
        .file_size = 4 * MiB - 777,
    }, {
        .path = "/block-model/raw/unmap",
        .opts = RAW("discard=unmap"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/raw/ignore",
        .opts = RAW("discard=ignore,file.discard=ignore"),
        .file_size = 4 * MiB + 1000,
    }, {
        .path = "/block-model/raw/detect-zeroes-on",
        .opts = RAW("discard=unmap,detect-zeroes=on"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/raw/detect-zeroes-unmap",
        .opts = RAW("discard=unmap,detect-zeroes=unmap"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/raw/window",
        .opts = RAW("discard=unmap,offset=1536,size=4192256"),
        .file_size = 4 * MiB + 333,
        .window_offset = 1536,
        .window_size = 4 * MiB - 2 * KiB,
        .discard_unmap = true,
    }, {
        .path = "/block-model/file/direct",
        .opts = IMG("discard=unmap,cache.direct=on"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
        .direct = true,
    }, {
        .path = "/block-model/raw/direct-detect-zeroes",
        .opts = RAW("discard=unmap,detect-zeroes=unmap,cache.direct=on"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
        .direct = true,
    }, {
        .path = "/block-model/raw/direct-window",
        .opts = RAW("discard=unmap,cache.direct=on,offset=1000,"
                    "size=4190208"),
        .file_size = 4 * MiB,
        .window_offset = 1000,
        .window_size = 4 * MiB - 4 * KiB,
        .discard_unmap = true,
        .direct = true,
    }, {
        .path = "/block-model/file/direct-native",
        .opts = IMG("discard=unmap,cache.direct=on,aio=native"),
        .file_size = 4 * MiB,
        .discard_unmap = true,
        .direct = true,
        .native_aio = true,
    }, {
        .path = "/block-model/raw/offset",
        .opts = RAW("discard=unmap,offset=1000"),
        .file_size = 4 * MiB,
        .window_offset = 1000,
        .discard_unmap = true,
    }, {
        .path = "/block-model/file/direct-odd-size",
        .opts = IMG("discard=unmap,cache.direct=on"),
        .file_size = 4 * MiB - 777,
        .discard_unmap = true,
        .direct = true,
    }, {
        .path = "/block-model/raw/direct-offset",
        .opts = RAW("discard=unmap,cache.direct=on,offset=1000"),
        .file_size = 4 * MiB,
        .window_offset = 1000,
        .discard_unmap = true,
        .direct = true,
    },
};

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    model_random_seed = g_random_int();

    for (i = 0; i < G_N_ELEMENTS(model_configs); i++) {
        g_test_add_data_func(model_configs[i].path, &model_configs[i],
                             test_model);
    }
    g_test_add_func("/block-model/regression/serialising-cycle",
                    test_serialising_cycle);
    g_test_add_func("/block-model/regression/tail-padding",
                    test_tail_padding);
    return g_test_run();
}
