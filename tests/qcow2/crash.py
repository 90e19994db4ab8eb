#!/usr/bin/env python3
# qcow2 crash consistency: run emblock-io on a long random script of
# allocating writes, zero writes (-z, -z -u), discards and flushes, kill it
# with SIGKILL at a random moment, then
#   - emblock-img check and qemu-img check must report no corruption
#     (exit 0, or 3 = leaks only; with lazy_refcounts a dirty image may
#     report refcount errors, which the repair must fix),
#   - every write completed before the last completed flush must read back
#     (with cache=writethrough: every completed write),
#   - emblock-img check -r all must leave an image both checkers call clean.
#
# One run in four kills emblock-storage-daemon instead, while it mirrors a
# qcow2 source holding data onto a qcow2 or raw target (rate-limited or
# not, so the kill lands while the job copies or while it is ready) and
# the same kind of script is written to the source through x-blockdev-io;
# a command's QMP reply means it completed.  The source must check clean
# (leaks allowed) with every write before the last completed flush
# intact; a qcow2 target must check clean (its contents may be partial).
#
# usage: crash.py [BUILD_DIR]   env: EMBLOCK_IMG, EMBLOCK_IO, QEMU_IMG,
#        EMBLOCK_STORAGE_DAEMON (default: next to emblock-io),
#        EMBLOCK_CRASH_POINTS or CRASH_KILLS (kill points, default 200;
#        e.g. 2000 for a long run), CRASH_SEED, CRASH_BUDGET (s, default
#        240, or 1.2 s per point past 200: the runs stop there once at
#        least min(200, points) kill points are made)
#
# Commands completed are counted from emblock-io's prompt: in stdin mode it
# prints and flushes "qemu-io> " before reading each command, so N prompts
# on stdout mean that the first N-1 commands have completed.
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qmp'))
import qmplib  # noqa: E402

BLK = 4096
SIZE = 8 << 20
NBLK = SIZE // BLK
PROMPT = b'qemu-io> '


def tool(env, default):
    return os.environ.get(env) or default


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          **kw)


def make_script(rng, ncmds, cluster):
    """Return (commands, effects); effects[i] is None or (kind, blk0, nblk,
    pattern) with kind 'w' (data = pattern), 'z' (zero), 'u' (zero, may
    unmap), 'd' (zero or unchanged) or 'f' (flush)."""
    cmds, effects = [], []
    for _ in range(ncmds):
        r = rng.random()
        if r < 0.10:
            cmds.append('flush')
            effects.append(('f', 0, 0, 0))
            continue
        # mostly small, sometimes cluster-sized or multi-cluster requests
        if rng.random() < 0.7:
            nb = rng.randint(1, 4)
        else:
            nb = rng.choice([cluster // BLK, 2 * cluster // BLK,
                             rng.randint(1, 48)])
        nb = max(1, min(nb, NBLK))
        b0 = rng.randrange(0, NBLK - nb + 1)
        if r < 0.65:
            pat = rng.randint(1, 255)
            cmds.append('write -q -P %d %d %d' % (pat, b0 * BLK, nb * BLK))
            effects.append(('w', b0, nb, pat))
        elif r < 0.75:
            cmds.append('write -q -z %d %d' % (b0 * BLK, nb * BLK))
            effects.append(('z', b0, nb, 0))
        elif r < 0.85:
            cmds.append('write -q -z -u %d %d' % (b0 * BLK, nb * BLK))
            effects.append(('u', b0, nb, 0))
        else:
            cmds.append('discard -q %d %d' % (b0 * BLK, nb * BLK))
            effects.append(('d', b0, nb, 0))
    return cmds, effects


