#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hostile input for emblock-storage-daemon's QMP server.
#
# The daemon serves a raw image (and a qcow2 image when qemu-img is
# installed) while clients send well over a thousand malformed or hostile
# messages: broken JSON, non-objects, bad envelopes, unknown commands and
# arguments, arguments of every wrong type, huge numbers, 1 MiB strings,
# deep nesting, a 17 MiB message, random bytes, fuzzed commands, several
# clients at once, clients that disconnect in the middle of a message or a
# command, and one that never reads its replies.
#
# Checked:
#   - every message that calls for a reply gets one, an error where one is
#     due (each probe is followed by a marker command; everything the
#     server says up to the marker's reply belongs to the probe);
#   - an observer client, connected throughout, gets every one of its
#     query-version replies within a few seconds;
#   - the daemon is alive at the end, `quit` ends it with status 0 and
#     removes its socket;
#   - the images are intact: the raw one has exactly the bytes written
#     before, the qcow2 one passes `qemu-img check` and reads back its data.
#
#   test-qmp-bad-input.py EMBLOCK_STORAGE_DAEMON

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

IMG_SIZE = 4 << 20
PATTERNS = ((0, 0xa5, 1 << 20), (2 << 20, 0x3c, 1 << 20))
MiB = 1 << 20


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


# ---- Probing ------------------------------------------------------------

class Prober:
    """A negotiated client whose every probe ends with a marker command."""

    def __init__(self, daemon, name, negotiate=True):
        self.c = daemon.client(negotiate)
        self.name = name
        self.n = 0
        self.sent = 0

    def probe(self, data, want='error', err_class=None, desc=None,
              timeout=20.0):
        """Send @data (bytes or str) and a marker; check what came back."""
        self.n += 1
        self.sent += 1
        marker = '%s-sync-%d' % (self.name, self.n)
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        self.c.send_raw(data + b'\n' +
                        json.dumps({'execute': 'query-version',
                                    'id': marker}).encode() + b'\n')
        got = []
        while True:
            r = self.c.reply(timeout)
            if r.get('id') == marker:
                expect('return' in r, 'marker failed: %r' % r)
                break
            got.append(r)
        errors = [r for r in got if 'error' in r]
        returns = [r for r in got if 'return' in r]
        what = '%s: %r -> %r' % (self.name, data[:120], got[:3])
        if want == 'error':
            expect(errors and not returns, 'expected an error: ' + what)
            e = errors[0]['error']
            expect(set(e) == {'class', 'desc'}, 'bad error: ' + what)
            if err_class:
                expect(e['class'] == err_class, 'wrong class: ' + what)
            if desc:
                expect(desc in e['desc'], 'wrong message: ' + what)
        elif want == 'return':
            expect(len(returns) == 1 and not errors,
                   'expected a return: ' + what)
        else:
            expect(got, 'expected a reply: ' + what)
        return got


