#!/usr/bin/env bash
# Configures and builds trailwatch. Usage: deploy/build.sh BUILD_DIR [cmake -D options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: deploy/build.sh BUILD_DIR [cmake options]}
shift
cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
