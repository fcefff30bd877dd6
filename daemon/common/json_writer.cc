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

namespace {

// `a` divided by `b` (> 0), rounded toward the past, and what is left (0 to b - 1).
int64_t floorDiv(int64_t a, int64_t b, int64_t& rest) {
  int64_t q = a / b;
  rest = a % b;
  if (rest < 0) {
    rest += b;
    --q;
  }
  return q;
}

// RFC 3339 UTC of `seconds` since the epoch and a fraction of `digits`
// digits. A year outside 0000-9999 (which RFC 3339 cannot write) is
// written as ISO 8601's expanded years are: a sign before a negative one,
// at least four digits.
std::string formatUtc(int64_t seconds, unsigned fraction, int digits) {
  int64_t of_day = 0;
  const CivilDate date = civilFromDays(floorDiv(seconds, 86'400, of_day));
  char buf[48];
  char* p = buf;
  if (date.year >= 0 && date.year <= 9999) {
    putDigits(p, static_cast<unsigned>(date.year), 4);
    p += 4;
  } else {
    p += std::snprintf(p, 24, date.year < 0 ? "%05lld" : "%lld", static_cast<long long>(date.year));
  }
  std::memcpy(p, "-00-00T00:00:00.", 16);
  putDigits(p + 1, date.month, 2);
  putDigits(p + 4, date.day, 2);
  putDigits(p + 7, static_cast<unsigned>(of_day / 3'600), 2);
  putDigits(p + 10, static_cast<unsigned>(of_day / 60 % 60), 2);
  putDigits(p + 13, static_cast<unsigned>(of_day % 60), 2);
  putDigits(p + 16, fraction, digits);
  p += 16 + digits;
  *p++ = 'Z';
  return std::string(buf, static_cast<size_t>(p - buf));
}

}  // namespace

std::string formatRfc3339(int64_t unix_nanos) {
  int64_t sub_milli = 0;
  return formatRfc3339Millis(floorDiv(unix_nanos, 1'000'000, sub_milli));
}

std::string formatRfc3339Millis(int64_t unix_millis) {
  int64_t millis = 0;
  const int64_t seconds = floorDiv(unix_millis, 1'000, millis);
  return formatUtc(seconds, static_cast<unsigned>(millis), 3);
}

std::string formatRfc3339Micros(int64_t unix_micros) {
  int64_t micros = 0;
  const int64_t seconds = floorDiv(unix_micros, 1'000'000, micros);
  return formatUtc(seconds, static_cast<unsigned>(micros), 6);
}

}  // namespace trailwatch
