#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sum up meson test logs: one line 'N passed, N failed, N skipped'.

Each meson test (one TAP program, iotest group, ...) counts once per build
it ran in.  An argument --skip=REASON counts one skipped test (a pass that
could not run here), and prints the reason.  Exit status 1 when anything
failed or no test ran.
"""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    if path.startswith("--skip="):
        print(f"skipped: {path[len('--skip='):]}")
        skipped += 1
        continue
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError as e:
        print(f"missing test log {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
