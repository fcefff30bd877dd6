// The syslog output against real receivers on loopback: a TCP receiver in
// this process (plain sockets, RFC 6587 octet-counted frames) that is down
// while alerts are raised and then comes up; `openssl s_server` as a TLS
// receiver with certificates made here by the `openssl` command, first with
// a certificate the daemon does not trust, then with one it does; and a UDP
// socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

// Complete octet-counted frames ("LEN SP MSG") at the front of `data`; a
// malformed length yields a "<malformed>" entry and stops.
std::vector<std::string> octetCountedFrames(const std::string& data) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t space = data.find(' ', pos);
    if (space == std::string::npos) break;
    size_t length = 0;
    for (size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9') {
        out.push_back("<malformed>");
        return out;
      }
      length = length * 10 + static_cast<size_t>(data[i] - '0');
    }
    if (data.size() < space + 1 + length) break;
    out.push_back(data.substr(space + 1, length));
    pos = space + 1 + length;
  }
  return out;
}

// The alert JSON (MSG) of an RFC 5424 message written by trailwatch.
std::string bodyOf(const std::string& message) {
  const size_t at = message.find("] {\"");
  return at == std::string::npos ? "" : message.substr(at + 2);
}

std::vector<int64_t> sequencesOfMessages(const std::vector<std::string>& messages) {
  std::vector<int64_t> out;
  for (const auto& m : messages) {
    const auto alerts = parseAlerts(bodyOf(m) + "\n");
    out.push_back(alerts.size() == 1 && alerts[0].sequence() ? *alerts[0].sequence() : -1);
  }
  return out;
}

// A syslog receiver on 127.0.0.1:port reading octet-counted frames from
// any number of connections, one after another.
class TcpSyslogReceiver {
 public:
  explicit TcpSyslogReceiver(int port) {
    fd_ = listenOnLoopback(port);
    listening_ = fd_ >= 0;
    if (listening_) thread_ = std::thread([this] { serve(); });
  }
  ~TcpSyslogReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  bool listening() const { return listening_; }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      std::string data;
      char buf[65536];
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 50) <= 0) continue;
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        std::lock_guard lock(mu_);
        messages_ = previous_;
        for (auto& f : octetCountedFrames(data)) messages_.push_back(std::move(f));
      }
      ::close(c);
      std::lock_guard lock(mu_);
      previous_ = messages_;
    }
  }

  int fd_ = -1;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> messages_;  // guarded by mu_
  std::vector<std::string> previous_;  // guarded by mu_; of closed connections
  std::thread thread_;
};

int64_t mtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

class SyslogOutputTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }

  void configure(const std::string& protocol, int port, const std::string& extra = "") {
    daemon_->extra_outputs =
        "  - type: syslog\n"
        "    name: siem\n"
        "    protocol: " +
        protocol +
        "\n"
        "    address: 127.0.0.1:" +
        std::to_string(port) +
        "\n"
        "    facility: local4\n"
        "    hostname: ehr-scanner\n"
        "    timeout: 2s\n"
        "    retry: {initial_delay: 20ms, max_delay: 300ms}\n" +
        extra;
  }
  void raise(int count) {
    for (int i = 0; i < count; ++i) {
      appendLine(daemon_->logs_dir + "/ehr.ndjson", ehrEvent(++last_, EventKind::kBtg));
    }
  }
  void waitRaisedAndCheckpointed() {
    ASSERT_TRUE(
        waitFor([&] { return daemon_->alerts().size() >= static_cast<size_t>(last_); }, 15s))
        << "the alert log has " << daemon_->alerts().size() << " alerts";
    ASSERT_TRUE(waitFor(
        [&] {
          return mtimeNs(daemon_->state_dir + "/checkpoints/ehr.ckpt") >=
                 mtimeNs(daemon_->alerts_path);
        },
        15s))
        << "no checkpoint after the alerts were written";
  }
  double metric(const std::string& name) {
    return daemon_->metric(name, {{"sink", "siem"}}).value_or(-1);
  }
  std::vector<int64_t> expected() const {
    std::vector<int64_t> out;
    for (int64_t i = 1; i <= last_; ++i) out.push_back(i);
    return out;
  }
  // Checks the RFC 5424 header and structured data of one message.
  static void expectWellFormed(const std::string& m) {
    // local4 (20) * 8 + err (3, rule level high) = 163.
    EXPECT_EQ(m.rfind("<163>1 ", 0), 0u) << m;
    EXPECT_NE(m.find(" ehr-scanner trailwatch "), std::string::npos) << m;
    EXPECT_NE(m.find("[trailwatch@32473 rule=\"" + std::string(kBtgRuleId) + "\" level=\"high\""),
              std::string::npos)
        << m;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int64_t last_ = 0;
};

