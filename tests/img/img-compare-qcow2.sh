#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img compare with qcow2: a backing chain against its flattened
# copy and against raw, allocation differences in strict mode, and zero
# clusters against unallocated ones.
. "$(dirname "$0")/common.sh"
require_qcow2

"$EMBLOCK_IMG" create -q -f qcow2 base.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -P 2 2M 64k' base.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
io -f qcow2 -c 'write -P 3 512k 64k' top.qcow2
"$EMBLOCK_IMG" convert -O qcow2 top.qcow2 flat.qcow2
"$EMBLOCK_IMG" convert -O raw top.qcow2 flat.raw
"$EMBLOCK_IMG" create -q -f qcow2 zero.qcow2 4M
io -f qcow2 -c 'write -z 0 4M' zero.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 empty.qcow2 4M

run compare top.qcow2 flat.qcow2
run compare -s top.qcow2 flat.qcow2
run compare -F raw top.qcow2 flat.raw
run compare base.qcow2 top.qcow2
run compare -s base.qcow2 top.qcow2
run compare zero.qcow2 empty.qcow2
run compare -s zero.qcow2 empty.qcow2
