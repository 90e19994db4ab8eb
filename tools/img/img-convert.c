/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img convert: copy one or more images (concatenated) into a new
 * or existing image, possibly of another format.
 *
 * The copy keeps the target sparse.  The source is walked with precise
 * block-status queries and cut into chunks of one status: data (read,
 * then written, except for zero runs of at least -S bytes found in the
 * buffer), zero, or "backing" (with -B: left unallocated so the target's
 * backing file shows through).  Zero ranges are never written as data:
 * if the target is known to read as zero already (a fresh image, checked
 * with bdrv_is_all_zeroes(), or -n with --target-is-zero) they are skipped;
 * otherwise the target is first zeroed in one pass with
 * BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK when it can do that cheaply,
 * and failing that each zero range gets a zero write with MAY_UNMAP.
 *
 * -m coroutines copy in parallel.  Each takes the next chunk under a
 * CoMutex (the block-status walk is shared), reads it, and writes it; by
 * default writes then happen in target order, each coroutine waiting on a
 * CoQueue for its turn, while -W lets them land in any order.
 */
#include "img-common.h"
#include "util/aio.h"
#include "util/buffer-zero.h"
#include "util/coroutine-lock.h"

const char img_convert_usage[] =
"Usage: " IMG_NAME " convert [-U] [-C] [-p] [-q] [-n] [-f FMT] [-t CACHE]"
" [-T SRC_CACHE] [-O OUTPUT_FMT] [-B BACKING_FILE [-F BACKING_FMT]]"
" [-o OPTIONS] [-S SPARSE_SIZE] [-m NUM_COROUTINES] [-W]"
" [--target-is-zero] FILENAME [FILENAME2 [...]] OUTPUT_FILENAME\n"
"\n"
"Copy the image FILENAME (or the concatenation of several) to\n"
"OUTPUT_FILENAME, keeping it sparse.\n"
"\n"
"  -f FMT             format of the sources (default: probe)\n"
"  -O OUTPUT_FMT      format of the target (default: raw)\n"
"  -o OPTIONS         creation options for the target ('-o help' lists "
"them)\n"
"  -B BACKING_FILE    give the target this backing file and copy only what\n"
"                     the source holds above its own backing file\n"
"  -F BACKING_FMT     the backing file's format\n"
"  -n                 write into an existing target instead of creating it\n"
"  --target-is-zero   with -n: the target already reads as zero\n"
"  -S SPARSE_SIZE     zero runs of this many bytes (default 4k, multiple "
"of\n"
"                     512; 0 disables sparse detection) are not written\n"
"  -m NUM_COROUTINES  copy with this many coroutines (1 to 16, default 8)\n"
"  -W                 allow writes out of order\n"
"  -t CACHE           cache mode of the target (default: unsafe)\n"
"  -T SRC_CACHE       cache mode of the sources (default: writeback)\n"
"  -U, --force-share  open the sources even if something else writes them\n"
"  -C                 accepted for compatibility (no copy offloading)\n"
"  -p                 show progress\n"
"  -q                 quiet: print nothing but errors\n"
"  -h, --help         print this help\n";

#define MAX_COROUTINES 16
#define MAX_SPARSE_SIZE (16 * 1024 * 1024)
#define SECTOR 512

typedef enum ConvertStatus {
    CONV_DATA,
    CONV_ZERO,
    CONV_BACKING,
} ConvertStatus;

typedef struct ConvertSource {
    const char *filename;
    BlockBackend *blk;
    int64_t start;              /* where it lands in the target */
    int64_t size;
} ConvertSource;

typedef struct ConvertState {
    ConvertSource *src;
    int nsrc;
    BlockBackend *target;
    int64_t total;
    int64_t min_sparse;         /* 0: write everything */
    int64_t align;              /* zero runs are cut to this boundary */
    int64_t buf_size;
    int64_t target_backing_len; /* -1: no backing file or unknown */
    bool target_has_backing;
    bool has_zero_init;
    bool wr_in_order;
    bool writethrough;
    int num_coroutines;

    /*
     * lock protects the walk: the next chunk to hand out and the status
     * run it belongs to (a block-status query may yield).
     */
    CoMutex lock;
    int64_t next_offset;
    int64_t status_end;
    ConvertStatus status;

    /* Ordered writes: the next offset allowed to write, and its waiters. */
    int64_t wr_offset;
    CoQueue wr_queue;

    int64_t progress_total;     /* bytes that count for -p */
    int64_t progress_done;
    int running;
    int ret;                    /* -EINPROGRESS while copying */
} ConvertState;

