#include "daemon/server/pipeline.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <functional>
#include <utility>

#include <spdlog/spdlog.h>

#include "daemon/common/event_time.h"
#include "daemon/common/json_writer.h"
#include "daemon/engine/correlation_sample.h"

namespace trailwatch::server {
namespace {

int64_t unixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How long next() waits for input before the loop looks at stop flags and
// idle commits again. Sources wake earlier when data arrives.
constexpr std::chrono::milliseconds kPollTimeout{250};

// How far ahead of the wall clock an event time may be (clock skew between
// hosts) before it is not believed.
constexpr int64_t kFutureTolerance = int64_t{300} * 1'000'000'000;

// Decode errors are logged for the first few of a source, then sampled, so
// a stream of garbage cannot flood the log; the metric counts every one.
bool shouldLogDecodeError(uint64_t n) { return n <= 10 || n % 10000 == 0; }

// Checkpoints that keep failing are logged at most this often (each one is
// counted in trailwatch_checkpoint_errors_total).
constexpr auto kCommitLogEvery = std::chrono::seconds(10);

}  // namespace

void observeAlertLatency(prometheus::Histogram& histogram,
                         std::chrono::steady_clock::duration latency, uint64_t alerts) {
  const double seconds =
      std::max(0.0, std::chrono::duration<double>(latency).count());  // never negative
  for (uint64_t i = 0; i < alerts; ++i) histogram.Observe(seconds);
}

SourcePipeline::SourcePipeline(std::unique_ptr<Source> source, std::unique_ptr<Decoder> decoder,
                               std::optional<LogSource> declared, std::vector<AlertSink*> sinks,
                               const RuleSetHolder& rules, metrics::Metrics& metrics,
                               std::chrono::milliseconds checkpoint_interval,
                               const LookupSetHolder* lookups, Correlator* correlator,
                               std::string timestamp_field, size_t lanes)
    : source_(std::move(source)),
      decoder_(std::move(decoder)),
      declared_(std::move(declared)),
      sinks_(std::move(sinks)),
      holder_(rules),
      metrics_(metrics),
      checkpoint_interval_(checkpoint_interval),
      lookups_(lookups),
      source_metrics_(metrics.source(source_->name())),
      alert_latency_(metrics.alertLatency(source_->name())),
      correlator_(correlator),
      timestamp_path_(std::move(timestamp_field)) {
  if (correlator_ != nullptr) per_shard_.resize(correlator_->shards());
  source_hash_ = std::hash<std::string>{}(source_->name());
  for (AlertSink* sink : sinks_)
    sink_alert_counters_.emplace_back(sink, &metrics_.sinkAlerts(sink->name()));
  for (size_t i = 0; i < std::max<size_t>(lanes, 1); ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->per_shard.resize(per_shard_.size());
  }
  lanes_[0]->decoder = decoder_.get();
}

SourcePipeline::~SourcePipeline() {
  {
    std::lock_guard lock(lane_mu_);
    lanes_stop_ = true;
  }
  lane_start_.notify_all();
  for (auto& t : lane_threads_) t.join();
  {
    std::lock_guard lock(commit_mu_);
    committer_stop_ = true;
  }
  commit_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

PipelineTotals SourcePipeline::totals() const {
  PipelineTotals t;
  t.events = events_.load();
  t.decode_errors = decode_errors_.load();
  t.alerts = alerts_.load();
  t.bytes = last_stats_.bytes_read;
  t.oversized = last_stats_.oversized_skipped;
  return t;
}

void SourcePipeline::requestStop() {
  stop_.store(true);
  source_->wake();
}

void SourcePipeline::adoptRules() {
  const uint64_t generation = holder_.generation();
  const uint64_t lookups_generation = lookups_ ? lookups_->generation() : 0;
  const bool rules_changed = generation != rules_generation_ || !rules_;
  if (!rules_changed && lookups_generation == lookups_generation_) return;
  if (lookup_set_) publishLookupCounts();  // counts belong to the tables they were taken with
  rules_ = holder_.snapshot();
  rules_generation_ = generation;
  lookups_generation_ = lookups_generation;
  std::shared_ptr<const enrich::LookupSet> lookups = lookups_ ? lookups_->snapshot() : nullptr;

  // The decoder extracts what rules read, the timestamp, and every lookup's
  // match field (which no rule may read, but enrichment needs).
  paths_ = rules_->fieldPaths();
  auto ts = std::find(paths_.begin(), paths_.end(), timestamp_path_);
  if (ts == paths_.end()) {
    paths_.emplace_back(timestamp_path_);
    ts = paths_.end() - 1;
  }
  timestamp_field_ = ts - paths_.begin();
  lookup_set_ = lookups && lookups->size() > 0 ? lookups : nullptr;
  lookup_metrics_.clear();
  if (lookup_set_) {
    for (auto& match : lookup_set_->matchPaths()) {
      if (std::find(paths_.begin(), paths_.end(), match) == paths_.end()) {
        paths_.push_back(std::move(match));
      }
    }
    for (size_t i = 0; i < lookup_set_->size(); ++i) {
      lookup_metrics_.push_back(metrics_.lookup(lookup_set_->table(i).spec().name));
    }
  }
  for (auto& lane : lanes_) {
    lane->enricher =
        lookup_set_ ? std::make_unique<enrich::Enricher>(lookup_set_, paths_) : nullptr;
    if (lane->decoder != nullptr) lane->decoder->setFields(paths_);
  }
  if (!rules_changed) return;

  applicable_ = rules_->rulesFor(declared_ ? &*declared_ : nullptr);
  index_ = engine::RuleIndex(*rules_, applicable_);
  stateful_ = correlator_ != nullptr && rules_->stateful();
  for (auto& lane : lanes_) lane->matches.assign(rules_->size(), 0);
  rule_metrics_.clear();
  control_counters_.assign(rules_->size(), {});
  rule_metrics_.reserve(rules_->size());
  for (size_t i = 0; i < rules_->size(); ++i) {
    const auto& info = rules_->rule(i);
    rule_metrics_.push_back(metrics_.rule(info.id, info.title, info.level));
    for (const auto& control : info.controls) {
      control_counters_[i].push_back(&metrics_.controlAlerts(control));
    }
  }
  spdlog::debug("source {}: {} of {} rules apply ({} indexed on {} field(s)), {} fields extracted",
                source_->name(), applicable_.size(), rules_->size(),
                applicable_.size() - index_.ungated(), index_.gatedFields(), paths_.size());
}

void SourcePipeline::run() {
  last_commit_ = std::chrono::steady_clock::now();
  RecordBatch batch;
  bool more = true;
  while (more && !stop_.load()) {
    heartbeat_.beat(Heartbeat::steadyNanos());
    adoptRules();
    batch.read_at = {};
    more = source_->next(batch, kPollTimeout);
    heartbeat_.beat(Heartbeat::steadyNanos());
    if (!batch.records.empty()) {
      read_at_ = batch.read_at != std::chrono::steady_clock::time_point{}
                     ? batch.read_at
                     : std::chrono::steady_clock::now();
      processBatch(batch);
      dirty_ = true;
      // Alerts out at once (no fsync); durable at the next commit.
      if (undelivered_) deliverSinks();
    }
    publishStats();
    {
      std::lock_guard lock(commit_mu_);
      // What the failed commit covered is covered by the next one.
      if (std::exchange(commit_failed_, false)) dirty_ = true;
    }
    const bool idle = batch.records.empty();
    const bool due = std::chrono::steady_clock::now() - last_commit_ >= checkpoint_interval_;
    if (dirty_ && more && (idle || due)) startCommit();
  }
  waitForCommitter();
  {
    std::lock_guard lock(commit_mu_);
    if (std::exchange(commit_failed_, false)) dirty_ = true;
  }
  if (dirty_) commit();
  publishStats();
  heartbeat_.finish();
}

namespace {

// A batch is cut into lanes only when each gets at least this many records:
// below it, handing work to another thread costs more than it saves (and a
// live tail's small batches keep their latency).
constexpr size_t kMinLaneRecords = 256;

}  // namespace

size_t SourcePipeline::lanesFor(size_t records) {
  const size_t want = std::min(lanes_.size(), records / kMinLaneRecords);
  if (want < 2) return 1;
  for (size_t i = 1; i < want; ++i) {
    Lane& lane = *lanes_[i];
    if (lane.decoder != nullptr) continue;
    // Made on first use: `auto` can be cloned only once it has chosen.
    lane.own_decoder = decoder_->clone();
    if (!lane.own_decoder) return 1;
    lane.own_decoder->setFields(paths_);
    lane.decoder = lane.own_decoder.get();
  }
  if (lane_threads_.empty()) startLaneThreads();
  return want;
}

void SourcePipeline::startLaneThreads() {
  for (size_t i = 1; i < lanes_.size(); ++i) {
    lane_threads_.emplace_back([this, i] { laneThread(i); });
  }
}

void SourcePipeline::laneThread(size_t index) {
  Lane& lane = *lanes_[index];
  uint64_t seen = 0;
  std::unique_lock lock(lane_mu_);
  while (true) {
    lane_start_.wait(lock, [&] { return lanes_stop_ || lane_round_ != seen; });
    if (lanes_stop_) return;
    seen = lane_round_;
    if (index > lanes_active_) continue;  // not needed this round
    lock.unlock();
    runLane(lane, lane.work);
    lock.lock();
    if (--lanes_pending_ == 0) lane_done_.notify_one();
  }
}

void SourcePipeline::processBatch(const RecordBatch& batch) {
  const int64_t read_nanos = unixNanos();
  const std::span<const Record> records(batch.records);
  const size_t lanes = lanesFor(records.size());
  for (size_t i = 0; i < lanes; ++i) {
    Lane& lane = *lanes_[i];
    resetLane(lane, read_nanos);
    lane.work = records.subspan(records.size() * i / lanes,
                                records.size() * (i + 1) / lanes - records.size() * i / lanes);
  }
  if (lanes > 1) {
    {
      std::lock_guard lock(lane_mu_);
      lanes_active_ = lanes - 1;
      lanes_pending_ = lanes - 1;
      ++lane_round_;
    }
    lane_start_.notify_all();
  }
  runLane(*lanes_[0], lanes_[0]->work);
  if (lanes > 1) {
    std::unique_lock lock(lane_mu_);
    lane_done_.wait(lock, [&] { return lanes_pending_ == 0; });
  }
  int64_t batch_clock = INT64_MIN;
  for (size_t i = 0; i < lanes; ++i) {
    merge(*lanes_[i]);
    batch_clock = std::max(batch_clock, lanes_[i]->batch_clock);
  }
  last_record_ = records.back();
  submitObservations(batch_clock);
  if (lookup_set_) publishLookupCounts();
}

void SourcePipeline::resetLane(Lane& lane, int64_t read_nanos) {
  lane.read_nanos = read_nanos;
  lane.events = 0;
  lane.batch_clock = INT64_MIN;
  lane.last_event_time = last_event_time_;
  lane.alerts.clear();
  lane.alert_ends.clear();
  lane.failures.clear();
  lane.skips.clear();
  for (auto& shard : lane.per_shard) shard.clear();
}

void SourcePipeline::runLane(Lane& lane, std::span<const Record> records) {
  DecodeError error;
  for (const Record& record : records) {
    error.reason = {};
    const Event* event = lane.decoder->decode(record.text, error);
    if (event == nullptr) {
      // No reason: the decoder holds the record for a later one (decoder.h).
      if (!error.reason.empty()) {
        lane.failures.push_back({&record, error.reason, std::move(error.detail)});
      }
    } else {
      processEvents(lane, event, record);
    }
  }
}

void SourcePipeline::merge(Lane& lane) {
  events_.fetch_add(lane.events, std::memory_order_relaxed);
  for (const auto& f : lane.failures) countDecodeError(*f.record, f.reason, f.detail);
  for (size_t r = 0; r < lane.matches.size(); ++r) {
    if (lane.matches[r] == 0) continue;
    rule_metrics_[r].matches.Increment(static_cast<double>(lane.matches[r]));
    lane.matches[r] = 0;
  }
  size_t begin = 0;
  for (const auto& [rule_index, end] : lane.alert_ends) {
    const std::string_view alert = std::string_view(lane.alerts).substr(begin, end - begin);
    begin = end;
    rule_metrics_[rule_index].alerts.Increment();
    for (prometheus::Counter* c : control_counters_[rule_index]) c->Increment();
    alerts_.fetch_add(1, std::memory_order_relaxed);
    for (auto& [sink, counter] : sink_alert_counters_) {
      if (Status s = sink->write(alert); !s.ok()) {
        metrics_.sinkErrors(sink->name()).Increment();
        spdlog::error("sink {}: {}", sink->name(), s.error());
      } else {
        counter->Increment();
      }
    }
    undelivered_ = true;
    ++unobserved_alerts_;
  }
  for (const auto& [reason, n] : lane.skips) {
    auto it = std::find_if(skip_counters_.begin(), skip_counters_.end(),
                           [&](const auto& p) { return p.first == reason; });
    if (it == skip_counters_.end()) {
      skip_counters_.emplace_back(reason, &metrics_.correlationSkipped(reason));
      it = skip_counters_.end() - 1;
    }
    it->second->Increment(static_cast<double>(n));
  }
  for (size_t k = 0; k < lane.per_shard.size(); ++k) {
    auto& from = lane.per_shard[k];
    auto& to = per_shard_[k];
    if (to.empty()) {
      to.swap(from);
    } else {
      for (const auto& o : from) to.add() = o;  // copies into kept capacity
    }
    from.clear();
  }
  if (lane.last_event_time != INT64_MIN) last_event_time_ = lane.last_event_time;
}

void SourcePipeline::submitObservations(int64_t batch_clock) {
  if (correlator_ != nullptr && batch_clock != INT64_MIN) {
    correlator_->submit(per_shard_, batch_clock, rules_, rules_generation_);
  }
}

void SourcePipeline::processEvents(Lane& lane, const Event* event, const Record& record) {
  // A record may hold several events (decoder.h, next()).
  DecodeError error;
  for (uint32_t ordinal = 0; event != nullptr; ++ordinal) {
    processEvent(lane, *event, record, ordinal);
    error.reason = {};
    event = lane.decoder->next(error);
    if (event == nullptr && !error.reason.empty()) {
      lane.failures.push_back({&record, error.reason, std::move(error.detail)});
    }
  }
}

void SourcePipeline::flushDecoder() {
  DecodeError error;
  const Event* event = decoder_->flush(error);
  if (event == nullptr) {
    if (!error.reason.empty()) countDecodeError(last_record_, error.reason, error.detail);
    return;
  }
  // The held event is attributed to the last record read (its origin and
  // offset), which is where its records ended. Decoders that hold events
  // are never cloned, so this is lane 0's.
  Lane& lane = *lanes_[0];
  resetLane(lane, unixNanos());
  processEvents(lane, event, last_record_);
  merge(lane);
  submitObservations(lane.batch_clock);
  if (undelivered_) deliverSinks();
}

void SourcePipeline::countDecodeError(const Record& record, std::string_view reason,
                                      const std::string& detail) {
  const uint64_t n = decode_errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  auto it = std::find_if(decode_error_counters_.begin(), decode_error_counters_.end(),
                         [&](const auto& p) { return p.first == reason; });
  if (it == decode_error_counters_.end()) {
    std::string name(reason);
    prometheus::Counter* counter = &metrics_.decodeErrors(source_->name(), name);
    decode_error_counters_.emplace_back(std::move(name), counter);
    it = decode_error_counters_.end() - 1;
  }
  it->second->Increment();
  if (shouldLogDecodeError(n)) {
    spdlog::warn("source {}: skipped record at {}:{}: {} ({}); {} skipped so far", source_->name(),
                 record.origin, record.offset, reason, detail, n);
  }
}

void SourcePipeline::processEvent(Lane& lane, const Event& event, const Record& record,
                                  uint32_t ordinal) {
  ++lane.events;
  const Event& enriched = lane.enricher ? lane.enricher->enrich(event) : event;
  lane.matched.clear();
  index_.match(enriched, *rules_, lane.candidates, lane.matched);
  int64_t event_time = 0;
  if (stateful_) {
    // Every event moves the correlation clock, matched or not.
    event_time = eventTime(lane, enriched);
    lane.batch_clock = std::max(lane.batch_clock, event_time);
  }
  for (uint32_t rule_index : lane.matched) {
    const auto& info = rules_->rule(rule_index);
    if (stateful_ && info.stateful())
      observe(lane, rule_index, enriched, record, ordinal, event_time);
    // A state-only record's matches and alerts were counted and delivered
    // where it was first evaluated (source.h); here it only feeds state.
    if (record.state_only) continue;
    ++lane.matches[rule_index];
    // Otherwise alerts, if any, come from the correlator.
    if (info.alerts && !(stateful_ && info.suppress)) emit(lane, rule_index, enriched, record);
  }
}

int64_t SourcePipeline::eventTime(Lane& lane, const Event& event) {
  for (const auto& v : event.values(static_cast<FieldId>(timestamp_field_))) {
    if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber) continue;
    auto t = lane.event_times.parse(v.text);
    if (!t) continue;
    // One record stamped far in the future would move the correlation clock
    // past every honest event after it, making them all late; it keeps the
    // source's latest believable time instead (counted).
    if (*t > lane.read_nanos + kFutureTolerance) {
      skipObservation(lane, "future_timestamp");
      break;
    }
    lane.last_event_time = *t;
    return *t;
  }
  // No usable timestamp: the source's latest event time, else the time read.
  return lane.last_event_time != INT64_MIN ? lane.last_event_time : lane.read_nanos;
}

void SourcePipeline::skipObservation(Lane& lane, const char* reason) {
  for (auto& [r, n] : lane.skips) {
    if (r == reason) {
      ++n;
      return;
    }
  }
  lane.skips.emplace_back(reason, 1);
}

namespace {

// The text of a field's first value, or nullptr when absent or null. A
// pointer (into the event), not an optional: built on the stack and
// copied, an optional's flag byte was stored and then loaded back as part
// of a wider word, which stalls (no store forwarding).
const std::string_view* firstText(const Event& event, FieldId id) {
  for (const auto& v : event.values(id)) {
    if (v.type != FieldValue::Type::kNull) return &v.text;
  }
  return nullptr;
}

}  // namespace

void SourcePipeline::appendSample(Lane& lane, std::string& out, const engine::Correlation& c,
                                  uint32_t input, const Event& event, int64_t event_time) {
  auto& values = lane.sample_values;
  values.clear();
  for (FieldId id : c.inputs[input].sample_fields) values.push_back(firstText(event, id));
  engine::encodeSample(out, input, event_time, values);
}

namespace {

// The shard a group's observations go to; with one shard, no hash.
size_t shardOf(std::string_view group, size_t shards) {
  return shards == 1 ? 0 : engine::groupHash(group) % shards;
}

}  // namespace

void SourcePipeline::observe(Lane& lane, uint32_t rule_index, const Event& event,
                             const Record& record, uint32_t ordinal, int64_t event_time) {
  const auto& info = rules_->rule(rule_index);
  const size_t shards = per_shard_.size();
  // The event's identity: a record read again after a restart has the same.
  // The records of a run mostly share their origin, so its hash is kept.
  if (record.origin != lane.origin || lane.origin_hash == 0) {
    lane.origin.assign(record.origin);
    lane.origin_hash = std::hash<std::string_view>{}(record.origin);
  }
  uint64_t event_id = lane.origin_hash * 0x9E3779B97F4A7C15ULL ^ (record.offset + 1) ^
                      source_hash_ ^ (static_cast<uint64_t>(ordinal) * 0xC2B2AE3D27D4EB4FULL);
  if (event_id == 0) event_id = 1;
  // Each observation is written in place into a slot of its shard's batch,
  // which keeps the capacity of the strings of one the correlator has
  // finished with (ObservationBatch); the group, which picks the shard, is
  // put together first in lane.group.
  std::string& group = lane.group;
  for (const auto& [k, input] : info.feeds) {
    const engine::Correlation& c = rules_->correlations()[k];
    const engine::CorrelationInput& in = c.inputs[input];
    group.clear();
    bool missing = false;
    for (size_t g = 0; g < in.group_fields.size(); ++g) {
      auto text = firstText(event, in.group_fields[g]);
      if (!text) {
        missing = true;
        break;
      }
      if (g > 0) group.push_back(engine::kGroupSeparator);
      group.append(*text);
    }
    if (missing) {
      skipObservation(lane, "missing_group_field");
      continue;
    }
    uint64_t value_hash = 0;
    double value = 0;
    if (!c.field.empty()) {
      auto text = firstText(event, c.field_ids[input]);
      if (!text) {
        skipObservation(lane, "missing_value");
        continue;
      }
      if (c.type == engine::CorrelationType::kValueCount) {
        value_hash = std::hash<std::string_view>{}(*text);
      } else {
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (ec != std::errc() || ptr != text->data() + text->size()) {
          skipObservation(lane, "not_a_number");
          continue;
        }
      }
    }
    engine::Observation& o = lane.per_shard[shardOf(group, shards)].add();
    o.rule = c.rule_index;
    o.input = input;
    o.time = event_time;
    o.event_id = event_id;
    o.state_only = record.state_only;
    o.value_hash = value_hash;
    o.value = value;
    o.group.assign(group);
    appendSample(lane, o.sample, c, input, event, event_time);
  }
  if (info.suppress && info.alerts) {
    group.clear();
    for (size_t g = 0; g < info.suppress->by_ids.size(); ++g) {
      if (g > 0) group.push_back(engine::kGroupSeparator);
      const std::string_view* text = firstText(event, info.suppress->by_ids[g]);
      if (text != nullptr) group.append(*text);
    }
    engine::Observation& o = lane.per_shard[shardOf(group, shards)].add();
    o.rule = rule_index;
    o.time = event_time;
    o.state_only = record.state_only;
    o.group.assign(group);
    // A state-only observation opens or extends the window; its alert is
    // never let through, so it carries none.
    if (o.state_only) return;
    alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                          &info.controls, &info.fields, &info.field_ids};
    alert::AlertOrigin origin{source_->name(), record.origin, record.offset};
    lane.renderer.render(rule, event, timestamp_field_, origin, lane.read_nanos, o.sample);
  }
}

