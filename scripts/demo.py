#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The mirror demo (make demo).
#
# 1. Creates a 1 GiB qcow2 source with emblock-img and fills it with
#    emblock-io: scattered data, allocated zero clusters, and the rest left
#    unallocated.
# 2. Starts emblock-storage-daemon, adds the source and a sparse raw target
#    (made by truncate), and starts blockdev-mirror sync=full with a speed
#    limit so the job is still copying while x-blockdev-io writes data and
#    zeroes to the source; then lifts the limit, waits for READY and
#    completes the job.
# 3. Prints the source's and the target's maps side by side (from
#    emblock-img map --output=json), what each occupies on the host, the
#    job's counters, and emblock-img compare's verdict (and qemu-img's,
#    when installed).
#
# Everything lives in a temporary directory that is removed at the end.
# Usage: demo.py BUILD_DIR

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'qmp'))
import qmplib  # noqa: E402

MiB = 1 << 20
SIZE = 1024 * MiB


def run(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def human(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return ('%d %s' % (n, unit) if n == int(n) and unit == 'B'
                    else '%.1f %s' % (n, unit))
        n /= 1024.0


def map_kinds(img, fmt, path):
    """[(start, end, kind)]: data, zero (reads zero, allocated) or hole."""
    out = []
    for e in json.loads(run(img, 'map', '--output=json', '-f', fmt, path)):
        if e['data']:
            kind = 'data'
        elif e['present'] and fmt != 'raw':
            kind = 'zero'
        else:
            kind = 'hole'      # a raw file's hole is "present", yet a hole
        out.append((e['start'], e['start'] + e['length'], kind))
    return out


def side_by_side(a, b):
    """Rows (start, length, kind in a, kind in b) over both maps' edges."""
    edges = sorted({x for s, e, _ in a + b for x in (s, e)})
    rows = []

    def kind_at(m, off):
        return next(k for s, e, k in m if s <= off < e)
    for start, end in zip(edges, edges[1:]):
        ka, kb = kind_at(a, start), kind_at(b, start)
        if rows and rows[-1][2:] == [ka, kb]:
            rows[-1][1] += end - start
        else:
            rows.append([start, end - start, ka, kb])
    return rows


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    img = os.path.join(build, 'tools', 'img', 'emblock-img')
    io = os.path.join(build, 'tools', 'emblock-io')
    daemon = os.path.join(build, 'tools', 'emblock-storage-daemon')
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='emblock-demo.')
    src = os.path.join(tmp, 'source.qcow2')
    dst = os.path.join(tmp, 'target.raw')
    d = None
    try:
        print('== 1. A 1 GiB qcow2 source: data, allocated zeroes, holes')
        run(img, 'create', '-q', '-f', 'qcow2', src, '1G')
        cmds = []
        for i in range(10):                 # scattered data, 1 MiB each
            cmds += ['-c', 'write -P 0x%02x %dM 1M' % (0x10 + i,
                                                        i * 97 + 3)]
        cmds += ['-c', 'write -z 200M 16M',           # zero clusters
                 '-c', 'write -P 0x77 600M 8M',
                 '-c', 'write -z 602M 2M']            # zeroes over data
        run(io, '-f', 'qcow2', *cmds, src)
        with open(dst, 'wb') as f:
            f.truncate(SIZE)
        print('   source %s, sparse raw target %s' %
              (os.path.basename(src), os.path.basename(dst)))

        print('== 2. emblock-storage-daemon: mirror while writing to the '
              'source')
        d = qmplib.Daemon(daemon, tmp)
        c = d.client()
        c.cmd('blockdev-add', {'driver': 'qcow2', 'node-name': 'src',
                               'file': {'driver': 'file',
                                        'filename': src}})
        c.cmd('blockdev-add', {'driver': 'file', 'node-name': 'dst',
                               'filename': dst})
        r = c.cmd('blockdev-mirror', {'job-id': 'demo', 'device': 'src',
                                      'target': 'dst', 'sync': 'full',
                                      'speed': 16 * MiB})
        assert 'error' not in r, r
        for line in ('write -P 0xaa 300M 4M', 'write -z 0 64k',
                     'write -P 0xbb 900M 1M', 'write -z 900M 512k'):
            r = c.cmd('x-blockdev-io', {'node-name': 'src',
                                        'command': line})
            assert 'error' not in r, r
            print('   x-blockdev-io: %-24s while the job runs' % line)
        c.cmd('block-job-set-speed', {'device': 'demo', 'speed': 0})
        c.wait_event('BLOCK_JOB_READY', timeout=60)
        print('   BLOCK_JOB_READY; job-complete')
        c.cmd('job-complete', {'id': 'demo'})
        ev = c.wait_event('BLOCK_JOB_COMPLETED', timeout=60)
        print('   BLOCK_JOB_COMPLETED: %d of %d bytes copied or zeroed' %
              (ev['data']['offset'], ev['data']['len']))
        c.wait_event('JOB_STATUS_CHANGE', timeout=60,
                     match={'id': 'demo', 'status': 'null'})
        c.cmd('quit')
        d.wait(30)

        print('== 3. The maps, side by side')
        rows = side_by_side(map_kinds(img, 'qcow2', src),
                            map_kinds(img, 'raw', dst))
        print('   %10s %10s  %-14s %s' % ('start', 'length',
                                          'source (qcow2)', 'target (raw)'))
        for start, length, ka, kb in rows:
            print('   %10s %10s  %-14s %s' % (human(start), human(length),
                                              ka, kb))
        print('   (zero: allocated zero clusters; raw has none, so the '
              'target keeps a hole)')
        print('== Allocated on the host: source %s, target %s' %
              (human(os.stat(src).st_blocks * 512),
               human(os.stat(dst).st_blocks * 512)))
        out = subprocess.run([img, 'compare', '-f', 'qcow2', '-F', 'raw',
                              src, dst], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        print('== emblock-img compare: %s' % out.stdout.strip())
        qemu_img = shutil.which('qemu-img')
        if qemu_img:
            out = subprocess.run([qemu_img, 'compare', '-f', 'qcow2', '-F',
                                  'raw', src, dst], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            print('== qemu-img compare:     %s' % out.stdout.strip())
        print('Demo finished in %.1f s' % (time.monotonic() - t_start))
        return 0 if out.returncode == 0 else 1
    finally:
        if d is not None:
            d.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
