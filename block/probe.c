/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Format probing (see include/block/probe.h).
 *
 * A small table of scoring functions, one per format that can be
 * recognised, in the spirit of QEMU's per-driver bdrv_probe callbacks: a
 * format answers 0 for "not mine" and a higher score the surer it is.
 * QEMU's scores are kept: qcow2 is 100 for its magic with version 2 or
 * later and a buffer holding at least the 72-byte version 2 header, raw is
 * 1 for anything.  A file too short for the buffer is read as zero-padded,
 * so four bytes of qcow2 magic alone are raw, and a truncated version 3
 * header is still qcow2 (whose open then fails on it, as QEMU's does).
 */
#include "util/osdep.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/probe.h"

/* "QFI\xfb", followed by the version, big endian. */
#define PROBE_QCOW2_MAGIC 0x514649fbu
#define PROBE_QCOW2_V2_HEADER 72

typedef struct FormatProbe {
    const char *format;
    int (*score)(const uint8_t *buf, size_t len, const char *filename);
} FormatProbe;

static uint32_t probe_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int probe_raw(const uint8_t *buf, size_t len, const char *filename)
{
    return 1;
}

static int probe_qcow2(const uint8_t *buf, size_t len, const char *filename)
{
    if (len >= PROBE_QCOW2_V2_HEADER &&
        probe_be32(buf) == PROBE_QCOW2_MAGIC && probe_be32(buf + 4) >= 2) {
        return 100;
    }
    return 0;
}

static const FormatProbe format_probes[] = {
    { "raw", probe_raw },
    { "qcow2", probe_qcow2 },
};

const char *bdrv_probe_buf(const uint8_t *buf, size_t len,
                           const char *filename)
{
    const char *best = "raw";
    int best_score = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(format_probes); i++) {
        int score = format_probes[i].score(buf, len, filename);

        if (score > best_score) {
            best_score = score;
            best = format_probes[i].format;
        }
    }
    return best;
}

const char *bdrv_probe_format(const char *filename, bool writable,
                              Error **errp)
{
    BlockOptions *opts = qdict_new();
    uint8_t buf[BDRV_PROBE_BUF_SIZE] = { 0 };
    BlockDriverState *bs;
    BlockBackend *blk;
    int64_t len;
    int ret = 0;

    qdict_put_str(opts, "driver", "file");
    qdict_put_str(opts, "filename", filename);
    qdict_put_str(opts, "read-only", writable ? "off" : "on");
    qdict_put_str(opts, "locking", "off");
    bs = bdrv_open_options(opts, errp);
    qdict_unref(opts);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL, errp);
    bdrv_unref(bs);
    if (!blk) {
        return NULL;
    }
    len = blk_getlength(blk);
    if (len > 0) {
        /* Past the end of the file reads as zeroes. */
        ret = blk_pread(blk, 0, MIN(len, BDRV_PROBE_BUF_SIZE), buf, 0);
    } else if (len < 0) {
        ret = len;
    }
    blk_unref(blk);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read image for determining "
                         "its format");
        return NULL;
    }
    return bdrv_probe_buf(buf, sizeof(buf), filename);
}
