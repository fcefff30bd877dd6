// SnapshotHolder<T>: the active immutable T (the compiled rule set, the
// lookup tables), swapped atomically on reload.
//
// Pipelines take a snapshot (a shared_ptr to the immutable T) per batch and
// compare generation() to notice a swap, so a reload never blocks
// evaluation, and an old T, whose views events may still hold, lives until
// its last batch finishes.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "daemon/engine/rule_set.h"
#include "daemon/enrich/enricher.h"

namespace trailwatch::server {

template <typename T>
class SnapshotHolder {
 public:
  explicit SnapshotHolder(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

  std::shared_ptr<const T> snapshot() const { return current_.load(); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  void replace(std::shared_ptr<const T> next) {
    current_.store(std::move(next));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
  std::atomic<uint64_t> generation_{0};
};

using RuleSetHolder = SnapshotHolder<engine::RuleSet>;
using LookupSetHolder = SnapshotHolder<enrich::LookupSet>;

}  // namespace trailwatch::server
