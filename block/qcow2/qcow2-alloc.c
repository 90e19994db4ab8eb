/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 allocating writes: guest writes to clusters that cannot be written
 * in place (unallocated, zero, compressed, shared with a snapshot).
 *
 * qcow2_alloc_write handles a run of such clusters in three steps:
 *   1. under s->lock: make sure the L2 table is ours, allocate contiguous
 *      host clusters (or reuse the run's own preallocated zero-alloc
 *      ones), and list the allocation in s->allocs;
 *   2. without the lock: write the data.  The parts of the first and last
 *      cluster the guest does not write are copied from wherever they came
 *      from (old host cluster, compressed data, backing file); when they
 *      read as zero anyway, the new clusters are zeroed in the file with a
 *      write-zeroes that may not fall back to writing (fallocate) and only
 *      the guest's bytes are written;
 *   3. under the lock again: point the L2 entries at the new clusters (the
 *      L2 cache depending on the refcount cache, so refcounts reach the
 *      disk first), drop the references on the old clusters, unlist the
 *      allocation and wake whoever waits for it.
 * So refcounts are raised before, and the data is written before, any L2
 * entry points at the new clusters; a crash in between leaks clusters at
 * worst.
 *
 * Overlaps: while an allocation is listed, nobody else may change the L2
 * entries of its guest clusters, or the copy it makes would be lost or
 * its old clusters freed twice.  Writers (qcow2_alloc_dependency) that
 * would allocate the same first cluster wait for it and look the range up
 * again (it is then usually writable in place); writers reaching it
 * further on stop short of it.  Zero writes, discards, compressed writes,
 * preallocation and check wait until no listed allocation touches their
 * range (qcow2_alloc_wait).  Reads do not wait: they see the old entries,
 * which stay valid until step 3.
 *
 * Everything here runs under s->lock except the data step.
 */
#include "block/qcow2/qcow2.h"

/*
 * File systems allocate in blocks of (at least) this size and handle
 * direct writes that are not in whole blocks, in their offset or in any
 * of their buffers, slowly: ext4 waits for all direct I/O on the file.
 * So the data write after zeroing new clusters is widened with zeroes to
 * whole blocks, and a direct write is made of whole-block buffers.
 */
#define FS_BLOCK_SIZE 4096

/* Allocations in flight (see Qcow2Alloc in qcow2.h). */

/* Of the allocations in flight touching the range, the lowest, or NULL. */
static Qcow2Alloc *alloc_overlap(BDRVQcow2State *s, uint64_t offset,
                                 uint64_t bytes)
{
    Qcow2Alloc *lowest = NULL;

    for (GList *l = s->allocs; l; l = l->next) {
        Qcow2Alloc *a = l->data;

        if (qcow2_ranges_overlap(offset, bytes, a->guest, a->bytes) &&
            (!lowest || a->guest < lowest->guest)) {
            lowest = a;
        }
    }
    return lowest;
}

bool coroutine_fn qcow2_alloc_dependency(BlockDriverState *bs,
                                         uint64_t offset, uint64_t *bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = start_of_cluster(s, offset);
    Qcow2Alloc *a = alloc_overlap(s, start, offset + *bytes - start);

    if (!a) {
        return false;
    }
    if (a->guest <= start) {
        qemu_co_queue_wait(&a->waiters, &s->lock);
        return true;
    }
    *bytes = a->guest - offset;
    return false;
}

void coroutine_fn qcow2_alloc_wait(BlockDriverState *bs, uint64_t offset,
                                   uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Alloc *a;

    while ((a = alloc_overlap(s, offset, bytes))) {
        qemu_co_queue_wait(&a->waiters, &s->lock);
    }
}

/*
 * Read @len bytes at @in_off of the guest cluster at @guest whose old L2
 * entry is @entry, for copy-on-write.
 */
static int coroutine_fn cow_read(BlockDriverState *bs, uint64_t entry,
                                 uint64_t guest, uint64_t in_off,
                                 uint64_t len, void *buf)
{
    QEMUIOVector qiov;

    if (!len) {
        return 0;
    }
    switch (qcow2_get_cluster_type(entry)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        if (bs->backing) {
            return bdrv_co_pread(bs->backing, guest + in_off, len, buf, 0);
        }
        memset(buf, 0, len);
        return 0;
    case QCOW2_CLUSTER_NORMAL:
        return bdrv_co_pread(bs->file, (entry & L2E_OFFSET_MASK) + in_off,
                             len, buf, 0);
    case QCOW2_CLUSTER_COMPRESSED:
        qemu_iovec_init_buf(&qiov, buf, len);
        return qcow2_read_compressed(bs, entry, in_off, len, &qiov, 0);
    default:
        memset(buf, 0, len);
        return 0;
    }
}

/*
 * Whether cow_read() of the same arguments is known to give zeroes without
 * reading anything (false when unsure).  Without the lock.
 */
