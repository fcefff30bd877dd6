// LookupSet, Enricher and EnrichedEvent: the enrichment stage between the
// decoder and the rule engine.
//
// A LookupSet is every configured LookupTable at one moment: an immutable
// snapshot, shared as shared_ptr<const LookupSet> and swapped whole on
// reload. An Enricher binds a snapshot to a decoder's field list (the
// FieldIds rules use) once; then enrich() wraps each decoded Event in an
// EnrichedEvent that answers a field with the record's own values when it
// has any, else with the cell of the row whose key equals the table's
// `match` field (first table in configuration order that has a non-empty
// cell for it), else nothing. The `match` paths must be in the field list
// for a table to take effect.
//
// enrich() does one hash lookup per table and never allocates. Counters of
// hits (a row was found) and misses (the match field had a value, no row
// had that key) accumulate per table until takeCounts().
//
// Rules ask for fields dozens of times per event (every field test and the
// rule index read them), so the EnrichedEvent answers from a table it
// publishes (event.h) rather than looking anything up per ask: enrich()
// copies the base event's table and fills in, for each field some table
// provides and the record lacks, the providing cell. When no table has a
// row for the event (or none provides a field rules read), enrich() hands
// back the event itself: there is nothing to add.
//
// Lifetime: the EnrichedEvent returned by enrich() is reused by the next
// call; its views point into the base Event (valid as event.h says) and
// into the tables (valid while the Enricher, which holds the snapshot,
// lives).
//
// Thread-safety: LookupSet is immutable. An Enricher (and its event) is
// used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/enrich/lookup_table.h"
#include "trailwatch/event.h"

namespace trailwatch::enrich {

class LookupSet {
 public:
  explicit LookupSet(std::vector<std::shared_ptr<const LookupTable>> tables)
      : tables_(std::move(tables)) {}

  size_t size() const { return tables_.size(); }
  const LookupTable& table(size_t i) const { return *tables_[i]; }
  const std::shared_ptr<const LookupTable>& tablePtr(size_t i) const { return tables_[i]; }
  // Every table's `match` path, deduplicated, in table order.
  std::vector<std::string> matchPaths() const;

 private:
  std::vector<std::shared_ptr<const LookupTable>> tables_;
};

class Enricher;

class EnrichedEvent : public Event {
 public:
  std::string_view raw() const override { return base_->raw(); }

 private:
  friend class Enricher;
  const Event* base_ = nullptr;
  // By FieldId: the base event's values, else the providing cell.
  std::vector<std::span<const FieldValue>> table_;
  // The base event's present() and the fields filled from cells; kept
  // only when the base event lists its own.
  std::vector<FieldId> present_;
};

struct LookupCounts {
  uint64_t hits = 0;
  uint64_t misses = 0;
};

class Enricher {
 public:
  Enricher(std::shared_ptr<const LookupSet> set, std::span<const std::string> paths);
  // The event it hands out points back at it.
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;

  const std::shared_ptr<const LookupSet>& set() const { return set_; }

  // `event` must stay valid while the result is used.
  const Event& enrich(const Event& event);

  // Counts per table (LookupSet order) since the last call; resets them.
  void takeCounts(std::vector<LookupCounts>& out);

 private:
  struct Provider {
    uint32_t table;
    uint32_t column;
  };

  std::shared_ptr<const LookupSet> set_;
  std::vector<int64_t> match_ids_;        // per table; -1: not in the field list
  std::vector<uint32_t> provider_begin_;  // per FieldId, +1 sentinel
  std::vector<Provider> providers_;       // grouped by FieldId
  std::vector<FieldId> provided_;         // the FieldIds that have providers
  std::vector<const FieldValue*> rows_;   // per table, for the current event
  std::vector<LookupCounts> counts_;      // per table
  EnrichedEvent event_;
};

}  // namespace trailwatch::enrich
