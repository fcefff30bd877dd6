#include "daemon/decode/pgaudit.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

using Strings = std::vector<std::string>;

const std::vector<std::string> kPaths = {"@timestamp",
                                         "db.user",
                                         "user.name",
                                         "db.name",
                                         "db.object",
                                         "db.object_type",
                                         "db.statement",
                                         "db.command",
                                         "event.action",
                                         "event.category",
                                         "source.ip",
                                         "pgaudit.audit_type",
                                         "pgaudit.statement_id",
                                         "pgaudit.substatement_id",
                                         "pgaudit.class",
                                         "pgaudit.command",
                                         "pgaudit.object_type",
                                         "pgaudit.object_name",
                                         "pgaudit.statement",
                                         "pgaudit.parameter",
                                         "pgaudit.rows",
                                         "pgaudit.severity",
                                         "pgaudit.pid",
                                         "pgaudit.log_time",
                                         "pgaudit.truncated"};

// One decoded event, copied out of the decoder (its views die with the
// next call): field path -> texts, plus the raw record.
struct Decoded {
  std::map<std::string, Strings> fields;
  std::string raw;
  std::string one(const std::string& path) const {
    auto it = fields.find(path);
    if (it == fields.end() || it->second.size() != 1) return "<absent or multiple>";
    return it->second[0];
  }
  bool has(const std::string& path) const { return fields.count(path) != 0; }
};

// Records as a source hands them out: each followed by kRecordPadding
// bytes, the buffer reused (overwritten) for the next record, so a decoder
// that keeps a view into an earlier record reads garbage.
class PgauditDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override { decoder_.setFields(kPaths); }

  Decoded copy(const Event& e) {
    Decoded d;
    d.raw = std::string(e.raw());
    for (FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : e.values(id)) d.fields[kPaths[id]].emplace_back(v.text);
    }
    return d;
  }

  // Feeds `lines` as the pipeline does (decode, then next() until nullptr;
  // flush() at the end), collecting events and error reasons.
  void feed(const std::vector<std::string>& lines, bool flush_at_end = true) {
    for (const auto& line : lines) {
      buffer_.assign(line.size() + kRecordPadding, '"');
      buffer_.replace(0, line.size(), line);
      DecodeError error;
      const Event* e = decoder_.decode(std::string_view(buffer_.data(), line.size()), error);
      if (e == nullptr) {
        if (error.reason.empty()) {
          ++held_;
        } else {
          reasons_.emplace_back(error.reason);
        }
        continue;
      }
      drain(e);
      std::fill(buffer_.begin(), buffer_.end(), 'X');
    }
    if (flush_at_end) {
      DecodeError error;
      const Event* e = decoder_.flush(error);
      if (e == nullptr && !error.reason.empty()) reasons_.emplace_back(error.reason);
      drain(e);
    }
  }

  void drain(const Event* e) {
    while (e != nullptr) {
      events_.push_back(copy(*e));
      DecodeError error;
      e = decoder_.next(error);
      if (e == nullptr && !error.reason.empty()) reasons_.emplace_back(error.reason);
    }
  }

  PgauditDecoder decoder_;
  std::string buffer_;
  std::vector<Decoded> events_;
  Strings reasons_;
  int held_ = 0;
};