static bool coroutine_fn cow_is_zero(BlockDriverState *bs, uint64_t entry,
                                     uint64_t guest, uint64_t in_off,
                                     uint64_t len)
{
    uint64_t off = guest + in_off;
    int64_t blen;

    if (!len) {
        return true;
    }
    switch (qcow2_get_cluster_type(entry)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        if (!bs->backing) {
            return true;
        }
        /* The backing file reads as zero past its end. */
        blen = bdrv_co_getlength(bs->backing->bs);
        if (blen < 0) {
            return false;
        }
        if (off >= (uint64_t)blen) {
            return true;
        }
        return bdrv_co_is_zero_fast(bs->backing->bs, off,
                                    MIN(len, blen - off)) == 1;
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return true;
    default:
        return false;
    }
}

int coroutine_fn qcow2_link_l2(BlockDriverState *bs, uint64_t *l2,
                               int l2_index, int k, uint64_t host)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->use_lazy_refcounts) {
        ret = qcow2_mark_dirty(bs);
        if (ret < 0) {
            return ret;
        }
    }
    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        ret = qcow2_cache_set_dependency(bs, s->l2_table_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            return ret;
        }
    }
    for (int i = 0; i < k; i++) {
        l2_set(l2, l2_index + i,
               (host + (uint64_t)i * s->cluster_size) | QCOW_OFLAG_COPIED);
    }
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2);
    return 0;
}

/*
 * One allocating write: guest bytes [offset, end) go to @k host clusters
 * from @host, replacing the L2 entries @old of the guest clusters from
 * a.guest (@reuse: the clusters are the entries' own preallocated ones).
 */
typedef struct AllocWrite {
    Qcow2Alloc a;
    uint64_t offset;
    uint64_t end;
    int k;
    int64_t host;
    bool reuse;
    uint64_t *old;
} AllocWrite;

/*
 * Under the lock: make sure the L2 table exists, pick the host clusters
 * (allocating them, or reusing the run's own zero-alloc ones) and list
 * the allocation in s->allocs.
 */
