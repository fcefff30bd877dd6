#include "daemon/engine/rule_compiler.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "daemon/common/ascii.h"
#include "daemon/engine/rule_test_file.h"

namespace trailwatch::engine {
namespace {

// A rule file larger than this is not a hand-written rule; refusing it keeps
// a mistaken path (a log file) from being read into memory.
constexpr std::uintmax_t kMaxRuleFileBytes = 16u << 20;
// YAML aliases can multiply a small file into a huge detection; real rules
// stay far below this.
constexpr size_t kMaxValuesPerRule = 100000;

constexpr std::string_view kStatuses[] = {"stable", "test", "experimental", "deprecated",
                                          "unsupported"};
constexpr std::string_view kLevels[] = {"informational", "low", "medium", "high", "critical"};

using ascii::lowered;

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!ascii::isHexDigit(s[i])) {
      return false;
    }
  }
  return true;
}

// yaml-cpp tags a plain (unquoted, untagged) scalar "?"; only those may be
// read as YAML 1.2 core-schema booleans and numbers, so '1' stays a string.
bool isPlain(const YAML::Node& node) { return node.Tag() == "?"; }

std::optional<bool> plainBool(const YAML::Node& node) {
  if (!node.IsScalar() || !isPlain(node)) return std::nullopt;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<double> plainNumber(const YAML::Node& node) {
  if (!node.IsScalar() || !isPlain(node)) return std::nullopt;
  return parseDecimal(node.Scalar());
}

// yaml-cpp 0.7's LoadAll() loops forever, allocating, on some malformed
// input (a stray ',' at the top level: jbeder/yaml-cpp#1040, fixed upstream
// by #1319 after 0.8). This pass runs the same parser without building nodes
// and stops when a document does not advance through the input, which every
// well-formed document does. Returns the mark where it got stuck, if it did.
class ProgressCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  static std::optional<YAML::Mark> findStall(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    ProgressCheck check;
    int previous = -1;
    for (size_t docs = 0; parser.HandleNextDocument(check); ++docs) {
      if (check.start_.pos <= previous || docs > text.size()) return check.start_;
      previous = check.start_.pos;
    }
    return std::nullopt;
  }

 private:
  YAML::Mark start_;
};

}  // namespace

struct RuleCompiler::Document {
  const std::string& file;
  size_t values = 0;
  bool failed = false;
};

struct RuleCompiler::PendingCorrelation {
  struct Ref {
    std::string text;
    int line = 0, column = 0;  // 1-based
  };
  std::string file;
  uint32_t rule_index = 0;
  Ref at;  // the `correlation:` key
  Correlation c;
  std::vector<Ref> rules;
  std::vector<Ref> group_by;
  Ref field;  // value_* types; text empty when absent
  // alias name -> (rule name -> field in that rule's events)
  std::map<std::string, std::map<std::string, std::string>> aliases;
};

RuleCompiler::RuleCompiler(Diagnostics& diags, const Placeholders* placeholders)
    : diags_(diags), first_diag_(diags.size()), placeholders_(placeholders) {}
RuleCompiler::~RuleCompiler() = default;

namespace {

// "an event_count", "a value_count": for messages.
std::string withArticle(std::string_view type) {
  const bool vowel =
      !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
  return std::string(vowel ? "an " : "a ") + std::string(type);
}

// `10s`, `5m`, `2h`, `1d` as the correlation specification writes them.
std::optional<int64_t> parseTimespan(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  constexpr int64_t kMaxSeconds = 3650L * 86400;  // ten years is no window
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
    if (n > kMaxSeconds) return std::nullopt;
  }
  if (n == 0 || n > kMaxSeconds / unit) return std::nullopt;
  return n * unit * 1'000'000'000;
}

}  // namespace

struct RuleCompiler::Modifiers {
  SigmaPattern::Anchor anchor = SigmaPattern::Anchor::kWhole;
  std::string_view anchor_name;
  bool all = false;
  bool cased = false;
  bool re = false;
  std::string re_flags;
  bool cidr = false;
  bool exists = false;
  bool fieldref = false;
  bool expand = false;
  std::optional<ValueTest::Compare> compare;
  std::string_view compare_name;
};

void RuleCompiler::report(const std::string& file, int line, int column, std::string message) {
  diags_.push_back(Diagnostic{file, line, column, std::move(message)});
}

void RuleCompiler::report(const std::string& file, const YAML::Node& at, std::string message) {
  const YAML::Mark mark = at.Mark();
  report(file, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0,
         std::move(message));
}

FieldId RuleCompiler::internField(const std::string& path) {
  auto [it, inserted] = field_ids_.emplace(path, static_cast<FieldId>(field_paths_.size()));
  if (inserted) field_paths_.push_back(path);
  return it->second;
}

void RuleCompiler::addPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    report(path, 0, 0, "no such file or directory");
    return;
  }
  if (!fs::is_directory(status)) {
    if (isRuleTestFile(path)) {
      report(path, 0, 0, "a rule tests file, not a rule file (run it with `trailwatch test`)");
      return;
    }
    addFile(path);
    return;
  }
  auto folder = listRuleFolder(path);
  if (!folder.ok()) {
    report(path, 0, 0, folder.error());
    return;
  }
  if (folder->rules.empty()) {
    report(path, 0, 0, "no *.yml or *.yaml rule files found");
    return;
  }
  for (const auto& file : folder->rules) addFile(file);
}

