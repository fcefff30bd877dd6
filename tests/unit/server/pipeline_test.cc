#include "daemon/server/pipeline.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/decode/json_decoder.h"
#include "daemon/engine/rule_set.h"
#include "daemon/enrich/enricher.h"
#include "daemon/server/correlator.h"
#include "daemon/server/snapshot_holder.h"

namespace trailwatch::server {
namespace {

// Everything the fakes did, in order, so tests can check what happened
// before what (flush before commit is the delivery guarantee).
// Sinks may be flushed from the pipeline's committer thread, hence the lock.
struct Journal {
  std::mutex mu;
  std::vector<std::string> steps;  // guarded by mu while a pipeline runs
  void add(std::string step) {
    std::lock_guard lock(mu);
    steps.push_back(std::move(step));
  }
};

// A source that hands out prepared batches, then ends.
class FakeSource : public Source {
 public:
  FakeSource(Journal& journal, std::vector<std::vector<std::string>> batches) : journal_(journal) {
    for (auto& b : batches) {
      // Keep kRecordPadding readable bytes after every record.
      std::vector<std::string> padded;
      for (auto& r : b) padded.push_back(r + std::string(kRecordPadding, '\0'));
      batches_.push_back(std::move(padded));
    }
  }
  const std::string& name() const override { return name_; }
  Status open() override { return Status::Ok(); }
  bool next(RecordBatch& batch, std::chrono::milliseconds) override {
    batch.clear();
    if (batches_.empty()) return false;
    current_ = std::move(batches_.front());
    batches_.pop_front();
    uint64_t offset = 0;
    const bool state_only = handed_out_++ < state_only_batches;
    for (const auto& r : current_) {
      const size_t len = r.size() - kRecordPadding;
      batch.records.push_back({std::string_view(r.data(), len), "fake.log", offset, state_only});
      offset += len + 1;
      if (state_only) {
        stats_.replayed++;
      } else {
        stats_.records++;
        stats_.bytes_read += len + 1;
      }
    }
    if (read_ago.count() > 0) batch.read_at = std::chrono::steady_clock::now() - read_ago;
    journal_.add("next");
    return true;
  }
  Status commit() override {
    journal_.add("commit");
    ++commits;
    return Status::Ok();
  }
  void wake() override {}
  SourceStats stats() const override { return stats_; }
  Journal& journal() { return journal_; }
  int commits = 0;
  // When set, batches say they were read this long before next() returned.
  std::chrono::steady_clock::duration read_ago{};
  // The first this many batches are handed out state only (a replay).
  size_t state_only_batches = 0;

 private:
  Journal& journal_;
  const std::string name_ = "fake";
  std::deque<std::vector<std::string>> batches_;
  std::vector<std::string> current_;
  size_t handed_out_ = 0;
  SourceStats stats_;
};

class RecordingSink : public AlertSink {
 public:
  explicit RecordingSink(Journal& journal) : journal_(journal) {}
  const std::string& name() const override { return name_; }
  Status write(std::string_view alert) override {
    alerts.emplace_back(alert);
    journal_.add("write");
    return Status::Ok();
  }
  Status flush() override {
    const bool fail = fail_flush || fail_flushes > 0;
    if (fail_flushes > 0) --fail_flushes;
    journal_.add(fail ? "flush-failed" : "flush");
    if (fail) return Error{"disk full"};
    return Status::Ok();
  }
  std::vector<std::string> alerts;
  bool fail_flush = false;
  int fail_flushes = 0;  // the next this many flushes fail

 private:
  Journal& journal_;
  const std::string name_ = "recording";
};

std::shared_ptr<const engine::RuleSet> rules() {
  Diagnostics diags;
  auto set = engine::RuleSet::parse(R"(
title: Break the glass
id: 11111111-1111-4111-8111-111111111111
level: high
tags: [hipaa.164.312.b]
logsource: {product: ehr}
detection:
  sel:
    purpose: BTG
  condition: sel
fields: [user]
)",
                                    "test.yml", diags);
  EXPECT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
  return set;
}

struct Harness {
  Journal journal;
  RecordingSink sink{journal};
  metrics::Metrics metrics;
  RuleSetHolder holder{rules()};