void SourcePipeline::publishLookupCounts() {
  for (auto& lane : lanes_) {
    if (!lane->enricher) continue;
    lane->enricher->takeCounts(lookup_counts_);
    for (size_t i = 0; i < lookup_counts_.size() && i < lookup_metrics_.size(); ++i) {
      const auto& c = lookup_counts_[i];
      if (c.hits > 0) lookup_metrics_[i].hits.Increment(static_cast<double>(c.hits));
      if (c.misses > 0) lookup_metrics_[i].misses.Increment(static_cast<double>(c.misses));
    }
  }
}

void SourcePipeline::emit(Lane& lane, uint32_t rule_index, const Event& event,
                          const Record& record) {
  const auto& info = rules_->rule(rule_index);
  alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                        &info.controls, &info.fields, &info.field_ids};
  alert::AlertOrigin origin{source_->name(), record.origin, record.offset};
  lane.renderer.render(rule, event, timestamp_field_, origin, lane.read_nanos, lane.scratch);
  lane.alerts += lane.scratch;
  lane.alert_ends.emplace_back(rule_index, lane.alerts.size());
}

void SourcePipeline::deliverSinks() {
  undelivered_ = false;
  for (AlertSink* sink : sinks_) {
    // A failure here is retried by the flush before the next checkpoint,
    // which holds the checkpoint back if it fails too.
    if (Status s = sink->deliver(); !s.ok()) {
      metrics_.sinkErrors(sink->name()).Increment();
      spdlog::warn("sink {}: {}", sink->name(), s.error());
    }
  }
  observeAlertLatency(alert_latency_, std::chrono::steady_clock::now() - read_at_,
                      std::exchange(unobserved_alerts_, 0));
}

