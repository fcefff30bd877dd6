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

// The rule's clauses, most selective first: "(field: literal|literal or
// field|startswith: literal or field present) and (...)", "none" without
// any.
std::string gate(const std::string& detection) {
  auto set = rule(detection);
  if (!set) return "error";
  const auto clauses = clausesOf(set->detection(0));
  if (clauses.empty()) return "none";
  std::string out;
  for (const Clause& clause : clauses) {
    if (!out.empty()) out += " and ";
    std::string text;
    for (const Gate& g : clause) {
      if (!text.empty()) text += " or ";
      text += set->fieldPaths()[g.field];
      if (g.present) {
        text += " present";
        continue;
      }
      switch (g.shape) {
        case SigmaPattern::Shape::kPrefix:
          text += "|startswith";
          break;
        case SigmaPattern::Shape::kSuffix:
          text += "|endswith";
          break;
        case SigmaPattern::Shape::kContains:
          text += "|contains";
          break;
        default:
          break;
      }
      text += g.cased ? " (cased): " : ": ";
      for (size_t i = 0; i < g.literals.size(); ++i) text += (i ? "|" : "") + g.literals[i];
    }
    out += clauses.size() > 1 ? "(" + text + ")" : text;
  }
  return out;
}

TEST(RuleIndex, ClausesAreNecessaryEqualitiesAndPresence) {
  EXPECT_EQ(gate("  s: {event.action: Export}\n  condition: s"), "event.action: export");
  EXPECT_EQ(gate("  s: {event.action: [print, export, Print]}\n  condition: s"),
            "event.action: export|print");
  EXPECT_EQ(gate("  s: {event.action|cased: Export}\n  condition: s"),
            "event.action (cased): Export");
  // AND: every part, the fewest literals first.
  EXPECT_EQ(gate("  s: {a: [x, y], b: z}\n  condition: s"), "(b: z) and (a: x|y)");
  EXPECT_EQ(gate("  s: {a: x}\n  f: {b: y}\n  condition: s and not f"), "a: x");
  EXPECT_EQ(gate("  sel_1: {a: x}\n  sel_2: {b: y}\n  condition: all of sel_*"),
            "(a: x) and (b: y)");
  // OR: a clause of each branch, pairwise.
  EXPECT_EQ(gate("  s1: {a: x, b: 1z}\n  s2: {a: y}\n  condition: s1 or s2"),
            "(a: x|y) and (b: 1z or a: y)");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {b: y}\n  condition: s1 or s2"), "a: x or b: y");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {b|contains: y}\n  condition: s1 or s2"),
            "a: x or b|contains: y");
  EXPECT_EQ(gate("  s: [{a: x}, {b: y}]\n  f: {c: z}\n  condition: s and not f"), "a: x or b: y");
  EXPECT_EQ(gate("  s: [{a: x}, {a: y, c: 1}]\n  condition: s"),
            "(a: x|y) and (a: x or c present)");
  EXPECT_EQ(gate("  sel_1: {a: x}\n  sel_2: {a: y}\n  condition: 1 of sel_*"), "a: x|y");
  // A presence gate of a field covers its literal gates.
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {a|re: y}\n  condition: s1 or s2"), "a present");
  // Prefixes, suffixes and contains, by modifier or by wildcard at an end:
  // a gate per shape.
  EXPECT_EQ(gate("  s: {a|contains: X}\n  condition: s"), "a|contains: x");
  EXPECT_EQ(gate("  s: {a|startswith: [x, y]}\n  condition: s"), "a|startswith: x|y");
  EXPECT_EQ(gate("  s: {a|endswith|cased: X}\n  condition: s"), "a|endswith (cased): X");
  EXPECT_EQ(gate("  s: {a: 'x*'}\n  condition: s"), "a|startswith: x");
  EXPECT_EQ(gate("  s: {a: ['*x', '*y*']}\n  condition: s"), "a|endswith: x or a|contains: y");
  EXPECT_EQ(gate("  s: {a: [x, 'y*']}\n  condition: s"), "a: x or a|startswith: y");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {a|contains: y}\n  condition: s1 or s2"),
            "a: x or a|contains: y");
  // Only the most selective clause keeps them; elsewhere they are presence.
  EXPECT_EQ(gate("  s: {a: x, b|contains: y}\n  condition: s"), "(a: x) and (b present)");
  EXPECT_EQ(gate("  s: {a|startswith: x, b|endswith: y}\n  condition: s"),
            "(a|startswith: x) and (b present)");
  EXPECT_EQ(gate("  s: {a|startswith: x, b|exists: true}\n  condition: s"),
            "(a|startswith: x) and (b present)");
  // Inner wildcards, other modifiers, mixed casing: presence.
  EXPECT_EQ(gate("  s: {a: 'x*y'}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a: 'x?'}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a: '*'}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a|contains|all: [x, y]}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s1: {a|contains: x}\n  s2: {a|contains|cased: y}\n  condition: s1 or s2"),
            "a|contains: x or a|contains (cased): y");
  // Tests that cannot hold on an absent field need it present.
  EXPECT_EQ(gate("  s: {a: 5}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a|re: x}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a|cidr: 10.0.0.0/8}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a|exists: true}\n  condition: s"), "a present");
  EXPECT_EQ(gate("  s: {a|all: [x, y]}\n  condition: s"), "a present");
  // fieldref: the field it names too (any of them; each with `all`).
  EXPECT_EQ(gate("  s: {a|fieldref: b}\n  condition: s"), "(a present) and (b present)");
  EXPECT_EQ(gate("  s: {a|fieldref: [b, c]}\n  condition: s"),
            "(a present) and (b present or c present)");
  EXPECT_EQ(gate("  s: {a|fieldref|all: [b, c]}\n  condition: s"),
            "(a present) and (b present) and (c present)");
  // Tests that can hold on an absent field: nothing.
  EXPECT_EQ(gate("  s: {a: [x, null]}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a|exists: false}\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: [foo, bar]\n  condition: s"), "none");
  EXPECT_EQ(gate("  s: {a: x}\n  condition: not s"), "none");
  EXPECT_EQ(gate("  s1: {a: x}\n  s2: {b: null}\n  condition: s1 or s2"), "none");
}

