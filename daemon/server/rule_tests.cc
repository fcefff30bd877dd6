#include "daemon/server/rule_tests.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include <simdjson.h>

#include "daemon/config/config.h"
#include "daemon/decode/registry.h"
#include "daemon/engine/rule_set.h"
#include "daemon/engine/rule_test_file.h"
#include "daemon/server/commands.h"
#include "daemon/server/lookup_loader.h"
#include "daemon/server/one_shot_scan.h"
#include "daemon/source/stream_source.h"

namespace trailwatch::server {
namespace {

namespace fs = std::filesystem;

struct Rejection {
  size_t record = 0;  // 0-based index of the record being decoded
  std::string reason, detail;
};

// Passes everything to the real decoder and notes which records it
// rejected, so a case can say which of its lines did not decode.
class RejectionRecorder final : public Decoder {
 public:
  RejectionRecorder(std::unique_ptr<Decoder> inner, std::vector<Rejection>& out)
      : inner_(std::move(inner)), out_(out) {}

  void setFields(std::span<const std::string> paths) override { inner_->setFields(paths); }
  const Event* decode(std::string_view record, DecodeError& error) override {
    ++records_;
    return note(inner_->decode(record, error), error);
  }
  const Event* next(DecodeError& error) override { return note(inner_->next(error), error); }
  const Event* flush(DecodeError& error) override { return note(inner_->flush(error), error); }

 private:
  const Event* note(const Event* event, const DecodeError& error) {
    if (event == nullptr && !error.reason.empty()) {
      out_.push_back({records_ > 0 ? records_ - 1 : 0, std::string(error.reason), error.detail});
    }
    return event;
  }

  std::unique_ptr<Decoder> inner_;
  std::vector<Rejection>& out_;
  size_t records_ = 0;
};

// Keeps every alert; written from the pipeline and the correlator's shards.
class AlertCollector final : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override {
    std::lock_guard lock(mu_);
    alerts_.emplace_back(alert_json);
    return Status::Ok();
  }
  Status flush() override { return Status::Ok(); }
  std::vector<std::string> take() {
    std::lock_guard lock(mu_);
    return std::move(alerts_);
  }

 private:
  const std::string name_ = "test";
  std::mutex mu_;
  std::vector<std::string> alerts_;  // guarded by mu_
};

// The rule an alert names: its `rule.id` and `rule.title`.
using AlertRuleKey = std::pair<std::string, std::string>;

std::optional<AlertRuleKey> ruleOfAlert(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return std::nullopt;
  std::string_view id, title;
  if (doc["rule"]["id"].get(id) != simdjson::SUCCESS ||
      doc["rule"]["title"].get(title) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return AlertRuleKey{std::string(id), std::string(title)};
}

struct CaseOutcome {
  uint64_t alerts = 0;                     // of the rule under test
  std::map<AlertRuleKey, uint64_t> fired;  // every rule that alerted, with its count
  std::vector<Rejection> rejections;       // records the decoder did not take
  size_t unreadable_alerts = 0;            // alerts without a rule block (never expected)
};

// Everything the cases of one run share.
struct TestContext {
  std::shared_ptr<const engine::RuleSet> rules;
  std::shared_ptr<const enrich::LookupSet> lookups;
  CorrelatorOptions correlation;
};

// An unlinked in-memory file holding `text`, positioned at its start, for a
// StreamSource to read exactly as `scan -` reads stdin.
Result<int> memoryFile(const std::string& text) {
  const int fd = ::memfd_create("trailwatch-test", MFD_CLOEXEC);
  if (fd < 0) return Error{std::string("memfd_create: ") + std::strerror(errno)};
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error{"writing the records to memory: " + why};
    }
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Error{"lseek: " + why};
  }
  return fd;
}

Result<CaseOutcome> runCase(const engine::RuleTestFile& file, const engine::RuleTestCase& c,
                            const engine::RuleInfo& rule, const TestContext& context) {
  auto fd = memoryFile(c.records);
  if (!fd.ok()) return Error{fd.error()};
  source::StreamSourceOptions so;
  so.name = "test";
  so.fd = *fd;
  so.owns_fd = true;
  so.label = file.path;
  auto source = std::make_unique<source::StreamSource>(std::move(so));

  CaseOutcome outcome;
  auto decoder = std::make_unique<RejectionRecorder>(
      decode::makeDecoder(c.format, {c.extra_fields}), outcome.rejections);
  AlertCollector sink;
  auto scanned = runOneShotScan(
      std::move(source), std::move(decoder),
      {context.rules, context.lookups, context.correlation, c.timestamp_field}, sink);
  if (!scanned.ok()) return Error{scanned.error()};

  simdjson::dom::parser parser;
  for (const std::string& alert : sink.take()) {
    const auto key = ruleOfAlert(parser, alert);
    if (!key) {
      ++outcome.unreadable_alerts;
      continue;
    }
    ++outcome.fired[*key];
    if (key->first == rule.id && key->second == rule.title) ++outcome.alerts;
  }
  return outcome;
}

