#!/usr/bin/env python3
# Generate a corpus of hostile qcow2 images, each with one corrupted field.
#
# usage: gen-hostile.py BASE.qcow2 OUTDIR
#
# BASE must be a valid version 3 qcow2 image (64 KiB clusters) with data
# written at guest offset 0 (normal cluster), 3M (compressed cluster) and
# 2M (normal cluster), as made by hostile.sh.
#
# For every image NAME.qcow2 a line "NAME EXPECT" is written to
# OUTDIR/MANIFEST, where EXPECT is
#   refuse  - every open must fail with an error message
#   rwrefuse- read-write open must fail, read-only open must work
#   any     - the image may or may not open; tools must simply not crash
#             and must finish within the time and memory limits.
import os
import struct
import sys

MAGIC = 0x514649fb
INCOMPAT_CORRUPT = 1 << 1


def be64(buf, off):
    return struct.unpack_from('>Q', buf, off)[0]


def be32(buf, off):
    return struct.unpack_from('>I', buf, off)[0]


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: gen-hostile.py BASE.qcow2 OUTDIR\n')
        return 2
    base = bytearray(open(sys.argv[1], 'rb').read())
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)

    if be32(base, 0) != MAGIC or be32(base, 4) != 3:
        sys.stderr.write('base image is not a qcow2 v3 image\n')
        return 1
    cluster_bits = be32(base, 20)
    cs = 1 << cluster_bits
    l1_off = be64(base, 40)
    hdr_len = be32(base, 100)
    l2_off = be64(base, l1_off) & 0x00fffffffffffe00
    if not l2_off:
        sys.stderr.write('base image has no L2 table for guest offset 0\n')
        return 1
    l2_entries = cs // 8
    comp_idx = (3 << 20) // cs % l2_entries   # guest 3M: compressed cluster
    data_idx = 0                              # guest 0: normal cluster
    if not (be64(base, l2_off + comp_idx * 8) >> 62) & 1:
        sys.stderr.write('base image has no compressed cluster at 3M\n')
        return 1
    huge_off = 0x00fffffffffe0000   # cluster aligned, far beyond EOF

    manifest = []

    def emit(name, expect, img):
        with open(os.path.join(outdir, name + '.qcow2'), 'wb') as f:
            f.write(img)
        manifest.append('%s %s\n' % (name, expect))

    def field(name, expect, off, fmt, value):
        img = bytearray(base)
        struct.pack_into(fmt, img, off, value)
        emit(name, expect, img)

    # --- header fields ---------------------------------------------------
    field('bad-magic', 'refuse', 0, '>I', 0x514649fc)
    field('version-1', 'refuse', 4, '>I', 1)
    field('version-4', 'refuse', 4, '>I', 4)
    field('cluster-bits-8', 'refuse', 20, '>I', 8)
    field('cluster-bits-22', 'refuse', 20, '>I', 22)
    field('cluster-bits-40', 'refuse', 20, '>I', 40)
    field('l1-size-huge', 'refuse', 36, '>I', 0x7fffffff)
    field('l1-size-too-small', 'refuse', 36, '>I', 0)
    field('l1-offset-unaligned', 'refuse', 40, '>Q', l1_off + 512)
    field('l1-offset-huge', 'refuse', 40, '>Q', 0xffffffffffff0000)
    field('l1-offset-past-eof', 'any', 40, '>Q', huge_off)
    field('reftable-offset-unaligned', 'refuse', 48, '>Q',
          be64(base, 48) + 512)
    field('reftable-offset-huge', 'refuse', 48, '>Q', 0xffffffffffff0000)
    field('reftable-clusters-0', 'any', 56, '>I', 0)
    field('reftable-clusters-huge', 'refuse', 56, '>I', 0xffffffff)
    field('nb-snapshots-huge', 'refuse', 60, '>I', 0xffffffff)
    img = bytearray(base)
    struct.pack_into('>I', img, 60, 1)
    struct.pack_into('>Q', img, 64, 4 * cs + 8)
    emit('snapshots-offset-unaligned', 'refuse', img)
    img = bytearray(base)
    struct.pack_into('>I', img, 60, 1)
    struct.pack_into('>Q', img, 64, huge_off)
    emit('snapshots-offset-past-eof', 'any', img)
    field('header-length-small', 'refuse', 100, '>I', 96)
    # QEMU 7.2 accepts a header_length that is not a multiple of 8 too
    field('header-length-unaligned', 'any', 100, '>I', 106)
    field('header-length-huge', 'refuse', 100, '>I', 0x7ffffff8)
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, cs + 16)
    struct.pack_into('>I', img, 16, 8)
    emit('backing-offset-past-cluster', 'refuse', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, 2048)
    struct.pack_into('>I', img, 16, 1024)
    img[2048:2048 + 1024] = b'b' * 1024
    emit('backing-name-1024', 'refuse', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, cs - 4)
    struct.pack_into('>I', img, 16, 0xffffffff)
    emit('backing-name-len-huge', 'refuse', img)
    field('refcount-order-7', 'refuse', 96, '>I', 7)
    # unknown incompatible bit 40, with the feature name table (base has
    # one) and without (extension area wiped)
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, 1 << 40)
    # add a name for bit 40 to the feature name table if there is room
    p = hdr_len
    while p + 8 <= cs:
        t, ln = be32(img, p), be32(img, p + 4)
        if t == 0:
            break
        if t == 0x6803f857 and ln + 48 <= cs - p - 8 - 8:
            # shift the following extensions to make room for one entry
            rest = bytes(img[p + 8 + ln:cs - 48])
            ent = struct.pack('>BB46s', 0, 40, b'hostile feature')
            img[p + 8 + ln:cs] = ent + rest
            struct.pack_into('>I', img, p + 4, ln + 48)
            break
        p += 8 + ((ln + 7) & ~7)
    emit('incompat-unknown-named', 'refuse', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, 1 << 40)
    img[hdr_len:hdr_len + 8] = bytes(8)
    emit('incompat-unknown-noname', 'refuse', img)
    field('incompat-all-bits', 'refuse', 72, '>Q', 0xffffffffffffffff)
    field('crypt-method-1', 'refuse', 32, '>I', 1)
    field('crypt-method-7', 'refuse', 32, '>I', 7)
    field('compression-type-9', 'refuse', 104, 'B', 9)
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, be64(img, 72) | INCOMPAT_CORRUPT)
    emit('corrupt-bit', 'rwrefuse', img)
    field('virtual-size-2p62', 'refuse', 24, '>Q', 1 << 62)
    field('virtual-size-max', 'refuse', 24, '>Q', 0xffffffffffffffff)
    img = bytearray(base)
    struct.pack_into('>I', img, hdr_len + 4, 0xfffffff0)
    emit('extension-length-huge', 'refuse', img)
    img = bytearray(base)
    struct.pack_into('>II', img, hdr_len, 0xe2792aca, cs)
    emit('extension-length-cluster', 'refuse', img)
    # two backing-format extensions without a backing file: duplicates
    img = bytearray(base)
    ext = struct.pack('>II8s', 0xe2792aca, 5, b'qcow2') * 2 + bytes(8)
    img[hdr_len:hdr_len + len(ext)] = ext
    emit('extension-duplicate', 'any', img)
    emit('truncated-header-only', 'refuse', bytes(base[:hdr_len]))
    emit('truncated-half-header', 'refuse', bytes(base[:48]))
    emit('truncated-cluster0', 'refuse', bytes(base[:cs]))
    emit('empty-file', 'refuse', b'')

    # --- L1 / L2 / refcount contents --------------------------------------
    img = bytearray(base)
    struct.pack_into('>Q', img, l1_off, (1 << 63) | huge_off)
    emit('l1-entry-past-eof', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l1_off, (1 << 63) | (l2_off + 512))
    emit('l1-entry-unaligned', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l1_off, (1 << 63) | 0)   # L2 = header
    emit('l1-entry-cluster0', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l1_off, (1 << 63) | l1_off)  # L2 = L1
    emit('l1-entry-self', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + data_idx * 8, (1 << 63) | huge_off)
    emit('l2-entry-past-eof', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + data_idx * 8,
                     (1 << 63) | (be64(base, l2_off) & 0x00fffffffffffe00)
                     + 512)
    emit('l2-entry-unaligned', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + data_idx * 8,
                     (1 << 63) | 0x3f00000000000000)   # reserved bits
    emit('l2-entry-reserved-bits', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + comp_idx * 8,
                     (1 << 62) | 0x3fffffffffffffff)
    emit('compressed-garbage', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + comp_idx * 8, (1 << 62) | 0x1ff)
    emit('compressed-in-header', 'any', img)
    img = bytearray(base)
    comp = be64(base, l2_off + comp_idx * 8) & ((1 << (62 - (cluster_bits - 8))) - 1)
    img[comp:comp + 256] = bytes(range(256))
    emit('compressed-data-garbage', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, l2_off + comp_idx * 8,
                     (1 << 63) | (1 << 62) | comp)
    emit('compressed-copied', 'any', img)
    img = bytearray(base)
    rt = be64(base, 48)
    struct.pack_into('>Q', img, rt, huge_off)
    emit('refblock-past-eof', 'any', img)
    img = bytearray(base)
    struct.pack_into('>Q', img, rt, be64(base, rt) + 512)
    emit('refblock-unaligned', 'any', img)
    img = bytearray(base)
    rb = be64(base, rt)
    img[rb:rb + cs] = bytes(cs)
    emit('refblock-zeroed', 'any', img)

    with open(os.path.join(outdir, 'MANIFEST'), 'w') as f:
        f.writelines(manifest)
    sys.stdout.write('%d images\n' % len(manifest))
    return 0


if __name__ == '__main__':
    sys.exit(main())
