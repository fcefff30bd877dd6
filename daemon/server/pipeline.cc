#include "daemon/server/pipeline.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <functional>

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

}  // namespace

SourcePipeline::SourcePipeline(std::unique_ptr<Source> source, std::unique_ptr<Decoder> decoder,
                               std::optional<LogSource> declared, std::vector<AlertSink*> sinks,
                               const RuleSetHolder& rules, metrics::Metrics& metrics,
                               std::chrono::milliseconds checkpoint_interval,
                               const LookupSetHolder* lookups, Correlator* correlator,
                               std::string timestamp_field)
    : source_(std::move(source)),
      decoder_(std::move(decoder)),
      declared_(std::move(declared)),
      sinks_(std::move(sinks)),
      holder_(rules),
      metrics_(metrics),
      checkpoint_interval_(checkpoint_interval),
      lookups_(lookups),
      source_metrics_(metrics.source(source_->name())),
      correlator_(correlator),
      timestamp_path_(std::move(timestamp_field)) {
  if (correlator_ != nullptr) per_shard_.resize(correlator_->shards());
  source_hash_ = std::hash<std::string>{}(source_->name());
  for (AlertSink* sink : sinks_)
    sink_alert_counters_.emplace_back(sink, &metrics_.sinkAlerts(sink->name()));
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
  if (enricher_) publishLookupCounts();  // counts belong to the tables they were taken with
  rules_ = holder_.snapshot();
  rules_generation_ = generation;
  lookups_generation_ = lookups_generation;
  std::shared_ptr<const enrich::LookupSet> lookups = lookups_ ? lookups_->snapshot() : nullptr;

  // The decoder extracts what rules read, the timestamp, and every lookup's
  // match field (which no rule may read, but enrichment needs).
  std::vector<std::string> paths = rules_->fieldPaths();
  auto ts = std::find(paths.begin(), paths.end(), timestamp_path_);
  if (ts == paths.end()) {
    paths.emplace_back(timestamp_path_);
    ts = paths.end() - 1;
  }
  timestamp_field_ = ts - paths.begin();
  if (lookups && lookups->size() > 0) {
    for (auto& match : lookups->matchPaths()) {
      if (std::find(paths.begin(), paths.end(), match) == paths.end()) {
        paths.push_back(std::move(match));
      }
    }
    enricher_ = std::make_unique<enrich::Enricher>(lookups, paths);
    lookup_metrics_.clear();
    for (size_t i = 0; i < lookups->size(); ++i) {
      lookup_metrics_.push_back(metrics_.lookup(lookups->table(i).spec().name));
    }
  } else {
    enricher_.reset();
    lookup_metrics_.clear();
  }
  decoder_->setFields(paths);
  if (!rules_changed) return;

  applicable_ = rules_->rulesFor(declared_ ? &*declared_ : nullptr);
  index_ = engine::RuleIndex(*rules_, applicable_);
  stateful_ = correlator_ != nullptr && rules_->stateful();
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
                applicable_.size() - index_.ungated(), index_.gatedFields(), paths.size());
}

void SourcePipeline::run() {
  last_commit_ = std::chrono::steady_clock::now();
  RecordBatch batch;
  bool more = true;
  while (more && !stop_.load()) {
    adoptRules();
    more = source_->next(batch, kPollTimeout);
    if (!batch.records.empty()) {
      processBatch(batch);
      dirty_ = true;
      // Alerts out at once (no fsync); durable at the next commit.
      if (undelivered_) deliverSinks();
    }
    publishStats();
    const bool idle = batch.records.empty();
    const bool due = std::chrono::steady_clock::now() - last_commit_ >= checkpoint_interval_;
    if (dirty_ && (idle || due || !more)) commit();
  }
  if (dirty_) commit();
  publishStats();
}

void SourcePipeline::processBatch(const RecordBatch& batch) {
  const int64_t read_nanos = unixNanos();
  int64_t batch_clock = INT64_MIN;
  DecodeError error;
  for (const Record& record : batch.records) {
    error.reason = {};
    const Event* event = decoder_->decode(record.text, error);
    if (event == nullptr) {
      if (!error.reason.empty()) countDecodeError(record, error);  // else: held (decoder.h)
    } else {
      processEvents(event, record, read_nanos, batch_clock);
    }
    last_record_ = record;
  }
  if (correlator_ != nullptr && batch_clock != INT64_MIN) {
    correlator_->submit(per_shard_, batch_clock, rules_, rules_generation_);
  }
  if (enricher_) publishLookupCounts();
}

void SourcePipeline::processEvents(const Event* event, const Record& record, int64_t read_nanos,
                                   int64_t& batch_clock) {
  // A record may hold several events (decoder.h, next()).
  DecodeError error;
  for (uint32_t ordinal = 0; event != nullptr; ++ordinal) {
    processEvent(*event, record, ordinal, read_nanos, batch_clock);
    error.reason = {};
    event = decoder_->next(error);
    if (event == nullptr && !error.reason.empty()) countDecodeError(record, error);
  }
}

