# emblock: a thin wrapper over meson.  See README.rst.
#
#   make demo    install missing build deps, build, run the mirror demo
#   make check   install missing deps, build, run every test (also sanitized)
#   make bench   build and run the benchmarks
#   make fuzz    build the libFuzzer targets (clang) and fuzz each one for
#                FUZZ_TIME seconds (default 60)
#   make deps    only install missing Debian packages

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_FUZZ ?= build-fuzz
FUZZ_TIME  ?= 60
MESON      ?= meson

BUILD_PKGS = gcc meson ninja-build pkg-config libglib2.0-dev libaio-dev \
             libjson-glib-dev liburing-dev zlib1g-dev python3
TEST_PKGS  = qemu-utils qemu-system-common clang libclang-rt-14-dev

.PHONY: all deps build build-san build-fuzz demo check bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh $(BUILD_PKGS) $(TEST_PKGS)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(BUILD_SAN)/build.ninja:
	$(MESON) setup $(BUILD_SAN) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dunit_tests_only=true

# The fuzzing build: library and fuzz targets only, clang, ASan + UBSan.
$(BUILD_FUZZ)/build.ninja:
	CC=clang $(MESON) setup $(BUILD_FUZZ) -Dfuzzing=true -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-san: $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)

build-fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)

demo: deps build
	@scripts/demo.sh $(BUILD)

# The fuzz smoke runs need clang with libFuzzer; without it they are
# counted as skipped.
check: deps build build-san
	@if sh tests/fuzz/have-libfuzzer.sh; then \
	    $(MAKE) --no-print-directory build-fuzz; fi
	@scripts/run-tests.sh $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ)

bench: deps build
	@scripts/run-bench.sh $(BUILD)

fuzz: deps build-fuzz
	FUZZ_TIME=$(FUZZ_TIME) $(MESON) test -C $(BUILD_FUZZ) --suite fuzz-smoke \
	    --print-errorlogs --verbose

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ)
