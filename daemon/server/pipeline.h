// SourcePipeline: drives one source through decode → enrichment (lookup
// tables, when a LookupSetHolder is given) → rule evaluation → alert sinks →
// checkpoint. Matches of rules that keep state (correlated or suppressed
// rules) become Observations handed to the Correlator, routed by group key
// to its shards.
//
// Lanes: with `lanes` > 1 and a decoder whose events each come from one
// record (Decoder::clone()), a large batch is cut into that many runs of
// records, decoded and evaluated at once on the calling thread and
// lanes - 1 helper threads, each with its own decoder, enricher and
// renderer; their alerts, observations and counts are then taken in record
// order, so the output is the same as with one lane. Small batches (a live
// tail) stay on the calling thread. The one thing a lane cannot see is the
// runs before its own: an event without a usable timestamp takes the
// latest event time of its own run, else of the batches before.
//
// A state-only record (Record::state_only, a takeover replay) is decoded,
// enriched and evaluated like any other, but only its observations go on,
// flagged (engine::Observation::state_only), so the correlator rebuilds
// windows without alerting; it raises no alert of its own and is not
// counted in rule matches.
//
// Order per batch is what makes delivery at least once: every record of a
// batch is evaluated and its alerts written; the sinks are flushed; only
// then may the source commit its checkpoint. Commits happen at most once
// per checkpoint interval while records flow, when the source goes idle,
// when it ends, and on stop. A failed flush holds the checkpoint back.
//
// While records flow, a commit does not stop them: the pipeline takes the
// source's position (Source::mark()) and asks the correlator for its state
// as of the same moment, then reads on while a committer thread saves the
// state, flushes the sinks and commits that position, in that order. One
// commit is in flight at a time; the last one, at the end or on stop,
// waits. Sources that cannot mark a position are committed in line.
//
// Thread-safety: run() on one thread (which owns the lane threads);
// requestStop() from any thread; totals() after run() returns (or
// approximately, from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "daemon/alert/alert_json.h"
#include "daemon/common/event_time.h"
#include "daemon/engine/rule_index.h"
#include "daemon/enrich/enricher.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/correlator.h"
#include "daemon/server/heartbeat.h"
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

// Records `alerts` alerts handed to the outputs `latency` after their
// record was read, in trailwatch_alert_latency_seconds.
void observeAlertLatency(prometheus::Histogram& histogram,
                         std::chrono::steady_clock::duration latency, uint64_t alerts);

class SourcePipeline {
 public:
  SourcePipeline(std::unique_ptr<Source> source, std::unique_ptr<Decoder> decoder,
                 std::optional<LogSource> declared, std::vector<AlertSink*> sinks,
                 const RuleSetHolder& rules, metrics::Metrics& metrics,
                 std::chrono::milliseconds checkpoint_interval,
                 const LookupSetHolder* lookups = nullptr, Correlator* correlator = nullptr,
                 std::string timestamp_field = "@timestamp", size_t lanes = 1);
  ~SourcePipeline();
  SourcePipeline(const SourcePipeline&) = delete;
  SourcePipeline& operator=(const SourcePipeline&) = delete;

  // Reads until the source ends or requestStop(); commits before returning.
  void run();
  void requestStop();

  const std::string& name() const { return source_->name(); }
  PipelineTotals totals() const;
  // Beaten by run() each time round its loop (at least every poll timeout
  // while it waits for input); finished when run() returns. For the
  // watchdog (service_notifier.h).
  const Heartbeat& heartbeat() const { return heartbeat_; }

