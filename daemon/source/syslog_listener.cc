#include "daemon/source/syslog_listener.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

namespace trailwatch::source {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using udp = boost::asio::ip::udp;
using boost::system::error_code;

const char* reasonLabel(SyslogReject reason) {
  switch (reason) {
    case SyslogReject::kLimit:
      return "limit";
    case SyslogReject::kPeerLimit:
      return "peer_limit";
    case SyslogReject::kTlsHandshake:
      return "tls_handshake";
    case SyslogReject::kPeerName:
      return "peer_name";
  }
  return "unknown";
}

const char* reasonLabel(SyslogFrameError reason) {
  switch (reason) {
    case SyslogFrameError::kOversized:
      return "oversized";
    case SyslogFrameError::kMalformed:
      return "malformed";
    case SyslogFrameError::kTruncated:
      return "truncated";
  }
  return "unknown";
}

const char* reasonLabel(SyslogUdpDrop reason) {
  switch (reason) {
    case SyslogUdpDrop::kQueueFull:
      return "queue_full";
    case SyslogUdpDrop::kReceiveBuffer:
      return "receive_buffer";
  }
  return "unknown";
}

namespace {

// Problems a peer can cause are logged for the first few, then sampled, so
// a hostile client cannot flood the log; the metrics count every one.
bool shouldLog(uint64_t n) { return n <= 10 || n % 10000 == 0; }

const char* protocolName(SyslogProtocol p) {
  switch (p) {
    case SyslogProtocol::kUdp:
      return "udp";
    case SyslogProtocol::kTcp:
      return "tcp";
    case SyslogProtocol::kTls:
      return "tls";
  }
  return "unknown";
}

// Messages waiting for next(): their bytes back to back, and where each is.
struct Queued {
  std::string bytes;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, length

  void add(std::string_view message) {
    spans.emplace_back(bytes.size(), message.size());
    bytes.append(message);
  }
  void clear() {
    bytes.clear();
    spans.clear();
  }
};

// The receive buffer asked of the kernel for UDP (capped by net.core.rmem_max).
constexpr int kUdpReceiveBuffer = 4 << 20;
// Datagrams read per wake-up before the queue is handed on.
constexpr int kUdpBurst = 256;
constexpr auto kRetryDelay = std::chrono::milliseconds(100);

class Connection;

}  // namespace

class SyslogListenerCore {
 public:
  SyslogListenerCore(SyslogListenerOptions options, std::unique_ptr<SyslogListenerEvents> events)
      : options_(std::move(options)),
        events_(events ? std::move(events) : std::make_unique<SyslogListenerEvents>()),
        origin_(std::string("syslog-") + protocolName(options_.protocol) + "://" + options_.listen),
        activated_fd_(options_.activated_fd) {}

  ~SyslogListenerCore() {
    if (activated_fd_ >= 0) ::close(activated_fd_);  // never opened
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // Whatever is left (parked connections, handlers holding connections)
    // is destroyed with io_, after the sockets below and before the members
    // connections report to (declared before io_).
    parked_.clear();
    acceptor_.reset();
    udp_.reset();
  }

  const SyslogListenerOptions& options() const { return options_; }
  SyslogListenerEvents& events() { return *events_; }
  ssl::context* tls() { return tls_ctx_ ? &*tls_ctx_ : nullptr; }
  uint16_t port() const { return port_; }

  Status open();
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout);
  void wake();
  SourceStats stats() const;

  // --- I/O thread only, from here on.
  void stage(std::string_view message) { staging_.add(message); }
  // Moves staged messages to the queue; true when the queue is now full, in
  // which case a caller that stops reading (`will_park`) is resumed after
  // the next next().
  bool flushStaging(bool will_park);
  void park(std::shared_ptr<Connection> connection) { parked_.push_back(std::move(connection)); }
  void connectionOpened(const std::string& address) {
    ++per_peer_[address];
    events_->connectionsOpen(++open_);
  }
  void connectionEnded(const std::string& address) {
    if (auto it = per_peer_.find(address); it != per_peer_.end() && --it->second == 0) {
      per_peer_.erase(it);
    }
    events_->connectionsOpen(--open_);
  }
  void addBytes(std::size_t n) { bytes_read_.fetch_add(n, std::memory_order_relaxed); }
  void frameErrors(const SyslogFrameCounts& before, const SyslogFrameCounts& after,
                   const std::string& peer);
  void reject(SyslogReject reason, const std::string& peer, const std::string& why);

