#include "daemon/alert/syslog_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace trailwatch::alert {
namespace {

// 2026-01-02T03:04:05.678Z
constexpr int64_t kTimeMs = 1767323045678;

const std::string kAlert =
    R"j({"@timestamp":"t","rule":{"id":"ehr-btg-1","title":"T","level":"high","tags":[]},)j"
    R"j("controls":["164.312(b)","A\"b]c\\d"],"event":{"user":"ann"}})j";

SyslogMessageOptions options() {
  SyslogMessageOptions o;
  o.facility = 10;
  o.hostname = "ehr1.example.org";
  o.app_name = "trailwatch";
  o.procid = "42";
  return o;
}

TEST(SyslogMessage, HeaderStructuredDataAndJsonBody) {
  const SyslogMessage m = formatSyslogMessage(options(), kAlert, kTimeMs);
  EXPECT_FALSE(m.truncated);
  // authpriv (10) * 8 + err (3) = 83.
  EXPECT_EQ(m.text,
            "<83>1 2026-01-02T03:04:05.678Z ehr1.example.org trailwatch 42 ehr-btg-1 "
            "[trailwatch@32473 rule=\"ehr-btg-1\" level=\"high\" control=\"164.312(b)\" "
            "control=\"A\\\"b\\]c\\\\d\"] " +
                kAlert);
}

TEST(SyslogMessage, SeverityFollowsTheRuleLevel) {
  EXPECT_EQ(syslogSeverity("critical"), 2);
  EXPECT_EQ(syslogSeverity("high"), 3);
  EXPECT_EQ(syslogSeverity("medium"), 4);
  EXPECT_EQ(syslogSeverity("low"), 5);
  EXPECT_EQ(syslogSeverity("informational"), 6);
  EXPECT_EQ(syslogSeverity(""), 5);
  SyslogMessageOptions o = options();
  o.facility = syslogFacility("local0");
  EXPECT_EQ(o.facility, 16);
  const std::string critical = R"({"rule":{"id":"x","level":"critical"}})";
  EXPECT_EQ(formatSyslogMessage(o, critical, 0).text.substr(0, 6), "<130>1");
  EXPECT_EQ(syslogFacility("kern"), 0);
  EXPECT_EQ(syslogFacility("local7"), 23);
  EXPECT_EQ(syslogFacility("nope"), -1);
}

TEST(SyslogMessage, EscapesParamValuesPerRfc5424) {
  EXPECT_EQ(escapeSdParamValue(R"(a"b\c]d)"), R"(a\"b\\c\]d)");
  EXPECT_EQ(escapeSdParamValue("line\nbreak"), "line break");
  EXPECT_EQ(escapeSdParamValue("é[x="), "é[x=");
}

TEST(SyslogMessage, LongOrOddRuleIdsLeaveMsgIdAlert) {
  const std::string uuid =
      R"({"rule":{"id":"0f4a3c2e-1b7d-4c1e-9a8f-2d6b5e4c3a21","level":"low"}})";
  const std::string text = formatSyslogMessage(options(), uuid, kTimeMs).text;
  EXPECT_NE(text.find(" 42 alert [trailwatch@32473 rule=\"0f4a3c2e-1b7d-4c1e-9a8f-2d6b5e4c3a21\""),
            std::string::npos)
      << text;
  const std::string spaced = R"({"rule":{"id":"a b","level":"low"}})";
  EXPECT_NE(formatSyslogMessage(options(), spaced, 0).text.find(" 42 alert ["), std::string::npos);
  // Not JSON at all: still a well-formed message, with nil-free defaults.
  const std::string text2 = formatSyslogMessage(options(), "garbage", 0).text;
  EXPECT_EQ(text2,
            "<85>1 1970-01-01T00:00:00.000Z ehr1.example.org trailwatch 42 alert "
            "[trailwatch@32473] garbage");
}

TEST(SyslogMessage, HeaderFieldsArePrintableAscii) {
  EXPECT_EQ(syslogHeaderField("", 48), "-");
  EXPECT_EQ(syslogHeaderField("a b\tc", 48), "a_b_c");
  EXPECT_EQ(syslogHeaderField("abcdef", 3), "abc");
}