static ConvertSource *source_at(ConvertState *s, int64_t offset)
{
    for (int i = 0; i < s->nsrc - 1; i++) {
        if (offset < s->src[i + 1].start) {
            return &s->src[i];
        }
    }
    return &s->src[s->nsrc - 1];
}

/*
 * Length of the chunk at @offset, with s->status describing it; asks the
 * source's block status when @offset leaves the current run.  Caller holds
 * s->lock.
 */
static int64_t coroutine_fn convert_iteration(ConvertState *s,
                                              int64_t offset)
{
    ConvertSource *src = source_at(s, offset);
    int64_t n = src->start + src->size - offset;

    if (s->status_end <= offset) {
        BlockDriverState *bs = blk_bs(src->blk);
        BlockDriverState *base = NULL;
        int64_t count;
        int ret;

        if (s->target_has_backing) {
            base = bdrv_backing_bs(bdrv_skip_filters(bs));
        }
        ret = bdrv_co_block_status_above(bs, base, false, BDRV_WANT_PRECISE,
                                         offset - src->start, n, &count,
                                         NULL, NULL, NULL);
        if (ret < 0) {
            error_report("error while reading block status at offset %"
                         PRId64 ": %s", offset, strerror(-ret));
            return ret;
        }
        n = count ? count : n;
        if (ret & BDRV_BLOCK_ZERO) {
            bool past_backing = s->target_backing_len >= 0 &&
                                offset >= s->target_backing_len;

            s->status = past_backing ? CONV_BACKING : CONV_ZERO;
        } else if (ret & BDRV_BLOCK_DATA) {
            s->status = CONV_DATA;
        } else {
            s->status = s->target_has_backing ? CONV_BACKING : CONV_DATA;
        }
        s->status_end = offset + n;
    }
    n = MIN(n, s->status_end - offset);
    if (s->status == CONV_DATA || (!s->min_sparse && s->status == CONV_ZERO)) {
        n = MIN(n, s->buf_size);
    }
    return n;
}

/*
 * The run of 512-byte blocks at @buf that are all zero or all data, cut
 * so that zero runs end on an @align boundary of the target (a zero run
 * too short for that counts as data).  Returns whether it is data.
 */
static bool scan_run(const uint8_t *buf, int64_t bytes, int64_t offset,
                     int64_t align, int64_t *pnum)
{
    bool zero = buffer_is_zero(buf, MIN(SECTOR, bytes));
    int64_t i = MIN(SECTOR, bytes), tail;

    while (i < bytes &&
           buffer_is_zero(buf + i, MIN(SECTOR, bytes - i)) == zero) {
        i += MIN(SECTOR, bytes - i);
    }
    if (i < bytes) {
        tail = (offset + i) % align;
        if (zero && i <= tail) {
            zero = false;
        }
        if (tail && !zero) {
            i = MIN(i + align - tail, bytes);
        } else if (tail) {
            i -= tail;
        }
    }
    *pnum = i;
    return !zero;
}

/*
 * How much of @buf to write as data (returns true) or to treat as zero
 * (false), in *pnum bytes.  Zero runs shorter than min_sparse inside data
 * are written with it, so requests are not split for small holes.
 */
static bool convert_scan(ConvertState *s, const uint8_t *buf, int64_t bytes,
                         int64_t offset, int64_t *pnum)
{
    int64_t min = MIN(s->min_sparse, bytes);
    int64_t used, checked, n;

    if (!scan_run(buf, bytes, offset, s->align, &n)) {
        *pnum = n;
        return false;
    }
    used = checked = n;
    while (checked < bytes) {
        bool data = scan_run(buf + checked, bytes - checked, offset + checked,
                             s->align, &n);

        checked += n;
        if (data) {
            used = checked;
        } else if (n >= min) {
            break;
        }
    }
    *pnum = used;
    return true;
}

static int coroutine_fn convert_write(ConvertState *s, int64_t offset,
                                      int64_t bytes, uint8_t *buf,
                                      ConvertStatus status)
{
    BdrvRequestFlags fua = s->writethrough ? BDRV_REQ_FUA : 0;

    while (bytes > 0) {
        int64_t n = bytes;
        int ret = 0;

        if (status == CONV_DATA &&
            (!s->min_sparse || convert_scan(s, buf, bytes, offset, &n))) {
            ret = blk_co_pwrite(s->target, offset, n, buf, fua);
        } else if (status != CONV_BACKING && !s->has_zero_init) {
            ret = blk_co_pwrite_zeroes(s->target, offset, n,
                                       BDRV_REQ_MAY_UNMAP | fua);
        }
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
        buf += n;
    }
    return 0;
}

