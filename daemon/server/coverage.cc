#include "daemon/server/coverage.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "daemon/common/ascii.h"
#include "daemon/common/json_writer.h"
#include "daemon/decode/registry.h"
#include "daemon/engine/rule_test_file.h"
#include "daemon/server/commands.h"
#include "daemon/server/lookup_loader.h"

namespace trailwatch::server {
namespace {

namespace fs = std::filesystem;

// Tests files are small; a bigger file is not one (the rule loader's bound).
constexpr std::uintmax_t kMaxTestsFileBytes = 16 << 20;

void sortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ascii::isDigit);
}

std::vector<std::string_view> splitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  for (size_t at = 0; at <= s.size();) {
    const size_t dot = std::min(s.find('.', at), s.size());
    parts.push_back(s.substr(at, dot - at));
    at = dot + 1;
  }
  return parts;
}

// Most severe first; unknown levels last.
int severityRank(const std::string& level) {
  static constexpr std::string_view kOrder[] = {"critical", "high", "medium", "low",
                                                "informational"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (level == kOrder[i]) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

bool isCore(const std::string& control) {
  return std::find(kCoreControls.begin(), kCoreControls.end(), control) != kCoreControls.end();
}

std::string logsourceText(const LogSource& ls) {
  std::string out;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    out += (out.empty() ? "" : ", ") + std::string(key) + ": " + value;
  };
  add("product", ls.product);
  add("service", ls.service);
  add("category", ls.category);
  return out;
}

// The rule file a tests file sits beside: `x.tests.yml` -> `x.yml` and `x.yaml`.
std::vector<std::string> besideRuleFiles(const std::string& tests_file) {
  for (std::string_view suffix : {".tests.yml", ".tests.yaml"}) {
    if (std::string_view(tests_file).ends_with(suffix)) {
      const std::string stem = tests_file.substr(0, tests_file.size() - suffix.size());
      return {stem + ".yml", stem + ".yaml"};
    }
  }
  return {};
}

}  // namespace

std::string controlName(std::string_view control) {
  const auto parts = splitDots(control);
  if (parts.size() >= 2 && parts[0] == "soc2") {
    std::string out = "SOC 2 ";
    out += ascii::uppered(control.substr(5));
    return out;
  }
  // 45 CFR paragraphs nest as (a), (1), (i), (A): the fourth level is upper case.
  if (parts.size() >= 3 && parts[0] == "hipaa" && isDigits(parts[1]) && isDigits(parts[2])) {
    std::string out = "HIPAA §" + std::string(parts[1]) + "." + std::string(parts[2]);
    for (size_t i = 3; i < parts.size(); ++i) {
      const std::string p = (i - 3) % 4 == 3 ? ascii::uppered(parts[i]) : std::string(parts[i]);
      out += "(" + p + ")";
    }
    return out;
  }
  return std::string(control);
}

const char* gapKindName(CoverageGap::Kind kind) {
  switch (kind) {
    case CoverageGap::Kind::kControlWithoutRule:
      return "control_without_rule";
    case CoverageGap::Kind::kSourceWithoutRule:
      return "source_without_rule";
    case CoverageGap::Kind::kControlWithoutSource:
      return "control_without_source";
  }
  return "unknown";
}

