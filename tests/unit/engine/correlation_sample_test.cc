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
  ASSERT_EQ(c.inputs[0].sample_fields.size(), 4u);

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

// The fields a sample carries (CorrelationInput::sample_fields, what the
// pipeline encodes and the sample renders with) are the correlation's own
// `fields` when it has them, else the contributing rule's.
TEST(CorrelationSample, SampleFieldsAreTheCorrelationsElseTheRules) {
  const std::string own = std::string(kRules) + "fields: [user.id, reason]\n";
  const auto sampled = [](const std::string& text) {
    Diagnostics diags;
    const auto rules = RuleSet::parse(text, "r.yml", diags);
    EXPECT_TRUE(rules) << (diags.empty() ? "" : diags[0].str());
    if (!rules) return std::string();
    const Correlation& c = rules->correlations()[0];
    std::vector<std::string_view> values(c.inputs[0].sample_fields.size(), "v");
    std::vector<const std::string_view*> pointers;
    for (const auto& v : values) pointers.push_back(&v);
    std::string sample, json;
    encodeSample(sample, 0, 0, pointers);
    renderSample(*rules, c, sample, json);
    return json;
  };
  EXPECT_EQ(sampled(kRules),
            R"({"@timestamp":"1970-01-01T00:00:00.000Z","rule":"denied","note":"v",)"
            R"("user.id":"v","patient.id":"v","reason":"v"})");
  EXPECT_EQ(sampled(own), R"({"@timestamp":"1970-01-01T00:00:00.000Z","rule":"denied",)"
                          R"("user.id":"v","reason":"v"})");
}

// A field named like one of the sample's own keys (@timestamp, rule) is
// shown as the event has it, once: rules often list @timestamp.
TEST(CorrelationSample, AFieldNamedLikeASampleKeyIsShownOnce) {
  const std::string yaml = std::string(kRules) + "fields: ['@timestamp', rule, user.id]\n";
  Diagnostics diags;
  const auto rules = RuleSet::parse(yaml, "r.yml", diags);
  ASSERT_TRUE(rules) << (diags.empty() ? "" : diags[0].str());
  const Correlation& c = rules->correlations()[0];
  const std::string_view at = "2026-11-20T08:00:00+01:00", rule = "falco rule", user = "u1";
  const std::string_view* values[] = {&at, &rule, &user};
  std::string sample, json;
  encodeSample(sample, 0, 1'000'000'000, values);
  renderSample(*rules, c, sample, json);
  EXPECT_EQ(json, R"({"@timestamp":"2026-11-20T08:00:00+01:00","rule":"falco rule",)"
                  R"("user.id":"u1"})");

  // Only the key a field takes over goes.
  const auto only_time =
      RuleSet::parse(std::string(kRules) + "fields: ['@timestamp', user.id]\n", "r.yml", diags);
  ASSERT_TRUE(only_time);
  const std::string_view* two[] = {&at, &user};
  encodeSample(sample, 0, 1'000'000'000, two);
  json.clear();
  renderSample(*only_time, only_time->correlations()[0], sample, json);
  EXPECT_EQ(json, R"({"rule":"denied","@timestamp":"2026-11-20T08:00:00+01:00","user.id":"u1"})");
}

}  // namespace
}  // namespace trailwatch::engine
