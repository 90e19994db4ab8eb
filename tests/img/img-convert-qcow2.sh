#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img convert to and from qcow2: sparse targets, backing chains
# flattened or kept (-B), zero clusters, and the check of every target.
. "$(dirname "$0")/common.sh"
require_qcow2

truncate -s 16M src.raw
io -f raw -c 'write -P 0x61 0 1M' -c 'write -P 0x62 8M 64k' src.raw

run convert -f raw -O qcow2 src.raw a.qcow2
run check a.qcow2
run map --output=json a.qcow2
run compare -f raw src.raw a.qcow2
run convert -O qcow2 -o cluster_size=4k,compat=0.10 a.qcow2 b.qcow2
run info b.qcow2
run check b.qcow2
run convert -O raw b.qcow2 back.raw
run compare -f raw -F raw src.raw back.raw
run map -f raw back.raw

echo "== backing chains"
"$EMBLOCK_IMG" create -q -f qcow2 base.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -P 2 2M 64k' base.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
io -f qcow2 -c 'write -P 3 512k 64k' -c 'write -z 2M 64k' top.qcow2
run convert -O qcow2 top.qcow2 flat.qcow2
run map --output=json flat.qcow2
run compare top.qcow2 flat.qcow2
run convert -O qcow2 -B base.qcow2 -F qcow2 top.qcow2 over.qcow2
run map --output=json over.qcow2
run compare top.qcow2 over.qcow2
run convert -O qcow2 -B base.qcow2 top.qcow2 x.qcow2

echo "== -n onto a target that already reads as zero writes no zeroes"
# A zero write would leave zero clusters ("present": true, "zero": true)
# in the fresh qcow2 target: only the two data clusters may appear.
truncate -s 8M holes.raw
io -f raw -c 'write -P 0x63 1M 64k' -c 'write -z 2M 1M' \
   -c 'write -P 0x64 6M 64k' holes.raw
"$EMBLOCK_IMG" create -q -f qcow2 zero-target.qcow2 8M
run convert -n -f raw -O qcow2 holes.raw zero-target.qcow2
run map --output=json zero-target.qcow2
run compare -f raw -F qcow2 holes.raw zero-target.qcow2
