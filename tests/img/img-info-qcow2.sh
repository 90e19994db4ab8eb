#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img info on qcow2: format-specific information (v3 and v2),
# backing files (also in a subdirectory: the actual path), the backing
# chain, a missing backing file and a backing loop.
. "$(dirname "$0")/common.sh"
require_qcow2

"$EMBLOCK_IMG" create -q -f qcow2 base.qcow2 4M
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
"$EMBLOCK_IMG" create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 1M
io -f qcow2 -c 'write -P 1 0 64k' base.qcow2
io -f qcow2 -c 'write -P 2 1M 64k' top.qcow2

run info base.qcow2
run info --output=json top.qcow2
run info --backing-chain top.qcow2
run info --backing-chain --output=json top.qcow2
run info v2.qcow2
run info --output=json lazy.qcow2

mkdir sub
"$EMBLOCK_IMG" create -q -f raw sub/base.raw 1M
"$EMBLOCK_IMG" create -q -f qcow2 -b base.raw -F raw sub/top.qcow2
run info sub/top.qcow2
run info --backing-chain sub/top.qcow2

echo "== a missing backing file: info works, the chain does not"
"$EMBLOCK_IMG" create -q -u -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2 1M
run info orphan.qcow2
run info --backing-chain orphan.qcow2

echo "== a backing loop"
"$EMBLOCK_IMG" create -q -u -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 1M
"$EMBLOCK_IMG" create -q -u -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 1M
run info --backing-chain a.qcow2

echo "== a backing file without a recorded format is opened as raw, not probed"
"$EMBLOCK_IMG" create -q -f raw nofmt-base.raw 1M
"$EMBLOCK_IMG" create -q -f qcow2 -b nofmt-base.raw -F raw nofmt.qcow2
drop_backing_fmt nofmt.qcow2
run info --backing-chain nofmt.qcow2
run info --backing-chain --output=json nofmt.qcow2
run map --output=json nofmt.qcow2
