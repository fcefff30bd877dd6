// The NATS JetStream source, output and forwarder against a real
// `nats-server -js` started here on a free loopback port, with its store in
// the test's folder. The test's own client is nats.c, the library the daemon
// uses, talking to that server (streams are the operator's to create, so the
// test creates them as an operator would).
#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"
#include "tests/integration/nats_fixture.h"

namespace trailwatch::it {
namespace {

std::string natsSource(const std::string& url) {
  return "  - name: bus\n"
         "    type: nats\n"
         "    url: " +
         url +
         "\n"
         "    stream: AUDIT\n"
         "    subject: \"audit.>\"\n"
         "    consumer: trailwatch\n"
         "    batch: 50\n"
         "    ack_wait: 2s\n";
}

// Every 10th event breaks the glass.
EventKind kindOf(int64_t sequence) {
  return sequence % 10 == 0 ? EventKind::kBtg : EventKind::kBenign;
}

std::set<int64_t> btgBetween(int64_t first, int64_t last) {
  std::set<int64_t> out;
  for (int64_t s = first; s <= last; ++s) {
    if (kindOf(s) == EventKind::kBtg) out.insert(s);
  }
  return out;
}

std::set<int64_t> uniqueBtg(const std::vector<Alert>& alerts) {
  const auto all = sequencesOf(alerts, kBtgRuleId);
  return {all.begin(), all.end()};
}

// Records published to the stream are evaluated; a kill -9 in the middle
// and a restart lose none: what was not acknowledged comes back.
TEST(NatsSource, AlertsOnEveryMatchAcrossKillNine) {
  SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir);
  ASSERT_TRUE(server.up()) << server.logs();
  NatsClient client(server.url());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.addStream("AUDIT", "audit.>"));

  Daemon daemon(dir);
  daemon.extra_sources = natsSource(server.url());
  std::string why;
  ASSERT_TRUE(daemon.start(why)) << why;

  for (int64_t s = 1; s <= 1000; ++s) {
    ASSERT_TRUE(client.publish("audit.ehr." + std::to_string(s % 4), ehrEvent(s, kindOf(s))));
  }
  ASSERT_TRUE(waitFor([&] { return uniqueBtg(daemon.alerts()) == btgBetween(1, 1000); }, 20s))
      << daemon.logs();
  ASSERT_TRUE(
      waitFor([&] { return daemon.metric("trailwatch_nats_pending_messages") == 0.0; }, 10s));

  // A second chunk, and the daemon killed while it reads it.
  for (int64_t s = 1001; s <= 3000; ++s) {
    ASSERT_TRUE(client.publish("audit.ehr." + std::to_string(s % 4), ehrEvent(s, kindOf(s))));
  }
  daemon.process().kill9();
  daemon.process().wait(10s);
  // A third while it is down.
  for (int64_t s = 3001; s <= 4000; ++s) {
    ASSERT_TRUE(client.publish("audit.ehr." + std::to_string(s % 4), ehrEvent(s, kindOf(s))));
  }
  ASSERT_TRUE(daemon.start(why)) << why;
  EXPECT_TRUE(waitFor([&] { return uniqueBtg(daemon.alerts()) == btgBetween(1, 4000); }, 20s))
      << daemon.logs();
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon.metric("trailwatch_nats_messages_acknowledged_total", {{"source", "bus"}})
                   .value_or(0) > 0;
      },
      10s));
  EXPECT_EQ(daemon.stop(), 0);
}

// A missing stream is a start-up error naming it.
TEST(NatsSource, MissingStreamIsReported) {
  SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir);
  ASSERT_TRUE(server.up()) << server.logs();
  Daemon daemon(dir);
  daemon.extra_sources = natsSource(server.url());
  std::string why;
  (void)daemon.start(why);  // /metrics may answer before the sources open
  ASSERT_TRUE(waitFor([&] { return !daemon.running(); }, 20s));
  EXPECT_EQ(daemon.process().wait(0ms), 1);
  EXPECT_NE(daemon.logs().find("stream 'AUDIT' does not exist"), std::string::npos)
      << daemon.logs();
}

