#include "daemon/engine/rule_test_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace trailwatch::engine {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> errors(const std::string& yaml) {
  Diagnostics diags;
  const auto file = parseRuleTestFile(yaml, "r.tests.yml", diags);
  EXPECT_FALSE(file.has_value()) << "read despite the problems";
  std::vector<std::string> out;
  for (const auto& d : diags) out.push_back(d.str());
  return out;
}

#define EXPECT_ONE_ERROR(yaml, expected)                          \
  do {                                                            \
    const auto all_ = errors(yaml);                               \
    ASSERT_EQ(all_.size(), 1u) << ::testing::PrintToString(all_); \
    EXPECT_EQ(all_.front(), expected);                            \
  } while (0)

TEST(RuleTestFile, ReadsRuleAndCases) {
  Diagnostics diags;
  const auto file = parseRuleTestFile(R"(rule: 2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02
cases:
  - name: clerk exports a chart
    alerts: 1
    records: |
      {"event":{"action":"export"}}
      {"event":{"action":"read"}}
  - name: access log
    format: access-log
    alerts: 0
    extra_fields: [request_time]
    timestamp_field: time
    records: "10.0.0.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"
)",
                                      "p/a.tests.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(file);
  EXPECT_EQ(file->path, "p/a.tests.yml");
  EXPECT_EQ(file->rule, "2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02");
  EXPECT_EQ(file->rule_at.line, 1);
  EXPECT_EQ(file->rule_at.column, 7);
  ASSERT_EQ(file->cases.size(), 2u);
  const RuleTestCase& a = file->cases[0];
  EXPECT_EQ(a.name, "clerk exports a chart");
  EXPECT_EQ(a.format, "json");
  EXPECT_EQ(a.alerts, 1u);
  EXPECT_EQ(a.records, "{\"event\":{\"action\":\"export\"}}\n{\"event\":{\"action\":\"read\"}}\n");
  EXPECT_EQ(a.timestamp_field, "@timestamp");
  EXPECT_FALSE(a.has_extra_fields);
  EXPECT_EQ(a.at.line, 3);
  EXPECT_EQ(a.first_record_line, 6);  // the line after `records: |`
  const RuleTestCase& b = file->cases[1];
  EXPECT_EQ(b.format, "access-log");
  EXPECT_EQ(b.format_at.line, 9);
  EXPECT_EQ(b.alerts, 0u);
  EXPECT_TRUE(b.has_extra_fields);
  EXPECT_EQ(b.extra_fields, std::vector<std::string>{"request_time"});
  EXPECT_EQ(b.timestamp_field, "time");
  EXPECT_EQ(b.first_record_line, 0);  // a quoted string: lines are not the file's
}

TEST(RuleTestFile, MissingKeysPointAtTheCase) {
  const auto all = errors("rule: x\ncases:\n  - name: a\n    format: json\n");
  ASSERT_EQ(all.size(), 2u) << ::testing::PrintToString(all);
  EXPECT_EQ(all[0],
            "r.tests.yml:3:5: missing key 'alerts' in a case (how many alerts the records must "
            "raise)");
  EXPECT_EQ(all[1], "r.tests.yml:3:5: missing key 'records' in a case (the log lines)");
  EXPECT_ONE_ERROR("cases:\n  - {name: a, alerts: 0, records: x}\n",
                   "r.tests.yml:1:1: missing key 'rule' (the id, name or title of the rule under "
                   "test)");
  EXPECT_ONE_ERROR("rule: x\n", "r.tests.yml:1:1: missing key 'cases' (a list of test cases)");
  EXPECT_ONE_ERROR("rule: x\ncases:\n  - {alerts: 0, records: x}\n",
                   "r.tests.yml:3:5: missing key 'name' in a case");
}

TEST(RuleTestFile, UnknownKeysAreErrorsAtTheKey) {
  EXPECT_ONE_ERROR(
      "rule: x\ncases:\n  - name: a\n    alerts: 0\n    record: x\n    records: y\n",
      "r.tests.yml:5:5: unknown key 'record' in a case (expected name, format, alerts, records, "
      "extra_fields, timestamp_field)");
  EXPECT_ONE_ERROR("rule: x\nrules: y\ncases: [{name: a, alerts: 0, records: x}]\n",
                   "r.tests.yml:2:1: unknown key 'rules' (a tests file has `rule:` and `cases:`)");
}

