#include "daemon/source/syslog_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace trailwatch::source {
namespace {

using namespace std::chrono_literals;

// Records what the listener reports, and lets a test wait for it.
struct Counts {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, uint64_t> n;  // guarded by mu

  void add(const std::string& key, uint64_t by = 1) {
    std::lock_guard lock(mu);
    n[key] += by;
    cv.notify_all();
  }
  uint64_t get(const std::string& key) {
    std::lock_guard lock(mu);
    return n[key];
  }
  bool waitAtLeast(const std::string& key, uint64_t value) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return n[key] >= value; });
  }
};

class TestEvents final : public SyslogListenerEvents {
 public:
  explicit TestEvents(Counts& counts) : c_(counts) {}
  void connectionAccepted() override { c_.add("accepted"); }
  void connectionRejected(SyslogReject r) override {
    c_.add(std::string("rejected.") + reasonLabel(r));
  }
  void connectionsOpen(std::size_t n) override {
    std::lock_guard lock(c_.mu);
    c_.n["open"] = n;
    c_.cv.notify_all();
  }
  void idleClosed() override { c_.add("idle"); }
  void frameErrors(SyslogFrameError r, uint64_t n) override {
    c_.add(std::string("frame.") + reasonLabel(r), n);
  }
  void udpDropped(SyslogUdpDrop r, uint64_t n) override {
    c_.add(std::string("udp.") + reasonLabel(r), n);
  }
  void readPaused() override { c_.add("paused"); }

 private:
  Counts& c_;
};

// A blocking loopback client socket.
class Client {
 public:
  Client(int type, uint16_t port) : fd_(::socket(AF_INET, type, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // True when the server closed the connection (read returns 0 or reset).
  bool closedByServer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
  bool connected_ = false;
};

struct Listener {
  explicit Listener(SyslogListenerOptions options)
      : source(std::move(options), std::make_unique<TestEvents>(counts)) {}
  Counts counts;
  SyslogListener source;
};

SyslogListenerOptions options(SyslogProtocol protocol) {
  SyslogListenerOptions o;
  o.name = "net";
  o.protocol = protocol;
  o.listen = "127.0.0.1:0";
  return o;
}

// Calls next() until `want` records arrived, or five seconds of empty batches.
std::vector<std::string> collect(SyslogListener& source, std::size_t want,
                                 std::vector<Record>* records = nullptr) {
  std::vector<std::string> out;
  RecordBatch batch;
  for (int empty = 0; empty < 50 && out.size() < want;) {
    source.next(batch, 100ms);
    empty = batch.records.empty() ? empty + 1 : 0;
    for (const auto& r : batch.records) {
      out.emplace_back(r.text);
      if (records != nullptr) records->push_back(r);
      // The padding promised by kRecordPadding is readable.
      volatile char last = r.text.data()[r.text.size() + kRecordPadding - 1];
      (void)last;
    }
  }
  return out;
}

TEST(SyslogListener, TcpDeliversBothFramingsWithStableOriginAndRunningOffsets) {
  Listener l(options(SyslogProtocol::kTcp));
  ASSERT_TRUE(l.source.open().ok());
  ASSERT_NE(l.source.port(), 0);
  Client client(SOCK_STREAM, l.source.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("<13>line one\n17 <13>octet\ncounted<13>line two\r\n"));
  std::vector<Record> records;
  auto got = collect(l.source, 3, &records);
  EXPECT_EQ(got, (std::vector<std::string>{"<13>line one", "<13>octet\ncounted", "<13>line two"}));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].origin, "syslog-tcp://127.0.0.1:0");
  EXPECT_EQ(records[0].offset, 0u);
  EXPECT_EQ(records[2].offset, 2u);
  EXPECT_EQ(l.counts.get("accepted"), 1u);
  EXPECT_EQ(l.source.stats().records, 3u);
}

TEST(SyslogListener, UdpDatagramIsOneMessage) {
  Listener l(options(SyslogProtocol::kUdp));
  ASSERT_TRUE(l.source.open().ok());
  Client client(SOCK_DGRAM, l.source.port());
  ASSERT_TRUE(client.send("<13>one\n"));
  ASSERT_TRUE(client.send("<13>two\nstill two"));
  EXPECT_EQ(collect(l.source, 2), (std::vector<std::string>{"<13>one", "<13>two\nstill two"}));
}

TEST(SyslogListener, MalformedAndOversizedFramesAreCountedAndTheNextOneArrives) {
  auto o = options(SyslogProtocol::kTcp);
  o.framing = SyslogFraming::kOctetCounting;
  o.max_frame_bytes = 32;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client client(SOCK_STREAM, l.source.port());
  ASSERT_TRUE(client.send("garbage\n99 " + std::string(99, 'x') + "4 good"));
  EXPECT_EQ(collect(l.source, 1), (std::vector<std::string>{"good"}));
  EXPECT_TRUE(l.counts.waitAtLeast("frame.malformed", 1));
  EXPECT_TRUE(l.counts.waitAtLeast("frame.oversized", 1));
  EXPECT_EQ(l.source.stats().oversized_skipped, 1u);
  client.send("10 cut");
  client.shutdownWrite();
  EXPECT_TRUE(l.counts.waitAtLeast("frame.truncated", 1));
}

TEST(SyslogListener, ConnectionsOverTheLimitAreClosedAndCounted) {
  auto o = options(SyslogProtocol::kTcp);
  o.max_connections = 2;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client a(SOCK_STREAM, l.source.port());
  Client b(SOCK_STREAM, l.source.port());
  ASSERT_TRUE(l.counts.waitAtLeast("open", 2));
  Client c(SOCK_STREAM, l.source.port());
  EXPECT_TRUE(c.closedByServer());
  EXPECT_TRUE(l.counts.waitAtLeast("rejected.limit", 1));
  ASSERT_TRUE(a.send("<13>still served\n"));
  EXPECT_EQ(collect(l.source, 1), (std::vector<std::string>{"<13>still served"}));
}

