// Lookup tables and `|expand` placeholders: `scan -c` and `run` enrich
// events from a CSV and expand placeholder lists; `run` re-reads both when
// they change and keeps the old table when the new file is broken; `check`
// and `run` refuse a broken file at start with its `path:line`.
//
// ehrEvent(seq) is by user "u" + (1000 + seq % 50): seq 7 and 57 are u1007.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kTerminatedRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000101";
constexpr const char* kExpandRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000102";

std::string terminatedRule() {
  return std::string("title: IT terminated user activity\nid: ") + kTerminatedRuleId +
         "\nlevel: high\nlogsource: {product: ehr, service: audit}\n"
         "detection:\n  selection:\n    user.status: terminated\n  condition: selection\n"
         "fields: [user.id, user.department, event.sequence]\n";
}

std::string expandRule() {
  return std::string("title: IT listed user activity\nid: ") + kExpandRuleId +
         "\nlevel: high\nlogsource: {product: ehr, service: audit}\n"
         "detection:\n  selection:\n    user.id|expand: '%terminated_users%'\n"
         "  condition: selection\nfields: [user.id, event.sequence]\n";
}

// Every user active except `terminated`; a quoted department with a comma.
std::string staffCsv(const std::vector<int>& terminated) {
  std::string csv = "user_id,status,department\r\n";
  for (int u = 1000; u < 1050; ++u) {
    const bool t = std::find(terminated.begin(), terminated.end(), u) != terminated.end();
    csv += "u" + std::to_string(u) + "," + (t ? "terminated" : "active") + ",\"Cardiology, ward " +
           std::to_string(u % 3) + "\"\r\n";
  }
  return csv;
}

constexpr const char* kLookupConfig =
    "lookups:\n"
    "  - name: staff\n"
    "    path: lookups/staff.csv\n"
    "    key: user_id\n"
    "    match: user.id\n"
    "placeholders:\n"
    "  terminated_users: lookups/terminated_users.txt\n";

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "lookups");
    std::filesystem::create_directories(dir_ / "rules/lookups");
  }

  TempDir dir_;
};

