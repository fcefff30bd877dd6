#include "daemon/decode/cloudtrail.h"

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
                                         "event.provider",
                                         "event.outcome",
                                         "user.id",
                                         "user.name",
                                         "source.ip",
                                         "cloud.region",
                                         "cloud.account.id",
                                         "user_agent.original",
                                         "userIdentity.type",
                                         "errorCode",
                                         "requestParameters.bucketName",
                                         "responseElements",
                                         "eventName"};

Harness cloudtrail() { return Harness(std::make_unique<CloudTrailDecoder>(), kPaths); }

constexpr std::string_view kAssumedRoleEvent =
    R"({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice",)"
    R"("arn":"arn:aws:sts::123456789012:assumed-role/Admin/alice","accountId":"123456789012",)"
    R"("sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}},)"
    R"("eventTime":"2023-03-01T10:20:30Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",)"
    R"("awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.4","userAgent":"aws-cli/2.9",)"
    R"("requestParameters":{"bucketName":"phi-exports","key":"a.csv"},"responseElements":null,)"
    R"("recipientAccountId":"123456789012"})";

TEST(CloudTrailDecoder, DecodesOneEventPerLine) {
  Harness h = cloudtrail();
  Outcome o = h.run(kAssumedRoleEvent);
  ASSERT_FALSE(o.failed) << o.error.reason << ": " << o.error.detail;
  ASSERT_EQ(o.events.size(), 1u);
  const auto& e = o.events[0];
  EXPECT_EQ(e["@timestamp"], Strings{"2023-03-01T10:20:30Z"});
  EXPECT_EQ(e["event.action"], Strings{"GetObject"});
  EXPECT_EQ(e["event.provider"], Strings{"s3.amazonaws.com"});
  EXPECT_EQ(e["event.outcome"], Strings{"success"});
  EXPECT_EQ(e["user.id"], Strings{"arn:aws:sts::123456789012:assumed-role/Admin/alice"});
  EXPECT_EQ(e["user.name"], Strings{"Admin"});
  EXPECT_EQ(e["source.ip"], Strings{"198.51.100.4"});
  EXPECT_EQ(e["cloud.region"], Strings{"eu-west-1"});
  EXPECT_EQ(e["cloud.account.id"], Strings{"123456789012"});
  EXPECT_EQ(e["user_agent.original"], Strings{"aws-cli/2.9"});
  EXPECT_EQ(e["userIdentity.type"], Strings{"AssumedRole"});
  EXPECT_EQ(e["requestParameters.bucketName"], Strings{"phi-exports"});
  EXPECT_EQ(e["responseElements"], Strings{"null"});
  EXPECT_EQ(e["eventName"], Strings{"GetObject"});
  EXPECT_EQ(e.raw, kAssumedRoleEvent);
}

TEST(CloudTrailDecoder, ErrorCodeMeansFailure) {
  Harness h = cloudtrail();
  Outcome o = h.run(
      R"({"eventName":"ConsoleLogin","errorCode":"AccessDenied","userIdentity":{"type":"IAMUser",)"
      R"("principalId":"AIDA1","userName":"bob"}})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0]["event.outcome"], Strings{"failure"});
  EXPECT_EQ(o.events[0]["errorCode"], Strings{"AccessDenied"});
  EXPECT_EQ(o.events[0]["user.id"], Strings{"AIDA1"});
  EXPECT_EQ(o.events[0]["user.name"], Strings{"bob"});
  for (const char* record :
       {R"({"eventName":"x","errorCode":null})", R"({"eventName":"x","errorCode":""})"}) {
    o = h.run(record);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0]["event.outcome"], Strings{"success"}) << record;
  }
}

TEST(CloudTrailDecoder, RecordsFileGivesEachEventThroughNext) {
  Harness h = cloudtrail();
  Outcome o = h.run(
      R"({"Records":[{"eventName":"A","eventTime":"2023-01-01T00:00:00Z"},"junk",{"other":1},)"
      R"({"eventName":"B","errorCode":"Denied"}]})");
  ASSERT_FALSE(o.failed) << o.error.reason;
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[0]["event.action"], Strings{"A"});
  EXPECT_EQ(o.events[0].raw, R"({"eventName":"A","eventTime":"2023-01-01T00:00:00Z"})");
  EXPECT_EQ(o.events[1]["event.action"], Strings{"B"});
  EXPECT_EQ(o.events[1]["event.outcome"], Strings{"failure"});
}

