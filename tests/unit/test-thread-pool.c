/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the worker thread pool (util/thread-pool.c): return values
 * from many concurrent coroutines, real file I/O on workers, and the
 * worker bound.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/thread-pool.h"
#include "aio-test-util.h"

/* Poll the main context until @cond holds; fail after a timeout. */
#define POLL_UNTIL(cond) AIO_TEST_POLL_UNTIL(ctx, cond)

static AioContext *ctx;
static GThread *main_thread;

/* Many coroutines, each waiting for its own blocking call. */

typedef struct Job {
    unsigned index;
    int ret;
    bool on_worker;             /* set by the worker function */
    bool done;
    unsigned *finished;
} Job;

static int job_func(void *arg)
{
    Job *job = arg;

    job->on_worker = g_thread_self() != main_thread;
    g_usleep(1000 + (job->index % 7) * 300);
    /* Mix errors and successes, each recognisable. */
    return job->index % 3 ? (int)job->index * 2 : -(int)job->index;
}

static void coroutine_fn job_co(void *opaque)
{
    Job *job = opaque;

    job->ret = thread_pool_submit_co(job_func, job);
    /* Resumed in our own context and thread. */
    g_assert_true(g_thread_self() == main_thread);
    g_assert_true(qemu_get_current_aio_context() == ctx);
    job->done = true;
    (*job->finished)++;
}

static void test_submit_many(void)
{
    enum { N = 200 };
    Job *jobs = g_new0(Job, N);
    unsigned finished = 0;

    for (unsigned i = 0; i < N; i++) {
        jobs[i] = (Job){ .index = i, .finished = &finished };
        qemu_coroutine_enter(qemu_coroutine_create(job_co, &jobs[i]));
        /* The submitter yielded: nothing completes synchronously. */
        g_assert_false(jobs[i].done);
    }
    POLL_UNTIL(finished == N);
    for (unsigned i = 0; i < N; i++) {
        int expect = i % 3 ? (int)i * 2 : -(int)i;

        g_assert_true(jobs[i].done);
        g_assert_true(jobs[i].on_worker);
        g_assert_cmpint(jobs[i].ret, ==, expect);
    }
    g_free(jobs);
}

/* pread/pwrite of a temporary file through the pool */

typedef struct FileIO {
    int fd;
    void *buf;
    size_t len;
    off_t offset;
    bool write;
} FileIO;

static int file_io_func(void *arg)
{
    FileIO *io = arg;
    size_t done = 0;

    while (done < io->len) {
        ssize_t n = io->write ?
            pwrite(io->fd, (char *)io->buf + done, io->len - done,
                   io->offset + done) :
            pread(io->fd, (char *)io->buf + done, io->len - done,
                  io->offset + done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            return -EIO;            /* unexpected end of file */
        }
        done += n;
    }
    return 0;
}

enum { FILE_BLOCKS = 64, FILE_BLOCK = AIO_TEST_BLOCK };

typedef struct FileJob {
    int fd;
    unsigned block;
    int write_ret;
    int read_ret;
    bool verified;
} FileJob;

static void coroutine_fn file_job_co(void *opaque)
{
    FileJob *fj = opaque;
    g_autofree uint8_t *wbuf = g_malloc(FILE_BLOCK);
    g_autofree uint8_t *rbuf = g_malloc0(FILE_BLOCK);
    g_autofree uint8_t *expect = g_malloc(FILE_BLOCK);
    FileIO io = {
        .fd = fj->fd,
        .len = FILE_BLOCK,
        .offset = (off_t)fj->block * FILE_BLOCK,
    };

    aio_test_fill_pattern(wbuf, FILE_BLOCK, fj->block);
    memcpy(expect, wbuf, FILE_BLOCK);
    io.buf = wbuf;
    io.write = true;
    fj->write_ret = thread_pool_submit_co(file_io_func, &io);

    io.buf = rbuf;
    io.write = false;
    fj->read_ret = thread_pool_submit_co(file_io_func, &io);
    fj->verified = memcmp(rbuf, expect, FILE_BLOCK) == 0;
}

