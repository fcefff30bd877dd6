#include "daemon/metrics/metrics.h"

#include <chrono>
#include <exception>

#include <prometheus/exposer.h>

#ifndef TRAILWATCH_VERSION
#define TRAILWATCH_VERSION "unknown"
#endif
#ifndef TRAILWATCH_COMMIT
#define TRAILWATCH_COMMIT "unknown"
#endif

namespace trailwatch::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      events_(BuildCounter()
                  .Name("trailwatch_events_total")
                  .Help("Records read from each source.")
                  .Register(*registry_)),
      bytes_(BuildCounter()
                 .Name("trailwatch_read_bytes_total")
                 .Help("Bytes read from each source, line terminators included.")
                 .Register(*registry_)),
      oversized_(BuildCounter()
                     .Name("trailwatch_oversized_records_total")
                     .Help("Records skipped because they exceed the source's max_line_bytes.")
                     .Register(*registry_)),
      rotations_(BuildCounter()
                     .Name("trailwatch_file_rotations_total")
                     .Help("File rotations (rename or truncation) followed per source.")
                     .Register(*registry_)),
      truncations_unrecovered_(BuildCounter()
                                   .Name("trailwatch_truncations_unrecovered_total")
                                   .Help("Truncated files whose unread tail could not be found in "
                                         "a copy: data may be lost.")
                                   .Register(*registry_)),
      lag_bytes_(BuildGauge()
                     .Name("trailwatch_source_lag_bytes")
                     .Help("Bytes written to a source's files and not yet read.")
                     .Register(*registry_)),
      files_open_(BuildGauge()
                      .Name("trailwatch_source_files_open")
                      .Help("Files a source is currently following.")
                      .Register(*registry_)),
      last_event_time_(BuildGauge()
                           .Name("trailwatch_source_last_event_timestamp_seconds")
                           .Help("Unix time at which a source last delivered a record.")
                           .Register(*registry_)),
      gaps_(BuildCounter()
                .Name("trailwatch_source_gaps_total")
                .Help("Restarts that could not resume exactly at the source's checkpoint (a "
                      "journal cursor whose entry was vacuumed away): records may be lost.")
                .Register(*registry_)),
      replayed_(BuildCounter()
                    .Name("trailwatch_replayed_events_total")
                    .Help("Records evaluated for correlation state only (a NATS partition's "
                          "recent history replayed on takeover); their alerts were raised by "
                          "the previous owner and are dropped.")
                    .Register(*registry_)),
      decode_errors_(BuildCounter()
                         .Name("trailwatch_decode_errors_total")
                         .Help("Records that could not be decoded, per source and reason.")
                         .Register(*registry_)),
      rule_matches_(BuildCounter()
                        .Name("trailwatch_rule_matches_total")
                        .Help("Events matched by each rule's detection.")
                        .Register(*registry_)),
      rule_alerts_(BuildCounter()
                       .Name("trailwatch_alerts_total")
                       .Help("Alerts raised per rule and level.")
                       .Register(*registry_)),
      control_alerts_(BuildCounter()
                          .Name("trailwatch_control_alerts_total")
                          .Help("Alerts raised per compliance control tag (soc2.*, hipaa.*).")
                          .Register(*registry_)),
      sink_alerts_(BuildCounter()
                       .Name("trailwatch_sink_alerts_total")
                       .Help("Alerts written to each sink.")
                       .Register(*registry_)),
      sink_errors_(BuildCounter()
                       .Name("trailwatch_sink_errors_total")
                       .Help("Failed writes or flushes per sink.")
                       .Register(*registry_)),
      redaction_failures_(BuildCounter()
                              .Name("trailwatch_redaction_failures_total")
                              .Help("Alerts withheld from a sink because they could not be "
                                    "redacted for it.")
                              .Register(*registry_)),
      syslog_output_truncated_(BuildCounter()
                                   .Name("trailwatch_syslog_output_truncated_total")
                                   .Help("Syslog output messages whose alert JSON was cut to "
                                         "max_message_bytes.")
                                   .Register(*registry_)),
      checkpoint_errors_(BuildCounter()
                             .Name("trailwatch_checkpoint_errors_total")
                             .Help("Checkpoints that could not be persisted, per source.")
                             .Register(*registry_)),
      alert_latency_(BuildHistogram()
                         .Name("trailwatch_alert_latency_seconds")
                         .Help("Seconds from reading a record to handing the alert it raised to "
                               "every output (detection alerts).")
                         .Register(*registry_)),
      spool_records_(BuildGauge()
                         .Name("trailwatch_spool_records")
                         .Help("Alerts waiting in a network sink's spool for delivery.")
                         .Register(*registry_)),
      spool_bytes_(BuildGauge()
                       .Name("trailwatch_spool_bytes")
                       .Help("Bytes on disk of the alerts waiting in a network sink's spool.")
                       .Register(*registry_)),
      spool_capacity_(BuildGauge()
                          .Name("trailwatch_spool_capacity_bytes")
                          .Help("A network sink's spool bound (spool.max_bytes).")
                          .Register(*registry_)),
      spool_oldest_age_(BuildGauge()
                            .Name("trailwatch_spool_oldest_age_seconds")
                            .Help("Age of the oldest alert waiting in a network sink's spool; "
                                  "0 when it is empty.")
                            .Register(*registry_)),
      spool_full_(BuildCounter()
                      .Name("trailwatch_spool_full_total")
                      .Help("Alerts that found a network sink's spool full.")
                      .Register(*registry_)),
      spool_refused_(BuildCounter()
                         .Name("trailwatch_spool_refused_total")
                         .Help("Alerts refused by a full spool (spool.on_full: block); "
                               "checkpoints are held back until a restart.")
                         .Register(*registry_)),
      spool_dropped_(BuildCounter()
                         .Name("trailwatch_spool_dropped_total")
                         .Help("Alerts a network sink will never deliver, per reason "
                               "(drop_oldest, drop_newest, torn, rejected).")
                         .Register(*registry_)),
      sink_delivered_(BuildCounter()
                          .Name("trailwatch_sink_delivered_total")
                          .Help("Alerts a network sink's receiver acknowledged.")
                          .Register(*registry_)),
      sink_send_failures_(BuildCounter()
                              .Name("trailwatch_sink_send_failures_total")
                              .Help("Failed delivery attempts of a network sink (each retried "
                                    "with backoff).")
                              .Register(*registry_)),
      syslog_open_(BuildGauge()
                       .Name("trailwatch_syslog_connections_open")
                       .Help("TCP/TLS connections a syslog source holds open (handshakes "
                             "included).")
                       .Register(*registry_)),
      syslog_accepted_(BuildCounter()
                           .Name("trailwatch_syslog_connections_accepted_total")
                           .Help("Syslog connections accepted (TLS: through the handshake and "
                                 "the peer name check).")
                           .Register(*registry_)),
      syslog_rejected_(BuildCounter()
                           .Name("trailwatch_syslog_connections_rejected_total")
                           .Help("Syslog connections closed at once, per reason (limit, "
                                 "peer_limit, tls_handshake, peer_name).")
                           .Register(*registry_)),
      syslog_idle_(BuildCounter()
                       .Name("trailwatch_syslog_idle_closes_total")
                       .Help("Syslog connections closed after sending nothing for "
                             "idle_timeout.")
                       .Register(*registry_)),
      syslog_pauses_(BuildCounter()
                         .Name("trailwatch_syslog_read_pauses_total")
                         .Help("Times a syslog connection stopped reading because the "
                               "source's queue was full (backpressure).")
                         .Register(*registry_)),
      syslog_frame_errors_(BuildCounter()
                               .Name("trailwatch_syslog_frame_errors_total")
                               .Help("Syslog frames dropped, per reason (oversized, malformed, "
                                     "truncated).")
                               .Register(*registry_)),
      syslog_udp_dropped_(BuildCounter()
                              .Name("trailwatch_syslog_udp_dropped_total")
                              .Help("Syslog UDP datagrams lost, per reason (queue_full: the "
                                    "pipeline fell behind; receive_buffer: the kernel's "
                                    "socket buffer overflowed).")
                              .Register(*registry_)),
      nats_pending_(BuildGauge()
                        .Name("trailwatch_nats_pending_messages")
                        .Help("Messages in the stream that match a nats source's consumer and "
                              "were not yet delivered to it (JetStream num_pending): the lag.")
                        .Register(*registry_)),
      nats_delivered_(BuildCounter()
                          .Name("trailwatch_nats_messages_delivered_total")
                          .Help("Messages a nats source fetched from its consumer.")
                          .Register(*registry_)),
      nats_redelivered_(BuildCounter()
                            .Name("trailwatch_nats_messages_redelivered_total")
                            .Help("Messages fetched that had been delivered before and not "
                                  "acknowledged within ack_wait (a crashed or slow instance).")
                            .Register(*registry_)),
      nats_acked_(BuildCounter()
                      .Name("trailwatch_nats_messages_acknowledged_total")
                      .Help("Messages a nats source acknowledged at checkpoints.")
                      .Register(*registry_)),
      nats_fetch_errors_(BuildCounter()
                             .Name("trailwatch_nats_fetch_errors_total")
                             .Help("Fetches from a nats source's consumer that failed.")
                             .Register(*registry_)),
      nats_ack_errors_(BuildCounter()
                           .Name("trailwatch_nats_ack_errors_total")
                           .Help("Checkpoints whose acknowledgements could not be confirmed "
                                 "(the messages are redelivered).")
                           .Register(*registry_)),
      nats_partitions_owned_(BuildGauge()
                                 .Name("trailwatch_nats_partitions_owned")
                                 .Help("Partitions a partitioned nats source holds the lease of "
                                       "and consumes.")
                                 .Register(*registry_)),
      nats_lease_changes_(BuildCounter()
                              .Name("trailwatch_nats_lease_changes_total")
                              .Help("Partition leases a nats source acquired, released (to "
                                    "rebalance) or lost (renewal failed).")
                              .Register(*registry_)),
      lookup_rows_(BuildGauge()
                       .Name("trailwatch_lookup_rows")
                       .Help("Rows in each lookup table in use.")
                       .Register(*registry_)),
      lookup_reload_success_(BuildGauge()
                                 .Name("trailwatch_lookup_last_reload_success")
                                 .Help("1 if the last (re)load of a lookup table's file succeeded, "
                                       "0 if it failed and the previous table stays in use.")
                                 .Register(*registry_)),
      lookup_hits_(BuildCounter()
                       .Name("trailwatch_lookup_hits_total")
                       .Help("Events whose match field value had a row in the lookup table.")
                       .Register(*registry_)),
      lookup_misses_(BuildCounter()
                         .Name("trailwatch_lookup_misses_total")
                         .Help("Events whose match field value had no row in the lookup table.")
                         .Register(*registry_)),
      placeholder_reload_success_(
          BuildGauge()
              .Name("trailwatch_placeholder_last_reload_success")
              .Help("1 if the last (re)load of a placeholder list file succeeded, 0 if it failed "
                    "and the previous values stay in use.")
              .Register(*registry_)),
      correlation_keys_(BuildGauge()
                            .Name("trailwatch_correlation_keys")
                            .Help("Correlation and suppression groups held, per shard.")
                            .Register(*registry_)),
      correlation_bytes_(BuildGauge()
                             .Name("trailwatch_correlation_state_bytes")
                             .Help("Estimated heap bytes of correlation state, per shard.")
                             .Register(*registry_)),
      correlation_evictions_(BuildCounter()
                                 .Name("trailwatch_correlation_evictions_total")
                                 .Help("Groups dropped (least recently updated first) because "
                                       "the state reached correlation.max_keys.")
                                 .Register(*registry_)),
      correlation_late_(BuildCounter()
                            .Name("trailwatch_correlation_late_events_total")
                            .Help("Events older than the watermark (latest event time minus "
                                  "late_allowance), left out of correlation.")
                            .Register(*registry_)),
      correlation_overflow_(BuildCounter()
                                .Name("trailwatch_correlation_overflow_events_total")
                                .Help("Events dropped from a group that reached "
                                      "correlation.max_events_per_group.")
                                .Register(*registry_)),
      correlation_checkpoint_write_(
          BuildHistogram()
              .Name("trailwatch_correlation_checkpoint_write_seconds")
              .Help("Seconds a shard spent writing its correlation state for one checkpoint "
                    "(in slices, between the observations it goes on processing).")
              .Register(*registry_)),
      correlation_skipped_(BuildCounter()
                               .Name("trailwatch_correlation_skipped_events_total")
                               .Help("Matches of correlated rules that could not enter "
                                     "correlation, per reason.")
                               .Register(*registry_)),
      suppressed_(BuildCounter()
                      .Name("trailwatch_alerts_suppressed_total")
                      .Help("Matches held back by a rule's suppress window, per rule.")
                      .Register(*registry_)),
      rules_loaded_(BuildGauge()
                        .Name("trailwatch_rules_loaded")
                        .Help("Rules in the active rule set.")
                        .Register(*registry_)
                        .Add({})),
      rules_skipped_(BuildGauge()
                         .Name("trailwatch_rules_skipped")
                         .Help("Rule documents left out of the active set as unusable "
                               "(unusable_rules: skip); each is logged with its reason.")
                         .Register(*registry_)
                         .Add({})),
      reload_success_(BuildGauge()
                          .Name("trailwatch_rules_last_reload_success")
                          .Help("1 if the last rule (re)load succeeded, 0 if it failed.")
                          .Register(*registry_)
                          .Add({})),
      reload_time_(BuildGauge()
                       .Name("trailwatch_rules_last_reload_timestamp_seconds")
                       .Help("Unix time of the last rule (re)load attempt.")
                       .Register(*registry_)
                       .Add({})),
      load_duration_(BuildGauge()
                         .Name("trailwatch_rules_load_duration_seconds")
                         .Help("Time the last successful rule set build took.")
                         .Register(*registry_)
                         .Add({})),
      reload_failures_(BuildCounter()
                           .Name("trailwatch_rules_reload_failures_total")
                           .Help("Rule reloads rejected because a rule file was broken.")
                           .Register(*registry_)
                           .Add({})) {
  BuildGauge()
      .Name("trailwatch_build_info")
      .Help("Build of the running trailwatch; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", TRAILWATCH_VERSION}, {"commit", TRAILWATCH_COMMIT}})
      .Set(1);
}

