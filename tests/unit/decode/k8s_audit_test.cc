#include "daemon/decode/k8s_audit.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "tests/unit/decode/json_format_harness.h"
#include "tests/unit/decode/panther_corpus.h"

namespace trailwatch::decode {
namespace {

using testing::Harness;
using testing::Outcome;
using testing::Strings;

const std::vector<std::string> kPaths = {"@timestamp",
                                         "event.action",
                                         "event.outcome",
                                         "user.name",
                                         "user.id",
                                         "user.roles",
                                         "source.ip",
                                         "resource.type",
                                         "url.path",
                                         "objectRef.namespace",
                                         "requestURI",
                                         "annotations.authorization.k8s.io/decision",
                                         "responseStatus.code",
                                         "requestObject.spec.containers.securityContext.privileged",
                                         "user"};

Harness k8s() { return Harness(std::make_unique<K8sAuditDecoder>(), kPaths); }

constexpr std::string_view kExecEvent =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a-1",)"
    R"("stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ehr/pods/db-0/exec?command=sh&stdin=true",)"
    R"("verb":"create","user":{"username":"alice@example.com","uid":"u-1","groups":["devs","system:authenticated"]},)"
    R"("sourceIPs":["10.0.0.5","192.168.1.1"],"objectRef":{"resource":"pods","namespace":"ehr","name":"db-0",)"
    R"("subresource":"exec"},"responseStatus":{"metadata":{},"code":101},)"
    R"("requestReceivedTimestamp":"2023-05-01T12:00:00.000001Z","stageTimestamp":"2023-05-01T12:00:00.250000Z",)"
    R"("annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}})";

TEST(K8sAuditDecoder, DecodesAnAuditEvent) {
  Harness h = k8s();
  Outcome o = h.run(kExecEvent);
  ASSERT_FALSE(o.failed) << o.error.reason << ": " << o.error.detail;
  ASSERT_EQ(o.events.size(), 1u);
  const auto& e = o.events[0];
  EXPECT_EQ(e["@timestamp"], Strings{"2023-05-01T12:00:00.250000Z"});
  EXPECT_EQ(e["event.action"], Strings{"create"});
  EXPECT_EQ(e["event.outcome"], Strings{"success"});
  EXPECT_EQ(e["user.name"], Strings{"alice@example.com"});
  EXPECT_EQ(e["user.id"], Strings{"u-1"});
  EXPECT_EQ(e["user.roles"], (Strings{"devs", "system:authenticated"}));
  EXPECT_EQ(e["source.ip"], (Strings{"10.0.0.5", "192.168.1.1"}));
  EXPECT_EQ(e["resource.type"], Strings{"pods"});
  EXPECT_EQ(e["url.path"], Strings{"/api/v1/namespaces/ehr/pods/db-0/exec"});
  EXPECT_EQ(e["requestURI"],
            Strings{"/api/v1/namespaces/ehr/pods/db-0/exec?command=sh&stdin=true"});
  EXPECT_EQ(e["objectRef.namespace"], Strings{"ehr"});
  EXPECT_EQ(e["annotations.authorization.k8s.io/decision"], Strings{"allow"});
  EXPECT_EQ(e["responseStatus.code"], Strings{"101"});
  EXPECT_EQ(e.types.at("responseStatus.code")[0], FieldValue::Type::kNumber);
  ASSERT_EQ(e["user"].size(), 1u);
  EXPECT_EQ(e.types.at("user")[0], FieldValue::Type::kComposite);
  EXPECT_EQ(e.raw, kExecEvent);
}

