#include "daemon/source/journal_entry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trailwatch::source {
namespace {

TEST(JournalEntry, JsonHasTimeCursorAndSortedFieldsWithRepeatsAsArrays) {
  std::vector<JournalField> fields = {
      {"MESSAGE", "hi"}, {"TAG", "b"}, {"_PID", "42"}, {"TAG", "a"}};
  JournalEntryMeta meta;
  meta.cursor = "s=1;i=2";
  meta.realtime_usec = 1'790'000'000'123'456;
  meta.monotonic_usec = 7;
  meta.has_monotonic = true;
  std::string out;
  appendJournalJson(out, fields, meta);
  EXPECT_EQ(out,
            "{\"@timestamp\":\"2026-09-21T14:13:20.123456Z\",\"__CURSOR\":\"s=1;i=2\","
            "\"__REALTIME_TIMESTAMP\":\"1790000000123456\",\"__MONOTONIC_TIMESTAMP\":\"7\","
            "\"MESSAGE\":\"hi\",\"TAG\":[\"b\",\"a\"],\"_PID\":\"42\"}");
}

TEST(JournalEntry, JsonEscapesControlsAndReplacesBadUtf8) {
  std::vector<JournalField> fields = {{"MESSAGE", std::string_view("a\"\n\x01\xff", 5)}};
  JournalEntryMeta meta;
  std::string out;
  appendJournalJson(out, fields, meta);
  EXPECT_EQ(out,
            "{\"@timestamp\":\"1970-01-01T00:00:00.000000Z\",\"__CURSOR\":\"\","
            "\"__REALTIME_TIMESTAMP\":\"0\",\"MESSAGE\":\"a\\\"\\n\\u0001\xEF\xBF\xBD\"}");
}

TEST(JournalEntry, SplitsDataAtTheFirstEquals) {
  JournalField f;
  ASSERT_TRUE(splitJournalData("MESSAGE=a=b", f));
  EXPECT_EQ(f.name, "MESSAGE");
  EXPECT_EQ(f.value, "a=b");
  EXPECT_FALSE(splitJournalData("NOEQUALS", f));
}

}  // namespace
}  // namespace trailwatch::source
