/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img: create, inspect, compare and convert disk images, with
 * qemu-img's command line.
 *
 *   emblock-img [-h | -V] COMMAND [COMMAND OPTIONS]...
 *
 * This file holds main(): the global options, the command table and the
 * dispatch to img-COMMAND.c, and the helpers every command shares (see
 * img-common.h): option parsing with qemu-img's messages, opening images
 * with format probing, qemu-img's human sizes, its pretty JSON and its
 * progress line.
 */
#include "img-common.h"
#include "block/probe.h"
#include "util/qjson.h"
#include "config-host.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>

typedef struct ImgCommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;          /* first line: the syntax for --help */
} ImgCommand;

extern const char img_bench_usage[], img_check_usage[],
                  img_compare_usage[], img_convert_usage[],
                  img_create_usage[], img_info_usage[], img_map_usage[],
                  img_measure_usage[], img_resize_usage[];

static const ImgCommand img_commands[] = {
    { "bench", img_bench, img_bench_usage },
    { "check", img_check, img_check_usage },
    { "compare", img_compare, img_compare_usage },
    { "convert", img_convert, img_convert_usage },
    { "create", img_create, img_create_usage },
    { "info", img_info, img_info_usage },
    { "map", img_map, img_map_usage },
    { "measure", img_measure, img_measure_usage },
    { "resize", img_resize, img_resize_usage },
};

static void print_version(void)
{
    printf(IMG_NAME " version " EMBLOCK_VERSION "\n"
           "An emblock tool with qemu-img's interface.\n");
}

static void print_help(void)
{
    const char *const *fmts = bdrv_driver_names();

    print_version();
    printf("usage: " IMG_NAME " [standard options] command "
           "[command options]\n"
           "Create, inspect, compare and convert disk images\n"
           "\n"
           "    '-h', '--help'       display this help and exit\n"
           "    '-V', '--version'    output version information and exit\n"
           "\n"
           "Command syntax:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        const char *u = img_commands[i].usage + strlen("Usage: " IMG_NAME
                                                       " ");
        printf("  %.*s\n", (int)strcspn(u, "\n"), u);
    }
    printf("\n"
           "'" IMG_NAME " COMMAND --help' describes the options of a "
           "command.\n"
           "\n"
           "Supported formats:");
    for (int i = 0; fmts[i]; i++) {
        printf(" %s", fmts[i]);
    }
    printf("\n");
}

/* ---- Command line ---------------------------------------------------- */

void img_error_exit(const char *fmt, ...)
{
    char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("%s", msg);
    g_free(msg);
    fprintf(stderr, "Try '" IMG_NAME " --help' for more information\n");
    exit(1);
}

void img_print_usage(const char *usage)
{
    fputs(usage, stdout);
}

int img_getopt(int argc, char **argv, const char *shortopts,
               const struct option *longopts, const char *usage)
{
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);

    switch (c) {
    case '?':
        img_error_exit("unrecognized option '%s'", argv[optind - 1]);
    case ':':
        img_error_exit("option '%s' requires an argument",
                       argv[optind - 1]);
    case 'h':
        img_print_usage(usage);
        exit(0);
    default:
        return c;
    }
}

int64_t img_cvtnum(const char *name, const char *value)
{
    uint64_t v;

    if (!parse_size(value, &v, NULL)) {
        error_report("Invalid %s specified. You may use k, M, G, T, P or E "
                     "suffixes for", name);
        error_report("kilobytes, megabytes, gigabytes, terabytes, "
                     "petabytes and exabytes.");
        return -EINVAL;
    }
    if (v > INT64_MAX) {
        error_report("Invalid %s specified. Must be between 0 and %" PRId64
                     ".", name, INT64_MAX);
        return -ERANGE;
    }
    return v;
}

bool img_parse_output(const char *arg, ImgOutputFormat *fmt)
{
    if (!strcmp(arg, "json")) {
        *fmt = IMG_OUTPUT_JSON;
    } else if (!strcmp(arg, "human")) {
        *fmt = IMG_OUTPUT_HUMAN;
    } else {
        error_report("--output must be used with human or json as "
                     "argument.");
        return false;
    }
    return true;
}

void img_append_opts(GString *opts, const char *arg)
{
    if (opts->len) {
        g_string_append_c(opts, ',');
    }
    g_string_append(opts, arg);
}

/* ---- Opening images -------------------------------------------------- */

bool img_parse_cache(const char *mode, bool *direct, bool *no_flush,
                     bool *writethrough)
{
    bool d = false, nf = false, wt = false;

    if (!strcmp(mode, "none") || !strcmp(mode, "off")) {
        d = true;
    } else if (!strcmp(mode, "directsync")) {
        d = wt = true;
    } else if (!strcmp(mode, "writethrough")) {
        wt = true;
    } else if (!strcmp(mode, "unsafe")) {
        nf = true;
    } else if (strcmp(mode, "writeback")) {
        return false;
    }
    *direct = d;
    *no_flush = nf;
    *writethrough = wt;
    return true;
}

