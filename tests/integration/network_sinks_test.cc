// The network sinks against real receivers: a webhook receiver in this
// process (plain sockets) that is down, then answers 500, then 200; and a
// real Prometheus Alertmanager started on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

// An HTTP/1.1 receiver on 127.0.0.1:port: reads each request (headers,
// then Content-Length bytes of body), records the body, and answers with
// `fail_first` 500s and then 200s. One connection at a time, which is how
// the sink sends.
class WebhookReceiver {
 public:
  WebhookReceiver(int port, int fail_first) : fail_left_(fail_first) {
    fd_ = listenOnLoopback(port);
    listening_ = fd_ >= 0;
    if (listening_) thread_ = std::thread([this] { serve(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  bool listening() const { return listening_; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<std::string> headers() {
    std::lock_guard lock(mu_);
    return headers_;
  }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }
  void handle(int c) {
    std::string data;
    char buf[65536];
    size_t header_end = std::string::npos;
    size_t need = 0;
    while (true) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        std::string lower = data.substr(0, header_end);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const size_t cl = lower.find("content-length:");
        need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
      }
      if (data.size() >= header_end + 4 + need) break;
    }
    ++requests_;
    const bool fail = fail_left_ > 0;
    if (fail) {
      --fail_left_;
    } else {
      std::lock_guard lock(mu_);
      headers_.push_back(data.substr(0, header_end));
      bodies_.push_back(data.substr(header_end + 4, need));
    }
    const std::string reply = fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
                                     "4\r\nConnection: close\r\n\r\noops"
                                   : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: "
                                     "close\r\n\r\n";
    (void)!::write(c, reply.data(), reply.size());
  }

  int fd_ = -1;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> fail_left_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> bodies_;   // guarded by mu_
  std::vector<std::string> headers_;  // guarded by mu_
  std::thread thread_;
};

// event.sequence of each webhook body (one alert object per body).
std::vector<int64_t> sequencesOfBodies(const std::vector<std::string>& bodies) {
  std::vector<int64_t> out;
  for (const auto& b : bodies) {
    const auto alerts = parseAlerts(b + "\n");
    if (alerts.size() != 1 || !alerts[0].sequence()) {
      out.push_back(-1);
      continue;
    }
    out.push_back(*alerts[0].sequence());
  }
  return out;
}

int64_t mtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

class NetworkSinkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }

  void configureWebhook(int port) {
    writeFile(dir_ / "token", "# kept out of the configuration\nAuthorization: Bearer s3cret\n");
    daemon_->extra_outputs =
        "  - type: webhook\n"
        "    name: hook\n"
        "    url: http://127.0.0.1:" +
        std::to_string(port) +
        "/alerts\n"
        "    headers: {X-Team: soc}\n"
        "    headers_file: ./token\n"
        "    timeout: 2s\n"
        "    retry: {initial_delay: 20ms, max_delay: 300ms}\n";
  }