void RuleCompiler::addFile(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  documents_[path];  // a rule file, even if it cannot be read
  if (!ec && size > kMaxRuleFileBytes) {
    report(path, 0, 0, "file is larger than 16 MiB; not a rule file?");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    report(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    report(path, 0, 0, "read error");
    return;
  }
  addText(text.str(), path);
}

void RuleCompiler::exclude(std::set<std::pair<std::string, int>> documents,
                           std::set<std::string> files) {
  excluded_documents_ = std::move(documents);
  excluded_files_ = std::move(files);
}

std::optional<RuleCompiler::DocumentRef> RuleCompiler::documentAt(const std::string& file,
                                                                  int line) const {
  auto it = documents_.find(file);
  if (it == documents_.end()) return std::nullopt;
  const DocumentRef* found = nullptr;
  for (const auto& d : it->second) {
    if (d.line <= line) found = &d;
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

void RuleCompiler::addText(std::string_view yaml, const std::string& file) {
  if (excluded_files_.count(file) != 0) return;
  documents_[file];  // read, even if it holds no document
  std::vector<YAML::Node> docs;
  try {
    const std::string text(yaml);
    if (const auto stall = ProgressCheck::findStall(text)) {
      report(file, stall->line + 1, stall->column + 1, "YAML syntax error: unexpected content");
      return;
    }
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // e.msg is the message without yaml-cpp's own "line x, column y:" prefix.
    report(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0,
           "YAML syntax error: " + e.msg);
    return;
  }
  for (const YAML::Node& doc : docs) {
    try {
      if (!doc.IsNull()) {
        DocumentRef ref{doc.Mark().line + 1, {}};
        if (doc.IsMap() && doc["title"] && doc["title"].IsScalar())
          ref.title = doc["title"].Scalar();
        documents_[file].push_back(ref);
        if (excluded_documents_.count({file, ref.line}) != 0) continue;
      }
      compileDocument(doc, file);
    } catch (const YAML::Exception& e) {
      report(file, e.mark.line >= 0 ? e.mark.line + 1 : 0,
             e.mark.column >= 0 ? e.mark.column + 1 : 0, "cannot read rule: " + e.msg);
    }
  }
}

std::shared_ptr<const RuleSet> RuleCompiler::build() {
  if (diags_.size() != first_diag_) return nullptr;
  resolveCorrelations();
  if (diags_.size() != first_diag_) return nullptr;
  return std::make_shared<const RuleSet>(std::move(infos_), std::move(detections_),
                                         std::move(field_paths_), std::move(correlations_));
}

void RuleCompiler::compileDocument(const YAML::Node& root, const std::string& file) {
  if (root.IsNull()) return;  // an empty document, e.g. after a trailing `---`
  if (!root.IsMap()) {
    report(file, root,
           "a rule must be a YAML map of attributes (title, logsource, detection, ...)");
    return;
  }
  Document doc{file};
  auto fail = [&](const YAML::Node& at, std::string message) {
    report(file, at, std::move(message));
    doc.failed = true;
  };

  // Keys first: Sigma's own attributes are checked; others (custom
  // attributes, which the spec allows) are ignored.
  std::vector<std::pair<std::string, std::pair<YAML::Node, YAML::Node>>> attrs;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) {
      fail(kv.first, "attribute names must be plain strings");
      continue;
    }
    const std::string& name = kv.first.Scalar();
    if (std::any_of(attrs.begin(), attrs.end(), [&](const auto& a) { return a.first == name; })) {
      fail(kv.first, "duplicate attribute '" + name + "'");
      continue;
    }
    attrs.emplace_back(name, std::make_pair(kv.first, kv.second));
  }
  auto find = [&](std::string_view name) -> const std::pair<YAML::Node, YAML::Node>* {
    for (const auto& a : attrs) {
      if (a.first == name) return &a.second;
    }
    return nullptr;
  };

  if (const auto* action = find("action")) {
    const std::string what = action->second.IsScalar() ? action->second.Scalar() : "...";
    fail(action->second, "'action: " + what +
                             "' documents (Sigma v1 rule collections) are not supported; write "
                             "each rule in full");
    return;
  }

  RuleInfo info;
  info.file = file;
  info.line = root.Mark().line + 1;
  info.pack = std::filesystem::path(file).parent_path().filename().string();

  auto scalar = [&](const char* name, std::string& out) -> bool {
    const auto* attr = find(name);
    if (attr == nullptr) return false;
    if (!attr->second.IsScalar()) {
      fail(attr->second, std::string("'") + name + "' must be a string");
      return false;
    }
    out = attr->second.Scalar();
    return true;
  };
  auto stringList = [&](const char* name, std::vector<std::string>& out) {
    const auto* attr = find(name);
    if (attr == nullptr || attr->second.IsNull()) return;
    const YAML::Node& value = attr->second;
    if (value.IsScalar()) {
      out.push_back(value.Scalar());
      return;
    }
    if (!value.IsSequence()) {
      fail(value, std::string("'") + name + "' must be a list of strings");
      return;
    }
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        fail(item, std::string("'") + name + "' must be a list of strings");
        continue;
      }
      out.push_back(item.Scalar());
    }
  };

  if (const auto* title = find("title")) {
    if (!title->second.IsScalar() || title->second.Scalar().empty()) {
      fail(title->second, "'title' must be a non-empty string");
    } else {
      info.title = title->second.Scalar();
    }
  } else {
    fail(root, "missing required attribute 'title'");
  }

  if (scalar("id", info.id)) {
    if (!isUuid(info.id)) {
      fail(find("id")->second,
           "'id' must be a UUID such as 929a690e-bef0-4204-a928-ef5e620d6fcc, "
           "not '" +
               info.id + "'");
    }
  }

  if (scalar("status", info.status)) {
    info.status = lowered(info.status);
    if (std::find(std::begin(kStatuses), std::end(kStatuses), info.status) == std::end(kStatuses)) {
      fail(find("status")->second, "unknown status '" + find("status")->second.Scalar() +
                                       "' (expected stable, test, experimental, deprecated or "
                                       "unsupported)");
    }
  }
  // Sigma makes level optional; an unlabelled rule is treated as medium.
  if (scalar("level", info.level)) {
    info.level = lowered(info.level);
    if (std::find(std::begin(kLevels), std::end(kLevels), info.level) == std::end(kLevels)) {
      fail(find("level")->second, "unknown level '" + find("level")->second.Scalar() +
                                      "' (expected informational, low, medium, high or critical)");
    }
  } else {
    info.level = "medium";
  }
  scalar("description", info.description);

  stringList("tags", info.tags);
  for (auto& tag : info.tags) {
    tag = lowered(tag);
    if (tag.starts_with("soc2.") || tag.starts_with("hipaa.")) info.controls.push_back(tag);
  }
  stringList("falsepositives", info.falsepositives);
  stringList("fields", info.fields);
  scalar("name", info.name);
  if (const auto* sup = find("suppress")) {
    Suppression suppression;
    if (compileSuppress(sup->second, doc, suppression)) info.suppress = std::move(suppression);
  }

  if (const auto* corr = find("correlation")) {
    if (find("detection") != nullptr) {
      fail(corr->first, "a rule has either 'detection' or 'correlation', not both");
    }
    if (info.suppress) {
      fail(find("suppress")->first,
           "'suppress' applies to detection rules; a correlation alerts once per window and "
           "then starts counting again");
    }
    PendingCorrelation pending;
    pending.file = file;
    pending.at = {"correlation", corr->first.Mark().line + 1, corr->first.Mark().column + 1};
    if (!compileCorrelation(corr->second, doc, pending)) doc.failed = true;
    if (doc.failed) return;
    if (!info.id.empty()) {
      const std::string here = file + ":" + std::to_string(find("id")->second.Mark().line + 1);
      auto [it, inserted] = id_locations_.emplace(info.id, here);
      if (!inserted) {
        report(file, find("id")->second,
               "duplicate rule id " + info.id + " (first used at " + it->second + ")");
        return;
      }
    }
    for (const auto& field : info.fields) info.field_ids.push_back(internField(field));
    pending.rule_index = static_cast<uint32_t>(infos_.size());
    infos_.push_back(std::move(info));
    detections_.emplace_back();  // never evaluated: rulesFor() skips correlations
    pending_.push_back(std::move(pending));
    return;
  }

  if (const auto* ls = find("logsource")) {
    if (!ls->second.IsMap()) {
      fail(ls->second, "'logsource' must be a map (product, service, category)");
    } else {
      for (const auto& kv : ls->second) {
        if (!kv.first.IsScalar()) continue;
        const std::string& key = kv.first.Scalar();
        std::string* slot = key == "product"    ? &info.logsource.product
                            : key == "service"  ? &info.logsource.service
                            : key == "category" ? &info.logsource.category
                                                : nullptr;
        if (slot == nullptr) continue;  // definition and custom keys do not select sources
        if (!kv.second.IsScalar()) {
          fail(kv.second, "'logsource." + key + "' must be a string");
          continue;
        }
        *slot = lowered(kv.second.Scalar());
      }
    }
  } else {
    fail(root, "missing required attribute 'logsource'");
  }

  Detection detection;
  if (const auto* det = find("detection")) {
    if (!compileDetection(det->second, doc, detection)) doc.failed = true;
  } else {
    fail(root, "missing required attribute 'detection'");
  }

  if (doc.failed) return;

  if (!info.id.empty()) {
    const std::string here = file + ":" + std::to_string(find("id")->second.Mark().line + 1);
    auto [it, inserted] = id_locations_.emplace(info.id, here);
    if (!inserted) {
      report(file, find("id")->second,
             "duplicate rule id " + info.id + " (first used at " + it->second + ")");
      return;
    }
  }
  for (const auto& field : info.fields) info.field_ids.push_back(internField(field));
  infos_.push_back(std::move(info));
  detections_.push_back(std::move(detection));
}

