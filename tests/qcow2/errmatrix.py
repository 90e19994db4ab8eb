#!/usr/bin/env python3
# qcow2 error-path matrix, after QEMU's iotest 026.
#
# Every case takes a copy of a baseline image (written and flushed before
# any fault), puts a blkdebug node between qcow2 and the file with one
# inject-error rule {event, errno 5|28, once on|off, immediately on|off},
# runs one operation through emblock-io, and then requires:
#   - no crash or hang; the operation either fails with an error or, when
#     the fault never hit it, succeeds with all of its data in place;
#   - no corrupt bit, and 0 corruptions from both emblock-img check and
#     qemu-img check, which must agree on corruptions and leaks.  A
#     lazy-refcounts image left dirty may show refcount errors (recorded);
#     then a read-write open must repair it and both checks must pass;
#   - the baseline reads back (emblock-io read -P, and qemu-io read -P when
#     installed), and every cluster the operation touched holds either its
#     old or its new contents (emblock-img convert, compared by
#     qemu-img compare as a second judge);
#   - for a subset, emblock-img check -r leaks leaves an image that both
#     checkers call clean and whose data is unchanged.
# The result line of every case is compared with errmatrix.out:
#   op=ok | COMMAND:ERRNO[xN][+...] | exit=STATUS   what emblock-io reported
#   dirty errors=E/Q leaks=E/Q   left dirty (lazy refcounts): refcount
#                    errors and leaks from emblock-img / qemu-img check
#   leaks=E/Q        clean image: leaks from emblock-img / qemu-img check
#   new=N/M          of the M clusters the operation touched, N hold its
#                    data (the others hold their old data)
#   repaired=N       leaks fixed by emblock-img check -r leaks
# Without qemu-img the Q counts read '-' (in the golden too).
#
# usage: errmatrix.py [-o ACTUAL_OUTPUT] [-j JOBS] [-k] [--every-event]
#                     [CASE_FILTER]
#   -k keeps the work directory; --every-event also runs the events listed
#   as unreachable (to confirm that list); a filter (a substring of the
#   case name) or --every-event skips the comparison with the golden.
#   env: EMBLOCK_IMG, EMBLOCK_IO (default: build/ in the source tree),
#   QEMU_IMG, QEMU_IO (default: PATH; set empty to run without),
#   ERRMATRIX_TMPDIR (default: /dev/shm if writable)
# Exit status 0 when every case passes and the output matches the golden.
import concurrent.futures
import difflib
import errno as errno_mod
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, 'errmatrix.out')

# Geometry: 512-byte clusters, 16-bit refcounts.  A refcount block then
# covers 256 clusters (128 KiB of file) and the one-cluster refcount table
# 64 blocks (8 MiB), so a filler that brings the file close to 8 MiB makes
# the allocating write need a new refcount block and then a larger table.
CS = 512
L2_SPAN = CS // 8 * CS                 # guest bytes one L2 table maps

# Baseline, written and flushed before the fault: (offset, length,
# pattern, compressed).  Only the allocating write, which can reach the
# refcount structures' growth, gets the filler.
A_OFF, A_LEN = 0, 16 << 10             # never touched by an operation
T_OFF, T_LEN = 16 << 10, 8 << 10       # target of zero writes and discards
C_OFF = 24 << 10                       # one compressed cluster
F_OFF, F_LEN = 1 << 20, 7856 << 10     # filler: file ends 152 KiB before 8 MiB
BASELINE = [
    (A_OFF, A_LEN, 0xa5, False),
    (T_OFF, T_LEN, 0xb6, False),
    (C_OFF, CS, 0xc3, True),
]
FILLER = (F_OFF, F_LEN, 0x11, False)


def baseline(op):
    return BASELINE + [FILLER] if op == 'write' else BASELINE


def image_size(filler):
    """Virtual size: past the filler, else small (cheap to compare)."""
    return 9 << 20 if filler else 1 << 20


