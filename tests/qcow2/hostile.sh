#!/usr/bin/env bash
# Hostile qcow2 images: every image made by gen-hostile.py goes through
# emblock-io (open + read + map, read-write and read-only) and emblock-img
# info, map and check, plus writes.  Each run has a time limit
# ($HOSTILE_TIMEOUT s, default 1; the slowest run takes about 0.4 s) and a
# 64 MiB address-space limit; it must not crash, and images that must be
# refused must be refused with an error message on stderr.
#
# env: EMBLOCK_IMG, EMBLOCK_IO (defaults: relative to $1 = build dir)
set -u

BUILD=${1:-}
EMBLOCK_IMG=${EMBLOCK_IMG:-$BUILD/tools/img/emblock-img}
EMBLOCK_IO=${EMBLOCK_IO:-$BUILD/tools/emblock-io}
TLIMIT=${HOSTILE_TIMEOUT:-1}
ASLIMIT=$((64 << 20))
SRCDIR=$(cd "$(dirname "$0")" && pwd)

for t in "$EMBLOCK_IMG" "$EMBLOCK_IO"; do
    [ -x "$t" ] || { echo "missing $t"; exit 1; }
done
command -v python3 >/dev/null || { echo "no python3"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/emblock-hostile.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

base=$TMP/base.qcow2
"$EMBLOCK_IMG" create -f qcow2 "$base" 4M >/dev/null || exit 1
"$EMBLOCK_IO" -f qcow2 -c 'write -P 0xaa 0 64k' -c 'write -z 1M 64k' \
    -c 'write -P 0xbb 2M 64k' -c 'write -c -P 0xcc 3M 64k' \
    "$base" >/dev/null || exit 1
python3 "$SRCDIR/gen-hostile.py" "$base" "$TMP/img" || exit 1

have_time=0
[ -x /usr/bin/time ] && have_time=1

fail=0
nruns=0
max_ms=0
max_ms_what=
max_rss=0
max_rss_what=

# run NAME TAG CMD... : run one command under the limits; sets $rc, $err
run() {
    local name=$1 tag=$2; shift 2
    local t0 t1 ms rss
    cp "$TMP/img/$name.qcow2" "$TMP/work.qcow2"
    t0=$(date +%s%N)
    if [ $have_time = 1 ]; then
        timeout -s KILL "$TLIMIT" prlimit --as=$ASLIMIT \
            /usr/bin/time -o "$TMP/rss" -f %M "$@" \
            >"$TMP/out" 2>"$TMP/err"
    else
        timeout -s KILL "$TLIMIT" prlimit --as=$ASLIMIT "$@" \
            >"$TMP/out" 2>"$TMP/err"
    fi
    rc=$?
    t1=$(date +%s%N)
    nruns=$((nruns + 1))
    ms=$(( (t1 - t0) / 1000000 ))
    if [ $ms -gt $max_ms ]; then max_ms=$ms; max_ms_what="$name/$tag"; fi
    if [ $have_time = 1 ] && [ -s "$TMP/rss" ]; then
        rss=$(tail -n1 "$TMP/rss")
        case $rss in
        *[!0-9]*) ;;  # "Command terminated by signal" etc.
        *) if [ "$rss" -gt $max_rss ]; then max_rss=$rss; max_rss_what="$name/$tag"; fi ;;
        esac
        # /usr/bin/time reports a child's signal death in its own output
        if grep -q 'terminated by signal' "$TMP/rss"; then
            rc=$((128 + $(sed -n 's/.*terminated by signal \([0-9]*\).*/\1/p' "$TMP/rss" | head -n1)))
        fi
    fi
    err=$(cat "$TMP/err")
    if [ $rc -ge 124 ]; then
        echo "FAIL $name/$tag: exit $rc (crash, timeout or limit); stderr: $err"
        fail=1
    elif grep -Eq 'Segmentation|Aborted|AddressSanitizer|runtime error|assertion|Assertion' "$TMP/err"; then
        echo "FAIL $name/$tag: crash message: $err"
        fail=1
    fi
}

# must_fail NAME TAG: the last run must have failed with a message
must_fail() {
    if [ $rc -eq 0 ]; then
        echo "FAIL $1/$2: hostile image was accepted"
        fail=1
    elif [ -z "$err" ]; then
        echo "FAIL $1/$2: refused without an error message"
        fail=1
    fi
}

must_pass() {
    if [ $rc -ne 0 ]; then
        echo "FAIL $1/$2: exit $rc: $err"
        fail=1
    fi
}

count=0
while read -r name expect; do
    count=$((count + 1))
    img=$TMP/work.qcow2
    run "$name" io-rw "$EMBLOCK_IO" -f qcow2 -c 'read 0 64k' \
        -c 'read 3M 64k' -c 'map' "$img"
    rw_rc=$rc rw_err=$err
    # emblock-io keeps going after a failed command; an open failure is
    # the "can't open" message
    case $expect in
    refuse|rwrefuse)
        if ! grep -q "can't open" "$TMP/err"; then rc=0; fi
        must_fail "$name" io-rw ;;
    esac
    run "$name" io-ro "$EMBLOCK_IO" -r -f qcow2 -c 'read 0 64k' \
        -c 'read 3M 64k' -c 'map' "$img"
    case $expect in
    refuse)
        if ! grep -q "can't open" "$TMP/err"; then rc=0; fi
        must_fail "$name" io-ro ;;
    rwrefuse)
        must_pass "$name" io-ro ;;
    esac
    # writes over the damaged metadata (allocating, overwrite, zero,
    # discard, compressed area): refused or failed, never a crash
    run "$name" io-write "$EMBLOCK_IO" -f qcow2 -c 'write -P 0x11 0 64k' \
        -c 'write -P 0x22 3M 4k' -c 'write -z -u 2M 64k' \
        -c 'discard 0 128k' -c 'write -P 0x33 5M 4k' -c 'flush' "$img"
    case $expect in
    refuse|rwrefuse)
        if ! grep -q "can't open" "$TMP/err"; then rc=0; fi
        must_fail "$name" io-write ;;
    esac
    run "$name" info "$EMBLOCK_IMG" info -f qcow2 "$img"
    [ $expect = refuse ] && must_fail "$name" info
    [ $expect = rwrefuse ] && must_pass "$name" info
    run "$name" map "$EMBLOCK_IMG" map -f qcow2 --output=json "$img"
    [ $expect = refuse ] && must_fail "$name" map
    run "$name" check "$EMBLOCK_IMG" check -f qcow2 "$img"
    [ $expect = refuse ] && must_fail "$name" check
    run "$name" check-r "$EMBLOCK_IMG" check -f qcow2 -r all "$img"
    [ $expect = refuse ] && must_fail "$name" check-r
    : "$rw_rc" "$rw_err"
done <"$TMP/img/MANIFEST"

echo "hostile: $count images, $nruns runs; max wall time ${max_ms} ms ($max_ms_what)"
[ $have_time = 1 ] && echo "hostile: max RSS ${max_rss} KiB ($max_rss_what); address-space limit $((ASLIMIT >> 20)) MiB"
[ $count -ge 25 ] || { echo "FAIL: only $count images"; fail=1; }
exit $fail