TEST(SyslogListener, ConnectionsOverThePerPeerLimitAreClosedAndCounted) {
  auto o = options(SyslogProtocol::kTcp);
  o.max_connections_per_peer = 1;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client a(SOCK_STREAM, l.source.port());
  ASSERT_TRUE(l.counts.waitAtLeast("open", 1));
  Client b(SOCK_STREAM, l.source.port());
  EXPECT_TRUE(b.closedByServer());
  EXPECT_EQ(l.counts.get("rejected.peer_limit"), 1u);
}

TEST(SyslogListener, IdleConnectionIsClosedAndCounted) {
  auto o = options(SyslogProtocol::kTcp);
  o.idle_timeout = 50ms;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client a(SOCK_STREAM, l.source.port());
  EXPECT_TRUE(a.closedByServer());
  EXPECT_TRUE(l.counts.waitAtLeast("idle", 1));
  EXPECT_TRUE(l.counts.waitAtLeast("accepted", 1));
}

TEST(SyslogListener, FullQueuePausesTcpReadsWithoutLosingMessages) {
  auto o = options(SyslogProtocol::kTcp);
  o.queue_bytes = 1024;
  o.read_size = 512;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client client(SOCK_STREAM, l.source.port());
  std::string all;
  const int kMessages = 5000;
  for (int i = 0; i < kMessages; ++i) all += "<13>message " + std::to_string(i) + "\n";
  std::thread sender([&] { client.send(all); });
  // Nothing is taken out until the listener has paused a read.
  EXPECT_TRUE(l.counts.waitAtLeast("paused", 1));
  EXPECT_GE(l.source.stats().lag_bytes, 1024u);  // what waits in the queue
  auto got = collect(l.source, kMessages);
  sender.join();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(got[static_cast<std::size_t>(i)], "<13>message " + std::to_string(i));
  }
}

TEST(SyslogListener, FullQueueDropsUdpAndCountsIt) {
  auto o = options(SyslogProtocol::kUdp);
  o.queue_bytes = 64;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client client(SOCK_DGRAM, l.source.port());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client.send("<13>datagram number " + std::to_string(i)));
  EXPECT_TRUE(l.counts.waitAtLeast("udp.queue_full", 1));
  auto got = collect(l.source, 1);
  EXPECT_FALSE(got.empty());
  EXPECT_LT(got.size(), 50u);
}

TEST(SyslogListener, BindFailureNamesTheAddress) {
  Listener first(options(SyslogProtocol::kTcp));
  ASSERT_TRUE(first.source.open().ok());
  auto o = options(SyslogProtocol::kTcp);
  o.listen = "127.0.0.1:" + std::to_string(first.source.port());
  Listener second(o);
  Status s = second.source.open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("cannot listen on tcp 127.0.0.1:"), std::string::npos) << s.error();
}

// A socket bound by "systemd": loopback, port 0; listening when a stream.
int boundSocket(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  if (type == SOCK_STREAM && ::listen(fd, 16) != 0) return -1;
  return fd;
}

uint16_t portOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(SyslogListener, ActivatedUdpSocketIsUsedInsteadOfListen) {
  const int fd = boundSocket(SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  const uint16_t port = portOf(fd);
  auto o = options(SyslogProtocol::kUdp);
  o.listen = "127.0.0.1:1";  // would need privileges: not bound
  o.activated_fd = fd;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  EXPECT_EQ(l.source.port(), port);
  Client client(SOCK_DGRAM, port);
  ASSERT_TRUE(client.send("<13>activated"));
  EXPECT_EQ(collect(l.source, 1), (std::vector<std::string>{"<13>activated"}));
}

TEST(SyslogListener, ActivatedTcpSocketAcceptsConnections) {
  const int fd = boundSocket(SOCK_STREAM);
  ASSERT_GE(fd, 0);
  auto o = options(SyslogProtocol::kTcp);
  o.listen = "127.0.0.1:1";
  o.activated_fd = fd;
  Listener l(o);
  ASSERT_TRUE(l.source.open().ok());
  Client client(SOCK_STREAM, portOf(fd));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("<13>over tcp\n"));
  EXPECT_EQ(collect(l.source, 1), (std::vector<std::string>{"<13>over tcp"}));
}

TEST(SyslogListener, ActivatedSocketOfTheWrongKindIsAnError) {
  const int fd = boundSocket(SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  auto o = options(SyslogProtocol::kTcp);
  o.activated_fd = fd;
  Listener l(o);
  Status s = l.source.open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("not a listening IPv4/IPv6 stream socket"), std::string::npos)
      << s.error();
}

TEST(SyslogListener, MissingTlsCertificateIsAnError) {
  auto o = options(SyslogProtocol::kTls);
  o.tls.cert_file = "/nonexistent/cert.pem";
  o.tls.key_file = "/nonexistent/key.pem";
  Listener l(o);
  Status s = l.source.open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("/nonexistent/cert.pem"), std::string::npos) << s.error();
}

TEST(SyslogListener, WakeEndsAWaitingNext) {
  Listener l(options(SyslogProtocol::kUdp));
  ASSERT_TRUE(l.source.open().ok());
  std::thread waker([&] { l.source.wake(); });
  RecordBatch batch;
  EXPECT_TRUE(l.source.next(batch, 60s));  // returns at the wake, not after a minute
  EXPECT_TRUE(batch.records.empty());
  waker.join();
}

}  // namespace
}  // namespace trailwatch::source
