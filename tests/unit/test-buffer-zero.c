/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for buffer_is_zero().
 *
 * /buffer-zero/exhaustive/IMPL calls each implementation the CPU supports
 * (avx2, sse2, scalar) directly, bypassing buffer_is_zero()'s first, middle
 * and last byte check and its routing of short buffers to the scalar loop,
 * for every length from the implementation's minimum (32, 16, 0) to MAX_LEN
 * at every alignment 0..MAX_ALIGN-1, with:
 *
 *  - the buffer all zero, and all zero but for non-zero bytes just outside
 *    it on both sides (expected: zero);
 *  - a single non-zero byte at every position (expected: not zero); the
 *    byte's value cycles through the eight single-bit values.
 *
 * The expected answers are those of a byte-by-byte reference, known here by
 * construction (the buffer's only non-zero byte is inside or outside it);
 * running such a reference on each of the ~550 million buffers per
 * implementation would cost more than the implementations themselves.
 * /buffer-zero/exhaustive/dispatch does the same through buffer_is_zero()
 * with its default implementation.  Each sweep places the byte, calls and
 * removes the byte in one buffer per thread, with the alignments dealt out
 * to one thread per CPU.
 *
 * The other tests go through buffer_is_zero() and run once per
 * implementation (test_buffer_is_zero_next_accel()):
 *
 *  - /buffer-zero/nonzero/sparse: every alignment 0..63 x every length
 *    1..MAX_LEN x the positions where an implementation could slip: the
 *    first and last two bytes, the bytes around the middle, the bytes on
 *    either side of the 16- and 32-byte head and tail loads, and one
 *    pseudo-random position;
 *  - /buffer-zero/random compares against a byte-by-byte reference on
 *    buffers with a few random non-zero bytes (also just outside the
 *    buffer) at random lengths and alignments.
 *
 * /buffer-zero/guard places buffers flush against PROT_NONE pages, so any
 * read outside [buf, buf + len) crashes even without ASan.
 */
#include "util/osdep.h"
#include "util/buffer-zero.h"

#include <sys/mman.h>

#define MAX_LEN 4160
#define MAX_ALIGN 64

static G_GNUC_NORETURN void fail(const char *what, size_t len, size_t align,
                                 size_t pos)
{
    g_error("%s: %s for len %zu align %zu pos %zu",
            buffer_is_zero_accel_name(), what, len, align, pos);
}

/* Run @fn once per implementation, leaving the default selected. */
static void for_each_accel(void (*fn)(void))
{
    int n = 0;

    do {
        g_test_message("implementation: %s", buffer_is_zero_accel_name());
        fn();
        n++;
    } while (test_buffer_is_zero_next_accel());
    g_assert_cmpint(n, >=, 1);
}

/*
 * Check that one non-zero byte at @pos in buf[0..len) is detected.  @buf is
 * all zero on entry and on return.
 */
static inline void check_one_byte(unsigned char *buf, size_t len,
                                  size_t align, size_t pos)
{
    buf[pos] = 1u << (pos & 7);
    if (unlikely(buffer_is_zero(buf, len))) {
        fail("non-zero byte missed", len, align, pos);
    }
    buf[pos] = 0;
}

static void do_test_zero(void)
{
    unsigned char *area = g_malloc0(MAX_ALIGN + MAX_LEN);
    size_t align, len;

    for (align = 0; align < MAX_ALIGN; align++) {
        unsigned char *buf = area + align;

        for (len = 0; len <= MAX_LEN; len++) {
            if (unlikely(!buffer_is_zero(buf, len))) {
                fail("zero buffer reported non-zero", len, align, 0);
            }
        }
    }
    g_free(area);
}

static void test_zero(void)
{
    for_each_accel(do_test_zero);
}

static void do_test_nonzero_sparse(void)
{
    unsigned char *area = g_malloc0(MAX_ALIGN + MAX_LEN);
    GRand *rand = g_rand_new_with_seed(0x5eed0001);
    size_t align, len, i;

    for (align = 0; align < MAX_ALIGN; align++) {
        unsigned char *buf = area + align;

        for (len = 1; len <= MAX_LEN; len++) {
            /*
             * Start, middle and end bytes, the bytes just inside and just
             * past the 16- and 32-byte head/tail loads, and one at random.
             */
            size_t pos[] = {
                0, 1, 15, 16, 31, 32,
                len / 2 - (len >= 2), len / 2, len / 2 + 1,
                len - 33, len - 32, len - 17, len - 16, len - 2, len - 1,
                g_rand_int_range(rand, 0, len),
            };

            for (i = 0; i < G_N_ELEMENTS(pos); i++) {
                /* Out-of-range entries of short buffers wrap to huge. */
                if (pos[i] < len) {
                    check_one_byte(buf, len, align, pos[i]);
                }
            }
        }
    }
    g_rand_free(rand);
    g_free(area);
}

static void test_nonzero_sparse(void)
{
    for_each_accel(do_test_nonzero_sparse);
}

/* Non-zero bytes on either side of the buffer in the exhaustive sweeps. */
#define OUTSIDE 64

/* One implementation, or buffer_is_zero() itself, for the sweeps. */
typedef struct ZeroImpl {
    const char *name;
    BufferZeroImpl *fn;
    size_t min_len;
} ZeroImpl;

static G_GNUC_NORETURN void sweep_fail(const ZeroImpl *impl, const char *what,
                                       size_t len, size_t align, size_t pos)
{
    g_error("%s: %s for len %zu align %zu pos %zu",
            impl->name, what, len, align, pos);
}

/*
 * Every position of a single non-zero byte in @buf[0..len); @buf is zero
 * on entry and on return.  The hot loop of the sweep: store, call, clear.
 */
static void sweep_positions(const ZeroImpl *impl, unsigned char *buf,
                            size_t len, size_t align)
{
    BufferZeroImpl *fn = impl->fn;
    size_t pos;

    for (pos = 0; pos < len; pos++) {
        bool zero;

        buf[pos] = 1u << (pos & 7);
        zero = fn(buf, len);
        buf[pos] = 0;
        if (unlikely(zero)) {
            sweep_fail(impl, "single non-zero byte missed", len, align, pos);
        }
    }
}

/* The alignments first_align, first_align + stride, ... of one sweep. */
typedef struct SweepPart {
    const ZeroImpl *impl;
    size_t first_align;
    size_t stride;
    uint64_t calls;
} SweepPart;

static gpointer sweep_part(gpointer opaque)
{
    SweepPart *part = opaque;
    const ZeroImpl *impl = part->impl;
    size_t area_len = OUTSIDE + MAX_ALIGN + MAX_LEN + OUTSIDE;
    unsigned char *area = g_malloc0(area_len);
    size_t align, len;

    for (align = part->first_align; align < MAX_ALIGN;
         align += part->stride) {
        unsigned char *buf = area + OUTSIDE + align;

        for (len = impl->min_len; len <= MAX_LEN; len++) {
            if (!impl->fn(buf, len)) {
                sweep_fail(impl, "zero buffer reported non-zero", len, align,
                           0);
            }
            memset(buf - OUTSIDE, 0xff, OUTSIDE);
            memset(buf + len, 0xff, OUTSIDE);
            if (!impl->fn(buf, len)) {
                sweep_fail(impl, "non-zero bytes outside the buffer seen",
                           len, align, 0);
            }
            memset(buf - OUTSIDE, 0, OUTSIDE);
            memset(buf + len, 0, OUTSIDE);
            sweep_positions(impl, buf, len, align);
            part->calls += 2 + len;
        }
    }
    /* The sweep left the area as it found it. */
    for (size_t i = 0; i < area_len; i++) {
        g_assert_cmpuint(area[i], ==, 0);
    }
    g_free(area);
    return NULL;
}

/*
 * Sweep every alignment, length and position for @impl.  The alignments
 * are dealt out to one thread per CPU (at most SWEEP_THREADS_MAX), each
 * with its own buffer; the call count proves that nothing was skipped.
 */
#define SWEEP_THREADS_MAX 8

static void sweep(const ZeroImpl *impl)
{
    size_t nthreads = MIN(MAX(g_get_num_processors(), 1), SWEEP_THREADS_MAX);
    SweepPart parts[SWEEP_THREADS_MAX];
    GThread *threads[SWEEP_THREADS_MAX];
    uint64_t calls = 0, expect = 0;
    size_t i, len;

    for (i = 0; i < nthreads; i++) {
        parts[i] = (SweepPart) {
            .impl = impl, .first_align = i, .stride = nthreads,
        };
        threads[i] = g_thread_new("sweep", sweep_part, &parts[i]);
    }
    for (i = 0; i < nthreads; i++) {
        g_thread_join(threads[i]);
        calls += parts[i].calls;
    }
    for (len = impl->min_len; len <= MAX_LEN; len++) {
        expect += MAX_ALIGN * (2 + len);
    }
    g_assert_cmpuint(calls, ==, expect);
    g_test_message("%s: %" PRIu64 " calls in %zu threads", impl->name, calls,
                   nthreads);
}

static void test_exhaustive_impl(gconstpointer opaque)
{
    sweep(opaque);
}

static void test_exhaustive_dispatch(void)
{
    const ZeroImpl impl = {
        .name = "buffer_is_zero",
        .fn = buffer_is_zero,
        .min_len = 0,
    };

    sweep(&impl);
}

static bool ref_is_zero(const unsigned char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i]) {
            return false;
        }
    }
    return true;
}

