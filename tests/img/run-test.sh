#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run one emblock-img test:  run-test.sh DIR/NAME.sh
#
# Golden tests (img-*.sh) pass when their output equals NAME.out; with
# UPDATE_GOLDEN=1 the output replaces NAME.out instead.  Cross-checks
# (xcheck-*.sh) pass on exit status 0 and print their differences
# otherwise.  Exit status 77 from a test means skipped, and is passed on.

set -u
test=$1
golden=${test%.sh}.out
actual=$(mktemp "${TMPDIR:-/tmp}/emblock-img-out.XXXXXX") || exit 1
trap 'rm -f "$actual"' EXIT

bash "$test" >"$actual" 2>&1
rc=$?
case "$(basename "$test")" in
xcheck-*)
    cat "$actual"
    exit $rc
    ;;
esac
if [ $rc -ne 0 ]; then
    cat "$actual"
    [ $rc -eq 77 ] && exit 77
    echo "FAIL: $test exited with status $rc"
    exit 1
fi
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$actual" "$golden"
    echo "updated $golden"
    exit 0
fi
if ! diff -u "$golden" "$actual"; then
    echo "FAIL: output of $test differs from $golden"
    exit 1
fi
