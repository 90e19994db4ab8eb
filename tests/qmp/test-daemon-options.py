#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-storage-daemon's command line, each case run against emblock's
# daemon and then against QEMU's qemu-storage-daemon, and compared:
#
#   stdio       --chardev stdio --monitor: QMP over stdin/stdout (events
#               too), next to a socket monitor; end of input closes the
#               stdio monitor only; quit over stdio
#   pidfile     --pidfile: the pid, written over a stale file, locked
#               (a second daemon fails), removed at exit
#   daemonize   --daemonize --pidfile: the parent exits 0 once the socket
#               and the pid file exist, its stdout/stderr are released,
#               the daemon (pid from the file) serves, quit ends it with
#               status 0 and removes socket and pid file; an error during
#               start-up is printed and the parent exits 1
#   blockdev    --blockdev as JSON and as dotted keys (nested file nodes,
#               references to earlier nodes, read-only, cache, discard,
#               detect-zeroes): the nodes in query-named-block-nodes
#   bad         bad options: a clear message on stderr, nothing on
#               stdout, status 1, no socket or pid file left behind
#   signals     SIGTERM and SIGINT during a speed-limited mirror between
#               qcow2 images: exit 0, the job cancelled with its events
#               delivered to the client, socket and pid file removed, both
#               images pass `qemu-img check`, the source is unchanged;
#               concluded jobs (a blockdev-create job, the mirror with
#               auto-dismiss=false) are dismissed ("null"), as QEMU's
#               job_cancel_sync_all() does
#
#   test-daemon-options.py EMBLOCK_STORAGE_DAEMON [QEMU_STORAGE_DAEMON]
#
# Exit 0 when emblock passes and agrees with QEMU; 77 (skip) when
# qemu-storage-daemon or qemu-img is not installed (the emblock half has
# run, checking images with emblock-img instead); 1 on failure.

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402
from qmplib import Fail, check  # noqa: E402

MiB = 1 << 20
SIZE = 8 * MiB
SPEED = 512 * 1024
BUF_SIZE = 256 * 1024
FACTS = {'node-name', 'drv', 'ro', 'detect_zeroes', 'virtual-size',
         'format', 'no-flush', 'direct', 'writeback', 'encrypted',
         'backing_file_depth'}

# Known differences from QEMU 7.2, reported and not failed on:
#   - on SIGTERM/SIGINT (and quit), qemu-storage-daemon drains all nodes
#     before it cancels the jobs, so a running job first goes "paused"
#     and back to "running" before "aborting"; emblock cancels first.
#   - a null-co node's "file"/"filename" in query-named-block-nodes:
#     QEMU shows its json: pseudo-filename (json:{"driver": "null-co",
#     "size": 4096}), emblock an empty string.
KNOWN = []


def known_fixups(nodes, emblock):
    for n in nodes:
        if n.get('drv') == 'null-co':
            if emblock and n.get('file') == '':
                KNOWN.append('node %s: file/filename "" instead of a json: '
                             'pseudo-filename' % n['node-name'])
            n['file'] = n['image']['filename'] = 'NULL-CO-FILENAME'
    return nodes


