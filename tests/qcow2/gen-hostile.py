#!/usr/bin/env python3
# Generate a corpus of hostile qcow2 images, each with one corrupted field,
# and the message each must produce.
#
# usage: gen-hostile.py BASE.qcow2 OUTDIR
#
# BASE must be a valid version 3 qcow2 image (64 KiB clusters, 16-bit
# refcounts) with data written at guest offset 0 (normal cluster), 1M (zero
# cluster), 2M (normal cluster) and 3M (compressed cluster), as made by
# hostile.sh.
#
# Two files are written to OUTDIR besides the images:
#
# MANIFEST: one line "NAME EXPECT" per image NAME.qcow2, where EXPECT is
#   refuse   - every open must fail with an error message
#   rwrefuse - read-write open must fail, read-only open must work
#   opens    - every open must work
#   any      - the image may or may not open; tools must simply not crash
#              and must finish within the time and memory limits.
#
# EXPECT: the specific messages, one line "NAME<TAB>OP<TAB>SRC<TAB>MESSAGE";
# an image may have several.  OP says which run must print MESSAGE:
#   open     emblock-img info fails with exactly "Could not open 'IMG': MSG"
#            (and emblock-io with "can't open device IMG: MSG")
#   rwopen   the read-write emblock-io open fails that way
#   check    a line of emblock-img check's output is exactly MESSAGE
#   write    a line of emblock-io's stderr during the writes is MESSAGE
#   read     a line of emblock-io's stderr during the reads is MESSAGE
# SRC is "qemu" when QEMU 7.2's qemu-img / qemu-io print the same line for
# the same image (hostile.sh verifies this when qemu-img is installed), or
# "own" when QEMU behaves differently; the reason is noted where the kind is
# defined below.
import os
import struct
import sys

MAGIC = 0x514649fb
INCOMPAT_CORRUPT = 1 << 1
INCOMPAT_COMPRESSION = 1 << 3
COPIED = 1 << 63
COMPRESSED = 1 << 62
OFF_MASK = 0x00fffffffffffe00

# What QEMU 7.2 prints when a write hits metadata; emblock prints the same.
CORRUPT_WRITE = ('qcow2: Marking image as corrupt: Preventing invalid write '
                 'on metadata (overlaps with %s); further corruption events '
                 'will be suppressed')


def be64(buf, off):
    return struct.unpack_from('>Q', buf, off)[0]


def be32(buf, off):
    return struct.unpack_from('>I', buf, off)[0]


def round_up(n, a):
    return (n + a - 1) // a * a