bool SourcePipeline::flushSinks() {
  std::string failed;
  for (AlertSink* sink : sinks_) {
    if (Status s = sink->flush(); !s.ok()) {
      metrics_.sinkErrors(sink->name()).Increment();
      if (!failed.empty()) failed += "; ";
      failed += "sink " + sink->name() + ": " + s.error();
    }
  }
  if (failed.empty()) return true;
  commitFailed(failed);
  return false;
}

void SourcePipeline::commitFailed(const std::string& why) {
  metrics_.checkpointErrors(source_->name()).Increment();
  const auto now = std::chrono::steady_clock::now();
  uint64_t failures = 0;
  {
    std::lock_guard lock(commit_log_mu_);
    failures = ++commit_failures_;
    // The first failure, then at most one line per kCommitLogEvery: a full
    // disk fails every attempt, several times a second.
    if (failures > 1 && now - last_commit_log_ < kCommitLogEvery) return;
    last_commit_log_ = now;
  }
  spdlog::error(
      "source {}: {}; checkpoint NOT saved: the source's position stays where it was until "
      "this is fixed (state_dir or an output's disk full or read-only?); {} failed attempt(s) "
      "so far",
      source_->name(), why, failures);
}

void SourcePipeline::commitSucceeded() {
  uint64_t failures = 0;
  {
    std::lock_guard lock(commit_log_mu_);
    failures = std::exchange(commit_failures_, 0);
  }
  if (failures > 0) {
    spdlog::warn("source {}: checkpoint saved again after {} failed attempt(s)", source_->name(),
                 failures);
  }
}