class Env(qmplib.BinaryRun):
    def sock_args(self, sock, cid='m0'):
        return ['--chardev', 'socket,id=%s,path=%s,server=on,wait=off' %
                (cid, sock), '--monitor', 'chardev=%s' % cid]

    def popen(self, args, **kw):
        kw.setdefault('stdin', subprocess.DEVNULL)
        kw.setdefault('stdout', subprocess.DEVNULL)
        kw.setdefault('stderr', subprocess.DEVNULL)
        return subprocess.Popen([self.binary] + args, cwd=self.wd, **kw)

    def run(self, args, timeout=20):
        p = subprocess.run([self.binary] + args, cwd=self.wd,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return (p.returncode, p.stdout.decode('utf-8', 'replace'),
                p.stderr.decode('utf-8', 'replace'))

    def norm(self, text):
        """Program and directory names out of a message."""
        text = text.replace(self.wd, 'DIR').replace(self.binary, 'PROG')
        return re.sub(r'^\S*(emblock|qemu)-storage-daemon:', 'PROG:', text)

    def img_ok(self, name, fmt='qcow2'):
        rc, out = qmplib.run_tool([self.img, 'check', '-f', fmt,
                                   self.path(name)])
        check(rc == 0 and 'No errors were found' in out,
              '%s check %s:' % (os.path.basename(self.img), name), rc, out)
        rc, out = qmplib.run_tool([self.img, 'info', '-f', fmt,
                                   '--output=json', self.path(name)])
        check(rc == 0 and not json.loads(out).get('dirty-flag'),
              '%s is dirty' % name, out)

    def img_same(self, a, fa, b, fb):
        rc, out = qmplib.run_tool([self.img, 'compare', '-f', fa, '-F', fb,
                                   self.path(a), self.path(b)])
        check(rc == 0, 'compare %s %s:' % (a, b), rc, out)


def wait_exit(proc, timeout=20.0):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Fail('daemon did not exit within %.0f s' % timeout)


def read_to_eof(client, timeout=20.0):
    """Every message until the daemon closes the connection."""
    deadline = time.monotonic() + timeout
    out = []
    while True:
        left = deadline - time.monotonic()
        check(left > 0, 'connection still open after %.0f s' % timeout)
        try:
            out.append(client.read_line(left))
        except (EOFError, ConnectionResetError):
            # qemu-storage-daemon sometimes resets rather than closes.
            return out


def quit_daemon(p, quitter, reader, what):
    """quit sent over @quitter succeeds, then @reader (the stdio client)
    gets no more output before EOF and the daemon @p exits 0.  @what
    names the case in the failure messages."""
    r = quitter.cmd('quit')
    check(r == {'return': {}}, '%s: quit' % what, r)
    rest = read_to_eof(reader, 10)
    check(rest == [], '%s: output after quit' % what, rest)
    rc = wait_exit(p)
    check(rc == 0, '%s: exit status' % what, rc)


def job_seq(events, job):
    """@job's statuses and block job events, in order."""
    seq = []
    for e in events:
        d = e.get('data', {})
        if e.get('event') == 'JOB_STATUS_CHANGE' and d.get('id') == job:
            seq.append(d['status'])
        elif e.get('event', '').startswith('BLOCK_JOB') and \
                job in (d.get('device'), d.get('id')):
            seq.append(e['event'])
    return seq


def write_raw(path):
    qmplib.write_random_image(path, SIZE, 4711,
                              ((0, 5 * MiB), (6 * MiB, 2 * MiB)))


# The cases.  Each checks what it must and returns what is compared.

def case_stdio(env):
    sock, pidf = env.path('s.sock'), env.path('s.pid')
    p, c = qmplib.start_stdio_daemon(
        env.popen, ['--chardev', 'stdio,id=io', '--monitor', 'chardev=io',
                    '--pidfile', pidf] + env.sock_args(sock))
    s = None
    try:
        g = c.greeting()
        check('version' in g['QMP'], 'greeting over stdout', g)
        r = c.cmd('query-version')
        check('error' in r and r['error']['class'] == 'CommandNotFound',
              'before negotiation', r)
        r = c.cmd('qmp_capabilities')
        check(r == {'return': {}}, 'qmp_capabilities over stdio', r)
        v = c.cmd('query-version')
        check(set(v.get('return', {})) == {'qemu', 'package'},
              'query-version over stdio', v)
        s = qmplib.QmpClient(sock)
        s.negotiate()
        # A job started over stdio: events reach both monitors.
        r = c.cmd('blockdev-create', {'job-id': 'c0', 'options': {
            'driver': 'file', 'filename': env.path('new.raw'),
            'size': MiB}})
        check(r == {'return': {}}, 'blockdev-create over stdio', r)
        qmplib.wait_job_status(c, 'c0', 'concluded')
        qmplib.wait_job_status(s, 'c0', 'concluded')
        r = c.cmd('job-dismiss', {'id': 'c0'})
        check(r == {'return': {}}, 'job-dismiss', r)
        qmplib.wait_job_status(c, 'c0', 'null')
        qmplib.wait_job_status(s, 'c0', 'null')
        seq_c, seq_s = job_seq(c.events, 'c0'), job_seq(s.events, 'c0')
        check(seq_c == seq_s == ['created', 'running', 'waiting', 'pending',
                                 'concluded', 'null'],
              'create events', seq_c, seq_s)
        check(os.path.getsize(env.path('new.raw')) == MiB, 'new.raw size')
        # End of input: the daemon stays (as QEMU's, it keeps stdout open
        # until it exits) and serves its other monitor.
        c.close_input()
        r = s.cmd('query-version')
        check('return' in r, 'socket monitor after stdin EOF', r)
        check(p.poll() is None, 'daemon exited at end of stdin')
        quit_daemon(p, s, c, 'quit over the socket after end of input')
        check(not os.path.exists(pidf), 'pid file left behind')
        if env.emblock:
            check(not os.path.exists(sock), 'socket left behind')
    finally:
        c.close()
        if s:
            s.close()
        qmplib.kill_proc(p)

    # quit over stdio itself
    p, c = qmplib.start_stdio_daemon(
        env.popen, ['--chardev', 'stdio,id=io', '--monitor', 'chardev=io'])
    try:
        c.negotiate()
        quit_daemon(p, c, c, 'quit over stdio')
    finally:
        c.close()
        qmplib.kill_proc(p)
    return {'events': seq_c}


def case_pidfile(env):
    pidf, sock = env.path('p.pid'), env.path('p.sock')
    with open(pidf, 'w') as f:
        f.write('999999999999\n')          # stale and longer than ours
    p = env.popen(['--pidfile', pidf] + env.sock_args(sock))
    try:
        c = qmplib.QmpClient(sock)        # connected: start-up is over
        c.negotiate()
        with open(pidf) as f:
            text = f.read()
        check(text == '%d\n' % p.pid, 'pid file content', text, p.pid)
        rc, out, err = env.run(['--pidfile', pidf])
        check(rc == 1 and out == '', 'second daemon on the pid file', rc,
              out, err)
        msg = env.norm(err.strip())
        check(msg == 'PROG: cannot create PID file: Cannot lock pid file: '
              'Resource temporarily unavailable', 'locked pid file', msg)
        with open(pidf) as f:
            check(f.read() == text, 'pid file changed by the second daemon')
        p.send_signal(signal.SIGTERM)
        rest = read_to_eof(c)
        check(rest == [], 'output at SIGTERM', rest)
        rc = wait_exit(p)
        check(rc == 0, 'exit status', rc)
        check(not os.path.exists(pidf), 'pid file left behind')
        c.close()
    finally:
        qmplib.kill_proc(p)
    return {'lock-message': msg}


def case_daemonize(env):
    pidf, sock = env.path('d.pid'), env.path('d.sock')
    write_raw(env.path('d.raw'))
    t0 = time.monotonic()
    # A relative file name: opened before the daemon leaves its cwd.
    rc, out, err = env.run(['--daemonize', '--pidfile', pidf,
                            '--blockdev',
                            'driver=file,node-name=d,filename=d.raw'] +
                           env.sock_args(sock))
    check(rc == 0 and out == '' and err == '', 'parent', rc, out, err)
    check(time.monotonic() - t0 < 10, 'parent took too long')
    # The parent returned: start-up is complete.
    check(os.path.exists(sock), 'no socket when the parent exited')
    check(os.path.exists(pidf), 'no pid file when the parent exited')
    with open(pidf) as f:
        pid = int(f.read())
    reaped = False
    try:
        try:
            os.kill(pid, 0)
        except OSError:
            raise Fail('the daemon (pid %d) is not running' % pid) from None
        c = qmplib.QmpClient(sock)
        c.negotiate()
        nodes = c.cmd('query-named-block-nodes')['return']
        check([n['node-name'] for n in nodes] == ['d'] and
              nodes[0]['image']['virtual-size'] == SIZE, 'node d', nodes)
        r = c.cmd('quit')
        check(r == {'return': {}}, 'quit', r)
        read_to_eof(c)
        c.close()
        # We are a child subreaper: the orphaned daemon is ours to reap.
        deadline = time.monotonic() + 20
        while True:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                reaped = True
                break
            check(time.monotonic() < deadline, 'daemon did not exit')
            time.sleep(0.02)
    finally:
        if not reaped:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          'daemon exit status', status)
    check(not os.path.exists(pidf), 'pid file left behind')
    check(not os.path.exists(sock), 'socket left behind')

    # Failure during start-up: reported, parent exits 1, nothing left.
    if os.path.exists(sock):
        os.unlink(sock)         # qemu-storage-daemon leaves it
    rc, out, err = env.run(['--daemonize', '--pidfile', pidf] +
                           env.sock_args(sock) +
                           ['--blockdev', 'driver=file,node-name=x,'
                            'filename=missing.raw'])
    msg = env.norm(err.strip())
    check(rc == 1 and out == '' and "Could not open 'missing.raw'" in msg,
          'daemonize with a bad --blockdev', rc, out, err)
    check(not os.path.exists(pidf), 'pid file after failed start')
    if env.emblock:
        check(not os.path.exists(sock), 'socket after failed start')
    reap_orphans()
    return {'failure': msg}


