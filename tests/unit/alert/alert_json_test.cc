#include "daemon/alert/alert_json.h"

#include <map>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/unit/alert/id_event.h"

namespace trailwatch::alert {
namespace {

using FakeEvent = testing::IdEvent;
using testing::num;
using testing::str;

struct Fixture {
  std::vector<std::string> tags{"hipaa.164.312.b", "soc2.cc7.2", "attack.exfiltration"};
  std::vector<std::string> controls{"hipaa.164.312.b", "soc2.cc7.2"};
  std::vector<std::string> field_names;
  std::vector<FieldId> field_ids;
  AlertRule rule() const {
    return AlertRule{"r-1", "Bulk \"export\"", "high", &tags, &controls, &field_names, &field_ids};
  }
};

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  return doc;
}

TEST(AlertRenderer, CarriesRuleControlsSourceAndEventTime) {
  Fixture f;
  FakeEvent event(R"({"@timestamp":"2026-01-02T03:04:05Z","user":{"id":"u1"}})");
  event.set(0, {str("2026-01-02T03:04:05Z")});
  AlertRenderer renderer;
  std::string out;
  renderer.render(f.rule(), event, 0, {"ehr", "/var/log/ehr/a.ndjson", 1234}, 0, out);

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(std::string_view(doc["@timestamp"]), "2026-01-02T03:04:05Z");
  EXPECT_EQ(std::string_view(doc["rule"]["id"]), "r-1");
  EXPECT_EQ(std::string_view(doc["rule"]["title"]), "Bulk \"export\"");
  EXPECT_EQ(std::string_view(doc["rule"]["level"]), "high");
  EXPECT_EQ(simdjson::dom::array(doc["rule"]["tags"]).size(), 3u);
  EXPECT_EQ(simdjson::dom::array(doc["controls"]).size(), 2u);
  EXPECT_EQ(std::string_view(doc["event"]["user"]["id"]), "u1");
  EXPECT_EQ(std::string_view(doc["source"]["name"]), "ehr");
  EXPECT_EQ(std::string_view(doc["source"]["file"]), "/var/log/ehr/a.ndjson");
  EXPECT_EQ(uint64_t(doc["source"]["offset"]), 1234u);
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(AlertRenderer, FallsBackToReadTimeWithoutEventTime) {
  Fixture f;
  FakeEvent event(R"({"a":1})");
  AlertRenderer renderer;
  std::string out;
  renderer.render(f.rule(), event, -1, {"ehr", "-", 0}, 1795423587123456789LL, out);
  simdjson::dom::parser parser;
  EXPECT_EQ(std::string_view(parse(parser, out)["@timestamp"]), "2026-11-23T08:46:27.123Z");
}

TEST(AlertRenderer, RuleFieldsSelectWhatTheEventCarries) {
  Fixture f;
  f.field_names = {"user.id", "patient.id", "bytes", "missing"};
  f.field_ids = {1, 2, 3, 4};
  FakeEvent event(R"({"secret":"do not copy"})");
  event.set(1, {str("u1")});
  event.set(2, {str("p1"), str("p2")});
  event.set(3, {num(42, "42")});
  AlertRenderer renderer;
  std::string out;
  renderer.render(f.rule(), event, -1, {"ehr", "-", 0}, 0, out);
  EXPECT_EQ(out.find("do not copy"), std::string::npos);
  simdjson::dom::parser parser;
  auto ev = parse(parser, out)["event"];
  EXPECT_EQ(std::string_view(ev["user.id"]), "u1");
  EXPECT_EQ(simdjson::dom::array(ev["patient.id"]).size(), 2u);
  EXPECT_EQ(int64_t(ev["bytes"]), 42);
  EXPECT_TRUE(ev["missing"].is_null());
}

TEST(AlertRenderer, NonJsonRecordBecomesMessageString) {
  Fixture f;
  for (std::string raw :
       {std::string("plain text \"quoted\""), std::string(R"({"a":1} trailing)"),
        std::string(R"({"a":)"), std::string("[1,2]"), std::string("bad \xff utf8")}) {
    FakeEvent event(raw);
    AlertRenderer renderer;
    std::string out;
    renderer.render(f.rule(), event, -1, {"ehr", "-", 0}, 0, out);
    simdjson::dom::parser parser;
    auto doc = parse(parser, out);
    EXPECT_TRUE(doc["event"]["message"].is_string()) << out;
  }
}

}  // namespace
}  // namespace trailwatch::alert
