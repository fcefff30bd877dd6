#include "daemon/common/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace trailwatch {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(quoted("l1\nl2\tx\r"), R"("l1\nl2\tx\r")");
  EXPECT_EQ(quoted(std::string_view("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(quoted(std::string_view("a\0b", 3)), R"("a\u0000b")");
}

TEST(JsonWriter, KeepsValidUtf8) {
  EXPECT_EQ(quoted("Müller 患者 🙂"), "\"Müller 患者 🙂\"");
}

TEST(JsonWriter, ReplacesInvalidUtf8) {
  // A lone continuation byte, a truncated sequence, an overlong '/' and a surrogate.
  EXPECT_EQ(quoted("a\x80z"), "\"a\xEF\xBF\xBDz\"");
  EXPECT_EQ(quoted("a\xE2\x82"), "\"a\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(quoted("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonWriter, NumbersAreIntegersWhenWhole) {
  std::string out;
  appendJsonNumber(out, 42);
  out.push_back(' ');
  appendJsonNumber(out, -1.5);
  out.push_back(' ');
  appendJsonNumber(out, 1.0 / 0.0);
  EXPECT_EQ(out, "42 -1.5 null");
}

TEST(JsonWriter, FormatsRfc3339WithMillis) {
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339(1795423587123456789LL), "2026-11-23T08:46:27.123Z");
  // Leap days, and the turns of centuries that are leap years and are not.
  EXPECT_EQ(formatRfc3339(951782400000000000LL), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339(4107542399999000000LL), "2100-02-28T23:59:59.999Z");
  EXPECT_EQ(formatRfc3339(4107542400000000000LL), "2100-03-01T00:00:00.000Z");
  // Before 1970, rounded toward the past.
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(formatRfc3339(INT64_MIN), "1677-09-21T00:12:43.145Z");
  EXPECT_EQ(formatRfc3339(INT64_MAX), "2262-04-11T23:47:16.854Z");
}

// The same as the C library's gmtime for times all over the range.
TEST(JsonWriter, Rfc3339AgreesWithGmtime) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 200'000; ++i) {
    const int64_t nanos = static_cast<int64_t>(random());
    int64_t millis = nanos / 1'000'000;
    if (nanos % 1'000'000 < 0) --millis;
    const time_t secs = static_cast<time_t>(millis >= 0 ? millis / 1'000 : (millis - 999) / 1'000);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&secs, &tm), nullptr);
    char want[64];
    const size_t n = std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(want + n, sizeof want - n, ".%03dZ",
                  static_cast<int>(millis - static_cast<int64_t>(secs) * 1'000));
    ASSERT_EQ(formatRfc3339(nanos), want) << nanos;
  }
}

// Milliseconds and microseconds: the same calendar, their own fraction.
TEST(JsonWriter, FormatsRfc3339FromMillisAndMicros) {
  EXPECT_EQ(formatRfc3339Millis(1795423587123LL), "2026-11-23T08:46:27.123Z");
  EXPECT_EQ(formatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(formatRfc3339Micros(1795423587123456LL), "2026-11-23T08:46:27.123456Z");
  EXPECT_EQ(formatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
  // Years RFC 3339 cannot write keep all their digits and their sign.
  EXPECT_EQ(formatRfc3339Micros(253402300800000000LL), "10000-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatRfc3339Micros(-62198755200000000LL), "-0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatRfc3339Millis(INT64_MAX), "292278994-08-17T07:12:55.807Z");
  std::mt19937_64 random(5);
  for (int i = 0; i < 100'000; ++i) {
    const auto millis = static_cast<int64_t>(random() % 8'000'000'000'000ULL) - 2'000'000'000'000LL;
    ASSERT_EQ(formatRfc3339Millis(millis), formatRfc3339(millis * 1'000'000)) << millis;
    const std::string micros = formatRfc3339Micros(millis * 1'000 + 999);
    ASSERT_EQ(micros.substr(0, 23) + "Z", formatRfc3339Millis(millis)) << millis;
    ASSERT_EQ(micros.substr(23), "999Z") << millis;
  }
}

// Plain runs are copied 8 bytes at a time; what needs escaping still is,
// wherever it falls in them: the whole string quotes as its characters do
// one by one. Every byte value, at every position of two words.
TEST(JsonWriter, EscapesAtEveryPositionOfARun) {
  std::vector<std::string> specials = {"\xC3\xA9"};  // é, one character
  for (int b = 0; b < 256; ++b) specials.emplace_back(1, static_cast<char>(b));
  for (const std::string& special : specials) {
    for (size_t at = 0; at <= 16; ++at) {
      std::string text(16, 'a');
      text.insert(at, special);
      const std::string_view s = text;
      std::string want = "\"";
      for (size_t k = 0; k < s.size();) {
        const size_t n = k == at ? special.size() : 1;
        const std::string one = quoted(s.substr(k, n));
        want += one.substr(1, one.size() - 2);
        k += n;
      }
      ASSERT_EQ(quoted(s), want + "\"") << "byte " << static_cast<int>(special[0]) << " at " << at;
    }
  }
}

}  // namespace
}  // namespace trailwatch
