/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the io_uring back end (util/io-uring.c): real reads and writes
 * of a temporary file, buffered and with O_DIRECT where the file system
 * allows it, from more concurrent coroutines than the ring has slots;
 * zero-filled short reads at end of file; fsync and fdatasync; errors; a
 * kernel refusing the ring.  Skipped when the ring cannot be created.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/io-uring.h"
#include "deny-syscall.h"

#include <fcntl.h>
#include <sys/syscall.h>

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
 * The context's io_uring state, or NULL after marking the test skipped
 * (kernel without io_uring, io_uring_disabled, build without liburing).
 */
static LuringState *get_luring(void)
{
    Error *err = NULL;
    LuringState *s = aio_get_linux_io_uring(ctx, &err);

    if (!s) {
        g_autofree char *msg =
            g_strdup_printf("io_uring unavailable: %s",
                            error_get_pretty(err));

        g_test_skip(msg);
        error_free(err);
    }
    return s;
}

/* A temporary file; with @direct, O_DIRECT unless the file system refuses. */
typedef struct TestFile {
    char *path;
    int fd;
    bool direct;
} TestFile;

static void test_file_open(TestFile *tf, bool direct)
{
    int tmp;

    tf->path = g_build_filename(g_get_tmp_dir(), "emblock-uring-XXXXXX",
                                NULL);
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

/*
 * Many coroutines writing and reading back their own blocks at once:
 * more than the ring's 128 slots, so some wait for others to complete.
 */

enum { WORKERS = 200, ROUNDS = 4 };

typedef struct Worker {
    LuringState *s;
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
        ret = luring_co_submit(w->s, w->fd, offset, wiov, niov,
                               LURING_WRITE);
        if (ret != 0) {
            g_test_message("worker %u: write: %s", w->index, strerror(-ret));
            w->errors++;
            break;
        }
        ret = luring_co_submit(w->s, w->fd, offset, riov, niov, LURING_READ);
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

static void check_rw_concurrent(bool direct)
{
    LuringState *s = get_luring();
    Worker *workers = g_new(Worker, WORKERS);
    unsigned finished = 0;
    TestFile tf;
    uint8_t *buf, *expect;

    if (!s) {
        g_free(workers);
        return;
    }
    test_file_open(&tf, direct);
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

    /* The file holds the last round's data, read without io_uring. */
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
    g_free(workers);
    test_file_close(&tf);
}

static void test_rw_concurrent_buffered(void)
{
    check_rw_concurrent(false);
}

static void test_rw_concurrent_direct(void)
{
    check_rw_concurrent(true);
}

/* Short reads at end of file complete with zeroes. */

typedef struct Req {
    LuringState *s;
    int fd;
    int type;
    uint64_t offset;
    struct iovec iov[2];
    int niov;
    int ret;
    bool done;
} Req;

static void coroutine_fn req_co(void *opaque)
{
    Req *r = opaque;

    r->ret = luring_co_submit(r->s, r->fd, r->offset, r->iov, r->niov,
                              r->type);
    r->done = true;
}

static bool reqs_done(Req *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!r[i].done) {
            return false;
        }
    }
    return true;
}

/* Run @n requests concurrently and wait for all of them. */
static void run_reqs(Req *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(req_co, &r[i]));
    }
    POLL_UNTIL(reqs_done(r, n));
}

static void check_short_read(bool direct)
{
    enum { DATA = BLOCK + 1000 };
    LuringState *s = get_luring();
    uint8_t *data, *buf, *buf2, *buf3;
    Req rr[3];
    TestFile tf;
    int bfd;

    if (!s) {
        return;
    }
    test_file_open(&tf, direct);
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
    buf3 = aligned_alloc_block(BLOCK);
    memset(buf, 0xa5, 2 * BLOCK);
    memset(buf2, 0xa5, 2 * BLOCK);
    memset(buf3, 0xa5, BLOCK);

    /* [0, 8 KiB): the data, then zeroes after end of file. */
    rr[0] = (Req){ .s = s, .fd = tf.fd, .type = LURING_READ, .niov = 1 };
    rr[0].iov[0] = (struct iovec){ buf, 2 * BLOCK };
    /* The same with two iovecs: the short part spans the second one. */
    rr[1] = (Req){ .s = s, .fd = tf.fd, .type = LURING_READ, .niov = 2 };
    rr[1].iov[0] = (struct iovec){ buf2, BLOCK };
    rr[1].iov[1] = (struct iovec){ buf2 + BLOCK, BLOCK };
    /* Entirely past end of file: all zeroes. */
    rr[2] = (Req){ .s = s, .fd = tf.fd, .type = LURING_READ,
                   .offset = 4 * BLOCK, .niov = 1 };
    rr[2].iov[0] = (struct iovec){ buf3, BLOCK };

    run_reqs(rr, 3);
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
    test_file_close(&tf);
}

static void test_short_read_buffered(void)
{
    check_short_read(false);
}

static void test_short_read_direct(void)
{
    check_short_read(true);
}

