#!/usr/bin/env bash
# Checks the shipped systemd units offline, with no running systemd:
# - `systemd-analyze verify` on trailwatch.service (and with the
#   privileged-port drop-in folded in) and trailwatch.socket: exit 0 and
#   nothing printed (verify only warns, exit 0, on unknown keys, so any
#   output is a failure);
# - `systemd-analyze security --offline=true`: the exposure band of
#   trailwatch.service must be OK or better (systemd's bands: PERFECT 0.0,
#   SAFE < 1.0, OK < 5.0, MEDIUM < 7.5, EXPOSED < 9.0, UNSAFE < 10,
#   DANGEROUS), and the score is printed for the README;
# - systemd-sysusers creates the trailwatch user in a scratch root.
# verify needs ExecStart= to name an existing executable, so the units are
# checked as copies with /usr/bin/trailwatch replaced by the built binary.
# Usage: check_units.sh SOURCE_DIR TRAILWATCH_BINARY
set -euo pipefail
src=${1:?source dir}
bin=${2:?trailwatch binary}
for tool in systemd-analyze systemd-sysusers; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (apt-get install systemd)"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

sed "s#/usr/bin/trailwatch#$bin#g" "$src/systemd/trailwatch.service" >"$tmp/trailwatch.service"
cp "$src/systemd/trailwatch.socket" "$tmp/trailwatch.socket"
cat "$tmp/trailwatch.service" "$src/systemd/privileged-port.conf.example" \
  >"$tmp/trailwatch-privileged.service"

cd "$tmp"
for unit in trailwatch.service trailwatch.socket trailwatch-privileged.service; do
  if ! out=$(systemd-analyze verify "./$unit" 2>&1) || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $unit:"
    echo "$out"
    fail=1
  else
    echo "ok: systemd-analyze verify $unit"
  fi
done

for unit in trailwatch.service trailwatch-privileged.service; do
  line=$(systemd-analyze security --offline=true "./$unit" 2>&1 | grep 'Overall exposure level' || true)
  # → Overall exposure level for trailwatch.service: 1.3 OK 🙂
  score=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1/p' <<<"$line")
  band=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\2/p' <<<"$line")
  echo "$unit: exposure $score $band"
  case "$band" in
    PERFECT | SAFE | OK) ;;
    *)
      echo "FAIL: $unit exposure band '$band' (score '$score'), want OK or better"
      systemd-analyze security --offline=true "./$unit" 2>&1 | grep '✗' || true
      fail=1
      ;;
  esac
done

mkdir -p root/etc
systemd-sysusers --root="$tmp/root" "$src/systemd/trailwatch.sysusers" >/dev/null
if grep -q '^trailwatch:' root/etc/passwd && grep -q '^trailwatch:' root/etc/group; then
  echo "ok: systemd-sysusers creates user and group trailwatch"
else
  echo "FAIL: systemd-sysusers did not create trailwatch"
  fail=1
fi
exit $fail
