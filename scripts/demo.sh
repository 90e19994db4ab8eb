#!/bin/sh
# The mirror demo.  Until the mirror job lands this is a placeholder that
# says what the demo will show and checks that the library's event loop runs.
BUILD=${1:-build}
echo "emblock demo (placeholder until the mirror job lands)"
echo "It will: create a 1 GiB qcow2 source with data, zero and unallocated"
echo "regions; start emblock-storage-daemon; mirror to a sparse raw target"
echo "while writing to the source; complete; and print the source's and"
echo "target's maps, their allocated sizes and compare's verdict."
echo
"$BUILD"/tests/unit/test-coroutine -q >/dev/null && \
    echo "Library self-check: coroutines and event loop OK"
