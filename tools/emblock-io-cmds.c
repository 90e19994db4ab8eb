/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-io's command set: qemu-io's language over the public block API.
 *
 * Every command parses its words with getopt() (so option errors read
 * "read: invalid option -- 'x'", and options may follow the operands, as
 * GNU getopt permutes them), checks its arguments, runs the request and
 * prints what qemu-io 7.2 prints, in the same order and on the same stream
 * (see emblock-io-cmds.h).  Numbers take qemu-io's size syntax (cvtnum()).
 *
 * Synchronous requests use the blk_* wrappers, which poll the main
 * AioContext until done; vectored ones run blk_co_* in a coroutine the same
 * way.  Asynchronous requests (aio_read, aio_write) run in a coroutine of
 * their own that reports when the request completes; a request that
 * completes before its command returns reports from a bottom half instead,
 * so its lines never appear in the middle of the command that issued it.
 * When several requests complete at once, they report in completion order
 * (qemu-io happens to report them in reverse), so scripts that want
 * stable output flush after each one.
 *
 * This file: the output and parsing helpers, buffers, the read and write
 * options, and the synchronous read, readv, write and writev commands.
 * emblock-io-cmds-misc.c has the other commands, the command table and
 * io_command(); emblock-io-cmds-int.h is what the two files share.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/iov.h"
#include "emblock-io-cmds-int.h"

#include <ctype.h>
#include <getopt.h>

/*
 * Where the commands print: the streams of the IoState being served
 * (IoState.out and .err, stdout and stderr when NULL).  io_command() and
 * the report of an asynchronous request select them, so the helpers that
 * print need no IoState of their own.
 */
FILE *io_out;
FILE *io_err;

void io_select_output(IoState *s)
{
    io_out = s->out ? s->out : stdout;
    io_err = s->err ? s->err : stderr;
}

static void fputc_out(int c)
{
    fputc(c, io_out);
}

/* error_report() on io_err: "emblock-io: message". */
void G_GNUC_PRINTF(1, 2) io_error_report(const char *fmt, ...)
{
    va_list ap;

    fprintf(io_err, "%s: ", EMBLOCK_IO_NAME);
    va_start(ap, fmt);
    vfprintf(io_err, fmt, ap);
    va_end(ap);
    fputc('\n', io_err);
}

void io_error_report_err(Error *err)
{
    io_error_report("%s", error_get_pretty(err));
    error_free(err);
}

/* Buffers are aligned for O_DIRECT; -m moves them this far off. */
#define IO_BUF_ALIGN    4096
#define IO_MISALIGN     16

/* ---- Numbers ---------------------------------------------------------- */

/* Power of two of a size suffix (B, K, M, G, T, P, E), or -1. */
static int suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B':
        return 0;
    case 'K':
        return 10;
    case 'M':
        return 20;
    case 'G':
        return 30;
    case 'T':
        return 40;
    case 'P':
        return 50;
    case 'E':
        return 60;
    default:
        return -1;
    }
}

/*
 * Parse a size the way qemu-io does (QEMU's qemu_strtosz()): a decimal
 * integer, optionally followed by a fraction, or a hexadecimal integer
 * ("0x..."); then an optional binary suffix B/K/M/G/T/P/E (any case).  A
 * fraction needs a suffix other than B and is rounded to the nearest byte;
 * exponents are refused.  Returns the value, -EINVAL for malformed input or
 * -ERANGE for values above INT64_MAX.
 */
