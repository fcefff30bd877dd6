// Renders one alert as a single-line JSON object, the format every sink
// carries:
//
//   {"@timestamp": "...", "rule": {"id","title","level","tags"},
//    "controls": [...], "event": {...},
//    "source": {"name","file","offset"}, "detected_at": "..."}
//
// `@timestamp` is the event's own time (its `@timestamp` field as written)
// when it has one, else the time it was read. `event` holds the rule's
// `fields` (each path as a key, one value or an array of values) when the
// rule lists fields, else the whole record: embedded as JSON when the
// record is a valid JSON object, else as {"message": "<record>"}.
//
// Thread-safety: AlertRenderer keeps a scratch parser; one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/event.h"

namespace trailwatch::alert {

// What the renderer needs to know of the rule that matched.
struct AlertRule {
  std::string_view id;
  std::string_view title;
  std::string_view level;
  const std::vector<std::string>* tags = nullptr;
  const std::vector<std::string>* controls = nullptr;
  const std::vector<std::string>* field_names = nullptr;  // the rule's `fields:`
  const std::vector<FieldId>* field_ids = nullptr;        // their ids in the event
};

// Where the matching record came from.
struct AlertOrigin {
  std::string_view source;  // configured source name
  std::string_view file;    // file path, or "-" for stdin
  uint64_t offset = 0;      // byte offset of the record in `file`
};

class AlertRenderer {
 public:
  AlertRenderer();
  ~AlertRenderer();

  // Replaces `out` with the alert's JSON. `timestamp_field` is the event's
  // time field id, or -1 when the event has none. `read_time_nanos` is
  // when the record was read (Unix ns).
  void render(const AlertRule& rule, const Event& event, int64_t timestamp_field,
              const AlertOrigin& origin, int64_t read_time_nanos, std::string& out);

 private:
  struct Validator;
  std::unique_ptr<Validator> validator_;  // checks whole records are JSON before embedding
};

}  // namespace trailwatch::alert
