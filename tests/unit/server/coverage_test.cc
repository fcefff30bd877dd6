#include "daemon/server/coverage.h"

#include "daemon/engine/rule_test_file.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

namespace trailwatch::server {
namespace {

// Rules of one in-memory file, as RuleSet::parse builds them.
std::shared_ptr<const engine::RuleSet> parseRules(const std::string& yaml,
                                                  const std::string& file = "/r/pack/rules.yml") {
  Diagnostics diags;
  auto rules = engine::RuleSet::parse(yaml, file, diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  return rules;
}

std::string detectionRule(const std::string& id, const std::string& title, const std::string& level,
                          const std::string& tags, const std::string& logsource) {
  return "title: " + title + "\nid: " + id + "\nlevel: " + level + "\ntags: " + tags +
         "\nlogsource: " + logsource +
         "\ndetection:\n  sel:\n    event.action: read\n  condition: sel\n";
}

constexpr const char* kIdA = "00000000-0000-4000-8000-00000000000a";
constexpr const char* kIdB = "00000000-0000-4000-8000-00000000000b";
constexpr const char* kIdC = "00000000-0000-4000-8000-00000000000c";

config::SourceConfig source(const std::string& name, const std::string& format,
                            std::optional<LogSource> logsource) {
  config::SourceConfig s;
  s.name = name;
  s.format = format;
  s.logsource = std::move(logsource);
  return s;
}

const CoverageControl* findControl(const Coverage& cov, const std::string& control) {
  for (const auto& c : cov.controls) {
    if (c.control == control) return &c;
  }
  return nullptr;
}

std::vector<std::string> controlOrder(const Coverage& cov) {
  std::vector<std::string> out;
  for (const auto& c : cov.controls) out.push_back(c.control);
  return out;
}

// Titles of the rules serving `control`, in report order.
std::vector<std::string> titlesFor(const Coverage& cov, const std::string& control) {
  std::vector<std::string> out;
  const auto* c = findControl(cov, control);
  if (c == nullptr) return out;
  for (const size_t r : c->rules) out.push_back(cov.rules[r].title);
  return out;
}

const CoverageRule* findRule(const Coverage& cov, const std::string& title) {
  for (const auto& r : cov.rules) {
    if (r.title == title) return &r;
  }
  return nullptr;
}

size_t countGaps(const Coverage& cov, CoverageGap::Kind kind, const std::string& subject) {
  return static_cast<size_t>(std::count_if(cov.gaps.begin(), cov.gaps.end(), [&](const auto& g) {
    return g.kind == kind && g.subject == subject;
  }));
}

TEST(ControlName, ReadsSoc2AndHipaaTagsAsPeopleWriteThem) {
  EXPECT_EQ(controlName("soc2.cc7.2"), "SOC 2 CC7.2");
  EXPECT_EQ(controlName("hipaa.164.312.b"), "HIPAA §164.312(b)");
  EXPECT_EQ(controlName("hipaa.164.308.a.1.ii.d"), "HIPAA §164.308(a)(1)(ii)(D)");
  EXPECT_EQ(controlName("hipaa.breach"), "hipaa.breach");
  EXPECT_EQ(controlName("attack.t1098"), "attack.t1098");
}

TEST(RuleTestsFile, NamedByItsSuffix) {
  EXPECT_TRUE(engine::isRuleTestFile("rules/p/a.tests.yml"));
  EXPECT_TRUE(engine::isRuleTestFile("rules/p/a.tests.yaml"));
  EXPECT_FALSE(engine::isRuleTestFile("rules/p/a.yml"));
  EXPECT_FALSE(engine::isRuleTestFile("rules/p/tests.yml"));
}

TEST(ParseRuleTests, ReadsTheRuleAndEachCaseFormatDefaultingToJson) {
  Diagnostics warnings;
  const RuleTests t = parseRuleTests(
      "rule: 2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02   # the rule\n"
      "cases:\n"
      "  - name: one\n"
      "    alerts: 1\n"
      "    records: |\n"
      "      {}\n"
      "  - name: two\n"
      "    format: fhir\n"
      "  - name: three\n"
      "    format: json\n"
      "  - name: four\n"
      "    format: pgaudit\n",
      "a.tests.yml", warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(t.rule, "2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02");
  EXPECT_EQ(t.rule_line, 1);
  EXPECT_EQ(t.rule_column, 7);
  EXPECT_EQ(t.formats, (std::vector<std::string>{"fhir", "json", "pgaudit"}));
}

TEST(ParseRuleTests, ToleratesAMissingRuleAndMissingCases) {
  Diagnostics warnings;
  EXPECT_TRUE(parseRuleTests("cases:\n  - name: x\n", "a.tests.yml", warnings).rule.empty());
  const RuleTests t = parseRuleTests("rule: abc\n", "a.tests.yml", warnings);
  EXPECT_EQ(t.rule, "abc");
  EXPECT_TRUE(t.formats.empty());
  EXPECT_TRUE(parseRuleTests("", "a.tests.yml", warnings).formats.empty());
  EXPECT_TRUE(warnings.empty());
}

TEST(ParseRuleTests, WhatItCannotReadIsAWarningWithItsPlace) {
  Diagnostics warnings;
  const RuleTests t = parseRuleTests(
      "rule: abc\ncases:\n  - just text\n  - name: y\n    format: [a, b]\n  - name: z\n", "t.yml",
      warnings);
  EXPECT_EQ(t.formats, std::vector<std::string>{"json"});
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].str(), "t.yml:3:5: a case should be a map (name:, format:, records:, ...)");
  EXPECT_EQ(warnings[1].line, 5);
  EXPECT_EQ(warnings[1].column, 13);

  warnings.clear();
  (void)parseRuleTests("rule: [unclosed\n", "t.yml", warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_GT(warnings[0].line, 0);

  // A stray ',' makes yaml-cpp 0.7's LoadAll loop forever; this must return.
  warnings.clear();
  (void)parseRuleTests(",", "t.yml", warnings);
  (void)parseRuleTests("rule: x\n,\n", "t.yml", warnings);
}

TEST(ComputeCoverage, ListsTheCoreControlsFirstAndMarksThoseWithoutARule) {
  const auto rules = parseRules(detectionRule(
      kIdA, "Btg", "high", "[soc2.cc7.2, hipaa.164.312.b, attack.t1078]", "{product: ehr}"));
  ASSERT_TRUE(rules);
  Diagnostics warnings;
  const Coverage cov = computeCoverage(*rules, {}, nullptr, warnings);
  EXPECT_EQ(controlOrder(cov),
            (std::vector<std::string>{"soc2.cc7.1", "soc2.cc7.2", "soc2.cc7.3", "soc2.cc7.4",
                                      "soc2.cc7.5", "hipaa.164.312.b"}));
  EXPECT_TRUE(findControl(cov, "soc2.cc7.1")->no_rule());
  EXPECT_TRUE(findControl(cov, "soc2.cc7.1")->core);
  EXPECT_EQ(titlesFor(cov, "soc2.cc7.2"), std::vector<std::string>{"Btg"});
  EXPECT_EQ(titlesFor(cov, "hipaa.164.312.b"), std::vector<std::string>{"Btg"});
  for (const char* c : {"soc2.cc7.1", "soc2.cc7.3", "soc2.cc7.4", "soc2.cc7.5"}) {
    EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kControlWithoutRule, c), 1u) << c;
  }
  EXPECT_EQ(cov.gaps.size(), 4u);
  EXPECT_FALSE(cov.with_sources);
  EXPECT_TRUE(cov.sources.empty());
  EXPECT_TRUE(warnings.empty());
}

TEST(ComputeCoverage, OtherControlTagsFollowTheCoreAndAttackTagsAreNotControls) {
  const auto rules =
      parseRules(detectionRule(kIdA, "Btg", "high",
                               "[hipaa.164.308.a.1.ii.d, soc2.cc6.3, attack.persistence]", "{}") +
                 "---\n" + detectionRule(kIdB, "Untagged", "low", "[attack.t1098]", "{}"));
  ASSERT_TRUE(rules);
  Diagnostics warnings;
  const Coverage cov = computeCoverage(*rules, {}, nullptr, warnings);
  const auto order = controlOrder(cov);
  ASSERT_EQ(order.size(), 8u);
  EXPECT_EQ(order[6], "hipaa.164.308.a.1.ii.d");
  EXPECT_EQ(order[7], "soc2.cc6.3");
  EXPECT_FALSE(findControl(cov, "soc2.cc6.3")->core);
  EXPECT_EQ(findControl(cov, "attack.persistence"), nullptr);
  ASSERT_EQ(cov.rules_without_control.size(), 1u);
  EXPECT_EQ(cov.rules_without_control[0].title, "Untagged");
  EXPECT_EQ(cov.rules.size(), 1u);
}

TEST(ComputeCoverage, RulesOfAControlComeMostSevereFirst) {
  const auto rules =
      parseRules(detectionRule(kIdA, "B low", "low", "[soc2.cc7.2]", "{}") + "---\n" +
                 detectionRule(kIdB, "A critical", "critical", "[soc2.cc7.2]", "{}") + "---\n" +
                 detectionRule(kIdC, "A medium", "medium", "[soc2.cc7.2]", "{}"));
  ASSERT_TRUE(rules);
  Diagnostics warnings;
  const Coverage cov = computeCoverage(*rules, {}, nullptr, warnings);
  EXPECT_EQ(titlesFor(cov, "soc2.cc7.2"),
            (std::vector<std::string>{"A critical", "A medium", "B low"}));
}

TEST(ComputeCoverage, TestsFilesGiveFormatsByIdNameTitleOrTheFileBeside) {
  const auto rules =
      parseRules(detectionRule(kIdA, "By id", "high", "[soc2.cc7.2]", "{}") + "---\n" +
                     detectionRule(kIdB, "By title", "high", "[soc2.cc7.2]", "{}") + "---\n" +
                     detectionRule(kIdC, "Untested", "high", "[soc2.cc7.2]", "{}"),
                 "/r/pack/rules.yml");
  ASSERT_TRUE(rules);
  std::vector<RuleTests> tests = {
      {"/r/pack/a.tests.yml", kIdA, 1, 7, {"fhir", "json"}},
      {"/r/pack/b.tests.yml", "By title", 1, 7, {"pgaudit"}},
      {"/r/pack/ghost.tests.yml", "no such rule", 1, 7, {"kv"}},
  };
  Diagnostics warnings;
  Coverage cov = computeCoverage(*rules, tests, nullptr, warnings);
  EXPECT_EQ(findRule(cov, "By id")->tested_formats, (std::vector<std::string>{"fhir", "json"}));
  EXPECT_EQ(findRule(cov, "By id")->formats, (std::vector<std::string>{"fhir", "json"}));
  EXPECT_EQ(findRule(cov, "By title")->tested_formats, std::vector<std::string>{"pgaudit"});
  EXPECT_TRUE(findRule(cov, "Untested")->tested_formats.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].str(),
            "/r/pack/ghost.tests.yml:1:7: rule 'no such rule' is not among the loaded rules (by "
            "id, name or title); its formats are not counted");

