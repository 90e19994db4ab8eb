/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-io: exercise the block layer from the command line, speaking
 * qemu-io's command language (see emblock-io-cmds.h for the contract).
 *
 *   emblock-io [OPTIONS]... [-c COMMAND]... [FILE]
 *
 * This file holds the program: option parsing, opening an image (by file
 * name and format, or from an option string with --image-opts), the
 * `open` and `close` commands, and the command loop, which runs the -c
 * commands in order or, when there are none, reads commands from stdin
 * after a prompt.
 *
 * Open options follow qemu-io: the cache mode (-t, -n), the discard mode
 * (-d, unmap by default, unlike blockdev-add), the AIO back end (-i, -k),
 * read-only (-r) and force-share (-U) become block options (cache.direct,
 * cache.no-flush, discard, file.aio, read-only, force-share), which only
 * fill in what an explicit option string leaves out.  Writethrough cache
 * modes (qemu-io's default, `writethrough` and `directsync`) make the tool
 * send every write with FUA, as QEMU's BlockBackend does when its write
 * cache is off.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "emblock-io-cmds.h"
#include "block/probe.h"

#include <getopt.h>
#include <signal.h>

/*
 * The interactive prompt is qemu-io's, not "emblock-io> ": iotests filters
 * (common.filter's _filter_qemu_io) strip exactly "qemu-io> ", so keeping
 * it lets their golden output match.
 */
#define IO_PROMPT "qemu-io> "

/* How to open an image; the defaults are qemu-io's. */
typedef struct IoOpenFlags {
    bool read_only;
    bool force_share;
    bool nocache;          /* cache.direct */
    bool no_flush;         /* cache.no-flush */
    bool writethrough;     /* FUA on every write */
    bool unmap;            /* discard=unmap */
    const char *aio;       /* file.aio, or NULL for the driver's default */
} IoOpenFlags;

#define IO_OPEN_FLAGS_DEFAULT \
    ((IoOpenFlags){ .writethrough = true, .unmap = true })

static void usage(void)
{
    printf(
"Usage: " EMBLOCK_IO_NAME " [OPTIONS]... [-c STRING]... [file]\n"
"Exercise the emblock block layer with qemu-io's commands.\n"
"\n"
"  --image-opts         FILE is an option string (JSON or key=value,...)\n"
"  -c, --cmd STRING     run this command (may be repeated); without -c,\n"
"                       commands are read from standard input\n"
"  -f, --format FMT     the image format (default: probed)\n"
"  -r, --read-only      open the image read-only\n"
"  -n, --nocache        bypass the host page cache, same as -t none\n"
"  -m, --misalign       misalign I/O buffers by 16 bytes\n"
"  -k, --native-aio     same as -i native\n"
"  -i, --aio=MODE       AIO back end: threads, native or io_uring\n"
"  -t, --cache=MODE     cache mode: none, writeback, writethrough,\n"
"                       directsync or unsafe (default: writethrough)\n"
"  -d, --discard=MODE   discard mode: unmap (default) or ignore\n"
"  -U, --force-share    share all permissions (read-only images only)\n"
"  -h, --help           print this help and exit\n"
"\n"
"'" EMBLOCK_IO_NAME " -c help' lists the commands.\n");
}

/* -t MODE, as QEMU's cache modes; false if unknown. */
static bool parse_cache_mode(const char *mode, IoOpenFlags *f)
{
    bool direct = false, no_flush = false, writethrough = false;

    if (!strcmp(mode, "none") || !strcmp(mode, "off")) {
        direct = true;
    } else if (!strcmp(mode, "directsync")) {
        direct = writethrough = true;
    } else if (!strcmp(mode, "unsafe")) {
        no_flush = true;
    } else if (!strcmp(mode, "writethrough")) {
        writethrough = true;
    } else if (strcmp(mode, "writeback")) {
        return false;
    }
    f->nocache = direct;
    f->no_flush = no_flush;
    f->writethrough = writethrough;
    return true;
}

static bool parse_discard_mode(const char *mode, IoOpenFlags *f)
{
    if (!strcmp(mode, "off") || !strcmp(mode, "ignore")) {
        f->unmap = false;
    } else if (!strcmp(mode, "on") || !strcmp(mode, "unmap")) {
        f->unmap = true;
    } else {
        return false;
    }
    return true;
}

static bool parse_aio_mode(const char *mode, IoOpenFlags *f)
{
    static const char *const modes[] = { "threads", "native", "io_uring" };

    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!strcmp(mode, modes[i])) {
            f->aio = modes[i];
            return true;
        }
    }
    return false;
}

