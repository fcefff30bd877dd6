// The pieces of the network sinks that need no network: URL parsing,
// backoff, reply classification, the Alertmanager mapping, and SpooledSink
// driving a fake transport.
#include <stdlib.h>

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "daemon/alert/alertmanager_sink.h"
#include "daemon/alert/http_poster.h"
#include "daemon/alert/spooled_sink.h"
#include "daemon/alert/webhook_sink.h"
#include "daemon/common/http_url.h"
#include "tests/unit/alert/file_size_limit.h"

namespace trailwatch::alert {
namespace {

using namespace std::chrono_literals;

TEST(HttpUrl, SplitsHostPortAndTarget) {
  auto u = parseHttpUrl("https://hooks.example.com:8443/alerts?x=1");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/alerts?x=1");
  EXPECT_EQ(u->hostHeader(), "hooks.example.com:8443");

  u = parseHttpUrl("http://127.0.0.1");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->hostHeader(), "127.0.0.1");

  u = parseHttpUrl("HTTP://[::1]:9093");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->hostHeader(), "[::1]:9093");
}

TEST(HttpUrl, RefusesWhatCannotBeUsed) {
  for (const char* bad : {"ftp://x", "127.0.0.1:80", "http://", "http://:80/", "http://h:0",
                          "http://h:65536", "http://h:x", "http://u:p@h/", "http://h/a b",
                          "http://h/#frag", "http://[::1/", "http://[zz]/"}) {
    EXPECT_FALSE(parseHttpUrl(bad).ok()) << bad;
  }
}

TEST(Backoff, GrowsExponentiallyUpToTheCapWithFullJitter) {
  EXPECT_EQ(backoffDelay(100ms, 10s, 0, 0.999).count(), 99);
  EXPECT_EQ(backoffDelay(100ms, 10s, 3, 0.5).count(), 400);
  EXPECT_EQ(backoffDelay(100ms, 10s, 60, 0.5).count(), 5000);  // no overflow, capped
  EXPECT_EQ(backoffDelay(100ms, 10s, 5, 0.0).count(), 0);
}

TEST(ClassifyHttpReply, SortsStatusesIntoDeliveredRetryRejected) {
  auto kind = [](int status) { return classifyHttpReply(HttpReply{status, ""}).kind; };
  EXPECT_EQ(kind(200), SendResult::Kind::kDelivered);
  EXPECT_EQ(kind(204), SendResult::Kind::kDelivered);
  EXPECT_EQ(kind(400), SendResult::Kind::kRejected);
  EXPECT_EQ(kind(422), SendResult::Kind::kRejected);
  EXPECT_EQ(kind(401), SendResult::Kind::kRetry);
  EXPECT_EQ(kind(404), SendResult::Kind::kRetry);
  EXPECT_EQ(kind(429), SendResult::Kind::kRetry);
  EXPECT_EQ(kind(503), SendResult::Kind::kRetry);
  EXPECT_EQ(kind(302), SendResult::Kind::kRetry);
  EXPECT_EQ(classifyHttpReply(Error{"connection refused"}).kind, SendResult::Kind::kRetry);
}

TEST(HeadersFile, ParsesNameValueLines) {
  char tmpl[] = "/tmp/trailwatch-headers-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string text = "# token\n\nAuthorization: Bearer abc:def \nX-Team:soc\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto h = readHeadersFile(tmpl);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0], (std::pair<std::string, std::string>{"Authorization", "Bearer abc:def"}));
  EXPECT_EQ((*h)[1], (std::pair<std::string, std::string>{"X-Team", "soc"}));

  std::FILE* f = std::fopen(tmpl, "w");
  std::fputs("Authorization Bearer abc\n", f);
  std::fclose(f);
  auto bad = readHeadersFile(tmpl);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find(std::string(tmpl) + ":1:"), std::string::npos) << bad.error();
  ::unlink(tmpl);
}

TEST(AlertmanagerPath, AppendsTheApiPath) {
  EXPECT_EQ(alertmanagerAlertsPath("/"), "/api/v2/alerts");
  EXPECT_EQ(alertmanagerAlertsPath("/am"), "/am/api/v2/alerts");
  EXPECT_EQ(alertmanagerAlertsPath("/am/"), "/am/api/v2/alerts");
}

struct AmAlert {
  std::map<std::string, std::string> labels, annotations;
  std::string starts, ends;
};

AmAlert parseAm(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  AmAlert out;
  simdjson::dom::object labels, annotations;
  EXPECT_EQ(doc["labels"].get(labels), simdjson::SUCCESS);
  EXPECT_EQ(doc["annotations"].get(annotations), simdjson::SUCCESS);
  for (auto [k, v] : labels) out.labels[std::string(k)] = std::string(v.get_string().value());
  for (auto [k, v] : annotations) {
    out.annotations[std::string(k)] = std::string(v.get_string().value());
  }
  out.starts = std::string(doc["startsAt"].get_string().value());
  out.ends = std::string(doc["endsAt"].get_string().value());
  return out;
}

