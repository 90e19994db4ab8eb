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
 * model_open_bugs: what hits them skips unless EMBLOCK_MODEL_KNOWN_BUGS=1.
 */
#include "util/osdep.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "block/block-int.h"
#include "util/aio.h"
#include "util/buffer-zero.h"
#include "util/coroutine.h"

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)

/*
 * Operations per sequence unless EMBLOCK_MODEL_OPS says otherwise; ten
 * times as many with -m slow.
 */
#define MODEL_OPS_DEFAULT 500
/* Whole-image verification every this many operations. */
#define MODEL_CHECKPOINT 400
/* Largest read or write the generator makes. */
#define MODEL_MAX_IO (2 * MiB)
/* Operations kept for the failure report. */
#define MODEL_HISTORY 16

/* A sequence that makes no progress for this long has hung. */
#define MODEL_STALL_SECONDS 60

static const uint32_t model_fixed_seeds[] = { 1, 0x5eed1e55, 20250611 };
static uint32_t model_random_seed;

/*
 * Bugs this test found that are not fixed yet.  While one is listed in
 * model_open_bugs, its regression case and the configurations that hit it
 * skip, and the random batches steer around it, unless
 * EMBLOCK_MODEL_KNOWN_BUGS=1 asks to see the failures.  Remove the entry
 * together with the fix.
 */
typedef enum ModelBug {
    BUG_NONE,
    BUG_SERIALISING_CYCLE,
} ModelBug;

static const char *const model_bug_names[] = {
    [BUG_SERIALISING_CYCLE] = "block/io.c wait_serialising_requests(): "
        "three overlapping serialising requests can wait for each other in "
        "a cycle (only direct two-way waits are skipped)",
};

/* None open at the moment; the array keeps one dummy entry for C. */
static const ModelBug model_open_bugs[] = {
    BUG_NONE,
};

/* Whether @bug is listed as open and the user did not ask to see it. */
static bool bug_open(ModelBug bug)
{
    size_t i;

    if (bug == BUG_NONE || g_getenv("EMBLOCK_MODEL_KNOWN_BUGS")) {
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(model_open_bugs); i++) {
        if (model_open_bugs[i] == bug) {
            return true;
        }
    }
    return false;
}

/* Skip the current test case if @bug is open; returns whether it did. */
static bool skip_if_bug_open(ModelBug bug)
{
    g_autofree char *why = NULL;

    if (!bug_open(bug)) {
        return false;
    }
    why = g_strdup_printf("known bug, set EMBLOCK_MODEL_KNOWN_BUGS=1 to "
                          "run: %s", model_bug_names[bug]);
    g_test_skip(why);
    return true;
}

typedef struct ModelConfig {
    const char *path;        /* GLib test path */
    const char *opts;        /* node options; %s is the image file name */
    int64_t file_size;       /* size of the host file */
    int64_t window_offset;   /* node byte 0 in the file (raw offset=) */
    int64_t window_size;     /* node length; 0: to the end of the file */
    bool discard_unmap;      /* top node has discard=unmap */
    bool direct;             /* cache.direct=on: needs O_DIRECT */
    bool native_aio;         /* aio=native: needs libaio */
    ModelBug bug;            /* an open bug this configuration hits */
} ModelConfig;

typedef struct ModelStats {
    int64_t writes;
    int64_t zero_writes;
    int64_t discards;
    int64_t reads;
    int64_t status;
    int64_t status_zero;     /* answers with ZERO */
    int64_t status_data;     /* answers with DATA */
    int64_t allocated;
    int64_t all_zeroes;      /* bdrv_is_all_zeroes() calls... */
    int64_t all_zeroes_yes;  /* ...that answered 1 */
    int64_t flushes;
    int64_t discarded_zero;  /* discarded bytes that now read as zero */
} ModelStats;

typedef struct Model {
    const ModelConfig *cfg;
    uint32_t seed;
    uint64_t rng;
    int64_t op;              /* index of the current operation */
    int64_t size;            /* node length */
    int64_t host_cap;        /* bytes of host_ref and vbuf */
    uint8_t *host_ref;       /* the host file as it must be, zero past it */
    uint8_t *ref;            /* the node's window of host_ref */
    uint8_t *buf;            /* I/O buffer, MODEL_MAX_IO + 4 KiB, aligned */
    uint8_t *vbuf;           /* verification buffer, host_cap, aligned */
    char *dir;
    char *path;
    int host_fd;             /* the image behind the block layer's back */
    BlockBackend *blk;
    BlockDriverState *bs;    /* the node the backend is attached to */
    BlockDriverState *file_bs; /* the file node under it (or itself) */
    int max_batch;           /* most requests in one batch */
    bool trace;              /* print every operation (EMBLOCK_MODEL_TRACE) */
    char history[MODEL_HISTORY][160];
    ModelStats stats;
    gint progress;           /* bumped per operation, for the watchdog */
    gint stop;               /* tells the watchdog to end */
} Model;

/* ---- Random numbers (splitmix64: the same sequence everywhere) -------- */

