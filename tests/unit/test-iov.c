/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the iovec helpers, QEMUIOVector and qemu_blockalign().
 *
 * Most tests build a vector whose elements are separate exact-size heap
 * blocks (so ASan catches any access beyond an element) next to a flat
 * buffer holding the same bytes, run an operation on both, and compare.
 * The fixed layout below has empty elements at the start, in the middle and
 * at the end, with NULL bases, so every offset/length pair over it crosses
 * element boundaries in every possible way; the randomized test repeats the
 * exercise on random layouts from fixed seeds.
 */
#include "util/osdep.h"
#include "util/iov.h"

/* 0-length elements first, middle and last; total 34 bytes. */
static const size_t fixed_lens[] = { 0, 3, 0, 1, 7, 16, 0, 5, 2, 0 };

/* A QEMUIOVector over private element buffers and a flat mirror of it. */
typedef struct TestVec {
    QEMUIOVector qiov;
    unsigned char *flat;
    size_t size;
} TestVec;

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)(i * 31 + seed * 7 + 1);
}

/* Build @tv from @n element lengths and fill it with a pattern. */
static void tv_init(TestVec *tv, const size_t *lens, int n, unsigned seed)
{
    size_t off = 0;
    int i;

    qemu_iovec_init(&tv->qiov, 0);
    for (i = 0; i < n; i++) {
        qemu_iovec_add(&tv->qiov, lens[i] ? g_malloc(lens[i]) : NULL,
                       lens[i]);
    }
    tv->size = tv->qiov.size;
    tv->flat = g_malloc(tv->size + 1);
    for (off = 0; off < tv->size; off++) {
        tv->flat[off] = pattern(off, seed);
    }
    /* Fill the elements by hand, independently of the code under test. */
    off = 0;
    for (i = 0; i < n; i++) {
        if (lens[i]) {
            memcpy(tv->qiov.iov[i].iov_base, tv->flat + off, lens[i]);
        }
        off += lens[i];
    }
}

static void tv_init_fixed(TestVec *tv, unsigned seed)
{
    tv_init(tv, fixed_lens, G_N_ELEMENTS(fixed_lens), seed);
}

/* Assert that the elements of @tv hold exactly the flat mirror. */
static void tv_check(TestVec *tv)
{
    size_t off = 0;
    int i;

    g_assert_cmpuint(tv->qiov.size, ==, tv->size);
    for (i = 0; i < tv->qiov.niov; i++) {
        size_t len = tv->qiov.iov[i].iov_len;

        if (len) {
            g_assert_cmpmem(tv->qiov.iov[i].iov_base, len,
                            tv->flat + off, len);
        }
        off += len;
    }
    g_assert_cmpuint(off, ==, tv->size);
}

static void tv_free(TestVec *tv)
{
    int i;

    for (i = 0; i < tv->qiov.niov; i++) {
        g_free(tv->qiov.iov[i].iov_base);
    }
    qemu_iovec_destroy(&tv->qiov);
    g_free(tv->flat);
}

/* What a copy of @bytes at @offset over @size bytes should transfer. */
static size_t clipped(size_t size, size_t offset, size_t bytes)
{
    return MIN(bytes, size - offset);
}

/* Assert that @q holds the @len bytes at @flat, in non-empty elements. */
static void check_slice_content(QEMUIOVector *q, const unsigned char *flat,
                                size_t len)
{
    size_t pos = 0;
    int i;

    g_assert_cmpuint(q->size, ==, len);
    for (i = 0; i < q->niov; i++) {
        g_assert_cmpuint(q->iov[i].iov_len, >, 0);
        g_assert_cmpmem(q->iov[i].iov_base, q->iov[i].iov_len,
                        flat + pos, q->iov[i].iov_len);
        pos += q->iov[i].iov_len;
    }
    g_assert_cmpuint(pos, ==, len);
}