static int coroutine_fn alloc_prepare(BlockDriverState *bs, AllocWrite *w,
                                      uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t first = start_of_cluster(s, w->offset);
    int l2_index = offset_to_l2_index(s, w->offset);
    int nb = DIV_ROUND_UP(w->offset - first + bytes, cs), k;
    uint64_t *l2;
    int ret;

    ret = qcow2_get_l2_rw(bs, w->offset, &l2);
    if (ret < 0) {
        return ret;
    }
    w->old = g_new(uint64_t, nb);
    for (int i = 0; i < nb; i++) {
        w->old[i] = l2_get(l2, l2_index + i);
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    w->reuse = qcow2_get_cluster_type(w->old[0]) == QCOW2_CLUSTER_ZERO_ALLOC &&
               (w->old[0] & QCOW_OFLAG_COPIED) &&
               !offset_into_cluster(s, w->old[0] & L2E_OFFSET_MASK);
    if (w->reuse) {
        /* Preallocated zero clusters of ours: write into them. */
        w->host = w->old[0] & L2E_OFFSET_MASK;
        for (k = 1; k < nb; k++) {
            uint64_t e = w->old[k];

            if (qcow2_get_cluster_type(e) != QCOW2_CLUSTER_ZERO_ALLOC ||
                !(e & QCOW_OFLAG_COPIED) ||
                (e & L2E_OFFSET_MASK) != w->host + k * cs) {
                break;
            }
        }
    } else {
        k = nb;
        w->host = qcow2_alloc_clusters(bs, k * cs);
        if (w->host < 0) {
            return w->host;
        }
    }
    ret = qcow2_check_data_overlap(bs, w->host, k * cs);
    if (ret < 0) {
        if (!w->reuse) {
            qcow2_free_clusters(bs, w->host, k * cs, QCOW2_DISCARD_OTHER);
        }
        return ret;
    }
    w->k = k;
    w->end = MIN(w->offset + bytes, first + k * cs);
    w->a.guest = first;
    w->a.bytes = k * cs;
    qemu_co_queue_init(&w->a.waiters);
    s->allocs = g_list_prepend(s->allocs, &w->a);
    return 0;
}

/*
 * Without the lock: write the guest's data to the new clusters, with the
 * parts of the first and last cluster it does not cover copied from the
 * old ones.  When those parts read as zero, the clusters are zeroed in
 * the file instead (cheap, e.g. fallocate; never by writing zeroes) and
 * only the data is written, padded with zeroes to whole blocks.
 *
 * Head and tail share one buffer, which takes the data too when the file
 * does direct I/O and their lengths are not whole blocks.
 */
static int coroutine_fn alloc_write_data(BlockDriverState *bs, AllocWrite *w,
                                         QEMUIOVector *qiov,
                                         size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    BlockLimits *fl = &bs->file->bs->bl;
    uint64_t cs = s->cluster_size, bytes = w->k * cs;
    uint64_t last = w->a.guest + (w->k - 1) * cs;
    uint64_t head = w->offset - w->a.guest;
    uint64_t tail = w->a.guest + bytes - w->end;
    uint64_t len = w->end - w->offset, data_host = w->host + head;
    uint64_t block = MAX(fl->request_alignment, FS_BLOCK_SIZE);
    uint8_t *buf = NULL, *tail_buf = NULL;
    bool zeroed = false, copy_data, cow = head || tail;
    QEMUIOVector hq;
    int ret = 0;

    if ((head || tail) &&
        cow_is_zero(bs, w->old[0], w->a.guest, 0, head) &&
        cow_is_zero(bs, w->old[w->k - 1], last, w->end - last, tail)) {
        bdrv_debug_event(bs->file, BLKDBG_COW_WRITE);
        ret = bdrv_co_pwrite_zeroes(bs->file, w->host, bytes,
                                    BDRV_REQ_NO_FALLBACK);
        if (ret == 0) {
            zeroed = true;
            head = MIN(head, data_host % block);
            tail = MIN(tail, (block - (data_host + len) % block) % block);
        } else if (ret != -ENOTSUP && ret != -EAGAIN) {
            return ret;
        }
    }

    copy_data = fl->min_mem_alignment > 1 &&
                (head | tail) % MAX(fl->min_mem_alignment, FS_BLOCK_SIZE);
    if (head || tail) {
        buf = qemu_blockalign(MAX(fl->opt_mem_alignment, 512),
                              head + tail + (copy_data ? len : 0));
        tail_buf = buf + head + (copy_data ? len : 0);
        memset(buf, 0, head);
        memset(tail_buf, 0, tail);
        if (!zeroed) {
            bdrv_debug_event(bs->file, BLKDBG_COW_READ);
            ret = cow_read(bs, w->old[0], w->a.guest, 0, head, buf);
            if (ret == 0) {
                ret = cow_read(bs, w->old[w->k - 1], last, w->end - last,
                               tail, tail_buf);
            }
            bdrv_debug_event(bs->file, BLKDBG_COW_WRITE);
        }
    }
    if (ret == 0) {
        qemu_iovec_init(&hq, qiov->niov + 2);
        if (copy_data) {
            qemu_iovec_to_buf(qiov, qiov_offset, buf + head, len);
            qemu_iovec_add(&hq, buf, head + len + tail);
        } else {
            if (head) {
                qemu_iovec_add(&hq, buf, head);
            }
            qemu_iovec_concat(&hq, qiov, qiov_offset, len);
            if (tail) {
                qemu_iovec_add(&hq, tail_buf, tail);
            }
        }
        if (!cow) {
            /* As QEMU: the data write proper, when no COW merges in. */
            bdrv_debug_event(bs->file, BLKDBG_WRITE_AIO);
        }
        ret = bdrv_co_pwritev(bs->file, data_host - head, hq.size, &hq, 0);
        qemu_iovec_destroy(&hq);
    }
    qemu_vfree(buf);
    return ret;
}

/*
 * Under the lock, once the data is written (@ret 0) or failed: point the
 * L2 entries at the new clusters and drop the old ones, or give the new
 * clusters back; then unlist the allocation and wake its waiters.
 */
static int coroutine_fn alloc_finish(BlockDriverState *bs, AllocWrite *w,
                                     int ret)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = offset_to_l2_index(s, w->a.guest);
    g_autofree uint64_t *cur = g_new(uint64_t, w->k);
    uint64_t *l2;

    if (ret == 0 && s->broken) {
        ret = -EIO;
    }
    if (ret == 0) {
        ret = qcow2_get_l2_rw(bs, w->a.guest, &l2);
    }
    if (ret == 0) {
        /*
         * Everybody else waited for us, so the entries only differ when
         * the image maps one L2 table twice.  Then the old entries are
         * dropped as they are now, but reused clusters may be gone.
         */
        for (int i = 0; i < w->k; i++) {
            cur[i] = l2_get(l2, l2_index + i);
            if (w->reuse && cur[i] != w->old[i]) {
                qcow2_signal_corruption(bs, "L2 entry %#" PRIx64 " changed "
                                        "while its preallocated cluster was "
                                        "written", cur[i]);
                ret = -EIO;
            }
        }
        if (ret == 0) {
            ret = qcow2_link_l2(bs, l2, l2_index, w->k, w->host);
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&l2);
    }
    for (int i = 0; ret == 0 && !w->reuse && i < w->k; i++) {
        qcow2_free_any_cluster(bs, cur[i], QCOW2_DISCARD_OTHER);
    }
    if (ret < 0 && !w->reuse) {
        qcow2_free_clusters(bs, w->host, w->a.bytes, QCOW2_DISCARD_OTHER);
    }
    s->allocs = g_list_remove(s->allocs, &w->a);
    qemu_co_queue_restart_all(&w->a.waiters);
    qemu_co_queue_destroy(&w->a.waiters);
    return ret;
}

int64_t coroutine_fn qcow2_alloc_write(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       QEMUIOVector *qiov,
                                       size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    AllocWrite w = { .offset = offset };
    int ret;

    ret = alloc_prepare(bs, &w, bytes);
    if (ret == 0) {
        qemu_co_mutex_unlock(&s->lock);
        ret = alloc_write_data(bs, &w, qiov, qiov_offset);
        qemu_co_mutex_lock(&s->lock);
        ret = alloc_finish(bs, &w, ret);
    }
    g_free(w.old);
    return ret < 0 ? ret : (int64_t)(w.end - offset);
}
