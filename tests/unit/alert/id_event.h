// IdEvent: an Event whose field values are given directly by FieldId, for
// the alert tests (rendering, redaction), with helpers that build values.
//
// Thread-safety: none; test-local.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trailwatch/event.h"

namespace trailwatch::alert::testing {

class IdEvent : public Event {
 public:
  explicit IdEvent(std::string raw) : raw_(std::move(raw)) {}
  void set(FieldId id, std::vector<FieldValue> values) {
    by_id_[id] = std::move(values);
    table_.assign(by_id_.rbegin()->first + 1, {});
    for (const auto& [i, v] : by_id_) table_[i] = v;
    publish(table_);
  }
  std::string_view raw() const override { return raw_; }

 private:
  std::string raw_;
  std::map<FieldId, std::vector<FieldValue>> by_id_;
  std::vector<std::span<const FieldValue>> table_;  // over by_id_
};

inline FieldValue str(std::string_view s) {
  FieldValue v;
  v.type = FieldValue::Type::kString;
  v.text = s;
  return v;
}

inline FieldValue num(double d, std::string_view text) {
  FieldValue v;
  v.type = FieldValue::Type::kNumber;
  v.number = d;
  v.text = text;
  return v;
}

}  // namespace trailwatch::alert::testing
