#!/bin/sh
# Run every benchmark in tests/bench/; they print figures, nothing asserts.
# The compiled benchmarks run first, then the tests/bench/*.sh scripts that
# set them beside other tools, each given the build directory.
BUILD=${1:-build}
for b in "$BUILD"/tests/bench/bench-*; do
    [ -f "$b" ] || continue         # not the meson .p directories
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || echo "(benchmark $(basename "$b") failed: exit $?)"
done
for s in "$(dirname "$0")"/../tests/bench/*.sh; do
    [ -f "$s" ] || continue
    echo "== $(basename "$s")"
    sh "$s" "$BUILD" || echo "(benchmark $(basename "$s") failed: exit $?)"
done
