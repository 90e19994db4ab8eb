#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The success path of every command emblock-storage-daemon offers, with
# assertions on the replies and their effects, then the same session
# against QEMU's qemu-storage-daemon, compared (as test-qmp-transcript):
#
#   query-version, query-commands (every command is listed);
#   blockdev-create jobs for drivers file (two raw images, one of size 0)
#   and qcow2 (on a file node); the qcow2 image opened with blockdev-add,
#   query-named-block-nodes agreeing with `qemu-img info`;
#   block-dirty-bitmap-add/clear/remove, the bitmaps shown in
#   query-named-block-nodes "dirty-bitmaps" as QEMU shows them;
#   blockdev-mirror (raw source -> the new qcow2) with speed, buf-size,
#   auto-finalize=false, auto-dismiss=false; query-jobs, query-block-jobs;
#   job-pause/job-resume while running (paused) and when ready (standby);
#   block-job-set-speed; job-complete, job-finalize, job-dismiss with
#   JOB_STATUS_CHANGE, BLOCK_JOB_READY, BLOCK_JOB_PENDING and
#   BLOCK_JOB_COMPLETED in order; a second mirror cancelled before it is
#   ready (BLOCK_JOB_CANCELLED); the block-job-* forms of pause, resume,
#   complete, finalize and dismiss on a third; blockdev-del of every node;
#   quit.  Afterwards the target equals the source (`qemu-img compare`)
#   and passes `qemu-img check`.
#
# emblock only: x-blockdev-io writes to the source while the first
# mirror runs and while it is ready (the target must still end up equal)
# and makes the dirty bitmap count them.
#
#   test-qmp-commands.py EMBLOCK_STORAGE_DAEMON [QEMU_STORAGE_DAEMON]
#
# Exit 0 when emblock passes and both sessions agree; 77 (skip) when
# qemu-storage-daemon or qemu-img is not installed (the emblock session
# has still run, with the checks that need no QEMU binary); 1 on failure.

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402
from qmplib import Fail, check  # noqa: E402

MiB = 1 << 20
SIZE = 8 * MiB
SPEED = 512 * 1024          # the first mirror needs ~15 s at this speed
BUF_SIZE = 256 * 1024       # so one iteration cannot copy everything

# The commands emblock-storage-daemon offers (query-commands must list
# them all; QEMU's daemon lists all but x-blockdev-io too).
COMMANDS = [
    'qmp_capabilities', 'query-version', 'query-commands', 'quit',
    'blockdev-add', 'blockdev-del', 'query-named-block-nodes',
    'block-dirty-bitmap-add', 'block-dirty-bitmap-clear',
    'block-dirty-bitmap-remove', 'blockdev-create', 'blockdev-mirror',
    'job-pause', 'job-resume', 'job-cancel', 'job-complete',
    'job-finalize', 'job-dismiss', 'block-job-set-speed',
    'block-job-cancel', 'block-job-pause', 'block-job-resume',
    'block-job-complete', 'block-job-finalize', 'block-job-dismiss',
    'query-jobs', 'query-block-jobs',
]
EMBLOCK_ONLY = ['x-blockdev-io']

FACTS = {
    'node-name', 'drv', 'ro', 'detect_zeroes', 'virtual-size', 'format',
    'status', 'id', 'device', 'type', 'speed', 'class', 'encrypted',
    'backing_file_depth', 'no-flush', 'direct', 'writeback', 'ready',
    'paused', 'io-status', 'auto-finalize', 'auto-dismiss', 'name',
    'recording', 'persistent', 'granularity', 'count',
    'cluster-size', 'compat', 'lazy-refcounts', 'refcount-bits', 'corrupt',
    'extended-l2', 'compression-type', 'dirty-flag',
}
FILTERED = {'len': 'LEN', 'offset': 'OFFSET',
            'current-progress': 'PROGRESS', 'total-progress': 'PROGRESS'}

# Differences from QEMU that are known and reported, not failures.
#   - a `file` node on a file whose size is not a multiple of 512 (a new
#     qcow2 image): QEMU's bdrv_getlength() rounds up to the sector,
#     emblock reports the byte length.  Mapped to QEMU's answer here.
#   - query-block-jobs "actively-synced" exists since QEMU 8.2.
KNOWN = []


