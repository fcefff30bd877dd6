#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage on our
# code) and fuzzes each for SECONDS (default 30), starting from the seeds.
# New crashes are left in build-fuzz/crashes/; copy a minimized one into
# tests/fuzz/seeds/<target>/ so every build replays it from then on.
# Usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-30}
dir="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTRAILWATCH_FUZZ=ON -DTRAILWATCH_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
targets=$(cd "$root/tests/fuzz" && ls *_fuzz.cc | sed 's/\.cc$//')
# shellcheck disable=SC2086
cmake --build "$dir" --target $targets
mkdir -p "$dir/crashes"
for target in $targets; do
  seeds=${target%_fuzz}
  work="$dir/corpus/$seeds"
  mkdir -p "$work"
  echo "== fuzzing $target for ${seconds}s"
  "$dir/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/crashes/$target-" -print_final_stats=1 "$work" "$root/tests/fuzz/seeds/$seeds" 2>&1 | tail -n 12
done