RuleTests parseRuleTests(std::string_view yaml, const std::string& file, Diagnostics& warnings) {
  RuleTests out;
  out.file = file;
  auto warn = [&](const YAML::Node& at, std::string message) {
    const YAML::Mark mark = at.Mark();
    warnings.push_back(
        {file, std::max(mark.line + 1, 0), std::max(mark.column + 1, 0), std::move(message)});
  };
  // One document; YAML::Load (unlike LoadAll) reads only the first, so the
  // yaml-cpp 0.7 LoadAll loop on malformed input cannot happen here.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      if (root.IsDefined() && !root.IsNull()) warn(root, "a tests file is a map (rule:, cases:)");
      return out;
    }
    if (const YAML::Node rule = root["rule"]; rule) {
      if (rule.IsScalar() && !rule.Scalar().empty()) {
        out.rule = rule.Scalar();
        out.rule_line = rule.Mark().line + 1;
        out.rule_column = rule.Mark().column + 1;
      } else {
        warn(rule, "'rule' should name the rule under test (its id, name or title)");
      }
    }
    const YAML::Node cases = root["cases"];
    if (!cases || cases.IsNull()) return out;
    if (!cases.IsSequence()) {
      warn(cases, "'cases' should be a list");
      return out;
    }
    for (const YAML::Node& c : cases) {
      if (!c.IsMap()) {
        warn(c, "a case should be a map (name:, format:, records:, ...)");
        continue;
      }
      const YAML::Node format = c["format"];
      if (!format || format.IsNull()) {
        out.formats.push_back("json");
      } else if (format.IsScalar() && !format.Scalar().empty()) {
        out.formats.push_back(format.Scalar());
      } else {
        warn(format, "'format' should be a format name such as json or fhir");
      }
    }
  } catch (const YAML::Exception& e) {
    warnings.push_back({file, e.mark.is_null() ? 0 : e.mark.line + 1,
                        e.mark.is_null() ? 0 : e.mark.column + 1, "YAML syntax error: " + e.msg});
  }
  sortUnique(out.formats);
  return out;
}