class Observer(threading.Thread):
    """A client that keeps asking for the version and times the replies."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.c = daemon.client()
        self.stop = threading.Event()
        self.count = 0
        self.worst = 0.0
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                t0 = time.monotonic()
                r = self.c.cmd('query-version', id=self.count, timeout=10.0)
                if r.get('id') != self.count or 'return' not in r:
                    raise Failure('observer got %r' % r)
                self.worst = max(self.worst, time.monotonic() - t0)
                self.count += 1
                time.sleep(0.02)
        except Exception as e:      # reported by the main thread
            self.error = e


# ---- Message generators ---------------------------------------------------

BROKEN_JSON = [
    'not json', 'nul', 'TRUE', 'Infinity', 'NaN', 'undefined',
    '{"execute":"query-version",}', '{"execute" "query-version"}',
    '{"execute":"query-version"]', ']', '}', ',', ':', '[1,]', '[,1]',
    '{,}', '{"a"}', '{1:2}', '{"a"::1}', '{"a":}', '{"a":1 "b":2}',
    '{"a":"\\x"}', '{"a":"\\ud800"}', '{"a":"\\udc00"}',
    '{"a":"\\ud800\\u0041"}', '{"a":"\\u0000"}', '{"a":"\\u12"}',
    '{"a":01}', '{"a":.5}', '{"a":+1}', '{"a":1.}', '{"a":-}',
    '{"a":0x10}', '{"a":1e400}', '{"a":1e}', '{"a":--1}', '{"a":/*c*/1}',
    '{"a"://c\n1}', '{"a":1,"a":2}', '{"execute":"x","execute":"y"}',
    '{"a":"tab\there"}', '{"a":"nl\nhere"}', '{"a":"\x01"}',
    '\x00', '\x7f', '\xff\xfe', '#', '@', '(', '=', ';', '<>', '\\',
    "{'execute':'query-version',}", '[[]]]', '{}}', '{"a":[}]',
    '{"a":{]}', '{"execute":"query-version"]]',
]

NON_OBJECTS = ['[1,2]', '[]', '42', '-1', '3.5', '"str"', "'str'", 'null',
               'true', 'false', '[{"execute":"query-version"}]']

ENVELOPES = [
    ('{}', "lacks member 'execute'"),
    ('{"id":1}', "lacks member 'execute'"),
    ('{"execute":1}', "must be a string"),
    ('{"execute":null}', "must be a string"),
    ('{"execute":["query-version"]}', "must be a string"),
    ('{"execute":"query-version","arguments":[]}', "must be an object"),
    ('{"execute":"query-version","arguments":"x"}', "must be an object"),
    ('{"execute":"query-version","arguments":null}', "must be an object"),
    ('{"execute":"query-version","foo":1}', "is unexpected"),
    ('{"execute":"query-version","":1}', "is unexpected"),
    ('{"execute":"query-version","control":{}}', "is unexpected"),
    # Without the "oob" capability, exec-oob is unknown (as in QEMU).
    ('{"exec-oob":"query-version"}', "'exec-oob' is unexpected"),
    ('{"exec-oob":"query-version","execute":"query-version"}',
     "'exec-oob' is unexpected"),
    ('{"exec-oob":1}', "'exec-oob' is unexpected"),
    ('{"execute":"qmp_capabilities"}', "already complete"),
    ('{"execute":"qmp_capabilities","arguments":{"enable":["x"]}}',
     "does not accept value 'x'"),
]

# The same for a client that enabled OOB.
OOB_ENVELOPES = [
    ('{"exec-oob":"query-version"}', "does not support OOB"),
    ('{"exec-oob":"query-version","execute":"query-version"}', "clashes"),
    ('{"exec-oob":1}', "must be a string"),
    ('{"exec-oob":"query-version","foo":1}', "'foo' is unexpected"),
]

# Argument types of each command, to send every wrong one.
SCHEMAS = {
    'blockdev-del': {'node-name': 'str'},
    'query-named-block-nodes': {'flat': 'bool?'},
    'block-dirty-bitmap-add': {'node': 'str', 'name': 'str',
                               'granularity': 'uint?', 'persistent': 'bool?',
                               'disabled': 'bool?'},
    'block-dirty-bitmap-remove': {'node': 'str', 'name': 'str'},
    'block-dirty-bitmap-clear': {'node': 'str', 'name': 'str'},
    'blockdev-create': {'job-id': 'str', 'options': 'dict'},
    'blockdev-mirror': {'job-id': 'str?', 'device': 'str', 'target': 'str',
                        'replaces': 'str?', 'sync': 'enum',
                        'speed': 'int?', 'granularity': 'uint?',
                        'buf-size': 'int?', 'on-source-error': 'enum?',
                        'on-target-error': 'enum?',
                        'filter-node-name': 'str?', 'copy-mode': 'enum?',
                        'auto-finalize': 'bool?', 'auto-dismiss': 'bool?'},
    'job-pause': {'id': 'str'}, 'job-resume': {'id': 'str'},
    'job-cancel': {'id': 'str'}, 'job-complete': {'id': 'str'},
    'job-finalize': {'id': 'str'}, 'job-dismiss': {'id': 'str'},
    'x-query-mirror-stats': {'id': 'str'},
    'block-job-set-speed': {'device': 'str', 'speed': 'int'},
    'block-job-cancel': {'device': 'str', 'force': 'bool?'},
    'block-job-pause': {'device': 'str'},
    'block-job-resume': {'device': 'str'},
    'block-job-complete': {'device': 'str'},
    'x-blockdev-io': {'node-name': 'str', 'command': 'str'},
    'query-version': {}, 'query-commands': {}, 'query-jobs': {},
    'query-block-jobs': {},
}

VALID = {'str': 'no-such-node', 'int': 0, 'uint': 0, 'bool': False,
         'enum': 'full', 'dict': {'driver': 'raw'}}
WRONG = {
    'str': [1, 1.5, True, None, [], {}, ['a'], -2 ** 63],
    'int': ['1', 1.5, True, None, [], {}, 2 ** 64, 1e300, '0x10'],
    'uint': ['x', 1.5, True, None, [], {}, 2 ** 65, -2 ** 70],
    'bool': ['true', 1, 0, None, [], {}, 'on'],
    'enum': [1, None, [], {}, True, 'no-such-value', ''],
    'dict': ['x', 1, [], None, True],
}


def base_args(schema):
    return {k: VALID[t.rstrip('?')] for k, t in schema.items()
            if not t.endswith('?')}


def type_probes():
    """(message, expected desc fragment) for wrong types and names."""
    out = []
    for cmd, schema in SCHEMAS.items():
        for arg, t in schema.items():
            for v in WRONG[t.rstrip('?')]:
                args = base_args(schema)
                args[arg] = v
                out.append(({'execute': cmd, 'arguments': args}, None))
            if not t.endswith('?'):
                args = base_args(schema)
                del args[arg]
                out.append(({'execute': cmd, 'arguments': args},
                            "Parameter '%s' is missing" % arg))
        for extra in ('bogus', '', 'x' * 200):
            args = base_args(schema)
            args[extra] = 1
            out.append(({'execute': cmd, 'arguments': args},
                        'is unexpected'))
    return out


BLOCKDEV_ADD_BAD = [
    {}, {'driver': 1}, {'driver': None}, {'driver': 'nosuch'},
    {'driver': 'mirror_top', 'node-name': 'm'},
    {'driver': 'file', 'node-name': 'x'},
    {'driver': 'file', 'node-name': 'x', 'filename': 1},
    {'driver': 'file', 'node-name': 'x', 'filename': '/nonexistent/f'},
    {'driver': 'file', 'filename': '/dev/null'},
    {'driver': 'file', 'node-name': '1bad', 'filename': '/dev/null'},
    {'driver': 'file', 'node-name': '', 'filename': '/dev/null'},
    {'driver': 'file', 'node-name': 'x' * 100, 'filename': '/dev/null'},
    {'driver': 'file', 'node-name': 'img', 'filename': '/dev/null'},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'cache': 1},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'cache': {'direct': 'yes'}},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'cache': {'bogus': True}},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'read-only': 'on'},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'discard': 'sometimes'},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'detect-zeroes': 'unmap'},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'aio': 'magic'},
    {'driver': 'file', 'node-name': 'x', 'filename': '/dev/null',
     'bogus': 1},
    {'driver': 'raw', 'node-name': 'x'},
    {'driver': 'raw', 'node-name': 'x', 'file': 3},
    {'driver': 'raw', 'node-name': 'x', 'file': None},
    {'driver': 'raw', 'node-name': 'x', 'file': 'no-such-node'},
    {'driver': 'raw', 'node-name': 'x', 'file': {'driver': 'file'}},
    {'driver': 'raw', 'node-name': 'x',
     'file': {'driver': 'file', 'filename': 2}},
    {'driver': 'raw', 'node-name': 'x', 'file': {'driver': 'nosuch'}},
    {'driver': 'raw', 'node-name': 'x', 'offset': 'x', 'file': 'img'},
    {'driver': 'qcow2', 'node-name': 'x', 'file': 'img'},
    {'driver': 'null-co', 'node-name': 'x', 'size': -5},
    {'driver': 'null-co', 'node-name': 'x', 'size': 'big'},
    {'driver': 'null-co', 'node-name': 'x', 'read-zeroes': 3},
]


def nested_file(depth):
    opts = {'driver': 'file', 'filename': '/nonexistent/deep'}
    for _ in range(depth):
        opts = {'driver': 'raw', 'file': opts}
    opts['node-name'] = 'deep'
    return opts


def fuzz(rng, template):
    b = bytearray(template.encode())
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i]
        else:
            b.insert(i, rng.randrange(256))
    return bytes(b)


# ---- Test phases ------------------------------------------------------------

def phase_probes(daemon, rng):
    p = Prober(daemon, 'probe')
    for text in BROKEN_JSON:
        p.probe(text)
    for text in NON_OBJECTS:
        p.probe(text, desc='QMP input must be a JSON object')
    for text, desc in ENVELOPES:
        for i in range(3):
            msg = json.loads(text)
            if i:
                msg['id'] = [i, 'x'] if i == 2 else i
            got = p.probe(json.dumps(msg), desc=desc)
            if i:
                expect(got[0].get('id') == msg['id'],
                       'id not echoed: %r' % got)
    oob = Prober(daemon, 'oob', negotiate=False)
    oob.c.greeting()
    r = oob.c.cmd('qmp_capabilities', {'enable': ['oob']})
    expect(r == {'return': {}}, 'OOB negotiation: %r' % r)
    for text, desc in OOB_ENVELOPES:
        oob.probe(text, desc=desc)
    oob.c.close()
    for i in range(150):
        name = 'no-such-command-%d-%x' % (i, rng.getrandbits(32))
        p.probe(json.dumps({'execute': name, 'id': i}),
                err_class='CommandNotFound',
                desc='The command %s has not been found' % name)
    for msg, desc in type_probes():
        p.probe(json.dumps(msg), desc=desc)
    for opts in BLOCKDEV_ADD_BAD:
        p.probe(json.dumps({'execute': 'blockdev-add', 'arguments': opts}))
    p.probe(json.dumps({'execute': 'blockdev-add',
                        'arguments': nested_file(60)}))
    for cmd in ('job-pause', 'job-cancel', 'job-dismiss'):
        p.probe(json.dumps({'execute': cmd, 'arguments': {'id': 'nojob'}}),
                desc='Job not found')
    for cmd in ('block-job-pause', 'block-job-cancel', 'block-job-complete'):
        p.probe(json.dumps({'execute': cmd,
                            'arguments': {'device': 'nojob'}}),
                err_class='DeviceNotActive')
    return p


def phase_numbers(p):
    for v in ('1' + '0' * 30, '-' + '1' * 40, str(2 ** 64), str(2 ** 63),
              str(-2 ** 63 - 1), '1e308', '-1e308', '1e-400', '0.0',
              '-0', '123456789.123456789e-5'):
        p.probe('{"execute":"query-version","id":%s}' % v, want='return')
        p.probe('{"execute":"block-job-set-speed","arguments":'
                '{"device":"j","speed":%s}}' % v, want='any')
        p.probe('{"execute":"blockdev-mirror","arguments":{"job-id":"j",'
                '"device":"img","target":"img","sync":"full",'
                '"granularity":%s}}' % v)
    for v in ('1e400', '-1e999', '1' * 400):
        p.probe('{"execute":"query-version","id":%s}' % v,
                desc='number too large')
    # Long integers are numbers like others (QEMU makes them doubles).
    p.probe('{"execute":"query-version","id":%s}' % ('1' * 300),
            want='return')


def phase_big(p):
    big = 'x' * MiB
    got = p.probe(json.dumps({'execute': 'query-version', 'id': big}),
                  want='return')
    expect(got[0]['id'] == big, '1 MiB id not echoed')
    p.probe(json.dumps({'execute': big}), err_class='CommandNotFound')
    p.probe(json.dumps({'execute': 'blockdev-del',
                        'arguments': {'node-name': big}}))
    p.probe(json.dumps({'execute': 'block-dirty-bitmap-add',
                        'arguments': {'node': 'img', 'name': big}}),
            desc='Bitmap name too long')
    p.probe(json.dumps({'execute': 'x-blockdev-io',
                        'arguments': {'node-name': 'img',
                                      'command': 'bogus ' + big}}),
            want='return')
    p.probe(json.dumps({'execute': 'query-version',
                        'arguments': {big: big}}), desc='is unexpected')
    p.probe("{'execute':'query-version','id':'%s'}" % big, want='return')
    # Nesting: within the limit it parses, past it one error.
    deep = json.dumps({'execute': 'query-version',
                       'id': json.loads('[' * 500 + ']' * 500)})
    p.probe(deep, want='return')
    for depth in (1025, 2000, 100000):
        p.probe('[' * depth + ']' * depth,
                desc='JSON nesting depth limit exceeded')
    p.probe('{"execute":"query-version","arguments":' + '{"a":' * 1100 +
            '1' + '}' * 1101, desc='JSON nesting depth limit exceeded')
    p.probe('{"execute":"query-version","arguments":{"x":' + '[' * 1000 +
            ']' * 1000 + '}}', desc='is unexpected')
    # Larger than a message may be: one error, then back in step.
    p.probe('{"execute":"query-version","id":"' + 'y' * (17 * MiB) + '"}',
            desc='JSON token size limit exceeded', timeout=60)
    p.probe('[' + '"' + 'z' * MiB + '",' * 1 + '1,' * (9 * MiB) + '1]',
            desc='JSON token size limit exceeded', timeout=60)


def short_connection(daemon, data, read=False):
    """Connect, send @data, maybe glance at the reply, disconnect."""
    c = qmplib.QmpClient(daemon.path)
    try:
        c.greeting()
        c.send_raw(data)
        if read:
            try:
                c.read_line(0.05)
            except (qmplib.QmpTimeout, EOFError, ValueError):
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        c.close()


def phase_connections(daemon, rng):
    sent = 0
    for i in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096)))
        short_connection(daemon, data, read=i % 4 == 0)
        sent += 1
    templates = [
        '{"execute":"query-version","id":1}\n',
        '{"execute":"blockdev-del","arguments":{"node-name":"nope"}}\n',
        '{"execute":"x-blockdev-io","arguments":{"node-name":"img",'
        '"command":"read -P 0xa5 0 64k"}}\n',
        '{"execute":"query-named-block-nodes","arguments":{"flat":true}}\n',
        '{"execute":"block-dirty-bitmap-add","arguments":'
        '{"node":"nope","name":"b"}}\n',
    ]
    for i in range(150):
        data = b'{"execute":"qmp_capabilities"}\n' + \
            fuzz(rng, rng.choice(templates))
        short_connection(daemon, data, read=True)
        sent += 1
    # Gone in the middle of a message, and before reading a reply.
    partial = '{"execute":"blockdev-add","arguments":{"driver":"fi'
    for i in range(50):
        short_connection(daemon, partial[:rng.randint(1, len(partial))])
        sent += 1
    for i in range(20):
        short_connection(
            daemon, '{"execute":"qmp_capabilities"}\n'
            '{"execute":"x-blockdev-io","arguments":{"node-name":"img",'
            '"command":"read 0 4M"}}\n{"execute":"query-commands"}\n'
            '{"execute":"query-named-block-nodes"}\n')
        sent += 4
    # Never negotiated: every command but qmp_capabilities is refused.
    for i in range(20):
        c = qmplib.QmpClient(daemon.path)
        c.greeting()
        r = c.cmd('query-version', id=i)
        expect(r.get('error', {}).get('class') == 'CommandNotFound' and
               r.get('id') == i, 'not refused before negotiation: %r' % r)
        c.close()
        sent += 1
    # One that sends a lot and reads nothing.
    c = daemon.client()
    c.send_raw('{"execute":"query-commands"}\n' * 3000)
    time.sleep(0.5)
    c.close()
    sent += 3000
    return sent


def phase_clients(daemon, rng):
    errors = []

    def worker(k):
        try:
            p = Prober(daemon, 'client%d' % k)
            r = random.Random(k)
            for i in range(40):
                if r.random() < 0.5:
                    p.probe(r.choice(BROKEN_JSON))
                elif r.random() < 0.5:
                    p.probe(json.dumps({'execute': 'nope-%d' % i}),
                            err_class='CommandNotFound')
                else:
                    p.probe(json.dumps({'execute': 'x-blockdev-io',
                                        'arguments': {
                                            'node-name': 'img',
                                            'command': 'read -P 0xa5 0 1M'
                                        }}), want='return')
            p.c.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True)
               for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        expect(not t.is_alive(), 'a client thread hung')
    expect(not errors, 'client failed: %r' % errors[:1])
    return 8 * 40


# ---- Images -------------------------------------------------------------------

def make_raw(path):
    with open(path, 'wb') as f:
        f.truncate(IMG_SIZE)
        for off, byte, length in PATTERNS:
            f.seek(off)
            f.write(bytes([byte]) * length)


def raw_intact(path):
    with open(path, 'rb') as f:
        data = f.read()
    want = bytearray(IMG_SIZE)
    for off, byte, length in PATTERNS:
        want[off:off + length] = bytes([byte]) * length
    return data == bytes(want)


def make_qcow2(path):
    qemu_img = shutil.which('qemu-img')
    qemu_io = shutil.which('qemu-io')
    if not qemu_img or not qemu_io:
        return False
    subprocess.run([qemu_img, 'create', '-q', '-f', 'qcow2', path,
                    str(IMG_SIZE)], check=True, timeout=30)
    cmds = []
    for off, byte, length in PATTERNS:
        cmds += ['-c', 'write -q -P 0x%x %d %d' % (byte, off, length)]
    subprocess.run([qemu_io, '-f', 'qcow2'] + cmds + [path], check=True,
                   timeout=30)
    return True


def qcow2_intact(path):
    check = subprocess.run(['qemu-img', 'check', path],
                           capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        print(check.stdout + check.stderr)
        return False
    cmds = []
    for off, byte, length in PATTERNS:
        cmds += ['-c', 'read -q -P 0x%x %d %d' % (byte, off, length)]
    read = subprocess.run(['qemu-io', '-f', 'qcow2'] + cmds + [path],
                          capture_output=True, text=True, timeout=30)
    if read.returncode != 0 or 'fail' in read.stdout:
        print(read.stdout + read.stderr)
        return False
    return True


def main():
    signal.alarm(115)           # never outlive meson's timeout
    binary = os.path.abspath(sys.argv[1])
    rng = random.Random(20260701)
    workdir = tempfile.mkdtemp(prefix='qmp-bad-input-')
    raw = os.path.join(workdir, 'img.raw')
    qcow2 = os.path.join(workdir, 'img.qcow2')
    make_raw(raw)
    args = ['--blockdev', 'driver=file,node-name=img,filename=' + raw]
    have_qcow2 = make_qcow2(qcow2)
    if have_qcow2:
        args += ['--blockdev', json.dumps({
            'driver': 'qcow2', 'node-name': 'qimg',
            'file': {'driver': 'file', 'filename': qcow2}})]
    daemon = qmplib.Daemon(binary, workdir, args)
    observer = None
    try:
        observer = Observer(daemon)
        observer.start()
        p = phase_probes(daemon, rng)
        phase_numbers(p)
        phase_big(p)
        if have_qcow2:
            p.probe(json.dumps({'execute': 'x-blockdev-io', 'arguments': {
                'node-name': 'qimg', 'command': 'read -P 0x3c 2M 1M'}}),
                want='return')
        sent = p.sent
        sent += phase_connections(daemon, rng)
        sent += phase_clients(daemon, rng)
        observer.stop.set()
        observer.join(15)
        expect(not observer.is_alive(), 'observer hung')
        expect(observer.error is None, 'observer: %s' % observer.error)
        expect(daemon.alive(), 'daemon died')
        got = p.probe(json.dumps({'execute': 'x-blockdev-io', 'arguments': {
            'node-name': 'img', 'command': 'read -P 0xa5 0 1M'}}),
            want='return')
        expect('verification failed' not in got[0]['return'],
               'image data changed: %r' % got[0]['return'])
        r = p.c.cmd('quit')
        expect(r == {'return': {}}, 'quit: %r' % r)
        rc = daemon.wait(30)
        expect(rc == 0, 'daemon exited with %d' % rc)
        expect(not os.path.exists(daemon.path), 'socket left behind')
        expect(raw_intact(raw), 'raw image changed')
        if have_qcow2:
            expect(qcow2_intact(qcow2), 'qcow2 image damaged')
        expect(sent >= 1000, 'only %d messages sent' % sent)
        print('PASS: %d hostile messages, observer got %d replies '
              '(slowest %.2f s), images intact%s' %
              (sent, observer.count, observer.worst,
               '' if have_qcow2 else ' (no qemu-img: raw only)'))
        return 0
    except (Failure, qmplib.QmpTimeout, EOFError, OSError, ValueError) as e:
        print('FAIL: %s' % e)
        if not daemon.alive():
            print('daemon exit status %s' % daemon.proc.returncode)
        return 1
    finally:
        if observer:
            observer.stop.set()
        daemon.kill()
        log = os.path.join(workdir, os.path.basename(binary) + '.log')
        if os.path.exists(log):
            with open(log) as f:
                text = f.read()
            if text:
                print('daemon log:\n' + text[-4000:])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
