#include "daemon/common/literal_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trailwatch {
namespace {

// A value is looked up by its length and its first and last eight bytes,
// folded; longer values are compared in full. Every length from 0 to 40
// must find its own literal (in any case), and no other value of that
// length: one byte changed anywhere, or one byte more, finds nothing.
TEST(LiteralSet, LiteralsOfEveryLengthAreFoundExactly) {
  std::vector<std::string> literals;
  for (size_t n = 0; n <= 40; ++n) {
    std::string literal;
    for (size_t i = 0; i < n; ++i) literal.push_back(static_cast<char>('a' + (i * 7 + n) % 26));
    literals.push_back(literal);
  }
  const LiteralSet set(literals, /*cased=*/false);
  for (size_t n = 0; n < literals.size(); ++n) {
    std::string upper = literals[n];
    for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
    EXPECT_EQ(set.find(literals[n]), static_cast<int32_t>(n)) << literals[n];
    EXPECT_EQ(set.find(upper), static_cast<int32_t>(n)) << upper;
    for (size_t i = 0; i < n; ++i) {
      std::string changed = literals[n];
      changed[i] = '_';
      EXPECT_EQ(set.find(changed), -1) << changed;
    }
    EXPECT_EQ(set.find(literals[n] + "_"), -1) << literals[n] << "_";
  }
}

TEST(LiteralSet, CasedLiteralsMatchOnlyAsWritten) {
  const std::vector<std::string> literals{"MixedCase/Path/Longer-Than-16", "Export"};
  const LiteralSet set(literals, /*cased=*/true);
  EXPECT_EQ(set.find("MixedCase/Path/Longer-Than-16"), 0);
  EXPECT_EQ(set.find("Export"), 1);
  EXPECT_EQ(set.find("mixedcase/path/longer-than-16"), -1);
  EXPECT_EQ(set.find("MixedCase/Path/Longer-Than-1X"), -1);
  EXPECT_EQ(set.find("export"), -1);
}

// Folding is ASCII only, as Sigma's case-insensitive equality: bytes of
// UTF-8 text compare as they are, upper-case letters beside them still
// fold, and a byte above 0x80 is no letter even where its low seven bits
// are one: 0xC3 ('C' | 0x80) is not 0xE3 (U+3042's lead byte), 0xCA
// ('J' | 0x80) is not 'j'.
TEST(LiteralSet, OnlyAsciiLettersFold) {
  const std::vector<std::string> literals{"j\xc3\xbcrgen m\xc3\xbcller", "\xe3\x81\x82"};
  const LiteralSet set(literals, /*cased=*/false);
  EXPECT_EQ(set.find("J\xc3\xbcrgen M\xc3\xbcller"), 0);
  EXPECT_EQ(set.find("j\xc3\xbcRGEN m\xc3\xbcLLER"), 0);
  EXPECT_EQ(set.find("J\xc3\x9crgen M\xc3\xbcller"), -1);  // \x9c: U+00DC's second byte
  EXPECT_EQ(set.find("\xca\xc3\xbcrgen M\xc3\xbcller"), -1);
  EXPECT_EQ(set.find("\xe3\x81\x82"), 1);
  EXPECT_EQ(set.find("\xc3\x81\x82"), -1);
}

// Many literals sharing their first and last eight bytes: told apart by
// the middle, with the table's probes running past each other.
TEST(LiteralSet, LongLiteralsSharingHeadAndTailAreToldApart) {
  std::vector<std::string> literals;
  for (int i = 0; i < 100; ++i)
    literals.push_back("prefix-" + std::to_string(1000 + i) + "-suffix!!");
  const LiteralSet set(literals, /*cased=*/false);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(set.find("PREFIX-" + std::to_string(1000 + i) + "-SUFFIX!!"), i);
  }
  EXPECT_EQ(set.find("prefix-2000-suffix!!"), -1);
  // Lengths of 63 and more share one bit of the length mask.
  const std::vector<std::string> longer{std::string(63, 'a'), std::string(64, 'b'),
                                        std::string(100, 'c')};
  const LiteralSet long_set(longer, /*cased=*/false);
  EXPECT_EQ(long_set.find(std::string(64, 'B')), 1);
  EXPECT_EQ(long_set.find(std::string(100, 'c')), 2);
  EXPECT_EQ(long_set.find(std::string(70, 'c')), -1);
  EXPECT_EQ(long_set.find(std::string(62, 'a')), -1);
  EXPECT_TRUE(LiteralSet().empty());
  EXPECT_EQ(LiteralSet().find("x"), -1);
}

}  // namespace
}  // namespace trailwatch
