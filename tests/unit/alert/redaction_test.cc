#include "daemon/alert/redaction.h"

#include <map>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/unit/alert/id_event.h"

#include "daemon/alert/alert_json.h"
#include "daemon/alert/hash_chain.h"

namespace trailwatch::alert {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";

using FakeEvent = testing::IdEvent;
using testing::num;
using testing::str;

// The break-the-glass rule of the shipped PHI pack, with its `fields`.
struct BtgRule {
  std::vector<std::string> tags{"hipaa.164.312.b", "soc2.cc7.2"};
  std::vector<std::string> controls{"hipaa.164.312.b", "soc2.cc7.2"};
  std::vector<std::string> field_names{"user.id",    "patient.id", "event.action",
                                       "user.roles", "url.path",   "event.sequence"};
  std::vector<FieldId> field_ids{0, 1, 2, 3, 4, 5};
  AlertRule rule(bool with_fields = true) const {
    return AlertRule{"6f1c2a4e",
                     "Break-the-glass access",
                     "high",
                     &tags,
                     &controls,
                     with_fields ? &field_names : nullptr,
                     with_fields ? &field_ids : nullptr};
  }
};

std::string btgAlert(std::string_view patient = "p-1203") {
  BtgRule r;
  FakeEvent event("{}");
  event.set(0, {str("u1002")});
  event.set(1, {str(patient)});
  event.set(2, {str("read")});
  event.set(3, {str("nurse"), str("btg-approver")});
  const std::string path = "/fhir/Patient/" + std::string(patient) + "/chart";
  event.set(4, {str(path)});
  event.set(5, {num(17, "17")});
  AlertRenderer renderer;
  std::string out;
  renderer.render(r.rule(), event, -1, {"ehr", "/var/log/ehr/a.ndjson", 4096}, 0, out);
  return out;
}

std::string redacted(const RedactionPolicy& policy, const std::string& alert) {
  Redactor redactor(policy);
  std::string out;
  Status s = redactor.redact(alert, out);
  EXPECT_TRUE(s.ok()) << s.error();
  return out;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  return doc;
}

std::vector<std::string> keysOf(simdjson::dom::element e) {
  std::vector<std::string> keys;
  for (auto [k, v] : simdjson::dom::object(e)) keys.emplace_back(k);
  return keys;
}

TEST(Pseudonym, IsTheTruncatedHmacSha256OfRfc4231) {
  // RFC 4231 section 4.2 (test case 1) and 4.3 (test case 2), HMAC-SHA-256.
  EXPECT_EQ(chainDigest("Hi There", std::string(20, '\x0b')),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(chainDigest("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(pseudonym("Jefe", "what do ya want for nothing?"), "pseud:5bdcc146bf60754e");
}

TEST(Pseudonym, DependsOnKeyAndValueOnly) {
  EXPECT_EQ(pseudonym(kKey, "p-1203"), pseudonym(kKey, "p-1203"));
  EXPECT_NE(pseudonym(kKey, "p-1203"), pseudonym(kKey, "p-1204"));
  EXPECT_NE(pseudonym(kKey, "p-1203"), pseudonym(kKey + "x", "p-1203"));
}

TEST(FieldPattern, MatchesNamesAndStars) {
  EXPECT_TRUE(fieldPatternMatches("patient.id", "patient.id"));
  EXPECT_FALSE(fieldPatternMatches("patient.id", "patient.idx"));
  EXPECT_FALSE(fieldPatternMatches("patient.id", "patient"));
  EXPECT_TRUE(fieldPatternMatches("patient.*", "patient.id"));
  EXPECT_TRUE(fieldPatternMatches("patient.*", "patient.name.family"));
  EXPECT_FALSE(fieldPatternMatches("patient.*", "patient"));
  EXPECT_TRUE(fieldPatternMatches("*.id", "user.id"));
  EXPECT_TRUE(fieldPatternMatches("*", "anything.at.all"));
  EXPECT_TRUE(fieldPatternMatches("u*r.*d", "user.id"));
  EXPECT_FALSE(fieldPatternMatches("*.ip", "source.ipv6"));
}

TEST(Redactor, DropsAFieldAndEveryOtherTraceOfItsValue) {
  RedactionPolicy policy;
  policy.drop = {"patient.id"};
  const std::string in = btgAlert();
  ASSERT_NE(in.find("p-1203"), std::string::npos);
  const std::string out = redacted(policy, in);
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(keysOf(doc["event"]), (std::vector<std::string>{"user.id", "event.action", "user.roles",
                                                            "url.path", "event.sequence"}));
  EXPECT_EQ(std::string_view(doc["event"]["url.path"]), "/fhir/Patient/[redacted]/chart");
  EXPECT_EQ(std::string_view(doc["event"]["user.id"]), "u1002");
  EXPECT_EQ(int64_t(doc["event"]["event.sequence"]), 17);
  EXPECT_EQ(std::string_view(doc["rule"]["title"]), "Break-the-glass access");
  EXPECT_EQ(uint64_t(doc["source"]["offset"]), 4096u);
}

TEST(Redactor, PseudonymizesEverywhereTheValueOccurs) {
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.id", "user.roles"};
  policy.key = kKey;
  const std::string out = redacted(policy, btgAlert());
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;
  EXPECT_EQ(out.find("btg-approver"), std::string::npos) << out;

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  const std::string p = pseudonym(kKey, "p-1203");
  EXPECT_EQ(std::string_view(doc["event"]["patient.id"]), p);
  EXPECT_EQ(std::string_view(doc["event"]["url.path"]), "/fhir/Patient/" + p + "/chart");
  simdjson::dom::array roles = doc["event"]["user.roles"];
  ASSERT_EQ(roles.size(), 2u);
  EXPECT_EQ(std::string_view(roles.at(0)), pseudonym(kKey, "nurse"));
  EXPECT_EQ(std::string_view(roles.at(1)), pseudonym(kKey, "btg-approver"));
  // Order of members kept.
  EXPECT_EQ(keysOf(doc), (std::vector<std::string>{"@timestamp", "rule", "controls", "event",
                                                   "source", "detected_at"}));
  EXPECT_EQ(keysOf(doc["event"]),
            (std::vector<std::string>{"user.id", "patient.id", "event.action", "user.roles",
                                      "url.path", "event.sequence"}));
}

TEST(Redactor, SamePatientSamePseudonymAcrossAlerts) {
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.*"};
  policy.key = kKey;
  simdjson::dom::parser p1, p2, p3;
  auto a = parse(p1, redacted(policy, btgAlert("p-7")));
  auto b = parse(p2, redacted(policy, btgAlert("p-7")));
  auto c = parse(p3, redacted(policy, btgAlert("p-8")));
  EXPECT_EQ(std::string_view(a["event"]["patient.id"]), std::string_view(b["event"]["patient.id"]));
  EXPECT_NE(std::string_view(a["event"]["patient.id"]), std::string_view(c["event"]["patient.id"]));
}

TEST(Redactor, LeavesAnAlertWithoutTheFieldsAsItWas) {
  RedactionPolicy policy;
  policy.drop = {"db.statement", "patient.vip"};
  const std::string in = btgAlert();
  EXPECT_EQ(redacted(policy, in), in);
}

TEST(Redactor, DropWinsOverPseudonymize) {
  RedactionPolicy policy;
  policy.drop = {"patient.*"};
  policy.pseudonymize = {"*.id"};
  policy.key = kKey;
  const std::string out = redacted(policy, btgAlert());
  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(doc["event"]["patient.id"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(std::string_view(doc["event"]["user.id"]), pseudonym(kKey, "u1002"));
}

TEST(Redactor, NumericIdentifiersArePseudonymizedByTheirText) {
  BtgRule r;
  FakeEvent event("{}");
  event.set(0, {str("u1")});
  event.set(1, {num(1203, "1203")});
  event.set(4, {str("/fhir/Patient/1203")});
  AlertRenderer renderer;
  std::string in;
  renderer.render(r.rule(), event, -1, {"ehr", "-", 0}, 0, in);
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.id"};
  policy.key = kKey;
  const std::string out = redacted(policy, in);
  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(std::string_view(doc["event"]["patient.id"]), pseudonym(kKey, "1203"));
  EXPECT_EQ(std::string_view(doc["event"]["url.path"]), "/fhir/Patient/" + pseudonym(kKey, "1203"));
}

// A correlation alert: many records of one patient read by one user.
std::string correlationAlert() {
  BtgRule r;
  const std::vector<std::string> group_by{"user.id", "patient.id"};
  const std::vector<std::string> samples{
      R"({"@timestamp":"2026-11-23T08:00:00.000Z","rule":"btg","user.id":"u1002","patient.id":"p-1203","url.path":"/fhir/Patient/p-1203"})",
      R"({"@timestamp":"2026-11-23T08:01:00.000Z","rule":"btg","user.id":"u1002","patient.id":"p-1203","url.path":null})"};
  StateAlert state;
  state.section = "correlation";
  state.type = "event_count";
  state.timespan = "10m";
  state.group_by = &group_by;
  const std::string group = std::string("u1002") + '\x1f' + "p-1203";
  state.group = group;
  state.figure = 12;
  state.events = 12;
  state.samples = &samples;
  std::string out;
  renderStateAlert(r.rule(false), state, 0, out);
  return out;
}

TEST(Redactor, CoversGroupValuesAndSamplesOfCorrelationAlerts) {
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.id"};
  policy.drop = {"user.id"};
  policy.key = kKey;
  const std::string in = correlationAlert();
  ASSERT_NE(in.find("p-1203"), std::string::npos);
  const std::string out = redacted(policy, in);
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;
  EXPECT_EQ(out.find("u1002"), std::string::npos) << out;

  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  const std::string p = pseudonym(kKey, "p-1203");
  EXPECT_EQ(keysOf(doc["correlation"]["group"]), std::vector<std::string>{"patient.id"});
  EXPECT_EQ(std::string_view(doc["correlation"]["group"]["patient.id"]), p);
  EXPECT_EQ(int64_t(doc["correlation"]["count"]), 12);
  EXPECT_EQ(std::string_view(doc["correlation"]["type"]), "event_count");
  simdjson::dom::array sample = doc["sample"];
  ASSERT_EQ(sample.size(), 2u);
  for (auto s : sample) {
    EXPECT_EQ(std::string_view(s["patient.id"]), p);
    EXPECT_EQ(s["user.id"].error(), simdjson::NO_SUCH_FIELD);
    EXPECT_EQ(std::string_view(s["rule"]), "btg");
  }
  EXPECT_EQ(std::string_view(sample.at(0)["url.path"]), "/fhir/Patient/" + p);
  EXPECT_TRUE(sample.at(1)["url.path"].is_null());
}

std::string wholeRecordAlert(const std::string& record) {
  BtgRule r;
  FakeEvent event(record);
  AlertRenderer renderer;
  std::string out;
  renderer.render(r.rule(false), event, -1, {"ehr", "-", 0}, 0, out);
  return out;
}

TEST(Redactor, DropsWholeRecordsByDefault) {
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.id"};
  policy.key = kKey;
  // A FHIR AuditEvent keeps the patient in a reference no field name reaches.
  const std::string in = wholeRecordAlert(
      R"({"resourceType":"AuditEvent","entity":[{"what":{"reference":"Patient/p-1203"}}]})");
  ASSERT_NE(in.find("\"record\":\"json\""), std::string::npos) << in;
  const std::string out = redacted(policy, in);
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;
  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(simdjson::dom::object(doc["event"]).size(), 0u);
  EXPECT_EQ(std::string_view(doc["record"]), "json");
}

TEST(Redactor, RedactsJsonRecordsByPathWhenAsked) {
  RedactionPolicy policy;
  policy.pseudonymize = {"patient.id"};
  policy.drop = {"user.name"};
  policy.key = kKey;
  policy.redact_records = true;
  const std::string in = wholeRecordAlert(
      R"({"user":{"id":"u9","name":"Ann Lee"},"patient":{"id":"p-1203","mrn":"M1"},"patient.id":"p-1203","note":"chart of p-1203 by Ann Lee","p-1203":true})");
  const std::string out = redacted(policy, in);
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;
  EXPECT_EQ(out.find("Ann Lee"), std::string::npos) << out;
  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  const std::string p = pseudonym(kKey, "p-1203");
  EXPECT_EQ(std::string_view(doc["event"]["patient"]["id"]), p);
  EXPECT_EQ(std::string_view(doc["event"]["patient"]["mrn"]), "M1");
  EXPECT_EQ(std::string_view(doc["event"]["patient.id"]), p);
  EXPECT_EQ(keysOf(doc["event"]["user"]), std::vector<std::string>{"id"});
  EXPECT_EQ(std::string_view(doc["event"]["note"]), "chart of " + p + " by [redacted]");
  EXPECT_TRUE(bool(doc["event"][p]));
}

TEST(Redactor, AlwaysDropsTextRecords) {
  RedactionPolicy policy;
  policy.drop = {"patient.id"};
  policy.redact_records = true;
  const std::string in = wholeRecordAlert("Nov 23 08:46:27 ehr read patient=p-1203 user=u1");
  ASSERT_NE(in.find("\"record\":\"text\""), std::string::npos) << in;
  const std::string out = redacted(policy, in);
  EXPECT_EQ(out.find("p-1203"), std::string::npos) << out;
  EXPECT_NE(out.find("\"event\":{}"), std::string::npos) << out;
}

TEST(Redactor, TimestampIsAFieldToo) {
  RedactionPolicy policy;
  policy.drop = {"@timestamp"};
  const std::string out = redacted(policy, correlationAlert());
  simdjson::dom::parser parser;
  auto doc = parse(parser, out);
  EXPECT_EQ(doc["@timestamp"].error(), simdjson::NO_SUCH_FIELD);
  for (auto s : simdjson::dom::array(doc["sample"])) {
    EXPECT_EQ(s["@timestamp"].error(), simdjson::NO_SUCH_FIELD);
  }
  EXPECT_TRUE(doc["detected_at"].is_string());
}

TEST(Redactor, RefusesWhatItCannotParse) {
  RedactionPolicy policy;
  policy.drop = {"patient.id"};
  Redactor redactor(policy);
  std::string out = "stale";
  const std::string in = btgAlert();
  EXPECT_FALSE(redactor.redact(in.substr(0, in.size() / 2), out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(redactor.redact("[\"p-1203\"]", out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(redactor.redact(in + "x", out).ok());
  EXPECT_TRUE(out.empty());
}

// A sink that records what it is given.
class RecordingSink : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override {
    lines.emplace_back(alert_json);
    return Status::Ok();
  }
  Status flush() override {
    ++flushes;
    return Status::Ok();
  }
  std::vector<std::string> lines;
  int flushes = 0;

 private:
  std::string name_ = "recording";
};

TEST(RedactingSink, PassesRedactedAlertsAndWithholdsBrokenOnes) {
  auto inner = std::make_unique<RecordingSink>();
  RecordingSink* seen = inner.get();
  int failures = 0;
  RedactionPolicy policy;
  policy.drop = {"patient.id"};
  RedactingSink sink(std::move(inner), policy, [&] { ++failures; });
  EXPECT_EQ(sink.name(), "recording");

  EXPECT_TRUE(sink.write(btgAlert()).ok());
  ASSERT_EQ(seen->lines.size(), 1u);
  EXPECT_EQ(seen->lines[0].find("p-1203"), std::string::npos);

  const Status s = sink.write("{\"event\":{\"patient.id\":\"p-1203\"");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error().find("withheld"), std::string::npos) << s.error();
  EXPECT_EQ(seen->lines.size(), 1u);
  EXPECT_EQ(failures, 1);

  EXPECT_TRUE(sink.flush().ok());
  EXPECT_EQ(seen->flushes, 1);
}

}  // namespace
}  // namespace trailwatch::alert
