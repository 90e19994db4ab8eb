/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the Linux native AIO back end (util/linux-aio.c): real reads
 * and writes of a temporary file, with O_DIRECT where the file system
 * allows it, from many concurrent coroutines; zero-filled short reads at
 * end of file; errors.  Skipped when the kernel refuses an AIO context.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/linux-aio.h"

#include <fcntl.h>

#define TIMEOUT_NS (10 * 1000000000LL)
#define BLOCK 4096

static AioContext *ctx;

typedef struct Watchdog {
    QEMUTimer *timer;
    bool fired;
} Watchdog;

static void watchdog_cb(void *opaque)
{
    ((Watchdog *)opaque)->fired = true;
}

/* Poll the main context until @cond holds; fail after TIMEOUT_NS. */
#define POLL_UNTIL(cond)                                                \
    do {                                                                \
        Watchdog wd_ = { 0 };                                           \
                                                                        \
        wd_.timer = aio_timer_new(ctx, watchdog_cb, &wd_);              \
        timer_mod_ns(wd_.timer, qemu_clock_get_ns() + TIMEOUT_NS);      \
        while (!(cond) && !wd_.fired) {                                 \
            aio_poll(ctx, true);                                        \
        }                                                               \
        g_assert_false(wd_.fired);                                      \
        timer_free(wd_.timer);                                          \
    } while (0)

/*
 * The context's Linux AIO state, or NULL after marking the test skipped
 * (kernel without AIO, io_setup limits reached, build without libaio).
 */
static LinuxAioState *get_laio(void)
{
    Error *err = NULL;
    LinuxAioState *s = aio_get_linux_aio(ctx, &err);

    if (!s) {
        g_autofree char *msg =
            g_strdup_printf("Linux AIO unavailable: %s",
                            error_get_pretty(err));

        g_test_skip(msg);
        error_free(err);
    }
    return s;
}

/* A temporary file, opened with O_DIRECT unless the file system refuses. */
typedef struct TestFile {
    char *path;
    int fd;
    bool direct;
} TestFile;

static void test_file_open(TestFile *tf)
{
    int tmp;

    tf->path = g_build_filename(g_get_tmp_dir(), "emblock-laio-XXXXXX",
                                NULL);
    tmp = g_mkstemp(tf->path);
    g_assert_cmpint(tmp, >=, 0);
    close(tmp);
    tf->fd = open(tf->path, O_RDWR | O_DIRECT | O_CLOEXEC);
    tf->direct = tf->fd >= 0;
    if (tf->fd < 0) {
        g_assert_cmpint(errno, ==, EINVAL);
        g_test_message("O_DIRECT refused by the file system of %s: "
                       "testing buffered I/O", tf->path);
        tf->fd = open(tf->path, O_RDWR | O_CLOEXEC);
        g_assert_cmpint(tf->fd, >=, 0);
    }
}

static void test_file_close(TestFile *tf)
{
    close(tf->fd);
    unlink(tf->path);
    g_free(tf->path);
}

static void *aligned_alloc_block(size_t size)
{
    void *p = NULL;

    g_assert_cmpint(posix_memalign(&p, BLOCK, size), ==, 0);
    return p;
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed * 131 + i * 13 + (i >> 9));
    }
}

/* Many coroutines writing and reading back their own blocks at once. */

enum { WORKERS = 64, ROUNDS = 4 };

typedef struct Worker {
    LinuxAioState *s;
    int fd;
    unsigned index;
    int errors;
    unsigned *finished;
} Worker;

