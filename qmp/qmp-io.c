/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * x-blockdev-io: run one emblock-io (qemu-io language) command line on a
 * node and return what it printed, the QMP cousin of QEMU's HMP
 * `qemu-io` command.
 *
 *   {"execute": "x-blockdev-io",
 *    "arguments": {"node-name": "src", "command": "write -P 0xaa 0 64k"}}
 *   <- {"return": "wrote 65536/65536 bytes at offset 0\n64 KiB, ..."}
 *
 * The command gets its own BlockBackend for the duration, taking
 * CONSISTENT_READ and, unless the node is read-only, WRITE (never RESIZE)
 * and sharing everything, so it coexists with jobs and other users.  When
 * a mirror job's implicit filter sits above the node, the backend goes on
 * the topmost such filter instead, so that writes pass through the mirror
 * the way a guest's would.  Asynchronous requests the command started are
 * waited for before the backend goes away.
 *
 * The output is what the command set writes to IoState.out and .err,
 * both one memory stream here (stdout and stderr in emblock-io).  "open" and "close" are not
 * available: the node is the image.
 */
#include "qmp/qmp.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "tools/emblock-io-cmds.h"

/* emblock-io's image handling has no meaning here (see the top comment). */
int io_open_f(IoState *s, int argc, char **argv)
{
    fprintf(s->out, "open is not available in x-blockdev-io\n");
    return -ENOTSUP;
}

int io_close_f(IoState *s, int argc, char **argv)
{
    fprintf(s->out, "close is not available in x-blockdev-io\n");
    return -ENOTSUP;
}

void io_open_help(void)
{
}

/* The topmost implicit mirror_top filter above @bs, or @bs itself. */
static BlockDriverState *io_target(BlockDriverState *bs)
{
    for (;;) {
        g_autoptr(GList) parents = bdrv_get_parent_nodes(bs);
        BlockDriverState *up = NULL;

        for (GList *l = parents; l; l = l->next) {
            BlockDriverState *p = l->data;
            const char *fmt = bdrv_get_format_name(p);

            if (bdrv_is_implicit(p) && fmt && !strcmp(fmt, "mirror_top")) {
                up = p;
                break;
            }
        }
        if (!up) {
            return bs;
        }
        bs = up;
    }
}

static JsonNode *qmp_x_blockdev_io(JsonObject *args, Error **errp)
{
    const char *name = qmp_arg_str(args, "node-name", NULL);
    const char *line = qmp_arg_str(args, "command", NULL);
    BlockDriverState *bs = bdrv_find_node(name);
    IoState s = { 0 };
    char *text = NULL;
    size_t len = 0;
    g_autofree char *valid = NULL;
    JsonNode *ret;

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   name, name);
        return NULL;
    }
    bs = io_target(bs);
    s.perm = BLK_PERM_CONSISTENT_READ |
             (bdrv_is_read_only(bs) ? 0 : BLK_PERM_WRITE);
    s.shared_perm = BLK_PERM_ALL;
    s.blk = blk_new_with_bs(bs, s.perm, s.shared_perm, errp);
    if (!s.blk) {
        return NULL;
    }
    blk_set_name(s.blk, "x-blockdev-io");
    s.out = open_memstream(&text, &len);
    if (!s.out) {
        error_setg_errno(errp, errno, "Cannot capture the output");
        blk_unref(s.blk);
        return NULL;
    }
    s.err = s.out;              /* one string, in the order printed */
    io_command(&s, line);
    io_drain(&s);
    blk_unref(s.blk);
    fclose(s.out);

    valid = g_utf8_make_valid(text, len);
    free(text);
    ret = json_node_alloc();
    json_node_init_string(ret, valid);
    return ret;
}

static const QmpArg x_blockdev_io_args[] = {
    { "node-name", QMP_ARG_STR },
    { "command", QMP_ARG_STR },
    QMP_ARG_END
};

const QmpCommand qmp_io_commands[] = {
    { "x-blockdev-io", qmp_x_blockdev_io, x_blockdev_io_args },
    { NULL }
};
