// RuleIndex: which of a source's rules an event can possibly match, so that
// each event visits only its candidate rules instead of every rule.
//
// Most rules can only match when a field equals one of a few literals
// (`eventSource: iam.amazonaws.com`, `event.action: [export, print]`,
// `type: SYSCALL`): that field and those literals are a gate, and a rule's
// gates are a disjunction it cannot match without (`event.action: export`
// or `resource.type: 110106`). They are derived from the detection's
// condition so that they are necessary, never merely likely: a field test
// whose values are all exact Sigma strings (no wildcard, no modifier but
// `cased`) is a gate; an AND (of tests, or `and`) takes its most selective
// gated part; an OR (of alternatives, or `or`) needs every branch gated and
// takes the union; `not` and anything else give none. A rule without gates
// is always a candidate.
//
// Per event the index reads each gated field once, looks its values up
// (folded like Sigma's case-insensitive equality unless the gate is cased)
// and collects the rules they admit, then the ungated ones; candidates come
// out in ascending rule order, so alerts keep the order full evaluation
// gives. Full evaluation of the candidates still decides: the index only
// leaves out rules that could not have matched.
//
// Thread-safety: immutable after construction; candidates() may run
// concurrently (the caller owns the output vector).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/engine/detection.h"
#include "daemon/engine/rule_set.h"
#include "trailwatch/event.h"

namespace trailwatch::engine {

// A field that must equal one of `literals` for a detection to match.
struct Gate {
  FieldId field = 0;
  bool cased = false;                 // literals compare as written, not folded
  std::vector<std::string> literals;  // folded unless cased
};

// The gates of `detection`: it can only match an event on which one of them
// holds. Empty when it has none.
std::vector<Gate> gatesOf(const Detection& detection);

class RuleIndex {
 public:
  RuleIndex() = default;
  // Indexes `rules` of `set` (RuleSet::rulesFor(), ascending).
  RuleIndex(const RuleSet& set, std::span<const uint32_t> rules);

  // Replaces `out` with the rules that may match `event`, ascending.
  void candidates(const Event& event, std::vector<uint32_t>& out) const;

  size_t size() const { return size_; }                  // rules indexed
  size_t ungated() const { return always_.size(); }      // always candidates
  size_t gatedFields() const { return fields_.size(); }  // fields read per event

 private:
  // Looks literals up by string_view, without making a string per value.
  struct LiteralHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Field {
    FieldId field = 0;
    bool cased = false;
    size_t longest = 0;  // the longest literal: a longer value cannot be one
    std::unordered_map<std::string, std::vector<uint32_t>, LiteralHash, std::equal_to<>>
        rules_by_literal;
  };
  std::vector<Field> fields_;
  std::vector<uint32_t> always_;
  size_t size_ = 0;
};

}  // namespace trailwatch::engine
