// Syslog listeners of the real daemon (`trailwatch run`) fed by real
// senders: util-linux `logger` over UDP and TCP (both framings, RFC 5424
// and RFC 3164), `openssl s_client` over TLS with certificates made here by
// the `openssl` command (a client without a certificate, one signed by
// another CA and one with a name not allowed are rejected and counted),
// malformed and oversized frames from a raw socket, and a client holding
// 1,000 connections while a well-behaved one still delivers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kMarkRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000101";

bool haveProgram(const char* path) { return ::access(path, X_OK) == 0; }

std::string findPromtool() {
  const std::string configured = TRAILWATCH_PROMTOOL;
  if (!configured.empty() && configured.find("NOTFOUND") == std::string::npos &&
      ::access(configured.c_str(), X_OK) == 0) {
    return configured;
  }
  return haveProgram("/usr/bin/promtool") ? "/usr/bin/promtool" : "";
}

// A daemon whose sources are the given YAML list items, with one rule that
// alerts on every message containing TWMARK.
class SyslogDaemon {
 public:
  SyslogDaemon(const TempDir& dir, std::string sources) : dir_(dir), sources_(std::move(sources)) {
    std::filesystem::create_directories(dir / "rules");
    writeFile(dir / "rules/mark.yml", std::string("title: IT syslog marker\nid: ") + kMarkRuleId +
                                          "\nstatus: test\nlevel: high\ntags: [soc2.cc7.2]\n"
                                          "logsource: {product: linux, service: syslog}\n"
                                          "detection:\n  selection:\n    message|contains: "
                                          "TWMARK\n  condition: selection\n"
                                          "fields: [message, host.name]\n");
  }
  ~SyslogDaemon() {
    if (process_ && process_->running()) {
      process_->signal(SIGTERM);
      if (!process_->wait(10s)) process_->kill9();
    }
  }

  // Starts it and waits until every source listens; false with its stderr.
  bool start(std::string& why) {
    metrics_port = freePort();
    writeFile(dir_ / "trailwatch.yaml",
              "state_dir: ./state\nrules: [./rules]\nlog_level: debug\nsources:\n" + sources_ +
                  "outputs:\n  - {type: file, path: ./alerts.jsonl}\n"
                  "metrics: {listen: \"127.0.0.1:" +
                  std::to_string(metrics_port) + "\"}\n");
    ProcessOptions o;
    o.argv = {trailwatchBinary(), "run", "-c", dir_ / "trailwatch.yaml"};
    o.stdout_path = dir_ / "daemon.out";
    o.stderr_path = dir_ / "daemon.err";
    process_ = std::make_unique<Process>(o);
    const bool up = waitFor(
        [&] {
          return !process_->running() ||
                 process_->stderrText().find("trailwatch running") != std::string::npos;
        },
        20s);
    if (!up || !process_->running()) {
      why = "trailwatch run did not come up; its stderr:\n" + process_->stderrText();
      return false;
    }
    return true;
  }

