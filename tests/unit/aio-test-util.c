/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers shared by the I/O back-end tests; see aio-test-util.h.
 */
#include "aio-test-util.h"

#include <fcntl.h>

static void watchdog_cb(void *opaque)
{
    ((AioTestWatchdog *)opaque)->fired = true;
}

void aio_test_watchdog_start(AioTestWatchdog *wd, AioContext *ctx)
{
    wd->fired = false;
    wd->timer = aio_timer_new(ctx, watchdog_cb, wd);
    timer_mod_ns(wd->timer, qemu_clock_get_ns() + AIO_TEST_TIMEOUT_NS);
}

void aio_test_watchdog_stop(AioTestWatchdog *wd)
{
    g_assert_false(wd->fired);
    timer_free(wd->timer);
}

/* One coroutine of aio_test_run_coroutines(). */
typedef struct RunCo {
    CoroutineEntry *fn;
    void *opaque;
    unsigned *finished;
} RunCo;

static void coroutine_fn run_co(void *opaque)
{
    RunCo *rc = opaque;

    rc->fn(rc->opaque);
    (*rc->finished)++;
}

void aio_test_run_coroutines(AioContext *ctx, CoroutineEntry *fn,
                             void *args, size_t size, unsigned n)
{
    g_autofree RunCo *cos = g_new(RunCo, n);
    unsigned finished = 0;

    for (unsigned i = 0; i < n; i++) {
        cos[i] = (RunCo){ .fn = fn, .opaque = (char *)args + i * size,
                          .finished = &finished };
        qemu_coroutine_enter(qemu_coroutine_create(run_co, &cos[i]));
    }
    AIO_TEST_POLL_UNTIL(ctx, finished == n);
}

void aio_test_skip_unavailable(const char *what, Error *err)
{
    g_autofree char *msg =
        g_strdup_printf("%s unavailable: %s", what, error_get_pretty(err));

    g_test_skip(msg);
    error_free(err);
}

void aio_test_file_open(AioTestFile *tf, const char *prefix, bool direct)
{
    g_autofree char *name = g_strdup_printf("%s-XXXXXX", prefix);
    int tmp;

    tf->path = g_build_filename(g_get_tmp_dir(), name, NULL);
    tmp = g_mkstemp(tf->path);
    g_assert_cmpint(tmp, >=, 0);
    close(tmp);
    tf->fd = -1;
    if (direct) {
        tf->fd = open(tf->path, O_RDWR | O_DIRECT | O_CLOEXEC);
        if (tf->fd < 0) {
            g_assert_cmpint(errno, ==, EINVAL);
            g_test_message("O_DIRECT refused by the file system of %s: "
                           "testing buffered I/O", tf->path);
        }
    }
    tf->direct = tf->fd >= 0;
    if (tf->fd < 0) {
        tf->fd = open(tf->path, O_RDWR | O_CLOEXEC);
        g_assert_cmpint(tf->fd, >=, 0);
    }
}

void aio_test_file_close(AioTestFile *tf)
{
    close(tf->fd);
    unlink(tf->path);
    g_free(tf->path);
}

void *aio_test_alloc_aligned(size_t size)
{
    void *p = NULL;

    g_assert_cmpint(posix_memalign(&p, AIO_TEST_BLOCK, size), ==, 0);
    return p;
}

void aio_test_fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed * 131 + i * 13 + (i >> 9));
    }
}

void aio_test_check_blocks(int fd, unsigned nblocks, unsigned seed_base)
{
    uint8_t *buf = aio_test_alloc_aligned(AIO_TEST_BLOCK);
    uint8_t *expect = aio_test_alloc_aligned(AIO_TEST_BLOCK);

    for (unsigned i = 0; i < nblocks; i++) {
        g_assert_cmpint(pread(fd, buf, AIO_TEST_BLOCK,
                              (off_t)i * AIO_TEST_BLOCK), ==, AIO_TEST_BLOCK);
        aio_test_fill_pattern(expect, AIO_TEST_BLOCK, seed_base + i);
        g_assert_cmpmem(buf, AIO_TEST_BLOCK, expect, AIO_TEST_BLOCK);
    }
    free(buf);
    free(expect);
}

/* One request of aio_test_short_read(). */
typedef struct ReadReq {
    AioTestSubmitFn *submit;
    void *backend;
    int fd;
    uint64_t offset;
    struct iovec iov[2];
    int niov;
    int ret;
} ReadReq;

static void coroutine_fn read_co(void *opaque)
{
    ReadReq *rr = opaque;

    rr->ret = rr->submit(rr->backend, rr->fd, rr->offset, rr->iov, rr->niov,
                         false);
}

