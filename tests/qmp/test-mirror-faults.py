#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# blockdev-mirror under injected I/O errors, through the storage daemon.
#
# Each scenario opens a source and a target whose file sits on a blkdebug
# node (format -> blkdebug -> file, so the format driver fires read_aio /
# write_aio as QEMU's do), mirrors with one on-source-error or
# on-target-error policy, and drives the job through one flow:
#
#   fail      the job concludes with BLOCK_JOB_COMPLETED carrying the
#             error text (report, and enospc for an error other than
#             ENOSPC);
#   recover   a one-shot fault under ignore: the failed range is retried,
#             the job gets ready, job-complete, target == source;
#   resume    a one-shot fault under stop (enospc for ENOSPC): the job is
#             paused ("paused" in query-jobs, paused/io-status failed or
#             nospace in query-block-jobs), job-resume, ready, complete,
#             target == source;
#   restop    a persistent fault under stop: paused, job-resume, paused
#             again by the same fault, job-cancel while paused;
#   repeat    a persistent fault under ignore: errors repeat until
#             job-cancel.
#
# Every scenario asserts the sequence of JOB_STATUS_CHANGE statuses and
# block-job events (BLOCK_JOB_ERROR operation/action, COMPLETED error
# text), that the daemon still answers query-version afterwards, that it
# exits 0 on quit, and that qcow2 images pass `emblock-img check` and
# `qemu-img check` (leaks allowed only after a persistent fault killed
# the job, as QEMU leaves them too).  emblock's session also writes the
# source through x-blockdev-io while the job is paused and while it is
# ready; the target must still end equal to the source.
#
# Then the same scenarios (without x-blockdev-io, which QEMU lacks) run
# against qemu-storage-daemon, and the event sequences must agree
# (repeated consecutive events collapsed: how often a persistent fault
# repeats is timing).
#
#   test-mirror-faults.py EMBLOCK_STORAGE_DAEMON EMBLOCK_IMG
#                         [QEMU_STORAGE_DAEMON]
#
# Exit 0 on success; 77 when qemu-storage-daemon is not installed (the
# emblock scenarios have run and passed); 1 on failure.

import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402
from qmplib import Fail, check  # noqa: E402

MiB = 1 << 20
SIZE = 4 * MiB
FAULT_SECTOR = (MiB + 128 * 1024) // 512    # inside the second MiB
EIO, ENOSPC = 5, 28
STRERROR = {EIO: 'Input/output error', ENOSPC: 'No space left on device'}


class Scenario:
    """side: 'src' (read_aio fault, on-source-error) or 'dst' (write_aio
    fault, on-target-error); sector None: any request of the iotype."""

    def __init__(self, name, side, err, once, policy, flow,
                 src_fmt='raw', dst_fmt='raw', sector=FAULT_SECTOR,
                 event=None):
        self.name = name
        self.event = event or ('read_aio' if side == 'src' else 'write_aio')
        self.iotype = 'flush' if self.event == 'flush_to_disk' else \
            'read' if side == 'src' else 'write'
        self.side = side
        self.err = err
        self.once = once
        self.policy = policy
        self.flow = flow
        self.src_fmt = src_fmt
        self.dst_fmt = dst_fmt
        self.sector = sector

    def expected(self):
        op = 'read' if self.side == 'src' else 'write'
        action = self.policy
        if action == 'enospc':
            action = 'stop' if self.err == ENOSPC else 'report'
        err = ('BLOCK_JOB_ERROR', op, action)
        head = ['created', 'running', err]
        done = ['ready', 'BLOCK_JOB_READY', 'waiting', 'pending',
                'BLOCK_JOB_COMPLETED', 'concluded', 'null']
        cancelled = ['aborting', 'BLOCK_JOB_CANCELLED', 'concluded', 'null']
        if self.flow == 'fail':
            return head + ['aborting',
                           ('BLOCK_JOB_COMPLETED', STRERROR[self.err]),
                           'concluded', 'null']
        if self.flow == 'recover':
            return head + done
        if self.flow == 'resume':
            return head + ['paused', 'running'] + done
        if self.flow == 'restop':
            return head + ['paused', 'running', err, 'paused',
                           'running'] + cancelled
        if self.flow == 'repeat':
            return head + cancelled
        raise AssertionError(self.flow)


