# mydocker — build, test and benchmark plumbing.
#
#   make deps     install pinned bun, node_modules and the Debian packages tests/bench need
#   make rootfs   build ./rootfs (busybox) — or FROM=image.tar to extract a `docker export`
#   make build    compile src/cli.ts into the standalone ./mydocker
#   make run      ./mydocker run --rm -ti /bin/sh
#   make test     bun test (e2e tests use ./mydocker and rootfs/)
#   make test-vm  bun test in a qemu guest whose only cgroup hierarchy is cgroup2 (vm/run.sh)
#   make vm-clean remove .vm/ (the cached kernel and initramfs of test-vm)
#   make bench    bench/*.ts: start latency vs runc/crun, network cost, run -d, exec, 50 at once, memory, trace cost
#   make install  copy ./mydocker to $(PREFIX)/bin, with mydocker-runc (the OCI runtime) beside it
#   make clean    remove build output, rootfs contents, bench temp
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:
# deps -> rootfs -> build must happen in order even under make -j.
.NOTPARALLEL:

# Pinned bun version: package.json "packageManager": "bun@X.Y.Z" wins, else this default.
BUN_VERSION := $(or $(shell sed -n 's/.*"packageManager"[[:space:]]*:[[:space:]]*"bun@\([^"]*\)".*/\1/p' package.json 2>/dev/null),1.4.5)
BUN ?= bun
PREFIX ?= /usr/local

# Debian packages: busybox-static (rootfs); runc, crun, hyperfine, time (bench); libseccomp2
# (seccomp profiles, dlopen'ed); gcc + libc6-dev (the escape tests' static probe); podman, conmon,
# containerd (real engines driving mydocker-runc in the tests); nftables + iproute2 (networks: nft
# for mydocker's rules, ip for the tests' checks); tini (run --init); skopeo (load's dir-layout tests);
# tmux (the attach tests drive a real terminal).
# Add here anything else the tests need (checked with dpkg, installed only when missing).
DEB_PKGS ?= busybox-static runc crun hyperfine time libseccomp2 gcc libc6-dev podman conmon containerd nftables iproute2 tini skopeo tmux

ROOTFS := rootfs
FROM ?=
CACHE := .cache
ROOTFS_STAMP := $(CACHE)/rootfs.stamp
# What the rootfs should be built from; a different value in the stamp forces a rebuild.
ROOTFS_SRC := $(if $(FROM),tar:$(abspath $(FROM)),busybox)

# Rebuild the rootfs when: no stamp, the stamp names another source, or the tree is gone.
ROOTFS_FORCE :=
ifneq ($(shell cat $(ROOTFS_STAMP) 2>/dev/null),$(ROOTFS_SRC))
ROOTFS_FORCE := FORCE
endif
ifeq ($(shell test -e $(ROOTFS)/bin/sh -o -L $(ROOTFS)/bin/sh && echo y),)
ROOTFS_FORCE := FORCE
endif

# --bytecode (ESM) cuts cold start: `mydocker run /bin/true` median ≈54 ms -> ≈39 ms
# (a bare citty+consola CLI: ≈48 -> ≈21 ms). --minify / --sourcemap made no
# difference beyond noise, so they are not used.
# BYTECODE=0 disables it; if bun cannot generate bytecode the build falls back to plain.
BYTECODE ?= 1
# --compile-jit-policy: JavaScriptCore's tier-up thresholds x100 from the start (src/jit-policy.ts:
# the monitor and terminal relays ask for x1 back). 50 `run --rm` at once: 4429 -> 4036 ms.
JIT_POLICY ?= 100
BUILD_FLAGS := --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig --compile-jit-policy=$(JIT_POLICY)
BYTECODE_FLAGS := --bytecode --format=esm --splitting
SRCS := $(shell find src ffi -type f 2>/dev/null) package.json bun.lock tsconfig.json

# Per-test timeout (ms). bun 1.4.5 ignores any timeout key in bunfig.toml [test],
# so it is passed on the command line. TEST_ARGS e.g. "test/run.test.ts -t pid".
TEST_TIMEOUT ?= 120000
TEST_ARGS ?=

.PHONY: all deps deps-bun deps-node deps-apt rootfs build probe run test test-vm vm-clean bench install clean FORCE
all: build

# ---------------------------------------------------------------- deps
deps: deps-bun deps-node deps-apt

deps-bun:
	@if ! command -v $(BUN) >/dev/null 2>&1 || [ "$$($(BUN) --version 2>/dev/null)" != "$(BUN_VERSION)" ]; then \
	  command -v npm >/dev/null 2>&1 || { echo "deps: npm is required to install bun $(BUN_VERSION)" >&2; exit 1; }; \
	  echo "deps: installing bun@$(BUN_VERSION) with npm"; \
	  npm install -g --no-fund --no-audit "bun@$(BUN_VERSION)"; \
	  hash -r; \
	  v=$$($(BUN) --version 2>/dev/null || true); \
	  [ "$$v" = "$(BUN_VERSION)" ] || { echo "deps: bun --version says '$$v', wanted $(BUN_VERSION) (is $$(npm prefix -g)/bin on PATH?)" >&2; exit 1; }; \
	fi

