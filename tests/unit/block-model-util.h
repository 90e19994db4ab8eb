/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The machinery of test-block-model.c: a byte-array model of a host file,
 * a seeded generator of requests, the operations that issue them through
 * a BlockBackend and check each answer against the model, and the set-up
 * that runs one sequence on a fresh image.  block-model-util.c holds the
 * model itself (known bugs, random numbers, failure reports, range
 * choices, set-up and the run loop) and the direct-I/O image the
 * regression cases use; block-model-ops.c the single operations and their
 * checks; block-model-batch.c the batches of concurrent requests.
 *
 * Every check fails through model_fail(), which prints the configuration,
 * the seed and the last operations, then aborts.
 */
#ifndef TESTS_UNIT_BLOCK_MODEL_UTIL_H
#define TESTS_UNIT_BLOCK_MODEL_UTIL_H

#include "util/osdep.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "block/block-int.h"
#include "util/aio.h"
#include "util/buffer-zero.h"
#include "util/coroutine.h"

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)

/* Largest read or write the generator makes. */
#define MODEL_MAX_IO (2 * MiB)
/* Operations kept for the failure report. */
#define MODEL_HISTORY 16

/*
 * Bugs this test found that are not fixed yet.  While one is listed in
 * model_open_bugs, its regression case and the configurations that hit it
 * skip, and the random batches steer around it, unless
 * EMBLOCK_MODEL_KNOWN_BUGS=1 asks to see the failures.  Remove the entry
 * together with the fix.
 */
typedef enum ModelBug {
    BUG_NONE,
    BUG_SERIALISING_CYCLE,
} ModelBug;

typedef struct ModelConfig {
    const char *path;        /* GLib test path */
    const char *opts;        /* node options; %s is the image file name */
    int64_t file_size;       /* size of the host file */
    int64_t window_offset;   /* node byte 0 in the file (raw offset=) */
    int64_t window_size;     /* node length; 0: to the end of the file */
    bool discard_unmap;      /* top node has discard=unmap */
    bool direct;             /* cache.direct=on: needs O_DIRECT */
    bool native_aio;         /* aio=native: needs libaio */
    ModelBug bug;            /* an open bug this configuration hits */
} ModelConfig;

typedef struct ModelStats {
    int64_t writes;
    int64_t zero_writes;
    int64_t discards;
    int64_t reads;
    int64_t status;
    int64_t status_zero;     /* answers with ZERO */
    int64_t status_data;     /* answers with DATA */
    int64_t allocated;
    int64_t all_zeroes;      /* bdrv_is_all_zeroes() calls... */
    int64_t all_zeroes_yes;  /* ...that answered 1 */
    int64_t flushes;
    int64_t discarded_zero;  /* discarded bytes that now read as zero */
} ModelStats;

typedef struct Model {
    const ModelConfig *cfg;
    uint32_t seed;
    uint64_t rng;
    int64_t op;              /* index of the current operation */
    int64_t size;            /* node length */
    int64_t host_cap;        /* bytes of host_ref and vbuf */
    uint8_t *host_ref;       /* the host file as it must be, zero past it */
    uint8_t *ref;            /* the node's window of host_ref */
    uint8_t *buf;            /* I/O buffer, MODEL_MAX_IO + 4 KiB, aligned */
    uint8_t *vbuf;           /* verification buffer, host_cap, aligned */
    char *dir;
    char *path;
    int host_fd;             /* the image behind the block layer's back */
    BlockBackend *blk;
    BlockDriverState *bs;    /* the node the backend is attached to */
    BlockDriverState *file_bs; /* the file node under it (or itself) */
    int max_batch;           /* most requests in one batch */
    bool trace;              /* print every operation (EMBLOCK_MODEL_TRACE) */
    char history[MODEL_HISTORY][160];
    ModelStats stats;
    gint progress;           /* bumped per operation, for the watchdog */
    gint stop;               /* tells the watchdog to end */
} Model;

/* Known bugs (block-model-util.c) */

/* Whether @bug is listed as open and the user did not ask to see it. */
bool bug_open(ModelBug bug);
/* Skip the current test case if @bug is open; returns whether it did. */
bool skip_if_bug_open(ModelBug bug);

/* Random numbers (splitmix64: the same sequence everywhere) */

uint64_t rng_next(Model *m);
/* A number in [lo, hi]. */
int64_t rng_range(Model *m, int64_t lo, int64_t hi);
/* True with probability @percent / 100. */
bool rng_chance(Model *m, int percent);

/* History and failure reports */

/* Record the current operation in the history (and trace it). */
void G_GNUC_PRINTF(2, 3) model_log(Model *m, const char *fmt, ...);
/* Print where the sequence stands: configuration, seed, last operations. */
void model_report(Model *m, const char *msg);
/* Report the sequence and abort with @fmt. */
void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN
model_fail(Model *m, const char *fmt, ...);
/* Check that @got equals @want (the model at node offset @off), @bytes. */
void model_compare(Model *m, const char *what, const uint8_t *got,
                   const uint8_t *want, int64_t off, int64_t bytes);

/* Choosing ranges */

/* A request length: mostly small, sometimes large; at most @max. */
int64_t pick_len(Model *m, int64_t max);
/* A start offset for @len bytes, so that the range fits in the node. */
int64_t pick_offset(Model *m, int64_t len);
/* The I/O buffer, now and then at an address that is not aligned. */
uint8_t *pick_buf(Model *m, const char **note);

/* Checks and operations (block-model-ops.c) */

/* Check one block-status answer; @map and @file may be NULL. */
void check_status(Model *m, int64_t off, int64_t bytes, int ret,
                  int64_t pnum, const int64_t *map,
                  BlockDriverState *const *file);
/* After a discard of [off, off + len): check and adopt what it left. */
void discard_adopt(Model *m, int64_t off, int64_t len);
/* After a write: check how far the node grew and adopt its length. */
void model_adopt_length(Model *m);
void op_flush(Model *m);
/* The whole node and the whole host file against the model. */
void op_checkpoint(Model *m);
/* One random operation (a batch counts as several). */
void model_step(Model *m);

/* Concurrent requests (block-model-batch.c) */

/* 2 to m->max_batch requests at once on disjoint ranges. */
void op_batch(Model *m);

/* Running a sequence */

/* Whether files in @dir can be opened O_DIRECT. */
bool dir_supports_direct(const char *dir);
/* Run @nops random operations from @seed on a fresh image. */
void model_run(const ModelConfig *cfg, uint32_t seed, int64_t nops);

/* A `file` node with cache.direct=on on a fresh sparse file. */
typedef struct DirectImage {
    char *dir;
    char *path;
    BlockBackend *blk;
} DirectImage;

/* Open it, or skip the test and return false without O_DIRECT. */
bool direct_image_open(DirectImage *d, int64_t size);
void direct_image_close(DirectImage *d);

#endif
