/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Zero detection for data buffers.
 *
 * buffer_is_zero() first looks at the first, middle and last byte, which
 * rejects most buffers holding data after touching three bytes.  Short
 * buffers then go to a scalar loop; longer ones go to the fastest vector
 * implementation the CPU supports (AVX2, SSE2, or the scalar loop again on
 * other architectures).
 *
 * Every implementation follows the same plan and reads only bytes inside
 * [buf, buf + len), so neither guard pages nor AddressSanitizer can object:
 *
 *  - one unaligned load at the very start and one ending at the very end
 *    cover the unaligned head and tail (they may overlap each other and the
 *    body, which is harmless when all we do is OR the bytes together);
 *  - aligned loads cover the body, from the first aligned address after the
 *    head load's start up to the last aligned address not past the end;
 *  - the body is consumed several vectors per iteration, ORed together and
 *    tested once, so the loop is limited by memory bandwidth rather than by
 *    branches; a single non-zero vector ends the scan early.
 *
 * The implementation is picked on the first call and kept in a table index
 * read with relaxed atomics: two threads racing through the first call both
 * compute the same answer, so the race is benign.
 */
#include "util/osdep.h"
#include "util/buffer-zero.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BUFFER_ZERO_X86 1
#endif

/* Buffers shorter than this never reach the vector implementations. */
#define BUFFER_ZERO_ACCEL_MIN 64

/*
 * An implementation; buffer_is_zero() calls it with len >=
 * BUFFER_ZERO_ACCEL_MIN, but it is correct from min_len up.
 */
typedef struct BufferZeroAccel {
    const char *name;
    BufferZeroImpl *fn;
    size_t min_len;
    bool (*supported)(void);
} BufferZeroAccel;

/* A 64-bit word that may alias any other type, for the aligned body loads. */
typedef uint64_t buffer_zero_word __attribute__((may_alias));

static inline uint64_t load_word_unaligned(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* Portable implementation; correct for any @len, including 0. */
static bool buffer_zero_int(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    const unsigned char *end = p + len;
    const buffer_zero_word *w, *wend;
    uint64_t acc;

    if (len < sizeof(uint64_t)) {
        unsigned char c = 0;

        while (p < end) {
            c |= *p++;
        }
        return c == 0;
    }

    acc = load_word_unaligned(p) | load_word_unaligned(end - 8);
    if (acc) {
        return false;
    }

    /* p + 8 <= end, so w <= wend; [w, wend) lies inside the buffer. */
    w = (const buffer_zero_word *)QEMU_ALIGN_DOWN((uintptr_t)p + 8, 8);
    wend = (const buffer_zero_word *)QEMU_ALIGN_DOWN((uintptr_t)end, 8);
    for (; wend - w >= 8; w += 8) {
        if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) {
            return false;
        }
    }
    while (w < wend) {
        acc |= *w++;
    }
    return acc == 0;
}

static bool accel_always(void)
{
    return true;
}

#ifdef BUFFER_ZERO_X86

static inline bool __attribute__((target("sse2")))
sse2_is_zero(__m128i v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) == 0xffff;
}

/* Needs len >= 16; the dispatcher guarantees BUFFER_ZERO_ACCEL_MIN. */
static bool __attribute__((target("sse2")))
buffer_zero_sse2(const void *buf, size_t len)
{
    const char *p = buf;
    const char *end = p + len;
    const __m128i *v, *vend;
    __m128i acc;

    acc = _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
                       _mm_loadu_si128((const __m128i *)(end - 16)));
    if (!sse2_is_zero(acc)) {
        return false;
    }

    v = (const __m128i *)QEMU_ALIGN_DOWN((uintptr_t)p + 16, 16);
    vend = (const __m128i *)QEMU_ALIGN_DOWN((uintptr_t)end, 16);
    for (; vend - v >= 8; v += 8) {
        __m128i a = _mm_or_si128(_mm_load_si128(v), _mm_load_si128(v + 1));
        __m128i b = _mm_or_si128(_mm_load_si128(v + 2),
                                 _mm_load_si128(v + 3));
        __m128i c = _mm_or_si128(_mm_load_si128(v + 4),
                                 _mm_load_si128(v + 5));
        __m128i d = _mm_or_si128(_mm_load_si128(v + 6),
                                 _mm_load_si128(v + 7));

        if (!sse2_is_zero(_mm_or_si128(_mm_or_si128(a, b),
                                       _mm_or_si128(c, d)))) {
            return false;
        }
    }
    while (v < vend) {
        acc = _mm_or_si128(acc, _mm_load_si128(v++));
    }
    return sse2_is_zero(acc);
}

