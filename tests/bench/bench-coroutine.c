/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Coroutine switch cost.
 *
 * Measures, in nanoseconds:
 *  1. a coroutine round trip: qemu_coroutine_enter() of a coroutine that
 *     immediately calls qemu_coroutine_yield() (two stack switches, plus
 *     the checks and bookkeeping of the public calls);
 *  2. one sigsetjmp(env, 0) + siglongjmp(env, 1) pair in a single frame:
 *     the cheapest use of the primitive glibc offers (no signal mask saved
 *     or restored; glibc still walks its cleanup handlers and demangles
 *     the saved pointers in siglongjmp);
 *  3. a bare swapcontext() round trip between two ucontexts (two switches,
 *     each with a sigprocmask system call).
 * and the ratio of (1) to (2), against the target from the issue: a round
 * trip costs at most 1.5 times a sigsetjmp pair.
 *
 * Time is the CPU time of the benchmarking thread (user plus system), so
 * that time slices taken by other processes on a loaded machine are not
 * counted.  Each figure is the best of RUNS runs; the runs of (1) and (2)
 * alternate, so that what disturbance remains (caches, a sibling
 * hyperthread) hits both alike.  Nothing here asserts: the figures are
 * printed.
 *
 * Usage: bench-coroutine [ITERATIONS] [RUNS]
 */
#include "util/osdep.h"
#include "util/coroutine.h"

#include <gnu/libc-version.h>
#include <setjmp.h>
#include <ucontext.h>

static bool bench_stop;

/* CPU time consumed so far by the calling thread, in nanoseconds. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) {
        perror("clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        exit(1);
    }
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void coroutine_fn yield_loop(void *opaque)
{
    while (!bench_stop) {
        qemu_coroutine_yield();
    }
}

/* Nanoseconds per enter+yield round trip over @n entries. */
static double bench_round_trip(uint64_t n)
{
    Coroutine *co = qemu_coroutine_create(yield_loop, NULL);
    int64_t start, end;

    bench_stop = false;
    qemu_coroutine_enter(co);           /* warm up: first entry */
    start = thread_cpu_ns();
    for (uint64_t i = 0; i < n; i++) {
        qemu_coroutine_enter(co);
    }
    end = thread_cpu_ns();
    bench_stop = true;
    qemu_coroutine_enter(co);           /* let it finish */
    return (double)(end - start) / n;
}

static ucontext_t uc_main, uc_peer;
static uint64_t uc_rounds;

static void uc_peer_fn(void)
{
    for (;;) {
        uc_rounds++;
        swapcontext(&uc_peer, &uc_main);
    }
}

/* Nanoseconds per swapcontext() ping-pong (main -> peer -> main). */
static double bench_swapcontext(uint64_t n)
{
    static char *stack;
    int64_t start, end;

    if (!stack) {
        stack = g_malloc(256 * 1024);
        getcontext(&uc_peer);
        uc_peer.uc_stack.ss_sp = stack;
        uc_peer.uc_stack.ss_size = 256 * 1024;
        uc_peer.uc_link = NULL;
        makecontext(&uc_peer, uc_peer_fn, 0);
        swapcontext(&uc_main, &uc_peer);        /* warm up */
    }
    uc_rounds = 0;
    start = thread_cpu_ns();
    for (uint64_t i = 0; i < n; i++) {
        swapcontext(&uc_main, &uc_peer);
    }
    end = thread_cpu_ns();
    if (uc_rounds != n) {
        fprintf(stderr, "swapcontext ping-pong lost rounds\n");
        abort();
    }
    return (double)(end - start) / n;
}

/*
 * Nanoseconds per sigsetjmp(env, 0) followed by siglongjmp() back.  @i is
 * not changed between a sigsetjmp() and its siglongjmp(), so it need not be
 * volatile (GCC's -Wclobbered cannot tell) and the loop adds only an
 * increment and a compare.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
static double bench_sigsetjmp(uint64_t n)
{
    sigjmp_buf env;
    uint64_t i;
    int64_t start, end;

    start = thread_cpu_ns();
    for (i = 0; i < n; i++) {
        if (!sigsetjmp(env, 0)) {
            siglongjmp(env, 1);
        }
    }
    end = thread_cpu_ns();
    return (double)(end - start) / n;
}
#pragma GCC diagnostic pop

static void keep_best(double *best, double t, int run)
{
    if (run == 0 || t < *best) {
        *best = t;
    }
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 2000000;
    int runs = argc > 2 ? atoi(argv[2]) : 15;
    uint64_t n_swap = n / 20 ? n / 20 : 1;
    double round_trip = 0, swapctx = 0, jmp = 0;

    if (n == 0 || runs <= 0) {
        fprintf(stderr, "usage: %s [ITERATIONS] [RUNS]\n", argv[0]);
        return 1;
    }

    for (int r = 0; r < runs; r++) {
        keep_best(&round_trip, bench_round_trip(n), r);
        keep_best(&jmp, bench_sigsetjmp(n), r);
    }
    for (int r = 0; r < runs; r++) {
        keep_best(&swapctx, bench_swapcontext(n_swap), r);
    }

    printf("iterations: %" PRIu64 " (swapcontext: %" PRIu64 "), best of %d"
           " runs, thread CPU time; coroutine switch: %s; glibc %s\n",
           n, n_swap, runs, qemu_coroutine_switch_backend(),
           gnu_get_libc_version());
    printf("coroutine enter+yield round trip:     %8.2f ns"
           "  (qemu_coroutine_enter + qemu_coroutine_yield)\n", round_trip);
    printf("sigsetjmp+siglongjmp pair:            %8.2f ns"
           "  (sigsetjmp(env, 0) + siglongjmp(env, 1), no signal mask)\n",
           jmp);
    printf("round trip / sigsetjmp pair:          %8.2f x"
           "  (target: at most 1.5 x: %s)\n",
           round_trip / jmp, round_trip / jmp <= 1.5 ? "met" : "NOT met");
    printf("swapcontext round trip:               %8.2f ns"
           "  (two swapcontext calls, each with a sigprocmask syscall)\n",
           swapctx);
    return 0;
}