static void test_iov_size(void)
{
    struct iovec iov[] = {
        { NULL, 0 }, { (void *)1, 10 }, { NULL, 0 }, { (void *)2, 5 },
    };

    g_assert_cmpuint(iov_size(NULL, 0), ==, 0);
    g_assert_cmpuint(iov_size(iov, 1), ==, 0);
    g_assert_cmpuint(iov_size(iov, 3), ==, 10);
    g_assert_cmpuint(iov_size(iov, 4), ==, 15);
}

static void test_to_buf(void)
{
    TestVec tv;
    unsigned char out[64];
    size_t offset, bytes, ret;

    tv_init_fixed(&tv, 1);
    for (offset = 0; offset <= tv.size; offset++) {
        for (bytes = 0; bytes <= tv.size + 3; bytes++) {
            size_t want = clipped(tv.size, offset, bytes);

            memset(out, 0xee, sizeof(out));
            ret = qemu_iovec_to_buf(&tv.qiov, offset, out, bytes);
            g_assert_cmpuint(ret, ==, want);
            g_assert_cmpmem(out, want, tv.flat + offset, want);
            /* Nothing written past what was copied. */
            g_assert_cmpuint(out[want], ==, 0xee);

            ret = iov_to_buf(tv.qiov.iov, tv.qiov.niov, offset, out, bytes);
            g_assert_cmpuint(ret, ==, want);
        }
    }
    tv_free(&tv);
}

static void test_from_buf(void)
{
    unsigned char in[64];
    size_t offset, bytes, ret, i;

    for (i = 0; i < sizeof(in); i++) {
        in[i] = 0x80 | i;
    }
    for (offset = 0; offset <= 34; offset++) {
        for (bytes = 0; bytes <= 37; bytes++) {
            TestVec tv;
            size_t want;

            tv_init_fixed(&tv, 2);
            want = clipped(tv.size, offset, bytes);
            ret = qemu_iovec_from_buf(&tv.qiov, offset, in, bytes);
            g_assert_cmpuint(ret, ==, want);
            memcpy(tv.flat + offset, in, want);
            tv_check(&tv);

            ret = iov_from_buf(tv.qiov.iov, tv.qiov.niov, offset, in, bytes);
            g_assert_cmpuint(ret, ==, want);
            tv_check(&tv);
            tv_free(&tv);
        }
    }
}

static void test_memset(void)
{
    size_t offset, bytes, ret;

    for (offset = 0; offset <= 34; offset++) {
        for (bytes = 0; bytes <= 37; bytes++) {
            TestVec tv;
            size_t want;

            tv_init_fixed(&tv, 3);
            want = clipped(tv.size, offset, bytes);
            ret = qemu_iovec_memset(&tv.qiov, offset, 0x5a, bytes);
            g_assert_cmpuint(ret, ==, want);
            memset(tv.flat + offset, 0x5a, want);
            tv_check(&tv);

            ret = iov_memset(tv.qiov.iov, tv.qiov.niov, offset, 0, bytes);
            g_assert_cmpuint(ret, ==, want);
            memset(tv.flat + offset, 0, want);
            tv_check(&tv);
            tv_free(&tv);
        }
    }
}

/* All helpers on an empty element array: nothing to do, nothing touched. */
static void test_empty(void)
{
    QEMUIOVector q;
    unsigned char b = 0x11;

    g_assert_cmpuint(iov_to_buf(NULL, 0, 0, &b, 1), ==, 0);
    g_assert_cmpuint(iov_from_buf(NULL, 0, 0, &b, 1), ==, 0);
    g_assert_cmpuint(iov_memset(NULL, 0, 0, 0, 1), ==, 0);
    g_assert_cmpuint(b, ==, 0x11);

    qemu_iovec_init(&q, 0);
    g_assert_cmpint(q.niov, ==, 0);
    g_assert_cmpuint(q.size, ==, 0);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, 0, &b, 1), ==, 0);
    g_assert_true(qemu_iovec_is_zero(&q, 0, 0));
    qemu_iovec_destroy(&q);
}

