#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/engine/rule_set.h"

namespace trailwatch::engine {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000'000;
constexpr const char* kFailedId = "11111111-1111-4111-8111-111111111111";

// Three detection rules (indices 0, 1, 2) that the correlations below refer to.
constexpr const char* kBase = R"(title: Failed login
id: 11111111-1111-4111-8111-111111111111
name: failed_login
logsource: {product: ehr}
detection: {s: {outcome: failure}, condition: s}
---
title: Successful login
name: successful_login
logsource: {product: ehr}
detection: {s: {outcome: success}, condition: s}
---
title: Export
name: export
logsource: {product: ehr}
detection: {s: {action: export}, condition: s}
)";

// kBase plus one correlation rule titled "C" whose `correlation:` map is `body`
// (each line indented by two spaces).
std::string withCorrelation(const std::string& body) {
  return std::string(kBase) + "---\ntitle: C\nname: c\ncorrelation:\n" + body;
}

std::shared_ptr<const RuleSet> parseOk(const std::string& yaml) {
  Diagnostics diags;
  auto set = RuleSet::parse(yaml, "test.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  EXPECT_TRUE(set);
  return set;
}

Diagnostics problems(const std::string& yaml) {
  Diagnostics diags;
  auto set = RuleSet::parse(yaml, "test.yml", diags);
  EXPECT_EQ(set, nullptr) << "a set was built despite the problems";
  return diags;
}

std::string all(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.str() + "\n";
  return out;
}

// Exactly one diagnostic, and its message contains `text`.
#define EXPECT_ONE_PROBLEM(yaml, text)                                 \
  do {                                                                 \
    const Diagnostics d_ = problems(yaml);                             \
    ASSERT_EQ(d_.size(), 1u) << all(d_);                               \
    EXPECT_NE(d_[0].message.find(text), std::string::npos) << all(d_); \
  } while (0)

FieldId fieldId(const RuleSet& set, const std::string& path) {
  const auto& paths = set.fieldPaths();
  const auto it = std::find(paths.begin(), paths.end(), path);
  EXPECT_NE(it, paths.end()) << "no field " << path;
  return static_cast<FieldId>(it - paths.begin());
}

// --- parsing each type ---

TEST(CorrelationLoader, EveryTypeParses) {
  struct Case {
    const char* body;
    CorrelationType type;
  };
  const Case cases[] = {
      {"  type: event_count\n  rules: failed_login\n  timespan: 30s\n  condition: {gte: 3}\n",
       CorrelationType::kEventCount},
      {"  type: value_count\n  rules: failed_login\n  timespan: 30s\n"
       "  condition: {field: patient.id, gt: 3}\n",
       CorrelationType::kValueCount},
      {"  type: temporal\n  rules: [failed_login, export]\n  timespan: 30s\n",
       CorrelationType::kTemporal},
      {"  type: temporal_ordered\n  rules: [failed_login, export]\n  timespan: 30s\n",
       CorrelationType::kTemporalOrdered},
      {"  type: value_sum\n  rules: export\n  timespan: 30s\n"
       "  condition: {field: bytes, lte: 3}\n",
       CorrelationType::kValueSum},
      {"  type: value_avg\n  rules: export\n  timespan: 30s\n  condition: {field: bytes, lt: 3}\n",
       CorrelationType::kValueAvg},
      {"  type: value_percentile\n  rules: export\n  timespan: 30s\n"
       "  condition: {field: bytes, percentile: 95, eq: 3}\n",
       CorrelationType::kValuePercentile},
      {"  type: absence\n  rules: export\n  timespan: 30s\n", CorrelationType::kAbsence},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto set = parseOk(withCorrelation(c.body));
    ASSERT_TRUE(set);
    ASSERT_EQ(set->size(), 4u);
    ASSERT_EQ(set->correlations().size(), 1u);
    const Correlation& corr = set->correlations()[0];
    EXPECT_EQ(corr.type, c.type);
    EXPECT_EQ(corr.rule_index, 3u);
    EXPECT_EQ(corr.key.substr(0, corr.key.find(':')), correlationTypeName(c.type));
    EXPECT_EQ(corr.key.substr(corr.key.find(':'), 3), ":c|");
    EXPECT_EQ(corr.timespan_nanos, 30 * kSecond);
    EXPECT_EQ(corr.timespan_text, "30s");
    EXPECT_EQ(set->rule(3).correlation, 0);
    EXPECT_EQ(set->rule(3).title, "C");
    EXPECT_TRUE(set->rule(3).alerts);
    EXPECT_TRUE(set->stateful());
    // Correlations read no events themselves.
    EXPECT_EQ(set->rulesFor(nullptr), (std::vector<uint32_t>{0, 1, 2}));
  }
}

TEST(CorrelationLoader, ConditionBoundsFieldAndPercentileAreRead) {
  auto set = parseOk(withCorrelation(
      "  type: value_percentile\n  rules: export\n  timespan: 2h\n"
      "  condition: {field: bytes, percentile: 95, gt: 1, gte: 2, lt: 30, lte: 40, eq: 5}\n"));
  ASSERT_TRUE(set);
  const Correlation& c = set->correlations()[0];
  EXPECT_EQ(c.timespan_nanos, 2 * 3600 * kSecond);
  EXPECT_EQ(c.field, "bytes");
  EXPECT_EQ(c.percentile, 95);
  EXPECT_EQ(c.condition.gt, 1);
  EXPECT_EQ(c.condition.gte, 2);
  EXPECT_EQ(c.condition.lt, 30);
  EXPECT_EQ(c.condition.lte, 40);
  EXPECT_EQ(c.condition.eq, 5);
  ASSERT_EQ(c.field_ids.size(), 1u);
  EXPECT_EQ(c.field_ids[0], fieldId(*set, "bytes"));
}

TEST(CorrelationLoader, TimespanUnits) {
  const std::pair<const char*, int64_t> cases[] = {{"15s", 15 * kSecond},
                                                   {"5m", 300 * kSecond},
                                                   {"3h", 3 * 3600 * kSecond},
                                                   {"1d", 86400 * kSecond},
                                                   {"3650d", 3650 * 86400 * kSecond}};
  for (const auto& [text, nanos] : cases) {
    auto set = parseOk(withCorrelation(std::string("  type: event_count\n  rules: export\n") +
                                       "  timespan: " + text + "\n  condition: {gte: 2}\n"));
    ASSERT_TRUE(set) << text;
    EXPECT_EQ(set->correlations()[0].timespan_nanos, nanos) << text;
  }
}

TEST(CorrelationLoader, TemporalDefaultsToAllRulesAndKeepsAnExplicitCondition) {
  auto set = parseOk(withCorrelation(
      "  type: temporal\n  rules: [failed_login, successful_login, export]\n  timespan: 1m\n"));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->correlations()[0].condition.gte, 3);
  EXPECT_FALSE(set->correlations()[0].condition.gt);

  set = parseOk(withCorrelation(
      "  type: temporal\n  rules: [failed_login, successful_login, export]\n  timespan: 1m\n"
      "  condition: {gte: 2}\n"));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->correlations()[0].condition.gte, 2);

  set = parseOk(withCorrelation(
      "  type: temporal_ordered\n  rules: [export, failed_login]\n  timespan: 1m\n"));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->correlations()[0].condition.gte, 2);
}

