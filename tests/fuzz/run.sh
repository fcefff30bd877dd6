#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage on our
# code) and fuzzes each for SECONDS (default 30), starting from the seeds
# (tests/fuzz/seeds/<name>/) and the committed corpus (tests/fuzz/corpus/<name>/).
# The checkout is only read: new inputs go to a temporary folder (libFuzzer
# writes into its first corpus folder), removed at the end. New crashes are
# left in build-fuzz/crashes/; copy a minimized one into
# tests/fuzz/seeds/<name>/ so every build replays it from then on.
#
# Usage: tests/fuzz/run.sh [SECONDS]          fuzz (what CI runs)
#        tests/fuzz/run.sh --grow [SECONDS]   fuzz, then merge what was found
#                                             into tests/fuzz/corpus/<name>/
#                                             (-merge=1: only inputs that add
#                                             coverage); commit the result
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
grow=false
if [[ ${1:-} == --grow ]]; then
  grow=true
  shift
fi
seconds=${1:-30}
dir="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTRAILWATCH_FUZZ=ON -DTRAILWATCH_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
targets=$(cd "$root/tests/fuzz" && ls *_fuzz.cc | sed 's/\.cc$//')
# shellcheck disable=SC2086
cmake --build "$dir" --target $targets -j 2
mkdir -p "$dir/crashes"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
  name=${target%_fuzz}
  work="$scratch/$name"
  mkdir -p "$work"
  inputs=()
  for d in "$root/tests/fuzz/seeds/$name" "$root/tests/fuzz/corpus/$name"; do
    [[ -d $d ]] && inputs+=("$d")
  done
  echo "== fuzzing $target for ${seconds}s (${inputs[*]#"$root/"})"
  "$dir/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/crashes/$target-" -print_final_stats=1 "$work" "${inputs[@]}" 2>&1 | tail -n 12
  if $grow; then
    corpus="$root/tests/fuzz/corpus/$name"
    mkdir -p "$corpus"
    # Inputs that add coverage beyond the seeds and the corpus go in.
    "$dir/tests/fuzz/$target" -merge=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      "$corpus" "$work" 2>&1 | tail -n 2
  fi
done
