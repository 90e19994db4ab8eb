/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 reference counts: every host cluster's refcount, cluster
 * allocation and freeing, and the growth of the refcount structures.
 *
 * Refcounts live in refcount blocks of one cluster each (refcount_bits
 * wide entries, big endian for 8 bits and more, packed low bits first
 * below), listed by the contiguous refcount table.  A table entry of 0
 * means every cluster it would cover has refcount 0, and so does every
 * cluster beyond the table.  Refcount blocks go through the refcount cache;
 * the table is kept in memory and its entries are written through.
 *
 * Allocation (qcow2_alloc_clusters) searches upwards from
 * free_cluster_index for a run of free clusters, makes sure every refcount
 * block the run needs exists, and raises the refcounts.  Making a refcount
 * block exist allocates a cluster itself; the block may describe itself
 * (when the new cluster falls into its own range) or be counted in another
 * block.  When the run lies beyond what the table can describe, the table
 * grows: new refcount blocks and a new, larger table are written as one
 * area right after the last cluster the old table covers, describing
 * themselves, and the header is switched over before the old table is
 * freed.  Whenever new refcount metadata was allocated the search starts
 * again, because that metadata may have taken the clusters just found.
 *
 * Ordering: a new refcount block is on disk (and flushed) before the table
 * points at it; the new table is on disk before the header points at it.
 * Raising refcounts only dirties cached blocks: callers that then point L2
 * entries at the clusters make the L2 cache depend on the refcount cache.
 * Lowering a refcount makes the refcount cache depend on the L2 cache, since
 * the L2 change that dropped the reference must reach the disk first.
 *
 * A cluster whose refcount drops to 0 may be discarded in the file; the
 * discard is queued and issued once the operation that freed it is done
 * (or before the next allocation), so that it never hits a cluster that
 * was handed out again meanwhile.  Host clusters with data I/O in flight
 * outside the lock (s->inflight) are never handed out, even if freed.
 *
 * Everything here runs under s->lock.
 */
#include "block/qcow2/qcow2.h"

uint64_t qcow2_refblock_get(BDRVQcow2State *s, const void *block, int index)
{
    const uint8_t *b = block;

    switch (s->refcount_order) {
    case 0:
        return (b[index / 8] >> (index % 8)) & 0x1;
    case 1:
        return (b[index / 4] >> (2 * (index % 4))) & 0x3;
    case 2:
        return (b[index / 2] >> (4 * (index % 2))) & 0xf;
    case 3:
        return b[index];
    case 4:
        return GUINT16_FROM_BE(((const uint16_t *)block)[index]);
    case 5:
        return GUINT32_FROM_BE(((const uint32_t *)block)[index]);
    default:
        return GUINT64_FROM_BE(((const uint64_t *)block)[index]);
    }
}

void qcow2_refblock_set(BDRVQcow2State *s, void *block, int index,
                        uint64_t value)
{
    uint8_t *b = block;
    int shift;

    assert(value <= s->refcount_max);
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2:
        shift = s->refcount_bits * (index % (8 / s->refcount_bits));
        b += index / (8 / s->refcount_bits);
        *b = (*b & ~(s->refcount_max << shift)) | (value << shift);
        break;
    case 3:
        b[index] = value;
        break;
    case 4:
        ((uint16_t *)block)[index] = GUINT16_TO_BE(value);
        break;
    case 5:
        ((uint32_t *)block)[index] = GUINT32_TO_BE(value);
        break;
    default:
        ((uint64_t *)block)[index] = GUINT64_TO_BE(value);
        break;
    }
}

int coroutine_fn qcow2_refcount_init(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = s->refcount_table_size * sizeof(uint64_t);
    int ret;

    s->discards = g_array_new(false, false, sizeof(Qcow2DiscardRegion));
    s->inflight = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                        g_free, g_free);
    s->refcount_table = g_try_malloc0(MAX(bytes, 1));
    if (!s->refcount_table) {
        error_setg(errp, "Could not allocate the refcount table");
        return -ENOMEM;
    }
    if (bytes) {
        ret = bdrv_co_pread(bs->file, s->refcount_table_offset, bytes,
                            s->refcount_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read the refcount table");
            return ret;
        }
    }
    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
    }
    return 0;
}