int64_t cvtnum(const char *s)
{
    char *end;
    const char *dot;
    uint64_t val, frac = 0;
    unsigned __int128 prod;
    bool hex = false;
    int shift, ret = 0;

    errno = 0;
    val = strtoull(s, &end, 10);
    if (end == s) {
        return -EINVAL;
    }
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (memchr(s, '-', end - s)) {
        return -EINVAL;
    }
    if (val == 0 && (*end == 'x' || *end == 'X')) {
        errno = 0;
        val = strtoull(s, &end, 16);
        if (errno == ERANGE) {
            return -ERANGE;
        }
        if (*end == '.') {
            return -EINVAL;
        }
        hex = true;
    } else if (*end == '.') {
        double f;

        dot = end;
        errno = 0;
        f = strtod(dot, &end);
        if (end == dot || errno) {
            /*
             * No fraction ("1.k") or one out of range: qemu_strtosz() then
             * skips one character after what strtod() took.
             */
            if (!*end) {
                return -EINVAL;
            }
            end++;
        } else if (memchr(dot, 'e', end - dot) ||
                   memchr(dot, 'E', end - dot)) {
            return -EINVAL;
        } else {
            /* 0.64 fixed point */
            frac = (uint64_t)(f * 0x1p64);
        }
    }

    shift = suffix_shift(*end);
    if (shift >= 0) {
        if (hex) {
            io_error_report("warning: Using a multiplier suffix on hex "
                            "numbers is deprecated: %s", s);
        }
        end++;
    } else {
        shift = 0;
    }
    if (shift == 0) {
        if (frac) {
            return -EINVAL;
        }
    } else {
        /* Exact product, the fraction rounded half up. */
        prod = (unsigned __int128)val << shift;
        prod += ((unsigned __int128)frac << shift) >> 64;
        prod += (uint64_t)((unsigned __int128)frac << shift) >> 63;
        if (prod >> 64) {
            ret = -ERANGE;
        }
        val = (uint64_t)prod;
    }
    if (*end) {
        return -EINVAL;
    }
    if (ret < 0) {
        return ret;
    }
    return val > INT64_MAX ? -ERANGE : (int64_t)val;
}

/* qemu-io's message for cvtnum() error @err, about @arg. */
void print_cvtnum_error(int64_t err, const char *arg)
{
    if (err == -EINVAL) {
        fprintf(io_out, "Parsing error: non-numeric argument, or extraneous/"
                "unrecognized suffix -- %s\n", arg);
    } else {
        fprintf(io_out, "Parsing error: argument too large -- %s\n", arg);
    }
}

/* cvtnum() that prints qemu-io's message when @arg is no good. */
int64_t parse_num(const char *arg)
{
    int64_t ret = cvtnum(arg);

    if (ret < 0) {
        print_cvtnum_error(ret, arg);
    }
    return ret;
}

