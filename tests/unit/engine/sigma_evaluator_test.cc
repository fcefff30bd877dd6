#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/engine/detection.h"
#include "daemon/engine/rule_index.h"
#include "daemon/engine/rule_set.h"
#include "tests/unit/engine/fake_event.h"

namespace trailwatch::engine {
namespace {

using testing::FakeEvent;

// Builds a one-rule set from a `detection:` body (indented two spaces).
std::shared_ptr<const RuleSet> rule(const std::string& detection) {
  Diagnostics diags;
  auto set = RuleSet::parse("title: t\nlogsource: {product: ehr}\ndetection:\n" + detection,
                            "t.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  return set;
}

bool matches(const std::shared_ptr<const RuleSet>& set, FakeEvent& event) {
  if (!set) return false;
  event.bind(set->fieldPaths());
  std::vector<uint32_t> matched;
  const auto all = set->rulesFor(nullptr);
  set->evaluate(event, all, matched);
  // evaluate() walks the flat layout (FlatDetections); each Detection's own
  // matches() must agree with it, rule by rule.
  for (uint32_t i : all) {
    const bool flat = std::find(matched.begin(), matched.end(), i) != matched.end();
    EXPECT_EQ(set->detection(i).matches(event), flat) << "rule " << i;
  }
  // Every case here also checks the rule index: evaluating only the
  // candidates it admits, and taking those its clauses decide, must give
  // the same matches (rule_index.h).
  // Both ways the index reads an event: through its list of present
  // fields, and field by field for an event without one.
  const RuleIndex index(*set, all);
  RuleIndex::Candidates candidates;
  for (const bool listed : {true, false}) {
    event.listPresent(listed);
    std::vector<uint32_t> via_index;
    index.match(event, *set, candidates, via_index);
    EXPECT_EQ(via_index, matched) << "the rule index disagrees with evaluation"
                                  << (listed ? "" : " (no present list)");
  }
  return !matched.empty();
}

bool matches(const std::string& detection, FakeEvent event) {
  return matches(rule(detection), event);
}

FakeEvent with(const std::string& path, const std::string& value) {
  FakeEvent e;
  e.str(path, value);
  return e;
}

// --- plain values, case, wildcards ---

TEST(SigmaEvaluator, PlainStringIsCaseInsensitiveEquality) {
  const std::string d = "  sel:\n    user.name: Alice\n  condition: sel\n";
  EXPECT_TRUE(matches(d, with("user.name", "ALICE")));
  EXPECT_FALSE(matches(d, with("user.name", "alice2")));
  EXPECT_FALSE(matches(d, FakeEvent()));
}

TEST(SigmaEvaluator, CasedMakesMatchingCaseSensitive) {
  const std::string d = "  sel:\n    k|cased: AbC\n  condition: sel\n";
  EXPECT_TRUE(matches(d, with("k", "AbC")));
  EXPECT_FALSE(matches(d, with("k", "abc")));
  const std::string c = "  sel:\n    k|contains|cased: Ab\n  condition: sel\n";
  EXPECT_TRUE(matches(c, with("k", "xAbx")));
  EXPECT_FALSE(matches(c, with("k", "xabx")));
}

TEST(SigmaEvaluator, WildcardsInValues) {
  const std::string d = "  sel:\n    path: '/api/*/export?'\n  condition: sel\n";
  EXPECT_TRUE(matches(d, with("path", "/API/patients/exportX")));
  EXPECT_FALSE(matches(d, with("path", "/api/patients/export")));
}

TEST(SigmaEvaluator, EscapedWildcardIsLiteral) {
  const std::string d = "  sel:\n    w: 'a\\*b'\n  condition: sel\n";
  EXPECT_TRUE(matches(d, with("w", "a*b")));
  EXPECT_FALSE(matches(d, with("w", "axxb")));
}

// --- modifiers ---

TEST(SigmaEvaluator, ContainsStartswithEndswith) {
  EXPECT_TRUE(matches("  s:\n    f|contains: PORT\n  condition: s\n", with("f", "bulk export")));
  EXPECT_FALSE(matches("  s:\n    f|contains: port\n  condition: s\n", with("f", "bulk")));
  EXPECT_TRUE(matches("  s:\n    f|startswith: /api\n  condition: s\n", with("f", "/api/x")));
  EXPECT_FALSE(matches("  s:\n    f|startswith: /api\n  condition: s\n", with("f", "/x/api")));
  EXPECT_TRUE(matches("  s:\n    f|endswith: .csv\n  condition: s\n", with("f", "a.CSV")));
  EXPECT_FALSE(matches("  s:\n    f|endswith: .csv\n  condition: s\n", with("f", "a.csv.gz")));
}

TEST(SigmaEvaluator, ValueListIsAnyOf) {
  const std::string d = "  s:\n    f: [a, b]\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("f", "b")));
  EXPECT_FALSE(matches(d, with("f", "c")));
}

TEST(SigmaEvaluator, ContainsAllNeedsEveryValue) {
  const std::string d = "  s:\n    f|contains|all: [alpha, beta]\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("f", "beta then alpha")));
  EXPECT_FALSE(matches(d, with("f", "only alpha")));
}

TEST(SigmaEvaluator, RegexIsCaseSensitivePartialMatch) {
  const std::string d = "  s:\n    q|re: 'ab+c'\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("q", "xxabbbcxx")));
  EXPECT_FALSE(matches(d, with("q", "ABC")));
}

TEST(SigmaEvaluator, RegexSubModifiers) {
  EXPECT_TRUE(matches("  s:\n    q|re|i: '^ab+c$'\n  condition: s\n", with("q", "ABBC")));
  EXPECT_FALSE(matches("  s:\n    q|re|i: '^ab+c$'\n  condition: s\n", with("q", "ABBCx")));
  EXPECT_TRUE(matches("  s:\n    q|re|m: '^b$'\n  condition: s\n", with("q", "a\nb\nc")));
  EXPECT_FALSE(matches("  s:\n    q|re: '^b$'\n  condition: s\n", with("q", "a\nb\nc")));
  EXPECT_TRUE(matches("  s:\n    q|re|s: 'a.b'\n  condition: s\n", with("q", "a\nb")));
  EXPECT_FALSE(matches("  s:\n    q|re: 'a.b'\n  condition: s\n", with("q", "a\nb")));
}

TEST(SigmaEvaluator, CidrMatchesIpv4AndIpv6Networks) {
  const std::string d = "  s:\n    ip|cidr: ['10.0.0.0/8', 'fc00::/7']\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("ip", "10.9.8.7")));
  EXPECT_TRUE(matches(d, with("ip", "fd00::5")));
  EXPECT_FALSE(matches(d, with("ip", "8.8.8.8")));
  EXPECT_FALSE(matches(d, with("ip", "not-an-ip")));
}

// A field's cidr values are one test that parses the address once; any
// network matches, in any position, and `all` still needs every one.
TEST(SigmaEvaluator, CidrListMatchesAnyNetworkAndAllNeedsEach) {
  const std::string d =
      "  s:\n    ip|cidr: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', "
      "'::ffff:0:0/96']\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("ip", "192.168.4.4")));
  EXPECT_TRUE(matches(d, with("ip", "172.31.255.1")));
  EXPECT_FALSE(matches(d, with("ip", "172.32.0.1")));
  // Mapped IPv4 is compared as IPv4, and still matches an IPv6 network
  // written for mapped addresses; plain IPv4 never does.
  EXPECT_TRUE(matches(d, with("ip", "::ffff:10.1.2.3")));
  EXPECT_TRUE(matches(d, with("ip", "::ffff:8.8.8.8")));
  EXPECT_FALSE(matches(d, with("ip", "8.8.8.8")));
  FakeEvent two;
  two.str("ip", "8.8.8.8").str("ip", "fd00::1");
  EXPECT_TRUE(matches(d, two));
  // Under `all`, each network must hold.
  const std::string all = "  s:\n    ip|cidr|all: ['10.0.0.0/8', '10.1.0.0/16']\n  condition: s\n";
  EXPECT_TRUE(matches(all, with("ip", "10.1.2.3")));
  EXPECT_FALSE(matches(all, with("ip", "10.2.2.3")));
}

TEST(SigmaEvaluator, NumericComparisons) {
  FakeEvent e;
  e.num("n", 5, "5");
  EXPECT_TRUE(matches("  s:\n    n|gte: 5\n  condition: s\n", e));
  EXPECT_FALSE(matches("  s:\n    n|gt: 5\n  condition: s\n", e));
  EXPECT_TRUE(matches("  s:\n    n|lte: 5\n  condition: s\n", e));
  EXPECT_FALSE(matches("  s:\n    n|lt: 5\n  condition: s\n", e));
  EXPECT_TRUE(matches("  s:\n    n|lt: 5.5\n  condition: s\n", e));
  EXPECT_TRUE(matches("  s:\n    n|gt: '4'\n  condition: s\n", e));
}

TEST(SigmaEvaluator, NumericComparisonReadsNumericStrings) {
  EXPECT_TRUE(matches("  s:\n    n|gt: 100\n  condition: s\n", with("n", "250")));
  EXPECT_FALSE(matches("  s:\n    n|gt: 100\n  condition: s\n", with("n", "50")));
  EXPECT_FALSE(matches("  s:\n    n|gt: 100\n  condition: s\n", with("n", "lots")));
}

TEST(SigmaEvaluator, ExistsChecksPresenceOfAnyType) {
  const std::string yes = "  s:\n    z|exists: true\n  condition: s\n";
  const std::string no = "  s:\n    z|exists: false\n  condition: s\n";
  FakeEvent composite;
  composite.composite("z", "{\"a\":1}");
  EXPECT_TRUE(matches(yes, composite));
  EXPECT_FALSE(matches(no, composite));
  EXPECT_TRUE(matches(yes, with("z", "")));
  EXPECT_FALSE(matches(yes, FakeEvent()));
  EXPECT_TRUE(matches(no, FakeEvent()));
}

TEST(SigmaEvaluator, FieldrefComparesTwoFields) {
  const std::string d = "  s:\n    user.id|fieldref: patient.id\n  condition: s\n";
  FakeEvent same;
  same.str("user.id", "P-1").str("patient.id", "p-1");
  EXPECT_TRUE(matches(d, same));
  FakeEvent differ;
  differ.str("user.id", "P-1").str("patient.id", "P-2");
  EXPECT_FALSE(matches(d, differ));
  EXPECT_FALSE(matches(d, with("user.id", "P-1")));
}

TEST(SigmaEvaluator, FieldrefWithStartswithAndCased) {
  FakeEvent e;
  e.str("email", "Alice@example.org").str("user", "alice");
  EXPECT_TRUE(matches("  s:\n    email|fieldref|startswith: user\n  condition: s\n", e));
  EXPECT_FALSE(matches("  s:\n    email|fieldref|endswith: user\n  condition: s\n", e));
  EXPECT_FALSE(matches("  s:\n    email|fieldref|startswith|cased: user\n  condition: s\n", e));
}

TEST(SigmaEvaluator, FieldrefComparesNumbersNumerically) {
  FakeEvent e;
  e.num("a", 1, "1.0").num("b", 1, "1");
  EXPECT_TRUE(matches("  s:\n    a|fieldref: b\n  condition: s\n", e));
}

// --- value types ---

TEST(SigmaEvaluator, NumberMatchesNumberFieldAndNumericString) {
  const std::string d = "  s:\n    code: 403\n  condition: s\n";
  FakeEvent number;
  number.num("code", 403, "403");
  EXPECT_TRUE(matches(d, number));
  EXPECT_TRUE(matches(d, with("code", "403")));
  EXPECT_TRUE(matches(d, with("code", "403.0")));
  EXPECT_FALSE(matches(d, with("code", "404")));
  EXPECT_FALSE(matches(d, with("code", "403 forbidden")));
}

TEST(SigmaEvaluator, QuotedNumberIsAString) {
  const std::string d = "  s:\n    code: '4*'\n  condition: s\n";
  FakeEvent number;
  number.num("code", 404, "404");
  EXPECT_TRUE(matches(d, number));
}

TEST(SigmaEvaluator, BooleanMatchesBoolFieldAndBoolString) {
  const std::string d = "  s:\n    vip: true\n  condition: s\n";
  FakeEvent yes;
  yes.boolean("vip", true);
  FakeEvent no;
  no.boolean("vip", false);
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, no));
  EXPECT_TRUE(matches(d, with("vip", "TRUE")));
  EXPECT_FALSE(matches(d, with("vip", "yes")));
}

TEST(SigmaEvaluator, NullMatchesAbsentOrNullField) {
  const std::string d = "  s:\n    f: null\n  condition: s\n";
  FakeEvent null_field;
  null_field.null("f");
  EXPECT_TRUE(matches(d, FakeEvent()));
  EXPECT_TRUE(matches(d, null_field));
  EXPECT_FALSE(matches(d, with("f", "")));
  EXPECT_FALSE(matches(d, with("f", "x")));
}

TEST(SigmaEvaluator, EmptyStringMatchesEmptyValueOnly) {
  const std::string d = "  s:\n    f: ''\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("f", "")));
  EXPECT_FALSE(matches(d, with("f", "x")));
  EXPECT_FALSE(matches(d, FakeEvent()));
  FakeEvent null_field;
  null_field.null("f");
  EXPECT_FALSE(matches(d, null_field));
}

// A string is compared with string, number and boolean values only: a null
// field's text "null" and an object's raw JSON are not strings, whether
// the test has one string or a list of them (which the rule index keys on).
TEST(SigmaEvaluator, StringsAreNotComparedWithNullOrObjectValues) {
  for (const std::string list : {"'null'", "['null', x]"}) {
    const std::string d = "  s:\n    f: " + list + "\n  condition: s\n";
    FakeEvent null_field;
    null_field.null("f");
    EXPECT_FALSE(matches(d, null_field)) << list;
    EXPECT_TRUE(matches(d, with("f", "NULL"))) << list;
  }
  for (const std::string list : {"'{\"a\":1}'", "['{\"a\":1}', x]"}) {
    const std::string d = "  s:\n    f: " + list + "\n  condition: s\n";
    FakeEvent object;
    object.composite("f", "{\"a\":1}");
    EXPECT_FALSE(matches(d, object)) << list;
    EXPECT_TRUE(matches(d, with("f", "{\"a\":1}"))) << list;
  }
  FakeEvent number;
  number.num("code", 403, "403");
  EXPECT_TRUE(matches("  s:\n    code: ['403', '404']\n  condition: s\n", number));
  FakeEvent flag;
  flag.boolean("vip", true);
  EXPECT_TRUE(matches("  s:\n    vip: ['TRUE', 'yes']\n  condition: s\n", flag));
}

TEST(SigmaEvaluator, AnyArrayElementMatches) {
  const std::string d = "  s:\n    user.roles: admin\n  condition: s\n";
  FakeEvent e;
  e.str("user.roles", "nurse").str("user.roles", "ADMIN");
  EXPECT_TRUE(matches(d, e));
  FakeEvent other;
  other.str("user.roles", "nurse").str("user.roles", "clerk");
  EXPECT_FALSE(matches(d, other));
}

TEST(SigmaEvaluator, AllModifierOverArrayNeedsEachValueSomewhere) {
  const std::string d = "  s:\n    user.roles|all: [admin, nurse]\n  condition: s\n";
  FakeEvent e;
  e.str("user.roles", "nurse").str("user.roles", "admin");
  EXPECT_TRUE(matches(d, e));
  EXPECT_FALSE(matches(d, with("user.roles", "admin")));
}

// --- search shapes ---

TEST(SigmaEvaluator, MapEntriesAreAnded) {
  const std::string d = "  s:\n    a: 1\n    b: x\n  condition: s\n";
  FakeEvent both;
  both.str("a", "1").str("b", "x");
  EXPECT_TRUE(matches(d, both));
  EXPECT_FALSE(matches(d, with("a", "1")));
}

TEST(SigmaEvaluator, ListOfMapsIsOred) {
  const std::string d = "  s:\n    - x: 1\n    - y: 2\n  condition: s\n";
  EXPECT_TRUE(matches(d, with("y", "2")));
  EXPECT_TRUE(matches(d, with("x", "1")));
  EXPECT_FALSE(matches(d, with("x", "2")));
}

TEST(SigmaEvaluator, KeywordsSearchRawCaseInsensitively) {
  const std::string d = "  keywords:\n    - 'evil*tool'\n    - denied\n  condition: keywords\n";
  FakeEvent e;
  e.raw("user ran EVIL-ish TOOL today");
  EXPECT_TRUE(matches(d, e));
  FakeEvent denied;
  denied.raw("access DENIED");
  EXPECT_TRUE(matches(d, denied));
  FakeEvent neither;
  neither.raw("all fine");
  EXPECT_FALSE(matches(d, neither));
}

TEST(SigmaEvaluator, SingleKeywordScalar) {
  FakeEvent e;
  e.raw("xx break-glass xx");
  EXPECT_TRUE(matches("  kw: break-glass\n  condition: kw\n", e));
}

TEST(SigmaEvaluator, KeywordAllViaEmptyFieldName) {
  const std::string d = "  kw:\n    '|all': [export, patients]\n  condition: kw\n";
  FakeEvent both;
  both.raw("export of 300 patients");
  FakeEvent one;
  one.raw("export of 300 records");
  EXPECT_TRUE(matches(d, both));
  EXPECT_FALSE(matches(d, one));
}

// --- conditions over real searches ---

TEST(SigmaEvaluator, ConditionPrecedenceOverSearches) {
  const std::string d = "  a: {f: a}\n  b: {g: b}\n  c: {h: c}\n  condition: a or b and not c\n";
  FakeEvent bc;
  bc.str("g", "b").str("h", "c");
  EXPECT_FALSE(matches(d, bc));
  FakeEvent ac;
  ac.str("f", "a").str("h", "c");
  EXPECT_TRUE(matches(d, ac));
}

TEST(SigmaEvaluator, OneOfAndAllOfPatterns) {
  const std::string one = "  sel_a: {f: a}\n  sel_b: {g: b}\n  condition: 1 of sel_*\n";
  const std::string all = "  sel_a: {f: a}\n  sel_b: {g: b}\n  condition: all of sel_*\n";
  FakeEvent a = with("f", "a");
  EXPECT_TRUE(matches(one, a));
  EXPECT_FALSE(matches(all, a));
  FakeEvent ab;
  ab.str("f", "a").str("g", "b");
  EXPECT_TRUE(matches(all, ab));
}

TEST(SigmaEvaluator, ThemExcludesUnderscoreIdentifiers) {
  const std::string d = "  a: {f: a}\n  _b: {g: b}\n  condition: all of them\n";
  EXPECT_TRUE(matches(d, with("f", "a")));
  const std::string one = "  a: {f: a}\n  _b: {g: b}\n  condition: 1 of them\n";
  EXPECT_FALSE(matches(one, with("g", "b")));
}

TEST(SigmaEvaluator, ConditionListIsOr) {
  const std::string d = "  a: {f: a}\n  b: {g: b}\n  condition:\n    - a\n    - b\n";
  EXPECT_TRUE(matches(d, with("g", "b")));
  EXPECT_TRUE(matches(d, with("f", "a")));
  EXPECT_FALSE(matches(d, with("f", "b")));
}

TEST(SigmaEvaluator, NotOverAbsentFieldMatches) {
  const std::string d = "  s: {f: x}\n  condition: not s\n";
  EXPECT_TRUE(matches(d, FakeEvent()));
  EXPECT_FALSE(matches(d, with("f", "X")));
}

// --- the set as a whole ---

TEST(SigmaEvaluator, EvaluatesOnlyTheRequestedRules) {
  Diagnostics diags;
  auto set = RuleSet::parse(
      "title: one\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n---\n"
      "title: two\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n",
      "m.yml", diags);
  ASSERT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
  ASSERT_EQ(set->size(), 2u);
  FakeEvent e = with("f", "x");
  e.bind(set->fieldPaths());
  std::vector<uint32_t> matched;
  const std::vector<uint32_t> only_second{1};
  set->evaluate(e, only_second, matched);
  EXPECT_EQ(matched, std::vector<uint32_t>{1});
  matched.clear();
  const std::vector<uint32_t> both{0, 1};
  set->evaluate(e, both, matched);
  EXPECT_EQ(matched, (std::vector<uint32_t>{0, 1}));
}

TEST(SigmaEvaluator, LogsourceSelectsRulesForDeclaredSource) {
  Diagnostics diags;
  auto set = RuleSet::parse(
      "title: ehr audit\nlogsource: {product: EHR, service: audit}\n"
      "detection: {s: {f: x}, condition: s}\n---\n"
      "title: any\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n---\n"
      "title: db\nlogsource: {product: postgresql}\ndetection: {s: {f: x}, condition: s}\n",
      "ls.yml", diags);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->rule(0).logsource.product, "ehr");
  LogSource ehr{"ehr", "audit", ""};
  EXPECT_EQ(set->rulesFor(&ehr), (std::vector<uint32_t>{0, 1}));
  LogSource ehr_other{"ehr", "access", ""};
  EXPECT_EQ(set->rulesFor(&ehr_other), (std::vector<uint32_t>{1}));
  LogSource pg{"postgresql", "", ""};
  EXPECT_EQ(set->rulesFor(&pg), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(set->rulesFor(nullptr), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(SigmaEvaluator, FieldPathsAreDeduplicatedAndIncludeRefsAndFieldsLists) {
  Diagnostics diags;
  auto set = RuleSet::parse(
      "title: a\nlogsource: {}\nfields: [user.id, extra]\n"
      "detection: {s: {user.id: x, 'a|fieldref': b}, condition: s}\n---\n"
      "title: b\nlogsource: {}\nfields: [user.id]\ndetection: {s: {user.id: y}, condition: s}\n",
      "f.yml", diags);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->fieldPaths(), (std::vector<std::string>{"user.id", "a", "b", "extra"}));
  EXPECT_EQ(set->rule(0).field_ids, (std::vector<FieldId>{0, 3}));
  EXPECT_EQ(set->rule(1).field_ids, (std::vector<FieldId>{0}));
}

// --- expand placeholders ---

std::shared_ptr<const RuleSet> expandRule(const std::string& detection,
                                          const Placeholders& placeholders) {
  Diagnostics diags;
  auto set = RuleSet::parse("title: t\nlogsource: {product: ehr}\ndetection:\n" + detection,
                            "t.yml", diags, &placeholders);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  return set;
}

TEST(SigmaEvaluator, ExpandMatchesAnyValueOfThePlaceholder) {
  const Placeholders p{{"terminated_users", {"u7", "u9"}}};
  const auto set =
      expandRule("  sel:\n    user.id|expand: '%terminated_users%'\n  condition: sel\n", p);
  auto u7 = with("user.id", "U7");
  auto u9 = with("user.id", "u9");
  auto u8 = with("user.id", "u8");
  EXPECT_TRUE(matches(set, u7));
  EXPECT_TRUE(matches(set, u9));
  EXPECT_FALSE(matches(set, u8));
}

TEST(SigmaEvaluator, ExpandCombinesWithContainsAndKeepsSurroundingText) {
  const Placeholders p{{"words", {"secret", "vip"}}};
  const auto contains =
      expandRule("  sel:\n    note|expand|contains: '%words%'\n  condition: sel\n", p);
  auto hit = with("note", "a VIP patient");
  auto miss = with("note", "routine");
  EXPECT_TRUE(matches(contains, hit));
  EXPECT_FALSE(matches(contains, miss));

  const auto around =
      expandRule("  sel:\n    url.path|expand: '/api/%words%/*'\n  condition: sel\n", p);
  auto path = with("url.path", "/api/vip/17");
  auto other = with("url.path", "/api/other/17");
  EXPECT_TRUE(matches(around, path));
  EXPECT_FALSE(matches(around, other));
}

TEST(SigmaEvaluator, ExpandWithAllNeedsEveryValue) {
  const Placeholders p{{"roles", {"nurse", "admin"}}};
  const auto set =
      expandRule("  sel:\n    user.roles|expand|all: '%roles%'\n  condition: sel\n", p);
  FakeEvent both;
  both.str("user.roles", "nurse").str("user.roles", "admin");
  FakeEvent one;
  one.str("user.roles", "nurse");
  EXPECT_TRUE(matches(set, both));
  EXPECT_FALSE(matches(set, one));
}

TEST(SigmaEvaluator, EmptyPlaceholderMatchesNothing) {
  const Placeholders p{{"none", {}}};
  for (const char* spec : {"user.id|expand", "user.id|expand|all"}) {
    const auto set =
        expandRule(std::string("  sel:\n    ") + spec + ": '%none%'\n  condition: sel\n", p);
    ASSERT_TRUE(set) << spec;
    auto e = with("user.id", "u7");
    EXPECT_FALSE(matches(set, e)) << spec;
    FakeEvent absent;
    EXPECT_FALSE(matches(set, absent)) << spec;
  }
}

TEST(SigmaEvaluator, ExpandedValuesAreTextNotNumbers) {
  const Placeholders p{{"codes", {"401", "403"}}};
  const auto set =
      expandRule("  sel:\n    http.response.status_code|expand: '%codes%'\n  condition: sel\n", p);
  FakeEvent number;
  number.num("http.response.status_code", 403, "403");
  auto text = with("http.response.status_code", "401");
  auto other = with("http.response.status_code", "200");
  EXPECT_TRUE(matches(set, number));
  EXPECT_TRUE(matches(set, text));
  EXPECT_FALSE(matches(set, other));
}

}  // namespace
}  // namespace trailwatch::engine
