/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 internal snapshot table: reading it at open.
 *
 * The table (docs/interop/qcow2.rst) is a list of variable-length entries,
 * each 8-byte aligned: a 40-byte fixed part (L1 table offset and size, ID
 * and name lengths, dates, VM state size, extra data size), the extra data,
 * the ID and the name.  qcow2_read_header() has already checked the count
 * (at most 65536) and that the table starts cluster aligned inside the file;
 * here every entry's extra data is limited to 1 KiB and the whole table to
 * 64 MiB, as QEMU does.  Entries whose L1 table is misplaced or too large
 * are kept: QEMU refuses them only when the snapshot is used, and check
 * reports them (qcow2-check.c).
 *
 * The table is read through a window of one 64 KiB buffer, so 65536 small
 * entries take a few dozen reads rather than two per entry, and memory
 * stays bounded: the ID and name are stored only up to their first NUL.
 */
#include "block/qcow2/qcow2.h"

#define SNAPSHOT_HEADER_SIZE 40
#define SNAPSHOT_WINDOW (64 * KiB)

/* A read-ahead window over the snapshot table. */
typedef struct SnapshotReader {
    BlockDriverState *bs;
    uint64_t start;          /* file offset of buf[0] */
    uint64_t len;            /* valid bytes in buf; 0 = empty */
    uint8_t *buf;            /* SNAPSHOT_WINDOW bytes */
} SnapshotReader;

/* Copy @bytes at file offset @off into @dst, refilling the window. */
static int coroutine_fn snapshot_read(SnapshotReader *r, uint64_t off,
                                      uint64_t bytes, uint8_t *dst)
{
    while (bytes) {
        uint64_t n;

        if (off < r->start || off >= r->start + r->len) {
            int ret = bdrv_co_pread(r->bs->file, off, SNAPSHOT_WINDOW,
                                    r->buf, 0);

            if (ret < 0) {
                r->len = 0;
                return ret;
            }
            r->start = off;
            r->len = SNAPSHOT_WINDOW;
        }
        n = MIN(bytes, r->start + r->len - off);
        memcpy(dst, r->buf + (off - r->start), n);
        dst += n;
        off += n;
        bytes -= n;
    }
    return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

/* A string of at most @len bytes, stored only up to its first NUL. */
static char *snapshot_string(const char *p, uint32_t len)
{
    return g_strndup(p, strnlen(p, len));
}

/*
 * Fill s->snapshots (s->nb_snapshots entries) and s->snapshots_size from
 * the table at s->snapshots_offset.  Returns 0, or -errno with errp set:
 * -EFBIG for an entry with too much extra data or a table over 64 MiB.
 * On failure the entries read so far stay in s->snapshots for
 * qcow2_free_header_state().
 */
int coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *window = NULL;
    g_autofree char *strings = NULL;
    SnapshotReader r = { .bs = bs };
    uint64_t off = s->snapshots_offset;
    int ret;

    if (!s->nb_snapshots) {
        return 0;
    }
    window = g_malloc(SNAPSHOT_WINDOW);
    r.buf = window;
    /* Room for the longest ID and name, each NUL terminated. */
    strings = g_malloc(2 * (UINT16_MAX + 1));
    s->snapshots = g_new0(Qcow2Snapshot, s->nb_snapshots);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint8_t h[SNAPSHOT_HEADER_SIZE];
        uint32_t extra, id_len, name_len;

        ret = snapshot_read(&r, off, sizeof(h), h);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read snapshots");
            return ret;
        }
        s->snapshots[i].l1_table_offset =
            ((uint64_t)get_be32(h) << 32) | get_be32(h + 4);
        s->snapshots[i].l1_size = get_be32(h + 8);
        id_len = (h[12] << 8) | h[13];
        name_len = (h[14] << 8) | h[15];
        extra = get_be32(h + 36);
        if (extra > QCOW_MAX_SNAPSHOT_EXTRA) {
            error_setg(errp, "Too much extra metadata in snapshot table "
                       "entry %" PRIu32, i);
            return -EFBIG;
        }
        off += sizeof(h) + extra;
        ret = snapshot_read(&r, off, id_len, (uint8_t *)strings);
        if (ret == 0) {
            ret = snapshot_read(&r, off + id_len, name_len,
                                (uint8_t *)strings + UINT16_MAX + 1);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read snapshots");
            return ret;
        }
        strings[id_len] = '\0';
        strings[UINT16_MAX + 1 + name_len] = '\0';
        s->snapshots[i].id_str = snapshot_string(strings, id_len);
        s->snapshots[i].name = snapshot_string(strings + UINT16_MAX + 1,
                                               name_len);
        off = ROUND_UP(off + id_len + name_len, 8);
        if (off - s->snapshots_offset > QCOW_MAX_SNAPSHOTS_SIZE) {
            error_setg(errp, "Snapshot table is too big");
            return -EFBIG;
        }
    }
    s->snapshots_size = off - s->snapshots_offset;
    return 0;
}
