/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * "fuzz-mem": a growable in-memory protocol driver for the fuzz targets.
 * Formats on top of it may write past its end (it grows, up to
 * FUZZ_MEM_MAX bytes; beyond that writes fail with -ENOSPC), truncate it,
 * and read past its end (zeroes).  Its content is set and read directly
 * by the harness, never through a file, so a fuzz input costs no syscall.
 */
#ifndef TESTS_FUZZ_MEM_H
#define TESTS_FUZZ_MEM_H

#include "util/osdep.h"
#include "block/block-int.h"

#include <json-glib/json-glib.h>

#define FUZZ_MEM_MAX (8 * 1024 * 1024)

/*
 * Open a fuzz-mem node holding a copy of @data (@len <= FUZZ_MEM_MAX) with
 * one reference owned by the caller; @read_only as the node's read-only
 * flag.  Never fails.
 */
BlockDriverState *fuzz_mem_open(const void *data, size_t len, bool read_only);
/* The node's current bytes and length (valid until its next write). */
const uint8_t *fuzz_mem_data(BlockDriverState *bs, int64_t *len);

#endif /* TESTS_FUZZ_MEM_H */
