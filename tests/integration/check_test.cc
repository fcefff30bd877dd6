// `trailwatch check`: a summary and exit 0 for a good configuration, and
// `file:line:col: message` with exit 2 for each kind of mistake.
#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

class CheckCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    writeTestRules(dir_ / "rules/itpack");
    std::filesystem::create_directories(dir_ / "logs");
  }

  // A valid configuration; `extra_source_line` (if any) goes at line 12,
  // inside the source, indented like its keys.
  std::string writeConfig(const std::string& extra_source_line = "") {
    std::string c =
        "state_dir: ./state\n"                                               // 1
        "rules: [./rules]\n"                                                 // 2
        "checkpoint_interval: 200ms\n"                                       // 3
        "sources:\n"                                                         // 4
        "  - name: ehr\n"                                                    // 5
        "    type: file\n"                                                   // 6
        "    paths: [\"./logs/*.ndjson\"]\n"                                 // 7
        "    format: json\n"                                                 // 8
        "    start_at: beginning\n"                                          // 9
        "    logsource: {product: ehr, service: audit}\n"                    // 10
        "    max_line_bytes: 4096\n";                                        // 11
    if (!extra_source_line.empty()) c += "    " + extra_source_line + "\n";  // 12
    c += "outputs:\n"
         "  - type: file\n"
         "    path: ./alerts.jsonl\n"
         "metrics:\n"
         "  listen: 127.0.0.1:0\n";
    const std::string path = dir_ / "trailwatch.yaml";
    writeFile(path, c);
    return path;
  }

  RunResult check(std::vector<std::string> args) {
    args.insert(args.begin(), {trailwatchBinary(), "check"});
    return runToCompletion(args, dir_.path());
  }

  // True when `err` has a line `<file>:<line>:<col>: ...` with `col` in
  // [col_min, col_max] whose message contains `needle`.
  static bool hasDiagnostic(const std::string& err, const std::string& file, int line, int col_min,
                            int col_max, const std::string& needle) {
    const std::string prefix = file + ":" + std::to_string(line) + ":";
    size_t pos = 0;
    while ((pos = err.find(prefix, pos)) != std::string::npos) {
      const size_t eol = err.find('\n', pos);
      const std::string l = err.substr(pos, eol == std::string::npos ? eol : eol - pos);
      pos += prefix.size();
      std::smatch m;
      const std::string rest = l.substr(prefix.size());
      if (std::regex_search(rest, m, std::regex("^([0-9]+): (.*)$"))) {
        const int col = std::stoi(m[1]);
        if (col >= col_min && col <= col_max && m[2].str().find(needle) != std::string::npos) {
          return true;
        }
      }
    }
    return false;
  }

  TempDir dir_;
};