  // No `rule:`: the rules of the rule file beside it.
  warnings.clear();
  cov = computeCoverage(*rules, {{"/r/pack/rules.tests.yml", "", 0, 0, {"auditd"}}}, nullptr,
                        warnings);
  EXPECT_TRUE(warnings.empty());
  for (const auto& r : cov.rules) EXPECT_EQ(r.tested_formats, std::vector<std::string>{"auditd"});
  cov = computeCoverage(*rules, {{"/r/pack/other.tests.yml", "", 0, 0, {"auditd"}}}, nullptr,
                        warnings);
  EXPECT_EQ(warnings.size(), 1u);
  for (const auto& r : cov.rules) EXPECT_TRUE(r.tested_formats.empty());
}

TEST(ComputeCoverage, SourcesGiveFormatsWhereTheirLogsourceLetsTheRuleApply) {
  const auto rules = parseRules(
      detectionRule(kIdA, "Ehr rule", "high", "[soc2.cc7.2, hipaa.164.312.b]",
                    "{product: ehr, service: audit}") +
      "---\n" + detectionRule(kIdB, "Db rule", "medium", "[soc2.cc7.3]", "{product: postgresql}"));
  ASSERT_TRUE(rules);
  const std::vector<config::SourceConfig> sources = {
      source("ehr", "fhir", LogSource{"ehr", "audit", ""}),
      source("auth", "syslog", LogSource{"linux", "", ""}),
      source("anything", "auto", std::nullopt),
  };
  Diagnostics warnings;
  const Coverage cov =
      computeCoverage(*rules, {{"/t.tests.yml", kIdA, 1, 7, {"json"}}}, &sources, warnings);
  ASSERT_TRUE(cov.with_sources);
  const auto* ehr = findRule(cov, "Ehr rule");
  EXPECT_EQ(ehr->sources, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(ehr->formats, (std::vector<std::string>{"auto", "fhir", "json"}));
  EXPECT_EQ(ehr->tested_formats, std::vector<std::string>{"json"});
  EXPECT_EQ(findRule(cov, "Db rule")->sources, std::vector<size_t>{2});

  ASSERT_EQ(cov.sources.size(), 3u);
  EXPECT_EQ(cov.sources[0].rules, 1u);
  EXPECT_EQ(cov.sources[0].controls, (std::vector<std::string>{"soc2.cc7.2", "hipaa.164.312.b"}));
  EXPECT_EQ(cov.sources[1].rules, 0u);
  EXPECT_TRUE(cov.sources[1].controls.empty());
  EXPECT_EQ(cov.sources[2].rules, 2u);
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kSourceWithoutRule, "auth"), 1u);
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kSourceWithoutRule, "ehr"), 0u);
  EXPECT_EQ(findControl(cov, "soc2.cc7.2")->sources, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(findControl(cov, "soc2.cc7.3")->sources, std::vector<size_t>{2});
  // Fed by the catch-all source, so no control lacks a source.
  for (const auto& g : cov.gaps) EXPECT_NE(g.kind, CoverageGap::Kind::kControlWithoutSource);
}

