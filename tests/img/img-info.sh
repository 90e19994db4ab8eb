#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img info on raw images: human and JSON output (with the file
# child, as qemu-img prints it since 8.0), probing, and errors.
. "$(dirname "$0")/common.sh"

"$EMBLOCK_IMG" create -q -f raw r.raw 4M
truncate -s 1G t.raw
: >empty.raw

run info r.raw
run info -f raw t.raw
run info --output=json t.raw
run info --backing-chain --output=json r.raw
run info -U --output=human empty.raw

echo "== errors"
run info missing.raw
run info -f foo r.raw
run info -f qcow2 r.raw
run info --output=yaml r.raw
