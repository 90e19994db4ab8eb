/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The driver API: what a block driver implements and what it may rely on.
 *
 * A driver is one `static const BlockDriver` listed in block/drivers.c.  It
 * implements only what it supports; block/io.c fills the gaps (write-zeroes
 * falls back to writing a zero buffer, FUA to a flush, discard to nothing)
 * and checks every request before calling the driver, so drivers never
 * re-validate offsets.  Guarantees given to the data callbacks:
 *   - offset and bytes are multiples of bl.request_alignment (except that a
 *     request may end at an unaligned end of the node);
 *   - bytes ≤ bl.max_transfer when that is set (data callbacks);
 *   - reads end at most at the node's length rounded up to the request
 *     alignment (the core zero-fills the rest of a read past the end);
 *     block-status queries end at the node's length;
 *   - the callback runs in a coroutine in the node's AioContext, with the
 *     request counted in bs->in_flight.
 * Data callbacks return 0 or -errno; open/create/truncate also set @errp.
 */
#ifndef EMBLOCK_BLOCK_INT_H
#define EMBLOCK_BLOCK_INT_H

#include "block/block.h"
#include "block/block-backend.h"
#include "util/aio.h"
#include "util/coroutine-lock.h"
#include "util/hbitmap.h"

/*
 * Named points in a driver's I/O where blkdebug can inject errors.  Format
 * drivers fire them on their file child with bdrv_debug_event().
 */
typedef enum BlkdebugEvent {
    BLKDBG_L1_UPDATE,
    BLKDBG_L2_LOAD,
    BLKDBG_L2_UPDATE,
    BLKDBG_L2_ALLOC_WRITE,
    BLKDBG_REFBLOCK_LOAD,
    BLKDBG_REFBLOCK_UPDATE,
    BLKDBG_REFBLOCK_UPDATE_PART,
    BLKDBG_REFBLOCK_ALLOC,
    BLKDBG_REFBLOCK_ALLOC_WRITE,
    BLKDBG_REFTABLE_GROW,
    BLKDBG_CLUSTER_ALLOC,
    BLKDBG_CLUSTER_ALLOC_BYTES,
    BLKDBG_COW_READ,
    BLKDBG_COW_WRITE,
    BLKDBG_READ_AIO,
    BLKDBG_WRITE_AIO,
    BLKDBG_FLUSH_TO_DISK,
    BLKDBG_EVENT_MAX,
} BlkdebugEvent;

/* Event names as blkdebug's configuration spells them ("l2_update"). */
extern const char *const blkdebug_event_names[BLKDBG_EVENT_MAX];

typedef struct BlockLimits {
    uint32_t request_alignment;       /* ≥ 1, power of two */
    int64_t max_transfer;             /* 0: no limit */
    int64_t pwrite_zeroes_alignment;  /* 0: request_alignment */
    int64_t max_pwrite_zeroes;        /* 0: no limit */
    int64_t pdiscard_alignment;       /* 0: request_alignment */
    int64_t max_pdiscard;             /* 0: no limit */
    size_t min_mem_alignment;         /* buffer alignment for O_DIRECT */
    size_t opt_mem_alignment;
} BlockLimits;

struct BlockDriver {
    const char *format_name;
    size_t instance_size;       /* bytes of bs->opaque */
    /* Exactly one FILTERED|PRIMARY child ("file"): status passes through. */
    bool is_filter;
    /* Opened by filename with no child: file, null-co. */
    bool protocol;
    /* The driver may have a "backing" child. */
    bool supports_backing;
    /* Options the driver accepts besides the common ones (NULL-ended). */
    const char *const *runtime_opts;
    /* Options bdrv_create() accepts besides driver (NULL-ended). */
    const char *const *create_opts;

    /*
     * Open @bs from @options (already checked against runtime_opts).  Open
     * children with bdrv_open_child().  @flags are bs->open_flags.
     */
    int (*bdrv_open)(BlockDriverState *bs, BlockOptions *options, int flags,
                     Error **errp);
    void (*bdrv_close)(BlockDriverState *bs);
    /* Fill bs->bl (already holding the values inherited from children). */
    void (*bdrv_refresh_limits)(BlockDriverState *bs, Error **errp);
    /*
     * Permissions for child @c given the node's own cumulative @perm and
     * @shared; NULL means the defaults of bdrv_default_child_perm().
     */
    void (*bdrv_child_perm)(BlockDriverState *bs, BdrvChild *c,
                            BdrvChildRole role, uint64_t perm,
                            uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared);
    /* Called after the node's cumulative permissions changed (locks). */
    int (*bdrv_set_perm)(BlockDriverState *bs, uint64_t perm,
                         uint64_t shared, Error **errp);

