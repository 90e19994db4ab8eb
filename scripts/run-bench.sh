#!/bin/sh
# Run every benchmark in tests/bench/; they print figures, nothing asserts.
BUILD=${1:-build}
for b in "$BUILD"/tests/bench/bench-*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || echo "(benchmark $(basename "$b") failed: exit $?)"
done