class Corpus:
    def __init__(self, base, outdir):
        self.base = base
        self.outdir = outdir
        self.manifest = []
        self.expect = []
        self.cs = 1 << be32(base, 20)
        self.cluster_bits = be32(base, 20)
        self.l1_off = be64(base, 40)
        self.l1_size = be32(base, 36)
        self.rt_off = be64(base, 48)
        self.hdr_len = be32(base, 100)
        self.rb_off = be64(base, self.rt_off)
        self.l2_off = be64(base, self.l1_off) & OFF_MASK

    def emit(self, name, expect, img, checks=(), sparse_len=None):
        """Write NAME.qcow2; @checks is a list of (op, src, message)."""
        path = os.path.join(self.outdir, name + '.qcow2')
        with open(path, 'wb') as f:
            f.write(img)
            if sparse_len is not None:
                f.truncate(sparse_len)
        self.manifest.append('%s %s\n' % (name, expect))
        for op, src, msg in checks:
            assert '\t' not in msg and '\n' not in msg
            self.expect.append('%s\t%s\t%s\t%s\n' % (name, op, src, msg))

    def field(self, name, expect, off, fmt, value, checks=()):
        img = bytearray(self.base)
        struct.pack_into(fmt, img, off, value)
        self.emit(name, expect, img, checks)

    def refcount_add(self, img, host_off, delta):
        """Add @delta to the 16-bit refcount of the cluster at @host_off."""
        idx = host_off // self.cs
        assert idx < self.cs // 2, 'cluster outside the first refblock'
        p = self.rb_off + 2 * idx
        struct.pack_into('>H', img, p, struct.unpack_from('>H', img, p)[0]
                         + delta)

    def with_snapshot(self, sn_l1_off=None, sn_l1_size=None, extra=16,
                      nb=1, name=b'test'):
        """
        The base image plus one internal snapshot "1" (@name) of the active
        state, made the way QEMU makes one: a copy of the L1 table, every
        cluster it reaches referenced once more, COPIED cleared.  The
        snapshot L1 copy and the snapshot table are appended.  Entries are
        then overridden by @sn_l1_off, @sn_l1_size, @extra; @nb sets the
        header's snapshot count.
        """
        cs = self.cs
        img = bytearray(self.base)
        sn_l1 = round_up(len(img), cs)
        table = sn_l1 + cs
        img += bytes(table + cs - len(img))
        csize_shift = 62 - (self.cluster_bits - 8)
        for i in range(self.l1_size):
            e = be64(img, self.l1_off + 8 * i)
            l2 = e & OFF_MASK
            struct.pack_into('>Q', img, self.l1_off + 8 * i, e & ~COPIED)
            struct.pack_into('>Q', img, sn_l1 + 8 * i, e & ~COPIED)
            if not l2:
                continue
            self.refcount_add(img, l2, 1)
            for j in range(cs // 8):
                le = be64(img, l2 + 8 * j)
                if le & COMPRESSED:
                    coff = le & ((1 << csize_shift) - 1)
                    nsec = (le >> csize_shift) & ((1 << (self.cluster_bits
                                                         - 8)) - 1)
                    end = (coff & ~511) + (nsec + 1) * 512
                    for c in range(coff // cs, (end - 1) // cs + 1):
                        self.refcount_add(img, c * cs, 1)
                elif le & OFF_MASK:
                    self.refcount_add(img, le & OFF_MASK, 1)
                    struct.pack_into('>Q', img, l2 + 8 * j, le & ~COPIED)
        self.refcount_add(img, sn_l1, 1)
        self.refcount_add(img, table, 1)
        ent = struct.pack('>QIHHIIQII',
                          sn_l1 if sn_l1_off is None else sn_l1_off,
                          self.l1_size if sn_l1_size is None else sn_l1_size,
                          1, len(name), 0, 0, 0, 0, extra)
        ent += struct.pack('>QQ', 0, be64(img, 24))[:min(extra, 16)]
        ent += bytes(max(extra - 16, 0)) + b'1' + name
        img[table:table + len(ent)] = ent
        struct.pack_into('>IQ', img, 60, nb, table)
        return img


def header_kinds(c):
    """Header fields: QEMU refuses all of these at open."""
    base, cs = c.base, c.cs
    huge_off = 0x00fffffffffe0000   # cluster aligned, far beyond EOF
    Q = 'qemu'

    c.field('bad-magic', 'refuse', 0, '>I', 0x514649fc,
            [('open', Q, 'Image is not in qcow2 format')])
    c.field('version-1', 'refuse', 4, '>I', 1,
            [('open', Q, 'Unsupported qcow2 version 1')])
    c.field('version-4', 'refuse', 4, '>I', 4,
            [('open', Q, 'Unsupported qcow2 version 4')])
    for bits in (8, 22, 40):
        c.field('cluster-bits-%d' % bits, 'refuse', 20, '>I', bits,
                [('open', Q, 'Unsupported cluster size: 2^%d' % bits)])

    # 080 "Huge header size"
    for name, v in (('header-length-huge', 0x7ffffff8),
                    ('header-length-max', 0xffffffff),
                    ('header-length-080', 0x7fffffff)):
        c.field(name, 'refuse', 100, '>I', v,
                [('open', Q, 'qcow2 header exceeds cluster size')])
    c.field('header-length-small', 'refuse', 100, '>I', 96,
            [('open', Q, 'qcow2 header too short')])
    # QEMU 7.2 accepts a header_length that is not a multiple of 8 too
    c.field('header-length-unaligned', 'any', 100, '>I', 106)

    # 080 "Huge unknown header extension"
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, 0xffffffffffffffff)
    struct.pack_into('>II', img, c.hdr_len, 0x12345678, 0x7fffffff)
    c.emit('backing-offset-max', 'refuse', img,
           [('open', Q, 'Invalid backing file offset')])
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, cs + 16)
    struct.pack_into('>I', img, 16, 8)
    c.emit('backing-offset-past-cluster', 'refuse', img,
           [('open', Q, 'Invalid backing file offset')])
    # the backing name starts in the middle of the first extension header
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, c.hdr_len + 4)
    struct.pack_into('>II', img, c.hdr_len, 0x12345678, 0x7fffffff)
    c.emit('extension-crosses-backing-name', 'refuse', img,
           [('open', Q, 'Header extension too large')])
    img = bytearray(base)
    struct.pack_into('>II', img, c.hdr_len, 0x12345678, 0x7fffffff)
    c.emit('extension-unknown-huge', 'refuse', img,
           [('open', Q, 'Header extension too large')])
    img = bytearray(base)
    struct.pack_into('>I', img, c.hdr_len + 4, 0xfffffff0)
    c.emit('extension-length-huge', 'refuse', img,
           [('open', Q, 'Header extension too large')])
    img = bytearray(base)
    struct.pack_into('>II', img, c.hdr_len, 0xe2792aca, cs)
    c.emit('extension-length-cluster', 'refuse', img,
           [('open', Q, 'Header extension too large')])
    # an extension running into the backing file name (metadata overlap)
    img = bytearray(base)
    struct.pack_into('>QI', img, 8, 2048, 4)
    img[2048:2052] = b'back'
    struct.pack_into('>II', img, c.hdr_len, 0x12345678, 2048 - c.hdr_len)
    c.emit('extension-overlaps-backing-name', 'refuse', img,
           [('open', Q, 'Header extension too large')])
    img = bytearray(base)
    struct.pack_into('>II', img, c.hdr_len, 0xe2792aca, 1024)
    c.emit('extension-backing-format-1024', 'refuse', img,
           [('open', Q, 'ERROR: ext_backing_format: len=1024 too large '
                        '(>=16)')])
    # two backing-format extensions without a backing file: duplicates
    img = bytearray(base)
    ext = struct.pack('>II8s', 0xe2792aca, 5, b'qcow2') * 2 + bytes(8)
    img[c.hdr_len:c.hdr_len + len(ext)] = ext
    c.emit('extension-duplicate', 'any', img)

    # 080 "Invalid backing file size"
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, 2048)
    struct.pack_into('>I', img, 16, 1024)
    img[2048:2048 + 1024] = b'b' * 1024
    c.emit('backing-name-1024', 'refuse', img,
           [('open', Q, 'Backing file name too long')])
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, cs - 4)
    struct.pack_into('>I', img, 16, 0xffffffff)
    c.emit('backing-name-len-huge', 'refuse', img,
           [('open', Q, 'Backing file name too long')])
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, 0x1000)
    struct.pack_into('>I', img, 16, 0xffffffff)
    c.emit('backing-name-len-080', 'refuse', img,
           [('open', Q, 'Backing file name too long')])
    # the name runs past the end of cluster 0
    img = bytearray(base)
    struct.pack_into('>Q', img, 8, cs - 8)
    struct.pack_into('>I', img, 16, 16)
    c.emit('backing-name-past-cluster', 'refuse', img,
           [('open', Q, 'Backing file name too long')])

    c.field('refcount-order-7', 'refuse', 96, '>I', 7,
            [('open', Q, 'Reference count entry width too large; may not '
                         'exceed 64 bits')])

    # unknown incompatible bit 40, with the feature name table (base has
    # one) and without (extension area wiped)
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, 1 << 40)
    p = c.hdr_len
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
    c.emit('incompat-unknown-named', 'refuse', img,
           [('open', Q, 'Unsupported qcow2 feature(s): hostile feature')])
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, 1 << 40)
    img[c.hdr_len:c.hdr_len + 8] = bytes(8)
    c.emit('incompat-unknown-noname', 'refuse', img,
           [('open', Q, 'Unsupported qcow2 feature(s): Unknown '
                        'incompatible feature: 10000000000')])
    # bit 3 (compression type) is set, so the compression check comes first
    c.field('incompat-all-bits', 'refuse', 72, '>Q', 0xffffffffffffffff,
            [('open', Q, 'qcow2: Compression type incompatible feature bit '
                         'must not be set')])
    c.field('incompat-all-unknown-bits', 'refuse', 72, '>Q',
            0xffffffffffffffe0,
            [('open', Q, 'Unsupported qcow2 feature(s): Unknown '
                         'incompatible feature: ffffffffffffffe0')])
    # external data file: QEMU opens it only with a data file it can find
    # (the image names none: "'data-file' is required for this image")
    c.field('incompat-data-file', 'refuse', 72, '>Q', 1 << 2,
            [('open', 'own', 'qcow2: External data files are not '
                             'supported')])

    # crypt_method: QEMU asks for the key ("Parameter 'encrypt.key-secret'
    # is required for cipher"); emblock has no encryption at all
    c.field('crypt-method-1', 'refuse', 32, '>I', 1,
            [('open', 'own', 'qcow2: Encrypted images are not supported')])
    c.field('crypt-method-2', 'refuse', 32, '>I', 2,
            [('open', 'own', 'qcow2: Encrypted images are not supported')])
    c.field('crypt-method-7', 'refuse', 32, '>I', 7,
            [('open', Q, 'Unsupported encryption method 7')])

    c.field('compression-type-9', 'refuse', 104, 'B', 9,
            [('open', Q, 'qcow2: unknown compression type: 9')])
    c.field('compression-type-zstd-nobit', 'refuse', 104, 'B', 1,
            [('open', Q, 'qcow2: Compression type incompatible feature bit '
                         'must be set')])
    c.field('compression-bit-zlib', 'refuse', 72, '>Q', INCOMPAT_COMPRESSION,
            [('open', Q, 'qcow2: Compression type incompatible feature bit '
                         'must not be set')])
    # zstd proper: QEMU (built with zstd) opens it; emblock has no zstd
    img = bytearray(base)
    struct.pack_into('>Q', img, 72, INCOMPAT_COMPRESSION)
    img[104] = 1
    c.emit('compression-zstd', 'refuse', img,
           [('open', 'own', 'qcow2: zstd compression is not supported')])

    img = bytearray(base)
    struct.pack_into('>Q', img, 72, be64(img, 72) | INCOMPAT_CORRUPT)
    c.emit('corrupt-bit', 'rwrefuse', img,
           [('rwopen', Q, 'qcow2: Image is corrupt; cannot be opened '
                          'read/write')])

    # integer truncation: the size needs more L1 entries than an int holds
    c.field('virtual-size-2p62', 'refuse', 24, '>Q', 1 << 62,
            [('open', Q, 'Image is too big')])
    # QEMU 7.2 gets past its own checks and fails in the generic layer
    # ("Could not refresh total sector count: File too large")
    c.field('virtual-size-max', 'refuse', 24, '>Q', 0xffffffffffffffff,
            [('open', 'own', 'Image is too big')])
    # the size needs 2 L1 entries but l1_size says 1 (080 "L1 table is too
    # small"); and l1_size 0 with data
    c.field('virtual-size-vs-l1-size', 'refuse', 24, '>Q',
            (cs // 8) * cs + cs,
            [('open', Q, 'L1 table is too small')])
    c.field('l1-size-too-small', 'refuse', 36, '>I', 0,
            [('open', Q, 'L1 table is too small')])

    # 080 "Invalid L1 table"
    for name, v in (('l1-size-huge', 0x7fffffff), ('l1-size-max', 0xffffffff),
                    ('l1-size-4m', (32 << 20) // 8 + 1)):
        c.field(name, 'refuse', 36, '>I', v,
                [('open', Q, 'Active L1 table too large')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 36, 0xffff, 0x7fffffffffff0000)
    c.emit('l1-offset-080-huge', 'refuse', img,
           [('open', Q, 'Active L1 table offset invalid')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 36, 1, 0x1234567890abcdef)
    c.emit('l1-offset-080-garbage', 'refuse', img,
           [('open', Q, 'Active L1 table offset invalid')])
    c.field('l1-offset-unaligned', 'refuse', 40, '>Q', c.l1_off + 512,
            [('open', Q, 'Active L1 table offset invalid')])
    c.field('l1-offset-huge', 'refuse', 40, '>Q', 0xffffffffffff0000,
            [('open', Q, 'Active L1 table offset invalid')])
    # QEMU reads the part past EOF as zeroes; emblock refuses tables that
    # start past the end of the file
    c.field('l1-offset-past-eof', 'refuse', 40, '>Q', huge_off,
            [('open', 'own', 'Active L1 table starts past the end of the '
                             'file')])

    # 080 "Huge refcount table size", "Misaligned refcount table", "Huge
    # refcount offset"
    for name, v in (('reftable-clusters-huge', 0xffffffff),
                    ('reftable-clusters-080', 0x00020001),
                    ('reftable-clusters-129', (8 << 20) // cs + 1)):
        c.field(name, 'refuse', 56, '>I', v,
                [('open', Q, 'Reference count table too large')])
    c.field('reftable-clusters-0', 'refuse', 56, '>I', 0,
            [('open', Q, 'Image does not contain a reference count table')])
    c.field('reftable-offset-unaligned', 'refuse', 48, '>Q', c.rt_off + 512,
            [('open', Q, 'Reference count table offset invalid')])
    c.field('reftable-offset-080-garbage', 'refuse', 48, '>Q',
            0x1234567890abcdef,
            [('open', Q, 'Reference count table offset invalid')])
    c.field('reftable-offset-huge', 'refuse', 48, '>Q', 0xffffffffffff0000,
            [('open', Q, 'Reference count table offset invalid')])
    img = bytearray(base)
    struct.pack_into('>QI', img, 48, 0xffffffffffff0000, 0x7f)
    c.emit('reftable-offset-080-huge', 'refuse', img,
           [('open', Q, 'Reference count table offset invalid')])
    # QEMU opens these (its refcount reads past EOF give zeroes) and fails
    # later; emblock refuses the image
    c.field('reftable-offset-past-eof', 'refuse', 48, '>Q', huge_off,
            [('open', 'own', 'Reference count table starts past the end '
                             'of the file')])

    # 080 "Invalid snapshot table"
    for name, v in (('nb-snapshots-huge', 0xffffffff),
                    ('nb-snapshots-080', 0x7fffffff),
                    ('nb-snapshots-65537', 65537)):
        c.field(name, 'refuse', 60, '>I', v,
                [('open', Q, 'Snapshot table too large')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 60, 0xffff, 0xffffffffffff0000)
    c.emit('snapshots-offset-080-huge', 'refuse', img,
           [('open', Q, 'Snapshot table offset invalid')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 60, 0, 0x1234567890abcdef)
    c.emit('snapshots-offset-080-garbage', 'refuse', img,
           [('open', Q, 'Snapshot table offset invalid')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 60, 1, 4 * cs + 8)
    c.emit('snapshots-offset-unaligned', 'refuse', img,
           [('open', Q, 'Snapshot table offset invalid')])
    img = bytearray(base)
    struct.pack_into('>IQ', img, 60, 1, huge_off)
    c.emit('snapshots-offset-past-eof', 'refuse', img,
           [('open', 'own', 'Snapshot table starts past the end of the '
                            'file')])

    c.emit('truncated-header-only', 'refuse', bytes(base[:c.hdr_len]),
           [('open', 'own', 'Reference count table starts past the end '
                            'of the file')])
    c.emit('truncated-half-header', 'refuse', bytes(base[:48]),
           [('open', Q, 'qcow2 header too short')])
    c.emit('truncated-cluster0', 'refuse', bytes(base[:cs]),
           [('open', 'own', 'Reference count table starts past the end '
                            'of the file')])
    c.emit('empty-file', 'refuse', b'',
           [('open', Q, 'Image is not in qcow2 format')])


def snapshot_kinds(c):
    """Internal snapshot tables (080 snapshot cases)."""
    Q = 'qemu'
    img = c.with_snapshot()
    c.emit('snapshot-valid', 'opens', img,
           [('check', Q, 'No errors were found on the image.')])
    # 080 "Invalid snapshot L1 table offset" / "size": the image opens; the
    # entry is refused when the snapshot is used, and check reports it
    sn_l1 = round_up(len(c.base), c.cs)
    img = c.with_snapshot(sn_l1_off=sn_l1 + 0x200)
    c.emit('snapshot-l1-unaligned', 'opens', img,
           [('check', Q, 'ERROR snapshot 1 (test) l1_offset=%#x: L1 table '
                         'is not cluster aligned; snapshot table entry '
                         'corrupted' % (sn_l1 + 0x200))])
    img = c.with_snapshot(sn_l1_size=0x10000000)
    c.emit('snapshot-l1-too-large', 'opens', img,
           [('check', Q, 'ERROR snapshot 1 (test) l1_size=0x10000000: L1 '
                         'table is too large; snapshot table entry '
                         'corrupted')])
    img = c.with_snapshot(extra=1025)
    c.emit('snapshot-extra-too-large', 'refuse', img,
           [('open', Q, 'Too much extra metadata in snapshot table entry '
                        '0')])
    # 080 "Hitting snapshot table size limit": 65536 (all-zero) snapshots
    # open, quickly
    img = bytearray(c.base)
    table = round_up(len(img), c.cs)
    struct.pack_into('>IQ', img, 60, 65536, table)
    c.emit('snapshots-65536-empty', 'opens', img,
           sparse_len=table + 65536 * 40)
    # entries of 1 KiB extra data and 2 x 64 KiB names: past 64 MiB after
    # 508 of them (a sparse file; every entry is read)
    img = bytearray(c.base)
    table = round_up(len(img), c.cs)
    struct.pack_into('>IQ', img, 60, 65536, table)
    step = 40 + 1024 + 2 * 65535
    step = round_up(step, 8)
    nent = (64 << 20) // step + 2
    img += bytes(table - len(img))
    chunks = []
    for i in range(nent):
        chunks.append((table + i * step,
                       struct.pack('>QIHHIIQII', 0, 0, 65535, 65535, 0, 0, 0,
                                   0, 1024)))
    c.emit('snapshot-table-over-64m', 'refuse', img,
           [('open', Q, 'Snapshot table is too big')],
           sparse_len=table + nent * step)
    path = os.path.join(c.outdir, 'snapshot-table-over-64m.qcow2')
    with open(path, 'r+b') as f:
        for off, data in chunks:
            f.seek(off)
            f.write(data)


def table_kinds(c):
    """L1 / L2 / refcount contents, pointers into metadata or past EOF."""
    base, cs = c.base, c.cs
    l1_off, l2_off, rt, rb = c.l1_off, c.l2_off, c.rt_off, c.rb_off
    huge_off = 0x00fffffffffe0000
    comp_idx = (3 << 20) // cs % (cs // 8)
    cluster_bits = c.cluster_bits
    Q = 'qemu'

    def l2e(name, expect, idx, value, checks=()):
        img = bytearray(base)
        struct.pack_into('>Q', img, l2_off + idx * 8, value)
        c.emit(name, expect, img, checks)

    def l1e(name, expect, value, checks=()):
        img = bytearray(base)
        struct.pack_into('>Q', img, l1_off, value)
        c.emit(name, expect, img, checks)

    past_eof = ('ERROR: counting reference for region exceeding the end of '
                'the file by one cluster or more: offset %#x size %#x')
    l1e('l1-entry-past-eof', 'any', COPIED | huge_off,
        [('check', Q, past_eof % (huge_off, cs))])
    l1e('l1-entry-unaligned', 'any', COPIED | (l2_off + 512),
        [('read', Q, 'qcow2: Image is corrupt: L2 table offset %#x '
                     'unaligned (L1 index: 0); further non-fatal corruption '
                     'events will be suppressed' % (l2_off + 512))])
    l1e('l1-entry-cluster0', 'any', COPIED | 0)
    l1e('l1-entry-self', 'any', COPIED | l1_off)

    # COPIED data clusters pointing at metadata: the in-place write is
    # refused and the image marked corrupt (QEMU's test 060)
    for name, target, what in (
            ('l2-entry-into-l1', l1_off, 'active L1 table'),
            ('l2-entry-into-reftable', rt, 'refcount table'),
            ('l2-entry-into-refblock', rb, 'refcount block'),
            ('l2-entry-into-l2', l2_off, 'active L2 table')):
        l2e(name, 'any', 0, COPIED | target,
            [('write', Q, CORRUPT_WRITE % what)])
    img = c.with_snapshot()
    sn_table = be64(img, 64)
    struct.pack_into('>Q', img, l2_off, COPIED | sn_table)
    c.emit('l2-entry-into-snapshot-table', 'any', img,
           [('write', Q, CORRUPT_WRITE % 'snapshot table')])

    # offset 0 is "unallocated" whatever the flags: an allocating write
    l2e('l2-entry-copied-0', 'any', 0, COPIED)
    # cluster 0 free in the refcounts: allocations must not hand it out
    img = bytearray(base)
    struct.pack_into('>H', img, rb, 0)
    c.emit('refcount-header-0', 'any', img,
           [('write', Q, CORRUPT_WRITE % 'qcow2_header')])
    l2e('l2-entry-past-eof', 'any', 0, COPIED | huge_off,
        [('check', Q, past_eof % (huge_off, cs))])
    bad = (be64(base, l2_off) & OFF_MASK) + 512
    l2e('l2-entry-unaligned', 'any', 0, COPIED | bad,
        [('read', Q, 'qcow2: Image is corrupt: Cluster allocation offset '
                     '%#x unaligned (L2 offset: %#x, L2 index: 0); further '
                     'non-fatal corruption events will be suppressed'
                     % (bad, l2_off)),
         ('write', Q, 'qcow2: Marking image as corrupt: Data cluster '
                      'offset %#x unaligned (guest offset: 0); further '
                      'corruption events will be suppressed' % bad)])
    l2e('l2-entry-reserved-bits', 'any', 0, COPIED | 0x3f00000000000000)
    # 080 "Invalid L2 entry (huge physical offset)"
    l2e('l2-entry-080-compressed-huge', 'any', 0, 0xbfffffffffff0000,
        [('check', Q, 'ERROR found l2 entry with reserved bits set: '
                      'bfffffffffff0000'),
         ('check', Q, past_eof % (0xffffffffff0000, cs))])
    l2e('l2-entry-080-huge', 'any', 0, 0x800000ffffff0000,
        [('check', Q, past_eof % (0xffffff0000, cs))])

    # compressed cluster descriptors out of range
    l2e('compressed-garbage', 'any', comp_idx, COMPRESSED | 0x3fffffffffffffff,
        [('check', Q, past_eof % (0x3fffffffffffff, 0x1fe01))])
    l2e('compressed-in-header', 'any', comp_idx, COMPRESSED | 0x1ff)
    comp = be64(base, l2_off + comp_idx * 8) & \
        ((1 << (62 - (cluster_bits - 8))) - 1)
    img = bytearray(base)
    img[comp:comp + 256] = bytes(range(256))
    c.emit('compressed-data-garbage', 'any', img)
    l2e('compressed-copied', 'any', comp_idx, COPIED | COMPRESSED | comp)
    # a compressed cluster whose sectors run past the end of the file
    l2e('compressed-past-eof', 'any', comp_idx,
        COMPRESSED | (255 << (62 - (cluster_bits - 8))) | comp,
        [('check', Q, past_eof % (comp & ~(cs - 1), 2 * cs))])

    img = bytearray(base)
    struct.pack_into('>Q', img, rt, huge_off)
    c.emit('refblock-past-eof', 'any', img,
           [('check', Q, 'ERROR refcount block 0 is outside image')])
    img = bytearray(base)
    struct.pack_into('>Q', img, rt, be64(base, rt) + 512)
    c.emit('refblock-unaligned', 'any', img,
           [('check', Q, 'ERROR refcount block 0 is not cluster aligned; '
                         'refcount table entry corrupted'),
            ('check', Q, 'qcow2: Image is corrupt: Refblock offset %#x '
                         'unaligned (reftable index: 0); further non-fatal '
                         'corruption events will be suppressed'
                         % (be64(base, rt) + 512))])
    img = bytearray(base)
    img[rb:rb + cs] = bytes(cs)
    c.emit('refblock-zeroed', 'any', img)
    # no refcount block 0: every cluster looks free, cluster 0 first.  QEMU
    # 7.2 refuses the write too, but reports the overlap with the refcount
    # table (its refcount block allocation runs first)
    img = bytearray(base)
    struct.pack_into('>Q', img, rt, 0)
    c.emit('refblock-0-missing', 'any', img,
           [('write', 'own', CORRUPT_WRITE % 'qcow2_header')])


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: gen-hostile.py BASE.qcow2 OUTDIR\n')
        return 2
    base = bytes(open(sys.argv[1], 'rb').read())
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)

    if be32(base, 0) != MAGIC or be32(base, 4) != 3 or be32(base, 96) != 4:
        sys.stderr.write('base image is not a qcow2 v3 image with 16-bit '
                         'refcounts\n')
        return 1
    c = Corpus(base, outdir)
    if not c.l2_off:
        sys.stderr.write('base image has no L2 table for guest offset 0\n')
        return 1
    comp_idx = (3 << 20) // c.cs % (c.cs // 8)
    if not (be64(base, c.l2_off + comp_idx * 8) >> 62) & 1:
        sys.stderr.write('base image has no compressed cluster at 3M\n')
        return 1

    header_kinds(c)
    snapshot_kinds(c)
    table_kinds(c)

    with open(os.path.join(outdir, 'MANIFEST'), 'w') as f:
        f.writelines(c.manifest)
    with open(os.path.join(outdir, 'EXPECT'), 'w') as f:
        f.writelines(c.expect)
    sys.stdout.write('%d images, %d expected messages\n'
                     % (len(c.manifest), len(c.expect)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
