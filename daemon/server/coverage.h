// `trailwatch coverage`: which compliance controls the loaded rules serve,
// the formats each rule is tested in and read from, and where coverage has
// gaps — the evidence an auditor asks for.
//
// A control is a rule tag that the compiler keeps as a control
// (RuleInfo::controls: `soc2.*`, `hipaa.*`, the same list alerts carry).
// SOC 2 CC7.1–CC7.5 and HIPAA §164.312(b) are always listed, so a control
// with no rule shows up as a gap rather than by its absence. A rule serves
// the controls of its own tags only if it alerts: a detection rule that only
// feeds a correlation is counted through the correlation.
//
// Formats come from two places:
// - the rule's tests file (`<rule file stem>.tests.yml` beside it, as
//   `trailwatch test` runs them): each case's `format:` (default json);
// - with a configuration, the sources a rule applies to (the applicability
//   `check` and `run` use: RuleSet::rulesFor; a correlation applies where
//   any rule it reads applies), with their `format:`.
//
// Thread-safety: plain functions and values; runCoverage is called once,
// from the main thread.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/config.h"
#include "daemon/engine/rule_set.h"
#include "trailwatch/diagnostic.h"

namespace trailwatch::server {

// Listed in every report, in this order, before any other control.
inline constexpr std::array<std::string_view, 6> kCoreControls = {
    "soc2.cc7.1", "soc2.cc7.2", "soc2.cc7.3", "soc2.cc7.4", "soc2.cc7.5", "hipaa.164.312.b"};

// How a person reads a control tag: `soc2.cc7.2` -> "SOC 2 CC7.2",
// `hipaa.164.308.a.1.ii.d` -> "HIPAA §164.308(a)(1)(ii)(D)". Other tags
// come back unchanged.
std::string controlName(std::string_view control);

// What coverage reads from one rule tests file.
struct RuleTests {
  std::string file;                    // the tests file
  std::string rule;                    // `rule:` (id, name or title); empty when absent
  int rule_line = 0, rule_column = 0;  // where `rule:` was written (1-based; 0 if absent)
  std::vector<std::string> formats;    // each case's `format:` (json when absent), sorted, unique
};

// Reads `rule:` and each case's `format:` from tests-file text. The rest of
// the file is `trailwatch test`'s business and is not checked here; what
// cannot be read is a warning (file:line:col) and is left out.
RuleTests parseRuleTests(std::string_view yaml, const std::string& file, Diagnostics& warnings);

// The files behind rule paths (files, or folders searched like the rule
// loader does: recursively, sorted, skipping hidden names), split into rule
// files and tests files. A folder without rule files is an error.
struct RuleFiles {
  std::vector<std::string> rules;
  std::vector<std::string> tests;
};
RuleFiles listRuleFiles(const std::vector<std::string>& paths, Diagnostics& errors);

// Reads each tests file (problems are warnings).
std::vector<RuleTests> readRuleTests(const std::vector<std::string>& files, Diagnostics& warnings);

struct CoverageRule {
  size_t index = 0;  // in the RuleSet
  std::string id, name, title, level, file;
  std::vector<std::string> controls;
  std::vector<std::string> tested_formats;  // from tests files, sorted, unique
  std::vector<size_t> sources;              // indices into Coverage::sources it applies to
  std::vector<std::string> formats;         // tested formats and its sources' formats, sorted
};

struct CoverageControl {
  std::string control;          // the tag, e.g. soc2.cc7.2
  bool core = false;            // one of kCoreControls
  std::vector<size_t> rules;    // indices into Coverage::rules: most severe first, then by title
  std::vector<size_t> sources;  // indices into Coverage::sources that feed it
  bool no_rule() const { return rules.empty(); }
};

struct CoverageSource {
  std::string name, format;
  const LogSource* logsource = nullptr;  // into the Config; null: every rule applies
  size_t rules = 0;                      // detection rules that apply (as `check` counts)
  std::vector<std::string> controls;     // controls its rules serve, in report order
};

struct CoverageGap {
  enum class Kind { kControlWithoutRule, kSourceWithoutRule, kControlWithoutSource };
  Kind kind;
  std::string subject;  // the control tag or the source name
  std::string detail;   // what is missing, without the subject
  std::string message;  // subject and detail, one line for people
};

const char* gapKindName(CoverageGap::Kind kind);  // control_without_rule, ...

struct Coverage {
  std::string configuration;            // the configuration file; empty without one
  std::vector<std::string> rule_paths;  // as given (configuration's, then --rules)
  bool with_sources = false;            // a configuration was given
  size_t rules_loaded = 0;
  std::vector<CoverageRule> rules;  // the alerting rules that serve at least one control
  std::vector<CoverageRule> rules_without_control;  // alerting rules with no control tag
  std::vector<CoverageControl> controls;
  std::vector<CoverageSource> sources;
  std::vector<CoverageGap> gaps;
};

// Builds the report. `sources` may be null (no configuration): then no
// source gaps are computed. A tests file whose `rule:` names no loaded rule
// (by id, name or title) adds a warning; one without `rule:` covers the
// rules of the rule file beside it (`x.tests.yml` -> `x.yml` / `x.yaml`).
Coverage computeCoverage(const engine::RuleSet& rules, const std::vector<RuleTests>& tests,
                         const std::vector<config::SourceConfig>* sources, Diagnostics& warnings);

// The report as Markdown (for people) and as one JSON object (for machines).
std::string coverageMarkdown(const Coverage& coverage);
std::string coverageJson(const Coverage& coverage);

struct CoverageOptions {
  std::string config_file;          // optional: its rules, lookups and sources
  std::vector<std::string> rules;   // --rules, added to the configuration's
  std::string format = "markdown";  // markdown or json
};

// Prints the report on stdout. 0 when it was printed (gaps are reported,
// not failures); 2 on a usage, configuration or rule error, after printing
// `file:line:col: message` lines on stderr.
int runCoverage(const CoverageOptions& options);

}  // namespace trailwatch::server
