// Event: the decoded view of one log record, as the rule engine reads it.
//
// Field access is pulled: the compiled rule set lists the field paths it
// reads (dotted paths such as `agent.who.identifier.value`), the decoder is
// told that list once (Decoder::setFields) and extracts only those. A field
// is then addressed by its FieldId, its position in that list.
//
// Lifetime: every string_view reachable from an Event (FieldValue::text,
// raw()) points into the read buffer or the decoder's scratch space. It stays
// valid until the next Decoder::decode() call on the same decoder, or until
// the record's buffer is reused (the next Source::next()), whichever comes
// first. Copy what must outlive that (alerts are rendered before it).
//
// Thread-safety: an Event is used by one thread, the one that decoded it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace trailwatch {

// Index of a field path in the list given to Decoder::setFields.
using FieldId = uint32_t;

struct FieldValue {
  enum class Type : uint8_t {
    kNull,
    kBool,
    kNumber,
    kString,
    kComposite,  // an object or array that the path ends on
  };
  Type type = Type::kNull;
  bool boolean = false;  // kBool
  double number = 0;     // kNumber
  // kString: the unescaped string. kNumber: the number as written in the
  // record. kBool: "true"/"false". kNull: "null". kComposite: its raw text.
  std::string_view text;
};

class Event {
 public:
  // Every field's values, by FieldId: fields()[id] is values(id).
  using FieldTable = std::span<const std::span<const FieldValue>>;

  Event() = default;
  // The published table belongs to the event that published it; a copy
  // would read the original's.
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  virtual ~Event() = default;

  // Every value of field `id`: one for a plain value, several where the path
  // crosses arrays (a rule matches when any of them matches), none when the
  // field is absent. Rules ask this dozens of times per event, so it is a
  // read of the published table, not a virtual call.
  std::span<const FieldValue> values(FieldId id) const {
    return id < fields_.size() ? fields_[id] : std::span<const FieldValue>();
  }
  FieldTable fields() const { return fields_; }
  // The ids of the fields that have values, each once, in no set order,
  // when the event keeps such a list; nullptr when it does not. A reader
  // that asks about many fields, most of them absent (the rule index),
  // visits these instead.
  const std::vector<FieldId>* present() const { return present_; }

  // The record as read, without its line terminator: what keyword
  // searches look through, and what alerts carry when a rule names no fields.
  virtual std::string_view raw() const = 0;

 protected:
  // Points values() at `table`, which the implementation keeps current for
  // each record it decodes and publishes again whenever the table moves.
  // Until then (and without one) the event has no fields.
  void publish(FieldTable table) { fields_ = table; }
  // Also names the list present() returns, which the implementation keeps
  // current with the table (nullptr: none).
  void publish(FieldTable table, const std::vector<FieldId>* present) {
    fields_ = table;
    present_ = present;
  }

 private:
  FieldTable fields_;
  const std::vector<FieldId>* present_ = nullptr;
};

}  // namespace trailwatch
