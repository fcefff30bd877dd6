// Micro-benchmark of the auditd decoder over a deterministic generated
// corpus (2,000 events of SYSCALL + EXECVE + CWD + 2 PATH + PROCTITLE + EOE,
// hex values included), pulling the normalized fields a rule pack reads.
// Reports records/s, events/s and bytes/s. Run: build/bench/auditd_bench
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/auditd.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

const Corpus& auditdCorpus() {
  static const Corpus c = [] {
    std::mt19937 rng(7);
    std::string text;
    char line[768];
    for (int i = 0; i < 2000; ++i) {
      const unsigned serial = 1000 + static_cast<unsigned>(i);
      const unsigned auid = 1000 + rng() % 50;
      const char* ts = "1700000000";
      std::snprintf(line, sizeof line,
                    "type=SYSCALL msg=audit(%s.%03d:%u): arch=c000003e syscall=257 success=%s "
                    "exit=3 a0=ffffff9c a1=7ffd1 a2=0 a3=0 items=2 ppid=1 pid=%u auid=%u uid=%u "
                    "gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"cat\" "
                    "exe=\"/usr/bin/cat\" subj=unconfined key=\"phi-read\"\n",
                    ts, i % 1000, serial, rng() % 10 ? "yes" : "no", 4000 + i, auid, auid);
      text += line;
      std::snprintf(line, sizeof line,
                    "type=EXECVE msg=audit(%s.%03d:%u): argc=2 a0=\"cat\" "
                    "a1=2F7661722F6C69622F6568722F70617469656E74732F%04X2E6A736F6E\n",
                    ts, i % 1000, serial, static_cast<unsigned>(rng() % 0x10000));
      text += line;
      std::snprintf(line, sizeof line, "type=CWD msg=audit(%s.%03d:%u): cwd=\"/root\"\n", ts,
                    i % 1000, serial);
      text += line;
      for (int item = 0; item < 2; ++item) {
        std::snprintf(line, sizeof line,
                      "type=PATH msg=audit(%s.%03d:%u): item=%d name=\"/var/lib/ehr/p%u.json\" "
                      "inode=40854 dev=00:30 mode=0100644 ouid=0 ogid=0 rdev=00:00 "
                      "nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0\n",
                      ts, i % 1000, serial, item, static_cast<unsigned>(rng() % 90000));
        text += line;
      }
      std::snprintf(line, sizeof line,
                    "type=PROCTITLE msg=audit(%s.%03d:%u): "
                    "proctitle=636174002F7661722F6C69622F6568722F70617469656E74732E6A736F6E\n"
                    "type=EOE msg=audit(%s.%03d:%u): \n",
                    ts, i % 1000, serial, ts, i % 1000, serial);
      text += line;
    }
    return trailwatch::bench::splitRecords(std::move(text));
  }();
  return c;
}

const std::vector<std::string> kAuditdFields = {
    "@timestamp",   "user.id",       "user.name", "process.executable", "process.command_line",
    "event.action", "event.outcome", "file.path", "auditd.key",         "auditd.execve.a1"};
void setCounters(benchmark::State& state, const Corpus& c, std::size_t events) {
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["records/s"] = benchmark::Counter(
      iterations * static_cast<double>(c.records.size()), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(iterations * static_cast<double>(events), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}

void BM_AuditdDecoder(benchmark::State& state) {
  const Corpus& c = auditdCorpus();
  trailwatch::decode::AuditdDecoder decoder;
  decoder.setFields(kAuditdFields);
  std::size_t events = 0, sink = 0;
  for (auto _ : state) {
    events = 0;
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      for (const trailwatch::Event* e = decoder.decode(r, error); e != nullptr;
           e = decoder.next(error)) {
        ++events;
        sink += e->values(0).size();
      }
    }
    for (const trailwatch::Event* e = decoder.flush(error); e != nullptr; e = decoder.next(error)) {
      ++events;
    }
  }
  benchmark::DoNotOptimize(sink);
  setCounters(state, c, events);
}
BENCHMARK(BM_AuditdDecoder);

}  // namespace
