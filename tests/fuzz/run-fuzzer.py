#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run one libFuzzer target for a while and report what it did.

    run-fuzzer.py TARGET --corpus SEEDS [--regressions DIR] --max-len N
                  --work DIR

Fuzzes for $FUZZ_TIME seconds (default 10) with the sanitizers the target
was built with, a per-input timeout of $FUZZ_INPUT_TIMEOUT seconds
(default 60: wall time, and a shared machine may give a slow hostile image
a fifth of a core) and an RSS limit of $FUZZ_RSS_MB (default 2048).  New inputs
go to DIR/corpus (kept between runs; the seed corpus in the source tree is
only read), crashes to DIR/artifacts/.  The regression inputs run first.
Prints one line: executions, wall and CPU time, corpus size; on a crash,
the end of libFuzzer's output and the artifact's name, and exits 1.
$FUZZ_SEED=N fixes libFuzzer's random seed (make check's smoke run does).
$FUZZ_VERBOSE=1 keeps the target's own stderr and prints everything.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--regressions")
    ap.add_argument("--max-len", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()

    seconds = int(os.environ.get("FUZZ_TIME", "10"))
    verbose = os.environ.get("FUZZ_VERBOSE") == "1"
    name = os.path.basename(a.target)
    corpus = os.path.join(a.work, "corpus")
    artifacts = os.path.join(a.work, "artifacts") + "/"
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    if not os.path.isdir(a.corpus):
        print(f"{name}: seed corpus {a.corpus} missing")
        return 1

    cmd = [a.target,
           f"-max_total_time={seconds}",
           f"-max_len={a.max_len}",
           f"-timeout={os.environ.get('FUZZ_INPUT_TIMEOUT', '60')}",
           f"-rss_limit_mb={os.environ.get('FUZZ_RSS_MB', '2048')}",
           "-print_final_stats=1",
           f"-artifact_prefix={artifacts}",
           corpus, a.corpus]
    if os.environ.get("FUZZ_SEED"):
        cmd.insert(1, f"-seed={int(os.environ['FUZZ_SEED'])}")
    if not verbose:
        cmd.insert(1, "-close_fd_mask=2")
    if a.regressions and os.path.isdir(a.regressions):
        cmd.append(a.regressions)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       errors="replace")
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + \
          (after.ru_stime - before.ru_stime)
    out = p.stdout

    with open(os.path.join(a.work, "last-run.log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + out)
    stats = dict(re.findall(r"^stat::(\w+):\s*(\d+)", out, re.M))
    execs = int(stats.get("number_of_executed_units", "0"))
    ninputs = len(os.listdir(corpus))
    if verbose:
        print(out)
    print(f"{name}: {execs} executions in {wall:.1f} s wall, {cpu:.1f} s "
          f"CPU ({execs / max(wall, 0.001):.0f}/s), corpus {ninputs} new "
          f"inputs, peak RSS {stats.get('peak_rss_mb', '?')} MB")
    if p.returncode != 0:
        if not verbose:
            print("\n".join(out.splitlines()[-60:]))
        crash = re.findall(r"Test unit written to (\S+)", out)
        print(f"{name}: FAILED (exit {p.returncode})" +
              (f", input saved as {crash[-1]}" if crash else ""))
        return 1
    if execs == 0:
        print(f"{name}: FAILED, no input ran")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
