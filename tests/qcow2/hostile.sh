#!/usr/bin/env bash
# Hostile qcow2 images: every image made by gen-hostile.py goes through
# emblock-io (open + read + map, read-write and read-only) and emblock-img
# info, map and check, plus writes.  Each run has a time limit
# ($HOSTILE_TIMEOUT s, default 1; the slowest run takes about 0.4 s) and a
# 64 MiB address-space limit; it must not crash, and images that must be
# refused must be refused with an error message on stderr.
#
# The specific messages come from gen-hostile.py's EXPECT file (see there):
# an open refused with exactly that message, or a check, read or write
# printing exactly that line.  Where QEMU 7.2 prints the same line (SRC
# "qemu") and qemu-img/qemu-io are installed, they are run on the same image
# and must print it too, so the expected wording is checked against QEMU's.
#
# env: EMBLOCK_IMG, EMBLOCK_IO (defaults: relative to $1 = build dir);
#      QEMU_IMG, QEMU_IO (default: from PATH; "none" skips the cross-check)
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
QEMU_IMG=${QEMU_IMG:-$(command -v qemu-img || echo none)}
QEMU_IO=${QEMU_IO:-$(command -v qemu-io || echo none)}
have_qemu=0
[ -x "$QEMU_IMG" ] && [ -x "$QEMU_IO" ] && have_qemu=1
mkdir -p "$TMP/r"
nmsg=0
nqemu=0

fail=0
nruns=0
max_ms=0
max_ms_what=
max_rss=0
max_rss_what=

# run NAME TAG CMD... : run one command under the limits; sets $rc, $err
# and keeps its output in $TMP/r/TAG.out and TAG.err (bash builtins where
# possible: the machine may be busy, and this runs about 600 times)
run() {
    local name=$1 tag=$2; shift 2
    local t0 t1 ms rss=
    local out=$TMP/r/$tag.out errf=$TMP/r/$tag.err
    cp "$TMP/img/$name.qcow2" "$TMP/work.qcow2"
    t0=${EPOCHREALTIME/[.,]/}
    if [ $have_time = 1 ]; then
        : >"$TMP/rss"
        timeout -s KILL "$TLIMIT" prlimit --as=$ASLIMIT \
            /usr/bin/time -o "$TMP/rss" -f %M "$@" >"$out" 2>"$errf"
    else
        timeout -s KILL "$TLIMIT" prlimit --as=$ASLIMIT "$@" \
            >"$out" 2>"$errf"
    fi
    rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    nruns=$((nruns + 1))
    ms=$(( (t1 - t0) / 1000 ))
    if [ $ms -gt $max_ms ]; then max_ms=$ms; max_ms_what="$name/$tag"; fi
    if [ $have_time = 1 ]; then
        local line sig=
        while IFS= read -r line; do
            rss=$line
            # /usr/bin/time reports a child's signal death in its own output
            if [[ $line =~ terminated\ by\ signal\ ([0-9]+) ]]; then
                sig=${BASH_REMATCH[1]}
            fi
        done <"$TMP/rss"
        [ -n "$sig" ] && rc=$((128 + sig))
        case $rss in
        ''|*[!0-9]*) ;;
        *) if [ "$rss" -gt $max_rss ]; then max_rss=$rss; max_rss_what="$name/$tag"; fi ;;
        esac
    fi
    err=$(<"$errf")
    if [ $rc -ge 124 ]; then
        echo "FAIL $name/$tag: exit $rc (crash, timeout or limit); stderr: $err"
        fail=1
    elif [[ $err =~ Segmentation|Aborted|AddressSanitizer|runtime\ error|assertion|Assertion ]]; then
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

# has_line FILE... : stdin's single line is a whole line of one of FILEs
has_line() {
    local want
    want=$(cat)
    cat "$@" | grep -Fxq -e "$want"
}

# expect_msgs NAME: every line of EXPECT for NAME holds for the last runs
expect_msgs() {
    local name=$1 n op src msg img=$TMP/work.qcow2 ok
    while IFS=$'\t' read -r n op src msg; do
        [ "$n" = "$name" ] || continue
        nmsg=$((nmsg + 1))
        case $op in
        open)
            ok=1
            [ "$(tail -n1 "$TMP/r/info.err")" = \
              "emblock-img: Could not open '$img': $msg" ] || ok=0
            echo "emblock-io: can't open device $img: $msg" |
                has_line "$TMP/r/io-ro.err" || ok=0 ;;
        rwopen)
            echo "emblock-io: can't open device $img: $msg" |
                has_line "$TMP/r/io-rw.err" && ok=1 || ok=0 ;;
        check)
            echo "$msg" | has_line "$TMP/r/check.out" "$TMP/r/check.err" &&
                ok=1 || ok=0 ;;
        write)
            echo "$msg" | has_line "$TMP/r/io-write.err" && ok=1 || ok=0 ;;
        read)
            echo "$msg" | has_line "$TMP/r/io-ro.err" && ok=1 || ok=0 ;;
        *)
            echo "FAIL $name: unknown check '$op' in EXPECT"; fail=1; continue ;;
        esac
        if [ $ok = 0 ]; then
            echo "FAIL $name/$op: expected '$msg'; got:"
            sed 's/^/    /' "$TMP/r/$( case $op in open) echo info;;
                rwopen) echo io-rw;; check) echo check;; write) echo io-write;;
                read) echo io-ro;; esac).err"
            fail=1
        fi
        [ $have_qemu = 1 ] && [ "$src" = qemu ] && qemu_same "$name" "$op" "$msg"
    done <"$TMP/img/EXPECT"
}