void qcow2_refcount_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    g_free(s->refcount_table);
    s->refcount_table = NULL;
    if (s->discards) {
        g_array_free(s->discards, true);
        s->discards = NULL;
    }
    if (s->inflight) {
        g_hash_table_destroy(s->inflight);
        s->inflight = NULL;
    }
}

/* In-flight data I/O on host clusters (see the header comment). */

void qcow2_inflight_inc(BDRVQcow2State *s, uint64_t offset, uint64_t bytes)
{
    int64_t first = offset >> s->cluster_bits;
    int64_t last = (offset + bytes - 1) >> s->cluster_bits;

    for (int64_t c = first; bytes && c <= last; c++) {
        int *count = g_hash_table_lookup(s->inflight, &c);

        if (!count) {
            int64_t *key = g_new(int64_t, 1);

            *key = c;
            count = g_new0(int, 1);
            g_hash_table_insert(s->inflight, key, count);
        }
        (*count)++;
    }
}

void qcow2_inflight_dec(BDRVQcow2State *s, uint64_t offset, uint64_t bytes)
{
    int64_t first = offset >> s->cluster_bits;
    int64_t last = (offset + bytes - 1) >> s->cluster_bits;

    for (int64_t c = first; bytes && c <= last; c++) {
        int *count = g_hash_table_lookup(s->inflight, &c);

        assert(count && *count > 0);
        if (--*count == 0) {
            g_hash_table_remove(s->inflight, &c);
            /* It may have been freed meanwhile: let the search see it. */
            s->free_cluster_index = MIN(s->free_cluster_index, (uint64_t)c);
        }
    }
}

static bool cluster_inflight(BDRVQcow2State *s, int64_t cluster)
{
    return g_hash_table_size(s->inflight) &&
           g_hash_table_contains(s->inflight, &cluster);
}

/* The offset of the refcount block at table index @ti, 0 if none. */
static int coroutine_fn refblock_offset(BlockDriverState *bs, uint64_t ti,
                                        uint64_t *offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off;

    *offset = 0;
    if (ti >= s->refcount_table_size) {
        return 0;
    }
    off = s->refcount_table[ti] & REFT_OFFSET_MASK;
    if (off && (offset_into_cluster(s, off) ||
                off >= QCOW2_MAX_HOST_OFFSET)) {
        qcow2_signal_corruption(bs, "Refblock offset %#" PRIx64 " %s "
                                "(reftable index: %#" PRIx64 ")", off,
                                offset_into_cluster(s, off) ? "unaligned" :
                                "invalid", ti);
        return -EIO;
    }
    *offset = off;
    return 0;
}

int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ti = (uint64_t)cluster_index >> s->refcount_block_bits;
    uint64_t off;
    void *block;
    int ret;

    ret = refblock_offset(bs, ti, &off);
    if (ret < 0) {
        return ret;
    }
    if (!off) {
        *refcount = 0;
        return 0;
    }
    ret = qcow2_cache_get(bs, s->refcount_block_cache, off, &block);
    if (ret < 0) {
        return ret;
    }
    *refcount = qcow2_refblock_get(s, block, cluster_index &
                                   (s->refcount_block_size - 1));
    qcow2_cache_put(s->refcount_block_cache, &block);
    return 0;
}

/*
 * The first run of @n free clusters at or after free_cluster_index and
 * @min, as a cluster index.  Moves free_cluster_index past clusters found
 * in use.
 */
