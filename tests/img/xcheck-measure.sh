#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img measure next to qemu-img measure: new images (--size) over
# a range of sizes, cluster sizes, refcount widths, compat levels and
# preallocation modes, then copies of sources, empty and partly written,
# raw and qcow2 (made by either tool), a backing chain, --image-opts,
# both output formats, and the usage and option errors.
#
# Left out on purpose: qcow2 sources whose data clusters are partly
# written while almost every cluster of the file is in use (the
# metadata-preallocation guess of qcow2 block status differs at its
# threshold), and -o options emblock's qcow2 does not know (encryption,
# data_file, nocow).
. "$(dirname "$0")/common.sh"
. "$TESTS_SRC/common-xcheck.sh"
cd w || exit 1

# ---- New images ------------------------------------------------------
for size in 0 1 512 1001 64k 1M 100M 1G 3T; do
    xc measure --size "$size"
    xc measure -O qcow2 --size "$size"
done
for cs in 512 4k 64k 2M; do
    for size in 1M 1G 1T; do
        xc measure -O qcow2 -o cluster_size="$cs" --size "$size"
    done
done
for rb in 1 8 16 64; do
    xc measure -O qcow2 -o refcount_bits="$rb" --size 10G
    xc measure -O qcow2 -o cluster_size=4k,refcount_bits="$rb" --size 10G
done
xc measure -O qcow2 -o compat=0.10 --size 1G
xc measure -O qcow2 -o compat=1.1 --size 1G
for p in off metadata falloc full; do
    xc measure -O qcow2 -o preallocation="$p" --size 5M
    xc measure -O raw -o preallocation="$p" --size 5M
done
xc measure -O qcow2 -o extended_l2=on --size 1G
xc measure -O qcow2 -o extended_l2=on,cluster_size=16k --size 1G
xc measure -O qcow2 -o size=5M --size 1M
xc measure -O qcow2 -o backing_file=x.qcow2,backing_fmt=qcow2 --size 1M
xc measure --output=json -O qcow2 --size 1G
xc measure --output=json --size 1G
xc measure -U --size 1M

# ---- Sources ---------------------------------------------------------
truncate -s 20M holes.raw
"$QEMU_IMG" create -q -f raw fresh.raw 20M
truncate -s 8M data.raw
io -f raw -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' \
   -c 'write -P 3 7M 1M' -c 'write -P 4 3100k 4k' -c 'write -z 5M 1M' \
   data.raw
head -c 1001 /dev/zero | tr '\0' 'x' >odd.raw
"$QEMU_IMG" create -q -f qcow2 q.qcow2 4M
qio -f qcow2 -c 'write -P 1 0 64k' -c 'write -z 1M 64k' \
    -c 'write -P 2 2M 128k' q.qcow2
"$QEMU_IMG" create -q -f qcow2 -b q.qcow2 -F qcow2 qtop.qcow2 6M
qio -f qcow2 -c 'write -P 3 512k 64k' -c 'write -z 2M 64k' \
    -c 'write -P 5 5M 4k' qtop.qcow2
"$QEMU_IMG" create -q -f qcow2 -o compat=0.10 v2.qcow2 4M
qio -f qcow2 -c 'write -P 1 100k 8k' v2.qcow2
"$QEMU_IMG" create -q -f qcow2 -o cluster_size=4k small.qcow2 1M
qio -f qcow2 -c 'write -P 5 4k 8k' -c 'write -P 6 20k 4k' small.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 empty.qcow2 10M
"$EMBLOCK_IMG" create -q -f qcow2 e.qcow2 4M
io -f qcow2 -c 'write -P 1 0 64k' -c 'write -z 1M 64k' \
   -c 'write -P 2 2M 64k' e.qcow2
"$EMBLOCK_IMG" create -q -f qcow2 -o preallocation=metadata pre.qcow2 2M
"$QEMU_IMG" create -q -f qcow2 -b data.raw -F raw rawback.qcow2

for f in holes.raw fresh.raw data.raw odd.raw q.qcow2 qtop.qcow2 \
         v2.qcow2 small.qcow2 empty.qcow2 e.qcow2 pre.qcow2 rawback.qcow2; do
    xc measure "$f"
    xc measure -O qcow2 "$f"
    xc measure -O qcow2 -o cluster_size=4k "$f"
    xc measure --output=json -O qcow2 -o cluster_size=512 "$f"
done
for o in compat=0.10 preallocation=full preallocation=metadata \
         backing_file=b.qcow2 cluster_size=2M,refcount_bits=64; do
    xc measure -O qcow2 -o "$o" data.raw
    xc measure -O qcow2 -o "$o" qtop.qcow2
done
xc measure -O qcow2 -f raw q.qcow2
xc measure -O qcow2 -f qcow2 q.qcow2
xc measure -O qcow2 -U q.qcow2
xc measure -O qcow2 --image-opts driver=qcow2,file.filename=q.qcow2
xc measure -O qcow2 --image-opts \
    driver=raw,file.driver=file,file.filename=data.raw
xc measure --output=json -O qcow2 --image-opts \
    driver=qcow2,file.filename=qtop.qcow2

# ---- Errors ----------------------------------------------------------
xc measure
xc measure a.raw b.raw
xc measure -f raw
xc measure -l snap
xc measure --image-opts
xc measure --size 1M data.raw
xc measure --size x
xc measure --size -1
xc measure --output=xml --size 1M
xc measure -O foo --size 1M
xc measure -O file --size 1M
xc measure -O null-co --size 1M
xc measure -O qcow2 --size 1000P
xc measure -O qcow2 -o cluster_size=512 --size 100T
for o in cluster_size=1000 cluster_size=4M cluster_size=x refcount_bits=3 \
         refcount_bits=128 refcount_bits=x compat=0.10,refcount_bits=8 \
         compat=2 compat=v3 preallocation=xyz lazy_refcounts=x foo=1 help \
         extended_l2=on,cluster_size=4k; do
    xc measure -O qcow2 -o "$o" --size 1M
done
xc measure -O raw -o cluster_size=4k --size 1M
xc measure missing.raw
xc measure -f foo data.raw
xc measure --image-opts -f qcow2 driver=qcow2,file.filename=q.qcow2
xc measure --image-opts driver=qcow2,file.filename=nope
xc measure -U --image-opts driver=qcow2,file.filename=q.qcow2,force-share=off
xc_done
