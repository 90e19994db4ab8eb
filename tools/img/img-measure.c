/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img measure: how large a file an image in the output format
 * needs, either new (--size N) or as a copy of an existing image.
 *
 * Two figures come out, with qemu-img 7.2's names and values:
 *   required         the file size convert would produce: metadata plus
 *                    the clusters that hold data in the source;
 *   fully allocated  the file size once every guest byte is written.
 * For qcow2 output, when both the source and the new image could carry
 * persistent dirty bitmaps (a qcow2 v3 source, compat=1.1 output), a
 * third figure, the space the source's bitmaps need, follows; emblock
 * keeps no persistent bitmaps, so it is 0.
 *
 * raw needs the virtual size, rounded up to 512 bytes, either way.
 *
 * qcow2 is computed here from the format's layout rather than asked of
 * the driver (the public API has no measure call).  A qcow2 file of
 * virtual size V (rounded up to the cluster size C) fully allocated is:
 *   - one header cluster;
 *   - L2 tables mapping every guest cluster, V / C entries of 8 bytes
 *     (16 with extended L2), in whole tables of C bytes;
 *   - the L1 table, one 8-byte entry per L2 table, in whole clusters;
 *   - the V bytes of data;
 *   - refcount blocks covering every cluster above, themselves and the
 *     refcount table, and that table: the smallest counts that cover
 *     everything including themselves (found by iterating to the fixed
 *     point, as each new block may need counting too).
 * "required" keeps all that metadata but counts only the data clusters
 * the source's block status shows as allocated data (zero ranges are
 * skipped: the copy has no backing file, so they read as zero anyway).
 * A backing file for the copy (-o backing_file) makes every cluster
 * count, since nothing is known about what it holds; preallocation=falloc
 * or full makes required equal fully allocated.
 */
#include "img-common.h"

const char img_measure_usage[] =
"Usage: " IMG_NAME " measure [--output=human|json] [-O OUTPUT_FMT]"
" [-o OPTIONS] [--size N | [--image-opts] [-f FMT] [-l SNAPSHOT] [-U]"
" FILENAME]\n"
"\n"
"Calculate the file size an image in format OUTPUT_FMT (raw or qcow2,\n"
"default raw) needs: a new image of N bytes, or a copy of the image\n"
"FILENAME as convert would write it.\n"
"\n"
"  --output=FORMAT      human (default) or json\n"
"  -O OUTPUT_FMT        the format to measure for\n"
"  -o OPTIONS           its creation options as NAME=VALUE,...\n"
"                       (qcow2: cluster_size, extended_l2, compat,\n"
"                       refcount_bits, preallocation, backing_file, ...)\n"
"  --size N             measure a new image of N bytes (suffixes k, M,\n"
"                       G, T, P and E)\n"
"  --image-opts         FILENAME is an options string (driver=...,...)\n"
"  -f FMT               the source image's format (default: probe)\n"
"  -l SNAPSHOT          measure an internal snapshot (not supported)\n"
"  -U, --force-share    open the image even if something else writes it\n"
"  -h, --help           print this help\n";

/* qcow2 limits the figures must respect (the format's, not emblock's). */
#define QCOW2_MIN_CLUSTER_SIZE  512
#define QCOW2_MAX_CLUSTER_SIZE  (2 * 1024 * 1024)
#define QCOW2_MIN_EXTL2_CLUSTER (32 * 512)   /* 32 subclusters of 512 */
#define QCOW2_MAX_L1_BYTES      (32 * 1024 * 1024)
#define QCOW2_ENTRY_SIZE        8            /* L1, L2, reftable entries */

typedef struct MeasureResult {
    uint64_t required;
    uint64_t fully_allocated;
    bool has_bitmaps;
    uint64_t bitmaps;
} MeasureResult;

/* The creation parameters qcow2 measuring depends on. */
typedef struct Qcow2Params {
    uint64_t cluster_size;
    int version;                /* 2 (compat=0.10) or 3 (compat=1.1) */
    uint64_t refcount_bits;
    bool extended_l2;
    bool has_backing;
    bool full_prealloc;         /* preallocation=falloc or full */
} Qcow2Params;

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) / align * align;
}

static uint64_t div_round_up(uint64_t v, uint64_t d)
{
    return (v + d - 1) / d;
}

/*
 * Read the qcow2 options from @opts (checked for type already), with
 * qemu-img measure's messages for values qcow2 cannot take, in the order
 * it checks them.
 */