/* A pattern byte (C syntax: 0x41, 0101, 65), or -1 after a message. */
static int parse_pattern(const char *arg)
{
    char *end;
    long pattern = strtol(arg, &end, 0);

    if (pattern < 0 || pattern > UCHAR_MAX || *end) {
        fprintf(io_out, "%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return pattern;
}

/* ---- Output ----------------------------------------------------------- */

/*
 * @value in the largest binary unit it reaches, three decimals, ".000"
 * dropped: "100 bytes", "1.500 KiB", "64 KiB".  Below 1 KiB the number has
 * six decimals ("1.500000 bytes") unless they start with 000.
 */
void cvtstr(double value, char *buf, size_t size)
{
    static const char *const units[] = {
        " KiB", " MiB", " GiB", " TiB", " PiB", " EiB",
    };
    const char *unit = " bytes";
    char *trim;
    int i;

    for (i = G_N_ELEMENTS(units); i > 0; i--) {
        double scale = (double)(1ULL << (10 * i));

        if (value >= scale) {
            unit = units[i - 1];
            snprintf(buf, size - strlen(unit), "%.3f", value / scale);
            break;
        }
    }
    if (i == 0) {
        snprintf(buf, size - strlen(unit), "%f", value);
    }
    trim = strstr(buf, ".000");
    if (trim) {
        *trim = '\0';
    }
    g_strlcat(buf, unit, size);
}

/* "05.12 sec" below a second, else "H:MM:SS.ss" (always with @fixed). */
static void timestr(int64_t ns, bool fixed, char *buf, size_t size)
{
    uint64_t sec = ns / 1000000000;
    double s = (double)(sec % 60) + (double)(ns % 1000000000) / 1e9;

    if (fixed || sec) {
        snprintf(buf, size, "%u:%02u:%05.2f", (unsigned)(sec / 3600),
                 (unsigned)(sec % 3600 / 60), s);
    } else {
        snprintf(buf, size, "%05.2f sec", s);
    }
}

static double per_sec(double value, int64_t ns)
{
    return value / ((double)ns / 1e9);
}

/*
 * The two report lines of a finished request, or with -C one line of
 * bytes,ops,time,bytes/sec,ops/sec.
 */
void print_report(const char *op, int64_t ns, int64_t offset,
                  int64_t count, int64_t total, int cnt, bool Cflag)
{
    char s1[64], s2[64], ts[64];

    timestr(ns, Cflag, ts, sizeof(ts));
    if (Cflag) {
        fprintf(io_out, "%" PRId64 ",%d,%s,%.3f,%.3f\n", total, cnt, ts,
                per_sec(total, ns), per_sec(cnt, ns));
        return;
    }
    cvtstr(total, s1, sizeof(s1));
    cvtstr(per_sec(total, ns), s2, sizeof(s2));
    fprintf(io_out, "%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
            op, total, count, offset);
    fprintf(io_out, "%s, %d ops; %s (%s/sec and %.4f ops/sec)\n",
            s1, cnt, ts, s2, per_sec(cnt, ns));
}

/* Hex and ASCII dump, 16 bytes a line, addressed from @offset. */
static void dump_buffer(const uint8_t *buf, int64_t offset, int64_t len)
{
    for (int64_t i = 0; i < len; i += 16) {
        int n = MIN(16, len - i);

        fprintf(io_out, "%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (int j = 0; j < n; j++) {
            fprintf(io_out, "%02x ", buf[i + j]);
        }
        fprintf(io_out, " ");
        for (int j = 0; j < n; j++) {
            fputc_out(isalnum(buf[i + j]) ? buf[i + j] : '.');
        }
        fprintf(io_out, "\n");
    }
}

/* Whether @len bytes at @buf all equal @pattern. */
static bool buf_is_pattern(const uint8_t *buf, size_t len, int pattern)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            return false;
        }
    }
    return true;
}

/* ---- Buffers ---------------------------------------------------------- */

/* An I/O buffer of @len bytes filled with @pattern; free with io_free(). */
static uint8_t *io_alloc(IoState *s, size_t len, int pattern)
{
    size_t extra = s->misalign ? IO_MISALIGN : 0;
    uint8_t *buf = qemu_blockalign(IO_BUF_ALIGN, len + extra);

    memset(buf, pattern, len + extra);
    return buf + extra;
}

void io_free(IoState *s, uint8_t *buf)
{
    if (buf) {
        qemu_vfree(buf - (s->misalign ? IO_MISALIGN : 0));
    }
}

/*
 * A buffer filled with the contents of @name, repeated as needed to reach
 * @len bytes; NULL after a message on stderr when the file cannot be read
 * or is empty.
 */
static uint8_t *io_alloc_from_file(IoState *s, size_t len, const char *name)
{
    FILE *f = fopen(name, "r");
    uint8_t *buf;
    size_t n;

    if (!f) {
        fprintf(io_err, "%s: %s\n", name, strerror(errno));
        return NULL;
    }
    buf = io_alloc(s, len, 0);
    n = fread(buf, 1, len, f);
    if (ferror(f)) {
        fprintf(io_err, "%s: %s\n", name, strerror(errno));
        goto fail;
    }
    if (n == 0) {
        fprintf(io_err, "%s: file is empty\n", name);
        goto fail;
    }
    fclose(f);
    for (size_t i = n; i < len; i += n) {
        memcpy(buf + i, buf, MIN(n, len - i));
    }
    return buf;

fail:
    fclose(f);
    io_free(s, buf);
    return NULL;
}

/*
 * Build @qiov over one buffer from the lengths in @argv (checked as
 * qemu-io does: each and their sum at most BDRV_REQUEST_MAX_BYTES).
 * Returns the buffer, filled with @pattern, or NULL after a message (then
 * @qiov is untouched).
 */
