// Metrics: trailwatch's Prometheus registry, the metric families every stage
// reports into, and the HTTP exposer serving /metrics.
//
// Names follow Prometheus conventions (`trailwatch_` prefix, `_total` for
// counters, `_seconds` / `_bytes` units) so `promtool check metrics` passes.
// Stages do not depend on this: the pipeline reads their counters (e.g.
// SourceStats) and pushes deltas here, once per batch, not per event.
//
// Thread-safety: every method may be called from any thread; the returned
// references stay valid for the Metrics object's life (prometheus-cpp keeps
// metrics it has handed out until they are removed, which we never do).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "trailwatch/result.h"

namespace prometheus {
class Exposer;
}

namespace trailwatch::metrics {

struct SourceMetrics {
  prometheus::Counter& events;
  prometheus::Counter& bytes;
  prometheus::Counter& oversized;  // records skipped for their size
  prometheus::Counter& rotations;
  prometheus::Counter& truncations_unrecovered;
  prometheus::Gauge& lag_bytes;
  prometheus::Gauge& files_open;
  prometheus::Gauge& last_event_time;  // Unix seconds of the last record read
  prometheus::Counter& gaps;           // restarts not resumed exactly (SourceStats::gaps)
  prometheus::Counter& replayed;       // state-only records (SourceStats::replayed)
};

// A syslog listener's connections (label `source`).
struct SyslogMetrics {
  prometheus::Gauge& connections_open;
  prometheus::Counter& connections_accepted;
  prometheus::Counter& idle_closes;  // connections closed for sending nothing for idle_timeout
  prometheus::Counter& read_pauses;  // reads paused because the pipeline fell behind
};

// A nats source's consumer (label `source`).
struct NatsSourceMetrics {
  prometheus::Gauge& pending;         // messages not yet delivered to the consumer
  prometheus::Counter& delivered;     // messages fetched
  prometheus::Counter& redelivered;   // of those, delivered before (not acknowledged in time)
  prometheus::Counter& acknowledged;  // messages acknowledged at checkpoints
  prometheus::Counter& fetch_errors;
  prometheus::Counter& ack_errors;
  prometheus::Gauge& partitions_owned;  // partitioned mode: partitions this instance consumes
  // partitioned mode: lease changes by `change` (acquired, released, lost)
  std::function<prometheus::Counter&(const char* change)> lease_changes;
};

struct RuleMetrics {
  prometheus::Counter& matches;
  prometheus::Counter& alerts;
};

struct LookupMetrics {
  prometheus::Gauge& rows;
  prometheus::Gauge& last_reload_success;  // 1 if the last load of its file succeeded
  prometheus::Counter& hits;               // events whose match value had a row
  prometheus::Counter& misses;             // events whose match value had none
};

// Correlation state of one shard (label `shard`).
struct CorrelationMetrics {
  prometheus::Gauge& keys;               // groups held
  prometheus::Gauge& state_bytes;        // estimated heap bytes of those groups
  prometheus::Counter& evictions;        // groups dropped at max_keys
  prometheus::Counter& late_events;      // observations older than the watermark, left out
  prometheus::Counter& overflow_events;  // events dropped at max_events_per_group
  // Seconds the shard spent writing one checkpoint's state (its slices
  // together; they are interleaved with the shard's other work).
  prometheus::Histogram& checkpoint_write_seconds;
};

// A network sink's spool and delivery (label `sink`).
struct SpoolMetrics {
  prometheus::Gauge& records;             // alerts waiting in the spool
  prometheus::Gauge& bytes;               // their bytes on disk
  prometheus::Gauge& capacity_bytes;      // spool.max_bytes
  prometheus::Gauge& oldest_age_seconds;  // age of the oldest waiting alert; 0 when empty
  prometheus::Counter& full;              // alerts that found the spool full
  prometheus::Counter& refused;           // refused by a full spool (on_full: block)
  prometheus::Counter& dropped_oldest;    // dropped: reason drop_oldest
  prometheus::Counter& dropped_newest;    // dropped: reason drop_newest
  prometheus::Counter& dropped_torn;      // dropped: reason torn (damaged spool tail)
  prometheus::Counter& dropped_rejected;  // dropped: reason rejected (by the receiver)
  prometheus::Counter& delivered;         // acknowledged by the receiver
  prometheus::Counter& send_failures;     // failed send attempts (retried)
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `address` (host:port, [v6]:port; port 0 picks a free
  // one). Fails with a message when the address cannot be bound.
  Status listen(const std::string& address);
  // The ports actually bound (after listen()).
  std::vector<int> listeningPorts() const;

  SourceMetrics source(const std::string& name);
  prometheus::Counter& decodeErrors(const std::string& source, const std::string& reason);
  RuleMetrics rule(const std::string& rule_id, const std::string& title, const std::string& level);
  prometheus::Counter& controlAlerts(const std::string& control);
  prometheus::Counter& sinkAlerts(const std::string& sink);
  prometheus::Counter& sinkErrors(const std::string& sink);
  // Alerts withheld from a sink because they could not be redacted.
  prometheus::Counter& redactionFailures(const std::string& sink);
  // Syslog output messages whose MSG was cut to max_message_bytes.
  prometheus::Counter& syslogOutputTruncated(const std::string& sink);
  prometheus::Counter& checkpointErrors(const std::string& source);
  // trailwatch_alert_latency_seconds: from when a record was read from its
  // source to when the alert it raised was handed to every output (written
  // to the alert log, appended to a network output's spool). Buckets span
  // 0.5 ms to 10 s.
  prometheus::Histogram& alertLatency(const std::string& source);
  static const prometheus::Histogram::BucketBoundaries& alertLatencyBuckets();
  SpoolMetrics spool(const std::string& sink);

  SyslogMetrics syslog(const std::string& source);
  // Connections closed at once (reason: limit, peer_limit, tls_handshake, peer_name).
  prometheus::Counter& syslogRejected(const std::string& source, const std::string& reason);
  // Frames dropped (reason: oversized, malformed, truncated).
  prometheus::Counter& syslogFrameErrors(const std::string& source, const std::string& reason);
  // UDP datagrams lost (reason: queue_full, receive_buffer).
  prometheus::Counter& syslogUdpDropped(const std::string& source, const std::string& reason);

  NatsSourceMetrics natsSource(const std::string& source);

  LookupMetrics lookup(const std::string& name);
  // 1 if the last load of a placeholder list file succeeded.
  prometheus::Gauge& placeholderReloadSuccess(const std::string& name);

  CorrelationMetrics correlation(size_t shard);
  // Matches of a correlated rule that could not enter correlation state
  // (reason: missing_group_field, missing_value, not_a_number).
  prometheus::Counter& correlationSkipped(const std::string& reason);
  // Matches held back by a rule's `suppress` window.
  prometheus::Counter& suppressed(const std::string& rule_id);

  // Rule set (re)loads.
  // `skipped`: rule documents left out as unusable (`unusable_rules: skip`).
  void ruleSetLoaded(size_t rules, double load_seconds, size_t skipped = 0);
  void ruleSetReloadFailed();

  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& oversized_;
  prometheus::Family<prometheus::Counter>& rotations_;
  prometheus::Family<prometheus::Counter>& truncations_unrecovered_;
  prometheus::Family<prometheus::Gauge>& lag_bytes_;
  prometheus::Family<prometheus::Gauge>& files_open_;
  prometheus::Family<prometheus::Gauge>& last_event_time_;
  prometheus::Family<prometheus::Counter>& gaps_;
  prometheus::Family<prometheus::Counter>& replayed_;
  prometheus::Family<prometheus::Counter>& decode_errors_;
  prometheus::Family<prometheus::Counter>& rule_matches_;
  prometheus::Family<prometheus::Counter>& rule_alerts_;
  prometheus::Family<prometheus::Counter>& control_alerts_;
  prometheus::Family<prometheus::Counter>& sink_alerts_;
  prometheus::Family<prometheus::Counter>& sink_errors_;
  prometheus::Family<prometheus::Counter>& redaction_failures_;
  prometheus::Family<prometheus::Counter>& syslog_output_truncated_;
  prometheus::Family<prometheus::Counter>& checkpoint_errors_;
  prometheus::Family<prometheus::Histogram>& alert_latency_;
  prometheus::Family<prometheus::Gauge>& spool_records_;
  prometheus::Family<prometheus::Gauge>& spool_bytes_;
  prometheus::Family<prometheus::Gauge>& spool_capacity_;
  prometheus::Family<prometheus::Gauge>& spool_oldest_age_;
  prometheus::Family<prometheus::Counter>& spool_full_;
  prometheus::Family<prometheus::Counter>& spool_refused_;
  prometheus::Family<prometheus::Counter>& spool_dropped_;
  prometheus::Family<prometheus::Counter>& sink_delivered_;
  prometheus::Family<prometheus::Counter>& sink_send_failures_;
  prometheus::Family<prometheus::Gauge>& syslog_open_;
  prometheus::Family<prometheus::Counter>& syslog_accepted_;
  prometheus::Family<prometheus::Counter>& syslog_rejected_;
  prometheus::Family<prometheus::Counter>& syslog_idle_;
  prometheus::Family<prometheus::Counter>& syslog_pauses_;
  prometheus::Family<prometheus::Counter>& syslog_frame_errors_;
  prometheus::Family<prometheus::Counter>& syslog_udp_dropped_;
  prometheus::Family<prometheus::Gauge>& nats_pending_;
  prometheus::Family<prometheus::Counter>& nats_delivered_;
  prometheus::Family<prometheus::Counter>& nats_redelivered_;
  prometheus::Family<prometheus::Counter>& nats_acked_;
  prometheus::Family<prometheus::Counter>& nats_fetch_errors_;
  prometheus::Family<prometheus::Counter>& nats_ack_errors_;
  prometheus::Family<prometheus::Gauge>& nats_partitions_owned_;
  prometheus::Family<prometheus::Counter>& nats_lease_changes_;
  prometheus::Family<prometheus::Gauge>& lookup_rows_;
  prometheus::Family<prometheus::Gauge>& lookup_reload_success_;
  prometheus::Family<prometheus::Counter>& lookup_hits_;
  prometheus::Family<prometheus::Counter>& lookup_misses_;
  prometheus::Family<prometheus::Gauge>& placeholder_reload_success_;
  prometheus::Family<prometheus::Gauge>& correlation_keys_;
  prometheus::Family<prometheus::Gauge>& correlation_bytes_;
  prometheus::Family<prometheus::Counter>& correlation_evictions_;
  prometheus::Family<prometheus::Counter>& correlation_late_;
  prometheus::Family<prometheus::Counter>& correlation_overflow_;
  prometheus::Family<prometheus::Histogram>& correlation_checkpoint_write_;
  prometheus::Family<prometheus::Counter>& correlation_skipped_;
  prometheus::Family<prometheus::Counter>& suppressed_;
  prometheus::Gauge& rules_loaded_;
  prometheus::Gauge& rules_skipped_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_time_;
  prometheus::Gauge& load_duration_;
  prometheus::Counter& reload_failures_;
};

}  // namespace trailwatch::metrics
