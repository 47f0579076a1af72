#!/usr/bin/env bash
# Simulated cache misses per item for S4's drains (K = 8, 1024; items
# contiguous, or scattered over 64 MiB with a 96 MiB buffer touched in
# between), repeatable exactly. Uses valgrind's cache simulator (the one
# cachegrind uses) through callgrind --cache-sim=yes, because valgrind 3.19's
# cachegrind has no client requests to scope the count to the drain itself.
# Usage: scripts/cachegrind.sh                       (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/valgrind_run.sh cachegrind --only S4 "$@"