/* An offset past the end of the vector is a caller bug and aborts. */
static void test_offset_past_end(void)
{
    if (g_test_subprocess()) {
        TestVec tv;
        unsigned char b;

        tv_init_fixed(&tv, 4);
        qemu_iovec_to_buf(&tv.qiov, tv.size + 1, &b, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Assertion*");
}

static void test_init_add(void)
{
    QEMUIOVector q;
    char data[100];
    int i;

    qemu_iovec_init(&q, 2);
    g_assert_cmpint(q.nalloc, ==, 2);
    for (i = 0; i < 100; i++) {
        qemu_iovec_add(&q, data + i, i % 3);
        g_assert_cmpint(q.niov, ==, i + 1);
        g_assert_cmpint(q.nalloc, >=, q.niov);
    }
    g_assert_cmpuint(q.size, ==, 99);
    for (i = 0; i < 100; i++) {
        g_assert(q.iov[i].iov_base == data + i);
        g_assert_cmpuint(q.iov[i].iov_len, ==, i % 3);
    }

    qemu_iovec_reset(&q);
    g_assert_cmpint(q.niov, ==, 0);
    g_assert_cmpuint(q.size, ==, 0);
    g_assert_cmpint(q.nalloc, >=, 100);
    qemu_iovec_add(&q, data, 7);
    g_assert_cmpuint(q.size, ==, 7);

    qemu_iovec_destroy(&q);
    g_assert_null(q.iov);
    g_assert_cmpint(q.niov, ==, 0);
    /* Destroying a cleared vector again is allowed. */
    qemu_iovec_destroy(&q);
}

static void test_init_buf(void)
{
    QEMUIOVector q;
    unsigned char buf[16], out[16];
    int i;

    for (i = 0; i < 16; i++) {
        buf[i] = i;
    }
    qemu_iovec_init_buf(&q, buf, sizeof(buf));
    g_assert_cmpint(q.niov, ==, 1);
    g_assert_cmpint(q.nalloc, ==, -1);
    g_assert_cmpuint(q.size, ==, 16);
    g_assert(q.iov == &q.local_iov);
    g_assert(q.iov[0].iov_base == buf);

    g_assert_cmpuint(qemu_iovec_to_buf(&q, 4, out, 100), ==, 12);
    g_assert_cmpmem(out, 12, buf + 4, 12);
    g_assert_cmpuint(qemu_iovec_memset(&q, 8, 0, 8), ==, 8);
    g_assert_true(qemu_iovec_is_zero(&q, 8, 8));
    g_assert_false(qemu_iovec_is_zero(&q, 7, 9));
    qemu_iovec_destroy(&q);
    g_assert_null(q.iov);

    qemu_iovec_init_buf(&q, NULL, 0);
    g_assert_cmpuint(q.size, ==, 0);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, 0, out, 1), ==, 0);
    qemu_iovec_destroy(&q);
}

