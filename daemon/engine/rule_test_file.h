// RuleTestFile: the unit tests that ship beside a rule. A rule file
// `rules/<pack>/<name>.yml` has its tests in `rules/<pack>/<name>.tests.yml`
// (or `.tests.yaml`), one YAML document:
//
//   rule: 2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02  # id (or name/title) of the rule under test
//   cases:
//     - name: clerk exports a patient chart     # required, unique in the file
//       format: json                            # a decoder format name; default json
//       alerts: 1                               # alerts of the rule the records must raise
//       records: |                              # the log lines, one record per line
//         {"@timestamp":"2026-11-23T10:00:00Z","event":{"action":"export"}}
//       extra_fields: [request_time]            # optional (access-log)
//       timestamp_field: "@timestamp"           # optional
//
// Such files are not rule files: the rule loader skips them
// (isRuleTestFile). This reads one and checks its shape, reporting every
// problem as `file:line:col: message`. What needs other stages (is the
// format a known decoder, does the rule exist) is checked by whoever runs
// the cases (`trailwatch test`, daemon/server/rule_tests.h), at the
// positions kept here.
//
// yaml-cpp throws; nothing escapes these functions but Diagnostics.
//
// Thread-safety: plain functions and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/diagnostic.h"
#include "trailwatch/result.h"

namespace trailwatch::engine {

// A place in a tests file, 1-based.
struct TextPosition {
  int line = 0;
  int column = 0;
};

struct RuleTestCase {
  std::string name;
  std::string format = "json";
  uint64_t alerts = 0;
  std::string records;  // the log lines as the format reads them, newline-separated
  std::vector<std::string> extra_fields;
  std::string timestamp_field = "@timestamp";

  TextPosition at;               // the case's `name` value
  TextPosition format_at;        // the `format` value, else the case itself
  TextPosition extra_fields_at;  // the `extra_fields` value, when given
  bool has_extra_fields = false;
  // Line of the first record when `records` is a literal block (`|`), so
  // record k (0-based) is on line first_record_line + k; 0 otherwise.
  int first_record_line = 0;
};

struct RuleTestFile {
  std::string path;
  std::string rule;  // id, else name or title, of the rule under test
  TextPosition rule_at;
  std::vector<RuleTestCase> cases;
};

// True for `*.tests.yml` and `*.tests.yaml`.
bool isRuleTestFile(std::string_view path);

// The rule file a tests file sits beside (`a.tests.yml` -> `a.yml`, then
// `a.yaml`), when one exists.
std::optional<std::string> ruleFileOfTests(const std::string& tests_path);
// The tests file beside a rule file (`a.yml` -> `a.tests.yml`, then
// `a.tests.yaml`), when one exists.
std::optional<std::string> testsFileOfRule(const std::string& rule_path);

// The *.yml / *.yaml files under `folder`, searched recursively (a name
// starting with '.' is skipped, a folder's too): the rule files and the
// rule tests files apart, each sorted. The one walk of rule folders, for
// the rule loader, `trailwatch test` and `trailwatch coverage`.
struct RuleFolder {
  std::vector<std::string> rules;
  std::vector<std::string> tests;
};
// Error: "cannot list folder: <why>".
Result<RuleFolder> listRuleFolder(const std::string& folder);

// Reads and checks `path`. nullopt, after appending one Diagnostic per
// problem, when anything is wrong.
std::optional<RuleTestFile> readRuleTestFile(const std::string& path, Diagnostics& diags);
// Same from text; `path` is used in diagnostics.
std::optional<RuleTestFile> parseRuleTestFile(std::string_view yaml, const std::string& path,
                                              Diagnostics& diags);

}  // namespace trailwatch::engine
