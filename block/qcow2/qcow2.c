/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 format driver: the BlockDriver and its callbacks.
 *
 * Open: the "file" child (role IMAGE) is opened first, then the header is
 * read and validated (qcow2-header.c), the options are applied, the
 * metadata caches are created and the refcount table is loaded.  A
 * writable open clears autoclear bits we do not maintain and repairs a
 * dirty image (lazy refcounts after a crash) with a full check before any
 * I/O.  Last comes the backing file: the "backing" option (a node name, a
 * dict, or null for none) or else the name in the header, opened relative
 * to the image's directory with the format from the header (raw, with a
 * warning, when the header names none).
 *
 * I/O: every request walks the guest range in runs that one lookup
 * answers (qcow2-cluster.c).  Lookups and all metadata changes happen under
 * s->lock.  Reads of normal and compressed clusters and writes to clusters
 * we own alone (COPIED) do their data I/O without the lock, with the host
 * clusters counted in s->inflight meanwhile.  Allocating writes drop the
 * lock for their data I/O too (qcow2-alloc.c); a second allocating write
 * to a cluster being allocated waits for the first, and so do zero writes,
 * discards, truncate and check touching it.  Zero writes and discards only
 * rewrite L2 entries; partial clusters are refused (-ENOTSUP, the core
 * then writes zeroes) unless the rest of the cluster already reads as
 * zero.
 * Compressed writes (BDRV_REQ_WRITE_COMPRESSED) take whole unallocated
 * clusters and pack their deflated data into shared host clusters.
 *
 * Close: caches are written and flushed and the dirty bit cleared.
 */
#include "block/qcow2/qcow2.h"

#include <json-glib/json-glib.h>

/* Default metadata cache sizes (QEMU's on Linux). */
#define DEFAULT_L2_CACHE_MAX (32 * MiB)
#define MIN_L2_CACHE_TABLES 4
#define DEFAULT_REFCOUNT_CACHE_TABLES 4

typedef struct Qcow2Options {
    uint64_t l2_cache_size;        /* 0: default */
    uint64_t refcount_cache_size;  /* 0: default */
    bool lazy_refcounts;
    bool has_lazy_refcounts;
    bool pass_discard[QCOW2_DISCARD_MAX];
} Qcow2Options;

/* Runs a coroutine body from the (non-coroutine) open and close paths. */
typedef struct Qcow2SyncCo {
    BlockDriverState *bs;
    int flags;
    Qcow2Options *opts;
    Error **errp;
    int ret;
    bool done;
} Qcow2SyncCo;