/*
 * Set the dotted option @path ("cache.direct") of @opts to @value unless
 * it is already there; dicts on the way are created.  Nothing is set when
 * a component on the way is a plain value (say `file` naming a node).
 */
static void opts_default(JsonObject *opts, const char *path,
                         const char *value)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    int n = g_strv_length(parts);

    for (int i = 0; i < n - 1; i++) {
        JsonObject *sub = qdict_get_dict(opts, parts[i]);

        if (!sub) {
            if (qdict_haskey(opts, parts[i])) {
                return;
            }
            sub = qdict_new();
            qdict_put_obj(opts, parts[i], sub);
            qdict_unref(sub);
        }
        opts = sub;
    }
    if (!qdict_haskey(opts, parts[n - 1])) {
        qdict_put_str(opts, parts[n - 1], value);
    }
}

/* Protocol drivers take `aio` themselves; formats pass it to `file`. */
static bool is_protocol(const char *driver)
{
    return driver && (!strcmp(driver, "file") ||
                      !strcmp(driver, "host_device"));
}

/* Turn @f into block options in @opts, below any explicit ones. */
static bool apply_open_flags(JsonObject *opts, const char *fmt,
                             const IoOpenFlags *f, bool by_options)
{
    if (f->force_share) {
        bool share = true;

        if (!qdict_get_bool_opt(opts, "force-share", &share, NULL) ||
            !share) {
            error_report("-U conflicts with image options");
            return false;
        }
        opts_default(opts, "force-share", "on");
    }
    if (by_options && f->read_only) {
        opts_default(opts, "read-only", "on");
    }
    opts_default(opts, "discard", f->unmap ? "unmap" : "ignore");
    if (f->nocache) {
        opts_default(opts, "cache.direct", "on");
    }
    if (f->no_flush) {
        opts_default(opts, "cache.no-flush", "on");
    }
    if (f->aio) {
        if (by_options) {
            fmt = qdict_get_str(opts, "driver");
        }
        opts_default(opts, is_protocol(fmt) ? "aio" : "file.aio", f->aio);
    }
    return true;
}

/*
 * No format given for @name: probe it as qemu-io does.  A probed raw image
 * gets `x-probed` (sector 0 protection, see raw-format.c) and, if it is
 * opened for writing, qemu-io's warning.  Returns the format, or NULL after
 * qemu-io's "can't open device" message.
 */
static const char *probe_image(const char *name, JsonObject *opts,
                               const IoOpenFlags *f)
{
    Error *err = NULL;
    const char *fmt = bdrv_probe_format(name, !f->read_only, &err);

    if (!fmt) {
        error_report("can't open device %s: %s", name,
                     error_get_pretty(err));
        error_free(err);
        return NULL;
    }
    if (!strcmp(fmt, "raw")) {
        opts_default(opts, "x-probed", "on");
        if (!f->read_only) {
            fprintf(stderr, BDRV_PROBED_RAW_WARNING, name);
        }
    }
    return fmt;
}

/*
 * Open @name (format @fmt, or the `driver` in @opts; NULL: probed) or, when
 * @name is NULL, the node described by @opts alone, and make it the
 * current image.  @opts (may be NULL) is consumed.  Returns 0, or a
 * negative errno after an error message.
 */
static int open_image(IoState *s, const char *name, const char *fmt,
                      JsonObject *opts, const IoOpenFlags *f)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_ALL;
    g_autofree char *driver = NULL;
    BlockDriverState *bs;
    BlockBackend *blk = NULL;
    Error *err = NULL;

    if (s->blk) {
        error_report("file open already, try 'help close'");
        qdict_unref(opts);
        return -EBUSY;
    }
    if (!opts) {
        opts = qdict_new();
    }
    if (name && !fmt && qdict_get_str(opts, "driver")) {
        fmt = driver = g_strdup(qdict_get_str(opts, "driver"));
        qdict_del(opts, "driver");
    }
    if (name && !fmt) {
        fmt = probe_image(name, opts, f);
        if (!fmt) {
            qdict_unref(opts);
            return -EINVAL;
        }
    }
    if (!apply_open_flags(opts, fmt, f, !name)) {
        qdict_unref(opts);
        return -EINVAL;
    }
    /* What blk_new_open() takes and shares, which the tool tracks. */
    if (!f->read_only) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }

    if (name) {
        blk = blk_new_open(name, fmt, opts, !f->read_only, &err);
    } else {
        bs = bdrv_open_options(opts, &err);
        if (bs) {
            blk = blk_new_with_bs(bs, perm, shared, &err);
            bdrv_unref(bs);
        }
    }
    qdict_unref(opts);
    if (!blk) {
        error_report("can't open%s%s: %s", name ? " device " : "",
                     name ? name : "", error_get_pretty(err));
        error_free(err);
        return -EINVAL;
    }

    s->blk = blk;
    s->perm = perm;
    s->shared_perm = shared;
    s->writethrough = f->writethrough;
    return 0;
}

