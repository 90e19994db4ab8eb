/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Types and constants shared by the public block API, the driver API and
 * the tools: open flags, request flags, block-status bits and mode flags,
 * permissions and child roles.  Values are QEMU's.
 */
#ifndef EMBLOCK_BLOCK_COMMON_H
#define EMBLOCK_BLOCK_COMMON_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/iov.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct BdrvChild BdrvChild;
typedef struct BlockBackend BlockBackend;
typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;
typedef struct _JsonObject BlockOptions;   /* a json-glib JsonObject */

/* Open flags (bs->open_flags). */
#define BDRV_O_RDWR         0x0002
#define BDRV_O_NOCACHE      0x0020   /* O_DIRECT (cache.direct) */
#define BDRV_O_NATIVE_AIO   0x0080   /* aio=native */
#define BDRV_O_NO_FLUSH     0x0200   /* cache.no-flush */
#define BDRV_O_UNMAP        0x4000   /* discard=unmap */
#define BDRV_O_AUTO_RDONLY  0x20000
#define BDRV_O_IO_URING     0x40000

/* Request flags. */
typedef enum BdrvRequestFlags {
    BDRV_REQ_COPY_ON_READ    = 0x1,
    BDRV_REQ_ZERO_WRITE      = 0x2,
    BDRV_REQ_MAY_UNMAP       = 0x4,
    BDRV_REQ_FUA             = 0x10,
    BDRV_REQ_WRITE_COMPRESSED = 0x20,
    BDRV_REQ_WRITE_UNCHANGED = 0x40,
    BDRV_REQ_SERIALISING     = 0x80,
    BDRV_REQ_NO_FALLBACK     = 0x100,
    BDRV_REQ_NO_WAIT         = 0x400,
    BDRV_REQ_MASK            = 0x7ff,
} BdrvRequestFlags;

/* Block-status result bits (see block-status.c for the contract). */
#define BDRV_BLOCK_DATA         0x01
#define BDRV_BLOCK_ZERO         0x02
#define BDRV_BLOCK_OFFSET_VALID 0x04
#define BDRV_BLOCK_RAW          0x08
#define BDRV_BLOCK_ALLOCATED    0x10
#define BDRV_BLOCK_EOF          0x20
#define BDRV_BLOCK_RECURSE      0x40
#define BDRV_BLOCK_COMPRESSED   0x80

/* Block-status mode flags: what the caller wants to know. */
#define BDRV_WANT_ZERO          BDRV_BLOCK_ZERO
#define BDRV_WANT_OFFSET_VALID  BDRV_BLOCK_OFFSET_VALID
#define BDRV_WANT_OFFSET        BDRV_WANT_OFFSET_VALID
#define BDRV_WANT_ALLOCATED     BDRV_BLOCK_ALLOCATED
#define BDRV_WANT_PRECISE       (BDRV_WANT_ZERO | BDRV_WANT_OFFSET_VALID)

/* Permissions a parent takes on a child, and shares with other parents. */
#define BLK_PERM_CONSISTENT_READ  0x01
#define BLK_PERM_WRITE            0x02
#define BLK_PERM_WRITE_UNCHANGED  0x04
#define BLK_PERM_RESIZE           0x08
#define BLK_PERM_ALL              0x0f

/* Roles of a child edge. */
typedef enum BdrvChildRole {
    BDRV_CHILD_DATA      = 0x01,
    BDRV_CHILD_METADATA  = 0x02,
    BDRV_CHILD_FILTERED  = 0x04,
    BDRV_CHILD_COW       = 0x08,
    BDRV_CHILD_PRIMARY   = 0x10,
    BDRV_CHILD_IMAGE     = BDRV_CHILD_DATA | BDRV_CHILD_METADATA |
                           BDRV_CHILD_PRIMARY,
} BdrvChildRole;

typedef enum BlockdevDetectZeroes {
    BLOCKDEV_DETECT_ZEROES_OFF,
    BLOCKDEV_DETECT_ZEROES_ON,
    BLOCKDEV_DETECT_ZEROES_UNMAP,
} BlockdevDetectZeroes;

typedef enum PreallocMode {
    PREALLOC_MODE_OFF,
    PREALLOC_MODE_METADATA,
    PREALLOC_MODE_FALLOC,
    PREALLOC_MODE_FULL,
} PreallocMode;

/* Largest offset+bytes of any request (INT64_MAX rounded down to 1 GiB). */
#define BDRV_MAX_LENGTH  (INT64_MAX & ~((int64_t)(1 << 30) - 1))
/* Largest read or write with a buffer (INT_MAX rounded down to 512). */
#define BDRV_REQUEST_MAX_BYTES  ((int64_t)(INT_MAX & ~511))
#define BDRV_SECTOR_SIZE 512

/* Result of a consistency check (qemu-img check). */
typedef struct BdrvCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    int64_t total_clusters;
    int64_t allocated_clusters;
    int64_t fragmented_clusters;
    int64_t compressed_clusters;
} BdrvCheckResult;

typedef enum BdrvCheckMode {
    BDRV_FIX_LEAKS = 1,
    BDRV_FIX_ERRORS = 2,
} BdrvCheckMode;

typedef struct BlockDriverInfo {
    int cluster_size;           /* 0: not a clustered format */
    bool is_dirty;
} BlockDriverInfo;

/*
 * Metadata writes a format driver has issued on a node since it was
 * opened, by kind; tests use them to prove that an operation wrote none.
 */
typedef struct BdrvMetadataStats {
    uint64_t header_writes;
    uint64_t l1_writes;
    uint64_t l2_writes;
    uint64_t refcount_writes;     /* refcount blocks and table */
} BdrvMetadataStats;

/* Name of a permission bit, for messages ("write", "resize", ...). */
const char *bdrv_perm_name(uint64_t perm);
/* "consistent read, write" style list of all bits in @perm (g_free it). */
char *bdrv_perm_names(uint64_t perm);

#endif /* EMBLOCK_BLOCK_COMMON_H */
