/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Format probing: guessing an image's format from its first bytes when the
 * user named none, as QEMU does (and with its caveat: a raw image whose
 * guest wrote a qcow2 header into sector 0 would be taken for qcow2, which
 * is why tools warn about probed raw images and raw refuses such writes
 * when told it was probed, see raw-format.c's `x-probed`).
 *
 * Main-loop functions; not for coroutines.
 */
#ifndef EMBLOCK_BLOCK_PROBE_H
#define EMBLOCK_BLOCK_PROBE_H

#include "block/block-common.h"

/*
 * What qemu-img and qemu-io print (to stderr, word for word; %s is the
 * image's name) when they open an image whose format was probed as raw
 * for writing.
 */
#define BDRV_PROBED_RAW_WARNING \
    "WARNING: Image format was not specified for '%s' and probing " \
    "guessed raw.\n" \
    "         Automatically detecting the format is dangerous for raw " \
    "images, write operations on block 0 will be restricted.\n" \
    "         Specify the 'raw' format explicitly to remove the " \
    "restrictions.\n"

/* How many bytes from offset 0 a probe looks at (QEMU's buffer size). */
#define BDRV_PROBE_BUF_SIZE 2048

/*
 * The format whose header @buf (@len bytes from offset 0 of the image,
 * zero-padded if the image is shorter) holds: each format scores it, the
 * highest score wins, and raw, which claims everything with the lowest
 * score, is the answer when no other format recognises the header.
 * @filename may be NULL; no format looks at it today.  Never fails.
 */
const char *bdrv_probe_buf(const uint8_t *buf, size_t len,
                           const char *filename);

/*
 * Open @filename with the `file` driver (no locking; read-write if
 * @writable, as the image itself is about to be opened, so that failures
 * read the same), read its first BDRV_PROBE_BUF_SIZE bytes and return
 * bdrv_probe_buf()'s answer; an empty file is raw.  Returns a static
 * format name, or NULL with @errp set: the file driver's open error
 * ("Could not open 'x': No such file or directory") or "Could not read
 * image for determining its format: ...".  Nothing is written.
 */
const char *bdrv_probe_format(const char *filename, bool writable,
                              Error **errp);

#endif /* EMBLOCK_BLOCK_PROBE_H */
