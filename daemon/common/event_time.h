// Event time: reading the time an event happened from the text of its
// timestamp field, for correlation windows.
//
// Accepted: RFC 3339 / ISO 8601 date-times such as 2026-11-23T10:00:00Z,
// 2026-11-23T10:00:00.123456+01:00 or with a space instead of the `T`
// (fractions to nanoseconds; `Z`, `+hh:mm`, `+hhmm` or no zone, taken as
// UTC), and plain numbers of seconds since the Unix epoch (with a fraction).
//
// Thread-safety: parseEventTime() is a pure function; an EventTimeParser
// is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trailwatch {

// Unix time in nanoseconds, or nullopt when `text` is not a time.
std::optional<int64_t> parseEventTime(std::string_view text);

// parseEventTime() for a stream of events: it keeps the date, hour and
// minute of the last date-time it read, so that the next one stamped in
// the same minute (most of a log's events) only reads its seconds,
// fraction and zone. Same results as parseEventTime().
class EventTimeParser {
 public:
  std::optional<int64_t> parse(std::string_view text);

 private:
  static constexpr std::size_t kMinute = 16;  // "2026-11-23T10:00"
  char minute_[kMinute] = {};
  int64_t minute_seconds_ = 0;  // its Unix seconds, before any zone offset
  bool have_minute_ = false;
};

}  // namespace trailwatch