static uint64_t rng_next(Model *m)
{
    uint64_t z = (m->rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
static int64_t rng_range(Model *m, int64_t lo, int64_t hi)
{
    g_assert(lo <= hi);
    return lo + (int64_t)(rng_next(m) % (uint64_t)(hi - lo + 1));
}

/* True with probability @percent / 100. */
static bool rng_chance(Model *m, int percent)
{
    return rng_range(m, 0, 99) < percent;
}

/* ---- History and failure reports ----------------------------------- */

static void G_GNUC_PRINTF(2, 3) model_log(Model *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_vsnprintf(m->history[m->op % MODEL_HISTORY], sizeof(m->history[0]),
                fmt, ap);
    va_end(ap);
    g_atomic_int_inc(&m->progress);
    if (m->trace) {
        g_printerr("%6" PRId64 ": %s\n", m->op,
                   m->history[m->op % MODEL_HISTORY]);
    }
}

/* Print where the sequence stands: configuration, seed, last operations. */
static void model_report(Model *m, const char *msg)
{
    int64_t i;

    g_printerr("\nmodel failure: %s, seed %" PRIu32 ", operation %" PRId64
               ": %s\n", m->cfg->path, m->seed, m->op, msg);
    g_printerr("last operations:\n");
    for (i = MAX(0, m->op - MODEL_HISTORY + 1); i <= m->op; i++) {
        g_printerr("  %6" PRId64 ": %s\n", i,
                   m->history[i % MODEL_HISTORY]);
    }
    g_printerr("replay: EMBLOCK_MODEL_SEED=%" PRIu32 " %s -p %s\n"
               "image: %s (node window %" PRId64 "+%" PRId64 ")\n",
               m->seed, g_get_prgname(), m->cfg->path, m->path,
               m->cfg->window_offset, m->size);
}

static void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN
model_fail(Model *m, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    model_report(m, msg);
    g_error("%s seed %" PRIu32 " op %" PRId64 ": %s", m->cfg->path, m->seed,
            m->op, msg);
}

/* Check that @got equals the model at node offset @off, for @bytes. */
static void model_compare(Model *m, const char *what, const uint8_t *got,
                          const uint8_t *want, int64_t off, int64_t bytes)
{
    int64_t i;

    if (memcmp(got, want, bytes) == 0) {
        return;
    }
    for (i = 0; got[i] == want[i]; i++) {
        /* find the first difference */
    }
    model_fail(m, "%s: byte %" PRId64 " (of %" PRId64 "+%" PRId64
               ") is 0x%02x, expected 0x%02x", what, off + i, off, bytes,
               got[i], want[i]);
}

/* ---- Choosing ranges ------------------------------------------------- */

/* A request length: mostly small, sometimes large; at most @max. */
static int64_t pick_len(Model *m, int64_t max)
{
    int r = rng_range(m, 0, 99);
    int64_t len;

    if (r < 2) {
        len = 0;
    } else if (r < 35) {
        len = rng_range(m, 1, 512);
    } else if (r < 60) {
        len = rng_range(m, 1, 4 * KiB);
    } else if (r < 85) {
        len = rng_range(m, 1, 64 * KiB);
    } else if (r < 96) {
        len = rng_range(m, 64 * KiB, 512 * KiB);
    } else {
        len = rng_range(m, 512 * KiB, MODEL_MAX_IO);
    }
    return MIN(len, max);
}

/* An offset for @len bytes, often across a @unit boundary. */
static int64_t pick_across(Model *m, int64_t len, int64_t unit)
{
    int64_t b = rng_range(m, 1, m->size / unit) * unit;

    if (len < 2) {
        return b - len;
    }
    return b - rng_range(m, 1, len - 1);
}

/* A start offset for @len bytes, so that the range fits in the node. */
static int64_t pick_offset(Model *m, int64_t len)
{
    int64_t max = m->size - len;
    int r = rng_range(m, 0, 99);
    int64_t off;

    if (r < 35) {
        off = rng_range(m, 0, max);
    } else if (r < 55) {
        off = pick_across(m, len, 4 * KiB);
    } else if (r < 70) {
        off = pick_across(m, len, 64 * KiB);
    } else if (r < 80) {
        /* At or near the end of the node. */
        off = rng_chance(m, 50) ? max : max - rng_range(m, 0, 4 * KiB);
    } else if (r < 85) {
        off = rng_range(m, 0, MIN(max, 4 * KiB));
    } else if (r < 95) {
        off = QEMU_ALIGN_DOWN(rng_range(m, 0, max), 4 * KiB);
    } else {
        off = QEMU_ALIGN_DOWN(rng_range(m, 0, max), 512);
    }
    return MAX(0, MIN(off, max));
}

/* The I/O buffer, now and then at an address that is not aligned. */
static uint8_t *pick_buf(Model *m, const char **note)
{
    if (rng_chance(m, 10)) {
        *note = " (unaligned buffer)";
        return m->buf + rng_range(m, 1, 4 * KiB - 1);
    }
    *note = "";
    return m->buf;
}

/* ---- Operations ------------------------------------------------------ */

static void model_adopt_length(Model *m);

static void op_write(Model *m)
{
    int64_t len = pick_len(m, m->size);
    int64_t off = pick_offset(m, len);
    BdrvRequestFlags flags = rng_chance(m, 2) ? BDRV_REQ_FUA : 0;
    uint8_t fill = rng_range(m, 1, 255);
    uint8_t step = rng_range(m, 0, 7) * 2 + 1;
    int kind = rng_range(m, 0, 99);
    const char *note;
    uint8_t *buf = pick_buf(m, &note);
    const char *what;
    int64_t i;
    int ret;

    if (kind < 70) {
        what = "pattern";
        for (i = 0; i < len; i++) {
            buf[i] = fill + (uint8_t)(i * step);
        }
    } else if (kind < 85) {
        what = "zero buffer";
        memset(buf, 0, len);
    } else if (kind < 95) {
        /* Zero except for one byte: detect-zeroes must not fire. */
        what = "almost zero";
        memset(buf, 0, len);
        if (len) {
            int where = rng_range(m, 0, 2);

            i = where == 0 ? 0 : where == 1 ? len - 1 : rng_range(m, 0,
                                                                  len - 1);
            buf[i] = fill;
        }
    } else {
        /* Pattern with zeroed 4 KiB-aligned pieces of the node. */
        what = "pattern with zero blocks";
        for (i = 0; i < len; i++) {
            bool zero = ((off + i) / (4 * KiB)) % 2 == (fill & 1);

            buf[i] = zero ? 0 : fill + (uint8_t)(i * step);
        }
    }
    model_log(m, "write %" PRId64 "+%" PRId64 " %s fill=0x%02x step=%u"
              " flags=0x%x%s", off, len, what, fill, step, flags, note);
    m->stats.writes++;
    ret = blk_pwrite(m->blk, off, len, buf, flags);
    if (ret < 0) {
        model_fail(m, "write failed: %s", strerror(-ret));
    }
    memcpy(m->ref + off, buf, len);
    model_adopt_length(m);
}

static void op_write_zeroes(Model *m)
{
    int64_t len = pick_len(m, m->size);
    int64_t off = pick_offset(m, len);
    BdrvRequestFlags flags = (rng_chance(m, 50) ? BDRV_REQ_MAY_UNMAP : 0) |
                             (rng_chance(m, 3) ? BDRV_REQ_FUA : 0);
    int ret;

    model_log(m, "write-zeroes %" PRId64 "+%" PRId64 " flags=0x%x",
              off, len, flags);
    m->stats.zero_writes++;
    ret = blk_pwrite_zeroes(m->blk, off, len, flags);
    if (ret < 0) {
        model_fail(m, "write-zeroes failed: %s", strerror(-ret));
    }
    memset(m->ref + off, 0, len);
    model_adopt_length(m);
}

/* Zero the whole node with MAY_UNMAP, then ask whether it is all zero. */
static void op_wipe(Model *m)
{
    int ret;

    model_log(m, "write-zeroes 0+%" PRId64 " flags=0x%x (wipe)", m->size,
              BDRV_REQ_MAY_UNMAP);
    m->stats.zero_writes++;
    ret = blk_pwrite_zeroes(m->blk, 0, m->size, BDRV_REQ_MAY_UNMAP);
    if (ret < 0) {
        model_fail(m, "write-zeroes failed: %s", strerror(-ret));
    }
    memset(m->ref, 0, m->size);
}

static void discard_adopt(Model *m, int64_t off, int64_t len);

static void op_discard(Model *m)
{
    int64_t len = pick_len(m, m->size);
    int64_t off = pick_offset(m, len);
    int ret;

    model_log(m, "discard %" PRId64 "+%" PRId64, off, len);
    m->stats.discards++;
    ret = blk_pdiscard(m->blk, off, len);
    if (ret < 0) {
        model_fail(m, "discard failed: %s", strerror(-ret));
    }
    discard_adopt(m, off, len);
}

/*
 * After a discard of [off, off + len): each byte must read as before or,
 * if the node may discard, as zero; the model adopts what the image holds.
 */
static void discard_adopt(Model *m, int64_t off, int64_t len)
{
    uint8_t *buf = m->buf;
    int64_t i;
    int ret;

    memset(buf, 0xa5, len);
    ret = blk_pread(m->blk, off, len, buf, 0);
    if (ret < 0) {
        model_fail(m, "read after discard failed: %s", strerror(-ret));
    }
    for (i = 0; i < len; i++) {
        if (buf[i] == m->ref[off + i]) {
            continue;
        }
        if (buf[i] != 0 || !m->cfg->discard_unmap) {
            model_fail(m, "discard: byte %" PRId64 " reads 0x%02x, expected"
                       " 0x%02x%s", off + i, buf[i], m->ref[off + i],
                       m->cfg->discard_unmap ? " or 0" : "");
        }
        m->ref[off + i] = 0;
        m->stats.discarded_zero++;
    }
}

static void op_read(Model *m)
{
    int64_t len = pick_len(m, m->size);
    int64_t off = pick_offset(m, len);
    const char *note;
    uint8_t *buf = pick_buf(m, &note);
    int ret;

    model_log(m, "read %" PRId64 "+%" PRId64 "%s", off, len, note);
    m->stats.reads++;
    memset(buf, 0xa5, len);
    ret = blk_pread(m->blk, off, len, buf, 0);
    if (ret < 0) {
        model_fail(m, "read failed: %s", strerror(-ret));
    }
    model_compare(m, "read", buf, m->ref + off, off, len);
}

static void op_flush(Model *m)
{
    int ret;

    model_log(m, "flush");
    m->stats.flushes++;
    ret = blk_flush(m->blk);
    if (ret < 0) {
        model_fail(m, "flush failed: %s", strerror(-ret));
    }
}

/*
 * Read the host file at @off behind the block layer's back; bytes past its
 * end read as zeroes, as they do through the node.
 */
static void host_read(Model *m, int64_t off, uint8_t *buf, int64_t bytes)
{
    int64_t done = 0;

    while (done < bytes) {
        ssize_t n = pread(m->host_fd, buf + done, bytes - done, off + done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            model_fail(m, "pread of the host file at %" PRId64 " failed: %s",
                       off + done, strerror(errno));
        }
        if (n == 0) {
            memset(buf + done, 0, bytes - done);
            break;
        }
        done += n;
    }
}

static const char *mode_name(unsigned mode)
{
    switch (mode) {
    case BDRV_WANT_ZERO:
        return "zero";
    case BDRV_WANT_ALLOCATED:
        return "allocated";
    case BDRV_WANT_PRECISE:
        return "precise";
    case BDRV_WANT_OFFSET_VALID:
        return "offset";
    default:
        return "?";
    }
}

/*
 * Check one block-status answer for [off, off + bytes): @ret with @pnum,
 * and @map/@file when they were asked for (non-NULL).
 */
static void check_status(Model *m, int64_t off, int64_t bytes, int ret,
                         int64_t pnum, const int64_t *map,
                         BlockDriverState *const *file)
{
    int64_t avail = MIN(bytes, m->size - off);
    const uint8_t *nz;

    if (ret < 0) {
        model_fail(m, "block status failed: %s", strerror(-ret));
    }
    if (off >= m->size) {
        if (pnum != 0 || !(ret & BDRV_BLOCK_EOF)) {
            model_fail(m, "at the end: ret=0x%x pnum=%" PRId64
                       ", expected EOF and 0", ret, pnum);
        }
        return;
    }
    if (pnum <= 0 || pnum > avail) {
        model_fail(m, "pnum %" PRId64 " outside (0, %" PRId64 "] (ret=0x%x)",
                   pnum, avail, ret);
    }
    if (!!(ret & BDRV_BLOCK_EOF) != (off + pnum == m->size)) {
        model_fail(m, "EOF %s but the answer ends at %" PRId64 " of %" PRId64
                   " (ret=0x%x)", (ret & BDRV_BLOCK_EOF) ? "set" : "clear",
                   off + pnum, m->size, ret);
    }
    if (ret & (BDRV_BLOCK_RAW | BDRV_BLOCK_RECURSE | BDRV_BLOCK_COMPRESSED)) {
        model_fail(m, "internal or impossible bits in ret=0x%x", ret);
    }
    /* No backing file: everything is allocated, as data or as zeroes. */
    if (!(ret & BDRV_BLOCK_ALLOCATED) ||
        !(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO))) {
        model_fail(m, "ret=0x%x: not allocated, but there is no backing "
                   "file", ret);
    }
    m->stats.status_zero += !!(ret & BDRV_BLOCK_ZERO);
    m->stats.status_data += !!(ret & BDRV_BLOCK_DATA);

    if ((ret & BDRV_BLOCK_ZERO) && !buffer_is_zero(m->ref + off, pnum)) {
        for (nz = m->ref + off; !*nz; nz++) {
            /* find the first non-zero byte */
        }
        model_fail(m, "ZERO for %" PRId64 "+%" PRId64 " (ret=0x%x), but "
                   "byte %" PRId64 " is 0x%02x", off, pnum, ret,
                   (int64_t)(nz - m->ref), *nz);
    }

    if (!(ret & BDRV_BLOCK_OFFSET_VALID)) {
        return;
    }
    if (file && *file != m->file_bs) {
        model_fail(m, "OFFSET_VALID with *file %s, expected the file node %s",
                   *file ? bdrv_get_node_name(*file) : "NULL",
                   bdrv_get_node_name(m->file_bs));
    }
    if (map && *map != off + m->cfg->window_offset) {
        model_fail(m, "OFFSET_VALID with *map %" PRId64 ", expected %" PRId64,
                   *map, off + m->cfg->window_offset);
    }
    if (map && file) {
        host_read(m, *map, m->vbuf, pnum);
        model_compare(m, "host file at *map", m->vbuf, m->ref + off, off,
                      pnum);
    }
}

/* A block-status range: sometimes at the end, to it or past it. */
static void pick_status_range(Model *m, int64_t *off, int64_t *bytes)
{
    int r = rng_range(m, 0, 99);

    if (rng_chance(m, 3)) {
        *off = m->size;
        *bytes = rng_range(m, 1, 64 * KiB);
        return;
    }
    *off = rng_chance(m, 50) ? rng_range(m, 0, m->size - 1) :
           pick_offset(m, 1);
    if (r < 40) {
        *bytes = pick_len(m, m->size - *off);
        *bytes = MAX(*bytes, 1);
    } else if (r < 65) {
        *bytes = m->size - *off;
    } else if (r < 75) {
        *bytes = m->size - *off + rng_range(m, 1, MiB);
    } else {
        *bytes = rng_range(m, 1, MIN(MiB, m->size - *off));
    }
}

static void op_block_status(Model *m)
{
    static const unsigned modes[] = {
        BDRV_WANT_ZERO, BDRV_WANT_ALLOCATED, BDRV_WANT_PRECISE,
        BDRV_WANT_OFFSET_VALID,
    };
    unsigned mode = modes[rng_range(m, 0, G_N_ELEMENTS(modes) - 1)];
    bool above = rng_chance(m, 30);
    bool want_map = !rng_chance(m, 10);
    bool want_file = !rng_chance(m, 10);
    int64_t off, bytes, pnum = -1, map = -1;
    BlockDriverState *file = NULL;
    int depth = -1;
    int ret;

    pick_status_range(m, &off, &bytes);
    model_log(m, "block-status%s mode=%s %" PRId64 "+%" PRId64 "%s%s",
              above ? "-above" : "", mode_name(mode), off, bytes,
              want_map ? "" : " map=NULL", want_file ? "" : " file=NULL");
    m->stats.status++;
    if (above) {
        ret = bdrv_block_status_above(m->bs, NULL, false, mode, off, bytes,
                                      &pnum, want_map ? &map : NULL,
                                      want_file ? &file : NULL, &depth);
    } else {
        ret = bdrv_block_status(m->bs, mode, off, bytes, &pnum,
                                want_map ? &map : NULL,
                                want_file ? &file : NULL);
    }
    check_status(m, off, bytes, ret, pnum, want_map ? &map : NULL,
                 want_file ? &file : NULL);
    if (above && off < m->size && depth != 1) {
        model_fail(m, "depth %d, expected 1 (ret=0x%x)", depth, ret);
    }
}

static void op_allocated(Model *m)
{
    int64_t off, bytes, avail, pnum = -1;
    bool above = rng_chance(m, 50);
    int ret;

    pick_status_range(m, &off, &bytes);
    if (off >= m->size) {
        off = m->size - 1;
    }
    avail = MIN(bytes, m->size - off);
    model_log(m, "is-allocated%s %" PRId64 "+%" PRId64,
              above ? "-above" : "", off, bytes);
    m->stats.allocated++;
    if (above) {
        ret = bdrv_is_allocated_above(m->bs, NULL, false, off, bytes, &pnum);
    } else {
        ret = bdrv_is_allocated(m->bs, off, bytes, &pnum);
    }
    if (ret != 1 || pnum <= 0 || pnum > avail) {
        model_fail(m, "is-allocated: ret=%d pnum=%" PRId64 ", expected 1 "
                   "and (0, %" PRId64 "]", ret, pnum, avail);
    }
}

static void op_all_zeroes(Model *m)
{
    int ret;

    model_log(m, "is-all-zeroes");
    m->stats.all_zeroes++;
    ret = bdrv_is_all_zeroes(m->bs);
    if (ret < 0) {
        model_fail(m, "is-all-zeroes failed: %s", strerror(-ret));
    }
    if (ret && !buffer_is_zero(m->ref, m->size)) {
        model_fail(m, "is-all-zeroes says 1, but the image holds data");
    }
    m->stats.all_zeroes_yes += ret;
}

/*
 * The most the host file may grow to: the node's end in the file, padded
 * to the file node's request alignment (a padded write reaches that far).
 */
static int64_t host_size_limit(Model *m)
{
    int64_t align = m->file_bs->bl.request_alignment;
    int64_t end = m->cfg->window_offset + m->size;

    return MAX(m->cfg->file_size, QEMU_ALIGN_UP(end, align));
}

/*
 * After a write: a request alignment above 512 pads a write at the end of
 * the node past it, which makes the node longer, as in QEMU (the padding
 * is zeroes read from past the end).  Check that it grew no further than
 * the padded unit and adopt the new length; with smaller alignments the
 * length must not change.
 */
static void model_adopt_length(Model *m)
{
    int64_t align = MAX(m->bs->bl.request_alignment, 512);
    int64_t len = blk_getlength(m->blk);

    if (len < m->size || len > QEMU_ALIGN_UP(m->size, align) ||
        m->cfg->window_offset + len > m->host_cap) {
        model_fail(m, "the node is %" PRId64 " bytes after a write, expected"
                   " %" PRId64 " (or up to the next %" PRId64 "-byte "
                   "boundary)", len, m->size, align);
    }
    m->size = len;
}

/*
 * The whole node and the whole host file against the model.  The file may
 * have grown (writes past its end), up to host_size_limit(); bytes the
 * model holds past its end must be zero, or a write was lost.
 */
static void op_checkpoint(Model *m)
{
    int64_t len = blk_getlength(m->blk);
    struct stat st;
    int ret;

    model_log(m, "checkpoint");
    if (len != m->size) {
        model_fail(m, "the node is %" PRId64 " bytes, expected %" PRId64,
                   len, m->size);
    }
    ret = blk_pread(m->blk, 0, m->size, m->vbuf, 0);
    if (ret < 0) {
        model_fail(m, "checkpoint read failed: %s", strerror(-ret));
    }
    model_compare(m, "checkpoint read", m->vbuf, m->ref, 0, m->size);
    if (fstat(m->host_fd, &st) < 0 || st.st_size < m->cfg->file_size ||
        st.st_size > host_size_limit(m)) {
        model_fail(m, "the host file is %" PRId64 " bytes, expected %"
                   PRId64 " to %" PRId64, (int64_t)st.st_size,
                   m->cfg->file_size, host_size_limit(m));
    }
    host_read(m, 0, m->vbuf, m->host_cap);
    model_compare(m, "host file (offsets relative to the node)", m->vbuf,
                  m->host_ref, -m->cfg->window_offset, m->host_cap);
}

/* ---- Batches of concurrent requests ---------------------------------- */

typedef enum SubOpKind {
    SUB_WRITE,
    SUB_ZEROES,
    SUB_DISCARD,
    SUB_READ,
    SUB_STATUS,
    SUB__MAX,
} SubOpKind;

/* One request of a batch, run in its own coroutine. */
typedef struct SubOp {
    BlockBackend *blk;
    BlockDriverState *bs;
    int64_t index;           /* its operation index in the history */
    SubOpKind kind;
    int64_t off;
    int64_t len;
    BdrvRequestFlags flags;
    unsigned mode;
    uint8_t *buf;            /* the memory the request uses */
    uint8_t *data;           /* the bytes as one array, for vectored ones */
    QEMUIOVector qiov;       /* scattered over buf, when data is set */
    int64_t pnum;
    int64_t map;
    BlockDriverState *file;
    int ret;
    bool done;
} SubOp;

static void coroutine_fn sub_op_entry(void *opaque)
{
    SubOp *s = opaque;

    switch (s->kind) {
    case SUB_WRITE:
        s->ret = s->data ?
                 blk_co_pwritev(s->blk, s->off, s->len, &s->qiov, s->flags) :
                 blk_co_pwrite(s->blk, s->off, s->len, s->buf, s->flags);
        break;
    case SUB_ZEROES:
        s->ret = blk_co_pwrite_zeroes(s->blk, s->off, s->len, s->flags);
        break;
    case SUB_DISCARD:
        s->ret = blk_co_pdiscard(s->blk, s->off, s->len);
        break;
    case SUB_READ:
        s->ret = s->data ?
                 blk_co_preadv(s->blk, s->off, s->len, &s->qiov, 0) :
                 blk_co_pread(s->blk, s->off, s->len, s->buf, 0);
        break;
    default:
        s->ret = bdrv_co_block_status(s->bs, s->mode, s->off, s->len,
                                      &s->pnum, &s->map, &s->file);
        break;
    }
    s->done = true;
    aio_wait_kick();
}

/* The length of one request of a batch: small, to share units. */
static int64_t pick_sub_len(Model *m)
{
    int r = rng_range(m, 0, 99);

    return r < 70 ? rng_range(m, 1, 1500) :
           r < 90 ? rng_range(m, 1, 8 * KiB) : rng_range(m, 1, 64 * KiB);
}

/* The gap before the next request: often none, so neighbours touch. */
static int64_t pick_sub_gap(Model *m)
{
    int r = rng_range(m, 0, 99);

    return r < 50 ? 0 : r < 80 ? rng_range(m, 1, 511) :
           rng_range(m, 0, 8 * KiB);
}

/* Most elements of a scattered request vector. */
#define SUB_MAX_IOV 16

/*
 * Give @s a vector of up to SUB_MAX_IOV elements (some empty) at odd
 * places in its memory, with gaps between them, holding s->data.
 */
static void sub_op_scatter(Model *m, SubOp *s)
{
    int64_t left = s->len;
    size_t at = rng_range(m, 0, 63);
    int n;

    s->data = g_malloc(s->len);
    s->buf = g_malloc(s->len + SUB_MAX_IOV * 64 + 64);
    qemu_iovec_init(&s->qiov, SUB_MAX_IOV);
    for (n = 0; left > 0; n++) {
        int64_t elen = left;

        if (n < SUB_MAX_IOV - 1) {
            elen = rng_chance(m, 5) ? 0 :
                   rng_range(m, 1, MIN(left, rng_chance(m, 50) ? 600 : left));
        }
        qemu_iovec_add(&s->qiov, s->buf + at, elen);
        at += elen + rng_range(m, 0, 63);
        left -= elen;
    }
}

/*
 * Issue 2 to 8 requests on disjoint but often adjacent ranges at once, in
 * a random order, and check each like its synchronous form: ranges that
 * share a request-alignment unit must be serialised by the block layer,
 * or a read-modify-write loses its neighbour's bytes.
 */
static void op_batch(Model *m)
{
    static const unsigned modes[] = {
        BDRV_WANT_ZERO, BDRV_WANT_ALLOCATED, BDRV_WANT_PRECISE,
    };
    int n = rng_range(m, 2, m->max_batch);
    SubOp subs[8];
    int order[8];
    int64_t total = 0, pos;
    int i, j;

    memset(subs, 0, sizeof(subs));
    for (i = 0; i < n; i++) {
        subs[i].len = pick_sub_len(m);
        total += subs[i].len + (i ? pick_sub_gap(m) : 0);
        subs[i].off = total - subs[i].len;
    }
    pos = rng_chance(m, 10) ? m->size - total :
          rng_range(m, 0, m->size - total);
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];
        uint8_t fill = rng_range(m, 1, 255);
        int64_t k;

        s->blk = m->blk;
        s->bs = m->bs;
        s->off += pos;
        s->kind = rng_range(m, 0, SUB__MAX - 1);
        s->buf = qemu_blockalign(4 * KiB, s->len);
        if ((s->kind == SUB_WRITE || s->kind == SUB_READ) &&
            rng_chance(m, 40)) {
            qemu_vfree(s->buf);
            s->buf = NULL;
            sub_op_scatter(m, s);
        }
        switch (s->kind) {
        case SUB_WRITE:
            s->flags = rng_chance(m, 5) ? BDRV_REQ_FUA : 0;
            if (rng_chance(m, 20)) {
                memset(s->buf, 0, s->len);
                if (s->data) {
                    memset(s->data, 0, s->len);
                    qemu_iovec_memset(&s->qiov, 0, 0, s->len);
                }
            } else if (s->data) {
                for (k = 0; k < s->len; k++) {
                    s->data[k] = fill + (uint8_t)k;
                }
                qemu_iovec_from_buf(&s->qiov, 0, s->data, s->len);
            } else {
                for (k = 0; k < s->len; k++) {
                    s->buf[k] = fill + (uint8_t)k;
                }
            }
            break;
        case SUB_ZEROES:
            s->flags = rng_chance(m, 50) ? BDRV_REQ_MAY_UNMAP : 0;
            break;
        case SUB_READ:
            if (s->data) {
                qemu_iovec_memset(&s->qiov, 0, 0xa5, s->len);
            } else {
                memset(s->buf, 0xa5, s->len);
            }
            break;
        case SUB_STATUS:
            s->mode = modes[rng_range(m, 0, G_N_ELEMENTS(modes) - 1)];
            break;
        default:
            break;
        }
        order[i] = i;
    }
    for (i = n - 1; i > 0; i--) {
        int tmp;

        j = rng_range(m, 0, i);
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }

    for (i = 0; i < n; i++) {
        static const char *const names[] = {
            "write", "write-zeroes", "discard", "read", "block-status",
        };
        SubOp *s = &subs[order[i]];

        if (i) {
            m->op++;
        }
        s->index = m->op;
        model_log(m, "batch %d/%d: %s %" PRId64 "+%" PRId64 " flags=0x%x"
                  " mode=0x%x%s", i + 1, n, names[s->kind], s->off, s->len,
                  s->flags, s->mode, s->data ? " vectored" : "");
        qemu_coroutine_enter(qemu_coroutine_create(sub_op_entry, s));
    }
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        AIO_WAIT_WHILE(qemu_get_aio_context(), !s->done);
    }

    /* Every range is disjoint: check each against the model in turn. */
    pos = m->op;
    model_adopt_length(m);
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        m->op = s->index;
        if (s->ret < 0) {
            model_fail(m, "batched request failed: %s", strerror(-s->ret));
        }
        if (s->data && s->kind == SUB_READ) {
            qemu_iovec_to_buf(&s->qiov, 0, s->data, s->len);
        }
        switch (s->kind) {
        case SUB_WRITE:
            memcpy(m->ref + s->off, s->data ? s->data : s->buf, s->len);
            m->stats.writes++;
            break;
        case SUB_ZEROES:
            memset(m->ref + s->off, 0, s->len);
            m->stats.zero_writes++;
            break;
        case SUB_READ:
            model_compare(m, "batched read", s->data ? s->data : s->buf,
                          m->ref + s->off, s->off, s->len);
            m->stats.reads++;
            break;
        case SUB_STATUS:
            check_status(m, s->off, s->len, s->ret, s->pnum, &s->map,
                         &s->file);
            m->stats.status++;
            break;
        default:
            break;
        }
    }
    /* Discards last: their read-back must see the other writes. */
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        if (s->kind == SUB_DISCARD) {
            m->op = s->index;
            discard_adopt(m, s->off, s->len);
            m->stats.discards++;
        }
        if (s->data) {
            qemu_iovec_destroy(&s->qiov);
            g_free(s->data);
            g_free(s->buf);
        } else {
            qemu_vfree(s->buf);
        }
    }
    m->op = pos;
}