# qemu_same NAME OP MSG: QEMU's tools print MSG for the image too
qemu_same() {
    local name=$1 op=$2 msg=$3 img=$TMP/qemu.qcow2 ok=0
    cp "$TMP/img/$name.qcow2" "$img"
    nqemu=$((nqemu + 1))
    case $op in
    open)
        timeout 10 "$QEMU_IMG" info -f qcow2 "$img" >/dev/null 2>"$TMP/q.err"
        [ "$(head -n1 "$TMP/q.err")" = "qemu-img: Could not open '$img': $msg" ] &&
            ok=1 ;;
    rwopen)
        timeout 10 "$QEMU_IO" -f qcow2 -c 'read 0 512' "$img" \
            >/dev/null 2>"$TMP/q.err"
        echo "qemu-io: can't open device $img: $msg" | has_line "$TMP/q.err" &&
            ok=1 ;;
    check)
        timeout 10 "$QEMU_IMG" check -f qcow2 "$img" >"$TMP/q.err" 2>&1
        echo "$msg" | has_line "$TMP/q.err" && ok=1 ;;
    write)
        timeout 10 "$QEMU_IO" -f qcow2 -c 'write -P 0x11 0 64k' \
            -c 'write -P 0x22 3M 4k' -c 'write -P 0x33 5M 4k' "$img" \
            >/dev/null 2>"$TMP/q.err"
        echo "$msg" | has_line "$TMP/q.err" && ok=1 ;;
    read)
        timeout 10 "$QEMU_IO" -r -f qcow2 -c 'read 0 64k' -c 'read 3M 64k' \
            "$img" >/dev/null 2>"$TMP/q.err"
        echo "$msg" | has_line "$TMP/q.err" && ok=1 ;;
    esac
    if [ $ok = 0 ]; then
        echo "FAIL $name/$op: QEMU does not print '$msg'; it printed:"
        sed 's/^/    /' "$TMP/q.err"
        fail=1
    fi
}

count=0
while read -r name expect; do
    count=$((count + 1))
    img=$TMP/work.qcow2
    # An image refused at open goes through one read-only and one
    # read-write open of each tool (io-ro, io-write, info, check): map and
    # the other runs would only repeat the same header checks.
    if [ $expect != refuse ]; then
        run "$name" io-rw "$EMBLOCK_IO" -f qcow2 -c 'read 0 64k' \
            -c 'read 3M 64k' -c 'map' "$img"
        # emblock-io keeps going after a failed command; an open failure
        # is the "can't open" message
        case $expect in
        rwrefuse)
            if [[ $err != *"can't open"* ]]; then rc=0; fi
            must_fail "$name" io-rw ;;
        opens)
            if [[ $err == *"can't open"* ]]; then rc=1; fi
            must_pass "$name" io-rw ;;
        esac
    fi
    run "$name" io-ro "$EMBLOCK_IO" -r -f qcow2 -c 'read 0 64k' \
        -c 'read 3M 64k' -c 'map' "$img"
    case $expect in
    refuse)
        if [[ $err != *"can't open"* ]]; then rc=0; fi
        must_fail "$name" io-ro ;;
    rwrefuse|opens)
        if [[ $err == *"can't open"* ]]; then rc=1; fi
        must_pass "$name" io-ro ;;
    esac
    # writes over the damaged metadata (allocating, overwrite, zero,
    # discard, compressed area): refused or failed, never a crash
    run "$name" io-write "$EMBLOCK_IO" -f qcow2 -c 'write -P 0x11 0 64k' \
        -c 'write -P 0x22 3M 4k' -c 'write -z -u 2M 64k' \
        -c 'discard 0 128k' -c 'write -P 0x33 5M 4k' -c 'flush' "$img"
    case $expect in
    refuse|rwrefuse)
        if [[ $err != *"can't open"* ]]; then rc=0; fi
        must_fail "$name" io-write ;;
    esac
    run "$name" info "$EMBLOCK_IMG" info -f qcow2 "$img"
    [ $expect = refuse ] && must_fail "$name" info
    [ $expect = rwrefuse ] || [ $expect = opens ] && must_pass "$name" info
    [ $expect != refuse ] &&
        run "$name" map "$EMBLOCK_IMG" map -f qcow2 --output=json "$img"
    run "$name" check "$EMBLOCK_IMG" check -f qcow2 "$img"
    [ $expect = refuse ] && must_fail "$name" check
    [ $expect != refuse ] &&
        run "$name" check-r "$EMBLOCK_IMG" check -f qcow2 -r all "$img"
    expect_msgs "$name"
done <"$TMP/img/MANIFEST"

echo "hostile: $count images, $nruns runs; max wall time ${max_ms} ms ($max_ms_what)"
echo "hostile: $nmsg specific messages checked; $nqemu of them also against QEMU ($([ $have_qemu = 1 ] && "$QEMU_IMG" --version | head -n1 || echo 'qemu-img not installed'))"
[ $have_time = 1 ] && echo "hostile: max RSS ${max_rss} KiB ($max_rss_what); address-space limit $((ASLIMIT >> 20)) MiB"
[ $count -ge 100 ] || { echo "FAIL: only $count images"; fail=1; }
[ $nmsg -ge 80 ] || { echo "FAIL: only $nmsg specific messages"; fail=1; }
exit $fail
