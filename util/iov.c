/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * I/O vectors.
 *
 * Everything here walks an element array the same way: iov_find() turns a
 * byte offset into (element index, offset inside that element), then the
 * caller consumes elements from there, the first one partially.  Zero-length
 * elements fall out naturally: iov_find() steps over them and the loops
 * process zero bytes of them.  We never pass a zero length to memcpy() and
 * friends, because an empty element may well have a NULL base.
 *
 * A QEMUIOVector made by qemu_iovec_init_buf() points at its own local_iov
 * and has nalloc == -1; every function that would reallocate or clear the
 * element array asserts that it is not such a vector.
 */
#include "util/osdep.h"
#include "util/iov.h"
#include "util/buffer-zero.h"

/*
 * Return the index of the element of @iov that holds byte @offset and store
 * the offset inside that element in *@elem_off.  Zero-length elements are
 * never returned.  When @offset is at or beyond the end, the result is
 * @iov_cnt and *@elem_off is how far beyond the end @offset lies (0 when
 * exactly at the end).
 */
static unsigned int iov_find(const struct iovec *iov, unsigned int iov_cnt,
                             size_t offset, size_t *elem_off)
{
    unsigned int i;

    for (i = 0; i < iov_cnt && offset >= iov[i].iov_len; i++) {
        offset -= iov[i].iov_len;
    }
    *elem_off = offset;
    return i;
}

/*
 * Number of non-empty pieces that bytes [@offset, @offset + @bytes) of @iov
 * span, clipped at the end of the vector.  @offset must not be past the end.
 */
static unsigned int iov_count_pieces(const struct iovec *iov,
                                     unsigned int iov_cnt, size_t offset,
                                     size_t bytes)
{
    size_t skip, n;
    unsigned int i = iov_find(iov, iov_cnt, offset, &skip);
    unsigned int count = 0;

    assert(i < iov_cnt || skip == 0);
    for (; i < iov_cnt && bytes; i++) {
        n = MIN(iov[i].iov_len - skip, bytes);
        count += n > 0;
        bytes -= n;
        skip = 0;
    }
    return count;
}

size_t iov_size(const struct iovec *iov, unsigned int iov_cnt)
{
    size_t total = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes)
{
    size_t skip, n, done = 0;
    unsigned int i = iov_find(iov, iov_cnt, offset, &skip);

    assert(i < iov_cnt || skip == 0);
    for (; i < iov_cnt && done < bytes; i++) {
        n = MIN(iov[i].iov_len - skip, bytes - done);
        if (n) {
            memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done,
                   n);
            done += n;
        }
        skip = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes)
{
    size_t skip, n, done = 0;
    unsigned int i = iov_find(iov, iov_cnt, offset, &skip);

    assert(i < iov_cnt || skip == 0);
    for (; i < iov_cnt && done < bytes; i++) {
        n = MIN(iov[i].iov_len - skip, bytes - done);
        if (n) {
            memcpy((char *)buf + done, (const char *)iov[i].iov_base + skip,
                   n);
            done += n;
        }
        skip = 0;
    }
    return done;
}

size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes)
{
    size_t skip, n, done = 0;
    unsigned int i = iov_find(iov, iov_cnt, offset, &skip);

    assert(i < iov_cnt || skip == 0);
    for (; i < iov_cnt && done < bytes; i++) {
        n = MIN(iov[i].iov_len - skip, bytes - done);
        if (n) {
            memset((char *)iov[i].iov_base + skip, fillc, n);
            done += n;
        }
        skip = 0;
    }
    return done;
}

void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    assert(alloc_hint >= 0);
    qiov->iov = alloc_hint ? g_new(struct iovec, alloc_hint) : NULL;
    qiov->niov = 0;
    qiov->nalloc = alloc_hint;
    qiov->size = 0;
    qiov->local_iov = (struct iovec) { 0 };
}

void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len)
{
    qiov->local_iov.iov_base = buf;
    qiov->local_iov.iov_len = len;
    qiov->iov = &qiov->local_iov;
    qiov->niov = 1;
    qiov->nalloc = -1;
    qiov->size = len;
}

/* Make room for @extra more elements in a growable vector. */
static void qemu_iovec_reserve(QEMUIOVector *qiov, unsigned int extra)
{
    int need;

    assert(qiov->nalloc != -1);
    assert(extra <= (unsigned int)(INT_MAX / 2 - qiov->niov));
    need = qiov->niov + extra;
    if (need <= qiov->nalloc) {
        return;
    }
    /* Grow geometrically so that repeated adds cost O(1) each. */
    qiov->nalloc = MAX(need, 2 * qiov->nalloc + 1);
    qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
}