TEST_F(PgauditDecoderTest, DecodesDebianPrefixedStderrLine) {
  feed(
      {"2026-11-23 10:00:00.123 UTC [4242] alice@clinic LOG:  AUDIT: "
       "SESSION,3,1,READ,SELECT,TABLE,public.patients,SELECT * FROM patients,<not logged>"});
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  const Decoded& e = events_[0];
  EXPECT_EQ(e.one("@timestamp"), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(e.one("pgaudit.log_time"), "2026-11-23 10:00:00.123 UTC");
  EXPECT_EQ(e.one("db.user"), "alice");
  EXPECT_EQ(e.one("user.name"), "alice");
  EXPECT_EQ(e.one("db.name"), "clinic");
  EXPECT_EQ(e.one("pgaudit.pid"), "4242");
  EXPECT_EQ(e.one("pgaudit.severity"), "LOG");
  EXPECT_EQ(e.one("event.action"), "read");
  EXPECT_EQ(e.one("event.category"), "database");
  EXPECT_EQ(e.one("db.command"), "SELECT");
  EXPECT_EQ(e.one("db.object"), "public.patients");
  EXPECT_EQ(e.one("db.object_type"), "TABLE");
  EXPECT_EQ(e.one("db.statement"), "SELECT * FROM patients");
  EXPECT_EQ(e.one("pgaudit.audit_type"), "SESSION");
  EXPECT_EQ(e.one("pgaudit.statement_id"), "3");
  EXPECT_EQ(e.one("pgaudit.substatement_id"), "1");
  EXPECT_EQ(e.one("pgaudit.class"), "READ");
  EXPECT_EQ(e.one("pgaudit.parameter"), "<not logged>");
  EXPECT_EQ(e.one("pgaudit.truncated"), "false");
  EXPECT_FALSE(e.has("pgaudit.rows"));
  EXPECT_FALSE(e.has("source.ip"));
}

TEST_F(PgauditDecoderTest, ValuesPointIntoTheRecordWhenNothingIsRewritten) {
  const std::string line =
      "LOG:  AUDIT: OBJECT,1,1,WRITE,UPDATE,TABLE,public.patients,\"UPDATE patients SET "
      "a = 1\",<none>";
  buffer_ = line + std::string(kRecordPadding, ' ');
  DecodeError error;
  const Event* e = decoder_.decode(std::string_view(buffer_.data(), line.size()), error);
  ASSERT_NE(e, nullptr) << error.reason;
  const auto object = e->values(4);
  ASSERT_EQ(object.size(), 1u);
  EXPECT_GE(object[0].text.data(), buffer_.data());
  EXPECT_LT(object[0].text.data(), buffer_.data() + line.size());
  const auto statement = e->values(6);
  ASSERT_EQ(statement.size(), 1u);
  EXPECT_EQ(statement[0].text, "UPDATE patients SET a = 1");
  EXPECT_GE(statement[0].text.data(), buffer_.data());
  EXPECT_EQ(e->raw().data(), buffer_.data());
}

TEST_F(PgauditDecoderTest, SplitsQuotedStatementWithCommasAndQuotes) {
  feed(
      {"2026-11-23 10:00:01 UTC [7] bob@clinic LOG:  AUDIT: SESSION,9,2,DDL,CREATE TABLE,"
       "TABLE,\"public.\"\"odd, name\"\"\",\"CREATE TABLE \"\"odd, name\"\" (a int, b text)\","
       "\"1,\"\"x\"\"\",5"});
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  const Decoded& e = events_[0];
  EXPECT_EQ(e.one("db.statement"), "CREATE TABLE \"odd, name\" (a int, b text)");
  EXPECT_EQ(e.one("db.object"), "public.\"odd, name\"");
  EXPECT_EQ(e.one("pgaudit.rows"), "5");
  EXPECT_EQ(e.one("@timestamp"), "2026-11-23T10:00:01Z");
}

TEST_F(PgauditDecoderTest, UnescapesDoubledQuotesInQuotedFields) {
  feed(
      {"LOG:  AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,public.notes,"
       "\"INSERT INTO notes VALUES ('say \"\"hi\"\", ok')\",\"a,\"\"b\"\"\""});
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  EXPECT_EQ(events_[0].one("db.statement"), "INSERT INTO notes VALUES ('say \"hi\", ok')");
  EXPECT_EQ(events_[0].one("pgaudit.parameter"), "a,\"b\"");
}

TEST_F(PgauditDecoderTest, HoldsTabContinuedStatementOfStderrLog) {
  feed({"2026-11-23 10:00:02.5 UTC [99] carol@ehr LOG:  AUDIT: SESSION,4,1,WRITE,UPDATE,"
        "TABLE,public.patients,\"UPDATE patients",
        "\t   SET name = 'x, \"\"y\"\"'", "\t\t WHERE id = 1\",<not logged>",
        "2026-11-23 10:00:03.000 UTC [99] carol@ehr LOG:  duration: 1.0 ms"},
       /*flush_at_end=*/false);
  EXPECT_EQ(held_, 2);
  ASSERT_EQ(events_.size(), 1u);
  const Decoded& e = events_[0];
  EXPECT_EQ(e.one("db.statement"),
            "UPDATE patients\n   SET name = 'x, \"y\"'\n\t WHERE id = 1");  // one tab removed
  EXPECT_EQ(e.one("pgaudit.parameter"), "<not logged>");
  EXPECT_EQ(e.one("db.user"), "carol");
  EXPECT_EQ(e.one("db.name"), "ehr");
  EXPECT_EQ(e.one("@timestamp"), "2026-11-23T10:00:02.5Z");
  EXPECT_EQ(e.one("pgaudit.truncated"), "false");
  EXPECT_EQ(e.raw,
            "2026-11-23 10:00:02.5 UTC [99] carol@ehr LOG:  AUDIT: SESSION,4,1,WRITE,UPDATE,"
            "TABLE,public.patients,\"UPDATE patients\n\t   SET name = 'x, \"\"y\"\"'\n\t\t WHERE "
            "id = 1\",<not logged>");
  EXPECT_EQ(reasons_, Strings{"not_an_audit_record"});
}

TEST_F(PgauditDecoderTest, KeepsContinuationLinesVerbatimWithoutPrefix) {
  feed(
      {"NOTICE:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.test,\"CREATE TABLE "
       "public.test",
       "(", "\tid INT", ")\",<not logged>"});
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  EXPECT_EQ(events_[0].one("db.statement"), "CREATE TABLE public.test\n(\n\tid INT\n)");
  EXPECT_EQ(events_[0].one("pgaudit.severity"), "NOTICE");
  EXPECT_FALSE(events_[0].has("db.user"));
  EXPECT_FALSE(events_[0].has("@timestamp"));
  EXPECT_TRUE(reasons_.empty());
}

TEST_F(PgauditDecoderTest, LineWithoutTabCutsHeldRecordAndIsDecodedByNext) {
  feed({"2026-11-23 10:00:00 UTC [1] a@b LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT 1",
        "\tFROM x",
        "2026-11-23 10:00:01 UTC [1] a@b LOG:  AUDIT: SESSION,2,1,READ,SELECT,TABLE,public.y,"
        "SELECT * FROM y,<none>"},
       false);
  ASSERT_EQ(events_.size(), 2u) << ::testing::PrintToString(reasons_);
  EXPECT_EQ(events_[0].one("db.statement"), "SELECT 1\nFROM x");
  EXPECT_EQ(events_[0].one("pgaudit.truncated"), "true");
  EXPECT_FALSE(events_[0].has("pgaudit.parameter"));
  EXPECT_EQ(events_[1].one("db.object"), "public.y");
  EXPECT_EQ(events_[1].one("pgaudit.truncated"), "false");
}

TEST_F(PgauditDecoderTest, NextRejectsTheCuttingLineWhenItIsNotAudit) {
  feed({"2026-11-23 10:00:00 UTC [1] a@b LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT 1",
        "2026-11-23 10:00:01 UTC [1] a@b LOG:  checkpoint starting: time"},
       false);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(reasons_, Strings{"not_an_audit_record"});
}

TEST_F(PgauditDecoderTest, FlushEmitsHeldRecordCut) {
  feed({"LOG:  AUDIT: OBJECT,5,1,READ,SELECT,TABLE,public.patients,\"SELECT ssn", "FROM"});
  EXPECT_EQ(held_, 2);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].one("db.statement"), "SELECT ssn\nFROM");
  EXPECT_EQ(events_[0].one("pgaudit.truncated"), "true");
  DecodeError error;
  EXPECT_EQ(decoder_.flush(error), nullptr);  // nothing held any more
  EXPECT_TRUE(error.reason.empty());
}

