// Condition: a Sigma detection `condition` compiled into a small expression
// tree over search identifiers (`not` > `and` > `or`, parentheses,
// `1 of pattern`, `all of pattern`, `1 of them`, `all of them`).
//
// Nodes live in one vector and refer to their children by index, so a rule's
// condition is a few contiguous allocations made at load time and evaluation
// walks it without allocating. Search identifiers are referred to by their
// index in the list given to parseCondition().
//
// Thread-safety: immutable once built.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/result.h"

namespace trailwatch::engine {

struct ConditionNode {
  enum class Op : uint8_t { kSearch, kNot, kAnd, kOr };
  Op op = Op::kSearch;
  uint32_t search = 0;       // kSearch: index of the search identifier
  uint32_t first_child = 0;  // others: children are children[first_child, +child_count)
  uint32_t child_count = 0;
};

class Condition {
 public:
  // Parses `text` and adds its nodes; returns the index of its root node, or
  // an error that names the problem and its column in `text`.
  Result<uint32_t> parse(std::string_view text, std::span<const std::string> identifiers);

  uint32_t addNode(ConditionNode::Op op, std::span<const uint32_t> children);
  uint32_t addSearch(uint32_t search);

  void setRoot(uint32_t root) { root_ = root; }
  uint32_t root() const { return root_; }
  const ConditionNode& node(uint32_t index) const { return nodes_[index]; }
  uint32_t child(const ConditionNode& node, uint32_t i) const {
    return children_[node.first_child + i];
  }
  size_t nodeCount() const { return nodes_.size(); }

  // Evaluates the tree; `search(i)` says whether search identifier i matches.
  // `and`/`or` stop at the first child that decides them.
  template <typename SearchFn>
  bool evaluate(const SearchFn& search) const {
    return evaluate(root_, search);
  }

 private:
  template <typename SearchFn>
  bool evaluate(uint32_t index, const SearchFn& search) const {
    const ConditionNode& n = nodes_[index];
    switch (n.op) {
      case ConditionNode::Op::kSearch:
        return search(n.search);
      case ConditionNode::Op::kNot:
        return !evaluate(children_[n.first_child], search);
      case ConditionNode::Op::kAnd:
        for (uint32_t i = 0; i < n.child_count; ++i) {
          if (!evaluate(children_[n.first_child + i], search)) return false;
        }
        return true;
      case ConditionNode::Op::kOr:
        for (uint32_t i = 0; i < n.child_count; ++i) {
          if (evaluate(children_[n.first_child + i], search)) return true;
        }
        return false;
    }
    return false;
  }

  std::vector<ConditionNode> nodes_;
  std::vector<uint32_t> children_;
  uint32_t root_ = 0;
};

}  // namespace trailwatch::engine
