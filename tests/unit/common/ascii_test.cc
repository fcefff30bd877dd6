#include "daemon/common/ascii.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace trailwatch::ascii {
namespace {

// Every byte, against <cctype> in the C locale (the program's locale until
// it calls setlocale, which the daemon never does).
TEST(Ascii, ClassesAndCaseAgreeWithTheCLocale) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const auto u = static_cast<unsigned char>(b);
    SCOPED_TRACE(b);
    EXPECT_EQ(isDigit(c), std::isdigit(u) != 0);
    EXPECT_EQ(isUpper(c), std::isupper(u) != 0);
    EXPECT_EQ(isLower(c), std::islower(u) != 0);
    EXPECT_EQ(isAlpha(c), std::isalpha(u) != 0);
    EXPECT_EQ(isAlnum(c), std::isalnum(u) != 0);
    EXPECT_EQ(isHexDigit(c), std::isxdigit(u) != 0);
    EXPECT_EQ(toLower(c), static_cast<char>(std::tolower(u)));
    EXPECT_EQ(toUpper(c), static_cast<char>(std::toupper(u)));
    if (isHexDigit(c)) {
      EXPECT_EQ(hexValue(c), std::stoi(std::string(1, c), nullptr, 16));
    }
  }
}

TEST(Ascii, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(lowered("Break-The-Glass ÄÖ 42"), "break-the-glass ÄÖ 42");
  EXPECT_EQ(uppered("cc7.2 é"), "CC7.2 é");
  EXPECT_TRUE(equalsFolded("EXECVE", "execve"));
  EXPECT_TRUE(equalsFolded("", ""));
  EXPECT_FALSE(equalsFolded("EXECVE", "execv"));
  EXPECT_FALSE(equalsFolded("execve", "EXECVE"));  // the second is taken as folded already
  EXPECT_TRUE(startsWithFolded("HTTPS://host", "https://"));
  EXPECT_FALSE(startsWithFolded("HTTP", "https://"));
  EXPECT_TRUE(startsWithFolded("anything", ""));
}

}  // namespace
}  // namespace trailwatch::ascii