static int64_t coroutine_fn find_free_clusters(BlockDriverState *bs,
                                               uint64_t n, uint64_t min)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i = MAX(s->free_cluster_index, min), start = i, run = 0;
    uint64_t covered = s->refcount_table_size << s->refcount_block_bits;
    bool seen_free = false;

    while (run < n) {
        uint64_t rc;
        int ret;

        if (i >= covered) {
            /* Nothing beyond the table is in use. */
            if (!run) {
                start = i;
            }
            break;
        }
        ret = qcow2_get_refcount(bs, i, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc == 0 && !cluster_inflight(s, i)) {
            if (!run) {
                start = i;
            }
            run++;
            seen_free = true;
        } else {
            run = 0;
            if (!seen_free && i == s->free_cluster_index) {
                s->free_cluster_index = i + 1;
            }
        }
        i++;
    }
    if (start + n > QCOW2_MAX_HOST_OFFSET >> s->cluster_bits) {
        return -EFBIG;
    }
    return start;
}

/* Write @bytes at @offset in the refcount table (host-order entries). */
static int coroutine_fn write_reftable_entries(BlockDriverState *bs,
                                               uint64_t first, uint64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *buf = g_new(uint64_t, n);

    for (uint64_t i = 0; i < n; i++) {
        buf[i] = GUINT64_TO_BE(s->refcount_table[first + i]);
    }
    bs->metadata_stats.refcount_writes++;
    return bdrv_co_pwrite(bs->file, s->refcount_table_offset +
                          first * sizeof(uint64_t), n * sizeof(uint64_t),
                          buf, 0);
}

/*
 * Grow the refcount table so that it has an entry for block @needed_ti,
 * placing the new refcount blocks and table right after the last cluster
 * the old table covers.
 */
static int coroutine_fn grow_reftable(BlockDriverState *bs, uint64_t needed_ti)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_size = s->refcount_table_size;
    uint64_t old_offset = s->refcount_table_offset;
    uint64_t rbs = s->refcount_block_size;
    uint64_t area = old_size * rbs;          /* first cluster of the area */
    uint64_t nb_blocks = 1, nb_table = 1, new_size, cs = s->cluster_size;
    g_autofree uint8_t *blocks = NULL;
    g_autofree uint64_t *table = NULL;
    uint8_t hdr[12];
    int ret;

    bdrv_debug_event(bs->file, BLKDBG_REFTABLE_GROW);
    for (int iter = 0;; iter++) {
        uint64_t end = area + nb_blocks + nb_table;
        uint64_t last_ti = (end - 1) / rbs;
        uint64_t want = MAX(MAX(needed_ti, last_ti) + 1,
                            old_size + old_size / 2);
        uint64_t t = DIV_ROUND_UP(want * sizeof(uint64_t), cs);
        uint64_t b = last_ti - old_size + 1;

        if (t == nb_table && b == nb_blocks) {
            break;
        }
        nb_table = t;
        nb_blocks = b;
        assert(iter < 64);
    }
    if (nb_table * cs > QCOW_MAX_REFTABLE_SIZE ||
        ((area + nb_blocks + nb_table) << s->cluster_bits) >=
        QCOW2_MAX_HOST_OFFSET) {
        return -EFBIG;
    }
    new_size = nb_table * cs / sizeof(uint64_t);

    /* The new blocks count themselves and the new table. */
    blocks = g_try_malloc0(nb_blocks * cs);
    table = g_try_new0(uint64_t, new_size);
    if (!blocks || !table) {
        return -ENOMEM;
    }
    for (uint64_t c = area; c < area + nb_blocks + nb_table; c++) {
        uint64_t bi = c / rbs - old_size;

        qcow2_refblock_set(s, blocks + bi * cs, c % rbs, 1);
    }
    for (uint64_t i = 0; i < new_size; i++) {
        uint64_t e = i < old_size ? s->refcount_table[i] :
                     i - old_size < nb_blocks ? (area + i - old_size) * cs : 0;

        table[i] = GUINT64_TO_BE(e);
    }

    bdrv_debug_event(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE);
    bs->metadata_stats.refcount_writes++;
    ret = bdrv_co_pwrite(bs->file, area * cs, nb_blocks * cs, blocks, 0);
    if (ret < 0) {
        return ret;
    }
    bs->metadata_stats.refcount_writes++;
    ret = bdrv_co_pwrite(bs->file, (area + nb_blocks) * cs, nb_table * cs,
                         table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }

    /* Switch the header over: offset and clusters are adjacent. */
    put_be64(hdr, (area + nb_blocks) * cs);
    put_be32(hdr + 8, nb_table);
    ret = qcow2_write_header_field(bs, QCOW2_HDR_REFTABLE_OFFSET, hdr,
                                   sizeof(hdr));
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }

    for (uint64_t i = 0; i < new_size; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->refcount_table);
    s->refcount_table = g_steal_pointer(&table);
    s->refcount_table_size = new_size;
    s->refcount_table_offset = (area + nb_blocks) * cs;

    qcow2_free_clusters(bs, old_offset, old_size * sizeof(uint64_t),
                        QCOW2_DISCARD_OTHER);
    return 0;
}