static void model_step(Model *m)
{
    int r = rng_range(m, 0, 999);

    if (r < 280) {
        op_write(m);
    } else if (r < 390) {
        op_write_zeroes(m);
    } else if (r < 470) {
        op_discard(m);
    } else if (r < 670) {
        op_read(m);
    } else if (r < 880) {
        op_block_status(m);
    } else if (r < 920) {
        op_allocated(m);
    } else if (r < 960) {
        op_batch(m);
    } else if (r < 966) {
        op_flush(m);
    } else if (r < 995) {
        op_all_zeroes(m);
    } else {
        op_wipe(m);
        m->op++;
        op_all_zeroes(m);
    }
}

/* ---- Setting up ------------------------------------------------------ */

/* Make the image: sparse, with a few extents of random data. */
static void model_make_image(Model *m)
{
    int64_t size = m->cfg->file_size;
    int i, fd;

    fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    for (i = 0; i < 12; i++) {
        int64_t len = rng_range(m, 1, 256 * KiB);
        int64_t off = rng_range(m, 0, size - len);
        int64_t j;

        for (j = 0; j < len; j++) {
            m->host_ref[off + j] = rng_next(m);
        }
        g_assert_cmpint(pwrite(fd, m->host_ref + off, len, off), ==, len);
    }
    g_assert_cmpint(close(fd), ==, 0);
}

