/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img create: make a new image.
 *
 * The creation options (-o, plus the size argument and -b/-F) are checked
 * here against a per-format table that knows their types, their defaults
 * and, above all, their order: qemu-img prints its "Formatting ..." line
 * by walking the format's option list in declaration order, printing each
 * option that was given or has a default, and scripts compare that line
 * verbatim.  Values the driver must interpret (power-of-two cluster
 * sizes, compatibility levels) are checked by the driver afterwards,
 * which is also why the line is printed before creation can fail.
 *
 * A backing file is opened (read-only, shared) to learn its size when
 * none is given and to prove it exists, unless -u says not to.  As in
 * qemu-img 7.2 a backing file needs an explicit format.
 */
#include "img-common.h"

const char img_create_usage[] =
"Usage: " IMG_NAME " create [-q] [-f FMT] [-b BACKING_FILE [-F BACKING_FMT]]"
" [-u] [-o OPTIONS] FILENAME [SIZE]\n"
"\n"
"Create the image FILENAME in format FMT (default raw) with a virtual size\n"
"of SIZE bytes (suffixes k, M, G, T, P and E multiply by powers of 1024).\n"
"\n"
"  -f FMT           the image format\n"
"  -b BACKING_FILE  a backing file; SIZE defaults to its size\n"
"  -F BACKING_FMT   the backing file's format (required with -b)\n"
"  -u               do not open the backing file (SIZE is then required)\n"
"  -o OPTIONS       format options as NAME=VALUE,...; '-o help' lists "
"them\n"
"  -q               quiet: do not print the 'Formatting' line\n"
"  -h, --help       print this help\n";

typedef enum CreateOptType {
    OPT_STRING,
    OPT_BOOL,
    OPT_SIZE,
    OPT_NUMBER,
} CreateOptType;

typedef struct CreateOptDesc {
    const char *name;
    CreateOptType type;
    const char *def;          /* printed when not given, or NULL */
    const char *help;
} CreateOptDesc;

/* In qemu-img's print order. */
static const CreateOptDesc raw_create_opts[] = {
    { "size", OPT_SIZE, NULL, "Virtual disk size" },
    { "preallocation", OPT_STRING, NULL,
      "Preallocation mode (allowed values: off, falloc, full)" },
    { NULL },
};

static const CreateOptDesc qcow2_create_opts[] = {
    { "cluster_size", OPT_SIZE, "65536", "qcow2 cluster size" },
    { "extended_l2", OPT_BOOL, "off", "Extended L2 tables" },
    { "preallocation", OPT_STRING, NULL,
      "Preallocation mode (allowed values: off, metadata, falloc, full)" },
    { "compression_type", OPT_STRING, "zlib",
      "Compression method used for image cluster compression" },
    { "size", OPT_SIZE, NULL, "Virtual disk size" },
    { "compat", OPT_STRING, NULL,
      "Compatibility level (v2 [0.10] or v3 [1.1])" },
    { "backing_file", OPT_STRING, NULL, "File name of a base image" },
    { "backing_fmt", OPT_STRING, NULL, "Image format of the base image" },
    { "lazy_refcounts", OPT_BOOL, "off", "Postpone refcount updates" },
    { "refcount_bits", OPT_NUMBER, "16",
      "Width of a reference count entry in bits" },
    { NULL },
};

static const CreateOptDesc *create_opts_for(const char *fmt)
{
    if (!strcmp(fmt, "qcow2")) {
        return qcow2_create_opts;
    }
    if (!strcmp(fmt, "raw") || !strcmp(fmt, "file")) {
        return raw_create_opts;
    }
    return NULL;
}

static const CreateOptDesc *find_opt(const CreateOptDesc *descs,
                                     const char *name)
{
    for (; descs && descs->name; descs++) {
        if (!strcmp(descs->name, name)) {
            return descs;
        }
    }
    return NULL;
}

