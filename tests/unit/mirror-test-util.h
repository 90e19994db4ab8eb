/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the mirror job tests (test-mirror*.c): a private
 * temporary directory, images created with emblock's own bdrv_create(),
 * open helpers, waiting with deadlines, a record of job events, a filter
 * that injects I/O errors, and the source/target pair the job tests use.
 */
#ifndef TESTS_UNIT_MIRROR_TEST_UTIL_H
#define TESTS_UNIT_MIRROR_TEST_UTIL_H

#include "util/osdep.h"
#include "block/block-int.h"
#include "block/mirror.h"
#include "block/dirty-bitmap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
/* Every wait in these tests gives up after this long. */
#define TIMEOUT_NS (30 * 1000000000LL)

/*
 * Set up after g_test_init(): the temporary directory (from @tmpl, for
 * g_dir_make_tmp), the event record and the watchdog timer.
 * mirror_test_cleanup() undoes it, removing whatever files a failed test
 * left in the directory.
 */
void mirror_test_init(const char *tmpl);
void mirror_test_cleanup(void);

/* Events, with their data */

typedef struct Event {
    char *name;
    JsonObject *data;
} Event;

/* Every job event since mirror_test_init(), oldest first (Event *). */
extern GPtrArray *events;

/* "NAME" or "JOB_STATUS_CHANGE:status", for order checks (g_free it). */
char *event_str(const Event *e);
/*
 * The first event called @name at or after index *from (NULL if none);
 * on a match *from moves past it.  @from may be NULL (search from 0).
 */
Event *find_event(const char *name, guint *from);
/* How many recorded events are called @name. */
guint count_events(const char *name);
/* Assert that the events from index @from on are exactly @expected. */
void check_event_order(guint from, const char *const *expected, guint n);
/* The member names of @o, sorted and comma-separated (g_free it). */
char *members(JsonObject *o);

/* Waiting with a deadline */

/* One blocking poll that cannot sleep longer than 20 ms. */
void poll_once(void);

/* Poll until @cond holds; g_error() after TIMEOUT_NS. */
#define WAIT_UNTIL(cond)                                                  \
    do {                                                                  \
        int64_t deadline_ = get_clock_ns() + TIMEOUT_NS;                  \
        while (!(cond)) {                                                 \
            if (get_clock_ns() >= deadline_) {                            \
                g_error("%s:%d: timed out waiting for %s", __FILE__,      \
                        __LINE__, #cond);                                 \
            }                                                             \
            poll_once();                                                  \
        }                                                                 \
    } while (0)

/* NULL or CONCLUDED. */
bool job_ended(Job *job);
/* Wait for @status; fails if the job ends first. */
void wait_for_status(Job *job, JobStatus status);
/* Wait until job_ended(). */
void wait_for_end(Job *job);
/* Poll for a while (the job gets to run), without waiting for anything. */
void poll_for_ms(int ms);

/* Images and nodes */

/* A file name in the temporary directory (g_free it). */
char *path(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * Create an image with emblock's own bdrv_create: @driver "file" (a sparse
 * raw file) or "qcow2", optionally with a qcow2 backing file and a
 * preallocation mode for files.
 */
void create_image(const char *driver, const char *p, int64_t size,
                  const char *backing, const char *prealloc);
/* A raw file that is one hole (no allocated head, unlike create_image). */
void sparse_file(const char *p, int64_t size);
/* bdrv_open_string() of the formatted options; g_error() on failure. */
BlockDriverState *open_node(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* A read-write BlockBackend on @bs that shares everything. */
BlockBackend *rw_blk(BlockDriverState *bs);
/* The whole content of @bs as its users read it (g_free it). */
uint8_t *read_all(BlockDriverState *bs, int64_t size);
/* Bytes allocated on disk to the file @p. */
int64_t allocated_bytes(const char *p);
/* Fail with the first differing offset of two buffers. */
void assert_same(const uint8_t *a, const uint8_t *b, int64_t size,
                 const char *what);
/* bdrv_check() finds no corruption, leak or error in the qcow2 @bs. */
void check_qcow2(BlockDriverState *bs, const char *what);
/* A byte pattern that tells offsets and writes apart. */
void fill_pattern(uint8_t *buf, int64_t off, int64_t len, int tag);
/* Write fill_pattern(off, len, tag) at @off through @blk. */
void write_pattern(BlockBackend *blk, int64_t off, int64_t len, int tag);

/* A filter that fails reads and/or writes */

typedef struct InjectState {
    int read_errno;             /* 0: reads pass */
    int write_errno;            /* 0: writes pass */
    int64_t read_off, read_len; /* reads meeting this range fail */
    int reads_failed;
    int writes_failed;
} InjectState;

/* What the "test-fail-rw" filters fail; tests set and reset it. */
extern InjectState inject;

/* A test-fail-rw filter node @node_name over the node @child. */
BlockDriverState *open_fail_filter(const char *node_name, const char *child);

/* Job checks */

/*
 * Progress as QEMU counts it: the bytes of every successful operation,
 * skipped zero writes included; no discards; nothing remains.
 */
void check_progress(Job *job, const MirrorStats *st);

/* A source/target pair (the job tests) */

#define JT_SIZE (20 * MiB)
#define JT_DATA (4 * MiB)

/*
 * A raw source "src" with JT_DATA of pattern at 0 and a file target "dst",
 * both JT_SIZE, named after @tag; teardown_pair() unrefs and deletes them.
 */
void setup_pair(const char *tag, BlockDriverState **src,
                BlockDriverState **dst);
void teardown_pair(const char *tag, BlockDriverState *src,
                   BlockDriverState *dst);
/* The first @size bytes of @a and @b read the same. */
void assert_nodes_equal(BlockDriverState *a, BlockDriverState *b,
                        int64_t size);
/* The source still holds exactly what setup_pair wrote. */
void assert_source_untouched(BlockDriverState *src);
/* @err is set with exactly @msg; frees it. */
void assert_error_msg(Error *err, const char *msg);
/* BLOCK_JOB_ERROR of job0 with exactly these members and values. */
void check_error_event(Event *e, const char *operation, const char *action);
/* BLOCK_JOB_COMPLETED's "error" is @want. */
void check_completed_error(Event *e, const char *want);

/* Registration */

/* Keep a g_strdup'ed test path alive until mirror_test_cleanup(). */
char *keep_name(char *name);
/* "background" or "write-blocking". */
const char *mode_name(MirrorCopyMode mode);

#endif
