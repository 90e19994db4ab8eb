#!/bin/sh
# Run every test: the full suite in the normal build, the unit tests in the
# sanitized build; then print one summary line "N passed, N failed, N skipped"
# and exit non-zero if anything failed.
BUILD=${1:-build}
BUILD_SAN=${2:-build-san}
NPROC=$(nproc 2>/dev/null || echo 2)

meson test -C "$BUILD" --print-errorlogs --num-processes "$NPROC"
meson test -C "$BUILD_SAN" --suite unit --print-errorlogs \
    --num-processes "$NPROC" --timeout-multiplier 3
exec python3 "$(dirname "$0")/test-summary.py" \
    "$BUILD/meson-logs/testlog.json" "$BUILD_SAN/meson-logs/testlog.json"
