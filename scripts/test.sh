#!/usr/bin/env bash
# The whole test suite: every tier (unit, stress, model, headers, smoke) in
# every preset (release with models; asan; tsan; clang). Exits non-zero on any
# failure. Usage: scripts/test.sh [preset ...]   (default: all presets)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan tsan clang portable)
jobs=$(nproc)
start=$(date +%s)
failed=()
for p in "${presets[@]}"; do
  echo "=== preset $p: configure + build ==="
  t0=$(date +%s)
  if ! { cmake --preset "$p" >/dev/null && cmake --build --preset "$p" -j "$jobs"; }; then
    failed+=("$p(build)"); continue
  fi
  echo "=== preset $p: test ==="
  ctest --preset "$p" -j "$jobs" || failed+=("$p")
  echo "=== preset $p: $(( $(date +%s) - t0 )) s ==="
done
echo "=== all presets: $(( $(date +%s) - start )) s ==="
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED presets: ${failed[*]}"
  exit 1
fi
echo "all presets passed: ${presets[*]}"