  std::string scrape() {
    auto r = httpGet("127.0.0.1", metrics_port, "/metrics");
    return r && r->status == 200 ? r->body : std::string();
  }
  double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return metricValue(scrape(), name, labels).value_or(-1);
  }
  // Messages of the alerts raised so far.
  std::vector<std::string> alerted() const {
    std::vector<std::string> out;
    for (const auto& a : parseAlertsFile(dir_ / "alerts.jsonl")) {
      if (a.rule_id == kMarkRuleId) out.push_back(a.field("message").value_or(""));
    }
    return out;
  }
  bool alertedWith(const std::string& text) const {
    for (const auto& m : alerted()) {
      if (m.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string logs() const { return process_ ? process_->stderrText() : ""; }

  int metrics_port = 0;

 private:
  const TempDir& dir_;
  std::string sources_;
  std::unique_ptr<Process> process_;
};

// A blocking TCP connection to 127.0.0.1:port, from `local` (a loopback
// address) when given. -1 when it could not connect.
int connectTcp(int port, const char* local = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (local != nullptr) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, local, &from.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool sendAll(int fd, const std::string& data) {
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool sendUdp(int port, const std::string& datagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) == static_cast<ssize_t>(datagram.size());
  ::close(fd);
  return ok;
}

std::string octetFrame(const std::string& message) {
  return std::to_string(message.size()) + " " + message;
}

std::string rfc5424(const std::string& text) {
  return "<13>1 2026-11-23T10:00:00Z ehr1 app 42 - - " + text;
}

class SyslogListenerIt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveProgram("/usr/bin/logger") || !haveProgram("/usr/bin/openssl")) {
      GTEST_SKIP() << "logger (bsdutils) or openssl missing: run deploy/install-deps.sh";
    }
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }
  RunResult logger(int port, std::vector<std::string> flags, const std::string& message) {
    std::vector<std::string> args = {"/usr/bin/logger",    "--server", "127.0.0.1", "--port",
                                     std::to_string(port), "-t",       "twtest"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(message);
    return runToCompletion(args, dir_.path());
  }
  TempDir dir_;
  std::unique_ptr<SyslogDaemon> daemon_;
};

TEST_F(SyslogListenerIt, LoggerOverUdpAndTcpRaisesAlerts) {
  const int udp = freePort(), tcp = freePort();
  daemon_ = std::make_unique<SyslogDaemon>(
      dir_, "  - {name: net-udp, type: syslog, protocol: udp, listen: \"127.0.0.1:" +
                std::to_string(udp) +
                "\"}\n"
                "  - {name: net-tcp, type: syslog, protocol: tcp, listen: \"127.0.0.1:" +
                std::to_string(tcp) + "\"}\n");
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  EXPECT_EQ(logger(udp, {"--udp"}, "TWMARK udp-5424").exit_code, 0);
  EXPECT_EQ(logger(udp, {"--udp", "--rfc3164"}, "TWMARK udp-3164").exit_code, 0);
  EXPECT_EQ(logger(tcp, {"--tcp"}, "TWMARK tcp-newline").exit_code, 0);
  EXPECT_EQ(logger(tcp, {"--tcp", "--octet-count"}, "TWMARK tcp-octet").exit_code, 0);
  EXPECT_EQ(logger(tcp, {"--tcp", "--rfc5424", "--octet-count"}, "TWMARK tcp-5424").exit_code, 0);
  EXPECT_EQ(logger(tcp, {"--tcp", "--rfc3164"}, "TWMARK tcp-3164").exit_code, 0);
  ASSERT_TRUE(waitFor([&] { return daemon_->alerted().size() >= 6; }, 15s))
      << daemon_->alerted().size() << " alerts";
  for (const char* m :
       {"udp-5424", "udp-3164", "tcp-newline", "tcp-octet", "tcp-5424", "tcp-3164"}) {
    EXPECT_TRUE(daemon_->alertedWith(std::string("TWMARK ") + m)) << m;
  }
  const auto alerts = parseAlertsFile(dir_ / "alerts.jsonl");
  for (const auto& a : alerts) {
    EXPECT_TRUE(a.source_file == "syslog-udp://127.0.0.1:" + std::to_string(udp) ||
                a.source_file == "syslog-tcp://127.0.0.1:" + std::to_string(tcp))
        << a.line;
  }
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_syslog_connections_accepted_total",
                               {{"source", "net-tcp"}}) == 4 &&
               daemon_->metric("trailwatch_events_total", {{"source", "net-udp"}}) == 2;
      },
      10s))
      << daemon_->scrape();

  const std::string promtool = findPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found: exposition format not checked";
  writeFile(dir_ / "metrics.txt", daemon_->scrape());
  const RunResult r =
      runToCompletion({promtool, "check", "metrics"}, dir_.path(), dir_ / "metrics.txt");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// A CA, a server certificate, a client of that CA, a client with a name not