 private:
  Status bind();
  // Takes over a socket systemd bound (activated_fd); closes it on failure.
  Status adopt(int fd);
  Status setUpTls();
  void accept();
  void onAccept(const error_code& ec, tcp::socket socket);
  void waitUdp();
  void readUdp();
  void resumeParked();
  void run();

  const SyslogListenerOptions options_;
  const std::unique_ptr<SyslogListenerEvents> events_;
  const std::string origin_;
  uint16_t port_ = 0;
  int activated_fd_;        // options_.activated_fd until adopt() takes it
  bool activated_ = false;  // the socket came from systemd

  // I/O thread.
  Queued staging_;
  std::vector<std::shared_ptr<Connection>> parked_;  // stopped reading: queue full
  std::size_t open_ = 0;
  std::unordered_map<std::string, std::size_t> per_peer_;  // open connections by peer address
  uint64_t rejects_logged_ = 0, frame_errors_logged_ = 0, accept_errors_ = 0;
  std::vector<char> udp_buffer_;
  uint32_t kernel_drops_ = 0;  // SO_RXQ_OVFL's running count

  // Shared between the I/O thread and next().
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Queued filling_;                            // guarded by mu_
  bool woken_ = false;                        // guarded by mu_
  bool resume_wanted_ = false;                // guarded by mu_
  std::atomic<std::size_t> queued_bytes_{0};  // filling_.bytes.size(), for UDP's drop check
  std::atomic<uint64_t> bytes_read_{0}, records_{0}, oversized_{0};

  // next()'s thread.
  Queued handed_;  // the records of the last batch
  uint64_t sequence_ = 0;

  // Declared after everything connections touch, so it is destroyed before.
  std::optional<ssl::context> tls_ctx_;
  asio::io_context io_{1};
  std::optional<tcp::acceptor> acceptor_;
  std::optional<udp::socket> udp_;
  asio::steady_timer retry_{io_};
  std::thread thread_;
};

namespace {

// One TCP or TLS client: (handshake,) read, deframe, queue, read again.
class Connection final : public std::enable_shared_from_this<Connection>,
                         private SyslogFrameHandler {
 public:
  Connection(SyslogListenerCore& core, tcp::socket socket, std::string address, std::string peer)
      : core_(core),
        address_(std::move(address)),
        peer_(std::move(peer)),
        plain_(std::move(socket)),
        timer_(plain_.get_executor()),
        deframer_(core.options().framing, core.options().max_frame_bytes) {
    if (ssl::context* tls = core.tls()) {
      tls_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(plain_), *tls);
    }
    core_.connectionOpened(address_);
  }
  ~Connection() override { core_.connectionEnded(address_); }

  void start() {
    if (!tls_) {
      established_ = true;
      core_.events().connectionAccepted();
      read();
      return;
    }
    armIdle();
    tls_->async_handshake(
        ssl::stream_base::server,
        [self = shared_from_this()](const error_code& ec) { self->onHandshake(ec); });
  }

  void resume() { read(); }

