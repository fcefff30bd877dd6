#include "daemon/engine/rule_test_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace trailwatch::engine {
namespace {

// Tests files are small; anything this big is the wrong file.
constexpr std::uintmax_t kMaxTestsFileBytes = 16u << 20;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

TextPosition positionOf(const YAML::Mark& mark) {
  return {mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0};
}

// Counts the documents of the text without building nodes, for the "one
// document" rule. It handles at most two, so malformed input on which
// yaml-cpp 0.7 would not advance (jbeder/yaml-cpp#1040, see
// rule_compiler.cc) cannot keep it looping.
class SecondDocument : public YAML::EventHandler {
 public:
  // The start of a second document that holds something, if there is one.
  static std::optional<YAML::Mark> find(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    SecondDocument handler;
    for (int i = 0; i < 2 && parser.HandleNextDocument(handler); ++i) {
    }
    if (handler.documents_ >= 2 && handler.content_) return handler.second_;
    return std::nullopt;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { seen(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    seen();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    seen();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    seen();
  }
  void OnMapEnd() override {}

 private:
  void seen() {
    if (documents_ >= 2) content_ = true;
  }
  int documents_ = 0;
  bool content_ = false;
  YAML::Mark second_;
};

class Reader {
 public:
  Reader(std::string_view text, const std::string& path, Diagnostics& diags)
      : text_(text), path_(path), diags_(diags) {}

  bool failed() const { return failed_; }

  void report(const YAML::Node& at, std::string message) {
    report(positionOf(at.Mark()), std::move(message));
  }
  void report(TextPosition at, std::string message) {
    diags_.push_back(Diagnostic{path_, at.line, at.column, std::move(message)});
    failed_ = true;
  }

  void readFile(const YAML::Node& root, RuleTestFile& out) {
    if (root.IsNull()) {
      report(TextPosition{}, "empty tests file: expected `rule:` and `cases:`");
      return;
    }
    if (!root.IsMap()) {
      report(root, "a tests file is a map with `rule:` and `cases:`");
      return;
    }
    // Nodes are handles: the iteration's pairs are temporaries, so copy them.
    std::optional<YAML::Node> rule, cases;
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "rule" && !rule) {
        rule = kv.second;
      } else if (key == "cases" && !cases) {
        cases = kv.second;
      } else if (key == "rule" || key == "cases") {
        report(kv.first, "duplicate key '" + key + "'");
      } else {
        report(kv.first, "unknown key '" + key + "' (a tests file has `rule:` and `cases:`)");
      }
    }
    if (!rule) {
      report(root, "missing key 'rule' (the id, name or title of the rule under test)");
    } else if (!rule->IsScalar() || rule->Scalar().empty()) {
      report(*rule, "'rule' must be the id, name or title of the rule under test");
    } else {
      out.rule = rule->Scalar();
      out.rule_at = positionOf(rule->Mark());
    }
    if (!cases) {
      report(root, "missing key 'cases' (a list of test cases)");
      return;
    }
    if (!cases->IsSequence() || cases->size() == 0) {
      report(*cases, "'cases' must be a non-empty list of test cases");
      return;
    }
    for (const auto& node : *cases) {
      RuleTestCase c;
      if (readCase(node, c)) {
        const auto same = std::find_if(out.cases.begin(), out.cases.end(),
                                       [&](const RuleTestCase& o) { return o.name == c.name; });
        if (same != out.cases.end()) {
          report(c.at, "duplicate case name '" + c.name + "' (first at line " +
                           std::to_string(same->at.line) + ")");
          continue;
        }
        out.cases.push_back(std::move(c));
      }
    }
  }

 private:
  // A required or optional non-empty string value.
  bool text(const YAML::Node& value, const std::string& key, std::string& out) {
    if (!value.IsScalar() || value.Scalar().empty()) {
      report(value, "'" + key + "' must be a non-empty string");
      return false;
    }
    out = value.Scalar();
    return true;
  }

