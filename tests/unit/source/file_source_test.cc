#include "daemon/source/file_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/source/checkpoint_store.h"
#include "tests/unit/source/test_files.h"

namespace trailwatch::source {
namespace {

using testing::appendFile;
using testing::collect;
using testing::joinLines;
using testing::numbered;
using testing::TempDir;
using testing::writeFile;
using Lines = std::vector<std::string>;

FileSourceOptions followOptions(const TempDir& dir, const std::string& pattern = "*.log") {
  FileSourceOptions o;
  o.name = "test";
  o.patterns = {dir.path() + "/" + pattern};
  o.follow = true;
  o.start_at_end = false;
  return o;
}

FileSourceOptions scanOptions(const TempDir& dir, const std::string& pattern = "*.log") {
  auto o = followOptions(dir, pattern);
  o.follow = false;
  return o;
}

std::unique_ptr<FileSource> openSource(FileSourceOptions options) {
  auto s = std::make_unique<FileSource>(std::move(options));
  Status st = s->open();
  EXPECT_TRUE(st.ok()) << st.error();
  return s;
}

Lines concat(Lines a, const Lines& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- scan mode -------------------------------------------------------------

TEST(FileSourceScan, ReadsFilesInSortedOrderThenEnds) {
  TempDir dir;
  writeFile(dir.file("b.log"), "b1\nb2\n");
  writeFile(dir.file("a.log"), "a1\na2\n");
  writeFile(dir.file("skip.txt"), "no\n");
  auto src = openSource(scanOptions(dir));
  auto got = collect(*src);
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.lines, (Lines{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(got.origins[0], dir.file("a.log"));
  EXPECT_EQ(got.origins[3], dir.file("b.log"));
  RecordBatch batch;
  EXPECT_FALSE(src->next(batch, std::chrono::milliseconds(0)));
}

TEST(FileSourceScan, LastLineEndsAtEndOfFileWithoutNewline) {
  TempDir dir;
  writeFile(dir.file("a.log"), "one\r\ntwo\nthree");
  writeFile(dir.file("b.log"), "four");
  auto got = collect(*openSource(scanOptions(dir)));
  EXPECT_EQ(got.lines, (Lines{"one", "two", "three", "four"}));
  EXPECT_EQ(got.offsets, (std::vector<uint64_t>{0, 5, 9, 0}));
}

TEST(FileSourceScan, SmallBatchesSpanFilesWithoutLoss) {
  TempDir dir;
  writeFile(dir.file("a.log"), joinLines(numbered("a", 0, 10)));
  writeFile(dir.file("b.log"), joinLines(numbered("b", 0, 7)));
  auto o = scanOptions(dir);
  o.max_batch_records = 3;
  o.read_size = 5;
  o.max_line_bytes = 8;
  auto src = openSource(o);
  RecordBatch batch;
  Lines lines;
  while (src->next(batch, std::chrono::milliseconds(0))) {
    EXPECT_LE(batch.records.size(), 3u);
    for (auto& r : batch.records) lines.emplace_back(r.text);
  }
  EXPECT_EQ(lines, concat(numbered("a", 0, 10), numbered("b", 0, 7)));
  EXPECT_EQ(src->stats().records, 17u);
}

TEST(FileSourceScan, SurvivesBinaryNulAndOddEntries) {
  TempDir dir;
  std::string binary("x\0y\n\xff\xfe\0\n", 8);
  writeFile(dir.file("a.log"), binary);
  std::filesystem::create_directory(dir.file("dir.log"));  // matches, not a file
  std::filesystem::create_symlink(dir.file("gone"), dir.file("dangling.log"));
  auto src = openSource(scanOptions(dir));
  auto got = collect(*src);
  EXPECT_TRUE(got.ended);
  ASSERT_EQ(got.lines.size(), 2u);
  EXPECT_EQ(got.lines[0], std::string("x\0y", 3));
  EXPECT_EQ(got.lines[1], std::string("\xff\xfe\0", 3));
}

TEST(FileSourceScan, EmptyMatchEndsAtOnce) {
  TempDir dir;
  auto got = collect(*openSource(scanOptions(dir)));
  EXPECT_TRUE(got.ended);
  EXPECT_TRUE(got.lines.empty());
}

TEST(FileSourceScan, UnreadableFileIsSkipped) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  TempDir dir;
  writeFile(dir.file("a.log"), "secret\n");
  writeFile(dir.file("b.log"), "ok\n");
  ::chmod(dir.file("a.log").c_str(), 0);
  auto got = collect(*openSource(scanOptions(dir)));
  EXPECT_EQ(got.lines, (Lines{"ok"}));
}

TEST(FileSourceScan, OversizedLineSkippedAndCounted) {
  TempDir dir;
  writeFile(dir.file("a.log"),
            "short\n" + std::string(100, 'x') + "\nnext\n" + std::string(50, 'y'));
  auto o = scanOptions(dir);
  o.max_line_bytes = 10;
  o.read_size = 7;
  auto src = openSource(o);
  auto got = collect(*src);
  EXPECT_EQ(got.lines, (Lines{"short", "next"}));
  EXPECT_EQ(src->stats().oversized_skipped, 2u);
}

// ---- follow mode: framing ---------------------------------------------------

TEST(FileSourceFollow, PartialLineWaitsForItsNewline) {
  TempDir dir;
  writeFile(dir.file("a.log"), "one\ntw");
  auto src = openSource(followOptions(dir));
  auto got = collect(*src);
  EXPECT_FALSE(got.ended);
  EXPECT_EQ(got.lines, (Lines{"one"}));
  appendFile(dir.file("a.log"), "o\nthr");
  got = collect(*src);
  EXPECT_EQ(got.lines, (Lines{"two"}));
  EXPECT_EQ(got.offsets, (std::vector<uint64_t>{4}));
  appendFile(dir.file("a.log"), "ee\r\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"three"}));
}

TEST(FileSourceFollow, StripsCrlf) {
  TempDir dir;
  writeFile(dir.file("a.log"), "a\r\nb\r\n\r\n");
  EXPECT_EQ(collect(*openSource(followOptions(dir))).lines, (Lines{"a", "b", ""}));
}

TEST(FileSourceFollow, OversizedLineSkippedNextLineRead) {
  TempDir dir;
  writeFile(dir.file("a.log"), "");
  auto o = followOptions(dir);
  o.max_line_bytes = 16;
  o.read_size = 8;
  auto src = openSource(o);
  appendFile(dir.file("a.log"), "fine\n" + std::string(40, 'z'));
  EXPECT_EQ(collect(*src).lines, (Lines{"fine"}));
  appendFile(dir.file("a.log"), std::string(40, 'z') + "\nafter\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"after"}));
  EXPECT_EQ(src->stats().oversized_skipped, 1u);
}

TEST(FileSourceFollow, StartAtEndSkipsExistingContentOnly) {
  TempDir dir;
  writeFile(dir.file("a.log"), "old1\nold2\n");
  auto o = followOptions(dir);
  o.start_at_end = true;
  auto src = openSource(o);
  EXPECT_TRUE(collect(*src).lines.empty());
  appendFile(dir.file("a.log"), "new1\n");
  writeFile(dir.file("b.log"), "b-from-start\n");  // appeared later: read whole
  auto got = collect(*src);
  std::multiset<std::string> seen(got.lines.begin(), got.lines.end());
  EXPECT_EQ(seen, (std::multiset<std::string>{"new1", "b-from-start"}));
}

TEST(FileSourceFollow, StartAtBeginningReadsExistingContent) {
  TempDir dir;
  writeFile(dir.file("a.log"), "old1\nold2\n");
  EXPECT_EQ(collect(*openSource(followOptions(dir))).lines, (Lines{"old1", "old2"}));
}

TEST(FileSourceFollow, PicksUpNewFileMatchingGlob) {
  TempDir dir;
  auto src = openSource(followOptions(dir));
  EXPECT_TRUE(collect(*src).lines.empty());
  writeFile(dir.file("new.log"), "hello\n");
  writeFile(dir.file("new.txt"), "ignored\n");
  auto got = collect(*src);
  EXPECT_EQ(got.lines, (Lines{"hello"}));
  EXPECT_EQ(got.origins, (Lines{dir.file("new.log")}));
  EXPECT_EQ(src->stats().files_open, 1u);
}

// A directory can stay locked for a second while a rename or create in it
// waits on the filesystem journal (log rotation under heavy writeback): the
// scan that re-resolves the patterns then blocks. Files already open must
// keep being read meanwhile, and the scan's result still arrives after.
TEST(FileSourceFollow, OpenFilesAreReadWhileAScanIsHeld) {
  TempDir dir;
  writeFile(dir.file("a.log"), "one\n");
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, held = false, release = false, timed_out = false;
  auto o = followOptions(dir);
  o.before_scan = [&] {
    std::unique_lock lock(mu);
    if (!hold) return;
    held = true;
    cv.notify_all();
    timed_out = !cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
  };
  auto src = openSource(o);
  EXPECT_EQ(collect(*src).lines, (Lines{"one"}));
  {
    std::lock_guard lock(mu);
    hold = true;
  }
  writeFile(dir.file("b.log"), "b\n");  // a scan starts and is held
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held; }));
  }
  appendFile(dir.file("a.log"), "two\n");
  Lines got;
  for (int i = 0; i < 10 && got.empty(); ++i) got = collect(*src).lines;
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(timed_out) << "reading waited for the held scan";
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(got, (Lines{"two"}));
  Lines after;
  for (int i = 0; i < 10 && after.empty(); ++i) after = collect(*src).lines;
  EXPECT_EQ(after, (Lines{"b"}));
}

TEST(FileSourceFollow, WatchesDirectoryCreatedLater) {
  TempDir dir;
  FileSourceOptions o = followOptions(dir, "sub/*.log");
  auto src = openSource(o);
  EXPECT_TRUE(collect(*src).lines.empty());
  std::filesystem::create_directory(dir.file("sub"));
  writeFile(dir.file("sub/a.log"), "x\n");
  // The parent's watch reports the new directory; no waiting for a rescan.
  EXPECT_EQ(collect(*src).lines, (Lines{"x"}));
  writeFile(dir.file("sub/b.log"), "y\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"y"}));
}

TEST(FileSourceFollow, StatsCountBytesRecordsAndLag) {
  TempDir dir;
  writeFile(dir.file("a.log"), "abc\ndef\n");
  auto o = followOptions(dir);
  o.max_batch_records = 1;
  o.read_size = 4;  // one line per read
  auto src = openSource(o);
  RecordBatch batch;
  ASSERT_TRUE(src->next(batch, std::chrono::milliseconds(200)));
  ASSERT_EQ(batch.records.size(), 1u);
  auto s = src->stats();
  EXPECT_EQ(s.records, 1u);
  EXPECT_EQ(s.bytes_read, 4u);
  EXPECT_EQ(s.lag_bytes, 4u);
  EXPECT_EQ(s.files_open, 1u);
  collect(*src);
  s = src->stats();
  EXPECT_EQ(s.records, 2u);
  EXPECT_EQ(s.bytes_read, 8u);
  EXPECT_EQ(s.lag_bytes, 0u);
}

TEST(FileSourceFollow, WakeEndsWaitEarly) {
  TempDir dir;
  auto src = openSource(followOptions(dir));
  src->wake();
  RecordBatch batch;
  // Without the wake-up this would wait a full minute.
  EXPECT_TRUE(src->next(batch, std::chrono::minutes(1)));
  EXPECT_TRUE(batch.records.empty());
}

// What is appended while a small batch waits (batch_wait) joins it.
TEST(FileSourceFollow, ASmallBatchWaitsForWhatFollows) {
  TempDir dir;
  writeFile(dir.file("a.log"), "one\n");
  auto options = followOptions(dir);
  options.batch_wait = std::chrono::seconds(1);
  auto src = openSource(std::move(options));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    appendFile(dir.file("a.log"), "two\nthree\n");
  });
  RecordBatch batch;
  ASSERT_TRUE(src->next(batch, std::chrono::seconds(5)));
  writer.join();
  Lines lines;
  for (const Record& r : batch.records) lines.emplace_back(r.text);
  EXPECT_EQ(lines, (Lines{"one", "two", "three"}));
  EXPECT_EQ(batch.records[2].offset, 8u);
}

// A batch that is not small is handed on at once; wake() ends a wait.
TEST(FileSourceFollow, BatchWaitIsForSmallBatchesAndEndsAtWake) {
  TempDir dir;
  writeFile(dir.file("a.log"), joinLines(numbered("line", 0, 8)));
  auto options = followOptions(dir);
  options.max_batch_records = 8;  // a batch of 2 or more is not small
  options.batch_wait = std::chrono::minutes(10);
  auto src = openSource(std::move(options));
  RecordBatch batch;
  ASSERT_TRUE(src->next(batch, std::chrono::seconds(5)));
  EXPECT_EQ(batch.records.size(), 8u);
  appendFile(dir.file("a.log"), "nine\n");
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    src->wake();
  });
  // Without the wake-up this would wait ten minutes.
  ASSERT_TRUE(src->next(batch, std::chrono::seconds(5)));
  waker.join();
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].text, "nine");
}