Metrics::~Metrics() = default;

Status Metrics::listen(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return Error{"cannot serve metrics on " + address + ": " + e.what()};
  }
  exposer_->RegisterCollectable(registry_);
  return Status::Ok();
}

std::vector<int> Metrics::listeningPorts() const {
  return exposer_ ? exposer_->GetListeningPorts() : std::vector<int>{};
}

SourceMetrics Metrics::source(const std::string& name) {
  const prometheus::Labels l{{"source", name}};
  return SourceMetrics{events_.Add(l),
                       bytes_.Add(l),
                       oversized_.Add(l),
                       rotations_.Add(l),
                       truncations_unrecovered_.Add(l),
                       lag_bytes_.Add(l),
                       files_open_.Add(l),
                       last_event_time_.Add(l),
                       gaps_.Add(l),
                       replayed_.Add(l)};
}

prometheus::Counter& Metrics::decodeErrors(const std::string& source, const std::string& reason) {
  return decode_errors_.Add({{"source", source}, {"reason", reason}});
}

RuleMetrics Metrics::rule(const std::string& rule_id, const std::string& title,
                          const std::string& level) {
  const prometheus::Labels l{{"rule_id", rule_id}, {"rule", title}, {"level", level}};
  return RuleMetrics{rule_matches_.Add(l), rule_alerts_.Add(l)};
}

