#!/bin/bash
# Run by deploy/package-test.sh inside the throwaway root (chroot into an
# overlay of /, private mount, PID and network namespaces): installs
# /tmp/trailwatch.deb and checks what the package promises.
# Usage: install-test-inside.sh VERSION
set -euo pipefail
version=$1
fail() {
  echo "package-test (inside): FAILED: $*" >&2
  exit 1
}
daemon=""
trap '[[ -n $daemon ]] && kill -KILL "$daemon" 2>/dev/null; true' EXIT
# waitFor SECONDS COMMAND...: polls until COMMAND succeeds.
waitFor() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

getent passwd trailwatch >/dev/null && fail "the throwaway root already has a trailwatch user"
echo "-- dpkg -i"
DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/trailwatch.deb
[[ $(dpkg-query -W -f '${Status} ${Version}' trailwatch) == "install ok installed $version" ]] ||
  fail "dpkg-query: $(dpkg-query -W -f '${Status} ${Version}' trailwatch)"

echo "-- the user, the files, the folders"
id trailwatch
getent group trailwatch >/dev/null || fail "no trailwatch group"
[[ $(getent passwd trailwatch | cut -d: -f6) == /var/lib/trailwatch ]] || fail "home of trailwatch"
for f in /usr/bin/trailwatch /usr/lib/systemd/system/trailwatch.service \
  /usr/lib/sysusers.d/trailwatch.conf /etc/trailwatch/trailwatch.yaml \
  /etc/trailwatch/lookups/staff.csv /usr/share/trailwatch/rules/README.md \
  /usr/share/trailwatch/demo/trailwatch.yaml /usr/share/doc/trailwatch/README.md; do
  [[ -f $f ]] || fail "$f not installed"
done
for d in /var/lib/trailwatch /var/log/trailwatch; do
  [[ $(stat -c '%U:%G %a' "$d") == "trailwatch:trailwatch 750" ]] || fail "$d: $(stat -c '%U:%G %a' "$d")"
done
[[ $(trailwatch --version) == "trailwatch $version" ]] || fail "--version: $(trailwatch --version)"
# The installed units load: directives known, ExecStart and friends present.
units=(/usr/lib/systemd/system/trailwatch.service)
[[ -f /usr/lib/systemd/system/trailwatch.socket ]] && units+=(/usr/lib/systemd/system/trailwatch.socket)
systemd-analyze verify "${units[@]}" || fail "systemd-analyze verify ${units[*]}"
# Not enabled, not started: no wants link, and no systemd to start it here.
[[ ! -e /etc/systemd/system/multi-user.target.wants/trailwatch.service ]] || fail "the service was enabled"

echo "-- trailwatch check (root, then the trailwatch user)"
trailwatch check -c /etc/trailwatch/trailwatch.yaml >/tmp/check.out || {
  cat /tmp/check.out
  fail "trailwatch check as root"
}
tail -3 /tmp/check.out
runuser -u trailwatch -- trailwatch check -c /etc/trailwatch/trailwatch.yaml >/dev/null ||
  fail "trailwatch check as the trailwatch user"

echo "-- the shipped rules' tests, with the demo's lookups"
runuser -u trailwatch -- trailwatch test --require-tests \
  -c /usr/share/trailwatch/demo/trailwatch.yaml /usr/share/trailwatch/rules | tail -1

echo "-- the daemon as the trailwatch user on the installed configuration"
# /var/log/auth.log does not exist yet (no rsyslog here): the source picks
# it up when it appears, and reads a new file from its start.
rm -f /var/log/auth.log
setpriv --reuid=trailwatch --regid=trailwatch --init-groups \
  trailwatch run -c /etc/trailwatch/trailwatch.yaml >/tmp/run.out 2>/tmp/run.err &
daemon=$!
metricsUp() { curl -fsS http://127.0.0.1:9808/metrics >/dev/null 2>&1; }
waitFor 20 metricsUp || {
  cat /tmp/run.err
  fail "the daemon's metrics never came up"
}
echo "$(date -u +%Y-%m-%dT%H:%M:%S.000000+00:00) host1 sudo:  mallory : TTY=pts/0 ; PWD=/home/mallory ; USER=root ; COMMAND=/usr/bin/id" >/var/log/auth.log
alerted() { grep -q '"Root shell or command via sudo or su by a user not on the admin list"' /var/log/trailwatch/alerts.jsonl 2>/dev/null; }
waitFor 20 alerted || {
  cat /tmp/run.err
  fail "no alert in /var/log/trailwatch/alerts.jsonl for mallory's sudo"
}
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=""
[[ $status -eq 0 ]] || fail "the daemon exited $status after SIGTERM"
[[ $(stat -c %U /var/log/trailwatch/alerts.jsonl) == trailwatch ]] || fail "alert log owner"
[[ -n $(find /var/lib/trailwatch -type f -user trailwatch) ]] || fail "no checkpoint in /var/lib/trailwatch"
trailwatch verify /var/log/trailwatch/alerts.jsonl >/dev/null || fail "the alert log's hash chain"
echo "alert raised, SIGTERM exit 0, checkpoints in /var/lib/trailwatch"

echo "-- reinstall keeps an edited conffile"
echo "# edited by the admin" >>/etc/trailwatch/trailwatch.yaml
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /tmp/trailwatch.deb >/dev/null
grep -q '^# edited by the admin$' /etc/trailwatch/trailwatch.yaml || fail "the edit was lost"

echo "-- dpkg --purge"
dpkg --purge trailwatch
for p in /usr/bin/trailwatch /etc/trailwatch /var/lib/trailwatch /var/log/trailwatch \
  /usr/share/trailwatch /usr/lib/systemd/system/trailwatch.service; do
  [[ ! -e $p ]] || fail "$p is left after purge"
done
left=$(dpkg-query -W -f '${Status}' trailwatch 2>/dev/null || true)
[[ -z $left || $left == *not-installed ]] || fail "dpkg still has trailwatch: $left"
echo "purged: binary, /etc/trailwatch, state and logs gone (the user stays, as Debian does)"

echo "-- without systemd-sysusers, postinst creates the user with adduser"
userdel trailwatch
getent group trailwatch >/dev/null && groupdel trailwatch
sysusers=$(command -v systemd-sysusers)
mv "$sysusers" "$sysusers.hidden"
DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/trailwatch.deb >/dev/null
mv "$sysusers.hidden" "$sysusers"
entry=$(getent passwd trailwatch) || fail "adduser made no trailwatch user"
[[ $(cut -d: -f6 <<<"$entry") == /var/lib/trailwatch ]] || fail "home: $entry"
[[ $(cut -d: -f7 <<<"$entry") == */nologin ]] || fail "shell: $entry"
[[ $(id -gn trailwatch) == trailwatch ]] || fail "primary group: $(id -gn trailwatch)"
[[ $(stat -c '%U:%G %a' /var/lib/trailwatch) == "trailwatch:trailwatch 750" ]] || fail "/var/lib/trailwatch"
runuser -u trailwatch -- trailwatch check -c /etc/trailwatch/trailwatch.yaml >/dev/null ||
  fail "trailwatch check as the adduser-made user"
dpkg --purge trailwatch >/dev/null
echo "adduser fallback: $entry"