def reap_orphans():
    """Reap daemons (or their intermediate processes) that were
    orphaned to us, so that no zombie outlives its case."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            wpid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if wpid == 0:
            time.sleep(0.02)


def case_blockdev(env):
    sock = env.path('b.sock')
    for name in ('j.raw', 'k.raw', 'r.raw'):
        write_raw(env.path(name))
    rc, out = qmplib.run_tool([env.img, 'convert', '-f', 'raw', '-O',
                               'qcow2', env.path('j.raw'),
                               env.path('j.qcow2')])
    check(rc == 0, 'convert', out)
    json_opts = {'driver': 'qcow2', 'node-name': 'jq', 'read-only': True,
                 'file': {'driver': 'file', 'node-name': 'jf',
                          'filename': env.path('j.qcow2')}}
    args = ['--blockdev', json.dumps(json_opts),
            '--blockdev', 'driver=raw,node-name=kr,file.driver=file,'
            'file.node-name=kf,file.filename=%s,cache.no-flush=on,'
            'discard=unmap,detect-zeroes=unmap' % env.path('k.raw'),
            '--blockdev', 'file,node-name=rf,filename=r.raw,read-only=on',
            '--blockdev', '{"driver": "raw", "node-name": "rr", '
            '"file": "rf", "read-only": true}',
            '--blockdev', 'node-name=nul,driver=null-co,size=4096'] + \
        env.sock_args(sock)
    p = env.popen(args)
    try:
        c = qmplib.QmpClient(sock)
        c.negotiate()
        r = c.cmd('query-named-block-nodes')
        nodes = {n['node-name']: n for n in r['return']}
        check(sorted(nodes) == ['jf', 'jq', 'kf', 'kr', 'nul', 'rf', 'rr'],
              'nodes', sorted(nodes))
        jq, kr, rr = nodes['jq'], nodes['kr'], nodes['rr']
        check(jq['drv'] == 'qcow2' and jq['ro'] and
              jq['image']['virtual-size'] == SIZE and
              jq['image']['format'] == 'qcow2', 'jq', jq)
        check(nodes['jf']['drv'] == 'file' and nodes['jf']['ro'], 'jf',
              nodes['jf'])
        check(kr['drv'] == 'raw' and not kr['ro'] and
              kr['cache']['no-flush'] and kr['detect_zeroes'] == 'unmap' and
              nodes['kf']['cache']['no-flush'], 'kr', kr, nodes['kf'])
        check(rr['drv'] == 'raw' and rr['ro'] and nodes['rf']['ro'] and
              rr['image']['virtual-size'] == SIZE, 'rr', rr)
        check(nodes['nul']['drv'] == 'null-co' and
              nodes['nul']['image']['virtual-size'] == 4096, 'nul',
              nodes['nul'])
        shape = qmplib.shape(known_fixups(r['return'], env.emblock), None,
                             FACTS)
        r = c.cmd('quit')
        check(r == {'return': {}}, 'quit', r)
        read_to_eof(c)
        c.close()
        rc = wait_exit(p)
        check(rc == 0, 'exit status', rc)
    finally:
        qmplib.kill_proc(p)
    env.img_ok('j.qcow2')
    return {'nodes': shape}


BAD = [
    (['--bogus'], "PROG: unrecognized option '--bogus'"),
    (['--monitor'], "PROG: option '--monitor' requires an argument"),
    (['stray'], 'PROG: stray: Unexpected argument'),
    (['--blockdev', 'driver=nosuch,node-name=x'],
     "PROG: --blockdev driver=nosuch,node-name=x: Parameter 'driver' does "
     "not accept value 'nosuch'"),
    (['--blockdev', '{"driver": "file"'],
     'PROG: --blockdev {"driver": "file": JSON parse error, premature EOI'),
    (['--blockdev', 'driver=file,node-name=x'],
     "PROG: --blockdev driver=file,node-name=x: Parameter 'filename' is "
     "missing"),
    (['--blockdev', '{"driver": "file", "filename": "x.raw"}'],
     'PROG: --blockdev {"driver": "file", "filename": "x.raw"}: '
     "'node-name' must be specified for the root node"),
    (['--blockdev', 'driver=file,node-name=x,filename=x.raw,bogus=1'],
     'PROG: --blockdev driver=file,node-name=x,filename=x.raw,bogus=1: '
     "Parameter 'bogus' is unexpected"),
    (['--blockdev', 'driver=file,node-name=x,filename=missing.raw'],
     'PROG: --blockdev driver=file,node-name=x,filename=missing.raw: '
     "Could not open 'missing.raw': No such file or directory"),
    (['--blockdev', 'driver=file,node-name=x,filename=x.raw',
      '--blockdev', 'driver=file,node-name=x,filename=x.raw'],
     'PROG: --blockdev driver=file,node-name=x,filename=x.raw: '
     "Duplicate nodes with node-name='x'"),
    (['--monitor', 'chardev=nope'],
     'PROG: --monitor chardev=nope: chardev "nope" not found'),
    (['SOCKET', '--monitor', 'chardev=nope'],
     'PROG: --monitor chardev=nope: chardev "nope" not found'),
    (['--chardev', 'bogus,id=x'],
     "PROG: --chardev bogus,id=x: 'bogus' is not a valid char driver name"),
    (['--daemonize', '--chardev', 'stdio,id=x'],
     'PROG: --chardev stdio,id=x: cannot use stdio with -daemonize'),
    (['--pidfile', 'DIR/no/such/dir/x.pid'],
     "PROG: cannot create PID file: Could not create "
     "'DIR/no/such/dir/x.pid': No such file or directory"),
]


def case_bad(env):
    sock, pidf = env.path('bad.sock'), env.path('bad.pid')
    with open(env.path('x.raw'), 'wb') as f:
        f.truncate(MiB)
    seen = []
    for args, want in BAD:
        argv = []
        for a in args:
            if a == 'SOCKET':
                argv += ['--chardev', 'socket,id=c0,path=%s,server=on,'
                         'wait=off' % sock, '--monitor', 'chardev=c0']
            else:
                argv.append(a.replace('DIR', env.wd))
        if '--pidfile' not in argv:
            argv = ['--pidfile', pidf] + argv
        rc, out, err = env.run(argv)
        msg = env.norm(err.strip())
        check(rc == 1 and out == '' and msg == want,
              'bad options %r:' % args, rc, out, msg)
        check(not os.path.exists(pidf), 'pid file after %r' % args)
        if env.emblock:
            check(not os.path.exists(sock), 'socket after %r' % args)
        elif os.path.exists(sock):
            os.unlink(sock)      # qemu-storage-daemon leaves it
        seen.append(msg)
    reap_orphans()
    return {'messages': seen}


def case_signals(env):
    result = {}
    write_raw(env.path('sig.raw'))
    for signame in ('SIGTERM', 'SIGINT'):
        sig = getattr(signal, signame)
        src, dst = 'src-%s.qcow2' % signame, 'dst-%s.qcow2' % signame
        sock, pidf = env.path('%s.sock' % signame), env.path('%s.pid' %
                                                              signame)
        rc, out = qmplib.run_tool([env.img, 'convert', '-f', 'raw', '-O',
                                   'qcow2', env.path('sig.raw'),
                                   env.path(src)])
        check(rc == 0, 'convert', out)
        rc, out = qmplib.run_tool([env.img, 'create', '-f', 'qcow2',
                                   env.path(dst), str(SIZE)])
        check(rc == 0, 'create', out)
        p = env.popen(['--pidfile', pidf,
                       '--blockdev', 'driver=qcow2,node-name=src,'
                       'file.driver=file,file.filename=%s' % src,
                       '--blockdev', json.dumps({
                           'driver': 'qcow2', 'node-name': 'dst',
                           'file': {'driver': 'file', 'filename': dst}})] +
                      env.sock_args(sock))
        try:
            c = qmplib.QmpClient(sock)
            c.negotiate()
            # A concluded job, never dismissed (blockdev-create's are not
            # dismissed automatically): shutdown dismisses it.
            r = c.cmd('blockdev-create', {'job-id': 'c0', 'options': {
                'driver': 'file', 'filename': env.path('c-%s.raw' % signame),
                'size': MiB}})
            check(r == {'return': {}}, 'blockdev-create', r)
            qmplib.wait_job_status(c, 'c0', 'concluded')
            # With auto-dismiss=false (SIGINT) the cancelled mirror ends
            # concluded, and shutdown dismisses it too.
            r = c.cmd('blockdev-mirror', {
                'job-id': 'job0', 'device': 'src', 'target': 'dst',
                'sync': 'full', 'speed': SPEED, 'buf-size': BUF_SIZE,
                'auto-dismiss': signame == 'SIGTERM'})
            check(r == {'return': {}}, 'blockdev-mirror', r)
            qmplib.wait_job_status(c, 'job0', 'running')
            # Some data copied and the next request waiting: mid-job.
            deadline = time.monotonic() + 10
            while True:
                j = c.cmd('query-block-jobs')['return'][0]
                if j['offset'] > 0:
                    break
                check(time.monotonic() < deadline, 'no progress', j)
                time.sleep(0.02)
            check(not j['ready'] and j['offset'] < SIZE, 'mid-job', j)
            p.send_signal(sig)
            rest = read_to_eof(c)
            check(all('event' in m for m in rest), 'replies after signal',
                  rest)
            c.events += rest
            rc = wait_exit(p)
            check(rc == 0, '%s: exit status' % signame, rc)
            seq = job_seq(c.events, 'job0')
            # QEMU's drain before the cancel (see KNOWN at the top).
            if seq[2:4] == ['paused', 'running']:
                KNOWN.append('%s: "paused", "running" before "aborting"' %
                             signame)
                del seq[2:4]
            check(seq == ['created', 'running', 'aborting',
                          'BLOCK_JOB_CANCELLED', 'concluded', 'null'],
                  '%s: job events' % signame, seq)
            cseq = job_seq(c.events, 'c0')
            check(cseq == ['created', 'running', 'waiting', 'pending',
                           'concluded', 'null'],
                  '%s: a concluded job must be dismissed at exit' % signame,
                  cseq)
            ev = [e for e in c.events if e['event'] ==
                  'BLOCK_JOB_CANCELLED'][0]['data']
            check(ev['type'] == 'mirror' and ev['speed'] == SPEED and
                  0 < ev['offset'] < ev['len'] <= SIZE,
                  'BLOCK_JOB_CANCELLED data', ev)
            check(not os.path.exists(sock), '%s: socket left' % signame)
            check(not os.path.exists(pidf), '%s: pid file left' % signame)
            c.close()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        env.img_ok(src)
        env.img_ok(dst)
        env.img_same('sig.raw', 'raw', src, 'qcow2')
        result[signame] = [seq, cseq]
    return result


CASES = [case_stdio, case_pidfile, case_daemonize, case_blockdev, case_bad,
         case_signals]


def run_all(binary, workdir, emblock, img):
    results = {}
    for case in CASES:
        d = os.path.join(workdir, case.__name__[5:])
        os.mkdir(d)
        t = time.monotonic()
        try:
            results[case.__name__] = case(Env(binary, d, emblock, img))
        except (Fail, qmplib.QmpTimeout, EOFError, OSError, KeyError,
                ValueError, IndexError, subprocess.TimeoutExpired) as e:
            traceback.print_exc(file=sys.stdout)
            raise Fail('%s, %s: %s: %s' % (os.path.basename(binary),
                                           case.__name__, type(e).__name__,
                                           e)) from None
        print('  %-16s ok (%.1f s)' % (case.__name__[5:],
                                       time.monotonic() - t))
    return results


def main():
    signal.alarm(110)           # never outlive meson's timeout
    # Daemonized processes are orphaned to us, not to init: we reap them.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:       # PR_SET_CHILD_SUBREAPER
        print('FAIL: cannot become a child subreaper')
        return 1
    emblock = os.path.abspath(sys.argv[1])
    qemu, qemu_img, img = qmplib.comparison_tools(
        emblock, sys.argv[2] if len(sys.argv) > 2 else None)

    def body(top):
        print('emblock-storage-daemon:')
        os.mkdir(os.path.join(top, 'emblock'))
        er = run_all(emblock, os.path.join(top, 'emblock'), True, img)
        if qmplib.skip_comparison(qemu, qemu_img):
            return 77
        print('qemu-storage-daemon:')
        os.mkdir(os.path.join(top, 'qemu'))
        qr = run_all(qemu, os.path.join(top, 'qemu'), False, img)
        ok = True
        for name in er:
            if er[name] != qr[name]:
                print('%s differs:\n  emblock %s\n  qemu    %s' %
                      (name, json.dumps(er[name], sort_keys=True),
                       json.dumps(qr[name], sort_keys=True)))
                ok = False
        for k in sorted(set(KNOWN)):
            print('known difference (qemu-storage-daemon): %s' % k)
        if not ok:
            return 1
        print('PASS: emblock-storage-daemon agrees with qemu-storage-daemon')
        return 0

    return qmplib.run_in_tempdir('daemon-options-', body, Fail)


if __name__ == '__main__':
    sys.exit(main())
