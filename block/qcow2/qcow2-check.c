/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 consistency check and repair (qemu-img check).
 *
 * The check rebuilds every reference count from scratch in memory: one
 * count per host cluster for the header, the active L1 table, every L2
 * table and data cluster it reaches, the snapshots' L1/L2 tables and the
 * snapshot table, the refcount table and each refcount block.  It then
 * compares those counts with the stored ones:
 *   stored < computed   corruption  "ERROR cluster N refcount=R reference=E"
 *   stored > computed   leak        "Leaked cluster N refcount=R reference=E"
 * and checks that COPIED is set exactly where the stored refcount is 1.
 * Unaligned tables and clusters, reserved bits, refcount blocks outside the
 * image and refcount overflows are corruptions too.  Messages go to stderr
 * with QEMU's wording, so output can be compared with qemu-img check.
 *
 * Repair follows QEMU's order.  The first comparison only counts.  When a
 * stored refcount of 0 meets a reference, or a refcount block itself is
 * broken, the refcount structure cannot be trusted: with BDRV_FIX_ERRORS it
 * is rebuilt (new refcount blocks and table written after everything in
 * use, from the computed counts), the counts are recomputed, and what the
 * old structure leaves behind is freed as leaks.  Otherwise leaks
 * (BDRV_FIX_LEAKS) and too-low refcounts (BDRV_FIX_ERRORS) are corrected
 * one cluster at a time ("Repairing cluster ...").  COPIED flags are fixed
 * last, from the now correct refcounts.
 *
 * The check reads L1/L2 tables straight from the file, so it writes the
 * metadata caches out first, and drops the L2 cache afterwards because
 * repairs write L2 tables directly.  It runs under s->lock.
 */
#include "block/qcow2/qcow2.h"

/* Computed references, one per host cluster, grown on demand. */
typedef struct RefArray {
    uint32_t *refs;
    int64_t nb;                /* entries compared: file clusters or more */
    int64_t cap;               /* entries allocated */
    int64_t limit;             /* never grow past this */
    uint64_t file_len;         /* counted regions end before this + 1 cluster */
} RefArray;

enum {
    CHECK_FRAG_INFO = 0x1,     /* count allocated/fragmented clusters */
};

static bool ref_array_grow(RefArray *ra, int64_t needed)
{
    int64_t n;

    if (needed <= ra->nb) {
        return true;
    }
    if (needed > ra->limit) {
        return false;
    }
    if (needed > ra->cap) {
        n = MAX(needed, MIN(ra->cap * 2, ra->limit));
        ra->refs = g_realloc(ra->refs, n * sizeof(uint32_t));
        memset(ra->refs + ra->cap, 0, (n - ra->cap) * sizeof(uint32_t));
        ra->cap = n;
    }
    ra->nb = needed;
    return true;
}

/* Count one reference to each cluster of [offset, offset + size). */
static void inc_refcounts(BDRVQcow2State *s, BdrvCheckResult *res,
                          RefArray *ra, uint64_t offset, uint64_t size)
{
    uint64_t first, last, max = MIN(s->refcount_max, UINT32_MAX);

    if (size == 0) {
        return;
    }
    /* QEMU's rule: nothing may reach a whole cluster past the end. */
    if (offset + size > ra->file_len &&
        offset + size - ra->file_len >= (uint64_t)s->cluster_size) {
        fprintf(stderr, "ERROR: counting reference for region exceeding the "
                "end of the file by one cluster or more: offset %#" PRIx64
                " size %#" PRIx64 "\n", offset, size);
        res->corruptions++;
        return;
    }
    first = offset >> s->cluster_bits;
    last = (offset + size - 1) >> s->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        if (c >= (uint64_t)ra->limit || !ref_array_grow(ra, c + 1)) {
            fprintf(stderr, "ERROR: cluster offset=0x%" PRIx64 " is too far "
                    "beyond the end of the image\n",
                    c << s->cluster_bits);
            res->corruptions++;
            return;
        }
        if (ra->refs[c] == max) {
            fprintf(stderr, "ERROR: overflow cluster offset=0x%" PRIx64 "\n",
                    c << s->cluster_bits);
            fprintf(stderr, "Increase the refcount entry width or create a "
                    "clean copy if the image cannot be opened for writing\n");
            res->corruptions++;
            continue;
        }
        ra->refs[c]++;
    }
}