// --- references ---

TEST(CorrelationLoader, RefersToRulesByNameAndById) {
  auto set = parseOk(withCorrelation(std::string("  type: temporal\n  rules: [") + kFailedId +
                                     ", export]\n  timespan: 5m\n"));
  ASSERT_TRUE(set);
  const Correlation& c = set->correlations()[0];
  ASSERT_EQ(c.inputs.size(), 2u);
  EXPECT_FALSE(c.inputs[0].from_correlation);
  EXPECT_EQ(c.inputs[0].index, 0u);
  EXPECT_EQ(c.inputs[1].index, 2u);
  EXPECT_EQ(set->rule(0).feeds, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 0}}));
  EXPECT_EQ(set->rule(2).feeds, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}}));
  EXPECT_TRUE(set->rule(1).feeds.empty());
  EXPECT_TRUE(set->rule(0).stateful());
  EXPECT_FALSE(set->rule(1).stateful());
  EXPECT_EQ(set->rule(0).name, "failed_login");
}

TEST(CorrelationLoader, KeyIsIdThenNameThenTitle) {
  auto set = parseOk(std::string(kBase) +
                     "---\ntitle: With id\nid: 22222222-2222-4222-8222-222222222222\nname: n1\n"
                     "correlation: {type: absence, rules: export, timespan: 1m}\n"
                     "---\ntitle: With name\nname: n2\n"
                     "correlation: {type: absence, rules: export, timespan: 1m}\n"
                     "---\ntitle: Title only\n"
                     "correlation: {type: absence, rules: export, timespan: 1m}\n");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->correlations().size(), 3u);
  // The key also holds the type and the rules read, so a changed
  // correlation does not inherit the state of the old one.
  EXPECT_EQ(set->correlations()[0].key, "absence:22222222-2222-4222-8222-222222222222|export");
  EXPECT_EQ(set->correlations()[1].key, "absence:n2|export");
  EXPECT_EQ(set->correlations()[2].key, "absence:Title only|export");
  EXPECT_EQ(set->rule(2).feeds.size(), 3u);
}