void aio_test_short_read(AioContext *ctx, AioTestSubmitFn *submit,
                         void *backend, AioTestFile *tf)
{
    enum { BLOCK = AIO_TEST_BLOCK, DATA = BLOCK + 1000 };
    uint8_t *data, *buf, *buf2, *buf3;
    ReadReq rr[3];
    int bfd;

    /* Write an unaligned amount of data through a buffered descriptor. */
    data = g_malloc(DATA);
    aio_test_fill_pattern(data, DATA, 99);
    bfd = open(tf->path, O_WRONLY | O_CLOEXEC);
    g_assert_cmpint(bfd, >=, 0);
    g_assert_cmpint(pwrite(bfd, data, DATA, 0), ==, DATA);
    g_assert_cmpint(fsync(bfd), ==, 0);
    close(bfd);

    buf = aio_test_alloc_aligned(2 * BLOCK);
    buf2 = aio_test_alloc_aligned(2 * BLOCK);
    buf3 = aio_test_alloc_aligned(BLOCK);
    memset(buf, 0xa5, 2 * BLOCK);
    memset(buf2, 0xa5, 2 * BLOCK);
    memset(buf3, 0xa5, BLOCK);

    /* [0, 8 KiB): the data, then zeroes after end of file. */
    rr[0] = (ReadReq){ .submit = submit, .backend = backend, .fd = tf->fd,
                       .niov = 1 };
    rr[0].iov[0] = (struct iovec){ buf, 2 * BLOCK };
    /* The same with two iovecs: the short part spans the second one. */
    rr[1] = (ReadReq){ .submit = submit, .backend = backend, .fd = tf->fd,
                       .niov = 2 };
    rr[1].iov[0] = (struct iovec){ buf2, BLOCK };
    rr[1].iov[1] = (struct iovec){ buf2 + BLOCK, BLOCK };
    /* Entirely past end of file: all zeroes. */
    rr[2] = (ReadReq){ .submit = submit, .backend = backend, .fd = tf->fd,
                       .offset = 4 * BLOCK, .niov = 1 };
    rr[2].iov[0] = (struct iovec){ buf3, BLOCK };

    aio_test_run_coroutines(ctx, read_co, rr, sizeof(rr[0]), 3);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(rr[i].ret, ==, 0);
    }
    g_assert_cmpmem(buf, DATA, data, DATA);
    g_assert_cmpmem(buf2, DATA, data, DATA);
    for (size_t i = DATA; i < 2 * BLOCK; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
        g_assert_cmpuint(buf2[i], ==, 0);
    }
    for (size_t i = 0; i < BLOCK; i++) {
        g_assert_cmpuint(buf3[i], ==, 0);
    }
    free(buf);
    free(buf2);
    free(buf3);
    g_free(data);
}

/* One coroutine of aio_test_rw_concurrent(), owning block @index. */
typedef struct RwWorker {
    AioTestSubmitFn *submit;
    void *backend;
    int fd;
    unsigned index;
    unsigned workers;
    unsigned rounds;
    int errors;
} RwWorker;

static void coroutine_fn rw_worker(void *opaque)
{
    enum { BLOCK = AIO_TEST_BLOCK };
    RwWorker *w = opaque;
    uint8_t *wbuf = aio_test_alloc_aligned(BLOCK);
    uint8_t *rbuf = aio_test_alloc_aligned(BLOCK);

    for (unsigned round = 0; round < w->rounds; round++) {
        /* Odd workers use two iovecs per request. */
        unsigned seed = w->index + round * w->workers;
        uint64_t offset = (uint64_t)w->index * BLOCK;
        struct iovec wiov[2], riov[2];
        int niov = w->index % 2 ? 2 : 1;
        int ret;

        aio_test_fill_pattern(wbuf, BLOCK, seed);
        memset(rbuf, 0xa5, BLOCK);
        if (niov == 1) {
            wiov[0] = (struct iovec){ wbuf, BLOCK };
            riov[0] = (struct iovec){ rbuf, BLOCK };
        } else {
            wiov[0] = (struct iovec){ wbuf, BLOCK / 2 };
            wiov[1] = (struct iovec){ wbuf + BLOCK / 2, BLOCK / 2 };
            riov[0] = (struct iovec){ rbuf, BLOCK / 2 };
            riov[1] = (struct iovec){ rbuf + BLOCK / 2, BLOCK / 2 };
        }
        ret = w->submit(w->backend, w->fd, offset, wiov, niov, true);
        if (ret != 0) {
            g_test_message("worker %u: write: %s", w->index, strerror(-ret));
            w->errors++;
            break;
        }
        ret = w->submit(w->backend, w->fd, offset, riov, niov, false);
        if (ret != 0) {
            g_test_message("worker %u: read: %s", w->index, strerror(-ret));
            w->errors++;
            break;
        }
        if (memcmp(wbuf, rbuf, BLOCK) != 0) {
            g_test_message("worker %u: round %u read back wrong data",
                           w->index, round);
            w->errors++;
        }
    }
    free(wbuf);
    free(rbuf);
}

void aio_test_rw_concurrent(AioContext *ctx, AioTestSubmitFn *submit,
                            void *backend, int fd, unsigned workers,
                            unsigned rounds)
{
    g_autofree RwWorker *w = g_new(RwWorker, workers);

    g_assert_cmpuint(rounds, >=, 1);
    g_assert_cmpint(ftruncate(fd, (off_t)workers * AIO_TEST_BLOCK), ==, 0);
    for (unsigned i = 0; i < workers; i++) {
        w[i] = (RwWorker){ .submit = submit, .backend = backend, .fd = fd,
                           .index = i, .workers = workers,
                           .rounds = rounds };
    }
    aio_test_run_coroutines(ctx, rw_worker, w, sizeof(*w), workers);
    for (unsigned i = 0; i < workers; i++) {
        g_assert_cmpint(w[i].errors, ==, 0);
    }
    /* The file holds the last round's data, read without the back end. */
    aio_test_check_blocks(fd, workers, (rounds - 1) * workers);
}
