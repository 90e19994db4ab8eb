/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-img bench: time a stream of reads or writes, as qemu-img bench
 * does, so the two can be run on the same file and compared.
 *
 * -d coroutines keep up to that many requests in flight.  Each takes the
 * next offset (the previous one plus the step, wrapping at the image size
 * like qemu-img, which does not keep requests inside the image) and issues
 * one request of -s bytes.  With --flush-interval a flush follows every N
 * completed requests; unless --no-drain, no new request starts until the
 * ones in flight are done and the flush has completed.
 */
#include "img-common.h"
#include "util/aio.h"
#include "util/coroutine-lock.h"

const char img_bench_usage[] =
"Usage: " IMG_NAME " bench [-c COUNT] [-d DEPTH] [-f FMT] "
"[--flush-interval=N] [-i AIO] [-n] [--no-drain] [-o OFFSET] "
"[--pattern=BYTE] [-q] [-s BUFFER_SIZE] [-S STEP_SIZE] [-t CACHE] [-w] "
"[-U] FILENAME\n"
"\n"
"Send COUNT requests to the image FILENAME, DEPTH at a time, and print\n"
"how long they took.\n"
"\n"
"  -c COUNT             number of requests (default 75000)\n"
"  -d DEPTH             requests in flight (default 64)\n"
"  -f FMT               the image format (default: probe)\n"
"  -s BUFFER_SIZE       bytes per request (default 4096)\n"
"  -S STEP_SIZE         distance between request offsets (default: "
"BUFFER_SIZE)\n"
"  -o OFFSET            offset of the first request (default 0)\n"
"  -w                   write instead of read\n"
"  --pattern=BYTE       the byte written (default 0)\n"
"  --flush-interval=N   flush after every N requests (write tests)\n"
"  --no-drain           flush without waiting for requests in flight\n"
"  -t CACHE             cache mode (default: writeback)\n"
"  -n                   native AIO (same as -i native; needs -t none)\n"
"  -i AIO               AIO back end: threads, native or io_uring\n"
"  -U, --force-share    open the image even if something else writes it\n"
"  -q                   accepted for compatibility\n"
"  -h, --help           print this help\n";

typedef struct BenchState {
    BlockBackend *blk;
    int64_t image_size;
    int64_t offset;             /* of the next request */
    int64_t step;
    int64_t bufsize;
    int pattern;
    int count;
    int issued;
    int completed;
    int in_flight;
    int flush_interval;
    bool drain;
    bool write;
    bool writethrough;
    bool flushing;              /* with drain: nothing new starts */
    CoQueue waiters;            /* workers waiting for a state change */
    int running;
    int ret;
} BenchState;

static void coroutine_fn bench_flush(BenchState *s)
{
    int ret;

    s->flushing = true;
    while (s->drain && s->in_flight > 0) {
        qemu_co_queue_wait(&s->waiters, NULL);
    }
    ret = blk_co_flush(s->blk);
    if (ret < 0 && s->ret == 0) {
        error_report("Failed flush request: %s", strerror(-ret));
        s->ret = ret;
    }
    s->flushing = false;
    qemu_co_queue_restart_all(&s->waiters);
}

static void coroutine_fn bench_worker(void *opaque)
{
    BenchState *s = opaque;
    uint8_t *buf = qemu_blockalign(4096, MAX(s->bufsize, 1));
    BdrvRequestFlags fua = s->writethrough ? BDRV_REQ_FUA : 0;

    memset(buf, s->pattern, s->bufsize);
    while (s->ret == 0) {
        int64_t offset;
        int ret;

        while (s->drain && s->flushing && s->ret == 0) {
            qemu_co_queue_wait(&s->waiters, NULL);
        }
        if (s->ret || s->issued == s->count) {
            break;
        }
        offset = s->offset;
        s->offset = s->image_size ? (offset + s->step) % s->image_size : 0;
        s->issued++;
        s->in_flight++;
        if (s->write) {
            ret = blk_co_pwrite(s->blk, offset, s->bufsize, buf, fua);
        } else {
            ret = blk_co_pread(s->blk, offset, s->bufsize, buf, 0);
        }
        s->in_flight--;
        s->completed++;
        if (ret < 0 && s->ret == 0) {
            error_report("Failed request: %s", strerror(-ret));
            s->ret = ret;
        }
        qemu_co_queue_restart_all(&s->waiters);
        if (s->ret == 0 && s->flush_interval &&
            s->completed % s->flush_interval == 0) {
            bench_flush(s);
        }
    }
    qemu_vfree(buf);
    s->running--;
    qemu_co_queue_restart_all(&s->waiters);
    aio_wait_kick();
}

