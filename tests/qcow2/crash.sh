#!/usr/bin/env bash
# qcow2 crash-consistency test (SIGKILL during I/O, of emblock-io and of
# emblock-storage-daemon while it mirrors); see crash.py.
# usage: crash.sh [BUILD_DIR]   (env as for crash.py; EMBLOCK_CRASH_POINTS=2000
#        for a long run)
command -v python3 >/dev/null || { echo "no python3"; exit 77; }
exec python3 "$(dirname "$0")/crash.py" "$@"