NEW = 0x5a
W_OFF = C_OFF + CS // 2                # starts inside the compressed cluster
W_LEN = 200 << 10                      # 7 new L2 tables, ends mid-cluster
Z_OFF, Z_LEN = T_OFF, 48 << 10         # T, the compressed cluster, holes
CW_OFF, CW_LEN = 2 * L2_SPAN, 2 * CS   # compressed, in a new L2 table

# name: (emblock-io commands, offset, length, contents on success:
# pattern or 0).  Writes are flushed by the default cache mode
# (writethrough); a discard is not, so a flush follows it.
OPS = {
    'write': (['write -P 0x%x %d %d' % (NEW, W_OFF, W_LEN)], W_OFF, W_LEN,
              NEW),
    'cwrite': (['write -c -P 0x%x %d %d' % (NEW, CW_OFF, CW_LEN)], CW_OFF,
               CW_LEN, NEW),
    'zero': (['write -z %d %d' % (Z_OFF, Z_LEN)], Z_OFF, Z_LEN, 0),
    'zero-unmap': (['write -z -u %d %d' % (Z_OFF, Z_LEN)], Z_OFF, Z_LEN, 0),
    'discard': (['discard %d %d' % (Z_OFF, Z_LEN), 'flush'], Z_OFF, Z_LEN,
                0),
}

EVENTS = [
    'l1_update', 'l2_load', 'l2_update', 'l2_alloc_write', 'refblock_load',
    'refblock_update', 'refblock_alloc', 'refblock_alloc_write',
    'reftable_grow', 'cluster_alloc', 'cluster_alloc_bytes', 'cow_read',
    'cow_write', 'write_aio', 'flush_to_disk',
]

# Events an operation never reaches (confirmed with --every-event: no
# such case fails), left out.  Only the allocating write copies on write
# (from the compressed cluster) or writes new clusters' data, and only
# it, with the filler, grows the refcount structures; only compressed
# writes allocate bytes; the compressed write goes to a new L2 table;
# a discard neither allocates nor changes L1.  read_aio is not listed:
# it fires for guest reads only.
ALLOC_ONLY = {'refblock_alloc', 'refblock_alloc_write', 'reftable_grow',
              'cow_read', 'cow_write', 'write_aio'}
UNREACHABLE = {
    'write': {'cluster_alloc_bytes'},
    'cwrite': ALLOC_ONLY | {'l2_load'},
    'zero': ALLOC_ONLY | {'cluster_alloc_bytes'},
    'zero-unmap': ALLOC_ONLY | {'cluster_alloc_bytes'},
    'discard': ALLOC_ONLY | {'cluster_alloc_bytes', 'cluster_alloc',
                             'l2_alloc_write', 'l1_update'},
}

ERRNO_NAMES = {5: 'EIO', 28: 'ENOSPC'}
STRERROR = {os.strerror(e): errno_mod.errorcode[e]
            for e in errno_mod.errorcode}


def cases(every_event=False):
    """All cases in golden order: (op, event, errno, once, imm, lazy);
    with @every_event, also those of UNREACHABLE."""
    out = []
    for op in OPS:
        for event in EVENTS:
            if event in UNREACHABLE[op] and not every_event:
                continue
            for err in (5, 28):
                for once in (True, False):
                    for lazy in (False, True):
                        out.append((op, event, err, once, False, lazy))
    # immediately=on for the allocating write, where most events happen
    for event in EVENTS:
        if event in UNREACHABLE['write']:
            continue
        for once in (True, False):
            out.append(('write', event, 5, once, True, False))
    return out


def case_name(c):
    op, event, err, once, imm, lazy = c
    return '%s %s %s once=%s imm=%s lazy=%s' % (
        op, event, ERRNO_NAMES[err], 'on' if once else 'off',
        'on' if imm else 'off', 'on' if lazy else 'off')


# Representative cases that also get a leak repair.
def repair_subset(c):
    op, event, err, once, imm, lazy = c
    return err == 5 and not imm and not lazy and event in (
        'l2_update', 'refblock_update', 'cluster_alloc', 'write_aio',
        'cow_write', 'reftable_grow', 'refblock_alloc', 'flush_to_disk')


