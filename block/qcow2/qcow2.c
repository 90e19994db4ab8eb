/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 driver (placeholder until the driver lands).
 */
#include "util/osdep.h"
#include "block/block-int.h"

static int qcow2_open(BlockDriverState *bs, BlockOptions *options, int flags,
                      Error **errp)
{
    error_setg(errp, "qcow2 is not implemented yet");
    return -ENOTSUP;
}

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .bdrv_open = qcow2_open,
};