TEST_F(SyslogOutputTest, TcpReceiverDownThenUpGetsEveryAlertOnceInOrder) {
  daemon_ = std::make_unique<Daemon>(dir_);
  const int port = freePort();
  configure("tcp", port);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  // Nothing listens: alerts wait in the spool, send failures are counted.
  raise(15);
  waitRaisedAndCheckpointed();
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_spool_records") == 15; }, 10s))
      << "spool depth " << metric("trailwatch_spool_records");
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_send_failures_total") > 0; }, 10s));
  EXPECT_EQ(metric("trailwatch_sink_delivered_total"), 0);

  TcpSyslogReceiver receiver(port);
  ASSERT_TRUE(receiver.listening());
  ASSERT_TRUE(waitFor([&] { return receiver.messages().size() >= 15; }, 15s))
      << receiver.messages().size() << " of 15 alerts arrived";
  raise(5);  // raised while it is up: straight through, same connection
  ASSERT_TRUE(waitFor([&] { return receiver.messages().size() >= 20; }, 15s));
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_delivered_total") == 20; }, 10s));
  const auto messages = receiver.messages();
  EXPECT_EQ(sequencesOfMessages(messages), expected());
  for (const auto& m : messages) expectWellFormed(m);
  EXPECT_EQ(receiver.connections(), 1);
  EXPECT_EQ(metric("trailwatch_spool_records"), 0);
  EXPECT_EQ(metric("trailwatch_syslog_output_truncated_total"), 0);

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(SyslogOutputTest, UdpSendsEachAlertAsOneDatagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  daemon_ = std::make_unique<Daemon>(dir_);
  // 500 bytes is less than an alert: the JSON is cut, header and SD kept.
  configure("udp", ntohs(addr.sin_port), "    max_message_bytes: 500\n");
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  raise(3);
  std::vector<std::string> datagrams;
  ASSERT_TRUE(waitFor(
      [&] {
        char buf[65536];
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 0) > 0) {
          const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n > 0) datagrams.emplace_back(buf, static_cast<size_t>(n));
        }
        return datagrams.size() >= 3;
      },
      15s))
      << datagrams.size() << " of 3 datagrams";
  ::close(fd);
  ASSERT_EQ(datagrams.size(), 3u);
  for (const auto& d : datagrams) {
    expectWellFormed(d);
    EXPECT_LE(d.size(), 500u);
    EXPECT_NE(d.find(" truncated=\""), std::string::npos) << d;
    EXPECT_NE(d.find("] {\"@timestamp\""), std::string::npos) << d;
  }
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_syslog_output_truncated_total") == 3; }, 10s))
      << metric("trailwatch_syslog_output_truncated_total");
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_delivered_total") == 3; }, 10s))
      << metric("trailwatch_sink_delivered_total");
}

// A CA, a server certificate for 127.0.0.1 signed by it, and a server
// certificate of another CA.
bool makeCertificates(const TempDir& dir, std::string& why) {
  CertificateMaker make(dir.path());
  const std::string san = "IP:127.0.0.1,DNS:siem.test";
  const bool made = make.ca("ca") && make.ca("other-ca") &&
                    make.leaf("server", "ca", "siem.test", san, "serverAuth") &&
                    make.leaf("impostor", "other-ca", "siem.test", san, "serverAuth");
  why = make.errors();
  return made;
}