TEST_F(CheckCommand, GoodConfigurationPrintsASummary) {
  const RunResult r = check({"-c", writeConfig()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("rules: 3 loaded"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(pack \S*itpack\S*: 3 rule\(s\))"))) << r.out;
  EXPECT_NE(r.out.find("fields used"), std::string::npos) << r.out;
  for (const char* field : {"purpose_of_use", "event.action", "event.outcome"}) {
    EXPECT_NE(r.out.find(field), std::string::npos) << "fields used should name " << field << "\n"
                                                    << r.out;
  }
  EXPECT_NE(r.out.find("source ehr"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, RulesAloneCanBeChecked) {
  const RunResult r = check({"--rules", dir_ / "rules"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("rules: 3 loaded"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, BundledConfigurationAndShippedRulesAreValid) {
  const RunResult r = check({"-c", std::string(sourceDir()) + "/deploy/trailwatch.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Counts change as the packs grow; what must hold is that both packs load,
  // the site lists and lookups resolve, and every sample source gets rules.
  const auto count = [&](const std::string& pattern) {
    std::smatch m;
    return std::regex_search(r.out, m, std::regex(pattern)) ? std::stoi(m[1]) : 0;
  };
  EXPECT_GT(count(R"(rules: (\d+) loaded)"), 40) << r.out;
  EXPECT_GT(count(R"(pack hipaa-phi-access: (\d+) rule\(s\))"), 10) << r.out;
  EXPECT_GT(count(R"(pack soc2-cc7: (\d+) rule\(s\))"), 10) << r.out;
  EXPECT_GT(count(R"(source ehr \(file, json\): (\d+) rule\(s\) apply)"), 10) << r.out;
  // The static samples (deploy/samples/): each log kind gets its rules.
  for (const std::string source :
       {R"(auth \(file, syslog\+kv\))", R"(auditd \(file, auditd\))",
        R"(cloudtrail \(file, cloudtrail\))", R"(k8s \(file, k8s-audit\))",
        R"(pgaudit \(file, pgaudit\))", R"(pg-jsonlog \(file, json\))"}) {
    EXPECT_GT(count("source " + source + R"(: (\d+) rule\(s\) apply)"), 0) << source << "\n"
                                                                           << r.out;
  }
  for (const std::string placeholder :
       {"internal_networks", "phi_tables", "phi_app_db_roles", "sudo_allowed_users"}) {
    EXPECT_GT(count("placeholder %" + placeholder + R"(%: (\d+) value)"), 0) << r.out;
  }
  EXPECT_NE(r.out.find("lookup staff"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lookup patients"), std::string::npos) << r.out;
}

TEST_F(CheckCommand, AnUnreadableChainKeyFileIsAnError) {
  std::string config = readFile(writeConfig());
  config.replace(config.find("    path: ./alerts.jsonl\n"), 25,
                 "    path: ./alerts.jsonl\n    chain_key_file: ./no-such.key\n");
  writeFile(dir_ / "trailwatch.yaml", config);
  const RunResult r = check({"-c", dir_ / "trailwatch.yaml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot read chain key file " + std::string(dir_ / "no-such.key")),
            std::string::npos)
      << r.err;
  writeFile(dir_ / "no-such.key", "secret\n");
  EXPECT_EQ(check({"-c", dir_ / "trailwatch.yaml"}).exit_code, 0);
}

TEST_F(CheckCommand, UnknownConfigKeyIsNamedWithItsLocation) {
  const std::string config = writeConfig("start_from: end");
  const RunResult r = check({"-c", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(hasDiagnostic(r.err, config, 12, 5, 5, "start_from")) << r.err;
}

TEST_F(CheckCommand, ExtraFieldsOnAFormatWithoutThemIsNamedWithItsLocation) {
  const std::string config = writeConfig("extra_fields: [forwarded_for]");
  const RunResult r = check({"-c", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(hasDiagnostic(r.err, config, 12, 19, 19,
                            "extra_fields in source 'ehr' is for the "
                            "access-log format"))
      << r.err;
}

TEST_F(CheckCommand, SyslogBodyFormatsAreAccepted) {
  std::string config = writeConfig();
  std::string text = readFile(config);
  text.replace(text.find("format: json"), 12, "format: syslog+pgaudit");
  writeFile(config, text);
  RunResult r = check({"-c", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("syslog+pgaudit"), std::string::npos) << r.out;

  text.replace(text.find("syslog+pgaudit"), 14, "syslog+syslog");
  writeFile(config, text);
  r = check({"-c", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(hasDiagnostic(r.err, config, 8, 13, 13, "unknown format 'syslog+syslog'")) << r.err;
  EXPECT_NE(r.err.find("syslog+FORMAT"), std::string::npos) << r.err;
}

TEST_F(CheckCommand, UnknownModifierIsNamedWithItsLocation) {
  writeConfig();
  const std::string rule = dir_ / "rules/itpack/typo.yml";
  writeFile(rule,
            "title: typo in a modifier\n"                 // 1
            "id: 6c1d8d55-6b5d-4f0e-8a2b-000000000098\n"  // 2
            "level: low\n"                                // 3
            "logsource: {product: ehr}\n"                 // 4
            "detection:\n"                                // 5
            "  selection:\n"                              // 6
            "    user.id|contians: x\n"                   // 7
            "  condition: selection\n");                  // 8
  const RunResult r = check({"-c", dir_ / "trailwatch.yaml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  // The column points at the key or at the modifier inside it.
  EXPECT_TRUE(hasDiagnostic(r.err, rule, 7, 5, 5 + 16, "contians")) << r.err;
}

TEST_F(CheckCommand, UndefinedConditionIdentifierIsNamedWithItsLocation) {
  const std::string rule = dir_ / "rules/itpack/undefined.yml";
  writeFile(rule,
            "title: condition names a missing selection\n"  // 1
            "id: 6c1d8d55-6b5d-4f0e-8a2b-000000000097\n"    // 2
            "level: low\n"                                  // 3
            "logsource: {product: ehr}\n"                   // 4
            "detection:\n"                                  // 5
            "  selection:\n"                                // 6
            "    event.action: read\n"                      // 7
            "  condition: selection and not filter\n");     // 8
  const RunResult r = check({"--rules", dir_ / "rules"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(hasDiagnostic(r.err, rule, 8, 1, 40, "filter")) << r.err;
}

}  // namespace
}  // namespace trailwatch::it
