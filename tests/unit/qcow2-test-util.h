/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the qcow2 tests: a private temporary directory, image
 * creation and opening through the public API, and QEMU's own tools
 * (qemu-img, qemu-io) as the judge where they are installed.  Tests that
 * need a tool skip only the assertions that need it, with a message.
 */
#ifndef TESTS_UNIT_QCOW2_TEST_UTIL_H
#define TESTS_UNIT_QCOW2_TEST_UTIL_H

#include "util/osdep.h"
#include "block/block-int.h"

#ifndef KiB
#define KiB (INT64_C(1) << 10)
#endif
#ifndef MiB
#define MiB (INT64_C(1) << 20)
#endif

/* On-disk L1/L2 entry bits (docs/interop/qcow2). */
#define QT_OFLAG_COPIED (1ULL << 63)
#define QT_ENTRY_OFFSET_MASK 0x00fffffffffffe00ULL

#define QEMU_IMG "/usr/bin/qemu-img"
#define QEMU_IO "/usr/bin/qemu-io"

/* A private temporary directory, removed with everything in it. */
char *qt_dir_new(void);
void qt_dir_free(char *dir);
/* @dir/@name (g_free it). */
char *qt_path(const char *dir, const char *name);

/*
 * Create a qcow2 image of @size at @path with extra creation options @opts
 * (JSON members without braces, e.g. "\"cluster_size\": 4096", or NULL).
 */
void qt_create(const char *path, int64_t size, const char *opts);
/* Same, returning the error message instead of asserting (g_free it). */
char *qt_create_err(const char *path, int64_t size, const char *opts);

/*
 * Open @path as qcow2 with extra options @opts (JSON members, or NULL),
 * writable, discard=unmap; returns a backend owning the node.
 */
BlockBackend *qt_open(const char *path, const char *opts);
/* Same, read-only. */
BlockBackend *qt_open_ro(const char *path, const char *opts);
/*
 * Open @path as qcow2, writable, over a blkdebug node with one
 * inject-error rule whose JSON members (without braces) are @rule, e.g.
 * "\"event\": \"cow_write\", \"errno\": 5"; returns a backend owning
 * the node.
 */
BlockBackend *qt_open_injecting(const char *path, const char *rule);
/* The open error message for @path with @opts (must fail; g_free it). */
char *qt_open_err(const char *path, const char *opts, bool writable);

/* Whether QEMU's tools are installed (a test message says when not). */
bool qt_have_qemu(void);
/*
 * Run a command line (argv) and return its exit status; its stdout and
 * stderr are stored in *out (g_free it) when @out is not NULL.
 */
int qt_run(const char *const *argv, char **out);
/* qemu-img check -f qcow2 @path: exit status (0 clean, 2, 3, ...). */
int qt_qemu_check(const char *path, char **out);
/*
 * qemu-img check --output=json: exit status, and the corruption and leak
 * counts it reports.
 */
int qt_qemu_check_counts(const char *path, int64_t *corruptions,
                         int64_t *leaks);
/* qemu-img compare of a qcow2 and a raw image: exit status. */
int qt_qemu_compare(const char *qcow2, const char *raw);
/* qemu-io -f qcow2 -c @cmd @path; asserts success. */
void qt_qemu_io(const char *path, const char *cmd);

/* Our own check through the driver: returns the result. */
/* Fill @buf with a pattern that differs per @seed and per 512-byte block. */
void qt_fill_pattern(uint8_t *buf, int64_t len, uint32_t seed);
/* @blk must read @ref[off, off + len); a mismatch names the first byte. */
void qt_assert_reads(BlockBackend *blk, const uint8_t *ref, int64_t off,
                     int64_t len);

BdrvCheckResult qt_check(BlockBackend *blk, BdrvCheckMode fix);
/* Our check of @blk must find nothing wrong. */
void qt_assert_check_clean(BlockBackend *blk);
/* qemu-img check of @path must find nothing wrong (if installed). */
void qt_assert_qemu_clean(const char *path);
/*
 * Check @path read-only with our check and, if installed, qemu-img check;
 * the corruption and leak counts must agree.  Returns our result.
 */
BdrvCheckResult qt_check_both(const char *path);
/* Check and repair @path (opened writable) with @fix; returns the result. */
BdrvCheckResult qt_repair(const char *path, BdrvCheckMode fix);

/*
 * Close @blk after our check of it and qemu-img check of its image @path
 * (if installed) both found nothing wrong.  @blk must be the last user of
 * @path, so that qemu-img sees everything written.
 */
void qt_close_clean(BlockBackend *blk, const char *path);
/*
 * Write @ref[0, len) as a raw image at @raw; qemu-img check of @path must
 * find nothing wrong and qemu-img compare must find @path identical to
 * @raw (both only if installed).  @path must not be open.
 */
void qt_assert_qemu_matches(const char *path, const char *raw,
                            const uint8_t *ref, int64_t len);

/* SHA-256 of the file's bytes (g_free it). */
char *qt_file_checksum(const char *path);
int64_t qt_file_size(const char *path);
/* Bytes the file takes on disk. */
int64_t qt_file_allocated(const char *path);
/* Overwrite @len bytes at @off of @path (to corrupt images by hand). */
void qt_file_write(const char *path, int64_t off, const void *buf,
                   size_t len);
void qt_file_read(const char *path, int64_t off, void *buf, size_t len);
void qt_file_put_be64(const char *path, int64_t off, uint64_t v);
void qt_file_put_be32(const char *path, int64_t off, uint32_t v);
uint64_t qt_file_get_be64(const char *path, int64_t off);

/* Write @len bytes of @buf to a new raw file at @path. */
void qt_write_raw(const char *path, const void *buf, size_t len);

/* Block status of the top node (one call); returns the flags. */
int qt_status(BlockBackend *blk, int64_t off, int64_t bytes, int64_t *pnum,
              int64_t *map);

/*
 * One request for qt_run_concurrently(): a write of @buf, or with @buf
 * NULL a zero write with @flags.  @ret and @done are outputs.
 */
typedef struct QtCoOp {
    BlockBackend *blk;
    int64_t off;
    int64_t len;
    uint8_t *buf;
    BdrvRequestFlags flags;
    int ret;
    bool done;
} QtCoOp;

/*
 * Start each of @ops[0, n) in its own coroutine, in order, from the main
 * loop; poll until all are done, then assert that each returned 0.
 */
void qt_run_concurrently(QtCoOp *ops, int n);

#endif /* TESTS_UNIT_QCOW2_TEST_UTIL_H */