RuleFiles listRuleFiles(const std::vector<std::string>& paths, Diagnostics& errors) {
  // Folders are walked as the rule loader walks them (listRuleFolder).
  RuleFiles out;
  for (const auto& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      errors.push_back({path, 0, 0, "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(status)) {
      if (engine::isRuleTestFile(path)) {
        errors.push_back(
            {path, 0, 0, "a rule tests file, not a rule file: give the rule file or its folder"});
        continue;
      }
      out.rules.push_back(path);
      if (auto tests = engine::testsFileOfRule(path)) out.tests.push_back(*tests);
      continue;
    }
    auto folder = engine::listRuleFolder(path);
    if (!folder.ok()) {
      errors.push_back({path, 0, 0, folder.error()});
      continue;
    }
    out.tests.insert(out.tests.end(), folder->tests.begin(), folder->tests.end());
    if (folder->rules.empty()) {
      errors.push_back({path, 0, 0, "no *.yml or *.yaml rule files found"});
      continue;
    }
    out.rules.insert(out.rules.end(), folder->rules.begin(), folder->rules.end());
  }
  sortUnique(out.tests);
  return out;
}

std::vector<RuleTests> readRuleTests(const std::vector<std::string>& files, Diagnostics& warnings) {
  std::vector<RuleTests> out;
  for (const auto& file : files) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (!ec && size > kMaxTestsFileBytes) {
      warnings.push_back({file, 0, 0, "larger than 16 MiB; not read"});
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      warnings.push_back({file, 0, 0, std::string("cannot open: ") + std::strerror(errno)});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(parseRuleTests(text.str(), file, warnings));
  }
  return out;
}

Coverage computeCoverage(const engine::RuleSet& rules, const std::vector<RuleTests>& tests,
                         const std::vector<config::SourceConfig>* sources, Diagnostics& warnings) {
  Coverage cov;
  cov.rules_loaded = rules.size();
  cov.with_sources = sources != nullptr;

  // Which sources each detection rule applies to, by the engine's own test.
  std::vector<std::set<size_t>> direct(rules.size());
  if (sources != nullptr) {
    for (size_t s = 0; s < sources->size(); ++s) {
      const auto& sc = (*sources)[s];
      CoverageSource out;
      out.name = sc.name;
      out.format = sc.format;
      out.logsource = sc.logsource ? &*sc.logsource : nullptr;
      const auto applicable = rules.rulesFor(out.logsource);
      out.rules = applicable.size();
      for (const uint32_t r : applicable) direct[r].insert(s);
      cov.sources.push_back(std::move(out));
    }
  }
  // A correlation reads no events itself: it is fed wherever a rule it
  // reads (possibly another correlation) is.
  std::vector<std::optional<std::set<size_t>>> fed(rules.size());
  std::function<const std::set<size_t>&(size_t)> sourcesOf = [&](size_t r) -> const auto& {
    if (fed[r]) return *fed[r];
    fed[r].emplace();  // a cycle (rejected by the loader anyway) ends here
    const int32_t c = rules.rule(r).correlation;
    if (c < 0) {
      fed[r] = direct[r];
      return *fed[r];
    }
    std::set<size_t> all;
    for (const auto& in : rules.correlations()[static_cast<size_t>(c)].inputs) {
      const size_t from =
          in.from_correlation ? rules.correlations()[in.index].rule_index : in.index;
      const auto& s = sourcesOf(from);
      all.insert(s.begin(), s.end());
    }
    fed[r] = std::move(all);
    return *fed[r];
  };

  std::vector<std::vector<std::string>> tested(rules.size());
  for (const auto& t : tests) {
    std::vector<size_t> targets;
    for (size_t r = 0; r < rules.size(); ++r) {
      const auto& info = rules.rule(r);
      if (!t.rule.empty()) {
        if (info.id == t.rule || info.name == t.rule || info.title == t.rule) targets.push_back(r);
      } else {
        const auto beside = besideRuleFiles(t.file);
        if (std::find(beside.begin(), beside.end(), info.file) != beside.end()) {
          targets.push_back(r);
        }
      }
    }
    if (targets.empty()) {
      warnings.push_back(
          t.rule.empty()
              ? Diagnostic{t.file, 0, 0,
                           "no 'rule:' and no rule file beside it; its formats are not counted"}
              : Diagnostic{t.file, t.rule_line, t.rule_column,
                           "rule '" + t.rule +
                               "' is not among the loaded rules (by id, name or "
                               "title); its formats are not counted"});
    }
    for (const size_t r : targets) {
      tested[r].insert(tested[r].end(), t.formats.begin(), t.formats.end());
    }
  }

  std::map<std::string, std::vector<size_t>> by_control;  // control -> Coverage::rules
  for (size_t r = 0; r < rules.size(); ++r) {
    const auto& info = rules.rule(r);
    if (!info.alerts) continue;
    CoverageRule out;
    out.index = r;
    out.id = info.id;
    out.name = info.name;
    out.title = info.title;
    out.level = info.level;
    out.file = info.file;
    out.controls = info.controls;
    out.tested_formats = tested[r];
    sortUnique(out.tested_formats);
    out.formats = out.tested_formats;
    for (const size_t s : sourcesOf(r)) {
      out.sources.push_back(s);
      out.formats.push_back(cov.sources[s].format);
    }
    sortUnique(out.formats);
    if (info.controls.empty()) {
      cov.rules_without_control.push_back(std::move(out));
      continue;
    }
    for (const auto& control : info.controls) by_control[control].push_back(cov.rules.size());
    cov.rules.push_back(std::move(out));
  }

  std::vector<std::string> order(kCoreControls.begin(), kCoreControls.end());
  for (const auto& [control, unused] : by_control) {
    if (!isCore(control)) order.push_back(control);
  }
  for (const auto& control : order) {
    CoverageControl c;
    c.control = control;
    c.core = isCore(control);
    if (auto it = by_control.find(control); it != by_control.end()) c.rules = it->second;
    std::sort(c.rules.begin(), c.rules.end(), [&](size_t a, size_t b) {
      const auto& ra = cov.rules[a];
      const auto& rb = cov.rules[b];
      return std::tuple(severityRank(ra.level), ra.title, ra.id) <
             std::tuple(severityRank(rb.level), rb.title, rb.id);
    });
    std::set<size_t> feeding;
    for (const size_t r : c.rules)
      feeding.insert(cov.rules[r].sources.begin(), cov.rules[r].sources.end());
    c.sources.assign(feeding.begin(), feeding.end());
    for (const size_t s : c.sources) cov.sources[s].controls.push_back(control);
    cov.controls.push_back(std::move(c));
  }

  auto gap = [&](CoverageGap::Kind kind, const std::string& subject, std::string detail) {
    const std::string who = kind == CoverageGap::Kind::kSourceWithoutRule
                                ? "source '" + subject + "'"
                                : controlName(subject) + " (" + subject + ")";
    cov.gaps.push_back({kind, subject, detail, who + ": " + detail});
  };
  for (const auto& c : cov.controls) {
    if (c.no_rule()) {
      gap(CoverageGap::Kind::kControlWithoutRule, c.control,
          "NO RULE: no loaded rule carries this tag");
    }
  }
  if (sources != nullptr) {
    for (const auto& s : cov.sources) {
      if (s.rules != 0) continue;
      gap(CoverageGap::Kind::kSourceWithoutRule, s.name,
          "NO RULE applies to this " + s.format + " source (logsource " +
              (s.logsource ? logsourceText(*s.logsource) : std::string("none")) + ")");
    }
    for (const auto& c : cov.controls) {
      if (c.no_rule() || !c.sources.empty()) continue;
      gap(CoverageGap::Kind::kControlWithoutSource, c.control,
          "NO SOURCE: " + std::to_string(c.rules.size()) +
              " rule(s) serve it, but none applies to a configured source");
    }
  }
  return cov;
}

namespace {

// A Markdown table cell: one line, pipes escaped.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, const char* separator = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : separator) + s;
  return out;
}

std::string ruleRef(const CoverageRule& r) {
  if (!r.id.empty()) return "`" + r.id + "`";
  if (!r.name.empty()) return "`" + r.name + "`";
  return "—";
}

std::string sourcesCell(const Coverage& cov, const std::vector<size_t>& sources) {
  if (sources.empty()) return "**none**";
  std::vector<std::string> names;
  for (const size_t s : sources) {
    names.push_back(cell(cov.sources[s].name) + " (" + cell(cov.sources[s].format) + ")");
  }
  return joined(names);
}

void appendStrings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, v[i]);
  }
  out += ']';
}

