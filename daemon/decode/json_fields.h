// JSON helpers shared by the decoders of JSON-based audit formats (FHIR
// AuditEvent, Kubernetes audit, CloudTrail): parsing one record into a
// simdjson DOM with fixed error reasons, small typed getters, and
// NativeJsonFields, which resolves the rules' dotted paths against one
// event's own JSON so a format's native fields stay addressable next to the
// normalized ones its decoder derives.
//
// Path semantics are JsonDecoder's (json_decoder.h): a step matches an object
// key; a key that itself contains dots (`"authorization.k8s.io/decision"`)
// is matched part by part; where a path meets an array every element is
// matched against the same step, so a field can have several values; a path
// ending on an array gives its elements; a path ending on an object gives
// one kComposite value whose text is the object's minified JSON (copied into
// the FieldTable's arena with keep()).
//
// Lifetime: string values point into the dom::parser's string buffer (or the
// FieldTable's arena) and stay valid until the parser parses again or the
// table's next begin(), whichever comes first.
//
// Thread-safety: none; each decoder owns its parser and NativeJsonFields.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

// Nesting levels a record may have; deeper records are refused with
// `too_deep` by the parser itself, which bounds every recursion below.
inline constexpr std::size_t kMaxJsonDepth = 128;

// A dom::parser sized for records, with kMaxJsonDepth as its depth limit.
void prepareParser(simdjson::dom::parser& parser);

// Parses `record` (copying it into the parser's padded buffer). On failure
// returns false and fills `error` with `empty_record`, `malformed_json`,
// `too_deep` or `not_an_object` (the top-level value must be an object).
bool parseRecordObject(simdjson::dom::parser& parser, std::string_view record,
                       simdjson::dom::object& out, DecodeError& error);

// The string at `key` of `object`, or "" when absent or not a string.
std::string_view stringAt(simdjson::dom::object object, std::string_view key);
// The string at a dotted path of plain keys (no array fan-out), or "".
std::string_view stringAtPath(simdjson::dom::object object, std::string_view path);
std::string_view stringAtPath(simdjson::dom::element element, std::string_view path);
// The object / array at `key`, if that is what it holds.
bool objectAt(simdjson::dom::object object, std::string_view key, simdjson::dom::object& out);
bool arrayAt(simdjson::dom::object object, std::string_view key, simdjson::dom::array& out);

// Offers `value` to `table` under `path` as the FieldValue JsonDecoder
// would give (arrays fan out; objects become kComposite).
void addJsonValue(FieldTable& table, std::string_view path, simdjson::dom::element value);

class NativeJsonFields {
 public:
  // `paths`: what the rules read (Decoder::setFields). `derived`: the
  // normalized names the decoder fills itself; those are not looked up in
  // the record, so a native key of the same name never adds a second value.
  void setFields(std::span<const std::string> paths, std::span<const std::string_view> derived);

  // Offers every wanted native path found in `event` to `table`.
  void addAll(simdjson::dom::object event, FieldTable& table) const;

 private:
  struct Wanted {
    std::string path;
    std::vector<std::string> steps;
  };
  std::vector<Wanted> wanted_;
};

}  // namespace trailwatch::decode