def known_fixups(value):
    if isinstance(value, dict):
        if value.get('drv') == 'file' and 'image' in value:
            img = value['image']
            vs = img.get('virtual-size')
            if isinstance(vs, int) and vs % 512:
                img['virtual-size'] = (vs + 511) // 512 * 512
                KNOWN.append('node %s: virtual-size %d, QEMU says %d' %
                             (value.get('node-name'), vs,
                              img['virtual-size']))
        if value.get('type') == 'mirror' and 'actively-synced' in value:
            del value['actively-synced']
        for v in value.values():
            known_fixups(v)
    elif isinstance(value, list):
        for v in value:
            known_fixups(v)
    return value


def write_source(path):
    """Pseudo-random data everywhere but a 1 MiB hole at 6 MiB."""
    qmplib.write_random_image(path, SIZE, 20250601,
                              ((0, 6 * MiB), (7 * MiB, 1 * MiB)))


def event_list(client, first=0):
    return [(e['event'], e.get('data', {})) for e in client.events[first:]]


def status_seq(client, job_id, first=0):
    """JOB_STATUS_CHANGE statuses of @job_id interleaved with the block
    job events, by name."""
    out = []
    for name, data in event_list(client, first):
        if name == 'JOB_STATUS_CHANGE':
            if data.get('id') == job_id:
                out.append(data['status'])
        elif data.get('device') == job_id or data.get('id') == job_id:
            out.append(name)
    return out


