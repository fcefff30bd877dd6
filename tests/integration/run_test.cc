// `trailwatch run` following files: appends, both kinds of rotation, new
// files, SIGTERM, and a restart after kill -9 from the checkpoint.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

// Writes numbered events; every 7th is a break-the-glass access and every
// 11th (that is not a 7th) an export, so the expected alerts are known by
// sequence number.
class EventWriter {
 public:
  void write(const std::string& path, int count) {
    for (int i = 0; i < count; ++i) {
      const int64_t seq = ++last_;
      EventKind kind = EventKind::kBenign;
      if (seq % 7 == 0) {
        kind = EventKind::kBtg;
      } else if (seq % 11 == 0) {
        kind = EventKind::kExport;
      }
      if (kind != EventKind::kBenign) expected_.insert(seq);
      appendLine(path, ehrEvent(seq, kind));
    }
  }
  // Writes until the last event written is a match (so that once its alert
  // is seen, every record before it in that file was read).
  void writeUntilMatch(const std::string& path) {
    do {
      write(path, 1);
    } while (!expected_.count(last_));
  }
  const std::set<int64_t>& expected() const { return expected_; }
  int64_t written() const { return last_; }

 private:
  int64_t last_ = 0;
  std::set<int64_t> expected_;
};

std::string describeMissing(const std::set<int64_t>& expected, const std::multiset<int64_t>& got) {
  std::ostringstream s;
  int n = 0;
  for (int64_t seq : expected) {
    if (!got.count(seq)) {
      if (n++ < 40) s << seq << ' ';
    }
  }
  return n == 0 ? "none" : std::to_string(n) + " missing: " + s.str();
}

bool allSeen(const std::set<int64_t>& expected, const std::multiset<int64_t>& got) {
  for (int64_t seq : expected) {
    if (!got.count(seq)) return false;
  }
  return true;
}

// Latest modification time (ns) of a saved checkpoint under `dir`; 0 if
// none. Temporary files (a save in progress: write, fsync, rename) do not
// count: a kill before the rename leaves the previous checkpoint in force.
int64_t newestMtime(const std::string& dir) {
  int64_t newest = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (it->path().filename().string().find(".tmp") != std::string::npos) continue;
    if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      newest = std::max<int64_t>(newest, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
    }
  }
  return newest;
}

// Every regular file under `dir` with its content, for failure messages.
std::string dumpFiles(const std::string& dir) {
  std::string out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out += it->path().string() + ":\n" + readFile(it->path()) + "\n";
  }
  return out;
}

int64_t mtimeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

class RunTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }

  // Waits until every expected sequence has an alert; reports the missing
  // ones (with `phase` to say which part of the scenario lost them).
  void waitForAlerts(const EventWriter& w, const std::string& phase,
                     std::chrono::milliseconds timeout = 15s) {
    const bool ok =
        waitFor([&] { return allSeen(w.expected(), sequencesOf(daemon_->alerts())); }, timeout);
    EXPECT_TRUE(ok) << "after " << phase << ": "
                    << describeMissing(w.expected(), sequencesOf(daemon_->alerts()));
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(RunTest, RunTailsAndRotates) {
  daemon_ = std::make_unique<Daemon>(dir_);
  const std::string a = daemon_->logs_dir + "/a.ndjson";  // rotated by rename-and-create
  const std::string c = daemon_->logs_dir + "/c.ndjson";  // rotated by copytruncate
  const std::string b = daemon_->logs_dir + "/b.ndjson";  // appears later
  EventWriter w;
  w.write(a, 20);
  w.write(c, 20);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "start (files present before start, start_at: beginning)");

  w.write(a, 30);
  w.write(c, 30);
  w.writeUntilMatch(a);
  waitForAlerts(w, "plain appends");

  // Rename-and-create, without waiting for the daemon to catch up first:
  // what is left in the renamed file must still be read.
  w.write(a, 40);
  ASSERT_EQ(::rename(a.c_str(), (a + ".1").c_str()), 0);
  w.write(a, 40);
  w.writeUntilMatch(a);
  waitForAlerts(w, "rename-and-create rotation of a.ndjson");

  // copytruncate: copy, truncate in place, keep appending (fewer bytes than
  // before, as after a real rotation). Records the daemon had not read
  // before the truncation are only in the copy.
  w.write(c, 40);
  std::filesystem::copy_file(c, c + ".1");
  ASSERT_EQ(::truncate(c.c_str(), 0), 0);
  w.write(c, 10);
  w.writeUntilMatch(c);
  waitForAlerts(w, "copytruncate rotation of c.ndjson");

  // A new file matching the glob.
  const int64_t b_first = w.written() + 1;
  w.write(b, 25);
  w.writeUntilMatch(b);
  const int64_t b_last = w.written();
  w.write(a, 5);
  w.writeUntilMatch(a);
  waitForAlerts(w, "a new file b.ndjson");

  const auto alerts = daemon_->alerts();
  for (const auto& al : alerts) EXPECT_TRUE(al.valid) << al.error << ": " << al.line;
  const auto got = sequencesOf(alerts);
  for (int64_t seq : w.expected()) {
    EXPECT_EQ(got.count(seq), 1u) << "sequence " << seq << " alerted " << got.count(seq)
                                  << " times";
  }
  for (int64_t seq : got) {
    EXPECT_TRUE(w.expected().count(seq)) << "alert for non-matching sequence " << seq;
  }
  for (const auto& al : alerts) {
    EXPECT_EQ(al.source_name, "ehr");
    const auto seq = al.sequence();
    if (seq && *seq >= b_first && *seq <= b_last) {
      EXPECT_EQ(al.source_file, b) << al.line;
    }
  }

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 10 s of SIGTERM";
  EXPECT_EQ(*code, 0);
}

