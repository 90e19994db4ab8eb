/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-io's command set, continued: the asynchronous requests
 * (aio_read, aio_write, aio_flush), discard, flush, truncate, length,
 * alloc, map, sleep, quit and help, then the command table and
 * io_command(), which parses a line and runs its command.  The helpers and
 * the read/write family are in emblock-io-cmds.c (see the comment there
 * and emblock-io-cmds-int.h).
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/iov.h"
#include "emblock-io-cmds-int.h"

#include <getopt.h>

/* ---- aio_read, aio_write, aio_flush ----------------------------------- */

/* One asynchronous request, from its command until it has reported. */
typedef struct IoAioReq {
    IoState *s;
    IoRwOpts o;
    bool is_write;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector qiov;       /* with @buf; unused by aio_write -z */
    uint8_t *buf;
    int64_t start_ns;
    bool returned;           /* the issuing command has returned */
    bool done;               /* the request has completed */
    int ret;
} IoAioReq;

/* Print the outcome of @opaque, an IoAioReq, and free it. */
static void io_aio_report(void *opaque)
{
    IoAioReq *req = opaque;
    IoState *s = req->s;
    int64_t ns = get_clock_ns() - req->start_ns;

    io_select_output(s);

    if (req->ret < 0) {
        fprintf(io_out, "%s failed: %s\n",
                req->is_write ? "aio_write" : "readv", strerror(-req->ret));
    } else if (req->is_write) {
        if (!req->o.qflag) {
            print_report("wrote", ns, req->offset, req->bytes, req->bytes, 1,
                         req->o.Cflag);
        }
    } else {
        req->o.pattern_count = req->bytes;
        report_read(&req->o, req->buf, req->offset, req->bytes, ns);
    }
    io_free(s, req->buf);
    qemu_iovec_destroy(&req->qiov);
    g_free(req);
    s->aio_in_flight--;
}

static void coroutine_fn io_aio_entry(void *opaque)
{
    IoAioReq *req = opaque;
    BlockBackend *blk = req->s->blk;

    if (req->o.zflag) {
        req->ret = blk_co_pwrite_zeroes(blk, req->offset, req->bytes,
                                        req->o.flags);
    } else if (req->is_write) {
        req->ret = blk_co_pwritev(blk, req->offset, req->bytes, &req->qiov,
                                  req->o.flags);
    } else {
        req->ret = blk_co_preadv(blk, req->offset, req->bytes, &req->qiov,
                                 req->o.flags);
    }
    req->done = true;
    if (req->returned) {
        io_aio_report(req);
    }
}

/* Start @req in its own coroutine; it reports and frees itself. */
static void io_aio_submit(IoAioReq *req)
{
    req->s->aio_in_flight++;
    req->start_ns = get_clock_ns();
    qemu_aio_coroutine_enter(qemu_get_aio_context(),
                             qemu_coroutine_create(io_aio_entry, req));
    req->returned = true;
    if (req->done) {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), io_aio_report, req);
    }
}

void io_drain(IoState *s)
{
    AIO_WAIT_WHILE(qemu_get_aio_context(), s->aio_in_flight > 0);
}

static void aio_read_help(void)
{
    fprintf(io_out,
 "\n"
 " Starts reading into several buffers, one per LEN, from offset OFF of\n"
 " the image, and returns at once; the result is printed when the read\n"
 " completes.  aio_flush waits for all outstanding requests.  The command\n"
 " itself succeeds once the request is started, whatever its outcome.\n"
 "\n"
 " Example: 'aio_read -v 512 1k 1k' reads 2 KiB at offset 512 and dumps it.\n"
 "\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -i, -- only print that an invalid request is injected (no request)\n"
 " -P, -- check that the data read is all this byte\n"
 " -q, -- quiet: print no statistics\n"
 " -v, -- dump the data read in hex and ASCII\n"
 "\n");
}