/*
 * Make sure the refcount block covering cluster @ci exists.  Returns 0 if
 * it did, 1 if refcount metadata had to be allocated (callers that chose
 * clusters before must choose again), or -errno.  A new block goes at or
 * after *@min (past the clusters the caller chose, as QEMU places them),
 * which is moved past it for the blocks it needs in turn.
 */
static int coroutine_fn ensure_refblock(BlockDriverState *bs, uint64_t ci,
                                        uint64_t *min)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ti = ci >> s->refcount_block_bits;
    uint64_t off;
    int64_t new_ci;
    g_autofree void *block = NULL;
    int ret;

    ret = refblock_offset(bs, ti, &off);
    if (ret < 0 || off) {
        return ret;
    }
    if (ti >= s->refcount_table_size) {
        ret = grow_reftable(bs, ti);
        return ret < 0 ? ret : 1;
    }

    bdrv_debug_event(bs->file, BLKDBG_REFBLOCK_ALLOC);
    new_ci = find_free_clusters(bs, 1, *min);
    if (new_ci < 0) {
        return new_ci;
    }
    *min = new_ci + 1;
    block = g_malloc0(s->cluster_size);
    if (((uint64_t)new_ci >> s->refcount_block_bits) == ti) {
        /* The block describes itself. */
        qcow2_refblock_set(s, block, new_ci & (s->refcount_block_size - 1),
                           1);
    } else {
        ret = ensure_refblock(bs, new_ci, min);
        if (ret != 0) {
            return ret;
        }
        ret = qcow2_update_refcount(bs, (uint64_t)new_ci << s->cluster_bits,
                                    s->cluster_size, 1, QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
        if (ret < 0) {
            return ret;
        }
    }

    bdrv_debug_event(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE);
    bs->metadata_stats.refcount_writes++;
    ret = bdrv_co_pwrite(bs->file, (uint64_t)new_ci << s->cluster_bits,
                         s->cluster_size, block, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }
    /* The new cluster may still be cached from an earlier life. */
    qcow2_cache_discard_offset(s->refcount_block_cache,
                               (uint64_t)new_ci << s->cluster_bits);
    qcow2_cache_discard_offset(s->l2_table_cache,
                               (uint64_t)new_ci << s->cluster_bits);
    s->refcount_table[ti] = (uint64_t)new_ci << s->cluster_bits;
    ret = write_reftable_entries(bs, ti, 1);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret < 0 ? ret : 1;
}

int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = size_to_clusters(s, size), min;
    int64_t start;
    int ret;

    assert(n > 0);
    bdrv_debug_event(bs->file, BLKDBG_CLUSTER_ALLOC);
    /* Queued discards must not hit clusters we are about to hand out. */
    qcow2_process_discards(bs);
retry:
    start = find_free_clusters(bs, n, 0);
    if (start < 0) {
        return start;
    }
    min = start + n;
    for (uint64_t ci = start; ci < start + n;
         ci = (ci | (s->refcount_block_size - 1)) + 1) {
        ret = ensure_refblock(bs, ci, &min);
        if (ret < 0) {
            return ret;
        }
        if (ret > 0) {
            goto retry;
        }
    }
    ret = qcow2_update_refcount(bs, (uint64_t)start << s->cluster_bits,
                                n << s->cluster_bits, 1, QCOW2_DISCARD_NEVER);
    if (ret < 0) {
        return ret;
    }
    if (s->free_cluster_index == (uint64_t)start) {
        s->free_cluster_index = start + n;
    }
    return (uint64_t)start << s->cluster_bits;
}