bool decided(const std::string& detection) {
  auto set = rule(detection);
  return set && clausesDecide(set->detection(0));
}

TEST(RuleIndex, ClausesDecideConjunctionsOfLiteralTestsAndExists) {
  EXPECT_TRUE(decided("  s: {a: x}\n  condition: s"));
  EXPECT_TRUE(decided("  s: {a|contains: x}\n  condition: s"));
  EXPECT_TRUE(decided("  s: {a: ['x*', '*y', '*z*', w]}\n  condition: s"));
  EXPECT_TRUE(decided("  s: {a|startswith: x, b|exists: true}\n  condition: s"));
  EXPECT_TRUE(decided("  s: {a: [x, y], b|exists: true, c|cased: Z}\n  condition: s"));
  EXPECT_TRUE(decided("  s: {a: x}\n  f: {b: y}\n  condition: s and f"));
  EXPECT_TRUE(decided("  sel_1: {a: x}\n  sel_2: {b: y}\n  condition: all of sel_*"));
  // Anything the clauses only approximate.
  EXPECT_FALSE(decided("  s: {a: x}\n  f: {b: y}\n  condition: s or f"));
  EXPECT_FALSE(decided("  s: {a: x}\n  f: {b: y}\n  condition: s and not f"));
  EXPECT_FALSE(decided("  s: [{a: x}, {b: y}]\n  condition: s"));
  // A pattern turned into presence.
  EXPECT_FALSE(decided("  s: {a: x, b|contains: y}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a|startswith: x, b|endswith: y}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a: 'x*y'}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a: 5}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a: [x, null]}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a|exists: false}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a|fieldref: b}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a|all: [x, y]}\n  condition: s"));
  EXPECT_FALSE(decided("  s: {a: x, b: X}\n  condition: s and k\n  k: [foo]"));
  // More tests than clauses kept.
  EXPECT_FALSE(
      decided("  s: {a1: x, a2: x, a3: x, a4: x, a5: x, a6: x, a7: x, a8: x, a9: x}\n"
              "  condition: s"));
  EXPECT_TRUE(
      decided("  s: {a1: x, a2: x, a3: x, a4: x, a5: x, a6: x, a7: x, a8: x}\n"
              "  condition: s"));
}

// The searches a rule's clauses imply, as their indices in the order the
// detection lists them ("0 1"), "-" when none.
std::string implied(const std::string& detection) {
  auto set = rule(detection);
  if (!set) return "error";
  const Detection& d = set->detection(0);
  const uint64_t holding = searchesImplied(d, clausesOf(d));
  std::string out;
  for (size_t s = 0; s < d.searches.size(); ++s) {
    if ((holding >> s & 1) == 0) continue;
    out += (out.empty() ? "" : " ") + std::to_string(s);
  }
  return out.empty() ? "-" : out;
}