TEST(CorrelationLoader, ReferenceToARuleInAnotherFile) {
  char tmpl[] = "/tmp/trailwatch_correlation_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path root = tmpl;
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{root};
  // a.yml sorts first, so the correlation refers forward to b.yml.
  std::ofstream(root / "a.yml")
      << "title: Many exports\nname: many_exports\n"
         "correlation:\n  type: event_count\n  rules: [export]\n"
         "  group-by: [user.id]\n  timespan: 10m\n  condition: {gte: 5}\n";
  std::ofstream(root / "b.yml") << "title: Export\nname: export\nlogsource: {product: ehr}\n"
                                   "detection: {s: {action: export}, condition: s}\n";
  Diagnostics diags;
  auto set = RuleSet::load({root.string()}, diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ(set->rule(0).file, (root / "a.yml").string());
  EXPECT_EQ(set->rule(0).correlation, 0);
  const Correlation& c = set->correlations()[0];
  ASSERT_EQ(c.inputs.size(), 1u);
  EXPECT_EQ(c.inputs[0].index, 1u);
  EXPECT_EQ(c.inputs[0].group_fields, (std::vector<FieldId>{fieldId(*set, "user.id")}));
  EXPECT_FALSE(set->rule(1).alerts);

  // The same reference without b.yml is reported in a.yml.
  fs::remove(root / "b.yml");
  diags.clear();
  EXPECT_EQ(RuleSet::load({root.string()}, diags), nullptr);
  ASSERT_EQ(diags.size(), 1u) << all(diags);
  EXPECT_EQ(diags[0].str(), (root / "a.yml").string() +
                                ":5:11: correlation refers to rule 'export', which no loaded rule "
                                "has as id or name");
}

TEST(CorrelationLoader, UnknownRuleReferenceIsLocated) {
  const Diagnostics d = problems(R"(title: Failed login
name: failed_login
logsource: {product: ehr}
detection: {s: {outcome: failure}, condition: s}
---
title: C
correlation:
  type: event_count
  rules: [failed_login, nope]
  timespan: 10m
  condition: {gte: 3}
)");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_EQ(d[0].str(),
            "test.yml:9:25: correlation refers to rule 'nope', which no loaded rule has as id or "
            "name");
}

TEST(CorrelationLoader, SelfReferenceAndDoubleListingAreRejected) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: temporal\n  rules: [export, c]\n  timespan: 10m\n"),
                     "a correlation cannot refer to itself");
  EXPECT_ONE_PROBLEM(
      withCorrelation("  type: temporal\n  rules: [export, export]\n  timespan: 10m\n"),
      "rule 'export' is listed twice");
}

