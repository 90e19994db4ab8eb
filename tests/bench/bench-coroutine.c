/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Coroutine switch cost.
 *
 * Prints three figures, each the best of a few runs:
 *  1. a coroutine round trip: the main loop enters a coroutine that
 *     immediately yields back (two stack switches);
 *  2. a bare swapcontext() round trip between two ucontexts (also two
 *     switches, each with a sigprocmask system call);
 *  3. one sigsetjmp(env, 0) + siglongjmp() pair, the primitive that every
 *     coroutine switch is built on.
 * and the ratio of (1) to (3).  The target from the issue is that a round
 * trip costs at most 1.5 times a sigsetjmp pair; since a round trip needs
 * two switches, each a sigsetjmp/siglongjmp pair, about 2x is the floor.
 *
 * Usage: bench-coroutine [ITERATIONS] [RUNS]
 */
#include "util/osdep.h"
#include "util/coroutine.h"

#include <setjmp.h>
#include <ucontext.h>

static bool bench_stop;

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
    start = get_clock_ns();
    for (uint64_t i = 0; i < n; i++) {
        qemu_coroutine_enter(co);
    }
    end = get_clock_ns();
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
    start = get_clock_ns();
    for (uint64_t i = 0; i < n; i++) {
        swapcontext(&uc_main, &uc_peer);
    }
    end = get_clock_ns();
    if (uc_rounds != n) {
        fprintf(stderr, "swapcontext ping-pong lost rounds\n");
        abort();
    }
    return (double)(end - start) / n;
}

/* Nanoseconds per sigsetjmp(env, 0) followed by siglongjmp() back. */
static double bench_sigsetjmp(uint64_t n)
{
    sigjmp_buf env;
    volatile uint64_t i;
    int64_t start, end;

    start = get_clock_ns();
    for (i = 0; i < n; i++) {
        if (!sigsetjmp(env, 0)) {
            siglongjmp(env, 1);
        }
    }
    end = get_clock_ns();
    return (double)(end - start) / n;
}

static double best_of(double (*fn)(uint64_t), uint64_t n, int runs)
{
    double best = 0;

    for (int r = 0; r < runs; r++) {
        double t = fn(n);

        if (r == 0 || t < best) {
            best = t;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 10000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    double round_trip, swapctx, jmp;

    if (n == 0 || runs <= 0) {
        fprintf(stderr, "usage: %s [ITERATIONS] [RUNS]\n", argv[0]);
        return 1;
    }

    round_trip = best_of(bench_round_trip, n, runs);
    swapctx = best_of(bench_swapcontext, n / 10 ? n / 10 : 1, runs);
    jmp = best_of(bench_sigsetjmp, n, runs);

    printf("iterations: %" PRIu64 " (swapcontext: %" PRIu64 "), best of %d\n",
           n, n / 10 ? n / 10 : 1, runs);
    printf("coroutine enter+yield round trip:   %8.2f ns\n", round_trip);
    printf("swapcontext round trip:             %8.2f ns\n", swapctx);
    printf("sigsetjmp+siglongjmp pair:          %8.2f ns\n", jmp);
    printf("round trip / sigsetjmp pair:        %8.2f x (target: at most "
           "1.5x; a round trip is two switches, so ~2x is the floor)\n",
           round_trip / jmp);
    printf("one switch (half a round trip) / sigsetjmp pair: %5.2f x\n",
           round_trip / 2 / jmp);
    return 0;
}
