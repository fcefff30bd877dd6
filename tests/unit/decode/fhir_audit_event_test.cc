#include "daemon/decode/fhir_audit_event.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "tests/unit/decode/json_format_harness.h"

namespace trailwatch::decode {
namespace {

using testing::Harness;
using testing::Outcome;
using testing::Strings;
using Type = FieldValue::Type;

const std::vector<std::string> kPaths = {"@timestamp",        "event.action",
                                         "event.outcome",     "event.type",
                                         "event.subtype",     "user.id",
                                         "user.name",         "user.roles",
                                         "source.ip",         "patient.id",
                                         "resource.type",     "purpose_of_use",
                                         "host.name",         "agent.who.identifier.value",
                                         "entity.what",       "id",
                                         "agent.requestor",   "source.site",
                                         "agent.network.type"};

Harness fhir() { return Harness(std::make_unique<FhirAuditEventDecoder>(), kPaths); }

// BALP PatientRead (ex-auditBasicReadServer in IHE/ITI.BasicAudit, written
// out as R4 JSON by hand), with a purpose of use on the user agent.
constexpr std::string_view kBalpPatientRead =
    R"({"resourceType":"AuditEvent","id":"ex-auditBasicReadServer",
"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},"action":"R",
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],
"recorded":"2020-04-29T09:49:00.000Z","outcome":"0",
"source":{"site":"server.example.com","observer":{"reference":"Device/ex-device"}},
"agent":[{"type":{"coding":[{"code":"110153"}]},"requestor":false,"who":{"reference":"Device/ex-device"},
"network":{"address":"http://server.example.com/fhir","type":"5"}},
{"type":{"coding":[{"code":"110152"}]},"requestor":false,"who":{"display":"myMachine.example.org"},
"network":{"address":"2001:0db8:85a3:0000:0000:8a2e:0370:7334","type":"2"}},
{"type":{"coding":[{"code":"IRCP"}]},"role":[{"coding":[{"code":"nurse"}]}],"requestor":true,
"who":{"identifier":{"value":"jsmith"},"display":"John Smith"},"network":{"address":"10.1.2.3","type":"2"},
"purposeOfUse":[{"coding":[{"code":"TREAT"}]}]}],
"entity":[{"what":{"reference":"Patient/ex-patient"},"type":{"code":"1"},"role":{"code":"1"}},
{"what":{"reference":"List/ex-list"},"type":{"code":"2"},"role":{"code":"4"}}]})";

TEST(FhirAuditEventDecoder, DecodesBalpPatientRead) {
  Harness h = fhir();
  std::string one_line(kBalpPatientRead);
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  Outcome o = h.run(one_line);
  ASSERT_FALSE(o.failed) << o.error.reason << ": " << o.error.detail;
  ASSERT_EQ(o.events.size(), 1u);
  const auto& e = o.events[0];
  EXPECT_EQ(e["@timestamp"], Strings{"2020-04-29T09:49:00.000Z"});
  EXPECT_EQ(e["event.action"], Strings{"read"});
  EXPECT_EQ(e["event.outcome"], Strings{"success"});
  EXPECT_EQ(e["event.type"], Strings{"rest"});
  EXPECT_EQ(e["event.subtype"], Strings{"read"});
  EXPECT_EQ(e["user.id"], Strings{"jsmith"});
  EXPECT_EQ(e["user.name"], Strings{"John Smith"});
  EXPECT_EQ(e["user.roles"], (Strings{"IRCP", "nurse"}));
  EXPECT_EQ(e["source.ip"], Strings{"10.1.2.3"});
  EXPECT_EQ(e["patient.id"], Strings{"ex-patient"});
  EXPECT_EQ(e["resource.type"], Strings{"List"});
  EXPECT_EQ(e["purpose_of_use"], Strings{"TREAT"});
  EXPECT_EQ(e["host.name"], Strings{"server.example.com"});
  EXPECT_EQ(e.raw, one_line);
}

TEST(FhirAuditEventDecoder, NativePathsStayAddressable) {
  Harness h = fhir();
  std::string one_line(kBalpPatientRead);
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  Outcome o = h.run(one_line);
  ASSERT_EQ(o.events.size(), 1u);
  const auto& e = o.events[0];
  EXPECT_EQ(e["agent.who.identifier.value"], Strings{"jsmith"});
  EXPECT_EQ(e["agent.requestor"], (Strings{"false", "false", "true"}));
  EXPECT_EQ(e.types.at("agent.requestor")[2], Type::kBool);
  EXPECT_EQ(e["agent.network.type"], (Strings{"5", "2", "2"}));
  EXPECT_EQ(e["id"], Strings{"ex-auditBasicReadServer"});
  EXPECT_EQ(e["source.site"], Strings{"server.example.com"});
  ASSERT_EQ(e["entity.what"].size(), 2u);
  EXPECT_EQ(e["entity.what"][0], R"({"reference":"Patient/ex-patient"})");
  EXPECT_EQ(e.types.at("entity.what")[0], Type::kComposite);
}

