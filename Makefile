# emblock: a thin wrapper over meson.  See README.rst.
#
#   make demo    install missing build deps, build, run the mirror demo
#   make check   install missing deps, build, run every test (also sanitized)
#   make bench   build and run the benchmarks
#   make deps    only install missing Debian packages

BUILD      ?= build
BUILD_SAN  ?= build-san
MESON      ?= meson

BUILD_PKGS = gcc meson ninja-build pkg-config libglib2.0-dev libaio-dev \
             libjson-glib-dev liburing-dev zlib1g-dev python3
TEST_PKGS  = qemu-utils qemu-system-common

.PHONY: all deps build build-san demo check bench clean

all: build

deps:
	@scripts/install-deps.sh $(BUILD_PKGS) $(TEST_PKGS)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(BUILD_SAN)/build.ninja:
	$(MESON) setup $(BUILD_SAN) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dunit_tests_only=true

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-san: $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)

demo: deps build
	@scripts/demo.sh $(BUILD)

check: deps build build-san
	@scripts/run-tests.sh $(BUILD) $(BUILD_SAN)

bench: deps build
	@scripts/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