// allowed, and a client of another CA.
bool makeCertificates(const TempDir& dir, std::string& why) {
  CertificateMaker make(dir.path());
  const bool made =
      make.ca("ca") && make.ca("other-ca") &&
      make.leaf("server", "ca", "localhost", "DNS:localhost", "serverAuth") &&
      make.leaf("good", "ca", "ehr1.example.org", "DNS:ehr1.example.org", "clientAuth") &&
      make.leaf("intruder", "ca", "intruder.example.org", "DNS:intruder.example.org",
                "clientAuth") &&
      make.leaf("stranger", "other-ca", "ehr1.example.org", "DNS:ehr1.example.org", "clientAuth");
  why = make.errors();
  return made;
}

TEST_F(SyslogListenerIt, TlsAcceptsOnlyVerifiedAllowedClients) {
  std::string why;
  ASSERT_TRUE(makeCertificates(dir_, why)) << why;
  const int port = freePort();
  daemon_ = std::make_unique<SyslogDaemon>(
      dir_, "  - name: net-tls\n    type: syslog\n    protocol: tls\n    listen: \"127.0.0.1:" +
                std::to_string(port) +
                "\"\n    tls: {cert_file: server.pem, key_file: server.key, ca_file: ca.pem,"
                " allowed_peers: [ehr1.example.org]}\n");
  ASSERT_TRUE(daemon_->start(why)) << why;

  // s_client sends its stdin, then (-no_ign_eof) closes at its end.
  auto client = [&](const std::string& name, const std::string& cert) {
    const std::string input = dir_ / (name + ".in");
    writeFile(input, octetFrame(rfc5424("TWMARK tls-" + name)));
    std::vector<std::string> args = {
        "/usr/bin/openssl", "s_client",      "-connect",    "127.0.0.1:" + std::to_string(port),
        "-CAfile",          dir_ / "ca.pem", "-servername", "localhost",
        "-quiet",           "-no_ign_eof"};
    if (!cert.empty()) {
      args.insert(args.end(), {"-cert", dir_ / (cert + ".pem"), "-key", dir_ / (cert + ".key")});
    }
    return runToCompletion(args, dir_.path(), input, 20s);
  };
  client("nocert", "");
  client("stranger", "stranger");
  client("intruder", "intruder");
  const RunResult good = client("good", "good");
  EXPECT_EQ(good.exit_code, 0) << good.err;

  ASSERT_TRUE(waitFor([&] { return daemon_->alertedWith("TWMARK tls-good"); }, 15s))
      << good.out << good.err;
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_syslog_connections_rejected_total",
                               {{"source", "net-tls"}, {"reason", "tls_handshake"}}) == 2 &&
               daemon_->metric("trailwatch_syslog_connections_rejected_total",
                               {{"source", "net-tls"}, {"reason", "peer_name"}}) == 1;
      },
      10s))
      << daemon_->scrape();
  EXPECT_EQ(
      daemon_->metric("trailwatch_syslog_connections_accepted_total", {{"source", "net-tls"}}), 1);
  // Only the verified, allowed client's message was read.
  EXPECT_EQ(daemon_->alerted(), std::vector<std::string>{"TWMARK tls-good"});
  EXPECT_EQ(daemon_->metric("trailwatch_events_total", {{"source", "net-tls"}}), 1);
}

