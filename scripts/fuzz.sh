#!/usr/bin/env bash
# Runs the engine's cargo-fuzz targets (fuzz/fuzz_targets/) for a set time
# each and prints, per target, the executions run and the coverage reached
# (libFuzzer's `cov`: edges hit; `ft`: features).
#
#   scripts/fuzz.sh smoke            a few seconds per target (part of `make test`)
#   scripts/fuzz.sh long             a long run (`make fuzz`); inputs that reach
#                                    new coverage are merged into fuzz/corpus/
#   FUZZ_SECONDS=N scripts/fuzz.sh … override the time per target
#   FUZZ_TARGETS="jws decide" …      only these targets
#
# Every run first replays the committed corpus (fuzz/corpus/<target>) and
# the crash reproducers (fuzz/regressions/<target>), so a regression fails
# at once. A new crash leaves its input in fuzz/artifacts/<target>/ and fails
# the run; copy it to fuzz/regressions/<target>/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-smoke}
case "$mode" in
  smoke) seconds=${FUZZ_SECONDS:-15} ;;
  long) seconds=${FUZZ_SECONDS:-600} ;;
  *) echo "usage: $0 smoke|long" >&2; exit 2 ;;
esac
targets=${FUZZ_TARGETS:-request jws jwk decide}

say() { printf 'fuzz: %s\n' "$*"; }

# cargo-fuzz needs nightly (sanitizer and coverage flags). Use the nightly
# toolchain when there is one; a machine without it (and without a way to
# fetch it) builds with the stable compiler in bootstrap mode, which accepts
# the same flags.
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  say "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi
command -v cargo-fuzz >/dev/null 2>&1 || { say "cargo-fuzz missing: run scripts/ensure-toolchain.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd fuzz
say "building targets"
cargo "${toolchain[@]}" fuzz build --release >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

total=0
failed=0
for target in $targets; do
  mkdir -p "corpus/$target" "regressions/$target" "$work/$target"
  log="$work/$target.log"
  # The first directory is where libFuzzer writes new inputs: a scratch one,
  # so a smoke run never changes the committed corpus.
  set +e
  cargo "${toolchain[@]}" fuzz run --release "$target" "$work/$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    failed=1
    say "target $target FAILED (exit $status); input saved under fuzz/artifacts/$target/"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2 || tail -40 "$log" >&2
    continue
  fi
  say "target $target: ${runs:-0} executions in ${seconds}s, ${cov:-cov: ? ft: ?}, peak RSS ${peak:-?} MB"
  total=$((total + ${runs:-0}))
  if [ "$mode" = long ]; then
    # Minimise: the smallest set of inputs (old corpus and new finds) that
    # keeps the edges covered, plus the hand-written seeds.
    mkdir -p "$work/$target.min"
    if cargo "${toolchain[@]}" fuzz run --release "$target" -- -merge=1 -use_counters=0 "$work/$target.min" "corpus/$target" "$work/$target" \
      >"$work/$target.merge.log" 2>&1; then
      find "corpus/$target" -type f ! -name 'seed-*' -delete
      cp -n "$work/$target.min"/* "corpus/$target/" 2>/dev/null || true
      say "target $target: corpus now $(find "corpus/$target" -type f | wc -l) inputs"
    else
      cat "$work/$target.merge.log" >&2
      failed=1
    fi
  fi
done
say "total: $total executions"
exit "$failed"