def scenarios():
    out = []
    # Target faults: write_aio, EIO and ENOSPC, under every policy.
    for err in (EIO, ENOSPC):
        e = 'eio' if err == EIO else 'enospc'
        stops = err == ENOSPC
        out += [
            Scenario('dst-%s-report' % e, 'dst', err, True, 'report', 'fail'),
            Scenario('dst-%s-ignore-once' % e, 'dst', err, True, 'ignore',
                     'recover'),
            Scenario('dst-%s-ignore-repeat' % e, 'dst', err, False, 'ignore',
                     'repeat'),
            Scenario('dst-%s-stop-once' % e, 'dst', err, True, 'stop',
                     'resume'),
            Scenario('dst-%s-stop-repeat' % e, 'dst', err, False, 'stop',
                     'restop'),
            Scenario('dst-%s-enospc-once' % e, 'dst', err, True, 'enospc',
                     'resume' if stops else 'fail'),
        ]
    out.append(Scenario('dst-enospc-enospc-repeat', 'dst', ENOSPC, False,
                        'enospc', 'restop'))
    # Source faults: read_aio, EIO, under every policy.
    out += [
        Scenario('src-eio-report', 'src', EIO, False, 'report', 'fail'),
        Scenario('src-eio-ignore-once', 'src', EIO, True, 'ignore',
                 'recover'),
        Scenario('src-eio-ignore-repeat', 'src', EIO, False, 'ignore',
                 'repeat'),
        Scenario('src-eio-stop-once', 'src', EIO, True, 'stop', 'resume'),
        Scenario('src-eio-stop-repeat', 'src', EIO, False, 'stop', 'restop'),
        Scenario('src-eio-enospc', 'src', EIO, True, 'enospc', 'fail'),
    ]
    # The target flush before READY (flush_to_disk) counts as a write.
    out += [
        Scenario('dst-flush-eio-report', 'dst', EIO, True, 'report', 'fail',
                 sector=None, event='flush_to_disk'),
        Scenario('dst-flush-eio-stop-once', 'dst', EIO, True, 'stop',
                 'resume', sector=None, event='flush_to_disk'),
        Scenario('dst-flush-enospc-ignore-once', 'dst', ENOSPC, True,
                 'ignore', 'recover', sector=None, event='flush_to_disk'),
    ]
    # qcow2: the fault hits the first data write (or read) of the format,
    # whatever its host offset.
    out += [
        Scenario('qcow2-dst-enospc-stop-once', 'dst', ENOSPC, True, 'stop',
                 'resume', 'qcow2', 'qcow2', None),
        Scenario('qcow2-dst-eio-ignore-once', 'dst', EIO, True, 'ignore',
                 'recover', 'raw', 'qcow2', None),
        Scenario('qcow2-dst-eio-report-repeat', 'dst', EIO, False, 'report',
                 'fail', 'qcow2', 'qcow2', None),
        Scenario('qcow2-src-eio-stop-once', 'src', EIO, True, 'stop',
                 'resume', 'qcow2', 'qcow2', None),
    ]
    return out


def collapse(seq):
    """Consecutive repeats of one event folded into one."""
    out = []
    for x in seq:
        if not out or out[-1] != x:
            out.append(x)
    return out


def write_source(path):
    qmplib.write_random_image(path, SIZE, 20250612, ((0, SIZE),))


