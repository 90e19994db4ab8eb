#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img next to qemu-img on the same images, in the same run.
#
# Part 1, convert: a sparse raw file (4 GiB, 10% data in 256 KiB extents
# at random places) converted to raw and to qcow2 by both tools: the time
# taken and what the target occupies on the host (du), which shows that
# neither writes the holes.
# Part 2, map: `map --output=json` of a 64 GiB qcow2 image with 10,000
# allocated clusters at random places, by both tools; also whether the
# two outputs agree (ignoring the "compressed" key qemu-img 7.2 lacks).
# Part 2 is skipped while emblock cannot open qcow2 images.
#
# Figures are the best of BENCH_IMG_RUNS runs (default 3), the two tools
# alternating.  Nothing is asserted.
#
# Usage: tests/bench/bench-img.sh [BUILD_DIR]
# Environment:
#   BENCH_IMG_SIZE     size of the convert source (default 4G)
#   BENCH_IMG_EXTENTS  allocated clusters of the map image (default 10000)
#   BENCH_IMG_RUNS     runs per figure (default 3)
#   BENCH_IMG_DIR      where the temporary directory goes (default
#                      $TMPDIR or /tmp)
#   QEMU_IMG           the qemu-img to compare with (default from $PATH)

BUILD=${1:-build}
IMG=$BUILD/tools/img/emblock-img
IO=$BUILD/tools/emblock-io
QEMU_IMG=${QEMU_IMG:-qemu-img}
SIZE=${BENCH_IMG_SIZE:-4G}
EXTENTS=${BENCH_IMG_EXTENTS:-10000}
RUNS=${BENCH_IMG_RUNS:-3}

if [ ! -x "$IMG" ] || [ ! -x "$IO" ]; then
    echo "bench-img.sh: $IMG or $IO is missing; build first" >&2
    exit 1
fi
DIR=$(mktemp -d "${BENCH_IMG_DIR:-${TMPDIR:-/tmp}}/bench-img.XXXXXX") ||
    exit 1
trap 'rm -rf "$DIR"' EXIT
trap 'exit 1' HUP INT TERM PIPE

if command -v "$QEMU_IMG" >/dev/null 2>&1; then
    QEMU_NAME="qemu-img $("$QEMU_IMG" --version |
                          sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p')"
else
    QEMU_IMG=
    QEMU_NAME="qemu-img (not found)"
    echo "NOTE: qemu-img not found: its column is empty" \
         "(install qemu-utils, or set QEMU_IMG)"
fi

# best_time CMD...: the best wall time of RUNS runs, in seconds ("-" on
# failure); the command's output is discarded.
best_time()
{
    best=
    i=0
    while [ $i -lt "$RUNS" ]; do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || { echo "-"; return; }
        t1=$(date +%s%N)
        t=$(((t1 - t0) / 1000000))
        if [ -z "$best" ] || [ $t -lt "$best" ]; then
            best=$t
        fi
        i=$((i + 1))
    done
    awk -v ms="$best" 'BEGIN { printf "%.3f", ms / 1000 }'
}

mib() { du -k "$1" | awk '{ printf "%d", $1 / 1024 }'; }

# convert_one TOOL FMT TARGET: remove the target, then convert.
convert_one()
{
    rm -f "$3"
    "$1" convert -f raw -O "$2" "$DIR/src.raw" "$3"
}

row() { printf '  %-22s %12s %10s    %12s %10s\n' "$@"; }

echo "Preparing a $SIZE sparse raw source with 10% data..."
python3 - "$DIR/src.raw" "$SIZE" <<'PY' || exit 1
import os, random, sys
path, size = sys.argv[1], sys.argv[2]
units = {'K': 10, 'M': 20, 'G': 30, 'T': 40}
nbytes = int(size[:-1]) << units[size[-1].upper()] \
    if size[-1].upper() in units else int(size)
extent = 256 * 1024
slots = nbytes // extent
rng = random.Random(1)
chosen = sorted(rng.sample(range(slots), slots // 10))
data = os.urandom(extent)
with open(path, 'wb') as f:
    f.truncate(nbytes)
    for s in chosen:
        f.seek(s * extent)
        f.write(data)
print("  %d extents of 256 KiB, %d MiB of data" %
      (len(chosen), len(chosen) * extent >> 20))
PY
cat "$DIR/src.raw" >/dev/null

echo
echo "convert: best of $RUNS, seconds and MiB the target occupies"
row "" "emblock-img" "" "$QEMU_NAME" ""
for fmt in raw qcow2; do
    e_t=$(best_time convert_one "$IMG" $fmt "$DIR/e.$fmt")
    e_a=$(mib "$DIR/e.$fmt")
    if [ -n "$QEMU_IMG" ]; then
        q_t=$(best_time convert_one "$QEMU_IMG" $fmt "$DIR/q.$fmt")
        q_a=$(mib "$DIR/q.$fmt")
    else
        q_t=-
        q_a=-
    fi
    row "raw -> $fmt" "$e_t s" "$e_a MiB" "$q_t s" "$q_a MiB"
    if [ -n "$QEMU_IMG" ]; then
        same=$("$QEMU_IMG" compare -q -f raw -F $fmt "$DIR/src.raw" \
               "$DIR/e.$fmt" && echo "identical" || echo "DIFFERENT")
        echo "  (emblock's target against the source: $same)"
    fi
    rm -f "$DIR/e.$fmt" "$DIR/q.$fmt"
done
rm -f "$DIR/src.raw"

echo
if ! "$IMG" create -q -f qcow2 "$DIR/map.qcow2" 64G ||
   ! "$IMG" info "$DIR/map.qcow2" >/dev/null 2>&1; then
    echo "map: skipped (emblock cannot create or open qcow2 images)"
    exit 0
fi
echo "Preparing a 64 GiB qcow2 image with $EXTENTS allocated clusters..."
python3 - "$EXTENTS" <<'PY' | "$IO" -t unsafe -f qcow2 "$DIR/map.qcow2" \
    >/dev/null || exit 1
import random, sys
n = int(sys.argv[1])
clusters = (64 << 30) >> 16
for c in sorted(random.Random(2).sample(range(clusters), n)):
    print("write -P %d %d 4k" % (c % 255 + 1, c << 16))
PY

echo "map --output=json: best of $RUNS, seconds"
row "" "emblock-img" "" "$QEMU_NAME" ""
e_t=$(best_time "$IMG" map --output=json "$DIR/map.qcow2")
q_t=-
if [ -n "$QEMU_IMG" ]; then
    q_t=$(best_time "$QEMU_IMG" map --output=json "$DIR/map.qcow2")
fi
row "64 GiB, $EXTENTS clusters" "$e_t s" "" "$q_t s" ""
"$IMG" map --output=json "$DIR/map.qcow2" |
    sed 's/, "compressed": \(true\|false\)//' >"$DIR/e.map"
echo "  entries: $(wc -l <"$DIR/e.map")"
if [ -n "$QEMU_IMG" ]; then
    "$QEMU_IMG" map --output=json "$DIR/map.qcow2" >"$DIR/q.map"
    if cmp -s "$DIR/e.map" "$DIR/q.map"; then
        echo "  (the two maps agree)"
    else
        echo "  (the maps DIFFER)"
    fi
fi