prometheus::Counter& Metrics::controlAlerts(const std::string& control) {
  return control_alerts_.Add({{"control", control}});
}

prometheus::Counter& Metrics::sinkAlerts(const std::string& sink) {
  return sink_alerts_.Add({{"sink", sink}});
}

prometheus::Counter& Metrics::sinkErrors(const std::string& sink) {
  return sink_errors_.Add({{"sink", sink}});
}

prometheus::Counter& Metrics::redactionFailures(const std::string& sink) {
  return redaction_failures_.Add({{"sink", sink}});
}

prometheus::Counter& Metrics::checkpointErrors(const std::string& source) {
  return checkpoint_errors_.Add({{"source", source}});
}

const prometheus::Histogram::BucketBoundaries& Metrics::alertLatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

prometheus::Histogram& Metrics::alertLatency(const std::string& source) {
  return alert_latency_.Add({{"source", source}}, alertLatencyBuckets());
}

prometheus::Counter& Metrics::syslogOutputTruncated(const std::string& sink) {
  return syslog_output_truncated_.Add({{"sink", sink}});
}

SpoolMetrics Metrics::spool(const std::string& sink) {
  const prometheus::Labels l{{"sink", sink}};
  auto dropped = [&](const char* reason) -> prometheus::Counter& {
    return spool_dropped_.Add({{"sink", sink}, {"reason", reason}});
  };
  return SpoolMetrics{spool_records_.Add(l),    spool_bytes_.Add(l),    spool_capacity_.Add(l),
                      spool_oldest_age_.Add(l), spool_full_.Add(l),     spool_refused_.Add(l),
                      dropped("drop_oldest"),   dropped("drop_newest"), dropped("torn"),
                      dropped("rejected"),      sink_delivered_.Add(l), sink_send_failures_.Add(l)};
}

