#include "daemon/server/correlator.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "daemon/engine/correlation_state.h"
#include "daemon/engine/rule_set.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/one_shot_scan.h"
#include "daemon/server/snapshot_holder.h"
#include "tests/unit/engine/saved_state.h"

namespace trailwatch::server {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

constexpr const char* kRules = R"(title: Failed login
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
  condition: {gte: 3}
)";

std::shared_ptr<const engine::RuleSet> build() {
  Diagnostics diags;
  auto set = engine::RuleSet::parse(kRules, "test.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  return set;
}

// A sink whose write() waits while its gate is closed: it holds a shard in
// the middle of a batch, so that what is submitted meanwhile is queued.
class GatedSink : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  Status write(std::string_view) override {
    std::unique_lock lock(mu_);
    ++writes_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return Status::Ok();
  }
  Status flush() override { return Status::Ok(); }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  void waitForWrites(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return writes_ >= n; });
  }

 private:
  const std::string name_ = "gated";
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;  // guarded by mu_
  int writes_ = 0;     // guarded by mu_
};

struct TempFile {
  std::filesystem::path path;
  TempFile() {
    static int made = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() /
           (std::string("trailwatch-correlator-") + info->name() + "-" +
            std::to_string(::getpid()) + "-" + std::to_string(++made) + ".state");
    std::filesystem::remove(path);
  }
  ~TempFile() { std::filesystem::remove(path); }
};

// The per-shard blobs of a state file, parsed.
std::vector<engine::SavedState> readStateFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  std::string_view rest(data);
  constexpr std::string_view kMagic = "trailwatch-correlation-shards-1\n";
  std::vector<engine::SavedState> shards;
  if (!rest.starts_with(kMagic)) {
    ADD_FAILURE() << "not a state file: " << path;
    return shards;
  }
  rest.remove_prefix(kMagic.size());
  while (rest.size() >= 8) {
    uint64_t size = 0;
    std::memcpy(&size, rest.data(), 8);
    rest.remove_prefix(8);
    if (size > rest.size()) break;
    shards.push_back(engine::parseSaved(rest.substr(0, size)));
    rest.remove_prefix(size);
  }
  EXPECT_TRUE(rest.empty()) << "truncated state file";
  return shards;
}

// Batches of observations for `users` groups, routed as the pipelines route
// them, and the same batches applied to one reference state per shard the
// way a shard applies them.
class Feed {
 public:
  Feed(std::shared_ptr<const engine::RuleSet> rules, size_t shards) : rules_(std::move(rules)) {
    for (uint32_t i = 0; i < rules_->size(); ++i) {
      if (rules_->rule(i).correlation >= 0) correlation_ = i;
    }
    for (size_t i = 0; i < shards; ++i) {
      reference_.push_back(
          std::make_unique<engine::CorrelationState>(rules_, engine::StateLimits{}));
    }
  }

  // One batch: an event for each of `users` groups at `seconds`. The
  // reference applies it now, or at catchUp() when it came after the
  // checkpoint request being checked.
  void submit(Correlator& correlator, int64_t seconds, int users, bool apply_to_reference) {
    std::vector<std::vector<engine::Observation>> per_shard(reference_.size());
    std::vector<engine::ObservationBatch> batches(reference_.size());
    for (int u = 0; u < users; ++u) {
      engine::Observation o;
      o.rule = correlation_;
      o.time = seconds * kSecond;
      o.group = "user" + std::to_string(u);
      o.event_id = static_cast<uint64_t>(seconds * 1000 + u + 1);
      o.sample = std::string(40, static_cast<char>('a' + u % 26));
      const size_t shard = engine::groupHash(o.group) % per_shard.size();
      per_shard[shard].push_back(o);
      batches[shard].push_back(o);
    }
    deferred_.push_back({std::move(per_shard), seconds * kSecond});
    if (apply_to_reference) catchUp();
    correlator.submit(batches, seconds * kSecond, rules_, 0);
  }

  void catchUp() {
    for (auto& [per_shard, clock] : deferred_) {
      for (size_t i = 0; i < reference_.size(); ++i) {
        std::vector<engine::StateOutput> out;
        for (auto& o : per_shard[i]) reference_[i]->observe(std::move(o), out);
        reference_[i]->advance(clock, out);
      }
    }
    deferred_.clear();
  }

  std::vector<engine::SavedState> referenceSaved() const {
    std::vector<engine::SavedState> saved;
    for (const auto& state : reference_) {
      std::string data;
      state->save(data);
      saved.push_back(engine::parseSaved(data));
    }
    return saved;
  }