  std::unique_ptr<SourcePipeline> make(std::vector<std::vector<std::string>> batches,
                                       FakeSource** source_out) {
    auto source = std::make_unique<FakeSource>(journal, std::move(batches));
    *source_out = source.get();
    return std::make_unique<SourcePipeline>(
        std::move(source), std::make_unique<decode::JsonDecoder>(), std::nullopt,
        std::vector<AlertSink*>{&sink}, holder, metrics, std::chrono::milliseconds(0));
  }
};

TEST(SourcePipeline, AlertsAreFlushedBeforeTheCheckpointMoves) {
  Harness h;
  FakeSource* source = nullptr;
  auto pipeline =
      h.make({{R"({"purpose":"BTG","user":"u1"})", R"({"purpose":"TREAT","user":"u2"})"},
              {R"({"purpose":"btg","user":"u3"})"}},
             &source);
  pipeline->run();
  ASSERT_EQ(h.sink.alerts.size(), 2u);
  EXPECT_NE(h.sink.alerts[0].find(R"("event":{"user":"u1"})"), std::string::npos)
      << h.sink.alerts[0];
  EXPECT_NE(h.sink.alerts[1].find(R"("user":"u3")"), std::string::npos);
  // Every commit is directly preceded by a successful flush.
  ASSERT_GE(source->commits, 1);
  for (size_t i = 0; i < h.journal.steps.size(); ++i) {
    if (h.journal.steps[i] == "commit") {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(h.journal.steps[i - 1], "flush");
    }
  }
  const PipelineTotals t = pipeline->totals();
  EXPECT_EQ(t.events, 3u);
  EXPECT_EQ(t.alerts, 2u);
  EXPECT_EQ(t.decode_errors, 0u);
}

const prometheus::ClientMetric::Histogram& latencyOf(metrics::Metrics& m) {
  static prometheus::ClientMetric metric;
  metric = m.alertLatency("fake").Collect();
  return metric.histogram;
}

TEST(AlertLatency, EachAlertIsOneObservationInItsBucket) {
  metrics::Metrics m;
  auto& histogram = m.alertLatency("fake");
  observeAlertLatency(histogram, std::chrono::microseconds(300), 2);  // 0.3 ms
  observeAlertLatency(histogram, std::chrono::milliseconds(40), 1);
  observeAlertLatency(histogram, std::chrono::seconds(30), 1);  // past the last bound
  observeAlertLatency(histogram, std::chrono::seconds(-1), 1);  // clamped to 0
  observeAlertLatency(histogram, std::chrono::seconds(1), 0);   // no alert, nothing
  const auto& h = latencyOf(m);
  EXPECT_EQ(h.sample_count, 5u);
  EXPECT_NEAR(h.sample_sum, 0.0006 + 0.04 + 30, 1e-9);
  const auto& bounds = metrics::Metrics::alertLatencyBuckets();
  ASSERT_EQ(h.bucket.size(), bounds.size() + 1);  // + Inf
  EXPECT_EQ(bounds.front(), 0.0005);
  EXPECT_EQ(bounds.back(), 10);
  EXPECT_EQ(h.bucket[0].cumulative_count, 3u);  // le 0.0005: the two 0.3 ms and the 0
  EXPECT_EQ(h.bucket[5].upper_bound, 0.025);
  EXPECT_EQ(h.bucket[5].cumulative_count, 3u);
  EXPECT_EQ(h.bucket[6].upper_bound, 0.05);
  EXPECT_EQ(h.bucket[6].cumulative_count, 4u);
  EXPECT_EQ(h.bucket[bounds.size() - 1].cumulative_count, 4u);  // le 10
  EXPECT_EQ(h.bucket.back().cumulative_count, 5u);              // +Inf
}

TEST(SourcePipeline, AlertLatencyIsObservedOncePerAlertFromWhenItsRecordWasRead) {
  Harness h;
  RecordingSink second(h.journal);
  auto owned = std::make_unique<FakeSource>(
      h.journal, std::vector<std::vector<std::string>>{
                     {R"({"purpose":"BTG","user":"u1"})", R"({"purpose":"BTG","user":"u2"})"},
                     {R"({"purpose":"TREAT","user":"u3"})"},
                     {R"({"purpose":"BTG","user":"u4"})"}});
  // Read "3 s ago": the latency is at least that, whatever this machine's speed.
  owned->read_ago = std::chrono::seconds(3);
  SourcePipeline pipeline(std::move(owned), std::make_unique<decode::JsonDecoder>(), std::nullopt,
                          std::vector<AlertSink*>{&h.sink, &second}, h.holder, h.metrics,
                          std::chrono::milliseconds(0));
  pipeline.run();
  ASSERT_EQ(h.sink.alerts.size(), 3u);
  ASSERT_EQ(second.alerts.size(), 3u);
  const auto& hist = latencyOf(h.metrics);
  EXPECT_EQ(hist.sample_count, 3u) << "once per alert, not per output";
  EXPECT_GE(hist.sample_sum, 9.0);
  // Bucket le=2.5 (index 11) holds none: the time was taken at read, not at next().
  ASSERT_EQ(metrics::Metrics::alertLatencyBuckets()[11], 2.5);
  EXPECT_EQ(hist.bucket[11].cumulative_count, 0u);
}

TEST(SourcePipeline, FailedFlushHoldsTheCheckpointBack) {
  Harness h;
  h.sink.fail_flush = true;
  FakeSource* source = nullptr;
  auto pipeline = h.make({{R"({"purpose":"BTG","user":"u1"})"}}, &source);
  pipeline->run();
  EXPECT_EQ(source->commits, 0);
  EXPECT_EQ(h.sink.alerts.size(), 1u);
  EXPECT_GE(h.metrics.checkpointErrors("fake").Value(), 1.0)
      << "a checkpoint held back is a checkpoint error";
}

TEST(SourcePipeline, CheckpointsMoveAgainOnceFlushesWork) {
  Harness h;
  h.sink.fail_flushes = 1;  // a full disk, then space again
  FakeSource* source = nullptr;
  auto pipeline =
      h.make({{R"({"purpose":"BTG","user":"u1"})"}, {R"({"purpose":"BTG","user":"u2"})"}}, &source);
  pipeline->run();
  EXPECT_EQ(h.metrics.checkpointErrors("fake").Value(), 1.0);
  ASSERT_GE(source->commits, 1);
  EXPECT_EQ(h.journal.steps.back(), "commit") << "the last position was saved";
  EXPECT_EQ(h.sink.alerts.size(), 2u);
}

TEST(SourcePipeline, MalformedRecordsAreCountedAndSkipped) {
  Harness h;
  FakeSource* source = nullptr;
  auto pipeline =
      h.make({{R"({"purpose":"BTG")", "not json", R"({"purpose":"BTG","user":"u9"})"}}, &source);
  pipeline->run();
  const PipelineTotals t = pipeline->totals();
  EXPECT_EQ(t.decode_errors, 2u);
  EXPECT_EQ(t.events, 1u);
  ASSERT_EQ(h.sink.alerts.size(), 1u);
  EXPECT_NE(h.sink.alerts[0].find("u9"), std::string::npos);
}

TEST(SourcePipeline, ReloadedRulesApplyToTheNextBatch) {
  Harness h;
  FakeSource* source = nullptr;
  auto pipeline = h.make({{R"({"purpose":"BTG","user":"u1"})"}}, &source);
  Diagnostics diags;
  auto replacement = engine::RuleSet::parse(R"(
title: Marketing
logsource: {product: ehr}
detection:
  sel: {purpose: HMARKT}
  condition: sel
)",
                                            "new.yml", diags);
  ASSERT_TRUE(replacement);
  h.holder.replace(replacement);
  pipeline->run();
  EXPECT_TRUE(h.sink.alerts.empty());
}

