/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img map: where the image's data lives.
 *
 * The image is walked with precise block-status queries, one layer at a
 * time: a range the top layer neither holds data for nor knows to be zero
 * is asked of the next backing layer, and `depth` counts how far down the
 * answer came from (0 is the top; filters do not count).  `present` is
 * whether the answering layer allocates the range, so a range allocated
 * nowhere shows the bottom layer's depth with present false and zero true.
 * Consecutive answers merge when every field matches and host offsets
 * continue each other.
 *
 * JSON output has one entry per line, carrying "compressed" on every
 * entry as qemu-img does since 8.2, and "offset" only when the host
 * location is known.  Human output lists the data ranges alone, and stops
 * with an error at data that has no host offset (compressed clusters).
 */
#include "img-common.h"

const char img_map_usage[] =
"Usage: " IMG_NAME " map [-f FMT] [--start-offset=OFFSET] "
"[--max-length=LEN] [--output=human|json] [-U] FILENAME\n"
"\n"
"Show where the data of the image FILENAME is stored, following its\n"
"backing chain.\n"
"\n"
"  -f FMT               the image format (default: probe)\n"
"  --start-offset=OFF   start at guest offset OFF\n"
"  --max-length=LEN     map at most LEN bytes\n"
"  --output=FORMAT      human (default; data ranges only) or json\n"
"  -U, --force-share    open the image even if something else writes it\n"
"  -h, --help           print this help\n";

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int64_t offset;            /* valid with has_offset */
    int depth;
    bool present;
    bool zero;
    bool data;
    bool compressed;
    bool has_offset;
    const char *filename;      /* the node holding the data, with offset */
} MapEntry;

/* Describe [offset, offset + bytes) from the first layer that knows. */
static int map_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      MapEntry *e)
{
    BlockDriverState *file = NULL;
    int64_t pnum = 0, map = 0;
    int depth = 0;
    int ret;

    for (;;) {
        bs = bdrv_skip_filters(bs);
        ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, offset, bytes,
                                &pnum, &map, &file);
        if (ret < 0) {
            return ret;
        }
        if (pnum == 0) {
            /* Past the end of a shorter layer: reads as zero. */
            pnum = bytes;
            ret = BDRV_BLOCK_ZERO;
            break;
        }
        if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
            break;
        }
        if (!bdrv_backing_bs(bs)) {
            break;
        }
        bs = bdrv_backing_bs(bs);
        bytes = pnum;
        depth++;
    }

    *e = (MapEntry) {
        .start = offset,
        .length = pnum,
        .depth = depth,
        .present = ret & BDRV_BLOCK_ALLOCATED,
        .zero = ret & BDRV_BLOCK_ZERO,
        .data = ret & BDRV_BLOCK_DATA,
        .compressed = ret & BDRV_BLOCK_COMPRESSED,
        .has_offset = ret & BDRV_BLOCK_OFFSET_VALID,
        .offset = map,
    };
    if (e->has_offset && file) {
        e->filename = bdrv_get_filename(file);
    }
    return 0;
}

static bool map_mergeable(const MapEntry *a, const MapEntry *b)
{
    if (a->depth != b->depth || a->present != b->present ||
        a->zero != b->zero || a->data != b->data ||
        a->compressed != b->compressed || a->has_offset != b->has_offset) {
        return false;
    }
    if (a->has_offset && (a->offset + a->length != b->offset ||
                          g_strcmp0(a->filename, b->filename))) {
        return false;
    }
    return true;
}

/* Print @e; @more says whether another entry follows (JSON separator). */
static int map_dump(ImgOutputFormat output, const MapEntry *e, bool more)
{
    if (output == IMG_OUTPUT_HUMAN) {
        if (e->data && !e->has_offset) {
            error_report("File contains external, encrypted or compressed "
                         "clusters.");
            return -EINVAL;
        }
        if (e->data && !e->zero) {
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
                   e->start, e->length, e->offset, e->filename);
        }
        return 0;
    }
    printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", "
           "\"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s, "
           "\"compressed\": %s", e->start, e->length, e->depth,
           e->present ? "true" : "false", e->zero ? "true" : "false",
           e->data ? "true" : "false", e->compressed ? "true" : "false");
    if (e->has_offset) {
        printf(", \"offset\": %" PRId64, e->offset);
    }
    printf("}%s", more ? ",\n" : "");
    return 0;
}

static int map_image(BlockBackend *blk, int64_t start, int64_t max_length,
                     ImgOutputFormat output)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t end = blk_getlength(blk);
    MapEntry curr = { .start = start }, next;
    int ret = 0;

    if (end < 0) {
        error_report("Failed to get the image size: %s", strerror(-end));
        return 1;
    }
    if (max_length >= 0 && max_length < end - start) {
        end = start + max_length;
    }
    if (output == IMG_OUTPUT_HUMAN) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    } else {
        printf("[");
    }

    while (curr.start + curr.length < end) {
        int64_t offset = curr.start + curr.length;

        ret = map_status(bs, offset, end - offset, &next);
        if (ret < 0) {
            error_report("Could not read file metadata: %s", strerror(-ret));
            goto out;
        }
        if (map_mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length > 0 && map_dump(output, &curr, true) < 0) {
            ret = -EINVAL;
            goto out;
        }
        curr = next;
    }
    ret = map_dump(output, &curr, false);

out:
    if (output == IMG_OUTPUT_JSON) {
        printf("]\n");
    }
    return ret < 0 ? 1 : 0;
}

int img_map(int argc, char **argv)
{
    enum {
        OPT_OUTPUT = 256,
        OPT_START_OFFSET,
        OPT_MAX_LENGTH,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "start-offset", required_argument, NULL, OPT_START_OFFSET },
        { "max-length", required_argument, NULL, OPT_MAX_LENGTH },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    ImgOpenOpts o = { 0 };
    ImgOutputFormat output = IMG_OUTPUT_HUMAN;
    int64_t start = 0, max_length = -1;
    BlockBackend *blk;
    int c, ret;

    while ((c = img_getopt(argc, argv, ":f:hU", lopt, img_map_usage)) != -1) {
        switch (c) {
        case 'f':
            o.fmt = optarg;
            break;
        case 'U':
            o.force_share = true;
            break;
        case OPT_OUTPUT:
            if (!img_parse_output(optarg, &output)) {
                return 1;
            }
            break;
        case OPT_START_OFFSET:
            start = img_cvtnum("start offset", optarg);
            if (start < 0) {
                return 1;
            }
            break;
        case OPT_MAX_LENGTH:
            max_length = img_cvtnum("max length", optarg);
            if (max_length < 0) {
                return 1;
            }
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }

    blk = img_open(argv[optind], &o, NULL);
    if (!blk) {
        return 1;
    }
    ret = map_image(blk, start, max_length, output);
    blk_unref(blk);
    return ret;
}
