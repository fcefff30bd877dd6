#include "daemon/server/components.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <unistd.h>

#include "daemon/alert/alertmanager_sink.h"
#include "daemon/alert/file_sink.h"
#include "daemon/alert/nats_sink.h"
#include "daemon/alert/redaction.h"
#include "daemon/alert/spooled_sink.h"
#include "daemon/alert/stdout_sink.h"
#include "daemon/alert/syslog_sink.h"
#include "daemon/alert/webhook_sink.h"
#include "daemon/common/http_url.h"
#include "daemon/source/activated_sockets.h"
#include "daemon/source/file_source.h"
#include "daemon/source/journald_source.h"
#include "daemon/source/nats_partitioned_source.h"
#include "daemon/source/nats_source.h"
#include "daemon/source/syslog_listener.h"

namespace trailwatch::server {
namespace {

// A syslog listener's events as Prometheus series. The series a protocol
// can have are created up front (at 0), so each exists before its first
// occurrence; UDP has no connections, TCP no TLS reasons.
class SyslogListenerMetrics final : public source::SyslogListenerEvents {
 public:
  SyslogListenerMetrics(metrics::Metrics& m, const std::string& name,
                        source::SyslogProtocol protocol) {
    using source::SyslogProtocol;
    auto frame = [&](source::SyslogFrameError r) {
      frame_errors_[static_cast<std::size_t>(r)] = &m.syslogFrameErrors(name, reasonLabel(r));
    };
    frame(source::SyslogFrameError::kOversized);
    if (protocol == SyslogProtocol::kUdp) {
      for (auto r : {source::SyslogUdpDrop::kQueueFull, source::SyslogUdpDrop::kReceiveBuffer}) {
        udp_dropped_[static_cast<std::size_t>(r)] = &m.syslogUdpDropped(name, reasonLabel(r));
      }
      return;
    }
    frame(source::SyslogFrameError::kMalformed);
    frame(source::SyslogFrameError::kTruncated);
    connections_.emplace(m.syslog(name));
    auto reject = [&](source::SyslogReject r) {
      rejected_[static_cast<std::size_t>(r)] = &m.syslogRejected(name, reasonLabel(r));
    };
    reject(source::SyslogReject::kLimit);
    reject(source::SyslogReject::kPeerLimit);
    if (protocol == SyslogProtocol::kTls) {
      reject(source::SyslogReject::kTlsHandshake);
      reject(source::SyslogReject::kPeerName);
    }
  }

  void connectionAccepted() override {
    if (connections_) connections_->connections_accepted.Increment();
  }
  void connectionRejected(source::SyslogReject r) override {
    increment(rejected_[static_cast<std::size_t>(r)], 1);
  }
  void connectionsOpen(std::size_t n) override {
    if (connections_) connections_->connections_open.Set(static_cast<double>(n));
  }
  void idleClosed() override {
    if (connections_) connections_->idle_closes.Increment();
  }
  void frameErrors(source::SyslogFrameError r, uint64_t n) override {
    increment(frame_errors_[static_cast<std::size_t>(r)], n);
  }
  void udpDropped(source::SyslogUdpDrop r, uint64_t n) override {
    increment(udp_dropped_[static_cast<std::size_t>(r)], n);
  }
  void readPaused() override {
    if (connections_) connections_->read_pauses.Increment();
  }

 private:
  static void increment(prometheus::Counter* c, uint64_t n) {
    if (c != nullptr) c->Increment(static_cast<double>(n));
  }

