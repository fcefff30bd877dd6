#include "daemon/engine/rule_index.h"

#include <algorithm>
#include <bit>
#include <map>
#include <utility>

namespace trailwatch::engine {
namespace {

// Rules' positions go in bit sets of this many per word.
constexpr uint32_t kWordBits = 64;

// A disjunction of gates: the detection can only match if one of them
// holds. Empty: no gate (every event is a candidate). Gates on the same
// field (and casing) are kept merged.
using Gates = std::vector<Gate>;

size_t literalCount(const Gates& gates) {
  size_t n = 0;
  for (const auto& g : gates) n += g.literals.size();
  return n;
}

// `a or b`: both must be gated; the union, merged per field.
Gates unite(Gates a, const Gates& b) {
  if (a.empty() || b.empty()) return {};
  for (const Gate& g : b) {
    auto it = std::find_if(a.begin(), a.end(),
                           [&](const Gate& x) { return x.field == g.field && x.cased == g.cased; });
    if (it == a.end()) {
      a.push_back(g);
    } else {
      it->literals.insert(it->literals.end(), g.literals.begin(), g.literals.end());
    }
  }
  return a;
}

// `a and b`: either is necessary; the more selective (fewer literals).
Gates either(Gates a, Gates b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return literalCount(b) < literalCount(a) ? b : a;
}

// The gate a field test gives on its own: every value is an exact string.
Gates gatesOfTest(const FieldTest& test) {
  if (test.raw || test.values.empty() || (test.all && test.values.size() > 1)) return {};
  Gate gate;
  gate.field = test.field;
  for (size_t i = 0; i < test.values.size(); ++i) {
    const ValueTest& v = test.values[i];
    if (v.kind != ValueTest::Kind::kString || v.pattern.shape() != SigmaPattern::Shape::kExact) {
      return {};
    }
    if (i == 0) {
      gate.cased = v.pattern.cased();
    } else if (v.pattern.cased() != gate.cased) {
      return {};
    }
    gate.literals.push_back(v.pattern.literal());
  }
  return {gate};
}

Gates gatesOfSearch(const Search& search) {
  Gates out;
  for (size_t i = 0; i < search.alternatives.size(); ++i) {
    Gates mine;  // an AND of field tests: any gated one will do
    for (const FieldTest& test : search.alternatives[i]) mine = either(mine, gatesOfTest(test));
    if (mine.empty()) return {};
    out = i == 0 ? std::move(mine) : unite(std::move(out), mine);
  }
  return out;
}

Gates gatesOf(const Detection& d, uint32_t node_index) {
  const ConditionNode& node = d.condition.node(node_index);
  switch (node.op) {
    case ConditionNode::Op::kSearch:
      return gatesOfSearch(d.searches[node.search]);
    case ConditionNode::Op::kNot:
      return {};
    case ConditionNode::Op::kAnd: {
      Gates out;
      for (uint32_t i = 0; i < node.child_count; ++i) {
        out = either(std::move(out), gatesOf(d, d.condition.child(node, i)));
      }
      return out;
    }
    case ConditionNode::Op::kOr: {
      Gates out;
      for (uint32_t i = 0; i < node.child_count; ++i) {
        Gates child = gatesOf(d, d.condition.child(node, i));
        if (child.empty()) return {};
        out = i == 0 ? std::move(child) : unite(std::move(out), child);
      }
      return out;
    }
  }
  return {};
}

}  // namespace

std::vector<Gate> gatesOf(const Detection& detection) {
  if (detection.condition.nodeCount() == 0) return {};
  Gates gates = gatesOf(detection, detection.condition.root());
  for (Gate& g : gates) {
    std::sort(g.literals.begin(), g.literals.end());
    g.literals.erase(std::unique(g.literals.begin(), g.literals.end()), g.literals.end());
  }
  return gates;
}

RuleIndex::RuleIndex(const RuleSet& set, std::span<const uint32_t> rules)
    : rules_(rules.begin(), rules.end()) {
  always_bits_.assign((rules_.size() + kWordBits - 1) / kWordBits, 0);
  // Per field: each literal and the positions of the rules it admits.
  std::vector<std::map<std::string, std::vector<uint32_t>>> admits;
  for (uint32_t position = 0; position < rules_.size(); ++position) {
    auto gates = gatesOf(set.detection(rules_[position]));
    if (gates.empty()) {
      always_bits_[position / kWordBits] |= uint64_t{1} << (position % kWordBits);
      ++ungated_;
      continue;
    }
    for (Gate& gate : gates) {
      auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) {
        return f.field == gate.field && f.cased == gate.cased;
      });
      if (it == fields_.end()) {
        fields_.push_back({});
        fields_.back().field = gate.field;
        fields_.back().cased = gate.cased;
        admits.emplace_back();
        it = fields_.end() - 1;
      }
      auto& by_literal = admits[static_cast<size_t>(it - fields_.begin())];
      for (auto& literal : gate.literals) by_literal[std::move(literal)].push_back(position);
    }
  }
  for (size_t i = 0; i < fields_.size(); ++i) {
    Field& f = fields_[i];
    std::vector<std::string> literals;
    for (const auto& [literal, positions] : admits[i]) {
      literals.push_back(literal);
      f.admits.push_back(
          {static_cast<uint32_t>(positions_.size()), static_cast<uint32_t>(positions.size())});
      positions_.insert(positions_.end(), positions.begin(), positions.end());
    }
    f.literals = LiteralSet(literals, f.cased);
  }
}

void RuleIndex::candidates(const Event& event, Candidates& out) const {
  out.bits.assign(always_bits_.begin(), always_bits_.end());
  for (const Field& f : fields_) {
    for (const FieldValue& v : event.values(f.field)) {
      // The values a string test compares (detection.cc, isTextual).
      if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber &&
          v.type != FieldValue::Type::kBool) {
        continue;
      }
      const int32_t literal = f.literals.find(v.text);
      if (literal < 0) continue;
      const Range admits = f.admits[static_cast<size_t>(literal)];
      for (uint32_t i = admits.first; i < admits.first + admits.count; ++i) {
        out.bits[positions_[i] / kWordBits] |= uint64_t{1} << (positions_[i] % kWordBits);
      }
    }
  }
  out.rules.clear();
  for (size_t w = 0; w < out.bits.size(); ++w) {
    for (uint64_t bits = out.bits[w]; bits != 0; bits &= bits - 1) {
      out.rules.push_back(rules_[w * kWordBits + static_cast<size_t>(std::countr_zero(bits))]);
    }
  }
}

}  // namespace trailwatch::engine
