#include "daemon/common/event_time.h"

#include <charconv>
#include <cstring>

namespace trailwatch {

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate civilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Unix seconds with an optional fraction, read exactly (a double would
// lose the nanoseconds of present-day times).
std::optional<int64_t> parseNumber(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc() || ptr != whole.data() + whole.size() || whole.empty()) return std::nullopt;
  if (seconds < 0 || seconds > 100'000'000'000) return std::nullopt;  // not seconds of our era
  int64_t nanos = 0;
  if (dot != std::string_view::npos) {
    int64_t scale = 100'000'000;
    for (size_t i = dot + 1; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      nanos += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  return seconds * 1'000'000'000 + nanos;
}

// Whether `text` is a date-time rather than a number of seconds (at least
// "YYYY-MM-DDTHH:MM:SS" long).
bool isDateTime(std::string_view text) { return text.size() >= 19 && text[4] == '-'; }

// The Unix seconds of a date-time's first 16 characters, "YYYY-MM-DDTHH:MM".
std::optional<int64_t> parseMinute(std::string_view text) {
  int year, month, day, hour, minute;
  if (!digits(text, 0, 4, year) || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) {
    return std::nullopt;
  }
  const int64_t days =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60;
}

// The rest of a date-time, from the ':' before its seconds: the seconds,
// a fraction and a zone, added to `minute_seconds` (parseMinute()).
std::optional<int64_t> parseAfterMinute(std::string_view text, int64_t minute_seconds) {
  int second;
  if (text[16] != ':' || !digits(text, 17, 2, second) || second > 60) return std::nullopt;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    int64_t scale = 100'000'000;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    const char z = text[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      int oh, om;
      if (!digits(text, pos + 1, 2, oh)) return std::nullopt;
      size_t mpos = pos + 3;
      if (mpos < text.size() && text[mpos] == ':') ++mpos;
      if (!digits(text, mpos, 2, om) || oh > 23 || om > 59) return std::nullopt;
      offset_seconds = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
      pos = mpos + 2;
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t seconds = minute_seconds + second - offset_seconds;
  return seconds * 1'000'000'000 + nanos;
}

}  // namespace

std::optional<int64_t> parseEventTime(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (!isDateTime(text)) return parseNumber(text);
  const auto minute = parseMinute(text);
  if (!minute) return std::nullopt;
  return parseAfterMinute(text, *minute);
}

std::optional<int64_t> EventTimeParser::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (!isDateTime(text)) return parseNumber(text);
  if (!have_minute_ || std::memcmp(text.data(), minute_, kMinute) != 0) {
    const auto minute = parseMinute(text);
    if (!minute) return std::nullopt;
    std::memcpy(minute_, text.data(), kMinute);
    minute_seconds_ = *minute;
    have_minute_ = true;
  }
  return parseAfterMinute(text, minute_seconds_);
}

}  // namespace trailwatch
