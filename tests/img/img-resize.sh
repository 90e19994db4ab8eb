#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img resize: absolute and relative sizes, shrinking only with
# --shrink, preallocation, qcow2 growth, and errors.
. "$(dirname "$0")/common.sh"

"$EMBLOCK_IMG" create -q -f raw r.raw 20M
size() { stat -c '%n: %s bytes' "$1"; }

run resize -f raw r.raw 21M
size r.raw
run resize -f raw r.raw +1M
size r.raw
run resize -f raw r.raw 19M
run resize -f raw --shrink r.raw 19M
size r.raw
run resize -f raw --shrink r.raw -1M
size r.raw
run resize -q -f raw r.raw 20M
run resize -f raw --preallocation=full r.raw 21M
[ "$(du -k r.raw | cut -f1)" -ge 1024 ] && echo "the new MiB is allocated"
run resize r.raw 22M

echo "== errors"
run resize -f raw r.raw -- -30M
run resize -f raw --shrink r.raw -30M
run resize -f raw r.raw abc
run resize -f raw --preallocation=foo r.raw 30M
run resize -f raw --shrink --preallocation=full r.raw 10M
run resize r.raw
run resize missing.raw 1M

require_qcow2
"$EMBLOCK_IMG" create -q -f qcow2 q.qcow2 4M
io -f qcow2 -c 'write -P 7 3M 64k' q.qcow2
run resize q.qcow2 +4M
run info q.qcow2
run map --output=json q.qcow2
run check q.qcow2