  std::optional<metrics::SyslogMetrics> connections_;   // TCP and TLS
  std::array<prometheus::Counter*, 4> rejected_{};      // by SyslogReject
  std::array<prometheus::Counter*, 3> frame_errors_{};  // by SyslogFrameError
  std::array<prometheus::Counter*, 2> udp_dropped_{};   // by SyslogUdpDrop
};

// <hostname>-<pid>, kept to the characters a lease key allows.
std::string defaultInstanceId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string id;
  for (const char* c = host; *c != '\0'; ++c) {
    const bool ok = std::isalnum(static_cast<unsigned char>(*c)) != 0 || *c == '-' || *c == '_';
    id.push_back(ok ? *c : '_');
  }
  if (id.empty()) id = "trailwatch";
  return id + "-" + std::to_string(getpid());
}

// A nats source's consumer as Prometheus series.
class NatsSourceMetricsEvents final : public source::NatsSourceEvents {
 public:
  explicit NatsSourceMetricsEvents(metrics::NatsSourceMetrics m) : m_(m) {}
  void delivered(uint64_t messages, uint64_t redelivered) override {
    m_.delivered.Increment(static_cast<double>(messages));
    if (redelivered > 0) m_.redelivered.Increment(static_cast<double>(redelivered));
  }
  void acknowledged(uint64_t messages) override {
    m_.acknowledged.Increment(static_cast<double>(messages));
  }
  void pending(uint64_t messages) override { m_.pending.Set(static_cast<double>(messages)); }
  void fetchFailed() override { m_.fetch_errors.Increment(); }
  void ackFailed() override { m_.ack_errors.Increment(); }
  void partitionsOwned(std::size_t partitions) override {
    m_.partitions_owned.Set(static_cast<double>(partitions));
  }
  void leaseChanged(const char* change) override { m_.lease_changes(change).Increment(); }

 private:
  metrics::NatsSourceMetrics m_;
};

source::SyslogListenerOptions syslogOptions(const config::SourceConfig& sc) {
  const auto& c = sc.syslog;
  source::SyslogListenerOptions o;
  o.name = sc.name;
  o.protocol = c.protocol == "udp"   ? source::SyslogProtocol::kUdp
               : c.protocol == "tcp" ? source::SyslogProtocol::kTcp
                                     : source::SyslogProtocol::kTls;
  o.listen = c.listen;
  // Under socket activation (trailwatch.socket), the socket named after the
  // source (FileDescriptorName=) replaces binding `listen`.
  o.activated_fd = source::takeActivatedSocket(sc.name);
  o.framing = c.framing == "octet-counting" ? source::SyslogFraming::kOctetCounting
              : c.framing == "newline"      ? source::SyslogFraming::kNewline
                                            : source::SyslogFraming::kAuto;
  o.tls = {c.cert_file, c.key_file, c.ca_file, c.allowed_peers};
  o.max_frame_bytes = sc.max_line_bytes;
  o.max_connections = c.max_connections;
  o.max_connections_per_peer = c.max_connections_per_peer;
  o.idle_timeout = c.idle_timeout;
  // Room for a burst, and always for several of the largest messages.
  o.queue_bytes = std::max<std::size_t>(o.queue_bytes, 4 * sc.max_line_bytes);
  return o;
}

}  // namespace

std::string checkpointPath(const config::Config& config, const std::string& source) {
  return (std::filesystem::path(config.state_dir) / "checkpoints" / (source + ".ckpt")).string();
}

std::unique_ptr<Source> makeFileSource(const config::Config& config, const config::SourceConfig& sc,
                                       const std::string& checkpoint_name) {
  source::FileSourceOptions fo;
  fo.name = sc.name;
  fo.patterns = sc.paths;
  fo.follow = true;
  fo.start_at_end = sc.start_at_end;
  fo.max_line_bytes = sc.max_line_bytes;
  fo.batch_wait = sc.batch_wait;
  fo.checkpoint_path = checkpointPath(config, checkpoint_name);
  return std::make_unique<source::FileSource>(std::move(fo));
}

