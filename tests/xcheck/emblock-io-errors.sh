#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-io on bad input: every case must end with the expected exit
# status (never a signal) and print the expected message.
#
#   emblock-io-errors.sh EMBLOCK_IO
#
# Needs no qemu-io.  Exit status 0 when every case passes, 1 otherwise.

set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 EMBLOCK_IO" >&2
    exit 2
fi
EMBLOCK_IO=$(realpath "$1")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/emblock-io-errors.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
truncate -s 1M test.img

failed=0

# expect RC STREAM TEXT [ARGS...]: run emblock-io with ARGS (stdin from
# the file $INPUT, /dev/null by default) and check that it exits with RC
# and that STREAM (out or err) contains the fixed string TEXT.
expect()
{
    local want_rc=$1 stream=$2 text=$3 rc
    shift 3

    "$EMBLOCK_IO" "$@" <"${INPUT:-/dev/null}" >out 2>err
    rc=$?
    if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$text" "$stream"; then
        echo "FAIL: emblock-io $*"
        echo "  expected exit $want_rc and '$text' on std$stream," \
             "got exit $rc"
        sed 's/^/  stdout: /' out
        sed 's/^/  stderr: /' err
        failed=1
    else
        echo "ok   emblock-io $*"
    fi
}

# Opening
expect 1 err "emblock-io: can't open device nosuch.img: " \
    -c 'read 0 512' nosuch.img
expect 1 err "emblock-io: can't open device test.img: " \
    -f nosuchfmt -c 'read 0 512' test.img
expect 1 err "emblock-io: can't open: " \
    --image-opts -c 'read 0 512' driver=nosuch
expect 1 err "emblock-io: can't open: " --image-opts -c 'read 0 512' \
    'driver=raw,file.driver=file,file.filename=nosuch.img'
expect 1 err "emblock-io: can't open: " \
    --image-opts -c 'read 0 512' 'driver=file,filename=test.img,bogus=1'
expect 1 err "emblock-io: " --image-opts -c 'read 0 512' 'no-equals-sign'
expect 1 err "emblock-io: " --image-opts -c 'read 0 512' '{"driver": '
expect 1 err "--image-opts and -f are mutually exclusive" \
    --image-opts -f raw driver=file,filename=test.img
expect 1 err "force-share=on can only be used with read-only images" \
    -U -f raw -c 'read 0 512' test.img
expect 1 err "no file open, try 'help open'" -c 'read 0 512'

# Program options
expect 1 err "emblock-io: invalid option -- 'Z'" -Z test.img
expect 1 out "Usage: emblock-io" -Z test.img
expect 1 err "emblock-io: unrecognized option '--bogus'" --bogus test.img
expect 1 err "emblock-io: option requires an argument -- 'c'" test.img -c
expect 1 err "Invalid cache option: bogus" -t bogus test.img
expect 1 err "Invalid discard option: bogus" -d bogus test.img
expect 1 err "Invalid aio option: bogus" -i bogus test.img
expect 1 out "Usage: emblock-io" -f raw test.img test.img
expect 0 out "Usage: emblock-io" -h

# Requests out of range or malformed
expect 1 out "read failed: Input/output error" \
    -f raw -c 'read 1M 512' test.img
expect 1 out "write failed: Input/output error" \
    -f raw -c 'write 1023k 2k' test.img
expect 1 out "write failed: Input/output error" \
    -f raw -c 'write -z 2M 512' test.img
expect 1 out "discard failed: Input/output error" \
    -f raw -c 'discard 1M 4k' test.img
expect 1 out "readv failed: Input/output error" \
    -f raw -c 'readv 1M 512' test.img
expect 0 out "aio_write failed: Input/output error" \
    -f raw -c 'aio_write 1M 512' test.img
expect 1 out "length cannot exceed 2147483136, given 4G" \
    -f raw -c 'read 0 4G' test.img
expect 1 out "Parsing error: argument too large -- 16E" \
    -f raw -c 'read 16E 512' test.img
expect 1 out "Parsing error: non-numeric argument," \
    -f raw -c 'read 0 1x' test.img
expect 1 err 'command "nosuch" not found' -f raw -c nosuch test.img
expect 1 err "bad argument count 1 to read, expected at least 2 arguments" \
    -f raw -c 'read 0' test.img
expect 1 err "read: invalid option -- 'x'" -f raw -c 'read -x 0 1' test.img
expect 1 out "Pattern verification failed at offset 0, 512 bytes" \
    -f raw -c 'read -P 1 0 512' test.img
expect 1 err "read-only" -r -f raw -c 'write 0 512' test.img
expect 1 err "nosuch.txt: No such file or directory" \
    -f raw -c 'write -s nosuch.txt 0 512' test.img

# An image another writer holds: refused with QEMU's lock message, and
# -U -r still reads it (the writer is an emblock-io that sleeps; it is
# killed when the checks are done).
"$EMBLOCK_IO" -f raw -c 'sleep 30000' test.img >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do            # until its lock is taken
    "$EMBLOCK_IO" -f raw -c 'length' test.img >/dev/null 2>&1 || break
    sleep 0.05
done
expect 1 err 'Failed to get "write" lock' -f raw -c 'write 0 512' test.img
expect 1 err "Is another process using the image [test.img]?" \
    -f raw -c 'read 0 512' test.img
expect 0 out "read 512/512 bytes at offset 0" \
    -U -r -f raw -c 'read 0 512' test.img
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# Commands from stdin: garbage, a long line, no final newline
printf 'read 0 1\001\002\377\nnosuch\n%0999999d\nlength' 0 >garbage.txt
INPUT=garbage.txt expect 1 out "1 MiB" -f raw test.img
printf 'read -P 0 0 512\nquit\nnosuch\n' >quit.txt
INPUT=quit.txt expect 0 out "read 512/512 bytes at offset 0" -f raw test.img

exit $failed