  bool readCase(const YAML::Node& node, RuleTestCase& c) {
    if (!node.IsMap()) {
      report(node, "a case is a map with `name:`, `alerts:`, `records:` (and `format:`)");
      return false;
    }
    const size_t before = diags_.size();
    bool has_name = false, has_alerts = false, has_records = false;
    std::vector<std::string> seen;
    c.format_at = positionOf(node.Mark());
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        report(kv.first, "duplicate key '" + key + "'");
        continue;
      }
      seen.push_back(key);
      const YAML::Node& value = kv.second;
      if (key == "name") {
        has_name = text(value, key, c.name);
        c.at = positionOf(value.Mark());
      } else if (key == "format") {
        text(value, key, c.format);
        c.format_at = positionOf(value.Mark());
      } else if (key == "alerts") {
        has_alerts = true;
        const std::string s = value.IsScalar() ? value.Scalar() : "";
        if (s.empty() || s.size() > 9 ||
            !std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
          report(value, "'alerts' must be a whole number (0 for a case that must not alert)");
        } else {
          c.alerts = std::stoull(s);
        }
      } else if (key == "records") {
        has_records = true;
        readRecords(value, c);
      } else if (key == "extra_fields") {
        c.has_extra_fields = true;
        c.extra_fields_at = positionOf(value.Mark());
        if (!value.IsSequence()) {
          report(value, "'extra_fields' must be a list of field names");
        } else {
          for (const auto& item : value) {
            std::string name;
            if (text(item, "extra_fields", name)) c.extra_fields.push_back(std::move(name));
          }
        }
      } else if (key == "timestamp_field") {
        text(value, key, c.timestamp_field);
      } else {
        report(kv.first, "unknown key '" + key +
                             "' in a case (expected name, format, alerts, records, "
                             "extra_fields, timestamp_field)");
      }
    }
    if (!has_name) report(node, "missing key 'name' in a case");
    if (!has_alerts) {
      report(node, "missing key 'alerts' in a case (how many alerts the records must raise)");
    }
    if (!has_records) report(node, "missing key 'records' in a case (the log lines)");
    return diags_.size() == before;
  }

  void readRecords(const YAML::Node& value, RuleTestCase& c) {
    if (!value.IsScalar() || std::all_of(value.Scalar().begin(), value.Scalar().end(),
                                         [](unsigned char ch) { return std::isspace(ch); })) {
      report(value, "'records' must be the log lines, one record per line (a `|` block)");
      return;
    }
    c.records = value.Scalar();
    // A literal block keeps one record per line, starting on the line after
    // its `|` indicator; other styles fold or escape lines.
    const YAML::Mark mark = value.Mark();
    if (mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size() && text_[mark.pos] == '|') {
      c.first_record_line = mark.line + 2;
    }
  }

  std::string_view text_;
  const std::string& path_;
  Diagnostics& diags_;
  bool failed_ = false;
};

}  // namespace

bool isRuleTestFile(std::string_view path) {
  return endsWith(path, ".tests.yml") || endsWith(path, ".tests.yaml");
}

Result<RuleFolder> listRuleFolder(const std::string& folder) {
  namespace fs = std::filesystem;
  RuleFolder out;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    const std::string ext = it->path().extension().string();
    if ((ext != ".yml" && ext != ".yaml") || !it->is_regular_file(ec)) continue;
    (isRuleTestFile(name) ? out.tests : out.rules).push_back(it->path().string());
  }
  if (ec) return Error{"cannot list folder: " + ec.message()};
  std::sort(out.rules.begin(), out.rules.end());
  std::sort(out.tests.begin(), out.tests.end());
  return out;
}

std::optional<std::string> ruleFileOfTests(const std::string& tests_path) {
  if (!isRuleTestFile(tests_path)) return std::nullopt;
  const std::string stem =
      tests_path.substr(0, tests_path.size() - (endsWith(tests_path, ".yml") ? 10 : 11));
  std::error_code ec;
  for (const char* ext : {".yml", ".yaml"}) {
    if (std::filesystem::is_regular_file(stem + ext, ec)) return stem + ext;
  }
  return std::nullopt;
}

std::optional<std::string> testsFileOfRule(const std::string& rule_path) {
  const std::filesystem::path p(rule_path);
  const std::string ext = p.extension().string();
  if ((ext != ".yml" && ext != ".yaml") || isRuleTestFile(rule_path)) return std::nullopt;
  const std::string stem = rule_path.substr(0, rule_path.size() - ext.size());
  std::error_code ec;
  for (const char* suffix : {".tests.yml", ".tests.yaml"}) {
    if (std::filesystem::is_regular_file(stem + suffix, ec)) return stem + suffix;
  }
  return std::nullopt;
}

std::optional<RuleTestFile> readRuleTestFile(const std::string& path, Diagnostics& diags) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxTestsFileBytes) {
    diags.push_back({path, 0, 0, "file is larger than 16 MiB; not a tests file?"});
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.push_back({path, 0, 0, std::string("cannot open: ") + std::strerror(errno)});
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    diags.push_back({path, 0, 0, "read error"});
    return std::nullopt;
  }
  return parseRuleTestFile(text.str(), path, diags);
}

std::optional<RuleTestFile> parseRuleTestFile(std::string_view yaml, const std::string& path,
                                              Diagnostics& diags) {
  const std::string text(yaml);
  Reader reader(text, path, diags);
  RuleTestFile out;
  out.path = path;
  try {
    const YAML::Node root = YAML::Load(text);
    if (const auto second = SecondDocument::find(text)) {
      reader.report(positionOf(*second),
                    "a tests file holds one YAML document; put every case under `cases:`");
    }
    reader.readFile(root, out);
  } catch (const YAML::Exception& e) {
    // e.msg is the message without yaml-cpp's own "line x, column y:" prefix.
    reader.report(positionOf(e.mark), "YAML syntax error: " + e.msg);
  }
  if (reader.failed()) return std::nullopt;
  return out;
}

}  // namespace trailwatch::engine
