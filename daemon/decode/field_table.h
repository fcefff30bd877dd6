// FieldTable: the Event that decoders of non-JSON formats (pgaudit, auditd,
// access logs, syslog) fill, field by field, as they parse a record.
//
// setFields() receives the paths the rules read; a decoder then offers every
// field it knows (`db.user`, `event.action`, a format's own `auditd.key`…)
// with add(), and only the wanted ones are kept: an unwanted offer costs one
// hash lookup, nothing is copied. Offering the same path twice gives the
// field two values (a rule matches when any of them matches).
//
// Lifetime: values are views into the record or into the table's scratch
// arena (keep(): text the decoder had to rewrite, such as unescaped or
// hex-decoded values). Both stay valid until the next begin() or
// setFields(), which matches event.h's promise for decoders.
//
// Thread-safety: none; one per decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/decode/value_store.h"
#include "trailwatch/event.h"

namespace trailwatch::decode {

class FieldTable final : public Event {
 public:
  void setFields(std::span<const std::string> paths);

  // Starts a new record: forgets every value and the scratch text.
  void begin(std::string_view raw);

  // True when some rule reads `path`: decoders may skip work for fields
  // nobody wants.
  bool wants(std::string_view path) const { return index_.find(path) != index_.end(); }

  void add(std::string_view path, const FieldValue& value);
  void addString(std::string_view path, std::string_view text);
  // A number when `text` is one (as written), else a string.
  void addNumber(std::string_view path, std::string_view text);
  void addBool(std::string_view path, bool value);

  // Copies `text` into the scratch arena; the view lives until begin().
  std::string_view keep(std::string_view text);

  std::string_view raw() const override { return raw_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, FieldId, Hash, std::equal_to<>> index_;
  ValueStore values_;
  std::string_view raw_;
  // Scratch arena: fixed-size chunks, so earlier views never move.
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t chunk_ = 0, used_ = 0;
  std::vector<std::string> oversized_;  // text larger than a chunk
};

}  // namespace trailwatch::decode