class Tools:
    def __init__(self):
        build = os.path.join(HERE, '..', '..', 'build', 'tools')
        self.eimg = (os.environ.get('EMBLOCK_IMG') or
                     os.path.join(build, 'img', 'emblock-img'))
        self.eio = (os.environ.get('EMBLOCK_IO') or
                    os.path.join(build, 'emblock-io'))
        # QEMU_IMG= / QEMU_IO= (empty) run without that tool.
        self.qimg = os.environ.get('QEMU_IMG', shutil.which('qemu-img'))
        self.qio = os.environ.get('QEMU_IO', shutil.which('qemu-io'))


def run(cmd, timeout=60):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, 'TIMEOUT after %d s: %s' % (timeout, ' '.join(cmd))
    return p.returncode, p.stdout.decode(errors='replace')


def crashed(rc, out):
    """A tool died by a signal or a sanitizer, or hung."""
    return (rc is None or rc < 0 or rc >= 128 or 'Sanitizer' in out or
            'runtime error:' in out or 'Assertion' in out)


def header_flags(path):
    """(dirty, corrupt) from the incompatible feature bits."""
    with open(path, 'rb') as f:
        hdr = f.read(80)
    incompat = struct.unpack('>Q', hdr[72:80])[0]
    return bool(incompat & 1), bool(incompat & 2)


def check(tool, img, extra=()):
    """Run TOOL check --output=json; return (dict, error message)."""
    rc, out = run([tool, 'check', '--output=json'] + list(extra) + [img])
    if crashed(rc, out):
        return None, '%s check crashed (rc %s): %s' % (tool, rc, out[-2000:])
    start = out.find('{')
    try:
        res = json.loads(out[start:]) if start >= 0 else None
    except ValueError:
        res = None
    if res is None:
        return None, '%s check rc %s, no JSON: %s' % (tool, rc, out[-2000:])
    res['rc'] = rc
    for k in ('corruptions', 'leaks', 'check-errors',
              'corruptions-fixed', 'leaks-fixed'):
        res.setdefault(k, 0)
    return res, None


def baseline_model(op):
    data = bytearray(image_size(op == 'write'))
    for off, length, pat, _ in baseline(op):
        data[off:off + length] = bytes([pat]) * length
    return data


def op_model(base, op):
    _, off, length, pat = OPS[op]
    new = bytearray(base)
    new[off:off + length] = bytes([pat]) * length
    return new


def read_cmds(op):
    """read -P commands for the baseline outside the operation's range
    (the filler is left to the comparison of the whole disk)."""
    _, ooff, olen, _ = OPS[op]
    cmds = []
    for off, length, pat, _ in BASELINE:
        end = off + length
        for a, b in ((off, min(end, ooff)), (max(off, ooff + olen), end)):
            if a < b:
                cmds += ['-c', 'read -q -P 0x%x %d %d' % (pat, a, b - a)]
    return cmds


def blkdebug_opts(img, cfg):
    return json.dumps({'driver': 'qcow2', 'file': {
        'driver': 'blkdebug', 'config': cfg,
        'image': {'driver': 'file', 'filename': img}}})


def make_base(t, tmp, lazy, filler):
    """Create and fill a baseline image; return its path."""
    img = os.path.join(tmp, 'base-lazy-%s%s.qcow2' %
                       ('on' if lazy else 'off', '-filler' if filler else ''))
    rc, out = run([t.eimg, 'create', '-q', '-f', 'qcow2', '-o',
                   'cluster_size=%d,lazy_refcounts=%s' %
                   (CS, 'on' if lazy else 'off'), img,
                   str(image_size(filler))])
    if rc != 0:
        raise RuntimeError('create failed: ' + out)
    cmds = []
    for off, length, pat, comp in BASELINE + ([FILLER] if filler else []):
        cmds += ['-c', 'write -q %s-P 0x%x %d %d' %
                 ('-c ' if comp else '', pat, off, length)]
    rc, out = run([t.eio, '-f', 'qcow2'] + cmds + ['-c', 'flush', img])
    if rc != 0 or out.strip():
        raise RuntimeError('baseline write failed: ' + out)
    for tool in (t.eimg, t.qimg):
        if tool:
            res, err = check(tool, img)
            if err or res['rc'] != 0:
                raise RuntimeError('baseline image not clean: %s %s'
                                   % (err, res))
    return img


