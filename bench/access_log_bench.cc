// Micro-benchmarks of the access-log decoder: a deterministic generated
// corpus of 10,000 combined-format lines, and the Apache sample in the
// shared corpus when present. Pulls the normalized fields a rule pack
// reads; reports records/s and bytes/s. Run: build/bench/access_log_bench
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/access_log.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

const Corpus& accessCorpus() {
  static const Corpus c = [] {
    std::mt19937 rng(11);
    const char* paths[] = {"/patients/%u", "/patients/%u/notes?view=full", "/login",
                           "/static/app.js"};
    const unsigned statuses[] = {200, 200, 200, 304, 404, 401, 500};
    std::string text;
    char target[64], line[512];
    for (int i = 0; i < 10000; ++i) {
      std::snprintf(target, sizeof target, paths[rng() % 4], static_cast<unsigned>(rng() % 90000));
      std::snprintf(line, sizeof line,
                    "10.0.%u.%u - user%u [17/May/2015:10:%02d:%02d +0000] \"GET %s HTTP/1.1\" %u "
                    "%u \"https://ehr.example/search\" \"Mozilla/5.0 (X11; Linux x86_64) "
                    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\"\n",
                    static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 250),
                    static_cast<unsigned>(rng() % 500), i / 60 % 60, i % 60, target,
                    statuses[rng() % 7], static_cast<unsigned>(rng() % 100000));
      text += line;
    }
    return trailwatch::bench::splitRecords(std::move(text));
  }();
  return c;
}

const std::vector<std::string> kAccessFields = {"@timestamp",    "source.ip",
                                                "user.name",     "http.request.method",
                                                "url.path",      "http.response.status_code",
                                                "event.outcome", "user_agent.original"};

void setCounters(benchmark::State& state, const Corpus& c, std::size_t events) {
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["records/s"] = benchmark::Counter(
      iterations * static_cast<double>(c.records.size()), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(iterations * static_cast<double>(events), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}

void BM_AccessLogDecoder(benchmark::State& state) {
  const Corpus& c = accessCorpus();
  trailwatch::decode::AccessLogDecoder decoder;
  decoder.setFields(kAccessFields);
  std::size_t sink = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      const trailwatch::Event* e = decoder.decode(r, error);
      if (e != nullptr) sink += e->values(4).size();
    }
  }
  benchmark::DoNotOptimize(sink);
  setCounters(state, c, c.records.size());
}
BENCHMARK(BM_AccessLogDecoder);

void BM_AccessLogApacheSample(benchmark::State& state) {
  std::ifstream in(TRAILWATCH_CORPUS_DIR "/elastic-apache-access/apache_logs");
  if (!in) {
    state.SkipWithError("shared corpus elastic-apache-access not found");
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  const Corpus c = trailwatch::bench::splitRecords(text.str());
  trailwatch::decode::AccessLogDecoder decoder;
  decoder.setFields(kAccessFields);
  std::size_t sink = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      const trailwatch::Event* e = decoder.decode(r, error);
      if (e != nullptr) sink += e->values(4).size();
    }
  }
  benchmark::DoNotOptimize(sink);
  setCounters(state, c, c.records.size());
}
BENCHMARK(BM_AccessLogApacheSample);

}  // namespace
