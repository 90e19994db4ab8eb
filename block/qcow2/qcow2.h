/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 driver: private header shared by the files of block/qcow2 only.
 *
 * The on-disk format is QEMU's (docs/interop/qcow2.rst): a header in
 * cluster 0, a two-level map from guest clusters to host clusters (one
 * contiguous L1 table of L2 table offsets; each L2 table is one cluster of
 * 64-bit entries) and two-level reference counts for every host cluster (a
 * contiguous refcount table of refcount block offsets).  All on-disk
 * integers are big endian.  In memory the L1 table and the refcount table
 * are kept in host byte order; L2 tables and refcount blocks live in the
 * metadata caches in disk byte order and are accessed through the helpers
 * below.
 *
 * Who does what:
 *   qcow2.c          driver callbacks, open/close, options
 *   qcow2-header.c   header parsing and validation, extensions, header
 *                    writes (dirty/corrupt bits), image creation
 *   qcow2-snapshot.c reading and validating the internal snapshot table
 *   qcow2-cluster.c  guest-to-host mapping: lookups, L2 allocation, zero
 *                    writes, discard, L1 growth, preallocation, compressed
 *                    reads and writes
 *   qcow2-alloc.c    allocating writes (COW) and the allocations in flight
 *   qcow2-refcount.c refcounts, cluster allocation and freeing, refcount
 *                    block allocation and refcount table growth, queued
 *                    discards
 *   qcow2-cache.c    write-back caches of L2 tables and refcount blocks
 *   qcow2-check.c    consistency check and repair
 *   qcow2-info.c     what the image says about itself (emblock-img info)
 *
 * Locking: every field below marked "lock" is protected by s->lock, a
 * CoMutex taken by the driver callbacks; functions with the _locked suffix
 * (and everything in qcow2-cluster.c, qcow2-refcount.c and qcow2-cache.c
 * that may touch metadata) expect the caller to hold it.  Data I/O to
 * clusters that need no metadata change (reads, in-place writes) runs
 * outside the lock; those host clusters are counted in s->inflight so that
 * the allocator never hands them out again until the I/O is done.  The
 * data I/O of allocating writes also runs outside the lock; their guest
 * clusters are listed in s->allocs until the L2 entries point at the new
 * host clusters (qcow2-alloc.c).
 */
#ifndef EMBLOCK_BLOCK_QCOW2_H
#define EMBLOCK_BLOCK_QCOW2_H

#include "util/osdep.h"
#include "block/block-int.h"

#ifndef KiB
#define KiB (INT64_C(1) << 10)
#endif
#ifndef MiB
#define MiB (INT64_C(1) << 20)
#endif

#define QCOW_MAGIC 0x514649fbU            /* "QFI\xfb" */

#define MIN_CLUSTER_BITS 9
#define MAX_CLUSTER_BITS 21
#define DEFAULT_CLUSTER_BITS 16

/* Header sizes: v2 ends after nb_snapshots; v3 as QEMU writes it. */
#define QCOW2_V2_HEADER_LENGTH 72
#define QCOW2_V3_MIN_HEADER_LENGTH 104
#define QCOW2_V3_HEADER_LENGTH 112

/* Limits on what an image may ask us to allocate (QEMU's values). */
#define QCOW_MAX_L1_SIZE (32 * MiB)           /* bytes of the active L1 */
#define QCOW_MAX_REFTABLE_SIZE (8 * MiB)      /* bytes of the refcount table */
#define QCOW_MAX_SNAPSHOTS 65536
#define QCOW_MAX_SNAPSHOT_EXTRA 1024          /* extra data per snapshot */
#define QCOW_MAX_SNAPSHOTS_SIZE (64 * MiB)    /* bytes of the snapshot table */
#define QCOW_MAX_BACKING_NAME 1023
#define QCOW_MAX_BACKING_FORMAT 16           /* format name, with its NUL */

/* Largest data write issued to the file at once by an allocating write. */
#define QCOW2_MAX_ALLOC_RUN (256 * MiB)

/* Header field offsets (big endian on disk). */
#define QCOW2_HDR_VERSION 4
#define QCOW2_HDR_BACKING_OFFSET 8
#define QCOW2_HDR_BACKING_SIZE 16
#define QCOW2_HDR_CLUSTER_BITS 20
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_CRYPT 32
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_OFFSET 40
#define QCOW2_HDR_REFTABLE_OFFSET 48
#define QCOW2_HDR_REFTABLE_CLUSTERS 56
#define QCOW2_HDR_NB_SNAPSHOTS 60
#define QCOW2_HDR_SNAPSHOTS_OFFSET 64
#define QCOW2_HDR_INCOMPAT 72
#define QCOW2_HDR_COMPAT 80
#define QCOW2_HDR_AUTOCLEAR 88
#define QCOW2_HDR_REFCOUNT_ORDER 96
#define QCOW2_HDR_LENGTH 100
#define QCOW2_HDR_COMPRESSION 104

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ULL << 4)
#define QCOW2_INCOMPAT_MASK 0x1fULL
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000U
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857U
#define QCOW2_EXT_BITMAPS 0x23852875U
#define QCOW2_EXT_CRYPTO_HEADER 0x0537be77U
#define QCOW2_EXT_DATA_FILE 0x44415441U