// A FIFO held open for writing (and never written): as the stdin of
// `openssl s_server -quiet` it never reads end-of-file, which would make it
// close the connection.
class SilentStdin {
 public:
  explicit SilentStdin(std::string path) : path_(std::move(path)) {
    if (::mkfifo(path_.c_str(), 0600) == 0) fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  }
  ~SilentStdin() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// `openssl s_server` on 127.0.0.1:port with `cert`, printing what it
// receives (the octet-counted frames) on its stdout.
std::unique_ptr<Process> startTlsReceiver(const TempDir& dir, int port, const std::string& cert,
                                          const std::string& run, const SilentStdin& in) {
  ProcessOptions o;
  o.argv = {"/usr/bin/openssl",
            "s_server",
            "-accept",
            "127.0.0.1:" + std::to_string(port),
            "-cert",
            dir / (cert + ".pem"),
            "-key",
            dir / (cert + ".key"),
            "-quiet"};
  o.stdin_path = in.path();
  o.stdout_path = dir / ("s_server-" + run + ".out");
  o.stderr_path = dir / ("s_server-" + run + ".err");
  return std::make_unique<Process>(o);
}

TEST_F(SyslogOutputTest, TlsRefusesAnUntrustedReceiverAndDeliversToATrustedOne) {
  if (::access("/usr/bin/openssl", X_OK) != 0) {
    GTEST_SKIP() << "openssl missing: run deploy/install-deps.sh";
  }
  std::string why;
  ASSERT_TRUE(makeCertificates(dir_, why)) << why;
  const SilentStdin in(dir_ / "s_server.stdin");
  ASSERT_TRUE(in.ok());
  daemon_ = std::make_unique<Daemon>(dir_);
  const int port = freePort();
  configure("tls", port, "    tls: {ca_file: " + (dir_ / "ca.pem") + "}\n");

  // A receiver whose certificate another CA signed: the handshake fails,
  // nothing is sent, the alerts stay spooled.
  auto impostor = startTlsReceiver(dir_, port, "impostor", "impostor", in);
  ASSERT_TRUE(impostor->started());
  ASSERT_TRUE(waitFor(
      [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return up;
      },
      10s))
      << "openssl s_server did not start: " << readFile(dir_ / "s_server-impostor.err");
  ASSERT_TRUE(daemon_->start(why)) << why;
  raise(6);
  waitRaisedAndCheckpointed();
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_send_failures_total") >= 2; }, 10s))
      << metric("trailwatch_sink_send_failures_total");
  EXPECT_EQ(metric("trailwatch_spool_records"), 6);
  EXPECT_EQ(metric("trailwatch_sink_delivered_total"), 0);
  EXPECT_TRUE(octetCountedFrames(readFile(dir_ / "s_server-impostor.out")).empty());
  EXPECT_NE(
      daemon_->logs().find("TLS handshake with 127.0.0.1:" + std::to_string(port) + " failed"),
      std::string::npos);
  impostor->kill9();
  impostor->wait(5s);

  // The trusted receiver on the same port gets every alert, in order.
  auto trusted = startTlsReceiver(dir_, port, "server", "trusted", in);
  ASSERT_TRUE(trusted->started());
  std::vector<std::string> messages;
  ASSERT_TRUE(waitFor(
      [&] {
        messages = octetCountedFrames(readFile(dir_ / "s_server-trusted.out"));
        return messages.size() >= 6;
      },
      15s))
      << messages.size()
      << " of 6 alerts arrived; s_server: " << readFile(dir_ / "s_server-trusted.err");
  raise(2);
  ASSERT_TRUE(waitFor(
      [&] {
        messages = octetCountedFrames(readFile(dir_ / "s_server-trusted.out"));
        return messages.size() >= 8;
      },
      15s));
  EXPECT_EQ(sequencesOfMessages(messages), expected());
  for (const auto& m : messages) expectWellFormed(m);
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_delivered_total") == 8; }, 10s));
  EXPECT_EQ(metric("trailwatch_spool_records"), 0);

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  trusted->kill9();
  trusted->wait(5s);
}

}  // namespace
}  // namespace trailwatch::it