static void test_file_io(void)
{
    FileJob jobs[FILE_BLOCKS];
    AioTestFile tf;

    aio_test_file_open(&tf, "emblock-tp", false);
    for (unsigned i = 0; i < FILE_BLOCKS; i++) {
        /* Write the blocks in a scrambled order. */
        unsigned block = (i * 29) % FILE_BLOCKS;

        jobs[i] = (FileJob){ .fd = tf.fd, .block = block };
    }
    aio_test_run_coroutines(ctx, file_job_co, jobs, sizeof(jobs[0]),
                            FILE_BLOCKS);
    for (unsigned i = 0; i < FILE_BLOCKS; i++) {
        g_assert_cmpint(jobs[i].write_ret, ==, 0);
        g_assert_cmpint(jobs[i].read_ret, ==, 0);
        g_assert_true(jobs[i].verified);
    }
    /* Check the file itself, independently of the pool. */
    g_assert_cmpint(lseek(tf.fd, 0, SEEK_END), ==, FILE_BLOCKS * FILE_BLOCK);
    aio_test_check_blocks(tf.fd, FILE_BLOCKS, 0);
    aio_test_file_close(&tf);
}

/* An error from the worker function reaches the coroutine. */

static void coroutine_fn bad_fd_co(void *opaque)
{
    char buf[16];
    FileIO io = { .fd = -1, .buf = buf, .len = sizeof(buf) };

    *(int *)opaque = thread_pool_submit_co(file_io_func, &io);
}

static void test_error_return(void)
{
    int ret = 1;

    qemu_coroutine_enter(qemu_coroutine_create(bad_fd_co, &ret));
    POLL_UNTIL(ret != 1);
    g_assert_cmpint(ret, ==, -EBADF);
}

/* The worker bound: never more than max_workers functions at once. */

typedef struct Bound {
    int running;                /* atomic */
    int max_running;            /* atomic */
    unsigned finished;
} Bound;

static int bound_func(void *arg)
{
    Bound *b = arg;
    int now = __atomic_add_fetch(&b->running, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&b->max_running, __ATOMIC_SEQ_CST);

    while (now > max &&
           !__atomic_compare_exchange_n(&b->max_running, &max, now, false,
                                        __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
        /* max was reloaded by the failed exchange */
    }
    g_usleep(3000);
    __atomic_sub_fetch(&b->running, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void coroutine_fn bound_co(void *opaque)
{
    Bound *b = opaque;

    g_assert_cmpint(thread_pool_submit_co(bound_func, b), ==, 0);
    b->finished++;
}

static void run_bound(int max_workers, unsigned jobs)
{
    Bound b = { 0 };
    int old = thread_pool_get_max_workers();

    thread_pool_set_max_workers(max_workers);
    g_assert_cmpint(thread_pool_get_max_workers(), ==, max_workers);
    for (unsigned i = 0; i < jobs; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(bound_co, &b));
    }
    POLL_UNTIL(b.finished == jobs);
    g_test_message("max_workers %d: at most %d ran at once", max_workers,
                   b.max_running);
    g_assert_cmpint(b.max_running, <=, max_workers);
    g_assert_cmpint(b.max_running, >=, 1);
    thread_pool_set_max_workers(old);
}

static void test_max_workers(void)
{
    /* Start many workers first, so that idle ones exist when we lower it. */
    run_bound(64, 64);
    run_bound(4, 32);
    run_bound(1, 8);
    run_bound(4, 32);
}

/* Raising the bound while requests wait admits them at once. */
static void test_raise_bound(void)
{
    Bound b = { 0 };
    int old = thread_pool_get_max_workers();

    thread_pool_set_max_workers(1);
    for (unsigned i = 0; i < 16; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(bound_co, &b));
    }
    thread_pool_set_max_workers(8);
    POLL_UNTIL(b.finished == 16);
    g_test_message("raised to 8: at most %d ran at once", b.max_running);
    g_assert_cmpint(b.max_running, <=, 8);
    thread_pool_set_max_workers(old);
}

int main(int argc, char **argv)
{
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    ctx = qemu_get_aio_context();
    main_thread = g_thread_self();
    g_test_add_func("/thread-pool/submit-many", test_submit_many);
    g_test_add_func("/thread-pool/file-io", test_file_io);
    g_test_add_func("/thread-pool/error-return", test_error_return);
    g_test_add_func("/thread-pool/max-workers", test_max_workers);
    g_test_add_func("/thread-pool/raise-bound", test_raise_bound);
    return g_test_run();
}
