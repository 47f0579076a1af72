#!/usr/bin/env bash
# Installs the Debian packages mpscq's tests and benchmarks need, only those
# that are missing. Usage: scripts/deps.sh [test|bench|all]   (default: all)
set -euo pipefail
what=${1:-all}

build=(cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config)  # compiler-rt: the clang preset's sanitizers and libFuzzer
test=(libgtest-dev relacy-dev spin liburing-dev valgrind
      libasio-dev libc++-14-dev libc++abi-14-dev)  # asio.hpp's tests (standalone Asio + Boost.Asio from libboost-dev); the libc++ check
bench=(libconcurrentqueue-dev libboost-dev liburcu-dev libatomic-queue-dev libxenium-dev
       liburing-dev python3-matplotlib valgrind)
case "$what" in
  test) want=("${build[@]}" "${test[@]}" "${bench[@]}") ;;  # the bench smoke tests build every contender
  bench) want=("${build[@]}" "${bench[@]}") ;;
  all) want=("${build[@]}" "${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')
[ ${#missing[@]} -eq 0 ] && { echo "deps: all packages present"; exit 0; }

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "deps: need root to install packages; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || { echo "deps: apt-get update failed; run it by hand, then: apt-get install -y ${missing[*]}" >&2; exit 1; }
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
  echo "deps: apt-get install failed; run: apt-get install -y ${missing[*]}" >&2; exit 1; }
echo "deps: installed ${missing[*]}"
