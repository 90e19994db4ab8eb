#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock next to `qemu-img bench` on the same raw file, in the same run.
#
# Part 1: 4 KiB requests at queue depth 32, cache.direct=on (qemu-img -t
# none) and aio=native, by three programs: qemu-img bench, emblock
# (`bench-io queue`: 32 coroutines calling blk_co_pread/blk_co_pwrite) and
# bare libaio (`bench-io queue-bare`, no block layer and no event loop: the
# ceiling); then the reads again with aio=io_uring (qemu-img bench -i
# io_uring and emblock only).  Two offset patterns:
#   seq   qemu-img bench's own: each request starts one request size after
#         the previous one was issued, wrapping at end of file;
#   rand  uniformly random 4 KiB-aligned offsets over the whole file.
#         qemu-img bench has no random mode, so only emblock and bare
#         libaio run it.
# Part 2: 1 MiB sequential requests, one in flight, for each cache and aio
# mode, by qemu-img bench and emblock: the QEMU reference for the
# bare-syscall comparison that `bench-io seq` prints.
#
# Every figure is the best of BENCH_IO_RUNS runs (default 3); the runs of
# the programs alternate, so a change in the disk's speed hits all alike.
#
# Usage: tests/bench/bench-io.sh [BUILD_DIR]
# Environment:
#   BENCH_IO_QD_COUNT  requests per part-1 run (default 100000)
#   BENCH_IO_QD_SIZE   size of the file (default 1G)
#   BENCH_IO_DIR       where the temporary directory goes (default
#                      $TMPDIR or /tmp)
#   BENCH_IO_RUNS      runs per figure (default 3)
#   QEMU_IMG           the qemu-img to compare with (default from $PATH)

BUILD=${1:-build}
BENCH=$BUILD/tests/bench/bench-io
QEMU_IMG=${QEMU_IMG:-qemu-img}
COUNT=${BENCH_IO_QD_COUNT:-100000}
SIZE=${BENCH_IO_QD_SIZE:-1G}
RUNS=${BENCH_IO_RUNS:-3}

if [ ! -x "$BENCH" ]; then
    echo "bench-io.sh: $BENCH is missing; build first" >&2
    exit 1
fi
DIR=$(mktemp -d "${BENCH_IO_DIR:-${TMPDIR:-/tmp}}/bench-io-sh.XXXXXX") ||
    exit 1
trap 'rm -rf "$DIR"' EXIT
trap 'exit 1' HUP INT TERM PIPE
FILE=$DIR/data.raw
RESULTS=$DIR/results

if command -v "$QEMU_IMG" >/dev/null 2>&1; then
    QEMU_VERSION=$("$QEMU_IMG" --version | sed -n '1s/^qemu-img //p')
else
    QEMU_IMG=
    echo "NOTE: qemu-img not found: its columns are skipped" \
         "(install qemu-utils, or set QEMU_IMG)"
fi

"$BENCH" fill "$FILE" "$SIZE" || exit 1
BYTES=$(stat -c %s "$FILE")

# qemu_ops COUNT OP [qemu-img bench options...]: ops/s of one run.
# (sh has no local variables: each function's own are prefixed.)
qemu_ops() {
    q_count=$1
    q_op=$2
    shift 2
    if [ "$q_op" = write ]; then
        set -- "$@" -w --pattern=165
    fi
    "$QEMU_IMG" bench -f raw -c "$q_count" "$@" "$FILE" |
        sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' |
        awk -v c="$q_count" '$1 > 0 { printf "%.0f\n", c / $1 }'
}

# bench_ops MODE COUNT OP PATTERN [bench-io queue options...]: ops/s.
bench_ops() {
    b_mode=$1
    b_count=$2
    b_op=$3
    b_pattern=$4
    shift 4
    "$BENCH" "$b_mode" "$@" "$FILE" "$b_op" "$b_pattern" "$b_count" |
        sed -n 's/.*: \([0-9]*\) ops\/s$/\1/p'
}

# measure COUNT OP PATTERN PROGRAMS OPTIONS...: for RUNS rounds, run each
# of PROGRAMS (qemu, emblock, bare) once; record "PROGRAM OPS" lines.
measure() {
    m_count=$1
    m_op=$2
    m_pattern=$3
    m_programs=$4
    shift 4
    : > "$RESULTS"
    m_run=0
    while [ "$m_run" -lt "$RUNS" ]; do
        for m_p in $m_programs; do
            case $m_p in
            qemu)
                [ -n "$QEMU_IMG" ] || continue
                m_v=$(qemu_ops "$m_count" "$m_op" "$@") ;;
            emblock)
                m_v=$(bench_ops queue "$m_count" "$m_op" "$m_pattern" "$@") ;;
            bare)
                m_v=$(bench_ops queue-bare "$m_count" "$m_op" "$m_pattern" \
                      "$@") ;;
            esac
            echo "$m_p ${m_v:-0}" >> "$RESULTS"
        done
        m_run=$((m_run + 1))
    done
}