 private:
  // What one lane needs to take a run of records to rendered alerts and
  // observations, and what it made of them, kept until merge() takes it.
  struct Lane {
    Decoder* decoder = nullptr;            // lane 0: the pipeline's own
    std::unique_ptr<Decoder> own_decoder;  // other lanes: a clone
    std::unique_ptr<enrich::Enricher> enricher;
    engine::RuleIndex::Candidates candidates;
    std::vector<uint32_t> matched;
    alert::AlertRenderer renderer;
    std::string scratch;           // the alert being written
    std::span<const Record> work;  // this round's records (lane threads)
    int64_t read_nanos = 0;
    // Output of the run.
    uint64_t events = 0;
    int64_t batch_clock = INT64_MIN;
    int64_t last_event_time = INT64_MIN;                  // latest believable event time seen
    EventTimeParser event_times;                          // reads the timestamp field
    std::string alerts;                                   // rendered, back to back
    std::vector<std::pair<uint32_t, size_t>> alert_ends;  // (rule index, end in alerts)
    std::vector<uint64_t> matches;                        // by rule index
    std::vector<engine::ObservationBatch> per_shard;
    std::string group;  // the group of the observation being written
    std::vector<const std::string_view*> sample_values;  // and its sample's
    std::string origin;                                  // the last observed record's origin,
    uint64_t origin_hash = 0;                            // and its hash (0: none yet)
    struct Failure {
      const Record* record;
      std::string_view reason;
      std::string detail;
    };
    std::vector<Failure> failures;
    std::vector<std::pair<const char*, uint64_t>> skips;  // observations not made, by reason
  };

  // (Re)binds decoder fields, the enricher and per-rule metrics to the
  // current rule set and lookup tables.
  void adoptRules();
  void publishLookupCounts();
  void processBatch(const RecordBatch& batch);
  // How many lanes `records` is cut into: 1 unless there are helper lanes,
  // the decoder can be cloned, and each lane gets enough records.
  size_t lanesFor(size_t records);
  void startLaneThreads();
  void laneThread(size_t index);
  void resetLane(Lane& lane, int64_t read_nanos);
  void runLane(Lane& lane, std::span<const Record> records);
  // Takes a lane's output in order: metrics, alerts to the sinks,
  // observations to the correlator's shard buffers.
  void merge(Lane& lane);
  void emit(Lane& lane, uint32_t rule_index, const Event& event, const Record& record);
  // Hands a stateful rule's match to the lane's shard buffers.
  void observe(Lane& lane, uint32_t rule_index, const Event& event, const Record& record,
               uint32_t ordinal, int64_t event_time);
  void processEvent(Lane& lane, const Event& event, const Record& record, uint32_t ordinal);
  void countDecodeError(const Record& record, std::string_view reason, const std::string& detail);
  void processEvents(Lane& lane, const Event* first, const Record& record);
  // Processes the event the decoder held back for more records (decoder.h).
  void flushDecoder();
  int64_t eventTime(Lane& lane, const Event& event);
  void appendSample(Lane& lane, std::string& out, const engine::Correlation& c, uint32_t input,
                    const Event& event, int64_t event_time);
  static void skipObservation(Lane& lane, const char* reason);
  void submitObservations(int64_t batch_clock);
  bool flushSinks();
  // A commit that did not happen (state not saved, an output not flushed,
  // the position not saved): counted in trailwatch_checkpoint_errors_total
  // and logged, the first time and then at most every 10 s while they keep
  // failing.
  void commitFailed(const std::string& why);
  // A commit that happened: says so when earlier ones had failed.
  void commitSucceeded();
  // Hands the sinks' buffered alerts on (AlertSink::deliver) after a batch,
  // and observes their latency since read_at_.
  void deliverSinks();
  // Commits in line (waiting for a commit in flight first).
  void commit();
  // Starts a commit on the committer thread, unless one is in flight.
  void startCommit();
  void committerThread();
  void waitForCommitter();
  void publishStats();

  std::unique_ptr<Source> source_;
  std::unique_ptr<Decoder> decoder_;
  const std::optional<LogSource> declared_;
  const std::vector<AlertSink*> sinks_;
  const RuleSetHolder& holder_;
  metrics::Metrics& metrics_;
  const std::chrono::milliseconds checkpoint_interval_;
  std::atomic<bool> stop_{false};
  Heartbeat heartbeat_;