static void do_test_random(void)
{
    unsigned char *area = g_malloc0(MAX_ALIGN + MAX_LEN);
    GRand *rand = g_rand_new_with_seed(0x5eed0002);
    int iter, j;

    for (iter = 0; iter < 20000; iter++) {
        size_t align = g_rand_int_range(rand, 0, MAX_ALIGN);
        size_t len = g_rand_int_range(rand, 0, MAX_LEN + 1);
        unsigned char *buf = area + align;
        int nset = g_rand_int_range(rand, 0, 4);

        /* Non-zero bytes may also land just outside [buf, buf + len). */
        for (j = 0; j < nset; j++) {
            size_t pos = g_rand_int_range(rand, 0, MAX_ALIGN + MAX_LEN);

            area[pos] = g_rand_int_range(rand, 1, 256);
        }
        if (buffer_is_zero(buf, len) != ref_is_zero(buf, len)) {
            fail("mismatch with reference", len, align, 0);
        }
        memset(area, 0, MAX_ALIGN + MAX_LEN);
    }
    g_rand_free(rand);
    g_free(area);
}

static void test_random(void)
{
    for_each_accel(do_test_random);
}

/*
 * A zeroed region of @data_pages pages with a PROT_NONE page on each side.
 * Returns the start of the data; *mapping and *maplen describe the whole.
 */