void SourcePipeline::startCommit() {
  {
    std::lock_guard lock(commit_mu_);
    if (commit_busy_) return;  // tried again after the next batch
  }
  flushDecoder();  // nothing held back may sit behind the offsets committed now
  std::unique_ptr<SourceMark> mark = source_->mark();
  if (!mark) {
    commit();
    return;
  }
  CommitJob job{correlator_ != nullptr ? correlator_->requestCheckpoint() : nullptr,
                std::move(mark)};
  if (!committer_.joinable()) committer_ = std::thread([this] { committerThread(); });
  {
    std::lock_guard lock(commit_mu_);
    commit_job_ = std::move(job);
    commit_busy_ = true;
  }
  commit_cv_.notify_all();
  dirty_ = false;
  last_commit_ = std::chrono::steady_clock::now();
}

void SourcePipeline::committerThread() {
  std::unique_lock lock(commit_mu_);
  while (true) {
    commit_cv_.wait(lock, [&] { return committer_stop_ || commit_job_.has_value(); });
    if (!commit_job_) return;  // stopping, nothing left
    CommitJob job = std::move(*commit_job_);
    commit_job_.reset();
    lock.unlock();
    bool ok = true;
    if (job.ticket) {
      if (Status s = correlator_->completeCheckpoint(job.ticket); !s.ok()) {
        commitFailed("correlation state not saved: " + s.error());
        ok = false;
      }
    }
    if (ok) ok = flushSinks();
    if (ok) {
      if (Status s = source_->commitMark(*job.mark); !s.ok()) {
        commitFailed(s.error());
        ok = false;
      }
    }
    if (ok) commitSucceeded();
    lock.lock();
    commit_busy_ = false;
    if (!ok) commit_failed_ = true;
    commit_cv_.notify_all();
  }
}