TEST_F(RunTest, KillNineResumes) {
  daemon_ = std::make_unique<Daemon>(dir_);
  const std::string a = daemon_->logs_dir + "/a.ndjson";
  EventWriter w;
  w.write(a, 60);
  w.writeUntilMatch(a);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "the first run");
  // A checkpoint saved after the last alert was written: the restart must
  // not go back to the beginning.
  ASSERT_TRUE(waitFor(
      [&] {
        // The source's checkpoint itself: correlation.state, saved first at
        // each checkpoint, does not say where reading resumes.
        const int64_t ckpt = newestMtime(daemon_->state_dir + "/checkpoints");
        return ckpt > 0 && ckpt >= mtimeOf(daemon_->alerts_path);
      },
      15s))
      << "no checkpoint under " << daemon_->state_dir << " after the alerts were written";
  const int64_t first_run = w.written();
  const std::string state_at_kill = dumpFiles(daemon_->state_dir);
  const uint64_t size_at_kill = fileSize(a);

  daemon_->process().kill9();
  const auto killed = daemon_->process().wait(10s);
  ASSERT_TRUE(killed);
  EXPECT_EQ(*killed, 128 + SIGKILL);

  w.write(a, 40);
  w.writeUntilMatch(a);
  const int64_t while_down = w.written() - first_run;

  ASSERT_TRUE(daemon_->start(why)) << why;
  waitForAlerts(w, "the restart after kill -9", 20s);

  const auto alerts = daemon_->alerts();
  const auto got = sequencesOf(alerts);
  for (int64_t seq : w.expected()) {
    EXPECT_GE(got.count(seq), 1u) << "sequence " << seq << " lost";
    EXPECT_LE(got.count(seq), 2u) << "sequence " << seq << " alerted " << got.count(seq)
                                  << " times";
  }

  // The second run read everything written while it was down, and did not
  // start over from the beginning of the file.
  std::optional<double> events;
  waitFor(
      [&] {
        events = daemon_->metric("trailwatch_events_total", {{"source", "ehr"}});
        return events && *events >= static_cast<double>(while_down);
      },
      15s);
  ASSERT_TRUE(events) << "no trailwatch_events_total{source=\"ehr\"}";
  EXPECT_GE(*events, static_cast<double>(while_down));
  EXPECT_LT(*events, static_cast<double>(w.written()))
      << "the restart re-read the whole file instead of resuming from the checkpoint; " << first_run
      << " records (" << size_at_kill << " bytes) were written before the "
      << "kill; state when killed:\n"
      << state_at_kill;

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 10 s of SIGTERM";
  EXPECT_EQ(*code, 0);

  // The alert log's hash chain went on across the kill -9 and restart ...
  const std::string log = daemon_->alerts_path;
  RunResult v = runToCompletion({trailwatchBinary(), "verify", log}, dir_.path());
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(
      v.out.find(": OK: " + std::to_string(daemon_->alerts().size()) + " record(s), seq 1 to "),
      std::string::npos)
      << v.out;
  // ... and shows a record deleted from it.
  std::string text = readFile(log);
  const size_t second = text.find('\n') + 1;
  text.erase(second, text.find('\n', second) + 1 - second);
  writeFile(log, text);
  v = runToCompletion({trailwatchBinary(), "verify", log}, dir_.path());
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_NE(v.out.find(log + ": BROKEN: line 2: seq jumps from 1 to 3"), std::string::npos)
      << v.out;
}

// SIGTERM and SIGHUP are taken by the main thread with sigtimedwait; any
// thread that left them unblocked (the metrics exposer's, say) could
// receive a SIGTERM and let its default action kill the daemon without
// draining. Every thread must block all three.
TEST_F(RunTest, EveryThreadBlocksTheSignalsTheMainThreadWaitsFor) {
  daemon_ = std::make_unique<Daemon>(dir_);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  const std::string tasks = "/proc/" + std::to_string(daemon_->process().pid()) + "/task";
  constexpr uint64_t kWanted =
      (1ULL << (SIGHUP - 1)) | (1ULL << (SIGINT - 1)) | (1ULL << (SIGTERM - 1));
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    // The main thread shows them unblocked while it waits in sigtimedwait,
    // which unblocks the waited set for the wait's duration.
    if (task.path().filename() == std::to_string(daemon_->process().pid())) continue;
    std::istringstream status(readFile(task.path().string() + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      const uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      EXPECT_EQ(blocked & kWanted, kWanted) << task.path() << " " << line;
      ++threads;
    }
  }
  EXPECT_GT(threads, 1) << "expected pipeline and exposer threads besides the main one";
  const auto code = daemon_->stop();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace trailwatch::it