// The rule a tests file names: by id, else name, else title.
std::optional<uint32_t> resolveRule(const engine::RuleTestFile& file, const engine::RuleSet& rules,
                                    Diagnostics& diags) {
  using Field = std::string engine::RuleInfo::*;
  for (Field field : {&engine::RuleInfo::id, &engine::RuleInfo::name, &engine::RuleInfo::title}) {
    std::vector<uint32_t> found;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (rules.rule(i).*field == file.rule) found.push_back(static_cast<uint32_t>(i));
    }
    if (found.size() == 1) return found.front();
    if (found.size() > 1) {
      std::string where;
      for (uint32_t i : found) {
        where += (where.empty() ? "" : ", ") + rules.rule(i).file + ":" +
                 std::to_string(rules.rule(i).line);
      }
      diags.push_back({file.path, file.rule_at.line, file.rule_at.column,
                       "rule '" + file.rule + "' names " + std::to_string(found.size()) +
                           " rules (" + where + "); name it by its id"});
      return std::nullopt;
    }
  }
  diags.push_back({file.path, file.rule_at.line, file.rule_at.column,
                   "rule '" + file.rule + "' not found among the " + std::to_string(rules.size()) +
                       " rules loaded (by id, name or title of a rule under the paths given)"});
  return std::nullopt;
}

// Formats and extra fields need the decoder registry, so they are checked
// here rather than by the tests-file reader.
void checkCases(const engine::RuleTestFile& file, Diagnostics& diags) {
  for (const auto& c : file.cases) {
    if (decode::makeDecoder(c.format) == nullptr) {
      diags.push_back({file.path, c.format_at.line, c.format_at.column,
                       "unknown format '" + c.format + "' (known: " + decode::formatsHelp() + ")"});
    } else if (c.has_extra_fields && !decode::takesExtraFields(c.format)) {
      diags.push_back({file.path, c.extra_fields_at.line, c.extra_fields_at.column,
                       "extra_fields is for the access-log format (and syslog+access-log), "
                       "not '" +
                           c.format + "'"});
    }
  }
}

std::string ruleLabel(const AlertRuleKey& key) {
  return (key.first.empty() ? "" : key.first + " ") + "\"" + key.second + "\"";
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Runs every case of `file`; prints its result line and its failures.
// Returns false when a case failed.
bool runFile(const engine::RuleTestFile& file, const engine::RuleInfo& rule,
             const TestContext& context) {
  std::vector<std::string> failures;
  for (const auto& c : file.cases) {
    const std::string head = "  case '" + c.name + "': ";
    auto outcome = runCase(file, c, rule, context);
    if (!outcome.ok()) {
      failures.push_back(head + "could not run: " + outcome.error());
      continue;
    }
    for (const auto& r : outcome->rejections) {
      std::string where = "record " + std::to_string(r.record + 1);
      if (c.first_record_line > 0) {
        where += " (line " + std::to_string(c.first_record_line + r.record) + ")";
      }
      failures.push_back(head + where + " rejected by the " + c.format + " decoder: " + r.reason +
                         (r.detail.empty() ? "" : " (" + r.detail + ")"));
    }
    if (outcome->alerts != c.alerts) {
      failures.push_back(head + "expected " + std::to_string(c.alerts) + " alert(s) of " +
                         file.rule + ", got " + std::to_string(outcome->alerts));
      if (outcome->fired.empty()) failures.push_back("    fired: nothing");
      for (const auto& [key, count] : outcome->fired) {
        failures.push_back("    fired: " + ruleLabel(key) + " x" + std::to_string(count));
      }
      if (c.alerts > 0 && !rule.alerts) {
        failures.push_back(
            "    (the rule only feeds correlations: it alerts through them, not on its own)");
      }
    }
    if (outcome->unreadable_alerts > 0) {
      failures.push_back(head + std::to_string(outcome->unreadable_alerts) +
                         " alert(s) without a rule block");
    }
  }
  if (failures.empty()) {
    std::printf("%s: %s, OK\n", file.path.c_str(),
                plural(file.cases.size(), "case", "cases").c_str());
    return true;
  }
  std::printf("%s: FAILED\n", file.path.c_str());
  for (const auto& line : failures) std::printf("%s\n", line.c_str());
  return false;
}

// Where the rules and the tests files of the PATH arguments are.
struct Inputs {
  std::vector<std::string> rule_paths;
  std::vector<std::string> tests_files;  // sorted, no duplicates
};

bool collectInputs(const std::vector<std::string>& paths, Inputs& out) {
  std::set<std::string> tests;
  for (const auto& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      std::fprintf(stderr, "trailwatch test: %s: no such file or directory\n", path.c_str());
      return false;
    }
    if (fs::is_directory(status)) {
      out.rule_paths.push_back(path);
      auto folder = engine::listRuleFolder(path);
      if (!folder.ok()) {
        std::fprintf(stderr, "trailwatch test: %s: %s\n", path.c_str(), folder.error().c_str());
        return false;
      }
      for (const auto& t : folder->tests) tests.insert(fs::path(t).lexically_normal().string());
    } else if (engine::isRuleTestFile(path)) {
      tests.insert(fs::path(path).lexically_normal().string());
      if (auto rule = engine::ruleFileOfTests(path)) out.rule_paths.push_back(*rule);
    } else {
      out.rule_paths.push_back(path);
      if (auto t = engine::testsFileOfRule(path)) {
        tests.insert(fs::path(*t).lexically_normal().string());
      }
    }
  }
  out.tests_files.assign(tests.begin(), tests.end());
  return true;
}

}  // namespace

