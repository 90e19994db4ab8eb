#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img convert with O_DIRECT on both sides (-t none -T none, and
# directsync), raw and qcow2 targets.  Some file systems (tmpfs before
# Linux 6.6) refuse O_DIRECT: the test then works in /var/tmp, and is
# skipped when that refuses it too.
. "$(dirname "$0")/common.sh"

# Whether directory $1 accepts O_DIRECT writes.
direct_ok()
{
    local ok=1

    dd if=/dev/zero of="$1/.direct-probe" bs=4096 count=1 oflag=direct \
        >/dev/null 2>&1 && ok=0
    rm -f "$1/.direct-probe"
    return $ok
}

if ! direct_ok "$TEST_DIR"; then
    DIRECT_DIR=$(mktemp -d /var/tmp/emblock-img-direct.XXXXXX) ||
        skip "O_DIRECT unsupported in $TEST_DIR and no /var/tmp"
    trap 'rm -rf "$TEST_DIR" "$DIRECT_DIR"' EXIT
    direct_ok "$DIRECT_DIR" ||
        skip "O_DIRECT unsupported in $TEST_DIR and in /var/tmp"
    cd "$DIRECT_DIR" || exit 1
fi

# An unaligned data range (a partial sector) too: O_DIRECT I/O on both
# files must be padded to their alignment.
truncate -s 8M src.raw
io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 3M 4k' \
   -c 'write -P 3 5000000 1000' src.raw

run convert -t none -T none -f raw -O raw src.raw none.raw
run compare -f raw -F raw src.raw none.raw
run map -f raw none.raw
run convert -t directsync -T none -f raw -O raw src.raw dsync.raw
run compare -T none -f raw -F raw src.raw dsync.raw

have_qcow2 || skip "emblock cannot create and open qcow2 images yet"
run convert -t none -T none -f raw -O qcow2 src.raw none.qcow2
run compare -f raw -F qcow2 src.raw none.qcow2
run check none.qcow2
run convert -t none -T none -O raw none.qcow2 back.raw
run compare -f raw -F raw src.raw back.raw