  // Bound to the rule set of generation rules_generation_.
  std::shared_ptr<const engine::RuleSet> rules_;
  uint64_t rules_generation_ = ~uint64_t{0};
  std::vector<std::string> paths_;  // the fields decoders extract; FieldId i is paths_[i]
  std::vector<uint32_t> applicable_;
  engine::RuleIndex index_;  // applicable_, by each rule's gate (rule_index.h)
  int64_t timestamp_field_ = -1;
  std::vector<metrics::RuleMetrics> rule_metrics_;                   // by rule index
  std::vector<std::vector<prometheus::Counter*>> control_counters_;  // by rule index

  // Bound to the lookup set of generation lookups_generation_ (and to the
  // rule set's fields); null without lookups.
  const LookupSetHolder* lookups_;
  uint64_t lookups_generation_ = ~uint64_t{0};
  std::shared_ptr<const enrich::LookupSet> lookup_set_;
  std::vector<metrics::LookupMetrics> lookup_metrics_;  // by table index
  std::vector<enrich::LookupCounts> lookup_counts_;

  metrics::SourceMetrics source_metrics_;
  std::vector<std::pair<std::string, prometheus::Counter*>> decode_error_counters_;
  std::vector<std::pair<AlertSink*, prometheus::Counter*>> sink_alert_counters_;
  SourceStats last_stats_;
  bool undelivered_ = false;        // alerts written to the sinks since the last deliverSinks()
  uint64_t unobserved_alerts_ = 0;  // of those, how many (each once, whatever the sink count)
  std::chrono::steady_clock::time_point read_at_;  // when the last batch was read
  prometheus::Histogram& alert_latency_;
  Correlator* correlator_;
  const std::string timestamp_path_;
  std::vector<engine::ObservationBatch> per_shard_;
  Record last_record_;     // the last record decoded (views valid until the next batch)
  bool stateful_ = false;  // the rule set needs the correlator
  int64_t last_event_time_ = INT64_MIN;  // latest believable event time of this source
  uint64_t source_hash_ = 0;
  std::vector<std::pair<std::string, prometheus::Counter*>> skip_counters_;
  std::atomic<uint64_t> events_{0}, decode_errors_{0}, alerts_{0};
  bool dirty_ = false;  // records handed out since the last commit
  std::chrono::steady_clock::time_point last_commit_;

  // lanes_[0] runs on the pipeline thread; lanes_[i] on lane_threads_[i-1].
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::thread> lane_threads_;
  std::mutex lane_mu_;
  std::condition_variable lane_start_, lane_done_;
  uint64_t lane_round_ = 0;   // guarded by lane_mu_: bumped to start a round
  size_t lanes_active_ = 0;   // guarded by lane_mu_: helper lanes in this round
  size_t lanes_pending_ = 0;  // guarded by lane_mu_: helper lanes not finished
  bool lanes_stop_ = false;   // guarded by lane_mu_

  // The commit in flight (startCommit()).
  struct CommitJob {
    std::shared_ptr<Correlator::Ticket> ticket;  // null without a correlator
    std::unique_ptr<SourceMark> mark;
  };
  std::thread committer_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::optional<CommitJob> commit_job_;  // guarded by commit_mu_: taken by the committer
  bool commit_busy_ = false;             // guarded by commit_mu_: a job queued or running
  bool commit_failed_ = false;           // guarded by commit_mu_: the last job did not commit
  bool committer_stop_ = false;          // guarded by commit_mu_

  // Failed commits in a row, for a log that stays readable on a full disk.
  std::mutex commit_log_mu_;
  uint64_t commit_failures_ = 0;                           // guarded by commit_log_mu_
  std::chrono::steady_clock::time_point last_commit_log_;  // guarded by commit_log_mu_
};

}  // namespace trailwatch::server
