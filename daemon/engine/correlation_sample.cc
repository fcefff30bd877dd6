#include "daemon/engine/correlation_sample.h"

#include <algorithm>
#include <cstring>

#include "daemon/common/json_writer.h"
#include "daemon/common/short_copy.h"
#include "daemon/engine/correlation_state.h"

namespace trailwatch::engine {
namespace {

constexpr size_t kHeader = 2 + 8;
constexpr size_t kMaxValue = 256;  // an analyst's glance, not the record

const RuleInfo& inputRule(const RuleSet& rules, const Correlation& c, uint32_t input) {
  const CorrelationInput& in = c.inputs[input];
  return rules.rule(in.from_correlation ? rules.correlations()[in.index].rule_index : in.index);
}

}  // namespace

void encodeSample(std::string& out, uint32_t input, int64_t time,
                  std::span<const std::string_view* const> values) {
  size_t size = kHeader + (values.empty() ? 0 : values.size() - 1);  // separators
  for (const auto& v : values) size += v ? std::min(v->size(), kMaxValue) : 1;
  out.resize(size);
  char* p = out.data();
  const uint16_t in = static_cast<uint16_t>(input);
  std::memcpy(p, &in, 2);
  std::memcpy(p + 2, &time, 8);
  p += kHeader;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) *p++ = kGroupSeparator;
    if (values[i] == nullptr) {
      *p++ = kSampleNull;
      continue;
    }
    const size_t n = std::min(values[i]->size(), kMaxValue);
    copyShort(p, values[i]->data(), n);
    p += n;
  }
}

void renderSample(const RuleSet& rules, const Correlation& c, std::string_view sample,
                  std::string& out) {
  if (sample.size() < kHeader) {
    out.append("{}");
    return;
  }
  uint16_t input = 0;
  int64_t time = 0;
  std::memcpy(&input, sample.data(), 2);
  std::memcpy(&time, sample.data() + 2, 8);
  sample.remove_prefix(kHeader);
  const bool chained = input < c.inputs.size() && c.inputs[input].from_correlation;
  // The fields the pipeline encoded; a sample of an input the rules no
  // longer have (restored state) is read with the correlation's own.
  static const std::vector<FieldId> kNone;
  const std::vector<FieldId>& ids = chained                   ? kNone
                                    : input < c.inputs.size() ? c.inputs[input].sample_fields
                                                              : rules.rule(c.rule_index).field_ids;
  // A field named like a key of the sample's own is shown as the event has
  // it, in place of that key (no key twice in one object): a rule's
  // `fields` often list @timestamp.
  const auto listed = [&](std::string_view name) {
    return std::any_of(ids.begin(), ids.end(),
                       [&](FieldId id) { return rules.fieldPaths()[id] == name; });
  };
  char separator = '{';
  const auto key = [&](std::string_view name) {
    out.push_back(separator);
    separator = ',';
    appendJsonString(out, name);
    out.push_back(':');
  };
  if (!listed("@timestamp")) {
    key("@timestamp");
    appendJsonString(out, formatRfc3339(time));
  }
  if (input < c.inputs.size() && !listed("rule")) {
    const RuleInfo& r = inputRule(rules, c, input);
    key("rule");
    appendJsonString(out, !r.name.empty() ? r.name : !r.id.empty() ? r.id : r.title);
  }
  const auto append = [&](std::string_view name, bool number) {
    size_t end = sample.find(kGroupSeparator);
    const std::string_view value = sample.substr(0, end);
    sample = end == std::string_view::npos ? std::string_view() : sample.substr(end + 1);
    key(name);
    if (value.size() == 1 && value[0] == kSampleNull) {
      out.append("null");
    } else if (number) {
      out.append(value);  // the figure of the firing, written as a JSON number
    } else {
      appendJsonString(out, value);
    }
  };
  if (chained) {
    append("value", true);
  } else {
    for (const FieldId id : ids) append(rules.fieldPaths()[id], false);
  }
  if (separator == '{') out.push_back('{');
  out.push_back('}');
}

}  // namespace trailwatch::engine
