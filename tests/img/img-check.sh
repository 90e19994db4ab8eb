#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img check: raw (no check, exit 63), clean qcow2 images in both
# output formats, leaked clusters (exit 3, repaired by -r leaks) and a
# refcount that is too low (exit 2, repaired by -r all).
. "$(dirname "$0")/common.sh"

truncate -s 1M r.raw
run check -f raw r.raw
run check --output=json r.raw
run check -r foo r.raw
run check missing.qcow2

require_qcow2

"$EMBLOCK_IMG" create -q -f qcow2 fresh.qcow2 1M
"$EMBLOCK_IMG" create -q -f qcow2 data.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' data.qcow2
run check fresh.qcow2
run check --output=json fresh.qcow2
run check data.qcow2
run check --output=json data.qcow2
run check -q data.qcow2

echo "== leaked clusters"
cp data.qcow2 leak.qcow2
set_refcount leak.qcow2 20 1
set_refcount leak.qcow2 21 1
run check leak.qcow2
run check --output=json leak.qcow2
run check -r leaks leak.qcow2
run check leak.qcow2

echo "== a refcount that is too low"
cp data.qcow2 bad.qcow2
cluster=$("$EMBLOCK_IMG" map --output=json data.qcow2 |
          sed -n '1s/.*"offset": \([0-9]*\).*/\1/p')
set_refcount bad.qcow2 $((cluster / 65536)) 0
run check bad.qcow2
run check -r leaks bad.qcow2
run check --output=json -r all bad.qcow2
run check bad.qcow2
run compare data.qcow2 bad.qcow2
run check -r all -U bad.qcow2