void SourcePipeline::flushDecoder() {
  DecodeError error;
  const Event* event = decoder_->flush(error);
  if (event == nullptr) {
    if (!error.reason.empty()) countDecodeError(last_record_, error);
    return;
  }
  // The held event is attributed to the last record read (its origin and
  // offset), which is where its records ended.
  int64_t batch_clock = INT64_MIN;
  processEvents(event, last_record_, unixNanos(), batch_clock);
  if (correlator_ != nullptr && batch_clock != INT64_MIN) {
    correlator_->submit(per_shard_, batch_clock, rules_, rules_generation_);
  }
}

void SourcePipeline::countDecodeError(const Record& record, const DecodeError& error) {
  const uint64_t n = decode_errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  auto it = std::find_if(decode_error_counters_.begin(), decode_error_counters_.end(),
                         [&](const auto& p) { return p.first == error.reason; });
  if (it == decode_error_counters_.end()) {
    std::string reason(error.reason);
    prometheus::Counter* counter = &metrics_.decodeErrors(source_->name(), reason);
    decode_error_counters_.emplace_back(std::move(reason), counter);
    it = decode_error_counters_.end() - 1;
  }
  it->second->Increment();
  if (shouldLogDecodeError(n)) {
    spdlog::warn("source {}: skipped record at {}:{}: {} ({}); {} skipped so far", source_->name(),
                 record.origin, record.offset, error.reason, error.detail, n);
  }
}

void SourcePipeline::processEvent(const Event& event, const Record& record, uint32_t ordinal,
                                  int64_t read_nanos, int64_t& batch_clock) {
  events_.fetch_add(1, std::memory_order_relaxed);
  const Event& enriched = enricher_ ? enricher_->enrich(event) : event;
  matched_.clear();
  index_.candidates(enriched, candidates_);
  rules_->evaluate(enriched, candidates_, matched_);
  int64_t event_time = 0;
  if (stateful_) {
    // Every event moves the correlation clock, matched or not.
    event_time = eventTime(enriched, read_nanos);
    batch_clock = std::max(batch_clock, event_time);
  }
  for (uint32_t rule_index : matched_) {
    const auto& info = rules_->rule(rule_index);
    if (stateful_ && info.stateful()) {
      observe(rule_index, enriched, record, ordinal, read_nanos, event_time);
    }
    if (info.alerts && !(stateful_ && info.suppress)) {
      emit(rule_index, enriched, record, read_nanos);
    } else {
      rule_metrics_[rule_index].matches.Increment();  // alerts, if any, come from the correlator
    }
  }
}

int64_t SourcePipeline::eventTime(const Event& event, int64_t read_nanos) {
  for (const auto& v : event.values(static_cast<FieldId>(timestamp_field_))) {
    if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber) continue;
    auto t = parseEventTime(v.text);
    if (!t) continue;
    // One record stamped far in the future would move the correlation clock
    // past every honest event after it, making them all late; it keeps the
    // source's latest believable time instead (counted).
    if (*t > read_nanos + kFutureTolerance) {
      skipObservation("future_timestamp");
      break;
    }
    last_event_time_ = *t;
    return *t;
  }
  // No usable timestamp: the source's latest event time, else the time read.
  return last_event_time_ != INT64_MIN ? last_event_time_ : read_nanos;
}

void SourcePipeline::skipObservation(const char* reason) {
  auto it = std::find_if(skip_counters_.begin(), skip_counters_.end(),
                         [&](const auto& p) { return p.first == reason; });
  if (it == skip_counters_.end()) {
    skip_counters_.emplace_back(reason, &metrics_.correlationSkipped(reason));
    it = skip_counters_.end() - 1;
  }
  it->second->Increment();
}

namespace {

// The first value of a field as text, or nullopt when absent or null.
std::optional<std::string_view> firstText(const Event& event, FieldId id) {
  for (const auto& v : event.values(id)) {
    if (v.type != FieldValue::Type::kNull) return v.text;
  }
  return std::nullopt;
}

}  // namespace

void SourcePipeline::appendSample(std::string& out, const engine::Correlation& c, uint32_t input,
                                  const Event& event, int64_t event_time) {
  engine::beginSample(out, input, event_time);
  const auto& names = engine::sampleFields(*rules_, c, input);
  // The ids of those names: the correlation's own `fields`, else the rule's.
  const auto& self = rules_->rule(c.rule_index);
  const auto& ids =
      !self.fields.empty() ? self.field_ids : rules_->rule(c.inputs[input].index).field_ids;
  for (size_t i = 0; i < names.size() && i < ids.size(); ++i) {
    const auto text = firstText(event, ids[i]);
    engine::appendSampleValue(out, text ? &*text : nullptr);
  }
}

