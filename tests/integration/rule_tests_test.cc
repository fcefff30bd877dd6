// `trailwatch test`: the rule tests beside the rules, run by the real binary.
// A passing file, a failing case with its report lines (exit 1), broken
// tests files located `file:line:col` (exit 2), rules without tests warned
// (an error with --require-tests), fresh correlation state per case, and
// placeholders taken from -c FILE.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kExportId = "7c0e7a0c-1a11-4c4b-9f31-6e1d00000001";
constexpr const char* kDeniedId = "7c0e7a0c-1a11-4c4b-9f31-6e1d00000002";

// export.yml holds two rules: exports (the one under test) and denials.
constexpr const char* kExportRules = R"(title: IT export
id: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000001
logsource: {product: ehr}
detection: {sel: {event.action: export}, condition: sel}
---
title: IT denied
id: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000002
logsource: {product: ehr}
detection: {sel: {event.outcome: failure}, condition: sel}
)";

std::string record(const std::string& time, const std::string& action,
                   const std::string& outcome = "success", const std::string& user = "u1") {
  return R"({"@timestamp":"2026-11-20T)" + time + R"(Z","event":{"action":")" + action +
         R"(","outcome":")" + outcome + R"("},"user":{"id":")" + user + R"("}})";
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    out.push_back(text.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

bool hasLine(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text)) {
    if (l == line) return true;
  }
  return false;
}

class TestCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "rules/p");
    writeFile(dir_ / "rules/p/export.yml", kExportRules);
  }

  RunResult test(std::vector<std::string> args) {
    args.insert(args.begin(), {trailwatchBinary(), "test"});
    return runToCompletion(args, dir_.path());
  }

  // A tests file for the export rule with the given cases (YAML list items).
  std::string writeTests(const std::string& cases) {
    const std::string path = dir_ / "rules/p/export.tests.yml";
    writeFile(path, std::string("rule: ") + kExportId + "\ncases:\n" + cases);
    return path;
  }

  static std::string exportCase(const std::string& name, int alerts,
                                const std::vector<std::string>& records) {
    std::string c =
        "  - name: " + name + "\n    alerts: " + std::to_string(alerts) + "\n    records: |\n";
    for (const auto& r : records) c += "      " + r + "\n";
    return c;
  }

  TempDir dir_;
};

