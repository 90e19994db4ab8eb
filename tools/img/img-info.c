/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img info: describe an image (and with --backing-chain, every
 * image below it).
 *
 * Each image is opened read-only without its backing chain, as qemu-img
 * does, so info works when a backing file is missing; the chain is then
 * followed by name: each backing file is opened on its own, relative to
 * the image naming it, in the format the image records.  A backing file
 * whose format the image does not record is opened as raw, with the
 * note the format driver prints when it opens such a chain itself (map,
 * convert, ...): probing it, as qemu-img 7.2 still does, would let a raw
 * file's contents choose how it is read.
 *
 * The facts are gathered into one dict per node, with QEMU's key names in
 * the order qemu-img prints them (its JSON comes from a hash table, so
 * the order looks random but is fixed), and both output formats are
 * produced from that dict.  Like qemu-img since 8.0, the dict lists the
 * node's children ("file"), which the human format shows as "Child node"
 * sections.
 */
#include "img-common.h"

const char img_info_usage[] =
"Usage: " IMG_NAME " info [-f FMT] [--output=human|json] [--backing-chain]"
" [-U] FILENAME\n"
"\n"
"Describe the image FILENAME.\n"
"\n"
"  -f FMT               the image format (default: probe)\n"
"  --output=FORMAT      human (default) or json\n"
"  --backing-chain      describe the whole backing chain\n"
"  -U, --force-share    open the image even if something else writes it\n"
"  -h, --help           print this help\n";

/*
 * The info dict of @bs, named @filename, whose backing files resolve
 * relative to @filename.  The only child listed is "file": the backing
 * child is not open.
 */
static JsonObject *node_info(BlockDriverState *bs, const char *filename)
{
    JsonObject *info = qdict_new();
    JsonArray *children = json_array_new();
    BlockDriverState *file_bs = bdrv_file_bs(bs);
    const char *backing = bdrv_get_backing_filename(bs);
    const char *backing_fmt = bdrv_get_backing_format(bs);
    g_autoptr(JsonObject) specific = bdrv_get_specific_info(bs);
    BlockDriverInfo bdi;
    int64_t actual = bdrv_get_allocated_file_size(bs);
    bool have_bdi = bdrv_get_info(bs, &bdi) == 0;

    if (file_bs) {
        JsonObject *ci = qdict_new();

        qdict_put_str(ci, "name", "file");
        json_object_set_object_member(ci, "info",
            node_info(file_bs, bdrv_get_filename(file_bs)));
        json_array_add_object_element(children, ci);
    }
    json_object_set_array_member(info, "children", children);
    if (backing && backing_fmt) {
        qdict_put_str(info, "backing-filename-format", backing_fmt);
    }
    qdict_put_int(info, "virtual-size", bdrv_getlength(bs));
    qdict_put_str(info, "filename", filename);
    if (have_bdi && bdi.cluster_size) {
        qdict_put_int(info, "cluster-size", bdi.cluster_size);
    }
    qdict_put_str(info, "format", bdrv_get_format_name(bs));
    if (actual >= 0) {
        qdict_put_int(info, "actual-size", actual);
    }
    if (specific) {
        qdict_put_obj(info, "format-specific", specific);
    }
    if (backing) {
        g_autofree char *full = img_backing_path(filename, backing);

        qdict_put_str(info, "full-backing-filename", full);
        qdict_put_str(info, "backing-filename", backing);
    }
    qdict_put_bool(info, "dirty-flag", have_bdi && bdi.is_dirty);
    return info;
}

static int64_t info_int(JsonObject *o, const char *key)
{
    return json_object_get_int_member(o, key);
}

/* "compat: 1.1" lines: keys with '-' shown as ' ', nested dicts indented. */
static void dump_specific(JsonObject *data, int indent)
{
    g_autoptr(GList) members = json_object_get_members(data);

    for (GList *l = members; l; l = l->next) {
        JsonNode *n = json_object_get_member(data, l->data);
        g_autofree char *key = g_strdelimit(g_strdup(l->data), "-", ' ');

        printf("%*s%s:", indent * 4, "", key);
        if (JSON_NODE_HOLDS_OBJECT(n)) {
            printf("\n");
            dump_specific(json_node_get_object(n), indent + 1);
        } else if (json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
            printf(" %s\n", json_node_get_boolean(n) ? "true" : "false");
        } else if (json_node_get_value_type(n) == G_TYPE_INT64) {
            printf(" %" PRId64 "\n", (int64_t)json_node_get_int(n));
        } else {
            printf(" %s\n", json_node_get_string(n));
        }
    }
}

/*
 * The human format of one node: format nodes as "image: ...", protocol
 * children as "filename: ..., protocol type: ...", then its children.
 */