std::chrono::nanoseconds stateHistorySpan(const engine::RuleSet& rules,
                                          std::chrono::nanoseconds late_allowance) {
  const auto& correlations = rules.correlations();
  // need[c]: c's timespan plus the longest history of the chains feeding it
  // (the rule set has no cycles; inputs are resolved recursively).
  std::vector<int64_t> need(correlations.size(), -1);
  std::function<int64_t(size_t)> history = [&](size_t c) -> int64_t {
    if (need[c] >= 0) return need[c];
    int64_t inputs = 0;
    for (const auto& in : correlations[c].inputs) {
      if (in.from_correlation && in.index < correlations.size()) {
        inputs = std::max(inputs, history(in.index));
      }
    }
    return need[c] = correlations[c].timespan_nanos + inputs;
  };
  int64_t longest = 0;
  for (size_t c = 0; c < correlations.size(); ++c) longest = std::max(longest, history(c));
  for (size_t i = 0; i < rules.size(); ++i) {
    if (const auto& s = rules.rule(i).suppress) longest = std::max(longest, s->timespan_nanos);
  }
  if (longest == 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(longest) + late_allowance;
}

Result<std::unique_ptr<Source>> makeSource(const config::Config& config,
                                           const config::SourceConfig& sc,
                                           metrics::Metrics& metrics, const RuleSetHolder* rules) {
  if (sc.type == "file") return makeFileSource(config, sc, sc.name);
  if (sc.type == "syslog") {
    auto options = syslogOptions(sc);
    auto events = std::make_unique<SyslogListenerMetrics>(metrics, sc.name, options.protocol);
    return std::unique_ptr<Source>(
        std::make_unique<source::SyslogListener>(std::move(options), std::move(events)));
  }
  if (sc.type == "journald") {
    source::JournaldSourceOptions jo;
    jo.name = sc.name;
    jo.directory = sc.journal_directory;
    jo.matches = sc.journal_matches;
    jo.record = sc.journal_record == "message" ? source::JournalRecordShape::kMessage
                                               : source::JournalRecordShape::kJson;
    jo.start_at_end = sc.start_at_end;
    jo.max_line_bytes = sc.max_line_bytes;
    jo.checkpoint_path = checkpointPath(config, sc.name);
    return std::unique_ptr<Source>(std::make_unique<source::JournaldSource>(std::move(jo)));
  }
  if (sc.type == "nats") {
    const auto& c = sc.nats;
    source::NatsSourceOptions no;
    no.name = sc.name;
    no.connection.url = c.url;
    no.connection.creds_file = c.creds_file;
    no.connection.name = "trailwatch " + sc.name;
    no.stream = c.stream;
    no.subject = c.subject;
    no.consumer = c.consumer;
    no.create_consumer = c.create_consumer;
    no.start_at_end = sc.start_at_end;
    no.batch = c.batch;
    no.ack_wait = c.ack_wait;
    no.max_ack_pending = c.max_ack_pending;
    no.max_line_bytes = sc.max_line_bytes;
    no.events = std::make_shared<NatsSourceMetricsEvents>(metrics.natsSource(sc.name));
    if (c.partitions > 0) {
      no.partitions = c.partitions;
      no.lease = c.lease;
      no.lease_bucket = c.lease_bucket;
      no.instance = c.instance.empty() ? defaultInstanceId() : c.instance;
      if (rules != nullptr) {
        const std::chrono::nanoseconds late = config.correlation.late_allowance;
        no.replay_span = [rules, late] { return stateHistorySpan(*rules->snapshot(), late); };
      }
      return std::unique_ptr<Source>(
          std::make_unique<source::PartitionedNatsSource>(std::move(no)));
    }
    return std::unique_ptr<Source>(std::make_unique<source::NatsSource>(std::move(no)));
  }
  return Error{"source " + sc.name + ": unsupported type '" + sc.type + "'"};
}

namespace {

// Pushes a spooled sink's cumulative stats into its metrics as deltas.
std::function<void(const alert::DeliveryStats&)> spoolMonitor(metrics::SpoolMetrics m) {
  auto last = std::make_shared<alert::DeliveryStats>();
  return [m, last](const alert::DeliveryStats& now) {
    auto add = [](prometheus::Counter& c, uint64_t was, uint64_t is) {
      if (is > was) c.Increment(static_cast<double>(is - was));
    };
    add(m.full, last->spool.full, now.spool.full);
    add(m.refused, last->spool.refused, now.spool.refused);
    add(m.dropped_oldest, last->spool.dropped_oldest, now.spool.dropped_oldest);
    add(m.dropped_newest, last->spool.dropped_newest, now.spool.dropped_newest);
    add(m.dropped_torn, last->spool.torn, now.spool.torn);
    add(m.dropped_rejected, last->rejected, now.rejected);
    add(m.delivered, last->delivered, now.delivered);
    add(m.send_failures, last->send_failures, now.send_failures);
    m.records.Set(static_cast<double>(now.spool.records));
    m.bytes.Set(static_cast<double>(now.spool.bytes));
    m.capacity_bytes.Set(static_cast<double>(now.spool.capacity_bytes));
    double age = 0;
    if (now.spool.oldest_ms > 0) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      age = std::max<double>(0, static_cast<double>(now_ms - now.spool.oldest_ms) / 1000.0);
    }
    m.oldest_age_seconds.Set(age);
    *last = now;
  };
}

Result<std::unique_ptr<alert::Transport>> makeHttpTransport(const config::OutputConfig& output);

// The syslog output's transport (alert/syslog_sink.h).
Result<std::unique_ptr<alert::Transport>> makeSyslogTransport(const config::OutputConfig& output,
                                                              metrics::Metrics& metrics) {
  const auto& c = output.syslog;
  alert::SyslogTransportOptions o;
  o.protocol = c.protocol == "udp"   ? alert::SyslogOutputProtocol::kUdp
               : c.protocol == "tcp" ? alert::SyslogOutputProtocol::kTcp
                                     : alert::SyslogOutputProtocol::kTls;
  o.host = c.host;
  o.port = c.port;
  o.framing = c.framing == "newline" ? alert::SyslogOutputFraming::kNewline
                                     : alert::SyslogOutputFraming::kOctetCounting;
  o.timeout = output.timeout;
  o.ca_file = c.ca_file;
  o.cert_file = c.cert_file;
  o.key_file = c.key_file;
  o.server_name = c.server_name;
  o.message.facility = alert::syslogFacility(c.facility);
  if (o.message.facility < 0) return Error{"unknown syslog facility '" + c.facility + "'"};
  o.message.app_name = c.app_name;
  o.message.hostname = c.hostname;
  if (o.message.hostname.empty()) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) o.message.hostname = name;
  }
  o.message.procid = std::to_string(::getpid());
  o.message.max_message_bytes = c.max_message_bytes;
  prometheus::Counter* truncated = &metrics.syslogOutputTruncated(output.name);
  o.on_truncated = [truncated] { truncated->Increment(); };
  auto transport = alert::SyslogTransport::create(std::move(o));
  if (!transport.ok()) return Error{transport.error()};
  return std::unique_ptr<alert::Transport>(std::move(transport).value());
}

