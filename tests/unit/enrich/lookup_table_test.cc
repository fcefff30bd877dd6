#include "daemon/enrich/lookup_table.h"

#include <gtest/gtest.h>

#include <string>

namespace trailwatch::enrich {
namespace {

LookupSpec staffSpec() {
  return LookupSpec{.name = "staff",
                    .path = "lookups/staff.csv",
                    .key = "user_id",
                    .match = "user.id",
                    .prefix = "user.",
                    .case_insensitive = false};
}

std::shared_ptr<const LookupTable> parseOk(std::string_view csv, LookupSpec spec = staffSpec()) {
  auto table = LookupTable::parse(csv, spec);
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error());
  return table.ok() ? *table : nullptr;
}

std::string parseError(std::string_view csv, LookupSpec spec = staffSpec()) {
  auto table = LookupTable::parse(csv, spec);
  EXPECT_FALSE(table.ok());
  return table.ok() ? "" : table.error();
}

std::string cell(const LookupTable& t, std::string_view key, size_t column) {
  const FieldValue* row = t.find(key);
  return row == nullptr ? "<none>" : std::string(row[column].text);
}

TEST(LookupTable, ReadsHeaderAndRowsByKey) {
  auto t = parseOk("user_id,department,status\nu7,cardiology,terminated\nu8,oncology,active\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->rows(), 2u);
  EXPECT_EQ(t->keyColumn(), 0u);
  EXPECT_EQ(t->addedFields(), (std::vector<std::string>{"user.department", "user.status"}));
  EXPECT_EQ(cell(*t, "u7", 2), "terminated");
  EXPECT_EQ(cell(*t, "u8", 1), "oncology");
  EXPECT_EQ(t->find("u9"), nullptr);
  EXPECT_EQ(t->find("U7"), nullptr) << "keys are case-sensitive unless asked";
}

TEST(LookupTable, UnquotesQuotedFieldsWithCommasQuotesAndLineBreaks) {
  auto t = parseOk(
      "user_id,name,note\n"
      "u7,\"Doe, Jane\",\"said \"\"hi\"\"\"\n"
      "\"u8\",\"two\nlines\",\"\"\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(cell(*t, "u7", 1), "Doe, Jane");
  EXPECT_EQ(cell(*t, "u7", 2), "said \"hi\"");
  EXPECT_EQ(cell(*t, "u8", 1), "two\nlines");
  EXPECT_EQ(cell(*t, "u8", 2), "");
}

TEST(LookupTable, AcceptsCrlfBomEmptyFieldsAndNoFinalNewline) {
  auto t = parseOk("\xEF\xBB\xBFuser_id,department,status\r\nu7,,terminated\r\n\r\nu8,x,");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->columns().front(), "user_id") << "the byte-order mark is not part of the name";
  EXPECT_EQ(t->rows(), 2u);
  EXPECT_EQ(cell(*t, "u7", 1), "");
  EXPECT_EQ(cell(*t, "u7", 2), "terminated");
  EXPECT_EQ(cell(*t, "u8", 2), "");
}

TEST(LookupTable, KeyColumnNeedNotBeFirst) {
  auto t = parseOk("status,user_id\nterminated,u7\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->keyColumn(), 1u);
  EXPECT_EQ(cell(*t, "u7", 0), "terminated");
  EXPECT_EQ(t->addedFields(), (std::vector<std::string>{"user.status"}));
}

TEST(LookupTable, CaseInsensitiveKeysFoldAscii) {
  LookupSpec spec = staffSpec();
  spec.case_insensitive = true;
  auto t = parseOk("user_id,status\nAlice,terminated\n", spec);
  ASSERT_TRUE(t);
  EXPECT_EQ(cell(*t, "alice", 1), "terminated");
  EXPECT_EQ(cell(*t, "ALICE", 1), "terminated");
  EXPECT_EQ(t->find("alicе"), nullptr);  // Cyrillic 'е': not ASCII, not folded
  EXPECT_EQ(parseError("user_id,status\nAlice,a\nALICE,b\n", spec),
            "lookups/staff.csv:3: duplicate key 'ALICE' (first on line 2)");
}

TEST(LookupTable, ErrorsNameFileAndLine) {
  EXPECT_EQ(parseError("user_id,status\nu7,active\nu8\n"),
            "lookups/staff.csv:3: 1 field(s), expected 2 as in the header");
  EXPECT_EQ(parseError("id,status\nu7,active\n"),
            "lookups/staff.csv:1: no key column 'user_id' in the header (columns: id, status)");
  EXPECT_EQ(parseError("user_id,status\nu7,a\nu8,b\nu7,c\n"),
            "lookups/staff.csv:4: duplicate key 'u7' (first on line 2)");
  EXPECT_EQ(parseError("user_id,status\nu7,\"open\nu8,b\n"),
            "lookups/staff.csv:2: unterminated quoted field (its opening quote is in this record)");
  EXPECT_EQ(parseError("user_id,status\nu7,a\"b\n").substr(0, 21), "lookups/staff.csv:2: ");
  EXPECT_EQ(parseError("user_id,status\nu7,\"a\"b\n").substr(0, 21), "lookups/staff.csv:2: ");
  EXPECT_EQ(parseError("user_id,status\n,a\n"),
            "lookups/staff.csv:2: empty key in column 'user_id'");
  EXPECT_EQ(parseError("user_id,status,status\n"),
            "lookups/staff.csv:1: duplicate column 'status'");
  EXPECT_EQ(parseError(""),
            "lookups/staff.csv: the file is empty (expected a header row naming the columns)");
}

TEST(LookupTable, LineNumbersCountLineBreaksInsideQuotes) {
  EXPECT_EQ(parseError("user_id,note\nu7,\"a\nb\nc\"\nu8\n"),
            "lookups/staff.csv:5: 1 field(s), expected 2 as in the header");
}

TEST(LookupTable, LoadReportsAnUnreadableFile) {
  LookupSpec spec = staffSpec();
  spec.path = "/nonexistent/trailwatch/staff.csv";
  auto t = LookupTable::load(spec);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().rfind("/nonexistent/trailwatch/staff.csv: cannot read: ", 0), 0u)
      << t.error();
}

}  // namespace
}  // namespace trailwatch::enrich