 private:
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }

  void onFrame(std::string_view frame) override { core_.stage(frame); }

  void armIdle() {
    const uint64_t generation = ++idle_generation_;
    timer_.expires_after(core_.options().idle_timeout);
    timer_.async_wait([weak = weak_from_this(), generation](const error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (self && self->idle_generation_ == generation) self->onIdle();
    });
  }

  void disarmIdle() {
    ++idle_generation_;
    timer_.cancel();
  }

  void onIdle() {
    if (established_) {
      core_.events().idleClosed();
      spdlog::debug("syslog {}: closing {}: idle for {} ms", core_.options().name, peer_,
                    core_.options().idle_timeout.count());
    }
    closing_ = true;
    close();
  }

  void onHandshake(const error_code& ec) {
    disarmIdle();
    if (ec) {
      core_.reject(SyslogReject::kTlsHandshake, peer_,
                   closing_ ? "handshake not finished within idle_timeout" : ec.message());
      close();
      return;
    }
    std::string names;
    if (!peerAllowed(names)) {
      core_.reject(SyslogReject::kPeerName, peer_, "certificate " + names + " is not allowed");
      close();
      return;
    }
    established_ = true;
    core_.events().connectionAccepted();
    read();
  }

  // Whether the verified client certificate names an allowed peer; `names`
  // gets its subject for the log.
  bool peerAllowed(std::string& names) {
    const auto& allowed = core_.options().tls.allowed_peers;
    if (allowed.empty()) return true;
    X509* cert = SSL_get1_peer_certificate(tls_->native_handle());
    if (cert == nullptr) {
      names = "(none)";
      return false;
    }
    char subject[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
    names = subject;
    bool ok = false;
    for (const auto& name : allowed) {
      if (X509_check_host(
              cert, name.data(), name.size(),
              X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
              nullptr) == 1) {
        ok = true;
        break;
      }
    }
    X509_free(cert);
    return ok;
  }

  void read() {
    if (!buffer_) buffer_ = std::make_unique<char[]>(core_.options().read_size);
    armIdle();
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t n) {
      self->onRead(ec, n);
    };
    auto buffer = asio::buffer(buffer_.get(), core_.options().read_size);
    if (tls_) {
      tls_->async_read_some(buffer, std::move(handler));
    } else {
      plain_.async_read_some(buffer, std::move(handler));
    }
  }

  void onRead(const error_code& ec, std::size_t n) {
    disarmIdle();
    const SyslogFrameCounts before = deframer_.counts();
    if (n > 0) {
      core_.addBytes(n);
      deframer_.feed(std::string_view(buffer_.get(), n), *this);
    }
    if (ec) {
      deframer_.finish(*this);
      core_.frameErrors(before, deframer_.counts(), peer_);
      core_.flushStaging(false);
      if (!closing_ && ec != asio::error::eof && ec != ssl::error::stream_truncated &&
          ec != asio::error::operation_aborted) {
        spdlog::debug("syslog {}: {} closed: {}", core_.options().name, peer_, ec.message());
      }
      close();
      return;
    }
    core_.frameErrors(before, deframer_.counts(), peer_);
    if (core_.flushStaging(true)) {
      core_.events().readPaused();
      core_.park(shared_from_this());
      return;
    }
    read();
  }

  void close() {
    error_code ignored;
    socket().close(ignored);
  }

  SyslogListenerCore& core_;
  const std::string address_;  // the peer's IP address, for max_connections_per_peer
  const std::string peer_;     // address:port, for the log
  tcp::socket plain_;          // moved into tls_ for TLS
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
  asio::steady_timer timer_;
  uint64_t idle_generation_ = 0;
  SyslogDeframer deframer_;
  std::unique_ptr<char[]> buffer_;
  bool established_ = false;  // TCP accepted, or TLS through handshake and name check
  bool closing_ = false;      // closed by us for idleness
};

// "host:port" or "[v6]:port" split; false when there is no port.
bool splitListen(const std::string& listen, std::string& host, std::string& port) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty() && !port.empty();
}

std::string describe(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

}  // namespace

Status SyslogListenerCore::setUpTls() {
  const auto& t = options_.tls;
  tls_ctx_.emplace(ssl::context::tls_server);
  ssl::context& ctx = *tls_ctx_;
  error_code ec;
  // RFC 9662 (updating RFC 5425): TLS 1.2 at least.
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use,
                  ec);
  if (ctx.use_certificate_chain_file(t.cert_file, ec); ec) {
    return Error{"cannot load the TLS certificate " + t.cert_file + ": " + ec.message()};
  }
  if (ctx.use_private_key_file(t.key_file, ssl::context::pem, ec); ec) {
    return Error{"cannot load the TLS key " + t.key_file + ": " + ec.message()};
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return Error{"the TLS key " + t.key_file + " does not match the certificate " + t.cert_file};
  }
  static const unsigned char kSessionContext[] = "trailwatch-syslog";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  if (!t.ca_file.empty()) {
    if (ctx.load_verify_file(t.ca_file, ec); ec) {
      return Error{"cannot load the TLS CA file " + t.ca_file + ": " + ec.message()};
    }
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    // Tell clients which CAs are accepted, so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
    }
  }
  return Status::Ok();
}

