#!/usr/bin/env bash
# Shared by scripts/callgrind.sh and scripts/cachegrind.sh:
#   bench/valgrind_run.sh callgrind|cachegrind [mpscq-bench args...]
# Builds mpscq-bench (release preset) if needed, runs its --valgrind loops
# under callgrind, and prints per-item counts from the dumps (out/<mode>/).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1
shift
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/deps.sh bench)" >&2; exit 1; }
bin=${MPSCQ_BENCH_BIN:-build/release/bench/mpscq-bench}
if [ -z "${MPSCQ_BENCH_BIN:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target mpscq-bench
fi
dir=out/$mode
rm -rf "$dir"
mkdir -p "$dir"
sim=()
# A Zen 4-like hierarchy, given explicitly: in a VM the CPUID cache data can
# be nonsense (valgrind then simulates a 512 MiB LL that nothing evicts).
# Override with MPSCQ_BENCH_CACHES="--D1=... --LL=...".
caches=${MPSCQ_BENCH_CACHES:---I1=32768,8,64 --D1=49152,12,64 --LL=33554432,16,64}
# shellcheck disable=SC2206
[ "$mode" = cachegrind ] && sim=(--cache-sim=yes $caches)
echo "=== valgrind --tool=callgrind ${sim[*]} --collect-atstart=no $bin --valgrind $mode $* ==="
valgrind --tool=callgrind "${sim[@]}" --collect-atstart=no --callgrind-out-file="$dir/callgrind.out" \
  "$bin" --valgrind "$mode" "$@" >"$dir/bench.log" 2>"$dir/valgrind.log" || {
  echo "valgrind failed; see $dir/valgrind.log" >&2
  tail -20 "$dir/valgrind.log" >&2
  exit 1
}
if grep -q VIOLATION "$dir/bench.log"; then
  grep VIOLATION "$dir/bench.log"
  exit 1
fi
python3 bench/valgrind_report.py "$mode" "$dir"
