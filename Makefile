# Thin wrapper over Meson: the commands a new user types.
#   make          build everything (installs missing Debian packages first)
#   make demo     build the demo image and run it in a microVM
#   make check    all tests: unit (also under ASan+UBSan) and KVM integration
#   make bench    benchmarks against peers measured in the same run
#   make deps     install the Debian packages the build and tests need
#   make install  install under PREFIX (default /usr/local; DESTDIR for packaging)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 10
KERNEL_SH  := guest/kernel/build.sh

.PHONY: all deps build kernel demo check unit-asan fuzz bench install clean

all: build

# bindings/node's build tools (node-addon-api, node-gyp) as its lock file
# pins them; meson builds the addon. A build tree configured before they
# were there is configured again, so that it builds the addon.
NODE_DIR := bindings/node
deps:
	@tools/install-deps.sh
	@[ $(NODE_DIR)/node_modules/.package-lock.json -nt $(NODE_DIR)/package-lock.json ] || { \
	  (cd $(NODE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && \
	  { [ ! -f $(BUILD)/build.ninja ] || meson setup --reconfigure $(BUILD) >/dev/null; }; }

$(BUILD)/build.ninja:
	@meson setup $(BUILD) >/dev/null

$(ASAN_BUILD)/build.ninja:
	@meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

# libFuzzer needs clang; only the harnesses are built there.
$(FUZZ_BUILD)/build.ninja:
	@CC=clang meson setup $(FUZZ_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

# The guest kernel is cached by the hash of its config, patches and source;
# the build tree links to the cached copy.
kernel: deps $(BUILD)/build.ninja
	@path=$$($(KERNEL_SH) --print-path) && mkdir -p $(BUILD)/guest && \
	  ln -sfn "$$path" $(BUILD)/guest/vmlinux

build: deps $(BUILD)/build.ninja kernel
	@ninja -C $(BUILD) $(if $(V),,--quiet)

# Without KVM, demo and the VM benchmarks run in an emulated KVM host
# (tools/with-kvm says so first).
demo: build
	@tools/with-kvm --data -- tools/demo.sh $(BUILD)

unit-asan: deps $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD) --quiet
	@meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs $(if $(V),,-q) || true

# A short run of every fuzzer (FUZZ_TIME seconds each, two at a time);
# make fuzz FUZZ_TIME=300 for a real one (tests/fuzz/run_fuzzer.sh).
fuzz: deps $(FUZZ_BUILD)/build.ninja
	@ninja -C $(FUZZ_BUILD) --quiet fuzzers
	@FUZZ_TIME=$(FUZZ_TIME) meson test -C $(FUZZ_BUILD) --no-rebuild --suite fuzz --print-errorlogs $(if $(V),,-q) || true

# The VM tests run on this machine's KVM, or in an emulated KVM host
# (tools/kvm-host) where it has none; see tools/check.sh.
check: build unit-asan fuzz
	@tools/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

bench: build
	@tools/install-deps.sh bench
	@tools/with-kvm -- bench/boot $(BUILD)
	@tools/with-kvm -- $(BUILD)/bench/exec
	@[ ! -f $(BUILD)/bindings/node/supermachine.node ] || tools/with-kvm -- node bench/exec_node.mjs $(BUILD)
	@[ ! -x $(BUILD)/bindings/python/python3 ] || tools/with-kvm -- $(BUILD)/bindings/python/python3 bench/exec_python.py $(BUILD)
	@bench/pull $(BUILD)
	@tools/with-kvm -- bench/run $(BUILD)
	@tools/with-kvm -- bench/restore $(BUILD)
	@tools/with-kvm -- bench/oci $(BUILD)

# The prefix is compiled in (where the binary finds its worker and guest
# files), so changing it rebuilds.
PREFIX ?= /usr/local
install: build
	@meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	@ninja -C $(BUILD) $(if $(V),,--quiet)
	@meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR)) $(if $(V),,--quiet)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