TEST(SourcePipeline, LookupTablesEnrichEventsAndCountHitsPerBatch) {
  Harness h;
  Diagnostics diags;
  // The rule reads only the added field; the pipeline must still extract
  // the lookup's match field (`user`) for the join.
  auto status_rule = engine::RuleSet::parse(R"(
title: Terminated user
logsource: {product: ehr}
detection:
  sel: {staff.status: terminated}
  condition: sel
fields: [staff.department]
)",
                                            "status.yml", diags);
  ASSERT_TRUE(status_rule);
  h.holder.replace(status_rule);
  auto table = enrich::LookupTable::parse(
      "id,status,department\nu1,terminated,cardiology\nu2,active,oncology\n",
      enrich::LookupSpec{"staff", "staff.csv", "id", "user", "staff.", false});
  ASSERT_TRUE(table.ok()) << table.error();
  LookupSetHolder lookups(std::make_shared<const enrich::LookupSet>(
      std::vector<std::shared_ptr<const enrich::LookupTable>>{*table}));
  auto source = std::make_unique<FakeSource>(
      h.journal, std::vector<std::vector<std::string>>{
                     {R"({"user":"u1"})", R"({"user":"u2"})", R"({"user":"u3"})"},
                     {R"({"user":"u1","staff":{"status":"reinstated"}})", R"({"x":1})"}});
  SourcePipeline pipeline(std::move(source), std::make_unique<decode::JsonDecoder>(), std::nullopt,
                          std::vector<AlertSink*>{&h.sink}, h.holder, h.metrics,
                          std::chrono::milliseconds(0), &lookups);
  pipeline.run();
  ASSERT_EQ(h.sink.alerts.size(), 1u) << "only u1's first event; the record's own value wins";
  EXPECT_NE(h.sink.alerts[0].find(R"("staff.department":"cardiology")"), std::string::npos)
      << h.sink.alerts[0];
  auto m = h.metrics.lookup("staff");
  EXPECT_EQ(m.hits.Value(), 3.0);
  EXPECT_EQ(m.misses.Value(), 1.0);
}

