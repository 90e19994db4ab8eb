/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img compare: do two images hold the same guest data?
 *
 * Both images are walked together with block-status queries over their
 * whole chains.  Ranges both know to be zero are skipped, ranges both
 * allocate are read and compared, and where only one allocates, that one
 * must read as zero.  When the sizes differ, the longer image's tail must
 * read as zero too (with a warning).  Strict mode (-s) also fails on a
 * size difference or any difference in block status.
 *
 * Differences are reported at 512-byte granularity, as qemu-img does.
 * Exit status: 0 identical, 1 different, 2 an image could not be opened,
 * 3 block status failed, 4 a read failed.
 */
#include "img-common.h"
#include "util/buffer-zero.h"

const char img_compare_usage[] =
"Usage: " IMG_NAME " compare [-f FMT] [-F FMT] [-T SRC_CACHE] [-p] [-q] "
"[-s] [-U] FILENAME1 FILENAME2\n"
"\n"
"Check whether two images have the same content.\n"
"\n"
"  -f FMT               format of the first image (default: probe)\n"
"  -F FMT               format of the second image (default: probe)\n"
"  -T SRC_CACHE         cache mode for both images (default: writeback)\n"
"  -p                   show progress\n"
"  -q                   quiet: print nothing but errors\n"
"  -s                   strict: fail on a size or allocation difference\n"
"  -U, --force-share    open the images even if something else writes "
"them\n"
"  -h, --help           print this help\n"
"\n"
"Exit status: 0 identical, 1 different, 2 open error, 3 block status\n"
"error, 4 read error.\n";

#define SECTOR 512

enum {
    CMP_SAME = 0,
    CMP_DIFFERENT = 1,
    CMP_OPEN_ERROR = 2,
    CMP_STATUS_ERROR = 3,
    CMP_READ_ERROR = 4,
};

typedef struct CmpImage {
    const char *filename;
    BlockBackend *blk;
    int64_t size;
    uint8_t *buf;
} CmpImage;

/* Offset of the first 512-byte block that differs, or -1. */
static int64_t first_difference(const uint8_t *a, const uint8_t *b,
                                int64_t bytes)
{
    for (int64_t i = 0; i < bytes; i += SECTOR) {
        if (memcmp(a + i, b + i, MIN(SECTOR, bytes - i))) {
            return i;
        }
    }
    return -1;
}

/* Offset of the first 512-byte block that is not zero, or -1. */
static int64_t first_nonzero(const uint8_t *a, int64_t bytes)
{
    for (int64_t i = 0; i < bytes; i += SECTOR) {
        if (!buffer_is_zero(a + i, MIN(SECTOR, bytes - i))) {
            return i;
        }
    }
    return -1;
}

static int cmp_read(CmpImage *img, int64_t offset, int64_t bytes)
{
    int ret = blk_pread(img->blk, offset, bytes, img->buf, 0);

    if (ret < 0) {
        error_report("Error while reading offset %" PRId64 " of %s: %s",
                     offset, img->filename, strerror(-ret));
        return CMP_READ_ERROR;
    }
    return CMP_SAME;
}

/* [offset, offset + bytes) of @img must read as zero. */
static int cmp_check_zero(CmpImage *img, int64_t offset, int64_t bytes,
                          bool quiet)
{
    int64_t idx;
    int ret = cmp_read(img, offset, bytes);

    if (ret) {
        return ret;
    }
    idx = first_nonzero(img->buf, bytes);
    if (idx >= 0) {
        img_qprintf(quiet, "Content mismatch at offset %" PRId64 "!\n",
                    offset + idx);
        return CMP_DIFFERENT;
    }
    return CMP_SAME;
}

static int cmp_status(CmpImage *img, int64_t offset, int64_t *pnum)
{
    int ret = bdrv_block_status_above(blk_bs(img->blk), NULL, false,
                                      BDRV_WANT_PRECISE, offset,
                                      img->size - offset, pnum, NULL, NULL,
                                      NULL);

    if (ret < 0) {
        error_report("Sector allocation test failed for %s", img->filename);
    }
    return ret;
}

