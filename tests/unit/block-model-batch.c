/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Batches of concurrent requests for test-block-model.c: 2 to 8 requests
 * issued at once from coroutines on disjoint but often adjacent ranges,
 * some as scattered I/O vectors, then each checked like its synchronous
 * form (block-model-ops.c).  Requests padded to the same alignment unit
 * must be serialised by the block layer, or a read-modify-write loses its
 * neighbour's bytes.
 */
#include "block-model-util.h"

typedef enum SubOpKind {
    SUB_WRITE,
    SUB_ZEROES,
    SUB_DISCARD,
    SUB_READ,
    SUB_STATUS,
    SUB__MAX,
} SubOpKind;

/* One request of a batch, run in its own coroutine. */
typedef struct SubOp {
    BlockBackend *blk;
    BlockDriverState *bs;
    int64_t index;           /* its operation index in the history */
    SubOpKind kind;
    int64_t off;
    int64_t len;
    BdrvRequestFlags flags;
    unsigned mode;
    uint8_t *buf;            /* the memory the request uses */
    uint8_t *data;           /* the bytes as one array, for vectored ones */
    QEMUIOVector qiov;       /* scattered over buf, when data is set */
    int64_t pnum;
    int64_t map;
    BlockDriverState *file;
    int ret;
    bool done;
} SubOp;

static void coroutine_fn sub_op_entry(void *opaque)
{
    SubOp *s = opaque;

    switch (s->kind) {
    case SUB_WRITE:
        s->ret = s->data ?
                 blk_co_pwritev(s->blk, s->off, s->len, &s->qiov, s->flags) :
                 blk_co_pwrite(s->blk, s->off, s->len, s->buf, s->flags);
        break;
    case SUB_ZEROES:
        s->ret = blk_co_pwrite_zeroes(s->blk, s->off, s->len, s->flags);
        break;
    case SUB_DISCARD:
        s->ret = blk_co_pdiscard(s->blk, s->off, s->len);
        break;
    case SUB_READ:
        s->ret = s->data ?
                 blk_co_preadv(s->blk, s->off, s->len, &s->qiov, 0) :
                 blk_co_pread(s->blk, s->off, s->len, s->buf, 0);
        break;
    default:
        s->ret = bdrv_co_block_status(s->bs, s->mode, s->off, s->len,
                                      &s->pnum, &s->map, &s->file);
        break;
    }
    s->done = true;
    aio_wait_kick();
}

/* The length of one request of a batch: small, to share units. */
static int64_t pick_sub_len(Model *m)
{
    int r = rng_range(m, 0, 99);

    return r < 70 ? rng_range(m, 1, 1500) :
           r < 90 ? rng_range(m, 1, 8 * KiB) : rng_range(m, 1, 64 * KiB);
}

/* The gap before the next request: often none, so neighbours touch. */
static int64_t pick_sub_gap(Model *m)
{
    int r = rng_range(m, 0, 99);

    return r < 50 ? 0 : r < 80 ? rng_range(m, 1, 511) :
           rng_range(m, 0, 8 * KiB);
}

/* Most elements of a scattered request vector. */
#define SUB_MAX_IOV 16

/*
 * Give @s a vector of up to SUB_MAX_IOV elements (some empty) at odd
 * places in its memory, with gaps between them, holding s->data.
 */
static void sub_op_scatter(Model *m, SubOp *s)
{
    int64_t left = s->len;
    size_t at = rng_range(m, 0, 63);
    int n;

    s->data = g_malloc(s->len);
    s->buf = g_malloc(s->len + SUB_MAX_IOV * 64 + 64);
    qemu_iovec_init(&s->qiov, SUB_MAX_IOV);
    for (n = 0; left > 0; n++) {
        int64_t elen = left;

        if (n < SUB_MAX_IOV - 1) {
            elen = rng_chance(m, 5) ? 0 :
                   rng_range(m, 1, MIN(left, rng_chance(m, 50) ? 600 : left));
        }
        qemu_iovec_add(&s->qiov, s->buf + at, elen);
        at += elen + rng_range(m, 0, 63);
        left -= elen;
    }
}

/*
 * Issue 2 to 8 requests on disjoint but often adjacent ranges at once, in
 * a random order, and check each like its synchronous form: ranges that
 * share a request-alignment unit must be serialised by the block layer,
 * or a read-modify-write loses its neighbour's bytes.
 */