/* Growing or resetting a qemu_iovec_init_buf() vector aborts. */
static void test_init_buf_add_aborts(void)
{
    if (g_test_subprocess()) {
        QEMUIOVector q;
        char c;

        qemu_iovec_init_buf(&q, &c, 1);
        qemu_iovec_add(&q, &c, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*nalloc != -1*");
}

static void test_init_buf_reset_aborts(void)
{
    if (g_test_subprocess()) {
        QEMUIOVector q;
        char c;

        qemu_iovec_init_buf(&q, &c, 1);
        qemu_iovec_reset(&q);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*nalloc != -1*");
}

/* Non-empty pieces of fixed_lens that [offset, offset + len) touches. */
static int fixed_pieces(size_t offset, size_t len)
{
    size_t start = 0;
    unsigned i;
    int n = 0;

    for (i = 0; i < G_N_ELEMENTS(fixed_lens); i++) {
        size_t end = start + fixed_lens[i];

        if (len && fixed_lens[i] && offset < end && offset + len > start) {
            n++;
        }
        start = end;
    }
    return n;
}

static void test_concat(void)
{
    TestVec tv;
    size_t soffset, sbytes;
    char head[4];

    tv_init_fixed(&tv, 5);
    for (soffset = 0; soffset <= tv.size; soffset++) {
        for (sbytes = 0; sbytes <= tv.size + 3; sbytes++) {
            size_t want = clipped(tv.size, soffset, sbytes);
            QEMUIOVector dst;

            /* Appending after an existing element keeps it in place. */
            qemu_iovec_init(&dst, 0);
            qemu_iovec_add(&dst, head, sizeof(head));
            qemu_iovec_concat(&dst, &tv.qiov, soffset, sbytes);
            g_assert_cmpint(dst.niov, ==, 1 + fixed_pieces(soffset, want));
            g_assert(dst.iov[0].iov_base == head);
            g_assert_cmpuint(dst.size, ==, sizeof(head) + want);

            /* Check the appended part on its own. */
            {
                QEMUIOVector tail = {
                    .iov = dst.iov + 1,
                    .niov = dst.niov - 1,
                    .size = dst.size - sizeof(head),
                };
                check_slice_content(&tail, tv.flat + soffset, want);
            }
            qemu_iovec_destroy(&dst);

            qemu_iovec_init(&dst, 0);
            g_assert_cmpuint(qemu_iovec_concat_iov(&dst, tv.qiov.iov,
                                                   tv.qiov.niov, soffset,
                                                   sbytes), ==, want);
            check_slice_content(&dst, tv.flat + soffset, want);
            qemu_iovec_destroy(&dst);
        }
    }
    tv_free(&tv);
}

/* A vector extended with a slice of itself. */
static void test_concat_self(void)
{
    char a[5] = "abcde", b[3] = "fgh";
    char out[16];
    QEMUIOVector q;
    int i;

    qemu_iovec_init(&q, 2);
    qemu_iovec_add(&q, a, 5);
    qemu_iovec_add(&q, b, 3);
    /* Capacity is exactly full, so this must grow the array. */
    qemu_iovec_concat(&q, &q, 3, 4);
    g_assert_cmpint(q.niov, ==, 4);
    g_assert_cmpuint(q.size, ==, 12);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, 0, out, sizeof(out)), ==, 12);
    g_assert_cmpmem(out, 12, "abcdefghdefg", 12);
    for (i = 0; i < 10; i++) {
        qemu_iovec_concat(&q, &q, 0, q.size);
    }
    g_assert_cmpuint(q.size, ==, 12u << 10);
    g_assert_cmpint(q.niov, ==, 4 << 10);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, q.size - 12, out, 16), ==, 12);
    g_assert_cmpmem(out, 12, "abcdefghdefg", 12);
    qemu_iovec_destroy(&q);
}

static void test_slice(void)
{
    TestVec tv;
    size_t offset, len;

    tv_init_fixed(&tv, 6);
    for (offset = 0; offset <= tv.size; offset++) {
        for (len = 0; len <= tv.size - offset; len++) {
            QEMUIOVector s;
            int pieces = fixed_pieces(offset, len);
            unsigned char c;

            qemu_iovec_init_slice(&s, &tv.qiov, offset, len);
            check_slice_content(&s, tv.flat + offset, len);
            if (pieces == 1) {
                /* Inside one element: a single-buffer vector. */
                g_assert_cmpint(s.nalloc, ==, -1);
                g_assert_cmpint(s.niov, ==, 1);
            } else {
                /* Growable, with exactly the elements it needs. */
                g_assert_cmpint(s.niov, ==, pieces);
                g_assert_cmpint(s.nalloc, ==, pieces);
            }

            /* The slice shares memory with its source. */
            if (len) {
                c = ~tv.flat[offset + len - 1];
                g_assert_cmpuint(qemu_iovec_from_buf(&s, len - 1, &c, 1),
                                 ==, 1);
                tv.flat[offset + len - 1] = c;
                tv_check(&tv);
            }
            qemu_iovec_destroy(&s);
        }
    }
    tv_free(&tv);
}

