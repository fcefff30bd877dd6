#include "daemon/common/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace trailwatch {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("atomic_file_test." + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, ReplacesTheContentAndCreatesTheFolder) {
  const fs::path file = dir_ / "sub" / "state";
  ASSERT_TRUE(replaceFileAtomically(file.string(), "first", "test file").ok());
  EXPECT_EQ(read(file), "first");
  ASSERT_TRUE(replaceFileAtomically(file.string(), "second, longer", "test file").ok());
  EXPECT_EQ(read(file), "second, longer");
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, PiecesAreWrittenInOrder) {
  const fs::path file = dir_ / "state";
  const std::string big(1 << 20, 'x');
  const std::vector<std::string_view> pieces{"head|", "", big, std::string_view("\0|", 2), "tail"};
  ASSERT_TRUE(replaceFileAtomically(file.string(), pieces, "test file").ok());
  EXPECT_EQ(read(file), "head|" + big + std::string("\0|", 2) + "tail");
}

TEST_F(AtomicFileTest, AFolderThatCannotBeCreatedIsAnErrorNamingIt) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "plain") << "a file, not a folder";
  const Status s = replaceFileAtomically((dir_ / "plain" / "state").string(), "x", "test file");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find((dir_ / "plain").string()), std::string::npos) << s.error();
}

}  // namespace
}  // namespace trailwatch
