/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 cluster mapping: from guest offsets to host clusters and back.
 *
 * A guest offset selects an L1 entry (the L2 table) and an L2 entry (the
 * cluster).  An L2 entry is one of: unallocated (0: read the backing file,
 * or zeroes), zero-plain (ZERO flag, no host cluster), zero-alloc (ZERO flag
 * and a preallocated host cluster), normal (host cluster), compressed (host
 * byte range of deflated data).  COPIED on a normal entry, or on an L1 entry,
 * says the host cluster's refcount is exactly 1, so it may be written in
 * place; anything else is copied on write.
 *
 * Lookups (qcow2_get_host_offset) answer for a run of clusters of one type
 * (contiguous on the host for allocated types) inside one L2 table, so reads
 * and block status handle many clusters per call.
 *
 * Allocating writes (qcow2_alloc_write) live in qcow2-alloc.c; they get
 * their L2 table from qcow2_get_l2_rw: a new or shared L2 table is
 * allocated, filled, written and flushed before the L1 entry pointing at
 * it is written.
 *
 * A compressed write (qcow2_write_compressed) only fills an unallocated or
 * zero-plain entry: its deflated data goes to bytes from qcow2_alloc_bytes()
 * and is written before the entry points at it.
 *
 * Zero writes and discards rewrite L2 entries in bulk.  Each L2 table is
 * first examined read-only: when no entry would change, nothing is
 * allocated, copied or marked dirty, so repeating a zero write writes
 * nothing at all.
 *
 * Everything here runs under s->lock, except qcow2_read_compressed (data
 * only).
 */
#include "block/qcow2/qcow2.h"

#include <zlib.h>

/* The L2 table for @l1_index read-only, or NULL when there is none. */
static int coroutine_fn get_l2_ro(BlockDriverState *bs, uint64_t l1_index,
                                  uint64_t **l2)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2_offset;

    *l2 = NULL;
    if (l1_index >= s->l1_size) {
        return 0;
    }
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (!l2_offset) {
        return 0;
    }
    if (offset_into_cluster(s, l2_offset)) {
        qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64 " unaligned "
                                "(L1 index: %#" PRIx64 ")", l2_offset,
                                l1_index);
        return -EIO;
    }
    return qcow2_cache_get(bs, s->l2_table_cache, l2_offset, (void **)l2);
}

int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       uint64_t *bytes, uint64_t *host,
                                       QCow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    uint64_t cover = l2_coverage(s);
    uint64_t avail = MIN(*bytes, cover - (offset & (cover - 1)));
    int l2_index = offset_to_l2_index(s, offset);
    int nb = DIV_ROUND_UP(in_cluster + avail, s->cluster_size);
    uint64_t *l2, entry, next;
    int i, ret;

    *host = 0;
    *type = QCOW2_CLUSTER_UNALLOCATED;
    ret = get_l2_ro(bs, offset_to_l1_index(s, offset), &l2);
    if (ret < 0) {
        return ret;
    }
    if (!l2) {
        *bytes = avail;
        return 0;
    }
    entry = l2_get(l2, l2_index);
    *type = qcow2_get_cluster_type(entry);
    next = (entry & L2E_OFFSET_MASK) + s->cluster_size;
    for (i = 1; i < nb && *type != QCOW2_CLUSTER_COMPRESSED; i++) {
        uint64_t e = l2_get(l2, l2_index + i);

        if (qcow2_get_cluster_type(e) != *type) {
            break;
        }
        if (*type == QCOW2_CLUSTER_NORMAL ||
            *type == QCOW2_CLUSTER_ZERO_ALLOC) {
            if ((e & L2E_OFFSET_MASK) != next) {
                break;
            }
            next += s->cluster_size;
        }
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2);

    if (*type == QCOW2_CLUSTER_NORMAL || *type == QCOW2_CLUSTER_ZERO_ALLOC) {
        uint64_t h = entry & L2E_OFFSET_MASK;

        if (offset_into_cluster(s, h)) {
            qcow2_signal_corruption(bs, "Cluster allocation offset %#" PRIx64
                                    " unaligned (L2 offset: %#" PRIx64
                                    ", L2 index: %#x)", h,
                                    (uint64_t)(s->l1_table[
                                        offset_to_l1_index(s, offset)] &
                                        L1E_OFFSET_MASK), l2_index);
            return -EIO;
        }
        *host = h + in_cluster;
    } else if (*type == QCOW2_CLUSTER_COMPRESSED) {
        *host = entry;
    }
    *bytes = MIN(avail, (uint64_t)i * s->cluster_size - in_cluster);
    return 0;
}