void op_batch(Model *m)
{
    static const unsigned modes[] = {
        BDRV_WANT_ZERO, BDRV_WANT_ALLOCATED, BDRV_WANT_PRECISE,
    };
    int n = rng_range(m, 2, m->max_batch);
    SubOp subs[8];
    int order[8];
    int64_t total = 0, pos;
    int i, j;

    memset(subs, 0, sizeof(subs));
    for (i = 0; i < n; i++) {
        subs[i].len = pick_sub_len(m);
        total += subs[i].len + (i ? pick_sub_gap(m) : 0);
        subs[i].off = total - subs[i].len;
    }
    pos = rng_chance(m, 10) ? m->size - total :
          rng_range(m, 0, m->size - total);
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];
        uint8_t fill = rng_range(m, 1, 255);
        int64_t k;

        s->blk = m->blk;
        s->bs = m->bs;
        s->off += pos;
        s->kind = rng_range(m, 0, SUB__MAX - 1);
        s->buf = qemu_blockalign(4 * KiB, s->len);
        if ((s->kind == SUB_WRITE || s->kind == SUB_READ) &&
            rng_chance(m, 40)) {
            qemu_vfree(s->buf);
            s->buf = NULL;
            sub_op_scatter(m, s);
        }
        switch (s->kind) {
        case SUB_WRITE:
            s->flags = rng_chance(m, 5) ? BDRV_REQ_FUA : 0;
            if (rng_chance(m, 20)) {
                memset(s->buf, 0, s->len);
                if (s->data) {
                    memset(s->data, 0, s->len);
                    qemu_iovec_memset(&s->qiov, 0, 0, s->len);
                }
            } else if (s->data) {
                for (k = 0; k < s->len; k++) {
                    s->data[k] = fill + (uint8_t)k;
                }
                qemu_iovec_from_buf(&s->qiov, 0, s->data, s->len);
            } else {
                for (k = 0; k < s->len; k++) {
                    s->buf[k] = fill + (uint8_t)k;
                }
            }
            break;
        case SUB_ZEROES:
            s->flags = rng_chance(m, 50) ? BDRV_REQ_MAY_UNMAP : 0;
            break;
        case SUB_READ:
            if (s->data) {
                qemu_iovec_memset(&s->qiov, 0, 0xa5, s->len);
            } else {
                memset(s->buf, 0xa5, s->len);
            }
            break;
        case SUB_STATUS:
            s->mode = modes[rng_range(m, 0, G_N_ELEMENTS(modes) - 1)];
            break;
        default:
            break;
        }
        order[i] = i;
    }
    for (i = n - 1; i > 0; i--) {
        int tmp;

        j = rng_range(m, 0, i);
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }

    for (i = 0; i < n; i++) {
        static const char *const names[] = {
            "write", "write-zeroes", "discard", "read", "block-status",
        };
        SubOp *s = &subs[order[i]];

        if (i) {
            m->op++;
        }
        s->index = m->op;
        model_log(m, "batch %d/%d: %s %" PRId64 "+%" PRId64 " flags=0x%x"
                  " mode=0x%x%s", i + 1, n, names[s->kind], s->off, s->len,
                  s->flags, s->mode, s->data ? " vectored" : "");
        qemu_coroutine_enter(qemu_coroutine_create(sub_op_entry, s));
    }
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        AIO_WAIT_WHILE(qemu_get_aio_context(), !s->done);
    }

    /* Every range is disjoint: check each against the model in turn. */
    pos = m->op;
    model_adopt_length(m);
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        m->op = s->index;
        if (s->ret < 0) {
            model_fail(m, "batched request failed: %s", strerror(-s->ret));
        }
        if (s->data && s->kind == SUB_READ) {
            qemu_iovec_to_buf(&s->qiov, 0, s->data, s->len);
        }
        switch (s->kind) {
        case SUB_WRITE:
            memcpy(m->ref + s->off, s->data ? s->data : s->buf, s->len);
            m->stats.writes++;
            break;
        case SUB_ZEROES:
            memset(m->ref + s->off, 0, s->len);
            m->stats.zero_writes++;
            break;
        case SUB_READ:
            model_compare(m, "batched read", s->data ? s->data : s->buf,
                          m->ref + s->off, s->off, s->len);
            m->stats.reads++;
            break;
        case SUB_STATUS:
            check_status(m, s->off, s->len, s->ret, s->pnum, &s->map,
                         &s->file);
            m->stats.status++;
            break;
        default:
            break;
        }
    }
    /* Discards last: their read-back must see the other writes. */
    for (i = 0; i < n; i++) {
        SubOp *s = &subs[i];

        if (s->kind == SUB_DISCARD) {
            m->op = s->index;
            discard_adopt(m, s->off, s->len);
            m->stats.discards++;
        }
        if (s->data) {
            qemu_iovec_destroy(&s->qiov);
            g_free(s->data);
            g_free(s->buf);
        } else {
            qemu_vfree(s->buf);
        }
    }
    m->op = pos;
}