/* Entry bits. */
#define QCOW_OFLAG_COPIED (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO (1ULL << 0)
#define L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define REFT_OFFSET_MASK 0xfffffffffffffe00ULL
#define L1E_RESERVED_MASK 0x7f000000000001ffULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFT_RESERVED_MASK 0x1ffULL

/* Highest host offset we accept anywhere (the entries' 56-bit field). */
#define QCOW2_MAX_HOST_OFFSET (1ULL << 56)

typedef enum QCow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} QCow2ClusterType;

/* Why a cluster is freed; decides whether the file sees a discard. */
typedef enum Qcow2DiscardType {
    QCOW2_DISCARD_NEVER,
    QCOW2_DISCARD_ALWAYS,      /* repair */
    QCOW2_DISCARD_REQUEST,     /* guest discard or zero write with unmap */
    QCOW2_DISCARD_SNAPSHOT,
    QCOW2_DISCARD_OTHER,       /* COW replaced it, old tables */
    QCOW2_DISCARD_MAX,
} Qcow2DiscardType;

typedef struct Qcow2Cache Qcow2Cache;

/* What the active image knows about one internal snapshot (for check). */
typedef struct Qcow2Snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
} Qcow2Snapshot;

/* A header extension we do not interpret, kept to be written back. */
typedef struct Qcow2UnknownExt {
    uint32_t magic;
    uint32_t len;
    uint8_t data[];
} Qcow2UnknownExt;

/* A host range to discard in the file once metadata no longer uses it. */
typedef struct Qcow2DiscardRegion {
    uint64_t offset;
    uint64_t bytes;
} Qcow2DiscardRegion;

/*
 * An allocating write in flight (qcow2_alloc_write): its host clusters are
 * allocated (refcount raised), its data is being written without s->lock,
 * and the L2 entries of guest clusters [guest, guest + bytes) do not point
 * at them yet.  While it is listed in s->allocs nobody else changes those
 * L2 entries: writers, zero writes, discards, compressed writes, truncate
 * and check wait on @waiters, which is woken once the entries are linked
 * (or the allocation failed).
 */
typedef struct Qcow2Alloc {
    uint64_t guest;                /* first guest cluster, aligned */
    uint64_t bytes;                /* whole clusters */
    CoQueue waiters;
} Qcow2Alloc;

typedef struct BDRVQcow2State {
    /* Geometry and header values, fixed after open (except as noted). */
    int qcow_version;
    int cluster_bits;
    int cluster_size;
    int l2_bits;                   /* log2 of entries per L2 table */
    int l2_size;                   /* entries per L2 table */
    int refcount_order;
    int refcount_bits;
    int refcount_block_bits;       /* log2 of entries per refcount block */
    int refcount_block_size;       /* entries per refcount block */
    uint64_t refcount_max;
    int csize_shift;               /* compressed descriptor layout */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;
    uint32_t header_length;
    uint8_t compression_type;
    uint64_t incompatible_features;   /* lock (dirty/corrupt bits) */
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint8_t *unknown_header_fields;   /* header bytes past what we know */
    uint32_t unknown_header_fields_size;
    GList *unknown_exts;              /* Qcow2UnknownExt *, in file order */
    char *backing_file;               /* from the header, or NULL */
    char *backing_format;             /* from the extension, or NULL */

    uint64_t size;                    /* lock: virtual size in bytes */

    /* The mapping (lock). */
    uint64_t *l1_table;               /* host order */
    uint32_t l1_size;
    uint64_t l1_table_offset;
    Qcow2Cache *l2_table_cache;

    /* Refcounts (lock). */
    uint64_t *refcount_table;         /* host order */
    uint64_t refcount_table_size;     /* entries */
    uint64_t refcount_table_offset;
    uint64_t free_cluster_index;      /* no free cluster below this */
    uint64_t free_byte_offset;        /* next compressed data, 0: none */
    Qcow2Cache *refcount_block_cache;
    GArray *discards;                 /* Qcow2DiscardRegion, queued */
    bool discard_passthrough[QCOW2_DISCARD_MAX];

    /* Host clusters under data I/O without the lock: index -> count. */
    GHashTable *inflight;             /* lock */
    /* Allocating writes in flight (Qcow2Alloc *, unordered). */
    GList *allocs;                    /* lock */

    /* Internal snapshots, read at open (only check uses them). */
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;          /* bytes of the snapshot table */
    Qcow2Snapshot *snapshots;

    /* Options. */
    bool use_lazy_refcounts;
    uint64_t l2_cache_size;           /* bytes */
    uint64_t refcount_cache_size;     /* bytes */

    /* Block status: metadata preallocation detected once (lock). */
    bool metadata_preallocation;
    bool metadata_preallocation_checked;

    /* Set when a corruption was found: every request fails with -EIO. */
    bool broken;

    CoMutex lock;
} BDRVQcow2State;

