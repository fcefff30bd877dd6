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
  void set(FieldId id, std::vector<FieldValue> values) { fields_[id] = std::move(values); }
  std::span<const FieldValue> values(FieldId id) const override {
    auto it = fields_.find(id);
    return it == fields_.end() ? std::span<const FieldValue>() : std::span(it->second);
  }
  std::string_view raw() const override { return raw_; }

 private:
  std::string raw_;
  std::map<FieldId, std::vector<FieldValue>> fields_;
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
