#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img map on qcow2: data, zero and unallocated clusters, depth and
# present across a backing chain, a backing file shorter than its overlay,
# and the human format.
. "$(dirname "$0")/common.sh"
require_qcow2

"$EMBLOCK_IMG" create -q -f qcow2 base.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -z 1M 64k' -c 'write -P 2 2M 64k' \
   base.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
io -f qcow2 -c 'write -P 3 512k 64k' -c 'write -z 2M 64k' top.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 long.qcow2 8M

run map --output=json base.qcow2
run map base.qcow2
run map --output=json top.qcow2
run map top.qcow2
run map --output=json --start-offset=100000 --max-length=1000000 top.qcow2
run map --output=json long.qcow2
run map --output=json -f raw top.qcow2