/* Geometry helpers. */
static inline int64_t offset_into_cluster(BDRVQcow2State *s, int64_t off)
{
    return off & (s->cluster_size - 1);
}

static inline int64_t start_of_cluster(BDRVQcow2State *s, int64_t off)
{
    return off & ~((int64_t)s->cluster_size - 1);
}

static inline int64_t size_to_clusters(BDRVQcow2State *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

/* Number of L1 entries needed for a virtual size of @size bytes. */
static inline uint64_t size_to_l1(BDRVQcow2State *s, uint64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;

    return (size + (1ULL << shift) - 1) >> shift;
}

static inline uint64_t offset_to_l1_index(BDRVQcow2State *s, uint64_t off)
{
    return off >> (s->cluster_bits + s->l2_bits);
}

static inline int offset_to_l2_index(BDRVQcow2State *s, uint64_t off)
{
    return (off >> s->cluster_bits) & (s->l2_size - 1);
}

/* Bytes covered by one L2 table. */
static inline uint64_t l2_coverage(BDRVQcow2State *s)
{
    return (uint64_t)s->l2_size << s->cluster_bits;
}

/* Whether [a, a + alen) and [b, b + blen) overlap. */
static inline bool qcow2_ranges_overlap(uint64_t a, uint64_t alen,
                                        uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* Big-endian stores into byte buffers (any alignment). */
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, v);
}

/* L2 entries as stored in a cached table (disk order). */
static inline uint64_t l2_get(const uint64_t *l2, int index)
{
    return GUINT64_FROM_BE(l2[index]);
}

static inline void l2_set(uint64_t *l2, int index, uint64_t entry)
{
    l2[index] = GUINT64_TO_BE(entry);
}

static inline QCow2ClusterType qcow2_get_cluster_type(uint64_t l2_entry)
{
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if (l2_entry & QCOW_OFLAG_ZERO) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
                                            : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL
                                        : QCOW2_CLUSTER_UNALLOCATED;
}

/* Whether the entry owns (a reference to) host clusters. */
static inline bool qcow2_cluster_is_allocated(QCow2ClusterType type)
{
    return type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_ZERO_ALLOC ||
           type == QCOW2_CLUSTER_COMPRESSED;
}

/* Whether the image can store zero flags (v3). */
static inline bool qcow2_has_zero_flag(BDRVQcow2State *s)
{
    return s->qcow_version >= 3;
}

/* Host byte range of a compressed entry: [*coffset, *coffset + *csize). */
static inline void qcow2_parse_compressed(BDRVQcow2State *s, uint64_t entry,
                                          uint64_t *coffset, int64_t *csize)
{
    uint64_t nb_sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;

    *coffset = entry & s->cluster_offset_mask;
    *csize = nb_sectors * 512 - (*coffset & 511);
}

/* Refcount entries in a refcount block (disk order, any width). */
uint64_t qcow2_refblock_get(BDRVQcow2State *s, const void *block, int index);
void qcow2_refblock_set(BDRVQcow2State *s, void *block, int index,
                        uint64_t value);

/* qcow2-header.c */
extern const char *const qcow2_runtime_opts[];
extern const char *const qcow2_create_opts[];
int coroutine_fn qcow2_read_header(BlockDriverState *bs, int flags,
                                   Error **errp);
int coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
int coroutine_fn qcow2_update_header(BlockDriverState *bs);
int coroutine_fn qcow2_write_header_field(BlockDriverState *bs, int offset,
                                          const void *buf, int bytes);
int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs);
int coroutine_fn qcow2_mark_clean(BlockDriverState *bs);
int coroutine_fn qcow2_mark_consistent(BlockDriverState *bs);
void coroutine_fn qcow2_signal_corruption(BlockDriverState *bs,
                                          const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
int coroutine_fn qcow2_co_create_opts(BlockOptions *opts, Error **errp);
void qcow2_free_header_state(BDRVQcow2State *s);

/* qcow2-cache.c */
typedef enum Qcow2CacheKind {
    QCOW2_CACHE_L2,
    QCOW2_CACHE_REFCOUNT,
} Qcow2CacheKind;

Qcow2Cache *qcow2_cache_create(Qcow2CacheKind kind, int num_tables,
                               int table_size);
void qcow2_cache_destroy(Qcow2Cache *c);
int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table);
int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table);
void qcow2_cache_put(Qcow2Cache *c, void **table);
void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table);
int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency);
void qcow2_cache_depends_on_flush(Qcow2Cache *c);
void qcow2_cache_discard_offset(Qcow2Cache *c, uint64_t offset);
int coroutine_fn qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c);
bool qcow2_cache_is_dirty(Qcow2Cache *c);

