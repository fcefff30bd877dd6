// `trailwatch run` with a journald source reading a folder of journal files
// written by systemd-journal-remote (what a central log host holds; and
// testable without a running journald): entries present at start, entries
// appended to a file being read, a new file in the folder, match filters,
// and a restart after kill -9 from the journal cursor. A second test uses
// the live system journal when there is one.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"
#include "tests/unit/source/journal_files.h"

namespace trailwatch::it {
namespace {

using source::testing::ExportEntry;
using source::testing::journalRemoteAvailable;
using source::testing::kJournalRemote;
using source::testing::writeJournal;

constexpr const char* kJournalRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000010";

std::string journalRule() {
  return std::string(
             "title: IT journal export\n"
             "id: ") +
         kJournalRuleId +
         "\n"
         "status: test\n"
         "level: medium\n"
         "tags: [soc2.cc7.2]\n"
         "logsource: {product: linux, service: journald}\n"
         "detection:\n"
         "  selection:\n"
         "    MESSAGE|contains: action=export\n"
         "  condition: selection\n"
         "fields: [SEQ, _SYSTEMD_UNIT, SYSLOG_IDENTIFIER]\n";
}

// Writes numbered journal entries that all say "action=export"; the source
// only lets through units app/billing logged as identifier "audit", so
// only those may alert. Units and identifiers rotate independently.
class JournalWriter {
 public:
  explicit JournalWriter(std::string dir) : dir_(std::move(dir)) {}

  void write(const std::string& file, int count) {
    static const char* kUnits[] = {"app.service", "billing.service", "other.service"};
    static const char* kIds[] = {"audit", "audit", "noise"};
    std::vector<ExportEntry> entries;
    for (int i = 0; i < count; ++i) {
      const int64_t seq = ++last_;
      const std::string unit = kUnits[seq % 3];
      const std::string id = kIds[(seq / 3) % 3];
      ExportEntry e;
      e.realtime_usec = 1'790'000'000'000'000 + static_cast<uint64_t>(seq) * 1000;
      e.fields = {{"MESSAGE", "user=u" + std::to_string(seq) + " action=export"},
                  {"_SYSTEMD_UNIT", unit},
                  {"SYSLOG_IDENTIFIER", id},
                  {"SEQ", std::to_string(seq)}};
      entries.push_back(std::move(e));
      if (unit != "other.service" && id == "audit")
        expected_.insert(seq);
      else
        filtered_.insert(seq);
    }
    writeJournal(dir_ + "/" + file, entries);
  }
  const std::set<int64_t>& expected() const { return expected_; }
  const std::set<int64_t>& filtered() const { return filtered_; }
  int64_t written() const { return last_; }

 private:
  std::string dir_;
  int64_t last_ = 0;
  std::set<int64_t> expected_, filtered_;
};

std::multiset<int64_t> seqsOf(const std::vector<Alert>& alerts) {
  std::multiset<int64_t> out;
  for (const auto& a : alerts) {
    if (a.rule_id != kJournalRuleId) continue;
    if (auto s = a.field("SEQ")) out.insert(std::stoll(*s));
  }
  return out;
}

std::string missing(const std::set<int64_t>& expected, const std::multiset<int64_t>& got) {
  std::string out;
  for (int64_t s : expected) {
    if (!got.count(s)) out += std::to_string(s) + " ";
  }
  return out.empty() ? "none" : out;
}

int64_t mtimeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

class JournaldTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }

  void waitForAlerts(const JournalWriter& w, const std::string& phase) {
    const bool ok = waitFor(
        [&] {
          const auto got = seqsOf(daemon_->alerts());
          for (int64_t s : w.expected()) {
            if (!got.count(s)) return false;
          }
          return true;
        },
        15s);
    EXPECT_TRUE(ok) << "after " << phase << ": missing alerts for "
                    << missing(w.expected(), seqsOf(daemon_->alerts()));
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(JournaldTest, FollowsJournalFilesFiltersAndResumesAfterKill9) {
  if (!journalRemoteAvailable()) {
    GTEST_SKIP() << kJournalRemote
                 << " not found: install systemd-journal-remote (deploy/install-deps.sh)";
  }
  daemon_ = std::make_unique<Daemon>(dir_);
  writeFile(daemon_->pack_dir + "/journal.yml", journalRule());
  const std::string journals = dir_ / "journal";
  std::filesystem::create_directories(journals);
  daemon_->extra_sources =
      "  - name: journal\n"
      "    type: journald\n"
      "    directory: ./journal\n"
      "    units: [app, billing.service]\n"
      "    identifiers: [audit]\n"
      "    start_at: beginning\n"
      "    logsource: {product: linux, service: journald}\n";
  JournalWriter w(journals);
  w.write("remote-a.journal", 30);

  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "the entries present at start");

  w.write("remote-a.journal", 12);  // appended to the file being read
  waitForAlerts(w, "entries appended to the open file");
  w.write("remote-b.journal", 12);  // a new file in the folder
  waitForAlerts(w, "a new file in the folder");

  const std::string ckpt = daemon_->state_dir + "/checkpoints/journal.ckpt";
  ASSERT_TRUE(waitFor([&] { return mtimeOf(ckpt) >= mtimeOf(daemon_->alerts_path); }, 15s))
      << "no journal checkpoint saved after the alerts";
  EXPECT_NE(readFile(ckpt).find("cursor s="), std::string::npos) << readFile(ckpt);
  const int64_t first_run = w.written();

  daemon_->process().kill9();
  const auto killed = daemon_->process().wait(10s);
  ASSERT_TRUE(killed);
  EXPECT_EQ(*killed, 128 + SIGKILL);

  w.write("remote-b.journal", 15);
  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "the restart after kill -9");

