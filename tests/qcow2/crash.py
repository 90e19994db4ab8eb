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
# usage: crash.py [BUILD_DIR]   env: EMBLOCK_IMG, EMBLOCK_IO, QEMU_IMG,
#        CRASH_KILLS (default 200), CRASH_SEED, CRASH_BUDGET (s, default 150;
#        at least 50 kill points are made even past it)
#
# Commands completed are counted from emblock-io's prompt: in stdin mode it
# prints and flushes "qemu-io> " before reading each command, so N prompts
# on stdout mean that the first N-1 commands have completed.
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

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


def expected_state(effects, ndone, writethrough):
    """Per block: a set of allowed byte values, or None (unknown).
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
    state = [{0} for _ in range(NBLK)]
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


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    eimg = tool('EMBLOCK_IMG', os.path.join(build, 'tools/img/emblock-img'))
    eio = tool('EMBLOCK_IO', os.path.join(build, 'tools/emblock-io'))
    qimg = tool('QEMU_IMG', shutil.which('qemu-img') or '')
    kills = int(os.environ.get('CRASH_KILLS', '200'))
    budget = float(os.environ.get('CRASH_BUDGET', '150'))
    seed = int(os.environ.get('CRASH_SEED', str(int(time.time()))))
    rng = random.Random(seed)
    print('crash: seed %d (set CRASH_SEED to reproduce), %d kill points'
          % (seed, kills))
    if not qimg:
        print('crash: qemu-img not installed, checking with emblock-img only')

    tmp = tempfile.mkdtemp(prefix='emblock-crash.')
    img = os.path.join(tmp, 't.qcow2')
    raw = os.path.join(tmp, 't.raw')
    failures = 0
    stats = dict(kills=0, leaks_e=0, leaks_q=0, dirty=0, blocks=0,
                 durable_cmds=0, finished=0, errs_dirty=0)
    t_start = time.time()

    def fail(i, msg, out=b''):
        nonlocal failures
        failures += 1
        print('FAIL run %d: %s' % (i, msg))
        if out:
            sys.stdout.write(out.decode(errors='replace')[-3000:])
        keep = os.path.join(tmp, 'fail-%d.qcow2' % i)
        shutil.copy(img, keep)
        shutil.copy(os.path.join(tmp, 'script'), keep + '.script')
        print('   image kept: %s' % keep)

    try:
        for i in range(kills):
            if time.time() - t_start > budget and stats['kills'] >= 50:
                print('crash: time budget used up after %d runs' % i)
                break
            lazy = i % 3 == 1
            writethrough = i % 4 == 3
            cluster = rng.choice([65536, 65536, 4096, 512 * 1024])
            if os.path.exists(img):
                os.unlink(img)
            opts = 'cluster_size=%d' % cluster
            if lazy:
                opts += ',lazy_refcounts=on'
            r = run([eimg, 'create', '-q', '-f', 'qcow2', '-o', opts, img,
                     str(SIZE)])
            if r.returncode:
                fail(i, 'create failed', r.stdout)
                continue
            cmds, effects = make_script(rng, 3000, cluster)
            with open(os.path.join(tmp, 'script'), 'w') as f:
                f.write('\n'.join(cmds) + '\n')
            cache = 'writethrough' if writethrough else 'writeback'
            with open(os.path.join(tmp, 'script'), 'rb') as fin, \
                    open(os.path.join(tmp, 'out'), 'wb') as fout:
                p = subprocess.Popen([eio, '-f', 'qcow2', '-t', cache, img],
                                     stdin=fin, stdout=fout,
                                     stderr=subprocess.STDOUT)
                # wait until the image is open (first prompt), so that
                # the kill lands in the I/O even on a loaded machine
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
                    fail(i, 'emblock-io exited %d before the kill'
                         % p.returncode, out)
                    continue
            else:
                stats['kills'] += 1
            if b'failed' in out:
                fail(i, 'a command failed', out)
                continue
            ndone = max(0, out.count(PROMPT) - 1)
            if p.returncode == 0:
                ndone = len(cmds)
            state, durable = expected_state(effects, ndone, writethrough)
            stats['durable_cmds'] += durable

            hdr = open(img, 'rb').read(80)
            dirty = len(hdr) >= 80 and (hdr[79] & 1) == 1
            stats['dirty'] += dirty

            # 1. both checkers: no corruption
            r = run([eimg, 'check', '-f', 'qcow2', img])
            if not check_ok(r.returncode, lazy and dirty):
                fail(i, 'emblock-img check exit %d' % r.returncode, r.stdout)
                continue
            stats['leaks_e'] += r.returncode == 3
            stats['errs_dirty'] += r.returncode == 2
            if qimg:
                r = run([qimg, 'check', '-f', 'qcow2', img])
                if not check_ok(r.returncode, lazy and dirty):
                    fail(i, 'qemu-img check exit %d' % r.returncode, r.stdout)
                    continue
                stats['leaks_q'] += r.returncode == 3

            # 2. durable data reads back (read-only open, no repair yet)
            r = run([eimg, 'convert', '-f', 'qcow2', '-O', 'raw', img, raw])
            if r.returncode:
                fail(i, 'convert failed', r.stdout)
                continue
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
            # the same through emblock-io read -P, for blocks with one
            # possible value (runs of equal value merged)
            reads = []
            b = 0
            while b < NBLK:
                if state[b] is not None and len(state[b]) == 1:
                    v = next(iter(state[b]))
                    e = b
                    while e < NBLK and state[e] == {v}:
                        e += 1
                    reads.append('read -q -P %d %d %d' % (v, b * BLK,
                                                        (e - b) * BLK))
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
                fail(i, 'lost data in blocks %s (durable commands: %d of %d '
                     'completed, cache=%s, lazy=%s)' % (bad[:10], durable,
                                                        ndone, cache, lazy))
                continue

            # 3. repair gives a clean image
            r = run([eimg, 'check', '-r', 'all', '-f', 'qcow2', img])
            if r.returncode not in (0,):
                fail(i, 'check -r all exit %d' % r.returncode, r.stdout)
                continue
            r = run([eimg, 'check', '-f', 'qcow2', img])
            if r.returncode:
                fail(i, 'emblock-img check after repair exit %d'
                     % r.returncode, r.stdout)
                continue
            if qimg:
                r = run([qimg, 'check', '-f', 'qcow2', img])
                if r.returncode:
                    fail(i, 'qemu-img check after repair exit %d'
                         % r.returncode, r.stdout)
                    continue
            if failures > 5:
                break
    finally:
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)

    print('crash: %d kill points survived, %d runs finished before the kill,'
          ' %.1f s' % (stats['kills'], stats['finished'],
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
    if stats['kills'] < min(50, kills):
        print('FAIL: too few kill points')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
