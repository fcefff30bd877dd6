// Reload storm: 100 SIGHUPs while a writer thread streams records, the rule
// file replaced (rename) before each one by, alternately, a good version
// (A and B, after a third, 0, at start; told apart by rule id, all matching
// the injected break-the-glass records) and a broken one (a YAML syntax
// error, or a Sigma error: an unknown modifier). The daemon must stay up, lose no record,
// alert every injected match through whichever good version was active, and
// end with the last good version.
//
// Each SIGHUP waits until its reload is seen in /metrics before the next:
// standard signals are not queued, so SIGHUPs sent faster than the daemon
// takes them merge into one and the test would exercise fewer reloads than
// it claims. The records keep flowing meanwhile, so every reload lands
// in the middle of the stream.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kRule0 = "7d3c0f3e-5a5a-4e0e-8f00-000000000000";  // at start
constexpr const char* kRuleA = "7d3c0f3e-5a5a-4e0e-8f00-00000000000a";
constexpr const char* kRuleB = "7d3c0f3e-5a5a-4e0e-8f00-00000000000b";

std::string goodRule(const char* id, const char* title) {
  return std::string("title: ") + title + "\nid: " + id +
         "\n"
         "status: test\n"
         "level: high\n"
         "tags: [hipaa.164.312.b]\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    purpose_of_use: BTG\n"
         "  condition: selection\n"
         "fields: [event.sequence]\n";
}

std::string brokenRule(int n) {
  if (n % 2 == 0) {
    // YAML syntax error: an unclosed flow sequence.
    return "title: Storm broken\nid: 7d3c0f3e-5a5a-4e0e-8f00-0000000000ff\n"
           "logsource: {product: ehr\ndetection: [selection\n";
  }
  // Valid YAML, invalid Sigma: an unknown modifier.
  std::string rule = goodRule("7d3c0f3e-5a5a-4e0e-8f00-0000000000fe", "Storm broken");
  rule.replace(rule.find("purpose_of_use:"), 15, "purpose_of_use|contians:");
  return rule;
}

class ReloadStorm : public ::testing::Test {
 protected:
  void TearDown() override {
    stop_writer_ = true;
    if (writer_.joinable()) writer_.join();
    if (HasFailure()) std::fprintf(stderr, "%s\n", daemon_.logs().c_str());
  }

  // Appends one record; every fifth is a break-the-glass access.
  void appendOne() {
    const int64_t seq = ++written_;
    const bool btg = seq % 5 == 0;
    appendLine(log_, ehrEvent(seq, btg ? EventKind::kBtg : EventKind::kBenign));
  }

  // Appends records up to the next break-the-glass one; its sequence.
  int64_t appendMatch() {
    do {
      appendOne();
    } while (written_.load() % 5 != 0);
    return written_.load();
  }

  // The rule id of the alert for record `seq`, if there is one.
  std::optional<std::string> alertOf(int64_t seq) {
    for (const Alert& a : daemon_.alerts()) {
      if (a.sequence() == seq) return a.rule_id;
    }
    return std::nullopt;
  }

  TempDir dir_;
  Daemon daemon_{dir_};
  std::string log_ = daemon_.logs_dir + "/a.ndjson";
  std::string rule_file_ = daemon_.pack_dir + "/storm.yml";
  std::atomic<int64_t> written_{0};
  std::atomic<bool> stop_writer_{false};
  std::thread writer_;
};