TEST(ComputeCoverage, AControlWhoseRulesApplyToNoSourceIsAGap) {
  const auto rules = parseRules(
      detectionRule(kIdA, "Ehr rule", "high", "[soc2.cc7.2]", "{product: ehr}") + "---\n" +
      detectionRule(kIdB, "Db rule", "medium", "[soc2.cc7.3, soc2.cc7.2]",
                    "{product: postgresql}"));
  ASSERT_TRUE(rules);
  const std::vector<config::SourceConfig> sources = {
      source("ehr", "json", LogSource{"ehr", "", ""})};
  Diagnostics warnings;
  const Coverage cov = computeCoverage(*rules, {}, &sources, warnings);
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kControlWithoutSource, "soc2.cc7.3"), 1u);
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kControlWithoutSource, "soc2.cc7.2"), 0u);
  // A control without any rule is a NO RULE gap, not also a NO SOURCE one.
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kControlWithoutRule, "soc2.cc7.1"), 1u);
  EXPECT_EQ(countGaps(cov, CoverageGap::Kind::kControlWithoutSource, "soc2.cc7.1"), 0u);
  EXPECT_TRUE(findRule(cov, "Db rule")->sources.empty());
  EXPECT_TRUE(findRule(cov, "Db rule")->formats.empty());
}

