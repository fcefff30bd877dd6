#include "daemon/server/correlator.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon/engine/rule_set.h"
#include "daemon/metrics/metrics.h"

namespace trailwatch::server {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// Rule 0 feeds the correlation, rule 1 (many failed logins per user).
std::shared_ptr<const engine::RuleSet> rules() {
  Diagnostics diags;
  auto set = engine::RuleSet::parse(R"(title: Failed login
name: failed_login
logsource: {product: ehr}
detection: {s: {outcome: failure}, condition: s}
---
title: Many failed logins
name: many_failed_logins
correlation:
  type: event_count
  rules: failed_login
  group-by: user
  timespan: 10m
  condition: {gte: 1000000}
)",
                                    "rules.yml", diags);
  EXPECT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
  return set;
}

std::vector<engine::Observation> failedLogins(const engine::RuleSet& set, size_t n) {
  EXPECT_GE(set.rule(1).correlation, 0);
  std::vector<engine::Observation> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].rule = 1;  // the correlation
    out[i].time = static_cast<int64_t>(i + 1) * kSecond;
    out[i].group = "u" + std::to_string(i % 7);
    out[i].event_id = i + 1;
  }
  return out;
}

TEST(Correlator, SubmitHandsBackTheCapacityOfAProcessedBatch) {
  auto set = rules();
  ASSERT_TRUE(set);
  RuleSetHolder holder{set};
  metrics::Metrics metrics;
  Correlator correlator(CorrelatorOptions{}, holder, {}, metrics);
  ASSERT_TRUE(correlator.start().ok());

  std::vector<std::vector<engine::Observation>> per_shard(1);
  per_shard[0] = failedLogins(*set, 500);
  correlator.submit(per_shard, 500 * kSecond, set, holder.generation());
  // Nothing was processed yet that could be handed back.
  EXPECT_TRUE(per_shard[0].empty());
  EXPECT_EQ(per_shard[0].capacity(), 0u);
  ASSERT_TRUE(correlator.checkpoint().ok());  // the batch has been processed

  per_shard[0] = failedLogins(*set, 1);
  correlator.submit(per_shard, 501 * kSecond, set, holder.generation());
  EXPECT_TRUE(per_shard[0].empty());
  EXPECT_GE(per_shard[0].capacity(), 500u);

  // What comes back is empty storage: filling it makes a batch like any other.
  ASSERT_TRUE(correlator.checkpoint().ok());
  per_shard[0].push_back(failedLogins(*set, 1)[0]);
  correlator.submit(per_shard, 502 * kSecond, set, holder.generation());
  EXPECT_TRUE(per_shard[0].empty());
  ASSERT_TRUE(correlator.checkpoint().ok());
  correlator.stop();
}

TEST(Correlator, OutsizedBatchesAreNotKeptForReuse) {
  auto set = rules();
  ASSERT_TRUE(set);
  RuleSetHolder holder{set};
  metrics::Metrics metrics;
  Correlator correlator(CorrelatorOptions{}, holder, {}, metrics);
  ASSERT_TRUE(correlator.start().ok());

  std::vector<std::vector<engine::Observation>> per_shard(1);
  per_shard[0] = failedLogins(*set, 70000);  // beyond the ~64 Ki observations kept
  correlator.submit(per_shard, 70000 * kSecond, set, holder.generation());
  ASSERT_TRUE(correlator.checkpoint().ok());
  per_shard[0] = failedLogins(*set, 1);
  correlator.submit(per_shard, 70001 * kSecond, set, holder.generation());
  EXPECT_EQ(per_shard[0].capacity(), 0u);
  ASSERT_TRUE(correlator.checkpoint().ok());
  correlator.stop();
}

}  // namespace
}  // namespace trailwatch::server
