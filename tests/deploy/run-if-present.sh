#!/usr/bin/env bash
# Runs TOOL with its arguments, or skips (exit 77, ctest SKIP_RETURN_CODE)
# with a message naming the Debian package when TOOL is not installed.
# Usage: run-if-present.sh PACKAGE TOOL [ARGS...]
set -euo pipefail
package=$1 tool=$2
shift 2
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "SKIPPED: $tool not found; install the Debian package $package (deploy/install-deps.sh)"
  exit 77
fi
exec "$tool" "$@"
