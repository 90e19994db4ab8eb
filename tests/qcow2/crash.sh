#!/usr/bin/env bash
# qcow2 crash-consistency test (SIGKILL during I/O); see crash.py.
# usage: crash.sh [BUILD_DIR]   (env as for crash.py)
command -v python3 >/dev/null || { echo "no python3"; exit 77; }
exec python3 "$(dirname "$0")/crash.py" "$@"