static bool qcow2_params(JsonObject *opts, Qcow2Params *p, Error **errp)
{
    static const char *const prealloc_names[] = {
        "off", "metadata", "falloc", "full", NULL
    };
    const char *compat = qdict_get_str(opts, "compat");
    const char *prealloc = qdict_get_str(opts, "preallocation");
    int64_t refcount_bits = 16;
    int mode = 0;

    *p = (Qcow2Params) { .cluster_size = 65536, .version = 3 };
    if (!qdict_get_bool_opt(opts, "extended_l2", &p->extended_l2, errp) ||
        !qdict_get_size_opt(opts, "cluster_size", &p->cluster_size, errp) ||
        !qdict_get_int_opt(opts, "refcount_bits", &refcount_bits, errp)) {
        return false;
    }
    if (!is_pow2(p->cluster_size) ||
        p->cluster_size < QCOW2_MIN_CLUSTER_SIZE ||
        p->cluster_size > QCOW2_MAX_CLUSTER_SIZE) {
        error_setg(errp, "Cluster size must be a power of two between %d "
                   "and %dk", QCOW2_MIN_CLUSTER_SIZE,
                   QCOW2_MAX_CLUSTER_SIZE / 1024);
        return false;
    }
    if (p->extended_l2 && p->cluster_size < QCOW2_MIN_EXTL2_CLUSTER) {
        error_setg(errp, "Extended L2 entries are only supported with "
                   "cluster sizes of at least %d bytes",
                   QCOW2_MIN_EXTL2_CLUSTER);
        return false;
    }
    if (compat && !strcmp(compat, "0.10")) {
        p->version = 2;
    } else if (compat && strcmp(compat, "1.1")) {
        error_setg(errp, "Invalid compatibility level: '%s'", compat);
        return false;
    }
    if (refcount_bits > 64 || !is_pow2(refcount_bits)) {
        error_setg(errp, "Refcount width must be a power of two and may "
                   "not exceed 64 bits");
        return false;
    }
    if (p->version < 3 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use compat=1.1 or "
                   "greater)");
        return false;
    }
    p->refcount_bits = refcount_bits;
    if (prealloc) {
        for (mode = 0; prealloc_names[mode]; mode++) {
            if (!strcmp(prealloc, prealloc_names[mode])) {
                break;
            }
        }
        if (!prealloc_names[mode]) {
            error_setg(errp, "invalid parameter value: %s", prealloc);
            return false;
        }
    }
    p->full_prealloc = mode == PREALLOC_MODE_FALLOC ||
                       mode == PREALLOC_MODE_FULL;
    p->has_backing = qdict_haskey(opts, "backing_file");
    return true;
}

/*
 * Refcount blocks plus refcount table clusters needed to count @clusters
 * other clusters and themselves.
 */
static uint64_t qcow2_refcount_clusters(uint64_t clusters, uint64_t cs,
                                        uint64_t refcount_bits)
{
    uint64_t per_block = cs * 8 / refcount_bits;
    uint64_t per_table = cs / QCOW2_ENTRY_SIZE;
    uint64_t blocks = 0, table = 0, prev;

    do {
        prev = blocks + table;
        blocks = div_round_up(clusters + blocks + table, per_block);
        table = div_round_up(blocks, per_table);
    } while (blocks + table != prev);
    return blocks + table;
}

/* Extended L2 entries carry a subcluster bitmap next to the offset. */
static uint64_t qcow2_l2_entry_size(const Qcow2Params *p)
{
    return p->extended_l2 ? 2 * QCOW2_ENTRY_SIZE : QCOW2_ENTRY_SIZE;
}

/* Bytes of a fully allocated qcow2 file of @vsize (cluster-aligned). */
static uint64_t qcow2_full_size(uint64_t vsize, const Qcow2Params *p)
{
    uint64_t cs = p->cluster_size;
    uint64_t l2_tables = div_round_up(vsize / cs,
                                      cs / qcow2_l2_entry_size(p));
    uint64_t l1_clusters = div_round_up(l2_tables * QCOW2_ENTRY_SIZE, cs);
    uint64_t meta = 1 + l2_tables + l1_clusters;

    meta += qcow2_refcount_clusters(meta + vsize / cs, cs,
                                    p->refcount_bits);
    return meta * cs + vsize;
}