bool RuleCompiler::compileDetection(const YAML::Node& node, Document& doc, Detection& out) {
  if (!node.IsMap()) {
    report(doc.file, node, "'detection' must be a map of search identifiers and a condition");
    return false;
  }
  bool ok = true;
  std::vector<std::string> names;
  std::optional<YAML::Node> condition;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      report(doc.file, kv.first, "search identifiers must be plain strings");
      ok = false;
      continue;
    }
    const std::string& name = kv.first.Scalar();
    if (name == "condition") {
      condition = kv.second;
      continue;
    }
    if (name == "timeframe") {
      report(doc.file, kv.first,
             "'timeframe' belongs to Sigma v1 aggregations, which are not supported; write a "
             "correlation rule instead");
      ok = false;
      continue;
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      report(doc.file, kv.first, "duplicate search identifier '" + name + "'");
      ok = false;
      continue;
    }
    names.push_back(name);
    Search search;
    if (!compileSearch(kv.second, doc, search)) {
      ok = false;
      if (doc.values > kMaxValuesPerRule) return false;
    }
    out.searches.push_back(std::move(search));
  }
  if (names.empty()) {
    report(doc.file, node, "'detection' has no search identifiers");
    return false;
  }
  if (!condition) {
    report(doc.file, node, "'detection' has no 'condition'");
    return false;
  }

  // A list of conditions means any of them (Sigma: "condition: [a, b]").
  std::vector<YAML::Node> texts;
  if (condition->IsScalar()) {
    texts.push_back(*condition);
  } else if (condition->IsSequence() && condition->size() > 0) {
    for (const auto& item : *condition) texts.push_back(item);
  } else {
    report(doc.file, *condition, "'condition' must be a string or a list of strings");
    return false;
  }
  std::vector<uint32_t> roots;
  for (const auto& text : texts) {
    if (!text.IsScalar()) {
      report(doc.file, text, "'condition' must be a string or a list of strings");
      ok = false;
      continue;
    }
    auto root = out.condition.parse(text.Scalar(), names);
    if (!root) {
      report(doc.file, text, root.error());
      ok = false;
      continue;
    }
    roots.push_back(*root);
  }
  if (!ok) return false;
  out.condition.setRoot(roots.size() == 1 ? roots.front()
                                          : out.condition.addNode(ConditionNode::Op::kOr, roots));
  return true;
}

bool RuleCompiler::compileSearch(const YAML::Node& value, Document& doc, Search& out) {
  if (value.IsMap()) {
    out.alternatives.emplace_back();
    return compileMap(value, doc, out.alternatives.back());
  }
  if (value.IsScalar()) {
    out.alternatives.emplace_back(1);
    return compileKeywords(value, doc, out.alternatives.back().front());
  }
  if (!value.IsSequence() || value.size() == 0) {
    report(doc.file, value,
           "a search identifier needs a map of fields, a list of maps or a list of keywords");
    return false;
  }
  const bool maps = value[0].IsMap();
  for (const auto& item : value) {
    if (item.IsMap() != maps) {
      report(doc.file, item, "a search identifier's list must hold only maps or only keywords");
      return false;
    }
  }
  if (!maps) {
    out.alternatives.emplace_back(1);
    return compileKeywords(value, doc, out.alternatives.back().front());
  }
  bool ok = true;
  for (const auto& item : value) {
    out.alternatives.emplace_back();
    ok = compileMap(item, doc, out.alternatives.back()) && ok;
    if (doc.values > kMaxValuesPerRule) return false;
  }
  return ok;
}

