/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the two halves of emblock-io's command set share: the output
 * streams and helpers, number parsing and the read/write option parser
 * (emblock-io-cmds.c), and the read/write family's entries for the command
 * table (emblock-io-cmds-misc.c).  Private to those two files.
 */
#ifndef EMBLOCK_IO_CMDS_INT_H
#define EMBLOCK_IO_CMDS_INT_H

#include "util/osdep.h"
#include "util/iov.h"
#include "emblock-io-cmds.h"

/* ---- emblock-io-cmds.c: output --------------------------------------- */

/*
 * Where the commands print, selected per IoState by io_select_output()
 * (IoState.out and .err, stdout and stderr when NULL).
 */
extern FILE *io_out;
extern FILE *io_err;

void io_select_output(IoState *s);

/* error_report() on io_err: "emblock-io: message". */
void G_GNUC_PRINTF(1, 2) io_error_report(const char *fmt, ...);
void io_error_report_err(Error *err);

/* ---- emblock-io-cmds.c: numbers and reports -------------------------- */

int64_t cvtnum(const char *s);
void print_cvtnum_error(int64_t err, const char *arg);
int64_t parse_num(const char *arg);
void cvtstr(double value, char *buf, size_t size);
void print_report(const char *op, int64_t ns, int64_t offset,
                  int64_t count, int64_t total, int cnt, bool Cflag);

/* ---- emblock-io-cmds.c: buffers -------------------------------------- */

void io_free(IoState *s, uint8_t *buf);
uint8_t *io_create_iovec(IoState *s, QEMUIOVector *qiov, char **argv,
                         int nr_iov, int pattern);
BdrvRequestFlags write_flags(IoState *s, BdrvRequestFlags flags);

/* ---- emblock-io-cmds.c: options of the read and write commands ------- */

typedef struct IoRwOpts {
    bool Cflag, qflag, vflag;  /* -C, -q, -v */
    bool bflag, cflag, zflag;  /* write -b, -c, -z (read -b) */
    bool Pflag, sflag, lflag;  /* -P, -s, -l were given */
    int pattern;               /* -P byte */
    int64_t pattern_offset;    /* read -s: where the -P check starts */
    int64_t pattern_count;     /* read -l: how many bytes it checks */
    const char *file_name;     /* write -s: where the data comes from */
    BdrvRequestFlags flags;    /* -f, -n, -u */
} IoRwOpts;

/* parse_rw_opts() met aio -i: the command is over, successfully. */
#define IO_OPTS_INJECTED 1

int parse_rw_opts(int argc, char **argv, const char *cmd,
                  const char *optstring, bool is_write, IoRwOpts *o);
int parse_range(char **args, const char *limit_note,
                int64_t *offset, int64_t *count);
int report_read(const IoRwOpts *o, const uint8_t *buf,
                int64_t offset, int64_t count, int64_t ns);

/* ---- emblock-io-cmds.c: read, readv, write, writev ------------------- */

void read_help(void);
int read_f(IoState *s, int argc, char **argv);
void readv_help(void);
int readv_f(IoState *s, int argc, char **argv);
void write_help(void);
int write_f(IoState *s, int argc, char **argv);
void writev_help(void);
int writev_f(IoState *s, int argc, char **argv);

#endif /* EMBLOCK_IO_CMDS_INT_H */