// --- grouping and aliases ---

TEST(CorrelationLoader, GroupByIsSortedAndReadFromEachInput) {
  auto set = parseOk(withCorrelation(
      "  type: temporal\n  rules: [failed_login, export]\n  group-by: [user.id, host, app]\n"
      "  timespan: 10m\n"));
  ASSERT_TRUE(set);
  const Correlation& c = set->correlations()[0];
  EXPECT_EQ(c.group_by, (std::vector<std::string>{"app", "host", "user.id"}));
  const std::vector<FieldId> expected{fieldId(*set, "app"), fieldId(*set, "host"),
                                      fieldId(*set, "user.id")};
  ASSERT_EQ(c.inputs.size(), 2u);
  EXPECT_EQ(c.inputs[0].group_fields, expected);
  EXPECT_EQ(c.inputs[1].group_fields, expected);
}

TEST(CorrelationLoader, GroupByListingAFieldTwiceIsRejected) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  rules: export\n  group-by: [a, b, a]\n"
                                     "  timespan: 10m\n"),
                     "'group-by' lists a field twice");
}

TEST(CorrelationLoader, AliasesResolveToADifferentFieldPerInput) {
  auto set = parseOk(withCorrelation(
      "  type: temporal_ordered\n  rules: [failed_login, export]\n  group-by: [host, user]\n"
      "  timespan: 10m\n"
      "  aliases:\n    user:\n      failed_login: auth.user\n      export: actor.id\n"));
  ASSERT_TRUE(set);
  const Correlation& c = set->correlations()[0];
  EXPECT_EQ(c.group_by, (std::vector<std::string>{"host", "user"}));
  ASSERT_EQ(c.inputs.size(), 2u);
  const FieldId host = fieldId(*set, "host");
  const FieldId auth_user = fieldId(*set, "auth.user");
  const FieldId actor = fieldId(*set, "actor.id");
  EXPECT_NE(auth_user, actor);
  EXPECT_EQ(c.inputs[0].group_fields, (std::vector<FieldId>{host, auth_user}));
  EXPECT_EQ(c.inputs[1].group_fields, (std::vector<FieldId>{host, actor}));
  // The alias name itself is not a field any rule reads.
  const auto& paths = set->fieldPaths();
  EXPECT_EQ(std::find(paths.begin(), paths.end(), "user"), paths.end());
}

TEST(CorrelationLoader, AliasedValueFieldResolvesPerInput) {
  auto set = parseOk(
      withCorrelation("  type: value_count\n  rules: [failed_login, export]\n  timespan: 10m\n"
                      "  condition: {field: patient, gte: 3}\n"
                      "  aliases:\n    patient:\n      failed_login: target.patient\n"
                      "      export: entity.patient\n"));
  ASSERT_TRUE(set);
  const Correlation& c = set->correlations()[0];
  EXPECT_EQ(c.field, "patient");
  EXPECT_EQ(c.field_ids, (std::vector<FieldId>{fieldId(*set, "target.patient"),
                                               fieldId(*set, "entity.patient")}));
}

TEST(CorrelationLoader, AliasMissingARuleIsReported) {
  EXPECT_ONE_PROBLEM(
      withCorrelation("  type: temporal\n  rules: [failed_login, export]\n  group-by: user\n"
                      "  timespan: 10m\n  aliases:\n    user:\n      failed_login: auth.user\n"),
      "alias 'user' has no field for rule 'export'");
}

TEST(CorrelationLoader, AliasNamingAnUnreferencedRuleIsReported) {
  EXPECT_ONE_PROBLEM(
      withCorrelation("  type: temporal\n  rules: [failed_login, export]\n  group-by: user\n"
                      "  timespan: 10m\n  aliases:\n    user:\n      failed_login: auth.user\n"
                      "      export: actor.id\n      successful_login: x\n"),
      "alias 'user' names rule 'successful_login', which is not one of this correlation's rules");
}

