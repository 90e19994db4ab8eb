/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target: the input is a qcow2 image file.  It is served from a
 * fuzz-mem node and opened read-only as qcow2 without its backing file
 * (a hostile header may name any host path), then run through what
 * `qemu-img info`, `map` and `check` do, plus reads:
 *
 *   - info: length, driver info, backing names, format-specific info;
 *   - map: block status from 0 to the end (at most MAP_MAX_EXTENTS
 *     answers, since a hostile header may claim exabytes); each answer
 *     must be in range, and for the first READ_EXTENTS extents the bytes
 *     read must agree with it: ZERO or unallocated (no backing) read as
 *     zeroes, DATA at a host offset reads as the file's bytes there;
 *   - reads at the start, the middle and the end;
 *   - check without repair, then, on a writable copy, check with repair
 *     of everything and a second check.
 *
 * Failing requests are fine (a corrupt image may give -EIO); lying,
 * crashing, hanging and leaking are not.  With FUZZ_DEBUG set in the
 * environment, why an image did not open is printed.
 */
#include "util/osdep.h"
#include "block/block-backend.h"

#include <json-glib/json-glib.h>
#include "fuzz.h"
#include "fuzz-mem.h"

#define MAP_MAX_EXTENTS 1024
#define READ_EXTENTS 32
#define READ_MAX (64 * 1024)

/* Open qcow2 over a fuzz-mem node holding @data; NULL if it won't open. */
static BlockBackend *open_image(const uint8_t *data, size_t size,
                                bool writable, BlockDriverState **file)
{
    g_autoptr(JsonObject) opts = qdict_new();
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    Error *err = NULL;
    BlockDriverState *bs;
    BlockBackend *blk;

    *file = fuzz_mem_open(data, size, !writable);
    qdict_put_str(opts, "driver", "qcow2");
    qdict_put_str(opts, "file", bdrv_get_node_name(*file));
    json_object_set_null_member(opts, "backing");
    qdict_put_bool(opts, "read-only", !writable);
    bs = bdrv_open_options(opts, &err);
    if (!bs) {
        if (getenv("FUZZ_DEBUG")) {
            fprintf(stderr, "open: %s\n", error_get_pretty(err));
        }
        error_free(err);
        bdrv_unref(*file);
        return NULL;
    }
    if (writable) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    blk = blk_new_with_bs(bs, perm, BLK_PERM_ALL, &error_abort);
    bdrv_unref(bs);
    return blk;
}

static void info(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);
    g_autoptr(JsonObject) specific = bdrv_get_specific_info(bs);
    BlockDriverInfo bdi;

    fuzz_assert(bdrv_getlength(bs) >= 0);
    if (bdrv_get_info(bs, &bdi) == 0) {
        fuzz_assert(bdi.cluster_size >= 0);
    }
    (void)bdrv_get_backing_filename(bs);
    (void)bdrv_get_backing_format(bs);
    (void)bdrv_get_allocated_file_size(bs);
    if (specific) {
        g_free(qdict_to_json(specific));
    }
}

static bool all_zero(const uint8_t *buf, int64_t len)
{
    return len == 0 || (buf[0] == 0 && !memcmp(buf, buf + 1, len - 1));
}

/* The bytes @buf read at @off must agree with status @ret mapping @map. */
static void check_extent(BlockDriverState *file, const uint8_t *buf,
                         int64_t off, int64_t len, int ret, int64_t map,
                         BlockDriverState *map_file)
{
    if ((ret & BDRV_BLOCK_ZERO) || !(ret & BDRV_BLOCK_ALLOCATED)) {
        if (!all_zero(buf, len)) {
            fuzz_fail("status %#x at %" PRId64 "+%" PRId64 " promises "
                      "zeroes, the read disagrees", ret, off, len);
        }
        return;
    }
    if ((ret & BDRV_BLOCK_DATA) && (ret & BDRV_BLOCK_OFFSET_VALID) &&
        !(ret & BDRV_BLOCK_COMPRESSED) && map_file == file) {
        int64_t flen;
        const uint8_t *fdata = fuzz_mem_data(file, &flen);

        if (map + len <= flen && !memcmp(fdata + map, buf, len)) {
            return;
        }
        for (int64_t i = 0; i < len; i++) {
            uint8_t host = map + i < flen ? fdata[map + i] : 0;

            if (buf[i] != host) {
                fuzz_fail("status %#x maps %" PRId64 " to host %" PRId64
                          ", byte %" PRId64 " reads 0x%02x, host has "
                          "0x%02x", ret, off, map, i, buf[i], host);
            }
        }
    }
}

static void map_and_read(BlockBackend *blk, BlockDriverState *file)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t end = bdrv_getlength(bs);
    g_autofree uint8_t *buf = g_malloc(READ_MAX);
    int64_t off = 0;

    for (int n = 0; off < end && n < MAP_MAX_EXTENTS; n++) {
        BlockDriverState *map_file = NULL;
        int64_t pnum = 0, map = 0, len;
        int ret;

        ret = bdrv_block_status(bs, BDRV_WANT_PRECISE, off, end - off,
                                &pnum, &map, &map_file);
        if (ret < 0) {
            return;
        }
        fuzz_assert(pnum > 0 && pnum <= end - off);
        len = MIN(pnum, READ_MAX);
        /* A corrupt image may fail the read; then there is nothing to check. */
        if (n < READ_EXTENTS && blk_pread(blk, off, len, buf, 0) == 0) {
            check_extent(file, buf, off, len, ret, map, map_file);
        }
        off += pnum;
    }
}

static void read_some(BlockBackend *blk)
{
    int64_t end = blk_getlength(blk);
    int64_t starts[] = { 0, end / 2, end - READ_MAX };
    g_autofree uint8_t *buf = g_malloc(READ_MAX);

    for (size_t i = 0; i < G_N_ELEMENTS(starts); i++) {
        int64_t off = MAX(starts[i], 0);

        blk_pread(blk, off, MIN(READ_MAX, end - off), buf, 0);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    BlockDriverState *file;
    BlockBackend *blk;
    BdrvCheckResult r;

    if (size > FUZZ_MEM_MAX) {
        return -1;
    }
    blk = open_image(data, size, false, &file);
    if (!blk) {
        return 0;
    }
    info(blk);
    map_and_read(blk, file);
    read_some(blk);
    memset(&r, 0, sizeof(r));
    bdrv_check(blk_bs(blk), &r, 0);
    blk_unref(blk);
    bdrv_unref(file);

    blk = open_image(data, size, true, &file);
    if (blk) {
        memset(&r, 0, sizeof(r));
        if (bdrv_check(blk_bs(blk), &r, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS)
            == 0) {
            memset(&r, 0, sizeof(r));
            bdrv_check(blk_bs(blk), &r, 0);
        }
        map_and_read(blk, file);
        blk_unref(blk);
        bdrv_unref(file);
    }
    {
        g_autoptr(GList) left = bdrv_list_nodes();

        fuzz_assert(left == NULL);
    }
    return 0;
}
