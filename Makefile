# Build, test and demo. `make test` is what CI runs (.ci/run) on a fresh clone.
#
#   make toolchain   install the wasm target, wasm-bindgen-cli, node_modules (skips what is present)
#   make pkg         build the npm package into pkg/ (only the stages whose inputs changed)
#   make test        lint, Rust tests, package build, type checks, JS tests,
#                    the PostgreSQL suites, package checks, the runtime suites
#                    and a short run of the benchmarks
#   make adapter-test the plugin's end-to-end suites again on better-auth's memory
#                    adapter and on Drizzle with SQLite (schema from better-auth's generator)
#   make pg-test     the plugin's end-to-end suites again on PostgreSQL (Kysely, then
#                    Drizzle), then two server instances on one PostgreSQL database
#                    (installs PostgreSQL when missing; fails if it cannot)
#   make compat      the end-to-end suites against the latest published better-auth and
#                    oauth-provider, and the install lines for npm, pnpm and bun (registry
#                    access; not part of `make test`)
#   make runtimes    install what the runtime suites run on (Deno, Bun, workerd, other Node.js lines)
#   make pkg-check   publint, arethetypeswrong, the size of the packed tarball, and the
#                    public API against its report (pkg-template/api/)
#   make runtime-test the packed tarball on workerd, Deno, Bun, Node.js 22/24 and from a bundle
#   make deps        licences and RustSec advisories of every crate in Cargo.lock, offline
#   make fuzz-smoke  each fuzz target for a few seconds (part of `make test`)
#   make fuzz        each fuzz target for 10 minutes (FUZZ_SECONDS=N to change); inputs
#                    reaching new coverage are merged into fuzz/corpus/
#   make demo        run a real better-auth server with the plugin and walk through exchanges
#   make bench       the benchmarks (engine vs jose, HTTP, size and start, scaling); not part of `make test`
#   make bench-smoke the benchmarks in short rounds, writing nothing, failing on any non-2xx (part of `make test`)
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
JS_TESTS := $(shell find js-tests -name '*.test.mjs' -not -path '*/node_modules/*' -not -path '*/.tmp/*' -not -path 'js-tests/postgres/*' | sort)
# The plugin's end-to-end suites that run on every database of
# js-tests/helpers/server.mjs (TX_TEST_DB): `make js-test` runs them on SQLite
# with the rest, `make adapter-test` on the memory adapter and Drizzle SQLite,
# `make pg-test` on PostgreSQL with Kysely and with Drizzle.
ADAPTER_TESTS := js-tests/plugin.test.mjs js-tests/plugin-delegation.test.mjs js-tests/plugin-opaque.test.mjs js-tests/plugin-audit-sink.test.mjs js-tests/plugin-revocation.test.mjs \
	js-tests/plugin-audit-api.test.mjs js-tests/plugin-storage.test.mjs js-tests/revocation-interleaving.test.mjs