  // Writes `count` break-the-glass events (each raises one alert), numbered
  // after the last.
  void raise(int count) {
    for (int i = 0; i < count; ++i) {
      appendLine(daemon_->logs_dir + "/ehr.ndjson", ehrEvent(++last_, EventKind::kBtg));
    }
  }
  // Waits until the alert log holds every alert raised, and a checkpoint
  // was saved after it (so every sink was flushed past them).
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
  double metric(const std::string& name, std::map<std::string, std::string> labels = {}) {
    labels.emplace("sink", "hook");
    return daemon_->metric(name, labels).value_or(-1);
  }
  std::vector<int64_t> expected() const {
    std::vector<int64_t> out;
    for (int64_t i = 1; i <= last_; ++i) out.push_back(i);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int64_t last_ = 0;
};

TEST_F(NetworkSinkTest, WebhookDownThenFailingThenUpGetsEveryAlertOnceInOrder) {
  daemon_ = std::make_unique<Daemon>(dir_);
  const int port = freePort();
  configureWebhook(port);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  // The receiver is down (nothing listens on the port).
  raise(20);
  waitRaisedAndCheckpointed();
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_spool_records") == 20; }, 10s))
      << "spool depth " << metric("trailwatch_spool_records");
  EXPECT_GT(metric("trailwatch_spool_bytes"), 0);
  EXPECT_GT(metric("trailwatch_sink_send_failures_total"), 0);
  EXPECT_EQ(metric("trailwatch_sink_delivered_total"), 0);

  // Up, but answering 500 three times first: retried, counted.
  const double failures_before = metric("trailwatch_sink_send_failures_total");
  WebhookReceiver receiver(port, 3);
  ASSERT_TRUE(receiver.listening());
  ASSERT_TRUE(waitFor([&] { return receiver.bodies().size() >= 20; }, 15s))
      << receiver.bodies().size() << " of 20 alerts arrived";
  raise(5);  // and alerts raised while it is up go straight through
  ASSERT_TRUE(waitFor([&] { return receiver.bodies().size() >= 25; }, 15s));
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_sink_delivered_total") == 25; }, 10s));
  EXPECT_EQ(sequencesOfBodies(receiver.bodies()), expected());
  EXPECT_GE(metric("trailwatch_sink_send_failures_total"), failures_before + 3);
  EXPECT_EQ(metric("trailwatch_spool_records"), 0);
  EXPECT_EQ(metric("trailwatch_spool_dropped_total"), 0);
  const auto headers = receiver.headers();
  ASSERT_FALSE(headers.empty());
  EXPECT_NE(headers[0].find("Authorization: Bearer s3cret"), std::string::npos) << headers[0];
  EXPECT_NE(headers[0].find("X-Team: soc"), std::string::npos) << headers[0];
  EXPECT_NE(headers[0].find("POST /alerts HTTP/1.1"), std::string::npos) << headers[0];

  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(NetworkSinkTest, SpooledAlertsSurviveKillAndRestart) {
  daemon_ = std::make_unique<Daemon>(dir_);
  const int port = freePort();
  configureWebhook(port);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  // Receiver down; alerts spooled and checkpointed, then kill -9.
  raise(10);
  waitRaisedAndCheckpointed();
  daemon_->process().kill9();
  ASSERT_TRUE(daemon_->process().wait(10s));

  // A second run raises more while the receiver is still down, and stops
  // cleanly (SIGTERM) with them spooled.
  raise(10);
  ASSERT_TRUE(daemon_->start(why)) << why;
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_spool_records") == 20; }, 15s))
      << "spool depth " << metric("trailwatch_spool_records") << " after the restart";
  const auto code = daemon_->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);

  // A third run with the receiver up delivers all twenty, once, in order.
  WebhookReceiver receiver(port, 0);
  ASSERT_TRUE(receiver.listening());
  ASSERT_TRUE(daemon_->start(why)) << why;
  ASSERT_TRUE(waitFor([&] { return receiver.bodies().size() >= 20; }, 15s))
      << receiver.bodies().size() << " of 20 alerts arrived";
  ASSERT_TRUE(waitFor([&] { return metric("trailwatch_spool_records") == 0; }, 10s));
  EXPECT_EQ(sequencesOfBodies(receiver.bodies()), expected());
  EXPECT_TRUE(std::filesystem::exists(daemon_->state_dir + "/spool/hook/acked"));
}

// --- Alertmanager ---

class Alertmanager {
 public:
  explicit Alertmanager(const TempDir& dir) : port_(freePort()) {
    const std::string config = dir / "alertmanager.yml";
    writeFile(config,
              "route:\n  receiver: nobody\n  group_wait: 1s\n"
              "receivers:\n  - name: nobody\n");
    std::filesystem::create_directories(dir / "am-data");
    ProcessOptions o;
    o.argv = {binary(),
              "--config.file=" + config,
              "--storage.path=" + (dir / "am-data"),
              "--web.listen-address=127.0.0.1:" + std::to_string(port_),
              "--cluster.listen-address=",
              "--log.level=warn"};
    o.stdout_path = dir / "alertmanager.out";
    o.stderr_path = dir / "alertmanager.err";
    process_ = std::make_unique<Process>(o);
  }
  static std::string binary() {
    for (const char* p : {"/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"}) {
      if (::access(p, X_OK) == 0) return p;
    }
    return "";
  }
  bool ready() {
    return waitFor(
        [&] {
          auto r = httpGet("127.0.0.1", port_, "/-/ready");
          return r && r->status == 200;
        },
        15s);
  }
  int port() const { return port_; }
  std::string logs() const { return process_->stderrText(); }

