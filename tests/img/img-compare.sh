#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img compare on raw images: identical, different (reported at
# 512-byte granularity), size mismatches, strict mode, quiet mode, -U,
# and the exit statuses 0, 1, 2.
. "$(dirname "$0")/common.sh"

truncate -s 4M a.raw
truncate -s 4M b.raw
cp a.raw c.raw
io -f raw -c 'write -P 0x58 1000 1' b.raw
io -f raw -c 'write -z 0 64k' c.raw
truncate -s 5M long.raw
cp long.raw longdata.raw
io -f raw -c 'write -P 0x5a 4500000 1' longdata.raw

run compare a.raw a.raw
run compare -f raw -F raw a.raw b.raw
run compare -f raw -F raw b.raw a.raw
run compare -q -f raw -F raw a.raw b.raw
run compare -f raw -F raw a.raw c.raw
run compare -s -f raw -F raw a.raw c.raw
run compare -f raw -F raw a.raw long.raw
run compare -s -f raw -F raw a.raw long.raw
run compare -f raw -F raw longdata.raw a.raw
run compare -p -f raw -F raw a.raw long.raw
run compare -U -f raw -F raw a.raw c.raw
run compare -U -s -f raw -F raw a.raw b.raw

echo "== errors"
run compare -f raw -F raw a.raw missing.raw
run compare a.raw
run compare -f qcow2 a.raw a.raw