/* Make an unaligned preallocated zero cluster a plain zero cluster. */
static int coroutine_fn fix_l2_entry_by_zero(BlockDriverState *bs,
                                             BdrvCheckResult *res,
                                             uint64_t l2_offset,
                                             uint64_t *l2, int index)
{
    int ret;

    l2_set(l2, index, QCOW_OFLAG_ZERO);
    bs->metadata_stats.l2_writes++;
    ret = bdrv_co_pwrite(bs->file, l2_offset + index * 8, 8, &l2[index], 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: Failed to overwrite L2 table entry: %s\n",
                strerror(-ret));
        res->check_errors++;
        return ret;
    }
    res->corruptions--;
    res->corruptions_fixed++;
    return 0;
}

static int coroutine_fn check_l2(BlockDriverState *bs, BdrvCheckResult *res,
                                 RefArray *ra, uint64_t l2_offset, int flags,
                                 BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);
    uint64_t next_contiguous = 0;
    int ret;

    ret = bdrv_co_pread(bs->file, l2_offset, s->cluster_size, l2, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        res->check_errors++;
        return ret;
    }
    for (int i = 0; i < s->l2_size; i++) {
        uint64_t entry = l2_get(l2, i), off, coff;
        QCow2ClusterType type = qcow2_get_cluster_type(entry);
        int64_t csize;

        if (type != QCOW2_CLUSTER_COMPRESSED &&
            (entry & L2E_STD_RESERVED_MASK)) {
            fprintf(stderr, "ERROR found l2 entry with reserved bits set: %"
                    PRIx64 "\n", entry);
            res->corruptions++;
        }
        switch (type) {
        case QCOW2_CLUSTER_COMPRESSED:
            if (entry & QCOW_OFLAG_COPIED) {
                fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": copied flag "
                        "must never be set for compressed clusters\n",
                        entry & s->cluster_offset_mask);
                entry &= ~QCOW_OFLAG_COPIED;
                res->corruptions++;
            }
            qcow2_parse_compressed(s, entry, &coff, &csize);
            inc_refcounts(s, res, ra, coff, csize);
            if (flags & CHECK_FRAG_INFO) {
                res->allocated_clusters++;
                res->compressed_clusters++;
                res->fragmented_clusters++;
            }
            break;
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            off = entry & L2E_OFFSET_MASK;
            if (offset_into_cluster(s, off)) {
                res->corruptions++;
                if (type == QCOW2_CLUSTER_ZERO_ALLOC) {
                    fprintf(stderr, "%s offset=%" PRIx64 ": Preallocated "
                            "cluster is not properly aligned; L2 entry "
                            "corrupted.\n",
                            fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR",
                            off);
                    if ((fix & BDRV_FIX_ERRORS) &&
                        fix_l2_entry_by_zero(bs, res, l2_offset, l2, i) == 0) {
                        continue;
                    }
                } else {
                    fprintf(stderr, "ERROR offset=%" PRIx64 ": Data cluster "
                            "is not properly aligned; L2 entry corrupted.\n",
                            off);
                }
            }
            /*
             * Past the end of the file by a whole cluster: QEMU's check can
             * only report it (inc_refcounts), and it stays corrupt after
             * repair.  The cluster reads as zeroes, so on a v3 image a
             * repair makes the entry a zero cluster, which reads the same.
             */
            if ((fix & BDRV_FIX_ERRORS) && s->qcow_version >= 3 &&
                off + s->cluster_size > ra->file_len &&
                off + s->cluster_size - ra->file_len >=
                    (uint64_t)s->cluster_size) {
                fprintf(stderr, "Repairing offset=%" PRIx64 ": Cluster lies "
                        "past the end of the file; L2 entry made a zero "
                        "cluster.\n", off);
                res->corruptions++;
                if (fix_l2_entry_by_zero(bs, res, l2_offset, l2, i) == 0) {
                    continue;
                }
            }
            if (flags & CHECK_FRAG_INFO) {
                res->allocated_clusters++;
                if (next_contiguous && off != next_contiguous) {
                    res->fragmented_clusters++;
                }
                next_contiguous = off + s->cluster_size;
            }
            inc_refcounts(s, res, ra, off, s->cluster_size);
            break;
        default:
            break;
        }
    }
    return 0;
}