static bool qcow2_parse_options(BlockOptions *options, Qcow2Options *o,
                                Error **errp)
{
    uint64_t total = 0, entry_size = 0;
    int64_t clean_interval = 0;
    JsonNode *overlap = json_object_get_member(options, "overlap-check");

    memset(o, 0, sizeof(*o));
    o->pass_discard[QCOW2_DISCARD_ALWAYS] = true;
    o->pass_discard[QCOW2_DISCARD_REQUEST] = true;
    o->pass_discard[QCOW2_DISCARD_SNAPSHOT] = true;
    o->has_lazy_refcounts = qdict_haskey(options, "lazy-refcounts");
    if (!qdict_get_size_opt(options, "l2-cache-size", &o->l2_cache_size,
                            errp) ||
        !qdict_get_size_opt(options, "refcount-cache-size",
                            &o->refcount_cache_size, errp) ||
        !qdict_get_size_opt(options, "cache-size", &total, errp) ||
        !qdict_get_size_opt(options, "l2-cache-entry-size", &entry_size,
                            errp) ||
        !qdict_get_int_opt(options, "cache-clean-interval", &clean_interval,
                           errp) ||
        !qdict_get_bool_opt(options, "lazy-refcounts", &o->lazy_refcounts,
                            errp) ||
        !qdict_get_bool_opt(options, "pass-discard-request",
                            &o->pass_discard[QCOW2_DISCARD_REQUEST], errp) ||
        !qdict_get_bool_opt(options, "pass-discard-snapshot",
                            &o->pass_discard[QCOW2_DISCARD_SNAPSHOT], errp) ||
        !qdict_get_bool_opt(options, "pass-discard-other",
                            &o->pass_discard[QCOW2_DISCARD_OTHER], errp)) {
        return false;
    }
    if (clean_interval < 0) {
        error_setg(errp, "Cache clean interval too big");
        return false;
    }
    if (overlap && !JSON_NODE_HOLDS_OBJECT(overlap) &&
        !(JSON_NODE_HOLDS_VALUE(overlap) &&
          json_node_get_value_type(overlap) == G_TYPE_STRING)) {
        error_setg(errp, "Invalid parameter type for 'overlap-check', "
                   "expected: string or dict");
        return false;
    }
    if (total && !o->l2_cache_size && !o->refcount_cache_size) {
        /* QEMU's split: a quarter for refcounts. */
        o->refcount_cache_size = total / 4;
        o->l2_cache_size = total - o->refcount_cache_size;
    } else if (total && !o->l2_cache_size) {
        o->l2_cache_size = total > o->refcount_cache_size ?
                           total - o->refcount_cache_size : 0;
    } else if (total && !o->refcount_cache_size) {
        o->refcount_cache_size = total > o->l2_cache_size ?
                                 total - o->l2_cache_size : 0;
    }
    return true;
}