def expected_state(effects, ndone, writethrough, initial=None):
    """Per block: a set of allowed byte values, or None (unknown).
    @initial: each block's byte value before the script (default 0).
    Blocks durable at the crash point get the values established by the
    commands covered by the last completed flush; blocks touched by a
    later (possibly in-flight) command become unknown."""
    if writethrough:
        durable = ndone
    else:
        durable = 0
        for i in range(ndone):
            if effects[i][0] == 'f':
                durable = i + 1
    state = [{v} for v in (initial or [0] * NBLK)]
    for i in range(durable):
        k, b0, nb, pat = effects[i]
        for b in range(b0, b0 + nb):
            if k == 'w':
                state[b] = {pat}
            elif k in 'zu':
                state[b] = {0}
            elif k == 'd':
                if state[b] is not None:
                    state[b] = state[b] | {0}
    # everything issued afterwards may or may not have reached the disk.
    # A discard or unmapping zero write frees host clusters, which later
    # writes may reuse at once (as in QEMU); if the crash loses the L2
    # update of the discard but not the new data, the discarded range
    # shows another range's data: unflushed discards make it undefined.
    for i in range(durable, len(effects)):
        k, b0, nb, pat = effects[i]
        if k == 'f':
            continue
        for b in range(b0, b0 + nb):
            if k in 'du':
                state[b] = None
            elif state[b] is not None:
                if k == 'w':
                    state[b] = state[b] | {pat}
                else:
                    state[b] = state[b] | {0}
    return state, durable


def check_ok(out_rc, lazy_dirty):
    return out_rc in (0, 3) or (lazy_dirty and out_rc == 2)


def verify_image(img, raw, state, lazy_dirty, tools, stats, repair=True):
    """Checks 1-3 on a crashed qcow2 @img; None when it passes, else
    (message, output)."""
    eimg, eio, qimg = tools
    # 1. both checkers: no corruption
    r = run([eimg, 'check', '-f', 'qcow2', img])
    if not check_ok(r.returncode, lazy_dirty):
        return 'emblock-img check exit %d' % r.returncode, r.stdout
    stats['leaks_e'] += r.returncode == 3
    stats['errs_dirty'] += r.returncode == 2
    if qimg:
        r = run([qimg, 'check', '-f', 'qcow2', img])
        if not check_ok(r.returncode, lazy_dirty):
            return 'qemu-img check exit %d' % r.returncode, r.stdout
        stats['leaks_q'] += r.returncode == 3

    # 2. durable data reads back (read-only open, no repair yet)
    r = run([eimg, 'convert', '-f', 'qcow2', '-O', 'raw', img, raw])
    if r.returncode:
        return 'convert failed', r.stdout
    data = open(raw, 'rb').read()
    bad = []
    for b in range(NBLK):
        allowed = state[b]
        if allowed is None:
            continue
        blk = data[b * BLK:(b + 1) * BLK]
        v = blk[0]
        if blk.count(v) != BLK or v not in allowed:
            bad.append(b)
    stats['blocks'] += NBLK
    # the same through emblock-io read -P, for blocks with one possible
    # value (runs of equal value merged)
    reads = []
    b = 0
    while b < NBLK:
        if state[b] is not None and len(state[b]) == 1:
            v = next(iter(state[b]))
            e = b
            while e < NBLK and state[e] == {v}:
                e += 1
            reads.append('read -q -P %d %d %d' % (v, b * BLK, (e - b) * BLK))
            b = e
        else:
            b += 1
    if reads:
        args = [eio, '-r', '-f', 'qcow2']
        for c in reads:
            args += ['-c', c]
        r = run(args + [img])
        if r.returncode or b'verification failed' in r.stdout or \
                b'failed' in r.stdout:
            bad.append(-1)
            sys.stdout.write(r.stdout.decode(errors='replace')[:2000])
    if bad:
        return 'lost data in blocks %s' % bad[:10], b''
    if not repair:
        return None

    # 3. repair gives a clean image
    r = run([eimg, 'check', '-r', 'all', '-f', 'qcow2', img])
    if r.returncode not in (0,):
        return 'check -r all exit %d' % r.returncode, r.stdout
    r = run([eimg, 'check', '-f', 'qcow2', img])
    if r.returncode:
        return 'emblock-img check after repair exit %d' % r.returncode, \
            r.stdout
    if qimg:
        r = run([qimg, 'check', '-f', 'qcow2', img])
        if r.returncode:
            return 'qemu-img check after repair exit %d' % r.returncode, \
                r.stdout
    return None