TEST(FileSourceFollow, DeletedFileIsClosedAfterItsEnd) {
  TempDir dir;
  writeFile(dir.file("a.log"), "1\n");
  auto src = openSource(followOptions(dir));
  EXPECT_EQ(collect(*src).lines, (Lines{"1"}));
  appendFile(dir.file("a.log"), "2\nlast-no-newline");
  ASSERT_EQ(::unlink(dir.file("a.log").c_str()), 0);
  EXPECT_EQ(collect(*src).lines, (Lines{"2", "last-no-newline"}));
  EXPECT_EQ(src->stats().files_open, 0u);
}

// ---- rotation ---------------------------------------------------------------

TEST(FileSourceFollow, RenameAndCreateRotationLosesNothing) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, joinLines(numbered("old", 0, 5)));
  auto src = openSource(followOptions(dir));
  auto got = collect(*src);
  EXPECT_EQ(got.lines, numbered("old", 0, 5));
  // Writer appends, then logrotate renames and the writer creates a new file.
  appendFile(live, joinLines(numbered("old", 5, 10)) + "old-partial");
  ASSERT_EQ(::rename(live.c_str(), dir.file("app.log.1").c_str()), 0);
  writeFile(live, joinLines(numbered("new", 0, 5)));
  got = collect(*src);
  EXPECT_EQ(got.lines,
            concat(concat(numbered("old", 5, 10), {"old-partial"}), numbered("new", 0, 5)));
  EXPECT_EQ(src->stats().rotations, 1u);
  EXPECT_EQ(src->stats().files_open, 1u);
  appendFile(live, "new5\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"new5"}));
}