  const auto got = seqsOf(daemon_->alerts());
  for (int64_t s : w.expected()) {
    EXPECT_LE(got.count(s), 2u) << "entry " << s << " alerted " << got.count(s) << " times";
  }
  for (int64_t s : w.filtered()) {
    EXPECT_EQ(got.count(s), 0u) << "entry " << s << " should have been left out by the matches";
  }
  // The restart resumed at the cursor rather than reading the journal again.
  std::optional<double> events;
  waitFor(
      [&] {
        events = daemon_->metric("trailwatch_events_total", {{"source", "journal"}});
        return events.has_value();
      },
      10s);
  ASSERT_TRUE(events) << "no trailwatch_events_total{source=\"journal\"}";
  const double matching = static_cast<double>(w.expected().size());
  EXPECT_GE(*events, 1.0);
  EXPECT_LT(*events, matching) << "the restart read " << *events << " of " << matching
                               << " matching entries: it did not resume from the cursor ("
                               << first_run << " written before the kill)";
  EXPECT_EQ(daemon_->metric("trailwatch_source_gaps_total", {{"source", "journal"}}), 0.0);

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 10 s of SIGTERM";
  EXPECT_EQ(*code, 0);

  // Vacuumed while down: the checkpointed entry's file is gone. The restart
  // says so (a gap) and reads what the folder still holds after it.
  std::filesystem::remove(journals + "/remote-b.journal");
  w.write("remote-c.journal", 6);
  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "the restart after the cursor's file was removed");
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_source_gaps_total", {{"source", "journal"}}) == 1.0;
      },
      10s))
      << daemon_->scrape();
}

// The live system journal, when this machine runs systemd-journald: an
// entry logged with systemd-cat under a unique identifier raises an alert.
TEST_F(JournaldTest, ReadsTheLiveSystemJournal) {
  if (::access("/run/systemd/journal/socket", W_OK) != 0) {
    GTEST_SKIP() << "no running systemd-journald (/run/systemd/journal/socket): the live journal "
                    "is not testable here; the journal-file test covers the source";
  }
  if (::access("/usr/bin/systemd-cat", X_OK) != 0) GTEST_SKIP() << "systemd-cat not found";
  daemon_ = std::make_unique<Daemon>(dir_);
  writeFile(daemon_->pack_dir + "/journal.yml", journalRule());
  const std::string id = "trailwatch-it-" + std::to_string(::getpid());
  daemon_->extra_sources =
      "  - name: journal\n"
      "    type: journald\n"
      "    identifiers: [" +
      id +
      "]\n"
      "    start_at: end\n"
      "    logsource: {product: linux, service: journald}\n";
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  // The source may still be seeking to the end of the journal; log until
  // an alert shows it is reading (each entry is new, so none is missed
  // after that).
  int n = 0;
  const bool seen = waitFor(
      [&] {
        ++n;
        const std::string script = dir_ / "log.sh";
        writeFile(script, "echo 'user=it action=export n=" + std::to_string(n) + "' | " +
                              "/usr/bin/systemd-cat -t " + id + "\n");
        RunResult r = runToCompletion({"/bin/sh", script}, dir_.path());
        if (r.exit_code != 0) return false;
        for (const auto& a : daemon_->alerts()) {
          if (a.rule_id == kJournalRuleId && a.field("SYSLOG_IDENTIFIER") == id) return true;
        }
        return false;
      },
      15s);
  EXPECT_TRUE(seen) << "no alert for an entry logged with systemd-cat -t " << id
                    << " (is the daemon's user allowed to read the journal? group "
                       "systemd-journal or adm)";
}

}  // namespace
}  // namespace trailwatch::it
