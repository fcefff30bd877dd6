#include "daemon/engine/rule_index.h"

#include <algorithm>
#include <bit>
#include <map>
#include <tuple>
#include <utility>

#include "daemon/common/ascii.h"

namespace trailwatch::engine {
namespace {

// Rules' and clauses' bits go in words of this many.
constexpr uint32_t kWordBits = 64;

// At most this many clauses are kept per condition (the most selective):
// fewer is still necessary, and it bounds what an `or` multiplies.
constexpr size_t kMaxClauses = 8;

// Every clause must hold (a CNF). Empty: no clause (every event is a
// candidate).
using Clauses = std::vector<Clause>;

// Adds `gate` to the disjunction `clause`, merged: one gate per field,
// casing and shape, and a presence gate of a field covers its literal gates.
void addGate(Clause& clause, const Gate& gate) {
  for (Gate& g : clause) {
    if (g.field != gate.field) continue;
    if (g.present) return;
    if (gate.present) {
      std::erase_if(clause, [&](const Gate& x) { return x.field == gate.field; });
      clause.push_back(gate);
      return;
    }
    if (g.cased == gate.cased && g.shape == gate.shape) {
      g.literals.insert(g.literals.end(), gate.literals.begin(), gate.literals.end());
      std::sort(g.literals.begin(), g.literals.end());
      g.literals.erase(std::unique(g.literals.begin(), g.literals.end()), g.literals.end());
      return;
    }
  }
  clause.push_back(gate);
}

bool isPattern(const Gate& g) { return !g.present && g.shape != SigmaPattern::Shape::kExact; }

// Smaller is more selective: equalities before prefixes, suffixes and
// contains, those before presence; fewer literals first.
std::tuple<size_t, size_t, size_t> cost(const Clause& clause) {
  size_t presence = 0, patterns = 0, literals = 0;
  for (const Gate& g : clause) {
    presence += g.present ? 1 : 0;
    patterns += isPattern(g) ? 1 : 0;
    literals += g.literals.size();
  }
  return {presence, patterns, literals};
}

bool sameGate(const Gate& a, const Gate& b) {
  return std::tie(a.field, a.cased, a.present, a.shape, a.literals) ==
         std::tie(b.field, b.cased, b.present, b.shape, b.literals);
}

bool sameClause(const Clause& a, const Clause& b) {
  if (a.size() != b.size()) return false;
  return std::all_of(a.begin(), a.end(), [&](const Gate& g) {
    return std::any_of(b.begin(), b.end(), [&](const Gate& h) { return sameGate(g, h); });
  });
}

// Most selective first, duplicates dropped, at most kMaxClauses.
Clauses tidy(Clauses clauses) {
  std::stable_sort(clauses.begin(), clauses.end(),
                   [](const Clause& a, const Clause& b) { return cost(a) < cost(b); });
  Clauses out;
  for (Clause& c : clauses) {
    if (out.size() == kMaxClauses) break;
    if (std::none_of(out.begin(), out.end(), [&](const Clause& o) { return sameClause(o, c); })) {
      out.push_back(std::move(c));
    }
  }
  return out;
}

// `a and b`: every clause of both.
Clauses conjoin(Clauses a, Clauses b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return tidy(std::move(a));
}

// `a or b`: both must have clauses. (a1 and a2) or (b1 and b2) implies
// (a1 or b1), (a1 or b2), (a2 or b1) and (a2 or b2); the most selective
// pairs are kept.
Clauses disjoin(const Clauses& a, const Clauses& b) {
  if (a.empty() || b.empty()) return {};
  Clauses out;
  for (const Clause& x : a) {
    for (const Clause& y : b) {
      Clause both = x;
      for (const Gate& g : y) addGate(both, g);
      out.push_back(std::move(both));
    }
  }
  return tidy(std::move(out));
}

Gate presenceOf(FieldId field) {
  Gate g;
  g.field = field;
  g.present = true;
  return g;
}

bool isLiteralShape(SigmaPattern::Shape shape) {
  return shape == SigmaPattern::Shape::kExact || shape == SigmaPattern::Shape::kPrefix ||
         shape == SigmaPattern::Shape::kSuffix || shape == SigmaPattern::Shape::kContains;
}

// Whether a field test is exactly literal gates: some value equals, starts
// with, ends with or contains one of its values, all strings without inner
// wildcards and of one casing (with `all`, only one of them).
bool isLiteralTest(const FieldTest& test) {
  if (test.raw || test.values.empty() || (test.all && test.values.size() > 1)) return false;
  return std::all_of(test.values.begin(), test.values.end(), [&](const ValueTest& v) {
    return v.kind == ValueTest::Kind::kString && isLiteralShape(v.pattern.shape()) &&
           v.pattern.cased() == test.values[0].pattern.cased();
  });
}

// The clauses a field test gives on its own: its literal gates (one per
// shape) when it is literal; else presence, when it cannot hold on an
// absent field, and for `fieldref` values that of the fields they name.
Clauses clausesOfTest(const FieldTest& test) {
  if (test.raw || test.values.empty()) return {};
  if (isLiteralTest(test)) {
    Clause clause;
    for (const ValueTest& v : test.values) {
      Gate gate;
      gate.field = test.field;
      gate.cased = v.pattern.cased();
      gate.shape = v.pattern.shape();
      gate.literals.push_back(v.pattern.literal());
      addGate(clause, gate);
    }
    return {std::move(clause)};
  }
  if (test.matchesAbsent()) return {};
  Clauses out{Clause{presenceOf(test.field)}};
  // A fieldref value needs the field it names. One of the values must hold
  // (all of them, with `all`).
  Clause refs;
  for (const ValueTest& v : test.values) {
    if (v.kind == ValueTest::Kind::kFieldRef) {
      if (test.all) {
        out.push_back(Clause{presenceOf(v.ref)});
      } else {
        addGate(refs, presenceOf(v.ref));
      }
    } else if (!test.all) {
      refs.clear();
      break;
    }
  }
  if (!refs.empty()) out.push_back(std::move(refs));
  return tidy(std::move(out));
}

Clauses clausesOfSearch(const Search& search) {
  Clauses out;
  for (size_t i = 0; i < search.alternatives.size(); ++i) {
    Clauses mine;  // an AND of field tests
    for (const FieldTest& test : search.alternatives[i]) mine = conjoin(mine, clausesOfTest(test));
    if (mine.empty()) return {};
    out = i == 0 ? std::move(mine) : disjoin(out, mine);
    if (out.empty()) return {};
  }
  return out;
}

Clauses clausesOf(const Detection& d, uint32_t node_index) {
  const ConditionNode& node = d.condition.node(node_index);
  switch (node.op) {
    case ConditionNode::Op::kSearch:
      return clausesOfSearch(d.searches[node.search]);
    case ConditionNode::Op::kNot:
      return {};
    case ConditionNode::Op::kAnd: {
      Clauses out;
      for (uint32_t i = 0; i < node.child_count; ++i) {
        out = conjoin(std::move(out), clausesOf(d, d.condition.child(node, i)));
      }
      return out;
    }
    case ConditionNode::Op::kOr: {
      Clauses out;
      for (uint32_t i = 0; i < node.child_count; ++i) {
        Clauses child = clausesOf(d, d.condition.child(node, i));
        if (child.empty()) return {};
        out = i == 0 ? std::move(child) : disjoin(out, child);
      }
      return out;
    }
  }
  return {};
}

// Whether a field test holds exactly when the clause it gives holds: it is
// literal (gates looked up as the test compares), or it is `exists: true`
// (a presence gate).
bool testIsItsGate(const FieldTest& test) {
  if (!test.raw && test.values.size() == 1 && test.values[0].kind == ValueTest::Kind::kExists) {
    return test.values[0].flag;
  }
  return isLiteralTest(test);
}

// Whether `search` holds on every event all of `clauses` hold on: it is
// one map, and each of its tests holds exactly when a clause among them
// does.
bool impliedBy(const Search& search, const Clauses& clauses) {
  if (search.alternatives.size() != 1 || search.alternatives[0].empty()) return false;
  return std::all_of(
      search.alternatives[0].begin(), search.alternatives[0].end(), [&](const FieldTest& test) {
        if (!testIsItsGate(test)) return false;
        const Clauses own = clausesOfTest(test);
        return own.size() == 1 && std::any_of(clauses.begin(), clauses.end(), [&](const Clause& c) {
                 return sameClause(c, own[0]);
               });
      });
}

// Whether the condition below `node_index` is an AND of searches (nested
// ANDs included), each of them set in `holding`.
bool isConjunctionOf(const Detection& d, uint32_t node_index, uint64_t holding) {
  const ConditionNode& node = d.condition.node(node_index);
  switch (node.op) {
    case ConditionNode::Op::kSearch:
      return node.search < 64 && (holding >> node.search & 1) != 0;
    case ConditionNode::Op::kAnd:
      for (uint32_t i = 0; i < node.child_count; ++i) {
        if (!isConjunctionOf(d, d.condition.child(node, i), holding)) return false;
      }
      return node.child_count > 0;
    case ConditionNode::Op::kNot:
    case ConditionNode::Op::kOr:
      return false;
  }
  return false;
}

// Whether `detection` matches exactly when its searches in `holding` hold:
// its condition is an AND of them.
bool decidedBy(const Detection& detection, uint64_t holding) {
  return detection.condition.nodeCount() > 0 &&
         isConjunctionOf(detection, detection.condition.root(), holding);
}

// Turns the prefix, suffix and contains gates of every clause but the first
// (the most selective) into presence gates of their fields; whether there
// were any.
bool keepPatternsFirst(Clauses& clauses) {
  bool changed = false;
  for (size_t c = 1; c < clauses.size(); ++c) {
    Clause& clause = clauses[c];
    if (std::none_of(clause.begin(), clause.end(), isPattern)) continue;
    changed = true;
    Clause loose;
    for (const Gate& g : clause) addGate(loose, isPattern(g) ? presenceOf(g.field) : g);
    clause = std::move(loose);
  }
  return changed;
}

}  // namespace

std::vector<Clause> clausesOf(const Detection& detection) {
  if (detection.condition.nodeCount() == 0) return {};
  Clauses clauses = clausesOf(detection, detection.condition.root());
  if (keepPatternsFirst(clauses)) clauses = tidy(std::move(clauses));
  return clauses;
}

uint64_t searchesImplied(const Detection& detection, const std::vector<Clause>& clauses) {
  uint64_t holding = 0;
  if (clauses.empty()) return holding;
  for (size_t s = 0; s < detection.searches.size() && s < 64; ++s) {
    if (impliedBy(detection.searches[s], clauses)) holding |= uint64_t{1} << s;
  }
  return holding;
}

bool clausesDecide(const Detection& detection) {
  return decidedBy(detection, searchesImplied(detection, clausesOf(detection)));
}

RuleIndex::RuleIndex(const RuleSet& set, std::span<const uint32_t> rules)
    : rules_(rules.begin(), rules.end()),
      rest_(rules_.size()),
      decided_(rules_.size(), 0),
      holding_(rules_.size(), 0) {
  rule_words_ = (rules_.size() + kWordBits - 1) / kWordBits;
  initial_bits_.assign(rule_words_, 0);
  // The bits each gate sets: literal gates by field, casing, shape and
  // literal; presence gates by field.
  using Key = std::tuple<FieldId, bool, SigmaPattern::Shape>;
  std::map<Key, std::map<std::string, std::vector<uint32_t>>> equal;
  std::map<FieldId, std::vector<uint32_t>> present;
  uint32_t next_bit = static_cast<uint32_t>(rule_words_ * kWordBits);
  for (uint32_t position = 0; position < rules_.size(); ++position) {
    const Detection& detection = set.detection(rules_[position]);
    const Clauses clauses = clausesOf(detection);
    holding_[position] = searchesImplied(detection, clauses);
    decided_[position] = decidedBy(detection, holding_[position]);
    if (clauses.empty()) {
      initial_bits_[position / kWordBits] |= uint64_t{1} << (position % kWordBits);
      ++ungated_;
      continue;
    }
    // The others' bits, in one word.
    const auto others = static_cast<uint32_t>(clauses.size() - 1);
    if (next_bit % kWordBits + others > kWordBits) next_bit += kWordBits - next_bit % kWordBits;
    if (others > 0) {
      rest_[position] = {next_bit / kWordBits, next_bit % kWordBits, (uint64_t{1} << others) - 1};
    }
    for (size_t c = 0; c < clauses.size(); ++c) {
      const uint32_t bit = c == 0 ? position : next_bit++;
      for (const Gate& gate : clauses[c]) {
        if (gate.present) {
          present[gate.field].push_back(bit);
          continue;
        }
        auto& by_literal = equal[{gate.field, gate.cased, gate.shape}];
        for (const std::string& literal : gate.literals) by_literal[literal].push_back(bit);
      }
    }
  }
  initial_bits_.resize((next_bit + kWordBits - 1) / kWordBits, 0);
  // A gate's bits, as one mask per word they fall in.
  const auto range = [&](std::vector<uint32_t> bits) {
    std::sort(bits.begin(), bits.end());
    const Range r{static_cast<uint32_t>(targets_.size()), 0};
    for (const uint32_t bit : bits) {
      if (targets_.size() == r.first || targets_.back().word != bit / kWordBits) {
        targets_.push_back({bit / kWordBits, 0});
      }
      targets_.back().bits |= uint64_t{1} << (bit % kWordBits);
    }
    return Range{r.first, static_cast<uint32_t>(targets_.size() - r.first)};
  };
  const auto literals = [&](const std::map<std::string, std::vector<uint32_t>>& by_literal,
                            bool cased, SigmaPattern::Shape shape) {
    Literals out;
    out.shape = shape;
    const auto addEdge = [&](unsigned char b) { out.edges[b / 64] |= uint64_t{1} << (b % 64); };
    std::vector<std::string> texts;
    for (const auto& [literal, bits] : by_literal) {
      texts.push_back(literal);
      out.admits.push_back(range(bits));
      out.lengths.push_back(static_cast<uint32_t>(literal.size()));
      if (literal.empty()) continue;  // kExact only, which has no use for edges
      const char edge = shape == SigmaPattern::Shape::kSuffix ? literal.back() : literal.front();
      addEdge(static_cast<unsigned char>(edge));
      // A folded literal is lower case; the value's byte may be either.
      if (!cased && ascii::isLower(edge)) addEdge(static_cast<unsigned char>(ascii::toUpper(edge)));
    }
    std::sort(out.lengths.begin(), out.lengths.end());
    out.lengths.erase(std::unique(out.lengths.begin(), out.lengths.end()), out.lengths.end());
    out.set = LiteralSet(texts, cased);
    return out;
  };
  for (const auto& [key, by_literal] : equal) read_.push_back(std::get<0>(key));
  for (const auto& [field, bits] : present) read_.push_back(field);
  std::sort(read_.begin(), read_.end());
  read_.erase(std::unique(read_.begin(), read_.end()), read_.end());
  if (!read_.empty()) field_slot_.assign(read_.back() + size_t{1}, kNotRead);
  for (const FieldId id : read_) {
    field_slot_[id] = static_cast<uint32_t>(fields_.size());
    Field& f = fields_.emplace_back();
    if (auto it = present.find(id); it != present.end()) f.present = range(it->second);
    for (auto it = equal.lower_bound({id, false, SigmaPattern::Shape{}});
         it != equal.end() && std::get<0>(it->first) == id; ++it) {
      f.literals.push_back(literals(it->second, std::get<1>(it->first), std::get<2>(it->first)));
    }
  }
}

void RuleIndex::gather(const Event& event, Candidates& out) const {
  out.bits.assign(initial_bits_.begin(), initial_bits_.end());
  uint64_t* bits = out.bits.data();
  const auto set = [&](Range admits) {
    for (uint32_t i = admits.first; i < admits.first + admits.count; ++i) {
      bits[targets_[i].word] |= targets_[i].bits;
    }
  };
  const auto find = [&](const Literals& literals, std::string_view text) {
    const int32_t literal = literals.set.find(text);
    if (literal >= 0) set(literals.admits[static_cast<size_t>(literal)]);
  };
  const auto lookUp = [&](const Literals& literals, std::string_view text) {
    if (literals.shape == SigmaPattern::Shape::kExact) {
      find(literals, text);
      return;
    }
    if (text.empty()) return;
    if (literals.shape == SigmaPattern::Shape::kSuffix) {
      if (!literals.hasEdge(text.back())) return;
      for (const uint32_t n : literals.lengths) {
        if (n > text.size()) break;
        find(literals, text.substr(text.size() - n));
      }
      return;
    }
    // Prefixes start at the value's first byte; contains anywhere.
    const size_t starts = literals.shape == SigmaPattern::Shape::kPrefix ? 1 : text.size();
    for (size_t at = 0; at < starts; ++at) {
      if (!literals.hasEdge(text[at])) continue;
      for (const uint32_t n : literals.lengths) {
        if (n > text.size() - at) break;
        find(literals, text.substr(at, n));
      }
    }
  };
  const auto take = [&](const Field& f, std::span<const FieldValue> values) {
    set(f.present);
    if (f.literals.empty()) return;
    for (const FieldValue& v : values) {
      // The values a string test compares (detection.cc, isTextual).
      if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber &&
          v.type != FieldValue::Type::kBool) {
        continue;
      }
      for (const Literals& literals : f.literals) lookUp(literals, v.text);
    }
  };
  // Most gated fields are absent from a given event: where it lists the
  // fields it has, only those are visited.
  if (const std::vector<FieldId>* present = event.present()) {
    for (const FieldId id : *present) {
      if (id >= field_slot_.size() || field_slot_[id] == kNotRead) continue;
      const auto values = event.values(id);
      if (!values.empty()) take(fields_[field_slot_[id]], values);
    }
    return;
  }
  for (size_t i = 0; i < read_.size(); ++i) {
    const auto values = event.values(read_[i]);
    if (!values.empty()) take(fields_[i], values);
  }
}

template <typename Fn>
void RuleIndex::forEachCandidate(const Candidates& out, Fn&& fn) const {
  const uint64_t* bits = out.bits.data();
  for (size_t w = 0; w < rule_words_; ++w) {
    for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
      const size_t position = w * kWordBits + static_cast<size_t>(std::countr_zero(word));
      const Rest& rest = rest_[position];
      if (((bits[rest.word] >> rest.shift) & rest.mask) != rest.mask) continue;
      fn(position);
    }
  }
}

void RuleIndex::candidates(const Event& event, Candidates& out) const {
  gather(event, out);
  out.rules.clear();
  forEachCandidate(out, [&](size_t position) { out.rules.push_back(rules_[position]); });
}

void RuleIndex::match(const Event& event, const RuleSet& set, Candidates& scratch,
                      std::vector<uint32_t>& matched) const {
  gather(event, scratch);
  forEachCandidate(scratch, [&](size_t position) {
    const uint32_t rule = rules_[position];
    if (decided_[position] || set.matches(rule, event, holding_[position])) matched.push_back(rule);
  });
}

}  // namespace trailwatch::engine