    int coroutine_fn (*bdrv_co_preadv)(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags);
    int coroutine_fn (*bdrv_co_pwritev)(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags);
    /*
     * Make the range read as zero.  Flags are limited to
     * bs->supported_zero_flags; -ENOTSUP makes the core write zeroes
     * (unless BDRV_REQ_NO_FALLBACK).
     */
    int coroutine_fn (*bdrv_co_pwrite_zeroes)(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags);
    /* Advisory deallocation; -ENOTSUP is ignored by the core. */
    int coroutine_fn (*bdrv_co_pdiscard)(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes);
    int coroutine_fn (*bdrv_co_flush_to_disk)(BlockDriverState *bs);
    /*
     * Status of [offset, offset + bytes), offset < length.  Return the
     * BDRV_BLOCK_* bits (never ALLOCATED or EOF: the core adds them) with
     * *pnum > 0 (it may exceed bytes), and *map and *file with OFFSET_VALID.
     * @mode (BDRV_WANT_*) says what the caller needs; answering more
     * precisely is always allowed.  NULL: filters answer RAW on their
     * child, protocols DATA|OFFSET_VALID, others DATA.
     */
    int coroutine_fn (*bdrv_co_block_status)(BlockDriverState *bs,
                                             unsigned mode, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file);
    int coroutine_fn (*bdrv_co_truncate)(BlockDriverState *bs,
                                         int64_t offset, bool exact,
                                         PreallocMode prealloc,
                                         BdrvRequestFlags flags,
                                         Error **errp);
    int64_t coroutine_fn (*bdrv_co_getlength)(BlockDriverState *bs);
    int64_t coroutine_fn (*bdrv_co_get_allocated_file_size)(
        BlockDriverState *bs);
    int coroutine_fn (*bdrv_co_get_info)(BlockDriverState *bs,
                                         BlockDriverInfo *bdi);
    /* Create an image from @opts (driver's create_opts, with "driver"). */
    int coroutine_fn (*bdrv_co_create_opts)(BlockOptions *opts,
                                            Error **errp);
    int coroutine_fn (*bdrv_co_check)(BlockDriverState *bs,
                                      BdrvCheckResult *result,
                                      BdrvCheckMode fix);
    /*
     * The backing file name and format stored in the image (either NULL
     * when absent); strings owned by the driver, valid while open.
     */
    void (*bdrv_get_backing_file)(BlockDriverState *bs, const char **name,
                                  const char **format);
    /* See bdrv_get_specific_info() in block.h. */
    BlockOptions *(*bdrv_get_specific_info)(BlockDriverState *bs);
    /* A named event happened on this node (blkdebug acts on it). */
    void (*bdrv_debug_event)(BlockDriverState *bs, BlkdebugEvent event);
    /* Quiesce the driver's own background activity (drained sections). */
    void (*bdrv_drain_begin)(BlockDriverState *bs);
    void (*bdrv_drain_end)(BlockDriverState *bs);
};

/* How a parent of an edge is told about the child's life. */
typedef struct BdrvChildClass {
    bool parent_is_bds;
    /* "node 'NAME'", "block device 'x'", "job 'j'" (g_free the result). */
    char *(*get_parent_desc)(BdrvChild *c);
    void (*drained_begin)(BdrvChild *c);
    void (*drained_end)(BdrvChild *c);
    /* Whether the parent still has activity to wait for in a drain. */
    bool (*drained_poll)(BdrvChild *c);
} BdrvChildClass;

struct BdrvChild {
    BlockDriverState *bs;
    char *name;
    const BdrvChildClass *klass;
    BdrvChildRole role;
    void *opaque;              /* the parent: a BlockDriverState or other */
    uint64_t perm;
    uint64_t shared_perm;
    bool quiesced_parent;      /* this edge's parent was told to drain */
};

/* One request on a node, for overlap serialisation and drain. */
typedef struct BdrvTrackedRequest {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    bool is_write;
    bool serialising;
    int64_t overlap_offset;
    int64_t overlap_bytes;
    Coroutine *co;
    CoQueue wait_queue;        /* requests waiting for this one */
    struct BdrvTrackedRequest *waiting_for;
} BdrvTrackedRequest;

struct BlockDriverState {
    const BlockDriver *drv;
    void *opaque;
    char node_name[32];
    char filename[4096];
    int open_flags;
    bool read_only;
    bool force_share;          /* force-share=on: shares all permissions */
    bool implicit;             /* created by its parent, named "#blockN" */
    int refcnt;
    AioContext *aio_context;
    BlockOptions *options;     /* as opened, for query-named-block-nodes */

    int64_t total_bytes;       /* length, whole sectors (total_sectors) */

    GList *children;           /* BdrvChild *, in attach order */
    GList *parents;            /* BdrvChild * pointing at us */
    BdrvChild *file;
    BdrvChild *backing;

    BlockLimits bl;
    BdrvRequestFlags supported_write_flags;
    BdrvRequestFlags supported_zero_flags;
    BlockdevDetectZeroes detect_zeroes;

    int quiesce_counter;
    unsigned in_flight;        /* requests in this node (atomic) */
    GList *tracked_requests;   /* BdrvTrackedRequest * */
    unsigned serialising_in_flight;

