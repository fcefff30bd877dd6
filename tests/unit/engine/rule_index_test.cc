#include "daemon/engine/rule_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/engine/fake_event.h"

namespace trailwatch::engine {
namespace {

using testing::FakeEvent;

std::shared_ptr<const RuleSet> rules(const std::string& yaml) {
  Diagnostics diags;
  auto set = RuleSet::parse(yaml, "r.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  return set;
}

std::shared_ptr<const RuleSet> rule(const std::string& detection) {
  return rules("title: t\nlogsource: {}\ndetection:\n" + detection);
}

// "field: literal|literal or field: ..." for the rule's gates, "none"
// without any.
std::string gate(const std::string& detection) {
  auto set = rule(detection);
  if (!set) return "error";
  const auto gates = gatesOf(set->detection(0));
  if (gates.empty()) return "none";
  std::string out;
  for (const Gate& g : gates) {
    if (!out.empty()) out += " or ";
    out += set->fieldPaths()[g.field] + (g.cased ? " (cased): " : ": ");
    for (size_t i = 0; i < g.literals.size(); ++i) out += (i ? "|" : "") + g.literals[i];
  }
  return out;
}

TEST(RuleIndex, GatesAreNecessaryEqualities) {
  EXPECT_EQ(gate("  s: {event.action: Export}\n  condition: s"), "event.action: export");
  EXPECT_EQ(gate("  s: {event.action: [export, print]}\n  condition: s"),
            "event.action: export|print");
  EXPECT_EQ(gate("  s: {event.action|cased: Export}\n  condition: s"),
            "event.action (cased): Export");
  // The field with the fewest literals of an AND.
  EXPECT_EQ(gate("  s: {a: [x, y], b: z}\n  condition: s"), "b: z");
  EXPECT_EQ(gate("  s: {a: x}\n  f: {b: y}\n  condition: s and not f"), "a: x");
  // OR: only a field every branch requires.
  EXPECT_EQ(gate("  s1: {a: x, b: 1z}\n  s2: {a: y}\n  condition: s1 or s2"), "a: x|y");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {b: y}\n  condition: s1 or s2"), "a: x or b: y");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {b|contains: y}\n  condition: s1 or s2"), "none");
  EXPECT_EQ(gate("  s: [{a: x}, {b: y}]\n  f: {c: z}\n  condition: s and not f"), "a: x or b: y");
  EXPECT_EQ(gate("  s: [{a: x}, {a: y, c: 1}]\n  condition: s"), "a: x|y");
  EXPECT_EQ(gate("  sel_1: {a: x}\n  sel_2: {a: y}\n  condition: 1 of sel_*"), "a: x|y");
  EXPECT_EQ(gate("  sel_1: {a: x}\n  sel_2: {b: y}\n  condition: all of sel_*"), "a: x");
  // Not equalities: no gate.
  EXPECT_EQ(gate("  s: {a|contains: x}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: 'x*'}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: [x, 'y*']}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: [x, null]}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: 5}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a|re: x}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: [foo, bar]\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: x}\n  condition: not s"), "none");
}

TEST(RuleIndex, CandidatesAreTheGatedRulesAnEventCanMeetAndTheRest) {
  auto set = rules(
      "title: export\nlogsource: {}\ndetection: {s: {event.action: export}, condition: s}\n"
      "---\n"
      "title: print\nlogsource: {}\ndetection: {s: {event.action: [print, export]}, "
      "condition: s}\n"
      "---\n"
      "title: anything\nlogsource: {}\ndetection: {s: {user.id|contains: u}, condition: s}\n"
      "---\n"
      "title: iam\nlogsource: {}\ndetection: {s: {eventSource: iam.amazonaws.com}, "
      "condition: s}\n");
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.ungated(), 1u);
  EXPECT_EQ(index.gatedFields(), 2u);

  RuleIndex::Candidates out;
  FakeEvent e;
  e.str("event.action", "EXPORT").bind(set->fieldPaths());
  index.candidates(e, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{0, 1, 2}));

  FakeEvent read;
  read.str("event.action", "read").str("eventSource", "iam.amazonaws.com").bind(set->fieldPaths());
  index.candidates(read, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{2, 3}));

  FakeEvent none;
  none.bind(set->fieldPaths());
  index.candidates(none, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{2}));
}

// Literals of any length are gates (literal_set_test.cc: how they are
// looked up); a long value finds its rule in any case, and only its rule.
TEST(RuleIndex, LongLiteralsAreGates) {
  const std::string long_value(300, 'q');
  auto set = rules("title: long\nlogsource: {}\ndetection: {s: {url.path: '" + long_value +
                   "'}, condition: s}\n---\ntitle: short\nlogsource: {}\ndetection: {s: "
                   "{url.path: /x}, condition: s}\n");
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  EXPECT_EQ(index.ungated(), 0u);
  RuleIndex::Candidates out;
  FakeEvent e;
  e.str("url.path", std::string(300, 'Q')).bind(set->fieldPaths());
  index.candidates(e, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{0}));
  FakeEvent other;
  other.str("url.path", std::string(299, 'Q') + "x").bind(set->fieldPaths());
  index.candidates(other, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{}));
  FakeEvent shorter;
  shorter.str("url.path", "/X").bind(set->fieldPaths());
  index.candidates(shorter, out);
  EXPECT_EQ(out.rules, (std::vector<uint32_t>{1}));
}

}  // namespace
}  // namespace trailwatch::engine
