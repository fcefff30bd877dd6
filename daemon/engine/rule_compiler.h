// RuleCompiler: reads Sigma rule documents and compiles them into the parts
// of a RuleSet, collecting every problem as a Diagnostic instead of stopping
// at the first, so one run reports all broken rules in all files.
//
// yaml-cpp throws; every call into it is wrapped here, and nothing escapes
// this class but Diagnostics.
//
// Thread-safety: none; one compiler builds one set on one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/engine/detection.h"
#include "daemon/engine/rule_set.h"
#include "trailwatch/diagnostic.h"

namespace YAML {
class Node;
}

namespace trailwatch::engine {

class RuleCompiler {
 public:
  // `placeholders` (may be null) must outlive the compiler.
  explicit RuleCompiler(Diagnostics& diags, const Placeholders* placeholders = nullptr);
  ~RuleCompiler();

  // A file, or a folder searched recursively for *.yml / *.yaml (but not
  // the rule tests beside rules, *.tests.yml: rule_test_file.h).
  void addPath(const std::string& path);
  void addFile(const std::string& path);
  void addText(std::string_view yaml, const std::string& file);

  // nullptr when any problem was reported since construction.
  std::shared_ptr<const RuleSet> build();

  // For loading what can be used (RuleSet::load with `skipped`): documents
  // (file, line of their start) and whole files to pass over. Set before
  // adding paths.
  void exclude(std::set<std::pair<std::string, int>> documents, std::set<std::string> files);
  // The rule document of a file read so far that `line` falls in: its start
  // line and title (empty when it has none), or nullopt when `file` was not
  // read or the line is before its first document.
  struct DocumentRef {
    int line = 0;
    std::string title;
  };
  std::optional<DocumentRef> documentAt(const std::string& file, int line) const;
  // True when `file` was read as a rule file (YAML errors included).
  bool read(const std::string& file) const { return documents_.count(file) != 0; }

 private:
  struct Document;
  struct Modifiers;
  struct PendingCorrelation;

  void compileDocument(const YAML::Node& doc, const std::string& file);
  // The `correlation:` map of a correlation rule; references are kept by
  // name until build() resolves them (they may point into later files).
  bool compileCorrelation(const YAML::Node& node, Document& doc, PendingCorrelation& out);
  bool compileSuppress(const YAML::Node& node, Document& doc, Suppression& out);
  // Resolves references, aliases and generate flags; reports what does not resolve.
  void resolveCorrelations();
  bool compileDetection(const YAML::Node& node, Document& doc, Detection& out);
  bool compileSearch(const YAML::Node& value, Document& doc, Search& out);
  bool compileMap(const YAML::Node& map, Document& doc, std::vector<FieldTest>& out);
  bool compileFieldTest(const YAML::Node& key, const YAML::Node& value, Document& doc,
                        FieldTest& out);
  bool compileKeywords(const YAML::Node& value, Document& doc, FieldTest& out);
  // `expanded`, when set, is the text to compile instead of the node's (one
  // value of an `expand` placeholder); it is always a string.
  bool compileValue(const YAML::Node& value, const Modifiers& mods, Document& doc, ValueTest& out,
                    const std::string* expanded = nullptr);
  // The values `text` stands for under `expand`: every `%name%` replaced by
  // each value of the placeholder (several placeholders: every combination).
  bool expandValue(const YAML::Node& value, const std::string& text, Document& doc,
                   std::vector<std::string>& out);
  bool parseModifiers(const YAML::Node& key, std::string_view spec, Document& doc, Modifiers& out);

  FieldId internField(const std::string& path);
  void report(const std::string& file, const YAML::Node& at, std::string message);
  void report(const std::string& file, int line, int column, std::string message);

  Diagnostics& diags_;
  size_t first_diag_;
  const Placeholders* placeholders_;
  std::vector<RuleInfo> infos_;
  std::vector<Detection> detections_;
  std::vector<std::string> field_paths_;
  std::unordered_map<std::string, FieldId> field_ids_;
  std::unordered_map<std::string, std::string> id_locations_;  // rule id -> "file:line"
  std::vector<PendingCorrelation> pending_;
  std::vector<Correlation> correlations_;
  std::map<std::string, std::vector<DocumentRef>> documents_;  // per file read, by start line
  std::set<std::pair<std::string, int>> excluded_documents_;
  std::set<std::string> excluded_files_;
};

}  // namespace trailwatch::engine