bool RuleCompiler::compileMap(const YAML::Node& map, Document& doc, std::vector<FieldTest>& out) {
  if (map.size() == 0) {
    report(doc.file, map, "an empty map matches every event; give at least one field");
    return false;
  }
  bool ok = true;
  for (const auto& kv : map) {
    FieldTest test;
    if (!compileFieldTest(kv.first, kv.second, doc, test)) {
      ok = false;
      if (doc.values > kMaxValuesPerRule) return false;
      continue;
    }
    out.push_back(std::move(test));
  }
  return ok;
}

bool RuleCompiler::compileKeywords(const YAML::Node& value, Document& doc, FieldTest& out) {
  out.raw = true;
  Modifiers mods;
  mods.anchor = SigmaPattern::Anchor::kContains;
  bool ok = true;
  auto add = [&](const YAML::Node& item) {
    if (!item.IsScalar()) {
      report(doc.file, item, "a keyword must be a string");
      ok = false;
      return;
    }
    ValueTest test;
    test.kind = ValueTest::Kind::kString;
    test.pattern = SigmaPattern::compile(item.Scalar(), mods.anchor, false);
    out.values.push_back(std::move(test));
    ++doc.values;
  };
  if (value.IsSequence()) {
    for (const auto& item : value) add(item);
  } else {
    add(value);
  }
  if (doc.values > kMaxValuesPerRule) {
    report(doc.file, value, "rule has more than 100000 values");
    return false;
  }
  return ok;
}

bool RuleCompiler::parseModifiers(const YAML::Node& key, std::string_view spec, Document& doc,
                                  Modifiers& out) {
  auto fail = [&](std::string message) {
    report(doc.file, key, std::move(message));
    return false;
  };
  std::vector<std::string_view> kinds;  // the modifiers that decide how a value is compared
  size_t start = 0;
  while (start <= spec.size()) {
    size_t bar = spec.find('|', start);
    if (bar == std::string_view::npos) bar = spec.size();
    const std::string_view m = spec.substr(start, bar - start);
    start = bar + 1;
    if (m == "contains" || m == "startswith" || m == "endswith") {
      if (!out.anchor_name.empty()) {
        return fail("modifiers '" + std::string(out.anchor_name) + "' and '" + std::string(m) +
                    "' cannot be combined");
      }
      out.anchor_name = m;
      out.anchor = m == "contains"     ? SigmaPattern::Anchor::kContains
                   : m == "startswith" ? SigmaPattern::Anchor::kStartsWith
                                       : SigmaPattern::Anchor::kEndsWith;
    } else if (m == "all") {
      out.all = true;
    } else if (m == "cased") {
      out.cased = true;
    } else if (m == "re") {
      out.re = true;
      kinds.push_back(m);
    } else if (m == "i" || m == "m" || m == "s") {
      if (!out.re) return fail("modifier '" + std::string(m) + "' only applies after 're'");
      out.re_flags += m;
    } else if (m == "cidr") {
      out.cidr = true;
      kinds.push_back(m);
    } else if (m == "gt" || m == "gte" || m == "lt" || m == "lte") {
      out.compare = m == "gt"    ? ValueTest::Compare::kGt
                    : m == "gte" ? ValueTest::Compare::kGte
                    : m == "lt"  ? ValueTest::Compare::kLt
                                 : ValueTest::Compare::kLte;
      out.compare_name = m;
      kinds.push_back(m);
    } else if (m == "exists") {
      out.exists = true;
      kinds.push_back(m);
    } else if (m == "fieldref") {
      out.fieldref = true;
      kinds.push_back(m);
    } else if (m == "windash" || m == "base64" || m == "base64offset" || m == "utf16" ||
               m == "utf16le" || m == "utf16be" || m == "wide") {
      return fail("modifier '" + std::string(m) +
                  "' is Windows-only / not supported: it encodes values for Windows event logs");
    } else if (m == "expand") {
      out.expand = true;
    } else if (m.empty()) {
      return fail("empty modifier in '" + std::string(spec) + "'");
    } else {
      return fail("unknown modifier '" + std::string(m) + "'");
    }
  }
  if (kinds.size() > 1) {
    return fail("modifiers '" + std::string(kinds[0]) + "' and '" + std::string(kinds[1]) +
                "' cannot be combined");
  }
  const bool comparison = out.re || out.cidr || out.compare || out.exists;
  if (comparison && !out.anchor_name.empty()) {
    return fail("modifiers '" + std::string(kinds[0]) + "' and '" + std::string(out.anchor_name) +
                "' cannot be combined");
  }
  if (comparison && out.cased) {
    return fail("modifiers '" + std::string(kinds[0]) + "' and 'cased' cannot be combined" +
                (out.re ? " (a regex is case-sensitive unless 'i' is given)" : ""));
  }
  if (out.exists && out.all) return fail("modifiers 'exists' and 'all' cannot be combined");
  if (out.expand && (out.exists || out.fieldref)) {
    return fail("modifiers 'expand' and '" + std::string(kinds[0]) + "' cannot be combined");
  }
  return true;
}

