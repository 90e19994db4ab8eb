#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img create with raw images: the "Formatting" line, size
# parsing, option checking and the errors qemu-img gives.
. "$(dirname "$0")/common.sh"

run create r.raw 4M
run create -f raw r2.raw 1G
run create -f raw r3.raw 1.5M
run create -q -f raw r4.raw 1k
run create -f raw -o preallocation=full p.raw 1M
run create -f raw -o preallocation=falloc p2.raw 1M
run create -f raw -o size=2M s.raw
stat -c '%n %s' r.raw r2.raw r3.raw r4.raw p.raw p2.raw s.raw
[ "$(du -k p.raw | cut -f1)" -ge 1024 ] && echo "p.raw is allocated"

echo "== errors"
run create x.raw
run create x.raw 1X
run create x.raw -- -5
run create
run create x.raw 1M extra
run create -f raw -o size=2M x.raw 3M
run create -f raw -o preallocation=metadata x.raw 1M
run create -f raw -o preallocation=foo x.raw 1M
run create -f raw -o cluster_size=4k x.raw 1M
run create -f raw -b r.raw -F raw x.raw 1M
run create -f foo x.raw 1M
run create -f null-co x.raw 1M
run create nodir/x.raw 1M
run create -f raw -o help
