/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Common definitions included first by every emblock source file: standard
 * headers, GLib, and the small macros the whole tree relies on.
 */
#ifndef EMBLOCK_UTIL_OSDEP_H
#define EMBLOCK_UTIL_OSDEP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/*
 * Marks a function that may yield, so it must only be called from coroutine
 * context (a coroutine_fn or a function running inside a coroutine).
 */
#define coroutine_fn

/*
 * Marks a function that must not be called from coroutine context because
 * it polls the event loop (the synchronous wrappers).
 */
#define no_coroutine_fn

#define QEMU_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m) QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ROUND_UP(n, d) QEMU_ALIGN_UP(n, d)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define QEMU_NORETURN __attribute__((noreturn))
#define QEMU_UNUSED __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline int64_t get_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* EMBLOCK_UTIL_OSDEP_H */
