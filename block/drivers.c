/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The driver table: every driver emblock knows, in one visible list.
 */
#include "util/osdep.h"
#include "block/block-int.h"

static const BlockDriver *const drivers[] = {
    &bdrv_file,
    &bdrv_raw,
    &bdrv_null_co,
    &bdrv_qcow2,
    &bdrv_blkdebug,
    NULL,
};

const BlockDriver *bdrv_find_format(const char *name)
{
    for (int i = 0; drivers[i]; i++) {
        if (!strcmp(drivers[i]->format_name, name)) {
            return drivers[i];
        }
    }
    return NULL;
}

const char *const *bdrv_driver_names(void)
{
    static const char *names[G_N_ELEMENTS(drivers)];

    for (int i = 0; drivers[i]; i++) {
        names[i] = drivers[i]->format_name;
    }
    return names;
}
