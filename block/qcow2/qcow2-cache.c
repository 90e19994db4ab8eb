/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 metadata caches: write-back caches of L2 tables and refcount
 * blocks.
 *
 * A cache holds up to `size` tables of `table_size` bytes (one cluster),
 * each identified by its offset in the image file and kept in disk byte
 * order.  qcow2_cache_get() returns a table pinned for the caller (loading
 * it on a miss); the caller modifies it, marks it dirty and unpins it with
 * qcow2_cache_put().  Dirty tables are written back when evicted (least
 * recently used unpinned table first), when the cache is written or
 * flushed, and when another cache that depends on this one is written.
 *
 * Ordering is what makes the caches safe across a crash.  Two rules:
 *   - a cache may depend on another: before any of its tables is written,
 *     the whole dependency is flushed (written and the file flushed).  The
 *     L2 cache depends on the refcount cache after clusters were allocated
 *     (a refcount must be on disk before an L2 entry points at its
 *     cluster); the refcount cache depends on the L2 cache after clusters
 *     were freed (an L2 entry must be gone before its cluster's refcount
 *     drops).  Setting a dependency first resolves the other direction, so
 *     the two never wait for each other;
 *   - a cache may need a file flush before its next write (depends_on_flush)
 *     when data written earlier must be stable first.
 *
 * Every write of a table counts in bs->metadata_stats (l2_writes or
 * refcount_writes) and fires the matching debug event.  Nothing is written
 * for a table that was not marked dirty, which is what lets zero writes
 * over zero clusters leave the image file untouched.
 *
 * All functions run under the driver's s->lock; the cache itself has no
 * lock of its own.
 */
#include "block/qcow2/qcow2.h"

typedef struct Qcow2CachedTable {
    uint64_t offset;           /* 0: slot unused */
    uint64_t lru;              /* last use, for eviction */
    int ref;                   /* pins by callers */
    bool dirty;
    void *table;               /* allocated on first use of the slot */
} Qcow2CachedTable;

struct Qcow2Cache {
    Qcow2CacheKind kind;
    Qcow2CachedTable *entries;
    int size;
    int table_size;
    GHashTable *by_offset;     /* offset -> slot + 1 */
    GHashTable *by_table;      /* table pointer -> slot + 1 */
    GArray *free_slots;        /* int, slots never used or dropped */
    uint64_t lru_counter;
    Qcow2Cache *depends;       /* flush this cache before writing ours */
    bool depends_on_flush;     /* flush the file before writing ours */
};

Qcow2Cache *qcow2_cache_create(Qcow2CacheKind kind, int num_tables,
                               int table_size)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);

    c->kind = kind;
    c->size = num_tables;
    c->table_size = table_size;
    c->entries = g_new0(Qcow2CachedTable, num_tables);
    c->by_offset = g_hash_table_new(g_int64_hash, g_int64_equal);
    c->by_table = g_hash_table_new(g_direct_hash, g_direct_equal);
    c->free_slots = g_array_sized_new(false, false, sizeof(int), num_tables);
    for (int i = num_tables - 1; i >= 0; i--) {
        g_array_append_val(c->free_slots, i);
    }
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    for (int i = 0; i < c->size; i++) {
        qemu_vfree(c->entries[i].table);
    }
    g_hash_table_destroy(c->by_offset);
    g_hash_table_destroy(c->by_table);
    g_array_free(c->free_slots, true);
    g_free(c->entries);
    g_free(c);
}