// Lanes cut a large batch into runs decoded and evaluated on several
// threads; what comes out (alerts in record order, counts) must be what one
// lane gives.
TEST(SourcePipeline, LanesGiveTheSameAlertsInTheSameOrderAsOneLane) {
  std::vector<std::vector<std::string>> batches(2);
  for (int i = 0; i < 3000; ++i) {
    std::string record;
    if (i % 97 == 5) {
      record = "{not json";
    } else {
      record = R"({"@timestamp":"2026-11-20T10:00:00Z","user":"u)" + std::to_string(i) +
               R"(","purpose":")" + (i % 7 == 0 ? "BTG" : "TREAT") + R"("})";
    }
    batches[i < 2500 ? 0 : 1].push_back(std::move(record));
  }
  auto run = [&](size_t lanes, Harness& h) {
    auto source = std::make_unique<FakeSource>(h.journal, batches);
    SourcePipeline pipeline(std::move(source), std::make_unique<decode::JsonDecoder>(),
                            std::nullopt, std::vector<AlertSink*>{&h.sink}, h.holder, h.metrics,
                            std::chrono::milliseconds(0), nullptr, nullptr, "@timestamp", lanes);
    pipeline.run();
    return pipeline.totals();
  };
  Harness one, three;
  const PipelineTotals t1 = run(1, one);
  const PipelineTotals t3 = run(3, three);
  EXPECT_EQ(t1.events, 3000u - 31u);
  EXPECT_EQ(t3.events, t1.events);
  EXPECT_EQ(t3.decode_errors, 31u);
  ASSERT_EQ(one.sink.alerts.size(), 425u);  // i % 7 == 0, none of them malformed
  ASSERT_EQ(three.sink.alerts.size(), one.sink.alerts.size());
  for (size_t i = 0; i < one.sink.alerts.size(); ++i) {
    // Equal up to the time each was read.
    auto cut = [](const std::string& a) { return a.substr(0, a.find("\"detected_at\"")); };
    ASSERT_EQ(cut(three.sink.alerts[i]), cut(one.sink.alerts[i])) << "alert " << i;
  }
  EXPECT_EQ(three.metrics.decodeErrors("fake", "malformed_json").Value(), 31.0);
}

