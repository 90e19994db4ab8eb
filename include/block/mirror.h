/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The mirror job: copy a source node to a target node while the source is
 * in use, then (on completion) switch the source's users to the target.
 */
#ifndef EMBLOCK_BLOCK_MIRROR_H
#define EMBLOCK_BLOCK_MIRROR_H

#include "block/block.h"
#include "block/job.h"

typedef enum MirrorSyncMode {
    MIRROR_SYNC_MODE_FULL,
    MIRROR_SYNC_MODE_TOP,
    MIRROR_SYNC_MODE_NONE,
} MirrorSyncMode;

typedef enum MirrorCopyMode {
    MIRROR_COPY_MODE_BACKGROUND,
    MIRROR_COPY_MODE_WRITE_BLOCKING,
} MirrorCopyMode;

typedef struct MirrorOptions {
    MirrorSyncMode sync;
    int64_t granularity;        /* 0: default from the target */
    int64_t buf_size;           /* 0: 16 MiB */
    int64_t speed;
    BlockdevOnError on_source_error;
    BlockdevOnError on_target_error;
    MirrorCopyMode copy_mode;
    bool target_is_zero;
    bool auto_finalize;
    bool auto_dismiss;
    const char *filter_node_name;  /* NULL: an implicit filter */
} MirrorOptions;

/* The defaults of blockdev-mirror. */
void mirror_options_init(MirrorOptions *opts);

/*
 * Start mirroring @source to @target as job @job_id.  Inserts the
 * mirror_top filter above @source, takes WRITE on @target, and starts the
 * job.  Returns the job, or NULL with @errp set (nothing changed).
 */
Job *mirror_start(const char *job_id, BlockDriverState *source,
                  BlockDriverState *target, const MirrorOptions *opts,
                  Error **errp);

/*
 * Counters of one mirror job, for tests: operations issued by kind, zero
 * writes skipped thanks to the zero bitmap, and bytes of each.
 */
typedef struct MirrorStats {
    uint64_t copy_ops;
    uint64_t zero_ops;
    uint64_t zero_ops_skipped;
    uint64_t discard_ops;
    uint64_t copy_bytes;
    uint64_t zero_bytes;
    uint64_t zero_bytes_skipped;
    uint64_t prezero_bytes;
    uint64_t active_writes;
} MirrorStats;

/* The job's counters; false if @job is not a mirror job. */
bool mirror_get_stats(Job *job, MirrorStats *stats);

#endif /* EMBLOCK_BLOCK_MIRROR_H */