TEST(ComputeCoverage, ACorrelationIsFedWhereItsRulesApplyAndItsBaseRuleServesNoControl) {
  const auto rules =
      parseRules("title: Chart read\nname: chart_read\nid: " + std::string(kIdA) +
                 "\ntags: [soc2.cc7.4]\nlogsource: {product: ehr}\n"
                 "detection:\n  sel:\n    event.action: read\n  condition: sel\n"
                 "---\n"
                 "title: Many charts\nid: " +
                 kIdB +
                 "\nlevel: high\ntags: [hipaa.164.312.b]\n"
                 "correlation:\n  type: value_count\n  rules: [chart_read]\n  group-by: [user.id]\n"
                 "  timespan: 10m\n  condition: {field: patient.id, gte: 50}\n"
                 "---\n"
                 "title: Many bursts\nname: bursts\n"
                 "level: critical\ntags: [soc2.cc7.2]\n"
                 "correlation:\n  type: event_count\n  rules: [" +
                 kIdB +
                 "]\n  group-by: [user.id]\n  timespan: 1h\n  condition: {gte: 2}\n"
                 "  generate: true\n");
  ASSERT_TRUE(rules);
  const std::vector<config::SourceConfig> sources = {
      source("ehr", "fhir", LogSource{"ehr", "", ""}),
      source("db", "pgaudit", LogSource{"postgresql", "", ""})};
  Diagnostics warnings;
  const Coverage cov =
      computeCoverage(*rules, {{"/c.tests.yml", "bursts", 1, 7, {"json"}}}, &sources, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(titlesFor(cov, "hipaa.164.312.b"), std::vector<std::string>{"Many charts"});
  const auto* many = findRule(cov, "Many charts");
  EXPECT_EQ(many->sources, std::vector<size_t>{0});
  EXPECT_EQ(many->formats, std::vector<std::string>{"fhir"});
  // A chain: the second correlation reads the first (which still alerts: generate).
  const auto* bursts = findRule(cov, "Many bursts");
  ASSERT_NE(bursts, nullptr);
  EXPECT_EQ(bursts->id, "");
  EXPECT_EQ(bursts->name, "bursts");
  EXPECT_EQ(bursts->sources, std::vector<size_t>{0});
  EXPECT_EQ(bursts->formats, (std::vector<std::string>{"fhir", "json"}));
  // The base rule does not alert on its own, so its tag serves nothing.
  EXPECT_EQ(findRule(cov, "Chart read"), nullptr);
  EXPECT_TRUE(findControl(cov, "soc2.cc7.4")->no_rule());
  EXPECT_EQ(cov.sources[0].rules, 1u);  // the base rule applies, as `check` counts
  EXPECT_EQ(cov.sources[1].rules, 0u);
}

class CoverageReport : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_ = parseRules(
        detectionRule(kIdA, "Btg \"override\" | review", "high",
                      "[soc2.cc7.2, hipaa.164.312.b, hipaa.164.308.a.1.ii.d]", "{product: ehr}") +
        "---\n" + detectionRule(kIdB, "Db grant", "medium", "[soc2.cc7.3]", "{product: pg}"));
    ASSERT_TRUE(rules_);
    sources_ = {source("ehr", "json", LogSource{"ehr", "", ""}),
                source("auth", "syslog", LogSource{"linux", "", ""})};
    Diagnostics warnings;
    cov_ = computeCoverage(*rules_, {{"/t.tests.yml", kIdA, 1, 7, {"fhir", "json"}}}, &sources_,
                           warnings);
    cov_.configuration = "/etc/trailwatch/trailwatch.yaml";
    cov_.rule_paths = {"/r"};
  }

  std::shared_ptr<const engine::RuleSet> rules_;
  std::vector<config::SourceConfig> sources_;
  Coverage cov_;
};

