#include "daemon/common/json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "daemon/common/event_time.h"

namespace trailwatch {
namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past
// U+10FFFF included, per RFC 3629 section 4).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const size_t left = s.size() - i;
  auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// Printable ASCII that JSON takes as it is.
bool isPlain(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

// isPlain() of all 8 bytes of `w` at once (the "has a byte less than n"
// and "has a zero byte" tests of Bit Twiddling Hacks, exact as a yes/no).
bool plainWord(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto zeroByte = [&](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return ((w & kHigh) | below_space | zeroByte(w ^ (kOnes * '"')) | zeroByte(w ^ (kOnes * '\\')) |
          zeroByte(w ^ (kOnes * 0x7F))) == 0;
}

// Writes `value` as `width` decimal digits at `p`.
void putDigits(char* p, unsigned value, int width) {
  for (int k = width - 1; k >= 0; --k) {
    p[k] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // A run of printable ASCII other than '"' and '\\' goes in at once.
    size_t plain = i;
    for (uint64_t w; plain + 8 <= s.size(); plain += 8) {
      std::memcpy(&w, s.data() + plain, 8);
      if (!plainWord(w)) break;
    }
    while (plain < s.size() && isPlain(static_cast<unsigned char>(s[plain]))) ++plain;
    if (plain > i) {
      out.append(s.data() + i, plain - i);
      i = plain;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void appendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buf[32];
  const double integral = std::trunc(value);
  int n;
  if (integral == value && std::fabs(value) < 9.007199254740992e15) {
    n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
  } else {
    // The shortest of %.15g / %.17g that reads back as the same double.
    n = std::snprintf(buf, sizeof buf, "%.15g", value);
    if (std::strtod(buf, nullptr) != value) n = std::snprintf(buf, sizeof buf, "%.17g", value);
  }
  out.append(buf, static_cast<size_t>(n));
}

std::string formatRfc3339(int64_t unix_nanos) {
  // Whole milliseconds, rounded toward the past (a time before 1970 too).
  constexpr int64_t kNanosPerMilli = 1'000'000, kMillisPerDay = 86'400'000;
  int64_t millis = unix_nanos / kNanosPerMilli;
  if (unix_nanos % kNanosPerMilli < 0) --millis;
  int64_t days = millis / kMillisPerDay;
  int64_t of_day = millis % kMillisPerDay;
  if (of_day < 0) {
    of_day += kMillisPerDay;
    --days;
  }
  // Nanoseconds in an int64_t span 1677 to 2262: always four digits.
  const CivilDate date = civilFromDays(days);
  std::string out = "0000-00-00T00:00:00.000Z";
  char* p = out.data();
  putDigits(p, static_cast<unsigned>(date.year), 4);
  putDigits(p + 5, date.month, 2);
  putDigits(p + 8, date.day, 2);
  putDigits(p + 11, static_cast<unsigned>(of_day / 3'600'000), 2);
  putDigits(p + 14, static_cast<unsigned>(of_day / 60'000 % 60), 2);
  putDigits(p + 17, static_cast<unsigned>(of_day / 1'000 % 60), 2);
  putDigits(p + 20, static_cast<unsigned>(of_day % 1'000), 3);
  return out;
}

}  // namespace trailwatch