TEST_F(PgauditDecoderTest, DecodesCsvlogRecord) {
  feed(
      {"2026-11-23 10:00:00.123 UTC,\"alice\",\"clinic\",4242,\"10.1.2.3:51234\",655ef0a0.1092,"
       "3,\"SELECT\",2026-11-23 09:59:00 UTC,3/7,0,LOG,00000,\"AUDIT: SESSION,1,1,READ,SELECT,"
       "TABLE,public.patients,\"\"SELECT name, dob FROM patients WHERE name = 'O\"\"\"\"Brien'\"\","
       "<not logged>\",,,,,,,,\"psql\",\"client backend\",,0"});
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  const Decoded& e = events_[0];
  EXPECT_EQ(e.one("@timestamp"), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(e.one("db.user"), "alice");
  EXPECT_EQ(e.one("db.name"), "clinic");
  EXPECT_EQ(e.one("pgaudit.pid"), "4242");
  EXPECT_EQ(e.one("source.ip"), "10.1.2.3");
  EXPECT_EQ(e.one("db.statement"), "SELECT name, dob FROM patients WHERE name = 'O\"Brien'");
  EXPECT_EQ(e.one("db.object"), "public.patients");
  EXPECT_EQ(e.one("pgaudit.parameter"), "<not logged>");
}

TEST_F(PgauditDecoderTest, HoldsCsvlogRecordSpanningLines) {
  feed({"2026-11-23 10:00:00.123 +05:30,\"bob\",\"ehr\",77,\"[local]\",x,1,\"UPDATE\",,,0,LOG,"
        "00000,\"AUDIT: SESSION,2,1,WRITE,UPDATE,TABLE,public.patients,\"\"UPDATE patients",
        "   SET ward = 'B, \"\"\"\"east\"\"\"\"'", " WHERE id = 7\"\",<none>\",,,,,,,,\"psql\",",
        "2026-11-23 10:00:01.000 UTC,\"bob\",\"ehr\",77,,x,2,\"idle\",,,0,LOG,00000,"
        "\"disconnection: session time: 0:00:01.000\",,,,,,,,,\"client backend\",,0"},
       false);
  EXPECT_EQ(held_, 2);
  ASSERT_EQ(events_.size(), 1u) << ::testing::PrintToString(reasons_);
  EXPECT_EQ(events_[0].one("db.statement"),
            "UPDATE patients\n   SET ward = 'B, \"east\"'\n WHERE id = 7");
  EXPECT_EQ(events_[0].one("@timestamp"), "2026-11-23T10:00:00.123+05:30");
  EXPECT_FALSE(events_[0].has("source.ip"));
  EXPECT_EQ(reasons_, Strings{"not_an_audit_record"});
}

TEST_F(PgauditDecoderTest, RejectsCsvlogWithTooFewColumns) {
  feed({"2026-11-23 10:00:00.123 UTC,\"alice\",\"clinic\",4242"});
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(reasons_, Strings{"malformed_csvlog"});
}

TEST_F(PgauditDecoderTest, ConvertsPrefixTimesToRfc3339) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2026-11-23 10:00:00.123 UTC", "2026-11-23T10:00:00.123Z"},
      {"2026-11-23 10:00:00 GMT", "2026-11-23T10:00:00Z"},
      {"2026-11-23 10:00:00.5 +03", "2026-11-23T10:00:00.5+03:00"},
      {"2026-11-23 10:00:00 -0330", "2026-11-23T10:00:00-03:30"},
      {"2026-11-23 10:00:00 +05:30", "2026-11-23T10:00:00+05:30"},
      {"2026-11-23 10:00:00 CET", "2026-11-23 10:00:00 CET"},  // a zone name stays as written
  };
  for (const auto& [in, out] : cases) {
    events_.clear();
    feed({in + " [1] u@d LOG:  AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>"});
    ASSERT_EQ(events_.size(), 1u) << in;
    EXPECT_EQ(events_[0].one("@timestamp"), out) << in;
  }
}

