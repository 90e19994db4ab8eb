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
#include "aio-test-util.h"
#include "deny-syscall.h"

#include <fcntl.h>
#include <sys/syscall.h>

#define BLOCK AIO_TEST_BLOCK

static AioContext *ctx;

/*
 * The context's io_uring state, or NULL after marking the test skipped
 * (kernel without io_uring, io_uring_disabled, build without liburing).
 */
static LuringState *get_luring(void)
{
    Error *err = NULL;
    LuringState *s = aio_get_linux_io_uring(ctx, &err);

    if (!s) {
        aio_test_skip_unavailable("io_uring", err);
    }
    return s;
}

static void test_file_open(AioTestFile *tf, bool direct)
{
    aio_test_file_open(tf, "emblock-uring", direct);
}

/*
 * Many coroutines writing and reading back their own blocks at once:
 * more than the ring's 128 slots, so some wait for others to complete.
 */

enum { WORKERS = 200, ROUNDS = 4 };

static int coroutine_fn uring_submit(void *backend, int fd, uint64_t offset,
                                     struct iovec *iov, int niov, bool write)
{
    return luring_co_submit(backend, fd, offset, iov, niov,
                            write ? LURING_WRITE : LURING_READ);
}

static void check_rw_concurrent(bool direct)
{
    LuringState *s = get_luring();
    AioTestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf, direct);
    aio_test_rw_concurrent(ctx, uring_submit, s, tf.fd, WORKERS, ROUNDS);
    aio_test_file_close(&tf);
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
static void check_short_read(bool direct)
{
    LuringState *s = get_luring();
    AioTestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf, direct);
    aio_test_short_read(ctx, uring_submit, s, &tf);
    aio_test_file_close(&tf);
}

static void test_short_read_buffered(void)
{
    check_short_read(false);
}

static void test_short_read_direct(void)
{
    check_short_read(true);
}

/* Requests of any type, built by hand. */

typedef struct Req {
    LuringState *s;
    int fd;
    int type;
    uint64_t offset;
    struct iovec iov[2];
    int niov;
    int ret;
} Req;

static void coroutine_fn req_co(void *opaque)
{
    Req *r = opaque;

    r->ret = luring_co_submit(r->s, r->fd, r->offset, r->iov, r->niov,
                              r->type);
}

/* Run @n requests concurrently and wait for all of them. */
static void run_reqs(Req *r, unsigned n)
{
    aio_test_run_coroutines(ctx, req_co, r, sizeof(*r), n);
}

/* fsync and fdatasync succeed on a file with written data. */
static void test_flush(void)
{
    LuringState *s = get_luring();
    uint8_t *buf;
    Req r[3];
    AioTestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf, false);
    buf = aio_test_alloc_aligned(BLOCK);
    aio_test_fill_pattern(buf, BLOCK, 7);
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
    aio_test_file_close(&tf);
}

/* Requests the kernel refuses fail with its errno. */
static void test_error(void)
{
    LuringState *s = get_luring();
    uint8_t *buf;
    Req r[5];
    AioTestFile tf;
    int rofd, closed;

    if (!s) {
        return;
    }
    test_file_open(&tf, false);
    buf = aio_test_alloc_aligned(BLOCK);
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
    aio_test_file_close(&tf);
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
