# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the QMP tests: start a storage daemon (emblock's or QEMU's)
# with a monitor on a unix socket, and talk to it.  Every wait has a
# timeout; nothing here can block forever.

import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback


class QmpTimeout(Exception):
    pass


class QmpClient:
    """One QMP connection.  Replies and events are read line by line."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QmpTimeout('cannot connect to %s' % path)
                time.sleep(0.05)
        self.buf = b''
        self.events = []
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data, timeout=30.0):
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        self.sock.settimeout(timeout)
        self.sock.sendall(data)

    def _recv(self, left):
        """Up to 1 MiB of input; None on timeout, b'' at end of input."""
        self.sock.settimeout(left)
        try:
            return self.sock.recv(1 << 20)
        except socket.timeout:
            return None

    def read_line(self, timeout=10.0):
        """The next line as a parsed object; QmpTimeout if none comes."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpTimeout('no reply within %.1f s' % timeout)
            data = self._recv(left)
            if data is None:
                continue
            if not data:
                self.eof = True
                raise EOFError('connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        try:
            return json.loads(line.decode('utf-8'))
        except ValueError as e:
            raise ValueError('%s in %r' % (e, line[:200])) from None

    def greeting(self, timeout=10.0):
        msg = self.read_line(timeout)
        assert 'QMP' in msg, msg
        return msg

    def reply(self, timeout=10.0):
        """The next reply; events met on the way are kept in .events."""
        while True:
            msg = self.read_line(timeout)
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, args=None, timeout=10.0, **extra):
        msg = {'execute': name}
        if args is not None:
            msg['arguments'] = args
        msg.update(extra)
        self.send_raw(json.dumps(msg) + '\n')
        return self.reply(timeout)

    def negotiate(self):
        self.greeting()
        r = self.cmd('qmp_capabilities')
        assert r == {'return': {}}, r

    def wait_event(self, name, timeout=30.0, match=None):
        """Wait for event @name (whose data matches @match, a dict)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                data = ev.get('data', {})
                if ev['event'] == name and \
                   all(data.get(k) == v for k, v in (match or {}).items()):
                    return ev
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpTimeout('no %s event within %.1f s' %
                                 (name, timeout))
            msg = self.read_line(left)
            if 'event' in msg:
                self.events.append(msg)
            else:
                raise AssertionError('unexpected reply %r' % msg)


class Daemon:
    """A storage daemon with one QMP socket in @workdir."""

    def __init__(self, binary, workdir, extra_args=(), sock_name='qmp.sock'):
        self.path = os.path.join(workdir, sock_name)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.log = open(os.path.join(workdir, os.path.basename(binary) +
                                     '.log'), 'w')
        self.proc = subprocess.Popen(
            [binary,
             '--chardev', 'socket,id=qmp0,path=%s,server=on,wait=off' %
             self.path,
             '--monitor', 'chardev=qmp0'] + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            cwd=workdir)

    def client(self, negotiate=True):
        c = QmpClient(self.path)
        if negotiate:
            c.negotiate()
        return c

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=30.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise QmpTimeout('daemon did not exit within %.1f s' % timeout)

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def write_source_image(path, size=20 << 20):
    """A raw image with recognisable data in a few places, sparse else."""
    with open(path, 'wb') as f:
        f.truncate(size)
        for off, byte, length in ((0, 0x11, 64 << 10),
                                  (8 << 20, 0x5a, 2 << 20),
                                  (size - (64 << 10), 0xee, 64 << 10)):
            f.seek(off)
            f.write(bytes([byte]) * length)


def files_equal(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        while True:
            x = fa.read(1 << 20)
            y = fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


# Added for test-qmp-commands and test-daemon-options.

def wait_job_status(client, job_id, status, timeout=30.0):
    """Wait for JOB_STATUS_CHANGE {id: @job_id, status: @status}."""
    return client.wait_event('JOB_STATUS_CHANGE', timeout=timeout,
                             match={'id': job_id, 'status': status})


class PipeQmpClient(QmpClient):
    """A QMP connection over a pair of pipes (a --chardev stdio monitor):
    @rfd is the daemon's stdout, @wfd its stdin."""

    def __init__(self, rfd, wfd):      # pylint: disable=super-init-not-called
        self.rfd = rfd
        self.wfd = wfd
        self.buf = b''
        self.events = []
        self.eof = False

    def close(self):
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.rfd = self.wfd = -1

    def close_input(self):
        """End of input for the daemon (it sees EOF on its stdin)."""
        if self.wfd >= 0:
            os.close(self.wfd)
            self.wfd = -1

    def send_raw(self, data, timeout=30.0):
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        deadline = time.monotonic() + timeout
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpTimeout('cannot send within %.1f s' % timeout)
            _, w, _ = select.select([], [self.wfd], [], left)
            if w:
                n = os.write(self.wfd, data[:65536])
                data = data[n:]

    def _recv(self, left):
        r, _, _ = select.select([self.rfd], [], [], left)
        if not r:
            return None
        return os.read(self.rfd, 1 << 20)


def qemu_tool(name, env=None):
    """The path of QEMU's @name (qemu-img, qemu-io, qemu-storage-daemon),
    from $@env or /usr/bin; None when it is not installed."""
    path = os.environ.get(env) if env else None
    path = path or os.path.join('/usr/bin', name)
    return path if os.access(path, os.X_OK) else None


