// The correlation stage alone (one shard, one thread): observations per
// second against a state that already holds 1 million live groups, and the
// memory each group costs; and against one busy group (BM_CorrelationBusyGroup).
//
// The rule is the bulk-browsing shape: value_count of patient.id per
// user.id over 10 minutes, threshold 50. Observations carry the sample the
// pipeline builds (the rule's two fields). Event time advances 1 ms per observation,
// so windows slide and groups age as in a live stream.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "daemon/engine/correlation_sample.h"
#include "daemon/engine/correlation_state.h"
#include "daemon/engine/rule_set.h"

namespace {

using trailwatch::Diagnostics;
using trailwatch::engine::CorrelationState;
using trailwatch::engine::Observation;
using trailwatch::engine::RuleSet;
using trailwatch::engine::StateLimits;
using trailwatch::engine::StateOutput;

constexpr char kRules[] = R"(title: Chart opened
name: chart_open
logsource: {product: ehr}
detection:
  sel: {event.action: read}
  condition: sel
fields: [user.id, patient.id]
---
title: Bulk browsing
id: 0f5b6a1e-6f0e-4c52-9d0a-5a4b7d1e0c01
correlation:
  type: value_count
  rules: [chart_open]
  group-by: [user.id]
  timespan: 10m
  condition: {field: patient.id, gte: 50}
)";

std::shared_ptr<const RuleSet> rules(std::string_view text = kRules) {
  Diagnostics diags;
  auto set = RuleSet::parse(text, "bench.yml", diags);
  if (!set) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::abort();
  }
  return set;
}

uint64_t residentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * 4096;
}

Observation observation(uint32_t rule, uint64_t user, uint64_t patient, int64_t time) {
  Observation o;
  o.rule = rule;
  o.time = time;
  o.group = "u" + std::to_string(user);
  o.value_hash = std::hash<uint64_t>{}(patient);
  // What the pipeline keeps per sample: the rule's `fields` (user.id, patient.id).
  const std::string patient_id = "p" + std::to_string(patient);
  const std::string_view group = o.group, patient_text = patient_id;
  const std::string_view* values[] = {&group, &patient_text};
  trailwatch::engine::encodeSample(o.sample, 0, time, values);
  return o;
}

// `per_call` observations are handed over at a time: 1 calls observe() on
// each, as chained observations are; more calls observe(span), as a shard
// does with a batch (it reads ahead). Both copy each observation from a
// pool in the timed loop.
void observe1MKeys(benchmark::State& state, size_t per_call) {
  const auto set = rules();
  const uint32_t target = set->correlations()[0].rule_index;
  constexpr uint64_t kKeys = 1'000'000;
  StateLimits limits;
  limits.max_keys = kKeys;
  const uint64_t rss_before = residentBytes();
  CorrelationState cs(set, limits);
  std::vector<StateOutput> out;
  int64_t now = 1'700'000'000'000'000'000;
  for (uint64_t k = 0; k < kKeys; ++k) {
    cs.observe(observation(target, k, k, now), out);
    now += 100'000;  // 0.1 ms: all million inside one window
  }
  const uint64_t rss_after = residentBytes();
  out.clear();

  // Pre-built observations over the same million users, so the loop times
  // the state, not string building.
  std::mt19937_64 rng(42);
  std::vector<Observation> pool;
  for (int i = 0; i < 100'000; ++i)
    pool.push_back(observation(target, rng() % kKeys, rng() % 5000, 0));
  size_t i = 0;
  uint64_t fired = 0;
  std::vector<Observation> batch(per_call);
  for (auto _ : state) {
    for (Observation& o : batch) {
      o = pool[i];
      o.time = now;
      now += 1'000'000;  // 1 ms
      if (++i == pool.size()) i = 0;
    }
    if (per_call == 1) {
      cs.observe(std::move(batch[0]), out);
    } else {
      cs.observe(std::span(batch), out);
    }
    fired += out.size();
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(per_call));
  state.counters["keys"] = static_cast<double>(cs.keys());
  state.counters["state_bytes_per_key"] =
      static_cast<double>(cs.memoryBytes()) / static_cast<double>(cs.keys());
  // Only the first benchmark of a run fills fresh memory: later ones
  // reuse what it freed.
  if (per_call == 1) {
    state.counters["rss_bytes_per_key"] =
        static_cast<double>(rss_after - rss_before) / static_cast<double>(kKeys);
  }
  state.counters["evicted"] = static_cast<double>(cs.counters().evicted);
  state.counters["fired"] = static_cast<double>(fired);
}

void BM_CorrelationObserve1MKeys(benchmark::State& state) { observe1MKeys(state, 1); }
BENCHMARK(BM_CorrelationObserve1MKeys)->Unit(benchmark::kNanosecond)->Iterations(2'000'000);

void BM_CorrelationObserveBatch1MKeys(benchmark::State& state) { observe1MKeys(state, 4096); }
BENCHMARK(BM_CorrelationObserveBatch1MKeys)->Unit(benchmark::kMicrosecond)->Iterations(500);

// One busy group: a user (a service account, an integration) whose granted
// accesses arrive 1,000 a second, under a temporal or temporal_ordered
// correlation of three rules (timespan 15m, late allowance 1m) whose
// first and last rules it never matches. Every entry of the last minute
// is kept (a late event may still land before it), some 60,000.
void BM_CorrelationBusyGroup(benchmark::State& state) {
  const bool ordered = state.range(0) == 1;
  const std::string text = std::string(R"(title: Denied
name: denied
logsource: {product: ehr}
detection: {sel: {event.outcome: failure}, condition: sel}
---
title: Granted
name: granted
logsource: {product: ehr}
detection: {sel: {event.outcome: success}, condition: sel}
---
title: Exported
name: exported
logsource: {product: ehr}
detection: {sel: {event.action: export}, condition: sel}
---
title: Denied, granted, exported
id: 5a0c4f8e-3b7d-4c1a-9e2f-8d6b1a7c3e90
correlation:
  type: )") + (ordered ? "temporal_ordered" : "temporal") +
                           R"(
  rules: [denied, granted, exported]
  group-by: [user.id]
  timespan: 15m
)";
  const auto set = rules(text);
  const uint32_t target = set->correlations()[0].rule_index;
  CorrelationState cs(set, StateLimits{});
  std::vector<StateOutput> out;
  int64_t now = 1'700'000'000'000'000'000;
  const auto granted = [&] {
    Observation o;
    o.rule = target;
    o.input = 1;
    o.time = now;
    o.group = "svc-integration";
    now += 1'000'000;  // 1 ms
    return o;
  };
  for (int i = 0; i < 120'000; ++i) cs.observe(granted(), out);  // two minutes
  for (auto _ : state) cs.observe(granted(), out);
  state.SetItemsProcessed(state.iterations());
  state.counters["state_bytes"] = static_cast<double>(cs.memoryBytes());
  state.counters["fired"] = static_cast<double>(out.size());
}
BENCHMARK(BM_CorrelationBusyGroup)
    ->ArgName("ordered")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kNanosecond);

}  // namespace