Status SyslogListenerCore::adopt(int fd) {
  const bool udp = options_.protocol == SyslogProtocol::kUdp;
  const std::string what = std::string("socket-activated fd ") + std::to_string(fd) +
                           " for syslog source '" + options_.name + "' (" +
                           protocolName(options_.protocol) + "): ";
  const int fits = sd_is_socket(fd, AF_UNSPEC, udp ? SOCK_DGRAM : SOCK_STREAM, udp ? -1 : 1);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (fits <= 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
    ::close(fd);
    return Error{
        what +
        (udp ? "not an IPv4/IPv6 datagram socket" : "not a listening IPv4/IPv6 stream socket") +
        " (check ListenDatagram=/ListenStream= in the .socket unit)"};
  }
  const bool v6 = addr.ss_family == AF_INET6;
  error_code ec;
  if (udp) {
    udp_.emplace(io_);
    if (udp_->assign(v6 ? udp::v6() : udp::v4(), fd, ec); ec) {
      ::close(fd);
      return Error{what + ec.message()};
    }
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    port_ = udp_->local_endpoint(ec).port();
    udp_buffer_.resize(65536);
    return Status::Ok();
  }
  acceptor_.emplace(io_);
  if (acceptor_->assign(v6 ? tcp::v6() : tcp::v4(), fd, ec); ec) {
    ::close(fd);
    return Error{what + ec.message()};
  }
  port_ = acceptor_->local_endpoint(ec).port();
  return Status::Ok();
}

Status SyslogListenerCore::bind() {
  if (activated_fd_ >= 0) {
    activated_ = true;
    return adopt(std::exchange(activated_fd_, -1));
  }
  std::string host, port_text;
  if (!splitListen(options_.listen, host, port_text)) {
    return Error{"invalid listen address '" + options_.listen + "' (expected host:port)"};
  }
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Error{"cannot resolve '" + host + "': " + (ec ? ec.message() : "no address")};
    }
    address = results.begin()->endpoint().address();
  }
  unsigned long port = 0;
  try {
    port = std::stoul(port_text);
  } catch (const std::exception&) {
    port = 65536;
  }
  if (port > 65535) return Error{"invalid port '" + port_text + "'"};
  const std::string what = std::string("cannot listen on ") + protocolName(options_.protocol) +
                           " " + options_.listen + ": ";

  if (options_.protocol == SyslogProtocol::kUdp) {
    const udp::endpoint endpoint(address, static_cast<uint16_t>(port));
    udp_.emplace(io_);
    if (udp_->open(endpoint.protocol(), ec); ec) return Error{what + ec.message()};
    if (udp_->bind(endpoint, ec); ec) return Error{what + ec.message()};
    udp_->set_option(asio::socket_base::receive_buffer_size(kUdpReceiveBuffer), ec);
    const int one = 1;
    if (::setsockopt(udp_->native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
      spdlog::warn("syslog {}: kernel UDP drops will not be counted (SO_RXQ_OVFL: {})",
                   options_.name, std::strerror(errno));
    }
    port_ = udp_->local_endpoint(ec).port();
    udp_buffer_.resize(65536);
    return Status::Ok();
  }
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor_.emplace(io_);
  if (acceptor_->open(endpoint.protocol(), ec); ec) return Error{what + ec.message()};
  acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor_->bind(endpoint, ec); ec) return Error{what + ec.message()};
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Error{what + ec.message()};
  }
  port_ = acceptor_->local_endpoint(ec).port();
  return Status::Ok();
}

Status SyslogListenerCore::open() {
  // Asio and OpenSSL report some failures by throwing; this is their edge.
  try {
    if (options_.protocol == SyslogProtocol::kTls) {
      if (Status s = setUpTls(); !s.ok()) return s;
    }
    if (Status s = bind(); !s.ok()) return s;
    if (udp_) {
      waitUdp();
    } else {
      accept();
    }
    thread_ = std::thread([this] { run(); });
  } catch (const std::exception& e) {
    return Error{std::string("cannot start the syslog listener: ") + e.what()};
  }
  spdlog::info("syslog {}: listening on {} {} (port {}{})", options_.name,
               protocolName(options_.protocol), options_.listen, port_,
               activated_ ? ", socket from systemd" : "");
  return Status::Ok();
}