def run_tool(argv, timeout=30.0):
    """Run a command; (exit status, stdout + stderr as text)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def shape(value, key=None, facts=(), filtered=None):
    """@value with the members named in @facts kept, those in @filtered
    (a dict) replaced by the given placeholder, file names reduced to
    their base name and every other scalar replaced by its type."""
    filtered = filtered or {}
    if key in filtered:
        return filtered[key]
    if isinstance(value, dict):
        return {k: shape(v, k, facts, filtered)
                for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v, None, facts, filtered) for v in value]
    if key in ('filename', 'file') and isinstance(value, str):
        return os.path.basename(value)
    if key in facts:
        return value
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number'
    if value is None:
        return 'null'
    return 'str'


# Shared by the test scripts: checks, processes, transcripts, main().

class Fail(Exception):
    """A check of a test script failed."""


def check(cond, what, *detail):
    """Raise Fail('@what detail...') unless @cond holds; each detail is
    appended as its repr."""
    if not cond:
        raise Fail(what + ''.join(' %r' % (d,) for d in detail))


def kill_proc(proc):
    """Kill @proc (a subprocess.Popen) if it still runs, and reap it;
    a process that has exited is left as it is."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def comparison_tools(emblock, qemu=None):
    """(qemu-storage-daemon, qemu-img, image tool) for a comparison run:
    QEMU's daemon is @qemu (given on the command line) or else found by
    qemu_tool(); qemu-img is found by qemu_tool() (None when missing);
    the image tool is qemu-img, or without it emblock-img from the build
    directory of @emblock (the path of emblock-storage-daemon)."""
    qemu = qemu or qemu_tool('qemu-storage-daemon', 'QEMU_STORAGE_DAEMON')
    qemu_img = qemu_tool('qemu-img', 'QEMU_IMG')
    img = qemu_img or os.path.join(os.path.dirname(emblock), 'img',
                                   'emblock-img')
    return qemu, qemu_img, img


def skip_comparison(qemu, qemu_img):
    """True, after printing the SKIP line, when there is nothing to
    compare with: @qemu (qemu-storage-daemon) is unset or not executable,
    or @qemu_img is unset.  False, printing nothing, otherwise."""
    if not qemu or not os.access(qemu, os.X_OK) or not qemu_img:
        print('SKIP: qemu-storage-daemon or qemu-img not installed, '
              'nothing to compare with')
        return True
    return False


def dump_transcript(title, replies, events):
    """Print a transcript: @replies as (command, reply) and @events as
    (event name, data) pairs, each value as sorted JSON."""
    print('--- %s' % title)
    for name, r in replies:
        print('  %-24s %s' % (name, json.dumps(r, sort_keys=True)))
    for name, d in events:
        print('  event %-18s %s' % (name, json.dumps(d, sort_keys=True)))


def transcripts_agree(er, ee, qr, qe):
    """Whether emblock's transcript (replies @er, events @ee) agrees with
    QEMU's (@qr, @qe): the same commands in the same order, equal replies
    past the first (the greeting, whose versions differ by design) and
    equal events.  Every difference found is printed."""
    ok = True
    if [n for n, _ in er] != [n for n, _ in qr]:
        print('different command sequences')
        ok = False
    for (n, a), (_, b) in zip(er[1:], qr[1:]):
        if a != b:
            print('reply to %s differs:\n  emblock %s\n  qemu    %s' %
                  (n, json.dumps(a, sort_keys=True),
                   json.dumps(b, sort_keys=True)))
            ok = False
    if ee != qe:
        print('events differ')
        ok = False
    return ok


def run_in_tempdir(prefix, body, errors, trace=False):
    """body(top) with @top a new temporary directory (named @prefix...)
    that is removed afterwards, whatever happens; body's result is
    returned.  An exception of a class in @errors is reported as a
    'FAIL: ...' line (with the traceback and the exception's class name
    when @trace) and gives 1; any other exception propagates."""
    top = tempfile.mkdtemp(prefix=prefix)
    try:
        return body(top)
    except errors as e:
        if trace:
            traceback.print_exc(file=sys.stdout)
            print('FAIL: %s: %s' % (type(e).__name__, e))
        else:
            print('FAIL: %s' % e)
        return 1
    finally:
        shutil.rmtree(top, ignore_errors=True)


def write_random_image(path, size, seed, extents):
    """A raw image @path of @size bytes: pseudo-random data from
    random.Random(@seed), drawn in order, in each (offset, length) of
    @extents, zeroes (a hole) elsewhere.  The same arguments always give
    the same bytes."""
    rnd = random.Random(seed)
    with open(path, 'wb') as f:
        f.truncate(size)
        for off, length in extents:
            f.seek(off)
            f.write(rnd.randbytes(length))


def start_stdio_daemon(popen, args):
    """Start a daemon whose QMP monitor is on its stdin/stdout:
    @popen(@args, stdin=..., stdout=...) (a callable taking Popen's
    keywords) is given the far ends of two new pipes, which are closed
    here once it has started.  Returns (the process, a PipeQmpClient on
    the near ends, not negotiated)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    p = popen(args, stdin=in_r, stdout=out_w)
    os.close(in_r)
    os.close(out_w)
    return p, PipeQmpClient(out_r, in_w)


class BinaryRun:
    """What one test run of a daemon @binary needs: its working
    directory @workdir (.wd, files named with .path()), whether the
    binary is emblock's (@emblock, else QEMU's) and the image tool @img
    (qemu-img, else emblock-img)."""

    def __init__(self, binary, workdir, emblock, img):
        self.binary = binary
        self.wd = workdir
        self.emblock = emblock
        self.img = img

    def path(self, name):
        """@name in the working directory."""
        return os.path.join(self.wd, name)
