// Micro-benchmarks of the per-event hot path on synthetic EHR audit events
// (compact JSON, ~330 bytes): the simdjson floor (parse and pull the same
// fields, nothing else), trailwatch's JSON decoder, decode + evaluation
// of the shipped rule packs, and rendering an alert for each event. Run:
// build/bench/pipeline_bench
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include "bench/shipped_rules.h"
#include "daemon/alert/alert_json.h"
#include "daemon/decode/json_decoder.h"
#include "daemon/engine/rule_set.h"
#include "trailwatch/source.h"

namespace {

// Deterministic corpus: one buffer of newline-separated events, each record
// followed by kRecordPadding readable bytes as sources guarantee.
struct Corpus {
  std::string buffer;
  std::vector<std::string_view> records;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus out;
    std::mt19937 rng(42);
    const char* actions[] = {"read", "read", "read", "update", "export", "search"};
    const char* purposes[] = {"TREAT", "TREAT", "TREAT", "HPAYMT", "BTG", "HMARKT"};
    std::vector<std::pair<size_t, size_t>> spans;
    for (int i = 0; i < 10000; ++i) {
      char line[512];
      const int n = std::snprintf(
          line, sizeof line,
          R"({"@timestamp":"2026-11-23T08:%02d:%02d.%03dZ","event":{"action":"%s","outcome":"%s","category":"phi-access","sequence":%d},"user":{"id":"u%04u","roles":["nurse"]},"source":{"ip":"10.0.%u.%u"},"patient":{"id":"p-%05u"},"resource":{"type":"Patient"},"purpose_of_use":"%s","host":{"name":"ehr-app-1"}})",
          i / 3600 % 60, i / 60 % 60, i % 1000, actions[rng() % 6],
          rng() % 40 ? "success" : "failure", i, static_cast<unsigned>(rng() % 5000),
          static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 250),
          static_cast<unsigned>(rng() % 90000), purposes[rng() % 6 == 0 ? rng() % 6 : 0]);
      spans.emplace_back(out.buffer.size(), static_cast<size_t>(n));
      out.buffer.append(line, static_cast<size_t>(n));
      out.buffer.push_back('\n');
    }
    out.buffer.append(trailwatch::kRecordPadding, '\0');
    for (auto [offset, length] : spans)
      out.records.emplace_back(out.buffer.data() + offset, length);
    return out;
  }();
  return c;
}

// Every shipped pack, compiled with the default configuration's
// placeholders, as `trailwatch scan -c deploy/trailwatch.yaml` does.
std::shared_ptr<const trailwatch::engine::RuleSet> shippedRules() {
  static const auto loaded =
      trailwatch::bench::loadShippedRules(TRAILWATCH_SOURCE_DIR "/deploy/trailwatch.yaml", {});
  if (!loaded) std::abort();
  return loaded->rules;
}

void setCounters(benchmark::State& state, size_t events) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(state.iterations() * events),
                                                  benchmark::Counter::kIsRate);
}

// The floor: simdjson on-demand parsing each record and reading the fields
// the shipped rules use, with no engine around it.
void BM_SimdjsonFloor(benchmark::State& state) {
  const Corpus& c = corpus();
  simdjson::ondemand::parser parser;
  size_t sink = 0;
  for (auto _ : state) {
    for (std::string_view r : c.records) {
      auto doc = parser.iterate(r.data(), r.size(), r.size() + trailwatch::kRecordPadding);
      std::string_view action, outcome, purpose, ip;
      auto event = doc["event"];
      if (event["action"].get_string().get(action) == simdjson::SUCCESS) sink += action.size();
      if (event["outcome"].get_string().get(outcome) == simdjson::SUCCESS) sink += outcome.size();
      if (doc["source"]["ip"].get_string().get(ip) == simdjson::SUCCESS) sink += ip.size();
      if (doc["purpose_of_use"].get_string().get(purpose) == simdjson::SUCCESS)
        sink += purpose.size();
    }
  }
  benchmark::DoNotOptimize(sink);
  setCounters(state, c.records.size());
}
BENCHMARK(BM_SimdjsonFloor);

void BM_JsonDecoder(benchmark::State& state) {
  const Corpus& c = corpus();
  auto rules = shippedRules();
  trailwatch::decode::JsonDecoder decoder;
  decoder.setFields(rules->fieldPaths());
  trailwatch::DecodeError error;
  size_t decoded = 0;
  for (auto _ : state) {
    for (std::string_view r : c.records) decoded += decoder.decode(r, error) != nullptr;
  }
  benchmark::DoNotOptimize(decoded);
  setCounters(state, c.records.size());
}
BENCHMARK(BM_JsonDecoder);

void BM_DecodeAndEvaluateShippedRules(benchmark::State& state) {
  const Corpus& c = corpus();
  auto rules = shippedRules();
  trailwatch::decode::JsonDecoder decoder;
  decoder.setFields(rules->fieldPaths());
  const auto applicable = rules->rulesFor(nullptr);
  std::vector<uint32_t> matched;
  trailwatch::DecodeError error;
  size_t alerts = 0;
  for (auto _ : state) {
    for (std::string_view r : c.records) {
      const trailwatch::Event* event = decoder.decode(r, error);
      if (event == nullptr) continue;
      matched.clear();
      rules->evaluate(*event, applicable, matched);
      alerts += matched.size();
    }
  }
  benchmark::DoNotOptimize(alerts);
  setCounters(state, c.records.size());
  state.counters["alerts/event"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations() * c.records.size());
}
BENCHMARK(BM_DecodeAndEvaluateShippedRules);

// An alert's JSON for each (decoded) event, as the pipeline renders it for
// a match: the shipped rule with the most `fields`, its rule block, the
// event time and the read time. Per alert, not per event scanned.
void BM_RenderAlert(benchmark::State& state) {
  const Corpus& c = corpus();
  auto rules = shippedRules();
  trailwatch::decode::JsonDecoder decoder;
  decoder.setFields(rules->fieldPaths());
  uint32_t widest = 0;
  for (uint32_t i = 0; i < rules->size(); ++i) {
    if (rules->rule(i).field_ids.size() > rules->rule(widest).field_ids.size()) widest = i;
  }
  const auto& info = rules->rule(widest);
  const trailwatch::alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                                          &info.controls, &info.fields, &info.field_ids};
  const trailwatch::alert::AlertOrigin origin{"ehr", "/var/log/ehr/audit.log", 0};
  int64_t timestamp_field = -1;
  for (size_t i = 0; i < rules->fieldPaths().size(); ++i) {
    if (rules->fieldPaths()[i] == "@timestamp") timestamp_field = static_cast<int64_t>(i);
  }
  trailwatch::alert::AlertRenderer renderer;
  trailwatch::DecodeError error;
  std::string out;
  size_t bytes = 0, n = 0;
  int64_t read_time = 1'795'423'587'123'456'789;
  const trailwatch::Event* event = nullptr;
  for (auto _ : state) {
    // A new event every 64 alerts: its decoding adds about 1/64 of one.
    if (n++ % 64 == 0) event = decoder.decode(c.records[(n / 64) % c.records.size()], error);
    renderer.render(rule, *event, timestamp_field, origin, read_time += 1'000'000, out);
    bytes += out.size();
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
  state.counters["alert_bytes"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RenderAlert);

}  // namespace