void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    qemu_iovec_reserve(qiov, 1);
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->niov++;
    qiov->size += len;
}

size_t qemu_iovec_concat_iov(QEMUIOVector *dst,
                             const struct iovec *src_iov,
                             unsigned int src_cnt,
                             size_t soffset, size_t sbytes)
{
    size_t skip, n, done = 0;
    unsigned int i = iov_find(src_iov, src_cnt, soffset, &skip);

    assert(i < src_cnt || skip == 0);
    for (; i < src_cnt && done < sbytes; i++) {
        n = MIN(src_iov[i].iov_len - skip, sbytes - done);
        if (n) {
            qemu_iovec_add(dst, (char *)src_iov[i].iov_base + skip, n);
            done += n;
        }
        skip = 0;
    }
    return done;
}

void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes)
{
    unsigned int pieces;

    assert(soffset <= src->size);
    pieces = iov_count_pieces(src->iov, src->niov, soffset, sbytes);
    if (!pieces) {
        return;
    }
    /*
     * Reserving first means no reallocation happens while we walk the
     * source, which makes appending a vector to itself (dst == src) safe.
     */
    qemu_iovec_reserve(dst, pieces);
    qemu_iovec_concat_iov(dst, src->iov, src->niov, soffset, sbytes);
}

void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len)
{
    size_t skip;
    unsigned int i;

    assert(qiov != source);
    assert(offset <= source->size && len <= source->size - offset);

    i = iov_find(source->iov, source->niov, offset, &skip);
    if (len && len <= source->iov[i].iov_len - skip) {
        qemu_iovec_init_buf(qiov, (char *)source->iov[i].iov_base + skip,
                            len);
        return;
    }
    qemu_iovec_init(qiov,
                    iov_count_pieces(source->iov, source->niov, offset, len));
    qemu_iovec_concat(qiov, source, offset, len);
}

void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        g_free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes)
{
    return iov_to_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes)
{
    return iov_from_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes)
{
    return iov_memset(qiov->iov, qiov->niov, offset, fillc, bytes);
}

bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    size_t skip, n;
    unsigned int i;

    assert(offset <= qiov->size && bytes <= qiov->size - offset);

    i = iov_find(qiov->iov, qiov->niov, offset, &skip);
    for (; bytes; i++) {
        n = MIN(qiov->iov[i].iov_len - skip, bytes);
        if (!buffer_is_zero((char *)qiov->iov[i].iov_base + skip, n)) {
            return false;
        }
        bytes -= n;
        skip = 0;
    }
    return true;
}

ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b)
{
    int ia = 0, ib = 0;
    size_t oa = 0, ob = 0, pos = 0, n, k;

    /* Walk both vectors in step, comparing the overlap of two elements. */
    while (ia < a->niov && ib < b->niov) {
        const unsigned char *pa = a->iov[ia].iov_base;
        const unsigned char *pb = b->iov[ib].iov_base;

        n = MIN(a->iov[ia].iov_len - oa, b->iov[ib].iov_len - ob);
        if (n && memcmp(pa + oa, pb + ob, n) != 0) {
            for (k = 0; pa[oa + k] == pb[ob + k]; k++) {
                /* memcmp() found a difference within n bytes */
            }
            return pos + k;
        }
        pos += n;
        oa += n;
        ob += n;
        if (oa == a->iov[ia].iov_len) {
            ia++;
            oa = 0;
        }
        if (ob == b->iov[ib].iov_len) {
            ib++;
            ob = 0;
        }
    }
    if (a->size != b->size) {
        return MIN(a->size, b->size);
    }
    return -1;
}

void *qemu_try_blockalign(size_t align, size_t size)
{
    void *p;

    assert((align & (align - 1)) == 0);
    align = MAX(align, sizeof(void *));
    /* posix_memalign() may return NULL for size 0; callers expect memory. */
    if (posix_memalign(&p, align, size ? size : align) != 0) {
        return NULL;
    }
    return p;
}

void *qemu_blockalign(size_t align, size_t size)
{
    void *p = qemu_try_blockalign(align, size);

    if (!p) {
        fprintf(stderr, "qemu_blockalign: cannot allocate %zu bytes "
                "aligned to %zu: out of memory\n", size, align);
        abort();
    }
    return p;
}

void qemu_vfree(void *p)
{
    free(p);
}