/* Apply the parsed options once the geometry is known. */
static int qcow2_apply_options(BlockDriverState *bs, Qcow2Options *o,
                               Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2_tables, rc_tables;

    if (o->has_lazy_refcounts) {
        s->use_lazy_refcounts = o->lazy_refcounts;
    } else {
        s->use_lazy_refcounts =
            !!(s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
    }
    if (s->use_lazy_refcounts && s->qcow_version < 3) {
        error_setg(errp, "Lazy refcounts require a qcow2 image with at least "
                   "qemu 1.1 compatibility level");
        return -EINVAL;
    }
    memcpy(s->discard_passthrough, o->pass_discard,
           sizeof(s->discard_passthrough));

    if (o->l2_cache_size) {
        l2_tables = o->l2_cache_size >> s->cluster_bits;
    } else {
        l2_tables = MIN(size_to_l1(s, s->size),
                        DEFAULT_L2_CACHE_MAX >> s->cluster_bits);
    }
    l2_tables = MIN(MAX(l2_tables, MIN_L2_CACHE_TABLES), INT_MAX / 2);
    rc_tables = o->refcount_cache_size ?
                o->refcount_cache_size >> s->cluster_bits :
                DEFAULT_REFCOUNT_CACHE_TABLES;
    rc_tables = MIN(MAX(rc_tables, DEFAULT_REFCOUNT_CACHE_TABLES),
                    INT_MAX / 2);
    s->l2_cache_size = l2_tables << s->cluster_bits;
    s->refcount_cache_size = rc_tables << s->cluster_bits;
    s->l2_table_cache = qcow2_cache_create(QCOW2_CACHE_L2, l2_tables,
                                           s->cluster_size);
    s->refcount_block_cache = qcow2_cache_create(QCOW2_CACHE_REFCOUNT,
                                                 rc_tables, s->cluster_size);
    return 0;
}

static void qcow2_free_state(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_destroy(s->l2_table_cache);
    s->l2_table_cache = NULL;
    qcow2_cache_destroy(s->refcount_block_cache);
    s->refcount_block_cache = NULL;
    g_free(s->l1_table);
    s->l1_table = NULL;
    qcow2_refcount_close(bs);
    qcow2_free_header_state(s);
}

static void coroutine_fn qcow2_open_entry(void *opaque)
{
    Qcow2SyncCo *co = opaque;
    BlockDriverState *bs = co->bs;
    BDRVQcow2State *s = bs->opaque;
    Qcow2Options *o = co->opts;
    Error **errp = co->errp;
    int ret;

    ret = qcow2_read_header(bs, co->flags, errp);
    if (ret == 0) {
        ret = qcow2_read_snapshots(bs, errp);
    }
    if (ret == 0) {
        ret = qcow2_apply_options(bs, o, errp);
    }
    if (ret == 0) {
        ret = qcow2_refcount_init(bs, errp);
    }
    if (ret == 0 && (co->flags & BDRV_O_RDWR) && s->autoclear_features) {
        /* We keep no bitmaps in sync: drop the claim that they are. */
        s->autoclear_features = 0;
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not update qcow2 header");
        }
    }
    if (ret == 0 && (co->flags & BDRV_O_RDWR) &&
        (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        BdrvCheckResult result = { 0 };

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_check_locked(bs, &result,
                                 BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not repair dirty image");
        }
    }
    co->ret = ret;
    co->done = true;
    aio_wait_kick();
}

/* Open the backing file the header names. */
static int qcow2_open_header_backing(BlockDriverState *bs,
                                     BlockOptions *options, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(JsonObject) tmp = qdict_clone(options);
    JsonObject *bopts;

    if (g_str_has_prefix(s->backing_file, "json:")) {
        bopts = qdict_parse(s->backing_file, errp);
        if (!bopts) {
            return -EINVAL;
        }
    } else {
        g_autofree char *dir = g_path_get_dirname(bs->file->bs->filename);
        g_autofree char *path = g_path_is_absolute(s->backing_file) ?
            g_strdup(s->backing_file) :
            g_build_filename(dir, s->backing_file, NULL);
        const char *fmt = s->backing_format;
        JsonObject *file = qdict_new();

        if (!fmt) {
            fprintf(stderr, "qcow2: backing file '%s' has no format in the "
                    "image header; opening it as raw\n", s->backing_file);
            fmt = "raw";
        }
        bopts = qdict_new();
        qdict_put_str(bopts, "driver", fmt);
        qdict_put_str(file, "driver", "file");
        qdict_put_str(file, "filename", path);
        qdict_put_obj(bopts, "file", file);
        qdict_unref(file);
    }
    qdict_put_obj(tmp, "backing", bopts);
    qdict_unref(bopts);
    if (!bdrv_open_child(bs, tmp, "backing", BDRV_CHILD_COW, false, errp)) {
        error_prepend(errp, "Could not open backing file: ");
        return -EINVAL;
    }
    return 0;
}

static int qcow2_open(BlockDriverState *bs, BlockOptions *options, int flags,
                      Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Options o;
    Qcow2SyncCo co = { .bs = bs, .flags = flags, .opts = &o, .errp = errp };
    int ret;

    if (!qcow2_parse_options(options, &o, errp)) {
        return -EINVAL;
    }
    if (!bdrv_open_child(bs, options, "file", BDRV_CHILD_IMAGE, false,
                         errp)) {
        return -EINVAL;
    }
    qemu_co_mutex_init(&s->lock);
    aio_run_co_sync(qcow2_open_entry, &co, &co.done);
    ret = co.ret;
    if (ret == 0 && qdict_haskey(options, "backing")) {
        JsonNode *n = json_object_get_member(options, "backing");

        if (!JSON_NODE_HOLDS_NULL(n) &&
            !bdrv_open_child(bs, options, "backing", BDRV_CHILD_COW, true,
                             errp)) {
            ret = -EINVAL;
        }
    } else if (ret == 0 && s->backing_file) {
        ret = qcow2_open_header_backing(bs, options, errp);
    }
    if (ret < 0) {
        qcow2_free_state(bs);
        qemu_co_mutex_destroy(&s->lock);
        return ret;
    }
    bs->supported_write_flags = BDRV_REQ_WRITE_COMPRESSED;
    bs->supported_zero_flags = qcow2_has_zero_flag(s) ?
                               BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK : 0;
    return 0;
}

static void coroutine_fn qcow2_close_entry(void *opaque)
{
    Qcow2SyncCo *co = opaque;
    BlockDriverState *bs = co->bs;
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_flush_caches(bs);
    qcow2_process_discards(bs);
    if (ret == 0) {
        ret = qcow2_mark_clean(bs);
    }
    qemu_co_mutex_unlock(&s->lock);
    co->ret = ret;
    co->done = true;
    aio_wait_kick();
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2SyncCo co = { .bs = bs };

    if (!bs->read_only && !s->broken) {
        aio_run_co_sync(qcow2_close_entry, &co, &co.done);
    }
    qcow2_free_state(bs);
    qemu_co_mutex_destroy(&s->lock);
}

static void qcow2_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    bs->bl.pwrite_zeroes_alignment = s->cluster_size;
    bs->bl.pdiscard_alignment = s->cluster_size;
}