class Session:
    """All scenarios against one daemon binary."""

    def __init__(self, binary, emblock, img, qemu_img, workdir):
        self.binary = binary
        self.emblock = emblock      # emblock's daemon: x-blockdev-io too
        self.img = img              # emblock-img
        self.qemu_img = qemu_img    # or None
        self.wd = workdir
        self.c = None
        self.seqs = {}
        self.queries = {}
        self.notes = []

    def path(self, name):
        return os.path.join(self.wd, name)

    def cmd(self, name, args=None, timeout=15.0):
        r = self.c.cmd(name, args, timeout=timeout)
        check('return' in r, '%s %r failed:' % (name, args), r)
        return r['return']

    def tool(self, argv):
        return qmplib.run_tool(argv, timeout=60)

    # Images

    def make_images(self, sc):
        raw = self.path('src.raw')
        write_source(raw)
        if sc.src_fmt == 'qcow2':
            rc, out = self.tool([self.img, 'convert', '-f', 'raw', '-O',
                                 'qcow2', raw, self.path('src.qcow2')])
            check(rc == 0, 'convert', out)
            os.unlink(raw)
        dst = self.path('dst.' + sc.dst_fmt)
        if sc.dst_fmt == 'qcow2':
            rc, out = self.tool([self.img, 'create', '-q', '-f', 'qcow2',
                                 dst, str(SIZE)])
            check(rc == 0, 'create', out)
        else:
            with open(dst, 'wb') as f:
                f.truncate(SIZE)

    def node(self, sc, side):
        fmt = sc.src_fmt if side == 'src' else sc.dst_fmt
        filename = self.path('%s.%s' % (side, fmt))
        file_opts = {'driver': 'file', 'filename': filename}
        if side == sc.side:
            rule = {'event': sc.event, 'iotype': sc.iotype,
                    'errno': sc.err, 'once': sc.once}
            if sc.sector is not None:
                rule['sector'] = sc.sector
            file_opts = {'driver': 'blkdebug', 'image': file_opts,
                         'inject-error': [rule]}
        return {'driver': fmt, 'node-name': side, 'file': file_opts}

    def check_images(self, sc, equal):
        src = self.path('src.' + sc.src_fmt)
        dst = self.path('dst.' + sc.dst_fmt)
        leaks_ok = sc.flow == 'fail' and not sc.once
        for fmt, f in ((sc.src_fmt, src), (sc.dst_fmt, dst)):
            if fmt != 'qcow2':
                continue
            for checker in [self.img] + ([self.qemu_img]
                                         if self.qemu_img else []):
                rc, out = self.tool([checker, 'check', '-f', 'qcow2', f])
                check(rc == 0 or (leaks_ok and rc == 3),
                      '%s check %s exit' % (os.path.basename(checker),
                                            os.path.basename(f)), rc, out)
        if not equal:
            return
        for cmp_tool in [self.img] + ([self.qemu_img]
                                      if self.qemu_img else []):
            rc, out = self.tool([cmp_tool, 'compare', '-f', sc.src_fmt,
                                 '-F', sc.dst_fmt, src, dst])
            check(rc == 0 and 'Images are identical' in out,
                  '%s compare' % os.path.basename(cmp_tool), rc, out)

    # QMP helpers

    def seq(self, first=0):
        out = []
        for ev in self.c.events[first:]:
            name, data = ev['event'], ev.get('data', {})
            if name == 'JOB_STATUS_CHANGE':
                out.append(data['status'])
            elif name == 'BLOCK_JOB_ERROR':
                check(data.get('device') == 'job0', 'error device', data)
                out.append((name, data['operation'], data['action']))
            elif name == 'BLOCK_JOB_COMPLETED' and 'error' in data:
                out.append((name, data['error']))
            elif name.startswith('BLOCK_JOB_'):
                out.append(name)
        return out

    def wait_status(self, status, timeout=30.0, after=0):
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.c.events[after:]:
                if ev['event'] == 'JOB_STATUS_CHANGE' and \
                   ev['data']['status'] == status:
                    return self.c.events.index(ev)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail('no status %s within %.0f s; events: %r' %
                           (status, timeout, collapse(self.seq())))
            msg = self.c.read_line(left)
            check('event' in msg, 'unexpected reply', msg)
            self.c.events.append(msg)

    def count_errors(self):
        return sum(ev['event'] == 'BLOCK_JOB_ERROR' for ev in self.c.events)

    def wait_errors(self, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while self.count_errors() < n:
            left = deadline - time.monotonic()
            check(left > 0, 'fewer than %d BLOCK_JOB_ERROR events' % n,
                  collapse(self.seq()))
            msg = self.c.read_line(left)
            check('event' in msg, 'unexpected reply', msg)
            self.c.events.append(msg)

    def source_write(self, pattern, offset, length):
        """emblock only: a guest write to the source through the mirror."""
        if not self.emblock:
            return
        out = self.cmd('x-blockdev-io', {
            'node-name': 'src',
            'command': 'write -P %d %d %d' % (pattern, offset, length)})
        check('wrote %d/%d bytes' % (length, length) in out,
              'x-blockdev-io write', out)

    def paused_queries(self, sc, stopped):
        jobs = self.cmd('query-jobs')
        check(len(jobs) == 1 and jobs[0]['status'] == 'paused',
              'query-jobs while stopped', jobs)
        bj = self.cmd('query-block-jobs')
        check(len(bj) == 1, 'query-block-jobs', bj)
        want_io = 'nospace' if sc.err == ENOSPC else 'failed'
        got = {k: bj[0].get(k) for k in ('status', 'paused', 'io-status',
                                         'ready')}
        check(got == {'status': 'paused', 'paused': True,
                      'io-status': want_io, 'ready': False},
              'query-block-jobs while stopped', bj[0])
        self.queries.setdefault(sc.name, []).append((stopped, got))

    # Flows

    def dismiss(self, sc, error):
        """The concluded job (auto-dismiss off) as the queries show it,
        then job-dismiss."""
        self.wait_status('concluded')
        jobs = self.cmd('query-jobs')
        check(len(jobs) == 1 and jobs[0]['status'] == 'concluded' and
              jobs[0].get('error') == error, 'query-jobs concluded', jobs)
        bj = self.cmd('query-block-jobs')
        check(len(bj) == 1, 'query-block-jobs concluded', bj)
        got = {k: bj[0].get(k) for k in ('status', 'paused', 'io-status',
                                         'ready', 'error')}
        check(got == {'status': 'concluded', 'paused': False,
                      'io-status': 'ok', 'ready': False, 'error': error},
              'query-block-jobs concluded', bj[0])
        self.queries.setdefault(sc.name, []).append(('concluded', got))
        self.cmd('job-dismiss', {'id': 'job0'})
        self.wait_status('null')
        check(self.cmd('query-jobs') == [], 'job left')

    def flow_fail(self, sc):
        self.dismiss(sc, STRERROR[sc.err])
        ev = [e for e in self.c.events
              if e['event'] == 'BLOCK_JOB_COMPLETED']
        check(len(ev) == 1 and
              ev[0]['data'].get('error') == STRERROR[sc.err],
              'BLOCK_JOB_COMPLETED error', ev)
        return False

    def complete(self, after=0):
        self.wait_status('ready', after=after)
        self.source_write(0x6d, 3 * MiB + 4096, 8192)
        self.cmd('job-complete', {'id': 'job0'})
        self.wait_status('null')
        ev = [e for e in self.c.events
              if e['event'] == 'BLOCK_JOB_COMPLETED']
        check(len(ev) == 1 and 'error' not in ev[0]['data'],
              'BLOCK_JOB_COMPLETED', ev)
        return True

    def flow_recover(self, sc):
        return self.complete()

    def flow_resume(self, sc):
        i = self.wait_status('paused')
        self.paused_queries(sc, 1)
        # The guest keeps writing the source, over the failed range too.
        self.source_write(0xa5, FAULT_SECTOR * 512 - 4096, 65536)
        self.cmd('job-resume', {'id': 'job0'})
        bj = self.cmd('query-block-jobs')
        check(bj and bj[0]['io-status'] == 'ok', 'io-status after resume',
              bj)
        return self.complete(after=i)

    def cancel(self, sc):
        self.cmd('job-cancel', {'id': 'job0'})
        self.dismiss(sc, 'Operation canceled')
        ev = [e['event'] for e in self.c.events
              if e['event'] in ('BLOCK_JOB_CANCELLED', 'BLOCK_JOB_COMPLETED')]
        check(ev == ['BLOCK_JOB_CANCELLED'], 'cancel ends the job', ev)
        return False

    def flow_restop(self, sc):
        i = self.wait_status('paused')
        self.paused_queries(sc, 1)
        self.cmd('job-resume', {'id': 'job0'})
        i = self.wait_status('paused', after=i + 1)
        self.paused_queries(sc, 2)
        self.source_write(0x3c, 0, 4096)
        return self.cancel(sc)

    def flow_repeat(self, sc):
        self.wait_errors(5)
        self.source_write(0x3c, 0, 4096)
        return self.cancel(sc)

    def run_one(self, sc):
        for f in os.listdir(self.wd):
            if f.endswith(('.raw', '.qcow2')):
                os.unlink(self.path(f))
        self.make_images(sc)
        daemon = qmplib.Daemon(self.binary, self.wd)
        equal = False
        try:
            self.c = daemon.client()
            self.cmd('blockdev-add', self.node(sc, 'src'))
            self.cmd('blockdev-add', self.node(sc, 'dst'))
            key = 'on-source-error' if sc.side == 'src' else \
                  'on-target-error'
            self.cmd('blockdev-mirror', {
                'job-id': 'job0', 'device': 'src', 'target': 'dst',
                'sync': 'full', key: sc.policy,
                'auto-dismiss': sc.flow not in ('fail', 'restop', 'repeat')})
            equal = getattr(self, 'flow_' + sc.flow)(sc)
            v = self.cmd('query-version')
            check('qemu' in v, 'query-version after the job', v)
            check(daemon.alive(), 'daemon died')
            self.cmd('blockdev-del', {'node-name': 'dst'})
            self.cmd('blockdev-del', {'node-name': 'src'})
            r = self.c.cmd('quit')
            check(r == {'return': {}}, 'quit', r)
            rc = daemon.wait(30)
            check(rc == 0, 'daemon exit status', rc)
        finally:
            daemon.kill()
            self.c.close()
        got = self.seq()
        self.seqs[sc.name] = collapse(got)
        want = sc.expected()
        check(collapse(got) == want, 'events:\n  got  %r\n  want %r' %
              (collapse(got), want))
        self.check_images(sc, equal)

    def run(self, only=None):
        failed = []
        for sc in scenarios():
            if only and sc.name not in only:
                continue
            t0 = time.monotonic()
            try:
                self.run_one(sc)
                print('ok     %-32s %.2f s' % (sc.name,
                                              time.monotonic() - t0))
            except Exception as e:      # pylint: disable=broad-except
                failed.append(sc.name)
                print('FAIL   %-32s %s' % (sc.name, e))
                if not isinstance(e, (Fail, qmplib.QmpTimeout)):
                    traceback.print_exc()
                log = self.path(os.path.basename(self.binary) + '.log')
                if os.path.exists(log):
                    sys.stdout.write(open(log).read()[-2000:])
        return failed


def main():
    if len(sys.argv) < 3:
        print('usage: %s EMBLOCK_STORAGE_DAEMON EMBLOCK_IMG '
              '[QEMU_STORAGE_DAEMON]' % sys.argv[0])
        return 1
    emblock, img = sys.argv[1], sys.argv[2]
    qsd = sys.argv[3] if len(sys.argv) > 3 else \
        qmplib.qemu_tool('qemu-storage-daemon', 'QEMU_STORAGE_DAEMON')
    if qsd and not os.access(qsd, os.X_OK):
        qsd = None
    qemu_img = qmplib.qemu_tool('qemu-img', 'QEMU_IMG')
    only = os.environ.get('MFAULT_ONLY', '').split(',') if \
        os.environ.get('MFAULT_ONLY') else None
    tmp = tempfile.mkdtemp(prefix='emblock-mfault.')
    t0 = time.monotonic()
    try:
        wd = os.path.join(tmp, 'emblock')
        os.mkdir(wd)
        mine = Session(emblock, True, img, qemu_img, wd)
        print('# emblock-storage-daemon')
        failed = mine.run(only)
        if failed:
            print('FAIL: %d scenarios: %s' % (len(failed), failed))
            return 1
        if not qsd or not qemu_img:
            print('SKIP: comparison with qemu-storage-daemon (qemu-storage-'
                  'daemon or qemu-img not installed); emblock passed %d '
                  'scenarios in %.1f s' % (len(mine.seqs),
                                           time.monotonic() - t0))
            return 77
        wd = os.path.join(tmp, 'qemu')
        os.mkdir(wd)
        theirs = Session(qsd, False, img, qemu_img, wd)
        print('# qemu-storage-daemon')
        failed = theirs.run(only)
        diff = [n for n in mine.seqs
                if mine.seqs[n] != theirs.seqs.get(n) or
                mine.queries.get(n) != theirs.queries.get(n)]
        for n in diff:
            print('DIFF   %s\n  emblock %r %r\n  qemu    %r %r' %
                  (n, mine.seqs[n], mine.queries.get(n),
                   theirs.seqs.get(n), theirs.queries.get(n)))
        if failed or diff:
            print('FAIL: qemu-storage-daemon failed %s; sequences differ '
                  'in %s' % (failed, diff))
            return 1
        print('PASS: %d scenarios, event sequences equal to '
              'qemu-storage-daemon\'s, %.1f s' % (len(mine.seqs),
                                                   time.monotonic() - t0))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