bool RuleCompiler::compileFieldTest(const YAML::Node& key, const YAML::Node& value, Document& doc,
                                    FieldTest& out) {
  if (!key.IsScalar()) {
    report(doc.file, key, "field names must be plain strings");
    return false;
  }
  const std::string& spec = key.Scalar();
  const size_t bar = spec.find('|');
  const std::string field = spec.substr(0, bar);
  Modifiers mods;
  if (bar != std::string::npos &&
      !parseModifiers(key, std::string_view(spec).substr(bar + 1), doc, mods)) {
    return false;
  }
  out.all = mods.all;
  if (field.empty()) {
    // Sigma writes keyword searches with modifiers as a map with an empty
    // field name (`'|all': [a, b]`); they search the raw record.
    if (mods.cidr || mods.compare || mods.exists || mods.fieldref) {
      report(doc.file, key, "a keyword search (no field name) cannot use this modifier");
      return false;
    }
    out.raw = true;
    if (mods.anchor_name.empty()) mods.anchor = SigmaPattern::Anchor::kContains;
  } else {
    out.field = internField(field);
  }

  std::vector<YAML::Node> items;
  if (value.IsSequence()) {
    if (value.size() == 0) {
      report(doc.file, value, "empty value list for '" + spec + "'");
      return false;
    }
    for (const auto& item : value) items.push_back(item);
  } else if (value.IsMap()) {
    report(doc.file, value, "the value of '" + spec + "' must be a value or a list of values");
    return false;
  } else {
    items.push_back(value);
  }
  bool ok = true;
  for (const auto& item : items) {
    if (++doc.values > kMaxValuesPerRule) {
      report(doc.file, item, "rule has more than 100000 values");
      return false;
    }
    if (!item.IsScalar() && !item.IsNull()) {
      report(doc.file, item, "a value must be a string, number, boolean or null");
      ok = false;
      continue;
    }
    if (mods.expand && item.IsScalar()) {
      std::vector<std::string> texts;
      if (!expandValue(item, item.Scalar(), doc, texts)) {
        ok = false;
        continue;
      }
      if (texts.empty()) {
        ValueTest never;
        never.kind = ValueTest::Kind::kNever;
        out.values.push_back(std::move(never));
        continue;
      }
      doc.values += texts.size() - 1;
      if (doc.values > kMaxValuesPerRule) {
        report(doc.file, item, "rule has more than 100000 values (after expanding placeholders)");
        return false;
      }
      for (const auto& text : texts) {
        ValueTest test;
        if (!compileValue(item, mods, doc, test, &text)) {
          ok = false;
          break;
        }
        out.values.push_back(std::move(test));
      }
      continue;
    }
    ValueTest test;
    if (!compileValue(item, mods, doc, test)) {
      ok = false;
      continue;
    }
    out.values.push_back(std::move(test));
  }
  if (mods.cidr && !out.all) {
    // Any network will do: one test that parses the event's address once.
    auto first = std::find_if(out.values.begin(), out.values.end(),
                              [](const ValueTest& v) { return v.kind == ValueTest::Kind::kCidr; });
    if (first != out.values.end()) {
      for (auto it = first + 1; it != out.values.end(); ++it) {
        if (it->kind != ValueTest::Kind::kCidr) continue;
        first->networks.insert(first->networks.end(), it->networks.begin(), it->networks.end());
      }
      out.values.erase(
          std::remove_if(first + 1, out.values.end(),
                         [](const ValueTest& v) { return v.kind == ValueTest::Kind::kCidr; }),
          out.values.end());
    }
  }
  return ok;
}

bool RuleCompiler::expandValue(const YAML::Node& value, const std::string& text, Document& doc,
                               std::vector<std::string>& out) {
  // Sigma placeholders are `%name%`; text outside them is kept around each
  // substituted value. A lone '%' with no closing one is literal text.
  out.assign(1, std::string());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find('%', pos);
    const size_t close = open == std::string::npos ? open : text.find('%', open + 1);
    if (close == std::string::npos) {
      for (auto& o : out) o += text.substr(pos);
      break;
    }
    const std::string literal = text.substr(pos, open - pos);
    const std::string name = text.substr(open + 1, close - open - 1);
    pos = close + 1;
    const std::vector<std::string>* values = nullptr;
    if (placeholders_ != nullptr) {
      auto it = placeholders_->find(name);
      if (it != placeholders_->end()) values = &it->second;
    }
    if (values == nullptr) {
      report(doc.file, value,
             "unknown placeholder '" + name +
                 "' (declare it under placeholders: in the configuration)");
      return false;
    }
    if (values->empty()) {
      out.clear();
      return true;
    }
    if (out.size() * values->size() > kMaxValuesPerRule) {
      report(doc.file, value, "rule has more than 100000 values (after expanding placeholders)");
      return false;
    }
    std::vector<std::string> next;
    next.reserve(out.size() * values->size());
    for (const auto& prefix : out) {
      for (const auto& v : *values) next.push_back(prefix + literal + v);
    }
    out = std::move(next);
  }
  return true;
}

bool RuleCompiler::compileValue(const YAML::Node& value, const Modifiers& mods, Document& doc,
                                ValueTest& out, const std::string* expanded) {
  auto fail = [&](std::string message) {
    report(doc.file, value, std::move(message));
    return false;
  };
  const bool null = expanded == nullptr && value.IsNull();
  // An expanded value came from a list file, so it is text, never a YAML
  // boolean or number.
  const bool string_mods = !mods.anchor_name.empty() || mods.cased || expanded != nullptr;

  if (mods.exists) {
    const auto flag = plainBool(value);
    if (!flag) return fail("'exists' needs true or false");
    out.kind = ValueTest::Kind::kExists;
    out.flag = *flag;
    return true;
  }
  if (null) {
    if (mods.re || mods.cidr || mods.compare || mods.fieldref || string_mods) {
      return fail("null cannot be combined with modifiers");
    }
    out.kind = ValueTest::Kind::kNull;
    return true;
  }
  const std::string& text = expanded != nullptr ? *expanded : value.Scalar();
  if (mods.fieldref) {
    if (text.empty()) return fail("'fieldref' needs the name of another field");
    out.kind = ValueTest::Kind::kFieldRef;
    out.ref = internField(text);
    out.anchor = mods.anchor;
    out.cased = mods.cased;
    return true;
  }
  if (mods.re) {
    std::string pattern;
    if (!mods.re_flags.empty()) pattern = "(?" + mods.re_flags + ")";
    pattern += text;
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(pattern, options);
    if (!re->ok()) return fail("invalid regular expression: " + re->error());
    out.kind = ValueTest::Kind::kRegex;
    out.regex = std::move(re);
    return true;
  }
  if (mods.cidr) {
    if (expanded != nullptr || !isPlain(value) || !plainNumber(value)) {
      if (auto net = IpNetwork::parse(text)) {
        out.kind = ValueTest::Kind::kCidr;
        out.networks.assign(1, *net);
        return true;
      }
    }
    return fail("'cidr' needs a network such as 10.0.0.0/8 or fc00::/7, not '" + text + "'");
  }
  if (mods.compare) {
    const auto n = parseDecimal(text);
    if (!n)
      return fail("'" + std::string(mods.compare_name) + "' needs a number, not '" + text + "'");
    out.kind = ValueTest::Kind::kCompare;
    out.compare = *mods.compare;
    out.number = *n;
    return true;
  }
  if (!string_mods) {
    if (const auto flag = plainBool(value)) {
      out.kind = ValueTest::Kind::kBool;
      out.flag = *flag;
      return true;
    }
    if (const auto n = plainNumber(value)) {
      out.kind = ValueTest::Kind::kNumber;
      out.number = *n;
      return true;
    }
  }
  out.kind = ValueTest::Kind::kString;
  out.pattern = SigmaPattern::compile(text, mods.anchor, mods.cased);
  return true;
}