TEST_F(LookupTest, ScanEnrichesFromTheCsvAndExpandsPlaceholders) {
  writeFile(dir_ / "rules/lookups/terminated.yml", terminatedRule());
  writeFile(dir_ / "rules/lookups/expand.yml", expandRule());
  writeFile(dir_ / "lookups/staff.csv", staffCsv({1007}));
  writeFile(dir_ / "lookups/terminated_users.txt", "# offboarded\nu1003\n\nu1011\n");
  writeFile(dir_ / "trailwatch.yaml", std::string("rules: [./rules]\n"
                                                  "sources:\n"
                                                  "  - name: ehr\n"
                                                  "    paths: [./logs/*.ndjson]\n") +
                                          kLookupConfig);
  std::string log;
  for (int seq = 1; seq <= 60; ++seq) log += ehrEvent(seq, EventKind::kBenign) + "\n";
  writeFile(dir_ / "events.ndjson", log);

  const RunResult r = runToCompletion(
      {trailwatchBinary(), "scan", "-c", dir_ / "trailwatch.yaml", dir_ / "events.ndjson"},
      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = parseAlerts(r.out);
  EXPECT_EQ(sequencesOf(alerts, kTerminatedRuleId), (std::multiset<int64_t>{7, 57})) << r.out;
  EXPECT_EQ(sequencesOf(alerts, kExpandRuleId), (std::multiset<int64_t>{3, 11, 53})) << r.out;
  for (const auto& a : alerts) {
    if (a.rule_id != kTerminatedRuleId) continue;
    EXPECT_EQ(a.field("user.department"), "Cardiology, ward 2") << a.line;
  }
}

class LookupDaemonTest : public LookupTest {
 protected:
  void SetUp() override {
    LookupTest::SetUp();
    daemon_.extra_config = kLookupConfig;
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", daemon_.logs().c_str());
  }

  int64_t append(int64_t seq) {
    appendLine(log_, ehrEvent(seq, EventKind::kBenign));
    return seq;
  }
  int64_t append(int64_t base, int user) { return append(base + user); }
  bool hasAlert(const std::string& rule_id, int64_t seq) {
    return sequencesOf(daemon_.alerts(), rule_id).count(seq) > 0;
  }
  // Appends a new event of user u(1000 + user) every 300 ms until one of
  // them raises `rule_id`: a pipeline takes a swapped table between
  // batches, so the first records after a reload may still meet the old.
  bool probeUntilAlert(const std::string& rule_id, int user) {
    auto last_probe = std::chrono::steady_clock::time_point{};
    return waitFor(
        [&] {
          for (const auto& a : daemon_.alerts()) {
            if (a.rule_id == rule_id && a.sequence() && *a.sequence() % 50 == user &&
                *a.sequence() > probe_base_) {
              return true;
            }
          }
          if (std::chrono::steady_clock::now() - last_probe >= 300ms) {
            next_ += 50;
            append(next_ + user);
            last_probe = std::chrono::steady_clock::now();
          }
          return false;
        },
        20s);
  }

  Daemon daemon_{dir_};
  std::string log_ = daemon_.logs_dir + "/a.ndjson";
  int64_t next_ = 1000;  // probes use sequences above this, in steps of 50
  int64_t probe_base_ = 0;
};

TEST_F(LookupDaemonTest, RunReloadsChangedFilesAndKeepsTheOldTableOnError) {
  writeFile(daemon_.pack_dir + "/terminated.yml", terminatedRule());
  writeFile(daemon_.pack_dir + "/expand.yml", expandRule());
  writeFile(dir_ / "lookups/staff.csv", staffCsv({1007}));
  writeFile(dir_ / "lookups/terminated_users.txt", "u1003\n");
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;

  append(7);
  append(8);
  append(3);
  append(9);
  ASSERT_TRUE(waitFor([&] { return hasAlert(kTerminatedRuleId, 7); }, 20s));
  ASSERT_TRUE(waitFor([&] { return hasAlert(kExpandRuleId, 3); }, 20s));
  EXPECT_FALSE(hasAlert(kTerminatedRuleId, 8));
  EXPECT_FALSE(hasAlert(kExpandRuleId, 9));
  EXPECT_EQ(daemon_.metric("trailwatch_lookup_rows", {{"lookup", "staff"}}), 50.0);
  EXPECT_EQ(daemon_.metric("trailwatch_lookup_last_reload_success", {{"lookup", "staff"}}), 1.0);
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_.metric("trailwatch_lookup_hits_total", {{"lookup", "staff"}}) >= 4.0;
      },
      10s))
      << daemon_.scrape();

  // Terminate u1008 too: its later events alert, without a restart.
  writeFileAtomic(dir_ / "lookups/staff.csv", staffCsv({1007, 1008}));
  probe_base_ = next_;
  ASSERT_TRUE(probeUntilAlert(kTerminatedRuleId, 8)) << "the rewritten table was never used";

  // Add u1009 to the placeholder list: the rules are recompiled with it.
  writeFileAtomic(dir_ / "lookups/terminated_users.txt", "u1003\nu1009\n");
  probe_base_ = next_;
  ASSERT_TRUE(probeUntilAlert(kExpandRuleId, 9)) << "the rewritten placeholder list was never used";

  // A broken table is rejected; the previous one stays in use.
  writeFileAtomic(dir_ / "lookups/staff.csv", "user_id,status,department\nu1007,terminated\n");
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_.metric("trailwatch_lookup_last_reload_success", {{"lookup", "staff"}}) ==
               0.0;
      },
      15s))
      << daemon_.scrape();
  ASSERT_TRUE(daemon_.running()) << "a broken lookup file on reload stopped the daemon";
  EXPECT_EQ(daemon_.metric("trailwatch_lookup_rows", {{"lookup", "staff"}}), 50.0);
  const int64_t s7 = append(next_ += 50, 7);
  const int64_t s8 = append(next_ += 50, 8);
  EXPECT_TRUE(waitFor([&] { return hasAlert(kTerminatedRuleId, s7); }, 20s))
      << "alerts stopped after a rejected lookup reload";
  EXPECT_TRUE(waitFor([&] { return hasAlert(kTerminatedRuleId, s8); }, 20s))
      << "the previous table (with u1008 terminated) should stay in use";
  EXPECT_NE(daemon_.logs().find("staff.csv:2: 2 field(s), expected 3 as in the header"),
            std::string::npos);

  const auto code = daemon_.stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(LookupDaemonTest, RunRefusesABrokenTableAtStart) {
  writeFile(dir_ / "lookups/staff.csv", "user_id,status\nu1007,terminated\nu1008\n");
  writeFile(dir_ / "lookups/terminated_users.txt", "u1003\n");
  std::string why;
  EXPECT_FALSE(daemon_.start(why));
  EXPECT_EQ(daemon_.process().wait(10s), 2);
  EXPECT_NE(why.find("staff.csv:3: 1 field(s), expected 2 as in the header"), std::string::npos)
      << why;
}

TEST_F(LookupTest, CheckReportsABrokenTableWithItsLine) {
  writeFile(dir_ / "rules/lookups/terminated.yml", terminatedRule());
  writeFile(dir_ / "lookups/staff.csv", "user_id,status\nu1007,terminated\n\"u1008,active\n");
  writeFile(dir_ / "lookups/terminated_users.txt", "u1003\n");
  writeFile(dir_ / "trailwatch.yaml", std::string("rules: [./rules]\n"
                                                  "sources:\n"
                                                  "  - name: ehr\n"
                                                  "    paths: [./logs/*.ndjson]\n") +
                                          kLookupConfig);
  RunResult r =
      runToCompletion({trailwatchBinary(), "check", "-c", dir_ / "trailwatch.yaml"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("lookups/staff.csv:3: unterminated quoted field"), std::string::npos)
      << r.err;

  writeFile(dir_ / "lookups/staff.csv", staffCsv({1007}));
  r = runToCompletion({trailwatchBinary(), "check", "-c", dir_ / "trailwatch.yaml"}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("50 row(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("adds user.status, user.department"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace trailwatch::it
