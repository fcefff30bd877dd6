// Proof that nothing is lost: `trailwatch run` on a file source under a
// steady high write rate, (1) killed with kill -9 at three random points and
// restarted, (2) while the file is rotated every second, alternating
// rename-and-create and copytruncate. Every event carries a unique sequence
// number; a known subset matches a rule, so the alert log says exactly which
// events were processed, and the daemon's own counters
// (trailwatch_events_total, trailwatch_read_bytes_total) say how many
// records it read.
//
// These tests are long (20-30 s of writing each) and carry the ctest label
// `durability`: `ctest --test-dir build -L durability`. The crash test's
// kill points come from a seeded PRNG; the seed is printed and
// TRAILWATCH_IT_SEED=<n> replays it.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProbeRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d000000d1";

// Matches only the injected events (event.action: durability-probe).
std::string probeRule() {
  return std::string(
             "title: IT durability probe\n"
             "id: ") +
         kProbeRuleId +
         "\n"
         "status: test\n"
         "level: low\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    event.action: durability-probe\n"
         "  condition: selection\n"
         "fields: [event.sequence]\n";
}

// A small record (about 60 bytes) so that a million of them stay cheap to
// write and read on a loaded CI machine.
std::string probeEvent(int64_t seq, bool injected) {
  return "{\"event\":{\"sequence\":" + std::to_string(seq) + ",\"action\":\"" +
         (injected ? "durability-probe" : "read") + "\"},\"user\":{\"id\":\"u" +
         std::to_string(seq % 97) + "\"}}\n";
}