static int aio_read_f(IoState *s, int argc, char **argv)
{
    g_autofree IoAioReq *req = g_new0(IoAioReq, 1);
    int ret;

    ret = parse_rw_opts(argc, argv, "aio_read", "CiP:qv", false, &req->o);
    if (ret) {
        return MIN(ret, 0);
    }
    if (optind > argc - 2) {
        io_command_usage("aio_read");
        return -EINVAL;
    }
    req->offset = parse_num(argv[optind]);
    if (req->offset < 0) {
        return req->offset;
    }
    optind++;
    req->buf = io_create_iovec(s, &req->qiov, &argv[optind], argc - optind,
                               0xab);
    if (!req->buf) {
        return -EINVAL;
    }
    req->s = s;
    req->bytes = req->qiov.size;
    io_aio_submit(g_steal_pointer(&req));
    return 0;
}

static void aio_write_help(void)
{
    fprintf(io_out,
 "\n"
 " Starts writing from several buffers, one per LEN, at offset OFF of the\n"
 " image, and returns at once; the result is printed when the write\n"
 " completes.  aio_flush waits for all outstanding requests.  The command\n"
 " itself succeeds once the request is started, whatever its outcome.\n"
 " The data is all 0xcd unless -P says otherwise.\n"
 "\n"
 " Example: 'aio_write 512 1k 1k' writes 2 KiB at offset 512.\n"
 "\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -f, -- force unit access: the data is stable when the write completes\n"
 " -i, -- only print that an invalid request is injected (no request)\n"
 " -P, -- write this byte instead of 0xcd\n"
 " -q, -- quiet: print no statistics\n"
 " -u, -- with -z, allow the range to be unmapped\n"
 " -z, -- write zeroes without a data buffer (one LEN only)\n"
 "\n");
}

/* aio_write's option checks; false after a message. */
static bool aio_write_opts_ok(const IoRwOpts *o, int nr_len)
{
    if (o->zflag && nr_len != 1) {
        fprintf(io_out, "-z supports only a single length parameter\n");
    } else if ((o->flags & BDRV_REQ_MAY_UNMAP) && !o->zflag) {
        fprintf(io_out, "-u requires -z to be specified\n");
    } else if (o->zflag && o->Pflag) {
        fprintf(io_out, "-z and -P cannot be specified at the same time\n");
    } else {
        return true;
    }
    return false;
}

static int aio_write_f(IoState *s, int argc, char **argv)
{
    g_autofree IoAioReq *req = g_new0(IoAioReq, 1);
    int ret;

    req->o.pattern = 0xcd;
    ret = parse_rw_opts(argc, argv, "aio_write", "CfiP:quz", true, &req->o);
    if (ret) {
        return MIN(ret, 0);
    }
    if (optind > argc - 2) {
        io_command_usage("aio_write");
        return -EINVAL;
    }
    if (!aio_write_opts_ok(&req->o, argc - optind - 1)) {
        return -EINVAL;
    }
    req->offset = parse_num(argv[optind]);
    if (req->offset < 0) {
        return req->offset;
    }
    optind++;
    if (req->o.zflag) {
        req->bytes = parse_num(argv[optind]);
        if (req->bytes < 0) {
            return req->bytes;
        }
    } else {
        req->buf = io_create_iovec(s, &req->qiov, &argv[optind],
                                   argc - optind, req->o.pattern);
        if (!req->buf) {
            return -EINVAL;
        }
        req->bytes = req->qiov.size;
    }
    req->s = s;
    req->is_write = true;
    req->o.flags = write_flags(s, req->o.flags);
    io_aio_submit(g_steal_pointer(&req));
    return 0;
}

static int aio_flush_f(IoState *s, int argc, char **argv)
{
    io_drain(s);
    return 0;
}

/* ---- discard, flush, truncate, length --------------------------------- */

