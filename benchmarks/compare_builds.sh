#!/usr/bin/env bash
# bench_capture.py and bench_live.py against several builds of refgraph, one after the other on this machine: the
# before/after tables of the README.
#
#   bash benchmarks/compare_builds.sh 42cec7f 0c629f5 HEAD > compare.txt
#
# Each revision is checked out in a temporary git worktree and its Python module built there (Release, as
# `cmake --build` makes it); today's benchmark scripts are copied into it, so every build runs the same heaps and
# reads its statistics as bench_capture.py knows how (older builds kept them in a graph's metadata). Then:
# bench_capture.py --repeat 3 twice in turn over the builds, --heap big --repeat 1 once each, and
# bench_live.py --sizes 1000000 --repeat 3 once each. Needs what `make build` needs; takes some 20 minutes on
# 2 cores, most of it compiling.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 REV [REV...]" >&2
  exit 2
fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'for d in "$work"/*/; do git -C "$repo" worktree remove --force "$d" 2>/dev/null || true; done; rm -rf "$work"' EXIT
pybind11_dir="$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())')"

for rev in "$@"; do
  tree="$work/$rev"
  git -C "$repo" worktree add -q --detach "$tree" "$rev"
  cmake -S "$tree" -B "$tree/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python3)" \
    -Dpybind11_DIR="$pybind11_dir" > "$tree/cmake.log"
  cmake --build "$tree/build" -j 2 --target _core > "$tree/build.log"
  cp "$repo/benchmarks/bench_capture.py" "$repo/benchmarks/bench_live.py" "$tree/benchmarks/"
done

load() { cut -d' ' -f1 /proc/loadavg; }
for round in 1 2; do
  for rev in "$@"; do
    echo "=== capture $rev round $round $(date +%T) load $(load)"
    (cd "$work/$rev" && PYTHONPATH="$work/$rev/bindings" python3 benchmarks/bench_capture.py --repeat 3)
  done
done
for rev in "$@"; do
  echo "=== capture-big $rev $(date +%T) load $(load)"
  (cd "$work/$rev" && PYTHONPATH="$work/$rev/bindings" python3 benchmarks/bench_capture.py --heap big --repeat 1)
done
for rev in "$@"; do
  echo "=== live $rev $(date +%T) load $(load)"
  (cd "$work/$rev" && python3 benchmarks/bench_live.py --sizes 1000000 --repeat 3 --timeout 60)
done