TEST(K8sAuditDecoder, OutcomeFollowsStatusAndDecision) {
  Harness h = k8s();
  const std::pair<std::string, Strings> cases[] = {
      {R"({"kind":"Event","responseStatus":{"code":403}})", {"failure"}},
      {R"({"kind":"Event","responseStatus":{"code":200}})", {"success"}},
      {R"({"kind":"Event","responseStatus":{"code":200},"annotations":{"authorization.k8s.io/decision":"forbid"}})",
       {"failure"}},
      {R"({"kind":"Event","annotations":{"authorization.k8s.io/decision":"forbid"}})", {"failure"}},
      {R"({"kind":"Event","responseStatus":{"code":"500"}})", {}},
      {R"({"kind":"Event"})", {}},
  };
  for (const auto& [record, outcome] : cases) {
    Outcome o = h.run(record);
    ASSERT_EQ(o.events.size(), 1u) << record;
    EXPECT_EQ(o.events[0]["event.outcome"], outcome) << record;
  }
}

TEST(K8sAuditDecoder, TimestampFallsBack) {
  Harness h = k8s();
  Outcome o = h.run(R"({"kind":"Event","requestReceivedTimestamp":"2023-01-01T00:00:00Z"})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0]["@timestamp"], Strings{"2023-01-01T00:00:00Z"});
  o = h.run(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2018-10-25T13:58:49Z"})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0]["@timestamp"], Strings{"2018-10-25T13:58:49Z"});
}

TEST(K8sAuditDecoder, EventListGivesEachItemThroughNext) {
  Harness h = k8s();
  Outcome o = h.run(
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","verb":"get"},)"
      R"(5,{"kind":"Pod"},{"kind":"Event","verb":"delete"}]})");
  ASSERT_FALSE(o.failed) << o.error.reason;
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[0]["event.action"], Strings{"get"});
  EXPECT_EQ(o.events[0].raw, R"({"kind":"Event","verb":"get"})");
  EXPECT_EQ(o.events[1]["event.action"], Strings{"delete"});
}

TEST(K8sAuditDecoder, AcceptsKindlessEventsWithAuditIdAndVerb) {
  Harness h = k8s();
  Outcome o = h.run(R"({"auditID":"x","verb":"list","user":{"username":"bob"}})");
  ASSERT_EQ(o.events.size(), 1u) << o.error.reason;
  EXPECT_EQ(o.events[0]["user.name"], Strings{"bob"});
}

TEST(K8sAuditDecoder, RejectsWhatIsNotAnAuditEvent) {
  Harness h = k8s();
  for (const char* record : {R"({"kind":0})", R"({"kind":"Pod"})", R"({"verb":"get"})",
                             R"({"kind":"EventList","items":[]})", R"({"kind":"EventList"})"}) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty()) << record;
    EXPECT_EQ(o.error.reason, "not_an_audit_event") << record;
  }
}

TEST(K8sAuditDecoder, RejectsHostileRecordsWithAReason) {
  Harness h = k8s();
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "empty_record"},
      {"\r\n", "empty_record"},
      {R"({"kind":"Event","verb":)", "malformed_json"},
      {"{\"kind\":\"Event\",\"verb\":\"\xed\xa0\x80\"}", "malformed_json"},
      {"null", "not_an_object"},
      {R"({"kind":"Event","user":)" + std::string(1000, '{'), "malformed_json"},
      {R"({"kind":"Event","user":)" + std::string(200, '[') + std::string(200, ']') + "}",
       "too_deep"},
  };
  for (const auto& [record, reason] : cases) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty());
    EXPECT_EQ(o.error.reason, reason) << record.substr(0, 40);
  }
}

TEST(K8sAuditDecoder, WrongTypesGiveNoNormalizedValues) {
  Harness h = k8s();
  Outcome o =
      h.run(R"({"kind":"Event","verb":1,"user":"alice","sourceIPs":"1.2.3.4","objectRef":[],)"
            R"("requestURI":null,"annotations":[1],"stageTimestamp":{}})");
  ASSERT_EQ(o.events.size(), 1u) << o.error.reason;
  for (const char* path : {"@timestamp", "event.action", "event.outcome", "user.name", "source.ip",
                           "resource.type", "url.path"}) {
    EXPECT_TRUE(o.events[0][path].empty()) << path;
  }
}

