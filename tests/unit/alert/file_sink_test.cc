#include "daemon/alert/file_sink.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
  std::string dir_;
};

TEST_F(FileSinkTest, CreatesFoldersAndAppendsLinesOnFlush) {
  const std::string path = dir_ + "/a/b/alerts.jsonl";
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink.ok()) << sink.error();
  ASSERT_TRUE((*sink)->write(R"({"n":1})").ok());
  ASSERT_TRUE((*sink)->write(R"({"n":2})").ok());
  EXPECT_EQ(read(path), "");  // buffered until flush
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path), "{\"n\":1}\n{\"n\":2}\n");
}

TEST_F(FileSinkTest, AppendsToExistingLog) {
  const std::string path = dir_ + "/alerts.jsonl";
  std::ofstream(path) << "old\n";
  auto sink = FileSink::open(path);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write("new").ok());
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(read(path), "old\nnew\n");
}

TEST_F(FileSinkTest, FollowsRenameRotationOnFlush) {
  const std::string path = dir_ + "/alerts.jsonl";
  auto sink = FileSink::open(path);
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

}  // namespace
}  // namespace trailwatch::alert
