/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The single operations of test-block-model.c and their checks: each one
 * issues one request through the model's BlockBackend and holds the answer
 * against the model (see the rules at the top of test-block-model.c).
 * Discards, block status and growing past the end are checked by helpers
 * the batches in block-model-batch.c share.
 */
#include "block-model-util.h"

/* ---- Operations ------------------------------------------------------ */

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
void discard_adopt(Model *m, int64_t off, int64_t len)
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

void op_flush(Model *m)
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
void check_status(Model *m, int64_t off, int64_t bytes, int ret,
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
void model_adopt_length(Model *m)
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
void op_checkpoint(Model *m)
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

void model_step(Model *m)
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