NatsSourceMetrics Metrics::natsSource(const std::string& source) {
  const prometheus::Labels l{{"source", source}};
  auto* changes = &nats_lease_changes_;
  for (const char* change : {"acquired", "released", "lost"}) {
    changes->Add({{"source", source}, {"change", change}});
  }
  return NatsSourceMetrics{nats_pending_.Add(l),
                           nats_delivered_.Add(l),
                           nats_redelivered_.Add(l),
                           nats_acked_.Add(l),
                           nats_fetch_errors_.Add(l),
                           nats_ack_errors_.Add(l),
                           nats_partitions_owned_.Add(l),
                           [changes, source](const char* change) -> prometheus::Counter& {
                             return changes->Add({{"source", source}, {"change", change}});
                           }};
}

SyslogMetrics Metrics::syslog(const std::string& source) {
  const prometheus::Labels l{{"source", source}};
  return SyslogMetrics{syslog_open_.Add(l), syslog_accepted_.Add(l), syslog_idle_.Add(l),
                       syslog_pauses_.Add(l)};
}

prometheus::Counter& Metrics::syslogRejected(const std::string& source, const std::string& reason) {
  return syslog_rejected_.Add({{"source", source}, {"reason", reason}});
}

prometheus::Counter& Metrics::syslogFrameErrors(const std::string& source,
                                                const std::string& reason) {
  return syslog_frame_errors_.Add({{"source", source}, {"reason", reason}});
}

