// LookupSetHolder: the active lookup tables, swapped atomically on reload,
// the way RuleSetHolder swaps rule sets.
//
// Pipelines take a snapshot per batch and compare generation() to notice a
// swap; the enrichment values an event carries point into the snapshot, so
// an old set lives until its last batch finishes.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "daemon/enrich/enricher.h"

namespace trailwatch::server {

class LookupSetHolder {
 public:
  explicit LookupSetHolder(std::shared_ptr<const enrich::LookupSet> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const enrich::LookupSet> snapshot() const { return current_.load(); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  void replace(std::shared_ptr<const enrich::LookupSet> next) {
    current_.store(std::move(next));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::shared_ptr<const enrich::LookupSet>> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace trailwatch::server
