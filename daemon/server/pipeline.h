// SourcePipeline: drives one source through decode → enrichment (lookup
// tables, when a LookupSetHolder is given) → rule evaluation → alert sinks →
// checkpoint, on the calling thread. Matches of rules that keep state
// (correlated or suppressed rules) become Observations handed to the
// Correlator, routed by group key to its shards.
//
// Order per batch is what makes delivery at least once: every record of a
// batch is evaluated and its alerts written; the sinks are flushed; only
// then may the source commit its checkpoint. Commits happen at most once
// per checkpoint interval while records flow, when the source goes idle,
// when it ends, and on stop. A failed flush holds the checkpoint back.
//
// Thread-safety: run() on one thread; requestStop() from any thread;
// totals() after run() returns (or approximately, from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/alert/alert_json.h"
#include "daemon/engine/rule_index.h"
#include "daemon/enrich/enricher.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/correlator.h"
#include "daemon/server/snapshot_holder.h"
#include "trailwatch/alert_sink.h"
#include "trailwatch/decoder.h"
#include "trailwatch/logsource.h"
#include "trailwatch/source.h"

namespace trailwatch::server {

struct PipelineTotals {
  uint64_t events = 0;  // records decoded and evaluated
  uint64_t bytes = 0;
  uint64_t decode_errors = 0;
  uint64_t oversized = 0;
  uint64_t alerts = 0;
};

class SourcePipeline {
 public:
  SourcePipeline(std::unique_ptr<Source> source, std::unique_ptr<Decoder> decoder,
                 std::optional<LogSource> declared, std::vector<AlertSink*> sinks,
                 const RuleSetHolder& rules, metrics::Metrics& metrics,
                 std::chrono::milliseconds checkpoint_interval,
                 const LookupSetHolder* lookups = nullptr, Correlator* correlator = nullptr,
                 std::string timestamp_field = "@timestamp");

  // Reads until the source ends or requestStop(); commits before returning.
  void run();
  void requestStop();

  const std::string& name() const { return source_->name(); }
  PipelineTotals totals() const;

 private:
  // (Re)binds decoder fields, the enricher and per-rule metrics to the
  // current rule set and lookup tables.
  void adoptRules();
  void publishLookupCounts();
  void processBatch(const RecordBatch& batch);
  void emit(uint32_t rule_index, const Event& event, const Record& record, int64_t read_nanos);
  // Hands a stateful rule's match to the correlator's shard buffers.
  void observe(uint32_t rule_index, const Event& event, const Record& record, uint32_t ordinal,
               int64_t read_nanos, int64_t event_time);
  void processEvent(const Event& event, const Record& record, uint32_t ordinal, int64_t read_nanos,
                    int64_t& batch_clock);
  void countDecodeError(const Record& record, const DecodeError& error);
  void processEvents(const Event* first, const Record& record, int64_t read_nanos,
                     int64_t& batch_clock);
  // Processes the event the decoder held back for more records (decoder.h).
  void flushDecoder();
  int64_t eventTime(const Event& event, int64_t read_nanos);
  void appendSample(std::string& out, const engine::Correlation& c, uint32_t input,
                    const Event& event, int64_t event_time);
  void skipObservation(const char* reason);
  bool flushSinks();
  // Hands the sinks' buffered alerts on (AlertSink::deliver) after a batch.
  void deliverSinks();
  void commit();
  void publishStats();

  std::unique_ptr<Source> source_;
  std::unique_ptr<Decoder> decoder_;
  const std::optional<LogSource> declared_;
  const std::vector<AlertSink*> sinks_;
  const RuleSetHolder& holder_;
  metrics::Metrics& metrics_;
  const std::chrono::milliseconds checkpoint_interval_;
  std::atomic<bool> stop_{false};

  // Bound to the rule set of generation rules_generation_.
  std::shared_ptr<const engine::RuleSet> rules_;
  uint64_t rules_generation_ = ~uint64_t{0};
  std::vector<uint32_t> applicable_;
  engine::RuleIndex index_;           // applicable_, by each rule's gate (rule_index.h)
  std::vector<uint32_t> candidates_;  // per event: the rules the index admits
  int64_t timestamp_field_ = -1;
  std::vector<metrics::RuleMetrics> rule_metrics_;                   // by rule index
  std::vector<std::vector<prometheus::Counter*>> control_counters_;  // by rule index

  // Bound to the lookup set of generation lookups_generation_ (and to the
  // rule set's fields); null without lookups.
  const LookupSetHolder* lookups_;
  uint64_t lookups_generation_ = ~uint64_t{0};
  std::unique_ptr<enrich::Enricher> enricher_;
  std::vector<metrics::LookupMetrics> lookup_metrics_;  // by table index
  std::vector<enrich::LookupCounts> lookup_counts_;

  metrics::SourceMetrics source_metrics_;
  std::vector<std::pair<std::string, prometheus::Counter*>> decode_error_counters_;
  std::vector<std::pair<AlertSink*, prometheus::Counter*>> sink_alert_counters_;
  SourceStats last_stats_;
  std::vector<uint32_t> matched_;
  bool undelivered_ = false;  // alerts written to the sinks since the last deliverSinks()
  alert::AlertRenderer renderer_;
  Correlator* correlator_;
  const std::string timestamp_path_;
  std::vector<std::vector<engine::Observation>> per_shard_;
  Record last_record_;     // the last record decoded (views valid until the next batch)
  bool stateful_ = false;  // the rule set needs the correlator
  int64_t last_event_time_ = INT64_MIN;  // latest believable event time of this source
  uint64_t source_hash_ = 0;
  std::vector<std::pair<std::string, prometheus::Counter*>> skip_counters_;
  std::string alert_;
  std::atomic<uint64_t> events_{0}, decode_errors_{0}, alerts_{0};
  bool dirty_ = false;  // records handed out since the last commit
  std::chrono::steady_clock::time_point last_commit_;
};

}  // namespace trailwatch::server
