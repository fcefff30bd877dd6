#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "daemon/engine/rule_set.h"

namespace trailwatch::engine {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> errors(const std::string& yaml, const std::string& file = "r.yml") {
  Diagnostics diags;
  auto set = RuleSet::parse(yaml, file, diags);
  EXPECT_EQ(set, nullptr) << "a set was built despite the problems";
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

constexpr const char* kHead = "title: t\nlogsource: {product: ehr}\ndetection:\n";

// --- attributes ---

TEST(RuleLoader, ReadsRuleAttributes) {
  Diagnostics diags;
  auto set = RuleSet::parse(R"(title: Bulk export
id: 929A690E-bef0-4204-a928-ef5e620d6fcc
status: test
description: many records at once
level: High
tags: [HIPAA.164.312.b, soc2.cc7.2, attack.exfiltration]
logsource: {product: EHR, service: Audit, category: access, definition: ignored}
fields: [user.id, Patient.Id]
falsepositives: Reporting jobs
author: someone
custom_attribute: {anything: goes}
detection:
  s: {f: x}
  condition: s
)",
                            "rules/hipaa/bulk.yml", diags);
  ASSERT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
  const RuleInfo& r = set->rule(0);
  EXPECT_EQ(r.title, "Bulk export");
  EXPECT_EQ(r.id, "929A690E-bef0-4204-a928-ef5e620d6fcc");
  EXPECT_EQ(r.status, "test");
  EXPECT_EQ(r.level, "high");
  EXPECT_EQ(r.description, "many records at once");
  EXPECT_EQ(r.tags,
            (std::vector<std::string>{"hipaa.164.312.b", "soc2.cc7.2", "attack.exfiltration"}));
  EXPECT_EQ(r.controls, (std::vector<std::string>{"hipaa.164.312.b", "soc2.cc7.2"}));
  EXPECT_EQ(r.logsource.product, "ehr");
  EXPECT_EQ(r.logsource.service, "audit");
  EXPECT_EQ(r.logsource.category, "access");
  EXPECT_EQ(r.fields, (std::vector<std::string>{"user.id", "Patient.Id"}));
  EXPECT_EQ(r.falsepositives, (std::vector<std::string>{"Reporting jobs"}));
  EXPECT_EQ(r.file, "rules/hipaa/bulk.yml");
  EXPECT_EQ(r.pack, "hipaa");
  EXPECT_EQ(r.line, 1);
}

TEST(RuleLoader, LevelDefaultsToMediumAndIdMayBeAbsent) {
  Diagnostics diags;
  auto set = RuleSet::parse(std::string(kHead) + "  s: {f: x}\n  condition: s\n", "r.yml", diags);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->rule(0).level, "medium");
  EXPECT_EQ(set->rule(0).id, "");
}

TEST(RuleLoader, MultiDocumentFileGivesOneRulePerDocument) {
  Diagnostics diags;
  auto set = RuleSet::parse(
      "title: one\nlogsource: {}\ndetection: {s: {f: 1}, condition: s}\n"
      "---\n"
      "title: two\nlogsource: {}\ndetection: {s: {f: 2}, condition: s}\n"
      "---\n",
      "m.yml", diags);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ(set->rule(0).title, "one");
  EXPECT_EQ(set->rule(1).title, "two");
  EXPECT_EQ(set->rule(1).line, 5);
}

TEST(RuleLoader, SeedCorpusRulesLoad) {
  Diagnostics diags;
  // The shipped packs name the site lists deploy/trailwatch.yaml declares.
  const Placeholders placeholders = {{"internal_networks", {"10.0.0.0/8"}},
                                     {"phi_tables", {"public.patients"}},
                                     {"phi_app_db_roles", {"ehr_app"}},
                                     {"sudo_allowed_users", {"admin"}}};
  auto set = RuleSet::load(
      {std::string(TRAILWATCH_SOURCE_DIR) + "/tests/fuzz/seeds/rule_loader/modifiers.yml",
       std::string(TRAILWATCH_SOURCE_DIR) + "/rules"},
      diags, &placeholders);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(set);
  EXPECT_GE(set->size(), 3u);
}