    uint64_t write_gen;        /* bumped by every completed write */
    uint64_t flushed_gen;      /* write_gen at the last successful flush */
    CoMutex flush_lock;        /* serialises flushes */

    GList *dirty_bitmaps;      /* BdrvDirtyBitmap * */
    BdrvMetadataStats metadata_stats;   /* counted by format drivers */

    /* Last data extent a protocol reported, to skip repeated lseeks. */
    struct {
        bool valid;
        int64_t data_start;
        int64_t data_end;
    } bsc;
};

/* The driver table (block/drivers.c). */
const BlockDriver *bdrv_find_format(const char *name);
extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_null_co;
extern const BlockDriver bdrv_qcow2;
extern const BlockDriver bdrv_blkdebug;

/*
 * Open a node of a driver that is not in the driver table (internal
 * filters such as mirror's, test drivers).  @options as for
 * bdrv_open_options(); its "driver" key is ignored.
 */
BlockDriverState *bdrv_new_open_driver(const BlockDriver *drv,
                                       BlockOptions *options, Error **errp);

/*
 * Open the child @name of @parent from @options[name] (a nested dict or the
 * name of an existing node) with @role; NULL and no error when the option
 * is absent and @allow_none.  Attaches it and checks permissions.
 */
BdrvChild *bdrv_open_child(BlockDriverState *parent, BlockOptions *options,
                           const char *name, BdrvChildRole role,
                           bool allow_none, Error **errp);
/* Attach an existing node as child @name of @parent (takes a reference). */
BdrvChild *bdrv_attach_child(BlockDriverState *parent, BlockDriverState *bs,
                             const char *name, BdrvChildRole role,
                             Error **errp);
/* Detach and drop the reference it held. */
void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child);
/* QEMU's defaults for child permissions, by role. */
void bdrv_default_child_perm(BlockDriverState *bs, BdrvChild *c,
                             BdrvChildRole role, uint64_t perm,
                             uint64_t shared, uint64_t *nperm,
                             uint64_t *nshared);
/* Pass-through permissions, for filters. */
void bdrv_filter_child_perm(BlockDriverState *bs, BdrvChild *c,
                            BdrvChildRole role, uint64_t perm,
                            uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared);
/* Recompute permissions of @bs's subtree after its parents changed. */
int bdrv_refresh_perms(BlockDriverState *bs, Error **errp);
/* Cumulative permissions the parents of @bs take and share. */
void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared);
/* Attach a non-node parent (backend, job) to @bs; see block-backend.c. */
BdrvChild *bdrv_root_attach_child(BlockDriverState *bs, const char *name,
                                  const BdrvChildClass *klass,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared, void *opaque,
                                  Error **errp);
void bdrv_root_unref_child(BdrvChild *child);
/* Change an edge's permissions (checks conflicts first). */
int bdrv_child_try_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                            Error **errp);
/* Description of the parent of @c for messages (g_free it). */
char *bdrv_child_user_desc(BdrvChild *c);
/* The child a filter or raw-like node passes I/O to, or NULL. */
BdrvChild *bdrv_filter_child(BlockDriverState *bs);
/* The COW (backing) child, or NULL. */
BdrvChild *bdrv_cow_child(BlockDriverState *bs);
/* The next layer down a chain: the filtered or COW child's node. */
BlockDriverState *bdrv_filter_or_cow_bs(BlockDriverState *bs);

/* Driver information (cluster size...); -ENOTSUP when there is none. */
int coroutine_fn bdrv_co_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);

/* Refresh bs->bl from the children and the driver. */
void bdrv_refresh_limits(BlockDriverState *bs, Error **errp);

/* I/O through a child edge (block/io.c).  Offsets are the child's. */
int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags);
/* Read from @bs itself (no edge): for block-status's head check. */
int coroutine_fn bdrv_co_pread_node(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, void *buf,
                                    BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes);
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);
/* Synchronous versions, for open/close paths outside coroutines. */
int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags);
int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags);
int bdrv_flush(BlockDriverState *bs);

/* Fire @event on @child's node (no-op for drivers that ignore events). */
void bdrv_debug_event(BdrvChild *child, BlkdebugEvent event);

/* In-flight accounting (drain waits for 0). */
void bdrv_inc_in_flight(BlockDriverState *bs);
void bdrv_dec_in_flight(BlockDriverState *bs);

/* Invalidate the block-status cache after writes/discards (io.c). */
void bdrv_bsc_invalidate(BlockDriverState *bs);

/* Dirty bitmaps: mark the range in every enabled bitmap of @bs. */
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes);

/* Refresh bs->total_bytes from the driver, rounded up to 512 bytes. */
int coroutine_fn bdrv_co_refresh_total_bytes(BlockDriverState *bs);

/* Parse the common "discard" / "detect-zeroes" values (options.c). */
extern const char *const bdrv_detect_zeroes_names[];
extern const char *const bdrv_prealloc_names[];

#endif /* EMBLOCK_BLOCK_INT_H */
