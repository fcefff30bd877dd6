#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# daemon on the bundled default configuration (deploy/trailwatch.yaml):
# sample EHR audit logs that keep growing (and rotate), for the PHI-access
# rules; static sample auth, auditd, CloudTrail, Kubernetes audit and
# PostgreSQL logs (deploy/samples/), for the SOC 2 CC7 and audit-integrity
# rules, read once (remove var/state to have them read again); the shipped
# rules; alerts on this terminal and in var/alerts.jsonl; metrics on
# http://127.0.0.1:9808/metrics. Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAILWATCH_TESTS=OFF

mkdir -p "$root/var/sample-logs"
"$root/deploy/sample-writer.sh" "$root/var/sample-logs" &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT INT TERM

echo "trailwatch: alerts below and in $root/var/alerts.jsonl; metrics on http://127.0.0.1:9808/metrics; Ctrl-C stops" >&2
"$root/build/daemon/trailwatch" run -c "$root/deploy/trailwatch.yaml"