int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    int start = l1_index & ~63;          /* one 512-byte sector of L1 */
    int n = MIN(64, (int)s->l1_size - start);
    uint64_t buf[64];
    int ret;

    for (int i = 0; i < n; i++) {
        buf[i] = GUINT64_TO_BE(s->l1_table[start + i]);
    }
    bdrv_debug_event(bs->file, BLKDBG_L1_UPDATE);
    bs->metadata_stats.l1_writes++;
    ret = bdrv_co_pwrite(bs->file, s->l1_table_offset + start * 8, n * 8,
                         buf, 0);
    return ret < 0 ? ret : bdrv_co_flush(bs->file->bs);
}

int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t new_size = s->l1_size, old_size = s->l1_size;
    uint64_t old_offset = s->l1_table_offset;
    g_autofree uint64_t *table = NULL;
    uint8_t hdr[12];
    int64_t new_offset;
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (exact_size) {
        new_size = min_size;
    } else {
        new_size = MAX(new_size, 1);
        while (new_size < min_size) {
            new_size = (new_size * 3 + 1) / 2;
        }
    }
    if (new_size > QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
        return -EFBIG;
    }
    table = g_try_new0(uint64_t, new_size);
    if (!table) {
        return -ENOMEM;
    }
    new_offset = qcow2_alloc_clusters(bs, new_size * sizeof(uint64_t));
    if (new_offset < 0) {
        return new_offset;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < new_size; i++) {
        table[i] = GUINT64_TO_BE(i < old_size ? s->l1_table[i] : 0);
    }
    bdrv_debug_event(bs->file, BLKDBG_L1_UPDATE);
    bs->metadata_stats.l1_writes++;
    ret = bdrv_co_pwrite(bs->file, new_offset, new_size * sizeof(uint64_t),
                         table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        goto fail;
    }
    put_be32(hdr, new_size);
    put_be64(hdr + 4, new_offset);
    ret = qcow2_write_header_field(bs, QCOW2_HDR_L1_SIZE, hdr, sizeof(hdr));
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < new_size; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->l1_table);
    s->l1_table = g_steal_pointer(&table);
    s->l1_size = new_size;
    s->l1_table_offset = new_offset;
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, old_size * sizeof(uint64_t),
                            QCOW2_DISCARD_OTHER);
    }
    return 0;

fail:
    qcow2_free_clusters(bs, new_offset, new_size * sizeof(uint64_t),
                        QCOW2_DISCARD_OTHER);
    return ret;
}

/*
 * Give L1 entry @l1_index a private L2 table: a new zeroed one, or a copy
 * of a shared one (whose reference is then dropped).
 */
static int coroutine_fn l2_allocate(BlockDriverState *bs, uint64_t l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    uint64_t old_entry = s->l1_table[l1_index];
    void *table, *old_table;
    int64_t new;
    int ret;

    if (old && offset_into_cluster(s, old)) {
        qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64 " unaligned "
                                "(L1 index: %#" PRIx64 ")", old, l1_index);
        return -EIO;
    }
    new = qcow2_alloc_clusters(bs, s->cluster_size);
    if (new < 0) {
        return new;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }
    ret = qcow2_cache_get_empty(bs, s->l2_table_cache, new, &table);
    if (ret < 0) {
        goto fail;
    }
    if (old) {
        ret = qcow2_cache_get(bs, s->l2_table_cache, old, &old_table);
        if (ret < 0) {
            qcow2_cache_put(s->l2_table_cache, &table);
            goto fail;
        }
        memcpy(table, old_table, s->cluster_size);
        qcow2_cache_put(s->l2_table_cache, &old_table);
    } else {
        memset(table, 0, s->cluster_size);
    }
    bdrv_debug_event(bs->file, BLKDBG_L2_ALLOC_WRITE);
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, table);
    qcow2_cache_put(s->l2_table_cache, &table);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        goto fail;
    }
    s->l1_table[l1_index] = new | QCOW_OFLAG_COPIED;
    ret = qcow2_write_l1_entry(bs, l1_index);
    if (ret < 0) {
        s->l1_table[l1_index] = old_entry;
        goto fail;
    }
    if (old) {
        qcow2_free_clusters(bs, old, s->cluster_size, QCOW2_DISCARD_OTHER);
    }
    return 0;

fail:
    qcow2_cache_discard_offset(s->l2_table_cache, new);
    qcow2_free_clusters(bs, new, s->cluster_size, QCOW2_DISCARD_OTHER);
    return ret;
}

