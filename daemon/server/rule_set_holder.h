// RuleSetHolder: the active compiled rule set, swapped atomically on reload.
//
// Pipelines take a snapshot (a shared_ptr to the immutable RuleSet) per
// batch and compare generation() to notice a swap, so a reload never
// blocks evaluation and an old set lives until its last batch finishes.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "daemon/engine/rule_set.h"

namespace trailwatch::server {

class RuleSetHolder {
 public:
  explicit RuleSetHolder(std::shared_ptr<const engine::RuleSet> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const engine::RuleSet> snapshot() const { return current_.load(); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  void replace(std::shared_ptr<const engine::RuleSet> next) {
    current_.store(std::move(next));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::shared_ptr<const engine::RuleSet>> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace trailwatch::server
