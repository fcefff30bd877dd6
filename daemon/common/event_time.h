// Event time: reading the time an event happened from the text of its
// timestamp field, for correlation windows.
//
// Accepted: RFC 3339 / ISO 8601 date-times such as 2026-11-23T10:00:00Z,
// 2026-11-23T10:00:00.123456+01:00 or with a space instead of the `T`
// (fractions to nanoseconds; `Z`, `+hh:mm`, `+hhmm` or no zone, taken as
// UTC), and plain numbers of seconds since the Unix epoch (with a fraction).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trailwatch {

// Unix time in nanoseconds, or nullopt when `text` is not a time.
std::optional<int64_t> parseEventTime(std::string_view text);

}  // namespace trailwatch
