// `trailwatch coverage`: the real binary over a rules folder with tests files
// and a configuration, in Markdown and JSON; configuration and rule errors
// exit 2 with `file:line:col: message`; the shipped rules and bundled
// configuration list every control.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kBtgId = "7c0e7a0c-1a11-4c4b-9f31-6e1d00000001";
constexpr const char* kGrantId = "7c0e7a0c-1a11-4c4b-9f31-6e1d00000002";

constexpr const char* kCoreControls[] = {"soc2.cc7.1", "soc2.cc7.2", "soc2.cc7.3",
                                         "soc2.cc7.4", "soc2.cc7.5", "hipaa.164.312.b"};

class CoverageCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "rules/pack");
    writeFile(dir_ / "rules/pack/btg.yml",
              "title: Break-the-glass access\n"
              "id: " +
                  std::string(kBtgId) +
                  "\n"
                  "level: high\n"
                  "tags: [hipaa.164.312.b, hipaa.164.308.a.1.ii.d, soc2.cc7.2]\n"
                  "logsource: {product: ehr, service: audit}\n"
                  "detection:\n"
                  "  sel:\n"
                  "    purpose_of_use: BTG\n"
                  "  condition: sel\n");
    writeFile(dir_ / "rules/pack/btg.tests.yml", "rule: " + std::string(kBtgId) +
                                                     "\n"
                                                     "cases:\n"
                                                     "  - name: an override in an EHR record\n"
                                                     "    alerts: 1\n"
                                                     "    records: |\n"
                                                     "      {\"purpose_of_use\":\"BTG\"}\n"
                                                     "  - name: the same in a FHIR AuditEvent\n"
                                                     "    format: fhir\n"
                                                     "    alerts: 1\n"
                                                     "    records: |\n"
                                                     "      {\"resourceType\":\"AuditEvent\"}\n");
    writeFile(dir_ / "rules/pack/db_grant.yml",
              "title: Database role granted\n"
              "id: " +
                  std::string(kGrantId) +
                  "\n"
                  "level: medium\n"
                  "tags: [soc2.cc7.3, attack.persistence]\n"
                  "logsource: {product: postgresql}\n"
                  "detection:\n"
                  "  sel:\n"
                  "    event.action: role\n"
                  "  condition: sel\n");
    writeFile(dir_ / "rules/pack/db_grant.tests.yml",
              "rule: Database role granted\n"
              "cases:\n"
              "  - name: GRANT in pgaudit\n"
              "    format: pgaudit\n"
              "    alerts: 1\n"
              "    records: |\n"
              "      x\n");
  }

  // Sources: ehr (`ehr_format`, logsource ehr/audit) and auth (syslog,
  // logsource linux: no rule applies). `extra_source_line` goes at line 8,
  // inside ehr.
  std::string writeConfig(const std::string& extra_source_line = "",
                          const std::string& ehr_format = "json") {
    std::string c = "state_dir: ./state\n";                                  // 1
    c += "rules: [./rules]\n";                                               // 2
    c += "sources:\n";                                                       // 3
    c += "  - name: ehr\n";                                                  // 4
    c += "    paths: [\"./logs/*.ndjson\"]\n";                               // 5
    c += "    format: " + ehr_format + "\n";                                 // 6
    c += "    logsource: {product: ehr, service: audit}\n";                  // 7
    if (!extra_source_line.empty()) c += "    " + extra_source_line + "\n";  // 8
    c += "  - name: auth\n";
    c += "    paths: [\"./logs/auth.log\"]\n";
    c += "    format: syslog\n";
    c += "    logsource: {product: linux}\n";
    const std::string path = dir_ / "trailwatch.yaml";
    writeFile(path, c);
    return path;
  }

  RunResult coverage(std::vector<std::string> args) {
    args.insert(args.begin(), {trailwatchBinary(), "coverage"});
    return runToCompletion(args, dir_.path());
  }

  TempDir dir_;
};

