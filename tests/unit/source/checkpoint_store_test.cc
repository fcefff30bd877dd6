#include "daemon/source/checkpoint_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/unit/source/test_files.h"

namespace trailwatch::source {
namespace {

using testing::TempDir;

std::vector<FileCheckpoint> sample() {
  return {
      FileCheckpoint{64769, 1234, 1024, 0xdeadbeefcafef00dull, 987654321, "/var/log/app.log"},
      FileCheckpoint{1, 2, 0, fingerprintOf(""), 0, "/tmp/odd name\\with\nnewline\r"},
  };
}

TEST(Fingerprint, IsFnv1a64) {
  EXPECT_EQ(fingerprintOf(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fingerprintOf("a"), 0xaf63dc4c8601ec8cull);
}

TEST(CheckpointStore, MissingFileLoadsEmpty) {
  TempDir dir;
  CheckpointStore store(dir.file("none/x.ckpt"));
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_TRUE(loaded->empty());
}

TEST(CheckpointStore, RoundTripsIncludingOddPaths) {
  TempDir dir;
  CheckpointStore store(dir.file("checkpoints/src.ckpt"));  // parent created by save()
  ASSERT_TRUE(store.save(sample()).ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(*loaded, sample());
}

TEST(CheckpointStore, EmptySetRoundTrips) {
  TempDir dir;
  CheckpointStore store(dir.file("a.ckpt"));
  ASSERT_TRUE(store.save({}).ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_TRUE(loaded->empty());
}

TEST(CheckpointStore, SaveReplacesAtomicallyAndLeavesNoTempFiles) {
  TempDir dir;
  CheckpointStore store(dir.file("c/src.ckpt"));
  ASSERT_TRUE(store.save(sample()).ok());
  auto second = sample();
  second.pop_back();
  second[0].offset = 5;
  ASSERT_TRUE(store.save(second).ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(*loaded, second);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("c"))) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"src.ckpt"});
}

TEST(CheckpointStore, ReportsBadHeaderWithPathAndLine) {
  TempDir dir;
  std::string path = dir.file("bad.ckpt");
  testing::writeFile(path, "hello\n");
  auto loaded = CheckpointStore(path).load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find(path + ":1:"), std::string::npos) << loaded.error();
}

TEST(CheckpointStore, ReportsMalformedLine) {
  TempDir dir;
  std::string path = dir.file("bad.ckpt");
  CheckpointStore store(path);
  ASSERT_TRUE(store.save(sample()).ok());
  std::string text = testing::readFile(path);
  text.replace(text.find("1234"), 4, "12x4");
  testing::writeFile(path, text);
  auto loaded = store.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find(path + ":2:"), std::string::npos) << loaded.error();
}

TEST(CheckpointStore, ReportsTruncatedFile) {
  TempDir dir;
  std::string path = dir.file("t.ckpt");
  CheckpointStore store(path);
  ASSERT_TRUE(store.save(sample()).ok());
  std::string text = testing::readFile(path);
  // Cut inside the last line, and also just before the end marker.
  for (std::size_t cut : {text.size() - 3, text.rfind("end ")}) {
    testing::writeFile(path, text.substr(0, cut));
    auto loaded = store.load();
    ASSERT_FALSE(loaded.ok()) << "cut at " << cut;
    EXPECT_NE(loaded.error().find(path + ":"), std::string::npos) << loaded.error();
  }
  testing::writeFile(path, "");
  EXPECT_FALSE(store.load().ok());
}

TEST(CheckpointStore, ReportsUnwritableLocation) {
  TempDir dir;
  testing::writeFile(dir.file("plain"), "x");
  CheckpointStore store(dir.file("plain/sub/src.ckpt"));  // parent is a file
  Status s = store.save(sample());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find(dir.file("plain")), std::string::npos) << s.error();
}

}  // namespace
}  // namespace trailwatch::source
