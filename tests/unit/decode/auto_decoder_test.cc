#include "daemon/decode/auto_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

const std::vector<std::string> kAll = {"json",   "fhir",    "k8s-audit", "cloudtrail",
                                       "auditd", "pgaudit", "syslog",    "access-log"};

TEST(AutoDecoder, DetectsEachFormatFromItsFirstRecord) {
  EXPECT_EQ(detectFormat(R"({"resourceType":"AuditEvent","action":"R"})", kAll), "fhir");
  EXPECT_EQ(detectFormat(R"({"resourceType":"Bundle","entry":[]})", kAll), "fhir");
  EXPECT_EQ(detectFormat(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x"})", kAll),
            "k8s-audit");
  EXPECT_EQ(detectFormat(R"({"Records":[{"eventName":"StopLogging"}]})", kAll), "cloudtrail");
  EXPECT_EQ(detectFormat(R"({"eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"})", kAll),
            "cloudtrail");
  EXPECT_EQ(detectFormat(R"({"user":{"id":"u1"},"event":{"action":"read"}})", kAll), "json");
  EXPECT_EQ(detectFormat("type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e", kAll),
            "auditd");
  EXPECT_EQ(detectFormat("node=web1 type=USER_LOGIN msg=audit(1.0:2): pid=1", kAll), "auditd");
  EXPECT_EQ(detectFormat("2026-11-23 10:00:00.123 UTC [42] alice@ehr LOG:  AUDIT: "
                         "SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
                         kAll),
            "pgaudit");
  EXPECT_EQ(detectFormat("<34>1 2026-11-23T10:00:00Z host app - - - hello", kAll), "syslog");
  EXPECT_EQ(detectFormat("\xEF\xBB\xBF<13>Oct 11 22:14:15 host app: hi", kAll), "syslog");
  EXPECT_EQ(detectFormat("Nov  3 07:01:02 ehr-db1 sshd[811]: Accepted publickey", kAll), "syslog");
  EXPECT_EQ(detectFormat("2026-11-23T10:00:00.123456+00:00 ehr-db1 sudo: alice : TTY=pts/0", kAll),
            "syslog");
  EXPECT_EQ(detectFormat(
                R"(10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326)", kAll),
            "access-log");
  EXPECT_EQ(detectFormat("just some text", kAll), "json") << "json says why it is not JSON";
}

TEST(AutoDecoder, DetectsTheFormatOfASyslogBody) {
  EXPECT_EQ(detectFormat(R"(<134>1 2026-11-23T10:00:00Z h ehr - - - {"user":"a"})", kAll),
            "syslog+json");
  EXPECT_EQ(detectFormat(R"(Nov 23 10:00:00 h app: @cee: {"user":"a"})", kAll), "syslog+json");
  EXPECT_EQ(detectFormat(R"(<134>Nov 23 10:00:00 h fwd: {"auditID":"x","apiVersion":)"
                         R"("audit.k8s.io/v1"})",
                         kAll),
            "syslog+k8s-audit");
  EXPECT_EQ(detectFormat("Nov 23 10:00:00 db01 postgres[42]: [7-1] alice@ehr LOG:  AUDIT: "
                         "SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
                         kAll),
            "syslog+pgaudit");
  EXPECT_EQ(detectFormat("Nov 23 10:00:00 web1 audisp-syslog: type=SYSCALL "
                         "msg=audit(1364481363.243:24287): arch=c000003e",
                         kAll),
            "syslog+auditd");
  EXPECT_EQ(detectFormat(R"(<190>Nov 23 10:00:00 web01 nginx: 10.0.0.1 - - )"
                         R"([10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326)",
                         kAll),
            "syslog+access-log");
  EXPECT_EQ(detectFormat("<13>Nov 23 10:00:00 relay fwd: <13>Nov 23 10:00:00 inner app: hi", kAll),
            "syslog")
      << "syslog in syslog is not nested";
  EXPECT_EQ(detectFormat("<13>Nov 23 10:00:00 h app: key=value text", kAll), "syslog");
  EXPECT_EQ(detectFormat("<13>1 2026-11-23T10:00:00Z h app - - -", kAll), "syslog");
}

TEST(AutoDecoder, PassesOverFormatsThisBuildDoesNotHave) {
  EXPECT_EQ(detectFormat("type=SYSCALL msg=audit(1.0:2): a=b", {"json"}), "json");
  EXPECT_EQ(detectFormat(R"({"resourceType":"AuditEvent"})", {"json", "auditd"}), "json");
}

TEST(AutoDecoder, DecodesWithTheChosenFormatAndSaysWhichItChose) {
  AutoDecoder decoder;
  const std::vector<std::string> paths = {"user.id"};
  decoder.setFields(paths);
  DecodeError error;
  std::string empty(kRecordPadding, ' ');
  EXPECT_EQ(decoder.decode(std::string_view(empty.data(), 0), error), nullptr);
  EXPECT_EQ(error.reason, "empty_record");
  EXPECT_TRUE(decoder.chosen().empty());

  std::string record = R"({"user":{"id":"u1"}})";
  const size_t size = record.size();
  record.append(kRecordPadding, ' ');
  const Event* event = decoder.decode(std::string_view(record.data(), size), error);
  ASSERT_NE(event, nullptr) << error.reason;
  EXPECT_EQ(decoder.chosen(), "json");
  ASSERT_EQ(event->values(0).size(), 1u);
  EXPECT_EQ(event->values(0)[0].text, "u1");
}

TEST(AutoDecoder, LooksPastLinesOfNoFormatUntilOneIsRecognised) {
  AutoDecoder decoder;
  const std::vector<std::string> paths = {"db.user"};
  decoder.setFields(paths);
  DecodeError error;
  auto padded = [](std::string text) {
    text.append(kRecordPadding, ' ');
    return text;
  };
  const std::string echo = padded("CREATE TABLE account (id INT);");
  EXPECT_EQ(decoder.decode(std::string_view(echo.data(), echo.size() - kRecordPadding), error),
            nullptr);
  EXPECT_EQ(decoder.chosen(), "json") << "read as JSON while nothing is recognised";
  const std::string line =
      "2026-11-23 10:00:00.123 UTC [42] alice@ehr LOG:  AUDIT: "
      "SESSION,1,1,READ,SELECT,,,select 1,<not logged>";
  const std::string audit = padded(line);
  decoder.decode(std::string_view(audit.data(), line.size()), error);
  EXPECT_EQ(decoder.chosen(), "pgaudit");
}

}  // namespace
}  // namespace trailwatch::decode
