/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the I/O back-end tests (test-linux-aio.c,
 * test-io-uring.c, test-thread-pool.c): polling an AioContext with a
 * deadline, a temporary file (O_DIRECT where the file system allows it),
 * block-aligned buffers and a data pattern, a driver that runs a batch of
 * coroutines and waits for all of them, and the "many coroutines write and
 * read back their own blocks" test, parameterised by the back end's
 * submit call.  Everything here runs in the main thread.
 */
#ifndef TESTS_UNIT_AIO_TEST_UTIL_H
#define TESTS_UNIT_AIO_TEST_UTIL_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

#include <sys/uio.h>

/* Every wait in these tests gives up after this long. */
#define AIO_TEST_TIMEOUT_NS (10 * 1000000000LL)
/* The unit of I/O, and the alignment O_DIRECT needs. */
#define AIO_TEST_BLOCK 4096

/* A timer on @ctx that sets @fired after AIO_TEST_TIMEOUT_NS. */
typedef struct AioTestWatchdog {
    QEMUTimer *timer;
    bool fired;
} AioTestWatchdog;

void aio_test_watchdog_start(AioTestWatchdog *wd, AioContext *ctx);
/* Asserts that the watchdog did not fire, then frees its timer. */
void aio_test_watchdog_stop(AioTestWatchdog *wd);

/* Poll @ctx until @cond holds; fail after AIO_TEST_TIMEOUT_NS. */
#define AIO_TEST_POLL_UNTIL(ctx, cond)                                  \
    do {                                                                \
        AioTestWatchdog wd_;                                            \
                                                                        \
        aio_test_watchdog_start(&wd_, (ctx));                           \
        while (!(cond) && !wd_.fired) {                                 \
            aio_poll((ctx), true);                                      \
        }                                                               \
        aio_test_watchdog_stop(&wd_);                                   \
    } while (0)

/*
 * Run @fn in @n coroutines, the i-th getting @args + i * @size, and poll
 * @ctx until every one of them has returned.  All are entered before the
 * first poll, so requests they submit queue up together.
 */
void aio_test_run_coroutines(AioContext *ctx, CoroutineEntry *fn,
                             void *args, size_t size, unsigned n);

/*
 * Mark the test skipped because the back end @what is unavailable, with
 * the reason from @err, and free @err.
 */
void aio_test_skip_unavailable(const char *what, Error *err);

/* A temporary file; with @direct, O_DIRECT unless the file system refuses. */
typedef struct AioTestFile {
    char *path;
    int fd;
    bool direct;
} AioTestFile;

/* @prefix names the file in the temporary directory ("emblock-laio"). */
void aio_test_file_open(AioTestFile *tf, const char *prefix, bool direct);
/* Closes and removes the file. */
void aio_test_file_close(AioTestFile *tf);

/* @size bytes aligned to AIO_TEST_BLOCK; release with free(). */
void *aio_test_alloc_aligned(size_t size);

/* Fill @buf with a pattern that differs for every @seed. */
void aio_test_fill_pattern(uint8_t *buf, size_t len, unsigned seed);

/*
 * Read @nblocks blocks of @fd with pread and assert that block i holds the
 * pattern of seed @seed_base + i.
 */
void aio_test_check_blocks(int fd, unsigned nblocks, unsigned seed_base);

/*
 * A back end's vectored request: @backend is the test's state, @write
 * selects writing @iov to @fd at @offset or reading it back.  Returns 0 or
 * -errno.
 */
typedef int coroutine_fn AioTestSubmitFn(void *backend, int fd,
                                         uint64_t offset,
                                         struct iovec *iov, int niov,
                                         bool write);

/*
 * Short reads at end of file complete with zeroes: with @tf holding a
 * block and a bit more of written data, read through @submit, all at
 * once, two blocks with one iovec, the same with two iovecs (the short
 * part spanning the second) and a block entirely past end of file.
 */
void aio_test_short_read(AioContext *ctx, AioTestSubmitFn *submit,
                         void *backend, AioTestFile *tf);

/*
 * @workers coroutines at once, each writing and reading back its own
 * block of @fd through @submit for @rounds rounds (odd ones with two
 * iovecs per request); then the file, read without the back end, must
 * hold the last round's data.  @fd is resized to @workers blocks first.
 */
void aio_test_rw_concurrent(AioContext *ctx, AioTestSubmitFn *submit,
                            void *backend, int fd, unsigned workers,
                            unsigned rounds);

#endif
