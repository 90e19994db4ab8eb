/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Cost of emblock's request path on a real file, next to the bare system
 * calls on the same file.  Prints figures; nothing passes or fails.
 *
 * Modes:
 *
 *   bench-io [seq] [SIZE [DIR]]
 *     Sequential 1 MiB requests over a SIZE file (default 1G, or
 *     $BENCH_IO_SIZE) created in a fresh directory under DIR (default
 *     $BENCH_IO_DIR, else $TMPDIR or /tmp) and removed afterwards.  Bare
 *     pread()/pwrite() loops are compared with raw-over-file nodes driven
 *     through the synchronous wrappers (blk_pread/blk_pwrite: one coroutine
 *     and one event-loop wait per request) and through one long-lived
 *     coroutine calling blk_co_pread/blk_co_pwrite (one request in flight),
 *     with aio=threads, and with aio=native when O_DIRECT.  Buffered reads
 *     are measured hot, after a warm-up pass has put the whole file in the
 *     page cache, so they show the CPU cost of each path; buffered writes
 *     include the fdatasync() (blk_flush) that puts them on disk, after an
 *     untimed one that leaves nothing dirty from before.  O_DIRECT passes
 *     are the disk-bound comparison; their writes end with a flush too.
 *     Each figure is the best of $BENCH_IO_RUNS passes (default 3); the
 *     passes of all variants are interleaved, so that drift in the disk's
 *     speed hits every variant alike.
 *
 *   bench-io queue [-d DEPTH] [-s BUFSIZE] [-t none|writeback]
 *                  [-i native|threads] FILE read|write seq|rand COUNT
 *     COUNT requests of BUFSIZE bytes (default 4k), DEPTH (default 32) in
 *     flight, on FILE opened as raw over file; the options are spelled as
 *     qemu-img bench spells them, and default to -t none -i native
 *     (cache.direct=on, aio=native).  DEPTH coroutines each loop over
 *     blk_co_pread/blk_co_pwrite while requests remain.  "seq" is
 *     qemu-img bench's pattern: each new request starts BUFSIZE after the
 *     previously issued one, wrapping at end of file; "rand" picks a
 *     BUFSIZE-aligned offset uniformly over the file (xorshift64*, fixed
 *     seed).  Prints one line ending in "N ops/s";
 *     tests/bench/bench-io.sh runs this next to qemu-img bench on the
 *     same file.
 *
 *   bench-io queue-bare [-d DEPTH] [-s BUFSIZE] FILE read|write seq|rand
 *                       COUNT
 *     The same requests with libaio directly on an O_DIRECT descriptor
 *     (io_submit/io_getevents, no event loop): the ceiling for both.
 *
 *   bench-io fill FILE SIZE
 *     Create FILE with SIZE bytes of non-zero data, written for real so
 *     that reads of it reach the disk.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/iov.h"
#include "block/block-backend.h"
#include "config-host.h"

#include <fcntl.h>
#include <sys/stat.h>

#ifdef CONFIG_LINUX_AIO
#include <libaio.h>
#endif

#define SEQ_CHUNK (1024 * 1024)
#define QUEUE_BLOCK 4096
#define MEM_ALIGN 4096
#define FILL_BYTE 0xa5
#define DEFAULT_SIZE (1024 * 1024 * 1024)
#define DEFAULT_RUNS 3
#define DEFAULT_DEPTH 32
#define MAX_DEPTH 1024

static void G_GNUC_PRINTF(1, 2) QEMU_NORETURN die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "bench-io: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double seconds_since(int64_t start_ns)
{
    return (get_clock_ns() - start_ns) / 1e9;
}

static uint64_t size_arg(const char *str, const char *what)
{
    uint64_t value;
    Error *err = NULL;

    if (!parse_size(str, &value, &err)) {
        die("invalid %s '%s': %s", what, str, error_get_pretty(err));
    }
    return value;
}

static uint64_t count_arg(const char *str, const char *what)
{
    guint64 value;

    if (!g_ascii_string_to_unsigned(str, 10, 1, G_MAXINT64, &value, NULL)) {
        die("invalid %s '%s'", what, str);
    }
    return value;
}

