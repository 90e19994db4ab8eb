#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img create with qcow2: qemu-img 7.2's option line (order,
# defaults, normalised sizes), backing files and option errors.
. "$(dirname "$0")/common.sh"
require_qcow2

run create -f qcow2 q.qcow2 4M
run create -f qcow2 -b q.qcow2 -F qcow2 top.qcow2
run create -f qcow2 -o backing_file=r.raw -b q.qcow2 -F qcow2 top2.qcow2
run create -f qcow2 -o cluster_size=4k,compat=0.10,preallocation=metadata \
    q2.qcow2 10M
run create -f qcow2 -o compat=1.1,lazy_refcounts=on,refcount_bits=8 q3.qcow2 10M
run create -f qcow2 -o lazy_refcounts,size=1M,size=2M q4.qcow2
run create -f qcow2 -o cluster_size=1M q5.qcow2 1.5M
run create -u -f qcow2 -b missing.qcow2 -F qcow2 u.qcow2 1M
run info top.qcow2

echo "== errors"
run create -f qcow2 -b q.qcow2 x.qcow2
run create -f qcow2 -b missing.qcow2 -F qcow2 x.qcow2
run create -f qcow2 -b q.qcow2 -F raw x.qcow2 1M
run create -f qcow2 -b q.qcow2 -F qcow2 q.qcow2
run create -u -f qcow2 -b missing.qcow2 -F qcow2 x.qcow2
run create -f qcow2 -F raw x.qcow2 1M
run create -f qcow2 -o cluster_size=3k x.qcow2 1M
run create -f qcow2 -o cluster_size=abc x.qcow2 1M
run create -f qcow2 -o refcount_bits=3 x.qcow2 1M
run create -f qcow2 -o refcount_bits=abc x.qcow2 1M
run create -f qcow2 -o compat=0.10,lazy_refcounts=on x.qcow2 1M
run create -f qcow2 -o lazy_refcounts=maybe x.qcow2 1M
run create -f qcow2 -o foo=bar x.qcow2 1M
run create -f qcow2 -o help
