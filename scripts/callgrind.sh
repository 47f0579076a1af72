#!/usr/bin/env bash
# Instructions per item, repeatable to the instruction: S1's push N + pop N
# loop (N = 8, 1024, 65536) and S4's drains (K = 8, 1024; contiguous and
# scattered) for every contender, run under callgrind with only the measured
# region collected (mpscq-bench --valgrind callgrind toggles collection around
# it and dumps one profile per region). Also prints each contender's excess
# over the plain-array floor.
# Usage: scripts/callgrind.sh [--only S1|S4]      (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/valgrind_run.sh callgrind "$@"