/* A slice of a slice, and a slice of a single-buffer vector. */
static void test_slice_nested(void)
{
    TestVec tv;
    QEMUIOVector s1, s2, b, sb;
    unsigned char buf[8] = "01234567", out[40];

    tv_init_fixed(&tv, 7);
    qemu_iovec_init_slice(&s1, &tv.qiov, 2, 30);
    qemu_iovec_init_slice(&s2, &s1, 5, 20);
    g_assert_cmpuint(qemu_iovec_to_buf(&s2, 0, out, sizeof(out)), ==, 20);
    g_assert_cmpmem(out, 20, tv.flat + 7, 20);
    qemu_iovec_destroy(&s2);
    qemu_iovec_destroy(&s1);
    tv_free(&tv);

    qemu_iovec_init_buf(&b, buf, sizeof(buf));
    qemu_iovec_init_slice(&sb, &b, 3, 4);
    g_assert_cmpint(sb.nalloc, ==, -1);
    g_assert(sb.iov[0].iov_base == buf + 3);
    g_assert_cmpuint(sb.size, ==, 4);
    qemu_iovec_destroy(&sb);
}

static void test_is_zero(void)
{
    TestVec tv;
    size_t offset, len, nz;

    tv_init_fixed(&tv, 8);
    memset(tv.flat, 0, tv.size);
    g_assert_cmpuint(qemu_iovec_memset(&tv.qiov, 0, 0, tv.size), ==,
                     tv.size);
    tv_check(&tv);

    for (offset = 0; offset <= tv.size; offset++) {
        for (len = 0; len <= tv.size - offset; len++) {
            g_assert_true(qemu_iovec_is_zero(&tv.qiov, offset, len));
        }
    }

    /* One non-zero byte at each position in turn. */
    for (nz = 0; nz < tv.size; nz++) {
        unsigned char one = 1, zero = 0;

        qemu_iovec_from_buf(&tv.qiov, nz, &one, 1);
        for (offset = 0; offset <= tv.size; offset++) {
            for (len = 0; len <= tv.size - offset; len++) {
                bool covers = offset <= nz && nz < offset + len;

                g_assert_cmpint(qemu_iovec_is_zero(&tv.qiov, offset, len),
                                ==, !covers);
            }
        }
        qemu_iovec_from_buf(&tv.qiov, nz, &zero, 1);
    }
    tv_free(&tv);
}

static void test_compare(void)
{
    static const size_t other_lens[] = { 10, 0, 1, 23 };
    TestVec a, b;
    QEMUIOVector shorter;
    size_t i;

    /* Same bytes (same seed) in different layouts. */
    tv_init_fixed(&a, 9);
    tv_init(&b, other_lens, G_N_ELEMENTS(other_lens), 9);
    g_assert_cmpuint(a.size, ==, b.size);
    g_assert_cmpint(qemu_iovec_compare(&a.qiov, &b.qiov), ==, -1);
    g_assert_cmpint(qemu_iovec_compare(&b.qiov, &a.qiov), ==, -1);
    g_assert_cmpint(qemu_iovec_compare(&a.qiov, &a.qiov), ==, -1);

    /* A difference at each position in turn, either side. */
    for (i = 0; i < a.size; i++) {
        unsigned char c = ~a.flat[i];

        qemu_iovec_from_buf(&b.qiov, i, &c, 1);
        g_assert_cmpint(qemu_iovec_compare(&a.qiov, &b.qiov), ==, i);
        g_assert_cmpint(qemu_iovec_compare(&b.qiov, &a.qiov), ==, i);
        qemu_iovec_from_buf(&b.qiov, i, &a.flat[i], 1);
    }
    g_assert_cmpint(qemu_iovec_compare(&a.qiov, &b.qiov), ==, -1);

    /* A proper prefix differs at its end. */
    qemu_iovec_init_slice(&shorter, &b.qiov, 0, 20);
    g_assert_cmpint(qemu_iovec_compare(&a.qiov, &shorter), ==, 20);
    g_assert_cmpint(qemu_iovec_compare(&shorter, &a.qiov), ==, 20);
    qemu_iovec_destroy(&shorter);

    tv_free(&a);
    tv_free(&b);
}

/* Random element lengths (about one in five empty) adding up to anything. */
static int random_lens(GRand *r, size_t *lens, int max)
{
    int n = g_rand_int_range(r, 0, max + 1);
    int i;

    for (i = 0; i < n; i++) {
        lens[i] = g_rand_int_range(r, 0, 5) ? g_rand_int_range(r, 1, 80) : 0;
    }
    return n;
}

