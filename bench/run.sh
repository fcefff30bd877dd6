#!/usr/bin/env bash
# The whole-daemon benchmark (issue 6): builds Release, generates the corpus,
# runs the parsing floor, trailwatch scan (1 worker, all workers), the peers
# (jq, mtail) and trailwatch run under a fixed append rate, one after the
# other, and appends one table to bench/RESULTS.md. bench/README.md says
# what each figure means.
#
# Usage: bench/run.sh [options]
#   --events N         EHR corpus size (default 2000000)
#   --other-events N   size of the FHIR and access-log corpora (default events/4)
#   --seed N           corpus seed (default 1)
#   --repeat N         runs of floor and scan; the median is reported (default 3)
#   --peer-repeat N    runs of jq and mtail (default 1)
#   --run-rate N       events/s appended for trailwatch run (default 100000)
#   --run-seconds N    how long (default 30)
#   --build-dir DIR    (default build-bench); --skip-build uses it as it is
#   --work-dir DIR     corpus and outputs (default: a new folder under /tmp, removed after)
#   --keep             keep the work folder
#   --profile          also perf record -g one single-worker scan; prints the top symbols
#   --wait-idle S      first wait up to S seconds for the 1-minute load average to drop below 1
#   --no-append        print the table, do not touch bench/RESULTS.md
#   --quick            --events 200000 --run-seconds 10 --repeat 1
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
events=2000000
other_events=""
seed=1
repeat=3
peer_repeat=1
run_rate=100000
run_seconds=30
build_dir="$root/build-bench"
work_dir=""
keep=0
skip_build=0
profile=0
wait_idle=0
append=1
command_line="bench/run.sh $*"

while [[ $# -gt 0 ]]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --other-events) other_events=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --peer-repeat) peer_repeat=$2; shift 2 ;;
    --run-rate) run_rate=$2; shift 2 ;;
    --run-seconds) run_seconds=$2; shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --work-dir) work_dir=$(realpath -m "$2"); keep=1; shift 2 ;;
    --keep) keep=1; shift ;;
    --skip-build) skip_build=1; shift ;;
    --profile) profile=1; shift ;;
    --wait-idle) wait_idle=$2; shift 2 ;;
    --no-append) append=0; shift ;;
    --quick) events=200000; run_seconds=10; repeat=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n $other_events ]] || other_events=$((events / 4))

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

for tool in jq yq mtail /usr/bin/time cmake ninja; do
  command -v "$tool" >/dev/null || die "$tool is missing: run deploy/install-deps.sh --bench"
done
if [[ $profile -eq 1 ]]; then
  command -v perf >/dev/null || die "perf is missing: run deploy/install-deps.sh --bench"
fi

# --- build -------------------------------------------------------------------
# The configuration deploy/build.sh and bench/README.md use; only the
# programs this harness runs are built, so an unrelated target that does not
# compile at the moment cannot stop the benchmark.
targets=(trailwatch corpus_generator parse_floor run_latency)
if [[ $skip_build -eq 0 ]]; then
  say "building Release in $build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAILWATCH_BENCH=ON \
    -DTRAILWATCH_TESTS=OFF >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}" >/dev/null
fi
trailwatch=$build_dir/daemon/trailwatch
generator=$build_dir/bench/corpus_generator
floor=$build_dir/bench/parse_floor
latency=$build_dir/bench/run_latency
for bin in "$trailwatch" "$generator" "$floor" "$latency"; do
  [[ -x $bin ]] || die "$bin not built"
done

# --- work folder and cleanup -------------------------------------------------
if [[ -z $work_dir ]]; then
  work_dir=$(mktemp -d /tmp/trailwatch-bench.XXXXXX)
else
  mkdir -p "$work_dir"
fi
daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [[ $keep -eq 0 ]]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT

if [[ $wait_idle -gt 0 ]]; then
  deadline=$((SECONDS + wait_idle))
  while (( SECONDS < deadline )) && awk '{exit !($1 >= 1.0)}' /proc/loadavg; do sleep 10; done
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- corpora -----------------------------------------------------------------
ehr=$work_dir/ehr.ndjson
fhir=$work_dir/fhir.ndjson
access=$work_dir/access.log
say "generating corpora in $work_dir (seed $seed)"
"$generator" --seed "$seed" --events "$events" --kind ehr --out "$ehr"
"$generator" --seed "$seed" --events "$other_events" --kind fhir --out "$fhir"
"$generator" --seed "$seed" --events "$other_events" --kind access-log --out "$access"
ehr_bytes=$(stat -c %s "$ehr")
fhir_bytes=$(stat -c %s "$fhir")
access_bytes=$(stat -c %s "$access")
# Read each once so every tool starts from the page cache.
cat "$ehr" "$fhir" "$access" >/dev/null

# --- measuring ---------------------------------------------------------------
# measure NAME REPEATS OUT CMD...: runs CMD (stdout to OUT) REPEATS times under
# GNU time; keeps the run with the median wall time (wall[NAME], cpu[NAME],
# taken from EPOCHREALTIME and time's user+sys) and the largest peak RSS of
# all runs (rss[NAME], KiB). Each run's stderr is kept in NAME.err.
declare -A wall cpu rss
measure() {
  local name=$1 n=$2 out=$3
  shift 3
  local i walls=() start end user sys maxrss peak=0
  for ((i = 1; i <= n; i++)); do
    start=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$work_dir/$name.time" "$@" >"$out" 2>"$work_dir/$name.err" ||
      die "$name failed: $(tail -3 "$work_dir/$name.err")"
    end=$EPOCHREALTIME
    read -r user sys maxrss <"$work_dir/$name.time"
    walls+=("$(awk -v a="$start" -v b="$end" -v u="$user" -v s="$sys" \
      'BEGIN{printf "%.6f %.2f", b - a, u + s}')")
    (( maxrss > peak )) && peak=$maxrss
    say "$name run $i: $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b - a}') s, peak RSS $((maxrss / 1024)) MiB"
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((n + 1) / 2))p")
  wall[$name]=${median% *}
  cpu[$name]=${median#* }
  rss[$name]=$peak
}

workers_all=$(nproc)
config=$root/deploy/trailwatch.yaml
say "floor"
measure floor "$repeat" "$work_dir/floor.out" "$floor" -c "$config" "$ehr"
say "trailwatch scan, 1 worker"
measure scan1 "$repeat" "$work_dir/scan1.alerts" \
  "$trailwatch" scan -c "$config" --format json --workers 1 "$ehr"
say "trailwatch scan, $workers_all workers"
measure scanall "$repeat" "$work_dir/scanall.alerts" \
  "$trailwatch" scan -c "$config" --format json --workers "$workers_all" "$ehr"
say "jq"
measure jq "$peer_repeat" "$work_dir/jq.out" jq -c -f "$root/bench/peers/bulk_export.jq" "$ehr"
say "mtail"
measure mtail "$peer_repeat" "$work_dir/mtail.out" \
  mtail --one_shot --one_shot_format=json --port 0 --address 127.0.0.1 \
  --progs "$root/bench/peers/bulk_export.mtail" --logs "$ehr"
say "trailwatch scan, fhir and access-log corpora"
measure scanfhir "$repeat" "$work_dir/scanfhir.alerts" \
  "$trailwatch" scan -c "$config" --format fhir --workers 1 "$fhir"
measure scanaccess "$repeat" "$work_dir/scanaccess.alerts" \
  "$trailwatch" scan -c "$config" --format access-log --workers 1 "$access"

# Every tool saw every event, and the three agree on the rule they share.
summary_events() { grep -o '"events":[0-9]*' "$1" | head -1 | cut -d: -f2; }
floor_events=$(jq -r .events "$work_dir/floor.out")
scan1_events=$(summary_events "$work_dir/scan1.err")
scanall_events=$(summary_events "$work_dir/scanall.err")
[[ $floor_events == "$events" && $scan1_events == "$events" && $scanall_events == "$events" ]] ||
  die "event counts differ: floor $floor_events, scan $scan1_events / $scanall_events, corpus $events"