static int cmp_desc_name(const void *a, const void *b)
{
    const CreateOptDesc *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* '-o help': the options sorted by name, as qemu-img lists them. */
static void print_create_help(const char *fmt, const CreateOptDesc *descs)
{
    static const char *const type_names[] = {
        [OPT_STRING] = "str", [OPT_BOOL] = "bool (on/off)",
        [OPT_SIZE] = "size", [OPT_NUMBER] = "num",
    };
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();

    for (; descs && descs->name; descs++) {
        g_ptr_array_add(sorted, (gpointer)descs);
    }
    g_ptr_array_sort(sorted, cmp_desc_name);
    printf("Supported %s options:\n", fmt);
    for (guint i = 0; i < sorted->len; i++) {
        const CreateOptDesc *d = g_ptr_array_index(sorted, i);
        g_autofree char *left = g_strdup_printf("%s=<%s>", d->name,
                                                type_names[d->type]);

        printf("  %-22s - %s\n", left, d->help);
    }
}

/*
 * Split "-o" text into NAME=VALUE pairs, in the order given (",," is a
 * literal comma; a bare NAME means NAME=on).  A repeated NAME keeps its
 * place and takes the later value.
 */
static JsonObject *parse_opt_list(const char *text, bool *help)
{
    JsonObject *opts = qdict_new();
    g_autoptr(GString) item = g_string_new(NULL);
    const char *p = text;

    *help = false;
    while (*p) {
        char *eq;

        g_string_truncate(item, 0);
        for (; *p; p++) {
            if (*p == ',' && p[1] == ',') {
                g_string_append_c(item, ',');
                p++;
            } else if (*p == ',') {
                p++;
                break;
            } else {
                g_string_append_c(item, *p);
            }
        }
        if (!item->len) {
            continue;
        }
        eq = strchr(item->str, '=');
        if (!strcmp(item->str, "help") || !strcmp(item->str, "?")) {
            *help = true;
        } else if (eq) {
            *eq = '\0';
            qdict_put_str(opts, item->str, eq + 1);
        } else {
            qdict_put_str(opts, item->str, "on");
        }
    }
    return opts;
}

/* Check @value against @d's type; the driver gets @norm (g_free it). */
static bool check_opt_value(const CreateOptDesc *d, const char *value,
                            char **norm, Error **errp)
{
    uint64_t n;
    char *end;

    switch (d->type) {
    case OPT_SIZE:
        if (!parse_size(value, &n, NULL)) {
            error_setg(errp, "Parameter '%s' expects a non-negative number "
                       "below 2^64\nOptional suffix k, M, G, T, P or E "
                       "means kilo-, mega-, giga-, tera-, peta-\nand "
                       "exabytes, respectively.", d->name);
            return false;
        }
        *norm = g_strdup_printf("%" PRIu64, n);
        return true;
    case OPT_BOOL:
        if (!strcmp(value, "on") || !strcmp(value, "yes") ||
            !strcmp(value, "true") || !strcmp(value, "y")) {
            *norm = g_strdup("on");
        } else if (!strcmp(value, "off") || !strcmp(value, "no") ||
                   !strcmp(value, "false") || !strcmp(value, "n")) {
            *norm = g_strdup("off");
        } else {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'",
                       d->name);
            return false;
        }
        return true;
    case OPT_NUMBER:
        errno = 0;
        n = strtoull(value, &end, 0);
        if (!*value || *end || errno || *value == '-') {
            error_setg(errp, "Parameter '%s' expects a number", d->name);
            return false;
        }
        *norm = g_strdup(value);
        return true;
    default:
        *norm = g_strdup(value);
        return true;
    }
}

typedef struct CreateParams {
    const char *filename;
    const char *fmt;
    const CreateOptDesc *descs;
    JsonObject *given;          /* NAME: value as the user wrote it */
    int64_t size;               /* -1: not known yet */
    bool no_backing_open;       /* -u */
} CreateParams;

/*
 * Open the backing file to check it and learn its size (qemu-img's
 * bdrv_img_create() rules).  Returns false with @errp set.
 */
