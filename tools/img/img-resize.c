/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img resize: change an image's virtual size.
 *
 * The size is the last argument and may be relative (+N grows, -N
 * shrinks).  It is taken off the argument list before option parsing, as
 * qemu-img does, so that "-1G" is not mistaken for an option.  Shrinking
 * needs --shrink, because it drops the data past the new end.
 */
#include "img-common.h"

const char img_resize_usage[] =
"Usage: " IMG_NAME " resize [-f FMT] [--preallocation=PREALLOC] [-q] "
"[--shrink] FILENAME [+ | -]SIZE\n"
"\n"
"Set the virtual size of the image FILENAME to SIZE, or grow (+) or\n"
"shrink (-) it by SIZE.\n"
"\n"
"  -f FMT                 the image format (default: probe)\n"
"  --preallocation=MODE   off, metadata, falloc or full, for the new part\n"
"  --shrink               allow the image to become smaller\n"
"  -q                     quiet: print nothing but errors\n"
"  -h, --help             print this help\n";

static const char *const prealloc_names[] = {
    [PREALLOC_MODE_OFF] = "off",
    [PREALLOC_MODE_METADATA] = "metadata",
    [PREALLOC_MODE_FALLOC] = "falloc",
    [PREALLOC_MODE_FULL] = "full",
};

static bool parse_prealloc(const char *name, PreallocMode *mode)
{
    for (size_t i = 0; i < G_N_ELEMENTS(prealloc_names); i++) {
        if (!strcmp(name, prealloc_names[i])) {
            *mode = i;
            return true;
        }
    }
    return false;
}

int img_resize(int argc, char **argv)
{
    enum {
        OPT_PREALLOCATION = 256,
        OPT_SHRINK,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "preallocation", required_argument, NULL, OPT_PREALLOCATION },
        { "shrink", no_argument, NULL, OPT_SHRINK },
        { NULL, 0, NULL, 0 }
    };
    ImgOpenOpts o = { .writable = true };
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    bool quiet = false, shrink = false, have_prealloc = false;
    const char *size_arg;
    int64_t current, target;
    uint64_t n;
    int relative = 0;
    BlockBackend *blk;
    Error *err = NULL;
    int c, ret = 1;

    if (argc > 1 && (!strcmp(argv[argc - 1], "-h") ||
                     !strcmp(argv[argc - 1], "--help"))) {
        img_print_usage(img_resize_usage);
        return 0;
    }
    if (argc < 3) {
        img_error_exit("Not enough arguments");
    }
    size_arg = argv[--argc];

    while ((c = img_getopt(argc, argv, ":f:hq", lopt,
                           img_resize_usage)) != -1) {
        switch (c) {
        case 'f':
            o.fmt = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case OPT_SHRINK:
            shrink = true;
            break;
        case OPT_PREALLOCATION:
            if (!parse_prealloc(optarg, &prealloc)) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            have_prealloc = true;
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting image file name and size");
    }

    if (size_arg[0] == '+' || size_arg[0] == '-') {
        relative = size_arg[0] == '+' ? 1 : -1;
        size_arg++;
    }
    if (!parse_size(size_arg, &n, NULL) || n > INT64_MAX) {
        error_report("Parameter 'size' expects a non-negative number below "
                     "2^64");
        fprintf(stderr, "Optional suffix k, M, G, T, P or E means kilo-, "
                "mega-, giga-, tera-, peta-\nand exabytes, respectively.\n");
        return 1;
    }

    blk = img_open(argv[optind], &o, NULL);
    if (!blk) {
        return 1;
    }
    current = blk_getlength(blk);
    if (current < 0) {
        error_report("Failed to inquire current image length: %s",
                     strerror(-current));
        goto out;
    }
    target = relative ? current + relative * (int64_t)n : (int64_t)n;
    if (target <= 0) {
        error_report("New image size must be positive");
        goto out;
    }
    if (target < current && !shrink) {
        error_report("Use the --shrink option to perform a shrink "
                     "operation.");
        error_report("warning: Shrinking an image will delete all data "
                     "beyond the shrunken image's end. Before performing "
                     "such an operation, make sure there is no important "
                     "data there.");
        goto out;
    }
    if (target < current && have_prealloc &&
        prealloc != PREALLOC_MODE_OFF) {
        error_report("Preallocation can only be used for growing images");
        goto out;
    }
    if (blk_truncate(blk, target, false, prealloc, 0, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    img_qprintf(quiet, "Image resized.\n");
    ret = 0;

out:
    blk_unref(blk);
    return ret;
}
