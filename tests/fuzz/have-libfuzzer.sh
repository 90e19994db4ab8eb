#!/bin/sh
# Exit 0 when clang can build a libFuzzer target with ASan and UBSan here
# (Debian: packages clang and libclang-rt-14-dev), 1 otherwise.
CC=${CC_FUZZ:-clang}
command -v "$CC" >/dev/null 2>&1 || exit 1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cat >"$dir/t.c" <<'EOC'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }
EOC
"$CC" -fsanitize=fuzzer,address,undefined -o "$dir/t" "$dir/t.c" \
    >/dev/null 2>&1 && "$dir/t" -runs=1 >/dev/null 2>&1
