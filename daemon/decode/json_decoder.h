// JsonDecoder: decodes one JSON object per record (NDJSON, Kubernetes audit
// lines, FHIR AuditEvents written one per line) into an Event.
//
// It extracts only the dotted paths given to setFields(). A path step
// matches an object key; a key that itself contains dots
// (`"authorization.k8s.io/decision"`) is matched part by part, so
// `annotations.authorization.k8s.io/decision` addresses it. Where a path
// meets an array, every element is matched against the same step, so a
// field can have several values (`a.b` over `{"a":[{"b":1},{"b":2}]}` gives
// 1 and 2, and a path ending on `["x","y"]` gives "x" and "y"). A path that
// ends on an object gives one kComposite value whose text is the object's
// raw JSON.
//
// Parsing is simdjson On-Demand, in place: the record must be followed by
// trailwatch::kRecordPadding readable bytes (source.h promises it). The
// document is walked once, forward only, descending only into keys some
// path wants; everything else is skipped without being materialized, so a
// syntax error inside a skipped value may go unnoticed (the structure and
// UTF-8 of the whole record are still checked).
//
// Errors (DecodeError::reason): `empty_record`, `not_an_object`,
// `malformed_json` (detail: simdjson's message), `too_deep` (a wanted path
// crosses more than kMaxDepth nested objects/arrays).
//
// Lifetime: values point into the record or the parser's string buffer and
// stay valid until the next decode() or setFields() call (see event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "daemon/decode/key_table.h"
#include "daemon/decode/value_store.h"
#include "trailwatch/decoder.h"
#include "trailwatch/event.h"

namespace trailwatch::decode {

class JsonDecoder final : public Decoder {
 public:
  // Nesting levels a wanted path may cross; deeper records are refused with
  // `too_deep` so hostile input cannot exhaust the stack.
  static constexpr int kMaxDepth = 64;

  JsonDecoder();
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override { return std::make_unique<JsonDecoder>(); }

 private:
  struct TrieNode {
    KeyTable children;         // key -> child node (never 0: the root)
    std::vector<FieldId> ids;  // the fields whose path ends here
  };

  class JsonEvent final : public Event {
   public:
    explicit JsonEvent(const JsonDecoder& decoder) : decoder_(decoder) {}
    using Event::publish;
    std::string_view raw() const override { return decoder_.raw_; }

   private:
    const JsonDecoder& decoder_;
  };

  using Value = simdjson::ondemand::value;

  // The iterators are passed by reference: passed by value, each call
  // copied them through the stack with a load that waited on the stores
  // (no store forwarding), a stall per key of every record.
  simdjson::error_code walkObject(simdjson::ondemand::object& object, uint32_t node, int depth);
  simdjson::error_code walkValue(Value& value, uint32_t node, int depth);
  simdjson::error_code recordLeaf(Value& value, simdjson::ondemand::json_type type,
                                  const TrieNode& node);
  // The trie node reached from `node` by a key that holds a '.', split
  // into its parts; 0 (the root, never a child) when no wanted path
  // continues.
  uint32_t childFor(uint32_t node, std::string_view key) const;
  void addValue(const TrieNode& node, const FieldValue& value);
  std::string_view trimTrailingSpace(const char* begin, const char* end) const;

  simdjson::ondemand::parser parser_;
  std::vector<TrieNode> trie_;  // trie_[0] is the root
  ValueStore values_;
  std::string_view raw_;
  JsonEvent event_;
};

}  // namespace trailwatch::decode