# best PROGRAM: the best figure recorded for PROGRAM, or "-" for none.
best() {
    awk -v p="$1" '$1 == p && $2 > m { m = $2 }
                   END { if (m > 0) printf "%d", m; else printf "-" }' \
        "$RESULTS"
}

# ratio A B: A / B as "1.23x", or "-" when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'
}

# row LABEL OP with_bare|no_bare: print the figures just measured.
row() {
    r_q=$(best qemu)
    r_e=$(best emblock)
    r_line=$(printf "  %-34s %-5s %10s %10s %8s" "$1" "$2" "$r_q" "$r_e" \
             "$(ratio "$r_e" "$r_q")")
    if [ "$3" = with_bare ]; then
        r_b=$(best bare)
        r_line=$(printf "%s %11s %8s" "$r_line" "$r_b" \
                 "$(ratio "$r_e" "$r_b")")
    fi
    echo "$r_line"
}

echo "Same file for every program: $FILE ($((BYTES >> 20)) MiB," \
     "written with data), best of $RUNS"
echo "qemu-img: ${QEMU_VERSION:-not available}"
echo

QD_OPTS="-d 32 -s 4k -t none -i native"
echo "4 KiB requests, queue depth 32, raw over file, cache.direct=on," \
     "aio=native, $COUNT requests per run (ops/s; target: emblock >= qemu-img)"
printf "  %-34s %-5s %10s %10s %8s %11s %8s\n" "offset pattern" op \
       qemu-img emblock "e/qemu" "bare libaio" "e/bare"
for op in read write; do
    # shellcheck disable=SC2086
    measure "$COUNT" "$op" seq "qemu emblock bare" $QD_OPTS
    row "seq (qemu-img bench's pattern)" "$op" with_bare
done
for op in read write; do
    # shellcheck disable=SC2086
    measure "$COUNT" "$op" rand "emblock bare" $QD_OPTS
    row "rand (qemu-img cannot; uniform)" "$op" with_bare
done
echo "  seq: each request starts 4 KiB after the previously issued one," \
     "wrapping at end of file"
echo "  rand: uniformly random 4 KiB-aligned offsets, fixed seed" \
     "(emblock and bare libaio draw the same sequence)"
echo "  bare libaio: io_submit/io_getevents on an O_DIRECT fd, no event" \
     "loop: the ceiling"
echo

QD_URING_OPTS="-d 32 -s 4k -t none -i io_uring"
echo "The same reads with aio=io_uring (ops/s; emblock shows - when built" \
     "without liburing or refused a ring)"
printf "  %-34s %-5s %10s %10s %8s\n" "offset pattern" op qemu-img emblock \
       "e/qemu"
# shellcheck disable=SC2086
measure "$COUNT" read seq "qemu emblock" $QD_URING_OPTS
row "seq (qemu-img bench's pattern)" read no_bare
# shellcheck disable=SC2086
measure "$COUNT" read rand "emblock" $QD_URING_OPTS
row "rand (qemu-img cannot; uniform)" read no_bare
echo

COUNT_1M=$((BYTES >> 20))
echo "1 MiB sequential requests, one in flight, raw over file," \
     "$COUNT_1M requests per run, 4 times as many for the page cache (MB/s)"
printf "  %-34s %-5s %10s %10s %8s\n" "cache and aio" op qemu-img emblock \
       "e/qemu"
for mode in "writeback threads" "none threads" "none native"; do
    # shellcheck disable=SC2086 # split "CACHE AIO" into $1 $2
    set -- $mode
    count=$COUNT_1M
    if [ "$1" = writeback ]; then
        # Hot reads; runs long enough for qemu-img's millisecond timing.
        cat "$FILE" > /dev/null
        count=$((COUNT_1M * 4))
        label="buffered ($2), page cache"
    else
        label="O_DIRECT ($2)"
    fi
    for op in read write; do
        measure "$count" "$op" seq "qemu emblock" -d 1 -s 1M -t "$1" \
                -i "$2"
        # One request is one MiB: ops/s are MiB/s, print MB/s.
        for p in qemu emblock; do
            awk -v p="$p" '$1 == p { $2 = int($2 * 1.048576); print }' \
                "$RESULTS"
        done > "$RESULTS.mb"
        mv "$RESULTS.mb" "$RESULTS"
        row "$label" "$op" no_bare
    done
done
echo "  writeback writes end in the page cache (no flush, as qemu-img" \
     "bench without --flush-interval)"
