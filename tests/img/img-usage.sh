#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# emblock-img's command line: version, dispatch, usage errors and their
# exit status, every command's help.
. "$(dirname "$0")/common.sh"

run --version | sed 's/version [0-9.]*/version X/'
run
run foo
run --bogus
run info
run info a b
run info -z x.raw
run info --output
run info --output=xml x.raw
run map --start-offset=abc x.raw
run map --max-length=-5 x.raw
run compare x.raw
run convert x.raw
run check
run resize x.raw
run create --help
run map -h
for cmd in info compare convert check bench resize measure; do
    run "$cmd" --help
done