void SyslogListenerCore::run() {
  auto work = asio::make_work_guard(io_);
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // A handler threw (out of memory, most likely): keep serving.
      spdlog::error("syslog {}: {}", options_.name, e.what());
    }
  }
}

void SyslogListenerCore::accept() {
  acceptor_->async_accept(
      [this](const error_code& ec, tcp::socket socket) { onAccept(ec, std::move(socket)); });
}

void SyslogListenerCore::onAccept(const error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors, most likely: try again shortly rather than spin.
    if (shouldLog(++accept_errors_)) {
      spdlog::warn("syslog {}: accept failed: {} ({} so far)", options_.name, ec.message(),
                   accept_errors_);
    }
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([this](const error_code& e) {
      if (!e) accept();
    });
    return;
  }
  error_code peer_ec;
  const tcp::endpoint remote = socket.remote_endpoint(peer_ec);
  const std::string peer = describe(remote);
  std::string address = remote.address().to_string();
  const auto it = per_peer_.find(address);
  const std::size_t from_peer = it == per_peer_.end() ? 0 : it->second;
  std::optional<SyslogReject> refuse;
  std::string why;
  if (open_ >= options_.max_connections) {
    refuse = SyslogReject::kLimit;
    why = "max_connections (" + std::to_string(options_.max_connections) + ") reached";
  } else if (from_peer >= options_.max_connections_per_peer) {
    refuse = SyslogReject::kPeerLimit;
    why = "max_connections_per_peer (" + std::to_string(options_.max_connections_per_peer) +
          ") reached";
  }
  if (refuse) {
    reject(*refuse, peer, why);
    error_code ignored;
    socket.close(ignored);
  } else {
    std::make_shared<Connection>(*this, std::move(socket), std::move(address), peer)->start();
  }
  accept();
}

void SyslogListenerCore::reject(SyslogReject reason, const std::string& peer,
                                const std::string& why) {
  events_->connectionRejected(reason);
  if (shouldLog(++rejects_logged_)) {
    spdlog::warn("syslog {}: rejected {} ({}): {}; {} rejected so far", options_.name, peer,
                 reasonLabel(reason), why, rejects_logged_);
  }
}

void SyslogListenerCore::frameErrors(const SyslogFrameCounts& before,
                                     const SyslogFrameCounts& after, const std::string& peer) {
  const std::pair<SyslogFrameError, uint64_t> deltas[] = {
      {SyslogFrameError::kOversized, after.oversized - before.oversized},
      {SyslogFrameError::kMalformed, after.malformed - before.malformed},
      {SyslogFrameError::kTruncated, after.truncated - before.truncated}};
  for (const auto& [reason, n] : deltas) {
    if (n == 0) continue;
    if (reason == SyslogFrameError::kOversized) oversized_.fetch_add(n, std::memory_order_relaxed);
    events_->frameErrors(reason, n);
    frame_errors_logged_ += n;
    if (shouldLog(frame_errors_logged_)) {
      spdlog::warn("syslog {}: dropped {} {} frame(s) from {}; {} dropped so far", options_.name, n,
                   reasonLabel(reason), peer, frame_errors_logged_);
    }
  }
}

bool SyslogListenerCore::flushStaging(bool will_park) {
  std::lock_guard lock(mu_);
  if (!staging_.spans.empty()) {
    if (filling_.spans.empty()) {
      std::swap(filling_, staging_);
    } else {
      for (const auto& [offset, length] : staging_.spans) {
        filling_.add(std::string_view(staging_.bytes).substr(offset, length));
      }
    }
    staging_.clear();
    queued_bytes_.store(filling_.bytes.size(), std::memory_order_relaxed);
    cv_.notify_one();
  }
  const bool full = filling_.bytes.size() >= options_.queue_bytes;
  if (full && will_park) resume_wanted_ = true;
  return full;
}

void SyslogListenerCore::resumeParked() {
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& connection : parked) connection->resume();
}