# Run by `make pg-test` on PostgreSQL: those and the PostgreSQL-only suites.
PG_TESTS := $(ADAPTER_TESTS) $(sort $(wildcard js-tests/postgres/*.test.mjs))
# One node:test file per runtime; each runs the runtime on a fresh project
# that installed the packed tarball (js-tests/runtimes/consumer.mjs).
RUNTIME_TESTS := $(sort $(wildcard js-tests/runtimes/*.runtime.mjs))

WASM := pkg/wasm/engine_bg.wasm
DIST := pkg/dist/index.js
FILES := pkg/package.json pkg/README.md pkg/LICENSE
# The built package as the tests import it (see scripts/install-pkg-for-tests.mjs).
INSTALLED := js-tests/node_modules/better-auth-token-exchange/package.json

.PHONY: all toolchain pkg test lint rust-test typecheck js-test adapter-test pg-test compat demo bench bench-smoke clean runtimes pkg-check runtime-test deps fuzz fuzz-smoke

all: pkg

toolchain:
	@bash scripts/ensure-toolchain.sh

$(WASM): $(RUST_SRC) wasm-pack.toml package-lock.json $(BUILD_SCRIPTS) | toolchain
	node scripts/build-pkg.mjs wasm

# The `dist` stage also writes the wasm's inline copy (scripts/inline-wasm.mjs).
$(DIST): $(WASM) $(TS_SRC) package-lock.json $(BUILD_SCRIPTS) scripts/inline-wasm.mjs | toolchain
	node scripts/build-pkg.mjs dist

$(FILES) &: pkg-template/package.json pkg-template/README.md pkg-template/LICENSE Cargo.toml $(BUILD_SCRIPTS)
	node scripts/build-pkg.mjs files

pkg: $(WASM) $(DIST) $(FILES)
	@node scripts/build-pkg.mjs size

$(INSTALLED): $(WASM) $(DIST) $(FILES) scripts/install-pkg-for-tests.mjs
	node scripts/install-pkg-for-tests.mjs
	@# npm pack stamps files with a fixed 1985 date: mark the install as fresh.
	@touch $@

test: lint rust-test deps fuzz-smoke pkg typecheck js-test adapter-test pg-test pkg-check runtime-test bench-smoke

# src/wasm.rs compiles only with the `wasm` feature: lint it for its target too.
# Biome lints the TypeScript and the scripts (its recommended rules, and no
# import cycles); formatting is left to the editor.
lint: | toolchain
	node scripts/check-rust-cycles.mjs
	node_modules/.bin/biome lint --error-on-warnings
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --features wasm -- -D warnings

rust-test: | toolchain
	cargo test

# Offline, against the advisory snapshot in deps/ (deps/README.md).
deps:
	node scripts/check-deps.mjs

# scripts/fuzz.sh: replays the committed corpus and crash reproducers, then
# explores for a few seconds per target (smoke) or minutes (long).
fuzz-smoke: | toolchain
	bash scripts/fuzz.sh smoke

fuzz: | toolchain
	bash scripts/fuzz.sh long

# The sources are type-checked by the `dist` stage itself; this checks the
# published engine typings as a user's strict project sees them (no DOM, no
# @types/node, skipLibCheck off) through a typed usage file, and the client
# entry with better-auth's client as a strict browser project sees it, and
# the plugin as better-auth infers it (auth.api, $ERROR_CODES, $Infer).
typecheck: $(INSTALLED)
	$(TSC) -p js-tests/types/tsconfig.json
	$(TSC) -p js-tests/types/tsconfig.client.json
	$(TSC) -p js-tests/types/tsconfig.plugin.json

js-test: $(INSTALLED)
	node --test $(JS_TESTS)

# scripts/ensure-postgres.mjs installs Debian's postgresql package when it is
# missing (failing, not skipping, when it cannot), starts a throwaway cluster
# on a free loopback port, runs the suites with TX_TEST_PG_URL pointing at it,
# and stops and removes it afterwards. Each test server gets a database of its own.
pg-test: $(INSTALLED)
	TX_TEST_DB=postgres node scripts/ensure-postgres.mjs -- node --test $(PG_TESTS)
	node js-tests/helpers/drizzle.mjs
	TX_TEST_DB=drizzle-pg node scripts/ensure-postgres.mjs -- node --test $(ADAPTER_TESTS)

# The Drizzle schemas come from better-auth's generator (the `auth` CLI, on
# Node.js 22 from node_modules/.cache/node-lines), cached in js-tests/.tmp
# by the plugin's tables (js-tests/helpers/drizzle.mjs); generated once
# here, before the suites start in parallel.
adapter-test: $(INSTALLED)
	node js-tests/helpers/drizzle.mjs
	TX_TEST_DB=memory node --test $(ADAPTER_TESTS)
	TX_TEST_DB=drizzle-sqlite node --test $(ADAPTER_TESTS)

# A scratch project in the system's temporary directory installs the packed
# tarball with the latest better-auth and oauth-provider from the registry
# (npm, with the overrides a user needs) and runs the end-to-end suites
# there; then npm, pnpm and bun each install the package the way the README
# says, in a project of their own, and run a smoke script (scripts/compat.mjs).
compat: $(INSTALLED)
	node scripts/compat.mjs

# Deno, Bun, miniflare and esbuild are root devDependencies (npm ci); the
# other Node.js lines install from npm into node_modules/.cache/node-lines.
runtimes: | toolchain
	node scripts/ensure-runtimes.mjs

pkg-check: $(INSTALLED)
	node scripts/check-package.mjs
	node scripts/check-api.mjs
	node scripts/check-readme.mjs

# One fresh consumer project for all suites, then the suites one at a time.
runtime-test: $(INSTALLED) | runtimes
	node js-tests/runtimes/consumer.mjs
	node --test --test-concurrency=1 $(RUNTIME_TESTS)

# The demo imports the installed package through js-tests/helpers/server.mjs.
demo: $(INSTALLED)
	node scripts/demo.mjs

# Benchmarks print tables with ratios and write bench/results/*.json; a few
# minutes on a 2-core machine. `make test` runs only bench-smoke: no timed
# assertions. The HTTP benchmark runs on PostgreSQL too: a throwaway cluster,
# as for pg-test.
bench: $(INSTALLED)
	node scripts/ensure-postgres.mjs -- node bench/run.mjs

# The benchmarks in short rounds, writing nothing: they still run and every
# request still succeeds (no time is judged).
bench-smoke: $(INSTALLED)
	BENCH_SMOKE=1 node scripts/ensure-postgres.mjs -- node bench/run.mjs

clean:
	rm -rf pkg js-tests/.tmp js-tests/node_modules bench/.build
	cargo clean
