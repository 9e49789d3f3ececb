# Build, test and demo. `make test` is what CI runs (.ci/run) on a fresh clone.
#
#   make toolchain   install the wasm target, wasm-bindgen-cli, node_modules (skips what is present)
#   make pkg         build the npm package into pkg/ (only the stages whose inputs changed)
#   make test        lint, Rust tests, package build, type checks, JS tests
#   make demo        run a real better-auth server with the plugin and walk through exchanges
#   make clean       remove pkg/, test scratch files and cargo's target/

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

TSC := node_modules/.bin/tsc
RUST_SRC := Cargo.toml $(wildcard Cargo.lock) $(shell find src -name '*.rs' 2>/dev/null)
TS_SRC := $(shell find pkg-template/src -name '*.ts') pkg-template/tsconfig.json
BUILD_SCRIPTS := scripts/build-pkg.mjs scripts/lib/recipe.mjs
JS_TESTS := $(shell find js-tests -name '*.test.mjs' -not -path '*/node_modules/*' -not -path '*/.tmp/*' | sort)

WASM := pkg/wasm/engine_bg.wasm
DIST := pkg/dist/index.js
FILES := pkg/package.json pkg/README.md pkg/LICENSE
# The built package as the tests import it (see scripts/install-pkg-for-tests.mjs).
INSTALLED := js-tests/node_modules/better-auth-token-exchange/package.json

.PHONY: all toolchain pkg test lint rust-test typecheck js-test demo clean

all: pkg

toolchain:
	@bash scripts/ensure-toolchain.sh

$(WASM): $(RUST_SRC) wasm-pack.toml package-lock.json $(BUILD_SCRIPTS) | toolchain
	node scripts/build-pkg.mjs wasm

$(DIST): $(WASM) $(TS_SRC) package-lock.json $(BUILD_SCRIPTS) | toolchain
	node scripts/build-pkg.mjs dist

$(FILES) &: pkg-template/package.json pkg-template/README.md pkg-template/LICENSE Cargo.toml $(BUILD_SCRIPTS)
	node scripts/build-pkg.mjs files

pkg: $(WASM) $(DIST) $(FILES)
	@node scripts/build-pkg.mjs size

$(INSTALLED): $(WASM) $(DIST) $(FILES) scripts/install-pkg-for-tests.mjs
	node scripts/install-pkg-for-tests.mjs
	@# npm pack stamps files with a fixed 1985 date: mark the install as fresh.
	@touch $@

test: lint rust-test pkg typecheck js-test

# src/wasm.rs compiles only with the `wasm` feature: lint it for its target too.
lint: | toolchain
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --features wasm -- -D warnings

rust-test: | toolchain
	cargo test

# The sources are type-checked by the `dist` stage itself; this checks the
# published engine typings as a user's strict project sees them (no DOM, no
# @types/node, skipLibCheck off) through a typed usage file.
typecheck: $(INSTALLED)
	$(TSC) -p js-tests/types/tsconfig.json

js-test: $(INSTALLED)
	node --test $(JS_TESTS)

# The demo imports the installed package through js-tests/helpers/server.mjs.
demo: $(INSTALLED)
	node scripts/demo.mjs

clean:
	rm -rf pkg js-tests/.tmp js-tests/node_modules
	cargo clean