/* Open a raw node over @path with the given cache and aio modes. */
static BlockBackend *open_backend(const char *path, bool direct,
                                  const char *aio)
{
    BlockOptions *opts = qdict_new();
    BlockOptions *file = qdict_new();
    BlockOptions *cache = qdict_new();
    BlockDriverState *bs;
    BlockBackend *blk;
    Error *err = NULL;

    qdict_put_str(file, "driver", "file");
    qdict_put_str(file, "filename", path);
    qdict_put_str(file, "aio", aio);
    qdict_put_bool(cache, "direct", direct);
    qdict_put_str(opts, "driver", "raw");
    qdict_put_obj(opts, "cache", cache);
    qdict_put_obj(opts, "file", file);
    bs = bdrv_open_options(opts, &err);
    qdict_unref(cache);
    qdict_unref(file);
    qdict_unref(opts);
    if (!bs) {
        die("cannot open %s (cache.direct=%s, aio=%s): %s", path,
            direct ? "on" : "off", aio, error_get_pretty(err));
    }
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                          BLK_PERM_ALL, &err);
    bdrv_unref(bs);
    if (!blk) {
        die("cannot attach %s: %s", path, error_get_pretty(err));
    }
    return blk;
}

static int open_fd(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);

    if (fd < 0) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    return fd;
}

/* ---- fill ------------------------------------------------------------ */

static void fill_file(const char *path, uint64_t size)
{
    uint8_t *buf = qemu_blockalign(MEM_ALIGN, SEQ_CHUNK);
    int fd = open_fd(path, O_WRONLY | O_CREAT | O_TRUNC);

    memset(buf, FILL_BYTE, SEQ_CHUNK);
    for (uint64_t off = 0; off < size; off += SEQ_CHUNK) {
        size_t len = MIN(size - off, SEQ_CHUNK);

        if (pwrite(fd, buf, len, off) != (ssize_t)len) {
            die("cannot write %s: %s", path, strerror(errno));
        }
    }
    if (fdatasync(fd) < 0 || close(fd) < 0) {
        die("cannot sync %s: %s", path, strerror(errno));
    }
    qemu_vfree(buf);
}

/* ---- Sequential 1 MiB requests --------------------------------------- */

typedef enum SeqKind {
    SEQ_BARE,           /* pread()/pwrite() */
    SEQ_SYNC,           /* blk_pread()/blk_pwrite() */
    SEQ_CO,             /* one coroutine, blk_co_pread()/blk_co_pwrite() */
} SeqKind;

typedef struct SeqVariant {
    const char *label;
    SeqKind kind;
    const char *aio;    /* emblock variants */
    double best[2];     /* MB/s, [0] read, [1] write */
} SeqVariant;

typedef struct SeqJob {
    const char *path;
    uint64_t size;
    bool direct;
    bool is_write;
    uint8_t *buf;
} SeqJob;

typedef struct SeqCo {
    BlockBackend *blk;
    SeqJob *job;
    int ret;
    bool done;
} SeqCo;

static void seq_check(int ret, SeqJob *job, const char *who)
{
    if (ret < 0) {
        die("%s %s failed: %s", who, job->is_write ? "write" : "read",
            strerror(-ret));
    }
}

static double seq_bare(SeqJob *job)
{
    int fd = open_fd(job->path, O_RDWR | (job->direct ? O_DIRECT : 0));
    int64_t start;
    double secs;

    if (job->is_write && fdatasync(fd) < 0) {
        die("fdatasync: %s", strerror(errno));
    }
    start = get_clock_ns();
    for (uint64_t off = 0; off < job->size; off += SEQ_CHUNK) {
        ssize_t n = job->is_write ? pwrite(fd, job->buf, SEQ_CHUNK, off)
                                  : pread(fd, job->buf, SEQ_CHUNK, off);
        if (n != SEQ_CHUNK) {
            die("bare %s: %s", job->is_write ? "pwrite" : "pread",
                n < 0 ? strerror(errno) : "short transfer");
        }
    }
    if (job->is_write && fdatasync(fd) < 0) {
        die("fdatasync: %s", strerror(errno));
    }
    secs = seconds_since(start);
    close(fd);
    return secs;
}