deps-node: deps-bun
	@$(BUN) install --frozen-lockfile --silent

deps-apt:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: apt-get install$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# ---------------------------------------------------------------- rootfs
# ...and the same tree as the image busybox:latest in the default data root (/var/lib/mydocker).
# The import needs the binary; a second run finds the image unchanged and returns at once.
rootfs: $(ROOTFS_STAMP) mydocker
	./mydocker import --change 'CMD ["sh"]' $(ROOTFS) busybox:latest >/dev/null

$(ROOTFS_STAMP): scripts/mkrootfs.sh $(FROM) $(ROOTFS_FORCE)
	@mkdir -p $(CACHE)
	@rm -f $@
	CLEAN=1 FROM="$(FROM)" bash scripts/mkrootfs.sh $(ROOTFS)
	@echo "$(ROOTFS_SRC)" > $@

# ---------------------------------------------------------------- build
build: mydocker

# The init runs alone in its process (`mydocker init`, every container start), so the compiled
# binary carries it as one module of its own: bundled here first, then imported by src/cli.ts.
# Left to --splitting, its modules are spread over the nine chunks it shares with the CLI's
# commands, and loading them cost the init ~40 page faults and ~2 ms more before its first line
# (measured again in the fifth session, both builds read back from the disk: README,
# Performance). Under `bun run src/cli.ts` the source is imported instead.
INIT_BUNDLE := $(CACHE)/init.js

$(INIT_BUNDLE): $(SRCS) | deps-node
	@mkdir -p $(CACHE)
	@$(BUN) build --format=esm --target=bun src/init/init.ts --outfile $@.tmp >/dev/null
	@mv -f $@.tmp $@

mydocker: $(SRCS) $(INIT_BUNDLE) | deps-node
	@if [ "$(BYTECODE)" = 1 ]; then \
	  log=$$(mktemp); \
	  $(BUN) build $(BUILD_FLAGS) $(BYTECODE_FLAGS) src/cli.ts --outfile $@.tmp 2>&1 | tee "$$log"; \
	  if grep -q 'Failed to generate bytecode' "$$log"; then \
	    echo "build: bytecode generation failed; building without --bytecode" >&2; \
	    rm -f $@.tmp; \
	    $(BUN) build $(BUILD_FLAGS) src/cli.ts --outfile $@.tmp; \
	  fi; \
	  rm -f "$$log"; \
	else \
	  $(BUN) build $(BUILD_FLAGS) src/cli.ts --outfile $@.tmp; \
	fi
	@mv -f $@.tmp $@

# ---------------------------------------------------------------- use
run: deps rootfs build
	./mydocker run --rm -ti /bin/sh

test: deps rootfs build probe
	$(BUN) x tsc --noEmit -p .
	$(BUN) test --timeout $(TEST_TIMEOUT) $(TEST_ARGS)

# The escape tests' syscall probe: static, so that it runs in any container root (and in the VM).
PROBE := test/.build/probe
probe: $(PROBE)
$(PROBE): test/e2e/probe.c
	@mkdir -p $(dir $@)
	gcc -static -O2 -Wall -Wextra -o $@.tmp $<
	@mv -f $@.tmp $@

# The suite again in a qemu guest (Debian's stable kernel, pure cgroup2, software emulation):
# installs qemu-system-x86 when missing, downloads the kernel package once into .vm/, streams
# the guest's console and exits with its tests' status. Knobs: see the top of vm/run.sh.
test-vm: deps rootfs build probe
	TEST_TIMEOUT=$(TEST_TIMEOUT) BUN=$(BUN) bash vm/run.sh

vm-clean:
	rm -rf .vm

bench: deps rootfs build
	$(BUN) bench/start.ts
	$(BUN) bench/network.ts
	$(BUN) bench/detached.ts
	$(BUN) bench/throughput.ts
	$(BUN) bench/resident.ts
	$(BUN) bench/init-start.ts
	$(BUN) bench/trace-cost.ts

install: mydocker
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 mydocker $(DESTDIR)$(PREFIX)/bin/mydocker
	ln -sf mydocker $(DESTDIR)$(PREFIX)/bin/mydocker-runc

# ---------------------------------------------------------------- clean
clean:
	rm -f mydocker mydocker.tmp
	rm -rf test/.build
	@if awk -v d="$(CURDIR)/$(ROOTFS)/" '{ if (index($$5 "/", d) == 1) f = 1 } END { exit !f }' /proc/self/mountinfo; then \
	  echo "clean: $(ROOTFS) has mounts under it (container running?); not removing it" >&2; \
	elif [ -d $(ROOTFS) ]; then \
	  find $(ROOTFS) -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf --one-file-system -- {} +; \
	fi
	rm -rf $(CACHE) bench/out
	rm -rf "$${TMPDIR:-/tmp}"/mydocker-bench-*

FORCE:
