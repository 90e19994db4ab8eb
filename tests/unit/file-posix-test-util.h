/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by test-file-posix.c (create, truncate, open, locking)
 * and test-file-posix-io.c (reads and writes on every back end, flush,
 * write-zeroes, discard, block status): a private temporary directory,
 * images created with bdrv_create(), open helpers, looks at the file
 * itself with stat(), lseek() and fallocate(), probes that skip a test
 * when O_DIRECT, libaio or io_uring is missing, and calls into the
 * driver's own callbacks from a coroutine, where the core would hide the
 * behaviour under test.
 */
#ifndef TESTS_UNIT_FILE_POSIX_TEST_UTIL_H
#define TESTS_UNIT_FILE_POSIX_TEST_UTIL_H

#include "util/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "util/io-uring.h"
#include "util/linux-aio.h"

#include <sys/stat.h>

#define KiB 1024LL
#define MiB (1024 * KiB)

#define PERM_RW (BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE)

/* Fail with the message when @err is set. */
#define assert_no_error(err)                                            \
    do {                                                                \
        if (err) {                                                      \
            g_error("unexpected error: %s", error_get_pretty(err));     \
        }                                                               \
    } while (0)

/* ---- The temporary directory ------------------------------------------ */

/* The directory every test works in, made by file_posix_test_init(). */
extern char *test_dir;

/*
 * Make the temporary directory (from @tmpl, for g_dir_make_tmp) after
 * g_test_init().  file_posix_test_cleanup() removes it with whatever files
 * a failed test left in it.
 */
void file_posix_test_init(const char *tmpl);
void file_posix_test_cleanup(void);

/* @name inside the temporary directory (g_free it). */
char *test_path(const char *name);

/* ---- Images and files ------------------------------------------------- */

/* bdrv_create() a file image; @prealloc may be NULL (the default). */
int create_image(const char *path, int64_t size, const char *prealloc,
                 Error **errp);
/* Open a file node with extra dotted options (may be NULL). */
BlockDriverState *open_node(const char *path, const char *extra,
                            Error **errp);
/* A read-write backend on a new file node, sharing everything. */
BlockBackend *open_blk(const char *path, const char *extra);

struct stat stat_path(const char *path);
/* Bytes the file system allocated to the file (st_blocks). */
int64_t allocated_bytes(const char *path);
/* lseek(SEEK_DATA or SEEK_HOLE) on the file, -errno on failure. */
int64_t seek_path(const char *path, int64_t offset, int whence);
/* Make a file of @size bytes filled with @c, written and synced. */
void make_filled_file(const char *path, int64_t size, int c);
/* Punch a hole of @len bytes at @offset, keeping the size. */
void punch_path(const char *path, int64_t offset, int64_t len);
/* Read @len bytes at @offset of the file itself. */
void read_path(const char *path, int64_t offset, void *buf, size_t len);
/* Whether all @len bytes of @buf are @c. */
bool buf_is(const void *buf, int c, size_t len);

/* ---- Calling driver callbacks from a coroutine ------------------------ */

/* The driver's own read or write of @len bytes of @buf at @offset. */
int drv_rw(BlockDriverState *bs, bool is_write, int64_t offset,
           void *buf, size_t len);
/* The driver's own write-zeroes. */
int drv_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
               BdrvRequestFlags flags);
/* The driver's own idea of the length (the core caches its own). */
int64_t drv_getlength(BlockDriverState *bs);
/* The driver's own block-status answer; checks map and file too. */
int drv_status(BlockDriverState *bs, unsigned mode, int64_t offset,
               int64_t bytes, int64_t *pnum);

/* ---- What the file system, build and kernel support ------------------- */

/* Whether files in the test directory can be opened O_DIRECT. */
bool direct_io_works(void);
/*
 * Whether the build has io_uring and the kernel gives this process a ring
 * (a sysctl or a container's seccomp profile may refuse it).
 */
bool io_uring_works(void);

/*
 * Each skips the test with g_test_skip(), saying why, and returns true
 * when the feature is missing.  Linux AIO needs O_DIRECT as well.
 */
bool skip_without_direct_io(void);
bool skip_without_linux_aio(void);
bool skip_without_io_uring(void);

#endif