const char *img_probe_format(const char *filename)
{
    const char *fmt = bdrv_probe_format(filename, false, NULL);

    /* Unreadable: raw, and opening it reports why. */
    return fmt ? fmt : "raw";
}

bool img_format_known(const char *fmt)
{
    return g_strv_contains((const char *const *)bdrv_driver_names(), fmt);
}

/* Drivers that open a file by name themselves, without a "file" child. */
static bool img_format_is_protocol(const char *fmt)
{
    return !strcmp(fmt, "file") || !strcmp(fmt, "null-co");
}

/*
 * Open the node @opts describe (read-only unless @writable) and attach a
 * backend with blk_new_open()'s permissions.
 */
static BlockBackend *img_open_dict(JsonObject *opts, bool writable,
                                   Error **errp)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_ALL;
    BlockDriverState *bs;
    BlockBackend *blk;

    if (writable) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    } else if (!qdict_haskey(opts, "read-only")) {
        qdict_put_str(opts, "read-only", "on");
    }
    bs = bdrv_open_options(opts, errp);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, perm, shared, errp);
    bdrv_unref(bs);
    return blk;
}

/*
 * blk_new_open() for a protocol driver given as the format (-f file):
 * the same permissions, with the file name in the node's own options.
 */
static BlockBackend *img_open_protocol(const char *filename, const char *fmt,
                                       JsonObject *opts, bool writable,
                                       Error **errp)
{
    qdict_put_str(opts, "driver", fmt);
    qdict_put_str(opts, "filename", filename);
    return img_open_dict(opts, writable, errp);
}

/*
 * Children described by a file name alone ("file.filename=x") are files,
 * as QEMU infers from the name; bdrv_open_options() wants the driver.
 */
static void img_default_child_drivers(JsonObject *opts)
{
    g_autoptr(GList) keys = json_object_get_members(opts);

    for (GList *l = keys; l; l = l->next) {
        JsonObject *child = qdict_get_dict(opts, l->data);

        if (!child) {
            continue;
        }
        if (!qdict_haskey(child, "driver") &&
            qdict_haskey(child, "filename")) {
            qdict_put_str(child, "driver", "file");
        }
        img_default_child_drivers(child);
    }
}

/*
 * --image-opts: @optstr is the whole node description in dotted keys.
 * Only -U adds to it (qemu-img's img_open_opts() does the same).
 */
static BlockBackend *img_open_image_opts(const char *optstr,
                                         const ImgOpenOpts *o)
{
    g_autoptr(JsonObject) opts = NULL;
    BlockBackend *blk = NULL;
    Error *err = NULL;
    bool share = true;

    if (o->fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        return NULL;
    }
    opts = qdict_parse_dotted(optstr, &err);
    if (opts && o->force_share) {
        if (!qdict_get_bool_opt(opts, "force-share", &share, &err)) {
            g_clear_pointer(&opts, qdict_unref);
        } else if (!share) {
            error_report("--force-share/-U conflicts with image options");
            return NULL;
        } else {
            qdict_put_str(opts, "force-share", "on");
        }
    }
    if (opts) {
        img_default_child_drivers(opts);
        blk = img_open_dict(opts, o->writable, &err);
    }
    if (!blk) {
        error_report("Could not open '%s': %s", optstr,
                     error_get_pretty(err));
        error_free(err);
    }
    return blk;
}

/* Formats whose nodes may have a backing child ("backing": null works). */
static bool img_format_has_backing(const char *fmt)
{
    return !strcmp(fmt, "qcow2");
}