/* Whether files in @dir can be opened O_DIRECT. */
static bool dir_supports_direct(const char *dir)
{
    g_autofree char *probe = g_build_filename(dir, "probe", NULL);
    int fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);

    if (fd >= 0) {
        close(fd);
    }
    unlink(probe);
    return fd >= 0;
}

/*
 * Open the model's image as the configuration says.  Returns false (and
 * skips the test) when the host cannot do what the configuration needs.
 */
static bool model_open(Model *m)
{
    g_autofree char *opts = g_strdup_printf(m->cfg->opts, m->path);
    const char *msg;
    Error *err = NULL;

    m->bs = bdrv_open_string(opts, &err);
    if (!m->bs) {
        msg = error_get_pretty(err);
        if (m->cfg->native_aio &&
            (strstr(msg, "not supported in this build") ||
             strstr(msg, "Unable to use native AIO"))) {
            g_autofree char *why =
                g_strdup_printf("aio=native is not available: %s", msg);

            g_test_skip(why);
            error_free(err);
            return false;
        }
        g_error("opening '%s' failed: %s", opts, msg);
    }
    m->blk = blk_new_with_bs(m->bs, BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE | BLK_PERM_RESIZE,
                             BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED, &error_abort);
    bdrv_unref(m->bs);
    m->file_bs = bdrv_file_bs(m->bs) ? bdrv_file_bs(m->bs) : m->bs;
    g_assert_cmpint(blk_getlength(m->blk), ==, m->size);
    return true;
}