uint64_t seedFromEnvironment() {
  if (const char* s = std::getenv("TRAILWATCH_IT_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}() * 0x100000000ULL + std::random_device{}();
}

// The saved read offset of the file (dev, ino) in a checkpoint file written
// by CheckpointStore ("dev ino fplen fingerprint offset path" per line);
// 0 when the file or the entry does not exist (a restart then starts at 0).
uint64_t checkpointOffset(const std::string& ckpt_path, const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  std::istringstream in(readFile(ckpt_path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    uint64_t dev = 0, ino = 0, fplen = 0, offset = 0;
    std::string fp;
    if (!(f >> dev >> ino >> fplen >> fp >> offset)) continue;
    if (dev == static_cast<uint64_t>(st.st_dev) && ino == static_cast<uint64_t>(st.st_ino)) {
      return offset;
    }
  }
  return 0;
}

std::string describe(const std::vector<int64_t>& seqs) {
  std::ostringstream s;
  s << seqs.size() << ":";
  for (size_t i = 0; i < seqs.size() && i < 40; ++i) s << ' ' << seqs[i];
  return s.str();
}

// The events of a test, made up front: text, where each one starts in the
// file (the file is written by this test alone, from empty, in order), and
// which ones are injected matches.
struct EventLog {
  std::string text;
  std::vector<uint64_t> start;  // start[i]: offset of event i + 1; start[n] = text.size()
  std::vector<bool> injected;   // injected[i]: event i + 1 matches the probe rule

  EventLog(int64_t count, const std::function<bool(int64_t)>& inject) {
    start.reserve(static_cast<size_t>(count) + 1);
    injected.reserve(static_cast<size_t>(count));
    for (int64_t seq = 1; seq <= count; ++seq) {
      start.push_back(text.size());
      injected.push_back(inject(seq));
      text += probeEvent(seq, injected.back());
    }
    start.push_back(text.size());
  }
  int64_t count() const { return static_cast<int64_t>(injected.size()); }
  // How many whole events lie before byte `offset`; -1 when `offset` is not
  // the start of an event (nor the end of the log).
  int64_t eventsBefore(uint64_t offset) const {
    auto it = std::lower_bound(start.begin(), start.end(), offset);
    if (it == start.end() || *it != offset) return -1;
    return it - start.begin();
  }
  // The sequence number of the event that holds byte `offset` (count() + 1 past the end).
  int64_t eventAt(uint64_t offset) const {
    return std::upper_bound(start.begin(), start.end(), offset) - start.begin();
  }
};

class DurabilityTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }

  void startDaemon() {
    std::string why;
    ASSERT_TRUE(daemon_->start(why)) << why;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

// ---------------------------------------------------------------- crash

// One kill -9: the checkpoint in force when the daemon died (where the next
// run resumes) and the file's size right after the daemon was reaped (the
// daemon cannot have read past it).
struct Kill {
  int64_t at_written = 0;      // events written when the kill was decided
  uint64_t checkpoint = 0;     // saved offset of a.ndjson at the kill
  uint64_t size_after = 0;     // a.ndjson's size once the daemon was reaped
  double events_scraped = -1;  // the run's trailwatch_events_total shortly before
};

TEST_F(DurabilityTest, KillNineThreeTimesWhileWritingLosesNothing) {
  constexpr int64_t kEvents = 1'000'000;
  constexpr int64_t kBlock = 1'000;   // events per write(2)
  constexpr auto kBlockEvery = 20ms;  // 50,000 events/s
  constexpr int kKills = 3;

  const uint64_t seed = seedFromEnvironment();
  std::printf("durability crash test: seed %" PRIu64 " (replay: TRAILWATCH_IT_SEED=%" PRIu64 ")\n",
              seed, seed);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  // About 1 in 1,000 events is an injected match.
  std::uniform_int_distribution<int> one_in_thousand(0, 999);
  const EventLog log(kEvents, [&](int64_t) { return one_in_thousand(rng) == 0; });
  // Three kill points, at least 100,000 events apart, in the middle 80 %.
  std::vector<int64_t> kill_points;
  {
    std::uniform_int_distribution<int64_t> point(100'000, 900'000);
    do {
      kill_points.clear();
      for (int i = 0; i < kKills; ++i) kill_points.push_back(point(rng));
      std::sort(kill_points.begin(), kill_points.end());
    } while (kill_points[1] - kill_points[0] < 100'000 ||
             kill_points[2] - kill_points[1] < 100'000);
  }
  std::printf("kill -9 after %" PRId64 ", %" PRId64 " and %" PRId64 " events written\n",
              kill_points[0], kill_points[1], kill_points[2]);

  DaemonSettings settings;
  settings.checkpoint_interval = "200ms";
  daemon_ = std::make_unique<Daemon>(dir_, settings);
  writeFile(daemon_->pack_dir + "/probe.yml", probeRule());
  const std::string file = daemon_->logs_dir + "/a.ndjson";
  const std::string ckpt = daemon_->state_dir + "/checkpoints/ehr.ckpt";
  writeFile(file, "");
  startDaemon();
  if (HasFatalFailure()) return;

  // The writer: blocks of kBlock events at a steady pace (it does not catch
  // up in a burst when it falls behind, it just goes on).
  std::atomic<int64_t> written{0};
  std::thread writer([&] {
    auto next = Clock::now();
    for (int64_t done = 0; done < kEvents;) {
      const int64_t n = std::min(kBlock, kEvents - done);
      const auto from = log.start[static_cast<size_t>(done)];
      const auto to = log.start[static_cast<size_t>(done + n)];
      appendRaw(file, log.text.substr(from, to - from));
      done += n;
      written.store(done);
      next += kBlockEvery;
      std::this_thread::sleep_until(next);
    }
  });

  std::vector<Kill> kills;
  bool restarted_ok = true;
  for (int64_t point : kill_points) {
    while (written.load() < point) std::this_thread::sleep_for(5ms);
    Kill k;
    k.at_written = written.load();
    if (auto v = daemon_->metric("trailwatch_events_total", {{"source", "ehr"}})) {
      k.events_scraped = *v;
    }
    daemon_->process().kill9();
    const auto code = daemon_->process().wait(10s);
    k.size_after = fileSize(file);
    k.checkpoint = checkpointOffset(ckpt, file);
    kills.push_back(k);
    EXPECT_EQ(code.value_or(-1), 128 + SIGKILL);
    std::string why;
    if (!daemon_->start(why)) {
      ADD_FAILURE() << "restart after kill " << kills.size() << ": " << why;
      restarted_ok = false;
      break;
    }
  }
  writer.join();
  ASSERT_TRUE(restarted_ok);
  ASSERT_EQ(fileSize(file), log.text.size());

  // The final run resumed at the last kill's checkpoint; once it has caught
  // up it has read exactly the events after that offset, no more (nothing
  // read twice within a run) and no fewer (nothing skipped). Caught up means
  // its checkpoint reached the end of the file, which it saves only after
  // every record before it was evaluated and its alerts flushed.
  const uint64_t resume = kills.back().checkpoint;
  const int64_t before_resume = log.eventsBefore(resume);
  ASSERT_GE(before_resume, 0) << "checkpoint offset " << resume << " is not at a record boundary";
  const auto expected_final = static_cast<double>(kEvents - before_resume);
  std::optional<double> final_events;
  const bool caught_up = waitFor(
      [&] {
        if (checkpointOffset(ckpt, file) != log.text.size()) return false;
        final_events = daemon_->metric("trailwatch_events_total", {{"source", "ehr"}});
        return final_events && *final_events >= expected_final;
      },
      90s);
  final_events = daemon_->metric("trailwatch_events_total", {{"source", "ehr"}});
  const auto final_bytes = daemon_->metric("trailwatch_read_bytes_total", {{"source", "ehr"}});
  ASSERT_TRUE(caught_up) << "the final run's checkpoint did not reach the end of the file ("
                         << log.text.size() << " bytes); it is at " << checkpointOffset(ckpt, file)
                         << ", events counted " << final_events.value_or(-1);
  ASSERT_TRUE(final_events.has_value());
  EXPECT_EQ(static_cast<int64_t>(*final_events), static_cast<int64_t>(expected_final))
      << "the final run resumed at byte " << resume << " (after event " << before_resume << ")";
  ASSERT_TRUE(final_bytes.has_value());
  EXPECT_EQ(static_cast<uint64_t>(*final_bytes), log.text.size() - resume)
      << "the final run resumed at byte " << resume;

  // Checkpoints only move forward, sit on record boundaries, and never run
  // ahead of what the file held when the daemon died.
  uint64_t previous = 0;
  for (size_t i = 0; i < kills.size(); ++i) {
    const Kill& k = kills[i];
    std::printf("kill %zu: %" PRId64 " events written, checkpoint at event %" PRId64
                ", file at event %" PRId64 " (re-read window %" PRId64
                " events), run had counted >= %.0f events\n",
                i + 1, k.at_written, log.eventsBefore(k.checkpoint), log.eventAt(k.size_after) - 1,
                log.eventAt(k.size_after) - 1 - log.eventsBefore(k.checkpoint), k.events_scraped);
    EXPECT_GE(k.checkpoint, previous) << "kill " << i + 1 << ": checkpoint went backwards";
    EXPECT_LE(k.checkpoint, k.size_after) << "kill " << i + 1;
    EXPECT_GE(log.eventsBefore(k.checkpoint), 0)
        << "kill " << i + 1 << ": checkpoint " << k.checkpoint << " is not at a record boundary";
    // The dead run started at the previous checkpoint; what it had counted
    // shortly before the kill cannot exceed the records the file held at
    // the kill (more would mean records read twice within one run).
    if (k.events_scraped >= 0) {
      EXPECT_LE(static_cast<double>(log.eventsBefore(previous)) + k.events_scraped,
                static_cast<double>(log.eventAt(k.size_after) - 1))
          << "kill " << i + 1 << ": the run counted more records than it could have read";
    }
    previous = k.checkpoint;
  }

  // Alerts: every injected event alerted, nothing else did. Duplicates are
  // the price of at-least-once delivery and are bounded precisely: a kill
  // can repeat only the events the dead run had read past its last saved
  // checkpoint, which lie in [checkpoint at the kill, file size at the
  // kill). With checkpoints every 200 ms while records flow, that window is
  // about one checkpoint interval of reading (plus whatever the daemon had
  // not read yet, which it cannot have alerted). So an event may alert at
  // most 1 + (the number of kill windows that hold it) times, and an event
  // outside every window exactly once.
  const auto alerts = daemon_->alerts();
  std::vector<int> alerted(static_cast<size_t>(kEvents) + 1, 0);
  int invalid = 0;
  for (const auto& a : alerts) {
    const auto seq = a.valid ? a.sequence() : std::nullopt;
    if (!seq) {
      // A line torn by a kill -9 mid-write stays in the log (its event is
      // re-alerted by the next run, since its checkpoint had not moved).
      ++invalid;
      continue;
    }
    ASSERT_GE(*seq, 1);
    ASSERT_LE(*seq, kEvents);
    EXPECT_EQ(a.rule_id, kProbeRuleId);
    ++alerted[static_cast<size_t>(*seq)];
  }
  EXPECT_LE(invalid, kKills) << "more unparseable alert lines than kills";
  std::vector<int64_t> missing, unexpected, too_many;
  int64_t duplicates = 0;
  for (int64_t seq = 1; seq <= kEvents; ++seq) {
    const int n = alerted[static_cast<size_t>(seq)];
    if (!log.injected[static_cast<size_t>(seq - 1)]) {
      if (n > 0) unexpected.push_back(seq);
      continue;
    }
    if (n == 0) missing.push_back(seq);
    int windows = 0;
    const uint64_t at = log.start[static_cast<size_t>(seq - 1)];
    for (const Kill& k : kills) {
      if (at >= k.checkpoint && at < k.size_after) ++windows;
    }
    if (n > 1 + windows) too_many.push_back(seq);
    duplicates += std::max(0, n - 1);
  }
  const auto injected_total = std::count(log.injected.begin(), log.injected.end(), true);
  std::printf("%zu alert lines for %td injected events, %" PRId64 " duplicates, %d torn\n",
              alerts.size(), injected_total, duplicates, invalid);
  EXPECT_TRUE(missing.empty()) << "injected events never alerted: " << describe(missing);
  EXPECT_TRUE(unexpected.empty()) << "alerts for events that match no rule: "
                                  << describe(unexpected);
  EXPECT_TRUE(too_many.empty()) << "events alerted more often than the kills can explain: "
                                << describe(too_many);

  const auto code = daemon_->stop(20s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 20 s of SIGTERM";
  EXPECT_EQ(*code, 0);
}

// ---------------------------------------------------------------- rotation

TEST_F(DurabilityTest, RotationEverySecondUnderLoadLosesNothing) {
  constexpr auto kDuration = 30s;
  constexpr int64_t kBlock = 500;     // events per write(2)
  constexpr auto kBlockEvery = 10ms;  // 50,000 events/s
  constexpr int64_t kEvents = 50'000 * 30;
  constexpr int kGenerations = 5;  // a.ndjson.1 .. a.ndjson.5 are kept

  // Every 100th event is an injected match: 15,000 alerts spread over every
  // stretch of every rotated file, cheap enough to check one by one.
  const EventLog log(kEvents, [](int64_t seq) { return seq % 100 == 0; });

  DaemonSettings settings;
  settings.checkpoint_interval = "200ms";
  daemon_ = std::make_unique<Daemon>(dir_, settings);
  writeFile(daemon_->pack_dir + "/probe.yml", probeRule());
  const std::string file = daemon_->logs_dir + "/a.ndjson";
  writeFile(file, "");
  startDaemon();
  if (HasFatalFailure()) return;

  // The writer holds `file_mu` for each write; the rotator takes it for a
  // rotation. For rename-and-create that only keeps the test's bookkeeping
  // simple (the writer opens the path per block, so it writes to the new
  // file after a rename either way). For copytruncate it is necessary:
  // whatever is appended between the copy and the truncation is in neither
  // file, a loss copytruncate itself causes (logrotate documents it), not
  // the reader; so the writer pauses for the copy + truncate.
  std::mutex file_mu;
  std::atomic<bool> writing{true};
  std::atomic<int64_t> written{0};
  std::thread writer([&] {
    auto next = Clock::now();
    for (int64_t done = 0; done < kEvents;) {
      const int64_t n = std::min(kBlock, kEvents - done);
      const auto from = log.start[static_cast<size_t>(done)];
      const auto to = log.start[static_cast<size_t>(done + n)];
      {
        std::lock_guard<std::mutex> lock(file_mu);
        appendRaw(file, log.text.substr(from, to - from));
      }
      done += n;
      written.store(done);
      next += kBlockEvery;
      std::this_thread::sleep_until(next);
    }
    writing.store(false);
  });

  auto gen = [&](int i) { return file + "." + std::to_string(i); };
  int renames = 0, copytruncates = 0;
  std::string rotate_error;
  const auto deadline = Clock::now() + kDuration;
  for (int i = 0; writing.load() && Clock::now() < deadline; ++i) {
    std::this_thread::sleep_for(1s);
    std::lock_guard<std::mutex> lock(file_mu);
    std::error_code ec;
    std::filesystem::remove(gen(kGenerations), ec);
    for (int g = kGenerations - 1; g >= 1; --g) {
      if (std::filesystem::exists(gen(g))) std::filesystem::rename(gen(g), gen(g + 1), ec);
      if (ec) rotate_error = "shift " + gen(g) + ": " + ec.message();
    }
    if (i % 2 == 0) {
      // rename-and-create
      std::filesystem::rename(file, gen(1), ec);
      if (ec) rotate_error = "rename: " + ec.message();
      writeFile(file, "");
      ++renames;
    } else {
      // copytruncate
      std::filesystem::copy_file(file, gen(1), ec);
      if (ec) rotate_error = "copy: " + ec.message();
      if (::truncate(file.c_str(), 0) != 0) rotate_error = "truncate failed";
      ++copytruncates;
    }
  }
  writer.join();
  ASSERT_EQ(rotate_error, "");
  ASSERT_EQ(written.load(), kEvents);
  std::printf("%d rename-and-create and %d copytruncate rotations while writing %" PRId64
              " events\n",
              renames, copytruncates, kEvents);
  EXPECT_GE(renames + copytruncates, 20) << "the writer finished too early to rotate much";

  // No crash, so exactly once: the daemon read as many records as were
  // written (none lost, none read twice from a copy) ...
  std::optional<double> events;
  const bool caught_up = waitFor(
      [&] {
        events = daemon_->metric("trailwatch_events_total", {{"source", "ehr"}});
        return events && *events >= static_cast<double>(kEvents);
      },
      90s);
  ASSERT_TRUE(caught_up) << "trailwatch_events_total reached only " << events.value_or(-1) << " of "
                         << kEvents;
  // ... and every injected event alerted exactly once (alerts are flushed
  // at least once per checkpoint interval, so wait for the last one).
  const auto injected_total = std::count(log.injected.begin(), log.injected.end(), true);
  waitFor([&] { return static_cast<int64_t>(daemon_->alerts().size()) >= injected_total; }, 30s);
  const std::string body = daemon_->scrape();
  EXPECT_EQ(static_cast<int64_t>(
                metricValue(body, "trailwatch_events_total", {{"source", "ehr"}}).value_or(-1)),
            kEvents);
  EXPECT_EQ(metricValue(body, "trailwatch_truncations_unrecovered_total", {{"source", "ehr"}})
                .value_or(0),
            0)
      << "a truncation whose unread tail was not found in its copy";
  const double rotations =
      metricValue(body, "trailwatch_file_rotations_total", {{"source", "ehr"}}).value_or(0);
  std::printf("trailwatch_file_rotations_total %.0f\n", rotations);
  EXPECT_GE(rotations, copytruncates) << "truncations not followed";

  std::vector<int> alerted(static_cast<size_t>(kEvents) + 1, 0);
  for (const auto& a : daemon_->alerts()) {
    const auto seq = a.sequence();
    ASSERT_TRUE(a.valid && seq) << a.error << ": " << a.line;
    ASSERT_GE(*seq, 1);
    ASSERT_LE(*seq, kEvents);
    ++alerted[static_cast<size_t>(*seq)];
  }
  std::vector<int64_t> missing, wrong;
  for (int64_t seq = 1; seq <= kEvents; ++seq) {
    const int n = alerted[static_cast<size_t>(seq)];
    const bool injected = log.injected[static_cast<size_t>(seq - 1)];
    if (injected && n == 0) missing.push_back(seq);
    if (injected ? n > 1 : n > 0) wrong.push_back(seq);
  }
  EXPECT_TRUE(missing.empty()) << "injected events never alerted: " << describe(missing);
  EXPECT_TRUE(wrong.empty()) << "events alerted twice, or that match no rule: " << describe(wrong);

  const auto code = daemon_->stop(20s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 20 s of SIGTERM";
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace trailwatch::it
