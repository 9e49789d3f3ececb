#!/usr/bin/env bash
# Installs what the build needs beyond rustup, cargo, node and npm, and skips
# whatever is already in place, so it is cheap to run before every build:
#   - the wasm32-unknown-unknown target, rustfmt and clippy;
#   - wasm-bindgen-cli at exactly the version Cargo.toml pins (the CLI and
#     the library must match, or wasm-bindgen refuses the module);
#   - node_modules from package-lock.json (`npm ci`) when missing or stale.
# wasm-opt comes from the `binaryen` npm package, so npm covers it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'toolchain: %s\n' "$*"; }

for tool in rustup cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { say "missing $tool on PATH" >&2; exit 1; }
done

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or later is required (found $(node --version))" >&2
  exit 1
fi

target=wasm32-unknown-unknown
if ! rustup target list --installed | grep -qx "$target"; then
  say "adding rust target $target"
  rustup target add "$target"
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding rust component $component"
    rustup component add "$component"
  fi
done

want=$(node scripts/lib/recipe.mjs wasm-bindgen-version)
have=$( (wasm-bindgen --version 2>/dev/null || true) | awk '{print $2}')
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "=$want" --locked --force
  # An older wasm-bindgen earlier on PATH would still win: say so plainly.
  have=$( (wasm-bindgen --version 2>/dev/null || true) | awk '{print $2}')
  if [ "$have" != "$want" ]; then
    say "wasm-bindgen on PATH is still '${have:-none}' ($(command -v wasm-bindgen || echo 'not found'));" \
      "put \"\${CARGO_HOME:-\$HOME/.cargo}/bin\" first on PATH" >&2
    exit 1
  fi
fi

# npm writes node_modules/.package-lock.json on every install: it is newer
# than package-lock.json exactly when node_modules matches the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node_modules (npm ci)"
  npm ci --no-audit --no-fund
fi

# Fuzzing (scripts/fuzz.sh): cargo-fuzz at a pinned version, and a nightly
# toolchain for its sanitizer flags. Where nightly cannot be installed (a
# machine that reaches package registries only), scripts/fuzz.sh builds with
# the stable compiler in bootstrap mode instead, so a failed install is not
# fatal here.
fuzz_version=0.13.2
have=$( (cargo fuzz --version 2>/dev/null || true) | awk '{print $2}')
if [ "$have" != "$fuzz_version" ]; then
  say "installing cargo-fuzz $fuzz_version (found: ${have:-none})"
  cargo install cargo-fuzz --version "=$fuzz_version" --locked --force
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  say "installing the nightly toolchain (for cargo-fuzz)"
  if ! timeout 600 rustup toolchain install nightly --profile minimal; then
    say "nightly could not be installed; fuzzing will use stable with RUSTC_BOOTSTRAP=1"
  fi
fi
