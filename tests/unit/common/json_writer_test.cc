#include "daemon/common/json_writer.h"

#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace trailwatch