static bool check_backing(CreateParams *p, Error **errp)
{
    const char *backing = qdict_get_str(p->given, "backing_file");
    const char *bfmt = qdict_get_str(p->given, "backing_fmt");
    g_autofree char *path = NULL;
    g_autoptr(JsonObject) bopts = NULL;
    BlockBackend *blk;
    const char *fmt;
    Error *err = NULL;

    if (!backing) {
        return true;
    }
    if (!strcmp(p->filename, backing)) {
        error_setg(errp, "Error: Trying to create an image with the same "
                   "filename as the backing file");
        return false;
    }
    if (!backing[0]) {
        error_setg(errp, "Expected backing file name, got empty string");
        return false;
    }
    if (p->no_backing_open) {
        if (!bfmt) {
            error_setg(errp, "Backing file specified without backing "
                       "format");
            return false;
        }
        return true;
    }

    path = img_backing_path(p->filename, backing);
    fmt = bfmt ? bfmt : img_probe_format(path);
    if (!img_format_known(fmt)) {
        error_setg(errp, "Unknown driver '%s'\nCould not open backing "
                   "image.", fmt);
        return false;
    }
    bopts = qdict_new();
    qdict_put_str(bopts, "force-share", "on");
    if (!strcmp(fmt, "qcow2")) {
        json_object_set_null_member(bopts, "backing");
    }
    blk = blk_new_open(path, fmt, bopts, false, &err);
    if (!blk) {
        error_setg(errp, "%s\nCould not open backing image.",
                   error_get_pretty(err));
        error_free(err);
        return false;
    }
    if (!bfmt) {
        blk_unref(blk);
        error_setg(errp, "Backing file specified without backing format\n"
                   "Detected format of %s.", fmt);
        return false;
    }
    if (p->size < 0) {
        p->size = blk_getlength(blk);
        if (p->size < 0) {
            error_setg_errno(errp, (int)-p->size, "Could not get size of "
                             "'%s'", backing);
            blk_unref(blk);
            return false;
        }
    }
    blk_unref(blk);
    return true;
}

/* "fmt=qcow2 cluster_size=65536 ..." in the table's order. */
static void print_formatting(const CreateParams *p)
{
    printf("Formatting '%s', fmt=%s", p->filename, p->fmt);
    for (const CreateOptDesc *d = p->descs; d->name; d++) {
        const char *v = qdict_get_str(p->given, d->name);
        g_autofree char *norm = NULL;

        if (!strcmp(d->name, "size")) {
            printf(" size=%" PRId64, p->size);
            continue;
        }
        if (v && d->type == OPT_SIZE) {
            check_opt_value(d, v, &norm, NULL);
            v = norm;
        }
        v = v ? v : d->def;
        if (v) {
            printf(" %s=%s", d->name, v);
        }
    }
    printf("\n");
    fflush(stdout);
}

/* Check -o values and size; build the bdrv_create() dict. */
static JsonObject *build_create_dict(CreateParams *p, Error **errp)
{
    g_autoptr(JsonObject) dict = qdict_new();
    g_autoptr(GList) keys = json_object_get_members(p->given);
    const char *size_opt = qdict_get_str(p->given, "size");

    for (GList *l = keys; l; l = l->next) {
        const char *key = l->data;
        const CreateOptDesc *d = find_opt(p->descs, key);
        g_autofree char *norm = NULL;

        if (!d) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return NULL;
        }
        if (!check_opt_value(d, qdict_get_str(p->given, key), &norm,
                             errp)) {
            return NULL;
        }
        if (strcmp(key, "size")) {
            qdict_put_str(dict, key, norm);
        }
    }
    if (size_opt) {
        uint64_t n;

        if (p->size >= 0) {
            error_setg(errp, "The image size must be specified only once");
            return NULL;
        }
        parse_size(size_opt, &n, NULL);
        p->size = n;
    }
    qdict_put_str(dict, "driver", p->fmt);
    qdict_put_str(dict, "filename", p->filename);
    return g_steal_pointer(&dict);
}

