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
// and sets the bits of the rules they admit over those of the ungated ones;
// candidates come out in ascending rule order, so alerts keep the order full
// evaluation gives. Full evaluation of the candidates still decides: the
// index only leaves out rules that could not have matched.
//
// Literals are looked up in a LiteralSet per field: one probe per value.
//
// Thread-safety: immutable after construction; candidates() may run
// concurrently, each thread with Candidates of its own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/common/literal_set.h"
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
  // What candidates() gives, and its scratch: keep one per thread and reuse
  // it, so that no event allocates.
  struct Candidates {
    std::vector<uint32_t> rules;  // ascending rule indices
    std::vector<uint64_t> bits;   // by position in the indexed rules
  };

  RuleIndex() = default;
  // Indexes `rules` of `set` (RuleSet::rulesFor(), ascending).
  RuleIndex(const RuleSet& set, std::span<const uint32_t> rules);

  // Sets out.rules to the rules that may match `event`, ascending.
  void candidates(const Event& event, Candidates& out) const;

  size_t size() const { return rules_.size(); }          // rules indexed
  size_t ungated() const { return ungated_; }            // always candidates
  size_t gatedFields() const { return fields_.size(); }  // fields read per event

 private:
  struct Range {
    uint32_t first = 0, count = 0;
  };
  struct Field {
    FieldId field = 0;
    bool cased = false;
    LiteralSet literals;
    std::vector<Range> admits;  // by literal: the positions (in positions_) it admits
  };
  std::vector<Field> fields_;
  std::vector<uint32_t> rules_;        // indexed rules, ascending: position -> rule
  std::vector<uint64_t> always_bits_;  // positions of the ungated rules
  std::vector<uint32_t> positions_;
  size_t ungated_ = 0;
};

}  // namespace trailwatch::engine
