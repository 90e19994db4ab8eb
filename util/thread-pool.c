/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Worker threads for blocking calls, on GLib's GThreadPool (which retires
 * idle threads).
 *
 * The worker bound is enforced here, not by GLib: a GThreadPool whose
 * maximum is lowered keeps its surplus threads until they finish waiting
 * for work, and they take new tasks meanwhile.  So at most max_workers
 * requests are handed to GLib at a time ("active"); the rest wait in a
 * FIFO, and a worker that finishes a request runs the next waiting one
 * itself, keeping its slot.
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

/* Protects every variable below. */
static GMutex pool_lock;
static GThreadPool *pool;
static int max_workers = DEFAULT_MAX_WORKERS;
static int active;              /* requests handed to the GThreadPool */
static GQueue waiting;          /* ThreadPoolRequest *, beyond the bound */

/* Back in the submitter's context: resume the waiting coroutine. */
static void thread_pool_done_bh(void *opaque)
{
    ThreadPoolRequest *req = opaque;

    aio_co_wake(req->co);
}

static void thread_pool_worker(gpointer data, gpointer user_data)
{
    ThreadPoolRequest *req = data;

    while (req) {
        req->ret = req->func(req->arg);
        /* @req lives on the coroutine's stack: gone once it resumes. */
        aio_bh_schedule_oneshot(req->ctx, thread_pool_done_bh, req);

        g_mutex_lock(&pool_lock);
        req = active <= max_workers ? g_queue_pop_head(&waiting) : NULL;
        if (!req) {
            active--;
        }
        g_mutex_unlock(&pool_lock);
    }
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
    ThreadPoolRequest *req;

    assert(n >= 1);
    g_mutex_lock(&pool_lock);
    max_workers = n;
    if (pool) {
        g_thread_pool_set_max_threads(pool, n, NULL);
    }
    /* A raised bound admits waiting requests at once. */
    while (active < max_workers && (req = g_queue_pop_head(&waiting))) {
        active++;
        g_thread_pool_push(pool, req, NULL);
    }
    g_mutex_unlock(&pool_lock);
}

int thread_pool_get_max_workers(void)
{
    int n;

    g_mutex_lock(&pool_lock);
    n = max_workers;
    g_mutex_unlock(&pool_lock);
    return n;
}

int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg)
{
    ThreadPoolRequest req = {
        .func = func,
        .arg = arg,
        .ctx = qemu_get_current_aio_context(),
        .co = qemu_coroutine_self(),
    };
    GThreadPool *p = thread_pool_get();

    assert(qemu_in_coroutine());
    g_mutex_lock(&pool_lock);
    if (active < max_workers) {
        active++;
        g_thread_pool_push(p, &req, NULL);
    } else {
        g_queue_push_tail(&waiting, &req);
    }
    g_mutex_unlock(&pool_lock);
    qemu_coroutine_yield();
    return req.ret;
}