static int coroutine_fn check_l1(BlockDriverState *bs, BdrvCheckResult *res,
                                 RefArray *ra, uint64_t l1_offset,
                                 uint32_t l1_size, int flags,
                                 BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l1 = NULL;
    int ret;

    if (!l1_size) {
        return 0;
    }
    inc_refcounts(s, res, ra, l1_offset, (uint64_t)l1_size * 8);
    l1 = g_try_new(uint64_t, l1_size);
    if (!l1) {
        res->check_errors++;
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, l1_offset, (uint64_t)l1_size * 8, l1, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l1\n");
        res->check_errors++;
        return ret;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t entry = GUINT64_FROM_BE(l1[i]), l2_offset;

        if (!entry) {
            continue;
        }
        if (entry & L1E_RESERVED_MASK) {
            fprintf(stderr, "ERROR found L1 entry with reserved bits set: %"
                    PRIx64 "\n", entry);
            res->corruptions++;
        }
        l2_offset = entry & L1E_OFFSET_MASK;
        inc_refcounts(s, res, ra, l2_offset, s->cluster_size);
        if (offset_into_cluster(s, l2_offset)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not "
                    "cluster aligned; L1 entry corrupted\n", l2_offset);
            res->corruptions++;
        }
        ret = check_l2(bs, res, ra, l2_offset, flags, fix);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* Count the refcount blocks; a broken one asks for a rebuild. */
static int coroutine_fn check_refblocks(BlockDriverState *bs,
                                        BdrvCheckResult *res, RefArray *ra,
                                        int64_t file_clusters,
                                        BdrvCheckMode fix, bool *rebuild)
{
    BDRVQcow2State *s = bs->opaque;

    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t off = s->refcount_table[i] & REFT_OFFSET_MASK;
        uint64_t cluster = off >> s->cluster_bits;

        if (s->refcount_table[i] & REFT_RESERVED_MASK) {
            fprintf(stderr, "ERROR refcount table entry %" PRIu64 " has "
                    "reserved bits set\n", i);
            res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (offset_into_cluster(s, off)) {
            fprintf(stderr, "ERROR refcount block %" PRIu64 " is not "
                    "cluster aligned; refcount table entry corrupted\n", i);
            res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (off && (int64_t)cluster >= file_clusters) {
            res->corruptions++;
            fprintf(stderr, "%s refcount block %" PRIu64 " is outside "
                    "image\n", fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR",
                    i);
            if ((fix & BDRV_FIX_ERRORS) && off < QCOW2_MAX_HOST_OFFSET &&
                bdrv_co_truncate(bs->file, off + s->cluster_size, false,
                                 PREALLOC_MODE_OFF, 0, NULL) == 0) {
                res->corruptions--;
                res->corruptions_fixed++;
                ra->file_len = MAX(ra->file_len, off + s->cluster_size);
                inc_refcounts(s, res, ra, off, s->cluster_size);
            } else if (fix & BDRV_FIX_ERRORS) {
                *rebuild = true;
            }
            continue;
        }
        if (off) {
            inc_refcounts(s, res, ra, off, s->cluster_size);
            if (cluster < (uint64_t)ra->nb && ra->refs[cluster] != 1) {
                fprintf(stderr, "ERROR refcount block %" PRIu64
                        " refcount=%" PRIu32 "\n", i, ra->refs[cluster]);
                res->corruptions++;
                *rebuild = true;
            }
        }
    }
    return 0;
}

static int coroutine_fn calculate_refcounts(BlockDriverState *bs,
                                            BdrvCheckResult *res,
                                            RefArray *ra,
                                            int64_t file_clusters,
                                            BdrvCheckMode fix, bool *rebuild)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    inc_refcounts(s, res, ra, 0, s->cluster_size);
    ret = check_l1(bs, res, ra, s->l1_table_offset, s->l1_size,
                   CHECK_FRAG_INFO, fix);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];

        if (offset_into_cluster(s, sn->l1_table_offset)) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_offset=%#" PRIx64
                    ": L1 table is not cluster aligned; snapshot table "
                    "entry corrupted\n", sn->id_str, sn->name,
                    sn->l1_table_offset);
            res->corruptions++;
            continue;
        }
        if (sn->l1_size > QCOW_MAX_L1_SIZE / 8) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_size=%#" PRIx32
                    ": L1 table is too large; snapshot table entry "
                    "corrupted\n", sn->id_str, sn->name, sn->l1_size);
            res->corruptions++;
            continue;
        }
        ret = check_l1(bs, res, ra, sn->l1_table_offset, sn->l1_size, 0,
                       fix);
        if (ret < 0) {
            return ret;
        }
    }
    inc_refcounts(s, res, ra, s->snapshots_offset, s->snapshots_size);
    inc_refcounts(s, res, ra, s->refcount_table_offset,
                  s->refcount_table_size * 8);
    return check_refblocks(bs, res, ra, file_clusters, fix, rebuild);
}

