/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Zero detection for data buffers (detect-zeroes, mirror's zero bitmap,
 * qemu_iovec_is_zero()).
 *
 * Thread safety: every function here may be called from any thread.  The
 * test hooks change a process-wide setting and are meant for single-threaded
 * test programs only.
 */
#ifndef EMBLOCK_UTIL_BUFFER_ZERO_H
#define EMBLOCK_UTIL_BUFFER_ZERO_H

#include "util/osdep.h"

/*
 * Return true iff all @len bytes at @buf are zero; a zero-length buffer is
 * zero.  Only bytes inside [buf, buf + len) are read, and @buf needs no
 * particular alignment.  On x86 the implementation uses AVX2 or SSE2, chosen
 * on the first call from what the CPU supports.
 */
bool buffer_is_zero(const void *buf, size_t len);

/*
 * Name of the implementation buffer_is_zero() currently uses for buffers
 * long enough to benefit from vectors: "avx2", "sse2" or "scalar".
 */
const char *buffer_is_zero_accel_name(void);

/*
 * Test hook: step buffer_is_zero() to the next slower implementation this
 * CPU supports (avx2 -> sse2 -> scalar).  Return true if it switched, false
 * when the current implementation was the last one; in that case the best
 * implementation is selected again, so a loop of the form
 *
 *     do {
 *         check buffer_is_zero();
 *     } while (test_buffer_is_zero_next_accel());
 *
 * runs its body once per implementation and leaves the default in place.
 * Not thread-safe against concurrent buffer_is_zero() callers that need a
 * particular implementation (any implementation gives the same answers).
 */
bool test_buffer_is_zero_next_accel(void);

/* One implementation of the zero test, as returned by the hook below. */
typedef bool BufferZeroImpl(const void *buf, size_t len);

/*
 * Test hook: implementation number @index of this build (0 is the
 * fastest), for calling it directly, bypassing buffer_is_zero()'s own
 * checks of the first, middle and last byte and its routing of short
 * buffers to the scalar loop.  Returns false when @index is past the last
 * one ("scalar").  Otherwise sets *name, sets *min_len to the shortest
 * buffer the implementation accepts (any @buf alignment, and every longer
 * length, is accepted), and sets *fn to the implementation, or to NULL if
 * this CPU cannot run it.
 */
bool test_buffer_is_zero_impl(unsigned index, const char **name,
                              BufferZeroImpl **fn, size_t *min_len);

#endif /* EMBLOCK_UTIL_BUFFER_ZERO_H */