TEST(K8sAuditDecoder, IsRegisteredAsK8sAudit) { EXPECT_NE(makeDecoder("k8s-audit"), nullptr); }

// Falco 0.35.1's k8s audit trace files: 52 lines in 47 files, of which one
// (fal_01_003.json) is the deliberately bogus `{"kind": 0}`.
TEST(K8sAuditDecoder, DecodesTheFalcoTraces) {
  const std::filesystem::path dir = std::filesystem::path(TRAILWATCH_CORPUS_DIR) /
                                    "falco-k8s-audit" / "trace_files" / "k8s_audit";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "corpus folder " << dir << " is absent; fetch ../shared/corpus to run this";
  }
  Harness h = k8s();
  int files = 0, lines = 0, events = 0;
  std::map<std::string, int> reasons;
  std::map<std::string, testing::Decoded> first;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const std::string text = testing::readFile(entry.path().string());
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      const std::string line = text.substr(at, nl - at);
      at = nl + 1;
      if (line.empty()) continue;
      ++lines;
      Outcome o = h.run(line);
      events += static_cast<int>(o.events.size());
      if (o.failed) ++reasons[std::string(o.error.reason)];
      if (!o.events.empty() && !first.count(entry.path().filename().string())) {
        first[entry.path().filename().string()] = o.events[0];
      }
    }
  }
  EXPECT_EQ(files, 47);
  EXPECT_EQ(lines, 52);
  EXPECT_EQ(events, 51);
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"not_an_audit_event", 1}}));

  const auto& ns = first["anonymous_creates_namespace_foo.json"];
  EXPECT_EQ(ns["user.name"], Strings{"system:anonymous"});
  EXPECT_EQ(ns["event.action"], Strings{"create"});
  EXPECT_EQ(ns["event.outcome"], Strings{"success"});
  EXPECT_EQ(ns["resource.type"], Strings{"namespaces"});
  EXPECT_EQ(ns["url.path"], Strings{"/api/v1/namespaces"});
  EXPECT_EQ(ns["source.ip"], Strings{"192.168.99.1"});
  EXPECT_EQ(ns["user.roles"], (Strings{"system:masters", "system:authenticated"}));
  EXPECT_EQ(ns["@timestamp"], Strings{"2018-10-25T13:58:49.736141Z"});

  const auto& cm = first["create_configmap_sensitive_values.json"];
  EXPECT_EQ(cm["user.name"], Strings{"minikube-user"});
  EXPECT_EQ(cm["objectRef.namespace"], Strings{"default"});
  EXPECT_EQ(cm["resource.type"], Strings{"configmaps"});
}

// Panther's tests whose log types include Amazon.EKS.Audit: 270 logs, of
// which 188 are Kubernetes audit events (kind Event); the others are the
// Azure and GCP logs of multi-source rules, and are refused.
TEST(K8sAuditDecoder, DecodesThePantherEksTests) {
  if (!std::filesystem::exists(testing::pantherTestsPath())) {
    GTEST_SKIP() << testing::pantherTestsPath() << " is absent; fetch ../shared/corpus to run this";
  }
  std::vector<std::string> logs;
  ASSERT_TRUE(testing::pantherLogs(
      [](const std::vector<std::string_view>& t) {
        return std::find(t.begin(), t.end(), "Amazon.EKS.Audit") != t.end();
      },
      logs));
  ASSERT_EQ(logs.size(), 270u);
  Harness h = k8s();
  std::map<std::string, int> reasons;
  int events = 0, with_user = 0;
  for (const auto& log : logs) {
    Outcome o = h.run(log);
    events += static_cast<int>(o.events.size());
    if (o.failed) ++reasons[std::string(o.error.reason)];
    for (const auto& e : o.events) with_user += e["user.name"].empty() ? 0 : 1;
  }
  EXPECT_EQ(events, 188);
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"not_an_audit_event", 82}}));
  EXPECT_GT(with_user, 150);
}

}  // namespace
}  // namespace trailwatch::decode