static unsigned char *map_guarded(size_t data_pages, void **mapping,
                                  size_t *maplen)
{
    size_t page = sysconf(_SC_PAGESIZE);
    unsigned char *p;

    *maplen = (data_pages + 2) * page;
    p = mmap(NULL, *maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(p != MAP_FAILED);
    g_assert_cmpint(mprotect(p + page, data_pages * page,
                             PROT_READ | PROT_WRITE), ==, 0);
    *mapping = p;
    return p + page;
}

static void do_test_guard(void)
{
    size_t page = sysconf(_SC_PAGESIZE);
    size_t data_pages = DIV_ROUND_UP(MAX_LEN, page);
    size_t data_len = data_pages * page;
    void *mapping;
    size_t maplen, len;
    unsigned char *data = map_guarded(data_pages, &mapping, &maplen);

    for (len = 0; len <= MAX_LEN; len++) {
        unsigned char *front = data;
        unsigned char *back = data + data_len - len;

        if (!buffer_is_zero(front, len)) {
            fail("zero buffer at front guard", len, 0, 0);
        }
        if (!buffer_is_zero(back, len)) {
            fail("zero buffer at back guard", len, data_len - len, 0);
        }
        if (len) {
            check_one_byte(front, len, 0, len - 1);
            check_one_byte(back, len, data_len - len, 0);
        }
    }
    g_assert_cmpint(munmap(mapping, maplen), ==, 0);
}

static void test_guard(void)
{
    for_each_accel(do_test_guard);
}

/* The implementations are visited fastest first and end with "scalar". */
static void test_accel_list(void)
{
    const char *first = buffer_is_zero_accel_name();
    const char *last;

    do {
        last = buffer_is_zero_accel_name();
        g_assert(g_str_equal(last, "avx2") || g_str_equal(last, "sse2") ||
                 g_str_equal(last, "scalar"));
    } while (test_buffer_is_zero_next_accel());
    g_assert_cmpstr(last, ==, "scalar");
    g_assert_cmpstr(buffer_is_zero_accel_name(), ==, first);
}

int main(int argc, char **argv)
{
    static ZeroImpl impls[8];

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/buffer-zero/accel-list", test_accel_list);
    g_test_add_func("/buffer-zero/zero", test_zero);
    g_test_add_func("/buffer-zero/nonzero/sparse", test_nonzero_sparse);
    for (unsigned i = 0;
         i < G_N_ELEMENTS(impls) &&
         test_buffer_is_zero_impl(i, &impls[i].name, &impls[i].fn,
                                  &impls[i].min_len);
         i++) {
        g_autofree char *path = g_strdup_printf("/buffer-zero/exhaustive/%s",
                                                impls[i].name);

        if (impls[i].fn) {
            g_test_add_data_func(path, &impls[i], test_exhaustive_impl);
        }
    }
    g_test_add_func("/buffer-zero/exhaustive/dispatch",
                    test_exhaustive_dispatch);
    g_test_add_func("/buffer-zero/random", test_random);
    g_test_add_func("/buffer-zero/guard", test_guard);
    return g_test_run();
}
