#!/usr/bin/env bash
# Installs the Debian 12 packages trailwatch needs to build, run and test.
# Idempotent: installs only what is missing, and touches apt only then.
# Usage: deploy/install-deps.sh [--bench]
#   --bench  also the whole-daemon benchmark's peers and tools (bench/run.sh):
#            mtail and jq (the peers), yq (its config edit), GNU time (peak
#            RSS), linux-perf (profiles)
set -euo pipefail

bench=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    *) echo "usage: deploy/install-deps.sh [--bench]" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git clang-format
  # libraries (Debian 12 packages only)
  libboost-dev libboost-program-options-dev libsimdjson-dev libre2-dev
  libspdlog-dev libfmt-dev prometheus-cpp-dev libyaml-cpp-dev libssl-dev
  libsystemd-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # promtool, to check /metrics output in the integration tests
  prometheus
  # the alertmanager sink's integration test starts its own Alertmanager
  prometheus-alertmanager
  # fuzzing the decoders and the rule loader (libFuzzer)
  clang libclang-rt-14-dev
  # the pgaudit end-to-end test starts its own PostgreSQL 15 with pgaudit
  postgresql-15 postgresql-15-pgaudit
  # the syslog listener tests send with logger (bsdutils) and make and use
  # TLS certificates with the openssl command
  bsdutils openssl
  # the journald source tests write real journal files with systemd-journal-remote
  systemd-journal-remote
  # the Debian package (cpack -G DEB): dpkg-shlibdeps computes Depends; its
  # test (deploy/package-test.sh) brings up lo in a network namespace with
  # ip, polls /metrics with curl and reads ELF sections with readelf (binutils)
  dpkg-dev iproute2 curl binutils
  # the unit checks (systemd-analyze verify/security, systemd-sysusers) and the
  # socket activation test (systemd-socket-activate); no running systemd needed
  systemd
  # the nats source, output and forwarder (nats.c 3.4, JetStream); the
  # integration test starts its own nats-server -js on loopback
  nats-server libnats-dev
)
if [[ $bench -eq 1 ]]; then
  # bench/nats.sh talks to the JetStream API with python3 (no nats CLI in Debian 12)
  packages+=(mtail jq yq time linux-perf python3)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
# The prometheus, alertmanager and postgresql packages would start their own servers;
# only their programs are wanted (tests start private instances), so keep
# package scripts from starting services.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  added_policy=1
fi
trap '[[ $added_policy -eq 1 ]] && $sudo rm -f '"$policy" EXIT
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