TEST(RuleTestFile, ValuesOfTheWrongShapeAreLocated) {
  EXPECT_ONE_ERROR("rule: x\ncases:\n  - {name: a, alerts: one, records: x}\n",
                   "r.tests.yml:3:23: 'alerts' must be a whole number (0 for a case that must not "
                   "alert)");
  EXPECT_ONE_ERROR("rule: x\ncases:\n  - {name: a, alerts: -1, records: x}\n",
                   "r.tests.yml:3:23: 'alerts' must be a whole number (0 for a case that must not "
                   "alert)");
  EXPECT_ONE_ERROR("rule: x\ncases:\n  - {name: a, alerts: 0, records: '  '}\n",
                   "r.tests.yml:3:35: 'records' must be the log lines, one record per line (a `|` "
                   "block)");
  EXPECT_ONE_ERROR("rule: x\ncases: []\n",
                   "r.tests.yml:2:8: 'cases' must be a non-empty list of test cases");
  EXPECT_ONE_ERROR("rule: [x]\ncases: [{name: a, alerts: 0, records: x}]\n",
                   "r.tests.yml:1:7: 'rule' must be the id, name or title of the rule under test");
  EXPECT_ONE_ERROR("rule: x\ncases: [{name: a, alerts: 0, records: x, extra_fields: b}]\n",
                   "r.tests.yml:2:56: 'extra_fields' must be a list of field names");
}

TEST(RuleTestFile, CaseNamesAreUnique) {
  EXPECT_ONE_ERROR(
      "rule: x\ncases:\n  - {name: a, alerts: 0, records: x}\n  - {name: a, alerts: 1, records: "
      "y}\n",
      "r.tests.yml:4:12: duplicate case name 'a' (first at line 3)");
}

TEST(RuleTestFile, YamlErrorsAndExtraDocumentsAreLocated) {
  const auto syntax = errors("rule: x\ncases:\n  - name: [unclosed\n");
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_EQ(syntax[0].rfind("r.tests.yml:", 0), 0u) << syntax[0];
  EXPECT_NE(syntax[0].find("YAML syntax error"), std::string::npos) << syntax[0];
  EXPECT_ONE_ERROR("rule: x\ncases: [{name: a, alerts: 0, records: x}]\n---\nrule: y\n",
                   "r.tests.yml:3:1: a tests file holds one YAML document; put every case under "
                   "`cases:`");
  EXPECT_ONE_ERROR("", "r.tests.yml: empty tests file: expected `rule:` and `cases:`");
}

TEST(RuleTestFile, NamesOfTestsFiles) {
  EXPECT_TRUE(isRuleTestFile("rules/p/a.tests.yml"));
  EXPECT_TRUE(isRuleTestFile("a.tests.yaml"));
  EXPECT_FALSE(isRuleTestFile("rules/p/a.yml"));
  EXPECT_FALSE(isRuleTestFile("rules/p/tests.yml"));
  EXPECT_FALSE(isRuleTestFile("rules/p/a.tests.yml.orig"));
}

class TestsBesideRules : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch_rule_test_file_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string write(const std::string& relative, const std::string& text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path root_;
};

TEST_F(TestsBesideRules, FindsEachOther) {
  const std::string rule = write("p/a.yml", "title: a\n");
  const std::string tests = write("p/a.tests.yml", "rule: a\n");
  const std::string lone = write("p/b.yaml", "title: b\n");
  EXPECT_EQ(testsFileOfRule(rule), tests);
  EXPECT_EQ(ruleFileOfTests(tests), rule);
  EXPECT_EQ(testsFileOfRule(lone), std::nullopt);
  EXPECT_EQ(testsFileOfRule(tests), std::nullopt);
  const std::string yaml_tests = write("p/b.tests.yaml", "rule: b\n");
  EXPECT_EQ(testsFileOfRule(lone), yaml_tests);
  EXPECT_EQ(ruleFileOfTests(yaml_tests), lone);
}

TEST_F(TestsBesideRules, ReadsAFile) {
  const std::string path =
      write("p/a.tests.yml", "rule: a\ncases:\n  - {name: n, alerts: 2, records: \"x\\ny\"}\n");
  Diagnostics diags;
  const auto file = readRuleTestFile(path, diags);
  ASSERT_TRUE(file) << (diags.empty() ? "" : diags[0].str());
  EXPECT_EQ(file->cases.at(0).alerts, 2u);
  EXPECT_EQ(file->cases.at(0).records, "x\ny");
  EXPECT_FALSE(readRuleTestFile((root_ / "none.tests.yml").string(), diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace trailwatch::engine
