#!/usr/bin/env bash
# The whole test suite: every tier (unit, stress, model, headers, consumer,
# smoke) in every preset (release with models; asan; tsan; clang; portable;
# libcxx). The presets set MPSCQ_REQUIRE_ALL, so a missing package fails the
# configure instead of skipping tests. Exits non-zero on any failure.
# Usage: scripts/test.sh [preset ...]   (default: all presets)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan tsan clang portable libcxx)
jobs=$(nproc)
start=$(date +%s)
failed=()
passed_total=0
failed_total=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for p in "${presets[@]}"; do
  echo "=== preset $p: configure + build ==="
  t0=$(date +%s)
  if ! { cmake --preset "$p" >/dev/null && cmake --build --preset "$p" -j "$jobs"; }; then
    failed+=("$p(build)"); continue
  fi
  echo "=== preset $p: test ==="
  rc=0
  ctest --preset "$p" -j "$jobs" 2>&1 | tee "$log" || rc=$?  # pipefail: ctest's status
  # ctest's own summary: "N% tests passed, F tests failed out of T"
  summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
  if [ "$rc" -ne 0 ] || [ -z "$summary" ] || [ "$f" != 0 ]; then failed+=("$p"); fi
  passed_total=$(( passed_total + ${t:-0} - ${f:-0} ))
  failed_total=$(( failed_total + ${f:-0} ))
  echo "=== preset $p: $(( $(date +%s) - t0 )) s ==="
done
echo "=== all presets: $(( $(date +%s) - start )) s ==="
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED presets: ${failed[*]}"
  echo "tests: ${passed_total} passed, ${failed_total} failed"
  exit 1
fi
echo "all presets passed: ${presets[*]}"
echo "tests: ${passed_total} passed, ${failed_total} failed"
