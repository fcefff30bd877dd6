// RuleSet: a compiled, immutable set of Sigma detection rules.
//
// load()/parse() read Sigma rule files (several rules per file with `---`),
// check them strictly and compile every detection into matchers (see
// detection.h for the matching semantics). A set with any problem is not
// built at all: the caller gets nullptr and one Diagnostic per problem, each
// located `file:line:col`, so `trailwatch check` can list them all and a
// reload keeps the previous set. Sigma v1 `action` documents are rejected.
//
// Correlation rules (correlation.h) are rules too: each has a RuleInfo (its
// `rule` block in alerts) and a Correlation; references between rules
// (`rules:` by id or name, across files) are resolved when the set is built.
// A detection rule that a correlation refers to feeds it (RuleInfo::feeds)
// and alerts on its own only if a referring correlation says `generate: true`.
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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/engine/correlation.h"
#include "trailwatch/diagnostic.h"
#include "trailwatch/event.h"
#include "trailwatch/logsource.h"

namespace trailwatch::engine {

struct Detection;
class FlatDetections;

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
  std::string name;  // Sigma `name`: how correlations refer to the rule

  // Correlation plumbing, filled in when the set is built.
  int32_t correlation = -1;  // index in RuleSet::correlations() if this is a correlation rule
  bool alerts = true;        // alerts on its own (false: only feeds correlations)
  std::optional<Suppression> suppress;  // extension: `suppress:`
  // (correlation index, input index) of every correlation this rule feeds.
  std::vector<std::pair<uint32_t, uint32_t>> feeds;
  // True when matches go through correlation state: it feeds a correlation
  // or its alerts are suppressed.
  bool stateful() const { return !feeds.empty() || suppress.has_value(); }
};

// A rule document (or a whole file, line 0) that RuleSet::load left out
// because it could not be used, and why.
struct SkippedRule {
  std::string file;
  int line = 0;       // start of the rule document; 0: the whole file
  std::string title;  // the document's title, when it has one
  Diagnostics problems;
};

class RuleSet {
 public:
  // Loads every *.yml / *.yaml under each path (a file, or a folder searched
  // recursively in sorted order, skipping names that start with '.' and the
  // rule tests *.tests.yml / *.tests.yaml, which are no rules). A
  // folder with no rule file is an error: it is almost always a wrong path.
  // Returns nullptr when any problem was found, after appending one
  // Diagnostic per problem. `placeholders` (may be null: none declared)
  // supplies the lists that `|expand` values name; it is only read during
  // the call.
  //
  // With `skipped`, loads what can be used instead: a rule document with a
  // problem (an unsupported modifier, a regular expression RE2 cannot run,
  // a correlation naming a rule that was skipped, ...) and a file that is no
  // YAML are left out and listed in `skipped` with their problems, and the
  // rest loads. Only problems outside any rule file (a path that does not
  // exist, a folder without rules) go to `diags` and fail the load.
  static std::shared_ptr<const RuleSet> load(const std::vector<std::string>& paths,
                                             Diagnostics& diags,
                                             const Placeholders* placeholders = nullptr,
                                             std::vector<SkippedRule>* skipped = nullptr);
  // Same from in-memory YAML text; `file` is used in diagnostics and RuleInfo.
  static std::shared_ptr<const RuleSet> parse(std::string_view yaml, const std::string& file,
                                              Diagnostics& diags,
                                              const Placeholders* placeholders = nullptr);

  RuleSet(std::vector<RuleInfo> infos, std::vector<Detection> detections,
          std::vector<std::string> field_paths, std::vector<Correlation> correlations = {});
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  size_t size() const { return infos_.size(); }
  const RuleInfo& rule(size_t index) const { return infos_[index]; }

  // Every field path any rule reads (detection fields, fieldref targets,
  // `fields:` lists), deduplicated, in first-seen order; FieldId = index.
  const std::vector<std::string>& fieldPaths() const { return field_paths_; }

  const std::vector<Correlation>& correlations() const { return correlations_; }
  // True when any rule needs correlation state (correlations or suppression).
  bool stateful() const;

  // Indices of the detection rules that apply to a source declaring `declared`
  // (nullptr: the source declares nothing, so every rule applies).
  std::vector<uint32_t> rulesFor(const LogSource* declared) const;

  // The detection of rule `index` (empty for correlation rules).
  const Detection& detection(size_t index) const;

  // Whether the detection of rule `index` matches `event`; the searches
  // set in `holding` are known to hold on it (FlatDetections::matches()).
  bool matches(uint32_t index, const Event& event, uint64_t holding = 0) const;
  // Appends to `matched` every index in `rules` whose detection matches `event`.
  void evaluate(const Event& event, std::span<const uint32_t> rules,
                std::vector<uint32_t>& matched) const;

 private:
  std::vector<RuleInfo> infos_;
  std::vector<Detection> detections_;
  std::vector<std::string> field_paths_;
  std::vector<Correlation> correlations_;
  std::unique_ptr<const FlatDetections> flat_;  // detections_, laid out for evaluate()
};

}  // namespace trailwatch::engine
