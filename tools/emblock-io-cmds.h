/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-io internals shared by the program (emblock-io.c: options,
 * opening images, the command loop, `open` and `close`) and the command
 * set (emblock-io-cmds.c).  Private to the tool.
 *
 * The command language and its output are qemu-io's (QEMU 7.2), line for
 * line, so that iotests written against qemu-io run unchanged: results and
 * most command errors go to stdout, argument-count and unknown-command
 * errors to stderr without a prefix, and errors from the block layer to
 * stderr as "emblock-io: message".  A command returns 0 or a negative errno;
 * the program exits with 1 when any command failed.
 *
 * Everything runs in the main thread's AioContext.  Asynchronous requests
 * (aio_read, aio_write) run in coroutines and report when they complete;
 * aio_flush, close and the end of the program wait for them.
 */
#ifndef EMBLOCK_IO_CMDS_H
#define EMBLOCK_IO_CMDS_H

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"
#include "block/block-backend.h"

/* The program's name in messages ("emblock-io: ..."). */
#define EMBLOCK_IO_NAME "emblock-io"

typedef struct IoState {
    BlockBackend *blk;       /* the open image, NULL when none is */
    /*
     * Permissions @blk holds and shares.  The block backend has no getter,
     * so the tool keeps its own copy; commands that write or resize take
     * more (as qemu-io does) and never give it back.
     */
    uint64_t perm;
    uint64_t shared_perm;
    bool writethrough;       /* cache mode wants every write to be FUA */
    bool misalign;           /* -m: buffers 16 bytes off alignment */
    bool image_opts;         /* --image-opts: `open -o` is refused */
    bool quit;               /* set by `quit`: read no more commands */
    unsigned aio_in_flight;  /* aio_read/aio_write not yet reported */
    /*
     * Where the commands print what qemu-io prints to stdout and to
     * stderr; NULL means stdout and stderr (emblock-io), a memory stream
     * captures them (the storage daemon's x-blockdev-io).
     */
    FILE *out;
    FILE *err;
} IoState;

/* Command flags. */
#define IO_CMD_GLOBAL     0x1  /* no image needed, not even checked */
#define IO_CMD_NOFILE_OK  0x2  /* runs without an image */

typedef struct IoCmd {
    const char *name;
    const char *altname;       /* short alias, or NULL */
    int (*cfunc)(IoState *s, int argc, char **argv);
    int argmin;                /* -1: any number */
    int argmax;                /* -1: no upper bound */
    unsigned flags;
    uint64_t perm;             /* permissions taken before running */
    const char *args;          /* synopsis of the arguments, or NULL */
    const char *oneline;
    void (*help)(void);        /* extended help, or NULL */
} IoCmd;

/*
 * Run one command line (words separated by spaces).  An empty line does
 * nothing.  Returns 0, or a negative errno when the command failed (its
 * message has been printed).
 */
int io_command(IoState *s, const char *line);

/* Print "NAME ARGS -- ONELINE" for the command called @name. */
void io_command_usage(const char *name);

/* Wait until every asynchronous request has completed and reported. */
void io_drain(IoState *s);

/* `open` and `close`, implemented in emblock-io.c with the opening code. */
int io_open_f(IoState *s, int argc, char **argv);
int io_close_f(IoState *s, int argc, char **argv);
void io_open_help(void);

#endif /* EMBLOCK_IO_CMDS_H */