static int coroutine_fn convert_read(ConvertState *s, int64_t offset,
                                     int64_t bytes, uint8_t *buf)
{
    ConvertSource *src = source_at(s, offset);
    int ret = blk_co_pread(src->blk, offset - src->start, bytes, buf, 0);

    if (ret < 0) {
        error_report("error while reading at byte %" PRId64 ": %s", offset,
                     strerror(-ret));
    }
    return ret;
}

/* Take the next chunk; returns its length, 0 when done, or -errno. */
static int64_t coroutine_fn convert_next_chunk(ConvertState *s,
                                               int64_t *offset,
                                               ConvertStatus *status)
{
    int64_t n = 0;

    qemu_co_mutex_lock(&s->lock);
    if (s->ret == -EINPROGRESS && s->next_offset < s->total) {
        n = convert_iteration(s, s->next_offset);
        if (n > 0) {
            *offset = s->next_offset;
            *status = s->status;
            s->next_offset += n;
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    return n;
}

static void coroutine_fn convert_worker(void *opaque)
{
    ConvertState *s = opaque;
    uint8_t *buf = qemu_blockalign(4096, s->buf_size);
    ConvertStatus status;
    int64_t offset, n;
    int ret = 0;

    while ((n = convert_next_chunk(s, &offset, &status)) > 0) {
        if (s->progress_total &&
            (status == CONV_DATA || (!s->min_sparse && status == CONV_ZERO))) {
            s->progress_done += n;
            img_progress_set(100.0 * s->progress_done / s->progress_total);
        }
        if (status == CONV_DATA) {
            ret = convert_read(s, offset, n, buf);
        } else if (!s->min_sparse && status == CONV_ZERO) {
            status = CONV_DATA;
            memset(buf, 0, n);
        }
        while (ret == 0 && s->wr_in_order && s->wr_offset != offset &&
               s->ret == -EINPROGRESS) {
            qemu_co_queue_wait(&s->wr_queue, NULL);
        }
        if (ret == 0 && s->ret == -EINPROGRESS) {
            ret = convert_write(s, offset, n, buf, status);
            if (ret < 0) {
                error_report("error while writing at byte %" PRId64 ": %s",
                             offset, strerror(-ret));
            }
        }
        if (ret < 0) {
            break;
        }
        s->wr_offset = offset + n;
        qemu_co_queue_restart_all(&s->wr_queue);
    }
    if ((n < 0 || ret < 0) && s->ret == -EINPROGRESS) {
        s->ret = n < 0 ? n : ret;
        qemu_co_queue_restart_all(&s->wr_queue);
    }
    qemu_vfree(buf);
    s->running--;
    aio_wait_kick();
}

/*
 * Zero [0, total) of the target cheaply (unmapping, no fallback to
 * writing zeroes); -ENOTSUP when that is not possible.
 */
static int coroutine_fn convert_make_zero(ConvertState *s)
{
    BlockDriverState *bs = blk_bs(s->target);

    for (int64_t offset = 0; offset < s->total;) {
        int64_t pnum;
        int ret = bdrv_co_block_status_above(bs, NULL, false, BDRV_WANT_ZERO,
                                             offset, s->total - offset,
                                             &pnum, NULL, NULL, NULL);

        if (ret < 0) {
            return ret;
        }
        pnum = pnum ? MIN(pnum, BDRV_REQUEST_MAX_BYTES) : s->total - offset;
        if (!(ret & BDRV_BLOCK_ZERO)) {
            ret = blk_co_pwrite_zeroes(s->target, offset, pnum,
                                       BDRV_REQ_MAY_UNMAP |
                                       BDRV_REQ_NO_FALLBACK);
            if (ret < 0) {
                return ret;
            }
        }
        offset += pnum;
    }
    return 0;
}

typedef struct ConvertSetup {
    ConvertState *s;
    bool target_is_zero;
    bool progress;
    int ret;
    bool done;
} ConvertSetup;

/*
 * Before copying: decide whether the target reads as zero (making it so
 * if that is cheap), and sum up what -p counts.
 */
static void coroutine_fn convert_setup_entry(void *opaque)
{
    ConvertSetup *cs = opaque;
    ConvertState *s = cs->s;
    BlockDriverState *tbs = blk_bs(s->target);

    cs->ret = 0;
    if (!s->target_has_backing) {
        s->has_zero_init = cs->target_is_zero ||
                           bdrv_co_is_all_zeroes(tbs) == 1;
        if (!s->has_zero_init && s->min_sparse &&
            bdrv_can_write_zeroes_with_unmap(tbs) &&
            convert_make_zero(s) == 0) {
            s->has_zero_init = true;
        }
    }

    s->progress_total = 0;
    for (int64_t offset = 0; cs->progress && offset < s->total;) {
        int64_t n = convert_iteration(s, offset);

        if (n < 0) {
            cs->ret = n;
            break;
        }
        if (s->status == CONV_DATA ||
            (!s->min_sparse && s->status == CONV_ZERO)) {
            s->progress_total += n;
        }
        offset += n;
    }
    s->status_end = 0;
    cs->done = true;
    aio_wait_kick();
}

static int convert_do_copy(ConvertState *s, bool target_is_zero,
                           bool progress)
{
    ConvertSetup cs = { .s = s, .target_is_zero = target_is_zero,
                        .progress = progress };
    AioContext *ctx = qemu_get_aio_context();

    qemu_co_mutex_init(&s->lock);
    qemu_co_queue_init(&s->wr_queue);
    aio_run_co_sync(convert_setup_entry, &cs, &cs.done);
    s->ret = cs.ret ? cs.ret : -EINPROGRESS;

    img_progress_init(progress, 1.0);
    s->running = s->num_coroutines;
    for (int i = 0; i < s->num_coroutines; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(convert_worker, s));
    }
    AIO_WAIT_WHILE(ctx, s->running > 0);
    if (s->ret == -EINPROGRESS) {
        s->ret = blk_flush(s->target);
        if (s->ret < 0) {
            error_report("error while flushing the target: %s",
                         strerror(-s->ret));
        }
    }
    if (s->ret == 0) {
        img_progress_set(100);
    }
    img_progress_end();
    qemu_co_queue_destroy(&s->wr_queue);
    qemu_co_mutex_destroy(&s->lock);
    return s->ret;
}

typedef struct ConvertOpts {
    const char *fmt;
    const char *out_fmt;
    const char *cache;
    const char *src_cache;
    const char *backing;
    const char *backing_fmt;
    GString *options;
    bool skip_create;
    bool target_is_zero;
    bool force_share;
    bool progress;
    bool quiet;
} ConvertOpts;

/* Open the sources, create and open the target; then copy. */
static int convert_run(ConvertState *s, ConvertOpts *co, char **files,
                       int nfiles, const char *out_filename)
{
    ImgOpenOpts so = { .fmt = co->fmt, .cache = co->src_cache,
                       .force_share = co->force_share };
    ImgOpenOpts to = { .fmt = co->out_fmt, .cache = co->cache,
                       .writable = true, .unmap = s->min_sparse > 0 };
    Error *err = NULL;
    int ret = -EINVAL;

    s->nsrc = nfiles;
    s->src = g_new0(ConvertSource, nfiles);
    for (int i = 0; i < nfiles; i++) {
        ConvertSource *src = &s->src[i];

        src->filename = files[i];
        src->blk = img_open(files[i], &so, NULL);
        if (!src->blk) {
            return -EINVAL;
        }
        src->size = blk_getlength(src->blk);
        if (src->size < 0) {
            error_report("Could not get size of %s: %s", files[i],
                         strerror(-src->size));
            return -EINVAL;
        }
        src->start = s->total;
        s->total += src->size;
    }

    if (!co->skip_create) {
        ImgCreateRequest req = {
            .filename = out_filename, .fmt = co->out_fmt,
            .options = co->options->str, .backing = co->backing,
            .backing_fmt = co->backing_fmt, .size = s->total,
            .no_backing_open = true,
        };

        if (img_create_image(&req, &err) < 0) {
            error_report("%s: error while converting %s: %s", out_filename,
                         co->out_fmt, error_get_pretty(err));
            error_free(err);
            return -EINVAL;
        }
    }
    s->target = img_open(out_filename, &to, &s->writethrough);
    if (!s->target) {
        return -EINVAL;
    }
    if (co->skip_create && blk_getlength(s->target) < s->total) {
        error_report("output file is smaller than input file");
        return -EINVAL;
    }
    s->target_backing_len = -1;
    if (s->target_has_backing) {
        BlockDriverState *b = bdrv_backing_bs(
            bdrv_skip_filters(blk_bs(s->target)));

        s->target_backing_len = b ? bdrv_getlength(b) : -1;
    }
    ret = convert_do_copy(s, co->target_is_zero, co->progress);
    return ret;
}

int img_convert(int argc, char **argv)
{
    enum {
        OPT_TARGET_IS_ZERO = 256,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
        { NULL, 0, NULL, 0 }
    };
    g_autoptr(GString) options = g_string_new(NULL);
    ConvertOpts co = { .out_fmt = "raw", .cache = "unsafe",
                       .options = options };
    ConvertState s = { .min_sparse = 8 * SECTOR, .num_coroutines = 8,
                       .wr_in_order = true };
    int64_t v;
    int c, ret;

    while ((c = img_getopt(argc, argv, ":hf:O:B:F:Cco:l:S:pt:T:qnm:WU",
                           lopt, img_convert_usage)) != -1) {
        switch (c) {
        case 'f':
            co.fmt = optarg;
            break;
        case 'O':
            co.out_fmt = optarg;
            break;
        case 'B':
            co.backing = optarg;
            break;
        case 'F':
            co.backing_fmt = optarg;
            break;
        case 'C':
            break;
        case 'c':
            error_report("Compression not supported for this file format");
            return 1;
        case 'o':
            img_append_opts(options, optarg);
            break;
        case 'l':
            error_report("Snapshots are not supported");
            return 1;
        case 'S':
            v = img_cvtnum("buffer size for sparse output", optarg);
            if (v < 0) {
                return 1;
            }
            if (v % SECTOR || v > MAX_SPARSE_SIZE) {
                error_report("Invalid buffer size for sparse output "
                             "specified. Valid sizes are multiples of %d up "
                             "to %d. Select 0 to disable sparse detection "
                             "(fully allocates output).", SECTOR,
                             MAX_SPARSE_SIZE);
                return 1;
            }
            s.min_sparse = v;
            break;
        case 'p':
            co.progress = true;
            break;
        case 't':
            co.cache = optarg;
            break;
        case 'T':
            co.src_cache = optarg;
            break;
        case 'q':
            co.quiet = true;
            break;
        case 'n':
            co.skip_create = true;
            break;
        case 'm':
            if (!g_ascii_string_to_signed(optarg, 10, 1, MAX_COROUTINES,
                                          &v, NULL)) {
                error_report("Invalid number of coroutines. Allowed number "
                             "of coroutines is between 1 and %d",
                             MAX_COROUTINES);
                return 1;
            }
            s.num_coroutines = v;
            break;
        case 'W':
            s.wr_in_order = false;
            break;
        case 'U':
            co.force_share = true;
            break;
        case OPT_TARGET_IS_ZERO:
            co.target_is_zero = true;
            break;
        }
    }
    if (co.quiet) {
        co.progress = false;
    }

    if (img_create_help(co.out_fmt, options->str)) {
        return 0;
    }
    if (argc - optind < 2) {
        error_report("Must specify image file name");
        return 1;
    }
    if (!img_format_known(co.out_fmt)) {
        error_report("Unknown file format '%s'", co.out_fmt);
        return 1;
    }
    if (co.skip_create && options->len) {
        error_report("-o has no effect when skipping image creation");
        return 1;
    }
    if (co.target_is_zero && !co.skip_create) {
        error_report("--target-is-zero requires use of -n flag");
        return 1;
    }
    if (co.backing && strcmp(co.out_fmt, "qcow2")) {
        error_report("Backing file not supported for file format '%s'",
                     co.out_fmt);
        return 1;
    }
    if (co.backing && !co.backing_fmt) {
        error_report("Use of backing file requires explicit backing format");
        return 1;
    }
    if (co.cache && !img_parse_cache(co.cache, &(bool){0}, &(bool){0},
                                     &(bool){0})) {
        error_report("Invalid cache option: %s", co.cache);
        return 1;
    }
    if (co.src_cache && !img_parse_cache(co.src_cache, &(bool){0},
                                         &(bool){0}, &(bool){0})) {
        error_report("Invalid source cache option: %s", co.src_cache);
        return 1;
    }

    s.target_has_backing = co.backing != NULL;
    s.buf_size = MAX(IMG_IO_BUF_SIZE, s.min_sparse);
    s.align = SECTOR;
    while (s.align * 2 <= s.min_sparse) {
        s.align *= 2;
    }
    ret = convert_run(&s, &co, argv + optind, argc - optind - 1,
                      argv[argc - 1]);

    for (int i = 0; i < s.nsrc; i++) {
        blk_unref(s.src[i].blk);
    }
    g_free(s.src);
    blk_unref(s.target);
    return ret < 0 ? 1 : 0;
}