void appendKey(std::string& out, std::string_view key) {
  appendJsonString(out, key);
  out += ':';
}

void appendRule(std::string& out, const Coverage& cov, const CoverageRule& r) {
  out += '{';
  appendKey(out, "id");
  appendJsonString(out, r.id);
  out += ',';
  appendKey(out, "name");
  appendJsonString(out, r.name);
  out += ',';
  appendKey(out, "title");
  appendJsonString(out, r.title);
  out += ',';
  appendKey(out, "level");
  appendJsonString(out, r.level);
  out += ',';
  appendKey(out, "file");
  appendJsonString(out, r.file);
  out += ',';
  appendKey(out, "formats");
  appendStrings(out, r.formats);
  out += ',';
  appendKey(out, "tested_formats");
  appendStrings(out, r.tested_formats);
  out += ',';
  appendKey(out, "controls");
  appendStrings(out, r.controls);
  if (cov.with_sources) {
    std::vector<std::string> names;
    for (const size_t s : r.sources) names.push_back(cov.sources[s].name);
    out += ',';
    appendKey(out, "sources");
    appendStrings(out, names);
  }
  out += '}';
}

}  // namespace

std::string coverageMarkdown(const Coverage& cov) {
  std::string out = "# Control coverage\n\n";
  out += std::to_string(cov.rules_loaded) + " rule(s) loaded from " +
         (cov.rule_paths.empty() ? std::string("(none)") : joined(cov.rule_paths)) + "; " +
         std::to_string(cov.rules.size()) + " alerting rule(s) serve a control.";
  if (cov.with_sources) {
    out += " Configuration " + cov.configuration + ": " + std::to_string(cov.sources.size()) +
           " source(s).";
  }
  out += "\n\n";

  out += cov.with_sources
             ? "| control | rule | id | level | tested formats | sources (format) |\n"
               "|---|---|---|---|---|---|\n"
             : "| control | rule | id | level | tested formats |\n|---|---|---|---|---|\n";
  for (const auto& c : cov.controls) {
    const std::string control = cell(controlName(c.control)) + " `" + cell(c.control) + "`";
    if (c.no_rule()) {
      out += "| " + control + " | **NO RULE** | | | |" + (cov.with_sources ? " |\n" : "\n");
      continue;
    }
    bool first = true;
    for (const size_t r : c.rules) {
      const auto& rule = cov.rules[r];
      out += "| " + (first ? control : std::string()) + " | " + cell(rule.title) + " | " +
             ruleRef(rule) + " | " + cell(rule.level) + " | " +
             (rule.tested_formats.empty() ? std::string("—") : cell(joined(rule.tested_formats))) +
             " |";
      if (cov.with_sources) out += " " + sourcesCell(cov, rule.sources) + " |";
      out += "\n";
      first = false;
    }
  }

  if (cov.with_sources) {
    out +=
        "\n## Sources\n\n| source | format | logsource | rules | controls |\n"
        "|---|---|---|---|---|\n";
    for (const auto& s : cov.sources) {
      std::vector<std::string> controls;
      for (const auto& c : s.controls) controls.push_back("`" + cell(c) + "`");
      out += "| " + cell(s.name) + " | " + cell(s.format) + " | " +
             (s.logsource ? cell(logsourceText(*s.logsource)) : std::string("(any)")) + " | " +
             (s.rules == 0 ? std::string("**NO RULE**") : std::to_string(s.rules)) + " | " +
             (controls.empty() ? std::string("—") : joined(controls)) + " |\n";
    }
  }

  if (!cov.rules_without_control.empty()) {
    out += "\nAlerting rules with no control tag: ";
    std::vector<std::string> titles;
    for (const auto& r : cov.rules_without_control) titles.push_back(r.title + " (" + r.file + ")");
    out += joined(titles, "; ") + ".\n";
  }

  out += "\n## Gaps\n\n";
  if (cov.gaps.empty()) out += "None.\n";
  for (const auto& g : cov.gaps) {
    const std::string who = g.kind == CoverageGap::Kind::kSourceWithoutRule
                                ? "source `" + g.subject + "`"
                                : controlName(g.subject) + " (`" + g.subject + "`)";
    out += "- " + who + ": " + g.detail + "\n";
  }
  return out;
}

