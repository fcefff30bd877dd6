// /metrics of a running daemon: the counters' values after a known input,
// and the exposition passing `promtool check metrics`.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

std::string findPromtool() {
  const std::string configured = TRAILWATCH_PROMTOOL;
  if (!configured.empty() && configured.find("NOTFOUND") == std::string::npos &&
      ::access(configured.c_str(), X_OK) == 0) {
    return configured;
  }
  if (::access("/usr/bin/promtool", X_OK) == 0) return "/usr/bin/promtool";
  return {};
}

class MetricsScrape : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", daemon_.logs().c_str());
  }
  TempDir dir_;
  Daemon daemon_{dir_};
};

TEST_F(MetricsScrape, CountsWhatWasReadAndPassesPromtool) {
  const std::string log = daemon_.logs_dir + "/a.ndjson";
  int alerts_expected = 0;
  for (int seq = 1; seq <= 30; ++seq) {
    EventKind kind = EventKind::kBenign;
    if (seq % 6 == 3) kind = EventKind::kBtg;  // 3 9 15 21 27
    if (seq == 6 || seq == 12) kind = EventKind::kExport;
    if (seq == 18) kind = EventKind::kDenied;
    if (kind != EventKind::kBenign) ++alerts_expected;
    appendLine(log, ehrEvent(seq, kind));
    if (seq == 10) appendLine(log, "{\"@timestamp\": \"2026-11-20T00:00:10.500Z\", \"event\": ");
  }
  ASSERT_EQ(alerts_expected, 8);
  const double lines = 31;

  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  ASSERT_TRUE(waitFor([&] { return daemon_.alerts().size() >= 8; }, 20s))
      << daemon_.alerts().size() << " alerts";
  // Counters are published after each batch; wait until the source is caught up.
  std::string body;
  const bool settled = waitFor(
      [&] {
        body = daemon_.scrape();
        return metricValue(body, "trailwatch_events_total", {{"source", "ehr"}}) == lines &&
               metricValue(body, "trailwatch_source_lag_bytes", {{"source", "ehr"}}) == 0.0;
      },
      15s);
  EXPECT_TRUE(settled) << body;
  ASSERT_FALSE(body.empty()) << "no /metrics answer on port " << daemon_.port;

  // Records read, the malformed one included (README: "records read").
  EXPECT_EQ(metricValue(body, "trailwatch_events_total", {{"source", "ehr"}}), lines) << body;
  EXPECT_EQ(metricValue(body, "trailwatch_read_bytes_total", {{"source", "ehr"}}),
            static_cast<double>(fileSize(log)))
      << body;
  const auto errors = metricSamples(body, "trailwatch_decode_errors_total");
  double decode_errors = 0;
  for (const auto& s : errors) {
    if (s.labels.count("source") && s.labels.at("source") == "ehr") {
      decode_errors += s.value;
      EXPECT_TRUE(s.labels.count("reason") && !s.labels.at("reason").empty())
          << "decode error without a reason label";
    }
  }
  EXPECT_EQ(decode_errors, 1) << body;

  EXPECT_EQ(metricValue(body, "trailwatch_alerts_total",
                        {{"rule_id", kBtgRuleId}, {"rule", kBtgTitle}, {"level", "high"}}),
            5.0)
      << body;
  EXPECT_EQ(metricValue(body, "trailwatch_alerts_total",
                        {{"rule_id", kExportRuleId}, {"level", "medium"}}),
            2.0)
      << body;
  EXPECT_EQ(
      metricValue(body, "trailwatch_alerts_total", {{"rule_id", kDeniedRuleId}, {"level", "low"}}),
      1.0)
      << body;
  EXPECT_EQ(metricValue(body, "trailwatch_control_alerts_total", {{"control", "hipaa.164.312.b"}}),
            6.0)
      << body;
  EXPECT_EQ(metricValue(body, "trailwatch_control_alerts_total", {{"control", "soc2.cc7.2"}}), 7.0)
      << body;
  // Every alert (all come from detection rules here) is one latency sample.
  EXPECT_EQ(metricValue(body, "trailwatch_alert_latency_seconds_count", {{"source", "ehr"}}), 8.0)
      << body;
  EXPECT_EQ(metricValue(body, "trailwatch_alert_latency_seconds_bucket",
                        {{"source", "ehr"}, {"le", "+Inf"}}),
            8.0)
      << body;
  EXPECT_GT(
      metricValue(body, "trailwatch_alert_latency_seconds_sum", {{"source", "ehr"}}).value_or(0),
      0.0)
      << body;
  EXPECT_EQ(metricValue(body, "trailwatch_alert_latency_seconds_bucket",
                        {{"source", "ehr"}, {"le", "0.0005"}})
                .has_value(),
            true)
      << "buckets from 0.5 ms: " << body;
  EXPECT_EQ(metricValue(body, "trailwatch_rules_loaded"), 3.0) << body;
  EXPECT_EQ(metricValue(body, "trailwatch_rules_last_reload_success"), 1.0) << body;
  const auto build = metricSamples(body, "trailwatch_build_info");
  ASSERT_EQ(build.size(), 1u) << body;
  EXPECT_EQ(build[0].value, 1.0);
  EXPECT_TRUE(build[0].labels.count("version")) << body;
  EXPECT_TRUE(metricValue(body, "trailwatch_source_lag_bytes", {{"source", "ehr"}})) << body;

  const std::string promtool = findPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not found (Debian package `prometheus`): the exposition "
                    "format check is skipped; every counter above was checked";
  }
  const std::string scraped = dir_ / "metrics.txt";
  writeFile(scraped, body);
  const RunResult r = runToCompletion({promtool, "check", "metrics"}, dir_.path(), scraped);
  EXPECT_EQ(r.exit_code, 0) << "promtool check metrics:\n" << r.out << r.err;
}

}  // namespace
}  // namespace trailwatch::it