def compare_data(raw, base, new, op, op_ok):
    """Problems found comparing the raw dump with the models, and the
    number of touched clusters holding new data."""
    with open(raw, 'rb') as f:
        got = f.read()
    if len(got) != len(base):
        return ['raw dump is %d bytes, expected %d' % (len(got),
                                                       len(base))], 0
    _, off, length, _ = OPS[op]
    c0, c1 = off // CS, (off + length + CS - 1) // CS
    problems = []
    if got[:c0 * CS] != base[:c0 * CS]:
        problems.append('baseline changed before the operation range')
    if got[c1 * CS:] != base[c1 * CS:]:
        problems.append('baseline changed after the operation range')
    nnew = 0
    for c in range(c0, c1):
        s = slice(c * CS, (c + 1) * CS)
        if got[s] == new[s]:
            nnew += 1
        elif got[s] != base[s]:
            problems.append('cluster at %d holds neither old nor new data'
                            % (c * CS))
            break
    if op_ok and nnew != c1 - c0:
        problems.append('operation succeeded but only %d of %d clusters '
                        'hold its data' % (nnew, c1 - c0))
    return problems, nnew


def op_result(rc, out):
    """The operation's outcome: 'ok', or COMMAND:ERRNO_NAME for each
    message 'COMMAND failed: STRERROR' (xN when repeated), joined with
    '+'; a failed flush
    prints nothing (as in qemu-io) and shows as exit=STATUS."""
    errs = []
    for line in out.splitlines():
        if ' failed: ' in line:
            cmd, msg = line.split(' failed: ', 1)
            errs.append('%s:%s' % (cmd.strip(),
                                   STRERROR.get(msg.strip(), msg.strip())))
    if rc != 0 and not errs:
        errs.append('exit=%d' % rc)
    runs = []
    for e in errs:
        if runs and runs[-1][0] == e:
            runs[-1][1] += 1
        else:
            runs.append([e, 1])
    return '+'.join(e if n == 1 else '%sx%d' % (e, n)
                    for e, n in runs) or 'ok'