/* ---- open and close --------------------------------------------------- */

void io_open_help(void)
{
    printf(
"\n"
" Opens an image for the other commands; the options are those of the\n"
" command line, and default as there (not to the command line's choice).\n"
"\n"
" Example: 'open -n -o driver=raw /tmp/data' opens a raw image read-write,\n"
" bypassing the host page cache.\n"
"\n"
" -r, -- open read-only\n"
" -n, -- bypass the host page cache, same as -t none\n"
" -U, -- share all permissions (read-only images only)\n"
" -k, -- same as -i native\n"
" -i, -- AIO back end: threads, native or io_uring\n"
" -t, -- cache mode: none, writeback, writethrough, directsync, unsafe\n"
" -d, -- discard mode: unmap or ignore\n"
" -o, -- block options as key=value,... (may be repeated)\n"
"\n");
}

int io_open_f(IoState *s, int argc, char **argv)
{
    IoOpenFlags f = IO_OPEN_FLAGS_DEFAULT;
    g_autoptr(GString) optstr = g_string_new(NULL);
    JsonObject *opts = NULL;
    Error *err = NULL;
    int c;

    while ((c = getopt(argc, argv, "nro:ki:t:d:U")) != -1) {
        switch (c) {
        case 'n':
            f.nocache = true;
            f.writethrough = false;
            break;
        case 'r':
            f.read_only = true;
            break;
        case 'k':
            f.aio = "native";
            break;
        case 't':
            if (!parse_cache_mode(optarg, &f)) {
                error_report("Invalid cache option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'd':
            if (!parse_discard_mode(optarg, &f)) {
                error_report("Invalid discard option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'i':
            if (!parse_aio_mode(optarg, &f)) {
                error_report("Invalid aio option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'o':
            if (s->image_opts) {
                printf("--image-opts and 'open -o' are mutually "
                       "exclusive\n");
                return -EINVAL;
            }
            g_string_append_printf(optstr, "%s%s", optstr->len ? "," : "",
                                   optarg);
            break;
        case 'U':
            f.force_share = true;
            break;
        default:
            io_command_usage("open");
            return -EINVAL;
        }
    }

    if (s->image_opts && optind == argc - 1) {
        opts = qdict_parse(argv[optind++], &err);
    } else if (optstr->len) {
        opts = qdict_parse_dotted(optstr->str, &err);
    }
    if (err) {
        error_report_err(err);
        return -EINVAL;
    }
    if (optind == argc - 1) {
        return open_image(s, argv[optind], NULL, opts, &f);
    } else if (optind == argc) {
        return open_image(s, NULL, NULL, opts, &f);
    }
    qdict_unref(opts);
    io_command_usage("open");
    return -EINVAL;
}

int io_close_f(IoState *s, int argc, char **argv)
{
    io_drain(s);
    blk_unref(s->blk);
    s->blk = NULL;
    return 0;
}

/* ---- The command loop ------------------------------------------------- */

static void stdin_ready(void *opaque)
{
    *(bool *)opaque = true;
}

/*
 * The next line of stdin without its newline (g_free it), or NULL at the
 * end.  The event loop runs while it waits, so asynchronous requests
 * report as they complete.  stdin is unbuffered (see read_commands()), so
 * "readable" means a line is really waiting in the file descriptor.
 */
static char *fetch_line(void)
{
    AioContext *ctx = qemu_get_aio_context();
    bool ready = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    aio_set_fd_handler(ctx, STDIN_FILENO, stdin_ready, NULL, &ready);
    AIO_WAIT_WHILE(ctx, !ready);
    aio_set_fd_handler(ctx, STDIN_FILENO, NULL, NULL, NULL);

    len = getline(&line, &cap, stdin);
    if (len < 0) {
        free(line);
        return NULL;
    }
    if (len > 0 && line[len - 1] == '\n') {
        line[len - 1] = '\0';
    }
    return line;
}

/* Prompt for and run commands until `quit` or the end of stdin. */
static int read_commands(IoState *s)
{
    int ret = 0;

    setvbuf(stdin, NULL, _IONBF, 0);
    while (!s->quit) {
        char *line;

        printf("%s", IO_PROMPT);
        fflush(stdout);
        line = fetch_line();
        if (!line) {
            if (isatty(STDIN_FILENO)) {
                printf("\n");
            }
            break;
        }
        if (io_command(s, line) < 0) {
            ret = -EINVAL;
        }
        free(line);
    }
    return ret;
}

/* Run the -c commands in order, stopping at `quit`. */
static int run_commands(IoState *s, GPtrArray *cmds)
{
    int ret = 0;

    for (guint i = 0; i < cmds->len && !s->quit; i++) {
        if (io_command(s, g_ptr_array_index(cmds, i)) < 0) {
            ret = -EINVAL;
        }
    }
    return ret;
}

enum {
    OPTION_IMAGE_OPTS = 256,
};

int main(int argc, char **argv)
{
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "nocache", no_argument, NULL, 'n' },
        { "misalign", no_argument, NULL, 'm' },
        { "native-aio", no_argument, NULL, 'k' },
        { "aio", required_argument, NULL, 'i' },
        { "discard", required_argument, NULL, 'd' },
        { "cache", required_argument, NULL, 't' },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();
    IoOpenFlags f = IO_OPEN_FLAGS_DEFAULT;
    IoState s = { 0 };
    const char *format = NULL;
    int c, ret;

    /* getopt() names the program after argv[0] in its messages. */
    argv[0] = (char *)EMBLOCK_IO_NAME;
    g_set_prgname(EMBLOCK_IO_NAME);
    error_set_progname(EMBLOCK_IO_NAME);
    signal(SIGPIPE, SIG_IGN);

    while ((c = getopt_long(argc, argv, "hc:d:f:rnmki:t:U", lopt,
                            NULL)) != -1) {
        switch (c) {
        case 'c':
            g_ptr_array_add(cmds, optarg);
            break;
        case 'd':
            if (!parse_discard_mode(optarg, &f)) {
                error_report("Invalid discard option: %s", optarg);
                exit(1);
            }
            break;
        case 'f':
            format = optarg;
            break;
        case 'r':
            f.read_only = true;
            break;
        case 'n':
            f.nocache = true;
            f.writethrough = false;
            break;
        case 'm':
            s.misalign = true;
            break;
        case 'k':
            f.aio = "native";
            break;
        case 'i':
            if (!parse_aio_mode(optarg, &f)) {
                error_report("Invalid aio option: %s", optarg);
                exit(1);
            }
            break;
        case 't':
            if (!parse_cache_mode(optarg, &f)) {
                error_report("Invalid cache option: %s", optarg);
                exit(1);
            }
            break;
        case 'U':
            f.force_share = true;
            break;
        case OPTION_IMAGE_OPTS:
            s.image_opts = true;
            break;
        case 'h':
            usage();
            exit(0);
        default:
            usage();
            exit(1);
        }
    }
    if (argc - optind > 1) {
        usage();
        exit(1);
    }
    if (format && s.image_opts) {
        error_report("--image-opts and -f are mutually exclusive");
        exit(1);
    }

    if (optind < argc) {
        const char *name = s.image_opts ? NULL : argv[optind];
        JsonObject *opts = NULL;

        if (s.image_opts) {
            Error *err = NULL;

            opts = qdict_parse(argv[optind], &err);
            if (!opts) {
                error_report_err(err);
                exit(1);
            }
        }
        if (open_image(&s, name, format, opts, &f) < 0) {
            exit(1);
        }
    }

    ret = cmds->len ? run_commands(&s, cmds) : read_commands(&s);

    /* Outstanding aio requests complete (and report) before the end. */
    io_drain(&s);
    if (s.blk) {
        blk_unref(s.blk);
    }
    return ret < 0 ? 1 : 0;
}
