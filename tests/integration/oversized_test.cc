// Records longer than a source's max_line_bytes are skipped and counted;
// the record after one is read normally.
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

class OversizedLine : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(OversizedLine, IsSkippedAndCountedAndTheNextLineAlerts) {
  daemon_ = std::make_unique<Daemon>(dir_, DaemonSettings{.max_line_bytes = 1024});
  const std::string log = daemon_->logs_dir + "/a.ndjson";
  // Matches all; 2 is over the limit; 4 is far over it (more than any
  // read buffer) and arrives in pieces.
  appendLine(log, ehrEvent(1, EventKind::kBtg));
  appendLine(log, ehrEvent(2, EventKind::kBtg, 2000));
  ASSERT_LT(ehrEvent(1, EventKind::kBtg).size() + 1, 1024u);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  appendLine(log, ehrEvent(3, EventKind::kBtg));
  const std::string huge = ehrEvent(4, EventKind::kBtg, 300000);
  appendRaw(log, huge.substr(0, 1000));
  appendRaw(log, huge.substr(1000, 150000));
  appendRaw(log, huge.substr(150000) + "\n");
  appendLine(log, ehrEvent(5, EventKind::kBtg));

  EXPECT_TRUE(waitFor([&] { return sequencesOf(daemon_->alerts(), kBtgRuleId).count(5) > 0; }, 20s))
      << "the record after an oversized one did not alert";
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_oversized_records_total", {{"source", "ehr"}}) == 2.0;
      },
      15s))
      << daemon_->scrape();
  EXPECT_EQ(sequencesOf(daemon_->alerts()), (std::multiset<int64_t>{1, 3, 5}));

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(OversizedLine, ScanSkipsAndCountsIt) {
  writeTestRules(dir_ / "rules/itpack");
  const std::string log = dir_ / "a.ndjson";
  appendLine(log, ehrEvent(1, EventKind::kBtg));
  appendLine(log, ehrEvent(2, EventKind::kBtg, 2000));
  appendLine(log, ehrEvent(3, EventKind::kBtg));
  const RunResult r = runToCompletion(
      {trailwatchBinary(), "scan", "--rules", dir_ / "rules", "--max-line-bytes", "1024", log},
      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sequencesOf(parseAlerts(r.out)), (std::multiset<int64_t>{1, 3})) << r.out;
  std::string last = r.err;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  const auto summary = parseJsonNumbers(last);
  ASSERT_TRUE(summary) << r.err;
  EXPECT_EQ(summary->count("oversized") ? summary->at("oversized") : -1, 1.0) << r.err;
  EXPECT_EQ(summary->at("events"), 2.0) << r.err;
}

}  // namespace
}  // namespace trailwatch::it