static void dump_human(JsonObject *info, int indent, const char *path,
                       bool protocol)
{
    int64_t vsize = info_int(info, "virtual-size");
    g_autofree char *vstr = img_size_to_str(vsize);
    JsonObject *spec = qdict_get_dict(info, "format-specific");
    JsonArray *children = json_object_get_array_member(info, "children");
    int w = indent * 4;

    if (protocol) {
        printf("%*sfilename: %s\n", w, "", qdict_get_str(info, "filename"));
        printf("%*sprotocol type: %s\n", w, "",
               qdict_get_str(info, "format"));
        printf("%*sfile length: %s (%" PRId64 " bytes)\n", w, "", vstr,
               vsize);
    } else {
        printf("%*simage: %s\n", w, "", qdict_get_str(info, "filename"));
        printf("%*sfile format: %s\n", w, "", qdict_get_str(info, "format"));
        printf("%*svirtual size: %s (%" PRId64 " bytes)\n", w, "", vstr,
               vsize);
    }
    if (qdict_haskey(info, "actual-size")) {
        g_autofree char *astr = img_size_to_str(info_int(info,
                                                         "actual-size"));
        printf("%*sdisk size: %s\n", w, "", astr);
    } else {
        printf("%*sdisk size: unavailable\n", w, "");
    }
    if (qdict_haskey(info, "cluster-size")) {
        printf("%*scluster_size: %" PRId64 "\n", w, "",
               info_int(info, "cluster-size"));
    }
    if (json_object_get_boolean_member(info, "dirty-flag")) {
        printf("%*scleanly shut down: no\n", w, "");
    }
    if (qdict_haskey(info, "backing-filename")) {
        const char *b = qdict_get_str(info, "backing-filename");
        const char *full = qdict_get_str(info, "full-backing-filename");

        printf("%*sbacking file: %s", w, "", b);
        if (strcmp(b, full)) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
    }
    if (qdict_haskey(info, "backing-filename-format")) {
        printf("%*sbacking file format: %s\n", w, "",
               qdict_get_str(info, "backing-filename-format"));
    }
    if (spec && json_object_get_size(qdict_get_dict(spec, "data"))) {
        printf("%*sFormat specific information:\n", w, "");
        dump_specific(qdict_get_dict(spec, "data"), indent + 1);
    }
    for (guint i = 0; i < json_array_get_length(children); i++) {
        JsonObject *c = json_array_get_object_element(children, i);
        JsonObject *ci = qdict_get_dict(c, "info");
        g_autofree char *cpath = g_strdup_printf("%s%s/", path,
                                                 qdict_get_str(c, "name"));
        JsonArray *grand = json_object_get_array_member(ci, "children");

        printf("%*sChild node '%s%s':\n", w, "", path,
               qdict_get_str(c, "name"));
        dump_human(ci, indent + 1, cpath, json_array_get_length(grand) == 0);
    }
}

typedef struct InfoOpts {
    const char *fmt;
    bool chain;
    bool force_share;
    ImgOutputFormat output;
} InfoOpts;

/*
 * Open @filename and, with --backing-chain, its backing files; return the
 * list of info dicts (NULL after reporting an error).
 */
static GPtrArray *collect_info(const char *filename, const InfoOpts *io)
{
    g_autoptr(GPtrArray) infos =
        g_ptr_array_new_with_free_func((GDestroyNotify)qdict_unref);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal, g_free,
                                                       NULL);
    g_autofree char *name = g_strdup(filename);
    g_autofree char *fmt = g_strdup(io->fmt);

    while (name) {
        ImgOpenOpts o = {
            .fmt = fmt, .force_share = io->force_share, .no_backing = true,
        };
        BlockBackend *blk;
        JsonObject *info;
        const char *backing;

        if (g_hash_table_contains(seen, name)) {
            error_report("Backing file '%s' creates an infinite loop.",
                         name);
            return NULL;
        }
        g_hash_table_add(seen, g_strdup(name));
        blk = img_open(name, &o, NULL);
        if (!blk) {
            return NULL;
        }
        info = node_info(blk_bs(blk), name);
        g_ptr_array_add(infos, info);
        backing = qdict_get_str(info, "full-backing-filename");
        g_free(name);
        g_free(fmt);
        name = io->chain && backing ? g_strdup(backing) : NULL;
        fmt = g_strdup(qdict_get_str(info, "backing-filename-format"));
        if (name && !fmt) {
            fprintf(stderr, "%s: backing file '%s' has no format in the "
                    "image header; opening it as raw\n",
                    qdict_get_str(info, "format"),
                    qdict_get_str(info, "backing-filename"));
            fmt = g_strdup("raw");
        }
        blk_unref(blk);
    }
    return g_steal_pointer(&infos);
}

static void print_infos(GPtrArray *infos, const InfoOpts *io)
{
    if (io->output == IMG_OUTPUT_JSON) {
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_ARRAY);
        JsonArray *arr = json_array_new();

        for (guint i = 0; i < infos->len; i++) {
            json_array_add_object_element(arr,
                qdict_ref(g_ptr_array_index(infos, i)));
        }
        json_node_take_array(node, arr);
        img_json_print(io->chain ? node
                                 : json_array_get_element(arr, 0));
        return;
    }
    for (guint i = 0; i < infos->len; i++) {
        if (i) {
            printf("\n");
        }
        dump_human(g_ptr_array_index(infos, i), 0, "/", false);
    }
}

int img_info(int argc, char **argv)
{
    enum {
        OPT_OUTPUT = 256,
        OPT_BACKING_CHAIN,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    InfoOpts io = { .output = IMG_OUTPUT_HUMAN };
    g_autoptr(GPtrArray) infos = NULL;
    int c;

    while ((c = img_getopt(argc, argv, ":f:hU", lopt,
                           img_info_usage)) != -1) {
        switch (c) {
        case 'f':
            io.fmt = optarg;
            break;
        case 'U':
            io.force_share = true;
            break;
        case OPT_OUTPUT:
            if (!img_parse_output(optarg, &io.output)) {
                return 1;
            }
            break;
        case OPT_BACKING_CHAIN:
            io.chain = true;
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }

    infos = collect_info(argv[optind], &io);
    if (!infos) {
        return 1;
    }
    print_infos(infos, &io);
    return 0;
}