TEST(FileSourceFollow, RotationToANameThePatternAlsoMatches) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, "a\n");
  auto src = openSource(followOptions(dir, "app.log*"));
  EXPECT_EQ(collect(*src).lines, (Lines{"a"}));
  appendFile(live, "b\n");
  ASSERT_EQ(::rename(live.c_str(), dir.file("app.log.1").c_str()), 0);
  writeFile(live, "c\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"b", "c"}));
  appendFile(dir.file("app.log.1"), "late\n");
  appendFile(live, "d\n");
  auto got = collect(*src);
  std::multiset<std::string> seen(got.lines.begin(), got.lines.end());
  EXPECT_EQ(seen, (std::multiset<std::string>{"late", "d"}));
}

TEST(FileSourceFollow, CopyTruncateRotationReadsTheCopysTailFirst) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, joinLines(numbered("line", 0, 3)));
  auto src = openSource(followOptions(dir));
  EXPECT_EQ(collect(*src).lines, numbered("line", 0, 3));
  // Lines written after our last read, then copytruncate, then new writes.
  appendFile(live, joinLines(numbered("line", 3, 8)));
  std::filesystem::copy_file(live, dir.file("app.log.1"));
  ASSERT_EQ(::truncate(live.c_str(), 0), 0);
  appendFile(live, joinLines(numbered("line", 8, 10)));
  auto got = collect(*src);
  EXPECT_EQ(got.lines, numbered("line", 3, 10));
  EXPECT_EQ(src->stats().rotations, 1u);
  EXPECT_EQ(src->stats().truncations_unrecovered, 0u);
  appendFile(live, "line10\n");
  got = collect(*src);
  EXPECT_EQ(got.lines, (Lines{"line10"}));
  EXPECT_EQ(got.offsets[0], 12u);  // "line8\nline9\n"
}

