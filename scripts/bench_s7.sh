#!/usr/bin/env bash
# S7, producer scaling, on a many-core machine, in one command: builds a
# static mpscq-bench, runs S7 alone with 1..P producers (P = CPUs - 1, at most
# 15; on 2 CPUs P = 1) in both item layouts (ring and scattered, interleaved
# in every repetition), and writes the tables, the CSV and the plot to
# docs/results/s7-<hostname>-<date>.{txt,csv,png}.
#
# Usage: scripts/bench_s7.sh [options] [-- more mpscq-bench options]
#   --smoke         a few thousand items per run: checks the script, the
#                   binary and the checks; the figures mean nothing
#   --full          longer measurements (mpscq-bench --full)
#   --reps N        repetitions (default 5)
#   --producers P   the largest producer count (default CPUs - 1, 1..15)
#   --out DIR       where the three files go (default docs/results)
#   --bin FILE      run this mpscq-bench instead of building one (a static
#                   binary built elsewhere: no compiler or packages needed here)
#   --build-only    build the static binary, print where it is, run nothing
# Environment: BUILD_DIR (default build/s7-static), JOBS (build jobs, default
# all CPUs).
#
# Why static: the machine with many cores need not have the peers' packages
# (liburing is the only library the bench links; libc, libstdc++ and liburing
# go into the binary: bench/CMakeLists.txt, MPSCQ_BENCH_STATIC). Build it here
# with --build-only, copy it and this checkout's scripts/ over, run
# scripts/bench_s7.sh --bin FILE there. The script says whether the binary it
# runs is static (ldd; and what `file` says), and the .txt's header records it.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=() reps=5 producers="" out=docs/results bin="" build_only=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke | --full) mode=("$1") ;;
    --reps) reps=${2:?--reps needs a value}; shift ;;
    --producers) producers=${2:?--producers needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    --bin) bin=${2:?--bin needs a value}; shift ;;
    --build-only) build_only=1 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_s7: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$bin" ]; then
  build=${BUILD_DIR:-build/s7-static}
  scripts/deps.sh bench
  # Not strict (MPSCQ_REQUIRE_ALL=OFF): only the bench's packages are needed.
  mkdir -p "$build"
  cmake --preset release -DMPSCQ_REQUIRE_ALL=OFF -DMPSCQ_BENCH_STATIC=ON -B "$build" >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2; exit 1; }
  grep "MPSCQ_BENCH_STATIC" "$build/configure.log" | sed 's/^ */cmake: /' || true
  cmake --build "$build" -j"${JOBS:-$(nproc)}" --target mpscq-bench
  bin=$build/bench/mpscq-bench
fi
[ -x "$bin" ] || { echo "bench_s7: no executable at $bin" >&2; exit 1; }

kind=$(file -b "$bin" 2>/dev/null || echo "(file(1) not installed)")
# ldd lists a dynamic executable's libraries and fails on a static one.
if libs=$(ldd "$bin" 2>/dev/null); then
  linkage="NOT static, needs: $(echo "$libs" | awk '{print $1}' | grep -v '^linux-vdso' | tr '\n' ' ')"
else
  linkage="static"
fi
size=$(du -h "$bin" | cut -f1)
echo "bench_s7: binary $bin ($size, $linkage)"
echo "          $kind"
[ "$build_only" -eq 1 ] && exit 0

cpus=$(nproc)
if [ -z "$producers" ]; then
  producers=$((cpus - 1))
  [ "$producers" -lt 1 ] && producers=1
  [ "$producers" -gt 15 ] && producers=15
fi
host=$(hostname -s 2>/dev/null || uname -n)
host=${host//[^A-Za-z0-9._-]/_}
mkdir -p "$out"
stem=$out/s7-$host-$(date +%Y-%m-%d)
# A second run on the same day keeps the first one's files.
[ -e "$stem.txt" ] || [ -e "$stem.csv" ] && stem=$stem-$(date +%H%M%S)

echo "=== bench_s7: $cpus CPUs, S7 with 1..$producers producers, $reps repetitions, both layouts -> $stem.{txt,csv,png} ==="
set +e
{
  echo "bench_s7: $bin ($size, $linkage); $kind"
  echo "bench_s7: $bin --only S7 --producers $producers --reps $reps ${mode[*]} ${extra[*]}"
  "$bin" --only S7 --producers "$producers" --reps "$reps" --csv "$stem.csv" "${mode[@]}" "${extra[@]}"
} | tee "$stem.txt"
status=("${PIPESTATUS[@]}")
set -e
rc=${status[0]}  # the bench's (1: a violation, 2: bad options), not tee's

# The plot from here (not through mpscq-bench --plot, whose script path is
# the build machine's). Debian's python3-matplotlib belongs to
# /usr/bin/python3, which a pyenv or venv python3 on PATH may hide.
plotted=0
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" scripts/plot_bench.py "$stem.csv" "$stem.png" && plotted=1
    break
  fi
done
if [ "$plotted" -eq 0 ]; then
  echo "bench_s7: no plot (no python3 with matplotlib: apt-get install python3-matplotlib); the CSV has every figure" >&2
  [ "$rc" -eq 0 ] && rc=3
fi
echo "bench_s7: wrote $stem.txt $stem.csv$([ "$plotted" -eq 1 ] && echo " $stem.png") (exit status $rc)"
exit "$rc"
