#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img convert between raw images: the target stays sparse (its
# map equals the source's data), progress lines, -S 0, -n onto a target
# full of other data and onto one that reads as zero (nothing written),
# the writeback cache modes, several sources, ordering and coroutine
# options, and option errors.
. "$(dirname "$0")/common.sh"

truncate -s 64M src.raw
for off in 0 5M 10M 20M 33M 40M 63M; do
    io -f raw -c "write -P 0x61 $off 1M" src.raw
done
io -f raw -c 'write -P 0x62 30M 4k' -c 'write -z 31M 1M' src.raw

alloc()
{
    echo "$1: $(($(stat -c %b "$1") * $(stat -c %B "$1") / 1024)) KiB allocated"
}

run convert -f raw -O raw src.raw dst.raw
run compare -f raw -F raw src.raw dst.raw
alloc dst.raw
run map -f raw dst.raw

run convert -p -f raw -O raw src.raw progress.raw
run convert -S 0 -f raw src.raw full.raw
alloc full.raw
run convert -m 1 -f raw src.raw m1.raw
run convert -m 16 -W -f raw src.raw w16.raw
run compare -f raw -F raw src.raw w16.raw
alloc w16.raw

echo "== -n onto a target holding other data"
head -c 64M /dev/zero | tr '\0' 'z' >old.raw
run convert -n -f raw -O raw src.raw old.raw
run compare -f raw -F raw src.raw old.raw
alloc old.raw

echo "== -n onto a target that already reads as zero writes nothing"
truncate -s 64M holes.raw zero-target.raw
run convert -n -f raw -O raw holes.raw zero-target.raw
alloc zero-target.raw
run map --output=json -f raw zero-target.raw

echo "== cache modes"
run convert -t writeback -T writeback -f raw -O raw src.raw wb.raw
run compare -f raw -F raw src.raw wb.raw

echo "== several sources"
truncate -s 1M one.raw two.raw
io -f raw -c 'write -P 1 0 4k' one.raw
io -f raw -c 'write -P 2 512k 4k' two.raw
run convert -f raw one.raw two.raw cat.raw
run map --output=json -f raw cat.raw

echo "== errors"
run convert
run convert src.raw
run convert -O foo src.raw x.raw
run convert -m 0 src.raw x.raw
run convert -m 17 src.raw x.raw
run convert -S 100 src.raw x.raw
run convert -S x src.raw x.raw
run convert -n src.raw missing.raw
run convert -n -o preallocation=full src.raw old.raw
run convert -n src.raw one.raw
run convert -B one.raw src.raw x.raw
run convert --target-is-zero src.raw x.raw
run convert -c src.raw x.raw
run convert -t foo src.raw x.raw
run convert -T foo src.raw x.raw
run convert -f raw src.raw nodir/x.raw