TEST_F(PgauditDecoderTest, LowerCasesEveryClassIntoEventAction) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"READ", "read"},         {"WRITE", "write"},       {"DDL", "ddl"},
      {"ROLE", "role"},         {"FUNCTION", "function"}, {"MISC", "misc"},
      {"MISC_SET", "misc_set"}, {"NEW_ONE", "new_one"}};
  for (const auto& [cls, action] : cases) {
    events_.clear();
    feed({"LOG:  AUDIT: SESSION,1,1," + cls + ",X,,,X,<none>"});
    ASSERT_EQ(events_.size(), 1u) << cls;
    EXPECT_EQ(events_[0].one("event.action"), action);
    EXPECT_EQ(events_[0].one("pgaudit.class"), cls);
  }
}

TEST_F(PgauditDecoderTest, ReadsUserAndDatabaseFromKeyValuePrefix) {
  feed(
      {"2026-11-23 10:00:00 UTC [12-1] user=dave,db=lab,app=psql,client=10.0.0.9 LOG:  AUDIT: "
       "SESSION,1,1,ROLE,GRANT,,,GRANT x TO y,<none>"});
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].one("db.user"), "dave");
  EXPECT_EQ(events_[0].one("db.name"), "lab");
  EXPECT_EQ(events_[0].one("pgaudit.pid"), "12");
}