/*
 * Bytes of the clusters of size @cs holding data in the first @size
 * bytes of @bs, through its backing chain, going by precise block status
 * (a cluster counts once however many data ranges touch it).  Returns 0,
 * or a negative errno with @errp set.
 */
static int count_data_clusters(BlockDriverState *bs, int64_t size,
                               uint64_t cs, uint64_t *bytes, Error **errp)
{
    uint64_t counted_end = 0;   /* end of the last cluster counted */
    int64_t offset, pnum;

    *bytes = 0;
    for (offset = 0; offset < size; offset += pnum) {
        int ret = bdrv_block_status_above(bs, NULL, false,
                                          BDRV_WANT_PRECISE, offset,
                                          size - offset, &pnum, NULL, NULL,
                                          NULL);
        uint64_t start, end;

        if (ret < 0) {
            error_setg_errno(errp, -ret, "Unable to get block status");
            return ret;
        }
        if (pnum == 0) {
            break;
        }
        if ((ret & BDRV_BLOCK_ZERO) ||
            (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) !=
            (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) {
            continue;
        }
        start = MAX(offset / cs * cs, counted_end);
        end = round_up(offset + pnum, cs);
        *bytes += end - start;
        counted_end = end;
    }
    return 0;
}

/* Whether @bs could carry persistent bitmaps (a qcow2 v3 image). */
static bool source_has_bitmaps(BlockDriverState *bs)
{
    g_autoptr(JsonObject) spec = NULL;
    JsonObject *data;

    if (strcmp(bdrv_get_format_name(bs), "qcow2")) {
        return false;
    }
    spec = bdrv_get_specific_info(bs);
    data = spec ? qdict_get_dict(spec, "data") : NULL;
    return data && !g_strcmp0(qdict_get_str(data, "compat"), "1.1");
}

/* qcow2 output; @in (may be NULL) is the source, @size its length. */
static bool measure_qcow2(JsonObject *opts, BlockDriverState *in,
                          int64_t size, MeasureResult *r, Error **errp)
{
    Qcow2Params p;
    uint64_t vsize, data, l2_tables;

    if (!qcow2_params(opts, &p, errp)) {
        return false;
    }
    vsize = round_up(size, p.cluster_size);
    l2_tables = div_round_up(vsize / p.cluster_size,
                             p.cluster_size / qcow2_l2_entry_size(&p));
    if (l2_tables * QCOW2_ENTRY_SIZE > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "The image size is too large (try using a larger "
                   "cluster size)");
        return false;
    }
    data = 0;
    if (in && p.has_backing) {
        data = vsize;
    } else if (in && count_data_clusters(in, size, p.cluster_size, &data,
                                         errp) < 0) {
        return false;
    }
    if (p.full_prealloc) {
        data = vsize;
    }
    r->fully_allocated = qcow2_full_size(vsize, &p);
    r->required = r->fully_allocated - vsize + data;
    r->has_bitmaps = p.version >= 3 && in && source_has_bitmaps(in);
    r->bitmaps = 0;
    return true;
}

static void print_result(const MeasureResult *r, ImgOutputFormat output)
{
    if (output == IMG_OUTPUT_JSON) {
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
        JsonObject *o = qdict_new();

        /* qemu-img's (hash table) order. */
        if (r->has_bitmaps) {
            qdict_put_int(o, "bitmaps", r->bitmaps);
        }
        qdict_put_int(o, "required", r->required);
        qdict_put_int(o, "fully-allocated", r->fully_allocated);
        json_node_take_object(node, o);
        img_json_print(node);
        return;
    }
    printf("required size: %" PRIu64 "\n", r->required);
    printf("fully allocated size: %" PRIu64 "\n", r->fully_allocated);
    if (r->has_bitmaps) {
        printf("bitmaps size: %" PRIu64 "\n", r->bitmaps);
    }
}

typedef struct MeasureOpts {
    ImgOpenOpts open;
    ImgOutputFormat output;
    const char *out_fmt;
    const char *snapshot;
    int64_t size;               /* --size, or -1 */
} MeasureOpts;

/*
 * Check the output format as qemu-img does: unknown, cannot create, or
 * cannot measure.
 */
static bool check_out_fmt(const char *fmt)
{
    if (!strcmp(fmt, "raw") || !strcmp(fmt, "qcow2")) {
        return true;
    }
    if (!img_format_known(fmt)) {
        error_report("Unknown file format '%s'", fmt);
    } else if (!strcmp(fmt, "file")) {
        error_report("Block driver '%s' does not support size measurement",
                     fmt);
    } else {
        error_report("Format driver '%s' does not support image creation",
                     fmt);
    }
    return false;
}