Result<std::unique_ptr<AlertSink>> makeNetworkSink(const config::Config& config,
                                                   const config::OutputConfig& output,
                                                   metrics::Metrics& metrics) {
  const std::string what = output.type + " output " + output.name;
  std::unique_ptr<alert::Transport> transport;
  if (output.type == "syslog") {
    auto t = makeSyslogTransport(output, metrics);
    if (!t.ok()) return Error{what + ": " + t.error()};
    transport = std::move(t).value();
  } else if (output.type == "nats") {
    alert::NatsTransportOptions no;
    no.connection.url = output.url;
    no.connection.creds_file = output.creds_file;
    no.connection.name = "trailwatch output " + output.name;
    no.connection.timeout = output.timeout;
    no.subject = output.subject;
    transport = std::make_unique<alert::NatsTransport>(std::move(no));
  } else {
    auto http = makeHttpTransport(output);
    if (!http.ok()) return Error{what + ": " + http.error()};
    transport = std::move(http).value();
  }

  alert::SpoolOptions so;
  so.dir = (std::filesystem::path(config.state_dir) / "spool" / output.name).string();
  so.max_bytes = output.spool.max_bytes;
  so.on_full = output.spool.on_full == "drop_oldest"   ? alert::SpoolFullPolicy::kDropOldest
               : output.spool.on_full == "drop_newest" ? alert::SpoolFullPolicy::kDropNewest
                                                       : alert::SpoolFullPolicy::kBlock;
  auto spool = alert::Spool::open(so);
  if (!spool.ok()) return Error{what + ": " + spool.error()};

  alert::DeliveryOptions delivery;
  delivery.batch_max = output.batch_max;
  delivery.retry_initial_delay = output.retry_initial_delay;
  delivery.retry_max_delay = output.retry_max_delay;
  delivery.monitor = spoolMonitor(metrics.spool(output.name));
  return std::unique_ptr<AlertSink>(std::make_unique<alert::SpooledSink>(
      output.name, std::move(spool).value(), std::move(transport), std::move(delivery)));
}

