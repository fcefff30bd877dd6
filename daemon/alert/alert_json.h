// Renders one alert as a single-line JSON object, the format every sink
// carries:
//
//   {"@timestamp": "...", "rule": {"id","title","level","tags"},
//    "controls": [...], "event": {...}, "record"?: "json"|"text",
//    "source": {"name","file","offset"}, "detected_at": "..."}
//
// `@timestamp` is the event's own time (its `@timestamp` field as written)
// when it has one, else the time it was read. `event` holds the rule's
// `fields` (each path as a key, one value or an array of values) when the
// rule lists fields, else the whole record: embedded as JSON when the
// record is a valid JSON object, else as {"message": "<record>"}; a whole
// record is marked by `"record": "json"` or `"record": "text"` after
// `event` (so redaction, redaction.h, can tell it from a rule's fields).
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

// What a correlation firing or a closed suppression window says, for
// renderStateAlert().
struct StateAlert {
  std::string_view section;   // "correlation" or "suppressed"
  std::string_view type;      // correlation type, or "suppress"
  std::string_view timespan;  // as written in the rule, e.g. "10m"
  std::string_view field;     // value_* correlations: the aggregated field; else empty
  bool count = true;          // the figure is a count ("count"), else a value ("value")
  const std::vector<std::string>* group_by = nullptr;  // names of the group values
  std::string_view group;                              // the values, joined by `separator`
  char separator = '\x1f';
  double figure = 0;                      // count, distinct count, sum, average or percentile
  uint64_t events = 0;                    // events in the window
  int64_t first_seen = 0, last_seen = 0;  // Unix ns
  const std::vector<std::string>* samples = nullptr;  // JSON objects of contributing events
};

// Renders a correlation or suppression-summary alert:
//
//   {"@timestamp": <last_seen>, "rule": {...}, "controls": [...],
//    "<section>": {"type", "timespan", "group": {name: value, ...},
//                  "count" | "value", "field"?, "events", "first_seen", "last_seen"},
//    "sample": [{...}, ...], "detected_at": "..."}
void renderStateAlert(const AlertRule& rule, const StateAlert& state, int64_t detected_nanos,
                      std::string& out);

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