static int cache_lookup(Qcow2Cache *c, uint64_t offset)
{
    gpointer v = g_hash_table_lookup(c->by_offset, &offset);

    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static int cache_slot_of(Qcow2Cache *c, void *table)
{
    gpointer v = g_hash_table_lookup(c->by_table, table);

    assert(v);
    return GPOINTER_TO_INT(v) - 1;
}

/* Forget slot @i (its contents are dropped, dirty or not). */
static void cache_drop_slot(Qcow2Cache *c, int i)
{
    Qcow2CachedTable *e = &c->entries[i];

    assert(e->offset && e->ref == 0);
    g_hash_table_remove(c->by_offset, &e->offset);
    e->offset = 0;
    e->dirty = false;
    g_array_append_val(c->free_slots, i);
}

static int coroutine_fn cache_flush_dependency(BlockDriverState *bs,
                                               Qcow2Cache *c)
{
    int ret = qcow2_cache_flush(bs, c->depends);

    if (ret == 0) {
        c->depends = NULL;
        c->depends_on_flush = false;
    }
    return ret;
}

/* Write slot @i back if it is dirty, honouring the ordering rules. */
static int coroutine_fn cache_entry_write(BlockDriverState *bs, Qcow2Cache *c,
                                          int i)
{
    Qcow2CachedTable *e = &c->entries[i];
    int ret = 0;

    if (!e->dirty || !e->offset) {
        return 0;
    }
    if (c->depends) {
        ret = cache_flush_dependency(bs, c);
    } else if (c->depends_on_flush) {
        ret = bdrv_co_flush(bs->file->bs);
        if (ret == 0) {
            c->depends_on_flush = false;
        }
    }
    if (ret < 0) {
        return ret;
    }
    if (c->kind == QCOW2_CACHE_L2) {
        bdrv_debug_event(bs->file, BLKDBG_L2_UPDATE);
        bs->metadata_stats.l2_writes++;
    } else {
        /* QEMU names this write refblock_update_part; both names work. */
        bdrv_debug_event(bs->file, BLKDBG_REFBLOCK_UPDATE);
        bdrv_debug_event(bs->file, BLKDBG_REFBLOCK_UPDATE_PART);
        bs->metadata_stats.refcount_writes++;
    }
    ret = bdrv_co_pwrite(bs->file, e->offset, c->table_size, e->table, 0);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

/*
 * A slot for a new table: an unused one, else the least recently used
 * unpinned one (written back first if dirty).
 */
static int coroutine_fn cache_find_victim(BlockDriverState *bs,
                                          Qcow2Cache *c)
{
    int victim = -1;
    int ret;

    if (c->free_slots->len) {
        victim = g_array_index(c->free_slots, int, c->free_slots->len - 1);
        g_array_set_size(c->free_slots, c->free_slots->len - 1);
        return victim;
    }
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].ref == 0 &&
            (victim < 0 || c->entries[i].lru < c->entries[victim].lru)) {
            victim = i;
        }
    }
    if (victim < 0) {
        return -ENOSPC;
    }
    ret = cache_entry_write(bs, c, victim);
    if (ret < 0) {
        return ret;
    }
    g_hash_table_remove(c->by_offset, &c->entries[victim].offset);
    c->entries[victim].offset = 0;
    return victim;
}

static int coroutine_fn cache_do_get(BlockDriverState *bs, Qcow2Cache *c,
                                     uint64_t offset, void **table,
                                     bool read_from_disk)
{
    Qcow2CachedTable *e;
    int i, ret;

    assert(offset != 0);
    i = cache_lookup(c, offset);
    if (i >= 0) {
        e = &c->entries[i];
        goto found;
    }
    i = cache_find_victim(bs, c);
    if (i < 0) {
        return i;
    }
    e = &c->entries[i];
    if (!e->table) {
        e->table = qemu_blockalign(4096, c->table_size);
        g_hash_table_insert(c->by_table, e->table, GINT_TO_POINTER(i + 1));
    }
    if (read_from_disk) {
        bdrv_debug_event(bs->file, c->kind == QCOW2_CACHE_L2 ?
                         BLKDBG_L2_LOAD : BLKDBG_REFBLOCK_LOAD);
        ret = bdrv_co_pread(bs->file, offset, c->table_size, e->table, 0);
        if (ret < 0) {
            g_array_append_val(c->free_slots, i);
            return ret;
        }
    }
    e->offset = offset;
    e->dirty = false;
    e->ref = 0;
    g_hash_table_insert(c->by_offset, &e->offset, GINT_TO_POINTER(i + 1));

found:
    e->ref++;
    e->lru = ++c->lru_counter;
    *table = e->table;
    return 0;
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table)
{
    return cache_do_get(bs, c, offset, table, true);
}

int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table)
{
    return cache_do_get(bs, c, offset, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = cache_slot_of(c, *table);

    assert(c->entries[i].ref > 0);
    c->entries[i].ref--;
    *table = NULL;
}

void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table)
{
    int i = cache_slot_of(c, table);

    assert(c->entries[i].offset);
    c->entries[i].dirty = true;
}

int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = 0;

    for (int i = 0; i < c->size; i++) {
        int ret = cache_entry_write(bs, c, i);

        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = qcow2_cache_write(bs, c);
    int ret = bdrv_co_flush(bs->file->bs);

    return result < 0 ? result : ret;
}

int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency)
{
    int ret;

    if (dependency->depends) {
        ret = cache_flush_dependency(bs, dependency);
        if (ret < 0) {
            return ret;
        }
    }
    if (c->depends && c->depends != dependency) {
        ret = cache_flush_dependency(bs, c);
        if (ret < 0) {
            return ret;
        }
    }
    c->depends = dependency;
    return 0;
}

void qcow2_cache_depends_on_flush(Qcow2Cache *c)
{
    c->depends_on_flush = true;
}

void qcow2_cache_discard_offset(Qcow2Cache *c, uint64_t offset)
{
    int i = cache_lookup(c, offset);

    if (i >= 0 && c->entries[i].ref == 0) {
        cache_drop_slot(c, i);
    }
}

int coroutine_fn qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = qcow2_cache_flush(bs, c);

    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].offset && c->entries[i].ref == 0) {
            cache_drop_slot(c, i);
        }
    }
    return 0;
}

bool qcow2_cache_is_dirty(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].offset && c->entries[i].dirty) {
            return true;
        }
    }
    return false;
}