TEST_F(SyslogListenerIt, MalformedFramesAreCountedAndTheNextGoodOneArrives) {
  const int tcp = freePort(), udp = freePort();
  daemon_ = std::make_unique<SyslogDaemon>(
      dir_,
      "  - {name: strict, type: syslog, protocol: tcp, framing: octet-counting,"
      " max_line_bytes: 1KiB, listen: \"127.0.0.1:" +
          std::to_string(tcp) +
          "\"}\n"
          "  - {name: dgram, type: syslog, protocol: udp, max_line_bytes: 1KiB,"
          " listen: \"127.0.0.1:" +
          std::to_string(udp) + "\"}\n");
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  const int fd = connectTcp(tcp);
  ASSERT_GE(fd, 0);
  // Garbage (no MSG-LEN), a frame over the limit, then a good frame.
  ASSERT_TRUE(sendAll(fd, "this is no octet count\n" +
                              octetFrame(rfc5424("TWMARK too-big " + std::string(3000, 'x'))) +
                              octetFrame(rfc5424("TWMARK after-bad"))));
  // A frame the sender never finishes.
  ASSERT_TRUE(sendAll(fd, "500 <13>1 cut short"));
  ::close(fd);
  ASSERT_TRUE(sendUdp(udp, rfc5424("TWMARK big-datagram " + std::string(2000, 'y'))));
  ASSERT_TRUE(sendUdp(udp, rfc5424("TWMARK small-datagram")));

  ASSERT_TRUE(waitFor(
      [&] {
        return daemon_->alertedWith("TWMARK after-bad") &&
               daemon_->alertedWith("TWMARK small-datagram");
      },
      15s));
  EXPECT_TRUE(waitFor(
      [&] {
        const std::string body = daemon_->scrape();
        auto v = [&](const char* source, const char* reason) {
          return metricValue(body, "trailwatch_syslog_frame_errors_total",
                             {{"source", source}, {"reason", reason}});
        };
        return v("strict", "malformed") == 1 && v("strict", "oversized") == 1 &&
               v("strict", "truncated") == 1 && v("dgram", "oversized") == 1;
      },
      10s))
      << daemon_->scrape();
  EXPECT_EQ(daemon_->metric("trailwatch_oversized_records_total", {{"source", "strict"}}), 1);
  EXPECT_EQ(daemon_->alerted().size(), 2u);
}

TEST_F(SyslogListenerIt, AThousandConnectionsDoNotShutOutAWellBehavedClient) {
  const int tcp = freePort();
  daemon_ = std::make_unique<SyslogDaemon>(
      dir_,
      "  - {name: busy, type: syslog, protocol: tcp, max_connections: 300,"
      " max_connections_per_peer: 100, idle_timeout: 3s, listen: \"127.0.0.1:" +
          std::to_string(tcp) + "\"}\n");
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  // The hostile host (127.0.0.2) opens 1,000 connections and keeps them:
  // some start a line they never end, some declare a huge octet count.
  std::vector<int> hostile;
  for (int i = 0; i < 1000; ++i) {
    const int fd = connectTcp(tcp, "127.0.0.2");
    ASSERT_GE(fd, 0) << "connection " << i;
    hostile.push_back(fd);
    if (i % 3 == 1) sendAll(fd, "<13>a line that never ends " + std::string(4000, 'z'));
    if (i % 3 == 2) sendAll(fd, "999999999 <13>declared huge");
  }
  ASSERT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_syslog_connections_rejected_total",
                               {{"source", "busy"}, {"reason", "peer_limit"}}) == 900;
      },
      15s))
      << daemon_->scrape();
  EXPECT_EQ(daemon_->metric("trailwatch_syslog_connections_open", {{"source", "busy"}}), 100);

  // Meanwhile a well-behaved client delivers.
  EXPECT_EQ(logger(tcp, {"--tcp", "--octet-count"}, "TWMARK well-behaved").exit_code, 0);
  EXPECT_TRUE(waitFor([&] { return daemon_->alertedWith("TWMARK well-behaved"); }, 10s));

  // The hostile connections that stay are closed once idle.
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_syslog_idle_closes_total", {{"source", "busy"}}) ==
                   100 &&
               daemon_->metric("trailwatch_syslog_connections_open", {{"source", "busy"}}) == 0;
      },
      15s))
      << daemon_->scrape();
  for (int fd : hostile) ::close(fd);
  EXPECT_EQ(daemon_->alerted(), std::vector<std::string>{"TWMARK well-behaved"});
}

}  // namespace
}  // namespace trailwatch::it