TEST_F(ReloadStorm, HundredSighupsLoseNothingAndEndOnTheLastGoodRules) {
  for (const auto& e : std::filesystem::directory_iterator(daemon_.pack_dir)) {
    std::filesystem::remove(e.path());
  }
  writeFileAtomic(rule_file_, goodRule(kRule0, "Storm 0"));
  appendOne();
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;

  writer_ = std::thread([this] {
    while (!stop_writer_) {
      appendOne();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  constexpr int kSignals = 100;
  int failures = 0;
  char last_good = '0';
  for (int i = 1; i <= kSignals; ++i) {
    const bool good = i % 2 == 1;
    if (good) {
      // Good reloads alternate A, B, A, ... (a third version, 0, at start).
      last_good = last_good == 'A' ? 'B' : 'A';
      writeFileAtomic(rule_file_,
                      last_good == 'A' ? goodRule(kRuleA, "Storm A") : goodRule(kRuleB, "Storm B"));
    } else {
      writeFileAtomic(rule_file_, brokenRule(i / 2));
    }
    const double before =
        daemon_.metric("trailwatch_rules_last_reload_timestamp_seconds").value_or(-1);
    daemon_.process().signal(SIGHUP);
    if (!good) ++failures;
    const bool seen = waitFor(
        [&] {
          const std::string body = daemon_.scrape();
          const auto when = metricValue(body, "trailwatch_rules_last_reload_timestamp_seconds");
          const auto ok = metricValue(body, "trailwatch_rules_last_reload_success");
          const auto failed = metricValue(body, "trailwatch_rules_reload_failures_total");
          return when && *when != before && ok == (good ? 1.0 : 0.0) && failed == failures;
        },
        10s);
    ASSERT_TRUE(seen) << "reload " << i << " (" << (good ? "good" : "broken")
                      << ") not observed: " << daemon_.scrape();
    ASSERT_TRUE(daemon_.running()) << "the daemon died at reload " << i;
  }
  ASSERT_EQ(last_good, 'B') << "the test's own arithmetic: reload 99 is the 50th good one";

  stop_writer_ = true;
  writer_.join();
  // Matches after the storm: the first shows the pipeline has gone round
  // its loop since the last swap (it takes a new rule set between batches);
  // the second may then only be taken by the last good version, B.
  const int64_t probe1 = appendMatch();
  ASSERT_TRUE(waitFor([&] { return alertOf(probe1).has_value(); }, 15s));
  const int64_t probe2 = appendMatch();
  ASSERT_TRUE(waitFor([&] { return alertOf(probe2).has_value(); }, 15s));
  EXPECT_EQ(alertOf(probe2), std::optional<std::string>(kRuleB))
      << "the rules in force after the storm are not the last good version";

  std::string body;
  const bool caught_up = waitFor(
      [&] {
        body = daemon_.scrape();
        return metricValue(body, "trailwatch_events_total", {{"source", "ehr"}}) ==
               static_cast<double>(written_.load());
      },
      15s);
  ASSERT_TRUE(caught_up) << "records written " << written_.load() << ", read: " << body;
  EXPECT_EQ(metricValue(body, "trailwatch_decode_errors_total").value_or(0), 0.0);
  EXPECT_EQ(metricValue(body, "trailwatch_rules_reload_failures_total"), 50.0);
  EXPECT_EQ(metricValue(body, "trailwatch_rules_loaded"), 1.0);

  // Every break-the-glass record alerted exactly once, by A or B.
  const int64_t matches = written_.load() / 5;
  std::vector<Alert> alerts;
  ASSERT_TRUE(waitFor(
      [&] {
        alerts = daemon_.alerts();
        return static_cast<int64_t>(alerts.size()) >= matches;
      },
      15s))
      << alerts.size() << " alerts of " << matches;
  std::map<int64_t, std::string> by_sequence;
  std::map<std::string, int> per_rule;
  for (const Alert& a : alerts) {
    ASSERT_TRUE(a.valid) << a.error << ": " << a.line;
    const auto seq = a.sequence();
    ASSERT_TRUE(seq.has_value()) << a.line;
    EXPECT_EQ(*seq % 5, 0) << "an alert for a record that matches no rule: " << a.line;
    EXPECT_TRUE(by_sequence.emplace(*seq, a.rule_id).second) << "alerted twice: " << a.line;
    EXPECT_TRUE(a.rule_id == kRule0 || a.rule_id == kRuleA || a.rule_id == kRuleB) << a.line;
    ++per_rule[a.rule_id];
  }
  for (int64_t seq = 5; seq <= written_.load(); seq += 5) {
    EXPECT_TRUE(by_sequence.count(seq)) << "no alert for break-the-glass record " << seq;
  }
  EXPECT_EQ(static_cast<int64_t>(by_sequence.size()), matches);
  EXPECT_GT(per_rule[kRuleA], 0) << "version A never took a record: the storm did not interleave";
  EXPECT_GT(per_rule[kRuleB], 0);

  EXPECT_EQ(daemon_.stop(), 0) << "a clean stop after the storm";
}

}  // namespace
}  // namespace trailwatch::it