prometheus::Counter& Metrics::syslogUdpDropped(const std::string& source,
                                               const std::string& reason) {
  return syslog_udp_dropped_.Add({{"source", source}, {"reason", reason}});
}

LookupMetrics Metrics::lookup(const std::string& name) {
  const prometheus::Labels l{{"lookup", name}};
  return LookupMetrics{lookup_rows_.Add(l), lookup_reload_success_.Add(l), lookup_hits_.Add(l),
                       lookup_misses_.Add(l)};
}

CorrelationMetrics Metrics::correlation(size_t shard) {
  const prometheus::Labels l{{"shard", std::to_string(shard)}};
  return CorrelationMetrics{
      correlation_keys_.Add(l),      correlation_bytes_.Add(l),
      correlation_evictions_.Add(l), correlation_late_.Add(l),
      correlation_overflow_.Add(l),  correlation_checkpoint_write_.Add(l, alertLatencyBuckets())};
}

prometheus::Counter& Metrics::correlationSkipped(const std::string& reason) {
  return correlation_skipped_.Add({{"reason", reason}});
}

prometheus::Counter& Metrics::suppressed(const std::string& rule_id) {
  return suppressed_.Add({{"rule_id", rule_id}});
}

prometheus::Gauge& Metrics::placeholderReloadSuccess(const std::string& name) {
  return placeholder_reload_success_.Add({{"placeholder", name}});
}

void Metrics::ruleSetLoaded(size_t rules, double load_seconds, size_t skipped) {
  rules_loaded_.Set(static_cast<double>(rules));
  rules_skipped_.Set(static_cast<double>(skipped));
  reload_success_.Set(1);
  reload_time_.Set(nowSeconds());
  load_duration_.Set(load_seconds);
}

void Metrics::ruleSetReloadFailed() {
  reload_success_.Set(0);
  reload_time_.Set(nowSeconds());
  reload_failures_.Increment();
}

}  // namespace trailwatch::metrics