bool RuleCompiler::compileSuppress(const YAML::Node& node, Document& doc, Suppression& out) {
  if (!node.IsMap()) {
    report(doc.file, node, "'suppress' must be a map with 'timespan' and optionally 'by'");
    return false;
  }
  bool ok = true;
  bool have_timespan = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (key == "timespan") {
      const auto ns = kv.second.IsScalar() ? parseTimespan(kv.second.Scalar()) : std::nullopt;
      if (!ns) {
        report(doc.file, kv.second,
               "'suppress.timespan' must be a number and a unit s, m, h or d "
               "such as 10m");
        ok = false;
      } else {
        out.timespan_nanos = *ns;
        out.timespan_text = kv.second.Scalar();
        have_timespan = true;
      }
    } else if (key == "by") {
      if (kv.second.IsScalar()) {
        out.by.push_back(kv.second.Scalar());
      } else if (kv.second.IsSequence()) {
        for (const auto& item : kv.second) {
          if (!item.IsScalar() || item.Scalar().empty()) {
            report(doc.file, item, "'suppress.by' must be a list of field names");
            ok = false;
          } else {
            out.by.push_back(item.Scalar());
          }
        }
      } else {
        report(doc.file, kv.second, "'suppress.by' must be a list of field names");
        ok = false;
      }
    } else {
      report(doc.file, kv.first, "unknown key '" + key + "' in 'suppress' (expected timespan, by)");
      ok = false;
    }
  }
  if (!have_timespan && ok) {
    report(doc.file, node, "'suppress' needs a 'timespan'");
    ok = false;
  }
  if (!ok) return false;
  for (const auto& field : out.by) out.by_ids.push_back(internField(field));
  return true;
}