static void coroutine_fn compare_refcounts(BlockDriverState *bs,
                                           BdrvCheckResult *res,
                                           RefArray *ra, BdrvCheckMode fix,
                                           bool *rebuild, int64_t *highest)
{
    BDRVQcow2State *s = bs->opaque;

    *highest = 0;
    for (int64_t i = 0; i < ra->nb; i++) {
        uint64_t stored, computed = ra->refs[i];
        int *fixed = NULL;
        int ret = qcow2_get_refcount(bs, i, &stored);

        if (ret < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRId64 ": %s\n",
                    i, strerror(-ret));
            res->check_errors++;
            continue;
        }
        if (stored || computed) {
            *highest = i;
        }
        if (stored == computed) {
            continue;
        }
        if (stored == 0) {
            *rebuild = true;
        } else if (stored > computed && (fix & BDRV_FIX_LEAKS)) {
            fixed = &res->leaks_fixed;
        } else if (stored < computed && (fix & BDRV_FIX_ERRORS)) {
            fixed = &res->corruptions_fixed;
        }
        fprintf(stderr, "%s cluster %" PRId64 " refcount=%" PRIu64
                " reference=%" PRIu64 "\n",
                fixed ? "Repairing" : stored < computed ? "ERROR" : "Leaked",
                i, stored, computed);
        if (fixed &&
            qcow2_update_refcount(bs, (uint64_t)i << s->cluster_bits, 1,
                                  (int64_t)(computed - stored),
                                  QCOW2_DISCARD_ALWAYS) >= 0) {
            (*fixed)++;
            continue;
        }
        if (stored < computed) {
            res->corruptions++;
        } else {
            res->leaks++;
        }
    }
}

/*
 * Write a new refcount structure describing @ra after everything in it:
 * refcount blocks for every block range in use, then the table.
 */
static int coroutine_fn rebuild_refcount_structure(BlockDriverState *bs,
                                                   BdrvCheckResult *res,
                                                   RefArray *ra)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size, rbs = s->refcount_block_size;
    uint64_t area = ra->nb, area_bi = area / rbs, used_below = 0;
    uint64_t nb_blocks = 0, nb_table = 1, last_bi = 0, table_entries;
    g_autofree uint64_t *table = NULL;
    g_autofree uint8_t *block = g_malloc(cs);
    uint8_t hdr[12];
    uint64_t next_block;
    int ret;

    ret = qcow2_cache_empty(bs, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    for (uint64_t bi = 0; bi < area_bi; bi++) {
        for (uint64_t c = bi * rbs; c < (bi + 1) * rbs; c++) {
            if (ra->refs[c]) {
                used_below++;
                break;
            }
        }
    }
    for (int iter = 0;; iter++) {
        uint64_t end = area + nb_blocks + nb_table;
        uint64_t b, t;

        last_bi = (end - 1) / rbs;
        b = used_below + (last_bi - area_bi + 1);
        t = DIV_ROUND_UP((last_bi + 1) * 8, cs);
        if (b == nb_blocks && t == nb_table) {
            break;
        }
        nb_blocks = b;
        nb_table = t;
        assert(iter < 64);
    }
    if (nb_table * cs > QCOW_MAX_REFTABLE_SIZE ||
        !ref_array_grow(ra, area + nb_blocks + nb_table)) {
        fprintf(stderr, "ERROR rebuilt refcount structure would be too "
                "large\n");
        res->check_errors++;
        return -EFBIG;
    }
    for (uint64_t c = area; c < area + nb_blocks + nb_table; c++) {
        ra->refs[c] = 1;
    }

    table_entries = nb_table * cs / 8;
    table = g_new0(uint64_t, table_entries);
    next_block = area;
    for (uint64_t bi = 0; bi <= last_bi; bi++) {
        bool used = false;

        memset(block, 0, cs);
        for (uint64_t j = 0; j < rbs && bi * rbs + j < (uint64_t)ra->nb;
             j++) {
            uint32_t r = ra->refs[bi * rbs + j];

            if (r) {
                qcow2_refblock_set(s, block, j, MIN(r, s->refcount_max));
                used = true;
            }
        }
        if (!used) {
            continue;
        }
        table[bi] = GUINT64_TO_BE(next_block * cs);
        bs->metadata_stats.refcount_writes++;
        ret = bdrv_co_pwrite(bs->file, next_block * cs, cs, block, 0);
        if (ret < 0) {
            goto fail;
        }
        next_block++;
    }
    assert(next_block == area + nb_blocks);
    bs->metadata_stats.refcount_writes++;
    ret = bdrv_co_pwrite(bs->file, next_block * cs, nb_table * cs, table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        goto fail;
    }
    put_be64(hdr, next_block * cs);
    put_be32(hdr + 8, nb_table);
    ret = qcow2_write_header_field(bs, QCOW2_HDR_REFTABLE_OFFSET, hdr,
                                   sizeof(hdr));
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < table_entries; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->refcount_table);
    s->refcount_table = g_steal_pointer(&table);
    s->refcount_table_size = table_entries;
    s->refcount_table_offset = next_block * cs;
    s->free_cluster_index = 0;
    return 0;

