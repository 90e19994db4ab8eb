#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img info next to qemu-img info on the same images, human and
# JSON (the file child emblock adds, as qemu-img 8.0 does, is filtered
# out): raw and qcow2 images made by either tool, backing chains, a
# backing file in a subdirectory, a missing one and a loop.
. "$(dirname "$0")/common.sh"
. "$TESTS_SRC/common-xcheck.sh"
cd w || exit 1

"$QEMU_IMG" create -q -f raw qr.raw 4M
"$EMBLOCK_IMG" create -q -f raw er.raw 4M
truncate -s 1G t.raw
for f in qr.raw er.raw t.raw; do
    xc info "$f"
    xc info --output=json "$f"
    xc info -f raw --backing-chain --output=json "$f"
done
xc info missing.raw
xc info -f qcow2 t.raw
xc info -f foo t.raw

if ! have_qcow2; then
    echo "NOTE: qcow2 part skipped: emblock cannot open qcow2 images yet"
    xc_done
fi
"$QEMU_IMG" create -q -f qcow2 qbase.qcow2 4M
qio -f qcow2 -c 'write -P 1 0 64k' qbase.qcow2
"$QEMU_IMG" create -q -f qcow2 -b qbase.qcow2 -F qcow2 qtop.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 ebase.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' ebase.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b ebase.qcow2 -F qcow2 etop.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
"$EMBLOCK_IMG" create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4k \
    lazy.qcow2 1M
for f in qbase.qcow2 qtop.qcow2 ebase.qcow2 etop.qcow2 v2.qcow2 lazy.qcow2
do
    xc info "$f"
    xc info --output=json "$f"
    xc info --backing-chain "$f"
    xc info --backing-chain --output=json "$f"
done

mkdir -p sub
"$EMBLOCK_IMG" create -q -f raw sub/base.raw 1M
"$EMBLOCK_IMG" create -q -f qcow2 -b base.raw -F raw sub/top.qcow2
xc info sub/top.qcow2
xc info --output=json sub/top.qcow2
xc info --backing-chain sub/top.qcow2
xc info -U --output=json "$PWD/sub/top.qcow2"

"$EMBLOCK_IMG" create -q -u -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2 1M
xc info orphan.qcow2
xc info --backing-chain orphan.qcow2
"$EMBLOCK_IMG" create -q -u -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 1M
"$EMBLOCK_IMG" create -q -u -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 1M
xc info --backing-chain a.qcow2
xc_done