uint8_t *io_create_iovec(IoState *s, QEMUIOVector *qiov, char **argv,
                         int nr_iov, int pattern)
{
    g_autofree size_t *sizes = g_new0(size_t, nr_iov);
    uint64_t count = 0;
    uint8_t *buf, *p;

    for (int i = 0; i < nr_iov; i++) {
        int64_t len = parse_num(argv[i]);

        if (len < 0) {
            return NULL;
        }
        if (len > BDRV_REQUEST_MAX_BYTES) {
            fprintf(io_out, "Argument '%s' exceeds maximum size %" PRIu64 "\n",
                    argv[i], (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return NULL;
        }
        if (count > BDRV_REQUEST_MAX_BYTES - len) {
            fprintf(io_out, "The total number of bytes exceed the maximum "
                    "size %" PRIu64 "\n", (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return NULL;
        }
        sizes[i] = len;
        count += len;
    }

    qemu_iovec_init(qiov, nr_iov);
    buf = p = io_alloc(s, count, pattern);
    for (int i = 0; i < nr_iov; i++) {
        qemu_iovec_add(qiov, p, sizes[i]);
        p += sizes[i];
    }
    return buf;
}

/* FUA is added to every write when the cache mode is writethrough. */
BdrvRequestFlags write_flags(IoState *s, BdrvRequestFlags flags)
{
    return s->writethrough ? flags | BDRV_REQ_FUA : flags;
}

/* ---- Vectored requests run to completion ------------------------------ */

typedef struct IoCoRw {
    BlockBackend *blk;
    bool is_write;
    int64_t offset;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    int ret;
    bool done;
} IoCoRw;

static void coroutine_fn io_co_rw_entry(void *opaque)
{
    IoCoRw *rw = opaque;

    if (rw->is_write) {
        rw->ret = blk_co_pwritev(rw->blk, rw->offset, rw->qiov->size,
                                 rw->qiov, rw->flags);
    } else {
        rw->ret = blk_co_preadv(rw->blk, rw->offset, rw->qiov->size,
                                rw->qiov, rw->flags);
    }
    rw->done = true;
}

/* Read or write @qiov at @offset; 0 or a negative errno. */
static int io_rwv(IoState *s, bool is_write, int64_t offset,
                  QEMUIOVector *qiov, BdrvRequestFlags flags)
{
    IoCoRw rw = {
        .blk = s->blk, .is_write = is_write, .offset = offset,
        .qiov = qiov, .flags = flags,
    };

    aio_run_co_sync(io_co_rw_entry, &rw, &rw.done);
    return rw.ret;
}

/* ---- Options of the read and write commands --------------------------- */

/*
 * getopt() over the options @optstring of the command @cmd into @o.
 * Returns 0, IO_OPTS_INJECTED after aio_read/aio_write -i (which stops the
 * command there), or a negative errno after a message; an unknown option
 * prints @cmd's usage.  -s is a file for writes, an offset for reads.
 */
int parse_rw_opts(int argc, char **argv, const char *cmd,
                  const char *optstring, bool is_write, IoRwOpts *o)
{
    int c;

    while ((c = getopt(argc, argv, optstring)) != -1) {
        switch (c) {
        case 'b':
            o->bflag = true;
            break;
        case 'c':
            o->cflag = true;
            break;
        case 'C':
            o->Cflag = true;
            break;
        case 'f':
            o->flags |= BDRV_REQ_FUA;
            break;
        case 'i':
            fprintf(io_out, "injecting invalid %s request\n",
                    is_write ? "write" : "read");
            return IO_OPTS_INJECTED;
        case 'l':
            o->lflag = true;
            o->pattern_count = parse_num(optarg);
            if (o->pattern_count < 0) {
                return o->pattern_count;
            }
            break;
        case 'n':
            o->flags |= BDRV_REQ_NO_FALLBACK;
            break;
        case 'p':
            break;
        case 'P':
            o->Pflag = true;
            o->pattern = parse_pattern(optarg);
            if (o->pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            o->qflag = true;
            break;
        case 's':
            o->sflag = true;
            if (is_write) {
                o->file_name = optarg;
                break;
            }
            o->pattern_offset = parse_num(optarg);
            if (o->pattern_offset < 0) {
                return o->pattern_offset;
            }
            break;
        case 'u':
            o->flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'v':
            o->vflag = true;
            break;
        case 'z':
            o->zflag = true;
            break;
        default:
            io_command_usage(cmd);
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * OFF and LEN from @args.  A LEN above BDRV_REQUEST_MAX_BYTES is refused
 * when @limit_note is not NULL, which then completes the message.  Returns
 * 0 or a negative errno after a message.
 */
int parse_range(char **args, const char *limit_note,
                int64_t *offset, int64_t *count)
{
    *count = 0;
    *offset = parse_num(args[0]);
    if (*offset < 0) {
        return *offset;
    }
    *count = parse_num(args[1]);
    if (*count < 0) {
        return *count;
    }
    if (limit_note && *count > BDRV_REQUEST_MAX_BYTES) {
        fprintf(io_out, "length cannot exceed %" PRIu64 "%s, given %s\n",
                (uint64_t)BDRV_REQUEST_MAX_BYTES, limit_note, args[1]);
        return -EINVAL;
    }
    return 0;
}

/* The VM state area and compressed writes take whole sectors. */
static bool sectors_ok(int64_t offset, int64_t count)
{
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        fprintf(io_out, "%" PRId64 " is not a sector-aligned value for "
                "'offset'\n", offset);
        return false;
    }
    if (!QEMU_IS_ALIGNED(count, BDRV_SECTOR_SIZE)) {
        fprintf(io_out, "%" PRId64 " is not a sector-aligned value for "
                "'count'\n", count);
        return false;
    }
    return true;
}

/*
 * What a read prints once its data is in: a failed -P check of the range
 * @o describes, the dump (-v) and the statistics, the last two unless -q.
 * Returns -EINVAL when the check failed, else 0.
 */
int report_read(const IoRwOpts *o, const uint8_t *buf,
                int64_t offset, int64_t count, int64_t ns)
{
    int ret = 0;

    if (o->Pflag && !buf_is_pattern(buf + o->pattern_offset,
                                    o->pattern_count, o->pattern)) {
        fprintf(io_out, "Pattern verification failed at offset %" PRId64 ", %"
                PRId64 " bytes\n", offset + o->pattern_offset,
                o->pattern_count);
        ret = -EINVAL;
    }
    if (!o->qflag) {
        if (o->vflag) {
            dump_buffer(buf, offset, count);
        }
        print_report("read", ns, offset, count, count, 1, o->Cflag);
    }
    return ret;
}

/* ---- read, readv, write, writev --------------------------------------- */

void read_help(void)
{
    fprintf(io_out,
 "\n"
 " Reads LEN bytes at offset OFF of the image.\n"
 "\n"
 " Example: 'read -v 512 1k' reads 1 KiB at offset 512 and dumps it.\n"
 "\n"
 " -b, -- read from the VM state area (not supported by emblock)\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -l, -- how many bytes to compare with -P (default: to the end)\n"
 " -p, -- accepted and ignored\n"
 " -P, -- check that the data read is all this byte\n"
 " -q, -- quiet: print no statistics\n"
 " -s, -- where the -P comparison starts in the data read\n"
 " -v, -- dump the data read in hex and ASCII\n"
 "\n");
}

int read_f(IoState *s, int argc, char **argv)
{
    IoRwOpts o = { 0 };
    int64_t offset, count, ns;
    uint8_t *buf;
    int ret;

    ret = parse_rw_opts(argc, argv, "read", "bCl:pP:qs:v", false, &o);
    if (ret < 0) {
        return ret;
    }
    if (optind != argc - 2) {
        io_command_usage("read");
        return -EINVAL;
    }
    ret = parse_range(&argv[optind], "", &offset, &count);
    if (ret < 0) {
        return ret;
    }
    if (!o.Pflag && (o.lflag || o.sflag)) {
        io_command_usage("read");
        return -EINVAL;
    }
    if (!o.lflag) {
        o.pattern_count = count - o.pattern_offset;
    }
    if (o.pattern_count < 0 || o.pattern_count + o.pattern_offset > count) {
        fprintf(io_out,
                "pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    if (o.bflag && !sectors_ok(offset, count)) {
        return -EINVAL;
    }

    buf = io_alloc(s, count, 0xab);
    ns = get_clock_ns();
    /* There is no VM state area to read from. */
    ret = o.bflag ? -ENOTSUP : blk_pread(s->blk, offset, count, buf, 0);
    ns = get_clock_ns() - ns;
    if (ret < 0) {
        fprintf(io_out, "read failed: %s\n", strerror(-ret));
    } else {
        ret = report_read(&o, buf, offset, count, ns);
    }
    io_free(s, buf);
    return ret;
}

void readv_help(void)
{
    fprintf(io_out,
 "\n"
 " Reads into several buffers, one per LEN, from offset OFF of the image.\n"
 "\n"
 " Example: 'readv -v 512 1k 1k' reads 2 KiB at offset 512 and dumps it.\n"
 "\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -P, -- check that the data read is all this byte\n"
 " -q, -- quiet: print no statistics\n"
 " -v, -- dump the data read in hex and ASCII\n"
 "\n");
}

int readv_f(IoState *s, int argc, char **argv)
{
    IoRwOpts o = { 0 };
    QEMUIOVector qiov;
    int64_t offset, ns;
    uint8_t *buf;
    int ret;

    ret = parse_rw_opts(argc, argv, "readv", "CP:qv", false, &o);
    if (ret < 0) {
        return ret;
    }
    if (optind > argc - 2) {
        io_command_usage("readv");
        return -EINVAL;
    }
    offset = parse_num(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    optind++;
    buf = io_create_iovec(s, &qiov, &argv[optind], argc - optind, 0xab);
    if (!buf) {
        return -EINVAL;
    }

    ns = get_clock_ns();
    ret = io_rwv(s, false, offset, &qiov, 0);
    ns = get_clock_ns() - ns;
    if (ret < 0) {
        fprintf(io_out, "readv failed: %s\n", strerror(-ret));
    } else {
        o.pattern_count = qiov.size;
        ret = report_read(&o, buf, offset, qiov.size, ns);
    }
    io_free(s, buf);
    qemu_iovec_destroy(&qiov);
    return ret;
}

void write_help(void)
{
    fprintf(io_out,
 "\n"
 " Writes LEN bytes at offset OFF of the image, by default all 0xcd.\n"
 "\n"
 " Example: 'write -P 0x5a 512 1k' writes 1 KiB of 0x5a at offset 512.\n"
 "\n"
 " -b, -- write to the VM state area (not supported by emblock)\n"
 " -c, -- write compressed data\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -f, -- force unit access: the data is stable when the write completes\n"
 " -n, -- with -z, fail rather than fall back to writing zeroed buffers\n"
 " -p, -- accepted and ignored\n"
 " -P, -- write this byte instead of 0xcd\n"
 " -q, -- quiet: print no statistics\n"
 " -s, -- take the data from this file, repeated as needed\n"
 " -u, -- with -z, allow the range to be unmapped\n"
 " -z, -- write zeroes without a data buffer\n"
 "\n");
}

/* write's checks of its option combinations, in qemu-io's order. */
static bool write_opts_ok(const IoRwOpts *o)
{
    if (o->bflag && o->zflag) {
        fprintf(io_out, "-b and -z cannot be specified at the same time\n");
    } else if ((o->flags & BDRV_REQ_FUA) && (o->bflag || o->cflag)) {
        fprintf(io_out,
                "-f and -b or -c cannot be specified at the same time\n");
    } else if ((o->flags & BDRV_REQ_NO_FALLBACK) && !o->zflag) {
        fprintf(io_out, "-n requires -z to be specified\n");
    } else if ((o->flags & BDRV_REQ_MAY_UNMAP) && !o->zflag) {
        fprintf(io_out, "-u requires -z to be specified\n");
    } else if (o->zflag + o->Pflag + o->sflag > 1) {
        fprintf(io_out, "Only one of -z, -P, and -s can be specified at the "
                "same time\n");
    } else {
        return true;
    }
    return false;
}

/* Run the write @o describes; 0 or a negative errno. */
static int do_write(IoState *s, const IoRwOpts *o, int64_t offset,
                    int64_t count, const uint8_t *buf)
{
    BdrvRequestFlags flags = write_flags(s, o->flags);

    if (o->bflag) {
        return -ENOTSUP;    /* there is no VM state area */
    } else if (o->zflag) {
        return blk_pwrite_zeroes(s->blk, offset, count, flags);
    } else if (o->cflag) {
        flags |= BDRV_REQ_WRITE_COMPRESSED;
    }
    return blk_pwrite(s->blk, offset, count, buf, flags);
}

int write_f(IoState *s, int argc, char **argv)
{
    IoRwOpts o = { .pattern = 0xcd };
    int64_t offset, count, ns;
    uint8_t *buf = NULL;
    int ret;

    ret = parse_rw_opts(argc, argv, "write", "bcCfnpP:qs:uz", true, &o);
    if (ret < 0) {
        return ret;
    }
    if (optind != argc - 2) {
        io_command_usage("write");
        return -EINVAL;
    }
    if (!write_opts_ok(&o)) {
        return -EINVAL;
    }
    ret = parse_range(&argv[optind],
                      o.flags & BDRV_REQ_NO_FALLBACK ? NULL : " without -n",
                      &offset, &count);
    if (ret < 0) {
        return ret;
    }
    if ((o.bflag || o.cflag) && !sectors_ok(offset, count)) {
        return -EINVAL;
    }
    if (o.sflag) {
        buf = io_alloc_from_file(s, count, o.file_name);
        if (!buf) {
            return -EINVAL;
        }
    } else if (!o.zflag) {
        buf = io_alloc(s, count, o.pattern);
    }

    ns = get_clock_ns();
    ret = do_write(s, &o, offset, count, buf);
    ns = get_clock_ns() - ns;
    if (ret < 0) {
        fprintf(io_out, "write failed: %s\n", strerror(-ret));
    } else {
        ret = 0;
        if (!o.qflag) {
            print_report("wrote", ns, offset, count, count, 1, o.Cflag);
        }
    }
    io_free(s, buf);
    return ret;
}

void writev_help(void)
{
    fprintf(io_out,
 "\n"
 " Writes from several buffers, one per LEN, at offset OFF of the image;\n"
 " the data is all 0xcd unless -P says otherwise.\n"
 "\n"
 " Example: 'writev 512 1k 1k' writes 2 KiB at offset 512.\n"
 "\n"
 " -C, -- print the statistics as one line of comma-separated numbers\n"
 " -f, -- force unit access: the data is stable when the write completes\n"
 " -P, -- write this byte instead of 0xcd\n"
 " -q, -- quiet: print no statistics\n"
 "\n");
}

int writev_f(IoState *s, int argc, char **argv)
{
    IoRwOpts o = { .pattern = 0xcd };
    QEMUIOVector qiov;
    int64_t offset, ns;
    uint8_t *buf;
    int ret;

    ret = parse_rw_opts(argc, argv, "writev", "CfP:q", true, &o);
    if (ret < 0) {
        return ret;
    }
    if (optind > argc - 2) {
        io_command_usage("writev");
        return -EINVAL;
    }
    offset = parse_num(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    optind++;
    buf = io_create_iovec(s, &qiov, &argv[optind], argc - optind,
                          o.pattern);
    if (!buf) {
        return -EINVAL;
    }

    ns = get_clock_ns();
    ret = io_rwv(s, true, offset, &qiov, write_flags(s, o.flags));
    ns = get_clock_ns() - ns;
    if (ret < 0) {
        fprintf(io_out, "writev failed: %s\n", strerror(-ret));
    } else {
        ret = 0;
        if (!o.qflag) {
            print_report("wrote", ns, offset, qiov.size, qiov.size, 1,
                         o.Cflag);
        }
    }
    io_free(s, buf);
    qemu_iovec_destroy(&qiov);
    return ret;
}