TEST_F(CoverageReport, JsonIsOneValidObjectWithTheDocumentedShape) {
  const std::string json = coverageJson(cov_);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  std::string_view s;
  ASSERT_EQ(doc["configuration"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "/etc/trailwatch/trailwatch.yaml");
  int64_t n = 0;
  ASSERT_EQ(doc["rules_loaded"].get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 2);

  simdjson::dom::array controls;
  ASSERT_EQ(doc["controls"].get(controls), simdjson::SUCCESS);
  ASSERT_EQ(controls.size(), 7u);
  std::vector<std::string> names;
  for (simdjson::dom::element c : controls) {
    ASSERT_EQ(c["control"].get(s), simdjson::SUCCESS);
    names.emplace_back(s);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"soc2.cc7.1", "soc2.cc7.2", "soc2.cc7.3", "soc2.cc7.4",
                                      "soc2.cc7.5", "hipaa.164.312.b", "hipaa.164.308.a.1.ii.d"}));
  bool gap = false;
  ASSERT_EQ(controls.at(0)["gap"].get(gap), simdjson::SUCCESS);
  EXPECT_TRUE(gap);  // CC7.1: no rule
  ASSERT_EQ(controls.at(1)["gap"].get(gap), simdjson::SUCCESS);
  EXPECT_FALSE(gap);  // CC7.2: a rule fed by ehr
  ASSERT_EQ(controls.at(2)["gap"].get(gap), simdjson::SUCCESS);
  EXPECT_TRUE(gap);  // CC7.3: a rule, but no source
  ASSERT_EQ(controls.at(5)["name"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "HIPAA §164.312(b)");

  simdjson::dom::element rule;
  ASSERT_EQ(controls.at(1)["rules"].at(0).get(rule), simdjson::SUCCESS);
  ASSERT_EQ(rule["id"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, kIdA);
  ASSERT_EQ(rule["title"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "Btg \"override\" | review");
  ASSERT_EQ(rule["level"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "high");
  ASSERT_EQ(rule["file"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "/r/pack/rules.yml");
  std::vector<std::string> formats;
  for (simdjson::dom::element f : rule["formats"].get_array())
    formats.emplace_back(f.get_string().value());
  EXPECT_EQ(formats, (std::vector<std::string>{"fhir", "json"}));
  simdjson::dom::array rule_sources;
  ASSERT_EQ(rule["sources"].get(rule_sources), simdjson::SUCCESS);
  ASSERT_EQ(rule_sources.size(), 1u);
  EXPECT_EQ(rule_sources.at(0).get_string().value(), "ehr");

  simdjson::dom::array srcs;
  ASSERT_EQ(doc["sources"].get(srcs), simdjson::SUCCESS);
  ASSERT_EQ(srcs.size(), 2u);
  ASSERT_EQ(srcs.at(1)["name"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "auth");
  ASSERT_EQ(srcs.at(1)["format"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "syslog");
  ASSERT_EQ(srcs.at(1)["rules"].get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 0);
  ASSERT_EQ(srcs.at(1)["logsource"]["product"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "linux");

  std::vector<std::string> gaps;
  for (simdjson::dom::element g : doc["gaps"].get_array()) {
    std::string_view kind, subject;
    ASSERT_EQ(g["kind"].get(kind), simdjson::SUCCESS);
    ASSERT_EQ(g[kind == "source_without_rule" ? "source" : "control"].get(subject),
              simdjson::SUCCESS);
    gaps.push_back(std::string(kind) + " " + std::string(subject));
  }
  EXPECT_EQ(gaps, (std::vector<std::string>{
                      "control_without_rule soc2.cc7.1", "control_without_rule soc2.cc7.4",
                      "control_without_rule soc2.cc7.5", "source_without_rule auth",
                      "control_without_source soc2.cc7.3"}));
}

TEST_F(CoverageReport, JsonStaysValidForHostileTitles) {
  const auto rules = parseRules(detectionRule(
      kIdC, "'tab\there, \\\\ back\\\"slash, bad \xff\xfe byte'", "low", "[soc2.cc7.1]", "{}"));
  ASSERT_TRUE(rules);
  Diagnostics warnings;
  const std::string json = coverageJson(computeCoverage(*rules, {}, nullptr, warnings));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_TRUE(doc["configuration"].is_null());
}

TEST_F(CoverageReport, MarkdownHasARowPerRuleAndMarksGaps) {
  const std::string md = coverageMarkdown(cov_);
  EXPECT_NE(md.find("| control | rule | id | level | tested formats | sources (format) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| SOC 2 CC7.1 `soc2.cc7.1` | **NO RULE** | | | | |\n"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| SOC 2 CC7.2 `soc2.cc7.2` | Btg \"override\" \\| review | `" +
                    std::string(kIdA) + "` | high | fhir, json | ehr (json) |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| SOC 2 CC7.3 `soc2.cc7.3` | Db grant | `" + std::string(kIdB) +
                    "` | medium | — | **none** |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| HIPAA §164.308(a)(1)(ii)(D) `hipaa.164.308.a.1.ii.d` | Btg"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| auth | syslog | product: linux | **NO RULE** | — |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("- SOC 2 CC7.4 (`soc2.cc7.4`): NO RULE: no loaded rule carries this tag"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- source `auth`: NO RULE applies to this syslog source (logsource product: "
                    "linux)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- SOC 2 CC7.3 (`soc2.cc7.3`): NO SOURCE: 1 rule(s) serve it, but none "
                    "applies to a configured source"),
            std::string::npos)
      << md;
}

TEST_F(CoverageReport, MarkdownWithoutAConfigurationHasNoSourceColumn) {
  Diagnostics warnings;
  Coverage cov = computeCoverage(*rules_, {}, nullptr, warnings);
  const std::string md = coverageMarkdown(cov);
  EXPECT_NE(md.find("| control | rule | id | level | tested formats |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| SOC 2 CC7.1 `soc2.cc7.1` | **NO RULE** | | | |\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("## Sources"), std::string::npos) << md;
  EXPECT_EQ(md.find("NO SOURCE"), std::string::npos) << md;
}

class RuleFileListing : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tw-coverage-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& relative, const std::string& text = "x: 1\n") {
    const auto path = std::filesystem::path(dir_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::string dir_;
};

TEST_F(RuleFileListing, SplitsRulesFromTestsAndSkipsHiddenNames) {
  write("p/a.yml");
  write("p/a.tests.yml");
  write("p/sub/b.yaml");
  write("p/sub/b.tests.yaml");
  write("p/notes.txt");
  write(".hidden/c.yml");
  write("p/.d.yml");
  Diagnostics errors;
  const RuleFiles files = listRuleFiles({dir_}, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(files.rules, (std::vector<std::string>{dir_ + "/p/a.yml", dir_ + "/p/sub/b.yaml"}));
  EXPECT_EQ(files.tests,
            (std::vector<std::string>{dir_ + "/p/a.tests.yml", dir_ + "/p/sub/b.tests.yaml"}));
}

TEST_F(RuleFileListing, ARuleFileBringsTheTestsFileBesideIt) {
  write("p/a.yml");
  write("p/a.tests.yml");
  write("p/b.yml");
  Diagnostics errors;
  const RuleFiles files = listRuleFiles({dir_ + "/p/a.yml", dir_ + "/p/b.yml"}, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(files.rules, (std::vector<std::string>{dir_ + "/p/a.yml", dir_ + "/p/b.yml"}));
  EXPECT_EQ(files.tests, std::vector<std::string>{dir_ + "/p/a.tests.yml"});
}

TEST_F(RuleFileListing, AFolderWithOnlyTestsATestsFileOrAMissingPathIsAnError) {
  write("p/a.tests.yml");
  Diagnostics errors;
  (void)listRuleFiles({dir_ + "/p", dir_ + "/missing", dir_ + "/p/a.tests.yml"}, errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].str(), dir_ + "/p: no *.yml or *.yaml rule files found");
  EXPECT_EQ(errors[1].str(), dir_ + "/missing: no such file or directory");
  EXPECT_EQ(errors[2].str(), dir_ +
                                 "/p/a.tests.yml: a rule tests file, not a rule file: give the "
                                 "rule file or its folder");
}

TEST_F(RuleFileListing, TestsFilesAreReadFromDisk) {
  write("p/a.tests.yml", "rule: r1\ncases:\n  - name: x\n    format: k8s-audit\n");
  write("p/bad.tests.yml", "rule: [\n");
  Diagnostics warnings;
  const auto tests = readRuleTests(
      {dir_ + "/p/a.tests.yml", dir_ + "/p/bad.tests.yml", dir_ + "/p/gone"}, warnings);
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0].rule, "r1");
  EXPECT_EQ(tests[0].formats, std::vector<std::string>{"k8s-audit"});
  EXPECT_EQ(warnings.size(), 2u);  // bad YAML, unreadable file
}

}  // namespace
}  // namespace trailwatch::server