/* fsync and fdatasync succeed on a file with written data. */
static void test_flush(void)
{
    LuringState *s = get_luring();
    uint8_t *buf;
    Req r[3];
    TestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf, false);
    buf = aligned_alloc_block(BLOCK);
    fill_pattern(buf, BLOCK, 7);
    r[0] = (Req){ .s = s, .fd = tf.fd, .type = LURING_WRITE, .niov = 1 };
    r[0].iov[0] = (struct iovec){ buf, BLOCK };
    run_reqs(r, 1);
    g_assert_cmpint(r[0].ret, ==, 0);

    r[1] = (Req){ .s = s, .fd = tf.fd, .type = LURING_FSYNC };
    r[2] = (Req){ .s = s, .fd = tf.fd, .type = LURING_FDATASYNC };
    run_reqs(&r[1], 2);
    g_assert_cmpint(r[1].ret, ==, 0);
    g_assert_cmpint(r[2].ret, ==, 0);
    free(buf);
    test_file_close(&tf);
}

/* Requests the kernel refuses fail with its errno. */
static void test_error(void)
{
    LuringState *s = get_luring();
    uint8_t *buf;
    Req r[5];
    TestFile tf;
    int rofd, closed;

    if (!s) {
        return;
    }
    test_file_open(&tf, false);
    buf = aligned_alloc_block(BLOCK);
    memset(buf, 0, BLOCK);
    rofd = open(tf.path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(rofd, >=, 0);
    closed = open(tf.path, O_RDWR | O_CLOEXEC);
    g_assert_cmpint(closed, >=, 0);
    close(closed);

    /* Writing a read-only descriptor. */
    r[0] = (Req){ .s = s, .fd = rofd, .type = LURING_WRITE, .niov = 1 };
    r[0].iov[0] = (struct iovec){ buf, BLOCK };
    /* Anything on a closed descriptor. */
    r[1] = (Req){ .s = s, .fd = closed, .type = LURING_READ, .niov = 1 };
    r[1].iov[0] = (struct iovec){ buf, BLOCK };
    r[2] = (Req){ .s = s, .fd = closed, .type = LURING_WRITE, .niov = 1 };
    r[2].iov[0] = (struct iovec){ buf, BLOCK };
    r[3] = (Req){ .s = s, .fd = closed, .type = LURING_FSYNC };
    r[4] = (Req){ .s = s, .fd = closed, .type = LURING_FDATASYNC };
    run_reqs(r, 5);
    for (unsigned i = 0; i < 5; i++) {
        g_assert_cmpint(r[i].ret, ==, -EBADF);
    }

    /* The ring still works afterwards. */
    r[0] = (Req){ .s = s, .fd = tf.fd, .type = LURING_WRITE, .niov = 1 };
    r[0].iov[0] = (struct iovec){ buf, BLOCK };
    run_reqs(r, 1);
    g_assert_cmpint(r[0].ret, ==, 0);
    close(rofd);
    free(buf);
    test_file_close(&tf);
}

/* The state is created once per context. */
static void test_state_per_context(void)
{
    LuringState *s = get_luring();
    AioContext *other;
    LuringState *s2;

    if (!s) {
        return;
    }
    g_assert_true(aio_get_linux_io_uring(ctx, &error_abort) == s);
    other = aio_context_new(&error_abort);
    s2 = aio_get_linux_io_uring(other, NULL);
    if (s2) {
        g_assert_true(s2 != s);
    }
    /* Unreferencing the context cleans its state up (LSan checks). */
    aio_context_unref(other);
}

/* A kernel refusing the ring: the error names the reason. */
static void test_refused(void)
{
    if (!luring_available()) {
        g_test_skip("built without liburing");
        return;
    }
    if (!deny_syscall_supported()) {
        g_test_skip("seccomp unavailable: cannot simulate a refusal");
        return;
    }
    if (g_test_subprocess()) {
        AioContext *other;
        Error *err = NULL;

        g_assert_cmpint(deny_syscall(__NR_io_uring_setup, EPERM), ==, 0);
        other = aio_context_new(&error_abort);
        g_assert_null(aio_get_linux_io_uring(other, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==,
                        "failed to init linux io_uring ring");
        error_free(err);
        aio_context_unref(other);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    ctx = qemu_get_aio_context();
    g_test_add_func("/io-uring/rw-concurrent/buffered",
                    test_rw_concurrent_buffered);
    g_test_add_func("/io-uring/rw-concurrent/direct",
                    test_rw_concurrent_direct);
    g_test_add_func("/io-uring/short-read/buffered",
                    test_short_read_buffered);
    g_test_add_func("/io-uring/short-read/direct", test_short_read_direct);
    g_test_add_func("/io-uring/flush", test_flush);
    g_test_add_func("/io-uring/error", test_error);
    g_test_add_func("/io-uring/state-per-context", test_state_per_context);
    g_test_add_func("/io-uring/refused", test_refused);
    return g_test_run();
}
