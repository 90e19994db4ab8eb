#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Mirror benchmark next to qemu-storage-daemon: see bench-mirror.py.
exec python3 "$(dirname "$0")/bench-mirror.py" "${1:-build}"