static double seq_sync(SeqJob *job, BlockBackend *blk)
{
    int64_t start = get_clock_ns();

    for (uint64_t off = 0; off < job->size; off += SEQ_CHUNK) {
        int ret = job->is_write ? blk_pwrite(blk, off, SEQ_CHUNK, job->buf, 0)
                                : blk_pread(blk, off, SEQ_CHUNK, job->buf, 0);
        seq_check(ret, job, "blk");
    }
    if (job->is_write) {
        seq_check(blk_flush(blk), job, "blk_flush after");
    }
    return seconds_since(start);
}

static void coroutine_fn seq_co_entry(void *opaque)
{
    SeqCo *s = opaque;
    SeqJob *job = s->job;
    int ret = 0;

    for (uint64_t off = 0; off < job->size && ret == 0; off += SEQ_CHUNK) {
        ret = job->is_write ?
              blk_co_pwrite(s->blk, off, SEQ_CHUNK, job->buf, 0) :
              blk_co_pread(s->blk, off, SEQ_CHUNK, job->buf, 0);
    }
    if (ret == 0 && job->is_write) {
        ret = blk_co_flush(s->blk);
    }
    s->ret = ret;
    s->done = true;
}

static double seq_co(SeqJob *job, BlockBackend *blk)
{
    AioContext *ctx = qemu_get_aio_context();
    SeqCo s = { .blk = blk, .job = job };
    int64_t start = get_clock_ns();

    qemu_coroutine_enter(qemu_coroutine_create(seq_co_entry, &s));
    while (!s.done) {
        aio_poll(ctx, true);
    }
    seq_check(s.ret, job, "blk_co");
    return seconds_since(start);
}

/* One timed pass of @v; returns MB/s (10^6 bytes per second). */
static double seq_pass(SeqVariant *v, SeqJob *job)
{
    BlockBackend *blk;
    double secs;

    if (v->kind == SEQ_BARE) {
        secs = seq_bare(job);
    } else {
        blk = open_backend(job->path, job->direct, v->aio);
        if (job->is_write) {
            seq_check(blk_flush(blk), job, "blk_flush before");
        }
        secs = v->kind == SEQ_SYNC ? seq_sync(job, blk) : seq_co(job, blk);
        blk_unref(blk);
    }
    return job->size / secs / 1e6;
}

/* Best of @runs interleaved passes of every variant, for one direction. */
static void seq_measure(SeqVariant *vars, int nvars, SeqJob *job, int runs)
{
    int dir = job->is_write;

    for (int i = 0; i < nvars; i++) {
        vars[i].best[dir] = 0;
    }
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < nvars; i++) {
            vars[i].best[dir] = MAX(vars[i].best[dir],
                                    seq_pass(&vars[i], job));
        }
    }
}

static void seq_print(const char *title, SeqVariant *vars, int nvars)
{
    printf("%s\n", title);
    for (int i = 0; i < nvars; i++) {
        printf("  %-40s", vars[i].label);
        for (int dir = 0; dir < 2; dir++) {
            double ref = vars[0].best[dir];

            printf(" %9.1f", vars[i].best[dir]);
            if (i == 0) {
                printf("%s", dir == 0 ? "          " : "");
            } else {
                printf(" %+8.1f%%", (ref - vars[i].best[dir]) / ref * 100);
            }
        }
        printf("\n");
    }
}

static void seq_group(const char *title, SeqVariant *vars, int nvars,
                      SeqJob *job, int runs)
{
    job->is_write = true;
    seq_measure(vars, nvars, job, runs);
    if (!job->direct) {
        /* Warm-up: the file has been written, read it all into cache. */
        job->is_write = false;
        seq_bare(job);
    }
    job->is_write = false;
    seq_measure(vars, nvars, job, runs);
    seq_print(title, vars, nvars);
}