static void model_cleanup(Model *m)
{
    if (m->blk) {
        blk_unref(m->blk);
    }
    if (m->host_fd >= 0) {
        close(m->host_fd);
    }
    unlink(m->path);
    g_assert_cmpint(rmdir(m->dir), ==, 0);
    qemu_vfree(m->buf);
    qemu_vfree(m->vbuf);
    g_free(m->host_ref);
    g_free(m->path);
    g_free(m->dir);
}

/*
 * A request that never completes leaves the main thread polling forever;
 * this thread notices that no operation started for MODEL_STALL_SECONDS
 * and reports the sequence (reading it racily: the main thread is stuck).
 */
static gpointer model_watchdog(gpointer opaque)
{
    Model *m = opaque;
    int last = g_atomic_int_get(&m->progress);
    gint64 since = g_get_monotonic_time();

    while (!g_atomic_int_get(&m->stop)) {
        int now = g_atomic_int_get(&m->progress);

        if (now != last) {
            last = now;
            since = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - since >
                   MODEL_STALL_SECONDS * G_USEC_PER_SEC) {
            model_report(m, "no progress: a request never completed");
            g_error("%s seed %" PRIu32 ": hung at operation %" PRId64,
                    m->cfg->path, m->seed, m->op);
        }
        g_usleep(G_USEC_PER_SEC / 10);
    }
    return NULL;
}