// The webhook or Alertmanager output's transport.
Result<std::unique_ptr<alert::Transport>> makeHttpTransport(const config::OutputConfig& output) {
  auto url = parseHttpUrl(output.url);
  if (!url.ok()) return Error{url.error()};
  alert::HttpPosterOptions http;
  http.url = std::move(url).value();
  if (output.type == "alertmanager")
    http.url.target = alert::alertmanagerAlertsPath(http.url.target);
  http.headers = output.headers;
  http.headers_file = output.headers_file;
  http.timeout = output.timeout;
  http.tls_ca_file = output.tls_ca_file;
  auto poster = alert::HttpPoster::create(std::move(http));
  if (!poster.ok()) return Error{poster.error()};
  if (output.type == "alertmanager") {
    return std::unique_ptr<alert::Transport>(std::make_unique<alert::AlertmanagerTransport>(
        std::move(poster).value(), output.resolve_after));
  }
  return std::unique_ptr<alert::Transport>(
      std::make_unique<alert::WebhookTransport>(std::move(poster).value(), output.batch_max));
}

// The sink an output's type names, before redaction.
Result<std::unique_ptr<AlertSink>> makeTypedSink(const config::Config& config,
                                                 const config::OutputConfig& output,
                                                 metrics::Metrics& metrics) {
  if (output.type == "webhook" || output.type == "alertmanager" || output.type == "syslog" ||
      output.type == "nats") {
    return makeNetworkSink(config, output, metrics);
  }
  if (output.type == "stdout") {
    return std::unique_ptr<AlertSink>(std::make_unique<alert::StdoutSink>());
  }
  if (output.type == "file") {
    alert::FileSinkOptions options;
    options.hash_chain = output.hash_chain;
    if (!output.chain_key_file.empty()) {
      auto key = alert::readChainKey(output.chain_key_file);
      if (!key.ok()) return Error{key.error()};
      options.chain_key = std::move(key).value();
    }
    auto sink = alert::FileSink::open(output.path, options);
    if (!sink.ok()) return Error{sink.error()};
    return std::unique_ptr<AlertSink>(std::move(sink).value());
  }
  return Error{"unsupported output type '" + output.type + "'"};
}

}  // namespace

Result<std::unique_ptr<AlertSink>> makeSink(const config::Config& config,
                                            const config::OutputConfig& output,
                                            metrics::Metrics& metrics) {
  auto sink = makeTypedSink(config, output, metrics);
  if (!sink.ok() || !output.redact) return sink;
  // Redaction wraps whatever the type built, so every sink type gets it.
  alert::RedactionPolicy policy;
  policy.drop = output.redact->drop;
  policy.pseudonymize = output.redact->pseudonymize;
  policy.redact_records = output.redact->redact_records;
  if (!output.redact->key_file.empty()) {
    auto key = alert::readChainKey(output.redact->key_file);
    if (!key.ok()) return Error{key.error()};
    policy.key = std::move(key).value();
  }
  std::unique_ptr<AlertSink> inner = std::move(sink).value();
  prometheus::Counter* failures = &metrics.redactionFailures(inner->name());
  return std::unique_ptr<AlertSink>(std::make_unique<alert::RedactingSink>(
      std::move(inner), std::move(policy), [failures] { failures->Increment(); }));
}

}  // namespace trailwatch::server