static int run_seq(int argc, char **argv)
{
    const char *env_size = g_getenv("BENCH_IO_SIZE");
    const char *env_runs = g_getenv("BENCH_IO_RUNS");
    const char *dir = argc > 1 ? argv[1] : g_getenv("BENCH_IO_DIR");
    uint64_t size = argc > 0 ? size_arg(argv[0], "size") :
                    env_size ? size_arg(env_size, "BENCH_IO_SIZE") :
                    DEFAULT_SIZE;
    int runs = env_runs ? count_arg(env_runs, "BENCH_IO_RUNS") :
               DEFAULT_RUNS;
    g_autofree char *tmpdir = NULL;
    g_autofree char *path = NULL;
    SeqJob job = { .size = QEMU_ALIGN_DOWN(size, SEQ_CHUNK) };
    SeqVariant buffered[] = {
        { "bare pread/pwrite", SEQ_BARE },
        { "emblock blk_pread/pwrite, threads", SEQ_SYNC, "threads" },
        { "emblock 1 coroutine, threads", SEQ_CO, "threads" },
    };
    SeqVariant direct[] = {
        { "bare pread/pwrite", SEQ_BARE },
        { "emblock blk_pread/pwrite, threads", SEQ_SYNC, "threads" },
        { "emblock 1 coroutine, threads", SEQ_CO, "threads" },
        { "emblock blk_pread/pwrite, native", SEQ_SYNC, "native" },
        { "emblock 1 coroutine, native", SEQ_CO, "native" },
    };
    int ndirect = G_N_ELEMENTS(direct);

    if (job.size == 0) {
        die("size must be at least 1 MiB");
    }
    tmpdir = g_build_filename(dir ? dir : g_get_tmp_dir(),
                              "bench-io.XXXXXX", NULL);
    if (!g_mkdtemp(tmpdir)) {
        die("cannot create a directory %s: %s", tmpdir, strerror(errno));
    }
    path = g_build_filename(tmpdir, "data", NULL);
    fill_file(path, job.size);
    job.path = path;
    job.buf = qemu_blockalign(MEM_ALIGN, SEQ_CHUNK);
    memset(job.buf, FILL_BYTE, SEQ_CHUNK);
#ifndef CONFIG_LINUX_AIO
    ndirect -= 2;
#endif

    printf("Sequential 1 MiB requests over %s (%" PRIu64 " MiB), "
           "raw over file, best of %d\n", path, job.size >> 20, runs);
    printf("  %-40s %9s %9s %9s %9s\n",
           "MB/s (slower = vs bare, target <= 5%)", "read", "slower",
           "write", "slower");
    job.direct = false;
    seq_group("buffered (reads hot from page cache, writes include "
              "fdatasync)", buffered, G_N_ELEMENTS(buffered), &job, runs);
    job.direct = true;
    seq_group("O_DIRECT (cache.direct=on; writes include fdatasync)",
              direct, ndirect, &job, runs);
#ifndef CONFIG_LINUX_AIO
    printf("  (aio=native skipped: built without libaio)\n");
#endif

    qemu_vfree(job.buf);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}

/* ---- Requests at a queue depth ----------------------------------------- */

typedef struct QueueBench {
    const char *path;
    bool is_write;
    bool random;
    bool direct;            /* -t none */
    const char *aio;        /* -i */
    uint64_t count;
    int depth;
    int64_t bufsize;
    int64_t nblocks;        /* bufsize blocks in the file */
    uint64_t issued;
    int64_t next_block;     /* "seq": the next request's block */
    uint64_t rng;           /* "rand": xorshift64* state */
    int running;
    int ret;
} QueueBench;

typedef struct QueueWorker {
    QueueBench *qb;
    BlockBackend *blk;
    uint8_t *buf;
} QueueWorker;

/* Offset of the next request, as its pattern says. */
static int64_t queue_next_offset(QueueBench *qb)
{
    int64_t block;

    qb->issued++;
    if (qb->random) {
        qb->rng ^= qb->rng >> 12;
        qb->rng ^= qb->rng << 25;
        qb->rng ^= qb->rng >> 27;
        block = (qb->rng * 0x2545F4914F6CDD1DULL) % qb->nblocks;
    } else {
        block = qb->next_block;
        qb->next_block = (block + 1) % qb->nblocks;
    }
    return block * qb->bufsize;
}

static void coroutine_fn queue_worker_entry(void *opaque)
{
    QueueWorker *w = opaque;
    QueueBench *qb = w->qb;

    while (qb->issued < qb->count && qb->ret == 0) {
        int64_t offset = queue_next_offset(qb);
        int ret = qb->is_write ?
                  blk_co_pwrite(w->blk, offset, qb->bufsize, w->buf, 0) :
                  blk_co_pread(w->blk, offset, qb->bufsize, w->buf, 0);

        if (ret < 0) {
            qb->ret = ret;
        }
    }
    qb->running--;
}

