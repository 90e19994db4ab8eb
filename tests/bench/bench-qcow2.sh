#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qcow2 I/O: `emblock-img bench` next to `qemu-img bench`, same options
# (-c COUNT -d 32 -s 4k -t none -i AIO), on the same kind of image:
#   write-alloc  -w on a fresh image (sequential 4 KiB; a new cluster
#                every 16 requests)
#   write-sparse -w -S 128k on a fresh image (every request allocates a
#                cluster; the closest to random allocating writes, as
#                qemu-img bench has no random mode)
#   write-over   -w on the image the write-alloc run filled (no allocation)
#   read         read of an allocated image
# Figures are ops/s, the best of BENCH_QCOW2_RUNS runs (default 3), the two
# tools alternating, each run on its own copy of the image.  Nothing is
# asserted.
#
# Usage: tests/bench/bench-qcow2.sh [BUILD_DIR]
# Environment:
#   BENCH_QCOW2_COUNT  requests per run (default 20000)
#   BENCH_QCOW2_RUNS   runs per figure (default 3)
#   BENCH_QCOW2_AIO    threads or native (default native)
#   BENCH_QCOW2_DIR    where the temporary directory goes (default $TMPDIR
#                      or /tmp; must support O_DIRECT)
#   QEMU_IMG           the qemu-img to compare with (default from $PATH)
#   BENCH_QCOW2_BASELINE  another emblock-img (e.g. a build from before a
#                      change): adds a column for it, run alongside

BUILD=${1:-build}
IMG=$BUILD/tools/img/emblock-img
QEMU_IMG=${QEMU_IMG:-qemu-img}
BASELINE=${BENCH_QCOW2_BASELINE:-}
COUNT=${BENCH_QCOW2_COUNT:-20000}
RUNS=${BENCH_QCOW2_RUNS:-3}
AIO=${BENCH_QCOW2_AIO:-native}

if [ ! -x "$IMG" ]; then
    echo "bench-qcow2.sh: $IMG is missing; build first" >&2
    exit 1
fi
DIR=$(mktemp -d "${BENCH_QCOW2_DIR:-${TMPDIR:-/tmp}}/bench-qcow2.XXXXXX") ||
    exit 1
trap 'rm -rf "$DIR"' EXIT
trap 'exit 1' HUP INT TERM PIPE

if command -v "$QEMU_IMG" >/dev/null 2>&1; then
    QEMU_NAME="qemu-img $("$QEMU_IMG" --version |
                          sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p')"
else
    QEMU_IMG=
    QEMU_NAME="qemu-img (not found)"
    echo "NOTE: qemu-img not found: its column is empty"
fi

# O_DIRECT may not work on tmpfs: fall back to cache=writeback
CACHE=none
"$IMG" create -q -f qcow2 "$DIR/probe.qcow2" 16M >/dev/null 2>&1
if ! "$IMG" bench -c 1 -s 4k -t none -f qcow2 "$DIR/probe.qcow2" \
        >/dev/null 2>&1; then
    CACHE=writeback
    echo "NOTE: O_DIRECT unsupported in $DIR: using -t writeback"
fi

"$IMG" create -q -f qcow2 "$DIR/fresh.qcow2" 4G >/dev/null || exit 1
# an allocated image for the read and overwrite runs
cp "$DIR/fresh.qcow2" "$DIR/full.qcow2"
"$IMG" bench -w -c "$COUNT" -d 32 -s 4k -t "$CACHE" -f qcow2 \
    "$DIR/full.qcow2" >/dev/null || exit 1

# ops TOOL BASE ARGS...: best ops/s of RUNS runs of TOOL bench on a copy
# of BASE ("-" on failure)
ops()
{
    tool=$1 base=$2
    shift 2
    [ -n "$tool" ] || { echo "-"; return; }
    best=
    i=0
    while [ $i -lt "$RUNS" ]; do
        cp "$DIR/$base.qcow2" "$DIR/run.qcow2"
        s=$("$tool" bench -c "$COUNT" -d 32 -s 4k -t "$CACHE" -i "$AIO" \
                -f qcow2 "$@" "$DIR/run.qcow2" 2>/dev/null |
            sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p')
        [ -n "$s" ] || { echo "-"; return; }
        if [ -z "$best" ] ||
           awk "BEGIN { exit !($s < $best) }"; then
            best=$s
        fi
        i=$((i + 1))
    done
    awk "BEGIN { if ($best > 0) printf \"%.0f\", $COUNT / $best; else print \"-\" }"
}

echo "qcow2 bench: $COUNT requests of 4 KiB, depth 32, -t $CACHE -i $AIO," \
     "64 KiB clusters; ops/s, best of $RUNS"
if [ -n "$BASELINE" ]; then
    printf '%-14s %14s %14s %20s\n' test emblock-img baseline "$QEMU_NAME"
else
    printf '%-14s %14s %20s\n' test emblock-img "$QEMU_NAME"
fi
row()
{
    name=$1
    shift
    e=$(ops "$IMG" "$@")
    if [ -n "$BASELINE" ]; then
        b=$(ops "$BASELINE" "$@")
    fi
    q=$(ops "$QEMU_IMG" "$@")
    if [ -n "$BASELINE" ]; then
        printf '%-14s %14s %14s %20s\n' "$name" "$e" "$b" "$q"
    else
        printf '%-14s %14s %20s\n' "$name" "$e" "$q"
    fi
}
row write-alloc fresh -w
row write-sparse fresh -w -S 128k
row write-over full -w
row read full
