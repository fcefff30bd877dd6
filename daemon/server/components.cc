#include "daemon/server/components.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <utility>

#include "daemon/alert/file_sink.h"
#include "daemon/alert/stdout_sink.h"
#include "daemon/source/file_source.h"
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

source::SyslogListenerOptions syslogOptions(const config::SourceConfig& sc) {
  const auto& c = sc.syslog;
  source::SyslogListenerOptions o;
  o.name = sc.name;
  o.protocol = c.protocol == "udp"   ? source::SyslogProtocol::kUdp
               : c.protocol == "tcp" ? source::SyslogProtocol::kTcp
                                     : source::SyslogProtocol::kTls;
  o.listen = c.listen;
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

Result<std::unique_ptr<Source>> makeSource(const config::Config& config,
                                           const config::SourceConfig& sc,
                                           metrics::Metrics& metrics) {
  if (sc.type == "file") {
    source::FileSourceOptions fo;
    fo.name = sc.name;
    fo.patterns = sc.paths;
    fo.follow = true;
    fo.start_at_end = sc.start_at_end;
    fo.max_line_bytes = sc.max_line_bytes;
    fo.checkpoint_path = checkpointPath(config, sc.name);
    return std::unique_ptr<Source>(std::make_unique<source::FileSource>(std::move(fo)));
  }
  if (sc.type == "syslog") {
    auto options = syslogOptions(sc);
    auto events = std::make_unique<SyslogListenerMetrics>(metrics, sc.name, options.protocol);
    return std::unique_ptr<Source>(
        std::make_unique<source::SyslogListener>(std::move(options), std::move(events)));
  }
  return Error{"source " + sc.name + ": unsupported type '" + sc.type + "'"};
}

Result<std::unique_ptr<AlertSink>> makeSink(const config::Config& /*config*/,
                                            const config::OutputConfig& output,
                                            metrics::Metrics& /*metrics*/) {
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

}  // namespace trailwatch::server
