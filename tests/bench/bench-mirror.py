#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# blockdev-mirror through emblock-storage-daemon next to QEMU's
# qemu-storage-daemon, on the same images in the same run.
#
# The source is BENCH_MIRROR_SIZE (default 4 GiB) with 10% data: 1 MiB of
# a non-zero pattern every 10 MiB, as raw and as qcow2 (qcow2 made from
# the raw by qemu-img convert when installed, else by emblock-img).  Each
# daemon mirrors it with sync=full onto a fresh sparse raw file (made by
# truncate), from blockdev-mirror to the job's disappearance after
# job-complete.  Printed per source format and daemon: seconds (best of
# BENCH_MIRROR_RUNS, default 3, the daemons alternating), the target's
# allocation next to the source's data, and whether the target compares
# identical.  Nothing is asserted.
#
# Usage: bench-mirror.py BUILD_DIR

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qmp'))
import qmplib  # noqa: E402

MiB = 1 << 20


def make_source(path, size):
    pattern = bytes((i * 7 + 1) & 0xff or 1 for i in range(MiB))
    with open(path, 'wb') as f:
        f.truncate(size)
        for off in range(0, size, 10 * MiB):
            f.seek(off)
            f.write(pattern[:min(MiB, size - off)])


def allocated(path):
    return os.stat(path).st_blocks * 512


def mirror_once(daemon, fmt, src, dst, size, workdir):
    if os.path.exists(dst):
        os.unlink(dst)
    with open(dst, 'wb') as f:
        f.truncate(size)
    d = qmplib.Daemon(daemon, workdir)
    try:
        c = d.client()
        c.cmd('blockdev-add', {'driver': fmt, 'node-name': 'src',
                               'file': {'driver': 'file', 'filename': src}})
        c.cmd('blockdev-add', {'driver': 'file', 'node-name': 'dst',
                               'filename': dst})
        t0 = time.monotonic()
        r = c.cmd('blockdev-mirror', {'job-id': 'm', 'device': 'src',
                                      'target': 'dst', 'sync': 'full'})
        if 'error' in r:
            raise RuntimeError(r['error'])
        c.wait_event('BLOCK_JOB_READY', timeout=600)
        c.cmd('job-complete', {'id': 'm'})
        c.wait_event('JOB_STATUS_CHANGE', timeout=600,
                     match={'id': 'm', 'status': 'null'})
        elapsed = time.monotonic() - t0
        c.cmd('quit')
        d.wait(60)
    finally:
        d.kill()
    return elapsed


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    size = int(os.environ.get('BENCH_MIRROR_SIZE', 4 << 30))
    runs = int(os.environ.get('BENCH_MIRROR_RUNS', '3'))
    ours = os.path.join(build, 'tools', 'emblock-storage-daemon')
    img = os.path.join(build, 'tools', 'img', 'emblock-img')
    qsd = shutil.which('qemu-storage-daemon')
    qemu_img = shutil.which('qemu-img')
    daemons = [('emblock', ours)] + ([('qemu-7.2', qsd)] if qsd else [])
    tmp = tempfile.mkdtemp(prefix='bench-mirror.',
                           dir=os.environ.get('TMPDIR', '/tmp'))
    try:
        src_raw = os.path.join(tmp, 'src.raw')
        src_qcow2 = os.path.join(tmp, 'src.qcow2')
        dst = os.path.join(tmp, 'dst.raw')
        make_source(src_raw, size)
        subprocess.check_call([qemu_img or img, 'convert', '-f', 'raw',
                               '-O', 'qcow2', src_raw, src_qcow2])
        data = allocated(src_raw)
        print('mirror sync=full of a %d MiB source with %.1f MiB data to a '
              'sparse raw target; best of %d' % (size // MiB, data / MiB,
                                                 runs), flush=True)
        if not qsd:
            print('(qemu-storage-daemon not installed: emblock only)')
        for fmt, src in (('raw', src_raw), ('qcow2', src_qcow2)):
            best = {}
            for _ in range(runs):
                for name, binary in daemons:
                    t = mirror_once(binary, fmt, src, dst, size, tmp)
                    best[name] = min(best.get(name, t), t)
            same = subprocess.call([qemu_img or img, 'compare', '-q',
                                    '-f', 'raw', '-F', 'raw', src_raw,
                                    dst]) == 0
            alloc = allocated(dst)
            line = '%-6s source:' % fmt
            for name, _ in daemons:
                line += '  %s %.2f s' % (name, best[name])
            if 'qemu-7.2' in best:
                line += '  (ratio %.2f)' % (best['emblock'] /
                                            best['qemu-7.2'])
            print(line, flush=True)
            print('       last target: %.1f MiB allocated (%+.2f%% of the '
                  'source data), identical: %s' %
                  (alloc / MiB, 100.0 * (alloc - data) / data,
                   'yes' if same else 'NO'))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