def io_run(i, rng, tmp, tools, stats):
    """emblock-io on a script, killed at a random moment.  None or
    (message, output)."""
    eimg, eio, _ = tools
    img = os.path.join(tmp, 't.qcow2')
    lazy = i % 3 == 1
    writethrough = i % 4 == 3
    cluster = rng.choice([65536, 65536, 4096, 512 * 1024])
    if os.path.exists(img):
        os.unlink(img)
    opts = 'cluster_size=%d' % cluster
    if lazy:
        opts += ',lazy_refcounts=on'
    r = run([eimg, 'create', '-q', '-f', 'qcow2', '-o', opts, img, str(SIZE)])
    if r.returncode:
        return 'create failed', r.stdout
    cmds, effects = make_script(rng, 3000, cluster)
    with open(os.path.join(tmp, 'script'), 'w') as f:
        f.write('\n'.join(cmds) + '\n')
    cache = 'writethrough' if writethrough else 'writeback'
    with open(os.path.join(tmp, 'script'), 'rb') as fin, \
            open(os.path.join(tmp, 'out'), 'wb') as fout:
        p = subprocess.Popen([eio, '-f', 'qcow2', '-t', cache, img],
                             stdin=fin, stdout=fout, stderr=subprocess.STDOUT)
        # wait until the image is open (first prompt), so that the kill
        # lands in the I/O even on a loaded machine
        t0 = time.time()
        while time.time() - t0 < 5 and p.poll() is None:
            if os.path.getsize(fout.name) >= len(PROMPT):
                break
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.100))
        p.send_signal(signal.SIGKILL)
        p.wait()
    out = open(os.path.join(tmp, 'out'), 'rb').read()
    if p.returncode != -signal.SIGKILL:
        stats['finished'] += 1
        if p.returncode != 0:
            return 'emblock-io exited %d before the kill' % p.returncode, out
    else:
        stats['kills'] += 1
    if b'failed' in out:
        return 'a command failed', out
    ndone = max(0, out.count(PROMPT) - 1)
    if p.returncode == 0:
        ndone = len(cmds)
    state, durable = expected_state(effects, ndone, writethrough)
    stats['durable_cmds'] += durable

    hdr = open(img, 'rb').read(80)
    dirty = len(hdr) >= 80 and (hdr[79] & 1) == 1
    stats['dirty'] += dirty
    res = verify_image(img, os.path.join(tmp, 't.raw'), state, lazy and dirty,
                       tools, stats)
    if res:
        return ('%s (durable commands: %d of %d completed, cache=%s, '
                'lazy=%s)' % (res[0], durable, ndone, cache, lazy), res[1])
    return None


