/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Private to the node graph: the permission helpers graph-perm.c shares
 * with graph.c (edge attachment and node replacement).  Main loop only.
 */
#ifndef BLOCK_GRAPH_INT_H
#define BLOCK_GRAPH_INT_H

#include "block/block-int.h"

/*
 * Whether edge @c of node @bs may take @perm and share @shared next to the
 * other parents of @bs (every parent but @c itself; @c need not be in
 * bs->parents yet).  Fails if @perm writes or resizes a read-only node, or
 * conflicts with another parent's use or sharing; the message in @errp
 * names @new_user and the other user.  Changes nothing.
 */
bool bdrv_check_edge_perm(BlockDriverState *bs, BdrvChild *c,
                          const char *new_user, uint64_t perm,
                          uint64_t shared, Error **errp);

/*
 * The permissions node @bs wants for its child edge @c (c->role, c->bs
 * must be set), from the cumulative permissions of @bs through its
 * driver's bdrv_child_perm (or bdrv_default_child_perm()).  A child with
 * force-share gets *nshared = BLK_PERM_ALL.  Changes nothing.
 */
void bdrv_child_compute_perm(BlockDriverState *bs, BdrvChild *c,
                             uint64_t *nperm, uint64_t *nshared);

#endif