// --- generate ---

TEST(CorrelationLoader, ReferencedRulesStopAlertingUnlessGenerate) {
  auto set = parseOk(
      withCorrelation("  type: temporal\n  rules: [failed_login, export]\n  timespan: 10m\n"));
  ASSERT_TRUE(set);
  EXPECT_FALSE(set->correlations()[0].generate);
  EXPECT_FALSE(set->rule(0).alerts);
  EXPECT_TRUE(set->rule(1).alerts) << "a rule no correlation refers to alerts";
  EXPECT_TRUE(set->rule(1).feeds.empty());
  EXPECT_FALSE(set->rule(2).alerts);
  EXPECT_TRUE(set->rule(3).alerts);

  set = parseOk(withCorrelation(
      "  type: temporal\n  rules: [failed_login, export]\n  timespan: 10m\n  generate: true\n"));
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->correlations()[0].generate);
  EXPECT_TRUE(set->rule(0).alerts);
  EXPECT_TRUE(set->rule(2).alerts);
}

TEST(CorrelationLoader, OneGeneratingCorrelationIsEnoughForARuleToAlert) {
  auto set = parseOk(std::string(kBase) +
                     "---\ntitle: A\ncorrelation: {type: absence, rules: export, timespan: 1m}\n"
                     "---\ntitle: B\ncorrelation: {type: absence, rules: [export, failed_login], "
                     "timespan: 1m, generate: true}\n");
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->rule(2).alerts);
  EXPECT_TRUE(set->rule(0).alerts);
  EXPECT_EQ(set->rule(2).feeds, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 0}, {1, 0}}));
}

TEST(CorrelationLoader, GenerateMustBeABoolean) {
  EXPECT_ONE_PROBLEM(
      withCorrelation("  type: absence\n  rules: export\n  timespan: 1m\n  generate: yes please\n"),
      "'generate' must be true or false");
}

// --- chains ---

constexpr const char* kChainInner = R"(---
title: Many failed logins
name: many_failed_logins
correlation:
  type: event_count
  rules: failed_login
  group-by: user
  timespan: 10m
  condition: {gte: 10}
)";

TEST(CorrelationLoader, ChainWithTheSameGroupingIsAccepted) {
  auto set = parseOk(std::string(kBase) + kChainInner + R"(---
title: Success after many failed logins
correlation:
  type: temporal_ordered
  rules: [many_failed_logins, successful_login]
  group-by: user
  timespan: 1h
)");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->correlations().size(), 2u);
  const Correlation& outer = set->correlations()[1];
  ASSERT_EQ(outer.inputs.size(), 2u);
  EXPECT_TRUE(outer.inputs[0].from_correlation);
  EXPECT_EQ(outer.inputs[0].index, 0u);
  EXPECT_FALSE(outer.inputs[1].from_correlation);
  EXPECT_EQ(outer.inputs[1].index, 1u);
  const RuleInfo& inner = set->rule(set->correlations()[0].rule_index);
  EXPECT_EQ(inner.feeds, (std::vector<std::pair<uint32_t, uint32_t>>{{1, 0}}));
  EXPECT_FALSE(inner.alerts);
  EXPECT_FALSE(set->rule(0).alerts);
  EXPECT_FALSE(set->rule(1).alerts);
  EXPECT_TRUE(set->rule(outer.rule_index).alerts);
}

TEST(CorrelationLoader, ChainWithOtherGroupingIsRejected) {
  const Diagnostics d = problems(std::string(kBase) + kChainInner + R"(---
title: Success after many failed logins
correlation:
  type: temporal_ordered
  rules: [many_failed_logins, successful_login]
  group-by: [user, host]
  timespan: 1h
)");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_NE(d[0].message.find("groups by other fields than this one"), std::string::npos) << all(d);
  EXPECT_EQ(d[0].line, 29);
  EXPECT_EQ(d[0].column, 11);
}

