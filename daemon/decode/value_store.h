// ValueStore: the values a decoder extracted from one record, by FieldId,
// and the table of spans over them that its Event publishes (event.h), so
// that reading a field is one indexed load.
//
// add() keeps the field's span current as its values grow; clear() forgets
// the record's values (only the fields it touched), keeping every vector's
// capacity for the next record.
//
// Thread-safety: none; one per decoder.
#pragma once

#include <span>
#include <vector>

#include "trailwatch/event.h"

namespace trailwatch::decode {

class ValueStore {
 public:
  ValueStore() = default;
  // The table points into this store's vectors: an Event keeps a pointer to
  // it, so a store is not copied.
  ValueStore(const ValueStore&) = delete;
  ValueStore& operator=(const ValueStore&) = delete;

  // Makes room for `fields` fields, with no values. The table moves: the
  // Event must publish table() again.
  void reset(size_t fields) {
    clear();
    values_.resize(fields);
    spans_.assign(fields, {});
  }

  void clear() {
    for (FieldId id : touched_) {
      values_[id].clear();
      spans_[id] = {};
    }
    touched_.clear();
  }

  void add(FieldId id, const FieldValue& value) {
    auto& slot = values_[id];
    if (slot.empty()) touched_.push_back(id);
    slot.push_back(value);
    spans_[id] = slot;
  }

  Event::FieldTable table() const { return spans_; }
  // The ids with values in this record, each once (Event::present()).
  const std::vector<FieldId>& present() const { return touched_; }

 private:
  std::vector<std::vector<FieldValue>> values_;     // by FieldId; capacity reused
  std::vector<std::span<const FieldValue>> spans_;  // by FieldId, over values_
  std::vector<FieldId> touched_;                    // ids with values in this record
};

}  // namespace trailwatch::decode
