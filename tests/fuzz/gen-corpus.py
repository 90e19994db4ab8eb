#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/.

    gen-corpus.py [OUTDIR]          (default: corpus/ beside this script)

fuzz-image: small qcow2 images made with QEMU's qemu-img and qemu-io
(cluster sizes 512 to 2k, v2 and v3, data, zero and discarded clusters,
compressed clusters, a backing file name, lazy refcounts, 1-bit
refcounts), a raw file and a truncated image.  fuzz-ops: programs of
operations from a fixed random seed, one per configuration family.
fuzz-qmp: QMP sessions (commands, jobs, bitmaps, x-blockdev-io) and
malformed input.  The output is deterministic for given QEMU tools.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU_IMG = shutil.which("qemu-img") or "/usr/bin/qemu-img"
QEMU_IO = shutil.which("qemu-io") or "/usr/bin/qemu-io"


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def qcow2(tmp, name, size, opts, io_cmds=(), backing=None):
    path = os.path.join(tmp, name)
    argv = [QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", opts]
    if backing:
        with open(os.path.join(tmp, backing), "wb") as f:
            f.write(b"\x5a" * 4096)
        argv += ["-b", backing, "-F", "raw"]
    run(*argv, path, size)
    for c in io_cmds:
        run(QEMU_IO, "-f", "qcow2", "-c", c, path)
    with open(path, "rb") as f:
        return f.read()


def image_seeds(out):
    seeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        seeds["v3-512-empty.qcow2"] = qcow2(
            tmp, "a", "64k", "cluster_size=512")
        seeds["v3-512-data.qcow2"] = qcow2(
            tmp, "b", "64k", "cluster_size=512",
            ["write -P 0x11 0 1k", "write -P 0x22 4k 700",
             "write -z 8k 1k", "write -P 0x33 16k 2k", "discard 16k 512",
             "write -z -u 20k 512"])
        seeds["v2-1k-data.qcow2"] = qcow2(
            tmp, "c", "128k", "cluster_size=1024,compat=0.10",
            ["write -P 0x44 0 3k", "write -P 0x55 100k 1k"])
        seeds["v3-2k-data.qcow2"] = qcow2(
            tmp, "d", "128k", "cluster_size=2048",
            ["write -P 0x66 8k 2k", "write -z 64k 4k"])
        seeds["v3-512-compressed.qcow2"] = qcow2(
            tmp, "e", "32k", "cluster_size=512",
            ["write -c -P 0x77 0 512", "write -c -P 0 2k 512",
             "write -P 0x78 4k 512"])
        seeds["v3-512-backing.qcow2"] = qcow2(
            tmp, "f", "16k", "cluster_size=512",
            ["write -P 0x79 1k 512"], backing="base.raw")
        seeds["v3-512-lazy.qcow2"] = qcow2(
            tmp, "g", "16k", "cluster_size=512,lazy_refcounts=on",
            ["write -P 0x7a 0 1k"])
        seeds["v3-512-refcount1.qcow2"] = qcow2(
            tmp, "h", "16k", "cluster_size=512,refcount_bits=1",
            ["write -P 0x7b 2k 1k"])
    seeds["truncated.qcow2"] = seeds["v3-512-data.qcow2"][:1536]
    seeds["raw.img"] = bytes(range(256)) * 4
    write_all(os.path.join(out, "fuzz-image"), seeds)


def ops_seeds(out):
    rnd = random.Random(20250601)
    seeds = {}
    # One program per cluster size x (v2, backing) plus size variants.
    for config in (0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x11, 0x21,
                   0x42, 0x60, 0x80, 0x89, 0x2d):
        prog = bytearray([config])
        for _ in range(40):
            kind = rnd.randrange(16) | (rnd.randrange(8) << 4)
            prog += bytes([kind]) + rnd.randbytes(6)
        seeds[f"config-{config:02x}.ops"] = bytes(prog)
    write_all(os.path.join(out, "fuzz-ops"), seeds)


CAPS = '{"execute": "qmp_capabilities"}\n'
QMP_SEEDS = {
    "version.qmp": CAPS + '{"execute": "query-version", "id": 1}\n',
    "before-caps.qmp": '{"execute": "query-version"}\n' + CAPS + CAPS,
    "commands.qmp": CAPS + '{"execute": "query-commands"}\n',
    "null-io.qmp": CAPS +
    '{"execute": "blockdev-add", "arguments": {"driver": "null-co", '
    '"node-name": "n0", "size": 1048576}}\n'
    '{"execute": "x-blockdev-io", "arguments": {"node-name": "n0", '
    '"command": "write -P 0xaa 0 64k"}}\n'
    '{"execute": "x-blockdev-io", "arguments": {"node-name": "n0", '
    '"command": "map"}}\n'
    '{"execute": "query-named-block-nodes", "arguments": {"flat": true}}\n'
    '{"execute": "blockdev-del", "arguments": {"node-name": "n0"}}\n',
    "qcow2-create.qmp": CAPS +
    '{"execute": "blockdev-add", "arguments": {"driver": "null-co", '
    '"node-name": "f", "size": 1048576, "read-zeroes": true}}\n'
    '{"execute": "blockdev-create", "arguments": {"job-id": "c", '
    '"options": {"driver": "qcow2", "file": "f", "size": 65536, '
    '"cluster-size": 512}}}\n'
    '{"execute": "query-jobs"}\n'
    '{"execute": "job-dismiss", "arguments": {"id": "c"}}\n',
    "mirror.qmp": CAPS +
    '{"execute": "blockdev-add", "arguments": {"driver": "null-co", '
    '"node-name": "src", "size": 262144}}\n'
    '{"execute": "blockdev-add", "arguments": {"driver": "raw", '
    '"node-name": "dst", "file": {"driver": "null-co", "size": 262144}}}\n'
    '{"execute": "blockdev-mirror", "arguments": {"job-id": "j", '
    '"device": "src", "target": "dst", "sync": "full", '
    '"granularity": 65536}}\n'
    '{"execute": "query-block-jobs"}\n'
    '{"execute": "job-pause", "arguments": {"id": "j"}}\n'
    '{"execute": "job-resume", "arguments": {"id": "j"}}\n'
    '{"execute": "x-query-mirror-stats", "arguments": {"id": "j"}}\n'
    '{"execute": "job-cancel", "arguments": {"id": "j"}}\n',
    "bitmaps.qmp": CAPS +
    '{"execute": "blockdev-add", "arguments": {"driver": "null-co", '
    '"node-name": "b"}}\n'
    '{"execute": "block-dirty-bitmap-add", "arguments": {"node": "b", '
    '"name": "m", "granularity": 65536}}\n'
    '{"execute": "block-dirty-bitmap-clear", "arguments": {"node": "b", '
    '"name": "m"}}\n'
    '{"execute": "block-dirty-bitmap-remove", "arguments": {"node": "b", '
    '"name": "m"}}\n',
    "oob.qmp": '{"execute": "qmp_capabilities", "arguments": '
    '{"enable": ["oob"]}}\n{"exec-oob": "query-version", "id": "x"}\n',
    "malformed.qmp": "{'execute': 'qmp_capabilities'}\n"
    '{"execute": 1}\n{"execute": "x", "arguments": []}\n'
    '[1, 2, {"a": tru}]\n{"a" 1}\n@\n01\n1.}\n"\\u00e9\\ud83d\\ude00"\n'
    '{"a": 1, "a": 2}\n123456789012345678901234567890\n1e999\n'
    ']]\n{"id": null}\n{"execute": "quit', 
}


def qmp_seeds(out):
    write_all(os.path.join(out, "fuzz-qmp"),
              {k: v.encode() for k, v in QMP_SEEDS.items()})


def write_all(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    image_seeds(out)
    ops_seeds(out)
    qmp_seeds(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
