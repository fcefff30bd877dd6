// SyslogListener: a Source that receives syslog messages over the network,
// on one socket per source: UDP (RFC 5426, one message per datagram), TCP
// (RFC 6587 framing, see syslog_framing.h) or TLS (RFC 5425; with a CA,
// clients must present a certificate it signed, as IHE ATNA requires of
// audit record transport, and may be limited to allowed peer names).
//
// Threads: open() binds the socket (or adopts one systemd bound, see
// SyslogListenerOptions::activated_fd) and starts one I/O thread running a
// Boost.Asio io_context; it does every read, handshake and timer. Messages
// go through a bounded queue (queue_bytes) to next(), on the pipeline
// thread. When the queue is full, TCP and TLS connections stop reading until
// next() takes records out (the kernel buffers fill and TCP flow control
// slows the senders); UDP datagrams that arrive meanwhile are dropped and
// counted (queue_full), as are those the kernel dropped because its receive
// buffer was full (receive_buffer, read with SO_RXQ_OVFL).
//
// Limits, each counted through SyslogListenerEvents: max_connections and
// max_connections_per_peer (a connection over either is accepted and closed
// at once), idle_timeout (a
// connection that sends nothing, or does not finish its TLS handshake, for
// that long is closed), max_frame_bytes (longer messages are dropped). The
// memory held is bounded by queue_bytes plus, per connection, one read
// (read_size) and one partial frame (max_frame_bytes).
//
// Delivery: the network gives nothing to re-read, so commit() has nothing to
// persist. A record is evaluated once it is in the queue; records in the
// queue, or in kernel buffers, when the process dies are lost, and neither
// RFC 6587 nor RFC 5425 has an acknowledgement that would let a sender know.
//
// Records: Record::origin is `syslog-<protocol>://<listen>` (the configured
// address, stable for the source's life); Record::offset counts the
// records the source has handed out since it started (0, 1, 2, ...).
// SourceStats::lag_bytes is the message bytes waiting in the queue.
//
// Thread-safety: see Source; the events object is called on the I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/source/syslog_framing.h"
#include "trailwatch/source.h"

namespace trailwatch::source {

enum class SyslogProtocol { kUdp, kTcp, kTls };
enum class SyslogReject { kLimit, kPeerLimit, kTlsHandshake, kPeerName };
enum class SyslogFrameError { kOversized, kMalformed, kTruncated };
enum class SyslogUdpDrop { kQueueFull, kReceiveBuffer };

// Metric label values: "limit", "peer_limit", "tls_handshake", "peer_name"; "oversized",
// "malformed", "truncated"; "queue_full", "receive_buffer".
const char* reasonLabel(SyslogReject reason);
const char* reasonLabel(SyslogFrameError reason);
const char* reasonLabel(SyslogUdpDrop reason);

// What happens to connections and messages, for metrics and tests. Called
// on the listener's I/O thread only; the defaults do nothing.
class SyslogListenerEvents {
 public:
  virtual ~SyslogListenerEvents() = default;
  // A TCP connection accepted, or a TLS client through handshake and checks.
  virtual void connectionAccepted() {}
  virtual void connectionRejected(SyslogReject /*reason*/) {}
  // Connections now open (handshakes included).
  virtual void connectionsOpen(std::size_t /*n*/) {}
  virtual void idleClosed() {}
  virtual void frameErrors(SyslogFrameError /*reason*/, uint64_t /*n*/) {}
  virtual void udpDropped(SyslogUdpDrop /*reason*/, uint64_t /*n*/) {}
  // A connection stopped reading because the queue was full.
  virtual void readPaused() {}
};

struct SyslogTlsOptions {
  std::string cert_file;  // PEM: the server certificate (chain)
  std::string key_file;   // PEM: its private key
  std::string ca_file;    // PEM: CAs for client certificates; empty = no client certificate asked
  // Clients whose certificate names none of these (subject alternative DNS
  // names and the subject CN, wildcards in the certificate as RFC 6125
  // allows) are closed after the handshake; empty = any verified client.
  std::vector<std::string> allowed_peers;
};

struct SyslogListenerOptions {
  std::string name = "syslog";
  SyslogProtocol protocol = SyslogProtocol::kUdp;
  std::string listen = "127.0.0.1:514";          // host:port or [v6]:port; port 0 picks a free one
  SyslogFraming framing = SyslogFraming::kAuto;  // TCP and TLS
  SyslogTlsOptions tls;
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t max_connections = 512;
  // Per client address, so one host opening many connections cannot take
  // every slot from the others.
  std::size_t max_connections_per_peer = 64;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::size_t queue_bytes = 8 << 20;  // message bytes waiting for next() before backpressure
  std::size_t read_size = 16 * 1024;  // bytes per TCP read (a TLS record is at most 16KiB)
  // A socket already bound (systemd socket activation, activated_sockets.h),
  // owned by the listener from construction: a datagram socket for UDP, a
  // listening stream socket for TCP and TLS, else open() fails saying so.
  // -1: open() binds `listen` itself.
  int activated_fd = -1;
};

class SyslogListenerCore;  // the I/O side, in syslog_listener.cc

class SyslogListener final : public Source {
 public:
  explicit SyslogListener(SyslogListenerOptions options,
                          std::unique_ptr<SyslogListenerEvents> events = nullptr);
  ~SyslogListener() override;  // stops the I/O thread, closes every socket

  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  const std::string& name() const override;
  // Binds the socket (or fails naming the address and why), loads the TLS
  // certificate, key and CA, and starts the I/O thread.
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override { return Status::Ok(); }
  void wake() override;
  SourceStats stats() const override;

  // The port bound (after open()); useful with port 0.
  uint16_t port() const;

 private:
  std::unique_ptr<SyslogListenerCore> core_;
};

}  // namespace trailwatch::source
