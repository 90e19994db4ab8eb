#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img map on raw images: JSON entries (with "compressed" on every
# entry), merging, the human format, --start-offset and --max-length.
. "$(dirname "$0")/common.sh"

"$EMBLOCK_IMG" create -q -f raw fresh.raw 20M
truncate -s 20M holes.raw
truncate -s 8M data.raw
io -f raw -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' \
   -c 'write -P 3 7M 1M' data.raw

run map --output=json fresh.raw
run map fresh.raw
run map --output=json -f raw holes.raw
run map -f raw holes.raw
run map --output=json -f raw data.raw
run map -f raw data.raw
run map --output=json -f raw --start-offset=32k --max-length=1M data.raw
run map --output=json -f raw --start-offset=1M --max-length=64k data.raw
run map -f raw --start-offset=1088k data.raw
run map --output=json -f raw --start-offset=9M data.raw
run map -f raw --start-offset=9M data.raw

echo "== errors"
run map missing.raw
run map --start-offset=x data.raw
run map --max-length=1Q data.raw
run map --output=xml data.raw