for n in scan1 scanall scanfhir scanaccess; do
  grep -q '"decode_errors":0,' "$work_dir/$n.err" || die "$n: decode errors: $(cat "$work_dir/$n.err")"
done
bulk_rule=$(awk '/^id:/{print $2}' "$root/rules/hipaa-phi-access/bulk_export.yml")
tw_bulk=$(grep -c "\"id\":\"$bulk_rule\"" "$work_dir/scan1.alerts" || true)
jq_bulk=$(wc -l <"$work_dir/jq.out")
mtail_bulk=$(jq '[.bulk_export_events[0].LabelValues[].Value.Value] | add' "$work_dir/mtail.out")
tw_alerts=$(wc -l <"$work_dir/scan1.alerts")
[[ $tw_bulk == "$jq_bulk" && $jq_bulk == "$mtail_bulk" ]] ||
  die "bulk_export matches differ: trailwatch $tw_bulk, jq $jq_bulk, mtail $mtail_bulk"

# --- trailwatch run at a fixed append rate -----------------------------------
say "trailwatch run, $run_rate events/s for $run_seconds s"
run_dir=$work_dir/run
mkdir -p "$run_dir/live"
: >"$run_dir/live/ehr.ndjson"
: >"$run_dir/alerts.jsonl"
# deploy/trailwatch.yaml as it is (every shipped pack, its lookups and
# placeholders), with its relative paths made absolute and its state, tailed
# file and alert file in the work folder; alerts go to a file only, metrics
# stay on (a free port).
yq -y --arg dir "$root/deploy" --arg state "$run_dir/state" --arg live "$run_dir/live/*.ndjson" \
  --arg alerts "$run_dir/alerts.jsonl" '
  def abs: if startswith("/") then . else $dir + "/" + . end;
  .state_dir = $state
  | .rules |= map(abs)
  | if .lookups then .lookups |= map(.path |= abs) else . end
  | if .placeholders then .placeholders |= map_values(abs) else . end
  | .sources = [.sources | map(select((.format // "json") == "json")) | .[0]
                | . + {paths: [$live], start_at: "beginning"}]
  | .outputs = [{type: "file", path: $alerts}]
  | .metrics = {listen: "127.0.0.1:0"}
  | .log_level = "warn"' "$config" >"$run_dir/trailwatch.yaml"
"$trailwatch" run -c "$run_dir/trailwatch.yaml" 2>"$run_dir/trailwatch.err" &
daemon_pid=$!
"$latency" --corpus "$ehr" --live "$run_dir/live/ehr.ndjson" --alerts "$run_dir/alerts.jsonl" \
  --pid "$daemon_pid" --rate "$run_rate" --seconds "$run_seconds" \
  --rss-log "$run_dir/rss.tsv" --probe-log "$run_dir/probes.tsv" >"$run_dir/latency.json" ||
  say "run_latency reported a problem (see below)"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || die "trailwatch run exited with $?: $(tail -3 "$run_dir/trailwatch.err")"
daemon_pid=""
rm -f "$run_dir/live/ehr.ndjson" "$run_dir/live/ehr.ndjson.1"
cat "$run_dir/latency.json" >&2
lat() { jq -r ".$1" "$run_dir/latency.json"; }
[[ $(lat drained) == true ]] || say "trailwatch run did not catch up within the drain time"

# --- profile -----------------------------------------------------------------
if [[ $profile -eq 1 ]]; then
  say "perf record -g: trailwatch scan, 1 worker"
  perf record -q -g -o "$work_dir/perf.data" -- \
    "$trailwatch" scan -c "$config" --format json --workers 1 "$ehr" >/dev/null 2>&1
  perf report -i "$work_dir/perf.data" --stdio --no-children --percent-limit 1.5 \
    --sort symbol -F overhead,sym -g none 2>/dev/null | grep -v -e '^#' -e '^$' |
    cut -c1-150 | sed 's/[[:space:]]*$//' | sort -rn >"$work_dir/perf.txt"
  cat "$work_dir/perf.txt"
  # Self time by stage. A Release build keeps no frame pointers, so -g's
  # call chains are not usable; symbols are attributed by name (memchr is
  # mostly line framing, memcmp mostly the decoder's key comparisons).
  say "self time by stage"
  perf report -i "$work_dir/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
    grep -v -e '^#' -e '^$' | awk '
      { pct = $1; sub(/%/, "", pct); line = $0
        if (line ~ /JsonDecoder|_Hashtable|_Hash_bytes|__memcmp|memcmp@plt/) s = "decode: trailwatch JSON decoder (walk, key lookup, values)"
        else if (line ~ /simdjson::/) s = "decode: simdjson (stage 1 index, strings)"
        else if (line ~ /CorrelationState|Correlator::|ObservationBatch/) s = "correlation state (the shard thread)"
        else if (line ~ /trailwatch::engine::|trailwatch::enrich::|LiteralSet|inet_pton/) s = "rules: index, lookups, evaluation"
        else if (line ~ /trailwatch::alert::|appendJson|strftime|vfprintf/) s = "alerts: rendering"
        else if (line ~ /trailwatch::source::|__memchr|memchr@plt/) s = "source: reading, line framing"
        else if (line ~ /trailwatch::server::|prometheus::/) s = "pipeline, metrics"
        else if (line ~ /\[k\]/) s = "kernel (read, page faults, scheduling)"
        else if (line ~ /YAML::|ld-linux|do_lookup/) s = "start-up (rules, config, loader)"
        else s = "other"
        share[s] += pct }
      END { for (s in share) printf "%.1f%% %s\n", share[s], s }' | sort -rn >"$work_dir/perf-stages.txt"
  cat "$work_dir/perf-stages.txt" >&2
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table -----------------------------------------------------------------
rate() { awk -v e="$1" -v w="$2" 'BEGIN{printf "%.0f", e / w}'; }
fmt_int() { printf '%d' "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
fmt_mbs() { awk -v b="$1" -v w="$2" 'BEGIN{printf "%.0f", b / w / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{r = a / b; printf (r >= 10 ? "%.0f×" : "%.2f×"), r}'; }
cpu_per_m() { awk -v c="$1" -v e="$2" 'BEGIN{printf "%.2f", c / (e / 1e6)}'; }
mib() { awk -v k="$1" 'BEGIN{printf "%.0f MiB", k / 1024}'; }

declare -A ev
for n in floor scan1 scanall jq mtail; do ev[$n]=$(rate "$events" "${wall[$n]}"); done
ev[scanfhir]=$(rate "$other_events" "${wall[scanfhir]}")
ev[scanaccess]=$(rate "$other_events" "${wall[scanaccess]}")

row() {  # row LABEL CORPUS NAME EVENTS BYTES WITH_RATIOS
  local label=$1 corpus=$2 n=$3 e=$4 b=$5 ratios=$6 vf="—" vj="—" vm="—"
  if [[ $ratios == yes ]]; then
    vf=$(ratio "${ev[$n]}" "${ev[floor]}")
    vj=$(ratio "${ev[$n]}" "${ev[jq]}")
    vm=$(ratio "${ev[$n]}" "${ev[mtail]}")
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | — |\n' "$label" "$corpus" \
    "$(fmt_int "${ev[$n]}")" "$(fmt_mbs "$b" "${wall[$n]}")" "$vf" "$vj" "$vm" \
    "$(cpu_per_m "${cpu[$n]}" "$e")" "$(mib "${rss[$n]}")"
}

if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
  dirty=$(git -C "$root" status --porcelain -- daemon include rules deploy | wc -l)
  [[ $dirty -eq 0 ]] || commit="$commit + $dirty uncommitted change(s) under daemon/ include/ rules/ deploy/"
else
  commit="unknown ($root is not a git checkout)"
fi
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
ram=$(awk '/MemTotal/{printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
compiler=$(c++ --version | head -1)
ehr_avg=$((ehr_bytes / events))
run_events=$(lat events)
run_bytes=$(lat bytes)
run_wall=$(lat paced_seconds)

table=$(
  cat <<EOF

## $(date -u +%Y-%m-%d) — whole-daemon benchmark (bench/run.sh)

- Machine: $model, $(nproc) cores, $ram RAM, $(uname -r), $compiler.
- Commit: $commit. Build: Release (\`-DCMAKE_BUILD_TYPE=Release -DTRAILWATCH_BENCH=ON -DTRAILWATCH_TESTS=OFF\`).
- Command: \`$command_line\`, $(date -u +%H:%MZ); load average $load_before before, $load_after after.
- Corpus (seed $seed): $(fmt_int "$events") EHR events, $(fmt_int "$ehr_bytes") bytes (mean $ehr_avg bytes); $(fmt_int "$other_events") FHIR AuditEvents ($(fmt_int "$fhir_bytes") bytes); $(fmt_int "$other_events") access-log lines ($(fmt_int "$access_bytes") bytes).
- events/s = events / wall time of the whole process (start-up included), median of $repeat run(s) for floor and scan, $peer_repeat for the peers; CPU = user + sys; peak RSS from GNU time (largest of the runs). Floor, jq, mtail and scan read the corpus from the page cache.
- Same rule, same answer: trailwatch's bulk_export alerts $tw_bulk, jq $jq_bulk, mtail $mtail_bulk; trailwatch raised $tw_alerts alerts in all ($(grep -o '"rules":[0-9]*' "$work_dir/scan1.err" | cut -d: -f2) rules).

| run | corpus | events/s | MB/s | vs floor | vs jq | vs mtail | CPU s per M events | peak RSS | append→alert p50 / p99 |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(row "floor: simdjson On-Demand, $(jq '.fields | length' "$work_dir/floor.out") fields the decoder is asked for" ehr floor "$events" "$ehr_bytes" yes)
$(row "trailwatch scan, 1 worker, every shipped pack" ehr scan1 "$events" "$ehr_bytes" yes)
$(row "trailwatch scan, $workers_all workers" ehr scanall "$events" "$ehr_bytes" yes)
$(row "jq $(jq --version | sed 's/^jq-//'), bulk_export rule" ehr jq "$events" "$ehr_bytes" yes)
$(row "mtail $(mtail --version | awk '{print $3}') --one_shot, bulk_export rule" ehr mtail "$events" "$ehr_bytes" yes)
$(row "trailwatch scan --format fhir, 1 worker" fhir scanfhir "$other_events" "$fhir_bytes" no)
$(row "trailwatch scan --format access-log, 1 worker" access-log scanaccess "$other_events" "$access_bytes" no)
| trailwatch run, tailing a file appended at $(fmt_int "$run_rate")/s for ${run_seconds} s | ehr (replayed) | $(fmt_int "$(rate "$run_events" "$run_wall")") | $(fmt_mbs "$run_bytes" "$run_wall") | — | — | — | $(printf '%.2f' "$(lat cpu_seconds_per_million)") | $(printf '%.0f' "$(lat rss_peak_mib)") MiB | $(printf '%.1f / %.1f ms' "$(lat p50_ms)" "$(lat p99_ms)") |

- run: $(lat probes) probes (one event in $(( $(lat events) / $(lat probes) ))), $(lat lost) lost, $(lat rotations) rotation(s) of the tailed file, max $(printf '%.1f' "$(lat max_ms)") ms; caught up $(printf '%.2f' "$(lat drain_seconds)") s after the last append; RSS $(printf '%.1f' "$(lat rss_start_mib)") MiB after warm-up, $(printf '%.1f' "$(lat rss_end_mib)") MiB at the end, peak $(printf '%.1f' "$(lat rss_peak_mib)") MiB.
$(if [[ $profile -eq 1 ]]; then
  printf -- '- Profile (perf record, one 1-worker scan, self time by stage): %s.\n' \
    "$(awk '$1 + 0 >= 1 {pct = $1; $1 = ""; printf "%s%s%s", sep, pct, $0; sep = "; "}' "$work_dir/perf-stages.txt")"
fi)
EOF
)
printf '%s\n' "$table"
if [[ $append -eq 1 ]]; then
  printf '%s\n' "$table" >>"$root/bench/RESULTS.md"
  say "appended to bench/RESULTS.md"
fi
if [[ $keep -eq 1 ]]; then say "outputs kept in $work_dir"; fi
