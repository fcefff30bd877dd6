// Correlation samples: the few contributing events an alert shows, stored
// compactly in correlation state (a million groups each hold some) and
// rendered as JSON only when an alert is written.
//
// Encoding: input position (2 bytes), event time (8 bytes, Unix ns), then
// the values of the sample fields separated by kGroupSeparator (a lone
// kSampleNull for an absent value). The sample fields are the input's
// CorrelationInput::sample_fields (the correlation's `fields`, else the
// contributing rule's, chosen when the rules load); a chained
// correlation's input carries one value, `value`, the figure of the
// firing that fed it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "daemon/engine/rule_set.h"

namespace trailwatch::engine {

inline constexpr char kSampleNull = '\x1e';

// Replaces `out` with the sample of `input` at `time` carrying `values`
// (nullptr: absent, written as kSampleNull), each cut to 256 bytes. Sized
// once, then written: the pipeline encodes one per observation.
void encodeSample(std::string& out, uint32_t input, int64_t time,
                  std::span<const std::string_view* const> values);
// Appends the sample as a JSON object: {"@timestamp", "rule", fields...}.
void renderSample(const RuleSet& rules, const Correlation& c, std::string_view sample,
                  std::string& out);

}  // namespace trailwatch::engine
