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