TEST(FhirAuditEventDecoder, MapsActionCodes) {
  Harness h = fhir();
  const std::pair<std::string, std::string> cases[] = {{"C", "create"},  {"R", "read"},
                                                       {"U", "update"},  {"D", "delete"},
                                                       {"E", "execute"}, {"X", "X"}};
  for (const auto& [code, name] : cases) {
    Outcome o = h.run(R"({"resourceType":"AuditEvent","action":")" + code + R"("})");
    ASSERT_EQ(o.events.size(), 1u) << code;
    EXPECT_EQ(o.events[0]["event.action"], Strings{name}) << code;
  }
}

TEST(FhirAuditEventDecoder, MapsR4OutcomeCodes) {
  Harness h = fhir();
  const std::pair<std::string, std::string> cases[] = {
      {"0", "success"}, {"4", "failure"}, {"8", "failure"}, {"12", "failure"}};
  for (const auto& [code, outcome] : cases) {
    Outcome o = h.run(R"({"resourceType":"AuditEvent","outcome":")" + code + R"("})");
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0]["event.outcome"], Strings{outcome}) << code;
  }
}

TEST(FhirAuditEventDecoder, DecodesR5Shapes) {
  Harness h = fhir();
  Outcome o = h.run(
      R"({"resourceType":"AuditEvent","category":[{"coding":[{"code":"110113"}]}],)"
      R"("code":{"coding":[{"code":"110127"}]},"action":"E","recorded":"2023-01-02T03:04:05Z",)"
      R"("outcome":{"code":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-outcome","code":"serious-failure"}},)"
      R"("authorization":[{"coding":[{"code":"BTG"}]},{"coding":[{"code":"ETREAT"}]}],)"
      R"("patient":{"reference":"Patient/p-9"},"source":{"site":{"display":"ward-3"},"observer":{"reference":"Device/d"}},)"
      R"("agent":[{"requestor":true,"who":{"reference":"Practitioner/dr-x"},"networkString":"192.0.2.7",)"
      R"("role":[{"coding":[{"code":"physician"}]}]}]})");
  ASSERT_EQ(o.events.size(), 1u) << o.error.reason;
  const auto& e = o.events[0];
  EXPECT_EQ(e["event.type"], Strings{"110113"});
  EXPECT_EQ(e["event.subtype"], Strings{"110127"});
  EXPECT_EQ(e["event.outcome"], Strings{"failure"});
  EXPECT_EQ(e["purpose_of_use"], (Strings{"BTG", "ETREAT"}));
  EXPECT_EQ(e["patient.id"], Strings{"p-9"});
  EXPECT_EQ(e["user.id"], Strings{"Practitioner/dr-x"});
  EXPECT_EQ(e["user.roles"], Strings{"physician"});
  EXPECT_EQ(e["source.ip"], Strings{"192.0.2.7"});
  EXPECT_EQ(e["host.name"], Strings{"ward-3"});

  o = h.run(R"({"resourceType":"AuditEvent","outcome":{"code":{"code":"success"}}})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0]["event.outcome"], Strings{"success"});
}

