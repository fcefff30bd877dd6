#include "daemon/engine/condition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trailwatch::engine {
namespace {

// Parses `text` over `names` and evaluates it with the searches named in
// `true_names` matching.
class ConditionHarness {
 public:
  explicit ConditionHarness(std::vector<std::string> names) : names_(std::move(names)) {}

  Result<uint32_t> parse(const std::string& text) {
    condition_ = Condition();
    auto root = condition_.parse(text, names_);
    if (root) condition_.setRoot(*root);
    return root;
  }

  bool eval(const std::vector<std::string>& true_names) const {
    return condition_.evaluate([&](uint32_t i) {
      for (const auto& n : true_names) {
        if (names_[i] == n) return true;
      }
      return false;
    });
  }

 private:
  std::vector<std::string> names_;
  Condition condition_;
};

TEST(SigmaCondition, PrecedenceIsNotThenAndThenOr) {
  ConditionHarness h({"a", "b", "c"});
  ASSERT_TRUE(h.parse("a or b and not c"));
  EXPECT_TRUE(h.eval({"a"}));
  EXPECT_TRUE(h.eval({"a", "c"}));  // a or (...) is true whatever c is
  EXPECT_TRUE(h.eval({"b"}));
  EXPECT_FALSE(h.eval({"b", "c"}));
  EXPECT_FALSE(h.eval({}));
}

TEST(SigmaCondition, ParenthesesOverridePrecedence) {
  ConditionHarness h({"a", "b", "c"});
  ASSERT_TRUE(h.parse("(a or b) and not c"));
  EXPECT_FALSE(h.eval({"a", "c"}));
  EXPECT_TRUE(h.eval({"b"}));
  ASSERT_TRUE(h.parse("not (a or b)"));
  EXPECT_TRUE(h.eval({"c"}));
  EXPECT_FALSE(h.eval({"b"}));
}

TEST(SigmaCondition, KeywordsAreCaseInsensitive) {
  ConditionHarness h({"a", "b"});
  ASSERT_TRUE(h.parse("a AND Not b"));
  EXPECT_TRUE(h.eval({"a"}));
  EXPECT_FALSE(h.eval({"a", "b"}));
  ASSERT_TRUE(h.parse("a OR b"));
  EXPECT_TRUE(h.eval({"b"}));
  ASSERT_TRUE(h.parse("ALL OF them"));
  EXPECT_TRUE(h.eval({"a", "b"}));
}

TEST(SigmaCondition, DoubleNegationCancels) {
  ConditionHarness h({"a"});
  ASSERT_TRUE(h.parse("not not a"));
  EXPECT_TRUE(h.eval({"a"}));
  EXPECT_FALSE(h.eval({}));
}

TEST(SigmaCondition, OneOfPatternIsOrOfMatchingIdentifiers) {
  ConditionHarness h({"sel_a", "sel_b", "filter"});
  ASSERT_TRUE(h.parse("1 of sel_*"));
  EXPECT_TRUE(h.eval({"sel_b"}));
  EXPECT_FALSE(h.eval({"filter"}));
}

TEST(SigmaCondition, AllOfPatternIsAndOfMatchingIdentifiers) {
  ConditionHarness h({"sel_a", "sel_b", "filter"});
  ASSERT_TRUE(h.parse("all of sel_* and not filter"));
  EXPECT_TRUE(h.eval({"sel_a", "sel_b"}));
  EXPECT_FALSE(h.eval({"sel_a"}));
  EXPECT_FALSE(h.eval({"sel_a", "sel_b", "filter"}));
}

TEST(SigmaCondition, ThemLeavesOutUnderscoreIdentifiers) {
  ConditionHarness h({"a", "b", "_helper"});
  ASSERT_TRUE(h.parse("all of them"));
  EXPECT_TRUE(h.eval({"a", "b"}));
  ASSERT_TRUE(h.parse("1 of them"));
  EXPECT_FALSE(h.eval({"_helper"}));
  EXPECT_TRUE(h.eval({"a"}));
  ASSERT_TRUE(h.parse("_helper"));
  EXPECT_TRUE(h.eval({"_helper"}));
}

TEST(SigmaCondition, UndefinedIdentifierIsAnError) {
  ConditionHarness h({"selection"});
  auto r = h.parse("selection and filter");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "condition column 15: undefined search identifier 'filter'");
}

TEST(SigmaCondition, PatternMatchingNothingIsAnError) {
  ConditionHarness h({"selection"});
  auto r = h.parse("1 of filter*");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "condition column 1: '1 of filter*' matches no search identifier");
}

TEST(SigmaCondition, SyntaxErrorsNameTheColumn) {
  ConditionHarness h({"a", "b"});
  auto dangling = h.parse("a and");
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error(),
            "condition syntax error at column 6: unexpected end of condition, expected a search "
            "identifier");
  auto unclosed = h.parse("(a or b");
  ASSERT_FALSE(unclosed);
  EXPECT_EQ(unclosed.error(),
            "condition syntax error at column 8: unexpected end of condition, expected ')'");
  auto juxtaposed = h.parse("a b");
  ASSERT_FALSE(juxtaposed);
  EXPECT_EQ(juxtaposed.error(),
            "condition syntax error at column 3: unexpected 'b', expected 'and', 'or' or the end");
  EXPECT_FALSE(h.parse(""));
  EXPECT_FALSE(h.parse("a or or b"));
  EXPECT_FALSE(h.parse("a)"));
  EXPECT_FALSE(h.parse("2 of them"));
  EXPECT_FALSE(h.parse("1 of"));
}

TEST(SigmaCondition, AggregationIsRejectedWithAHint) {
  ConditionHarness h({"a"});
  auto r = h.parse("a | count() > 5");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("aggregation"), std::string::npos) << r.error();
}

TEST(SigmaCondition, DeepNestingIsRejectedNotOverflowed) {
  ConditionHarness h({"a"});
  const std::string deep = std::string(10000, '(') + "a" + std::string(10000, ')');
  auto r = h.parse(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "condition is nested too deeply");
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_FALSE(h.parse(nots + "a"));
}

}  // namespace
}  // namespace trailwatch::engine