// A source that can hand out its position (Source::mark) and commit it
// later: the pipeline commits on its committer thread while reading on.
class MarkingSource : public FakeSource {
 public:
  using FakeSource::FakeSource;
  struct Mark : SourceMark {
    uint64_t records;
  };
  std::unique_ptr<SourceMark> mark() override {
    auto m = std::make_unique<Mark>();
    m->records = stats().records;
    return m;
  }
  Status commitMark(const SourceMark& mark) override {
    const uint64_t records = static_cast<const Mark&>(mark).records;
    journal().add("commit-mark " + std::to_string(records));
    std::lock_guard lock(mu);
    committed.push_back(records);
    return Status::Ok();
  }
  std::mutex mu;
  std::vector<uint64_t> committed;  // guarded by mu
};

TEST(SourcePipeline, MarkedPositionsAreCommittedInOrderBehindAFlush) {
  Harness h;
  std::vector<std::vector<std::string>> batches;
  for (int b = 0; b < 20; ++b) {
    batches.push_back({R"({"user":"u)" + std::to_string(b) + R"(","purpose":"BTG"})"});
  }
  auto owned = std::make_unique<MarkingSource>(h.journal, batches);
  MarkingSource* source = owned.get();
  // Interval 0: every batch is due for a commit; those that find one in
  // flight leave theirs to a later batch or to the last, in-line commit.
  SourcePipeline pipeline(std::move(owned), std::make_unique<decode::JsonDecoder>(), std::nullopt,
                          std::vector<AlertSink*>{&h.sink}, h.holder, h.metrics,
                          std::chrono::milliseconds(0));
  pipeline.run();
  EXPECT_EQ(h.sink.alerts.size(), 20u);
  std::lock_guard lock(source->mu);
  ASSERT_FALSE(source->committed.empty());
  EXPECT_TRUE(std::is_sorted(source->committed.begin(), source->committed.end()));
  // Everything read is committed at the end: by the last marked commit
  // when it came after the last batch, else in line, through commit().
  if (source->committed.back() != 20u) {
    EXPECT_EQ(source->commits, 1);
    EXPECT_EQ(h.journal.steps.back(), "commit");
  } else {
    EXPECT_EQ(source->commits, 0);
  }
  // Every marked position was committed after a flush that followed the
  // alerts of its records.
  size_t writes = 0, flushed_writes = 0;
  for (const auto& step : h.journal.steps) {
    if (step == "write") ++writes;
    if (step == "flush") flushed_writes = writes;
    if (step.starts_with("commit-mark ")) {
      EXPECT_LE(std::stoul(step.substr(12)), flushed_writes) << "committed past the last flush";
    }
  }
}

TEST(SourcePipeline, AFailedFlushHoldsMarkedPositionsBack) {
  Harness h;
  h.sink.fail_flush = true;
  auto owned = std::make_unique<MarkingSource>(
      h.journal, std::vector<std::vector<std::string>>{{R"({"user":"u1","purpose":"BTG"})"},
                                                       {R"({"user":"u2","purpose":"TREAT"})"}});
  MarkingSource* source = owned.get();
  SourcePipeline pipeline(std::move(owned), std::make_unique<decode::JsonDecoder>(), std::nullopt,
                          std::vector<AlertSink*>{&h.sink}, h.holder, h.metrics,
                          std::chrono::milliseconds(0));
  pipeline.run();
  {
    std::lock_guard lock(source->mu);
    EXPECT_TRUE(source->committed.empty()) << "a flush failed: no marked position may be saved";
  }
  EXPECT_EQ(source->commits, 0) << "nor the final one";
}

