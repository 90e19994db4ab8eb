#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qmp-client.py SOCKET IN_FIFO OUT_FILE [CONNECT_TIMEOUT]
#
# Keeps one QMP connection open for common.rc's _send_qemu_cmd and
# _timed_wait_for: every line written to IN_FIFO is sent to the monitor,
# every message received (greeting, replies, events) is appended to
# OUT_FILE as one line.  Messages are re-serialised with Python's default
# JSON separators (", " and ": "), which is how QEMU prints them, so the
# QEMU filters and golden files apply whatever spacing the server uses.
# Exits when the server closes the connection.

import json
import os
import socket
import sys
import threading
import time


def normalise(line):
    try:
        return json.dumps(json.loads(line))
    except ValueError:
        return line


def main():
    path, in_fifo, out_file = sys.argv[1:4]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            sock.connect(path)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                sys.stderr.write('qmp-client: cannot connect to %s: %s\n'
                                 % (path, e))
                return 1
            time.sleep(0.05)

    out = open(out_file, 'a', buffering=1, encoding='utf-8')

    def reader():
        f = sock.makefile('r', encoding='utf-8', errors='replace')
        for line in f:
            line = line.strip()
            if line:
                out.write(normalise(line) + '\n')
                out.flush()
        os._exit(0)

    threading.Thread(target=reader, daemon=True).start()

    # Opened read-write so that writers coming and going never give EOF.
    fd = os.open(in_fifo, os.O_RDWR)
    with os.fdopen(fd, 'r', encoding='utf-8') as fin:
        for line in fin:
            line = line.strip()
            if not line:
                continue
            try:
                sock.sendall((line + '\n').encode('utf-8'))
            except OSError:
                break
    return 0


if __name__ == '__main__':
    sys.exit(main())
