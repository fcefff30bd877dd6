#include "daemon/engine/rule_index.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace trailwatch::engine {
namespace {

// Values of uncased gates are folded into a buffer of this size; a rule
// with a longer uncased literal is not gated (always a candidate).
constexpr size_t kFoldBuffer = 256;

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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

RuleIndex::RuleIndex(const RuleSet& set, std::span<const uint32_t> rules) : size_(rules.size()) {
  for (const uint32_t rule : rules) {
    auto gates = gatesOf(set.detection(rule));
    const bool too_long = std::any_of(gates.begin(), gates.end(), [](const Gate& g) {
      return !g.cased && std::any_of(g.literals.begin(), g.literals.end(),
                                     [](const std::string& l) { return l.size() > kFoldBuffer; });
    });
    if (gates.empty() || too_long) {
      always_.push_back(rule);
      continue;
    }
    for (Gate& gate : gates) {
      auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) {
        return f.field == gate.field && f.cased == gate.cased;
      });
      if (it == fields_.end()) {
        fields_.push_back({gate.field, gate.cased, {}});
        it = fields_.end() - 1;
      }
      for (auto& literal : gate.literals) {
        it->longest = std::max(it->longest, literal.size());
        it->rules_by_literal[std::move(literal)].push_back(rule);
      }
    }
  }
}

void RuleIndex::candidates(const Event& event, std::vector<uint32_t>& out) const {
  out.assign(always_.begin(), always_.end());
  const size_t before = out.size();
  char folded[kFoldBuffer];
  for (const Field& f : fields_) {
    for (const FieldValue& v : event.values(f.field)) {
      // The values a string test compares (detection.cc, isTextual).
      if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber &&
          v.type != FieldValue::Type::kBool) {
        continue;
      }
      if (v.text.size() > f.longest) continue;
      std::string_view key = v.text;
      if (!f.cased) {
        if (key.size() > sizeof folded) continue;  // never: uncased literals fit (see above)
        for (size_t i = 0; i < key.size(); ++i) folded[i] = fold(key[i]);
        key = std::string_view(folded, key.size());
      }
      auto it = f.rules_by_literal.find(key);
      if (it != f.rules_by_literal.end())
        out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
  // always_ is ascending already; the gated rules join it out of order.
  if (out.size() != before) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

}  // namespace trailwatch::engine
