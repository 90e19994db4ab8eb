#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img check next to qemu-img check: summaries in both output
# formats and exit statuses for raw (63), clean qcow2 images made by
# either tool, images with leaked clusters and with a refcount that is too
# low; repairs run on separate copies by each tool.
. "$(dirname "$0")/common.sh"
. "$TESTS_SRC/common-xcheck.sh"

(cd w && truncate -s 1M r.raw)
xc check -f raw r.raw
xc check --output=json r.raw
xc check -r foo r.raw
xc check missing.qcow2

if ! have_qcow2; then
    echo "NOTE: qcow2 part skipped: emblock cannot open qcow2 images yet"
    xc_done
fi

cd w || exit 1
"$QEMU_IMG" create -q -f qcow2 qfresh.qcow2 1M
"$EMBLOCK_IMG" create -q -f qcow2 efresh.qcow2 1M
"$QEMU_IMG" create -q -f qcow2 qdata.qcow2 4M
qio -f qcow2 -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' qdata.qcow2
if have_qemu_io; then
    "$QEMU_IO" -f qcow2 -c 'write -c -P 4 3M 64k' qdata.qcow2 >/dev/null
fi
"$EMBLOCK_IMG" create -q -f qcow2 edata.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' edata.qcow2
cp edata.qcow2 leak.qcow2
set_refcount leak.qcow2 20 1
set_refcount leak.qcow2 21 1
for f in qfresh.qcow2 efresh.qcow2 qdata.qcow2 edata.qcow2 leak.qcow2; do
    xc check "$f"
    xc check --output=json "$f"
done
cp edata.qcow2 bad.qcow2
cluster=$("$QEMU_IMG" map --output=json edata.qcow2 |
          sed -n '1s/.*"offset": \([0-9]*\).*/\1/p')
set_refcount bad.qcow2 $((cluster / 65536)) 0
xc check bad.qcow2
xc check --output=json bad.qcow2
cd .. || exit 1

for d in e q; do
    cp w/leak.qcow2 $d/leak.qcow2
    cp w/leak.qcow2 $d/leak2.qcow2
    cp w/bad.qcow2 $d/bad.qcow2
done
xc_sep check -r leaks leak.qcow2
xc_sep check leak.qcow2
xc_sep check --output=json -r all leak2.qcow2
xc_sep check -r leaks bad.qcow2
xc_sep check -r all bad.qcow2
xc_sep check bad.qcow2
xc_done
