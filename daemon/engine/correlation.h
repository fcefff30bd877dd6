// Correlation: the compiled form of a Sigma correlation rule (Sigma
// correlation rules specification 2.x, plus the 2.1 value_sum / value_avg /
// value_percentile types) and of the two trailwatch extensions that keep
// state per group: `type: absence` and per-rule `suppress`.
//
// These are plain immutable values inside a RuleSet. The state they drive
// (windows per group) lives in correlation_state.h.
//
// Thread-safety: immutable once the RuleSet is built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trailwatch/event.h"

namespace trailwatch::engine {

enum class CorrelationType : uint8_t {
  kEventCount,       // events in the window
  kValueCount,       // distinct values of `field` in the window
  kTemporal,         // distinct referenced rules in the window (default: all of them)
  kTemporalOrdered,  // all referenced rules, in the order listed, within the window
  kValueSum,         // sum of the numeric `field` in the window
  kValueAvg,         // mean of the numeric `field`
  kValuePercentile,  // the `percentile`-th percentile of the numeric `field`
  kAbsence,          // extension: no referenced event for a group within the timespan
};

const char* correlationTypeName(CorrelationType type);

// `condition:` of a correlation: every bound given must hold (a range is two
// bounds). An empty condition holds for every value.
struct CountCondition {
  std::optional<double> gt, gte, lt, lte, eq;

  bool empty() const { return !gt && !gte && !lt && !lte && !eq; }
  bool test(double value) const {
    return (!gt || value > *gt) && (!gte || value >= *gte) && (!lt || value < *lt) &&
           (!lte || value <= *lte) && (!eq || value == *eq);
  }
};

// What a correlation reads from one of the rules it refers to.
struct CorrelationInput {
  bool from_correlation = false;  // the referenced rule is itself a correlation (a chain)
  uint32_t index = 0;             // rule index, or correlation index when from_correlation
  // Per entry of Correlation::group_by: the field read from the referenced
  // rule's events (the alias resolved for this rule). Unused for chains,
  // which pass their own group values on.
  std::vector<FieldId> group_fields;
  // The ids of the fields a sample of this input's events carries, and the
  // names it renders with (correlation_sample.h): the correlation's
  // `fields`, else the referenced rule's. Empty for chains.
  std::vector<FieldId> sample_fields;
};

// Extension: per-rule alert suppression. The first match of a key alerts;
// later matches of the same key within `timespan_nanos` of it are counted,
// not alerted, and one summary alert with the count follows the window.
struct Suppression {
  int64_t timespan_nanos = 0;
  std::string timespan_text;    // as written, e.g. "10m"
  std::vector<std::string> by;  // field paths forming the key (empty: one key per rule)
  std::vector<FieldId> by_ids;  // their ids
};

struct Correlation {
  CorrelationType type = CorrelationType::kEventCount;
  uint32_t rule_index = 0;  // its RuleInfo (id, title, level, tags, fields...) in the RuleSet
  // Stable identity across reloads and restarts: type, id (else name, else
  // title) and the rules it reads, so state survives a reload only for an
  // unchanged correlation.
  std::string key;
  int64_t timespan_nanos = 0;
  std::string timespan_text;  // as written, e.g. "10m"
  CountCondition condition;
  double percentile = 0;           // kValuePercentile: 0..100
  std::string field;               // value_* types: the field the condition is about
  std::vector<FieldId> field_ids;  // per input: the field's id in that input's events
  // group-by names (fields or alias names), sorted so that chained
  // correlations with the same grouping produce the same group key.
  std::vector<std::string> group_by;
  std::vector<CorrelationInput> inputs;  // in the order of `rules:`
  bool generate = false;                 // referenced rules also alert on their own
};

}  // namespace trailwatch::engine