void SourcePipeline::waitForCommitter() {
  std::unique_lock lock(commit_mu_);
  commit_cv_.wait(lock, [&] { return !commit_busy_; });
}

void SourcePipeline::commit() {
  waitForCommitter();
  flushDecoder();  // nothing held back may sit behind the offsets committed now
  if (correlator_ != nullptr) {
    if (Status s = correlator_->checkpoint(); !s.ok()) {
      commitFailed("correlation state not saved: " + s.error());
      return;
    }
  }
  if (!flushSinks()) return;
  if (Status s = source_->commit(); !s.ok()) {
    commitFailed(s.error());
    return;
  }
  commitSucceeded();
  dirty_ = false;
  last_commit_ = std::chrono::steady_clock::now();
}

void SourcePipeline::publishStats() {
  const SourceStats now = source_->stats();
  if (now.records > last_stats_.records) {
    source_metrics_.events.Increment(static_cast<double>(now.records - last_stats_.records));
    source_metrics_.last_event_time.SetToCurrentTime();
  }
  if (now.bytes_read > last_stats_.bytes_read) {
    source_metrics_.bytes.Increment(static_cast<double>(now.bytes_read - last_stats_.bytes_read));
  }
  if (now.oversized_skipped > last_stats_.oversized_skipped) {
    source_metrics_.oversized.Increment(
        static_cast<double>(now.oversized_skipped - last_stats_.oversized_skipped));
  }
  if (now.rotations > last_stats_.rotations) {
    source_metrics_.rotations.Increment(static_cast<double>(now.rotations - last_stats_.rotations));
  }
  if (now.truncations_unrecovered > last_stats_.truncations_unrecovered) {
    source_metrics_.truncations_unrecovered.Increment(
        static_cast<double>(now.truncations_unrecovered - last_stats_.truncations_unrecovered));
  }
  if (now.gaps > last_stats_.gaps) {
    source_metrics_.gaps.Increment(static_cast<double>(now.gaps - last_stats_.gaps));
  }
  if (now.replayed > last_stats_.replayed) {
    source_metrics_.replayed.Increment(static_cast<double>(now.replayed - last_stats_.replayed));
  }
  source_metrics_.lag_bytes.Set(static_cast<double>(now.lag_bytes));
  source_metrics_.files_open.Set(static_cast<double>(now.files_open));
  last_stats_ = now;
}

}  // namespace trailwatch::server
