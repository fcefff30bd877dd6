#include "daemon/engine/correlation_sample.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace trailwatch::engine {
namespace {

constexpr const char* kRules = R"(title: Denied
name: denied
logsource: {}
detection: {s: {outcome: failure}, condition: s}
fields: [note, user.id, patient.id, reason]
---
title: Many denied
name: many_denied
correlation:
  type: event_count
  rules: denied
  group-by: user.id
  timespan: 10m
  condition: {gte: 3}
)";

// A sample carries the rule's `fields` in order, each cut to 256 bytes; an
// absent one renders as null, an empty one as "" (also first, where a
// separator must still follow it).
TEST(CorrelationSample, EncodedValuesRenderAsTheRulesFields) {
  Diagnostics diags;
  const auto rules = RuleSet::parse(kRules, "r.yml", diags);
  ASSERT_TRUE(rules) << (diags.empty() ? "" : diags[0].str());
  const Correlation& c = rules->correlations()[0];
  ASSERT_EQ(sampleFields(*rules, c, 0),
            (std::vector<std::string>{"note", "user.id", "patient.id", "reason"}));

  const std::string long_reason(300, 'r');
  const std::string_view empty, user = "u\"1", reason = long_reason;
  const std::string_view* values[] = {&empty, &user, nullptr, &reason};
  std::string sample = "left over from the slot's last use";
  encodeSample(sample, 0, 1'000'000'000, values);
  std::string json;
  renderSample(*rules, c, sample, json);
  EXPECT_EQ(json, R"({"@timestamp":"1970-01-01T00:00:01.000Z","rule":"denied","note":"",)"
                  R"("user.id":"u\"1","patient.id":null,"reason":")" +
                      std::string(256, 'r') + "\"}");

  // Encoding again replaces what was there.
  const std::string_view n = "n", u2 = "u2", p = "p", x = "x";
  const std::string_view* shorter[] = {&n, &u2, &p, &x};
  encodeSample(sample, 0, 2'000'000'000, shorter);
  json.clear();
  renderSample(*rules, c, sample, json);
  EXPECT_EQ(json, R"({"@timestamp":"1970-01-01T00:00:02.000Z","rule":"denied","note":"n",)"
                  R"("user.id":"u2","patient.id":"p","reason":"x"})");
}

// The ids the pipeline encodes (CorrelationInput::sample_fields) are those
// of the names the sample renders with: the correlation's own `fields`
// when it has them, else the contributing rule's.
TEST(CorrelationSample, SampleFieldIdsFollowTheRenderedNames) {
  const std::string own = std::string(kRules) + "fields: [user.id, reason]\n";
  for (const std::string& text : {std::string(kRules), own}) {
    Diagnostics diags;
    const auto rules = RuleSet::parse(text, "r.yml", diags);
    ASSERT_TRUE(rules) << (diags.empty() ? "" : diags[0].str());
    const Correlation& c = rules->correlations()[0];
    std::vector<std::string> names;
    for (const FieldId id : c.inputs[0].sample_fields) names.push_back(rules->fieldPaths()[id]);
    EXPECT_EQ(names, sampleFields(*rules, c, 0));
  }
  Diagnostics diags;
  const auto rules = RuleSet::parse(own, "r.yml", diags);
  ASSERT_TRUE(rules);
  EXPECT_EQ(sampleFields(*rules, rules->correlations()[0], 0),
            (std::vector<std::string>{"user.id", "reason"}));
}

}  // namespace
}  // namespace trailwatch::engine