/*
 * Host bytes for compressed data: packed after the previous compressed
 * data while it fits (each cluster holding a piece counts one reference
 * per piece), else in a new cluster (continuing into it when it follows
 * the current one).
 */
int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = s->free_byte_offset, rc;
    int64_t new;
    int ret;

    assert(size > 0 && size <= s->cluster_size);
    bdrv_debug_event(bs->file, BLKDBG_CLUSTER_ALLOC_BYTES);
    if (offset) {
        ret = qcow2_get_refcount(bs, offset >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc == 0 || rc == s->refcount_max) {
            offset = 0;
        }
    }
    if (offset && s->cluster_size - offset_into_cluster(s, offset) >=
        (uint64_t)size) {
        ret = qcow2_update_refcount(bs, offset, size, 1, QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            return ret;
        }
    } else {
        new = qcow2_alloc_clusters(bs, s->cluster_size);
        if (new < 0) {
            return new;
        }
        if (offset && (uint64_t)new == ROUND_UP(offset, s->cluster_size)) {
            /* The data spans the old cluster's tail and the new one. */
            ret = qcow2_update_refcount(bs, offset, 1, 1,
                                        QCOW2_DISCARD_NEVER);
            if (ret < 0) {
                qcow2_free_clusters(bs, new, s->cluster_size,
                                    QCOW2_DISCARD_NEVER);
                return ret;
            }
        } else {
            offset = new;
        }
    }
    s->free_byte_offset = offset + size;
    if (!offset_into_cluster(s, s->free_byte_offset)) {
        s->free_byte_offset = 0;
    }
    return offset;
}

static void queue_discard(BDRVQcow2State *s, uint64_t offset, uint64_t bytes)
{
    Qcow2DiscardRegion r = { .offset = offset, .bytes = bytes };

    if (s->discards->len) {
        Qcow2DiscardRegion *last = &g_array_index(s->discards,
                                                  Qcow2DiscardRegion,
                                                  s->discards->len - 1);

        if (last->offset + last->bytes == offset) {
            last->bytes += bytes;
            return;
        }
    }
    g_array_append_val(s->discards, r);
}

void coroutine_fn qcow2_process_discards(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    /*
     * A cluster is queued when its refcount drops to 0, while the L2
     * entries that dropped it may still be dirty in the cache.  Punching
     * it before they reach the file would leave the file's L2 pointing
     * at a hole if their write then fails (a compressed cluster would
     * not even decompress), so write them first, and if that fails give
     * the discards up: they only return space.  (This orders the
     * requests; it does not flush, so power loss is not covered.)
     */
    if (s->discards->len &&
        qcow2_cache_write(bs, s->l2_table_cache) < 0) {
        g_array_set_size(s->discards, 0);
        return;
    }
    while (s->discards->len) {
        Qcow2DiscardRegion r = g_array_index(s->discards, Qcow2DiscardRegion,
                                             0);

        g_array_remove_index(s->discards, 0);
        /* Advisory: a failure only costs space. */
        bdrv_co_pdiscard(bs->file, r.offset, r.bytes);
    }
}

