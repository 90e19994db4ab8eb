/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img check: verify (and with -r repair) an image's metadata.
 *
 * The format driver does the work (bdrv_check()) and prints what it finds
 * on stderr; this command prints qemu-img's summary and picks its exit
 * status: 0 clean, 1 the check could not run, 2 corruptions, 3 leaks
 * only, 63 the format has no check.  After a repair the image is checked
 * again and the summary describes that second pass, plus what was fixed.
 */
#include "img-common.h"

const char img_check_usage[] =
"Usage: " IMG_NAME " check [-q] [-f FMT] [--output=human|json] "
"[-r leaks|all] [-T SRC_CACHE] [-U] FILENAME\n"
"\n"
"Check the image FILENAME for consistency.\n"
"\n"
"  -f FMT               the image format (default: probe)\n"
"  --output=FORMAT      human (default) or json\n"
"  -r leaks|all         repair leaked clusters, or every problem found\n"
"  -T SRC_CACHE         cache mode for the image (default: writeback)\n"
"  -U, --force-share    open the image even if something else writes it\n"
"  -q                   quiet: print nothing but errors\n"
"  -h, --help           print this help\n"
"\n"
"Exit status: 0 no problems, 1 the check failed, 2 corruptions found,\n"
"3 only leaks found, 63 the format has no check.\n";

static void check_dump_human(const BdrvCheckResult *r, bool quiet)
{
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        img_qprintf(quiet, "No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            img_qprintf(quiet, "\n%d errors were found on the image.\n"
                        "Data may be corrupted, or further writes to the "
                        "image may corrupt it.\n", r->corruptions);
        }
        if (r->leaks) {
            img_qprintf(quiet, "\n%d leaked clusters were found on the "
                        "image.\nThis means waste of disk space, but no "
                        "harm to data.\n", r->leaks);
        }
        if (r->check_errors) {
            img_qprintf(quiet, "\n%d internal errors have occurred during "
                        "the check.\n", r->check_errors);
        }
    }
    if (r->total_clusters && r->allocated_clusters) {
        img_qprintf(quiet, "%" PRId64 "/%" PRId64 " = %0.2f%% allocated, "
                    "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
                    r->allocated_clusters, r->total_clusters,
                    r->allocated_clusters * 100.0 / r->total_clusters,
                    r->fragmented_clusters * 100.0 / r->allocated_clusters,
                    r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        img_qprintf(quiet, "Image end offset: %" PRId64 "\n",
                    r->image_end_offset);
    }
}

/* Put @key unless @value is zero (qemu-img omits zero counters). */
static void put_nonzero(JsonObject *o, const char *key, int64_t value)
{
    if (value) {
        qdict_put_int(o, key, value);
    }
}

/* QEMU's ImageCheck keys, in the order qemu-img prints them. */
static void check_dump_json(const BdrvCheckResult *r, const char *filename,
                            const char *format, bool quiet)
{
    g_autoptr(JsonObject) o = qdict_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    put_nonzero(o, "image-end-offset", r->image_end_offset);
    put_nonzero(o, "compressed-clusters", r->compressed_clusters);
    put_nonzero(o, "total-clusters", r->total_clusters);
    put_nonzero(o, "corruptions", r->corruptions);
    put_nonzero(o, "corruptions-fixed", r->corruptions_fixed);
    qdict_put_int(o, "check-errors", r->check_errors);
    put_nonzero(o, "leaks", r->leaks);
    put_nonzero(o, "leaks-fixed", r->leaks_fixed);
    put_nonzero(o, "allocated-clusters", r->allocated_clusters);
    qdict_put_str(o, "filename", filename);
    qdict_put_str(o, "format", format);
    put_nonzero(o, "fragmented-clusters", r->fragmented_clusters);
    if (!quiet) {
        json_node_set_object(node, o);
        img_json_print(node);
    }
}

int img_check(int argc, char **argv)
{
    enum {
        OPT_OUTPUT = 256,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    ImgOpenOpts o = { 0 };
    ImgOutputFormat output = IMG_OUTPUT_HUMAN;
    BdrvCheckMode fix = 0;
    BdrvCheckResult r;
    BlockBackend *blk;
    const char *filename;
    bool quiet = false;
    int c, ret;

    while ((c = img_getopt(argc, argv, ":hf:r:T:qU", lopt,
                           img_check_usage)) != -1) {
        switch (c) {
        case 'f':
            o.fmt = optarg;
            break;
        case 'r':
            o.writable = true;
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                img_error_exit("Unknown option value for -r (expecting "
                               "'leaks' or 'all'): %s", optarg);
            }
            break;
        case 'T':
            o.cache = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            o.force_share = true;
            break;
        case OPT_OUTPUT:
            if (!img_parse_output(optarg, &output)) {
                return 1;
            }
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    filename = argv[optind];

    blk = img_open(filename, &o, NULL);
    if (!blk) {
        return 1;
    }
    ret = bdrv_check(blk_bs(blk), &r, fix);
    if (ret == -ENOTSUP) {
        error_report("This image format does not support checks");
        blk_unref(blk);
        return 63;
    }
    if (ret == 0 && (r.corruptions_fixed || r.leaks_fixed)) {
        int leaks_fixed = r.leaks_fixed;
        int corruptions_fixed = r.corruptions_fixed;

        if (output == IMG_OUTPUT_HUMAN) {
            img_qprintf(quiet, "The following inconsistencies were found "
                        "and repaired:\n\n    %d leaked clusters\n    %d "
                        "corruptions\n\nDouble checking the fixed image "
                        "now...\n", leaks_fixed, corruptions_fixed);
        }
        ret = bdrv_check(blk_bs(blk), &r, 0);
        r.leaks_fixed = leaks_fixed;
        r.corruptions_fixed = corruptions_fixed;
    }
    if (ret == 0) {
        if (output == IMG_OUTPUT_HUMAN) {
            check_dump_human(&r, quiet);
        } else {
            check_dump_json(&r, filename, bdrv_get_format_name(blk_bs(blk)),
                            quiet);
        }
    }
    blk_unref(blk);

    if (ret < 0 || r.check_errors) {
        if (ret < 0) {
            error_report("Check failed: %s", strerror(-ret));
        } else {
            error_report("Check failed");
        }
        return 1;
    }
    return r.corruptions ? 2 : r.leaks ? 3 : 0;
}
