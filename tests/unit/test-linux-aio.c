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
#include "aio-test-util.h"

#include <fcntl.h>

#define BLOCK AIO_TEST_BLOCK

static AioContext *ctx;

/*
 * The context's Linux AIO state, or NULL after marking the test skipped
 * (kernel without AIO, io_setup limits reached, build without libaio).
 */
static LinuxAioState *get_laio(void)
{
    Error *err = NULL;
    LinuxAioState *s = aio_get_linux_aio(ctx, &err);

    if (!s) {
        aio_test_skip_unavailable("Linux AIO", err);
    }
    return s;
}

/* A temporary file, opened with O_DIRECT unless the file system refuses. */
static void test_file_open(AioTestFile *tf)
{
    aio_test_file_open(tf, "emblock-laio", true);
}

/* Many coroutines writing and reading back their own blocks at once. */

enum { WORKERS = 64, ROUNDS = 4 };

static int coroutine_fn laio_submit(void *backend, int fd, uint64_t offset,
                                    struct iovec *iov, int niov, bool write)
{
    return laio_co_submit(backend, fd, offset, iov, niov,
                          write ? LAIO_WRITE : LAIO_READ);
}

static void test_rw_concurrent(void)
{
    LinuxAioState *s = get_laio();
    AioTestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    aio_test_rw_concurrent(ctx, laio_submit, s, tf.fd, WORKERS, ROUNDS);
    aio_test_file_close(&tf);
}

/* Short reads at end of file complete with zeroes. */
static void test_short_read(void)
{
    LinuxAioState *s = get_laio();
    AioTestFile tf;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    aio_test_short_read(ctx, laio_submit, s, &tf);
    aio_test_file_close(&tf);
}

/* A request the kernel refuses fails with its errno. */

typedef struct WriteReq {
    LinuxAioState *s;
    int fd;
    void *buf;
    int ret;
} WriteReq;

static void coroutine_fn write_co(void *opaque)
{
    WriteReq *wr = opaque;
    struct iovec iov = { wr->buf, BLOCK };

    wr->ret = laio_co_submit(wr->s, wr->fd, 0, &iov, 1, LAIO_WRITE);
}

static void test_error(void)
{
    LinuxAioState *s = get_laio();
    WriteReq wr[2];
    AioTestFile tf;
    int rofd;

    if (!s) {
        return;
    }
    test_file_open(&tf);
    rofd = open(tf.path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(rofd, >=, 0);
    for (unsigned i = 0; i < 2; i++) {
        wr[i] = (WriteReq){ .s = s, .fd = rofd,
                            .buf = aio_test_alloc_aligned(BLOCK) };
        memset(wr[i].buf, 0, BLOCK);
    }
    aio_test_run_coroutines(ctx, write_co, wr, sizeof(wr[0]), 2);
    for (unsigned i = 0; i < 2; i++) {
        g_assert_cmpint(wr[i].ret, ==, -EBADF);
        free(wr[i].buf);
    }
    close(rofd);
    aio_test_file_close(&tf);
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