TEST_F(PgauditDecoderTest, BackgroundProcessPrefixHasNoUser) {
  feed({"2026-11-23 10:00:00.000 UTC [31] LOG:  AUDIT: SESSION,1,1,MISC,VACUUM,,,VACUUM,<none>",
        "2026-11-23 10:00:00.000 UTC [31] [unknown]@[unknown] LOG:  AUDIT: SESSION,1,1,MISC,X,,,"
        "X,<none>"});
  ASSERT_EQ(events_.size(), 2u);
  for (const auto& e : events_) {
    EXPECT_FALSE(e.has("db.user"));
    EXPECT_FALSE(e.has("db.name"));
    EXPECT_EQ(e.one("pgaudit.pid"), "31");
  }
}

TEST_F(PgauditDecoderTest, RejectsLinesThatAreNotAuditRecords) {
  feed({"2026-11-23 10:00:00 UTC [1] a@b LOG:  database system is ready",
        "2026-11-23 10:00:00 UTC [1] a@b LOG:  statement: SELECT 'LOG:  AUDIT: SESSION,1,1,READ'",
        "2026-11-23 10:00:00 UTC [1] a@b ERROR:  AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>",
        "\tSELECT 1", "SELECT * FROM t;", "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>",
        "NOTICE:  AUDIT:SESSION"});
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(reasons_, Strings(7, "not_an_audit_record"));
}

TEST_F(PgauditDecoderTest, RejectsEmptyAndBlankRecords) {
  feed({"", "   ", "\t", "\r"});
  EXPECT_EQ(reasons_, Strings(4, "empty_record"));
}

TEST_F(PgauditDecoderTest, RejectsMalformedAuditPayloads) {
  feed({"LOG:  AUDIT: SESSION,1,1,READ", "LOG:  AUDIT: SOMETHING,1,1,READ,SELECT,,,x,<none>",
        "LOG:  AUDIT: ", "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,\"public.a",
        "LOG:  AUDIT: \"SESSION", "LOG:  AUDIT: ,,,,,,,"});
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(reasons_, Strings(6, "malformed_audit_record"));
  EXPECT_EQ(held_, 0);
}