/*
 * The node's length: the window, or the rest of the file; whole sectors
 * either way.  The file node rounds the file's size up and raw rounds its
 * share of that up again, as QEMU does.
 */
static int64_t model_node_size(const ModelConfig *cfg)
{
    int64_t file_len = QEMU_ALIGN_UP(cfg->file_size, 512);

    if (cfg->window_size) {
        return cfg->window_size;
    }
    return QEMU_ALIGN_UP(file_len - cfg->window_offset, 512);
}

/* Run @nops random operations from @seed on a fresh image. */
static void model_run(const ModelConfig *cfg, uint32_t seed, int64_t nops)
{
    Model m = {
        .cfg = cfg,
        .seed = seed,
        .rng = seed,
        .host_fd = -1,
        .size = model_node_size(cfg),
        .trace = g_getenv("EMBLOCK_MODEL_TRACE") != NULL,
        /* Three requests sharing units can deadlock while the bug is open. */
        .max_batch = cfg->direct && bug_open(BUG_SERIALISING_CYCLE) ? 2 : 8,
    };
    GError *gerr = NULL;
    gint64 start = g_get_monotonic_time();
    GThread *watchdog;

    m.dir = g_dir_make_tmp("test-block-model-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    m.path = g_build_filename(m.dir, "img.raw", NULL);
    /* Room for the file to grow to the node's end padded to 64 KiB. */
    m.host_cap = QEMU_ALIGN_UP(MAX(cfg->file_size,
                                   cfg->window_offset + m.size), 64 * KiB) +
                 64 * KiB;
    m.host_ref = g_malloc0(m.host_cap);
    m.ref = m.host_ref + cfg->window_offset;
    m.buf = qemu_blockalign(4 * KiB, MODEL_MAX_IO + 4 * KiB);
    m.vbuf = qemu_blockalign(4 * KiB, m.host_cap);

    if (cfg->direct && !dir_supports_direct(m.dir)) {
        g_autofree char *why =
            g_strdup_printf("the file system of %s has no O_DIRECT", m.dir);

        g_test_skip(why);
        model_cleanup(&m);
        return;
    }
    model_make_image(&m);
    m.host_fd = open(m.path, O_RDONLY);
    g_assert_cmpint(m.host_fd, >=, 0);
    if (!model_open(&m)) {
        model_cleanup(&m);
        return;
    }

    watchdog = g_thread_new("model-watchdog", model_watchdog, &m);
    for (m.op = 0; m.op < nops; m.op++) {
        model_step(&m);
        if (m.op % MODEL_CHECKPOINT == MODEL_CHECKPOINT - 1) {
            m.op++;
            op_checkpoint(&m);
        }
    }
    op_flush(&m);
    m.op++;
    op_checkpoint(&m);
    g_atomic_int_set(&m.stop, 1);
    g_thread_join(watchdog);

    g_test_message("seed %" PRIu32 ": %" PRId64 " ops in %.2f s: %" PRId64
                   " writes, %" PRId64 " zero writes, %" PRId64
                   " discards (%" PRId64 " bytes now zero), %" PRId64
                   " reads, %" PRId64 " block status (%" PRId64 " ZERO, %"
                   PRId64 " DATA), %" PRId64 " is-allocated, %" PRId64
                   " is-all-zeroes (%" PRId64 " yes), %" PRId64 " flushes",
                   seed, m.op + 1,
                   (g_get_monotonic_time() - start) / 1e6, m.stats.writes,
                   m.stats.zero_writes, m.stats.discards,
                   m.stats.discarded_zero, m.stats.reads, m.stats.status,
                   m.stats.status_zero, m.stats.status_data,
                   m.stats.allocated, m.stats.all_zeroes,
                   m.stats.all_zeroes_yes, m.stats.flushes);
    model_cleanup(&m);
}

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

/* A `file` node with cache.direct=on on a fresh sparse file. */
typedef struct DirectImage {
    char *dir;
    char *path;
    BlockBackend *blk;
} DirectImage;

static void direct_image_close(DirectImage *d)
{
    if (d->blk) {
        blk_unref(d->blk);
    }
    unlink(d->path);
    g_assert_cmpint(rmdir(d->dir), ==, 0);
    g_free(d->path);
    g_free(d->dir);
}

/* Open it, or skip the test and return false without O_DIRECT. */
static bool direct_image_open(DirectImage *d, int64_t size)
{
    g_autofree char *opts = NULL;
    GError *gerr = NULL;
    BlockDriverState *bs;
    int fd;

    d->dir = g_dir_make_tmp("test-block-model-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    d->path = g_build_filename(d->dir, "img.raw", NULL);
    d->blk = NULL;
    if (!dir_supports_direct(d->dir)) {
        g_test_skip("no O_DIRECT in the temporary directory");
        direct_image_close(d);
        return false;
    }
    fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    g_assert_cmpint(close(fd), ==, 0);
    opts = g_strdup_printf("driver=file,filename=%s,cache.direct=on",
                           d->path);
    bs = bdrv_open_string(opts, &error_abort);
    d->blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                             BLK_PERM_RESIZE, BLK_PERM_CONSISTENT_READ |
                             BLK_PERM_WRITE_UNCHANGED, &error_abort);
    bdrv_unref(bs);
    return true;
}

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
