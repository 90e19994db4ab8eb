#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img measure: new images of a given size, raw and qcow2 (cluster
# sizes, refcount widths, compat, preallocation), copies of sources with
# holes, data and zero ranges, a backing chain, both output formats, and
# the errors.  Every figure was checked against qemu-img 7.2 (see
# xcheck-measure.sh, which compares many more).
. "$(dirname "$0")/common.sh"
require_qcow2

# New images: raw needs the size in whole sectors; a 1 GiB qcow2 needs a
# header, two L2 tables, an L1 cluster and a refcount block and table.
run measure --size 1001
run measure -O qcow2 --size 1G
run measure --output=json -O qcow2 --size 1G
run measure -O qcow2 --size 0
run measure -O qcow2 -o cluster_size=4k,refcount_bits=64 --size 1G
run measure -O qcow2 -o compat=0.10 --size 1G
run measure -O qcow2 -o preallocation=metadata --size 1M
run measure -O qcow2 -o preallocation=full --size 1M
run measure -O qcow2 -o extended_l2=on,cluster_size=16k --size 1G

# A raw source: 64k, 128k and 1M of data, 4k in the middle of a cluster,
# a written-zero range (a hole).  Each data cluster counts once.
truncate -s 8M data.raw
io -f raw -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' \
   -c 'write -P 3 7M 1M' -c 'write -P 4 3100k 4k' -c 'write -z 5M 1M' \
   data.raw
truncate -s 8M empty.raw
run measure data.raw
run measure -O qcow2 data.raw
run measure -O qcow2 -o cluster_size=4k data.raw
run measure -O qcow2 -o backing_file=base.qcow2 data.raw
run measure -O qcow2 empty.raw

# qcow2 sources: a zero cluster costs nothing, the backing file's data
# counts for the overlay (the copy has no backing file), and a qcow2 v3
# source adds the bitmaps figure (0: emblock has no persistent bitmaps).
"$EMBLOCK_IMG" create -q -f qcow2 base.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -z 1M 64k' \
   -c 'write -P 2 2M 64k' base.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 6M
io -f qcow2 -c 'write -P 3 512k 64k' -c 'write -z 2M 64k' top.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -o compat=0.10 v2.qcow2 4M
run measure -O qcow2 base.qcow2
run measure --output=json -O qcow2 base.qcow2
run measure -O qcow2 -o compat=0.10 base.qcow2
run measure -O qcow2 top.qcow2
run measure -O qcow2 v2.qcow2
run measure -O qcow2 -f raw base.qcow2
run measure -O qcow2 --image-opts driver=qcow2,file.filename=top.qcow2

# Errors.
run measure
run measure --size 1M data.raw
run measure -f raw
run measure -l snap base.qcow2
run measure -O foo --size 1M
run measure -O file --size 1M
run measure -O qcow2 -o cluster_size=1000 --size 1M
run measure -O qcow2 -o compat=0.10,refcount_bits=8 --size 1M
run measure -O qcow2 -o preallocation=xyz --size 1M
run measure -O qcow2 -o foo=1 --size 1M
run measure -O qcow2 -o cluster_size=512 --size 100T
run measure --image-opts -f qcow2 driver=qcow2,file.filename=base.qcow2