TEST(FhirAuditEventDecoder, PatientReferencesAreNormalized) {
  Harness h = fhir();
  Outcome o =
      h.run(R"({"resourceType":"AuditEvent","entity":[)"
            R"({"what":{"reference":"https://ehr.example/fhir/Patient/abs-1/_history/3"}},)"
            R"({"what":{"reference":"Patient/abs-1"}},)"
            R"({"what":{"identifier":{"value":"MRN-77"}},"role":{"code":"1"}},)"
            R"({"what":{"reference":"#contained"}},{"what":{"reference":"Observation/o1"}}]})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0]["patient.id"], (Strings{"abs-1", "MRN-77"}));
  EXPECT_EQ(o.events[0]["resource.type"], (Strings{"Patient", "Observation"}));
}

TEST(FhirAuditEventDecoder, NoRequestorMeansNoUser) {
  Harness h = fhir();
  Outcome o = h.run(
      R"({"resourceType":"AuditEvent","agent":[{"requestor":false,"who":{"identifier":{"value":"x"}}}]})");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_TRUE(o.events[0]["user.id"].empty());
  EXPECT_EQ(o.events[0]["agent.who.identifier.value"], Strings{"x"});
}

TEST(FhirAuditEventDecoder, BundleGivesEachAuditEventThroughNext) {
  Harness h = fhir();
  const std::string record =
      R"({"resourceType":"Bundle","type":"collection","entry":[)"
      R"({"resource":{"resourceType":"AuditEvent","id":"a1","action":"C"}},)"
      R"({"resource":{"resourceType":"Patient","id":"p"}},{"fullUrl":"x"},7,)"
      R"({"resource":{"resourceType":"AuditEvent","id":"a2","action":"D"}}]})";
  Outcome o = h.run(record);
  ASSERT_FALSE(o.failed) << o.error.reason;
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[0]["id"], Strings{"a1"});
  EXPECT_EQ(o.events[0]["event.action"], Strings{"create"});
  EXPECT_EQ(o.events[0].raw, R"({"resourceType":"AuditEvent","id":"a1","action":"C"})");
  EXPECT_EQ(o.events[1]["id"], Strings{"a2"});
  EXPECT_EQ(o.events[1]["event.action"], Strings{"delete"});
}

TEST(FhirAuditEventDecoder, RejectsWhatIsNotAnAuditEvent) {
  Harness h = fhir();
  for (const char* record :
       {R"({"resourceType":"Patient","id":"p"})", R"({"action":"R"})",
        R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]})",
        R"({"resourceType":"Bundle","entry":"no"})", R"({"resourceType":7})"}) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty()) << record;
    EXPECT_EQ(o.error.reason, "not_an_audit_event") << record;
    EXPECT_FALSE(o.error.detail.empty());
  }
}

TEST(FhirAuditEventDecoder, RejectsHostileRecordsWithAReason) {
  Harness h = fhir();
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  const std::string deep_object = R"({"resourceType":"AuditEvent","agent":)" +
                                  std::string(200, '[') + std::string(200, ']') + "}";
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "empty_record"},
      {" \t ", "empty_record"},
      {R"({"resourceType":"AuditEvent","action":"R")", "malformed_json"},
      {R"({"resourceType":"AuditEvent"} trailing)", "malformed_json"},
      {"{\"resourceType\":\"AuditEvent\",\"id\":\"\xff\xfe\"}", "malformed_json"},
      {"[]", "not_an_object"},
      {R"("AuditEvent")", "not_an_object"},
      {deep, "too_deep"},
      {deep_object, "too_deep"},
      {std::string("{\"a\":\"\0\"}", 9), "malformed_json"},
  };
  for (const auto& [record, reason] : cases) {
    Outcome o = h.run(record);
    EXPECT_TRUE(o.events.empty());
    EXPECT_EQ(o.error.reason, reason) << record.substr(0, 60);
  }
}

TEST(FhirAuditEventDecoder, WrongTypesGiveNoNormalizedValues) {
  Harness h = fhir();
  Outcome o = h.run(
      R"({"resourceType":"AuditEvent","recorded":5,"action":["R"],"outcome":null,"agent":"x",)"
      R"("entity":[5,{"what":7,"role":"1"}],"purposeOfEvent":{"coding":"TREAT"},"source":[1],)"
      R"("type":[[{"code":[]}]],"subtype":"read"})");
  ASSERT_FALSE(o.failed) << o.error.reason;
  ASSERT_EQ(o.events.size(), 1u);
  for (const char* path : {"@timestamp", "event.action", "event.outcome", "user.id", "patient.id",
                           "purpose_of_use", "host.name", "event.subtype"}) {
    EXPECT_TRUE(o.events[0][path].empty()) << path;
  }
}

TEST(FhirAuditEventDecoder, IsRegisteredAsFhir) { EXPECT_NE(makeDecoder("fhir"), nullptr); }

