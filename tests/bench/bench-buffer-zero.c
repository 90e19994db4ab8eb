/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Throughput of buffer_is_zero() over a large zero buffer, next to plain
 * memory read loops over the same buffer as the bandwidth reference.
 *
 * Usage: bench-buffer-zero [SIZE_MIB]     (default 1024)
 *
 * The buffer is mmap()ed and written page by page first, so every page is
 * really resident: untouched anonymous memory maps the shared zero page,
 * and reading that would measure the cache instead of memory.  Each figure
 * is the best of RUNS passes.  The reference is the faster of two loops
 * summing 64-bit words: a scalar one with four accumulators and, on x86, an
 * AVX2/SSE2 one with four vector accumulators.  The slower buffer_is_zero()
 * implementations are measured last.  Prints figures only; there is nothing
 * to pass or fail.
 */
#include "util/osdep.h"
#include "util/buffer-zero.h"

#include <sys/mman.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

#define RUNS 5

static volatile uint64_t sink;

static uint64_t sum_scalar(const void *buf, size_t len)
{
    const uint64_t *p = buf;
    const uint64_t *end = p + len / 8;
    uint64_t a = 0, b = 0, c = 0, d = 0;

    for (; end - p >= 4; p += 4) {
        a += p[0];
        b += p[1];
        c += p[2];
        d += p[3];
    }
    while (p < end) {
        a += *p++;
    }
    return a + b + c + d;
}

#ifdef BENCH_X86
static uint64_t __attribute__((target("avx2")))
sum_avx2(const void *buf, size_t len)
{
    const __m256i *p = buf;
    const __m256i *end = p + len / 32;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    uint64_t out[4];

    for (; end - p >= 4; p += 4) {
        a = _mm256_add_epi64(a, _mm256_load_si256(p));
        b = _mm256_add_epi64(b, _mm256_load_si256(p + 1));
        c = _mm256_add_epi64(c, _mm256_load_si256(p + 2));
        d = _mm256_add_epi64(d, _mm256_load_si256(p + 3));
    }
    a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    _mm256_storeu_si256((__m256i *)out, a);
    return out[0] + out[1] + out[2] + out[3];
}

static uint64_t __attribute__((target("sse2")))
sum_sse2(const void *buf, size_t len)
{
    const __m128i *p = buf;
    const __m128i *end = p + len / 16;
    __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
    uint64_t out[2];

    for (; end - p >= 4; p += 4) {
        a = _mm_add_epi64(a, _mm_load_si128(p));
        b = _mm_add_epi64(b, _mm_load_si128(p + 1));
        c = _mm_add_epi64(c, _mm_load_si128(p + 2));
        d = _mm_add_epi64(d, _mm_load_si128(p + 3));
    }
    a = _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d));
    _mm_storeu_si128((__m128i *)out, a);
    return out[0] + out[1];
}

static uint64_t sum_vector(const void *buf, size_t len)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        return sum_avx2(buf, len);
    }
    return sum_sse2(buf, len);
}
#endif

typedef uint64_t (*ReadLoop)(const void *buf, size_t len);

/* Best throughput of @fn over @buf in GB/s (10^9 bytes per second). */
static double best_gbps_read(ReadLoop fn, const void *buf, size_t len)
{
    int64_t best = INT64_MAX;
    int i;

    for (i = 0; i < RUNS; i++) {
        int64_t t0 = get_clock_ns();

        sink = fn(buf, len);
        best = MIN(best, get_clock_ns() - t0);
    }
    return (double)len / best;
}

static double best_gbps_zero(const void *buf, size_t len, bool *zero)
{
    int64_t best = INT64_MAX;
    int i;

    for (i = 0; i < RUNS; i++) {
        int64_t t0 = get_clock_ns();

        *zero = buffer_is_zero(buf, len);
        best = MIN(best, get_clock_ns() - t0);
    }
    return (double)len / best;
}

static void print_size(char *out, size_t outlen, size_t mib)
{
    if (mib % 1024 == 0) {
        snprintf(out, outlen, "%zu GiB", mib / 1024);
    } else {
        snprintf(out, outlen, "%zu MiB", mib);
    }
}

int main(int argc, char **argv)
{
    size_t mib = 1024;
    size_t len, page = sysconf(_SC_PAGESIZE), off;
    unsigned char *buf;
    double zero_gbps, scalar_gbps, ref_gbps;
    bool zero;
    char size_str[32];

    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);

        if (*end || v == 0 || v > SIZE_MAX / (1024 * 1024)) {
            fprintf(stderr, "usage: %s [SIZE_MIB]\n", argv[0]);
            return 1;
        }
        mib = v;
    }
    len = mib * 1024 * 1024;
    print_size(size_str, sizeof(size_str), mib);

    buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* A write fault gives each page its own frame; zero it again after. */
    for (off = 0; off < len; off += page) {
        ((volatile unsigned char *)buf)[off] = 1;
    }
    memset(buf, 0, len);

    printf("buffer_is_zero implementation: %s\n",
           buffer_is_zero_accel_name());

    zero_gbps = best_gbps_zero(buf, len, &zero);
    scalar_gbps = best_gbps_read(sum_scalar, buf, len);
    ref_gbps = scalar_gbps;
    printf("buffer_is_zero %s: %.1f GB/s%s\n", size_str, zero_gbps,
           zero ? "" : " (WRONG RESULT: reported non-zero)");
    printf("memory read loop (scalar) %s: %.1f GB/s\n", size_str,
           scalar_gbps);
#ifdef BENCH_X86
    {
        double vec_gbps = best_gbps_read(sum_vector, buf, len);

        printf("memory read loop (vector) %s: %.1f GB/s\n", size_str,
               vec_gbps);
        ref_gbps = MAX(ref_gbps, vec_gbps);
    }
#endif
    printf("memory read loop %s: %.1f GB/s (best of the above)\n", size_str,
           ref_gbps);
    printf("ratio: %.0f%%\n", 100.0 * zero_gbps / ref_gbps);

    /* The slower implementations, for comparison. */
    while (test_buffer_is_zero_next_accel()) {
        double gbps = best_gbps_zero(buf, len, &zero);

        printf("buffer_is_zero (%s) %s: %.1f GB/s, %.0f%%%s\n",
               buffer_is_zero_accel_name(), size_str, gbps,
               100.0 * gbps / ref_gbps,
               zero ? "" : " (WRONG RESULT: reported non-zero)");
    }

    munmap(buf, len);
    return 0;
}