/* Random (offset, bytes) with offset <= size; bytes may overshoot. */
static void random_range(GRand *r, size_t size, size_t *offset,
                         size_t *bytes)
{
    *offset = g_rand_int_range(r, 0, size + 1);
    *bytes = g_rand_int_range(r, 0, size - *offset + 10);
}

static void random_round(GRand *r)
{
    size_t lens[16], lens2[32];
    int n = random_lens(r, lens, 16);
    TestVec tv;
    size_t offset, bytes, want, ret, i;
    unsigned char *tmp;
    QEMUIOVector q;

    tv_init(&tv, lens, n, g_rand_int(r));
    tmp = g_malloc(tv.size + 16);

    /* to_buf */
    random_range(r, tv.size, &offset, &bytes);
    want = clipped(tv.size, offset, bytes);
    ret = qemu_iovec_to_buf(&tv.qiov, offset, tmp, bytes);
    g_assert_cmpuint(ret, ==, want);
    g_assert_cmpmem(tmp, want, tv.flat + offset, want);

    /* from_buf */
    random_range(r, tv.size, &offset, &bytes);
    want = clipped(tv.size, offset, bytes);
    for (i = 0; i < want; i++) {
        tmp[i] = g_rand_int(r);
    }
    ret = qemu_iovec_from_buf(&tv.qiov, offset, tmp, bytes);
    g_assert_cmpuint(ret, ==, want);
    memcpy(tv.flat + offset, tmp, want);
    tv_check(&tv);

    /* memset to zero, then is_zero over a random range */
    random_range(r, tv.size, &offset, &bytes);
    want = clipped(tv.size, offset, bytes);
    ret = qemu_iovec_memset(&tv.qiov, offset, 0, bytes);
    g_assert_cmpuint(ret, ==, want);
    memset(tv.flat + offset, 0, want);
    tv_check(&tv);
    for (i = 0; i < 4; i++) {
        size_t j;
        bool ref = true;

        random_range(r, tv.size, &offset, &bytes);
        bytes = clipped(tv.size, offset, bytes);
        for (j = offset; j < offset + bytes; j++) {
            ref &= tv.flat[j] == 0;
        }
        g_assert_cmpint(qemu_iovec_is_zero(&tv.qiov, offset, bytes), ==,
                        ref);
    }

    /* slice */
    random_range(r, tv.size, &offset, &bytes);
    bytes = clipped(tv.size, offset, bytes);
    qemu_iovec_init_slice(&q, &tv.qiov, offset, bytes);
    check_slice_content(&q, tv.flat + offset, bytes);
    qemu_iovec_destroy(&q);

    /* concat twice into one vector */
    {
        size_t o2, b2, w1, w2;

        random_range(r, tv.size, &offset, &bytes);
        random_range(r, tv.size, &o2, &b2);
        w1 = clipped(tv.size, offset, bytes);
        w2 = clipped(tv.size, o2, b2);
        qemu_iovec_init(&q, g_rand_int_range(r, 0, 3));
        qemu_iovec_concat(&q, &tv.qiov, offset, bytes);
        qemu_iovec_concat(&q, &tv.qiov, o2, b2);
        g_assert_cmpuint(q.size, ==, w1 + w2);
        g_assert_cmpuint(qemu_iovec_to_buf(&q, 0, tmp, w1), ==, w1);
        g_assert_cmpmem(tmp, w1, tv.flat + offset, w1);
        g_assert_cmpuint(qemu_iovec_to_buf(&q, w1, tmp, w2 + 5), ==, w2);
        g_assert_cmpmem(tmp, w2, tv.flat + o2, w2);
        qemu_iovec_destroy(&q);
    }

    /* compare against the same bytes in another random layout */
    {
        TestVec other;
        size_t left = tv.size;
        int n2 = 0;

        while (left && n2 < 31) {
            size_t len = g_rand_int_range(r, 0, 5) ?
                         g_rand_int_range(r, 1, 50) : 0;

            lens2[n2] = MIN(left, len);
            left -= lens2[n2++];
        }
        lens2[n2++] = left;
        tv_init(&other, lens2, n2, 0);
        g_assert_cmpuint(iov_from_buf(other.qiov.iov, other.qiov.niov, 0,
                                      tv.flat, tv.size), ==, tv.size);
        g_assert_cmpint(qemu_iovec_compare(&tv.qiov, &other.qiov), ==, -1);
        if (tv.size) {
            unsigned char c;

            i = g_rand_int_range(r, 0, tv.size);
            c = tv.flat[i] ^ (1u << g_rand_int_range(r, 0, 8));
            qemu_iovec_from_buf(&other.qiov, i, &c, 1);
            g_assert_cmpint(qemu_iovec_compare(&tv.qiov, &other.qiov), ==,
                            i);
        }
        tv_free(&other);
    }

    g_free(tmp);
    tv_free(&tv);
}