TEST(CloudTrailDecoder, RejectsWhatIsNotAnEvent) {
  Harness h = cloudtrail();
  for (const char* record : {R"({"Records":[]})", R"({"Records":[1,2]})", R"({"foo":"bar"})",
                             R"({"eventname":"lowercase"})"}) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty()) << record;
    EXPECT_EQ(o.error.reason, "not_an_audit_event") << record;
  }
}

TEST(CloudTrailDecoder, RejectsHostileRecordsWithAReason) {
  Harness h = cloudtrail();
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "empty_record"},
      {"\n", "empty_record"},
      {R"({"eventName":"x")", "malformed_json"},
      {"{\"eventName\":\"\xc3\x28\"}", "malformed_json"},
      {"[{\"eventName\":\"x\"}]", "not_an_object"},
      {"42", "not_an_object"},
      {R"({"Records":)" + std::string(500, '[') + std::string(500, ']') + "}", "too_deep"},
  };
  for (const auto& [record, reason] : cases) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty());
    EXPECT_EQ(o.error.reason, reason) << record.substr(0, 40);
  }
}

TEST(CloudTrailDecoder, WrongTypesGiveNoNormalizedValues) {
  Harness h = cloudtrail();
  Outcome o = h.run(
      R"({"eventName":7,"eventTime":[],"userIdentity":"root","sourceIPAddress":{"a":1},"awsRegion":null})");
  ASSERT_EQ(o.events.size(), 1u) << o.error.reason;
  for (const char* path :
       {"@timestamp", "event.action", "user.id", "user.name", "source.ip", "cloud.region"}) {
    EXPECT_TRUE(o.events[0][path].empty()) << path;
  }
  EXPECT_EQ(o.events[0]["eventName"], Strings{"7"});
}

TEST(CloudTrailDecoder, IsRegisteredAsCloudtrail) { EXPECT_NE(makeDecoder("cloudtrail"), nullptr); }

// Panther's CloudTrail rule tests: every test whose only log type is
// AWS.CloudTrail. 463 of them; 8 are written with lower-cased keys
// (`eventname`), which is not CloudTrail's shape, and are refused.
TEST(CloudTrailDecoder, DecodesThePantherCloudTrailTests) {
  if (!std::filesystem::exists(testing::pantherTestsPath())) {
    GTEST_SKIP() << testing::pantherTestsPath() << " is absent; fetch ../shared/corpus to run this";
  }
  std::vector<std::string> logs;
  ASSERT_TRUE(testing::pantherLogs(
      [](const std::vector<std::string_view>& t) {
        return t.size() == 1 && t[0] == "AWS.CloudTrail";
      },
      logs));
  ASSERT_EQ(logs.size(), 463u);
  Harness h = cloudtrail();
  std::map<std::string, int> reasons;
  int events = 0, failures = 0;
  std::vector<testing::Decoded> decoded;
  for (const auto& log : logs) {
    Outcome o = h.run(log);
    events += static_cast<int>(o.events.size());
    if (o.failed) ++reasons[std::string(o.error.reason)];
    for (auto& e : o.events) {
      if (e["event.outcome"] == Strings{"failure"}) ++failures;
      decoded.push_back(std::move(e));
    }
  }
  EXPECT_EQ(events, 455);
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"not_an_audit_event", 8}}));
  EXPECT_EQ(failures, 66);  // 67 tests carry errorCode; one is "" (no error)

  // The root console logins: all from signin.amazonaws.com, and all but
  // one ("Failed Console Login - Root User", which has no eventTime) timed.
  int root_logins = 0, timed = 0;
  for (const auto& e : decoded) {
    if (e["event.action"] == Strings{"ConsoleLogin"} && e["userIdentity.type"] == Strings{"Root"}) {
      ++root_logins;
      EXPECT_EQ(e["event.provider"], Strings{"signin.amazonaws.com"});
      timed += e["@timestamp"].empty() ? 0 : 1;
    }
  }
  EXPECT_GT(root_logins, 1);
  EXPECT_EQ(timed, root_logins - 1);
}

}  // namespace
}  // namespace trailwatch::decode