BlockBackend *img_open(const char *filename, const ImgOpenOpts *o,
                       bool *writethrough)
{
    g_autoptr(JsonObject) opts = qdict_new();
    const char *fmt = o->fmt;
    bool probed = !fmt;
    bool direct = false, no_flush = false, wt = false;
    BlockBackend *blk;
    Error *err = NULL;

    if (o->image_opts) {
        if (writethrough) {
            *writethrough = false;
        }
        return img_open_image_opts(filename, o);
    }
    if (probed) {
        fmt = img_probe_format(filename);
        if (!strcmp(fmt, "raw")) {
            qdict_put_str(opts, "x-probed", "on");
        }
    } else if (!img_format_known(fmt)) {
        error_report("Could not open '%s': Unknown driver '%s'", filename,
                     fmt);
        return NULL;
    }
    if (o->cache && !img_parse_cache(o->cache, &direct, &no_flush, &wt)) {
        error_report("Invalid cache option: %s", o->cache);
        return NULL;
    }
    if (direct || no_flush) {
        JsonObject *cache = qdict_new();

        qdict_put_str(cache, "direct", direct ? "on" : "off");
        qdict_put_str(cache, "no-flush", no_flush ? "on" : "off");
        qdict_put_obj(opts, "cache", cache);
        qdict_unref(cache);
    }
    if (o->force_share) {
        qdict_put_str(opts, "force-share", "on");
    }
    if (o->unmap) {
        qdict_put_str(opts, "discard", "unmap");
    }
    if (o->aio && img_format_is_protocol(fmt)) {
        qdict_put_str(opts, "aio", o->aio);
    } else if (o->aio) {
        JsonObject *file = qdict_new();

        qdict_put_str(file, "aio", o->aio);
        qdict_put_obj(opts, "file", file);
        qdict_unref(file);
    }
    if (o->no_backing && img_format_has_backing(fmt)) {
        json_object_set_null_member(opts, "backing");
    }

    if (img_format_is_protocol(fmt)) {
        blk = img_open_protocol(filename, fmt, opts, o->writable, &err);
    } else {
        blk = blk_new_open(filename, fmt, opts, o->writable, &err);
    }
    if (!blk) {
        error_report("Could not open '%s': %s", filename,
                     error_get_pretty(err));
        error_free(err);
        return NULL;
    }
    if (probed && o->writable && !strcmp(fmt, "raw")) {
        fprintf(stderr, BDRV_PROBED_RAW_WARNING, filename);
    }
    if (writethrough) {
        *writethrough = wt;
    }
    return blk;
}

char *img_backing_path(const char *image, const char *backing)
{
    const char *slash = strrchr(image, '/');

    if (g_path_is_absolute(backing) || g_str_has_prefix(backing, "json:") ||
        !slash) {
        return g_strdup(backing);
    }
    return g_strdup_printf("%.*s%s", (int)(slash - image + 1), image,
                           backing);
}

/* ---- Output ---------------------------------------------------------- */

char *img_size_to_str(uint64_t val)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi",
                                         "Ei" };
    int i = 0;

    /* Move to the next unit once the number would need four digits. */
    while (i < 6 && (double)val >= 1000.0 * ldexp(1.0, 10 * i)) {
        i++;
    }
    return g_strdup_printf("%0.3g %sB", (double)val / ldexp(1.0, 10 * i),
                           units[i]);
}

void img_json_print(JsonNode *node)
{
    g_autofree char *text = qjson_to_string(node, true);

    printf("%s\n", text);
}

/*
 * The progress line.  Only the main thread prints it, from the commands'
 * event loop, so no locking.
 */
static struct {
    bool enabled;
    float min_skip;
    float current;
    float last_print;
} progress;

static void progress_show(void)
{
    progress.last_print = progress.current;
    printf("    (%3.2f/100%%)\r", progress.current);
    fflush(stdout);
}

void img_progress_init(bool enabled, float min_skip)
{
    progress.enabled = enabled;
    progress.min_skip = min_skip;
    progress.current = 0;
    progress.last_print = 0;
    if (enabled) {
        progress_show();
    }
}

void img_progress_set(float percent)
{
    if (!progress.enabled) {
        return;
    }
    progress.current = percent;
    if (percent - progress.last_print > progress.min_skip ||
        percent == 100 || percent == 0) {
        progress_show();
    }
}

void img_progress_add(float delta)
{
    img_progress_set(progress.current + delta);
}

void img_progress_end(void)
{
    if (progress.enabled) {
        printf("\n");
        fflush(stdout);
        progress.enabled = false;
    }
}

void img_qprintf(bool quiet, const char *fmt, ...)
{
    va_list ap;

    if (quiet) {
        return;
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* ---- main ------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char *cmd;
    int c;

    argv[0] = (char *)IMG_NAME;
    g_set_prgname(IMG_NAME);
    error_set_progname(IMG_NAME);
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2) {
        img_error_exit("Not enough arguments");
    }
    /* '+': stop at the command name; its options are the command's. */
    while ((c = getopt_long(argc, argv, "+:hV", lopt, NULL)) != -1) {
        switch (c) {
        case 'h':
            print_help();
            return 0;
        case 'V':
            print_version();
            return 0;
        case ':':
            img_error_exit("option '%s' requires an argument",
                           argv[optind - 1]);
        default:
            img_error_exit("unrecognized option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        img_error_exit("Not enough arguments");
    }
    cmd = argv[optind];
    argc -= optind;
    argv += optind;
    /* A fresh getopt scan for the command (glibc: optind 0 resets). */
    optind = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        if (!strcmp(cmd, img_commands[i].name)) {
            return img_commands[i].run(argc, argv);
        }
    }
    img_error_exit("Command not found: %s", cmd);
}
