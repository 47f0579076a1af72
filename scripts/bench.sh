#!/usr/bin/env bash
# The headline benchmark (the README's main job): installs missing Debian
# packages, builds mpscq-bench (release preset), runs the quick benchmark and
# prints its tables; writes out/bench.csv, out/bench.png and out/bench.txt.
# Extra arguments go to mpscq-bench, e.g.:
#   scripts/bench.sh --full          longer, more samples (run on a quiet machine)
#   scripts/bench.sh --only S4,S5    a subset of the scenarios
#   scripts/bench.sh --only S2,S3 --load 2 --reps 9
#                                    on a loaded machine: 2 busy threads during every case
#   scripts/bench.sh --contenders "mpscq::queue,llist"   only these contenders (name substrings)
# Instruction counts and simulated cache misses (repeatable to the unit):
#   scripts/callgrind.sh, scripts/cachegrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
# Not strict (MPSCQ_REQUIRE_ALL=OFF): the bench needs only the bench packages,
# not GoogleTest or the model checkers that the release preset also builds.
cmake --preset release -DMPSCQ_REQUIRE_ALL=OFF >/dev/null
cmake --build --preset release -j"$(nproc)" --target mpscq-bench
mkdir -p out
echo "=== mpscq-bench $* (tables below; progress on stderr) ==="
build/release/bench/mpscq-bench --csv out/bench.csv --plot out/bench.png "$@" | tee out/bench.txt
