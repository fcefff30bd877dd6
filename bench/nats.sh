#!/usr/bin/env bash
# Events/s through NATS JetStream with 1, 2 and 3 `trailwatch run` instances
# sharing a partitioned stream (README "Partitions across instances"; issue
# 9). The EHR corpus of bench/run.sh (corpus_generator, same seed) is
# published first with `trailwatch forward` (partition_key user.id,
# partitions 8) into a stream on a local `nats-server -js`; then, for each
# instance count, fresh durable consumers are drained by that many instances
# with every shipped pack, and the time from their start until every
# partition's consumer has nothing pending or unacknowledged is measured.
# All instances and the server share this machine's cores.
#
# Usage: bench/nats.sh [--events N] [--seed N] [--build-dir DIR] [--instances "1 2 3"]
#                      [--partitions N] [--no-append] [--keep]
# Needs a built trailwatch in DIR (default build) and nats-server.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
events=500000
seed=1
build_dir=$root/build
instances="1 2 3"
partitions=8
append=1
keep=0
command_line="bench/nats.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --instances) instances=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --no-append) append=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/nats.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { echo "bench/nats.sh: $*" >&2; }
die() { say "$*"; exit 1; }

trailwatch=$build_dir/daemon/trailwatch
[[ -x $trailwatch ]] || die "no $trailwatch (build it first)"
command -v nats-server >/dev/null || die "nats-server missing (deploy/install-deps.sh)"
admin="python3 $root/bench/nats_admin.py"

work=$(mktemp -d /tmp/trailwatch-nats-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $keep == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b - a}'; }

say "corpus: $events EHR events, seed $seed"
g++ -O2 -std=c++20 -o "$work/corpus_generator" "$root/bench/corpus_generator.cc"
mkdir -p "$work/logs"
"$work/corpus_generator" --seed "$seed" --events "$events" --kind ehr --out "$work/logs/ehr.ndjson"
bytes=$(stat -c %s "$work/logs/ehr.ndjson")

port=$(free_port)
url=nats://127.0.0.1:$port
nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/js" >"$work/nats-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do $admin "127.0.0.1:$port" stream-msgs X >/dev/null 2>&1 && break; sleep 0.1; done
$admin "127.0.0.1:$port" stream-create AUDIT 'audit.ehr.>'

cat >"$work/forward.yaml" <<YAML
state_dir: $work/forward-state
rules: [$root/rules]
placeholders:
  internal_networks: $root/deploy/lookups/internal_networks.txt
  phi_tables: $root/deploy/lookups/phi_tables.txt
  phi_app_db_roles: $root/deploy/lookups/phi_app_db_roles.txt
  sudo_allowed_users: $root/deploy/lookups/sudo_allowed_users.txt
sources:
  - name: ehr
    paths: [$work/logs/ehr.ndjson]
    format: json
    start_at: beginning
forward:
  url: $url
  subject: audit.ehr
  partition_key: user.id
  partitions: $partitions
YAML
say "publishing with trailwatch forward"
start=$(now)
"$trailwatch" forward -c "$work/forward.yaml" 2>"$work/forward.err" &
fpid=$!
pids+=($fpid)
while [[ $($admin "127.0.0.1:$port" stream-msgs AUDIT) -lt $events ]]; do
  kill -0 $fpid 2>/dev/null || die "forward died: $(tail -3 "$work/forward.err")"
  sleep 0.1
done
forward_s=$(elapsed "$start" "$(now)")
kill -TERM $fpid; wait $fpid || true
say "forward: $forward_s s"

declare -A drain steady steady_events
declare -A mport
# "yes" when the running instances own every partition between them and
# each owns some (the first one up takes all, then releases the surplus).
settled_now() {
  local n=$1 i sum=0 v
  for ((i = 0; i < n; i++)); do
    v=$(curl -s "http://127.0.0.1:${mport[$i]}/metrics" 2>/dev/null |
      awk '/^trailwatch_nats_partitions_owned/{print $2}')
    [[ ${v:-0} -gt 0 ]] || { echo no; return; }
    sum=$((sum + v))
  done
  [[ $sum == "$partitions" ]] && echo yes || echo no
}
for n in $instances; do
  consumer=bench$n
  ipids=()
  start=$(now)
  for ((i = 0; i < n; i++)); do
    d=$work/run$n-$i
    mkdir -p "$d"
    mport[$i]=$(free_port)
    cat >"$d/trailwatch.yaml" <<YAML
