#!/usr/bin/env bash
# Routing of deploy/alertmanager/alertmanager.yml: which receiver each kind
# of alert reaches (`amtool config routes test --verify.receivers` fails on
# a mismatch). Skips (77) without amtool.
set -uo pipefail
config=${1:?usage: alertmanager-routes.sh alertmanager.yml}
if ! command -v amtool >/dev/null 2>&1; then
  echo "SKIPPED: amtool not found; install the Debian package prometheus-alertmanager (deploy/install-deps.sh)"
  exit 77
fi
failures=0
expect() {
  local receiver=$1
  shift
  if amtool config routes test --config.file="$config" --verify.receivers="$receiver" "$@" \
      >/dev/null 2>&1; then
    echo "ok: $* -> $receiver"
  else
    echo "FAIL: $* should reach $receiver, reaches:" \
      "$(amtool config routes test --config.file="$config" "$@" 2>/dev/null)"
    failures=$((failures + 1))
  fi
}
# trailwatch's own health (Prometheus rules)
expect page alertname=TrailwatchDown severity=critical instance=127.0.0.1:9808
expect page alertname=TrailwatchSpoolFull severity=critical sink=siem
expect ticket alertname=TrailwatchSourceSilent severity=warning source=ehr
expect ticket alertname=TrailwatchRuleReloadFailed severity=warning
# detections from trailwatch's alertmanager output
expect page alertname="PHI break-the-glass" severity=high control=hipaa.164.312.b rule_id=r1
expect page alertname="PHI export" severity=medium control=hipaa.164.312.b,soc2.cc7.2 rule_id=r2
expect ticket alertname="Failed logins" severity=medium control=soc2.cc7.2 rule_id=r3
expect ticket alertname="Config change" severity=low control=soc2.cc7.3 rule_id=r4
expect ticket alertname="Unrouted" severity=unknown
[[ $failures -eq 0 ]] || { echo "$failures routing case(s) failed"; exit 1; }