 private:
  std::shared_ptr<const engine::RuleSet> rules_;
  uint32_t correlation_ = 0;
  std::vector<std::unique_ptr<engine::CorrelationState>> reference_;
  std::vector<std::pair<std::vector<std::vector<engine::Observation>>, int64_t>> deferred_;
};

// A checkpoint holds the state at its request, although the shards go on
// processing what arrives after it while they write the state.
TEST(Correlator, CheckpointWrittenWhileObservationsArriveHoldsTheStateAtTheRequest) {
  TempFile file;
  RuleSetHolder holder(build());
  GatedSink sink;
  metrics::Metrics metrics;
  CorrelatorOptions options;
  options.shards = 2;
  options.state_file = file.path.string();
  options.save_slice_bytes = 64;  // a few groups per slice: the writing spans many batches
  Correlator correlator(options, holder, {&sink}, metrics);
  ASSERT_TRUE(correlator.start().ok());
  Feed feed(holder.snapshot(), options.shards);
  constexpr int kUsers = 200;

  // Two events per group: the groups hold state, nothing fires yet.
  feed.submit(correlator, 1, kUsers, true);
  feed.submit(correlator, 2, kUsers, true);
  // The third fires every group: the shards stop in the sink's write().
  feed.submit(correlator, 3, kUsers, true);
  sink.waitForWrites(1);
  auto ticket = correlator.requestCheckpoint();
  // Queued behind the request: they change every group the snapshot holds.
  for (int64_t t = 4; t < 24; ++t) feed.submit(correlator, t, kUsers, false);
  sink.open();
  ASSERT_TRUE(correlator.completeCheckpoint(ticket).ok());

  const auto want = feed.referenceSaved();
  const auto got = readStateFile(file.path);
  ASSERT_EQ(got.size(), want.size());
  size_t groups = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("shard " + std::to_string(i));
    EXPECT_EQ(got[i], want[i]) << "saved: " << engine::describe(got[i])
                               << "\nat the request: " << engine::describe(want[i]);
    groups += got[i].groups;
  }
  EXPECT_EQ(groups, static_cast<size_t>(kUsers)) << "every group fired and started over";

  // A restart from that file has exactly that state (saved again on stop,
  // unchanged). The running correlator saves its latest state on stop.
  TempFile copy;
  std::filesystem::copy_file(file.path, copy.path);
  correlator.stop();
  CorrelatorOptions restart = options;
  restart.state_file = copy.path.string();
  Correlator restarted(restart, holder, {}, metrics);
  ASSERT_TRUE(restarted.start().ok());
  restarted.stop();
  EXPECT_EQ(readStateFile(copy.path), want) << "restored and saved again unchanged";
}

TEST(Correlator, CheckpointsReuseTheirBuffersAndKeepSaving) {
  TempFile file;
  RuleSetHolder holder(build());
  metrics::Metrics metrics;
  CorrelatorOptions options;
  options.shards = 2;
  options.state_file = file.path.string();
  options.save_slice_bytes = 256;
  Correlator correlator(options, holder, {}, metrics);
  ASSERT_TRUE(correlator.start().ok());
  Feed feed(holder.snapshot(), options.shards);
  // Checkpoints one after another, each with batches queued behind its
  // request; the buffers go back to the shards and are written again.
  for (int64_t t = 1; t <= 12; ++t) {
    feed.submit(correlator, t * 100, 50, true);
    auto ticket = correlator.requestCheckpoint();
    feed.submit(correlator, t * 100 + 1, 50, false);
    feed.submit(correlator, t * 100 + 2, 50, false);
    ASSERT_TRUE(correlator.completeCheckpoint(ticket).ok());
    ASSERT_EQ(readStateFile(file.path), feed.referenceSaved()) << "checkpoint at " << t * 100;
    ticket.reset();
    feed.catchUp();
  }
  // Two requests in flight at once: each holds its own moment.
  auto first = correlator.requestCheckpoint();
  feed.submit(correlator, 2000, 50, false);
  auto second = correlator.requestCheckpoint();
  ASSERT_TRUE(correlator.completeCheckpoint(first).ok());
  EXPECT_EQ(readStateFile(file.path), feed.referenceSaved());
  feed.catchUp();
  ASSERT_TRUE(correlator.completeCheckpoint(second).ok());
  EXPECT_EQ(readStateFile(file.path), feed.referenceSaved());
}

