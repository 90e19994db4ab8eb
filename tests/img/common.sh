# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the emblock-img tests (sourced, not run).
#
# Every test runs in a fresh temporary directory and names its images
# relative to it, so no path shows in the output.  The environment (set
# by meson, see meson.build) names the programs:
#   EMBLOCK_IMG   the emblock-img under test
#   EMBLOCK_IO    emblock-io, to write data into images
#   QEMU_IMG      qemu-img for the cross-checks (default: from $PATH)
#
# run ARGS...   runs emblock-img and prints, for the golden output, the
#               command line, its stdout, its stderr lines prefixed with
#               "stderr: ", and its exit status; figures that depend on
#               the file system or on timing are filtered.
# io ARGS...    runs emblock-io quietly (its output is not part of tests).
# skip REASON   ends the test as skipped (exit 77).
# have_qcow2    whether emblock can create and open qcow2 images.
# require_qcow2 skips unless it can.
# require_qemu_img skips unless qemu-img is installed.
# set_refcount IMAGE CLUSTER VALUE  pokes a qcow2 refcount (see below).
# drop_backing_fmt IMAGE  removes the backing format a qcow2 records.

set -u

: "${EMBLOCK_IMG:?EMBLOCK_IMG must name the emblock-img binary}"
: "${EMBLOCK_IO:?EMBLOCK_IO must name the emblock-io binary}"
QEMU_IMG=${QEMU_IMG:-qemu-img}

# One tool invocation may take this long before it counts as hung.
TOOL_TIMEOUT=${TOOL_TIMEOUT:-60}

# This directory, for tests that source more helpers after the cd below.
TESTS_SRC=$(cd "$(dirname "$0")" && pwd)

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/emblock-img-test.XXXXXX") || exit 1
trap 'rm -rf "$TEST_DIR"' EXIT
cd "$TEST_DIR" || exit 1

skip()
{
    echo "SKIP: $*"
    exit 77
}

# Sizes and times that depend on the host, not on emblock.
filter()
{
    sed -e 's/^\( *disk size:\) .*/\1 SIZE/' \
        -e 's/"actual-size": [0-9]*/"actual-size": SIZE/' \
        -e 's/Run completed in [0-9.]* seconds\./Run completed in X seconds./'
}

run()
{
    local rc

    echo "\$ emblock-img $*"
    timeout "$TOOL_TIMEOUT" "$EMBLOCK_IMG" "$@" >"$TEST_DIR/.out" \
        2>"$TEST_DIR/.err"
    rc=$?
    filter <"$TEST_DIR/.out" | tr '\r' '\n'
    filter <"$TEST_DIR/.err" | sed 's/^/stderr: /'
    echo "[exit $rc]"
}

io()
{
    timeout "$TOOL_TIMEOUT" "$EMBLOCK_IO" "$@" >/dev/null
}

have_qcow2()
{
    local ok=1

    "$EMBLOCK_IMG" create -q -f qcow2 .probe.qcow2 1M >/dev/null 2>&1 &&
        "$EMBLOCK_IMG" info .probe.qcow2 >/dev/null 2>&1 && ok=0
    rm -f .probe.qcow2
    return $ok
}

require_qcow2()
{
    have_qcow2 || skip "emblock cannot create and open qcow2 images yet"
}

require_qemu_img()
{
    command -v "$QEMU_IMG" >/dev/null 2>&1 ||
        skip "$QEMU_IMG not found (install qemu-utils or set QEMU_IMG)"
}

# set_refcount IMAGE CLUSTER VALUE: poke the 16-bit refcount of CLUSTER in
# a qcow2 image's first refcount block, growing the file to cover it (to
# make leaks and corruptions for check).
set_refcount()
{
    python3 - "$@" <<'PY'
import os, struct, sys
path, cluster, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'r+b') as f:
    hdr = f.read(104)
    cs = 1 << struct.unpack('>I', hdr[20:24])[0]
    f.seek(struct.unpack('>Q', hdr[48:56])[0])
    refblock = struct.unpack('>Q', f.read(8))[0]
    f.seek(refblock + 2 * cluster)
    f.write(struct.pack('>H', value))
    if os.path.getsize(path) < (cluster + 1) * cs:
        f.truncate((cluster + 1) * cs)
PY
}

# drop_backing_fmt IMAGE: make a qcow2 image record no backing format, by
# renaming its backing-format header extension to one nobody knows (which
# readers skip).  Neither tool creates such images any more; old ones do.
drop_backing_fmt()
{
    python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    hdr = f.read(104)
    version = struct.unpack('>I', hdr[4:8])[0]
    off = 72 if version == 2 else struct.unpack('>I', hdr[100:104])[0]
    while True:
        f.seek(off)
        magic, length = struct.unpack('>II', f.read(8))
        if magic == 0:
            sys.exit("drop_backing_fmt: no backing format extension")
        if magic == 0xE2792ACA:
            f.seek(off)
            f.write(struct.pack('>I', 0x6E6F6E65))
            break
        off += 8 + (length + 7) // 8 * 8
PY
}
