// SIGHUP: a broken rule file keeps the old rules running and reports the
// failure in trailwatch_rules_last_reload_success; a fixed one is taken.
#include <signal.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

class ReloadTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", daemon_.logs().c_str());
  }

  int64_t append(EventKind kind) {
    appendLine(log_, ehrEvent(++seq_, kind));
    return seq_;
  }
  bool hasAlert(const std::string& rule_id, int64_t seq) {
    return sequencesOf(daemon_.alerts(), rule_id).count(seq) > 0;
  }
  bool waitForAlert(const std::string& rule_id, int64_t seq) {
    return waitFor([&] { return hasAlert(rule_id, seq); }, 20s);
  }

  TempDir dir_;
  Daemon daemon_{dir_};
  std::string log_ = daemon_.logs_dir + "/a.ndjson";
  int64_t seq_ = 0;
};

TEST_F(ReloadTest, ReloadKeepsOldRulesOnError) {
  append(EventKind::kBenign);
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  const int64_t btg1 = append(EventKind::kBtg);
  const int64_t export1 = append(EventKind::kExport);
  ASSERT_TRUE(waitForAlert(kBtgRuleId, btg1));
  ASSERT_TRUE(waitForAlert(kExportRuleId, export1));

  // Break export.yml and reload: rejected, the old three rules stay.
  const std::string export_rule = daemon_.pack_dir + "/export.yml";
  std::string broken = exportRule();
  broken.replace(broken.find("event.action: export"), 20, "event.action|contians: export");
  writeFileAtomic(export_rule, broken);
  daemon_.process().signal(SIGHUP);
  EXPECT_TRUE(
      waitFor([&] { return daemon_.metric("trailwatch_rules_last_reload_success") == 0.0; }, 15s))
      << daemon_.scrape();
  EXPECT_EQ(daemon_.metric("trailwatch_rules_reload_failures_total"), 1.0);
  EXPECT_EQ(daemon_.metric("trailwatch_rules_loaded"), 3.0);
  ASSERT_TRUE(daemon_.running()) << "a broken rule file on reload stopped the daemon";

  const int64_t btg2 = append(EventKind::kBtg);
  const int64_t export2 = append(EventKind::kExport);
  EXPECT_TRUE(waitForAlert(kBtgRuleId, btg2)) << "alerts stopped after a rejected reload";
  EXPECT_TRUE(waitForAlert(kExportRuleId, export2))
      << "the rule of the broken file should stay active until a good reload";

  // Fix it (a different rule now: exports are no longer flagged, prints
  // are) and reload.
  writeFileAtomic(export_rule, printRule());
  daemon_.process().signal(SIGHUP);
  EXPECT_TRUE(
      waitFor([&] { return daemon_.metric("trailwatch_rules_last_reload_success") == 1.0; }, 15s))
      << daemon_.scrape();
  EXPECT_EQ(daemon_.metric("trailwatch_rules_loaded"), 3.0);

  // A pipeline picks the new rule set up between batches, so a record may
  // still meet the old set just after the swap: probe until the new rule
  // fires (each probe is a new record).
  auto last_probe = std::chrono::steady_clock::time_point{};
  const bool fired = waitFor(
      [&] {
        if (!sequencesOf(daemon_.alerts(), kPrintRuleId).empty()) return true;
        if (std::chrono::steady_clock::now() - last_probe >= 300ms) {
          append(EventKind::kPrint);
          last_probe = std::chrono::steady_clock::now();
        }
        return false;
      },
      20s);
  ASSERT_TRUE(fired) << "the rule loaded by the good reload never fired";

  // From now on the new set is in force: an export after it raises nothing.
  const int64_t export3 = append(EventKind::kExport);
  const int64_t print2 = append(EventKind::kPrint);
  ASSERT_TRUE(waitForAlert(kPrintRuleId, print2));
  EXPECT_FALSE(hasAlert(kExportRuleId, export3)) << "the replaced rule still fires";
  EXPECT_TRUE(hasAlert(kBtgRuleId, btg2));

  const auto code = daemon_.stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

// unusable_rules: skip: a rule the engine cannot use is left out, logged
// and counted, and the rest run; a reload recounts.
TEST_F(ReloadTest, UnusableRulesAreSkippedAndCountedWhenAskedTo) {
  daemon_.extra_config = "unusable_rules: skip\n";
  std::string windows = exportRule();
  windows.replace(windows.find("event.action: export"), 20,
                  "event.action|windash|contains: export");
  writeFile(daemon_.pack_dir + "/windows.yml", windows);
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  EXPECT_TRUE(waitFor([&] { return daemon_.metric("trailwatch_rules_skipped") == 1.0; }, 15s))
      << daemon_.scrape();
  EXPECT_EQ(daemon_.metric("trailwatch_rules_loaded"), 3.0);
  EXPECT_NE(daemon_.logs().find("modifier 'windash'"), std::string::npos) << daemon_.logs();
  const int64_t btg = append(EventKind::kBtg);
  EXPECT_TRUE(waitForAlert(kBtgRuleId, btg));

  std::filesystem::remove(daemon_.pack_dir + "/windows.yml");
  daemon_.process().signal(SIGHUP);
  EXPECT_TRUE(waitFor([&] { return daemon_.metric("trailwatch_rules_skipped") == 0.0; }, 15s))
      << daemon_.scrape();
}

}  // namespace
}  // namespace trailwatch::it
