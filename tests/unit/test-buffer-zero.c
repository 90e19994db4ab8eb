/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for buffer_is_zero().
 *
 * Every test runs once per implementation the CPU supports (avx2, sse2,
 * scalar), stepping through them with test_buffer_is_zero_next_accel().
 *
 * Coverage of the single-non-zero-byte case.  Testing every position of
 * every length 0..MAX_LEN at every alignment 0..63 means about 4161 * 64 *
 * 2080 = 550 million calls scanning ~8 * 10^11 bytes per implementation:
 * minutes, and far longer under ASan.  Instead:
 *
 *  - /buffer-zero/nonzero/every-position: alignments {0, 1, 7, 63} (which
 *    are 0, 1, 7 and 31 modulo the widest vector) x every length
 *    1..MAX_LEN x every position;
 *  - /buffer-zero/nonzero/sparse: every alignment 0..63 x every length
 *    1..MAX_LEN x a fixed set of positions: the first and last two bytes,
 *    the bytes around the middle (the dispatcher's early checks), the bytes
 *    on either side of the 16- and 32-byte head and tail loads, and one
 *    pseudo-random position;
 *  - /buffer-zero/random compares against a byte-by-byte reference on
 *    buffers with a few random non-zero bytes (also just outside the
 *    buffer) at random lengths and alignments.
 *
 * On a 2-core x86 VM the whole program takes about 2.5 s per run, about
 * 10 s under ASan+UBSan; the every-position sweep is most of that.
 *
 * /buffer-zero/guard places buffers flush against PROT_NONE pages, so any
 * read outside [buf, buf + len) crashes even without ASan.
 */
#include "util/osdep.h"
#include "util/buffer-zero.h"

#include <sys/mman.h>

#define MAX_LEN 4160
#define MAX_ALIGN 64

static const size_t deep_aligns[] = { 0, 1, 7, 63 };

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

static void do_test_nonzero_every_position(void)
{
    unsigned char *area = g_malloc0(MAX_ALIGN + MAX_LEN);
    size_t a, len, pos;

    for (a = 0; a < G_N_ELEMENTS(deep_aligns); a++) {
        size_t align = deep_aligns[a];
        unsigned char *buf = area + align;

        for (len = 1; len <= MAX_LEN; len++) {
            for (pos = 0; pos < len; pos++) {
                check_one_byte(buf, len, align, pos);
            }
        }
    }
    g_free(area);
}

static void test_nonzero_every_position(void)
{
    for_each_accel(do_test_nonzero_every_position);
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
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/buffer-zero/accel-list", test_accel_list);
    g_test_add_func("/buffer-zero/zero", test_zero);
    g_test_add_func("/buffer-zero/nonzero/sparse", test_nonzero_sparse);
    g_test_add_func("/buffer-zero/nonzero/every-position",
                    test_nonzero_every_position);
    g_test_add_func("/buffer-zero/random", test_random);
    g_test_add_func("/buffer-zero/guard", test_guard);
    return g_test_run();
}
