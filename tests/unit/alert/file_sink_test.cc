#include "daemon/alert/file_sink.h"

#include "daemon/alert/hash_chain.h"
#include "tests/unit/alert/file_size_limit.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

namespace trailwatch::alert {
namespace {

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch-filesink-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // One run of a daemon's file sink with the default options: open the
  // log, write `alerts`, flush, close.
  void runSink(const std::string& path, const std::vector<std::string>& alerts) {
    auto sink = FileSink::open(path);
    ASSERT_TRUE(sink.ok()) << sink.error();
    for (const auto& a : alerts) ASSERT_TRUE((*sink)->write(a).ok());
    ASSERT_TRUE((*sink)->flush().ok());
  }
  std::string dir_;
};

const FileSinkOptions kPlain{.hash_chain = false, .chain_key = ""};

TEST_F(FileSinkTest, CreatesFoldersAndAppendsLinesOnFlush) {
  const std::string path = dir_ + "/a/b/alerts.jsonl";
  auto sink = FileSink::open(path, kPlain);
  ASSERT_TRUE(sink.ok()) << sink.error();
  ASSERT_TRUE((*sink)->write(R"({"n":1})").ok());
  ASSERT_TRUE((*sink)->write(R"({"n":2})").ok());
  EXPECT_EQ(read(path), "");  // buffered until flush
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path), "{\"n\":1}\n{\"n\":2}\n");
}

// deliver() makes the lines readable at once; only flush() syncs them and
// moves the chain head.
TEST_F(FileSinkTest, DeliverWritesWithoutMovingTheHead) {
  const std::string path = dir_ + "/alerts.jsonl";
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink.ok()) << sink.error();
  ASSERT_TRUE((*sink)->write(R"({"n":1})").ok());
  EXPECT_EQ(read(path), "");
  ASSERT_TRUE((*sink)->deliver().ok());
  EXPECT_NE(read(path).find(R"({"n":1,"chain":{"seq":1,)"), std::string::npos) << read(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".chain"));
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path + ".chain").substr(0, 2), "1 ");
  const std::string text = read(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

TEST_F(FileSinkTest, AppendsToExistingLog) {
  const std::string path = dir_ + "/alerts.jsonl";
  std::ofstream(path) << "old\n";
  auto sink = FileSink::open(path, kPlain);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write("new").ok());
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path), "old\nnew\n");
}

TEST_F(FileSinkTest, FollowsRenameRotationOnFlush) {
  const std::string path = dir_ + "/alerts.jsonl";
  auto sink = FileSink::open(path, kPlain);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write("one").ok());
  ASSERT_TRUE((*sink)->flush().ok());
  std::filesystem::rename(path, path + ".1");
  ASSERT_TRUE((*sink)->write("two").ok());
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path + ".1"), "one\n");
  EXPECT_EQ(read(path), "two\n");
}

TEST_F(FileSinkTest, UnwritablePathIsAnError) {
  std::ofstream(dir_ + "/file") << "x";
  auto sink = FileSink::open(dir_ + "/file/alerts.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().find(dir_ + "/file"), std::string::npos) << sink.error();
}

// The default: every line carries a chain link, the head is written beside
// the log at flush, a reopened sink continues the chain, and the chain goes
// on across a rename rotation.
TEST_F(FileSinkTest, ChainsLinesAcrossReopenAndRotation) {
  const std::string path = dir_ + "/alerts.jsonl";
  ASSERT_NO_FATAL_FAILURE(runSink(path, {R"({"n":1})", R"({"n":2})"}));
  const std::string first = read(path);
  const std::string line1 = first.substr(0, first.find('\n'));
  EXPECT_EQ(line1, R"({"n":1,"chain":{"seq":1,"prev":")" + std::string(64, '0') + R"("}})");
  const std::string line2 = first.substr(line1.size() + 1, first.size() - line1.size() - 2);
  EXPECT_EQ(line2, R"({"n":2,"chain":{"seq":2,"prev":")" + chainDigest(line1, "") + R"("}})");
  EXPECT_EQ(read(path + ".chain"), "2 " + chainDigest(line2, "") + "\n");
  {
    auto sink = FileSink::open(path);  // a restart
    ASSERT_TRUE(sink.ok()) << sink.error();
    ASSERT_TRUE((*sink)->write(R"({"n":3})").ok());
    ASSERT_TRUE((*sink)->flush().ok());
    std::filesystem::rename(path, path + ".1");
    ASSERT_TRUE((*sink)->write(R"({"n":4})").ok());
    ASSERT_TRUE((*sink)->flush().ok());
  }
  auto old_log = verifyChain(path + ".1", "");
  ASSERT_TRUE(old_log.ok()) << old_log.error();
  EXPECT_FALSE(old_log->problem) << *old_log->problem;
  EXPECT_EQ(old_log->chained, 3u);
  auto new_log = verifyChain(path, "");
  ASSERT_TRUE(new_log.ok());
  EXPECT_FALSE(new_log->problem) << *new_log->problem;
  EXPECT_TRUE(new_log->continues);
  EXPECT_EQ(new_log->first_seq, 4u);
  EXPECT_TRUE(new_log->head_checked);
}

// logrotate moved the log away and the daemon restarted before the next
// alert: the empty new log verifies, and its first record links to the
// rotated file's last through the head left beside the log.
TEST_F(FileSinkTest, ARestartAfterRotationGoesOnFromTheHead) {
  const std::string path = dir_ + "/alerts.jsonl";
  ASSERT_NO_FATAL_FAILURE(runSink(path, {R"({"n":1})", R"({"n":2})"}));
  std::filesystem::rename(path, path + ".1");
  std::ofstream(path).close();  // logrotate's `create`
  auto empty = verifyChain(path, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->problem) << *empty->problem;
  EXPECT_EQ(empty->rotated_head_seq, 2u);
  {
    auto sink = FileSink::open(path);
    ASSERT_TRUE(sink.ok()) << sink.error();
    ASSERT_TRUE((*sink)->write(R"({"n":3})").ok());
    ASSERT_TRUE((*sink)->flush().ok());
  }
  const std::string old_text = read(path + ".1");
  const std::string old_last =
      old_text.substr(old_text.find('\n') + 1, old_text.size() - old_text.find('\n') - 2);
  EXPECT_EQ(read(path),
            R"({"n":3,"chain":{"seq":3,"prev":")" + chainDigest(old_last, "") + "\"}}\n");
  auto report = verifyChain(path, "");
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->problem) << *report->problem;
  EXPECT_TRUE(report->continues);
  EXPECT_TRUE(report->head_checked);
}