def run_case(t, tmp, bases, c, idx):
    """Run one case; return (golden line, list of failures)."""
    op, event, err, once, imm, lazy = c
    d = os.path.join(tmp, 'case%d' % idx)
    os.mkdir(d)
    img = os.path.join(d, 't.qcow2')
    raw = os.path.join(d, 't.raw')
    cfg = os.path.join(d, 'blkdebug.cfg')
    shutil.copyfile(bases[lazy, op == 'write'], img)
    with open(cfg, 'w') as f:
        f.write('[inject-error]\nevent = "%s"\nerrno = "%d"\nonce = "%s"\n'
                'immediately = "%s"\n' % (event, err, 'on' if once else 'off',
                                          'on' if imm else 'off'))
    fails = []
    fields = []

    cmds = []
    for cmd in OPS[op][0]:
        cmds += ['-c', cmd]
    rc, out = run([t.eio, '--image-opts'] + cmds + [blkdebug_opts(img, cfg)])
    if crashed(rc, out):
        return case_name(c) + ': CRASH', ['emblock-io: rc %s\n%s'
                                          % (rc, out[-3000:])]
    res = op_result(rc, out)
    fields.append('op=' + res)

    dirty, corrupt = header_flags(img)
    if corrupt:
        fails.append('image marked corrupt')
    if dirty and not lazy:
        fails.append('dirty bit set without lazy refcounts')

    def both_checks(stage):
        results = {}
        for name, tool in (('emblock', t.eimg), ('qemu', t.qimg)):
            if not tool:
                continue
            r, e = check(tool, img)
            if e:
                fails.append('%s: %s' % (stage, e))
                return None
            if r['check-errors']:
                fails.append('%s: %s check could not complete: %s'
                             % (stage, name, r))
            results[name] = r
        if 'qemu' in results:
            for k in ('corruptions', 'leaks'):
                if results['emblock'][k] != results['qemu'][k]:
                    fails.append('%s: emblock-img and qemu-img disagree on '
                                 '%s: %d vs %d' % (stage, k,
                                                   results['emblock'][k],
                                                   results['qemu'][k]))
        return results

    def counts(results, key):
        return '%d/%s' % (results['emblock'][key],
                          results['qemu'][key] if 'qemu' in results else '-')

    results = both_checks('after the operation')
    if results is None:
        return case_name(c) + ': FAIL', fails
    if dirty:
        # Lazy refcounts: refcounts of a dirty image may lag behind.
        fields.append('dirty errors=%s leaks=%s' %
                      (counts(results, 'corruptions'),
                       counts(results, 'leaks')))
    else:
        for n, r in results.items():
            if r['corruptions']:
                fails.append('%s check: %d corruptions' %
                             (n, r['corruptions']))
        fields.append('leaks=' + counts(results, 'leaks'))

    if dirty:
        # A read-write open repairs the image, printing what it fixes.
        rc, out = run([t.eio, '-f', 'qcow2', '-c', 'flush', img])
        if crashed(rc, out) or rc != 0:
            fails.append('repair on open: rc %s\n%s' % (rc, out[-2000:]))
        if any(header_flags(img)):
            fails.append('still dirty or corrupt after a read-write open')
        results = both_checks('after the repair on open')
        if results is None:
            return case_name(c) + ': FAIL', fails
        for n, r in results.items():
            if r['corruptions'] or r['leaks']:
                fails.append('%s check after the repair on open: %d '
                             'corruptions, %d leaks' %
                             (n, r['corruptions'], r['leaks']))

    rc, out = run([t.eio, '-f', 'qcow2'] + read_cmds(op) + [img])
    if crashed(rc, out) or rc != 0 or out.strip():
        fails.append('emblock-io read -P of the baseline: rc %s\n%s'
                     % (rc, out[-2000:]))

    base = baseline_model(op)
    rc, out = run([t.eimg, 'convert', '-f', 'qcow2', '-O', 'raw', img, raw])
    if rc != 0:
        fails.append('emblock-img convert: rc %s\n%s' % (rc, out[-2000:]))
    else:
        problems, nnew = compare_data(raw, base, op_model(base, op), op,
                                      res == 'ok')
        fails += problems
        _, off, length, _ = OPS[op]
        fields.append('new=%d/%d' % (nnew, (off + length + CS - 1) // CS -
                                     off // CS))
        if t.qimg:
            rc, out = run([t.qimg, 'compare', '-f', 'qcow2', '-F', 'raw',
                           img, raw])
            if rc != 0:
                fails.append('qemu-img compare with emblock\'s dump: rc %s\n'
                             '%s' % (rc, out[-2000:]))
    if t.qio:
        rc, out = run([t.qio, '-r', '-f', 'qcow2'] + read_cmds(op) + [img])
        if rc != 0 or out.strip():
            fails.append('qemu-io read -P of the baseline: rc %s\n%s'
                         % (rc, out[-2000:]))

    if repair_subset(c):
        r, e = check(t.eimg, img, ['-r', 'leaks'])
        if e or r['rc'] != 0:
            fails.append('check -r leaks: %s %s' % (e, r))
        else:
            fields.append('repaired=%d' % r['leaks-fixed'])
            after = both_checks('after check -r leaks')
            for n, r2 in (after or {}).items():
                if r2['corruptions'] or r2['leaks'] or r2['rc'] != 0:
                    fails.append('%s check after -r leaks: %s' % (n, r2))
            rc, out = run([t.eio, '-r', '-f', 'qcow2'] + read_cmds(op) +
                          [img])
            if rc != 0 or out.strip():
                fails.append('baseline after check -r leaks: %s' % out)
            # The repair changes no data.
            raw2 = raw + '.repaired'
            rc, out = run([t.eimg, 'convert', '-f', 'qcow2', '-O', 'raw',
                           img, raw2])
            with open(raw, 'rb') as f1, open(raw2, 'rb') as f2:
                if rc != 0 or f1.read() != f2.read():
                    fails.append('data changed by check -r leaks %s' % out)

    line = case_name(c) + ': ' + ' '.join(fields)
    if fails:
        line += ' FAIL'
    else:
        shutil.rmtree(d)
    return line, fails


def main():
    args = sys.argv[1:]
    actual_path, jobs, keep, filt, every = None, 2, False, None, False
    while args:
        a = args.pop(0)
        if a == '-o':
            actual_path = args.pop(0)
        elif a == '-j':
            jobs = int(args.pop(0))
        elif a == '-k':
            keep = True
        elif a == '--every-event':
            every = True
        else:
            filt = a
    t = Tools()
    for tool in (t.eimg, t.eio):
        if not os.access(tool, os.X_OK):
            print('errmatrix: %s not found (set EMBLOCK_IMG and EMBLOCK_IO)'
                  % tool)
            return 1
    t0 = time.time()
    if not t.qimg:
        print('errmatrix: qemu-img not installed: only emblock-img checks')
    if not t.qio:
        print('errmatrix: qemu-io not installed: only emblock-io reads')
    # Every write is flushed (emblock-io's default cache mode is
    # writethrough): on tmpfs the flushes cost nothing.
    tmpdir = os.environ.get('ERRMATRIX_TMPDIR')
    if not tmpdir and os.access('/dev/shm', os.W_OK):
        tmpdir = '/dev/shm'
    tmp = tempfile.mkdtemp(prefix='emblock-errmatrix.', dir=tmpdir)
    # A timeout's SIGTERM still removes the work directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    all_cases = cases(every)
    todo = [(i, c) for i, c in enumerate(all_cases)
            if not filt or filt in case_name(c)]
    lines = [None] * len(all_cases)
    nfail = 0
    try:
        bases = {(lazy, filler): make_base(t, tmp, lazy, filler)
                 for lazy in (False, True) for filler in (False, True)}
        with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
            futs = {ex.submit(run_case, t, tmp, bases, c, i): i
                    for i, c in todo}
            for fut in concurrent.futures.as_completed(futs):
                i = futs[fut]
                line, fails = fut.result()
                lines[i] = line
                if fails:
                    nfail += 1
                    print('FAIL %s (files in %s)' %
                          (case_name(all_cases[i]),
                           os.path.join(tmp, 'case%d' % i)))
                    for f in fails:
                        print('    ' + f.replace('\n', '\n    '))
    finally:
        if not keep and not nfail:
            shutil.rmtree(tmp)
    actual = [l for l in lines if l is not None]
    if actual_path:
        with open(actual_path, 'w') as f:
            f.write('\n'.join(actual) + '\n')
    print('errmatrix: %d cases, %d failed, %.1f s'
          % (len(actual), nfail, time.time() - t0))
    ret = 1 if nfail else 0
    if filt is None and not every:
        try:
            with open(GOLDEN) as f:
                golden = f.read().splitlines()
        except FileNotFoundError:
            golden = []
        if not t.qimg:
            golden = [re.sub(r'\b(errors|leaks)=(\d+)/\d+', r'\1=\2/-', l)
                      for l in golden]
        diff = list(difflib.unified_diff(golden, actual, 'errmatrix.out',
                                         'actual', lineterm=''))
        if diff:
            print('errmatrix: output differs from the golden:')
            print('\n'.join(diff))
            ret = 1
    return ret


if __name__ == '__main__':
    sys.exit(main())