// Public-Sigma-shaped rules: strict loading fails; loading what can be used
// leaves out each unusable document (and a file that is no YAML), then the
// correlation that named a left-out rule, and keeps the rest.
TEST(RuleLoader, SkippingLeavesOutUnusableRulesAndWhatDependsOnThem) {
  const std::string folder = std::string(TRAILWATCH_SOURCE_DIR) + "/tests/data/sigma-public-style";
  Diagnostics strict;
  EXPECT_FALSE(RuleSet::load({folder}, strict));
  EXPECT_FALSE(strict.empty());

  Diagnostics diags;
  std::vector<SkippedRule> skipped;
  auto set = RuleSet::load({folder}, diags, nullptr, &skipped);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 4u);
  std::map<std::string, std::pair<int, std::string>> by_file;
  for (const auto& s : skipped) {
    EXPECT_FALSE(s.problems.empty()) << s.file;
    by_file[std::filesystem::path(s.file).filename().string()] = {s.line, s.title};
  }
  const std::map<std::string, std::pair<int, std::string>> want = {
      {"broken_yaml.yml", {0, ""}},
      {"proc_lookbehind_regex.yml", {1, "Curl Piped To A Shell (look-behind)"}},
      {"win_encoded_powershell.yml", {1, "Encoded PowerShell Command Line"}},
      {"proc_encoded_powershell_burst.yml", {1, "Encoded PowerShell Burst On One Host"}}};
  EXPECT_EQ(by_file, want);

  // A path that does not exist is no rule to skip: the load fails.
  Diagnostics missing;
  std::vector<SkippedRule> none;
  EXPECT_FALSE(RuleSet::load({folder + "/no-such-folder"}, missing, nullptr, &none));
  EXPECT_EQ(missing.size(), 1u);
  EXPECT_TRUE(none.empty());
}

// --- errors, each at the node it concerns ---

TEST(RuleLoader, UnknownModifierPointsAtTheKey) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|contians: x\n  condition: sel\n",
                   "r.yml:5:5: unknown modifier 'contians'");
}

TEST(RuleLoader, WindowsOnlyModifierIsRejectedByName) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    cmd|windash|contains: -x\n  condition: sel\n",
                   "r.yml:5:5: modifier 'windash' is Windows-only / not supported: it encodes "
                   "values for Windows event logs");
  for (const char* m : {"base64", "base64offset", "utf16", "utf16le", "utf16be", "wide"}) {
    const auto all = errors(std::string(kHead) + "  sel:\n    f|" + m + ": x\n  condition: sel\n");
    ASSERT_EQ(all.size(), 1u) << m;
    EXPECT_NE(all[0].find(std::string("modifier '") + m + "' is Windows-only"), std::string::npos)
        << all[0];
  }
}

TEST(RuleLoader, ExpandOfAnUndeclaredPlaceholderIsLocated) {
  EXPECT_ONE_ERROR(
      std::string(kHead) + "  sel:\n    user.id|expand: '%terminated%'\n  condition: sel\n",
      "r.yml:5:21: unknown placeholder 'terminated' (declare it under placeholders: in the "
      "configuration)");
}

TEST(RuleLoader, ExpandCannotBeCombinedWithExists) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|expand|exists: true\n  condition: sel\n",
                   "r.yml:5:5: modifiers 'expand' and 'exists' cannot be combined");
}

TEST(RuleLoader, PlaceholderWithoutExpandIsLiteralText) {
  Diagnostics diags;
  auto set =
      RuleSet::parse(std::string(kHead) + "  sel:\n    user.id: '%terminated%'\n  condition: sel\n",
                     "r.yml", diags);
  EXPECT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
}