int coroutine_fn qcow2_get_l2_rw(BlockDriverState *bs, uint64_t offset,
                                  uint64_t **l2)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = offset_to_l1_index(s, offset);
    int ret;

    if (l1_index >= s->l1_size) {
        ret = qcow2_grow_l1_table(bs, l1_index + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    if (!(s->l1_table[l1_index] & QCOW_OFLAG_COPIED) ||
        !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
        ret = l2_allocate(bs, l1_index);
        if (ret < 0) {
            return ret;
        }
    }
    return get_l2_ro(bs, l1_index, l2);
}

int coroutine_fn qcow2_check_data_overlap(BlockDriverState *bs,
                                          uint64_t host, uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    const char *what = NULL;

    /* QEMU's default "cached" checks: everything we hold in memory. */
    if (host < (uint64_t)s->cluster_size) {
        what = "qcow2_header";
    } else if (qcow2_ranges_overlap(host, bytes, s->l1_table_offset,
                              s->l1_size * sizeof(uint64_t))) {
        what = "active L1 table";
    } else if (qcow2_ranges_overlap(host, bytes, s->refcount_table_offset,
                              s->refcount_table_size * sizeof(uint64_t))) {
        what = "refcount table";
    } else if (qcow2_ranges_overlap(host, bytes, s->snapshots_offset,
                              s->snapshots_size)) {
        what = "snapshot table";
    }
    for (uint32_t i = 0; !what && i < s->l1_size; i++) {
        if (qcow2_ranges_overlap(host, bytes, s->l1_table[i] & L1E_OFFSET_MASK,
                           (s->l1_table[i] & L1E_OFFSET_MASK) ?
                           s->cluster_size : 0)) {
            what = "active L2 table";
        }
    }
    for (uint64_t i = 0; !what && i < s->refcount_table_size; i++) {
        uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;

        if (qcow2_ranges_overlap(host, bytes, rb, rb ? s->cluster_size : 0)) {
            what = "refcount block";
        }
    }
    if (what) {
        qcow2_signal_corruption(bs, "Preventing invalid write on metadata "
                                "(overlaps with %s)", what);
        return -EIO;
    }
    return 0;
}

int coroutine_fn qcow2_write_lookup(BlockDriverState *bs, uint64_t offset,
                                    uint64_t *bytes, uint64_t *host)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    uint64_t cover = l2_coverage(s);
    uint64_t avail = MIN(*bytes, cover - (offset & (cover - 1)));
    int l2_index = offset_to_l2_index(s, offset);
    int nb = DIV_ROUND_UP(in_cluster + avail, s->cluster_size);
    uint64_t *l2, first, next;
    bool in_place;
    int i, ret;

    ret = get_l2_ro(bs, offset_to_l1_index(s, offset), &l2);
    if (ret < 0) {
        return ret;
    }
    if (!l2) {
        *bytes = MIN(avail, QCOW2_MAX_ALLOC_RUN);
        return 0;
    }
    first = l2_get(l2, l2_index);
    in_place = qcow2_get_cluster_type(first) == QCOW2_CLUSTER_NORMAL &&
               (first & QCOW_OFLAG_COPIED);
    next = (first & L2E_OFFSET_MASK) + s->cluster_size;
    for (i = 1; i < nb; i++) {
        uint64_t e = l2_get(l2, l2_index + i);
        bool e_in_place = qcow2_get_cluster_type(e) == QCOW2_CLUSTER_NORMAL &&
                          (e & QCOW_OFLAG_COPIED);

        if (e_in_place != in_place ||
            (in_place && (e & L2E_OFFSET_MASK) != next)) {
            break;
        }
        next += s->cluster_size;
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    *bytes = MIN(avail, (uint64_t)i * s->cluster_size - in_cluster);
    if (!in_place) {
        *bytes = MIN(*bytes, QCOW2_MAX_ALLOC_RUN);
        return 0;
    }
    *host = (first & L2E_OFFSET_MASK) + in_cluster;
    if (offset_into_cluster(s, first & L2E_OFFSET_MASK)) {
        qcow2_signal_corruption(bs, "Data cluster offset %#" PRIx64
                                " unaligned (guest offset: %#" PRIx64 ")",
                                (uint64_t)(first & L2E_OFFSET_MASK), offset);
        return -EIO;
    }
    ret = qcow2_check_data_overlap(bs, *host, *bytes);
    return ret < 0 ? ret : 1;
}

int coroutine_fn qcow2_write_compressed(BlockDriverState *bs,
                                        uint64_t offset, const void *data,
                                        int len)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = offset_to_l2_index(s, offset);
    uint64_t *l2, nb_sectors = 0;
    int64_t coff;
    int ret;

    ret = qcow2_get_l2_rw(bs, offset, &l2);
    if (ret < 0) {
        return ret;
    }
    /* Like QEMU: compression never overwrites an allocated cluster. */
    if (l2_get(l2, l2_index) & L2E_OFFSET_MASK) {
        ret = -EIO;
        goto out;
    }
    coff = qcow2_alloc_bytes(bs, len);
    if (coff < 0) {
        ret = coff;
        goto out;
    }
    ret = qcow2_check_data_overlap(bs, coff, len);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, coff, len, data, 0);
    }
    if (ret == 0) {
        nb_sectors = ((coff + len - 1) >> 9) - (coff >> 9);
        ret = qcow2_link_l2(bs, l2, l2_index, 0, 0);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, coff, len, QCOW2_DISCARD_OTHER);
        goto out;
    }
    l2_set(l2, l2_index, QCOW_OFLAG_COMPRESSED |
           (nb_sectors << s->csize_shift) | coff);
