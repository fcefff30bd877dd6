#include "daemon/engine/sigma_pattern.h"

#include <gtest/gtest.h>

namespace trailwatch::engine {
namespace {

using Anchor = SigmaPattern::Anchor;
using Shape = SigmaPattern::Shape;

bool match(std::string_view pattern, std::string_view text, Anchor anchor = Anchor::kWhole,
           bool cased = false) {
  return SigmaPattern::compile(pattern, anchor, cased).matches(text);
}

TEST(SigmaPattern, PlainValueIsWholeValueCaseInsensitive) {
  EXPECT_TRUE(match("Admin", "admin"));
  EXPECT_TRUE(match("admin", "ADMIN"));
  EXPECT_FALSE(match("admin", "admins"));
  EXPECT_FALSE(match("admin", "xadmin"));
  EXPECT_EQ(SigmaPattern::compile("admin", Anchor::kWhole, false).shape(), Shape::kExact);
}

TEST(SigmaPattern, CasedComparesExactly) {
  EXPECT_TRUE(match("AbC", "AbC", Anchor::kWhole, true));
  EXPECT_FALSE(match("AbC", "abc", Anchor::kWhole, true));
  EXPECT_FALSE(match("AbC", "xAbCx", Anchor::kContains, true) == false);
  EXPECT_FALSE(match("AbC", "xabcx", Anchor::kContains, true));
}

TEST(SigmaPattern, AnchorsPickFastPaths) {
  EXPECT_EQ(SigmaPattern::compile("ab", Anchor::kContains, false).shape(), Shape::kContains);
  EXPECT_EQ(SigmaPattern::compile("ab", Anchor::kStartsWith, false).shape(), Shape::kPrefix);
  EXPECT_EQ(SigmaPattern::compile("ab", Anchor::kEndsWith, false).shape(), Shape::kSuffix);
  EXPECT_EQ(SigmaPattern::compile("ab*", Anchor::kWhole, false).shape(), Shape::kPrefix);
  EXPECT_EQ(SigmaPattern::compile("*ab", Anchor::kWhole, false).shape(), Shape::kSuffix);
  EXPECT_EQ(SigmaPattern::compile("*ab*", Anchor::kWhole, false).shape(), Shape::kContains);
  EXPECT_EQ(SigmaPattern::compile("*", Anchor::kWhole, false).shape(), Shape::kAny);
  EXPECT_EQ(SigmaPattern::compile("a*b", Anchor::kWhole, false).shape(), Shape::kGlob);
  EXPECT_EQ(SigmaPattern::compile("a?", Anchor::kWhole, false).shape(), Shape::kGlob);
}

TEST(SigmaPattern, ContainsStartsWithEndsWith) {
  EXPECT_TRUE(match("EXPORT", "bulk export done", Anchor::kContains));
  EXPECT_FALSE(match("export", "bulk exp", Anchor::kContains));
  EXPECT_TRUE(match("/api", "/API/patients", Anchor::kStartsWith));
  EXPECT_FALSE(match("/api", "/v1/api", Anchor::kStartsWith));
  EXPECT_TRUE(match(".EXE", "c:\\x.exe", Anchor::kEndsWith));
  EXPECT_FALSE(match(".exe", "x.exe.txt", Anchor::kEndsWith));
  EXPECT_FALSE(match("long needle", "short", Anchor::kEndsWith));
}

TEST(SigmaPattern, StarMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(match("a*b", "ab"));
  EXPECT_TRUE(match("a*b", "a-x-b"));
  EXPECT_FALSE(match("a*b", "a-x-bc"));
  EXPECT_TRUE(match("*", ""));
  EXPECT_TRUE(match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(match("a*b*c", "acb"));
  EXPECT_TRUE(match("ab*ba", "ababa"));
  EXPECT_FALSE(match("ab*ba", "aba"));
}

TEST(SigmaPattern, QuestionMarkMatchesExactlyOneChar) {
  EXPECT_TRUE(match("a?c", "abc"));
  EXPECT_TRUE(match("a?c", "AXC"));
  EXPECT_FALSE(match("a?c", "ac"));
  EXPECT_FALSE(match("a?c", "abbc"));
  EXPECT_TRUE(match("*b?d*", "xxbcdxx"));
  EXPECT_TRUE(match("?", "x"));
  EXPECT_FALSE(match("?", ""));
}

TEST(SigmaPattern, EscapesMakeWildcardsLiteral) {
  EXPECT_TRUE(match("a\\*b", "a*b"));
  EXPECT_FALSE(match("a\\*b", "axb"));
  EXPECT_TRUE(match("a\\?b", "a?b"));
  EXPECT_FALSE(match("a\\?b", "axb"));
  EXPECT_TRUE(match("a\\\\b", "a\\b"));
  // `\\*`: an escaped backslash, then a real wildcard.
  EXPECT_TRUE(match("a\\\\*", "a\\anything"));
  EXPECT_FALSE(match("a\\\\*", "ab"));
}

TEST(SigmaPattern, BackslashBeforeOtherCharIsLiteral) {
  EXPECT_TRUE(match("C:\\Windows\\\\*", "c:\\windows\\system32"));
  EXPECT_TRUE(match("*\\cmd.exe", "C:\\Windows\\CMD.EXE"));
  EXPECT_FALSE(match("C:\\Windows\\\\*", "c:windows"));
  // `\*` after other text is still an escaped star, not backslash + wildcard.
  EXPECT_FALSE(match("C:\\Windows\\*", "c:\\windows\\system32"));
  EXPECT_TRUE(match("trailing\\", "trailing\\"));
}

TEST(SigmaPattern, EmptyPatternMatchesOnlyEmpty) {
  EXPECT_TRUE(match("", ""));
  EXPECT_FALSE(match("", "x"));
  EXPECT_TRUE(match("", "x", Anchor::kContains));
}

TEST(SigmaPattern, NonAsciiComparesBytewise) {
  EXPECT_TRUE(match("müller", "MüLLER"));
  EXPECT_FALSE(match("müller", "MÜLLER"));
}

TEST(SigmaPattern, MatchLiteralIgnoresWildcards) {
  EXPECT_TRUE(SigmaPattern::matchLiteral("a*b", "A*B", Anchor::kWhole, false));
  EXPECT_FALSE(SigmaPattern::matchLiteral("axb", "a*b", Anchor::kWhole, false));
  EXPECT_FALSE(SigmaPattern::matchLiteral("abc", "ABC", Anchor::kWhole, true));
  EXPECT_TRUE(SigmaPattern::matchLiteral("alice@x", "ALICE", Anchor::kStartsWith, false));
  EXPECT_TRUE(SigmaPattern::matchLiteral("x-alice", "Alice", Anchor::kEndsWith, false));
  EXPECT_TRUE(SigmaPattern::matchLiteral("x-alice-y", "alice", Anchor::kContains, false));
  EXPECT_FALSE(SigmaPattern::matchLiteral("x-bob-y", "alice", Anchor::kContains, false));
}

}  // namespace
}  // namespace trailwatch::engine