state_dir: $d/state
rules: [$root/rules]
checkpoint_interval: 1s
metrics: {listen: "127.0.0.1:${mport[$i]}"}
placeholders:
  internal_networks: $root/deploy/lookups/internal_networks.txt
  phi_tables: $root/deploy/lookups/phi_tables.txt
  phi_app_db_roles: $root/deploy/lookups/phi_app_db_roles.txt
  sudo_allowed_users: $root/deploy/lookups/sudo_allowed_users.txt
lookups:
  - {name: staff, path: $root/deploy/lookups/staff.csv, key: user_id, match: user.id, prefix: staff.}
  - {name: patients, path: $root/deploy/lookups/patients.csv, key: patient_id, match: patient.id, prefix: patient.}
sources:
  - name: bus
    type: nats
    url: $url
    stream: AUDIT
    subject: audit.ehr
    consumer: $consumer
    partitions: $partitions
    instance: i$i
    batch: 1000
    ack_wait: 30s
    format: json
    logsource: {product: ehr, service: audit, category: phi-access}
outputs:
  - {type: file, path: $d/alerts.jsonl}
YAML
    "$trailwatch" run -c "$d/trailwatch.yaml" 2>"$d/run.err" &
    ipids+=($!)
    pids+=($!)
  done
  settled=""
  while true; do
    b=$($admin "127.0.0.1:$port" backlog AUDIT "$consumer" "$partitions")
    if [[ -z $settled && $b -gt 0 && $(settled_now "$n") == yes ]]; then
      settled=$(now)
      settled_backlog=$b
    fi
    [[ $b == 0 ]] && break
    for p in "${ipids[@]}"; do kill -0 "$p" 2>/dev/null || die "an instance died: $(tail -3 "$work"/run$n-*/run.err)"; done
    sleep 0.2
  done
  end=$(now)
  drain[$n]=$(elapsed "$start" "$end")
  if [[ -n $settled ]]; then
    steady[$n]=$(elapsed "$settled" "$end")
    steady_events[$n]=$settled_backlog
  else
    steady[$n]=""
  fi
  say "$n instance(s): $events events in ${drain[$n]} s; after the partitions settled, ${steady_events[$n]:-?} in ${steady[$n]:-?} s"
  for p in "${ipids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
done

rate() { awk -v e="$events" -v s="$1" 'BEGIN{printf "%\047d", e / s}'; }
commit=$(git -C "$root" rev-parse --short HEAD)
table="
## $(date -u +%Y-%m-%d) — NATS JetStream: 1, 2, 3 instances on a partitioned stream (issue 9)

- Machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average before: $(cut -d' ' -f1-3 /proc/loadavg); nats-server $(nats-server --version | awk '{print $2}').
- Commit: $commit; build: $build_dir ($(grep -m1 CMAKE_BUILD_TYPE "$build_dir/CMakeCache.txt" | cut -d= -f2)).
- Command: \`$command_line\`
- Corpus: $(printf "%'d" "$events") EHR events (corpus_generator seed $seed, $(printf "%'d" "$bytes") bytes), published by \`trailwatch forward\` to $partitions partitions by user.id; every shipped pack with the deploy lookups; checkpoint_interval 1s, batch 1000.
- Whole drain: from starting the instances to every partition's consumer having nothing pending or unacknowledged (start-up, lease settling and the last checkpoint included). Settled: from the moment the instances together own all partitions (each at its share; the first one up takes all and releases the surplus once acknowledged) to the end, over the backlog (pending + unacknowledged) at that moment.
- **Caveat: the instances, nats-server and the measuring loop share $(nproc) cores**, so more instances cannot add CPU; these figures show the overhead and the balance of partitioning, not scaling. On separate hosts each instance would bring its own cores.

| run | wall s | events/s | settled: events / s | settled events/s |
|---|---:|---:|---:|---:|
| trailwatch forward → stream (publish, $partitions partitions) | $forward_s | $(rate "$forward_s") | — | — |"
for n in $instances; do
  table+="
| $n instance(s) draining the stream | ${drain[$n]} | $(rate "${drain[$n]}") | ${steady_events[$n]:-—} / ${steady[$n]:-—} | $([[ -n ${steady[$n]} ]] && awk -v e="${steady_events[$n]}" -v s="${steady[$n]}" 'BEGIN{printf "%\047d", e / s}' || echo —) |"
done
echo "$table"
if [[ $append == 1 ]]; then echo "$table" >>"$root/bench/RESULTS.md"; fi