TEST_F(PgauditDecoderTest, BoundsHeldRecord) {
  std::vector<std::string> lines = {
      "NOTICE:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT"};  // never closed
  const std::string filler(1000, 'a');
  const std::size_t count = PgauditDecoder::kMaxHeldBytes / filler.size() + 10;
  for (std::size_t i = 0; i < count; ++i) lines.push_back(filler);
  feed(lines);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].one("pgaudit.truncated"), "true");
  EXPECT_LE(events_[0].raw.size(), PgauditDecoder::kMaxHeldBytes + filler.size() + 1);
  // The lines after the cut are plain text, not audit records.
  EXPECT_EQ(reasons_.size(), count + 1 - static_cast<std::size_t>(held_) - 1);
  for (const auto& r : reasons_) EXPECT_EQ(r, "not_an_audit_record");
}

TEST_F(PgauditDecoderTest, SurvivesEveryTruncationOfValidRecords) {
  const std::vector<std::string> records = {
      "2026-11-23 10:00:00.123 UTC [4242] alice@clinic LOG:  AUDIT: SESSION,3,1,READ,SELECT,"
      "TABLE,public.patients,\"SELECT \"\"a\"\", b FROM patients\",\"1,2\",10",
      "2026-11-23 10:00:00.123 UTC,\"alice\",\"clinic\",1,\"h:1\",s,1,\"SELECT\",,,0,LOG,00000,"
      "\"AUDIT: SESSION,1,1,READ,SELECT,,,\"\"x\"\"\"\"y\"\",<none>\",,,,,,,,,,,0"};
  for (const auto& full : records) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      PgauditDecoder d;
      d.setFields(kPaths);
      std::string buffer = full.substr(0, n) + std::string(kRecordPadding, '"');
      DecodeError error;
      const Event* e = d.decode(std::string_view(buffer.data(), n), error);
      if (e == nullptr && error.reason.empty()) e = d.flush(error);  // held
      if (e == nullptr) {
        EXPECT_FALSE(error.reason.empty()) << n;
        continue;
      }
      for (FieldId id = 0; id < kPaths.size(); ++id) {
        for (const auto& v : e->values(id)) {
          EXPECT_LE(v.text.size(), kPaths.size() + buffer.size() + 64);
        }
      }
    }
  }
}

TEST_F(PgauditDecoderTest, ToleratesInvalidUtf8AndControlBytes) {
  std::string line = "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.\xff\xfe,\"SELECT '\xc3";
  line += std::string("\0\x01", 2);
  line += "'\",<none>";
  feed({line, std::string("\xef\xbb\xbf\x80\x80\x80", 6), std::string(3, '\0')});
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].one("db.object"), "public.\xff\xfe");
  EXPECT_EQ(reasons_, (Strings{"not_an_audit_record", "not_an_audit_record"}));
}

TEST_F(PgauditDecoderTest, IsRegisteredAsPgaudit) {
  auto d = makeDecoder("pgaudit");
  ASSERT_NE(d, nullptr);
  d->setFields(kPaths);
  std::string line = "LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>";
  line.append(kRecordPadding, ' ');
  DecodeError error;
  EXPECT_NE(d->decode(std::string_view(line.data(), line.size() - kRecordPadding), error), nullptr);
}

TEST_F(PgauditDecoderTest, ExtractsOnlyWantedFields) {
  const std::vector<std::string> paths = {"db.object"};
  decoder_.setFields(paths);
  std::string line = "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.t,SELECT 1,<none>";
  line.append(kRecordPadding, ' ');
  DecodeError error;
  const Event* e =
      decoder_.decode(std::string_view(line.data(), line.size() - kRecordPadding), error);
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->values(0).size(), 1u);
  EXPECT_EQ(e->values(0)[0].text, "public.t");
  EXPECT_TRUE(e->values(1).empty());
}

// --- pgaudit's regression output (../shared/corpus/pgaudit-regression) ---

std::filesystem::path corpusFile() {
  return std::filesystem::path(TRAILWATCH_CORPUS_DIR) / "pgaudit-regression" / "pgaudit.out";
}

