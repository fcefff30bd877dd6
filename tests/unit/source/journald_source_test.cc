#include "daemon/source/journald_source.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/unit/source/journal_files.h"
#include "tests/unit/source/test_files.h"

namespace trailwatch::source {
namespace {

using testing::entry;
using testing::writeJournal;
using Lines = std::vector<std::string>;
using std::chrono::milliseconds;

class JournaldSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::journalRemoteAvailable()) {
      GTEST_SKIP() << testing::kJournalRemote
                   << " not found: install systemd-journal-remote (deploy/install-deps.sh)";
    }
    std::filesystem::create_directories(journals());
  }

  std::string journals() const { return dir_.path() + "/journals"; }
  std::string journal(const std::string& name = "remote-a") const {
    return journals() + "/" + name + ".journal";
  }
  std::string checkpoint() const { return dir_.path() + "/state/j.ckpt"; }

  JournaldSourceOptions options() const {
    JournaldSourceOptions o;
    o.name = "j";
    o.directory = journals();
    o.start_at_end = false;
    o.checkpoint_path = checkpoint();
    return o;
  }

  // The MESSAGE of every record until a batch comes back empty.
  static Lines messages(Source& src) {
    Lines out;
    auto got = testing::collect(src, milliseconds(0));
    simdjson::ondemand::parser parser;
    for (const auto& line : got.lines) {
      simdjson::padded_string padded(line);
      auto doc = parser.iterate(padded);
      std::string_view message;
      if (doc["MESSAGE"].get_string().get(message) != simdjson::SUCCESS) {
        ADD_FAILURE() << "no MESSAGE in " << line;
        continue;
      }
      out.emplace_back(message);
    }
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(JournaldSourceTest, ReadsEachEntryAsOneJsonObjectWithItsTime) {
  writeJournal(journal(), {entry(1, "one"), entry(2, "two", "cron.service", "CRON")});
  JournaldSource src(options());
  ASSERT_TRUE(src.open().ok());
  auto got = testing::collect(src, milliseconds(0));
  ASSERT_EQ(got.lines.size(), 2u);
  EXPECT_EQ(got.origins, (Lines{journals(), journals()}));
  EXPECT_EQ(got.offsets, (std::vector<uint64_t>{1'790'000'000'000'001, 1'790'000'000'000'002}));
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(got.lines[1]);
  auto doc = parser.iterate(padded);
  std::string_view v;
  ASSERT_EQ(doc["@timestamp"].get_string().get(v), simdjson::SUCCESS) << got.lines[1];
  EXPECT_EQ(v, "2026-09-21T14:13:20.000002Z");
  ASSERT_EQ(doc["_SYSTEMD_UNIT"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "cron.service");
  ASSERT_EQ(doc["SYSLOG_IDENTIFIER"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "CRON");
  ASSERT_EQ(doc["__CURSOR"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_TRUE(v.starts_with("s=")) << v;
  EXPECT_EQ(src.stats().records, 2u);
}

TEST_F(JournaldSourceTest, MessageRecordIsTheMessageOnlyAndEmptyWithoutOne) {
  testing::ExportEntry bare;
  bare.realtime_usec = 1'790'000'000'000'005;
  bare.fields = {{"_SYSTEMD_UNIT", "x.service"}};
  writeJournal(journal(), {entry(1, "user=alice action=login"), bare});
  auto o = options();
  o.record = JournalRecordShape::kMessage;
  JournaldSource src(o);
  ASSERT_TRUE(src.open().ok());
  auto got = testing::collect(src, milliseconds(0));
  EXPECT_EQ(got.lines, (Lines{"user=alice action=login", ""}));
}

TEST_F(JournaldSourceTest, MatchesOrValuesOfOneFieldAndAndFields) {
  writeJournal(journal(), {
                              entry(1, "a-sshd", "a.service", "sshd"),
                              entry(2, "b-sshd", "b.service", "sshd"),
                              entry(3, "c-sshd", "c.service", "sshd"),
                              entry(4, "a-other", "a.service", "other"),
                              entry(5, "b-sudo", "b.service", "sudo"),
                          });
  auto o = options();
  o.matches = {"_SYSTEMD_UNIT=a.service", "SYSLOG_IDENTIFIER=sshd", "_SYSTEMD_UNIT=b.service",
               "SYSLOG_IDENTIFIER=sudo"};
  JournaldSource src(o);
  ASSERT_TRUE(src.open().ok());
  EXPECT_EQ(messages(src), (Lines{"a-sshd", "b-sshd", "b-sudo"}));
}

TEST_F(JournaldSourceTest, RejectsAMatchLibsystemdRefuses) {
  writeJournal(journal(), {entry(1, "one")});
  auto o = options();
  o.matches = {"lower=case"};
  JournaldSource src(o);
  auto s = src.open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("match 'lower=case' rejected"), std::string::npos) << s.error();
}

TEST_F(JournaldSourceTest, StartAtEndSkipsWhatIsThereAndFollowsAppends) {
  writeJournal(journal(), {entry(1, "old-1"), entry(2, "old-2")});
  auto o = options();
  o.start_at_end = true;
  {
    JournaldSource src(o);
    ASSERT_TRUE(src.open().ok());
    EXPECT_EQ(messages(src), Lines{});
    // The end position is saved at once: what is logged while the daemon
    // is down before its first record is not skipped on restart.
    EXPECT_TRUE(std::filesystem::exists(checkpoint()));
    writeJournal(journal(), {entry(3, "new-3")});
    EXPECT_EQ(messages(src), Lines{"new-3"});
  }
  writeJournal(journal(), {entry(4, "while-down")});
  JournaldSource again(o);
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(messages(again), (Lines{"new-3", "while-down"}));
}

TEST_F(JournaldSourceTest, FollowsANewFileInTheDirectory) {
  writeJournal(journal("remote-a"), {entry(1, "a1")});
  JournaldSource src(options());
  ASSERT_TRUE(src.open().ok());
  EXPECT_EQ(messages(src), Lines{"a1"});
  writeJournal(journal("remote-b"), {entry(2, "b2")});
  EXPECT_EQ(messages(src), Lines{"b2"});
}

TEST_F(JournaldSourceTest, ResumesAfterTheCommittedEntry) {
  writeJournal(journal(), {entry(1, "one"), entry(2, "two"), entry(3, "three")});
  auto o = options();
  o.max_batch_records = 2;
  {
    JournaldSource src(o);
    ASSERT_TRUE(src.open().ok());
    RecordBatch batch;
    src.next(batch, milliseconds(0));
    ASSERT_EQ(batch.records.size(), 2u);
    ASSERT_TRUE(src.commit().ok());
    src.next(batch, milliseconds(0));  // read, never committed: read again
    ASSERT_EQ(batch.records.size(), 1u);
  }
  JournaldSource again(o);
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(messages(again), Lines{"three"});
  EXPECT_EQ(again.stats().gaps, 0u);
}

TEST_F(JournaldSourceTest, CursorGoneResumesAtTheNextEntryAndCountsAGap) {
  writeJournal(journal("old"), {entry(1, "one"), entry(2, "two")});
  {
    JournaldSource src(options());
    ASSERT_TRUE(src.open().ok());
    EXPECT_EQ(messages(src), (Lines{"one", "two"}));
    ASSERT_TRUE(src.commit().ok());
  }
  // Vacuumed: the file holding the checkpointed entry is gone.
  std::filesystem::remove(journal("old"));
  writeJournal(journal("new"), {entry(3, "three"), entry(4, "four")});
  JournaldSource again(options());
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.stats().gaps, 1u);
  EXPECT_EQ(messages(again), (Lines{"three", "four"}));  // the first one is not skipped
}

TEST_F(JournaldSourceTest, OversizedEntryIsSkippedAndCounted) {
  writeJournal(journal(), {entry(1, "short"), entry(2, std::string(3000, 'x')), entry(3, "after")});
  auto o = options();
  o.max_line_bytes = 1024;
  JournaldSource src(o);
  ASSERT_TRUE(src.open().ok());
  EXPECT_EQ(messages(src), (Lines{"short", "after"}));
  EXPECT_EQ(src.stats().oversized_skipped, 1u);
  EXPECT_EQ(src.stats().records, 2u);
}

TEST_F(JournaldSourceTest, BinaryValuesBecomeValidJson) {
  testing::ExportEntry e = entry(1, std::string("bad \xff\xfe bytes\nand a newline"));
  e.fields.emplace_back("BLOB", std::string("\x00\x01\x02", 3));
  writeJournal(journal(), {e});
  JournaldSource src(options());
  ASSERT_TRUE(src.open().ok());
  EXPECT_EQ(messages(src), Lines{"bad \xEF\xBF\xBD\xEF\xBF\xBD bytes\nand a newline"});
}

TEST_F(JournaldSourceTest, WakeInterruptsAWait) {
  writeJournal(journal(), {entry(1, "one")});
  JournaldSource src(options());
  ASSERT_TRUE(src.open().ok());
  EXPECT_EQ(messages(src), Lines{"one"});
  src.wake();
  RecordBatch batch;
  // Without the wake this would wait the full minute (and the test time out).
  EXPECT_TRUE(src.next(batch, milliseconds(60'000)));
  EXPECT_TRUE(batch.records.empty());
}

TEST_F(JournaldSourceTest, CorruptCheckpointStopsOpenNamingTheFile) {
  writeJournal(journal(), {entry(1, "one")});
  std::filesystem::create_directories(dir_.path() + "/state");
  testing::writeFile(checkpoint(), "trailwatch-journal-cursor 1\ncursor s=abc\n");
  JournaldSource src(options());
  auto s = src.open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), checkpoint() + ":2: truncated checkpoint file (no end marker)");
}

TEST_F(JournaldSourceTest, UnreadableDirectoryFailsOpen) {
  auto o = options();
  o.directory = dir_.path() + "/missing";
  JournaldSource src(o);
  auto s = src.open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("cannot read " + o.directory), std::string::npos) << s.error();
}

}  // namespace
}  // namespace trailwatch::source
