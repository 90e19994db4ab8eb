/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Worker threads for blocking calls, on GLib's GThreadPool (which already
 * bounds the thread count and retires idle threads).
 */
#include "util/osdep.h"
#include "util/thread-pool.h"
#include "util/aio.h"

#define DEFAULT_MAX_WORKERS 64
#define IDLE_TIMEOUT_MS 10000

typedef struct ThreadPoolRequest {
    ThreadPoolFunc *func;
    void *arg;
    int ret;
    AioContext *ctx;
    Coroutine *co;
} ThreadPoolRequest;

static GThreadPool *pool;
static GMutex pool_lock;
static int max_workers = DEFAULT_MAX_WORKERS;

/* Back in the submitter's context: resume the waiting coroutine. */
static void thread_pool_done_bh(void *opaque)
{
    ThreadPoolRequest *req = opaque;

    aio_co_wake(req->co);
}

static void thread_pool_worker(gpointer data, gpointer user_data)
{
    ThreadPoolRequest *req = data;

    req->ret = req->func(req->arg);
    aio_bh_schedule_oneshot(req->ctx, thread_pool_done_bh, req);
}

static GThreadPool *thread_pool_get(void)
{
    g_mutex_lock(&pool_lock);
    if (!pool) {
        pool = g_thread_pool_new(thread_pool_worker, NULL, max_workers,
                                 FALSE, NULL);
        g_thread_pool_set_max_idle_time(IDLE_TIMEOUT_MS);
    }
    g_mutex_unlock(&pool_lock);
    return pool;
}

void thread_pool_set_max_workers(int n)
{
    assert(n >= 1);
    g_mutex_lock(&pool_lock);
    max_workers = n;
    if (pool) {
        g_thread_pool_set_max_threads(pool, n, NULL);
    }
    g_mutex_unlock(&pool_lock);
}

int thread_pool_get_max_workers(void)
{
    return max_workers;
}

int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg)
{
    ThreadPoolRequest req = {
        .func = func,
        .arg = arg,
        .ctx = qemu_get_current_aio_context(),
        .co = qemu_coroutine_self(),
    };

    assert(qemu_in_coroutine());
    g_thread_pool_push(thread_pool_get(), &req, NULL);
    qemu_coroutine_yield();
    return req.ret;
}