// Alerts land in a stream; raising the same alerts again (the checkpoint
// removed, as after a crash before it was saved) stores nothing new.
TEST(NatsOutput, StoresEachAlertOnce) {
  SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir);
  ASSERT_TRUE(server.up()) << server.logs();
  NatsClient client(server.url());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.addStream("ALERTS", "alerts.>"));

  Daemon daemon(dir);
  daemon.extra_outputs =
      "  - type: nats\n"
      "    name: bus\n"
      "    url: " +
      server.url() +
      "\n"
      "    subject: alerts.trailwatch\n"
      "    retry: {initial_delay: 100ms, max_delay: 1s}\n";
  std::string lines;
  for (int64_t s = 1; s <= 200; ++s) lines += ehrEvent(s, kindOf(s)) + "\n";
  writeFile(daemon.logs_dir + "/ehr.ndjson", lines);
  std::string why;
  ASSERT_TRUE(daemon.start(why)) << why;
  ASSERT_TRUE(waitFor([&] { return client.messages("ALERTS") == 20; }, 20s))
      << client.messages("ALERTS") << "\n"
      << daemon.logs();
  ASSERT_EQ(daemon.stop(), 0);

  std::filesystem::remove_all(daemon.state_dir + "/checkpoints");
  ASSERT_TRUE(daemon.start(why)) << why;
  ASSERT_TRUE(waitFor([&] { return daemon.alerts().size() == 40; }, 20s)) << daemon.logs();
  ASSERT_TRUE(waitFor(
      [&] {
        return daemon.metric("trailwatch_sink_delivered_total", {{"sink", "bus"}}) == 20.0;
      },
      20s))
      << daemon.scrape();
  EXPECT_EQ(client.messages("ALERTS"), 20);
  std::set<int64_t> stored;
  for (const auto& [subject, data] : client.readAll("ALERTS", "alerts.>")) {
    EXPECT_EQ(subject, "alerts.trailwatch");
    for (const auto& a : parseAlerts(data + "\n")) {
      if (auto s = a.sequence()) stored.insert(*s);
    }
  }
  EXPECT_EQ(stored, btgBetween(1, 200));
  EXPECT_EQ(daemon.stop(), 0);
}

// `trailwatch forward` publishes a log file to the stream, each record to
// the partition of its user.id, and a daemon consuming the stream alerts on
// every match in it.
TEST(NatsForward, PartitionsRecordsAndTheConsumerAlerts) {
  SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir);
  ASSERT_TRUE(server.up()) << server.logs();
  NatsClient client(server.url());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.addStream("AUDIT", "audit.>"));

  std::filesystem::create_directories(dir / "host/logs");
  std::string lines;
  for (int64_t s = 1; s <= 500; ++s) lines += ehrEvent(s, kindOf(s)) + "\n";
  lines += "not json at all\n";
  writeFile(dir / "host/logs/ehr.ndjson", lines);
  writeFile(dir / "host/forward.yaml",
            "state_dir: ./state\n"
            "rules: [../rules]\n"
            "checkpoint_interval: 200ms\n"
            "sources:\n"
            "  - name: ehr\n"
            "    paths: [./logs/*.ndjson]\n"
            "    start_at: beginning\n"
            "forward:\n"
            "  url: " +
                server.url() +
                "\n"
                "  subject: audit.ehr\n"
                "  partition_key: user.id\n"
                "  partitions: 4\n");
  Daemon daemon(dir);  // writes ../rules for the forwarder's configuration too
  ProcessOptions o;
  o.argv = {trailwatchBinary(), "forward", "-c", dir / "host/forward.yaml"};
  o.stdout_path = dir / "forward.out";
  o.stderr_path = dir / "forward.err";
  Process forward(o);
  ASSERT_TRUE(waitFor([&] { return client.messages("AUDIT") == 501; }, 20s))
      << client.messages("AUDIT") << "\n"
      << forward.stderrText();
  forward.signal(SIGTERM);
  EXPECT_EQ(forward.wait(10s), 0) << forward.stderrText();

  // Restarted, it resumes at its checkpoint: nothing is sent twice.
  appendLine(dir / "host/logs/ehr.ndjson", ehrEvent(501, EventKind::kBenign));
  Process again(o);
  ASSERT_TRUE(waitFor([&] { return client.messages("AUDIT") == 502; }, 20s)) << again.stderrText();
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(10s), 0);
  EXPECT_EQ(client.messages("AUDIT"), 502);

  std::map<std::string, int> per_subject;
  for (const auto& [subject, data] : client.readAll("AUDIT", "audit.>")) {
    ++per_subject[subject];
    const auto at = data.find("\"user\":{\"id\":\"");
    if (at == std::string::npos) {
      EXPECT_EQ(subject, "audit.ehr.0") << data;  // no key: bucket 0
      continue;
    }
    const auto start = at + 14;
    const std::string user = data.substr(start, data.find('"', start) - start);
    EXPECT_EQ(subject, "audit.ehr." + std::to_string(fnv1a(user) % 4)) << user;
  }
  EXPECT_EQ(per_subject.size(), 4u);

  daemon.extra_sources = natsSource(server.url());
  std::string why;
  ASSERT_TRUE(daemon.start(why)) << why;
  EXPECT_TRUE(waitFor([&] { return uniqueBtg(daemon.alerts()) == btgBetween(1, 500); }, 20s))
      << daemon.logs();
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace trailwatch::it