// Observations of the correlation (rule 1) for 7 users, one a second from
// `first`, each with a sample of `sample_size` bytes, added to `batch`.
void failedLogins(const engine::RuleSet& set, size_t n, engine::ObservationBatch& batch,
                  size_t first = 1, size_t sample_size = 0) {
  EXPECT_GE(set.rule(1).correlation, 0);
  for (size_t i = first; i < first + n; ++i) {
    engine::Observation& o = batch.add();
    o.rule = 1;  // the correlation
    o.time = static_cast<int64_t>(i) * kSecond;
    o.group = "u" + std::to_string(i % 7);
    o.event_id = i;
    o.sample.assign(sample_size, 's');
  }
}

TEST(Correlator, SubmitHandsBackTheCapacityOfAProcessedBatch) {
  auto set = build();
  ASSERT_TRUE(set);
  RuleSetHolder holder{set};
  metrics::Metrics metrics;
  Correlator correlator(CorrelatorOptions{}, holder, {}, metrics);
  ASSERT_TRUE(correlator.start().ok());

  std::vector<engine::ObservationBatch> per_shard(1);
  failedLogins(*set, 500, per_shard[0], 1, 200);
  correlator.submit(per_shard, 500 * kSecond, set, holder.generation());
  // Nothing was processed yet that could be handed back.
  EXPECT_TRUE(per_shard[0].empty());
  EXPECT_EQ(per_shard[0].slots(), 0u);
  ASSERT_TRUE(correlator.checkpoint().ok());  // the batch has been processed

  failedLogins(*set, 1, per_shard[0], 501);
  correlator.submit(per_shard, 501 * kSecond, set, holder.generation());
  EXPECT_TRUE(per_shard[0].empty());
  ASSERT_GE(per_shard[0].slots(), 500u);

  // What comes back is empty storage whose slots are reset observations
  // that keep their samples' capacity: filling the batch again allocates
  // no strings.
  engine::Observation& o = per_shard[0].add();
  EXPECT_EQ(per_shard[0].size(), 1u);
  EXPECT_EQ(o.rule, 0u);
  EXPECT_EQ(o.time, 0);
  EXPECT_EQ(o.event_id, 0u);
  EXPECT_TRUE(o.group.empty());
  EXPECT_TRUE(o.sample.empty());
  EXPECT_GE(o.sample.capacity(), 200u);
  o.rule = 1;
  o.time = 502 * kSecond;
  o.group = "u0";
  o.event_id = 502;
  o.sample = "x";
  ASSERT_TRUE(correlator.checkpoint().ok());
  correlator.submit(per_shard, 502 * kSecond, set, holder.generation());
  EXPECT_TRUE(per_shard[0].empty());
  ASSERT_TRUE(correlator.checkpoint().ok());
  correlator.stop();
}

TEST(Correlator, OutsizedBatchesAreNotKeptForReuse) {
  auto set = build();
  ASSERT_TRUE(set);
  RuleSetHolder holder{set};
  metrics::Metrics metrics;
  Correlator correlator(CorrelatorOptions{}, holder, {}, metrics);
  ASSERT_TRUE(correlator.start().ok());

  std::vector<engine::ObservationBatch> per_shard(1);
  failedLogins(*set, 70000, per_shard[0]);  // beyond the ~64 Ki observations kept
  correlator.submit(per_shard, 70000 * kSecond, set, holder.generation());
  ASSERT_TRUE(correlator.checkpoint().ok());
  failedLogins(*set, 1, per_shard[0], 70001);
  correlator.submit(per_shard, 70001 * kSecond, set, holder.generation());
  EXPECT_EQ(per_shard[0].slots(), 0u);
  ASSERT_TRUE(correlator.checkpoint().ok());
  correlator.stop();
}

// A worker is a lane and a shard, about 1.6 busy cores: `auto` gives one
// per two hardware threads, never none and at most 8.
TEST(CorrelatorOptions, AutoWorkersAreOnePerTwoHardwareThreads) {
  EXPECT_EQ(autoWorkers(0), 1U);  // hardware_concurrency() may not know
  EXPECT_EQ(autoWorkers(1), 1U);
  EXPECT_EQ(autoWorkers(2), 1U);
  EXPECT_EQ(autoWorkers(3), 1U);
  EXPECT_EQ(autoWorkers(4), 2U);
  EXPECT_EQ(autoWorkers(16), 8U);
  EXPECT_EQ(autoWorkers(64), 8U);

  config::CorrelationConfig c;
  EXPECT_EQ(correlatorOptions(c, 0).shards, autoWorkers(std::thread::hardware_concurrency()));
  c.workers = 3;
  EXPECT_EQ(correlatorOptions(c, 0).shards, 3U);
  EXPECT_EQ(correlatorOptions(c, 5).shards, 5U);  // --workers overrides the configuration
}

}  // namespace
}  // namespace trailwatch::server
