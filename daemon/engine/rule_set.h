// RuleSet: a compiled, immutable set of Sigma detection rules.
//
// load()/parse() read Sigma rule files (several rules per file with `---`),
// check them strictly and compile every detection into matchers (see
// detection.h for the matching semantics). A set with any problem is not
// built at all: the caller gets nullptr and one Diagnostic per problem, each
// located `file:line:col`, so `trailwatch check` can list them all and a
// reload keeps the previous set. Correlation rules and Sigma v1 `action`
// documents are rejected as unsupported for now.
//
// The set knows every field its rules read (fieldPaths()); decoders extract
// just those, and rules refer to them by FieldId, their index in that list.
//
// Thread-safety: immutable once built (shared as shared_ptr<const RuleSet>);
// every const method may run concurrently. evaluate() never allocates except
// to grow `matched`, and never parses or compiles.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/diagnostic.h"
#include "trailwatch/event.h"
#include "trailwatch/logsource.h"

namespace trailwatch::engine {

struct Detection;

// Named value lists for the `expand` modifier (`%name%` -> the list), from
// the configuration's `placeholders:` files.
using Placeholders = std::map<std::string, std::vector<std::string>>;

struct RuleInfo {
  std::string id, title, description, status, level;  // level lower-case; id may be empty
  std::string file;                                   // path the rule was loaded from
  int line = 0;                                       // line of the rule document's start (1-based)
  std::string pack;                   // name of the folder that contains the rule file
  std::vector<std::string> tags;      // lower-cased
  std::vector<std::string> controls;  // the tags that start with "soc2." or "hipaa."
  LogSource logsource;                // lower-cased
  std::vector<std::string> fields;    // the rule's `fields:` list, as written
  std::vector<FieldId> field_ids;     // their ids in RuleSet::fieldPaths()
  std::vector<std::string> falsepositives;
};

class RuleSet {
 public:
  // Loads every *.yml / *.yaml under each path (a file, or a folder searched
  // recursively in sorted order, skipping names that start with '.'). A
  // folder with no rule file is an error: it is almost always a wrong path.
  // Returns nullptr when any problem was found, after appending one
  // Diagnostic per problem. `placeholders` (may be null: none declared)
  // supplies the lists that `|expand` values name; it is only read during
  // the call.
  static std::shared_ptr<const RuleSet> load(const std::vector<std::string>& paths,
                                             Diagnostics& diags,
                                             const Placeholders* placeholders = nullptr);
  // Same from in-memory YAML text; `file` is used in diagnostics and RuleInfo.
  static std::shared_ptr<const RuleSet> parse(std::string_view yaml, const std::string& file,
                                              Diagnostics& diags,
                                              const Placeholders* placeholders = nullptr);

  RuleSet(std::vector<RuleInfo> infos, std::vector<Detection> detections,
          std::vector<std::string> field_paths);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  size_t size() const { return infos_.size(); }
  const RuleInfo& rule(size_t index) const { return infos_[index]; }

  // Every field path any rule reads (detection fields, fieldref targets,
  // `fields:` lists), deduplicated, in first-seen order; FieldId = index.
  const std::vector<std::string>& fieldPaths() const { return field_paths_; }

  // Indices of the rules that apply to a source declaring `declared`
  // (nullptr: the source declares nothing, so every rule applies).
  std::vector<uint32_t> rulesFor(const LogSource* declared) const;

  // Appends to `matched` every index in `rules` whose detection matches `event`.
  void evaluate(const Event& event, std::span<const uint32_t> rules,
                std::vector<uint32_t>& matched) const;

 private:
  std::vector<RuleInfo> infos_;
  std::vector<Detection> detections_;
  std::vector<std::string> field_paths_;
};

}  // namespace trailwatch::engine
