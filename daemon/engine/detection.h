// Detection: a Sigma rule's `detection` section compiled into matchers.
//
// A Detection is a list of searches (one per search identifier) and the
// condition over them. A search is an OR of alternatives (a list of maps), an
// alternative an AND of field tests (one map), a field test an OR (or, with
// the `all` modifier, an AND) of value tests over one field's values. Keyword
// searches are field tests on the raw record. Every pattern, regex and
// network is compiled when the rule loads; matches() only compares, never
// allocates, and stops at the first test that decides an `and`/`or`.
//
// Type rules, as Sigma leaves them to the implementation: a string value
// matches string, number and boolean fields by their text; a number matches
// a number field numerically or a string field holding that number; `null`
// matches an absent or null field; object-valued fields are only seen by
// `exists`.
//
// Thread-safety: immutable once built; matches() may run concurrently (RE2
// objects are safe for concurrent matching).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "daemon/engine/condition.h"
#include "daemon/engine/ip_network.h"
#include "daemon/engine/sigma_pattern.h"
#include "trailwatch/event.h"

namespace trailwatch::engine {

// Parses a decimal number ("42", "-1.5", "2e3"); nullopt for anything else,
// including hex, "inf", "nan" and surrounding spaces. Never allocates.
std::optional<double> parseDecimal(std::string_view text);

struct ValueTest {
  enum class Kind : uint8_t {
    kString,    // pattern over the text
    kRegex,     // RE2 partial match over the text
    kNumber,    // numeric equality
    kCompare,   // gt / gte / lt / lte
    kBool,      // boolean equality
    kNull,      // absent or null
    kExists,    // present (flag) or absent (!flag)
    kCidr,      // address inside any of `networks`
    kFieldRef,  // equal to (or anchored against) another field's value
    kNever,     // an `expand` placeholder with no values: matches nothing, even under `all`
  };
  enum class Compare : uint8_t { kGt, kGte, kLt, kLte };

  Kind kind = Kind::kString;
  Compare compare = Compare::kGt;
  bool flag = false;   // kBool: the value; kExists: whether the field must exist
  bool cased = false;  // kFieldRef
  SigmaPattern::Anchor anchor = SigmaPattern::Anchor::kWhole;  // kFieldRef
  FieldId ref = 0;                                             // kFieldRef
  double number = 0;                                           // kNumber, kCompare
  SigmaPattern pattern;                                        // kString
  std::shared_ptr<const RE2> regex;                            // kRegex
  // kCidr: the address is parsed once for all of them (a field test's
  // `cidr` values are one ValueTest unless it has `all`).
  std::vector<IpNetwork> networks;

  bool matches(std::span<const FieldValue> values, const Event& event) const;

 private:
  bool matchesOne(const FieldValue& value, const Event& event) const;
};

struct FieldTest {
  bool raw = false;  // keyword search: the values are looked for in Event::raw()
  bool all = false;  // every value test must match, not just one
  FieldId field = 0;
  std::vector<ValueTest> values;

  bool matches(const Event& event) const;
  // Whether the test holds on a field the event has no values of (never
  // for a keyword search).
  bool matchesAbsent() const;
  // The test over `values`: the field's values, or for a keyword search
  // the raw record as one value.
  bool matchesValues(std::span<const FieldValue> values, const Event& event) const;
};

struct Search {
  // OR over alternatives, AND within one.
  std::vector<std::vector<FieldTest>> alternatives;

  bool matches(const Event& event) const;
};

struct Detection {
  std::vector<Search> searches;
  Condition condition;

  bool matches(const Event& event) const {
    return condition.evaluate([&](uint32_t search) { return searches[search].matches(event); });
  }
};

// The searches of many detections laid out for evaluation: every search,
// alternative and field test in one contiguous array each, in rule order,
// where a Detection holds each level in a vector of its own. Evaluating a
// rule then walks a few adjacent cache lines instead of a chain of heap
// blocks, and a test of a field the event lacks is decided from the flat
// entry alone (its outcome on no values is worked out here), without
// reading the test's values. The conditions are the detections' own.
// Same results as Detection::matches(), which the evaluator tests hold it
// to.
//
// Thread-safety: immutable once built. It points into `detections`, which
// must outlive it unchanged.
class FlatDetections {
 public:
  explicit FlatDetections(std::span<const Detection> detections);

  // Detection::matches() of detections[index]. The searches whose bits
  // are set in `holding` (search i: bit i) are known to hold on `event`
  // and are taken as true without evaluation (RuleIndex: searches a
  // candidate's clauses imply).
  bool matches(size_t index, const Event& event, uint64_t holding = 0) const {
    const uint32_t first = first_search_[index];
    return detections_[index].condition.evaluate([&](uint32_t search) {
      return (search < 64 && (holding >> search & 1) != 0) || searchMatches(first + search, event);
    });
  }

 private:
  struct Range {
    uint32_t first = 0, count = 0;
  };
  struct Test {
    FieldId field = 0;
    bool raw = false;
    bool on_absent = false;  // the outcome when the field has no values
    const FieldTest* test = nullptr;
  };
  bool searchMatches(uint32_t search, const Event& event) const;

  std::span<const Detection> detections_;
  std::vector<uint32_t> first_search_;  // per detection
  std::vector<Range> searches_;         // alternatives of each search
  std::vector<Range> alternatives_;     // tests of each alternative
  std::vector<Test> tests_;
};

}  // namespace trailwatch::engine