TEST(RuleLoader, ContradictoryModifiersAreRejected) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|re|contains: x\n  condition: sel\n",
                   "r.yml:5:5: modifiers 're' and 'contains' cannot be combined");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|contains|startswith: x\n  condition: sel\n",
                   "r.yml:5:5: modifiers 'contains' and 'startswith' cannot be combined");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|cidr|gt: 1\n  condition: sel\n",
                   "r.yml:5:5: modifiers 'cidr' and 'gt' cannot be combined");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|i: x\n  condition: sel\n",
                   "r.yml:5:5: modifier 'i' only applies after 're'");
}

TEST(RuleLoader, BadRegexPointsAtTheValue) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f|re: 'a(b'\n  condition: sel\n",
                   "r.yml:5:11: invalid regular expression: missing ): a(b");
}

TEST(RuleLoader, BadCidrPointsAtTheListElement) {
  EXPECT_ONE_ERROR(
      std::string(kHead) +
          "  sel:\n    ip|cidr:\n      - 10.0.0.0/8\n      - 10.0.0.0/33\n  condition: sel\n",
      "r.yml:7:9: 'cidr' needs a network such as 10.0.0.0/8 or fc00::/7, not "
      "'10.0.0.0/33'");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    ip|cidr: 10\n  condition: sel\n",
                   "r.yml:5:14: 'cidr' needs a network such as 10.0.0.0/8 or fc00::/7, not '10'");
}

TEST(RuleLoader, BadComparisonAndExistsValues) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    n|gt: many\n  condition: sel\n",
                   "r.yml:5:11: 'gt' needs a number, not 'many'");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    n|exists: maybe\n  condition: sel\n",
                   "r.yml:5:15: 'exists' needs true or false");
}

TEST(RuleLoader, UndefinedIdentifierPointsAtTheCondition) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f: x\n  condition: sel and not filter\n",
                   "r.yml:6:14: condition column 13: undefined search identifier 'filter'");
}

TEST(RuleLoader, ConditionSyntaxErrorPointsAtTheCondition) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f: x\n  condition: (sel or\n",
                   "r.yml:6:14: condition syntax error at column 8: unexpected end of condition, "
                   "expected a search identifier");
}

TEST(RuleLoader, MissingTitleDetectionOrCondition) {
  EXPECT_ONE_ERROR("logsource: {}\ndetection: {s: {f: x}, condition: s}\n",
                   "r.yml:1:1: missing required attribute 'title'");
  EXPECT_ONE_ERROR("title: t\nlogsource: {}\n",
                   "r.yml:1:1: missing required attribute 'detection'");
  EXPECT_ONE_ERROR("title: t\nlogsource: {}\ndetection:\n  s: {f: x}\n",
                   "r.yml:4:3: 'detection' has no 'condition'");
  EXPECT_ONE_ERROR("title: t\ndetection: {s: {f: x}, condition: s}\n",
                   "r.yml:1:1: missing required attribute 'logsource'");
}

TEST(RuleLoader, BadLevelAndStatus) {
  EXPECT_ONE_ERROR("title: t\nlevel: severe\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n",
                   "r.yml:2:8: unknown level 'severe' (expected informational, low, medium, high "
                   "or critical)");
  EXPECT_ONE_ERROR("title: t\nstatus: beta\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n",
                   "r.yml:2:9: unknown status 'beta' (expected stable, test, experimental, "
                   "deprecated or unsupported)");
}

TEST(RuleLoader, IdMustLookLikeAUuid) {
  EXPECT_ONE_ERROR("title: t\nid: rule-1\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n",
                   "r.yml:2:5: 'id' must be a UUID such as 929a690e-bef0-4204-a928-ef5e620d6fcc, "
                   "not 'rule-1'");
}

TEST(RuleLoader, DuplicateIdNamesTheFirstUse) {
  const std::string rule =
      "title: t\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nlogsource: {}\n"
      "detection: {s: {f: x}, condition: s}\n";
  EXPECT_ONE_ERROR(rule + "---\n" + rule,
                   "r.yml:7:5: duplicate rule id 929a690e-bef0-4204-a928-ef5e620d6fcc (first used "
                   "at r.yml:2)");
}