TEST(SyslogMessage, TooLongBodyIsCutAtAUtf8Boundary) {
  SyslogMessageOptions o = options();
  std::string alert = R"({"rule":{"id":"r1","level":"medium"},"event":{"note":")";
  for (int i = 0; i < 400; ++i) alert += "é";  // two bytes each
  alert += R"("}})";
  o.max_message_bytes = 480;
  const SyslogMessage m = formatSyslogMessage(o, alert, kTimeMs);
  EXPECT_TRUE(m.truncated);
  EXPECT_LE(m.text.size(), 480u);
  EXPECT_GE(m.text.size(), 479u);
  EXPECT_NE(m.text.find(" truncated=\"" + std::to_string(alert.size()) + "\"]"), std::string::npos)
      << m.text;
  // The cut never leaves half a character behind.
  const auto last = static_cast<unsigned char>(m.text.back());
  EXPECT_TRUE(last == 0xA9 || last < 0x80) << static_cast<int>(last);
  EXPECT_EQ(m.text.find("{\"rule\""), m.text.find("] ") + 2);

  o.max_message_bytes = 100000;
  EXPECT_FALSE(formatSyslogMessage(o, alert, kTimeMs).truncated);
}

TEST(SyslogMessage, Framing) {
  std::string out;
  appendSyslogFrame(SyslogOutputFraming::kOctetCounting, "<13>1 - - - - - - hi", out);
  appendSyslogFrame(SyslogOutputFraming::kOctetCounting, "é", out);
  EXPECT_EQ(out, "20 <13>1 - - - - - - hi2 é");
  out.clear();
  appendSyslogFrame(SyslogOutputFraming::kNewline, "a", out);
  appendSyslogFrame(SyslogOutputFraming::kNewline, "b", out);
  EXPECT_EQ(out, "a\nb\n");
}

// A socket bound on 127.0.0.1 port 0, and its port.
int boundSocket(int type, int& port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

std::string readAvailable(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, out.empty() ? 5000 : 0) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::vector<SpoolRecord> batchOf(std::initializer_list<std::string> payloads) {
  std::vector<SpoolRecord> batch;
  uint64_t seq = 0;
  for (const auto& p : payloads) batch.push_back(SpoolRecord{++seq, kTimeMs, p});
  return batch;
}

TEST(SyslogTransport, TcpWritesOctetCountedFramesOnOneConnection) {
  int port = 0;
  const int listener = boundSocket(SOCK_STREAM, port);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  SyslogTransportOptions o;
  o.protocol = SyslogOutputProtocol::kTcp;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.message = options();
  auto t = SyslogTransport::create(o);
  ASSERT_TRUE(t.ok()) << t.error();
  // The kernel completes the connection before accept(), so one thread will do.
  EXPECT_EQ((*t)->send(batchOf({kAlert, kAlert})).kind, SendResult::Kind::kDelivered);
  const int conn = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  EXPECT_EQ((*t)->send(batchOf({kAlert})).kind, SendResult::Kind::kDelivered);
  const std::string message = formatSyslogMessage(options(), kAlert, kTimeMs).text;
  std::string expected;
  for (int i = 0; i < 3; ++i)
    appendSyslogFrame(SyslogOutputFraming::kOctetCounting, message, expected);
  std::string got;
  while (got.size() < expected.size()) {
    const std::string more = readAvailable(conn);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_EQ(got, expected);

  // The receiver goes away: the next send notices the hang-up, reconnects
  // and fails (nothing listens), so the batch is kept for a retry.
  ::close(conn);
  ::close(listener);
  const SendResult r = (*t)->send(batchOf({kAlert}));
  EXPECT_EQ(r.kind, SendResult::Kind::kRetry);
  EXPECT_NE(r.detail.find("cannot connect"), std::string::npos) << r.detail;
}

TEST(SyslogTransport, UdpSendsOneDatagramPerAlert) {
  int port = 0;
  const int receiver = boundSocket(SOCK_DGRAM, port);
  ASSERT_GE(receiver, 0);
  SyslogTransportOptions o;
  o.protocol = SyslogOutputProtocol::kUdp;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.message = options();
  auto t = SyslogTransport::create(o);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ((*t)->send(batchOf({kAlert, "{}"})).kind, SendResult::Kind::kDelivered);
  char buf[65536];
  ssize_t n = ::recv(receiver, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))),
            formatSyslogMessage(options(), kAlert, kTimeMs).text);
  n = ::recv(receiver, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))),
            formatSyslogMessage(options(), "{}", kTimeMs).text);
  ::close(receiver);
}

TEST(SyslogTransport, UnreadableCaFileFailsAtCreation) {
  SyslogTransportOptions o;
  o.protocol = SyslogOutputProtocol::kTls;
  o.host = "localhost";
  o.port = "6514";
  o.ca_file = "/nonexistent/ca.pem";
  auto t = SyslogTransport::create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("/nonexistent/ca.pem"), std::string::npos) << t.error();
}

}  // namespace
}  // namespace trailwatch::alert