/* Needs len >= 32; the dispatcher guarantees BUFFER_ZERO_ACCEL_MIN. */
static bool __attribute__((target("avx2")))
buffer_zero_avx2(const void *buf, size_t len)
{
    const char *p = buf;
    const char *end = p + len;
    const __m256i *v, *vend;
    __m256i acc;

    acc = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p),
                          _mm256_loadu_si256((const __m256i *)(end - 32)));
    if (!_mm256_testz_si256(acc, acc)) {
        return false;
    }

    v = (const __m256i *)QEMU_ALIGN_DOWN((uintptr_t)p + 32, 32);
    vend = (const __m256i *)QEMU_ALIGN_DOWN((uintptr_t)end, 32);
    for (; vend - v >= 4; v += 4) {
        __m256i a = _mm256_or_si256(_mm256_load_si256(v),
                                    _mm256_load_si256(v + 1));
        __m256i b = _mm256_or_si256(_mm256_load_si256(v + 2),
                                    _mm256_load_si256(v + 3));

        a = _mm256_or_si256(a, b);
        if (!_mm256_testz_si256(a, a)) {
            return false;
        }
    }
    while (v < vend) {
        acc = _mm256_or_si256(acc, _mm256_load_si256(v++));
    }
    return _mm256_testz_si256(acc, acc);
}

static bool accel_avx2_supported(void)
{
    /* libgcc also checks that the OS saves the YMM registers. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static bool accel_sse2_supported(void)
{
#ifdef __x86_64__
    return true;
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse2");
#endif
}

#endif /* BUFFER_ZERO_X86 */

/* Fastest first; the last entry is always supported. */
static const BufferZeroAccel accels[] = {
#ifdef BUFFER_ZERO_X86
    { "avx2", buffer_zero_avx2, 32, accel_avx2_supported },
    { "sse2", buffer_zero_sse2, 16, accel_sse2_supported },
#endif
    { "scalar", buffer_zero_int, 0, accel_always },
};

/* Index into accels[] in use, or -1 before the first selection. */
static int accel_current = -1;

/* Index of the first supported entry at or after @from, or -1. */
static int accel_find(int from)
{
    int i;

    for (i = from; i < (int)G_N_ELEMENTS(accels); i++) {
        if (accels[i].supported()) {
            return i;
        }
    }
    return -1;
}

static int accel_get(void)
{
    int cur = __atomic_load_n(&accel_current, __ATOMIC_RELAXED);

    if (unlikely(cur < 0)) {
        cur = accel_find(0);
        __atomic_store_n(&accel_current, cur, __ATOMIC_RELAXED);
    }
    return cur;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    if (unlikely(len == 0)) {
        return true;
    }
    if (p[0] | p[len / 2] | p[len - 1]) {
        return false;
    }
    if (len < BUFFER_ZERO_ACCEL_MIN) {
        return buffer_zero_int(buf, len);
    }
    return accels[accel_get()].fn(buf, len);
}

const char *buffer_is_zero_accel_name(void)
{
    return accels[accel_get()].name;
}

bool test_buffer_is_zero_next_accel(void)
{
    int next = accel_find(accel_get() + 1);

    if (next < 0) {
        __atomic_store_n(&accel_current, accel_find(0), __ATOMIC_RELAXED);
        return false;
    }
    __atomic_store_n(&accel_current, next, __ATOMIC_RELAXED);
    return true;
}

bool test_buffer_is_zero_impl(unsigned index, const char **name,
                              BufferZeroImpl **fn, size_t *min_len)
{
    if (index >= G_N_ELEMENTS(accels)) {
        return false;
    }
    *name = accels[index].name;
    *fn = accels[index].supported() ? accels[index].fn : NULL;
    *min_len = accels[index].min_len;
    return true;
}
