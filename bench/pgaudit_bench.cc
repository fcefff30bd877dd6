// PgauditDecoder throughput: records/s and bytes/s over a deterministic
// generated PostgreSQL stderr log (Debian prefix, one in eight statements
// spanning three tab-continued lines, non-audit lines mixed in), over a
// csvlog rendering of the same statements, and over pgaudit's regression
// output from ../shared/corpus when present. Run: build/bench/pgaudit_bench
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/pgaudit.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

const char* const kUsers[] = {"alice", "bob", "carol", "dave"};
const char* const kTables[] = {"public.patients", "public.encounters", "public.notes"};

const Corpus& stderrCorpus() {
  static const Corpus c = [] {
    std::mt19937 rng(7);
    std::string text;
    char line[512];
    for (int i = 0; i < 20000; ++i) {
      const char* user = kUsers[rng() % 4];
      const char* table = kTables[rng() % 3];
      const int n = std::snprintf(
          line, sizeof line,
          "2026-11-23 10:%02d:%02d.%03d UTC [%u] %s@clinic LOG:  AUDIT: ", i / 60 % 60, i % 60,
          i % 1000, static_cast<unsigned>(1000 + rng() % 50), user);
      text.append(line, static_cast<size_t>(n));
      if (i % 8 == 0) {
        std::snprintf(line, sizeof line,
                      "SESSION,%d,1,WRITE,UPDATE,TABLE,%s,\"UPDATE %s\n\t   SET note = 'a, "
                      "\"\"b\"\"'\n\t WHERE id = %d\",<not logged>\n",
                      i, table, table, i);
      } else if (i % 5 == 0) {
        std::snprintf(line, sizeof line,
                      "%s,%d,1,READ,SELECT,TABLE,%s,\"SELECT id, name FROM %s WHERE id = $1\","
                      "%d\n",
                      i % 2 ? "OBJECT" : "SESSION", i, table, table, i);
      } else {
        std::snprintf(line, sizeof line,
                      "SESSION,%d,1,READ,SELECT,TABLE,%s,SELECT * FROM %s WHERE id = %d,"
                      "<not logged>\n",
                      i, table, table, i);
      }
      text += line;
      if (i % 10 == 0) {
        text += "2026-11-23 10:00:00.000 UTC [1001] " + std::string(user) +
                "@clinic LOG:  duration: 0.412 ms\n";
      }
    }
    return trailwatch::bench::splitRecords(std::move(text));
  }();
  return c;
}

const Corpus& csvlogCorpus() {
  static const Corpus c = [] {
    std::mt19937 rng(7);
    std::string text;
    char line[768];
    for (int i = 0; i < 20000; ++i) {
      const char* table = kTables[rng() % 3];
      const int n = std::snprintf(
          line, sizeof line,
          "2026-11-23 10:%02d:%02d.%03d UTC,\"%s\",\"clinic\",%u,\"10.0.0.%u:5%04d\","
          "655ef0a0.1092,%d,\"SELECT\",2026-11-23 09:00:00 UTC,3/%d,0,LOG,00000,\"AUDIT: "
          "SESSION,%d,1,READ,SELECT,TABLE,%s,\"\"SELECT id, name FROM %s WHERE name = "
          "'O\"\"\"\"Brien'\"\",<not logged>\",,,,,,,,\"psql\",\"client backend\",,0\n",
          i / 60 % 60, i % 60, i % 1000, kUsers[rng() % 4],
          static_cast<unsigned>(1000 + rng() % 50), static_cast<unsigned>(rng() % 250), i % 10000,
          i, i, i, table, table);
      text.append(line, static_cast<size_t>(n));
    }
    return trailwatch::bench::splitRecords(std::move(text));
  }();
  return c;
}

const Corpus* regressionCorpus() {
  static const Corpus* c = []() -> const Corpus* {
    const std::filesystem::path path =
        std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "pgaudit-regression" / "pgaudit.out";
    std::ifstream in(path, std::ios::binary);
    if (!in) return nullptr;
    return new Corpus(
        trailwatch::bench::splitRecords(std::string(std::istreambuf_iterator<char>(in), {})));
  }();
  return c;
}

const std::vector<std::string>& rulePaths() {
  static const std::vector<std::string> paths = {"@timestamp",    "db.user",      "db.object",
                                                 "db.statement",  "event.action", "user.name",
                                                 "pgaudit.class", "source.ip",    "db.name"};
  return paths;
}

void run(benchmark::State& state, const Corpus& c) {
  trailwatch::decode::PgauditDecoder decoder;
  decoder.setFields(rulePaths());
  size_t events = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      const trailwatch::Event* e = decoder.decode(r, error);
      while (e != nullptr) {
        benchmark::DoNotOptimize(e->values(1).size());
        ++events;
        e = decoder.next(error);
      }
    }
    if (const trailwatch::Event* e = decoder.flush(error)) {
      benchmark::DoNotOptimize(e);
      ++events;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * c.records.size()), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_PgauditStderrLog(benchmark::State& state) { run(state, stderrCorpus()); }
void BM_PgauditCsvlog(benchmark::State& state) { run(state, csvlogCorpus()); }
void BM_PgauditRegressionOutput(benchmark::State& state) {
  const Corpus* c = regressionCorpus();
  if (c == nullptr) {
    state.SkipWithError("corpus missing: ../shared/corpus/pgaudit-regression/pgaudit.out");
    return;
  }
  run(state, *c);
}

BENCHMARK(BM_PgauditStderrLog);
BENCHMARK(BM_PgauditCsvlog);
BENCHMARK(BM_PgauditRegressionOutput);

}  // namespace