TEST(FileSourceFollow, TruncationWithoutCopyRestartsAndCountsPossibleLoss) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, "first line\nsecond line\n");
  auto src = openSource(followOptions(dir));
  EXPECT_EQ(collect(*src).lines, (Lines{"first line", "second line"}));
  ASSERT_EQ(::truncate(live.c_str(), 0), 0);
  appendFile(live, "fresh\n");
  EXPECT_EQ(collect(*src).lines, (Lines{"fresh"}));
  EXPECT_EQ(src->stats().rotations, 1u);
  EXPECT_EQ(src->stats().truncations_unrecovered, 1u);
}

TEST(FileSourceFollow, RotationsAcrossManySmallBatchesKeepOrderAndCount) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, "");
  auto o = followOptions(dir);
  o.max_batch_records = 7;
  o.read_size = 16;
  auto src = openSource(o);
  EXPECT_TRUE(collect(*src).lines.empty());
  appendFile(live, joinLines(numbered("a", 0, 50)));
  ASSERT_EQ(::rename(live.c_str(), dir.file("app.log.1").c_str()), 0);
  writeFile(live, joinLines(numbered("b", 0, 30)));
  auto got = collect(*src);
  EXPECT_EQ(got.lines, concat(numbered("a", 0, 50), numbered("b", 0, 30)));
  appendFile(live, joinLines(numbered("b", 30, 60)));
  std::filesystem::copy_file(live, dir.file("app.log.2"));
  ASSERT_EQ(::truncate(live.c_str(), 0), 0);
  appendFile(live, joinLines(numbered("c", 0, 20)));
  got = collect(*src);
  EXPECT_EQ(got.lines, concat(numbered("b", 30, 60), numbered("c", 0, 20)));
  EXPECT_EQ(src->stats().rotations, 2u);
  EXPECT_EQ(src->stats().lag_bytes, 0u);
}