out:
    qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    return ret;
}

/* How zero writes and discards rewrite entries. */
typedef enum {
    L2_OP_ZERO,              /* v3 zero write */
    L2_OP_ZERO_UNMAP,        /* v3 zero write with MAY_UNMAP */
    L2_OP_DISCARD,           /* guest discard */
    L2_OP_DISCARD_FULL,      /* make unallocated (v2 zero write) */
} L2Op;

/* The new entry for @old under @op; *free says the old cluster goes. */
static uint64_t l2_op_entry(BlockDriverState *bs, L2Op op, uint64_t old,
                            bool *free)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type = qcow2_get_cluster_type(old);
    bool allocated = qcow2_cluster_is_allocated(type);

    *free = false;
    switch (op) {
    case L2_OP_ZERO:
    case L2_OP_ZERO_UNMAP:
        if (type == QCOW2_CLUSTER_COMPRESSED ||
            (op == L2_OP_ZERO_UNMAP && allocated)) {
            *free = allocated;
            return QCOW_OFLAG_ZERO;
        }
        return old | QCOW_OFLAG_ZERO;
    case L2_OP_DISCARD:
        if (bs->backing || allocated) {
            *free = allocated;
            return qcow2_has_zero_flag(s) ? QCOW_OFLAG_ZERO : 0;
        }
        return old;
    default:
        *free = allocated;
        return 0;
    }
}

/*
 * Apply @op to @nb clusters from @offset, all in one L2 table.  Nothing is
 * touched unless some entry changes.
 */
static int coroutine_fn l2_op_range(BlockDriverState *bs, uint64_t offset,
                                    int nb, L2Op op, Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = offset_to_l2_index(s, offset);
    g_autofree uint64_t *freed = NULL;
    uint64_t *l2;
    bool change = false, free;
    int nb_freed = 0, ret;

    ret = get_l2_ro(bs, offset_to_l1_index(s, offset), &l2);
    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < nb && !change; i++) {
        uint64_t old = l2 ? l2_get(l2, l2_index + i) : 0;

        change = l2_op_entry(bs, op, old, &free) != old;
    }
    if (l2) {
        qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    }
    if (!change) {
        return 0;
    }

    ret = qcow2_get_l2_rw(bs, offset, &l2);
    if (ret < 0) {
        return ret;
    }
    freed = g_new(uint64_t, nb);
    for (int i = 0; i < nb; i++) {
        uint64_t old = l2_get(l2, l2_index + i);
        uint64_t new = l2_op_entry(bs, op, old, &free);

        if (new == old) {
            continue;
        }
        l2_set(l2, l2_index + i, new);
        if (free) {
            freed[nb_freed++] = old;
        }
    }
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2);
    qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    for (int i = 0; i < nb_freed; i++) {
        qcow2_free_any_cluster(bs, freed[i], type);
    }
    return 0;
}

/* Apply @op to the clusters of [offset, offset + bytes), table by table. */
static int coroutine_fn l2_op(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, L2Op op, Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cover = l2_coverage(s);

    assert(!offset_into_cluster(s, offset));
    while (bytes > 0) {
        uint64_t cur = MIN(bytes, cover - (offset & (cover - 1)));
        int ret = l2_op_range(bs, offset, DIV_ROUND_UP(cur, s->cluster_size),
                              op, type);

        if (ret < 0) {
            return ret;
        }
        offset += cur;
        bytes -= cur;
    }
    return 0;
}

int coroutine_fn qcow2_zero_clusters(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes, bool may_unmap)
{
    return l2_op(bs, offset, bytes,
                 may_unmap ? L2_OP_ZERO_UNMAP : L2_OP_ZERO,
                 QCOW2_DISCARD_REQUEST);
}