std::string coverageJson(const Coverage& cov) {
  std::string out = "{";
  appendKey(out, "configuration");
  if (cov.configuration.empty()) {
    out += "null";
  } else {
    appendJsonString(out, cov.configuration);
  }
  out += ',';
  appendKey(out, "rule_paths");
  appendStrings(out, cov.rule_paths);
  out += ',';
  appendKey(out, "rules_loaded");
  out += std::to_string(cov.rules_loaded);
  out += ',';
  appendKey(out, "controls");
  out += '[';
  for (size_t i = 0; i < cov.controls.size(); ++i) {
    const auto& c = cov.controls[i];
    if (i) out += ',';
    out += '{';
    appendKey(out, "control");
    appendJsonString(out, c.control);
    out += ',';
    appendKey(out, "name");
    appendJsonString(out, controlName(c.control));
    out += ',';
    appendKey(out, "core");
    out += c.core ? "true" : "false";
    out += ',';
    appendKey(out, "rules");
    out += '[';
    for (size_t j = 0; j < c.rules.size(); ++j) {
      if (j) out += ',';
      appendRule(out, cov, cov.rules[c.rules[j]]);
    }
    out += ']';
    if (cov.with_sources) {
      std::vector<std::string> names;
      for (const size_t s : c.sources) names.push_back(cov.sources[s].name);
      out += ',';
      appendKey(out, "sources");
      appendStrings(out, names);
    }
    out += ',';
    appendKey(out, "gap");
    out += c.no_rule() || (cov.with_sources && c.sources.empty()) ? "true" : "false";
    out += '}';
  }
  out += "],";
  appendKey(out, "sources");
  out += '[';
  for (size_t i = 0; i < cov.sources.size(); ++i) {
    const auto& s = cov.sources[i];
    if (i) out += ',';
    out += '{';
    appendKey(out, "name");
    appendJsonString(out, s.name);
    out += ',';
    appendKey(out, "format");
    appendJsonString(out, s.format);
    out += ',';
    appendKey(out, "logsource");
    if (s.logsource == nullptr) {
      out += "null";
    } else {
      out += '{';
      appendKey(out, "product");
      appendJsonString(out, s.logsource->product);
      out += ',';
      appendKey(out, "service");
      appendJsonString(out, s.logsource->service);
      out += ',';
      appendKey(out, "category");
      appendJsonString(out, s.logsource->category);
      out += '}';
    }
    out += ',';
    appendKey(out, "rules");
    out += std::to_string(s.rules);
    out += ',';
    appendKey(out, "controls");
    appendStrings(out, s.controls);
    out += '}';
  }
  out += "],";
  appendKey(out, "rules_without_control");
  out += '[';
  for (size_t i = 0; i < cov.rules_without_control.size(); ++i) {
    if (i) out += ',';
    appendRule(out, cov, cov.rules_without_control[i]);
  }
  out += "],";
  appendKey(out, "gaps");
  out += '[';
  for (size_t i = 0; i < cov.gaps.size(); ++i) {
    const auto& g = cov.gaps[i];
    if (i) out += ',';
    out += '{';
    appendKey(out, "kind");
    appendJsonString(out, gapKindName(g.kind));
    out += ',';
    appendKey(out, g.kind == CoverageGap::Kind::kSourceWithoutRule ? "source" : "control");
    appendJsonString(out, g.subject);
    out += ',';
    appendKey(out, "message");
    appendJsonString(out, g.message);
    out += '}';
  }
  out += "]}";
  return out;
}