int coroutine_fn qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                                       uint64_t length, int64_t addend,
                                       Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t first, last, block_ti = UINT64_MAX;
    void *block = NULL;
    int ret = 0;

    if (length == 0) {
        return 0;
    }
    if (addend < 0) {
        ret = qcow2_cache_set_dependency(bs, s->refcount_block_cache,
                                         s->l2_table_cache);
        if (ret < 0) {
            return ret;
        }
    }
    first = offset >> s->cluster_bits;
    last = (offset + length - 1) >> s->cluster_bits;
    for (uint64_t ci = first; ci <= last; ci++) {
        uint64_t ti = ci >> s->refcount_block_bits;
        int index = ci & (s->refcount_block_size - 1);
        uint64_t old, new;

        if (ti != block_ti) {
            uint64_t off;

            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            ret = refblock_offset(bs, ti, &off);
            if (ret == 0 && !off && addend > 0) {
                /* Not inside the range whose refcounts we are raising. */
                uint64_t min = last + 1;

                ret = ensure_refblock(bs, ci, &min);
                if (ret >= 0) {
                    ret = refblock_offset(bs, ti, &off);
                }
            }
            if (ret == 0 && !off) {
                ret = -EINVAL;      /* lowering a refcount that is 0 */
            }
            if (ret < 0) {
                break;
            }
            ret = qcow2_cache_get(bs, s->refcount_block_cache, off, &block);
            if (ret < 0) {
                break;
            }
            block_ti = ti;
        }
        old = qcow2_refblock_get(s, block, index);
        if ((addend < 0 && old < (uint64_t)-addend) ||
            (addend > 0 && s->refcount_max - old < (uint64_t)addend)) {
            ret = addend < 0 ? -EINVAL : -ERANGE;
            break;
        }
        new = old + addend;
        qcow2_refblock_set(s, block, index, new);
        qcow2_cache_entry_mark_dirty(s->refcount_block_cache, block);
        if (new == 0) {
            uint64_t coff = ci << s->cluster_bits;

            s->free_cluster_index = MIN(s->free_cluster_index, ci);
            if (start_of_cluster(s, s->free_byte_offset) == (int64_t)coff) {
                s->free_byte_offset = 0;
            }
            qcow2_cache_discard_offset(s->refcount_block_cache, coff);
            qcow2_cache_discard_offset(s->l2_table_cache, coff);
            if (s->discard_passthrough[type]) {
                queue_discard(s, coff, s->cluster_size);
            }
        }
    }
    if (block) {
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    return ret;
}

void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                      uint64_t size, Qcow2DiscardType type)
{
    int ret = qcow2_update_refcount(bs, offset, size, -1, type);

    if (ret < 0) {
        /* Only space is lost; check can reclaim it. */
        fprintf(stderr, "qcow2_free_clusters failed: %s\n", strerror(-ret));
    }
}

void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off;
    int64_t csize;

    switch (qcow2_get_cluster_type(l2_entry)) {
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_parse_compressed(s, l2_entry, &off, &csize);
        qcow2_free_clusters(bs, off, csize, type);
        break;
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        off = l2_entry & L2E_OFFSET_MASK;
        if (offset_into_cluster(s, off)) {
            qcow2_signal_corruption(bs, "Cannot free unaligned cluster %#"
                                    PRIx64, off);
        } else {
            qcow2_free_clusters(bs, off, s->cluster_size, type);
        }
        break;
    default:
        break;
    }
}

int coroutine_fn qcow2_write_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_cache_write(bs, s->l2_table_cache);
    int ret2 = qcow2_cache_write(bs, s->refcount_block_cache);

    return ret < 0 ? ret : ret2;
}

int coroutine_fn qcow2_flush_caches(BlockDriverState *bs)
{
    int ret = qcow2_write_caches(bs);

    return ret < 0 ? ret : bdrv_co_flush(bs->file->bs);
}

/*
 * Whether the image looks metadata-preallocated: many more clusters are in
 * use than the file really occupies.  Returns 1, 0 or -errno.
 */
int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_length = bdrv_co_getlength(bs->file->bs);
    int64_t real = bdrv_co_get_allocated_file_size(bs->file->bs);
    int64_t real_clusters, threshold, used = 0;

    if (file_length < 0 || real < 0) {
        return 0;
    }
    real_clusters = real / s->cluster_size;
    threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);
    for (int64_t i = 0; i < size_to_clusters(s, file_length); i++) {
        uint64_t rc;
        int ret = qcow2_get_refcount(bs, i, &rc);

        if (ret < 0) {
            return ret;
        }
        if (rc && ++used >= threshold) {
            return 1;
        }
    }
    return 0;
}