int coroutine_fn qcow2_discard_clusters(BlockDriverState *bs,
                                        uint64_t offset, uint64_t bytes,
                                        bool full_discard,
                                        Qcow2DiscardType type)
{
    return l2_op(bs, offset, bytes,
                 full_discard ? L2_OP_DISCARD_FULL : L2_OP_DISCARD, type);
}

/*
 * Make the file hold zeroes over [host, host + len): grow it (with @mode)
 * where it is too short, write zeroes where reused space lies inside it.
 */
static int coroutine_fn prealloc_host(BlockDriverState *bs, uint64_t host,
                                      uint64_t len, PreallocMode mode)
{
    int64_t file_len = bdrv_co_getlength(bs->file->bs);
    int ret = 0;

    if (file_len < 0) {
        return file_len;
    }
    if ((int64_t)host < file_len) {
        uint64_t n = MIN(len, (uint64_t)file_len - host);

        ret = bdrv_co_pwrite_zeroes(bs->file, host, n, 0);
    }
    if (ret == 0 && (int64_t)(host + len) > file_len) {
        ret = bdrv_co_truncate(bs->file, host + len, false,
                               mode == PREALLOC_MODE_METADATA ?
                               PREALLOC_MODE_OFF : mode, 0, NULL);
    }
    return ret;
}

int coroutine_fn qcow2_preallocate(BlockDriverState *bs, uint64_t offset,
                                   uint64_t bytes, PreallocMode mode)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t pos = start_of_cluster(s, offset), end = offset + bytes;

    while (pos < end) {
        uint64_t cover = l2_coverage(s);
        int nb = DIV_ROUND_UP(MIN(end - pos, cover - (pos & (cover - 1))),
                              cs);
        int l2_index = offset_to_l2_index(s, pos), k = 0;
        uint64_t *l2;
        int64_t host;
        int ret;

        nb = MIN(nb, (int)(QCOW2_MAX_ALLOC_RUN / cs));
        ret = qcow2_get_l2_rw(bs, pos, &l2);
        if (ret < 0) {
            return ret;
        }
        while (k < nb && l2_get(l2, l2_index + k) == 0) {
            k++;
        }
        if (k == 0) {
            qcow2_cache_put(s->l2_table_cache, (void **)&l2);
            pos += cs;
            continue;
        }
        host = qcow2_alloc_clusters(bs, k * cs);
        ret = host < 0 ? host : prealloc_host(bs, host, k * cs, mode);
        if (ret == 0) {
            ret = qcow2_link_l2(bs, l2, l2_index, k, host);
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&l2);
        if (ret < 0) {
            if (host >= 0) {
                qcow2_free_clusters(bs, host, k * cs, QCOW2_DISCARD_OTHER);
            }
            return ret;
        }
        pos += k * cs;
    }
    return 0;
}

int qcow2_compress(void *dest, int dest_size, const void *src, int src_size)
{
    z_stream z;
    int ret;

    memset(&z, 0, sizeof(z));
    /* Raw deflate with a 4 KiB window, as QEMU writes it. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -EIO;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = src_size;
    z.next_out = dest;
    z.avail_out = dest_size;
    ret = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    if (ret == Z_STREAM_END) {
        return dest_size - z.avail_out;
    }
    return ret == Z_OK ? -ENOMEM : -EIO;
}

int coroutine_fn qcow2_read_compressed(BlockDriverState *bs,
                                       uint64_t l2_entry,
                                       uint64_t in_cluster, uint64_t bytes,
                                       QEMUIOVector *qiov,
                                       size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *in = NULL, *out = NULL;
    uint64_t coffset;
    int64_t csize;
    z_stream z;
    int ret;

    qcow2_parse_compressed(s, l2_entry, &coffset, &csize);
    in = g_try_malloc(csize);
    out = g_try_malloc(s->cluster_size);
    if (!in || !out) {
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, coffset, csize, in, 0);
    if (ret < 0) {
        return ret;
    }
    memset(&z, 0, sizeof(z));
    /* Raw deflate; a 32 KiB window also reads QEMU's 4 KiB ones. */
    if (inflateInit2(&z, -15) != Z_OK) {
        return -EIO;
    }
    z.next_in = in;
    z.avail_in = csize;
    z.next_out = out;
    z.avail_out = s->cluster_size;
    ret = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if ((ret != Z_STREAM_END && ret != Z_BUF_ERROR) || z.avail_out != 0) {
        return -EIO;
    }
    qemu_iovec_from_buf(qiov, qiov_offset, out + in_cluster, bytes);
    return 0;
}