/* Open the source (NULL after reporting why not); *size is its length. */
static BlockBackend *open_source(const char *filename, const MeasureOpts *mo,
                                 int64_t *size)
{
    BlockBackend *blk = img_open(filename, &mo->open, NULL);

    if (!blk) {
        return NULL;
    }
    if (mo->snapshot) {
        error_report("Failed to load snapshot: emblock does not support "
                     "internal snapshots");
        blk_unref(blk);
        return NULL;
    }
    *size = blk_getlength(blk);
    if (*size < 0) {
        error_report("Unable to get image virtual_size: %s",
                     strerror((int)-*size));
        blk_unref(blk);
        return NULL;
    }
    /* QEMU sizes nodes in whole 512-byte sectors. */
    *size = round_up(*size, BDRV_SECTOR_SIZE);
    return blk;
}

static int measure(const char *filename, const char *options,
                   MeasureOpts *mo)
{
    g_autoptr(JsonObject) opts = NULL;
    BlockBackend *blk = NULL;
    MeasureResult r = { 0 };
    int64_t size = mo->size;
    Error *err = NULL;
    bool ok;

    if (filename) {
        blk = open_source(filename, mo, &size);
        if (!blk) {
            return 1;
        }
    }
    if (!check_out_fmt(mo->out_fmt)) {
        goto fail;
    }
    opts = img_create_parse_options(mo->out_fmt, options, &err);
    if (!opts) {
        error_report("%s", error_get_pretty(err));
        error_free(err);
        error_report("Invalid options for file format '%s'", mo->out_fmt);
        goto fail;
    }
    if (!strcmp(mo->out_fmt, "raw")) {
        r.required = round_up(size, BDRV_SECTOR_SIZE);
        r.fully_allocated = r.required;
        ok = true;
    } else {
        ok = measure_qcow2(opts, blk ? blk_bs(blk) : NULL, size, &r, &err);
    }
    if (!ok) {
        error_report("%s", error_get_pretty(err));
        error_free(err);
        goto fail;
    }
    print_result(&r, mo->output);
    if (blk) {
        blk_unref(blk);
    }
    return 0;

fail:
    if (blk) {
        blk_unref(blk);
    }
    return 1;
}

int img_measure(int argc, char **argv)
{
    enum {
        OPT_OUTPUT = 256,
        OPT_SIZE,
        OPT_IMAGE_OPTS,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "size", required_argument, NULL, OPT_SIZE },
        { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    MeasureOpts mo = { .output = IMG_OUTPUT_HUMAN, .out_fmt = "raw",
                       .size = -1 };
    g_autoptr(GString) options = g_string_new(NULL);
    const char *filename = NULL;
    int c;

    while ((c = img_getopt(argc, argv, ":hf:O:o:l:U", lopt,
                           img_measure_usage)) != -1) {
        switch (c) {
        case 'f':
            mo.open.fmt = optarg;
            break;
        case 'O':
            mo.out_fmt = optarg;
            break;
        case 'o':
            img_append_opts(options, optarg);
            break;
        case 'l':
            mo.snapshot = optarg;
            break;
        case 'U':
            mo.open.force_share = true;
            break;
        case OPT_OUTPUT:
            if (!img_parse_output(optarg, &mo.output)) {
                return 1;
            }
            break;
        case OPT_SIZE:
            mo.size = img_cvtnum("image size", optarg);
            if (mo.size < 0) {
                return 1;
            }
            break;
        case OPT_IMAGE_OPTS:
            mo.open.image_opts = true;
            break;
        }
    }

    /* qemu-img's checks, in its order; none suggests --help. */
    if (argc - optind > 1) {
        error_report("At most one filename argument is allowed.");
        return 1;
    }
    filename = optind < argc ? argv[optind] : NULL;
    if (!filename && (mo.open.image_opts || mo.open.fmt || mo.snapshot)) {
        error_report("--image-opts, -f, and -l require a filename "
                     "argument.");
        return 1;
    }
    if (filename && mo.size != -1) {
        error_report("--size N cannot be used together with a filename.");
        return 1;
    }
    if (!filename && mo.size == -1) {
        error_report("Either --size N or one filename must be specified.");
        return 1;
    }
    return measure(filename, options->str, &mo);
}
