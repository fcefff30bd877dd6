// RuleIndex: which of a source's rules an event can possibly match, so that
// each event visits only its candidate rules instead of every rule.
//
// A rule's detection implies necessary conditions, its clauses, each a
// disjunction of gates: a field equals one of a few literals
// (`eventName: StopLogging`, `event.action: [export, print]`), starts or
// ends with one, or contains one (`event.action|startswith: audit.`,
// `url.path|endswith: /$export`, `x: 'abc*'`), or a field has a value at
// all (any other test that fails on an absent field: `responseStatus.code:
// 403`, `source.ip|cidr: ...`, and for `fieldref` the referenced field
// too). An event is a candidate for the rule only when every clause holds:
// `(eventName: DeleteSnapshot ...) and event.outcome: success` turns away an
// event without that eventName even though it succeeded, and a Kubernetes
// rule an event without `responseStatus.code`. Clauses are derived from the
// condition so that they are necessary, never merely likely: a field test
// gives literal gates when its values are all Sigma strings without
// wildcards inside (exact, prefix, suffix or contains; one casing, no other
// modifier), else a presence gate when it cannot hold on an absent field;
// an AND (of tests, or `and`) keeps the clauses of every part; an OR (of
// alternatives, or `or`) needs every branch to have clauses and combines
// them pairwise (the union of one clause of each branch, for each pair up
// to a bound); `not` and anything else give none. A rule without clauses is
// always a candidate. A prefix, suffix or contains gate costs lookups of
// parts of the value where presence costs nothing, and is read for every
// event with the field, so only a rule's most selective clause keeps them;
// in its other clauses they become presence gates.
//
// Per event the index reads each gated field the event has once (through
// the event's list of its fields, Event::present(), where it keeps one;
// else it asks for every gated field): its values are looked up in one
// LiteralSet per field and kind of gate (folded like Sigma's
// case-insensitive comparison unless the gate is cased) -- the value
// itself for equality, its head or tail of each length the literals have
// for prefixes and suffixes, each of its substrings of those lengths for
// contains -- and a field with values meets its presence gates. Each hit
// sets the bit of the clause it satisfies. A rule's most selective clause
// has its bit among the rules' (beside those of the ungated rules); a rule
// whose bit is set is a candidate when its other clauses' bits are set
// too. Candidates come out in ascending rule order, so alerts keep the
// order full evaluation gives. Evaluation of the candidates still decides,
// taking as true the searches their clauses imply (searchesImplied()), and
// a rule whose clauses are exactly its detection (clausesDecide()) match()
// takes as it is: the index only leaves out rules that could not have
// matched.
//
// Thread-safety: immutable after construction; candidates() and match()
// may run concurrently, each thread with Candidates of its own.
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

// A field that must equal (or start with, end with, contain: `shape`) one
// of `literals`, or (`present`) have a value.
struct Gate {
  FieldId field = 0;
  bool cased = false;    // literals compare as written, not folded
  bool present = false;  // any value will do; no literals
  // kExact, kPrefix, kSuffix or kContains.
  SigmaPattern::Shape shape = SigmaPattern::Shape::kExact;
  std::vector<std::string> literals;  // folded unless cased; sorted, distinct
};

// Gates of which one must hold for a detection to match.
using Clause = std::vector<Gate>;

// The clauses of `detection`: it can only match an event on which every one
// of them holds. The most selective first; empty when it has none.
std::vector<Clause> clausesOf(const Detection& detection);

// The searches of `detection` that hold on every event all of `clauses`
// (its clausesOf()) hold on: one-map searches whose tests each hold exactly
// when a clause among them does (literal tests, `exists: true`), where no
// such clause was left out or turned into presence. Search i is bit i (the
// first 64). A candidate's evaluation takes them as true: in `selection
// and not filter` only the filter is evaluated.
uint64_t searchesImplied(const Detection& detection, const std::vector<Clause>& clauses);

// Whether `detection` matches exactly when its clauses hold, so that the
// index decides it without evaluation: an AND of searches, each of them
// implied (searchesImplied()).
bool clausesDecide(const Detection& detection);