bool RuleCompiler::compileCorrelation(const YAML::Node& node, Document& doc,
                                      PendingCorrelation& out) {
  auto fail = [&](const YAML::Node& at, std::string message) {
    report(doc.file, at, std::move(message));
    return false;
  };
  auto ref = [](const YAML::Node& n) {
    return PendingCorrelation::Ref{n.IsScalar() ? n.Scalar() : std::string(), n.Mark().line + 1,
                                   n.Mark().column + 1};
  };
  if (!node.IsMap()) return fail(node, "'correlation' must be a map (type, rules, group-by, ...)");
  Correlation& c = out.c;
  bool ok = true;
  bool have_type = false, have_rules = false, have_timespan = false, have_condition = false;
  YAML::Node condition_node;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node& v = kv.second;
    if (key == "type") {
      static const std::pair<std::string_view, CorrelationType> kTypes[] = {
          {"event_count", CorrelationType::kEventCount},
          {"value_count", CorrelationType::kValueCount},
          {"temporal", CorrelationType::kTemporal},
          {"temporal_ordered", CorrelationType::kTemporalOrdered},
          {"value_sum", CorrelationType::kValueSum},
          {"value_avg", CorrelationType::kValueAvg},
          {"value_percentile", CorrelationType::kValuePercentile},
          {"absence", CorrelationType::kAbsence}};
      const std::string text = v.IsScalar() ? v.Scalar() : "";
      auto it = std::find_if(std::begin(kTypes), std::end(kTypes),
                             [&](const auto& t) { return t.first == text; });
      if (it == std::end(kTypes)) {
        ok = fail(v, "unknown correlation type '" + text +
                         "' (expected event_count, value_count, temporal, temporal_ordered, "
                         "value_sum, value_avg, value_percentile, or the trailwatch extension "
                         "absence)");
      } else {
        c.type = it->second;
        have_type = true;
      }
    } else if (key == "rules") {
      have_rules = true;
      if (v.IsScalar()) {
        out.rules.push_back(ref(v));
      } else if (v.IsSequence() && v.size() > 0) {
        for (const auto& item : v) {
          if (!item.IsScalar() || item.Scalar().empty()) {
            ok = fail(item, "'rules' must list rule ids or names");
          } else {
            out.rules.push_back(ref(item));
          }
        }
      } else {
        ok = fail(v, "'rules' must list rule ids or names");
      }
    } else if (key == "group-by") {
      if (v.IsScalar()) {
        out.group_by.push_back(ref(v));
      } else if (v.IsSequence()) {
        for (const auto& item : v) {
          if (!item.IsScalar() || item.Scalar().empty()) {
            ok = fail(item, "'group-by' must list field names");
          } else {
            out.group_by.push_back(ref(item));
          }
        }
      } else if (!v.IsNull()) {
        ok = fail(v, "'group-by' must list field names");
      }
    } else if (key == "timespan") {
      const auto ns = v.IsScalar() ? parseTimespan(v.Scalar()) : std::nullopt;
      if (!ns) {
        ok = fail(v, "'timespan' must be a number and a unit s, m, h or d, such as 10m, not '" +
                         (v.IsScalar() ? v.Scalar() : std::string("...")) + "'");
      } else {
        c.timespan_nanos = *ns;
        c.timespan_text = v.Scalar();
        have_timespan = true;
      }
    } else if (key == "condition") {
      have_condition = true;
      condition_node = v;
      if (!v.IsMap()) {
        ok = fail(v, "'condition' must be a map such as {gte: 10}");
        continue;
      }
      for (const auto& ckv : v) {
        const std::string op = ckv.first.IsScalar() ? ckv.first.Scalar() : "";
        if (op == "field") {
          if (!ckv.second.IsScalar() || ckv.second.Scalar().empty()) {
            ok = fail(ckv.second, "'condition.field' must be a field name");
          } else {
            out.field = ref(ckv.second);
          }
          continue;
        }
        const auto number = plainNumber(ckv.second);
        std::optional<double>* slot = op == "gt"    ? &c.condition.gt
                                      : op == "gte" ? &c.condition.gte
                                      : op == "lt"  ? &c.condition.lt
                                      : op == "lte" ? &c.condition.lte
                                      : op == "eq"  ? &c.condition.eq
                                                    : nullptr;
        if (op == "percentile") {
          if (!number || *number < 0 || *number > 100) {
            ok = fail(ckv.second, "'condition.percentile' must be a number from 0 to 100");
          } else {
            c.percentile = *number;
          }
        } else if (slot == nullptr) {
          ok = fail(ckv.first, "unknown condition operator '" + op +
                                   "' (expected gt, gte, lt, lte, eq, field, percentile)");
        } else if (!number) {
          ok = fail(ckv.second, "'" + op + "' needs a number");
        } else {
          *slot = *number;
        }
      }
    } else if (key == "aliases") {
      if (!v.IsMap()) {
        ok = fail(v, "'aliases' must map alias names to {rule name: field}");
        continue;
      }
      for (const auto& akv : v) {
        if (!akv.first.IsScalar() || !akv.second.IsMap()) {
          ok = fail(akv.second, "'aliases' must map alias names to {rule name: field}");
          continue;
        }
        auto& per_rule = out.aliases[akv.first.Scalar()];
        for (const auto& rkv : akv.second) {
          if (!rkv.first.IsScalar() || !rkv.second.IsScalar() || rkv.second.Scalar().empty()) {
            ok = fail(rkv.second, "an alias maps a rule name to a field name");
            continue;
          }
          per_rule[rkv.first.Scalar()] = rkv.second.Scalar();
        }
      }
    } else if (key == "generate") {
      const auto b = plainBool(v);
      if (!b) {
        ok = fail(v, "'generate' must be true or false");
      } else {
        c.generate = *b;
      }
    } else {
      ok = fail(kv.first, "unknown key '" + key +
                              "' in 'correlation' (expected type, rules, group-by, timespan, "
                              "condition, aliases, generate)");
    }
  }
  if (!ok) return false;
  if (!have_type) return fail(node, "'correlation' needs a 'type'");
  if (!have_rules) return fail(node, "'correlation' needs 'rules'");
  if (!have_timespan) return fail(node, "'correlation' needs a 'timespan'");
  const bool valued =
      c.type == CorrelationType::kValueCount || c.type == CorrelationType::kValueSum ||
      c.type == CorrelationType::kValueAvg || c.type == CorrelationType::kValuePercentile;
  const bool counting = valued || c.type == CorrelationType::kEventCount;
  if (counting && (!have_condition || c.condition.empty())) {
    return fail(node, withArticle(correlationTypeName(c.type)) +
                          " correlation needs a 'condition' such as {gte: 10}");
  }
  if (valued && out.field.text.empty()) {
    return fail(have_condition ? condition_node : node,
                withArticle(correlationTypeName(c.type)) +
                    " correlation needs 'field' in its condition: the field whose values it "
                    "aggregates");
  }
  if (!valued && !out.field.text.empty()) {
    return fail(condition_node, "'field' has no meaning for " +
                                    withArticle(correlationTypeName(c.type)) + " correlation");
  }
  if (c.type == CorrelationType::kAbsence && have_condition) {
    return fail(condition_node,
                "an absence correlation takes no condition: it fires when no "
                "event arrives for a group within the timespan");
  }
  if (c.type != CorrelationType::kValuePercentile && have_condition && condition_node.IsMap() &&
      condition_node["percentile"]) {
    return fail(condition_node["percentile"], "'percentile' has no meaning for " +
                                                  withArticle(correlationTypeName(c.type)) +
                                                  " correlation");
  }
  if (c.type == CorrelationType::kValuePercentile && !condition_node["percentile"]) {
    return fail(condition_node,
                "a value_percentile correlation needs 'percentile' (0-100) in "
                "its condition");
  }
  if ((c.type == CorrelationType::kTemporal || c.type == CorrelationType::kTemporalOrdered) &&
      out.rules.size() > 64) {
    return fail(node, "a temporal correlation can refer to at most 64 rules");
  }
  return true;
}