  // Labels of the alerts Alertmanager holds (resolved ones are not listed).
  std::vector<std::map<std::string, std::string>> alerts() {
    std::vector<std::map<std::string, std::string>> out;
    auto r = httpGet("127.0.0.1", port_, "/api/v2/alerts");
    if (!r || r->status != 200) return out;
    simdjson::dom::parser parser;
    simdjson::dom::array list;
    if (parser.parse(r->body).get(list) != simdjson::SUCCESS) return out;
    for (simdjson::dom::element a : list) {
      simdjson::dom::object labels;
      if (a["labels"].get(labels) != simdjson::SUCCESS) continue;
      std::map<std::string, std::string> m;
      for (auto [k, v] : labels) {
        std::string_view s;
        if (v.get(s) == simdjson::SUCCESS) m[std::string(k)] = std::string(s);
      }
      std::string_view summary;
      if (a["annotations"]["summary"].get(summary) == simdjson::SUCCESS) {
        m["annotation:summary"] = std::string(summary);
      }
      out.push_back(std::move(m));
    }
    return out;
  }

 private:
  int port_;
  std::unique_ptr<Process> process_;
};

TEST_F(NetworkSinkTest, AlertmanagerReceivesLabelledAlertsThatResolve) {
  if (Alertmanager::binary().empty()) {
    GTEST_SKIP() << "prometheus-alertmanager is not installed (deploy/install-deps.sh)";
  }
  Alertmanager am(dir_);
  ASSERT_TRUE(am.ready()) << "Alertmanager did not come up: " << am.logs();

  daemon_ = std::make_unique<Daemon>(dir_);
  daemon_->extra_outputs =
      "  - type: alertmanager\n"
      "    url: http://127.0.0.1:" +
      std::to_string(am.port()) +
      "\n"
      "    resolve_after: 3s\n";
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  raise(1);

  std::vector<std::map<std::string, std::string>> alerts;
  ASSERT_TRUE(waitFor(
      [&] {
        alerts = am.alerts();
        return !alerts.empty();
      },
      15s))
      << "no alert reached Alertmanager; " << am.logs();
  ASSERT_EQ(alerts.size(), 1u);
  const auto& labels = alerts[0];
  EXPECT_EQ(labels.at("alertname"), kBtgTitle);
  EXPECT_EQ(labels.at("severity"), "high");
  EXPECT_EQ(labels.at("rule_id"), kBtgRuleId);
  const auto logged = daemon_->alerts();
  ASSERT_EQ(logged.size(), 1u);
  std::string controls;
  for (const auto& c : logged[0].controls) controls += (controls.empty() ? "" : ",") + c;
  ASSERT_FALSE(controls.empty());
  EXPECT_EQ(labels.at("control"), controls);
  EXPECT_NE(labels.at("annotation:summary").find("event.sequence=1"), std::string::npos)
      << labels.at("annotation:summary");
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_sink_delivered_total", {{"sink", "alertmanager"}})
                   .value_or(0) == 1;
      },
      5s));

  // Nothing more matches: endsAt passes and Alertmanager resolves it.
  EXPECT_TRUE(waitFor([&] { return am.alerts().empty(); }, 15s))
      << "the alert did not resolve after resolve_after";
}

}  // namespace
}  // namespace trailwatch::it