static void test_random(void)
{
    static const guint32 seeds[] = { 1, 2, 3, 42, 0xdeadbeef };
    unsigned s;
    int i;

    for (s = 0; s < G_N_ELEMENTS(seeds); s++) {
        GRand *r = g_rand_new_with_seed(seeds[s]);

        for (i = 0; i < 2000; i++) {
            random_round(r);
        }
        g_rand_free(r);
    }
}

static void test_blockalign(void)
{
    static const size_t aligns[] = { 0, 1, 2, 8, 16, 512, 4096, 65536 };
    static const size_t sizes[] = { 0, 1, 511, 4096, 1 << 20 };
    unsigned i, j;

    for (i = 0; i < G_N_ELEMENTS(aligns); i++) {
        for (j = 0; j < G_N_ELEMENTS(sizes); j++) {
            unsigned char *p = qemu_blockalign(aligns[i], sizes[j]);
            size_t a = MAX(aligns[i], sizeof(void *));

            g_assert_nonnull(p);
            g_assert_cmpuint((uintptr_t)p % a, ==, 0);
            memset(p, 0xa5, sizes[j]);
            qemu_vfree(p);

            p = qemu_try_blockalign(aligns[i], sizes[j]);
            g_assert_nonnull(p);
            g_assert_cmpuint((uintptr_t)p % a, ==, 0);
            qemu_vfree(p);
        }
    }
    qemu_vfree(NULL);
}

/*
 * Out of memory: try_ returns NULL, the plain one aborts.  Skipped under
 * ASan, whose allocator reports absurd sizes as an error instead.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

static void test_blockalign_oom(void)
{
#ifdef HAVE_ASAN
    g_test_skip("ASan does not return NULL for impossible allocations");
#else
    if (g_test_subprocess()) {
        qemu_blockalign(4096, SIZE_MAX - 8192);
        return;
    }
    g_assert_null(qemu_try_blockalign(4096, SIZE_MAX - 8192));
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*qemu_blockalign*");
#endif
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/size", test_iov_size);
    g_test_add_func("/iov/to-buf", test_to_buf);
    g_test_add_func("/iov/from-buf", test_from_buf);
    g_test_add_func("/iov/memset", test_memset);
    g_test_add_func("/iov/empty", test_empty);
    g_test_add_func("/iov/offset-past-end", test_offset_past_end);
    g_test_add_func("/qiov/init-add-reset", test_init_add);
    g_test_add_func("/qiov/init-buf", test_init_buf);
    g_test_add_func("/qiov/init-buf/add-aborts", test_init_buf_add_aborts);
    g_test_add_func("/qiov/init-buf/reset-aborts",
                    test_init_buf_reset_aborts);
    g_test_add_func("/qiov/concat", test_concat);
    g_test_add_func("/qiov/concat-self", test_concat_self);
    g_test_add_func("/qiov/slice", test_slice);
    g_test_add_func("/qiov/slice-nested", test_slice_nested);
    g_test_add_func("/qiov/is-zero", test_is_zero);
    g_test_add_func("/qiov/compare", test_compare);
    g_test_add_func("/qiov/random", test_random);
    g_test_add_func("/blockalign/basic", test_blockalign);
    g_test_add_func("/blockalign/oom", test_blockalign_oom);
    return g_test_run();
}