TEST_F(CoverageCommand, MarkdownListsRulesFormatsAndGaps) {
  const RunResult r = coverage({"-c", writeConfig()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  const std::string& md = r.out;
  EXPECT_NE(md.find("| control | rule | id | level | tested formats | sources (format) |"),
            std::string::npos)
      << md;
  for (const char* control : {"soc2.cc7.1", "soc2.cc7.4", "soc2.cc7.5"}) {
    EXPECT_NE(md.find("`" + std::string(control) + "` | **NO RULE** |"), std::string::npos)
        << control << "\n"
        << md;
  }
  EXPECT_NE(md.find("| SOC 2 CC7.2 `soc2.cc7.2` | Break-the-glass access | `" +
                    std::string(kBtgId) + "` | high | fhir, json | ehr (json) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| HIPAA §164.312(b) `hipaa.164.312.b` | Break-the-glass access |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| HIPAA §164.308(a)(1)(ii)(D) `hipaa.164.308.a.1.ii.d` | Break-the-glass"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| SOC 2 CC7.3 `soc2.cc7.3` | Database role granted | `" +
                    std::string(kGrantId) + "` | medium | pgaudit | **none** |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| auth | syslog | product: linux | **NO RULE** | — |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("- source `auth`: NO RULE applies"), std::string::npos) << md;
  EXPECT_NE(md.find("- SOC 2 CC7.3 (`soc2.cc7.3`): NO SOURCE"), std::string::npos) << md;
  EXPECT_NE(md.find("- SOC 2 CC7.1 (`soc2.cc7.1`): NO RULE"), std::string::npos) << md;
}

TEST_F(CoverageCommand, JsonParsesAndHasTheExpectedValues) {
  const RunResult r = coverage({"-c", writeConfig(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;

  simdjson::dom::array controls;
  ASSERT_EQ(doc["controls"].get(controls), simdjson::SUCCESS) << r.out;
  std::vector<std::string> names;
  for (simdjson::dom::element c : controls) names.emplace_back(c["control"].get_string().value());
  EXPECT_EQ(names,
            (std::vector<std::string>{"soc2.cc7.1", "soc2.cc7.2", "soc2.cc7.3", "soc2.cc7.4",
                                      "soc2.cc7.5", "hipaa.164.312.b", "hipaa.164.308.a.1.ii.d"}));
  auto gapOf = [&](size_t i) { return controls.at(i)["gap"].get_bool().value(); };
  EXPECT_TRUE(gapOf(0));   // cc7.1: no rule
  EXPECT_FALSE(gapOf(1));  // cc7.2: btg on ehr
  EXPECT_TRUE(gapOf(2));   // cc7.3: a rule, but no source carries postgresql
  EXPECT_FALSE(gapOf(5));

  simdjson::dom::element btg = controls.at(1)["rules"].at(0);
  EXPECT_EQ(btg["id"].get_string().value(), kBtgId);
  EXPECT_EQ(btg["title"].get_string().value(), "Break-the-glass access");
  EXPECT_EQ(btg["level"].get_string().value(), "high");
  EXPECT_EQ(btg["file"].get_string().value(), dir_ / "rules/pack/btg.yml");
  std::vector<std::string> formats;
  for (simdjson::dom::element f : btg["formats"].get_array())
    formats.emplace_back(f.get_string().value());
  EXPECT_EQ(formats, (std::vector<std::string>{"fhir", "json"}));

  simdjson::dom::element grant = controls.at(2)["rules"].at(0);
  EXPECT_EQ(grant["id"].get_string().value(), kGrantId);
  formats.clear();
  for (simdjson::dom::element f : grant["formats"].get_array())
    formats.emplace_back(f.get_string().value());
  EXPECT_EQ(formats, std::vector<std::string>{"pgaudit"});

  simdjson::dom::array sources;
  ASSERT_EQ(doc["sources"].get(sources), simdjson::SUCCESS);
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources.at(0)["name"].get_string().value(), "ehr");
  EXPECT_EQ(sources.at(0)["format"].get_string().value(), "json");
  EXPECT_EQ(sources.at(0)["rules"].get_int64().value(), 1);
  EXPECT_EQ(sources.at(1)["name"].get_string().value(), "auth");
  EXPECT_EQ(sources.at(1)["rules"].get_int64().value(), 0);

  std::vector<std::string> gaps;
  for (simdjson::dom::element g : doc["gaps"].get_array()) {
    gaps.emplace_back(g["kind"].get_string().value());
  }
  EXPECT_EQ(gaps, (std::vector<std::string>{"control_without_rule", "control_without_rule",
                                            "control_without_rule", "source_without_rule",
                                            "control_without_source"}));
}

TEST_F(CoverageCommand, RulesAloneNeedNoConfiguration) {
  const RunResult r = coverage({"--rules", dir_ / "rules", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  EXPECT_TRUE(doc["configuration"].is_null());
  EXPECT_EQ(doc["rules_loaded"].get_int64().value(), 2);
  EXPECT_EQ(doc["sources"].get_array().size(), 0u);
  // Without sources the only gaps are controls without a rule.
  for (simdjson::dom::element g : doc["gaps"].get_array()) {
    EXPECT_EQ(g["kind"].get_string().value(), "control_without_rule");
  }
}

TEST_F(CoverageCommand, ABrokenTestsFileIsAWarningNotAFailure) {
  writeFile(dir_ / "rules/pack/db_grant.tests.yml", "rule: [unclosed\n");
  const RunResult r = coverage({"--rules", dir_ / "rules"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find(dir_ / "rules/pack/db_grant.tests.yml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: YAML syntax error"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("| Database role granted | `" + std::string(kGrantId) + "` | medium | — |"),
            std::string::npos)
      << r.out;
}

TEST_F(CoverageCommand, BadConfigurationExits2WithItsLocation) {
  std::string config = writeConfig("start_from: end");
  RunResult r = coverage({"-c", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(config + ":8:5: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("start_from"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  config = writeConfig("", "yaml-of-sorts");
  r = coverage({"-c", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(config + ":6:13: unknown format 'yaml-of-sorts' in source 'ehr'"),
            std::string::npos)
      << r.err;
}

TEST_F(CoverageCommand, BadRuleExits2WithItsLocation) {
  writeFile(dir_ / "rules/pack/broken.yml",
            "title: Broken\n"
            "logsource: {product: ehr}\n"
            "detection:\n"
            "  sel:\n"
            "    event.action|contians: x\n"
            "  condition: sel\n");
  const RunResult r = coverage({"-c", writeConfig()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(dir_ / "rules/pack/broken.yml:5:5: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CoverageCommand, UsageErrorsExit2) {
  EXPECT_EQ(coverage({}).exit_code, 2);
  const RunResult r = coverage({"--rules", dir_ / "rules", "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown --format 'xml'"), std::string::npos) << r.err;
  EXPECT_EQ(coverage({"--rules", dir_ / "no-such-folder"}).exit_code, 2);
}

TEST_F(CoverageCommand, ShippedRulesAndBundledConfigurationListEveryControl) {
  const std::string config = std::string(sourceDir()) + "/deploy/trailwatch.yaml";
  RunResult r = coverage({"-c", config});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* control : kCoreControls) {
    EXPECT_NE(r.out.find("`" + std::string(control) + "` |"), std::string::npos) << control << "\n"
                                                                                 << r.out;
  }
  EXPECT_NE(r.out.find("## Sources"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("## Gaps"), std::string::npos) << r.out;

  r = coverage({"-c", config, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  std::vector<std::string> listed;
  size_t rules = 0;
  for (simdjson::dom::element c : doc["controls"].get_array()) {
    listed.emplace_back(c["control"].get_string().value());
    rules += c["rules"].get_array().size();
  }
  ASSERT_GE(listed.size(), std::size(kCoreControls));
  for (size_t i = 0; i < std::size(kCoreControls); ++i) EXPECT_EQ(listed[i], kCoreControls[i]);
  EXPECT_GT(rules, 0u);
  EXPECT_GT(doc["sources"].get_array().size(), 0u);
}

}  // namespace
}  // namespace trailwatch::it