/* Read or write @child with bytes [qiov_offset, +bytes) of @qiov. */
static int coroutine_fn child_rw_part(BdrvChild *child, int64_t offset,
                                          int64_t bytes, QEMUIOVector *qiov,
                                          size_t qiov_offset, bool write)
{
    QEMUIOVector local;
    int ret;

    qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
    ret = write ? bdrv_co_pwritev(child, offset, bytes, &local, 0)
                : bdrv_co_preadv(child, offset, bytes, &local, 0);
    qemu_iovec_destroy(&local);
    return ret;
}

/* The host byte range a lookup result keeps busy while read unlocked. */
static void inflight_range(BDRVQcow2State *s, QCow2ClusterType type,
                           uint64_t host, uint64_t bytes, uint64_t *start,
                           uint64_t *len)
{
    int64_t csize;

    if (type == QCOW2_CLUSTER_COMPRESSED) {
        qcow2_parse_compressed(s, host, start, &csize);
        *len = csize;
    } else if (type == QCOW2_CLUSTER_NORMAL) {
        *start = host;
        *len = bytes;
    } else {
        *len = 0;
    }
}

static int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    size_t done = 0;

    while (bytes > 0) {
        uint64_t cur = bytes, host, istart = 0, ilen;
        QCow2ClusterType type;
        int ret;

        if (s->broken) {
            return -EIO;
        }
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, offset, &cur, &host, &type);
        if (ret == 0) {
            inflight_range(s, type, host, cur, &istart, &ilen);
            if (ilen) {
                qcow2_inflight_inc(s, istart, ilen);
            }
        }
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }

        switch (type) {
        case QCOW2_CLUSTER_UNALLOCATED:
            if (bs->backing) {
                ret = child_rw_part(bs->backing, offset, cur, qiov, done,
                                        false);
                break;
            }
            /* fall through */
        case QCOW2_CLUSTER_ZERO_PLAIN:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            qemu_iovec_memset(qiov, done, 0, cur);
            break;
        case QCOW2_CLUSTER_COMPRESSED:
            ret = qcow2_read_compressed(bs, host, offset_into_cluster(s,
                                        offset), cur, qiov, done);
            break;
        case QCOW2_CLUSTER_NORMAL:
            bdrv_debug_event(bs->file, BLKDBG_READ_AIO);
            ret = child_rw_part(bs->file, host, cur, qiov, done, false);
            break;
        }
        if (ilen) {
            qemu_co_mutex_lock(&s->lock);
            qcow2_inflight_dec(s, istart, ilen);
            qemu_co_mutex_unlock(&s->lock);
        }
        if (ret < 0) {
            return ret;
        }
        offset += cur;
        bytes -= cur;
        done += cur;
    }
    return 0;
}

static int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes,
                                         QEMUIOVector *qiov,
                                         BdrvRequestFlags flags);

/*
 * Compressed writes, as QEMU does them: whole clusters (the last one may
 * end with the image), each deflated into freshly allocated bytes, or
 * written normally when it does not shrink; never over an allocated
 * cluster (-EIO).
 */
