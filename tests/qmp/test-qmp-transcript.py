#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The same QMP session against emblock-storage-daemon and against QEMU's
# qemu-storage-daemon, compared:
#
#   blockdev-add a 20 MiB raw source holding data and a sparse raw target
#   (file nodes), blockdev-mirror sync=full, wait for BLOCK_JOB_READY,
#   job-complete, wait for JOB_STATUS_CHANGE "null", query-jobs,
#   query-named-block-nodes, quit.
#
# Both transcripts are filtered (timestamps dropped, len/offset and other
# numbers that depend on the implementation replaced by their type) and
# must agree: the same events with the same data in the same order, and
# replies of the same shape (the same keys at every level, the same
# values where they are facts: node names, drivers, sizes, states...).
# The target must end up equal to the source in both runs.
#
#   test-qmp-transcript.py EMBLOCK_STORAGE_DAEMON [QEMU_STORAGE_DAEMON]
#
# Exit 0 when both agree; 77 (skip) when QEMU's daemon is not installed
# (the emblock half still runs and must pass); 1 on any difference.

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

# Members whose values are compared; the rest are compared by type.
FACT_KEYS = {
    'node-name', 'drv', 'ro', 'detect_zeroes', 'virtual-size', 'format',
    'status', 'id', 'device', 'type', 'speed', 'class', 'encrypted',
    'backing_file_depth', 'no-flush', 'direct', 'writeback',
}
# Filtered as iotests do: progress depends on how much was found dirty.
FILTER_KEYS = {'len': 'LEN', 'offset': 'OFFSET',
               'current-progress': 'PROGRESS', 'total-progress': 'PROGRESS'}


def shape(value):
    return qmplib.shape(value, None, FACT_KEYS, FILTER_KEYS)


def run_session(binary, workdir):
    """Run the session; return (replies, events) filtered."""
    src = os.path.join(workdir, 'src.raw')
    dst = os.path.join(workdir, 'dst.raw')
    qmplib.write_source_image(src)
    with open(dst, 'wb') as f:
        f.truncate(20 << 20)

    daemon = qmplib.Daemon(binary, workdir)
    replies = []
    try:
        c = daemon.client(negotiate=False)
        greeting = c.greeting()
        replies.append(('greeting', shape(greeting)))

        def cmd(name, args=None, timeout=10.0):
            r = c.cmd(name, args, timeout=timeout)
            replies.append((name, shape(r)))
            if 'error' in r:
                raise AssertionError('%s failed: %r' % (name, r))
            return r

        cmd('qmp_capabilities')
        cmd('blockdev-add', {'driver': 'file', 'node-name': 'src',
                             'filename': src})
        cmd('blockdev-add', {'driver': 'file', 'node-name': 'dst',
                             'filename': dst, 'discard': 'ignore',
                             'detect-zeroes': 'off'})
        cmd('blockdev-mirror', {'job-id': 'job0', 'device': 'src',
                                'target': 'dst', 'sync': 'full'})
        c.wait_event('BLOCK_JOB_READY', timeout=60)
        cmd('job-complete', {'id': 'job0'})
        c.wait_event('JOB_STATUS_CHANGE', timeout=60,
                     match={'id': 'job0', 'status': 'null'})
        cmd('query-jobs')
        cmd('query-named-block-nodes')
        cmd('quit')
        rc = daemon.wait(30)
        if rc != 0:
            raise AssertionError('%s exited with %d' % (binary, rc))
    finally:
        daemon.kill()
    if not qmplib.files_equal(src, dst):
        raise AssertionError('%s: target differs from source' % binary)
    events = [(e['event'], shape(e.get('data'))) for e in c.events]
    for e in c.events:
        ts = e.get('timestamp', {})
        if sorted(ts) != ['microseconds', 'seconds']:
            raise AssertionError('bad timestamp in %r' % e)
    return replies, events


def main():
    signal.alarm(110)           # never outlive meson's timeout
    emblock = os.path.abspath(sys.argv[1])
    qemu = sys.argv[2] if len(sys.argv) > 2 else \
        os.environ.get('QEMU_STORAGE_DAEMON',
                       '/usr/bin/qemu-storage-daemon')

    def body(top):
        os.mkdir(os.path.join(top, 'emblock'))
        er, ee = run_session(emblock, os.path.join(top, 'emblock'))
        print('emblock-storage-daemon: %d replies, %d events, target ok' %
              (len(er), len(ee)))
        if not os.access(qemu, os.X_OK):
            qmplib.dump_transcript('emblock', er, ee)
            print('SKIP: %s not installed, nothing to compare with' % qemu)
            return 77
        os.mkdir(os.path.join(top, 'qemu'))
        qr, qe = run_session(qemu, os.path.join(top, 'qemu'))
        # The greeting's version numbers differ by design.
        if not qmplib.transcripts_agree(er, ee, qr, qe):
            qmplib.dump_transcript('emblock', er, ee)
            qmplib.dump_transcript('qemu', qr, qe)
            return 1
        qmplib.dump_transcript('both', er, ee)
        print('PASS: transcripts agree')
        return 0

    return qmplib.run_in_tempdir(
        'qmp-transcript-', body,
        (AssertionError, qmplib.QmpTimeout, EOFError, OSError))


if __name__ == '__main__':
    sys.exit(main())