// ---- checkpoints ------------------------------------------------------------

TEST(FileSourceCheckpoint, ResumesWithoutLossOrDuplicates) {
  TempDir dir;
  std::string live = dir.file("app.log");
  auto o = followOptions(dir);
  o.start_at_end = true;  // must not apply: a checkpoint exists
  o.checkpoint_path = dir.file("state/checkpoints/test.ckpt");
  writeFile(live, "");
  {
    auto src = openSource(o);
    appendFile(live, joinLines(numbered("l", 0, 5)) + "part");
    EXPECT_EQ(collect(*src).lines, numbered("l", 0, 5));
    ASSERT_TRUE(src->commit().ok());
  }
  appendFile(live, "ial\n" + joinLines(numbered("l", 5, 8)));
  auto src = openSource(o);
  auto got = collect(*src);
  EXPECT_EQ(got.lines, concat({"partial"}, numbered("l", 5, 8)));
  ASSERT_TRUE(src->commit().ok());
  auto cps = CheckpointStore(o.checkpoint_path).load();
  ASSERT_TRUE(cps.ok()) << cps.error();
  ASSERT_EQ(cps->size(), 1u);
  EXPECT_EQ((*cps)[0].offset, testing::readFile(live).size());
  EXPECT_EQ((*cps)[0].path, live);
}

TEST(FileSourceCheckpoint, UncommittedBatchIsReadAgain) {
  TempDir dir;
  std::string live = dir.file("app.log");
  auto o = followOptions(dir);
  o.checkpoint_path = dir.file("c.ckpt");
  writeFile(live, "a\n");
  {
    auto src = openSource(o);
    EXPECT_EQ(collect(*src).lines, (Lines{"a"}));
    ASSERT_TRUE(src->commit().ok());
    appendFile(live, "b\n");
    EXPECT_EQ(collect(*src).lines, (Lines{"b"}));
    // crash: no commit
  }
  EXPECT_EQ(collect(*openSource(o)).lines, (Lines{"b"}));
}

TEST(FileSourceCheckpoint, FinishesFileRotatedWhileDownBeforeItsSuccessor) {
  TempDir dir;
  std::string live = dir.file("app.log");
  auto o = followOptions(dir);
  o.start_at_end = true;
  o.checkpoint_path = dir.file("c.ckpt");
  writeFile(live, "a0\n");
  {
    auto src = openSource(o);
    appendFile(live, "a1\n");
    EXPECT_EQ(collect(*src).lines, (Lines{"a1"}));
    ASSERT_TRUE(src->commit().ok());
  }
  appendFile(live, "a2\na3\n");
  ASSERT_EQ(::rename(live.c_str(), dir.file("app.log.1").c_str()), 0);
  writeFile(live, "b0\nb1\n");
  auto src = openSource(o);
  EXPECT_EQ(collect(*src).lines, (Lines{"a2", "a3", "b0", "b1"}));
  ASSERT_TRUE(src->commit().ok());
  // And once more: nothing is read twice after a clean restart.
  src.reset();
  EXPECT_TRUE(collect(*openSource(o)).lines.empty());
}

TEST(FileSourceCheckpoint, CopyTruncateWhileDownReadsTheCopyTail) {
  TempDir dir;
  std::string live = dir.file("app.log");
  auto o = followOptions(dir);
  o.checkpoint_path = dir.file("c.ckpt");
  writeFile(live, "x0\nx1\n");
  {
    auto src = openSource(o);
    EXPECT_EQ(collect(*src).lines, (Lines{"x0", "x1"}));
    ASSERT_TRUE(src->commit().ok());
  }
  appendFile(live, "x2\n");
  std::filesystem::copy_file(live, dir.file("app.log.1"));
  ASSERT_EQ(::truncate(live.c_str(), 0), 0);
  appendFile(live, "y0\n");
  EXPECT_EQ(collect(*openSource(o)).lines, (Lines{"x2", "y0"}));
}