class Session(qmplib.BinaryRun):
    def __init__(self, binary, workdir, emblock, img):
        super().__init__(binary, workdir, emblock, img)
        self.replies = []       # (command, shape of the reply)
        self.c = None

    def cmd(self, name, args=None, record=True, timeout=10.0):
        r = self.c.cmd(name, args, timeout=timeout)
        if record:
            self.replies.append((name, qmplib.shape(
                known_fixups(json.loads(json.dumps(r))), None, FACTS,
                FILTERED)))
        check('return' in r, '%s %s failed:' % (name, json.dumps(args)), r)
        return r['return']

    def wait_status(self, job, status, timeout=30.0):
        return qmplib.wait_job_status(self.c, job, status, timeout)

    def io(self, node, line):
        out = self.cmd('x-blockdev-io', {'node-name': node,
                                         'command': line}, record=False)
        check(isinstance(out, str) and 'wrote' in out,
              'x-blockdev-io %r:' % line, out)

    def nodes(self, record=True):
        r = self.cmd('query-named-block-nodes', record=record)
        check(isinstance(r, list), 'query-named-block-nodes', r)
        return {n['node-name']: n for n in r}

    def job(self, job_id, record=True):
        jobs = self.cmd('query-jobs', record=record)
        found = [j for j in jobs if j.get('id') == job_id]
        check(len(found) == 1, 'query-jobs: one %s' % job_id, jobs)
        j = found[0]
        check(sorted(j) == sorted(['id', 'type', 'status',
                                   'current-progress',
                                   'total-progress']) or 'error' in j,
              'query-jobs member shape', j)
        return j

    def block_job(self, job_id, record=True):
        jobs = self.cmd('query-block-jobs', record=record)
        found = [j for j in jobs if j.get('device') == job_id]
        check(len(found) == 1, 'query-block-jobs: one %s' % job_id, jobs)
        j = found[0]
        want = {'type', 'device', 'len', 'offset', 'busy', 'paused',
                'speed', 'io-status', 'ready', 'status', 'auto-finalize',
                'auto-dismiss'}
        check(want <= set(j) <= want | {'error', 'actively-synced'},
              'query-block-jobs member shape', sorted(j))
        check(isinstance(j['len'], int) and isinstance(j['offset'], int) and
              0 <= j['offset'] <= j['len'], 'len/offset', j)
        return j

    def start_mirror(self, job, target, manual=False):
        """blockdev-mirror src -> @target as @job (sync=full, SPEED,
        BUF_SIZE; auto-finalize and auto-dismiss off when @manual), and
        wait until it runs.  Returns the index in self.c.events of the
        first event after the command."""
        first = len(self.c.events)
        args = {'job-id': job, 'device': 'src', 'target': target,
                'sync': 'full', 'speed': SPEED, 'buf-size': BUF_SIZE}
        if manual:
            args.update({'auto-finalize': False, 'auto-dismiss': False})
        self.cmd('blockdev-mirror', args)
        self.wait_status(job, 'running')
        return first

    # The session

    def run(self):
        src = self.path('src.raw')
        write_source(src)
        daemon = qmplib.Daemon(self.binary, self.wd)
        try:
            self.c = daemon.client(negotiate=False)
            g = self.c.greeting()
            self.replies.append(('greeting', qmplib.shape(g)))
            check(set(g['QMP']) == {'version', 'capabilities'}, 'greeting', g)
            self.cmd('qmp_capabilities')
            self.misc()
            self.create()
            self.bitmaps()
            self.mirror_complete()
            self.mirror_cancel()
            self.block_job_verbs()
            self.delete()
            r = self.c.cmd('quit')
            check(r == {'return': {}}, 'quit', r)
            self.replies.append(('quit', qmplib.shape(r)))
            rc = daemon.wait(30)
            check(rc == 0, '%s exited with' % self.binary, rc)
            check(not os.path.exists(daemon.path), 'socket left behind')
        finally:
            daemon.kill()
            if self.c:
                self.c.close()
        self.check_images()
        return self.replies, [(n, qmplib.shape(d, None, FACTS, FILTERED))
                              for n, d in event_list(self.c)]

    def misc(self):
        v = self.cmd('query-version')
        check(set(v) == {'qemu', 'package'} and
              set(v['qemu']) == {'major', 'minor', 'micro'} and
              all(isinstance(x, int) for x in v['qemu'].values()) and
              isinstance(v['package'], str), 'query-version', v)
        cmds = self.cmd('query-commands', record=False)
        check(all(set(x) == {'name'} for x in cmds), 'query-commands', cmds)
        names = [x['name'] for x in cmds]
        check(len(names) == len(set(names)), 'query-commands duplicates',
              names)
        missing = [n for n in COMMANDS + (EMBLOCK_ONLY if self.emblock
                                          else []) if n not in names]
        check(not missing, 'query-commands lacks', missing)

    def create(self):
        """blockdev-create: file (dst2.raw, dst3.raw, an empty file for
        the qcow2 image), qcow2 on a file node."""
        for job, name, size in (('c0', 'dst2.raw', SIZE),
                                ('c1', 'dst3.raw', SIZE),
                                ('c2', 'dst.qcow2', 0)):
            first = len(self.c.events)
            self.cmd('blockdev-create', {'job-id': job, 'options': {
                'driver': 'file', 'filename': self.path(name),
                'size': size}})
            self.wait_status(job, 'concluded')
            j = self.job(job)
            check(j['type'] == 'create' and j['status'] == 'concluded' and
                  'error' not in j, 'create job', j)
            self.cmd('job-dismiss', {'id': job})
            self.wait_status(job, 'null')
            seq = status_seq(self.c, job, first)
            check(seq == ['created', 'running', 'waiting', 'pending',
                          'concluded', 'null'], 'create events', seq)
            check(os.path.getsize(self.path(name)) == size,
                  '%s size' % name, os.path.getsize(self.path(name)))
        check(self.cmd('query-jobs') == [], 'jobs left')

        self.cmd('blockdev-add', {'driver': 'file', 'node-name': 'tf',
                                  'filename': self.path('dst.qcow2')})
        self.cmd('blockdev-create', {'job-id': 'c3', 'options': {
            'driver': 'qcow2', 'file': 'tf', 'size': SIZE,
            'cluster-size': 65536}})
        self.wait_status('c3', 'concluded')
        j = self.job('c3')
        check('error' not in j, 'qcow2 create', j)
        self.cmd('job-dismiss', {'id': 'c3'})
        self.wait_status('c3', 'null')
        self.cmd('blockdev-add', {'driver': 'qcow2', 'node-name': 'tgt',
                                  'file': 'tf'})
        self.cmd('blockdev-add', {'driver': 'file', 'node-name': 'src',
                                  'filename': self.path('src.raw')})
        self.cmd('blockdev-add', {'driver': 'file', 'node-name': 'd2',
                                  'filename': self.path('dst2.raw')})
        self.cmd('blockdev-add', {'driver': 'file', 'node-name': 'd3',
                                  'filename': self.path('dst3.raw')})
        nodes = self.nodes()
        check(sorted(nodes) == ['d2', 'd3', 'src', 'tf', 'tgt'],
              'nodes', sorted(nodes))
        t = nodes['tgt']
        check(t['drv'] == 'qcow2' and t['image']['format'] == 'qcow2' and
              t['image']['virtual-size'] == SIZE and
              t['image'].get('cluster-size') == 65536 and
              not t['ro'], 'qcow2 node', t)
        check(nodes['d2']['image']['virtual-size'] == SIZE, 'd2', nodes['d2'])
        # qemu-img info -U on the open image (emblock-img's -U cannot
        # share an image another process writes: qemu-img only).
        if os.path.basename(self.img) == 'emblock-img':
            return
        rc, out = qmplib.run_tool([self.img, 'info', '-U',
                                   '--output=json',
                                   self.path('dst.qcow2')])
        check(rc == 0, 'qemu-img info', out)
        info = json.loads(out)
        mine = t['image']
        for k in ('virtual-size', 'format', 'cluster-size',
                  'format-specific', 'dirty-flag', 'filename'):
            check(info.get(k) == mine.get(k),
                  'qemu-img info and query-named-block-nodes differ on %s:'
                  % k, info.get(k), mine.get(k))
        rc, out = qmplib.run_tool([self.img, 'check', '-U',
                                   self.path('dst.qcow2')])
        check(rc == 0 and 'No errors were found' in out,
              'qemu-img check -U of the new image:', rc, out)

    def bitmaps(self):
        self.cmd('block-dirty-bitmap-add', {'node': 'src', 'name': 'bm0'})
        self.cmd('block-dirty-bitmap-add', {'node': 'src', 'name': 'bm1',
                                            'granularity': 4096,
                                            'disabled': True})
        bms = self.nodes()['src'].get('dirty-bitmaps')
        check(isinstance(bms, list) and len(bms) == 2, 'dirty-bitmaps', bms)
        by = {b['name']: b for b in bms}
        check(by.get('bm0') == {'name': 'bm0', 'recording': True,
                                'persistent': False, 'busy': False,
                                'granularity': 65536, 'count': 0} and
              by.get('bm1') == {'name': 'bm1', 'recording': False,
                                'persistent': False, 'busy': False,
                                'granularity': 4096, 'count': 0},
              'dirty-bitmaps', bms)
        if self.emblock:
            # Zeroes over zeroes (the hole): two 64 KiB granules for bm0.
            self.io('src', 'write -P 0 6m 100k')
            by = {b['name']: b for b in
                  self.nodes(record=False)['src']['dirty-bitmaps']}
            check(by['bm0']['count'] == 128 * 1024 and
                  by['bm1']['count'] == 0, 'bitmap counts', by)
        self.cmd('block-dirty-bitmap-clear', {'node': 'src', 'name': 'bm0'})
        by = {b['name']: b for b in self.nodes()['src']['dirty-bitmaps']}
        check(by['bm0']['count'] == 0 and by['bm0']['recording'],
              'cleared', by)
        self.cmd('block-dirty-bitmap-remove', {'node': 'src', 'name': 'bm0'})
        bms = self.nodes()['src'].get('dirty-bitmaps')
        check([b['name'] for b in bms] == ['bm1'], 'after remove', bms)
        self.cmd('block-dirty-bitmap-remove', {'node': 'src', 'name': 'bm1'})
        check('dirty-bitmaps' not in self.nodes()['src'],
              'dirty-bitmaps left')

    def mirror_complete(self):
        first = self.start_mirror('job0', 'tgt', manual=True)
        j = self.job('job0')
        check(j['type'] == 'mirror' and j['status'] == 'running', 'job0', j)
        b = self.block_job('job0')
        check(b['type'] == 'mirror' and b['status'] == 'running' and
              b['speed'] == SPEED and not b['ready'] and not b['paused'] and
              b['io-status'] == 'ok' and b['auto-finalize'] is False and
              b['auto-dismiss'] is False, 'query-block-jobs running', b)
        if self.emblock:
            self.io('src', 'write -P 0xa5 1m 128k')

        self.cmd('job-pause', {'id': 'job0'})
        self.wait_status('job0', 'paused')
        b = self.block_job('job0')
        check(b['status'] == 'paused' and b['paused'] and not b['ready'],
              'paused', b)
        check(self.job('job0')['status'] == 'paused', 'query-jobs paused')
        self.cmd('job-resume', {'id': 'job0'})
        self.wait_status('job0', 'running')
        b = self.block_job('job0', record=False)
        check(not b['paused'], 'resumed', b)

        self.cmd('block-job-set-speed', {'device': 'job0', 'speed': 0})
        ev = self.c.wait_event('BLOCK_JOB_READY', timeout=30,
                               match={'device': 'job0'})
        d = ev['data']
        check(set(d) == {'type', 'device', 'len', 'offset', 'speed'} and
              d['type'] == 'mirror' and d['speed'] == 0 and
              d['len'] == d['offset'] and d['len'] >= 7 * MiB,
              'BLOCK_JOB_READY', d)
        b = self.block_job('job0')
        check(b['status'] == 'ready' and b['ready'] and b['speed'] == 0,
              'ready', b)
        if self.emblock:
            self.io('src', 'write -P 0x3c 4m 64k')
            self.io('src', 'write -z 5m 64k')
            self.io('src', 'write -P 0x77 6m 4k')

        self.cmd('job-pause', {'id': 'job0'})
        self.wait_status('job0', 'standby')
        b = self.block_job('job0')
        check(b['status'] == 'standby' and b['paused'] and b['ready'],
              'standby', b)
        self.cmd('job-resume', {'id': 'job0'})
        self.wait_status('job0', 'ready')
        if self.emblock:
            self.io('src', 'write -P 0x99 7m 64k')

        self.cmd('job-complete', {'id': 'job0'})
        ev = self.c.wait_event('BLOCK_JOB_PENDING', timeout=30,
                               match={'id': 'job0'})
        check(ev['data'] == {'type': 'mirror', 'id': 'job0'},
              'BLOCK_JOB_PENDING', ev)
        check(self.job('job0')['status'] == 'pending', 'pending')
        self.cmd('job-finalize', {'id': 'job0'})
        ev = self.c.wait_event('BLOCK_JOB_COMPLETED', timeout=30,
                               match={'device': 'job0'})
        d = ev['data']
        check(set(d) == {'type', 'device', 'len', 'offset', 'speed'} and
              d['len'] == d['offset'], 'BLOCK_JOB_COMPLETED', d)
        self.wait_status('job0', 'concluded')
        j = self.job('job0')
        check(j['status'] == 'concluded' and 'error' not in j and
              j['current-progress'] == j['total-progress'], 'concluded', j)
        b = self.block_job('job0')
        check(b['status'] == 'concluded' and 'error' not in b, 'concluded',
              b)
        self.cmd('job-dismiss', {'id': 'job0'})
        self.wait_status('job0', 'null')
        check(self.cmd('query-jobs') == [], 'jobs after dismiss')
        check(self.cmd('query-block-jobs') == [], 'block jobs after dismiss')
        seq = status_seq(self.c, 'job0', first)
        check(seq == ['created', 'running', 'paused', 'running', 'ready',
                      'BLOCK_JOB_READY', 'standby', 'ready', 'waiting',
                      'pending', 'BLOCK_JOB_PENDING', 'BLOCK_JOB_COMPLETED',
                      'concluded', 'null'], 'job0 events', seq)

    def mirror_cancel(self):
        first = self.start_mirror('job1', 'd2')
        b = self.block_job('job1')
        check(not b['ready'] and b['status'] == 'running' and
              b['auto-finalize'] and b['auto-dismiss'], 'job1', b)
        self.cmd('job-cancel', {'id': 'job1'})
        ev = self.c.wait_event('BLOCK_JOB_CANCELLED', timeout=30,
                               match={'device': 'job1'})
        d = ev['data']
        check(set(d) == {'type', 'device', 'len', 'offset', 'speed'} and
              d['type'] == 'mirror' and d['speed'] == SPEED and
              d['offset'] < SIZE, 'BLOCK_JOB_CANCELLED', d)
        self.wait_status('job1', 'null')
        check(self.cmd('query-jobs') == [], 'jobs after cancel')
        seq = status_seq(self.c, 'job1', first)
        check(seq == ['created', 'running', 'aborting',
                      'BLOCK_JOB_CANCELLED', 'concluded', 'null'],
              'job1 events', seq)

    def block_job_verbs(self):
        """The block-job-* spellings, on a mirror src -> d3."""
        first = self.start_mirror('job2', 'd3', manual=True)
        self.cmd('block-job-pause', {'device': 'job2'})
        self.wait_status('job2', 'paused')
        self.cmd('block-job-set-speed', {'device': 'job2', 'speed': 0})
        check(self.block_job('job2')['speed'] == 0, 'set-speed while paused')
        self.cmd('block-job-resume', {'device': 'job2'})
        self.c.wait_event('BLOCK_JOB_READY', timeout=30,
                          match={'device': 'job2'})
        self.cmd('block-job-complete', {'device': 'job2'})
        self.c.wait_event('BLOCK_JOB_PENDING', timeout=30,
                          match={'id': 'job2'})
        self.cmd('block-job-finalize', {'id': 'job2'})
        self.wait_status('job2', 'concluded')
        self.cmd('block-job-dismiss', {'id': 'job2'})
        self.wait_status('job2', 'null')
        seq = status_seq(self.c, 'job2', first)
        check(seq == ['created', 'running', 'paused', 'running', 'ready',
                      'BLOCK_JOB_READY', 'waiting', 'pending',
                      'BLOCK_JOB_PENDING', 'BLOCK_JOB_COMPLETED',
                      'concluded', 'null'], 'job2 events', seq)

    def delete(self):
        for node in ('tgt', 'tf', 'd2', 'd3'):
            self.cmd('blockdev-del', {'node-name': node})
            check(node not in self.nodes(record=False), 'still there', node)
        check(sorted(self.nodes()) == ['src'], 'nodes after blockdev-del')
        self.cmd('blockdev-del', {'node-name': 'src'})
        check(self.cmd('query-named-block-nodes') == [], 'nodes left')

    def check_images(self):
        src, dst = self.path('src.raw'), self.path('dst.qcow2')
        check(qmplib.files_equal(src, self.path('dst3.raw')),
              'dst3.raw differs from the source')
        rc, out = qmplib.run_tool([self.img, 'compare', '-f', 'raw',
                                   '-F', 'qcow2', src, dst])
        check(rc == 0, 'img compare src.raw dst.qcow2:', rc, out)
        rc, out = qmplib.run_tool([self.img, 'check', dst])
        check(rc == 0 and 'No errors were found' in out,
              'img check dst.qcow2:', rc, out)
        rc, out = qmplib.run_tool([self.img, 'info', '--output=json',
                                   dst])
        info = json.loads(out)
        check(info['format'] == 'qcow2' and info['virtual-size'] == SIZE and
              not info.get('dirty-flag'), 'img info dst.qcow2', info)


