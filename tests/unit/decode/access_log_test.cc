#include "daemon/decode/access_log.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

using Strings = std::vector<std::string>;

const Strings kPaths = {"source.ip",
                        "user.name",
                        "@timestamp",
                        "http.request.method",
                        "url.path",
                        "url.query",
                        "url.original",
                        "http.version",
                        "http.response.status_code",
                        "http.response.body.bytes",
                        "http.request.referrer",
                        "user_agent.original",
                        "event.category",
                        "event.outcome",
                        "access_log.request",
                        "access_log.ident",
                        "access_log.time",
                        "access_log.bytes",
                        "access_log.extra"};

class AccessLogDecoderTest : public ::testing::Test {
 protected:
  AccessLogDecoderTest() { decoder_.setFields(kPaths); }

  // Decodes `line` (followed by kRecordPadding junk bytes); the fields by
  // path, or empty with reason_ set on failure.
  std::map<std::string, Strings> decode(std::string_view line) {
    buffer_.assign(line);
    buffer_.append(kRecordPadding, '"');
    error_ = DecodeError{};
    std::map<std::string, Strings> out;
    const Event* event = decoder_.decode(std::string_view(buffer_.data(), line.size()), error_);
    if (event == nullptr) return out;
    for (FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : event->values(id)) out[kPaths[id]].emplace_back(v.text);
    }
    numbers_.clear();
    for (const auto& v : event->values(8)) numbers_.push_back(v.type == FieldValue::Type::kNumber);
    return out;
  }

  AccessLogDecoder decoder_;
  std::string buffer_;
  DecodeError error_;
  std::vector<bool> numbers_;
};

TEST_F(AccessLogDecoderTest, DecodesCombinedFormat) {
  auto f = decode(
      R"x(10.1.2.3 - alice [10/Oct/2000:13:55:36 -0700] "GET /patients/123?view=full&x=1 HTTP/1.1" 200 2326 "http://ehr.example/search" "Mozilla/4.08 [en] (Win98; I ;Nav)")x");
  ASSERT_TRUE(error_.reason.empty()) << error_.reason << ": " << error_.detail;
  EXPECT_EQ(f["source.ip"], Strings{"10.1.2.3"});
  EXPECT_EQ(f["user.name"], Strings{"alice"});
  EXPECT_EQ(f["@timestamp"], Strings{"2000-10-10T13:55:36-07:00"});
  EXPECT_EQ(f["access_log.time"], Strings{"10/Oct/2000:13:55:36 -0700"});
  EXPECT_EQ(f["http.request.method"], Strings{"GET"});
  EXPECT_EQ(f["url.original"], Strings{"/patients/123?view=full&x=1"});
  EXPECT_EQ(f["url.path"], Strings{"/patients/123"});
  EXPECT_EQ(f["url.query"], Strings{"view=full&x=1"});
  EXPECT_EQ(f["http.version"], Strings{"1.1"});
  EXPECT_EQ(f["http.response.status_code"], Strings{"200"});
  EXPECT_EQ(numbers_, std::vector<bool>{true});
  EXPECT_EQ(f["http.response.body.bytes"], Strings{"2326"});
  EXPECT_EQ(f["http.request.referrer"], Strings{"http://ehr.example/search"});
  EXPECT_EQ(f["user_agent.original"], Strings{"Mozilla/4.08 [en] (Win98; I ;Nav)"});
  EXPECT_EQ(f["event.category"], Strings{"web"});
  EXPECT_EQ(f["event.outcome"], Strings{"success"});
  EXPECT_TRUE(f["access_log.ident"].empty());
}

TEST_F(AccessLogDecoderTest, DecodesCommonFormatWithMissingValues) {
  auto f = decode(R"x(::1 - - [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/1.0" 401 -)x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["source.ip"], Strings{"::1"});
  EXPECT_TRUE(f["user.name"].empty());
  EXPECT_TRUE(f["http.response.body.bytes"].empty());
  EXPECT_EQ(f["access_log.bytes"], Strings{"-"});
  EXPECT_TRUE(f["http.request.referrer"].empty());
  EXPECT_TRUE(f["url.query"].empty());
  EXPECT_EQ(f["event.outcome"], Strings{"failure"});
  EXPECT_EQ(f["@timestamp"], Strings{"2024-01-01T00:00:00+00:00"});
}

TEST_F(AccessLogDecoderTest, UnescapesQuotedFields) {
  auto f = decode(
      R"x(2001:db8::7 - - [17/May/2015:10:05:03 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "say \"hi\" \x41\\")x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["url.path"], Strings{"/a\"b"});
  EXPECT_EQ(f["user_agent.original"], Strings{"say \"hi\" A\\"});
  EXPECT_TRUE(f["http.request.referrer"].empty()) << "- is no referrer";
}