TEST_F(FileSinkTest, ATornLastLineIsLeftAndTheChainGoesOnBelowIt) {
  const std::string path = dir_ + "/alerts.jsonl";
  std::ofstream(path) << R"({"n":1,"chain":{"seq":1,"prev":")" << std::string(64, '0')
                      << "\"}}\n{\"n\":2,\"cha";
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink.ok()) << sink.error();
  ASSERT_TRUE((*sink)->write(R"({"n":3})").ok());
  ASSERT_TRUE((*sink)->flush().ok());
  const std::string text = read(path);
  EXPECT_NE(text.find("\"cha\n{\"n\":3,\"chain\":{\"seq\":1,"), std::string::npos) << text;
  auto report = verifyChain(path, "");
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->problem) << "the torn line is evidence, and is reported";
  EXPECT_NE(report->problem->find("line 2:"), std::string::npos) << *report->problem;
}

TEST_F(FileSinkTest, AFullDiskFailsFlushesAndLosesOrRepeatsNothing) {
  const std::string path = dir_ + "/alerts.jsonl";
  auto sink = FileSink::open(path, kPlain);
  ASSERT_TRUE(sink.ok()) << sink.error();
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    const std::string alert = R"({"n":)" + std::to_string(i) + R"(,"pad":"0123456789abcdef"})";
    ASSERT_TRUE((*sink)->write(alert).ok());
    expected += alert + "\n";
  }
  {
    FileSizeLimit full(50);  // room for one line and part of the next
    EXPECT_FALSE((*sink)->deliver().ok());
    EXPECT_FALSE((*sink)->flush().ok()) << "a flush must fail while alerts are not written";
    EXPECT_EQ(read(path).size(), 50u) << "what fitted was written";
    const std::string more = R"({"n":5})";
    EXPECT_TRUE((*sink)->write(more).ok());
    expected += more + "\n";
    EXPECT_FALSE((*sink)->flush().ok());
  }
  ASSERT_TRUE((*sink)->flush().ok()) << "space is back";
  EXPECT_EQ(read(path), expected) << "every line once, the cut one completed";
}

TEST_F(FileSinkTest, ABufferFullOfAlertsIsKeptWhenItCannotBeWritten) {
  const std::string path = dir_ + "/alerts.jsonl";
  auto sink = FileSink::open(path, kPlain);
  ASSERT_TRUE(sink.ok()) << sink.error();
  const std::string alert = R"({"pad":")" + std::string(1000, 'x') + R"("})";
  size_t lines = 0;
  {
    FileSizeLimit full(4096);
    // Past the 1 MiB buffer, write() itself tries to write out.
    for (; lines < 1500; ++lines) ASSERT_TRUE((*sink)->write(alert).ok());
    EXPECT_FALSE((*sink)->flush().ok());
  }
  ASSERT_TRUE((*sink)->flush().ok());
  const std::string text = read(path);
  EXPECT_EQ(text.size(), lines * (alert.size() + 1));
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), lines);
}

}  // namespace
}  // namespace trailwatch::alert