TEST(RuleLoader, YamlSyntaxErrorHasItsPosition) {
  EXPECT_ONE_ERROR("title: t\ndetection:\n  sel:\n    f|contains: [1\n  condition: sel and\n",
                   "r.yml:5:12: YAML syntax error: end of sequence flow not found");
}

TEST(RuleLoader, StrayCommaIsASyntaxErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll() loops forever on this input by itself.
  EXPECT_ONE_ERROR("title: t\n---\n,a\n", "r.yml:3:1: YAML syntax error: unexpected content");
}

TEST(RuleLoader, CorrelationRulesAreCheckedNotRefused) {
  // More in correlation_loader_test.cc.
  EXPECT_ONE_ERROR(
      "title: many failures\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5m\n",
      "r.yml:3:3: an event_count correlation needs a 'condition' such as {gte: 10}");
}

TEST(RuleLoader, ActionDocumentsAreNotSupported) {
  EXPECT_ONE_ERROR("action: global\ntitle: t\n",
                   "r.yml:1:9: 'action: global' documents (Sigma v1 rule collections) are not "
                   "supported; write each rule in full");
}

TEST(RuleLoader, ReportsEveryProblemNotJustTheFirst) {
  const auto all = errors(
      "title: t\nlevel: severe\nlogsource: {}\ndetection:\n"
      "  a:\n    f|contians: x\n    g|re: '('\n  condition: a and b\n"
      "---\n"
      "logsource: {}\ndetection: {s: {f: x}, condition: s}\n");
  ASSERT_EQ(all.size(), 5u) << ::testing::PrintToString(all);
  EXPECT_EQ(all[0].substr(0, 10), "r.yml:2:8:");
  EXPECT_EQ(all[1].substr(0, 10), "r.yml:6:5:");
  EXPECT_EQ(all[2].substr(0, 11), "r.yml:7:11:");
  EXPECT_EQ(all[3], "r.yml:8:14: condition column 7: undefined search identifier 'b'");
  EXPECT_EQ(all[4], "r.yml:10:1: missing required attribute 'title'");
}

TEST(RuleLoader, SearchShapesAreChecked) {
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel: {}\n  condition: sel\n",
                   "r.yml:4:8: an empty map matches every event; give at least one field");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    - a: 1\n    - keyword\n  condition: sel\n",
                   "r.yml:6:7: a search identifier's list must hold only maps or only keywords");
  EXPECT_ONE_ERROR(std::string(kHead) + "  sel:\n    f: {nested: map}\n  condition: sel\n",
                   "r.yml:5:8: the value of 'f' must be a value or a list of values");
}

TEST(RuleLoader, NonMapDocumentIsRejected) {
  EXPECT_ONE_ERROR("- just\n- a list\n",
                   "r.yml:1:1: a rule must be a YAML map of attributes (title, logsource, "
                   "detection, ...)");
}

TEST(RuleLoader, EmptyInputIsAnEmptySet) {
  Diagnostics diags;
  auto set = RuleSet::parse("", "empty.yml", diags);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 0u);
}

// --- files and folders ---

class RuleFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch_engine_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write(const std::string& relative, const std::string& text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  static std::string rule(const std::string& title) {
    return "title: " + title + "\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n";
  }
  fs::path root_;
};

