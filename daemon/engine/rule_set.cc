#include "daemon/engine/rule_set.h"

#include <algorithm>
#include <set>

#include "daemon/engine/detection.h"
#include "daemon/engine/rule_compiler.h"

namespace trailwatch::engine {

const char* correlationTypeName(CorrelationType type) {
  switch (type) {
    case CorrelationType::kEventCount:
      return "event_count";
    case CorrelationType::kValueCount:
      return "value_count";
    case CorrelationType::kTemporal:
      return "temporal";
    case CorrelationType::kTemporalOrdered:
      return "temporal_ordered";
    case CorrelationType::kValueSum:
      return "value_sum";
    case CorrelationType::kValueAvg:
      return "value_avg";
    case CorrelationType::kValuePercentile:
      return "value_percentile";
    case CorrelationType::kAbsence:
      return "absence";
  }
  return "?";
}

std::shared_ptr<const RuleSet> RuleSet::load(const std::vector<std::string>& paths,
                                             Diagnostics& diags, const Placeholders* placeholders,
                                             std::vector<SkippedRule>* skipped) {
  if (skipped == nullptr) {
    RuleCompiler compiler(diags, placeholders);
    for (const auto& path : paths) compiler.addPath(path);
    return compiler.build();
  }
  // Compile, leave out the documents and files the problems point into, and
  // compile again until nothing is left to leave out: leaving a rule out can
  // break a correlation that names it, which goes in the next round. Every
  // round leaves out at least one document or file, so this ends.
  std::set<std::pair<std::string, int>> documents;
  std::set<std::string> files;
  while (true) {
    Diagnostics round;
    RuleCompiler compiler(round, placeholders);
    compiler.exclude(documents, files);
    for (const auto& path : paths) compiler.addPath(path);
    auto set = compiler.build();
    if (set) return set;
    bool progressed = false;
    for (auto& d : round) {
      const auto doc = compiler.documentAt(d.file, d.line);
      if (!compiler.read(d.file)) {
        diags.push_back(std::move(d));  // not in a rule file: a wrong path
        continue;
      }
      const int line = doc ? doc->line : 0;
      auto it = std::find_if(skipped->begin(), skipped->end(), [&](const SkippedRule& s) {
        return s.file == d.file && s.line == line;
      });
      if (it == skipped->end()) {
        skipped->push_back({d.file, line, doc ? doc->title : std::string(), {}});
        it = skipped->end() - 1;
      }
      it->problems.push_back(std::move(d));
      progressed |=
          line > 0 ? documents.emplace(it->file, line).second : files.emplace(it->file).second;
    }
    if (!diags.empty()) return nullptr;
    if (!progressed) {
      // Nothing new to leave out (should not happen): report as a failure.
      for (const auto& s : *skipped)
        diags.insert(diags.end(), s.problems.begin(), s.problems.end());
      return nullptr;
    }
  }
}

std::shared_ptr<const RuleSet> RuleSet::parse(std::string_view yaml, const std::string& file,
                                              Diagnostics& diags,
                                              const Placeholders* placeholders) {
  RuleCompiler compiler(diags, placeholders);
  compiler.addText(yaml, file);
  return compiler.build();
}

RuleSet::RuleSet(std::vector<RuleInfo> infos, std::vector<Detection> detections,
                 std::vector<std::string> field_paths, std::vector<Correlation> correlations)
    : infos_(std::move(infos)),
      detections_(std::move(detections)),
      field_paths_(std::move(field_paths)),
      correlations_(std::move(correlations)),
      flat_(std::make_unique<const FlatDetections>(detections_)) {}

bool RuleSet::stateful() const {
  return !correlations_.empty() ||
         std::any_of(infos_.begin(), infos_.end(), [](const RuleInfo& i) { return i.suppress; });
}

RuleSet::~RuleSet() = default;

std::vector<uint32_t> RuleSet::rulesFor(const LogSource* declared) const {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < infos_.size(); ++i) {
    if (infos_[i].correlation >= 0) continue;  // correlations read no events
    if (declared == nullptr || declared->satisfies(infos_[i].logsource)) {
      out.push_back(static_cast<uint32_t>(i));
    }
  }
  return out;
}

const Detection& RuleSet::detection(size_t index) const { return detections_[index]; }

bool RuleSet::matches(uint32_t index, const Event& event, uint64_t holding) const {
  return flat_->matches(index, event, holding);
}

void RuleSet::evaluate(const Event& event, std::span<const uint32_t> rules,
                       std::vector<uint32_t>& matched) const {
  for (const uint32_t index : rules) {
    if (flat_->matches(index, event)) matched.push_back(index);
  }
}

}  // namespace trailwatch::engine