std::vector<std::string> readLines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(PgauditDecoderTest, DecodesEveryAuditRecordOfTheRegressionOutput) {
  if (!std::filesystem::exists(corpusFile())) {
    GTEST_SKIP() << "corpus missing: " << corpusFile() << " (../shared/corpus/pgaudit-regression)";
  }
  const auto lines = readLines(corpusFile());
  // Counted with grep: 386 `NOTICE:  AUDIT:` + 29 `WARNING:  AUDIT:` lines
  // (pgaudit.log_level = warning for regress_user2), 2669 lines in all.
  int notice = 0, warning = 0;
  for (const auto& l : lines) {
    notice += l.starts_with("NOTICE:  AUDIT: ");
    warning += l.starts_with("WARNING:  AUDIT: ");
  }
  ASSERT_EQ(lines.size(), 2669u);
  ASSERT_EQ(notice, 386);
  ASSERT_EQ(warning, 29);

  feed(lines);
  ASSERT_EQ(events_.size(), 415u);
  std::map<std::string, int> by_class, by_severity;
  int multi_line = 0, with_rows = 0, truncated = 0;
  for (const auto& e : events_) {
    ++by_class[e.one("pgaudit.audit_type") + "/" + e.one("event.action")];
    ++by_severity[e.one("pgaudit.severity")];
    multi_line += e.one("db.statement").find('\n') != std::string::npos;
    with_rows += e.has("pgaudit.rows");
    truncated += e.one("pgaudit.truncated") == "true";
  }
  EXPECT_EQ(by_severity, (std::map<std::string, int>{{"NOTICE", 386}, {"WARNING", 29}}));
  EXPECT_EQ(by_class, (std::map<std::string, int>{{"SESSION/ddl", 97},
                                                  {"SESSION/misc", 78},
                                                  {"SESSION/write", 70},
                                                  {"SESSION/read", 62},
                                                  {"SESSION/role", 50},
                                                  {"SESSION/function", 16},
                                                  {"OBJECT/write", 23},
                                                  {"OBJECT/read", 19}}));
  EXPECT_EQ(multi_line, 179);
  EXPECT_EQ(with_rows, 184);
  EXPECT_EQ(truncated, 0);
  // Every other line is psql's echo, results or other notices.
  std::map<std::string, int> reasons;
  for (const auto& r : reasons_) ++reasons[r];
  EXPECT_EQ(reasons,
            (std::map<std::string, int>{{"empty_record", 70}, {"not_an_audit_record", 1677}}));

  // Spot checks against pgaudit.out.
  const Decoded& first = events_[0];
  EXPECT_EQ(first.one("db.statement"), "SET pgaudit.log_level = 'notice'");
  EXPECT_EQ(first.one("db.command"), "SET");
  EXPECT_EQ(first.one("pgaudit.parameter"), "<not logged>");
  const Decoded& create = events_[1];
  EXPECT_EQ(create.one("db.object"), "public.tmp");
  EXPECT_EQ(create.one("db.object_type"), "TABLE");
  EXPECT_EQ(create.one("db.statement"), "CREATE TABLE tmp (id int, data text)");
  bool saw_multi = false, saw_quotes = false, saw_object_read = false;
  for (const auto& e : events_) {
    if (e.one("db.statement") == "CREATE TABLE public.test\n(\n\tid INT\n)") saw_multi = true;
    if (e.one("db.statement") == "CREATE TABLE do_table (\"weird name\" INT)") saw_quotes = true;
    if (e.one("pgaudit.audit_type") == "OBJECT" && e.one("db.object") == "public.account" &&
        e.one("event.action") == "read" && e.one("db.statement").starts_with("SELECT password"))
      saw_object_read = true;
  }
  EXPECT_TRUE(saw_multi);
  EXPECT_TRUE(saw_quotes);
  EXPECT_TRUE(saw_object_read);
}

}  // namespace
}  // namespace trailwatch::decode
