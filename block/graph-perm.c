/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Permissions of the node graph: what each edge may do to its child node,
 * how a driver derives its child edges' permissions from its own, and the
 * conflict checks (with their messages) run whenever an edge is added,
 * changed or moved.  The edges themselves are made and freed in graph.c.
 *
 * A node's cumulative permission is the OR of its parent edges' `perm`;
 * every parent's `perm` must be allowed by every other parent's
 * `shared_perm`.  Permissions flow down: a node's driver derives each child
 * edge's permissions from the node's cumulative ones, and
 * bdrv_refresh_perms() recomputes a subtree after a change.  All of this is
 * main-loop state.
 *
 * Exported to the rest of the block layer (contracts in block-int.h and
 * block-common.h): bdrv_perm_name(), bdrv_perm_names(),
 * bdrv_child_user_desc(), bdrv_get_cumulative_perm(),
 * bdrv_filter_child_perm(), bdrv_default_child_perm(),
 * bdrv_refresh_perms() and bdrv_child_try_set_perm().  Shared with graph.c
 * only (contracts in graph-int.h): bdrv_check_edge_perm() and
 * bdrv_child_compute_perm().
 */
#include "util/osdep.h"
#include "block/block-int.h"
#include "graph-int.h"

static const char *const perm_names[] = {
    "consistent read", "write", "write unchanged", "resize",
};

const char *bdrv_perm_name(uint64_t perm)
{
    for (int i = 0; i < (int)G_N_ELEMENTS(perm_names); i++) {
        if (perm & (1ULL << i)) {
            return perm_names[i];
        }
    }
    return "?";
}

char *bdrv_perm_names(uint64_t perm)
{
    GString *s = g_string_new(NULL);

    for (int i = 0; i < (int)G_N_ELEMENTS(perm_names); i++) {
        if (perm & (1ULL << i)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                   perm_names[i]);
        }
    }
    return g_string_free(s, FALSE);
}

char *bdrv_child_user_desc(BdrvChild *c)
{
    if (!c->klass->get_parent_desc) {
        return g_strdup_printf("an unnamed user of '%s'", c->name);
    }
    return c->klass->get_parent_desc(c);
}

void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared)
{
    uint64_t p = 0, s = BLK_PERM_ALL;

    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        p |= c->perm;
        s &= c->shared_perm;
    }
    *perm = p;
    *shared = s;
}

void bdrv_filter_child_perm(BlockDriverState *bs, BdrvChild *c,
                            BdrvChildRole role, uint64_t perm,
                            uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared)
{
    *nperm = perm & BLK_PERM_ALL;
    *nshared = shared & BLK_PERM_ALL;
}

void bdrv_default_child_perm(BlockDriverState *bs, BdrvChild *c,
                             BdrvChildRole role, uint64_t perm,
                             uint64_t shared, uint64_t *nperm,
                             uint64_t *nshared)
{
    if (role & BDRV_CHILD_FILTERED) {
        bdrv_filter_child_perm(bs, c, role, perm, shared, nperm, nshared);
    } else if (role & BDRV_CHILD_COW) {
        /* Backing files are only read, and may change only if we allow. */
        *nperm = BLK_PERM_CONSISTENT_READ;
        *nshared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
        if (shared & BLK_PERM_WRITE) {
            *nshared |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        }
    } else if (role & BDRV_CHILD_METADATA) {
        /* The driver writes metadata whenever the node is writable. */
        *nperm = BLK_PERM_CONSISTENT_READ;
        if (!bs->read_only) {
            *nperm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        }
        *nshared = (shared | BLK_PERM_WRITE_UNCHANGED) &
                   ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    } else {
        /* Pure data: what the parent does, we do. */
        *nperm = (perm & ~BLK_PERM_RESIZE) | BLK_PERM_CONSISTENT_READ;
        if (perm & BLK_PERM_WRITE) {
            *nperm |= BLK_PERM_WRITE;
        }
        *nshared = shared | BLK_PERM_WRITE_UNCHANGED;
    }
}

/*
 * Whether edge @c of node @bs may take @perm and share @shared next to the
 * other parents of @bs.  The message names both users.
 */
bool bdrv_check_edge_perm(BlockDriverState *bs, BdrvChild *c,
                          const char *new_user, uint64_t perm,
                          uint64_t shared, Error **errp)
{
    if ((perm & (BLK_PERM_WRITE | BLK_PERM_RESIZE)) && bs->read_only) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *p = l->data;
        g_autofree char *desc = NULL;

        if (p == c) {
            continue;
        }
        if (perm & ~p->shared_perm) {
            desc = bdrv_child_user_desc(p);
            error_setg(errp, "%s cannot use node '%s': conflicts with use "
                       "by %s as '%s', which does not allow '%s' on %s",
                       new_user, bs->node_name, desc, p->name,
                       bdrv_perm_name(perm & ~p->shared_perm),
                       bs->node_name);
            return false;
        }
        if (p->perm & ~shared) {
            desc = bdrv_child_user_desc(p);
            error_setg(errp, "%s cannot use node '%s': conflicts with use "
                       "by %s as '%s', which uses '%s' on %s",
                       new_user, bs->node_name, desc, p->name,
                       bdrv_perm_name(p->perm & ~shared), bs->node_name);
            return false;
        }
    }
    return true;
}

void bdrv_child_compute_perm(BlockDriverState *bs, BdrvChild *c,
                             uint64_t *nperm, uint64_t *nshared)
{
    uint64_t perm, shared;

    bdrv_get_cumulative_perm(bs, &perm, &shared);
    if (bs->drv && bs->drv->bdrv_child_perm) {
        bs->drv->bdrv_child_perm(bs, c, c->role, perm, shared, nperm,
                                 nshared);
    } else {
        bdrv_default_child_perm(bs, c, c->role, perm, shared, nperm,
                                nshared);
    }
    if (c->bs->force_share) {
        /* force-share=on (-U): the child lets anyone do anything. */
        *nshared = BLK_PERM_ALL;
    }
}

int bdrv_refresh_perms(BlockDriverState *bs, Error **errp)
{
    uint64_t perm, shared;

    bdrv_get_cumulative_perm(bs, &perm, &shared);
    if (bs->drv && bs->drv->bdrv_set_perm) {
        int ret = bs->drv->bdrv_set_perm(bs, perm, shared, errp);

        if (ret < 0) {
            return ret;
        }
    }
    for (GList *l = bs->children; l; l = l->next) {
        BdrvChild *c = l->data;
        uint64_t nperm, nshared;
        int ret;

        bdrv_child_compute_perm(bs, c, &nperm, &nshared);
        if (nperm == c->perm && nshared == c->shared_perm) {
            continue;
        }
        ret = bdrv_child_try_set_perm(c, nperm, nshared, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int bdrv_child_try_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                            Error **errp)
{
    uint64_t old_perm = c->perm, old_shared = c->shared_perm;
    g_autofree char *user = bdrv_child_user_desc(c);
    int ret;

    if (!bdrv_check_edge_perm(c->bs, c, user, perm, shared, errp)) {
        return -EPERM;
    }
    c->perm = perm;
    c->shared_perm = shared;
    ret = bdrv_refresh_perms(c->bs, errp);
    if (ret < 0) {
        /* Recomputing from the old edge restores the old subtree. */
        c->perm = old_perm;
        c->shared_perm = old_shared;
        bdrv_refresh_perms(c->bs, NULL);
    }
    return ret;
}
