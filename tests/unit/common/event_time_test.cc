#include "daemon/common/event_time.h"

#include <gtest/gtest.h>

namespace trailwatch {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
// 2026-11-23T10:00:00Z
constexpr int64_t kBase = 1795428000 * kSecond;

TEST(EventTime, ReadsRfc3339InUtc) {
  EXPECT_EQ(parseEventTime("2026-11-23T10:00:00Z"), kBase);
  EXPECT_EQ(parseEventTime("2026-11-23t10:00:00z"), kBase);
  EXPECT_EQ(parseEventTime("2026-11-23 10:00:00Z"), kBase);
  EXPECT_EQ(parseEventTime("2026-11-23T10:00:00"), kBase) << "no zone: UTC";
  EXPECT_EQ(parseEventTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseEventTime("2024-02-29T00:00:00Z"), int64_t{1709164800} * kSecond);
}

TEST(EventTime, ReadsFractionsToNanoseconds) {
  EXPECT_EQ(parseEventTime("2026-11-23T10:00:00.5Z"), kBase + 500'000'000);
  EXPECT_EQ(parseEventTime("2026-11-23T10:00:00.123456789Z"), kBase + 123'456'789);
  EXPECT_EQ(parseEventTime("2026-11-23T10:00:00,25Z"), kBase + 250'000'000);
}

TEST(EventTime, AppliesOffsets) {
  EXPECT_EQ(parseEventTime("2026-11-23T11:00:00+01:00"), kBase);
  EXPECT_EQ(parseEventTime("2026-11-23T05:30:00-0430"), kBase);
}

TEST(EventTime, ReadsUnixSeconds) {
  EXPECT_EQ(parseEventTime("1795428000"), kBase);
  EXPECT_EQ(parseEventTime("1795428000.25"), kBase + 250'000'000);
}

TEST(EventTime, RejectsWhatIsNotATime) {
  for (const char* bad :
       {"", "yesterday", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Q", "2026-11-23T10:00:00+25:00",
        "2026-11-23T10:00:00Z trailing", "1e20", "12abc"}) {
    EXPECT_FALSE(parseEventTime(bad).has_value()) << bad;
  }
}

// A stream of texts read by one parser, which keeps the last minute it
// read: each result is parseEventTime()'s, whether the minute is new, the
// same, or the same with a bad rest.
TEST(EventTime, ParserKeepsTheMinuteAndGivesTheSameResults) {
  const char* texts[] = {
      "2026-11-23T10:00:00Z",
      "2026-11-23T10:00:59.75Z",
      "2026-11-23T10:00:07+01:00",
      "2026-11-23T10:00:60Z",
      "2026-11-23T10:00:61Z",
      "2026-11-23T10:00:0",
      "2026-11-23T10:00",
      "2026-11-23T10:00:00Q",
      "2026-11-23T10:01:00Z",
      "2026-11-23 10:01:00Z",
      "2026-11-23T10:01:00.5",
      "1795428000.5",
      "2026-11-23T10:01:30-0430",
      "2026-11-23T1x:01:00Z",
      "2026-11-23T10:01:01Z",
      "2024-02-29T23:59:59.999999999Z",
      "2026-13-23T10:01:01Z",
      "2026-11-23T10:01:01Z",
      "",
      "2026-11-23T10:01:02Z",
  };
  EventTimeParser parser;
  for (const char* text : texts) {
    EXPECT_EQ(parser.parse(text), parseEventTime(text)) << text;
  }
  EventTimeParser fresh;
  EXPECT_EQ(fresh.parse("2026-11-23T10:00:00Z"), kBase);
  EXPECT_EQ(fresh.parse("2026-11-23T10:00:01Z"), kBase + kSecond);
  EXPECT_EQ(fresh.parse("2026-11-23T10:01:00Z"), kBase + 60 * kSecond);
  EXPECT_EQ(fresh.parse("2026-11-23T11:00:00+01:00"), kBase);
}

// The two calendar conversions undo each other, across centuries either
// side of 1970, and agree with known dates.
TEST(Calendar, CivilFromDaysUndoesDaysFromCivil) {
  for (int64_t days = -800'000; days <= 800'000; days += 997) {
    const CivilDate d = civilFromDays(days);
    ASSERT_EQ(daysFromCivil(d.year, d.month, d.day), days) << days;
  }
  const CivilDate leap = civilFromDays(daysFromCivil(2000, 2, 29));
  EXPECT_EQ(leap.year, 2000);
  EXPECT_EQ(leap.month, 2u);
  EXPECT_EQ(leap.day, 29u);
  EXPECT_EQ(daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(civilFromDays(-1).year, 1969);
}

}  // namespace
}  // namespace trailwatch