static int coroutine_fn qcow2_co_pwritev_compressed(BlockDriverState *bs,
                                                    int64_t offset,
                                                    int64_t bytes,
                                                    QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    int cs = s->cluster_size;
    g_autofree uint8_t *in = g_malloc(cs);
    g_autofree uint8_t *out = g_malloc(cs);
    int64_t done = 0;

    if (offset_into_cluster(s, offset) ||
        (offset_into_cluster(s, bytes) && offset + bytes != (int64_t)s->size)) {
        return -EINVAL;
    }
    while (done < bytes) {
        int64_t chunk = MIN(bytes - done, cs);
        int len, ret;

        memset(in, 0, cs);
        qemu_iovec_to_buf(qiov, done, in, chunk);
        len = qcow2_compress(out, cs - 1, in, cs);
        if (len == -ENOMEM) {
            QEMUIOVector local;

            qemu_iovec_init_buf(&local, in, chunk);
            ret = qcow2_co_pwritev(bs, offset + done, chunk, &local, 0);
        } else if (len < 0) {
            ret = len;
        } else {
            qemu_co_mutex_lock(&s->lock);
            qcow2_alloc_wait(bs, offset + done, chunk);
            ret = s->broken ? -EIO :
                  qcow2_write_compressed(bs, offset + done, out, len);
            qemu_co_mutex_unlock(&s->lock);
        }
        if (ret < 0) {
            return ret;
        }
        done += chunk;
    }
    return 0;
}

static int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes,
                                         QEMUIOVector *qiov,
                                         BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    size_t done = 0;

    if (flags & BDRV_REQ_WRITE_COMPRESSED) {
        return qcow2_co_pwritev_compressed(bs, offset, bytes, qiov);
    }

    while (bytes > 0) {
        uint64_t cur = bytes, host = 0;
        int64_t written = 0;
        int ret;

        if (s->broken) {
            return -EIO;
        }
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_write_lookup(bs, offset, &cur, &host);
        if (ret == 1) {
            /* Our own clusters: write in place, without the lock. */
            qcow2_inflight_inc(s, host, cur);
            qemu_co_mutex_unlock(&s->lock);
            bdrv_debug_event(bs->file, BLKDBG_WRITE_AIO);
            ret = child_rw_part(bs->file, host, cur, qiov, done, true);
            qemu_co_mutex_lock(&s->lock);
            qcow2_inflight_dec(s, host, cur);
            written = cur;
        } else if (ret == 0 && qcow2_alloc_dependency(bs, offset, &cur)) {
            /* Waited for an allocation of the same cluster: look again. */
        } else if (ret == 0) {
            written = qcow2_alloc_write(bs, offset, cur, qiov, done);
            ret = written < 0 ? written : 0;
        }
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }
        offset += written;
        bytes -= written;
        done += written;
    }
    return 0;
}

/* Whether [offset, offset + bytes) of this node (with its chain) is zero. */
static bool coroutine_fn qcow2_is_zero(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes)
{
    return bytes <= 0 || bdrv_co_is_zero_fast(bs, offset, bytes) == 1;
}

/*
 * A zero write covering part of a cluster may zero the whole cluster only
 * if the rest already reads as zero and the cluster has no data of its
 * own.  Widens the range to whole clusters (returns 1 when it had to
 * check), 0 when it already was whole, -ENOTSUP otherwise.
 */
static int coroutine_fn qcow2_widen_zero_range(BlockDriverState *bs,
                                               int64_t *offset,
                                               int64_t *bytes)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t end = *offset + *bytes;
    int64_t start = start_of_cluster(s, *offset);
    int64_t aend = ROUND_UP(end, (int64_t)s->cluster_size);
    int64_t size = s->size;

    if (start == *offset && (aend == end || end >= size)) {
        *bytes = aend - start;
        return 0;
    }
    if (!qcow2_is_zero(bs, start, *offset - start) ||
        (end < size && !qcow2_is_zero(bs, end, MIN(aend, size) - end))) {
        return -ENOTSUP;
    }
    *offset = start;
    *bytes = aend - start;
    return 1;
}

