#include "daemon/engine/rule_set.h"

#include <algorithm>

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
                                             Diagnostics& diags, const Placeholders* placeholders) {
  RuleCompiler compiler(diags, placeholders);
  for (const auto& path : paths) compiler.addPath(path);
  return compiler.build();
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
      correlations_(std::move(correlations)) {}

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

void RuleSet::evaluate(const Event& event, std::span<const uint32_t> rules,
                       std::vector<uint32_t>& matched) const {
  for (const uint32_t index : rules) {
    if (detections_[index].matches(event)) matched.push_back(index);
  }
}

}  // namespace trailwatch::engine
