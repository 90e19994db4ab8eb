#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-check emblock-io against qemu-io.
#
#   qemu-io-xcheck.sh EMBLOCK_IO SCRIPT...
#
# Each SCRIPT (tests/xcheck/io-scripts/*.cmds) holds one qemu-io command
# per line; blank lines and lines starting with '#' are skipped, except
# directives, which start with '#@':
#
#   #@ size SIZE        image size for truncate -s (default 4M)
#   #@ layout partial   write data at a few offsets of the fresh sparse
#                       image first (default: all sparse)
#   #@ layout full      random data over the whole image, no holes (QEMU
#                       probes O_DIRECT alignment differently on a file that
#                       is one hole: see tail-direct.cmds)
#   #@ args ARGS...     extra program options (default: none; -f raw is
#                       given unless #@ probe)
#   #@ probe            no -f: both programs probe the format
#   #@ create FMT       make the image with qemu-img create -f FMT (same
#                       file for both) instead of truncate
#   #@ qcow2-header     also write qcow2.hdr: sector 0 of a fresh qcow2
#   #@ stdin            feed the commands on stdin instead of with -c
#
# Both programs run on their own copy of the same image, each in its own
# directory under the same relative name (test.img), so messages naming
# the image agree.  Their stdout, stderr, exit status and final image
# contents must be identical once timings are filtered (as iotests'
# _filter_qemu_io does) and program names are replaced by PROG.
#
# Exit status: 0 when everything agrees, 1 with the differences printed,
# 77 (skip) when qemu-io is not installed.  QEMU_IO overrides the qemu-io
# binary.

set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 EMBLOCK_IO SCRIPT..." >&2
    exit 2
fi
EMBLOCK_IO=$(realpath "$1")
shift
QEMU_IO=${QEMU_IO:-qemu-io}

if ! command -v "$QEMU_IO" >/dev/null 2>&1; then
    echo "SKIP: $QEMU_IO not found"
    exit 77
fi
QEMU_IO=$(command -v "$QEMU_IO")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/emblock-xcheck.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# Timing tails as in QEMU's common.filter, -C lines likewise, program names.
TIMING='[0-9]* ops; [0-9/:. sec]* ([0-9/.inf]* [EPTGMKiBbytes]*\/sec'
TIMING="$TIMING and [0-9/.inf]* ops\\/sec)"
CSV='^\([0-9]*,[0-9]*\),[0-9:.]*,[-0-9.infa]*,[-0-9.infa]*$'
filter()
{
    sed -e "s/$TIMING/X ops; XX:XX:XX.X (XXX YYY\/sec and XXX ops\/sec)/" \
        -e "s/$CSV/\\1,TIME,RATE,RATE/" \
        -e 's/qemu-io: /PROG: /g' \
        -e 's/emblock-io: /PROG: /g'
}

# make_image DIR SIZE LAYOUT SCRIPT: DIR/test.img, plus data files for
# write -s.
make_image()
{
    local create
    create=$(sed -n 's/^#@ create //p' "$4")

    mkdir -p "$1"
    if [ -n "$create" ]; then
        qemu-img create -q -f "$create" "$1/test.img" "$2" || exit 1
    else
        truncate -s "$2" "$1/test.img"
    fi
    if grep -q '^#@ qcow2-header' "$4"; then
        qemu-img create -q -f qcow2 "$TMP/hdr.qcow2" 1M || exit 1
        head -c 512 "$TMP/hdr.qcow2" >"$1/qcow2.hdr"
    fi
    if [ "$3" = full ]; then
        head -c "$2" /dev/urandom >"$1/test.img"
    elif [ "$3" = partial ]; then
        printf 'partial-data' | dd of="$1/test.img" bs=1 seek=0 \
            conv=notrunc status=none
        head -c 65536 /dev/urandom >"$TMP/random"
        dd if="$TMP/random" of="$1/test.img" bs=64k seek=3 count=1 \
            conv=notrunc status=none
        printf '\x5a%.0s' $(seq 512) | dd of="$1/test.img" bs=512 \
            seek=2047 conv=notrunc status=none 2>/dev/null
    fi
    printf 'source-file-data' >"$1/src.txt"
}

# run_one PROG DIR SCRIPT: run PROG in DIR; DIR/{out,err,rc} hold results.
run_one()
{
    local prog=$1 dir=$2 script=$3 line
    local -a args=() cmds=() fmt=(-f raw)

    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
        '#@ args '*) read -r -a args <<<"${line#'#@ args '}" ;;
        '#'*|'') ;;
        *) cmds+=(-c "$line") ;;
        esac
    done <"$script"
    if grep -q '^#@ probe' "$script"; then
        fmt=()
    fi

    if grep -q '^#@ stdin' "$script"; then
        (cd "$dir" && grep -v '^#' "$script" |
            "$prog" "${fmt[@]}" "${args[@]}" test.img >out 2>err
         echo $? >rc)
    else
        (cd "$dir" && "$prog" "${fmt[@]}" "${args[@]}" "${cmds[@]}" test.img \
            >out 2>err </dev/null
         echo $? >rc)
    fi
}

failed=0
for script in "$@"; do
    script=$(realpath "$script")
    name=$(basename "$script" .cmds)
    size=$(sed -n 's/^#@ size //p' "$script")
    layout=$(sed -n 's/^#@ layout //p' "$script")
    base="$TMP/$name"
    qdir="$base/qemu-io"
    edir="$base/emblock-io"

    make_image "$qdir" "${size:-4M}" "${layout:-sparse}" "$script"
    mkdir -p "$edir"
    cp --sparse=always "$qdir"/* "$edir/"

    run_one "$QEMU_IO" "$qdir" "$script"
    run_one "$EMBLOCK_IO" "$edir" "$script"

    bad=0
    for f in out err; do
        filter <"$qdir/$f" >"$qdir/$f.filtered"
        filter <"$edir/$f" >"$edir/$f.filtered"
        if ! cmp -s "$qdir/$f.filtered" "$edir/$f.filtered"; then
            echo "--- $name: std$f differs (- qemu-io, + emblock-io)"
            diff -u "$qdir/$f.filtered" "$edir/$f.filtered" | tail -n +3
            bad=1
        fi
    done
    if ! cmp -s "$qdir/rc" "$edir/rc"; then
        echo "--- $name: exit status qemu-io $(cat "$qdir/rc")," \
             "emblock-io $(cat "$edir/rc")"
        bad=1
    fi
    if ! cmp -s "$qdir/test.img" "$edir/test.img"; then
        echo "--- $name: final images differ:" \
             "$(cmp "$qdir/test.img" "$edir/test.img" 2>&1 | head -1)"
        bad=1
    fi
    if [ $bad = 0 ]; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        failed=1
    fi
done

exit $failed
