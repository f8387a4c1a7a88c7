# kmlab: the two commands of README.md.
#   make run   installs what is missing, builds kmlab, and starts it
#   make test  installs what is missing, builds, and runs the whole test suite
# Anything else is a helper for those two.

SWIFT ?= swift
APT_PACKAGES = liblua5.4-dev libreadline-dev pkg-config lua5.4 tmux lua-check

.PHONY: run test build release deps bench chromium static autograder-test fuzz docs

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Headless Chromium for the test that opens memmap{html=...} (about 130
# packages, so not part of deps; without it that one test is skipped).
chromium:
	@dpkg -s chromium >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: build
	$(SWIFT) run kmlab $(ARGS)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	.build/release/kmlab bench

# A kmlab that runs without the Swift toolchain (the Swift runtime linked in;
# Lua and readline stay shared libraries), for `kmlab autograder gradescope`.
# Its own scratch path, so it never replaces the ordinary release build.
static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static
	@if ldd .build-static/release/kmlab | grep -E 'libswift|libFoundation|lib_FoundationICU|libdispatch|libBlocksRuntime'; then \
	  echo "static: still links the Swift runtime"; exit 1; fi; echo "static: .build-static/release/kmlab"

# The Gradescope bundle end to end with the static build: run_autograder in a
# scratch /autograder layout, with only /usr/bin:/bin and no toolchain libraries.
autograder-test: static
	$(SWIFT) build
	tools/autograder-test.sh .build/debug/kmlab .build-static/release/kmlab

# Random kernel-API scripts through kmlab run and kmlab check (see README,
# "Safety guarantees"); failures are minimised into fuzz/crashes/.
SEED ?= 1
COUNT ?= 500
fuzz: build
	.build/debug/kmlab fuzz --seed $(SEED) --count $(COUNT) --out fuzz/crashes

# docs/api.md is generated from the in-code API docs (a test keeps it current).
docs: build
	$(SWIFT) run kmlab doc --markdown > docs/api.md
