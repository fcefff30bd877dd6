// Decoder throughput for the JSON audit formats (fhir, k8s-audit,
// cloudtrail): records/s and bytes/s over deterministic generated corpora
// (10,000 records each, shaped like the formats' real events), with the
// fields a typical rule set reads (normalized fields plus two native paths).
// Run: build/bench/json_formats_bench
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/record_corpus.h"
#include "daemon/decode/cloudtrail.h"
#include "daemon/decode/fhir_audit_event.h"
#include "daemon/decode/k8s_audit.h"

namespace {

using Corpus = trailwatch::bench::RecordCorpus;

template <typename Make>
Corpus generate(Make make_line) {
  std::mt19937 rng(42);
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    text += make_line(i, rng);
    text.push_back('\n');
  }
  return trailwatch::bench::splitRecords(std::move(text));
}

const Corpus& fhirCorpus() {
  static const Corpus c = generate([](int i, std::mt19937& rng) {
    const char* actions[] = {"R", "R", "R", "U", "C", "E"};
    const char* purposes[] = {"TREAT", "TREAT", "TREAT", "HPAYMT", "BTG", "HMARKT"};
    char line[1400];
    std::snprintf(
        line, sizeof line,
        R"({"resourceType":"AuditEvent","id":"ae-%d","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"%s","recorded":"2026-11-23T08:%02d:%02d.%03dZ","outcome":"%s","purposeOfEvent":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"%s"}]}],"agent":[{"type":{"coding":[{"code":"110153"}]},"requestor":false,"who":{"reference":"Device/ehr"}},{"type":{"coding":[{"code":"IRCP"}]},"role":[{"coding":[{"code":"nurse"}]}],"requestor":true,"who":{"identifier":{"value":"u%04u"},"display":"User %u"},"network":{"address":"10.0.%u.%u","type":"2"}}],"source":{"site":"ehr.example.org","observer":{"display":"ehr-app-1"}},"entity":[{"what":{"reference":"Patient/p-%05u"},"type":{"code":"1"},"role":{"code":"1"}},{"what":{"reference":"Observation/o-%u"},"type":{"code":"2"},"role":{"code":"4"}}]})",
        i, actions[rng() % 6], i / 60 % 60, i % 60, i % 1000, rng() % 40 ? "0" : "8",
        purposes[rng() % 6], static_cast<unsigned>(rng() % 5000), static_cast<unsigned>(i),
        static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 250),
        static_cast<unsigned>(rng() % 90000), static_cast<unsigned>(i));
    return std::string(line);
  });
  return c;
}

const Corpus& k8sCorpus() {
  static const Corpus c = generate([](int i, std::mt19937& rng) {
    const char* verbs[] = {"get", "list", "watch", "create", "patch", "delete"};
    const char* resources[] = {"pods", "secrets", "configmaps", "deployments"};
    char line[1400];
    std::snprintf(
        line, sizeof line,
        R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%08x-0000-4000-8000-%012d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns-%u/%s?limit=500","verb":"%s","user":{"username":"user-%u@example.com","uid":"uid-%u","groups":["devs","system:authenticated"]},"sourceIPs":["10.1.%u.%u"],"userAgent":"kubectl/v1.27.3 (linux/amd64)","objectRef":{"resource":"%s","namespace":"ns-%u","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":%d},"requestReceivedTimestamp":"2026-11-23T08:%02d:%02d.000001Z","stageTimestamp":"2026-11-23T08:%02d:%02d.004000Z","annotations":{"authorization.k8s.io/decision":"%s","authorization.k8s.io/reason":""}})json",
        static_cast<unsigned>(rng()), i, static_cast<unsigned>(rng() % 20), resources[i % 4],
        verbs[rng() % 6], static_cast<unsigned>(rng() % 300), static_cast<unsigned>(rng() % 300),
        static_cast<unsigned>(rng() % 8), static_cast<unsigned>(rng() % 250), resources[i % 4],
        static_cast<unsigned>(rng() % 20), rng() % 30 ? 200 : 403, i / 60 % 60, i % 60, i / 60 % 60,
        i % 60, rng() % 30 ? "allow" : "forbid");
    return std::string(line);
  });
  return c;
}

