# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-checks against qemu-img (sourced after common.sh by xcheck-*.sh).
#
# Each check runs the same command line through emblock-img and qemu-img
# and compares stdout, stderr and exit status once the known and intended
# differences are filtered out:
#   - program names;
#   - map JSON: emblock prints "compressed" on every entry, as qemu-img
#     does since 8.2; the installed 7.2 does not;
#   - info: emblock lists the file child ("children" in JSON, a "Child
#     node '/file':" section in human output), as qemu-img does since 8.0.
#
# xc ARGS...       compare one command line run by both tools on the same
#                  files in w/ (for commands that only read)
# xc_sep ARGS...   compare one command line run by emblock-img in e/ and
#                  by qemu-img in q/ (for commands that write: prepare
#                  both directories alike first)
# xc_done          print the summary and exit 0, or 1 after failures
#
# Copies of images are not used for the read-only checks: copying can
# turn written zeroes into holes, and block status would then differ.

require_qemu_img
mkdir -p w e q
XC_FAILED=0
XC_RUN=0

# Drop what emblock adds on purpose (see above).  Python starts only for
# JSON output: its start-up dominates the run time otherwise.
xc_filter()
{
    local text

    text=$(sed -e 's/emblock-img/qemu-img/g' \
               -e 's/, "compressed": \(true\|false\)//' |
           awk '/^ *Child node / { skip = 1; next }
                skip && /^ / { next }
                { skip = 0; print }')
    case "$text" in
    "{"*|"["*) ;;
    *) [ -n "$text" ] && printf '%s\n' "$text"; return 0 ;;
    esac
    printf '%s\n' "$text" |
    python3 -c '
import json, sys
text = sys.stdin.read()
try:
    doc = json.loads(text)
except ValueError:
    sys.stdout.write(text)
    sys.exit(0)
def strip(o):
    if isinstance(o, dict):
        o.pop("children", None)
        for v in o.values():
            strip(v)
    elif isinstance(o, list):
        for v in o:
            strip(v)
strip(doc)
print(json.dumps(doc, indent=4))
'
}

# Run one tool in $TEST_DIR/DIR: filtered stdout, stderr, exit status.
xc_one()
{
    local dir=$1 rc
    shift

    (cd "$TEST_DIR/$dir" &&
     timeout "$TOOL_TIMEOUT" "$@" >"$TEST_DIR/.xc-out" 2>"$TEST_DIR/.xc-err")
    rc=$?
    xc_filter <"$TEST_DIR/.xc-out"
    sed 's/emblock-img/qemu-img/g' "$TEST_DIR/.xc-err"
    echo "[exit $rc]"
}

xc_compare()
{
    local mydir=$1 theirdir=$2 mine theirs
    shift 2

    XC_RUN=$((XC_RUN + 1))
    mine=$(xc_one "$mydir" "$EMBLOCK_IMG" "$@")
    theirs=$(xc_one "$theirdir" "$QEMU_IMG" "$@")
    if [ "$mine" != "$theirs" ]; then
        XC_FAILED=$((XC_FAILED + 1))
        echo "DIFFERENT: $*"
        diff -u <(echo "$theirs") <(echo "$mine") |
            sed -e '1s/^---.*/--- qemu-img/' -e '2s/^+++.*/+++ emblock-img/'
    fi
}

xc()
{
    xc_compare w w "$@"
}

xc_sep()
{
    xc_compare e q "$@"
}

xc_done()
{
    echo "$XC_RUN command lines compared, $XC_FAILED different"
    [ "$XC_FAILED" -eq 0 ]
    exit
}

# Write into an image with qemu-io when it is installed (it can also
# write compressed clusters), else with emblock-io.
QEMU_IO=${QEMU_IO:-qemu-io}
have_qemu_io()
{
    command -v "$QEMU_IO" >/dev/null 2>&1
}

qio()
{
    if have_qemu_io; then
        timeout "$TOOL_TIMEOUT" "$QEMU_IO" "$@" >/dev/null
    else
        io "$@"
    fi
}
