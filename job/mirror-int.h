/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Mirror job internals shared by the job (mirror.c) and its filter node
 * (mirror-top.c).
 */
#ifndef EMBLOCK_JOB_MIRROR_INT_H
#define EMBLOCK_JOB_MIRROR_INT_H

#include "block/block-int.h"
#include "block/mirror.h"

/* Operations in flight at most, as QEMU. */
#define MIRROR_MAX_IN_FLIGHT 16
/* Largest single copy. */
#define MIRROR_MAX_IO_BYTES (1 << 20)
/*
 * The loop's slice: idle sleep while ready, and the longest the job runs
 * without yielding to the event loop when every request completes inline.
 */
#define MIRROR_SLICE_NS (100 * 1000 * 1000LL)

typedef enum MirrorMethod {
    MIRROR_METHOD_COPY,
    MIRROR_METHOD_ZERO,
    MIRROR_METHOD_DISCARD,
} MirrorMethod;

typedef struct MirrorBlockJob {
    Job common;
    MirrorOptions opts;

    BlockDriverState *source;     /* the node being mirrored (referenced) */
    BlockDriverState *mirror_top; /* our filter above it */
    BdrvChild *source_child;      /* filter → source: reads go here */
    BlockDriverState *target;     /* referenced */
    BlockBackend *target_blk;
    bool unmap;                   /* zero writes to the target may unmap */

    int64_t granularity;
    int granularity_bits;
    int64_t buf_size;
    int64_t length;

    /*
     * Byte-addressed bitmaps at the job's granularity:
     * dirty: needs copying; in_flight: an operation or active write owns
     * the granule; zero: the target is known to read as zero there.
     */
    HBitmap *dirty;
    HBitmap *in_flight;
    HBitmap *zero;
    int64_t iter_pos;             /* where the next iteration looks */
    int64_t last_yield_ns;        /* when the loop last let others run */

    /*
     * Copy buffers (of the largest copy's size), kept for reuse: a fresh buffer
     * per copy costs a page fault per page and a TLB shoot-down at free.
     * At most one per copy in flight, so bounded by MIRROR_MAX_IN_FLIGHT.
     */
    GSList *free_bufs;
    int ops_in_flight;
    int64_t bytes_in_flight;
    int64_t active_bytes_in_flight;
    CoQueue ops_done;             /* waiters for an operation to finish */
    bool prezeroing;              /* progress is not counted */

    int ret;                      /* first unrecoverable error */
    bool synced;                  /* reached READY */
    bool actively_synced;
    bool should_complete;
    bool in_drain;                /* source drained for completion */
    bool stop;                    /* filter takes no permissions any more */
    MirrorStats stats;
} MirrorBlockJob;

/* The filter driver (mirror-top.c); opaque is MirrorTopState. */
extern const BlockDriver bdrv_mirror_top;

typedef struct MirrorTopState {
    MirrorBlockJob *job;          /* NULL once the job let go */
} MirrorTopState;

/* mirror.c helpers the filter uses */
void mirror_wait_range_free(MirrorBlockJob *s, int64_t offset, int64_t bytes);
void mirror_range_release(MirrorBlockJob *s, int64_t offset, int64_t bytes);
int coroutine_fn mirror_sync_target_write(MirrorBlockJob *s,
                                          MirrorMethod method,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags);

#endif /* EMBLOCK_JOB_MIRROR_INT_H */