TEST(RuleIndex, ClausesImplyTheSearchesThatAreExactlySomeOfThem) {
  EXPECT_EQ(implied("  s: {a: x, b|exists: true}\n  f: {c: y}\n  condition: s and not f"), "0");
  EXPECT_EQ(implied("  s: {a: x}\n  f: {a: x}\n  condition: s and not f"), "0 1");
  EXPECT_EQ(implied("  s: {a|startswith: x}\n  f: {b: 5}\n  condition: s and not f"), "0");
  // A test that is not its clause, or whose clause is not kept as it is.
  EXPECT_EQ(implied("  s: {a: x, b|re: y}\n  condition: s"), "-");
  EXPECT_EQ(implied("  s: {a: x}\n  t: {b|contains: y}\n  condition: s and t"), "0");
  EXPECT_EQ(implied("  s: {a1: x, a2: x, a3: x, a4: x, a5: x, a6: x, a7: x, a8: x, a9: x}\n"
                    "  condition: s"),
            "-");
  // Alternatives, and either side of an `or`: no clause is exactly theirs.
  EXPECT_EQ(implied("  s: [{a: x}, {b: y}]\n  condition: s"), "-");
  EXPECT_EQ(implied("  s: {a: x}\n  t: {b: y}\n  condition: s or t"), "-");
  EXPECT_EQ(implied("  s: {a: x}\n  condition: not s"), "-");
}

TEST(RuleIndex, MatchTakesDecidedRulesAndEvaluatesTheRest) {
  auto set = rules(
      "title: granted\nlogsource: {}\ndetection: {s: {event.outcome: success, user.id|exists: "
      "true}, condition: s}\n"
      "---\n"
      "title: export\nlogsource: {}\ndetection: {s: {event.action|startswith: exp}, "
      "condition: s}\n");
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  const auto match = [&](FakeEvent event) {
    RuleIndex::Candidates scratch;
    std::vector<uint32_t> matched{99};  // appended to
    event.bind(set->fieldPaths());
    index.match(event, *set, scratch, matched);
    return matched;
  };
  using Rules = std::vector<uint32_t>;
  FakeEvent e;
  EXPECT_EQ(match(FakeEvent(e).str("event.outcome", "SUCCESS").str("user.id", "")), (Rules{99, 0}));
  EXPECT_EQ(match(FakeEvent(e).str("event.outcome", "success")), (Rules{99}));
  EXPECT_EQ(match(FakeEvent(e).str("event.action", "export").str("user.id", "u")), (Rules{99, 1}));
  EXPECT_EQ(match(FakeEvent(e).str("event.action", "print")), (Rules{99}));
}

TEST(RuleIndex, CandidatesMeetEveryClauseOfTheirRule) {
  auto set = rules(
      "title: export\nlogsource: {}\ndetection: {s: {event.action: export}, condition: s}\n"
      "---\n"
      "title: print\nlogsource: {}\ndetection: {s: {event.action: [print, export]}, "
      "condition: s}\n"
      "---\n"
      "title: user\nlogsource: {}\ndetection: {s: {user.id|contains: u}, condition: s}\n"
      "---\n"
      "title: iam\nlogsource: {}\ndetection: {s: {eventSource: iam.amazonaws.com}, "
      "condition: s}\n"
      "---\n"
      "title: anything\nlogsource: {}\ndetection: {s: {event.action: export}, "
      "condition: not s}\n"
      "---\n"
      "title: deleted\nlogsource: {}\ndetection: {s: {eventName: [DeleteSnapshot, "
      "DeleteBackupPlan]}, ok: {event.outcome: success}, mine: {user.id|fieldref: owner}, "
      "condition: s and ok and not mine}\n");
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  EXPECT_EQ(index.size(), 6u);
  EXPECT_EQ(index.ungated(), 1u);
  EXPECT_EQ(index.gatedFields(), 5u);

  // Read through the event's list of present fields, and field by field
  // without one: the same candidates.
  const auto candidates = [&](FakeEvent event) {
    RuleIndex::Candidates out;
    event.bind(set->fieldPaths());
    index.candidates(event, out);
    const auto listed = out.rules;
    event.listPresent(false);
    index.candidates(event, out);
    EXPECT_EQ(out.rules, listed) << "with and without Event::present()";
    return listed;
  };
  using Rules = std::vector<uint32_t>;
  FakeEvent e;
  EXPECT_EQ(candidates(FakeEvent(e).str("event.action", "EXPORT")), (Rules{0, 1, 4}));
  EXPECT_EQ(candidates(FakeEvent(e)
                           .str("event.action", "read")
                           .str("eventSource", "iam.amazonaws.com")
                           .str("user.id", "U1")),
            (Rules{2, 3, 4}));
  // The contains gate: a user.id without a "u" is turned away.
  EXPECT_EQ(candidates(FakeEvent(e).str("user.id", "x")), (Rules{4}));
  EXPECT_EQ(candidates(e), (Rules{4}));
  // Every clause: the name and the outcome.
  EXPECT_EQ(candidates(FakeEvent(e).str("eventName", "deletesnapshot")), (Rules{4}));
  EXPECT_EQ(candidates(FakeEvent(e).str("event.outcome", "success")), (Rules{4}));
  EXPECT_EQ(candidates(FakeEvent(e)
                           .str("event.outcome", "failure")
                           .str("event.outcome", "success")
                           .str("eventName", "DeleteBackupPlan")),
            (Rules{4, 5}));
}