TEST(CorrelationLoader, ValueCorrelationCannotReadAChainedCorrelation) {
  EXPECT_ONE_PROBLEM(std::string(kBase) + kChainInner + R"(---
title: Outer
correlation:
  type: value_sum
  rules: many_failed_logins
  group-by: user
  timespan: 1h
  condition: {field: bytes, gte: 1}
)",
                     "reads a field of events, so it cannot refer to the correlation");
}

TEST(CorrelationLoader, CycleIsRejected) {
  const Diagnostics d = problems(std::string(kBase) + R"(---
title: A
name: a
correlation: {type: temporal, rules: [b, export], timespan: 1h}
---
title: B
name: b
correlation: {type: temporal, rules: [a, export], timespan: 1h}
)");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_NE(d[0].message.find("chain of correlations that refers back to itself"),
            std::string::npos)
      << all(d);
  EXPECT_EQ(d[0].line, 19);
}

// --- errors in the correlation map ---

TEST(CorrelationLoader, BadTimespanIsRejected) {
  for (const char* text : {"10x", "0m", "m", "-5m", "1.5h", "3651d", "3650000d", "99999999999d"}) {
    SCOPED_TRACE(text);
    const Diagnostics d =
        problems(withCorrelation(std::string("  type: event_count\n  rules: export\n  timespan: ") +
                                 text + "\n  condition: {gte: 2}\n"));
    ASSERT_EQ(d.size(), 1u) << all(d);
    EXPECT_NE(d[0].message.find("'timespan' must be a number and a unit s, m, h or d"),
              std::string::npos)
        << all(d);
    EXPECT_EQ(d[0].line, 22);
    EXPECT_EQ(d[0].column, 13);
  }
}

TEST(CorrelationLoader, MissingPartsAreReported) {
  EXPECT_ONE_PROBLEM(withCorrelation("  rules: export\n  timespan: 1m\n"),
                     "'correlation' needs a 'type'");
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  timespan: 1m\n"),
                     "'correlation' needs 'rules'");
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  rules: export\n"),
                     "'correlation' needs a 'timespan'");
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  rules: []\n  timespan: 1m\n"),
                     "'rules' must list rule ids or names");
  EXPECT_ONE_PROBLEM(std::string(kBase) + "---\ntitle: C\ncorrelation: event_count\n",
                     "'correlation' must be a map");
}

TEST(CorrelationLoader, UnknownTypeIsRejected) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: event_sum\n  rules: export\n  timespan: 1m\n"),
                     "unknown correlation type 'event_sum'");
}

TEST(CorrelationLoader, CountingTypesNeedACondition) {
  for (const char* type : {"event_count", "value_count", "value_sum", "value_avg"}) {
    SCOPED_TRACE(type);
    EXPECT_ONE_PROBLEM(
        withCorrelation(std::string("  type: ") + type + "\n  rules: export\n  timespan: 1m\n"),
        std::string(type[0] == 'e' ? "an " : "a ") + type +
            " correlation needs a 'condition' such as {gte: 10}");
  }
  // A condition with only `field` has no bound either.
  EXPECT_ONE_PROBLEM(withCorrelation("  type: value_count\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {field: user}\n"),
                     "a value_count correlation needs a 'condition'");
}

TEST(CorrelationLoader, ValueTypesNeedAField) {
  const Diagnostics d = problems(withCorrelation(
      "  type: value_count\n  rules: export\n  timespan: 1m\n  condition: {gte: 3}\n"));
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_NE(d[0].message.find("a value_count correlation needs 'field' in its condition"),
            std::string::npos)
      << all(d);
  EXPECT_EQ(d[0].line, 23);
  EXPECT_EQ(d[0].column, 14);
}

TEST(CorrelationLoader, FieldHasNoMeaningForEventCount) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: event_count\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {field: user, gte: 3}\n"),
                     "'field' has no meaning for an event_count correlation");
}