void SyslogListenerCore::waitUdp() {
  udp_->async_wait(udp::socket::wait_read, [this](const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      spdlog::warn("syslog {}: UDP wait failed: {}", options_.name, ec.message());
      retry_.expires_after(kRetryDelay);
      retry_.async_wait([this](const error_code& e) {
        if (!e) waitUdp();
      });
      return;
    }
    readUdp();
  });
}

void SyslogListenerCore::readUdp() {
  const int fd = udp_->native_handle();
  uint64_t queue_full = 0;
  for (int k = 0; k < kUdpBurst; ++k) {
    iovec iov{udp_buffer_.data(), udp_buffer_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained; anything else is retried at the next wake-up
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
      uint32_t drops = 0;
      std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
      if (drops != kernel_drops_) {
        events_->udpDropped(SyslogUdpDrop::kReceiveBuffer, drops - kernel_drops_);
        kernel_drops_ = drops;
      }
    }
    addBytes(static_cast<std::size_t>(n));
    std::string_view message(udp_buffer_.data(), static_cast<std::size_t>(n));
    // RFC 5426: one message per datagram; some senders still end it with LF or NUL.
    while (!message.empty() &&
           (message.back() == '\n' || message.back() == '\r' || message.back() == '\0')) {
      message.remove_suffix(1);
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0 || message.size() > options_.max_frame_bytes) {
      SyslogFrameCounts before, after;
      after.oversized = 1;
      frameErrors(before, after, "a UDP sender");
      continue;
    }
    if (message.empty()) continue;
    if (queued_bytes_.load(std::memory_order_relaxed) + staging_.bytes.size() >=
        options_.queue_bytes) {
      ++queue_full;
      continue;
    }
    staging_.add(message);
  }
  if (queue_full > 0) {
    events_->udpDropped(SyslogUdpDrop::kQueueFull, queue_full);
    frame_errors_logged_ += queue_full;
    if (shouldLog(frame_errors_logged_)) {
      spdlog::warn("syslog {}: dropped {} UDP datagram(s): queue full", options_.name, queue_full);
    }
  }
  flushStaging(false);
  waitUdp();
}

bool SyslogListenerCore::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  batch.clear();
  handed_.clear();
  bool resume = false;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !filling_.spans.empty() || woken_; });
    woken_ = false;
    std::swap(handed_, filling_);
    queued_bytes_.store(0, std::memory_order_relaxed);
    resume = std::exchange(resume_wanted_, false);
  }
  if (resume) asio::post(io_, [this] { resumeParked(); });
  if (handed_.spans.empty()) return true;
  // Every record is followed by the next one's bytes or by this padding.
  handed_.bytes.append(kRecordPadding, '\0');
  const std::string_view bytes(handed_.bytes);
  batch.records.reserve(handed_.spans.size());
  for (const auto& [offset, length] : handed_.spans) {
    batch.records.push_back(Record{bytes.substr(offset, length), origin_, sequence_++});
  }
  records_.fetch_add(handed_.spans.size(), std::memory_order_relaxed);
  return true;
}

void SyslogListenerCore::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

SourceStats SyslogListenerCore::stats() const {
  SourceStats s;
  s.bytes_read = bytes_read_.load(std::memory_order_relaxed);
  s.records = records_.load(std::memory_order_relaxed);
  s.oversized_skipped = oversized_.load(std::memory_order_relaxed);
  s.lag_bytes = queued_bytes_.load(std::memory_order_relaxed);  // received, not yet handed out
  return s;
}

SyslogListener::SyslogListener(SyslogListenerOptions options,
                               std::unique_ptr<SyslogListenerEvents> events)
    : core_(std::make_unique<SyslogListenerCore>(std::move(options), std::move(events))) {}

SyslogListener::~SyslogListener() = default;

const std::string& SyslogListener::name() const { return core_->options().name; }
Status SyslogListener::open() { return core_->open(); }
bool SyslogListener::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  return core_->next(batch, timeout);
}
void SyslogListener::wake() { core_->wake(); }
SourceStats SyslogListener::stats() const { return core_->stats(); }
uint16_t SyslogListener::port() const { return core_->port(); }

}  // namespace trailwatch::source
