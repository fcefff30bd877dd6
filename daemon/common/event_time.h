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

// Proleptic Gregorian calendar arithmetic (H. Hinnant, "chrono-compatible
// low-level date algorithms"): days since 1970-01-01 of a date, and the
// date of a day count.
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);
struct CivilDate {
  int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};
CivilDate civilFromDays(int64_t days);

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