const Corpus& cloudtrailCorpus() {
  static const Corpus c = generate([](int i, std::mt19937& rng) {
    const char* names[] = {"GetObject",    "PutObject",         "AssumeRole",
                           "ConsoleLogin", "DescribeInstances", "CreateUser"};
    char line[1400];
    std::snprintf(
        line, sizeof line,
        R"({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA%06u:s%u","arn":"arn:aws:sts::123456789012:assumed-role/Role%u/s%u","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA%06u","arn":"arn:aws:iam::123456789012:role/Role%u","accountId":"123456789012","userName":"Role%u"},"attributes":{"creationDate":"2026-11-23T07:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-23T08:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"198.51.%u.%u","userAgent":"aws-cli/2.13.0","requestParameters":{"bucketName":"bucket-%u","key":"k/%d"},"responseElements":null,%s"requestID":"%08X","eventID":"%08x","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012"})",
        static_cast<unsigned>(i % 50), static_cast<unsigned>(i), static_cast<unsigned>(i % 50),
        static_cast<unsigned>(i), static_cast<unsigned>(i % 50), static_cast<unsigned>(i % 50),
        static_cast<unsigned>(i % 50), i / 60 % 60, i % 60, names[rng() % 6],
        static_cast<unsigned>(rng() % 250), static_cast<unsigned>(rng() % 250),
        static_cast<unsigned>(rng() % 40), i, rng() % 20 ? "" : R"("errorCode":"AccessDenied",)",
        static_cast<unsigned>(rng()), static_cast<unsigned>(rng()));
    return std::string(line);
  });
  return c;
}

template <typename D>
void run(benchmark::State& state, const Corpus& corpus, std::vector<std::string> paths) {
  D decoder;
  decoder.setFields(paths);
  std::size_t i = 0, events = 0, errors = 0;
  for (auto _ : state) {
    trailwatch::DecodeError error;
    const trailwatch::Event* e = decoder.decode(corpus.records[i], error);
    while (e != nullptr) {
      ++events;
      benchmark::DoNotOptimize(e->values(0).size());
      e = decoder.next(error);
    }
    if (!error.reason.empty()) ++errors;
    if (++i == corpus.records.size()) i = 0;
  }
  if (errors != 0) state.SkipWithError("decode errors in the generated corpus");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(corpus.bytes / corpus.records.size()));
  state.counters["events"] = static_cast<double>(events);
}

void BM_FhirAuditEventDecode(benchmark::State& state) {
  run<trailwatch::decode::FhirAuditEventDecoder>(
      state, fhirCorpus(),
      {"@timestamp", "event.action", "event.outcome", "user.id", "user.roles", "source.ip",
       "patient.id", "resource.type", "purpose_of_use", "host.name", "agent.who.identifier.value",
       "entity.what.reference"});
}
BENCHMARK(BM_FhirAuditEventDecode);

void BM_K8sAuditDecode(benchmark::State& state) {
  run<trailwatch::decode::K8sAuditDecoder>(
      state, k8sCorpus(),
      {"@timestamp", "event.action", "event.outcome", "user.name", "user.roles", "source.ip",
       "resource.type", "url.path", "objectRef.namespace",
       "annotations.authorization.k8s.io/decision"});
}
BENCHMARK(BM_K8sAuditDecode);

void BM_CloudTrailDecode(benchmark::State& state) {
  run<trailwatch::decode::CloudTrailDecoder>(
      state, cloudtrailCorpus(),
      {"@timestamp", "event.action", "event.provider", "event.outcome", "user.id", "user.name",
       "source.ip", "cloud.region", "cloud.account.id", "userIdentity.type",
       "requestParameters.bucketName"});
}
BENCHMARK(BM_CloudTrailDecode);

}  // namespace