/* Under the lock: whether every cluster of the range is unallocated/zero. */
static int coroutine_fn qcow2_range_unallocated_or_zero(BlockDriverState *bs,
                                                        uint64_t offset,
                                                        uint64_t bytes)
{
    while (bytes > 0) {
        uint64_t cur = bytes, host;
        QCow2ClusterType type;
        int ret = qcow2_get_host_offset(bs, offset, &cur, &host, &type);

        if (ret < 0) {
            return ret;
        }
        if (type != QCOW2_CLUSTER_UNALLOCATED &&
            type != QCOW2_CLUSTER_ZERO_PLAIN &&
            type != QCOW2_CLUSTER_ZERO_ALLOC) {
            return -ENOTSUP;
        }
        offset += cur;
        bytes -= cur;
    }
    return 0;
}

static int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    int widened, ret;

    if (s->broken) {
        return -EIO;
    }
    if (!qcow2_has_zero_flag(s) && bs->backing) {
        return -ENOTSUP;
    }
    widened = qcow2_widen_zero_range(bs, &offset, &bytes);
    if (widened < 0) {
        return widened;
    }
    qemu_co_mutex_lock(&s->lock);
    qcow2_alloc_wait(bs, offset, bytes);
    ret = widened ? qcow2_range_unallocated_or_zero(bs, offset, bytes) : 0;
    if (ret == 0 && qcow2_has_zero_flag(s)) {
        ret = qcow2_zero_clusters(bs, offset, bytes,
                                  flags & BDRV_REQ_MAY_UNMAP);
    } else if (ret == 0) {
        /* v2 without backing file: unallocated clusters read as zero. */
        ret = qcow2_discard_clusters(bs, offset, bytes, true,
                                     QCOW2_DISCARD_REQUEST);
    }
    qcow2_process_discards(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->broken) {
        return -EIO;
    }
    if (offset_into_cluster(s, offset) ||
        (offset_into_cluster(s, bytes) && offset + bytes != (int64_t)s->size)) {
        return -ENOTSUP;
    }
    qemu_co_mutex_lock(&s->lock);
    qcow2_alloc_wait(bs, offset, bytes);
    ret = qcow2_discard_clusters(bs, offset,
                                 ROUND_UP(bytes, (int64_t)s->cluster_size),
                                 false, QCOW2_DISCARD_REQUEST);
    qcow2_process_discards(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn qcow2_co_flush_to_disk(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->broken) {
        return 0;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_write_caches(bs);
    qcow2_process_discards(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                              unsigned mode, int64_t offset,
                                              int64_t bytes, int64_t *pnum,
                                              int64_t *map,
                                              BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cur = bytes, host;
    QCow2ClusterType type;
    int ret;

    if (s->broken) {
        return -EIO;
    }
    qemu_co_mutex_lock(&s->lock);
    if (mode == BDRV_WANT_PRECISE && !s->metadata_preallocation_checked) {
        /* Looks at the file below, so never for allocation queries. */
        s->metadata_preallocation =
            qcow2_detect_metadata_preallocation(bs) == 1;
        s->metadata_preallocation_checked = true;
    }
    ret = qcow2_get_host_offset(bs, offset, &cur, &host, &type);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = cur;
    switch (type) {
    case QCOW2_CLUSTER_NORMAL:
        *map = host;
        *file = bs->file->bs;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID |
               (s->metadata_preallocation ? BDRV_BLOCK_RECURSE : 0);
    case QCOW2_CLUSTER_ZERO_ALLOC:
        *map = host;
        *file = bs->file->bs;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    case QCOW2_CLUSTER_ZERO_PLAIN:
        return BDRV_BLOCK_ZERO;
    case QCOW2_CLUSTER_COMPRESSED:
        return BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED;
    default:
        return 0;
    }
}

static int coroutine_fn qcow2_co_truncate(BlockDriverState *bs,
                                          int64_t offset, bool exact,
                                          PreallocMode prealloc,
                                          BdrvRequestFlags flags,
                                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_size;
    uint64_t be_size;
    int ret;

    if (s->broken) {
        error_setg(errp, "Image is corrupt");
        return -EIO;
    }
    if ((uint64_t)offset < s->size) {
        error_setg(errp, "qcow2 doesn't support shrinking images yet");
        return -ENOTSUP;
    }
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "The new size must be a multiple of %d",
                   BDRV_SECTOR_SIZE);
        return -EINVAL;
    }
    if (s->nb_snapshots && (uint64_t)offset != s->size) {
        error_setg(errp, "Can't resize an image which has snapshots");
        return -ENOTSUP;
    }
    qemu_co_mutex_lock(&s->lock);
    qcow2_alloc_wait(bs, 0, UINT64_MAX);
    old_size = s->size;
    ret = qcow2_grow_l1_table(bs, size_to_l1(s, offset), true);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to grow the L1 table");
        goto out;
    }
    if (prealloc != PREALLOC_MODE_OFF && (uint64_t)offset > old_size) {
        ret = qcow2_preallocate(bs, old_size, offset - old_size, prealloc);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Preallocation failed");
            goto out;
        }
    }
    be_size = GUINT64_TO_BE(offset);
    ret = qcow2_write_header_field(bs, QCOW2_HDR_SIZE, &be_size,
                                   sizeof(be_size));
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image size");
        goto out;
    }
    s->size = offset;
out:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int64_t coroutine_fn qcow2_co_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->size;
}

static int64_t coroutine_fn qcow2_co_get_allocated_file_size(
    BlockDriverState *bs)
{
    return bdrv_co_get_allocated_file_size(bs->file->bs);
}

static int coroutine_fn qcow2_co_get_info(BlockDriverState *bs,
                                          BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->is_dirty = !!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY);
    return 0;
}

static int coroutine_fn qcow2_co_check(BlockDriverState *bs,
                                       BdrvCheckResult *result,
                                       BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    /* Clusters of allocations in flight would look leaked. */
    qcow2_alloc_wait(bs, 0, UINT64_MAX);
    ret = qcow2_check_locked(bs, result, fix);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

const BlockDriver bdrv_qcow2 = {
    .format_name                     = "qcow2",
    .instance_size                   = sizeof(BDRVQcow2State),
    .supports_backing                = true,
    .runtime_opts                    = qcow2_runtime_opts,
    .create_opts                     = qcow2_create_opts,

    .bdrv_open                       = qcow2_open,
    .bdrv_close                      = qcow2_close,
    .bdrv_refresh_limits             = qcow2_refresh_limits,

    .bdrv_co_preadv                  = qcow2_co_preadv,
    .bdrv_co_pwritev                 = qcow2_co_pwritev,
    .bdrv_co_pwrite_zeroes           = qcow2_co_pwrite_zeroes,
    .bdrv_co_pdiscard                = qcow2_co_pdiscard,
    .bdrv_co_flush_to_disk           = qcow2_co_flush_to_disk,
    .bdrv_co_block_status            = qcow2_co_block_status,
    .bdrv_co_truncate                = qcow2_co_truncate,
    .bdrv_co_getlength               = qcow2_co_getlength,
    .bdrv_co_get_allocated_file_size = qcow2_co_get_allocated_file_size,
    .bdrv_co_get_info                = qcow2_co_get_info,
    .bdrv_co_create_opts             = qcow2_co_create_opts,
    .bdrv_co_check                   = qcow2_co_check,
    .bdrv_get_backing_file           = qcow2_get_backing_file,
    .bdrv_get_specific_info          = qcow2_get_specific_info,
};
