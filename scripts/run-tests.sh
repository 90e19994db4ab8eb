#!/bin/sh
# Run every test: the full suite in the normal build, the unit tests in the
# sanitized build, a short libFuzzer run of each fuzz target in the fuzzing
# build (FUZZ_SMOKE_TIME seconds each; skipped when clang with libFuzzer is
# missing); then print one summary line "N passed, N failed, N skipped"
# and exit non-zero if anything failed.
BUILD=${1:-build}
BUILD_SAN=${2:-build-san}
BUILD_FUZZ=${3:-build-fuzz}
NPROC=$(nproc 2>/dev/null || echo 2)

meson test -C "$BUILD" --print-errorlogs --num-processes "$NPROC"
meson test -C "$BUILD_SAN" --suite unit --print-errorlogs \
    --num-processes "$NPROC" --timeout-multiplier 3
if [ -f "$BUILD_FUZZ/build.ninja" ] && \
   sh "$(dirname "$0")/../tests/fuzz/have-libfuzzer.sh"; then
    # A fixed libFuzzer seed: the smoke run explores the same inputs on
    # every machine, so a find is reproducible and CI is not a lottery;
    # `make fuzz` stays random.
    FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_TIME=${FUZZ_SMOKE_TIME:-12} \
        meson test -C "$BUILD_FUZZ" \
        --suite fuzz-smoke --print-errorlogs
    fuzz_log="$BUILD_FUZZ/meson-logs/testlog.json"
else
    fuzz_log="--skip=fuzz smoke runs (clang with libFuzzer not installed)"
fi
exec python3 "$(dirname "$0")/test-summary.py" \
    "$BUILD/meson-logs/testlog.json" "$BUILD_SAN/meson-logs/testlog.json" \
    "$fuzz_log"
