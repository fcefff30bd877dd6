// JSON text building for alerts and summaries: appends values to a
// std::string with correct escaping. Output is always valid JSON and valid
// UTF-8: bytes that are not well-formed UTF-8 in the input (log records can
// hold anything) are replaced by U+FFFD rather than copied.
//
// Thread-safety: free functions over caller-owned strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailwatch {

// Appends `s` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view s);

// Appends a finite double as a JSON number (non-finite values become null).
void appendJsonNumber(std::string& out, double value);

// Formats a Unix time in nanoseconds as RFC 3339 UTC with millisecond
// precision, e.g. 2026-11-23T08:46:27.123Z (rounded down, before 1970 too).
std::string formatRfc3339(int64_t unix_nanos);
// The same text from a Unix time in milliseconds.
std::string formatRfc3339Millis(int64_t unix_millis);
// With microseconds, from a Unix time in microseconds, e.g.
// 2026-11-23T08:46:27.123456Z (the journal's precision).
std::string formatRfc3339Micros(int64_t unix_micros);
// Years outside 0000-9999, which RFC 3339 cannot write, are written as
// ISO 8601's expanded years: all their digits, a sign before a negative one.

}  // namespace trailwatch