static void coroutine_fn rw_worker(void *opaque)
{
    Worker *w = opaque;
    uint8_t *wbuf = aligned_alloc_block(BLOCK);
    uint8_t *rbuf = aligned_alloc_block(BLOCK);

    for (unsigned round = 0; round < ROUNDS; round++) {
        /* Odd workers use two iovecs per request. */
        unsigned seed = w->index + round * WORKERS;
        uint64_t offset = (uint64_t)w->index * BLOCK;
        struct iovec wiov[2], riov[2];
        int niov = w->index % 2 ? 2 : 1;
        int ret;

        fill_pattern(wbuf, BLOCK, seed);
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
        ret = laio_co_submit(w->s, w->fd, offset, wiov, niov, LAIO_WRITE);
        if (ret != 0) {
            g_test_message("worker %u: write: %s", w->index, strerror(-ret));
            w->errors++;
            break;
        }
        ret = laio_co_submit(w->s, w->fd, offset, riov, niov, LAIO_READ);
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
    (*w->finished)++;
}

static void test_rw_concurrent(void)
{
    LinuxAioState *s = get_laio();
    Worker workers[WORKERS];
    unsigned finished = 0;
    TestFile tf;
    uint8_t *buf, *expect;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    g_assert_cmpint(ftruncate(tf.fd, WORKERS * BLOCK), ==, 0);
    /* All enter before any poll, so requests queue up and batch. */
    for (unsigned i = 0; i < WORKERS; i++) {
        workers[i] = (Worker){ .s = s, .fd = tf.fd, .index = i,
                               .finished = &finished };
        qemu_coroutine_enter(qemu_coroutine_create(rw_worker, &workers[i]));
    }
    POLL_UNTIL(finished == WORKERS);
    for (unsigned i = 0; i < WORKERS; i++) {
        g_assert_cmpint(workers[i].errors, ==, 0);
    }

    /* The file holds the last round's data, read without Linux AIO. */
    buf = aligned_alloc_block(BLOCK);
    expect = aligned_alloc_block(BLOCK);
    for (unsigned i = 0; i < WORKERS; i++) {
        g_assert_cmpint(pread(tf.fd, buf, BLOCK, (off_t)i * BLOCK), ==,
                        BLOCK);
        fill_pattern(expect, BLOCK, i + (ROUNDS - 1) * WORKERS);
        g_assert_cmpmem(buf, BLOCK, expect, BLOCK);
    }
    free(buf);
    free(expect);
    test_file_close(&tf);
}

/* Short reads at end of file complete with zeroes. */

typedef struct ReadReq {
    LinuxAioState *s;
    int fd;
    uint64_t offset;
    struct iovec iov[2];
    int niov;
    int ret;
    bool done;
} ReadReq;

static void coroutine_fn read_co(void *opaque)
{
    ReadReq *rr = opaque;

    rr->ret = laio_co_submit(rr->s, rr->fd, rr->offset, rr->iov, rr->niov,
                             LAIO_READ);
    rr->done = true;
}

static void test_short_read(void)
{
    enum { DATA = BLOCK + 1000 };
    LinuxAioState *s = get_laio();
    uint8_t *data, *buf, *buf2;
    ReadReq rr[3];
    TestFile tf;
    int bfd;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    /* Write an unaligned amount of data through a buffered descriptor. */
    data = g_malloc(DATA);
    fill_pattern(data, DATA, 99);
    bfd = open(tf.path, O_WRONLY | O_CLOEXEC);
    g_assert_cmpint(bfd, >=, 0);
    g_assert_cmpint(pwrite(bfd, data, DATA, 0), ==, DATA);
    g_assert_cmpint(fsync(bfd), ==, 0);
    close(bfd);

    buf = aligned_alloc_block(2 * BLOCK);
    buf2 = aligned_alloc_block(2 * BLOCK);
    memset(buf, 0xa5, 2 * BLOCK);
    memset(buf2, 0xa5, 2 * BLOCK);

    /* [0, 8 KiB): the data, then zeroes after end of file. */
    rr[0] = (ReadReq){ .s = s, .fd = tf.fd, .offset = 0, .niov = 1 };
    rr[0].iov[0] = (struct iovec){ buf, 2 * BLOCK };
    /* The same with two iovecs: the short part spans the second one. */
    rr[1] = (ReadReq){ .s = s, .fd = tf.fd, .offset = 0, .niov = 2 };
    rr[1].iov[0] = (struct iovec){ buf2, BLOCK };
    rr[1].iov[1] = (struct iovec){ buf2 + BLOCK, BLOCK };
    /* Entirely past end of file: all zeroes. */
    rr[2] = (ReadReq){ .s = s, .fd = tf.fd, .offset = 4 * BLOCK,
                       .niov = 1 };
    rr[2].iov[0] = (struct iovec){ aligned_alloc_block(BLOCK), BLOCK };
    memset(rr[2].iov[0].iov_base, 0xa5, BLOCK);

    for (unsigned i = 0; i < 3; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(read_co, &rr[i]));
    }
    POLL_UNTIL(rr[0].done && rr[1].done && rr[2].done);
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
        g_assert_cmpuint(((uint8_t *)rr[2].iov[0].iov_base)[i], ==, 0);
    }
    free(rr[2].iov[0].iov_base);
    free(buf);
    free(buf2);
    g_free(data);
    test_file_close(&tf);
}

/* A request the kernel refuses fails with its errno. */

typedef struct WriteReq {
    LinuxAioState *s;
    int fd;
    void *buf;
    int ret;
    bool done;
} WriteReq;

static void coroutine_fn write_co(void *opaque)
{
    WriteReq *wr = opaque;
    struct iovec iov = { wr->buf, BLOCK };

    wr->ret = laio_co_submit(wr->s, wr->fd, 0, &iov, 1, LAIO_WRITE);
    wr->done = true;
}

static void test_error(void)
{
    LinuxAioState *s = get_laio();
    WriteReq wr[2];
    TestFile tf;
    int rofd;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    rofd = open(tf.path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(rofd, >=, 0);
    for (unsigned i = 0; i < 2; i++) {
        wr[i] = (WriteReq){ .s = s, .fd = rofd,
                            .buf = aligned_alloc_block(BLOCK) };
        memset(wr[i].buf, 0, BLOCK);
        qemu_coroutine_enter(qemu_coroutine_create(write_co, &wr[i]));
    }
    POLL_UNTIL(wr[0].done && wr[1].done);
    for (unsigned i = 0; i < 2; i++) {
        g_assert_cmpint(wr[i].ret, ==, -EBADF);
        free(wr[i].buf);
    }
    close(rofd);
    test_file_close(&tf);
}

/* The state is created once per context. */
static void test_state_per_context(void)
{
    LinuxAioState *s = get_laio();
    AioContext *other;
    LinuxAioState *s2;

    if (!s) {
        return;
    }
    g_assert_true(aio_get_linux_aio(ctx, &error_abort) == s);
    other = aio_context_new(&error_abort);
    s2 = aio_get_linux_aio(other, NULL);
    if (s2) {
        g_assert_true(s2 != s);
    }
    /* Unreferencing the context cleans its state up (LSan checks). */
    aio_context_unref(other);
}

int main(int argc, char **argv)
{
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    ctx = qemu_get_aio_context();
    g_test_add_func("/linux-aio/rw-concurrent", test_rw_concurrent);
    g_test_add_func("/linux-aio/short-read", test_short_read);
    g_test_add_func("/linux-aio/error", test_error);
    g_test_add_func("/linux-aio/state-per-context", test_state_per_context);
    return g_test_run();
}
