/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The interface every fuzz target implements, libFuzzer's: one call per
 * input, after one call of the initialiser.  The same target objects link
 * either with libFuzzer (build-fuzz, -Dfuzzing=true) or with
 * fuzz-main.c, a runner that feeds it given files once each, which is how
 * the corpus and the regression inputs run in the normal build.
 *
 * A target returns 0 when it ran the input, -1 when it refused it (an
 * input it will not run, such as a QMP command that would touch host
 * files; libFuzzer then keeps it out of the corpus).  A broken promise
 * aborts, with a message on stderr naming the input's fault.
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: a promise of the code under test was broken. */
#define fuzz_fail(...) \
    do { \
        fprintf(stderr, "fuzz: " __VA_ARGS__); \
        fputc('\n', stderr); \
        abort(); \
    } while (0)

#define fuzz_assert(cond) \
    do { \
        if (!(cond)) { \
            fuzz_fail("%s:%d: assertion failed: %s", __FILE__, __LINE__, \
                      #cond); \
        } \
    } while (0)

#endif /* TESTS_FUZZ_H */