JsonObject *img_create_parse_options(const char *fmt, const char *options,
                                     Error **errp)
{
    const CreateOptDesc *descs = create_opts_for(fmt);
    g_autoptr(JsonObject) given = NULL;
    g_autoptr(JsonObject) parsed = qdict_new();
    g_autoptr(GList) keys = NULL;
    bool help;

    given = parse_opt_list(options ? options : "", &help);
    if (help || !descs) {
        error_setg(errp, "Invalid parameter '%s'", help ? "help" : fmt);
        return NULL;
    }
    keys = json_object_get_members(given);
    for (GList *l = keys; l; l = l->next) {
        const CreateOptDesc *d = find_opt(descs, l->data);
        g_autofree char *norm = NULL;

        if (!d) {
            error_setg(errp, "Invalid parameter '%s'", (char *)l->data);
            return NULL;
        }
        if (!check_opt_value(d, qdict_get_str(given, l->data), &norm,
                             errp)) {
            return NULL;
        }
        qdict_put_str(parsed, l->data, norm);
    }
    return g_steal_pointer(&parsed);
}

bool img_create_help(const char *fmt, const char *options)
{
    g_autoptr(JsonObject) given = NULL;
    bool help;

    given = parse_opt_list(options ? options : "", &help);
    if (!help) {
        return false;
    }
    if (!create_opts_for(fmt) && !img_format_known(fmt)) {
        error_report("Unknown file format '%s'", fmt);
        exit(1);
    }
    print_create_help(fmt, create_opts_for(fmt));
    return true;
}

int img_create_image(const ImgCreateRequest *req, Error **errp)
{
    g_autoptr(JsonObject) given = NULL;
    g_autoptr(JsonObject) dict = NULL;
    CreateParams p = {
        .filename = req->filename, .fmt = req->fmt, .size = req->size,
        .no_backing_open = req->no_backing_open,
        .descs = create_opts_for(req->fmt),
    };
    bool help;

    given = parse_opt_list(req->options ? req->options : "", &help);
    p.given = given;
    if (!p.descs) {
        /* Let bdrv_create() name the problem (unknown, or no create). */
        dict = qdict_new();
        qdict_put_str(dict, "driver", p.fmt);
        if (bdrv_create(dict, errp) == 0) {
            error_setg(errp, "Format '%s' needs creation options", p.fmt);
        }
        return -EINVAL;
    }
    if (req->backing) {
        if (!find_opt(p.descs, "backing_file")) {
            error_setg(errp, "Backing file not supported for file format "
                       "'%s'", p.fmt);
            return -ENOTSUP;
        }
        qdict_put_str(given, "backing_file", req->backing);
    }
    if (req->backing_fmt && find_opt(p.descs, "backing_fmt")) {
        qdict_put_str(given, "backing_fmt", req->backing_fmt);
    }
    dict = build_create_dict(&p, errp);
    if (!dict || !check_backing(&p, errp)) {
        return -EINVAL;
    }
    if (p.size < 0) {
        error_setg(errp, "Image creation needs a size parameter");
        return -EINVAL;
    }
    qdict_put_int(dict, "size", p.size);
    if (req->print) {
        print_formatting(&p);
    }
    return bdrv_create(dict, errp);
}

int img_create(int argc, char **argv)
{
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    g_autoptr(GString) optstr = g_string_new(NULL);
    ImgCreateRequest req = { .fmt = "raw", .size = -1, .print = true };
    Error *err = NULL;
    int c;

    while ((c = img_getopt(argc, argv, ":hf:b:F:uo:q", lopt,
                           img_create_usage)) != -1) {
        switch (c) {
        case 'f':
            req.fmt = optarg;
            break;
        case 'b':
            req.backing = optarg;
            break;
        case 'F':
            req.backing_fmt = optarg;
            break;
        case 'u':
            req.no_backing_open = true;
            break;
        case 'o':
            img_append_opts(optstr, optarg);
            break;
        case 'q':
            req.print = false;
            break;
        }
    }
    req.options = optstr->str;
    if (img_create_help(req.fmt, req.options)) {
        return 0;
    }
    if (optind >= argc) {
        img_error_exit("Expecting image file name");
    }
    req.filename = argv[optind++];
    if (optind < argc) {
        req.size = img_cvtnum("image size", argv[optind++]);
        if (req.size < 0) {
            return 1;
        }
    }
    if (optind != argc) {
        img_error_exit("Unexpected argument: %s", argv[optind]);
    }
    if (img_create_image(&req, &err) < 0) {
        error_report("%s: %s", req.filename, error_get_pretty(err));
        error_free(err);
        return 1;
    }
    return 0;
}