def main():
    signal.alarm(110)           # never outlive meson's timeout
    emblock = os.path.abspath(sys.argv[1])
    # Without qemu-img, emblock's own tool checks the images.
    qemu, qemu_img, img = qmplib.comparison_tools(
        emblock, sys.argv[2] if len(sys.argv) > 2 else None)

    def body(top):
        os.mkdir(os.path.join(top, 'emblock'))
        er, ee = Session(emblock, os.path.join(top, 'emblock'), True,
                         img).run()
        print('emblock-storage-daemon: %d replies, %d events, all checks '
              'passed (images checked with %s)' %
              (len(er), len(ee), os.path.basename(img)))
        if qmplib.skip_comparison(qemu, qemu_img):
            qmplib.dump_transcript('emblock', er, ee)
            return 77
        os.mkdir(os.path.join(top, 'qemu'))
        qr, qe = Session(qemu, os.path.join(top, 'qemu'), False,
                         img).run()
        ok = qmplib.transcripts_agree(er, ee, qr, qe)
        for k in sorted(set(KNOWN)):
            print('known difference: %s' % k)
        if not ok:
            qmplib.dump_transcript('emblock', er, ee)
            qmplib.dump_transcript('qemu', qr, qe)
            return 1
        print('PASS: %d replies and %d events agree with qemu-storage-daemon'
              % (len(er), len(ee)))
        return 0

    return qmplib.run_in_tempdir(
        'qmp-commands-', body,
        (Fail, qmplib.QmpTimeout, EOFError, OSError, KeyError, ValueError,
         IndexError, TypeError), trace=True)


if __name__ == '__main__':
    sys.exit(main())