TEST(FileSourceCheckpoint, FingerprintMismatchRestartsAtZero) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, "different content\nsecond\n");
  auto st = testing::statOf(live);
  // A checkpoint for this very inode, but taken of other content (as after
  // inode reuse): the offset must not be trusted.
  CheckpointStore store(dir.file("c.ckpt"));
  ASSERT_TRUE(
      store
          .save({FileCheckpoint{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                                9, fingerprintOf("old file\n"), 18, live}})
          .ok());
  auto o = followOptions(dir);
  o.start_at_end = true;
  o.checkpoint_path = store.path();
  EXPECT_EQ(collect(*openSource(o)).lines, (Lines{"different content", "second"}));
}

TEST(FileSourceCheckpoint, MatchingFingerprintResumesAtOffset) {
  TempDir dir;
  std::string live = dir.file("app.log");
  writeFile(live, "old file\nsecond\n");
  auto st = testing::statOf(live);
  CheckpointStore store(dir.file("c.ckpt"));
  ASSERT_TRUE(
      store
          .save({FileCheckpoint{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                                9, fingerprintOf("old file\n"), 9, live}})
          .ok());
  auto o = followOptions(dir);
  o.checkpoint_path = store.path();
  EXPECT_EQ(collect(*openSource(o)).lines, (Lines{"second"}));
}

TEST(FileSourceCheckpoint, CorruptCheckpointFailsOpen) {
  TempDir dir;
  writeFile(dir.file("c.ckpt"), "garbage\n");
  auto o = followOptions(dir);
  o.checkpoint_path = dir.file("c.ckpt");
  FileSource src(o);
  Status st = src.open();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find(dir.file("c.ckpt") + ":1:"), std::string::npos) << st.error();
}

TEST(FileSourceCheckpoint, ScanResumesFromCheckpoint) {
  TempDir dir;
  writeFile(dir.file("a.log"), "a\nb\n");
  auto o = scanOptions(dir);
  o.checkpoint_path = dir.file("scan.ckpt");
  {
    auto src = openSource(o);
    EXPECT_EQ(collect(*src).lines, (Lines{"a", "b"}));
    ASSERT_TRUE(src->commit().ok());
  }
  appendFile(dir.file("a.log"), "c\n");
  EXPECT_EQ(collect(*openSource(o)).lines, (Lines{"c"}));
}

// ---- many files -------------------------------------------------------------

TEST(FileSourceFollow, BusyFileDoesNotStarveOthers) {
  TempDir dir;
  writeFile(dir.file("busy.log"), joinLines(numbered("busy", 0, 5000)));
  writeFile(dir.file("quiet1.log"), "q1\n");
  writeFile(dir.file("quiet2.log"), "q2\n");
  auto o = followOptions(dir);
  o.max_batch_records = 100;
  auto src = openSource(o);
  RecordBatch batch;
  ASSERT_TRUE(src->next(batch, std::chrono::milliseconds(200)));
  EXPECT_EQ(batch.records.size(), 100u);
  std::set<std::string> first;
  for (auto& r : batch.records) first.emplace(r.text);
  EXPECT_TRUE(first.count("q1") == 1 && first.count("q2") == 1);
  auto rest = collect(*src);
  EXPECT_EQ(rest.lines.size() + 100, 5002u);
  EXPECT_EQ(src->stats().records, 5002u);
}

TEST(FileSourceFollow, ManyFilesAllRead) {
  TempDir dir;
  Lines expected;
  for (int f = 0; f < 40; ++f) {
    auto lines = numbered("f" + std::to_string(f) + "-", 0, 20);
    writeFile(dir.file("f" + std::to_string(f) + ".log"), joinLines(lines));
    expected.insert(expected.end(), lines.begin(), lines.end());
  }
  auto o = followOptions(dir);
  o.max_batch_records = 64;
  o.read_size = 64;
  auto src = openSource(o);
  auto got = collect(*src);
  std::multiset<std::string> seen(got.lines.begin(), got.lines.end());
  EXPECT_EQ(seen, std::multiset<std::string>(expected.begin(), expected.end()));
  EXPECT_EQ(src->stats().files_open, 40u);
}

}  // namespace
}  // namespace trailwatch::source