// The HL7 FHIR R4 example AuditEvents (SOURCES.md there): nine JSON
// resources, one per file, plus one R5 example in XML that is not JSON.
TEST(FhirAuditEventDecoder, DecodesTheHl7Examples) {
  const std::filesystem::path dir =
      std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "fhir-auditevent-examples";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "corpus folder " << dir << " is absent; fetch ../shared/corpus to run this";
  }
  Harness h = fhir();
  std::map<std::string, testing::Decoded> by_file;
  int events = 0, malformed = 0, other = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".md") || name.ends_with(".tsv")) continue;
    std::string text = testing::readFile(entry.path().string());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    Outcome o = h.run(text);
    events += static_cast<int>(o.events.size());
    if (o.error.reason == "malformed_json")
      ++malformed;
    else if (o.failed)
      ++other;
    if (o.events.size() == 1) by_file[name] = o.events[0];
  }
  EXPECT_EQ(events, 9);
  EXPECT_EQ(malformed, 1);  // auditevent-example-breakglass-start.xml
  EXPECT_EQ(other, 0);

  const auto& disclosure = by_file["auditevent-example-disclosure.json"];
  EXPECT_EQ(disclosure["user.id"], Strings{"SomeIdiot@nowhere"});
  EXPECT_EQ(disclosure["user.name"], Strings{"That guy everyone wishes would be caught"});
  EXPECT_EQ(disclosure["purpose_of_use"], Strings{"HMARKT"});
  EXPECT_EQ(disclosure["patient.id"], Strings{"example"});
  EXPECT_EQ(disclosure["resource.type"], Strings{"Patient"});
  EXPECT_EQ(disclosure["source.ip"], Strings{"custodian.net"});
  EXPECT_EQ(disclosure["event.action"], Strings{"read"});
  EXPECT_EQ(disclosure["event.outcome"], Strings{"success"});
  EXPECT_EQ(disclosure["event.subtype"], Strings{"Disclosure"});
  EXPECT_EQ(disclosure["host.name"], Strings{"Watchers Accounting of Disclosures Application"});
  EXPECT_EQ(disclosure["@timestamp"], Strings{"2013-09-22T00:08:00Z"});

  const auto& error = by_file["auditevent-example-error.json"];
  EXPECT_EQ(error["event.action"], Strings{"create"});
  EXPECT_EQ(error["event.outcome"], Strings{"failure"});
  EXPECT_EQ(error["event.subtype"], Strings{"create"});
  EXPECT_TRUE(error["resource.type"].empty());  // only a contained #o1 reference

  const auto& login = by_file["audit-event-example-login.json"];
  EXPECT_EQ(login["user.id"], Strings{"95"});
  EXPECT_EQ(login["user.name"], Strings{"Grahame Grieve"});
  EXPECT_EQ(login["source.ip"], Strings{"127.0.0.1"});
  EXPECT_EQ(login["event.action"], Strings{"execute"});
  EXPECT_EQ(login["event.type"], Strings{"110114"});
  EXPECT_EQ(login["event.subtype"], Strings{"110122"});
  EXPECT_EQ(login["host.name"], Strings{"hl7connect.healthintersections.com.au"});
  EXPECT_EQ(login["agent.who.identifier.value"], (Strings{"95", "2.16.840.1.113883.4.2"}));

  const auto& vread = by_file["audit-event-example-vread.json"];
  EXPECT_EQ(vread["patient.id"], Strings{"example"});
  EXPECT_EQ(vread["resource.type"], Strings{"Patient"});
  EXPECT_EQ(vread["event.subtype"], Strings{"vread"});

  const auto& media = by_file["audit-event-example-media.json"];
  EXPECT_EQ(media["patient.id"], Strings{"e3cdfc81a0d24bd^^^&2.16.840.1.113883.4.2&ISO"});
  EXPECT_EQ(media["resource.type"], Strings{"DocumentManifest"});
  EXPECT_EQ(media["user.id"], Strings{"95"});

  // No agent is the requestor in the application-start example.
  const auto& start = by_file["auditevent-example.json"];
  EXPECT_TRUE(start["user.id"].empty());
  EXPECT_EQ(start["@timestamp"], Strings{"2012-10-25T22:04:27+11:00"});
  EXPECT_EQ(start["host.name"], Strings{"Grahame's Laptop"});
}

// The BALP folder holds FHIR Shorthand sources (SOURCES.md: they need SUSHI
// to become JSON); decode whatever JSON it holds, and say so when none.
TEST(FhirAuditEventDecoder, DecodesBalpJsonWhenPresent) {
  const std::filesystem::path dir = std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "ihe-balp-fsh";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "corpus folder " << dir << " is absent; fetch ../shared/corpus to run this";
  }
  Harness h = fhir();
  int files = 0, events = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    Outcome o = h.run(testing::readFile(entry.path().string()));
    EXPECT_FALSE(o.failed) << entry.path() << ": " << o.error.reason;
    events += static_cast<int>(o.events.size());
  }
  if (files == 0) {
    GTEST_SKIP() << dir << " holds FSH sources only (no JSON); compile them with SUSHI to "
                 << "decode them. The BALP shapes are covered by DecodesBalpPatientRead.";
  }
  EXPECT_GE(events, files);
}

}  // namespace
}  // namespace trailwatch::decode