void SourcePipeline::observe(uint32_t rule_index, const Event& event, const Record& record,
                             uint32_t ordinal, int64_t read_nanos, int64_t event_time) {
  const auto& info = rules_->rule(rule_index);
  const size_t shards = per_shard_.size();
  // The event's identity: a record read again after a restart has the same.
  uint64_t event_id = std::hash<std::string_view>{}(record.origin) * 0x9E3779B97F4A7C15ULL ^
                      (record.offset + 1) ^ source_hash_ ^
                      (static_cast<uint64_t>(ordinal) * 0xC2B2AE3D27D4EB4FULL);
  if (event_id == 0) event_id = 1;
  for (const auto& [k, input] : info.feeds) {
    const engine::Correlation& c = rules_->correlations()[k];
    const engine::CorrelationInput& in = c.inputs[input];
    engine::Observation o;
    o.rule = c.rule_index;
    o.input = input;
    o.time = event_time;
    o.event_id = event_id;
    bool missing = false;
    for (size_t g = 0; g < in.group_fields.size(); ++g) {
      auto text = firstText(event, in.group_fields[g]);
      if (!text) {
        missing = true;
        break;
      }
      if (g > 0) o.group.push_back(engine::kGroupSeparator);
      o.group.append(*text);
    }
    if (missing) {
      skipObservation("missing_group_field");
      continue;
    }
    if (!c.field.empty()) {
      auto text = firstText(event, c.field_ids[input]);
      if (!text) {
        skipObservation("missing_value");
        continue;
      }
      if (c.type == engine::CorrelationType::kValueCount) {
        o.value_hash = std::hash<std::string_view>{}(*text);
      } else {
        double number = 0;
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
        if (ec != std::errc() || ptr != text->data() + text->size()) {
          skipObservation("not_a_number");
          continue;
        }
        o.value = number;
      }
    }
    appendSample(o.sample, c, input, event, event_time);
    const size_t shard = engine::groupHash(o.group) % shards;
    per_shard_[shard].push_back(std::move(o));
  }
  if (info.suppress && info.alerts) {
    engine::Observation o;
    o.rule = rule_index;
    o.time = event_time;
    for (size_t g = 0; g < info.suppress->by_ids.size(); ++g) {
      if (g > 0) o.group.push_back(engine::kGroupSeparator);
      o.group.append(firstText(event, info.suppress->by_ids[g]).value_or(std::string_view()));
    }
    alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                          &info.controls, &info.fields, &info.field_ids};
    alert::AlertOrigin origin{source_->name(), record.origin, record.offset};
    renderer_.render(rule, event, timestamp_field_, origin, read_nanos, o.sample);
    const size_t shard = engine::groupHash(o.group) % shards;
    per_shard_[shard].push_back(std::move(o));
  }
}

void SourcePipeline::publishLookupCounts() {
  enricher_->takeCounts(lookup_counts_);
  for (size_t i = 0; i < lookup_counts_.size() && i < lookup_metrics_.size(); ++i) {
    const auto& c = lookup_counts_[i];
    if (c.hits > 0) lookup_metrics_[i].hits.Increment(static_cast<double>(c.hits));
    if (c.misses > 0) lookup_metrics_[i].misses.Increment(static_cast<double>(c.misses));
  }
}

void SourcePipeline::emit(uint32_t rule_index, const Event& event, const Record& record,
                          int64_t read_nanos) {
  const auto& info = rules_->rule(rule_index);
  alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                        &info.controls, &info.fields, &info.field_ids};
  alert::AlertOrigin origin{source_->name(), record.origin, record.offset};
  renderer_.render(rule, event, timestamp_field_, origin, read_nanos, alert_);
  rule_metrics_[rule_index].matches.Increment();
  rule_metrics_[rule_index].alerts.Increment();
  for (prometheus::Counter* c : control_counters_[rule_index]) c->Increment();
  alerts_.fetch_add(1, std::memory_order_relaxed);
  for (auto& [sink, counter] : sink_alert_counters_) {
    if (Status s = sink->write(alert_); !s.ok()) {
      metrics_.sinkErrors(sink->name()).Increment();
      spdlog::error("sink {}: {}", sink->name(), s.error());
    } else {
      counter->Increment();
    }
  }
  undelivered_ = true;
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
}

bool SourcePipeline::flushSinks() {
  bool ok = true;
  for (AlertSink* sink : sinks_) {
    if (Status s = sink->flush(); !s.ok()) {
      metrics_.sinkErrors(sink->name()).Increment();
      spdlog::error("sink {}: {}; checkpoint of source {} held back", sink->name(), s.error(),
                    source_->name());
      ok = false;
    }
  }
  return ok;
}

void SourcePipeline::commit() {
  flushDecoder();  // nothing held back may sit behind the offsets committed now
  if (correlator_ != nullptr) {
    if (Status s = correlator_->checkpoint(); !s.ok()) {
      metrics_.checkpointErrors(source_->name()).Increment();
      spdlog::error("source {}: correlation state not saved: {}; checkpoint held back",
                    source_->name(), s.error());
      return;
    }
  }
  if (!flushSinks()) return;
  if (Status s = source_->commit(); !s.ok()) {
    metrics_.checkpointErrors(source_->name()).Increment();
    spdlog::error("source {}: checkpoint not saved: {}", source_->name(), s.error());
    return;
  }
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
  source_metrics_.lag_bytes.Set(static_cast<double>(now.lag_bytes));
  source_metrics_.files_open.Set(static_cast<double>(now.files_open));
  last_stats_ = now;
}

}  // namespace trailwatch::server
