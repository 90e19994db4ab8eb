/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * I/O vectors: plain struct iovec arrays and QEMUIOVector, the growable
 * scatter/gather list that carries data through the block layer, plus the
 * aligned allocator for I/O buffers.
 *
 * Thread safety: none of these functions lock.  A QEMUIOVector belongs to
 * one request at a time; concurrent readers of the same vector are fine,
 * concurrent writers (add, concat, reset, destroy) are not.
 *
 * Offsets and lengths are byte counts into the concatenation of the
 * elements, in order.  Zero-length elements are allowed and simply
 * contribute nothing.
 */
#ifndef EMBLOCK_UTIL_IOV_H
#define EMBLOCK_UTIL_IOV_H

#include "util/osdep.h"

/* Total length of the @iov_cnt elements of @iov. */
size_t iov_size(const struct iovec *iov, unsigned int iov_cnt);

/*
 * Copy up to @bytes from @buf into the vector, starting @offset bytes into
 * it.  The copy stops at the end of the vector.  Returns the number of bytes
 * copied.  @offset must not exceed iov_size() (asserted); an @offset equal
 * to it copies nothing.
 */
size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes);

/* The reverse of iov_from_buf(): copy out of the vector into @buf. */
size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes);

/*
 * Set up to @bytes of the vector, starting at @offset, to the byte @fillc.
 * Same bounds rules and return value as iov_from_buf().
 */
size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes);

/*
 * A scatter/gather list.
 *
 * @iov points to @niov elements holding @size bytes in total.  @nalloc is the
 * capacity of @iov for vectors made by qemu_iovec_init(), or -1 for vectors
 * made by qemu_iovec_init_buf(), whose single element is @local_iov and which
 * own no memory.  Because such a vector points into itself, a QEMUIOVector
 * must not be copied by value; pass pointers.
 */
typedef struct QEMUIOVector {
    struct iovec *iov;
    int niov;
    int nalloc;
    size_t size;
    struct iovec local_iov;
} QEMUIOVector;

/*
 * Make @qiov an empty growable vector with room for @alloc_hint elements
 * (0 is fine; the array grows as needed).  Release with qemu_iovec_destroy().
 */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);

/*
 * Make @qiov a one-element vector over @buf without allocating anything
 * (nalloc = -1).  It may not be grown or reset; qemu_iovec_destroy() is
 * allowed and does nothing but clear @qiov.
 */
void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len);

/*
 * Append the element (@base, @len) to a growable vector (asserts that @qiov
 * was not made by qemu_iovec_init_buf()).  Elements are never merged, so
 * niov grows by exactly one, even for @len 0.
 */
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);

/*
 * Append to @dst the elements covering bytes [@soffset, @soffset + @sbytes)
 * of the @src_cnt elements at @src_iov.  Zero-length pieces are skipped.  The
 * range is clipped at the end of the source; @soffset itself must not lie
 * beyond it (asserted).  Returns the number of bytes appended.  @dst must be
 * growable unless nothing is appended.
 */
size_t qemu_iovec_concat_iov(QEMUIOVector *dst,
                             const struct iovec *src_iov,
                             unsigned int src_cnt,
                             size_t soffset, size_t sbytes);

/*
 * qemu_iovec_concat_iov() taking the source elements from @src.  @dst may be
 * @src itself (the vector is then extended with a slice of its old self).
 */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes);

/*
 * Make @qiov a vector over bytes [@offset, @offset + @len) of @source,
 * sharing its memory (no data is copied).  The range must lie inside
 * @source (asserted).  If the range falls inside one element, the result is
 * a qemu_iovec_init_buf() vector and may not be grown; otherwise it is a
 * growable vector.  Either way release it with qemu_iovec_destroy().  @qiov
 * must not be @source.
 */
void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len);

/* Drop all elements of a growable vector, keeping its array for reuse. */
void qemu_iovec_reset(QEMUIOVector *qiov);

/*
 * Free the element array (if @qiov owns one) and clear @qiov.  Destroying a
 * cleared vector again is harmless.  The buffers are the caller's business.
 */
void qemu_iovec_destroy(QEMUIOVector *qiov);

/*
 * Copy data between a vector and a flat buffer, or fill part of a vector;
 * see iov_to_buf(), iov_from_buf() and iov_memset() for bounds and return
 * values.
 */
size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes);
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes);
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes);

/*
 * Return true iff bytes [@offset, @offset + @bytes) of @qiov are all zero
 * (true for @bytes 0).  The range must lie inside @qiov (asserted).
 */
bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes);

/*
 * Compare the data of @a and @b, whose element layouts may differ.  Returns
 * the offset of the first differing byte, or -1 if both hold the same bytes.
 * If one is a prefix of the other, the result is the shorter one's size.
 */
ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b);

/*
 * Allocate @size bytes aligned to @align, which must be 0 or a power of two
 * (an @align smaller than a pointer is rounded up to pointer alignment).  Never
 * returns NULL: aborts with a message when memory runs out.  A @size of 0
 * still returns a distinct, freeable pointer.  Free with qemu_vfree().
 */
void *qemu_blockalign(size_t align, size_t size);

/* Same as qemu_blockalign(), but returns NULL when memory runs out. */
void *qemu_try_blockalign(size_t align, size_t size);

/* Free memory from qemu_blockalign(); NULL is ignored. */
void qemu_vfree(void *p);

#endif /* EMBLOCK_UTIL_IOV_H */
