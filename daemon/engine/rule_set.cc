#include "daemon/engine/rule_set.h"

#include "daemon/engine/detection.h"
#include "daemon/engine/rule_compiler.h"

namespace trailwatch::engine {

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
                 std::vector<std::string> field_paths)
    : infos_(std::move(infos)),
      detections_(std::move(detections)),
      field_paths_(std::move(field_paths)) {}

RuleSet::~RuleSet() = default;

std::vector<uint32_t> RuleSet::rulesFor(const LogSource* declared) const {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < infos_.size(); ++i) {
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
