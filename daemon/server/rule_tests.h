// `trailwatch test [-c FILE] [--require-tests] PATH...`: runs the unit tests
// that ship beside the rules (`<name>.tests.yml`, engine/rule_test_file.h),
// like `promtool test rules`.
//
// Every rule under PATH... is loaded into one set (so correlations find the
// rules they refer to), with the lookup tables and placeholder lists of
// `-c FILE` when given (none otherwise). Each case runs on fresh state — a
// new decoder, new correlation windows — through the same one-shot scan as
// `trailwatch scan` (one_shot_scan.h), with the case's records in memory;
// then the alerts of the rule under test are counted against `alerts`.
//
// Output on stdout, one line per tests file (`PATH: N cases, OK` or
// `PATH: FAILED` and a line per failing case); problems in tests files as
// `file:line:col: message` on stderr; a warning per rule that no tests file
// names. Exit 0 when every case passed, 1 when one failed (or, with
// --require-tests, a rule has no tests), 2 for usage, configuration, rule
// or tests-file errors.
//
// Thread-safety: called once, from the main thread.
#pragma once

#include <string>
#include <vector>

namespace trailwatch::server {

struct RuleTestOptions {
  std::string config_file;         // optional: lookups, placeholders, correlation settings
  std::vector<std::string> paths;  // rule folders, rule files or tests files
  bool require_tests = false;      // a rule without tests fails the run
};

int runRuleTests(const RuleTestOptions& options);

}  // namespace trailwatch::server