fail:
    fprintf(stderr, "ERROR writing the rebuilt refcount structure: %s\n",
            strerror(-ret));
    res->check_errors++;
    return ret;
}

static int coroutine_fn check_oflag_copied(BlockDriverState *bs,
                                           BdrvCheckResult *res,
                                           BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);
    bool repair;
    int ret;

    if (fix & BDRV_FIX_ERRORS) {
        repair = true;
    } else if (fix & BDRV_FIX_LEAKS) {
        repair = !res->check_errors && !res->corruptions && !res->leaks;
    } else {
        repair = false;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l1_entry = s->l1_table[i];
        uint64_t l2_offset = l1_entry & L1E_OFFSET_MASK, refcount;
        int dirty = 0;

        if (!l2_offset) {
            continue;
        }
        if (qcow2_get_refcount(bs, l2_offset >> s->cluster_bits,
                               &refcount) < 0) {
            continue;
        }
        if ((refcount == 1) != !!(l1_entry & QCOW_OFLAG_COPIED)) {
            res->corruptions++;
            fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu32
                    " l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                    repair ? "Repairing" : "ERROR", i, l1_entry, refcount);
            if (repair) {
                s->l1_table[i] = refcount == 1 ?
                                 l1_entry | QCOW_OFLAG_COPIED :
                                 l1_entry & ~QCOW_OFLAG_COPIED;
                ret = qcow2_write_l1_entry(bs, i);
                if (ret < 0) {
                    res->check_errors++;
                    return ret;
                }
                res->corruptions--;
                res->corruptions_fixed++;
            }
        }
        ret = bdrv_co_pread(bs->file, l2_offset, s->cluster_size, l2, 0);
        if (ret < 0) {
            fprintf(stderr, "ERROR: Could not read L2 table: %s\n",
                    strerror(-ret));
            res->check_errors++;
            return ret;
        }
        for (int j = 0; j < s->l2_size; j++) {
            uint64_t entry = l2_get(l2, j);
            QCow2ClusterType type = qcow2_get_cluster_type(entry);

            if (type != QCOW2_CLUSTER_NORMAL &&
                type != QCOW2_CLUSTER_ZERO_ALLOC) {
                continue;
            }
            if (qcow2_get_refcount(bs, (entry & L2E_OFFSET_MASK) >>
                                   s->cluster_bits, &refcount) < 0) {
                continue;
            }
            if ((refcount == 1) != !!(entry & QCOW_OFLAG_COPIED)) {
                res->corruptions++;
                fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%"
                        PRIx64 " refcount=%" PRIu64 "\n",
                        repair ? "Repairing" : "ERROR", entry, refcount);
                if (repair) {
                    l2_set(l2, j, refcount == 1 ? entry | QCOW_OFLAG_COPIED
                                                : entry & ~QCOW_OFLAG_COPIED);
                    dirty++;
                }
            }
        }
        if (dirty) {
            bs->metadata_stats.l2_writes++;
            ret = bdrv_co_pwrite(bs->file, l2_offset, s->cluster_size, l2, 0);
            if (ret < 0) {
                fprintf(stderr, "ERROR: Could not write L2 table: %s\n",
                        strerror(-ret));
                res->check_errors++;
                return ret;
            }
            res->corruptions -= dirty;
            res->corruptions_fixed += dirty;
        }
    }
    return 0;
}