TEST(AlertmanagerAlert, MapsADetectionAlert) {
  const std::string alert =
      R"({"@timestamp":"2026-03-01T10:00:00Z","rule":{"id":"r-1","title":"Break the glass",)"
      R"("level":"high","tags":["hipaa.164.312.b"]},"controls":["hipaa.164.312.b","soc2.cc7.2"],)"
      R"("event":{"user.id":"alice","patient.id":"P-9","event.sequence":7},)"
      R"("source":{"name":"ehr","file":"/var/log/ehr.log","offset":120},)"
      R"("detected_at":"2026-03-01T10:00:01.000Z"})";
  // 2026-03-01T10:00:02Z in Unix ms
  const int64_t now_ms = 1772359202000;
  auto am = toAlertmanagerAlert(alert, now_ms, 5min);
  ASSERT_TRUE(am.ok()) << am.error();
  const AmAlert a = parseAm(*am);
  EXPECT_EQ(a.labels.at("alertname"), "Break the glass");
  EXPECT_EQ(a.labels.at("severity"), "high");
  EXPECT_EQ(a.labels.at("rule_id"), "r-1");
  EXPECT_EQ(a.labels.at("control"), "hipaa.164.312.b,soc2.cc7.2");
  EXPECT_EQ(a.labels.size(), 4u);
  EXPECT_EQ(a.annotations.at("user_id"), "alice");
  EXPECT_EQ(a.annotations.at("event_sequence"), "7");
  EXPECT_NE(a.annotations.at("summary").find("user.id=alice"), std::string::npos);
  EXPECT_NE(a.annotations.at("description").find("/var/log/ehr.log at byte 120"),
            std::string::npos);
  EXPECT_EQ(a.annotations.at("event_time"), "2026-03-01T10:00:00Z");
  EXPECT_EQ(a.starts, "2026-03-01T10:00:01.000Z");
  EXPECT_EQ(a.ends, "2026-03-01T10:05:02.000Z");
}

TEST(AlertmanagerAlert, GroupValuesBecomeLabels) {
  const std::string alert =
      R"({"@timestamp":"2026-03-01T10:00:00Z","rule":{"id":"r-2","title":"Bulk reads",)"
      R"("level":"medium","tags":[]},"controls":[],"correlation":{"type":"event_count",)"
      R"("timespan":"10m","group":{"user.name":"bob","severity":"x"},"count":12,"events":12,)"
      R"("first_seen":"2026-03-01T09:51:00.000Z","last_seen":"2026-03-01T10:00:00.000Z"},)"
      R"("sample":[],"detected_at":"2026-03-01T10:00:01.000Z"})";
  auto am = toAlertmanagerAlert(alert, 1772359202000, 1min);
  ASSERT_TRUE(am.ok()) << am.error();
  const AmAlert a = parseAm(*am);
  EXPECT_EQ(a.labels.at("user_name"), "bob");
  EXPECT_EQ(a.labels.at("group_severity"), "x");
  EXPECT_EQ(a.labels.at("severity"), "medium");
  EXPECT_EQ(a.labels.count("control"), 0u);  // no controls: no empty label
  EXPECT_EQ(a.annotations.at("count"), "12");
  EXPECT_EQ(a.annotations.at("timespan"), "10m");
  EXPECT_EQ(a.annotations.at("summary"),
            "Bulk reads: 12 events in 10m for user.name=bob, severity=x");
}

TEST(AlertmanagerAlert, RefusesWhatIsNotAnAlert) {
  EXPECT_FALSE(toAlertmanagerAlert("not json", 0, 1min).ok());
  EXPECT_FALSE(toAlertmanagerAlert("[1,2]", 0, 1min).ok());
  EXPECT_FALSE(toAlertmanagerAlert("{\"x\":1}", 0, 1min).ok());
}

// A transport whose answers the test scripts; records what it was sent.
class ScriptedTransport : public Transport {
 public:
  SendResult send(const std::vector<SpoolRecord>& batch) override {
    std::lock_guard lock(mu_);
    SendResult r{SendResult::Kind::kDelivered, ""};
    if (!script_.empty()) {
      r.kind = script_.front();
      script_.erase(script_.begin());
    }
    ++attempts_;
    if (r.kind != SendResult::Kind::kRetry) {
      for (const auto& rec : batch) received_.push_back(rec.payload);
    }
    changed_.notify_all();
    return r;
  }
  void script(std::vector<SendResult::Kind> kinds) {
    std::lock_guard lock(mu_);
    script_ = std::move(kinds);
  }
  // Waits (bounded) until `n` payloads were taken; returns them.
  std::vector<std::string> waitReceived(size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, 20s, [&] { return received_.size() >= n; });
    return received_;
  }
  int attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<SendResult::Kind> script_;
  std::vector<std::string> received_;
  int attempts_ = 0;
};

class SpooledSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch-spooledsink-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<SpooledSink> makeSink(ScriptedTransport*& transport, SpoolOptions so = {}) {
    so.dir = dir_ + "/spool";
    auto spool = Spool::open(so);
    EXPECT_TRUE(spool.ok());
    auto t = std::make_unique<ScriptedTransport>();
    transport = t.get();
    DeliveryOptions d;
    d.batch_max = 2;
    d.retry_initial_delay = 1ms;
    d.retry_max_delay = 2ms;
    return std::make_unique<SpooledSink>("test", std::move(spool).value(), std::move(t), d);
  }
  std::string dir_;
};

TEST_F(SpooledSinkTest, RetriesThenDeliversEverythingInOrder) {
  ScriptedTransport* transport = nullptr;
  auto sink = makeSink(transport);
  transport->script({SendResult::Kind::kRetry, SendResult::Kind::kRetry});
  std::vector<std::string> sent;
  for (int i = 0; i < 7; ++i) {
    sent.push_back("{\"n\":" + std::to_string(i) + "}");
    ASSERT_TRUE(sink->write(sent.back()).ok());
  }
  ASSERT_TRUE(sink->flush().ok());
  EXPECT_EQ(transport->waitReceived(7), sent);
  EXPECT_GE(transport->attempts(), 2 + 4);  // two failures, then batches of two
}

TEST_F(SpooledSinkTest, RejectedBatchIsDroppedAndLaterOnesStillGo) {
  ScriptedTransport* transport = nullptr;
  auto sink = makeSink(transport);
  transport->script({SendResult::Kind::kRejected});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sink->write("{\"n\":" + std::to_string(i) + "}").ok());
  const auto got = transport->waitReceived(4);
  EXPECT_EQ(got.size(), 4u);  // the rejected batch was handed over once, then dropped
}

TEST_F(SpooledSinkTest, BlockPolicyFailsFlushAfterARefusal) {
  ScriptedTransport* transport = nullptr;
  SpoolOptions so;
  so.max_bytes = 100;
  so.on_full = SpoolFullPolicy::kBlock;
  // Keep everything in the spool: the receiver keeps failing.
  auto sink = makeSink(transport, so);
  transport->script(std::vector<SendResult::Kind>(1000, SendResult::Kind::kRetry));
  ASSERT_TRUE(sink->write(std::string(40, 'a')).ok());
  EXPECT_FALSE(sink->write(std::string(40, 'b')).ok());
  EXPECT_FALSE(sink->flush().ok());
}

TEST_F(SpooledSinkTest, UndeliveredAlertsWaitForTheNextStart) {
  {
    ScriptedTransport* transport = nullptr;
    auto sink = makeSink(transport);
    transport->script(std::vector<SendResult::Kind>(100000, SendResult::Kind::kRetry));
    ASSERT_TRUE(sink->write("{\"n\":1}").ok());
    ASSERT_TRUE(sink->write("{\"n\":2}").ok());
    ASSERT_TRUE(sink->flush().ok());
  }
  ScriptedTransport* transport = nullptr;
  auto sink = makeSink(transport);
  EXPECT_EQ(transport->waitReceived(2), (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"}));
}

// A spool that cannot be written (a full disk) loses nothing: alerts wait in
// memory, in order, flushes fail until they are spooled, and then every one
// is delivered.
TEST_F(SpooledSinkTest, AnUnwritableSpoolKeepsAlertsAndFailsFlushesUntilItRecovers) {
  ScriptedTransport* transport = nullptr;
  auto sink = makeSink(transport);
  std::vector<std::string> sent;
  for (int i = 0; i < 4; ++i)
    sent.push_back("{\"n\":" + std::to_string(i) + "," + std::string(30, 'x') + "}");
  {
    // Room for two records (32-byte header + 38-byte payload) in the segment.
    FileSizeLimit full(150);
    ASSERT_TRUE(sink->write(sent[0]).ok());
    ASSERT_TRUE(sink->write(sent[1]).ok());
    ASSERT_TRUE(sink->write(sent[2]).ok()) << "kept in memory, not refused";
    EXPECT_FALSE(sink->flush().ok()) << "an alert not spooled must hold checkpoints back";
    ASSERT_TRUE(sink->write(sent[3]).ok());
    EXPECT_FALSE(sink->flush().ok());
    EXPECT_EQ(transport->waitReceived(2).size(), 2u);
  }
  ASSERT_TRUE(sink->flush().ok()) << "space is back";
  EXPECT_EQ(transport->waitReceived(4), sent) << "all of them, once, in order";
}

}  // namespace
}  // namespace trailwatch::alert