// Correlator shards and the pipeline write alerts from their own threads.
class LockedSink : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  Status write(std::string_view alert) override {
    std::lock_guard lock(mu_);
    alerts_.emplace_back(alert);
    return Status::Ok();
  }
  Status flush() override { return Status::Ok(); }
  std::vector<std::string> alerts() {
    std::lock_guard lock(mu_);
    return alerts_;
  }

 private:
  const std::string name_ = "locked";
  std::mutex mu_;
  std::vector<std::string> alerts_;  // guarded by mu_
};

std::shared_ptr<const engine::RuleSet> burstRules() {
  Diagnostics diags;
  auto set = engine::RuleSet::parse(R"(
title: Break the glass
id: 11111111-1111-4111-8111-111111111111
level: high
logsource: {product: ehr}
detection: {sel: {purpose: BTG}, condition: sel}
fields: [user]
---
title: Chart read
name: chart_read
logsource: {product: ehr}
detection: {sel: {action: read}, condition: sel}
---
title: Bulk read
id: 22222222-2222-4222-8222-222222222222
level: high
correlation:
  type: event_count
  rules: chart_read
  group-by: user
  timespan: 10m
  condition: {gte: 3}
)",
                                    "test.yml", diags);
  EXPECT_TRUE(set) << (diags.empty() ? "" : diags[0].str());
  return set;
}

std::string read(const std::string& user, int second, const std::string& purpose = "TREAT") {
  return R"({"@timestamp":"2026-11-20T10:00:0)" + std::to_string(second) +
         R"(Z","action":"read","purpose":")" + purpose + R"(","user":")" + user + R"("})";
}

size_t countOf(const std::vector<std::string>& alerts, const std::string& a, const std::string& b) {
  return static_cast<size_t>(std::count_if(alerts.begin(), alerts.end(), [&](const auto& x) {
    return x.find(a) != std::string::npos && x.find(b) != std::string::npos;
  }));
}

TEST(SourcePipeline, StateOnlyRecordsRebuildWindowsAndRaiseNoAlerts) {
  Journal journal;
  LockedSink sink;
  metrics::Metrics metrics;
  RuleSetHolder holder{burstRules()};
  CorrelatorOptions options;
  Correlator correlator(options, holder, {&sink}, metrics);
  ASSERT_TRUE(correlator.start().ok());
  auto owned = std::make_unique<FakeSource>(
      journal, std::vector<std::vector<std::string>>{
                   // Replayed: alice's window half seen (a break-the-glass
                   // read among it), bob's burst whole.
                   {read("alice", 1, "BTG"), read("alice", 2), read("bob", 1), read("bob", 2),
                    read("bob", 3)},
                   // Live: alice's window completes; carol breaks the glass.
                   {read("alice", 3), read("carol", 4, "BTG")}});
  owned->state_only_batches = 1;
  SourcePipeline pipeline(std::move(owned), std::make_unique<decode::JsonDecoder>(), std::nullopt,
                          std::vector<AlertSink*>{&sink}, holder, metrics,
                          std::chrono::milliseconds(0), nullptr, &correlator);
  pipeline.run();
  correlator.stop();

  const auto alerts = sink.alerts();
  std::string all;
  for (const auto& a : alerts) all += a + "\n";
  EXPECT_EQ(countOf(alerts, "Bulk read", "alice"), 1u) << all;
  EXPECT_EQ(countOf(alerts, "Bulk read", "bob"), 0u) << "its alert came from the previous owner\n"
                                                     << all;
  EXPECT_EQ(countOf(alerts, "Break the glass", "carol"), 1u) << all;
  EXPECT_EQ(countOf(alerts, "Break the glass", "alice"), 0u) << all;
  EXPECT_EQ(alerts.size(), 2u) << all;
  EXPECT_EQ(metrics.source("fake").replayed.Value(), 5);
  EXPECT_EQ(metrics.source("fake").events.Value(), 2);
}

}  // namespace
}  // namespace trailwatch::server
