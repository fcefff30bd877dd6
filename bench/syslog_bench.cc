// Micro-benchmarks of the syslog decoder over deterministic generated
// corpora of 10,000 messages each: RFC 5424 with structured data, RFC 3164
// as /var/log files hold it, RFC 5424 with a JSON body (`syslog+json`), and
// IHE ATNA audit XML. Pulls the fields a rule pack reads; reports records/s
// and bytes/s. (The shared corpus holds no syslog sample.)
// Run: build/bench/syslog_bench
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/registry.h"
#include "daemon/decode/syslog.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

enum class Shape { k5424, k3164, kJson, kAtna };

Corpus generate(Shape shape) {
  std::mt19937 rng(5424);
  const char* apps[] = {"sshd", "ehr", "sudo", "CRON", "postfix/smtpd"};
  const char* actions[] = {"C", "R", "U", "D", "E"};
  std::string text;
  char line[2048];
  for (int i = 0; i < 10000; ++i) {
    const unsigned user = rng() % 500, patient = rng() % 90000, pid = rng() % 65536;
    const char* app = apps[rng() % 5];
    switch (shape) {
      case Shape::k5424:
        std::snprintf(line, sizeof line,
                      "<%u>1 2026-11-23T10:%02d:%02d.%06uZ ehr%02u.example.org %s %u ID%u "
                      "[timeQuality tzKnown=\"1\" isSynced=\"1\"][ehr@32473 user=\"user%u\" "
                      "patient=\"P%u\" note=\"a \\\"quoted\\\" word\"] Patient chart opened by "
                      "user%u for P%u\n",
                      static_cast<unsigned>(rng() % 192), i / 60 % 60, i % 60,
                      static_cast<unsigned>(rng() % 1000000), static_cast<unsigned>(rng() % 8), app,
                      pid, static_cast<unsigned>(rng() % 100), user, patient, user, patient);
        break;
      case Shape::k3164:
        std::snprintf(line, sizeof line,
                      "Nov %2d 10:%02d:%02d ehr%02u %s[%u]: Accepted publickey for user%u from "
                      "10.0.%u.%u port %u ssh2\n",
                      1 + i % 28, i / 60 % 60, i % 60, static_cast<unsigned>(rng() % 8), app, pid,
                      user, static_cast<unsigned>(rng() % 250), static_cast<unsigned>(rng() % 250),
                      static_cast<unsigned>(rng() % 65536));
        break;
      case Shape::kJson:
        std::snprintf(
            line, sizeof line,
            "<134>1 2026-11-23T10:%02d:%02dZ app01 ehr %u - - {\"user\":{\"id\":\"user%u\","
            "\"roles\":[\"nurse\",\"ward-%u\"]},\"action\":\"read\",\"patient\":{\"id\":"
            "\"P%u\"},\"outcome\":\"success\"}\n",
            i / 60 % 60, i % 60, pid, user, static_cast<unsigned>(rng() % 20), patient);
        break;
      case Shape::kAtna:
        std::snprintf(
            line, sizeof line,
            "<85>1 2026-11-23T10:%02d:%02dZ ehr01 EHR %u IHE+RFC-3881 - \xEF\xBB\xBF<?xml "
            "version=\"1.0\"?><AuditMessage><EventIdentification EventActionCode=\"%s\" "
            "EventDateTime=\"2026-11-23T10:%02d:%02d.123Z\" EventOutcomeIndicator=\"%d\"><EventID "
            "csd-code=\"110110\" codeSystemName=\"DCM\" originalText=\"Patient Record\"/>"
            "</EventIdentification><ActiveParticipant UserID=\"user%u\" UserName=\"User %u\" "
            "UserIsRequestor=\"true\" NetworkAccessPointID=\"10.0.0.%u\" "
            "NetworkAccessPointTypeCode=\"2\"><RoleIDCode csd-code=\"110153\"/></ActiveParticipant>"
            "<ActiveParticipant UserID=\"pacs\" UserIsRequestor=\"false\"/>"
            "<AuditSourceIdentification AuditSourceID=\"ehr01\"/><ParticipantObjectIdentification "
            "ParticipantObjectID=\"P%u^^^&amp;1.2.3&amp;ISO\" ParticipantObjectTypeCode=\"1\" "
            "ParticipantObjectTypeCodeRole=\"1\"/></AuditMessage>\n",
            i / 60 % 60, i % 60, pid, actions[rng() % 5], i / 60 % 60, i % 60,
            rng() % 10 == 0 ? 4 : 0, user, user, static_cast<unsigned>(rng() % 250), patient);
        break;
    }
    text += line;
  }
  return trailwatch::bench::splitRecords(std::move(text));
}

const std::vector<std::string> kFields = {"@timestamp",
                                          "host.name",
                                          "process.name",
                                          "message",
                                          "log.syslog.severity.name",
                                          "event.action",
                                          "user.id",
                                          "patient.id",
                                          "source.ip",
                                          "event.outcome",
                                          "syslog.sd.ehr@32473.user"};
const std::vector<std::string> kJsonFields = {"@timestamp", "host.name", "user.id", "user.roles",
                                              "patient.id", "action",    "outcome"};

void run(benchmark::State& state, Shape shape, std::unique_ptr<trailwatch::Decoder> d,
         const std::vector<std::string>& fields) {
  const Corpus c = generate(shape);
  d->setFields(fields);
  std::size_t sink = 0, rejected = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    for (std::string_view r : c.records) {
      const trailwatch::Event* e = d->decode(r, error);
      if (e != nullptr) {
        sink += e->values(0).size() + e->values(2).size();
      } else {
        ++rejected;
      }
    }
  }
  benchmark::DoNotOptimize(sink);
  if (rejected != 0) state.SkipWithError("the generated corpus had rejected records");
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["records/s"] = benchmark::Counter(
      iterations * static_cast<double>(c.records.size()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}

void BM_Syslog5424StructuredData(benchmark::State& state) {
  run(state, Shape::k5424, std::make_unique<trailwatch::decode::SyslogDecoder>(), kFields);
}
BENCHMARK(BM_Syslog5424StructuredData);

void BM_Syslog3164FileLines(benchmark::State& state) {
  run(state, Shape::k3164, std::make_unique<trailwatch::decode::SyslogDecoder>(), kFields);
}
BENCHMARK(BM_Syslog3164FileLines);

void BM_SyslogJsonBody(benchmark::State& state) {
  run(state, Shape::kJson, trailwatch::decode::makeDecoder("syslog+json"), kJsonFields);
}
BENCHMARK(BM_SyslogJsonBody);

void BM_SyslogAtna(benchmark::State& state) {
  run(state, Shape::kAtna, std::make_unique<trailwatch::decode::SyslogDecoder>(), kFields);
}
BENCHMARK(BM_SyslogAtna);

}  // namespace