def mirror_run(i, rng, tmp, tools, daemon_bin, stats):
    """emblock-storage-daemon mirroring a qcow2 source that x-blockdev-io
    writes, killed at a random moment.  None or (message, output)."""
    eimg, _, qimg = tools
    src = os.path.join(tmp, 'm-src.qcow2')
    dst_fmt = 'qcow2' if i % 8 < 4 else 'raw'
    dst = os.path.join(tmp, 'm-dst.' + dst_fmt)
    init = os.path.join(tmp, 'm-init.raw')
    cluster = rng.choice([65536, 65536, 4096])
    for f in (src, dst, os.path.join(tmp, 'm-dst.qcow2'),
              os.path.join(tmp, 'm-dst.raw')):
        if os.path.exists(f):
            os.unlink(f)
    # the source's data: blocks of one byte value, about half of them
    initial = [0] * NBLK
    with open(init, 'wb') as f:
        f.truncate(SIZE)
        for b in range(NBLK):
            if rng.random() < 0.5:
                initial[b] = rng.randint(1, 255)
                f.seek(b * BLK)
                f.write(bytes([initial[b]]) * BLK)
    r = run([eimg, 'convert', '-f', 'raw', '-O', 'qcow2', '-o',
             'cluster_size=%d' % cluster, init, src])
    if r.returncode:
        return 'convert of the source failed', r.stdout
    if dst_fmt == 'qcow2':
        r = run([eimg, 'create', '-q', '-f', 'qcow2', dst, str(SIZE)])
        if r.returncode:
            return 'create of the target failed', r.stdout
    else:
        with open(dst, 'wb') as f:
            f.truncate(SIZE)
    cmds, effects = make_script(rng, 2000, cluster)
    with open(os.path.join(tmp, 'script'), 'w') as f:
        f.write('\n'.join(cmds) + '\n')

    daemon = qmplib.Daemon(daemon_bin, tmp)
    c = None
    ndone = nsent = 0
    timer = None
    ready = False
    try:
        c = daemon.client()
        for node, fmt, path in (('src', 'qcow2', src), ('dst', dst_fmt, dst)):
            r = c.cmd('blockdev-add', {'driver': fmt, 'node-name': node,
                                       'file': {'driver': 'file',
                                                'filename': path}})
            if r != {'return': {}}:
                return 'blockdev-add %s: %r' % (node, r), b''
        # 4 MiB of data: about 2 s at 2 MiB/s, 0.5 s at 8, no time at 0
        r = c.cmd('blockdev-mirror', {
            'job-id': 'job0', 'device': 'src', 'target': 'dst',
            'sync': 'full', 'speed': rng.choice([0, 2 << 20, 8 << 20])})
        if r != {'return': {}}:
            return 'blockdev-mirror: %r' % r, b''
        timer = threading.Timer(rng.uniform(0.0, 0.300),
                                daemon.proc.send_signal, [signal.SIGKILL])
        timer.start()
        for cmd in cmds:
            nsent += 1
            r = c.cmd('x-blockdev-io', {'node-name': 'src', 'command': cmd})
            out = r.get('return')
            if not isinstance(out, str) or 'failed' in out or \
                    'error' in out.lower():
                return 'x-blockdev-io %r: %r' % (cmd, r), b''
            ndone += 1
    except (EOFError, OSError, qmplib.QmpTimeout):
        pass
    finally:
        if timer:
            timer.join()
        if c:
            ready = any(e['event'] == 'BLOCK_JOB_READY' for e in c.events)
            c.close()
        daemon.kill()
    if daemon.proc.returncode != -signal.SIGKILL:
        return 'the daemon exited %r before the kill' % \
            daemon.proc.returncode, open(daemon.log.name, 'rb').read()
    stats['kills'] += 1
    stats['mirror_kills'] += 1
    stats['mirror_ready'] += ready
    stats['mirror_io_cmds'] += ndone

    state, durable = expected_state(effects[:nsent], ndone, False, initial)
    stats['durable_cmds'] += durable
    res = verify_image(src, os.path.join(tmp, 't.raw'), state, False, tools,
                       stats, repair=False)
    if res:
        return ('source: %s (durable commands: %d of %d completed, mirror '
                'ready: %s)' % (res[0], durable, ndone, ready), res[1])
    if dst_fmt == 'qcow2':
        for checker in [eimg] + ([qimg] if qimg else []):
            r = run([checker, 'check', '-f', 'qcow2', dst])
            if r.returncode not in (0, 3):
                return 'target: %s check exit %d' % (
                    os.path.basename(checker), r.returncode), r.stdout
    return None


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    eimg = tool('EMBLOCK_IMG', os.path.join(build, 'tools/img/emblock-img'))
    eio = tool('EMBLOCK_IO', os.path.join(build, 'tools/emblock-io'))
    qimg = tool('QEMU_IMG', shutil.which('qemu-img') or '')
    daemon_bin = tool('EMBLOCK_STORAGE_DAEMON', os.path.join(
        os.path.dirname(eio), 'emblock-storage-daemon'))
    kills = int(os.environ.get('EMBLOCK_CRASH_POINTS') or
                os.environ.get('CRASH_KILLS') or '200')
    need = min(200, kills)
    budget = float(os.environ.get('CRASH_BUDGET') or
                   max(240.0, 1.2 * kills))
    seed = int(os.environ.get('CRASH_SEED', str(int(time.time()))))
    tools = (eimg, eio, qimg)
    print('crash: seed %d (set CRASH_SEED to reproduce), %d kill points'
          % (seed, kills))
    if not qimg:
        print('crash: qemu-img not installed, checking with emblock-img only')
    if not os.access(daemon_bin, os.X_OK):
        print('crash: no emblock-storage-daemon at %s (set '
              'EMBLOCK_STORAGE_DAEMON): no mirror kill points' % daemon_bin)
        daemon_bin = None

    tmp = tempfile.mkdtemp(prefix='emblock-crash.')
    failures = 0
    stats = dict(kills=0, leaks_e=0, leaks_q=0, dirty=0, blocks=0,
                 durable_cmds=0, finished=0, errs_dirty=0, mirror_kills=0,
                 mirror_ready=0, mirror_io_cmds=0)
    t_start = time.time()

    lock = threading.Lock()
    next_run = [0]

    def worker(w):
        # Each worker has its own directory and statistics; run i uses
        # its own generator, so CRASH_SEED and i reproduce it alone.
        nonlocal failures
        wtmp = os.path.join(tmp, 'w%d' % w)
        wstats = dict.fromkeys(stats, 0)
        os.mkdir(wtmp)
        with lock:
            all_stats.append(wstats)
        while True:
            with lock:
                i = next_run[0]
                next_run[0] += 1
                done = sum(x['kills'] for x in all_stats)
                if i >= kills or failures > 5 or \
                        (time.time() - t_start > budget and done >= need):
                    break
            rng = random.Random(seed * 100003 + i)
            mirror = daemon_bin and i % 4 == 2
            if mirror:
                res = mirror_run(i, rng, wtmp, tools, daemon_bin, wstats)
                img = os.path.join(wtmp, 'm-src.qcow2')
            else:
                res = io_run(i, rng, wtmp, tools, wstats)
                img = os.path.join(wtmp, 't.qcow2')
            if res:
                with lock:
                    failures += 1
                    print('FAIL run %d (%s): %s' % (
                        i, 'mirror' if mirror else 'emblock-io', res[0]))
                    if res[1]:
                        sys.stdout.write(
                            res[1].decode(errors='replace')[-3000:])
                    keep = os.path.join(tmp, 'fail-%d.qcow2' % i)
                    if os.path.exists(img):
                        shutil.copy(img, keep)
                    shutil.copy(os.path.join(wtmp, 'script'),
                                keep + '.script')
                    print('   image kept: %s' % keep)

    all_stats = []
    try:
        # Two runs at a time: most of a run is waiting for tools.
        threads = [threading.Thread(target=worker, args=(w,))
                   for w in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for ws in all_stats:
            for k in stats:
                stats[k] += ws[k]
    finally:
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)

    print('crash: %d kill points survived (%d in a mirror: %d with the job '
          'ready, %d x-blockdev-io commands completed), %d runs finished '
          'before the kill, %.1f s'
          % (stats['kills'], stats['mirror_kills'], stats['mirror_ready'],
             stats['mirror_io_cmds'], stats['finished'],
             time.time() - t_start))
    print('crash: leaks seen by emblock-img check: %d runs, by qemu-img '
          'check: %d runs; dirty (lazy refcounts) images: %d, of which %d '
          'with refcount errors before repair'
          % (stats['leaks_e'], stats['leaks_q'], stats['dirty'],
             stats['errs_dirty']))
    print('crash: %d durable commands verified, %d blocks compared'
          % (stats['durable_cmds'], stats['blocks']))
    if failures:
        print('crash: %d failures (seed %d)' % (failures, seed))
        return 1
    if stats['kills'] < need:
        print('FAIL: %d kill points, fewer than %d' % (stats['kills'], need))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