TEST_F(AccessLogDecoderTest, KeepsRequestLinesThatAreNotRequests) {
  auto f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "-" 408 0 "-" "-")x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["access_log.request"], Strings{"-"});
  EXPECT_TRUE(f["http.request.method"].empty());
  EXPECT_TRUE(f["url.path"].empty());

  f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "\x16\x03\x01\x00\xa5\x01" 400 226)x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_TRUE(f["http.request.method"].empty());
  EXPECT_EQ(f["access_log.request"].size(), 1u);

  f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /old" 200 1)x");
  EXPECT_EQ(f["http.request.method"], Strings{"GET"}) << "HTTP/0.9 has no version";
  EXPECT_TRUE(f["http.version"].empty());

  f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1 extra" 200 1)x");
  EXPECT_TRUE(f["http.request.method"].empty());
}

TEST_F(AccessLogDecoderTest, KeepsTrailingExtraFields) {
  auto f = decode(
      R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" "10.9.9.9" rt=0.003)x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["access_log.extra"], Strings{R"x("10.9.9.9" rt=0.003)x"});
  EXPECT_EQ(f["user_agent.original"], Strings{"curl/8"});
}

TEST_F(AccessLogDecoderTest, KeepsLinesCutInsideTheLastQuotedField) {
  // The Apache sample holds one such line (a Googlebot agent cut short).
  auto f = decode(
      R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "Mozilla/5.0 (compat)x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["user_agent.original"], Strings{"Mozilla/5.0 (compat"});
  f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "http://x)x");
  ASSERT_TRUE(error_.reason.empty()) << error_.detail;
  EXPECT_EQ(f["http.request.referrer"], Strings{"http://x"});
  EXPECT_TRUE(f["user_agent.original"].empty());
  f = decode(R"x(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-")x");
  ASSERT_TRUE(error_.reason.empty()) << "a referrer without an agent is accepted";
}

TEST_F(AccessLogDecoderTest, RejectsWithFixedReasons) {
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "empty_record"},
      {"  \r", "empty_record"},
      {"1.2.3.4", "malformed_access_log"},
      {"1.2.3.4 - - 17/May/2015:10:05:03", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000", "malformed_access_log"},
      {"1.2.3.4 - - [17/Mai/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"},
      {"1.2.3.4 - - [99/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"},
      {"1.2.3.4 - - [] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] GET / 200 1", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1 200 1", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /\" OK 1", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /\" 200 lots", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /\" 200 1 junk", "malformed_access_log"},
      {"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /\" 200 1 \"-\" junk",
       "malformed_access_log"},
      {"{\"json\":true}", "malformed_access_log"},
      {std::string("\xff\xfe\0 - - [", 8), "malformed_access_log"},
  };
  for (const auto& [line, reason] : cases) {
    auto f = decode(line);
    EXPECT_EQ(error_.reason, reason) << line;
    EXPECT_FALSE(error_.detail.empty()) << line;
    EXPECT_TRUE(f.empty());
  }
}

TEST_F(AccessLogDecoderTest, SurvivesHostileInput) {
  const std::string prefix = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] ";
  decode(prefix + "\"" + std::string(100000, '\\'));
  decode(prefix + "\"\\");
  decode(prefix + "\"\\x4");
  decode(prefix + "\"a\\x\" 200 1 \"\\x4\" \"\\\"");
  decode(prefix + "\"GET " + std::string(1 << 20, '/') + " HTTP/1.1\" 200 1");
  EXPECT_TRUE(error_.reason.empty());
  decode(std::string(1 << 16, '['));
  EXPECT_EQ(error_.reason, "malformed_access_log");
}

// Counted with awk over the sample: $6 == "\"GET", $9 >= 400, $10 == "-".
constexpr std::size_t kApacheGets = 9952;
constexpr std::size_t kApacheFailures = 220;
constexpr std::size_t kApacheNoBytes = 669;

