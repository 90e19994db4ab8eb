#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img bench: qemu-img bench's lines (timing filtered), request
# offsets that wrap at the image size, written patterns, flushes, and
# option errors.
. "$(dirname "$0")/common.sh"

truncate -s 4M b.raw
run bench -f raw -c 1000 b.raw
run bench -f raw -c 100 -d 4 -s 8k -S 16k -o 1M -w --pattern=5 b.raw
od -A d -t x1 -j 1048576 -N 32 b.raw
od -A d -t x1 -j 1056768 -N 16 b.raw
run bench -f raw -w -c 10 -d 2 --flush-interval=2 b.raw
run bench -f raw -w -c 10 -d 2 --flush-interval=4 --no-drain b.raw
run bench -f raw -c 8 -s 1M -d 1 b.raw
run bench -f raw -c 0 b.raw
run bench -c 1 -w b.raw

echo "== errors"
run bench -f raw -c 8 -s 1M -S 1536k -d 1 b.raw
run bench -f raw -o 5M -c 5 b.raw
run bench -f raw -c abc b.raw
run bench -f raw -d 0 b.raw
run bench -f raw -s x b.raw
run bench -f raw -S x b.raw
run bench -f raw -o x b.raw
run bench -f raw --pattern=300 -w b.raw
run bench -f raw -w --flush-interval=2 b.raw
run bench -f raw -d 2 --flush-interval=2 b.raw
run bench -f raw --flush-interval=x -w b.raw
run bench -f raw -i foo b.raw
run bench -f raw -t foo b.raw
run bench -f raw -c 1 -n b.raw