// Prefix, suffix and contains gates look up the value's head, tail and
// substrings of each of their literals' lengths, folded unless cased; the
// candidates are exactly the matches here, as these rules are decided.
TEST(RuleIndex, PatternGatesFindLiteralsAtTheValuesEndsAndInside) {
  auto set = rules(
      "title: starts\nlogsource: {}\ndetection: {s: {a|startswith: [ab, abcd, Xyz]}, "
      "condition: s}\n"
      "---\n"
      "title: ends\nlogsource: {}\ndetection: {s: {a|endswith: [.exe, z]}, condition: s}\n"
      "---\n"
      "title: contains\nlogsource: {}\ndetection: {s: {a|contains: [mid, longer-needle]}, "
      "condition: s}\n"
      "---\n"
      "title: cased\nlogsource: {}\ndetection: {s: {a|contains|cased: Mid}, condition: s}\n"
      "---\n"
      "title: wildcard\nlogsource: {}\ndetection: {s: {b: ['12*', '*-x', exact]}, "
      "condition: s}\n");
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  EXPECT_EQ(index.ungated(), 0u);
  using Rules = std::vector<uint32_t>;
  const auto candidates = [&](FakeEvent event) {
    RuleIndex::Candidates out;
    event.bind(set->fieldPaths());
    index.candidates(event, out);
    Rules matched;
    set->evaluate(event, all, matched);
    EXPECT_EQ(out.rules, matched) << "candidates of decided rules are their matches";
    Rules via_index;
    index.match(event, *set, out, via_index);
    EXPECT_EQ(via_index, matched);
    return out.rules;
  };
  FakeEvent e;
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "ABC")), (Rules{0}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "a")), (Rules{}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "xyZ")), (Rules{0, 1}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "z")), (Rules{1}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "C:\\Tools\\RUN.EXE")), (Rules{1}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", ".ex")), (Rules{}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "Mid")), (Rules{2, 3}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "in the MIDdle")), (Rules{2}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "ab Mid")), (Rules{0, 2, 3}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "mi")), (Rules{}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "...LONGER-NEEDLE")), (Rules{2}));
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "longer-needl")), (Rules{}));
  // Any of the field's values; numbers by their text.
  EXPECT_EQ(candidates(FakeEvent(e).str("a", "q").str("a", "abz")), (Rules{0, 1}));
  EXPECT_EQ(candidates(FakeEvent(e).num("b", 1234, "1234")), (Rules{4}));
  EXPECT_EQ(candidates(FakeEvent(e).str("b", "1")), (Rules{}));
  EXPECT_EQ(candidates(FakeEvent(e).str("b", "a-X")), (Rules{4}));
  EXPECT_EQ(candidates(FakeEvent(e).str("b", "EXACT")), (Rules{4}));
  EXPECT_EQ(candidates(FakeEvent(e).str("b", "exact.")), (Rules{}));
}

// More rules and clauses than one 64-bit word holds: each rule's bits land
// in the right words, and a rule's clauses are never split across two.
TEST(RuleIndex, ManyRulesAndClausesSpanSeveralWords) {
  std::string yaml;
  const int kRules = 150;
  for (int r = 0; r < kRules; ++r) {
    if (r > 0) yaml += "---\n";
    // Rule r needs f<r> = v, and (r % 5) more clauses: g1..g<r%5> present.
    yaml += "title: r" + std::to_string(r) + "\nlogsource: {}\ndetection:\n  s:\n    f" +
            std::to_string(r) + ": v\n";
    for (int c = 1; c <= r % 5; ++c) yaml += "    g" + std::to_string(c) + "|contains: x\n";
    yaml += "  condition: s\n";
  }
  auto set = rules(yaml);
  ASSERT_TRUE(set);
  const auto all = set->rulesFor(nullptr);
  const RuleIndex index(*set, all);
  EXPECT_EQ(index.ungated(), 0u);
  for (int present = 0; present <= 4; ++present) {
    FakeEvent e;
    for (int r = 0; r < kRules; ++r) e.str("f" + std::to_string(r), "V");
    for (int c = 1; c <= present; ++c) e.str("g" + std::to_string(c), "xx");
    e.bind(set->fieldPaths());
    RuleIndex::Candidates out;
    index.candidates(e, out);
    std::vector<uint32_t> expected;
    for (int r = 0; r < kRules; ++r) {
      if (r % 5 <= present) expected.push_back(static_cast<uint32_t>(r));
    }
    EXPECT_EQ(out.rules, expected) << present << " of the g fields present";
    std::vector<uint32_t> matched;
    set->evaluate(e, all, matched);
    EXPECT_EQ(matched, expected);
  }
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