TEST_F(TestCommand, PassingFileIsReportedOk) {
  const std::string tests =
      writeTests(exportCase("clerk exports a chart", 1, {record("09:00:00", "export")}) +
                 exportCase("a read does not alert", 0, {record("09:00:00", "read")}));
  const RunResult r = test({dir_ / "rules"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(hasLine(r.out, tests + ": 2 cases, OK")) << r.out;
  EXPECT_NE(r.out.find("1 tests file, 2 cases, all passed"), std::string::npos) << r.out;
}

TEST_F(TestCommand, FailingCaseNamesWhatFired) {
  const std::string tests =
      writeTests(exportCase("passes", 1, {record("09:00:00", "export")}) +
                 exportCase("two exports expected", 2,
                            {record("09:00:00", "export"), record("09:00:01", "read", "failure")}));
  const RunResult r = test({dir_ / "rules"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::vector<std::string> out = lines(r.out);
  ASSERT_GE(out.size(), 4u) << r.out;
  EXPECT_EQ(out[0], tests + ": FAILED");
  EXPECT_EQ(out[1], std::string("  case 'two exports expected': expected 2 alert(s) of ") +
                        kExportId + ", got 1");
  // Sorted by rule id: the denial that fired instead shows a wrong id at once.
  EXPECT_EQ(out[2], std::string("    fired: ") + kExportId + " \"IT export\" x1");
  EXPECT_EQ(out[3], std::string("    fired: ") + kDeniedId + " \"IT denied\" x1");
  EXPECT_EQ(r.out.find("case 'passes'"), std::string::npos) << r.out;
}

TEST_F(TestCommand, NearMissThatAlertsFails) {
  const std::string tests =
      writeTests(exportCase("a read does not alert", 0, {record("09:00:00", "export")}));
  const RunResult r = test({tests});  // a tests file as PATH: its rule file beside it is loaded
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(hasLine(r.out, tests + ": FAILED")) << r.out;
  EXPECT_TRUE(
      hasLine(r.out, std::string("  case 'a read does not alert': expected 0 alert(s) of ") +
                         kExportId + ", got 1"))
      << r.out;
}

TEST_F(TestCommand, RecordTheDecoderRejectsFailsTheCase) {
  // Without this a near miss whose record does not even decode would pass.
  const std::string tests =
      writeTests(exportCase("a read does not alert", 0, {R"({"event":{"action":"read")"}));
  const RunResult r = test({dir_ / "rules"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(hasLine(r.out, tests + ": FAILED")) << r.out;
  // Line 6: `rule`, `cases`, `- name`, `alerts`, `records: |`, then the record.
  EXPECT_NE(r.out.find("  case 'a read does not alert': record 1 (line 6) rejected by the json "
                       "decoder: malformed_json"),
            std::string::npos)
      << r.out;
}

TEST_F(TestCommand, BrokenTestsFilesAreLocated) {
  const std::string tests = writeTests(
      "  - name: a\n"        // 3
      "    alerts: 1\n"      // 4
      "    recrods: |\n"     // 5
      "      x\n"            // 6
      "  - name: b\n"        // 7
      "    format: jsonl\n"  // 8
      "    alerts: 0\n"      // 9
      "    records: x\n");   // 10
  const RunResult r = test({dir_ / "rules"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(tests + ":5:5: unknown key 'recrods' in a case"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(tests + ":3:5: missing key 'records' in a case"), std::string::npos)
      << r.err;
  EXPECT_TRUE(hasLine(r.out, tests + ": FAILED (2 errors in the tests file)")) << r.out;

  writeFile(tests, "rule: 00000000-0000-4000-8000-000000000000\ncases:\n" +
                       exportCase("b", 0, {record("09:00:00", "read")}) + "    format: jsonl\n");
  const RunResult unknown = test({dir_ / "rules"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(
      unknown.err.find(tests + ":1:7: rule '00000000-0000-4000-8000-000000000000' not found among "
                               "the 2 rules loaded"),
      std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find(tests + ":7:13: unknown format 'jsonl' (known: "), std::string::npos)
      << unknown.err;

  writeFile(tests, "rule: x\ncases: [unclosed\n");
  const RunResult yaml = test({dir_ / "rules"});
  EXPECT_EQ(yaml.exit_code, 2) << yaml.out << yaml.err;
  EXPECT_NE(yaml.err.find(tests + ":3:1: YAML syntax error"), std::string::npos) << yaml.err;
}

TEST_F(TestCommand, RulesWithoutTestsAreWarnedOrRequired) {
  writeTests(exportCase("exports", 1, {record("09:00:00", "export")}));
  writeFile(dir_ / "rules/p/btg.yml",
            "title: IT btg\nid: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000003\nlogsource: {}\n"
            "detection: {sel: {purpose_of_use: BTG}, condition: sel}\n");
  const std::string warning_tail =
      ": rule 7c0e7a0c-1a11-4c4b-9f31-6e1d00000003 \"IT btg\" has no tests (write them in "
      "btg.tests.yml beside it)";
  const RunResult warned = test({dir_ / "rules"});
  EXPECT_EQ(warned.exit_code, 0) << warned.out << warned.err;
  EXPECT_NE(warned.err.find("rules/p/btg.yml:1: warning" + warning_tail), std::string::npos)
      << warned.err;
  // The denial rule in export.yml has no tests either; export.tests.yml names another rule.
  EXPECT_NE(warned.err.find(std::string("rule ") + kDeniedId + " \"IT denied\" has no tests"),
            std::string::npos)
      << warned.err;
  EXPECT_NE(warned.out.find("2 rules without tests"), std::string::npos) << warned.out;

  const RunResult required = test({"--require-tests", dir_ / "rules"});
  EXPECT_EQ(required.exit_code, 1) << required.out << required.err;
  EXPECT_NE(required.err.find("rules/p/btg.yml:1: error" + warning_tail), std::string::npos)
      << required.err;
}

TEST_F(TestCommand, EachCaseStartsWithFreshCorrelationState) {
  writeFile(dir_ / "rules/p/burst.yml", R"(title: IT export feed
name: it_export
logsource: {product: ehr}
detection: {sel: {event.action: export}, condition: sel}
---
title: IT export burst
id: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000004
correlation:
  type: event_count
  rules: [it_export]
  group-by: [user.id]
  timespan: 10m
  condition: {gte: 3}
)");
  // Two cases of two exports each: state carried from one to the next would
  // make the second alert. The burst that does alert is 3 within 10 minutes,
  // by event time; the slow one spans more than the window.
  writeFile(dir_ / "rules/p/burst.tests.yml",
            "rule: IT export burst\ncases:\n" +
                exportCase("two exports", 0,
                           {record("09:00:00", "export"), record("09:00:10", "export")}) +
                exportCase("two more exports", 0,
                           {record("09:00:20", "export"), record("09:00:30", "export")}) +
                exportCase("three within ten minutes", 1,
                           {record("09:00:00", "export"), record("09:05:00", "export"),
                            record("09:09:59", "export")}) +
                exportCase("three over eleven minutes", 0,
                           {record("09:00:00", "export"), record("09:05:00", "export"),
                            record("09:11:00", "export")}));
  writeTests(exportCase("exports", 1, {record("09:00:00", "export")}));
  const RunResult r = test({dir_ / "rules/p/burst.yml", dir_ / "rules/p/export.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(hasLine(r.out, (dir_ / "rules/p/burst.tests.yml") + ": 4 cases, OK")) << r.out;
}

TEST_F(TestCommand, PlaceholdersComeFromTheConfiguration) {
  writeFile(dir_ / "rules/p/gone.yml",
            "title: IT terminated user\nid: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000005\n"
            "logsource: {}\ndetection: {sel: {user.id|expand: '%gone%'}, condition: sel}\n");
  writeFile(
      dir_ / "rules/p/gone.tests.yml",
      "rule: 7c0e7a0c-1a11-4c4b-9f31-6e1d00000005\ncases:\n" +
          exportCase("a terminated user reads", 1, {record("09:00:00", "read", "success", "u9")}) +
          exportCase("a current user reads", 0, {record("09:00:00", "read")}));
  writeTests(exportCase("exports", 1, {record("09:00:00", "export")}));
  writeFile(dir_ / "gone.txt", "u9\n");
  writeFile(dir_ / "trailwatch.yaml",
            "state_dir: ./state\nrules: [./rules]\nsources:\n  - {name: ehr, type: file, paths: "
            "[\"./logs/*.ndjson\"], format: json}\nplaceholders:\n  gone: gone.txt\n");

  const RunResult bare = test({dir_ / "rules"});
  EXPECT_EQ(bare.exit_code, 2) << bare.out << bare.err;
  EXPECT_NE(bare.err.find("unknown placeholder 'gone'"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("no -c FILE given"), std::string::npos) << bare.err;

  const RunResult configured = test({"-c", dir_ / "trailwatch.yaml", dir_ / "rules"});
  EXPECT_EQ(configured.exit_code, 0) << configured.out << configured.err;
  EXPECT_TRUE(hasLine(configured.out, (dir_ / "rules/p/gone.tests.yml") + ": 2 cases, OK"))
      << configured.out;
}

TEST_F(TestCommand, UsageErrors) {
  const RunResult none = test({});
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
  EXPECT_NE(none.err.find("PATH"), std::string::npos) << none.err;
  const RunResult missing = test({dir_ / "nope"});
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("no such file or directory"), std::string::npos) << missing.err;
}

// rules/README.md is the mapping an auditor reads: every shipped rule file
// has its row there, linked by path.
TEST(ShippedRulePacks, EveryRuleFileIsInTheMappingTable) {
  const std::filesystem::path rules = std::filesystem::path(sourceDir()) / "rules";
  const std::string readme = readFile(rules / "README.md");
  ASSERT_FALSE(readme.empty()) << rules / "README.md";
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(rules)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".yml" || name.ends_with(".tests.yml")) continue;
    ++files;
    const std::string link = "(" + std::filesystem::relative(entry.path(), rules).string() + ")";
    EXPECT_NE(readme.find(link), std::string::npos) << "rules/README.md has no row for " << link;
  }
  EXPECT_GT(files, 40);
}

}  // namespace
}  // namespace trailwatch::it