static double queue_emblock(QueueBench *qb)
{
    AioContext *ctx = qemu_get_aio_context();
    BlockBackend *blk = open_backend(qb->path, qb->direct, qb->aio);
    QueueWorker *w = g_new0(QueueWorker, qb->depth);
    Coroutine **co = g_new(Coroutine *, qb->depth);
    int64_t start;
    double secs;

    for (int i = 0; i < qb->depth; i++) {
        w[i] = (QueueWorker) {
            .qb = qb,
            .blk = blk,
            .buf = qemu_blockalign(MEM_ALIGN, qb->bufsize),
        };
        memset(w[i].buf, FILL_BYTE, qb->bufsize);
        co[i] = qemu_coroutine_create(queue_worker_entry, &w[i]);
    }
    qb->running = qb->depth;
    start = get_clock_ns();
    for (int i = 0; i < qb->depth; i++) {
        qemu_coroutine_enter(co[i]);
    }
    while (qb->running > 0) {
        aio_poll(ctx, true);
    }
    secs = seconds_since(start);

    for (int i = 0; i < qb->depth; i++) {
        qemu_vfree(w[i].buf);
    }
    g_free(co);
    g_free(w);
    blk_unref(blk);
    return secs;
}

#ifdef CONFIG_LINUX_AIO
/* Prepare @cb for the next request of @qb, on @fd. */
static void queue_bare_prep(QueueBench *qb, struct iocb *cb, int fd)
{
    void *buf = cb->u.c.buf;
    int64_t offset = queue_next_offset(qb);

    if (qb->is_write) {
        io_prep_pwrite(cb, fd, buf, qb->bufsize, offset);
    } else {
        io_prep_pread(cb, fd, buf, qb->bufsize, offset);
    }
}

/* The same requests straight to libaio: io_submit, io_getevents, repeat. */
static double queue_bare(QueueBench *qb)
{
    int fd = open_fd(qb->path, O_RDWR | O_DIRECT);
    struct iocb *cbs = g_new0(struct iocb, qb->depth);
    struct iocb **batch = g_new(struct iocb *, qb->depth);
    struct io_event *events = g_new(struct io_event, qb->depth);
    io_context_t io_ctx = 0;
    uint64_t done = 0;
    int64_t start;
    double secs;
    int n = 0, ret;

    ret = io_setup(qb->depth, &io_ctx);
    if (ret < 0) {
        die("io_setup: %s", strerror(-ret));
    }
    for (int i = 0; i < qb->depth; i++) {
        cbs[i].u.c.buf = qemu_blockalign(MEM_ALIGN, qb->bufsize);
        memset(cbs[i].u.c.buf, FILL_BYTE, qb->bufsize);
    }

    start = get_clock_ns();
    while (n < qb->depth && qb->issued < qb->count) {
        queue_bare_prep(qb, &cbs[n], fd);
        batch[n] = &cbs[n];
        n++;
    }
    while (done < qb->issued) {
        if (n > 0 && (ret = io_submit(io_ctx, n, batch)) != n) {
            die("io_submit: %s", ret < 0 ? strerror(-ret) : "short");
        }
        ret = io_getevents(io_ctx, 1, qb->depth, events, NULL);
        if (ret < 0) {
            die("io_getevents: %s", strerror(-ret));
        }
        n = 0;
        for (int i = 0; i < ret; i++) {
            if ((int64_t)events[i].res != qb->bufsize) {
                die("bare libaio request failed: %ld",
                    (long)events[i].res);
            }
            done++;
            if (qb->issued < qb->count) {
                queue_bare_prep(qb, events[i].obj, fd);
                batch[n++] = events[i].obj;
            }
        }
    }
    secs = seconds_since(start);

    io_destroy(io_ctx);
    for (int i = 0; i < qb->depth; i++) {
        qemu_vfree(cbs[i].u.c.buf);
    }
    g_free(events);
    g_free(batch);
    g_free(cbs);
    close(fd);
    return secs;
}
#endif

static void QEMU_NORETURN queue_usage(void)
{
    die("usage: bench-io queue|queue-bare [-d DEPTH] [-s BUFSIZE] "
        "[-t none|writeback] [-i native|threads] FILE read|write seq|rand "
        "COUNT");
}