/* Run the requests; returns the elapsed seconds, or -1 on error. */
static double bench_run(BenchState *s, int depth)
{
    int64_t t0 = get_clock_ns();

    qemu_co_queue_init(&s->waiters);
    s->running = depth;
    for (int i = 0; i < depth; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(bench_worker, s));
    }
    AIO_WAIT_WHILE(qemu_get_aio_context(), s->running > 0);
    qemu_co_queue_destroy(&s->waiters);
    return s->ret ? -1 : (get_clock_ns() - t0) / 1e9;
}

/* An int option; false after printing "Invalid WHAT specified". */
static bool bench_int(const char *arg, int64_t min, int64_t max, int *v,
                      const char *what)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(arg, &end, 0);
    if (!*arg || *end || errno || n < min || n > max) {
        error_report("Invalid %s specified", what);
        return false;
    }
    *v = n;
    return true;
}

int img_bench(int argc, char **argv)
{
    enum {
        OPT_FLUSH_INTERVAL = 256,
        OPT_NO_DRAIN,
        OPT_PATTERN,
    };
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    static const char *const aio_modes[] = { "threads", "native",
                                             "io_uring", NULL };
    BenchState s = { .count = 75000, .bufsize = 4096, .drain = true };
    ImgOpenOpts o = { 0 };
    int depth = 64;
    int64_t v;
    double secs;
    int c;

    while ((c = img_getopt(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", lopt,
                           img_bench_usage)) != -1) {
        switch (c) {
        case 'c':
            if (!bench_int(optarg, 0, INT_MAX, &s.count, "request count")) {
                return 1;
            }
            break;
        case 'd':
            if (!bench_int(optarg, 1, INT_MAX, &depth, "queue depth")) {
                return 1;
            }
            break;
        case 'f':
            o.fmt = optarg;
            break;
        case 'n':
            o.aio = "native";
            break;
        case 'i':
            if (!g_strv_contains(aio_modes, optarg)) {
                error_report("Invalid aio option: %s", optarg);
                return 1;
            }
            o.aio = optarg;
            break;
        case 'o':
            s.offset = img_cvtnum("offset", optarg);
            if (s.offset < 0) {
                return 1;
            }
            break;
        case 'q':
            break;
        case 's':
            v = img_cvtnum("buffer size", optarg);
            if (v < 0) {
                return 1;
            }
            if (v > INT_MAX) {
                error_report("Invalid buffer size specified. Must be "
                             "between 0 and %d.", INT_MAX);
                return 1;
            }
            s.bufsize = v;
            break;
        case 'S':
            s.step = img_cvtnum("step_size", optarg);
            if (s.step < 0) {
                return 1;
            }
            if (s.step > INT_MAX) {
                error_report("Invalid step_size specified. Must be "
                             "between 0 and %d.", INT_MAX);
                return 1;
            }
            break;
        case 't':
            if (!img_parse_cache(optarg, &(bool){0}, &(bool){0},
                                 &(bool){0})) {
                error_report("Invalid cache mode");
                return 1;
            }
            o.cache = optarg;
            break;
        case 'w':
            s.write = true;
            break;
        case 'U':
            o.force_share = true;
            break;
        case OPT_FLUSH_INTERVAL:
            if (!bench_int(optarg, 0, INT_MAX, &s.flush_interval,
                           "flush interval")) {
                return 1;
            }
            break;
        case OPT_NO_DRAIN:
            s.drain = false;
            break;
        case OPT_PATTERN:
            if (!bench_int(optarg, 0, 0xff, &s.pattern, "pattern byte")) {
                return 1;
            }
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    if (s.flush_interval && s.flush_interval < depth) {
        error_report("Flush interval can't be smaller than depth");
        return 1;
    }
    if (!s.write && s.flush_interval) {
        error_report("--flush-interval is only available in write tests");
        return 1;
    }
    if (!s.step) {
        s.step = s.bufsize;
    }

    o.writable = s.write;
    s.blk = img_open(argv[optind], &o, &s.writethrough);
    if (!s.blk) {
        return 1;
    }
    s.image_size = blk_getlength(s.blk);
    if (s.image_size < 0) {
        error_report("Could not get the image size: %s",
                     strerror(-s.image_size));
        blk_unref(s.blk);
        return 1;
    }

    printf("Sending %d %s requests, %" PRId64 " bytes each, %d in parallel "
           "(starting at offset %" PRId64 ", step size %" PRId64 ")\n",
           s.count, s.write ? "write" : "read", s.bufsize, depth, s.offset,
           s.step);
    if (s.flush_interval) {
        printf("Sending flush every %d requests\n", s.flush_interval);
    }
    secs = bench_run(&s, depth);
    if (secs >= 0) {
        printf("Run completed in %3.3f seconds.\n", secs);
    }
    blk_unref(s.blk);
    return secs < 0 ? 1 : 0;
}