/* qcow2-refcount.c */
int coroutine_fn qcow2_refcount_init(BlockDriverState *bs, Error **errp);
void qcow2_refcount_close(BlockDriverState *bs);
int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount);
int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size);
int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size);
int coroutine_fn qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                                       uint64_t length, int64_t addend,
                                       Qcow2DiscardType type);
void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                      uint64_t size, Qcow2DiscardType type);
void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type);
void coroutine_fn qcow2_process_discards(BlockDriverState *bs);
int coroutine_fn qcow2_flush_caches(BlockDriverState *bs);
int coroutine_fn qcow2_write_caches(BlockDriverState *bs);
void qcow2_inflight_inc(BDRVQcow2State *s, uint64_t offset, uint64_t bytes);
void qcow2_inflight_dec(BDRVQcow2State *s, uint64_t offset, uint64_t bytes);
int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs);

/* qcow2-cluster.c */
int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       uint64_t *bytes, uint64_t *host,
                                       QCow2ClusterType *type);
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size);
int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
int coroutine_fn qcow2_write_lookup(BlockDriverState *bs, uint64_t offset,
                                    uint64_t *bytes, uint64_t *host);
/* The L2 table covering @offset, private to us (allocated or copied). */
int coroutine_fn qcow2_get_l2_rw(BlockDriverState *bs, uint64_t offset,
                                 uint64_t **l2);
int coroutine_fn qcow2_write_compressed(BlockDriverState *bs,
                                        uint64_t offset, const void *data,
                                        int len);
int coroutine_fn qcow2_zero_clusters(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes, bool may_unmap);
int coroutine_fn qcow2_discard_clusters(BlockDriverState *bs,
                                        uint64_t offset, uint64_t bytes,
                                        bool full_discard,
                                        Qcow2DiscardType type);
int coroutine_fn qcow2_preallocate(BlockDriverState *bs, uint64_t offset,
                                   uint64_t bytes, PreallocMode mode);
/* Deflate @src; the length, -ENOMEM when it does not fit, or -EIO. */
int qcow2_compress(void *dest, int dest_size, const void *src, int src_size);
int coroutine_fn qcow2_read_compressed(BlockDriverState *bs,
                                       uint64_t l2_entry,
                                       uint64_t in_cluster, uint64_t bytes,
                                       QEMUIOVector *qiov,
                                       size_t qiov_offset);
int coroutine_fn qcow2_check_data_overlap(BlockDriverState *bs,
                                          uint64_t host, uint64_t bytes);

/* qcow2-alloc.c */
/*
 * Under the lock, before a write allocates guest clusters from @offset:
 * when an allocation in flight covers the first cluster, wait for it and
 * return true (the caller looks the range up again); otherwise cut *bytes
 * short of the first cluster an allocation in flight covers, if any, and
 * return false.
 */
bool coroutine_fn qcow2_alloc_dependency(BlockDriverState *bs,
                                         uint64_t offset, uint64_t *bytes);
/* Under the lock: wait until no allocation in flight touches the range. */
void coroutine_fn qcow2_alloc_wait(BlockDriverState *bs, uint64_t offset,
                                   uint64_t bytes);
/*
 * Write guest [offset, offset + bytes) to new host clusters (the range must
 * need allocation and have passed qcow2_alloc_dependency).  Called with the
 * lock held and returns with it held, but drops it for the data I/O.
 * Returns the bytes written (a prefix of the range) or -errno.
 */
int64_t coroutine_fn qcow2_alloc_write(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       QEMUIOVector *qiov,
                                       size_t qiov_offset);
/* Point @k entries at @host.. and make the L2 write wait for refcounts. */
int coroutine_fn qcow2_link_l2(BlockDriverState *bs, uint64_t *l2,
                               int l2_index, int k, uint64_t host);

/* qcow2-info.c */
void qcow2_get_backing_file(BlockDriverState *bs, const char **name,
                            const char **format);
BlockOptions *qcow2_get_specific_info(BlockDriverState *bs);

/* qcow2-check.c */
int coroutine_fn qcow2_check_locked(BlockDriverState *bs,
                                    BdrvCheckResult *res, BdrvCheckMode fix);

#endif /* EMBLOCK_BLOCK_QCOW2_H */