static int coroutine_fn check_refcounts(BlockDriverState *bs,
                                        BdrvCheckResult *res,
                                        BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_co_getlength(bs->file->bs);
    int64_t file_clusters, highest = 0;
    RefArray ra = { 0 };
    BdrvCheckResult pre;
    bool rebuild = false;
    int ret;

    if (file_len < 0) {
        res->check_errors++;
        return file_len;
    }
    file_clusters = size_to_clusters(s, file_len);
    if (file_clusters > INT_MAX) {
        res->check_errors++;
        return -EFBIG;
    }
    res->total_clusters = size_to_clusters(s, s->size);
    ra.limit = file_clusters + (1 << 24);
    ra.file_len = file_len;
    ref_array_grow(&ra, MAX(file_clusters, 1));

    ret = calculate_refcounts(bs, res, &ra, file_clusters, fix, &rebuild);
    if (ret < 0) {
        goto out;
    }
    pre = *res;
    compare_refcounts(bs, res, &ra, 0, &rebuild, &highest);

    if (rebuild && (fix & BDRV_FIX_ERRORS)) {
        BdrvCheckResult old = *res;
        int fresh_leaks = 0;

        fprintf(stderr, "Rebuilding refcount structure\n");
        ret = rebuild_refcount_structure(bs, res, &ra);
        if (ret < 0) {
            goto out;
        }
        res->corruptions = 0;
        res->leaks = 0;
        rebuild = false;
        memset(ra.refs, 0, ra.cap * sizeof(uint32_t));
        file_len = bdrv_co_getlength(bs->file->bs);
        if (file_len < 0) {
            res->check_errors++;
            ret = file_len;
            goto out;
        }
        file_clusters = size_to_clusters(s, file_len);
        ra.limit = MAX(ra.limit, file_clusters);
        ra.file_len = file_len;
        ref_array_grow(&ra, file_clusters);
        ret = calculate_refcounts(bs, res, &ra, file_clusters, 0, &rebuild);
        if (ret < 0) {
            goto out;
        }
        if (fix & BDRV_FIX_LEAKS) {
            BdrvCheckResult saved = *res;

            /* The old structure is now leaked: free it. */
            memset(res, 0, sizeof(*res));
            compare_refcounts(bs, res, &ra, BDRV_FIX_LEAKS, &rebuild,
                              &highest);
            if (rebuild) {
                fprintf(stderr, "ERROR rebuilt refcount structure is still "
                        "broken\n");
            }
            fresh_leaks = res->leaks;
            *res = saved;
        }
        if (res->corruptions < old.corruptions) {
            res->corruptions_fixed += old.corruptions - res->corruptions;
        }
        if (res->leaks < old.leaks) {
            res->leaks_fixed += old.leaks - res->leaks;
        }
        res->leaks += fresh_leaks;
    } else if (fix) {
        if (rebuild) {
            fprintf(stderr, "ERROR need to rebuild refcount structures\n");
            res->check_errors++;
            ret = -EIO;
            goto out;
        }
        if (res->leaks || res->corruptions) {
            *res = pre;
            compare_refcounts(bs, res, &ra, fix, &rebuild, &highest);
        }
    }

    ret = check_oflag_copied(bs, res, fix);
    if (ret < 0) {
        goto out;
    }
    res->image_end_offset = (highest + 1) * s->cluster_size;
    ret = 0;
out:
    g_free(ra.refs);
    return ret;
}

int coroutine_fn qcow2_check_locked(BlockDriverState *bs,
                                    BdrvCheckResult *res, BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret, ret2;

    if (bs->read_only) {
        fix = 0;
    }
    ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }
    qcow2_process_discards(bs);
    ret = check_refcounts(bs, res, fix);
    if (fix) {
        ret2 = qcow2_cache_flush(bs, s->refcount_block_cache);
        if (ret2 == 0) {
            ret2 = qcow2_cache_empty(bs, s->l2_table_cache);
        }
        ret = ret < 0 ? ret : ret2;
        qcow2_process_discards(bs);
    }
    if (ret == 0 && fix && !res->check_errors && !res->corruptions) {
        ret = qcow2_mark_clean(bs);
        if (ret == 0) {
            ret = qcow2_mark_consistent(bs);
        }
        if (ret == 0) {
            s->broken = false;
        }
    }
    return ret;
}
