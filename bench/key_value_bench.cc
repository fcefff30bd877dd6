// Micro-benchmarks of the key=value decoder (format `kv`) and of nested
// syslog bodies (`syslog+kv`, `syslog+pgaudit`): deterministic generated
// corpora of 10,000 lines each, pulling the fields a rule reads; reports
// records/s and bytes/s. Run: build/bench/key_value_bench
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/registry.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

// Firewall-style pairs; `syslog` puts an RFC 3164 envelope in front.
Corpus kvCorpus(bool syslog) {
  std::mt19937 rng(23);
  const char* actions[] = {"accept", "deny", "close", "timeout"};
  std::string text;
  char line[512];
  for (int i = 0; i < 10000; ++i) {
    const int n = std::snprintf(
        line, sizeof line,
        "%sdate=2026-11-23 time=10:%02d:%02d devname=\"fw%02u\" logid=\"00000000%02u\" "
        "type=\"traffic\" srcip=10.0.%u.%u srcport=%u dstip=203.0.113.%u dstport=443 "
        "action=\"%s\" sentbyte=%u rcvdbyte=%u user.name=\"user%u\"\n",
        syslog ? "<134>Nov 23 10:00:00 fw01 fortigate: " : "", i / 60 % 60, i % 60,
        static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 20),
        static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 250),
        static_cast<unsigned>(1024 + rng() % 60000), static_cast<unsigned>(rng() % 250),
        actions[rng() % 4], static_cast<unsigned>(rng() % 100000),
        static_cast<unsigned>(rng() % 100000), static_cast<unsigned>(rng() % 500));
    text.append(line, static_cast<std::size_t>(n));
  }
  return trailwatch::bench::splitRecords(std::move(text));
}

// PostgreSQL with log_destination = syslog and pgaudit.
Corpus pgauditSyslogCorpus() {
  std::mt19937 rng(29);
  std::string text;
  char line[512];
  for (int i = 0; i < 10000; ++i) {
    const int n = std::snprintf(
        line, sizeof line,
        "<134>Nov 23 10:%02d:%02d db01 postgres[%u]: [%d-1] user%u@ehr LOG:  AUDIT: "
        "SESSION,%d,1,READ,SELECT,TABLE,public.patients,\"SELECT name, dob FROM patients "
        "WHERE id = %u\",<not logged>\n",
        i / 60 % 60, i % 60, static_cast<unsigned>(1000 + rng() % 9000), i,
        static_cast<unsigned>(rng() % 50), i, static_cast<unsigned>(rng() % 90000));
    text.append(line, static_cast<std::size_t>(n));
  }
  return trailwatch::bench::splitRecords(std::move(text));
}

void run(benchmark::State& state, const std::string& format, const Corpus& c,
         const std::vector<std::string>& fields) {
  auto decoder = trailwatch::decode::makeDecoder(format);
  decoder->setFields(fields);
  std::size_t sink = 0, events = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      for (const trailwatch::Event* e = decoder->decode(r, error); e != nullptr;
           e = decoder->next(error)) {
        sink += e->values(0).size();
        ++events;
      }
    }
  }
  benchmark::DoNotOptimize(sink);
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["records/s"] = benchmark::Counter(
      iterations * static_cast<double>(c.records.size()), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}

const std::vector<std::string> kKvFields = {"action", "srcip", "user.name", "dstport", "devname"};

void BM_KeyValueDecoder(benchmark::State& state) {
  static const Corpus c = kvCorpus(false);
  run(state, "kv", c, kKvFields);
}
BENCHMARK(BM_KeyValueDecoder);

void BM_SyslogKeyValueBody(benchmark::State& state) {
  static const Corpus c = kvCorpus(true);
  std::vector<std::string> fields = kKvFields;
  fields.insert(fields.end(), {"host.name", "@timestamp"});
  run(state, "syslog+kv", c, fields);
}
BENCHMARK(BM_SyslogKeyValueBody);

void BM_SyslogPgauditBody(benchmark::State& state) {
  static const Corpus c = pgauditSyslogCorpus();
  run(state, "syslog+pgaudit", c,
      {"db.user", "db.object", "event.action", "db.statement", "host.name", "@timestamp"});
}
BENCHMARK(BM_SyslogPgauditBody);

}  // namespace