/* Compare the common length of both images. */
static int cmp_common(CmpImage *a, CmpImage *b, int64_t total, bool strict,
                      bool quiet)
{
    for (int64_t offset = 0; offset < total;) {
        int64_t pnum_a, pnum_b, chunk, idx;
        int st_a = cmp_status(a, offset, &pnum_a);
        int st_b = st_a < 0 ? st_a : cmp_status(b, offset, &pnum_b);
        bool alloc_a, alloc_b;
        int ret;

        if (st_a < 0 || st_b < 0) {
            return CMP_STATUS_ERROR;
        }
        alloc_a = st_a & BDRV_BLOCK_ALLOCATED;
        alloc_b = st_b & BDRV_BLOCK_ALLOCATED;
        chunk = MIN(MIN(pnum_a, pnum_b), total - offset);
        if (strict && st_a != st_b) {
            img_qprintf(quiet, "Strict mode: Offset %" PRId64 " block "
                        "status mismatch!\n", offset);
            return CMP_DIFFERENT;
        }
        if ((st_a & BDRV_BLOCK_ZERO) && (st_b & BDRV_BLOCK_ZERO)) {
            /* Both read as zero. */
        } else if (alloc_a && alloc_b) {
            chunk = MIN(chunk, IMG_IO_BUF_SIZE);
            ret = cmp_read(a, offset, chunk);
            ret = ret ? ret : cmp_read(b, offset, chunk);
            if (ret) {
                return ret;
            }
            idx = first_difference(a->buf, b->buf, chunk);
            if (idx >= 0) {
                img_qprintf(quiet, "Content mismatch at offset %" PRId64
                            "!\n", offset + idx);
                return CMP_DIFFERENT;
            }
        } else if (alloc_a != alloc_b) {
            chunk = MIN(chunk, IMG_IO_BUF_SIZE);
            ret = cmp_check_zero(alloc_a ? a : b, offset, chunk, quiet);
            if (ret) {
                return ret;
            }
        }
        offset += chunk;
        img_progress_add((float)chunk / total * 100);
    }
    return CMP_SAME;
}

/* The part of the longer image past the shorter one must be zero. */
static int cmp_tail(CmpImage *over, int64_t start, bool quiet)
{
    for (int64_t offset = start; offset < over->size;) {
        int64_t chunk;
        int st = cmp_status(over, offset, &chunk);
        int ret;

        if (st < 0) {
            return CMP_STATUS_ERROR;
        }
        if ((st & BDRV_BLOCK_ALLOCATED) && !(st & BDRV_BLOCK_ZERO)) {
            chunk = MIN(chunk, IMG_IO_BUF_SIZE);
            ret = cmp_check_zero(over, offset, chunk, quiet);
            if (ret) {
                return ret;
            }
        }
        offset += chunk;
    }
    return CMP_SAME;
}

static int cmp_images(CmpImage *a, CmpImage *b, bool strict, bool quiet)
{
    int64_t total;
    int ret;

    if (strict && a->size != b->size) {
        img_qprintf(quiet, "Strict mode: Image size mismatch!\n");
        return CMP_DIFFERENT;
    }
    total = MIN(a->size, b->size);
    ret = cmp_common(a, b, total, strict, quiet);
    if (ret) {
        return ret;
    }
    if (a->size != b->size) {
        img_qprintf(quiet, "Warning: Image size mismatch!\n");
        ret = cmp_tail(a->size > b->size ? a : b, total, quiet);
        if (ret) {
            return ret;
        }
    }
    img_qprintf(quiet, "Images are identical.\n");
    return CMP_SAME;
}

int img_compare(int argc, char **argv)
{
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    ImgOpenOpts o1 = { 0 }, o2 = { 0 };
    CmpImage img[2] = { { 0 } };
    bool strict = false, quiet = false, progress = false;
    const char *cache = NULL;
    int c, ret = CMP_OPEN_ERROR;

    while ((c = img_getopt(argc, argv, ":hf:F:T:pqsU", lopt,
                           img_compare_usage)) != -1) {
        switch (c) {
        case 'f':
            o1.fmt = optarg;
            break;
        case 'F':
            o2.fmt = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            strict = true;
            break;
        case 'U':
            o1.force_share = o2.force_share = true;
            break;
        }
    }
    if (quiet) {
        progress = false;
    }
    if (optind != argc - 2) {
        img_error_exit("Expecting two image file names");
    }
    o1.cache = o2.cache = cache;
    img[0].filename = argv[optind];
    img[1].filename = argv[optind + 1];
    img[0].blk = img_open(img[0].filename, &o1, NULL);
    img[1].blk = img[0].blk ? img_open(img[1].filename, &o2, NULL) : NULL;
    if (!img[1].blk) {
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        img[i].size = blk_getlength(img[i].blk);
        if (img[i].size < 0) {
            error_report("Can't get size of %s: %s", img[i].filename,
                         strerror(-img[i].size));
            goto out;
        }
        img[i].buf = g_malloc(IMG_IO_BUF_SIZE);
    }

    img_progress_init(progress, 2.0);
    ret = cmp_images(&img[0], &img[1], strict, quiet);
    img_progress_end();

out:
    for (int i = 0; i < 2; i++) {
        g_free(img[i].buf);
        blk_unref(img[i].blk);
    }
    return ret;
}
