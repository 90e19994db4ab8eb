/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img: what the subcommand files share.
 *
 * The tool speaks qemu-img's interface: the same subcommands, options,
 * messages and exit codes, so scripts and iotests written against
 * qemu-img run unchanged (with the program name swapped).  Each
 * subcommand lives in its own img-NAME.c and exports one entry point,
 * img_NAME(argc, argv), called with argv[0] being the subcommand's name;
 * it returns the process exit status.  emblock-img.c holds main(), the
 * dispatcher and the helpers declared here.
 *
 * Messages go to stderr as "emblock-img: TEXT" (error_report()); usage
 * errors add "Try 'emblock-img --help' for more information" and exit 1,
 * as qemu-img does.
 */
#ifndef EMBLOCK_TOOLS_IMG_COMMON_H
#define EMBLOCK_TOOLS_IMG_COMMON_H

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/options.h"

#include <getopt.h>
#include <json-glib/json-glib.h>

#define IMG_NAME "emblock-img"

/* The largest chunk a subcommand reads or writes at once. */
#define IMG_IO_BUF_SIZE (2 * 1024 * 1024)

typedef enum ImgOutputFormat {
    IMG_OUTPUT_HUMAN,
    IMG_OUTPUT_JSON,
} ImgOutputFormat;

/* Subcommand entry points (img-NAME.c). */
int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_map(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_check(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_measure(int argc, char **argv);

/* ---- Command line ---------------------------------------------------- */

/*
 * Report a usage error (printf-style) and exit(1) with qemu-img's hint
 * to try --help.
 */
void QEMU_NORETURN G_GNUC_PRINTF(1, 2) img_error_exit(const char *fmt, ...);

/*
 * getopt_long() for subcommands: the option string must start with ':'
 * (missing arguments come back as ':').  Unknown options and missing
 * arguments end the program through img_error_exit() with qemu-img's
 * wording; "-h"/"--help" prints @usage and exits 0.  Returns the next
 * option or -1.
 */
int img_getopt(int argc, char **argv, const char *shortopts,
               const struct option *longopts, const char *usage);

/* Print a subcommand's usage text (the "Usage: ..." block) to stdout. */
void img_print_usage(const char *usage);

/*
 * Parse @value as a size (k, M, G, T, P, E suffixes) between 0 and
 * INT64_MAX.  On error print qemu-img's "Invalid NAME specified..."
 * lines and return a negative errno.
 */
int64_t img_cvtnum(const char *name, const char *value);

/* Parse --output's argument; false after reporting a bad one. */
bool img_parse_output(const char *arg, ImgOutputFormat *fmt);

/* Append one -o argument @arg to @opts, ','-separated. */
void img_append_opts(GString *opts, const char *arg);

/* ---- Opening images -------------------------------------------------- */

typedef struct ImgOpenOpts {
    const char *fmt;          /* NULL: probe (qcow2 magic, else raw) */
    const char *cache;        /* qemu-img cache mode; NULL: writeback */
    const char *aio;          /* file.aio, NULL: the driver's default */
    bool writable;
    bool force_share;         /* -U */
    bool no_backing;          /* leave the backing chain closed */
    bool unmap;               /* discard=unmap: zero writes may unmap */
    bool image_opts;          /* --image-opts: the name is an options
                                 string (dotted keys), fmt must be NULL */
} ImgOpenOpts;

/*
 * Parse a qemu-img cache mode (none, off, writeback, writethrough,
 * directsync, unsafe).  *writethrough says whether writes must carry FUA.
 * Returns false for an unknown mode.
 */
bool img_parse_cache(const char *mode, bool *direct, bool *no_flush,
                     bool *writethrough);

/*
 * Open @filename as a BlockBackend, read-only unless o->writable.  With no
 * format, probe: the qcow2 magic means qcow2, anything else raw (warning
 * when opened writable, as qemu-img does).  A protocol given as the
 * format (-f file) opens the protocol node alone.  With o->image_opts,
 * @filename is a dotted-key options string ("driver=qcow2,file.filename=x")
 * opened as given; -f and a "force-share=off" contradicting -U are
 * refused with qemu-img's messages.  *writethrough (may be NULL) tells
 * whether the cache mode wants FUA writes.  On failure report "Could not
 * open 'FILE': REASON" and return NULL.
 */
BlockBackend *img_open(const char *filename, const ImgOpenOpts *o,
                       bool *writethrough);

/* The format probing would choose for @filename ("qcow2" or "raw"). */
const char *img_probe_format(const char *filename);

/* Whether @fmt is a format driver emblock knows. */
bool img_format_known(const char *fmt);

/*
 * The path a backing file name @backing resolves to for an image named
 * @image: itself if absolute, else relative to @image's directory.
 */
char *img_backing_path(const char *image, const char *backing);

/* ---- Creating images (img-create.c) ---------------------------------- */

typedef struct ImgCreateRequest {
    const char *filename;
    const char *fmt;
    const char *options;      /* -o text (NAME=VALUE,...), or NULL */
    const char *backing;      /* backing file name for the header, or NULL */
    const char *backing_fmt;  /* its format, or NULL */
    int64_t size;             /* -1: from -o size= or the backing file */
    bool no_backing_open;     /* -u: do not open the backing file */
    bool print;               /* print qemu-img's "Formatting ..." line */
} ImgCreateRequest;

/*
 * Create an image as qemu-img create does: check the options against the
 * format's table, open the backing file unless told not to, print the
 * "Formatting" line if asked, then create.  Returns 0, or a negative
 * errno with @errp set (callers prefix the file name).
 */
int img_create_image(const ImgCreateRequest *req, Error **errp);

/*
 * Parse the -o text @options and check every NAME=VALUE against @fmt's
 * creation options (raw or qcow2), as qemu-img does before it creates or
 * measures: returns a new dict NAME -> value as a string, sizes in bytes
 * and booleans as "on"/"off".  An unknown name (also "help"), a value of
 * the wrong type, or a format without a table fails with @errp set to
 * qemu-img's message ("Invalid parameter 'NAME'", "Parameter 'NAME'
 * expects ...").  Values are not checked any further (power-of-two
 * cluster sizes and the like are the caller's business).
 */
JsonObject *img_create_parse_options(const char *fmt, const char *options,
                                     Error **errp);

/*
 * If the -o text @options asks for help ("help" or "?"), list @fmt's
 * creation options and return true.
 */
bool img_create_help(const char *fmt, const char *options);

/* ---- Output ---------------------------------------------------------- */

/* "392 KiB", "1.5 GiB", "0 B": qemu-img's three-digit human sizes. */
char *img_size_to_str(uint64_t val);

/*
 * Print @node as QEMU's pretty JSON (util/qjson.h: 4-space indent, non-ASCII
 * escaped), then a newline.
 */
void img_json_print(JsonNode *node);

/*
 * qemu-img's progress line "    (P/100%)\r" on stdout, printed when -p
 * is given and the percentage moved by more than @min_skip since the last
 * print (and always at 0 and 100).
 */
void img_progress_init(bool enabled, float min_skip);
/* Set the percentage to @percent (0 to 100). */
void img_progress_set(float percent);
/* Add @delta percent. */
void img_progress_add(float delta);
/* End the line. */
void img_progress_end(void);

/* printf unless @quiet. */
void G_GNUC_PRINTF(2, 3) img_qprintf(bool quiet, const char *fmt, ...);

#endif /* EMBLOCK_TOOLS_IMG_COMMON_H */