static void discard_help(void)
{
    fprintf(io_out,
 "\n"
 " Discards LEN bytes at offset OFF of the image.\n"
 "\n"
 " Example: 'discard 512 1k' discards 1 KiB at offset 512.\n"
 "\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -q, -- quiet: print no statistics\n"
 "\n");
}

static int discard_f(IoState *s, int argc, char **argv)
{
    IoRwOpts o = { 0 };
    int64_t offset, bytes, ns;
    int ret;

    ret = parse_rw_opts(argc, argv, "discard", "Cq", true, &o);
    if (ret < 0) {
        return ret;
    }
    if (optind != argc - 2) {
        io_command_usage("discard");
        return -EINVAL;
    }
    ret = parse_range(&argv[optind], "", &offset, &bytes);
    if (ret < 0) {
        return ret;
    }

    ns = get_clock_ns();
    ret = blk_pdiscard(s->blk, offset, bytes);
    ns = get_clock_ns() - ns;
    if (ret < 0) {
        fprintf(io_out, "discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!o.qflag) {
        print_report("discard", ns, offset, bytes, bytes, 1, o.Cflag);
    }
    return 0;
}

/* A failed flush prints nothing, as in qemu-io; it still fails. */
static int flush_f(IoState *s, int argc, char **argv)
{
    return blk_flush(s->blk);
}

static int truncate_f(IoState *s, int argc, char **argv)
{
    static const char *const modes[] = {
        [PREALLOC_MODE_OFF] = "off",
        [PREALLOC_MODE_METADATA] = "metadata",
        [PREALLOC_MODE_FALLOC] = "falloc",
        [PREALLOC_MODE_FULL] = "full",
    };
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    Error *err = NULL;
    int64_t offset;
    int c, ret;

    while ((c = getopt(argc, argv, "m:")) != -1) {
        switch (c) {
        case 'm':
            for (prealloc = 0; prealloc < G_N_ELEMENTS(modes); prealloc++) {
                if (!strcmp(optarg, modes[prealloc])) {
                    break;
                }
            }
            if (prealloc == G_N_ELEMENTS(modes)) {
                io_error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            break;
        default:
            io_command_usage("truncate");
            return -EINVAL;
        }
    }
    /* Words after the offset are ignored, as in qemu-io. */
    if (optind >= argc) {
        io_command_usage("truncate");
        return -EINVAL;
    }
    offset = cvtnum(argv[optind]);
    if (offset < 0) {
        /* qemu-io names the first word, even when it is "-m". */
        print_cvtnum_error(offset, argv[1]);
        return offset;
    }
    ret = blk_truncate(s->blk, offset, false, prealloc, 0, &err);
    if (ret < 0) {
        io_error_report_err(err);
        return ret;
    }
    return 0;
}

static int length_f(IoState *s, int argc, char **argv)
{
    int64_t size = blk_getlength(s->blk);
    char s1[64];

    if (size < 0) {
        fprintf(io_out, "getlength: %s\n", strerror(-size));
        return size;
    }
    cvtstr(size, s1, sizeof(s1));
    fprintf(io_out, "%s\n", s1);
    return 0;
}

/* ---- alloc, map ------------------------------------------------------- */

/*
 * alloc OFFSET [COUNT]: how many of COUNT (default 512) bytes from OFFSET
 * are allocated in the top node itself.  COUNT shrinks to what lies before
 * the end of the image.
 */
static int alloc_f(IoState *s, int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(s->blk);
    int64_t offset, start, count, remaining, num, sum_alloc = 0;
    char s1[64];
    int ret;

    start = offset = parse_num(argv[1]);
    if (offset < 0) {
        return offset;
    }
    count = BDRV_SECTOR_SIZE;
    if (argc == 3) {
        count = parse_num(argv[2]);
        if (count < 0) {
            return count;
        }
    }

    remaining = count;
    while (remaining) {
        ret = bdrv_is_allocated(bs, offset, remaining, &num);
        if (ret < 0) {
            fprintf(io_out, "is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        offset += num;
        remaining -= num;
        if (ret) {
            sum_alloc += num;
        }
        if (num == 0) {
            count -= remaining;
            remaining = 0;
        }
    }

    cvtstr(start, s1, sizeof(s1));
    fprintf(io_out, "%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n",
            sum_alloc, count, s1);
    return 0;
}

/*
 * Allocation status at @offset and, in *pnum, the length of the run of
 * bytes (up to @bytes) that share it; or a negative errno.
 */
static int map_run(BlockDriverState *bs, int64_t offset, int64_t bytes,
                   int64_t *pnum)
{
    int64_t num;
    int ret, first;

    first = ret = bdrv_is_allocated(bs, offset, bytes, &num);
    if (ret < 0) {
        return ret;
    }
    *pnum = num;
    while (bytes > 0 && num) {
        offset += num;
        bytes -= num;
        ret = bdrv_is_allocated(bs, offset, bytes, &num);
        if (ret != first || !num) {
            break;
        }
        *pnum += num;
    }
    return first;
}

/* map: the allocated and unallocated runs of the top node, in order. */
static int map_f(IoState *s, int argc, char **argv)
{
    int64_t offset = 0, bytes, num;
    char s1[64], s2[64];
    int ret;

    bytes = blk_getlength(s->blk);
    if (bytes < 0) {
        fprintf(io_out, "Failed to query image length: %s\n",
                strerror(-bytes));
        return bytes;
    }
    while (bytes) {
        ret = map_run(blk_bs(s->blk), offset, bytes, &num);
        if (ret < 0) {
            fprintf(io_out, "Failed to get allocation status: %s\n",
                    strerror(-ret));
            return ret;
        }
        if (!num) {
            fprintf(io_out, "Unexpected end of image\n");
            return -EIO;
        }
        cvtstr(num, s1, sizeof(s1));
        cvtstr(offset, s2, sizeof(s2));
        fprintf(io_out, "%s (0x%" PRIx64 ") bytes %s at offset %s (0x%"
                PRIx64 ")\n", s1, (uint64_t)num,
                ret ? "    allocated" : "not allocated", s2, (uint64_t)offset);
        offset += num;
        bytes -= num;
    }
    return 0;
}

/* ---- sleep, help, quit ------------------------------------------------ */

static void sleep_expired(void *opaque)
{
    *(bool *)opaque = true;
}

/* Sleep while the event loop runs (aio requests keep completing). */
static int sleep_f(IoState *s, int argc, char **argv)
{
    AioContext *ctx = qemu_get_aio_context();
    QEMUTimer *timer;
    bool expired = false;
    char *end;
    long ms;

    ms = strtol(argv[1], &end, 0);
    if (ms < 0 || *end) {
        fprintf(io_out, "%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    if (ms > INT64_MAX / 2 / 1000000) {
        return 0;    /* qemu-io's deadline overflows: it does not sleep */
    }
    timer = aio_timer_new(ctx, sleep_expired, &expired);
    timer_mod_ns(timer, qemu_clock_get_ns() + ms * 1000000);
    AIO_WAIT_WHILE(ctx, !expired);
    timer_free(timer);
    return 0;
}

static int help_f(IoState *s, int argc, char **argv);

static int quit_f(IoState *s, int argc, char **argv)
{
    s->quit = true;
    return 0;
}

/* ---- The table -------------------------------------------------------- */

/* Sorted by name, which is the order `help` lists them in. */
static const IoCmd io_cmds[] = {
    {
        .name = "aio_flush", .cfunc = aio_flush_f,
        .oneline = "completes all outstanding aio requests",
    }, {
        .name = "aio_read", .cfunc = aio_read_f,
        .argmin = 2, .argmax = -1,
        .args = "[-Ciqv] [-P pattern] off len [len..]",
        .oneline = "asynchronously reads a number of bytes",
        .help = aio_read_help,
    }, {
        .name = "aio_write", .cfunc = aio_write_f,
        .argmin = 2, .argmax = -1, .perm = BLK_PERM_WRITE,
        .args = "[-Cfiquz] [-P pattern] off len [len..]",
        .oneline = "asynchronously writes a number of bytes",
        .help = aio_write_help,
    }, {
        .name = "alloc", .altname = "a", .cfunc = alloc_f,
        .argmin = 1, .argmax = 2,
        .args = "offset [count]",
        .oneline = "checks if offset is allocated in the file",
    }, {
        .name = "close", .altname = "c", .cfunc = io_close_f,
        .oneline = "close the current open file",
    }, {
        .name = "discard", .altname = "d", .cfunc = discard_f,
        .argmin = 2, .argmax = -1, .perm = BLK_PERM_WRITE,
        .args = "[-Cq] off len",
        .oneline = "discards a number of bytes at a specified offset",
        .help = discard_help,
    }, {
        .name = "flush", .altname = "f", .cfunc = flush_f,
        .oneline = "flush all in-core file state to disk",
    }, {
        .name = "help", .altname = "?", .cfunc = help_f,
        .argmin = 0, .argmax = 1, .flags = IO_CMD_GLOBAL,
        .args = "[command]",
        .oneline = "help for one or all commands",
    }, {
        .name = "length", .altname = "l", .cfunc = length_f,
        .oneline = "gets the length of the current file",
    }, {
        .name = "map", .cfunc = map_f,
        .args = "",
        .oneline = "prints the allocated areas of a file",
    }, {
        .name = "open", .altname = "o", .cfunc = io_open_f,
        .argmin = 1, .argmax = -1, .flags = IO_CMD_NOFILE_OK,
        .args = "[-rnkU] [-t cache] [-d discard] [-i aio] [-o options] "
                "[path]",
        .oneline = "open the file specified by path",
        .help = io_open_help,
    }, {
        .name = "quit", .altname = "q", .cfunc = quit_f,
        .argmin = -1, .argmax = -1, .flags = IO_CMD_GLOBAL,
        .oneline = "exit the program",
    }, {
        .name = "read", .altname = "r", .cfunc = read_f,
        .argmin = 2, .argmax = -1,
        .args = "[-abCqv] [-P pattern [-s off] [-l len]] off len",
        .oneline = "reads a number of bytes at a specified offset",
        .help = read_help,
    }, {
        .name = "readv", .cfunc = readv_f,
        .argmin = 2, .argmax = -1,
        .args = "[-Cqv] [-P pattern] off len [len..]",
        .oneline = "reads a number of bytes at a specified offset",
        .help = readv_help,
    }, {
        .name = "sleep", .cfunc = sleep_f,
        .argmin = 1, .argmax = 1, .flags = IO_CMD_NOFILE_OK,
        .oneline = "waits for the given value in milliseconds",
    }, {
        .name = "truncate", .altname = "t", .cfunc = truncate_f,
        .argmin = 1, .argmax = 3, .perm = BLK_PERM_WRITE | BLK_PERM_RESIZE,
        .args = "[-m prealloc_mode] off",
        .oneline = "truncates the current file at the given offset",
    }, {
        .name = "write", .altname = "w", .cfunc = write_f,
        .argmin = 2, .argmax = -1, .perm = BLK_PERM_WRITE,
        .args = "[-bcCfnquz] [-P pattern | -s source_file] off len",
        .oneline = "writes a number of bytes at a specified offset",
        .help = write_help,
    }, {
        .name = "writev", .cfunc = writev_f,
        .argmin = 2, .argmax = -1, .perm = BLK_PERM_WRITE,
        .args = "[-Cfq] [-P pattern] off len [len..]",
        .oneline = "writes a number of bytes at a specified offset",
        .help = writev_help,
    },
};

static const IoCmd *find_command(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        const IoCmd *ct = &io_cmds[i];

        if (!strcmp(ct->name, name) ||
            (ct->altname && !strcmp(ct->altname, name))) {
            return ct;
        }
    }
    return NULL;
}

/* "NAME ARGS -- ONELINE", under the name the user typed. */
static void help_oneline(const char *name, const IoCmd *ct)
{
    fprintf(io_out, "%s ", name);
    if (ct->args) {
        fprintf(io_out, "%s ", ct->args);
    }
    fprintf(io_out, "-- %s\n", ct->oneline);
}

void io_command_usage(const char *name)
{
    const IoCmd *ct = find_command(name);

    assert(ct);
    if (!io_out) {
        io_out = stdout;        /* called before any command ran */
        io_err = stderr;
    }
    help_oneline(ct->name, ct);
}

static int help_f(IoState *s, int argc, char **argv)
{
    const IoCmd *ct;

    if (argc < 2) {
        for (size_t i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
            help_oneline(io_cmds[i].name, &io_cmds[i]);
        }
        fprintf(io_out, "\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ct = find_command(argv[1]);
    if (!ct) {
        fprintf(io_out, "command %s not found\n", argv[1]);
        return -EINVAL;
    }
    help_oneline(argv[1], ct);
    if (ct->help) {
        ct->help();
    }
    return 0;
}

/* Whether @ct may run now, with its number of arguments; else a message. */
static bool command_ok(IoState *s, const IoCmd *ct, int argc, char **argv)
{
    int nargs = argc - 1;

    if (!(ct->flags & (IO_CMD_GLOBAL | IO_CMD_NOFILE_OK)) && !s->blk) {
        fprintf(io_err, "no file open, try 'help open'\n");
        return false;
    }
    if (nargs >= ct->argmin && (ct->argmax == -1 || nargs <= ct->argmax)) {
        return true;
    }
    if (ct->argmax == -1) {
        fprintf(io_err, "bad argument count %d to %s, expected at least %d "
                "arguments\n", nargs, argv[0], ct->argmin);
    } else if (ct->argmin == ct->argmax) {
        fprintf(io_err, "bad argument count %d to %s, expected %d "
                "arguments\n", nargs, argv[0], ct->argmin);
    } else {
        fprintf(io_err, "bad argument count %d to %s, expected between %d "
                "and %d arguments\n", nargs, argv[0], ct->argmin,
                ct->argmax);
    }
    return false;
}

/* Take the permissions @ct needs beyond those the backend holds. */
static int command_perm(IoState *s, const IoCmd *ct)
{
    Error *err = NULL;
    int ret;

    if (!s->blk || !(ct->perm & ~s->perm)) {
        return 0;
    }
    ret = blk_set_perm(s->blk, s->perm | ct->perm, s->shared_perm, &err);
    if (ret < 0) {
        io_error_report_err(err);
        return ret;
    }
    s->perm |= ct->perm;
    return 0;
}

int io_command(IoState *s, const char *line)
{
    g_autofree char *input = g_strdup(line);
    g_autofree char **argv = g_new0(char *, strlen(line) / 2 + 2);
    const IoCmd *ct;
    char *p = input, *word;
    int argc = 0, ret;

    io_select_output(s);

    /* Words are separated by single spaces; runs of spaces are skipped. */
    while ((word = strsep(&p, " "))) {
        if (*word) {
            argv[argc++] = word;
        }
    }
    if (argc == 0) {
        return 0;
    }
    ct = find_command(argv[0]);
    if (!ct) {
        fprintf(io_err, "command \"%s\" not found\n", argv[0]);
        return -EINVAL;
    }
    if (!command_ok(s, ct, argc, argv)) {
        return -EINVAL;
    }
    ret = command_perm(s, ct);
    if (ret < 0) {
        return ret;
    }
    optind = 0;    /* GNU getopt: start afresh, permuting again */
    return ct->cfunc(s, argc, argv);
}