/* Parse qemu-img bench's spelling of the options that matter here. */
static void queue_parse(QueueBench *qb, int argc, char **argv)
{
    int c;

    while ((c = getopt(argc, argv, "d:s:t:i:")) != -1) {
        switch (c) {
        case 'd':
            qb->depth = count_arg(optarg, "depth");
            break;
        case 's':
            qb->bufsize = size_arg(optarg, "buffer size");
            break;
        case 't':
            if (strcmp(optarg, "none") && strcmp(optarg, "writeback")) {
                queue_usage();
            }
            qb->direct = !strcmp(optarg, "none");
            break;
        case 'i':
            qb->aio = optarg;
            break;
        default:
            queue_usage();
        }
    }
    argc -= optind;
    argv += optind;
    if (argc != 4 ||
        (strcmp(argv[1], "read") && strcmp(argv[1], "write")) ||
        (strcmp(argv[2], "seq") && strcmp(argv[2], "rand"))) {
        queue_usage();
    }
    qb->path = argv[0];
    qb->is_write = !strcmp(argv[1], "write");
    qb->random = !strcmp(argv[2], "rand");
    qb->count = count_arg(argv[3], "count");
    if (qb->depth > MAX_DEPTH || qb->bufsize == 0 ||
        qb->bufsize % MEM_ALIGN || qb->bufsize > BDRV_REQUEST_MAX_BYTES) {
        die("depth must be at most %d, the buffer size a multiple of %d",
            MAX_DEPTH, MEM_ALIGN);
    }
}

static int run_queue(int argc, char **argv, bool bare)
{
    QueueBench qb = {
        .depth = DEFAULT_DEPTH,
        .bufsize = QUEUE_BLOCK,
        .direct = true,
        .aio = "native",
        .rng = 0x9e3779b97f4a7c15ULL,
    };
    struct stat st;
    double secs;

    queue_parse(&qb, argc, argv);
    if (stat(qb.path, &st) < 0) {
        die("cannot stat %s: %s", qb.path, strerror(errno));
    }
    qb.nblocks = st.st_size / qb.bufsize;
    if (qb.nblocks == 0) {
        die("%s is smaller than one request", qb.path);
    }
    if (bare) {
#ifdef CONFIG_LINUX_AIO
        if (!qb.direct || strcmp(qb.aio, "native")) {
            die("queue-bare only does -t none -i native");
        }
        secs = queue_bare(&qb);
#else
        printf("bare libaio: skipped, built without libaio\n");
        return 0;
#endif
    } else {
        secs = queue_emblock(&qb);
    }
    if (qb.ret < 0) {
        die("request failed: %s", strerror(-qb.ret));
    }
    printf("%s %s %s bs=%" PRId64 " QD%d %s %s: %" PRIu64
           " requests in %.3f s: %.0f ops/s\n",
           bare ? "bare-libaio" : "emblock", qb.is_write ? "write" : "read",
           qb.random ? "rand" : "seq", qb.bufsize, qb.depth,
           qb.direct ? "none" : "writeback", qb.aio, qb.count, secs,
           qb.count / secs);
    return 0;
}

static const char usage[] =
    "usage: bench-io [seq] [SIZE [DIR]]\n"
    "       bench-io queue|queue-bare [-d DEPTH] [-s BUFSIZE] "
    "[-t none|writeback]\n"
    "                [-i native|threads] FILE read|write seq|rand COUNT\n"
    "       bench-io fill FILE SIZE\n"
    "environment: BENCH_IO_SIZE, BENCH_IO_DIR, BENCH_IO_RUNS (seq mode)\n";

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "seq";

    if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
        fputs(usage, stdout);
        return 0;
    }

    if (!strcmp(mode, "fill")) {
        if (argc != 4) {
            die("usage: bench-io fill FILE SIZE");
        }
        fill_file(argv[2], size_arg(argv[3], "size"));
        return 0;
    }
    if (!strcmp(mode, "queue") || !strcmp(mode, "queue-bare")) {
        return run_queue(argc - 1, argv + 1, !strcmp(mode, "queue-bare"));
    }
    if (!strcmp(mode, "seq")) {
        return run_seq(argc - 2, argv + 2);
    }
    /* bench-io SIZE [DIR] */
    return run_seq(argc - 1, argv + 1);
}