TEST(AccessLogDecoder, DecodesEveryLineOfTheApacheSample) {
  const auto file =
      std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "elastic-apache-access/apache_logs";
  if (!std::filesystem::exists(file)) {
    GTEST_SKIP() << "shared corpus not found at " << file.string() << " (elastic-apache-access)";
  }
  AccessLogDecoder decoder;
  decoder.setFields(kPaths);
  std::ifstream in(file);
  std::size_t lines = 0, events = 0, get = 0, with_query = 0, failures = 0, no_bytes = 0;
  std::string first_timestamp, first_agent, buffer;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    buffer = line + std::string(kRecordPadding, '"');
    DecodeError error;
    const Event* e = decoder.decode(std::string_view(buffer.data(), line.size()), error);
    ASSERT_NE(e, nullptr) << "line " << lines << ": " << error.reason << " " << error.detail;
    ++events;
    if (events == 1) {
      first_timestamp = std::string(e->values(2)[0].text);
      first_agent = std::string(e->values(11)[0].text);
    }
    for (const auto& v : e->values(3)) get += v.text == "GET";
    with_query += !e->values(5).empty();
    for (const auto& v : e->values(13)) failures += v.text == "failure";
    no_bytes += e->values(9).empty();
  }
  EXPECT_EQ(lines, 10000u);
  EXPECT_EQ(events, 10000u);
  EXPECT_EQ(first_timestamp, "2015-05-17T10:05:03+00:00");
  EXPECT_EQ(first_agent,
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/32.0.1700.77 Safari/537.36");
  EXPECT_EQ(get, kApacheGets);
  EXPECT_EQ(failures, kApacheFailures);
  EXPECT_EQ(no_bytes, kApacheNoBytes);
  EXPECT_GT(with_query, 0u);
}

// nginx: log_format main '... "$http_user_agent" "$http_x_forwarded_for"
// $request_time $upstream_response_time "$http_x_request_id"';
TEST(AccessLogDecoder, NamesConfiguredExtraFields) {
  const Strings paths = {"forwarded_for", "request_time", "request.id", "access_log.extra",
                         "user_agent.original"};
  auto d = makeDecoder("access-log", {{"forwarded_for", "request_time", "-", "request.id"}});
  ASSERT_NE(d, nullptr);
  d->setFields(paths);
  auto fields = [&](std::string_view line) {
    std::string buffer(line);
    buffer.append(kRecordPadding, '"');
    DecodeError error;
    std::map<std::string, std::vector<FieldValue>> out;
    const Event* e = d->decode(std::string_view(buffer.data(), line.size()), error);
    EXPECT_NE(e, nullptr) << error.reason << " " << error.detail;
    if (e == nullptr) return std::map<std::string, Strings>{};
    std::map<std::string, Strings> text;
    for (FieldId id = 0; id < paths.size(); ++id) {
      for (const auto& v : e->values(id)) {
        text[paths[id]].emplace_back(v.text);
        if (paths[id] == "forwarded_for") {
          EXPECT_EQ(v.type, FieldValue::Type::kString) << v.text;
        }
        if (paths[id] == "request_time" && v.text == "0.004") {
          EXPECT_EQ(v.type, FieldValue::Type::kNumber) << "a bare number is a number";
        }
      }
    }
    return text;
  };
  const std::string head =
      R"(10.0.0.5 - alice [23/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8")";
  auto f = fields(head + R"( "203.0.113.9, 10.0.0.1" 0.004 0.003 "req-\"7")");
  EXPECT_EQ(f["forwarded_for"], Strings{"203.0.113.9, 10.0.0.1"});
  EXPECT_EQ(f["request_time"], Strings{"0.004"});
  EXPECT_EQ(f["request.id"], Strings{"req-\"7"}) << "the third extra is skipped by `-`";
  EXPECT_EQ(f["access_log.extra"], Strings{R"("203.0.113.9, 10.0.0.1" 0.004 0.003 "req-\"7")"});
  EXPECT_EQ(f["user_agent.original"], Strings{"curl/8"});

  f = fields(head + R"( "-" -)");
  EXPECT_EQ(f.count("forwarded_for"), 0u) << "`-` is absent";
  EXPECT_EQ(f.count("request_time"), 0u);
  f = fields(head + R"( "198.51.100.1")");
  EXPECT_EQ(f["forwarded_for"], Strings{"198.51.100.1"});
  EXPECT_EQ(f.count("request_time"), 0u) << "missing trailing fields are absent";
  f = fields(head + R"( "unclosed 1.2)");
  EXPECT_EQ(f["forwarded_for"], Strings{"unclosed 1.2"});
  f = fields(head + " a b c d e f g");
  EXPECT_EQ(f["request.id"], Strings{"d"});
  f = fields(head);
  EXPECT_EQ(f.count("forwarded_for"), 0u);
  f = fields(R"(10.0.0.5 - - [23/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5)");
  EXPECT_EQ(f.count("forwarded_for"), 0u) << "the common format has no extras";
}

TEST(AccessLogDecoder, IsRegistered) {
  auto d = makeDecoder("access-log");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(dynamic_cast<AccessLogDecoder*>(d.get()), nullptr);
}

}  // namespace
}  // namespace trailwatch::decode