class RuleIndex {
 public:
  // What candidates() gives, and its scratch: keep one per thread and reuse
  // it, so that no event allocates.
  struct Candidates {
    std::vector<uint32_t> rules;  // ascending rule indices
    std::vector<uint64_t> bits;   // rules' and clauses' (RuleIndex::initial_bits_)
  };

  RuleIndex() = default;
  // Indexes `rules` of `set` (RuleSet::rulesFor(), ascending).
  RuleIndex(const RuleSet& set, std::span<const uint32_t> rules);

  // Sets out.rules to the rules that may match `event`, ascending.
  void candidates(const Event& event, Candidates& out) const;
  // Appends to `matched` the rules that match `event`, ascending (what
  // set.evaluate() of every indexed rule appends): the candidates, each
  // evaluated unless its clauses decide it (clausesDecide()), without the
  // searches its clauses imply (searchesImplied()).
  void match(const Event& event, const RuleSet& set, Candidates& scratch,
             std::vector<uint32_t>& matched) const;

  size_t size() const { return rules_.size(); }        // rules indexed
  size_t ungated() const { return ungated_; }          // always candidates
  size_t gatedFields() const { return read_.size(); }  // fields read per event

 private:
  struct Range {
    uint32_t first = 0, count = 0;
  };
  // The gates on one field. A value sets the bits of the clauses it
  // satisfies: targets_[present] for any value; for a value equal to a
  // literal, targets_[admits[literal]] (folded or cased); the same for a
  // value whose head (prefix gates), tail (suffix) or some substring
  // (contains) of one of `lengths` is a literal. Only a head, tail or
  // substring whose first byte (last, for a suffix) is in `edges` is looked
  // up: most are turned away by that bit.
  struct Literals {
    SigmaPattern::Shape shape = SigmaPattern::Shape::kExact;
    LiteralSet set;
    std::vector<Range> admits;      // by literal
    std::vector<uint32_t> lengths;  // the literals' lengths, ascending, distinct
    // A bit per byte value that starts (ends, for suffixes) a literal; for
    // folded literals, both cases of a letter.
    uint64_t edges[4] = {};
    bool hasEdge(char c) const {
      const auto b = static_cast<unsigned char>(c);
      return (edges[b / 64] >> (b % 64) & 1) != 0;
    }
  };
  struct Field {
    Range present;
    std::vector<Literals> literals;  // by shape and casing, those it has
  };
  // What else a rule whose bit is set needs: the bits of its other clauses,
  // `mask` << `shift` in word `word` (a rule's clauses never straddle words).
  struct Rest {
    uint32_t word = 0;
    uint32_t shift = 0;
    uint64_t mask = 0;
  };
  // The fields read per event, ascending, and their gates.
  std::vector<FieldId> read_;
  // By FieldId: the position in read_ (and fields_), or kNotRead; covers
  // the ids up to the largest read. An event that lists its present fields
  // (Event::present()) is read through this instead of through read_.
  static constexpr uint32_t kNotRead = UINT32_MAX;
  std::vector<uint32_t> field_slot_;
  // Sets the bits of the gates `event` meets (out.bits).
  void gather(const Event& event, Candidates& out) const;
  // Calls fn(position) for each candidate of gathered `out`, ascending.
  template <typename Fn>
  void forEachCandidate(const Candidates& out, Fn&& fn) const;

  std::vector<Field> fields_;
  std::vector<uint32_t> rules_;    // indexed rules, ascending: position -> rule
  std::vector<Rest> rest_;         // by position
  std::vector<uint8_t> decided_;   // by position: clausesDecide()
  std::vector<uint64_t> holding_;  // by position: searchesImplied()
  // Bits: words [0, rule_words_) by rule position (set from the start for
  // an ungated rule, else by its most selective clause), then the other
  // clauses.
  size_t rule_words_ = 0;
  std::vector<uint64_t> initial_bits_;
  // Bits to set, a word at a time: a gate's bits are
  // targets_[first, first + count), ascending by word.
  struct Target {
    uint32_t word = 0;
    uint64_t bits = 0;
  };
  std::vector<Target> targets_;
  size_t ungated_ = 0;
};

}  // namespace trailwatch::engine