void RuleCompiler::resolveCorrelations() {
  // Rules are found by id or by name, in every file of the set.
  std::unordered_map<std::string, uint32_t> by_key;
  for (uint32_t i = 0; i < infos_.size(); ++i) {
    if (!infos_[i].id.empty()) by_key.emplace(infos_[i].id, i);
  }
  std::unordered_map<std::string, uint32_t> names;
  for (uint32_t i = 0; i < infos_.size(); ++i) {
    const auto& name = infos_[i].name;
    if (name.empty()) continue;
    auto [it, inserted] = names.emplace(name, i);
    if (!inserted) {
      report(infos_[i].file, infos_[i].line, 1,
             "duplicate rule name '" + name + "' (also used at " + infos_[it->second].file + ":" +
                 std::to_string(infos_[it->second].line) + ")");
      continue;
    }
    if (by_key.count(name) == 0) by_key.emplace(name, i);
  }
  if (pending_.empty()) return;
  for (uint32_t k = 0; k < pending_.size(); ++k) {
    infos_[pending_[k].rule_index].correlation = static_cast<int32_t>(k);
  }

  std::vector<std::vector<uint32_t>> refs(pending_.size());  // referenced rule indices
  for (uint32_t k = 0; k < pending_.size(); ++k) {
    auto& p = pending_[k];
    for (const auto& r : p.rules) {
      auto it = by_key.find(r.text);
      if (it == by_key.end()) {
        report(
            p.file, r.line, r.column,
            "correlation refers to rule '" + r.text + "', which no loaded rule has as id or name");
        continue;
      }
      if (it->second == p.rule_index) {
        report(p.file, r.line, r.column, "a correlation cannot refer to itself");
        continue;
      }
      if (std::find(refs[k].begin(), refs[k].end(), it->second) != refs[k].end()) {
        report(p.file, r.line, r.column, "rule '" + r.text + "' is listed twice");
        continue;
      }
      refs[k].push_back(it->second);
    }
  }
  if (diags_.size() != first_diag_) return;

  // Chains must not loop: a correlation fed (indirectly) by itself never settles.
  std::vector<int> mark(pending_.size(), 0);  // 0 new, 1 visiting, 2 done
  std::function<bool(uint32_t)> acyclic = [&](uint32_t k) {
    if (mark[k] == 2) return true;
    if (mark[k] == 1) return false;
    mark[k] = 1;
    for (uint32_t r : refs[k]) {
      if (infos_[r].correlation >= 0 && !acyclic(static_cast<uint32_t>(infos_[r].correlation))) {
        return false;
      }
    }
    mark[k] = 2;
    return true;
  };
  for (uint32_t k = 0; k < pending_.size(); ++k) {
    if (!acyclic(k)) {
      report(pending_[k].file, pending_[k].at.line, pending_[k].at.column,
             "correlation '" + infos_[pending_[k].rule_index].title +
                 "' is part of a chain of correlations that refers back to itself");
      return;
    }
  }

  std::vector<bool> referenced(infos_.size(), false), generated(infos_.size(), false);
  for (uint32_t k = 0; k < pending_.size(); ++k) {
    auto& p = pending_[k];
    Correlation& c = p.c;
    const RuleInfo& self = infos_[p.rule_index];
    c.rule_index = p.rule_index;
    c.key = std::string(correlationTypeName(c.type)) + ":" +
            (!self.id.empty()     ? self.id
             : !self.name.empty() ? self.name
                                  : self.title);
    for (const auto& r : p.rules) c.key += "|" + r.text;
    for (const auto& g : p.group_by) c.group_by.push_back(g.text);
    std::sort(c.group_by.begin(), c.group_by.end());
    if (std::adjacent_find(c.group_by.begin(), c.group_by.end()) != c.group_by.end()) {
      report(p.file, p.at.line, p.at.column, "'group-by' lists a field twice");
      continue;
    }
    for (const auto& [alias, per_rule] : p.aliases) {
      for (const auto& [rule_name, field] : per_rule) {
        auto it = names.find(rule_name);
        if (it == names.end() ||
            std::find(refs[k].begin(), refs[k].end(), it->second) == refs[k].end()) {
          report(p.file, p.at.line, p.at.column,
                 "alias '" + alias + "' names rule '" + rule_name +
                     "', which is not one of this correlation's rules (aliases use rule names)");
        }
      }
    }
    if (c.type == CorrelationType::kTemporal && c.condition.empty()) {
      c.condition.gte = static_cast<double>(refs[k].size());
    }
    if (c.type == CorrelationType::kTemporalOrdered) {
      if (!c.condition.empty()) {
        report(p.file, p.at.line, p.at.column,
               "a temporal_ordered correlation takes no condition: it fires when every rule "
               "matched, in order");
        continue;
      }
      c.condition.gte = static_cast<double>(refs[k].size());
    }
    // Which field of a referenced rule's events stands for `name` (an alias or itself).
    auto fieldFor = [&](const std::string& name, uint32_t rule) -> std::string {
      auto a = p.aliases.find(name);
      if (a == p.aliases.end()) return name;
      auto f = a->second.find(infos_[rule].name);
      if (f == a->second.end()) return std::string();
      return f->second;
    };
    c.field = p.field.text;
    for (uint32_t input = 0; input < refs[k].size(); ++input) {
      const uint32_t r = refs[k][input];
      const RuleInfo& target = infos_[r];
      CorrelationInput in;
      if (target.correlation >= 0) {
        in.from_correlation = true;
        in.index = static_cast<uint32_t>(target.correlation);
        const auto& inner = pending_[in.index];
        std::vector<std::string> inner_group;
        for (const auto& g : inner.group_by) inner_group.push_back(g.text);
        std::sort(inner_group.begin(), inner_group.end());
        if (inner_group != c.group_by) {
          report(p.file, p.rules[input].line, p.rules[input].column,
                 "correlation '" + target.title +
                     "' groups by other fields than this one; a chained correlation must group "
                     "by the same fields as the correlations it refers to");
          continue;
        }
        if (!c.field.empty()) {
          report(
              p.file, p.rules[input].line, p.rules[input].column,
              withArticle(correlationTypeName(c.type)) +
                  " correlation reads a field of events, so it cannot refer to the correlation '" +
                  target.title + "'");
          continue;
        }
        c.field_ids.push_back(0);
      } else {
        in.index = r;
        in.sample_fields = !self.fields.empty() ? self.field_ids : infos_[r].field_ids;
        for (const auto& g : c.group_by) {
          const std::string field = fieldFor(g, r);
          if (field.empty()) {
            report(p.file, p.at.line, p.at.column,
                   "alias '" + g + "' has no field for rule '" +
                       (target.name.empty() ? target.title : target.name) + "'");
            continue;
          }
          in.group_fields.push_back(internField(field));
        }
        if (!c.field.empty()) {
          const std::string field = fieldFor(c.field, r);
          if (field.empty()) {
            report(p.file, p.field.line, p.field.column,
                   "alias '" + c.field + "' has no field for rule '" +
                       (target.name.empty() ? target.title : target.name) + "'");
            continue;
          }
          c.field_ids.push_back(internField(field));
        } else {
          c.field_ids.push_back(0);
        }
      }
      referenced[r] = true;
      if (c.generate) generated[r] = true;
      infos_[r].feeds.emplace_back(k, input);
      c.inputs.push_back(std::move(in));
    }
    correlations_.push_back(std::move(c));
  }
  for (size_t i = 0; i < infos_.size(); ++i) {
    if (referenced[i] && !generated[i]) infos_[i].alerts = false;
  }
}

}  // namespace trailwatch::engine