TEST(CorrelationLoader, PercentileNeedsAPercentileFrom0To100) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: value_percentile\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {field: bytes, gte: 3}\n"),
                     "a value_percentile correlation needs 'percentile' (0-100)");
  EXPECT_ONE_PROBLEM(withCorrelation("  type: value_percentile\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {field: bytes, gte: 3, percentile: 101}\n"),
                     "'condition.percentile' must be a number from 0 to 100");
}

TEST(CorrelationLoader, PercentileOnlyBelongsToValuePercentile) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: value_sum\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {field: bytes, gte: 10, percentile: 95}\n"),
                     "'percentile' has no meaning for a value_sum correlation");
}

TEST(CorrelationLoader, UnknownConditionOperatorIsRejected) {
  const Diagnostics d = problems(withCorrelation(
      "  type: event_count\n  rules: export\n  timespan: 1m\n  condition: {gte: 3, above: 2}\n"));
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_EQ(d[0].str(),
            "test.yml:23:23: unknown condition operator 'above' (expected gt, gte, lt, lte, eq, "
            "field, percentile)");
}

TEST(CorrelationLoader, ConditionBoundMustBeANumber) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: event_count\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {gte: '3'}\n"),
                     "'gte' needs a number");
  EXPECT_ONE_PROBLEM(withCorrelation("  type: event_count\n  rules: export\n  timespan: 1m\n"
                                     "  condition: 3\n"),
                     "'condition' must be a map such as {gte: 10}");
}

TEST(CorrelationLoader, UnknownCorrelationKeyIsRejected) {
  const Diagnostics d =
      problems(withCorrelation("  type: absence\n  rules: export\n  timespan: 1m\n  window: 5m\n"));
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_NE(d[0].message.find("unknown key 'window' in 'correlation'"), std::string::npos)
      << all(d);
  EXPECT_EQ(d[0].line, 23);
  EXPECT_EQ(d[0].column, 3);
}

TEST(CorrelationLoader, AbsenceTakesNoCondition) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  rules: export\n  timespan: 1m\n"
                                     "  condition: {gte: 1}\n"),
                     "an absence correlation takes no condition");
}

TEST(CorrelationLoader, TemporalOrderedTakesNoCondition) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: temporal_ordered\n  rules: [export, failed_login]\n"
                                     "  timespan: 1m\n  condition: {gte: 1}\n"),
                     "a temporal_ordered correlation takes no condition");
}

TEST(CorrelationLoader, RuleWithDetectionAndCorrelationIsRejected) {
  EXPECT_ONE_PROBLEM(std::string(kBase) +
                         "---\ntitle: C\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n"
                         "correlation: {type: absence, rules: export, timespan: 1m}\n",
                     "a rule has either 'detection' or 'correlation', not both");
}

TEST(CorrelationLoader, DuplicateNamesAreRejected) {
  // Names must be unique whether or not a correlation uses them yet.
  Diagnostics d = problems(std::string(kBase) +
                           "---\ntitle: Other\nname: export\nlogsource: {}\n"
                           "detection: {s: {f: x}, condition: s}\n");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_EQ(d[0].str(), "test.yml:17:1: duplicate rule name 'export' (also used at test.yml:12)");

  d = problems(std::string(kBase) +
               "---\ntitle: Other\nname: failed_login\n"
               "correlation: {type: absence, rules: export, timespan: 1m}\n");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_EQ(d[0].str(),
            "test.yml:17:1: duplicate rule name 'failed_login' (also used at test.yml:1)");
}

TEST(CorrelationLoader, DuplicateCorrelationIdIsRejected) {
  EXPECT_ONE_PROBLEM(
      std::string(kBase) +
          "---\ntitle: C\nid: 11111111-1111-4111-8111-111111111111\n"
          "correlation: {type: absence, rules: export, timespan: 1m}\n",
      "duplicate rule id 11111111-1111-4111-8111-111111111111 (first used at test.yml:2)");
}

// --- suppress ---

