/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A pool of worker threads for blocking system calls.
 *
 * thread_pool_submit_co() runs func(arg) on a worker and yields; the
 * coroutine is resumed in its own AioContext (through a bottom half) with the
 * function's return value.  Workers are started on demand up to a bound
 * (default 64) and exit after 10 s idle.
 */
#ifndef EMBLOCK_UTIL_THREAD_POOL_H
#define EMBLOCK_UTIL_THREAD_POOL_H

#include "util/osdep.h"

/* Runs on a worker thread; returns 0 or a negative errno, by convention. */
typedef int ThreadPoolFunc(void *arg);

int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg);

/* Change the worker bound (at least 1).  Applies to later submissions. */
void thread_pool_set_max_workers(int max_workers);
int thread_pool_get_max_workers(void);

#endif /* EMBLOCK_UTIL_THREAD_POOL_H */