TEST_F(RuleFolder, LoadsRuleFilesRecursivelyInSortedOrder) {
  write("soc2/b.yml", rule("b"));
  write("hipaa/z.yaml", rule("z"));
  write("hipaa/a.yml", rule("a"));
  write("hipaa/notes.txt", "not a rule");
  write(".git/config.yml", "not: [a rule");
  write("hipaa/.swap.yml", "not: [a rule");
  Diagnostics diags;
  auto set = RuleSet::load({root_.string()}, diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(set->rule(0).title, "a");
  EXPECT_EQ(set->rule(0).pack, "hipaa");
  EXPECT_EQ(set->rule(0).file, (root_ / "hipaa/a.yml").string());
  EXPECT_EQ(set->rule(1).title, "z");
  EXPECT_EQ(set->rule(2).title, "b");
  EXPECT_EQ(set->rule(2).pack, "soc2");
}

TEST_F(RuleFolder, LoadsASingleFileAndMixesPaths) {
  write("one/a.yml", rule("a"));
  write("two/b.yml", rule("b"));
  Diagnostics diags;
  auto set = RuleSet::load({(root_ / "two/b.yml").string(), (root_ / "one").string()}, diags);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ(set->rule(0).title, "b");
  EXPECT_EQ(set->rule(1).title, "a");
}

TEST_F(RuleFolder, ReportsProblemsInEveryFile) {
  write("p/a.yml",
        "title: a\nlogsource: {}\ndetection:\n  s:\n    f|contians: x\n  condition: s\n");
  write("p/b.yml", rule("fine"));
  write("p/c.yml", "title: [unclosed\n");
  Diagnostics diags;
  auto set = RuleSet::load({root_.string()}, diags);
  EXPECT_EQ(set, nullptr);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].str(), (root_ / "p/a.yml").string() + ":5:5: unknown modifier 'contians'");
  EXPECT_EQ(diags[1].file, (root_ / "p/c.yml").string());
  EXPECT_EQ(diags[1].line, 2);
}

// Rule tests (`a.tests.yml` beside `a.yml`, daemon/engine/rule_test_file.h)
// are YAML but not rules: a folder's are passed over, and one named as a
// rule file is refused.
TEST_F(RuleFolder, SkipsRuleTestsFiles) {
  write("p/a.yml", rule("a"));
  write("p/a.tests.yml", "rule: a\ncases:\n  - {name: n, alerts: 1, records: x}\n");
  write("p/b.tests.yaml", "rule: a\ncases:\n  - {name: n, alerts: 1, records: x}\n");
  Diagnostics diags;
  auto set = RuleSet::load({root_.string()}, diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ(set->rule(0).title, "a");

  const std::string named = (root_ / "p/a.tests.yml").string();
  EXPECT_EQ(RuleSet::load({named}, diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].str(),
            named + ": a rule tests file, not a rule file (run it with `trailwatch test`)");
}

TEST_F(RuleFolder, AFolderOfOnlyRuleTestsHasNoRules) {
  write("p/a.tests.yml", "rule: a\ncases:\n  - {name: n, alerts: 1, records: x}\n");
  Diagnostics diags;
  EXPECT_EQ(RuleSet::load({root_.string()}, diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].str(), root_.string() + ": no *.yml or *.yaml rule files found");
}

TEST_F(RuleFolder, DuplicateIdAcrossFiles) {
  const std::string r =
      "title: t\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nlogsource: {}\n"
      "detection: {s: {f: x}, condition: s}\n";
  write("a.yml", r);
  write("b.yml", r);
  Diagnostics diags;
  EXPECT_EQ(RuleSet::load({root_.string()}, diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].str(), (root_ / "b.yml").string() +
                                ":2:5: duplicate rule id 929a690e-bef0-4204-a928-ef5e620d6fcc "
                                "(first used at " +
                                (root_ / "a.yml").string() + ":2)");
}

TEST_F(RuleFolder, MissingPathAndEmptyFolderAreErrors) {
  Diagnostics diags;
  EXPECT_EQ(RuleSet::load({(root_ / "nope").string(), root_.string()}, diags), nullptr);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].str(), (root_ / "nope").string() + ": no such file or directory");
  EXPECT_EQ(diags[1].str(), root_.string() + ": no *.yml or *.yaml rule files found");
}

}  // namespace
}  // namespace trailwatch::engine