TEST(CorrelationLoader, SuppressIsParsed) {
  auto set = parseOk(std::string(kBase) +
                     "---\ntitle: Noisy\nlogsource: {}\n"
                     "detection: {s: {f: x}, condition: s}\n"
                     "suppress: {timespan: 15m, by: [user.id, patient.id]}\n"
                     "---\ntitle: Noisy too\nlogsource: {}\n"
                     "detection: {s: {f: y}, condition: s}\n"
                     "suppress: {timespan: 1h, by: user.id}\n"
                     "---\ntitle: Noisy per rule\nlogsource: {}\n"
                     "detection: {s: {f: z}, condition: s}\n"
                     "suppress: {timespan: 30s}\n");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 6u);
  EXPECT_TRUE(set->correlations().empty());
  EXPECT_TRUE(set->stateful());
  const RuleInfo& r = set->rule(3);
  ASSERT_TRUE(r.suppress);
  EXPECT_TRUE(r.stateful());
  EXPECT_TRUE(r.alerts);
  EXPECT_EQ(r.suppress->timespan_nanos, 15 * 60 * kSecond);
  EXPECT_EQ(r.suppress->by, (std::vector<std::string>{"user.id", "patient.id"}));
  EXPECT_EQ(r.suppress->by_ids,
            (std::vector<FieldId>{fieldId(*set, "user.id"), fieldId(*set, "patient.id")}));
  ASSERT_TRUE(set->rule(4).suppress);
  EXPECT_EQ(set->rule(4).suppress->timespan_nanos, 3600 * kSecond);
  EXPECT_EQ(set->rule(4).suppress->by_ids, (std::vector<FieldId>{fieldId(*set, "user.id")}));
  ASSERT_TRUE(set->rule(5).suppress);
  EXPECT_TRUE(set->rule(5).suppress->by.empty());
  EXPECT_FALSE(set->rule(0).suppress);
}

TEST(CorrelationLoader, SetWithoutCorrelationOrSuppressIsNotStateful) {
  auto set = parseOk(kBase);
  ASSERT_TRUE(set);
  EXPECT_FALSE(set->stateful());
}

TEST(CorrelationLoader, SuppressErrors) {
  const std::string head = "title: Noisy\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n";
  EXPECT_ONE_PROBLEM(head + "suppress: 10m\n",
                     "'suppress' must be a map with 'timespan' and optionally 'by'");
  EXPECT_ONE_PROBLEM(head + "suppress: {by: user}\n", "'suppress' needs a 'timespan'");
  EXPECT_ONE_PROBLEM(head + "suppress: {timespan: 10 minutes}\n",
                     "'suppress.timespan' must be a number and a unit s, m, h or d");
  EXPECT_ONE_PROBLEM(head + "suppress: {timespan: 0s}\n",
                     "'suppress.timespan' must be a number and a unit s, m, h or d");
  EXPECT_ONE_PROBLEM(head + "suppress: {timespan: 10m, per: user}\n",
                     "unknown key 'per' in 'suppress' (expected timespan, by)");
  EXPECT_ONE_PROBLEM(head + "suppress: {timespan: 10m, by: {user: 1}}\n",
                     "'suppress.by' must be a list of field names");
  EXPECT_ONE_PROBLEM(head + "suppress: {timespan: 10m, by: [user, [x]]}\n",
                     "'suppress.by' must be a list of field names");
  const Diagnostics d = problems(head + "suppress: {timespan: 10q}\n");
  ASSERT_EQ(d.size(), 1u) << all(d);
  EXPECT_EQ(d[0].line, 4);
  EXPECT_EQ(d[0].column, 22);
}

TEST(CorrelationLoader, SuppressOnACorrelationIsRejected) {
  EXPECT_ONE_PROBLEM(withCorrelation("  type: absence\n  rules: export\n  timespan: 1m\n") +
                         "suppress: {timespan: 10m}\n",
                     "'suppress' applies to detection rules");
}

}  // namespace
}  // namespace trailwatch::engine