int runCoverage(const CoverageOptions& options) {
  if (options.format != "markdown" && options.format != "json") {
    std::fprintf(stderr, "trailwatch coverage: unknown --format '%s' (markdown or json)\n",
                 options.format.c_str());
    return kExitUsage;
  }
  auto report = [](const Diagnostics& diags) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
  };
  std::optional<config::Config> config;
  std::vector<std::string> rule_paths;
  if (!options.config_file.empty()) {
    config = loadConfigOrReport(options.config_file);
    if (!config) {
      std::fprintf(stderr, "trailwatch coverage: configuration %s has errors\n",
                   options.config_file.c_str());
      return kExitUsage;
    }
    rule_paths = config->rules;
  }
  rule_paths.insert(rule_paths.end(), options.rules.begin(), options.rules.end());
  if (rule_paths.empty()) {
    std::fprintf(stderr, "trailwatch coverage: no rules: give -c FILE or --rules PATH\n");
    return kExitUsage;
  }

  config::Config empty;
  LookupLoader lookups(config ? *config : empty, nullptr);
  std::vector<std::string> lookup_errors;
  Diagnostics diags;
  const bool lookups_ok = lookups.loadAll(lookup_errors);
  const RuleFiles files = listRuleFiles(rule_paths, diags);
  std::shared_ptr<const engine::RuleSet> rules;
  std::vector<engine::SkippedRule> skipped;  // unusable_rules: skip, as `run` would load them
  if (diags.empty()) {
    rules = engine::RuleSet::load(files.rules, diags, &lookups.placeholders(),
                                  config && config->skip_unusable_rules ? &skipped : nullptr);
  }
  for (const auto& s : skipped) {
    std::fprintf(stderr, "warning: %s:%d: %s left out as unusable (unusable_rules: skip)\n",
                 s.file.c_str(), s.line, s.title.empty() ? "rule" : ("'" + s.title + "'").c_str());
  }
  if (!lookups_ok || !rules || !diags.empty()) {
    for (const auto& e : lookup_errors) std::fprintf(stderr, "%s\n", e.c_str());
    report(diags);
    std::fprintf(stderr, "trailwatch coverage: %zu problem(s) found\n",
                 diags.size() + lookup_errors.size());
    return kExitUsage;
  }

  Diagnostics warnings;
  const auto tests = readRuleTests(files.tests, warnings);
  Coverage cov = computeCoverage(*rules, tests, config ? &config->sources : nullptr, warnings);
  cov.configuration = config ? config->file : std::string();
  cov.rule_paths = rule_paths;
  for (auto& w : warnings) {
    w.message = "warning: " + w.message;
    std::fprintf(stderr, "%s\n", w.str().c_str());
  }
  const std::string text =
      options.format == "json" ? coverageJson(cov) + "\n" : coverageMarkdown(cov);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace trailwatch::server