int runRuleTests(const RuleTestOptions& options) {
  config::Config config;
  if (!options.config_file.empty()) {
    auto loaded = loadConfigOrReport(options.config_file);
    if (!loaded) return kExitUsage;
    config = std::move(*loaded);
  }
  LookupLoader lookups(config, nullptr);
  if (std::vector<std::string> errors; !lookups.loadAll(errors)) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return kExitUsage;
  }
  const bool no_config = options.config_file.empty();
  const char* kNoConfigNote = "no -c FILE given: no lookup tables or placeholder lists were loaded";

  Inputs inputs;
  if (!collectInputs(options.paths, inputs)) return kExitUsage;
  Diagnostics rule_diags;
  auto rules = engine::RuleSet::load(inputs.rule_paths, rule_diags, &lookups.placeholders());
  if (!rules || !rule_diags.empty()) {
    for (const auto& d : rule_diags) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::fprintf(stderr, "trailwatch test: the rules do not load%s%s\n", no_config ? "; " : "",
                 no_config ? kNoConfigNote : "");
    return kExitUsage;
  }
  // One shard: a case is a handful of records, and the figures are the same.
  const TestContext context{rules, lookups.lookupSet(), correlatorOptions(config.correlation, 1)};

  size_t cases = 0, failed_files = 0, broken_files = 0;
  std::set<uint32_t> tested;         // rules some tests file names
  std::set<std::string> unreadable;  // tests files with errors
  for (const auto& path : inputs.tests_files) {
    Diagnostics diags;
    auto file = engine::readRuleTestFile(path, diags);
    std::optional<uint32_t> rule;
    if (file) {
      rule = resolveRule(*file, *rules, diags);
      checkCases(*file, diags);
    }
    if (!diags.empty()) {
      for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
      std::printf("%s: FAILED (%s in the tests file)\n", path.c_str(),
                  plural(diags.size(), "error", "errors").c_str());
      unreadable.insert(path);
      ++broken_files;
      continue;
    }
    tested.insert(*rule);
    cases += file->cases.size();
    if (!runFile(*file, rules->rule(*rule), context)) ++failed_files;
    std::fflush(stdout);
  }

  size_t untested = 0;
  for (size_t i = 0; i < rules->size(); ++i) {
    const auto& info = rules->rule(i);
    // Rules that only feed correlations are tested through them.
    if (!info.alerts || tested.count(static_cast<uint32_t>(i)) > 0) continue;
    const auto beside = engine::testsFileOfRule(info.file);
    if (beside && unreadable.count(fs::path(*beside).lexically_normal().string()) > 0) continue;
    ++untested;
    const std::string hint =
        beside ? "no tests file names it"
               : "write them in " + fs::path(info.file).stem().string() + ".tests.yml beside it";
    std::fprintf(stderr, "%s:%d: %s: rule %s has no tests (%s)\n", info.file.c_str(), info.line,
                 options.require_tests ? "error" : "warning",
                 ruleLabel({info.id, info.title}).c_str(), hint.c_str());
  }

  std::string summary =
      "trailwatch test: " + plural(inputs.tests_files.size(), "tests file", "tests files") + ", " +
      plural(cases, "case", "cases");
  if (failed_files == 0 && broken_files == 0) {
    summary += ", all passed";
  } else {
    if (failed_files > 0) summary += ", " + plural(failed_files, "file", "files") + " FAILED";
    if (broken_files > 0) {
      summary += ", " + plural(broken_files, "file", "files") + " with errors";
    }
  }
  if (untested > 0) summary += ", " + plural(untested, "rule", "rules") + " without tests";
  std::printf("%s\n", summary.c_str());
  if (failed_files > 0 && no_config) std::printf("note: %s\n", kNoConfigNote);

  if (broken_files > 0) return kExitUsage;
  if (failed_files > 0 || (options.require_tests && untested > 0)) return kExitFailure;
  return kExitOk;
}

}  // namespace trailwatch::server
