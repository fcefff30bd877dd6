// The harness itself: if these fail, the integration tests' verdicts on
// trailwatch mean nothing.
#include <signal.h>

#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

TEST(Harness, ProcessCapturesOutputAndExitCode) {
  TempDir dir;
  writeFile(dir / "in.txt", "hello\n");
  const RunResult r =
      runToCompletion({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"}, dir.path(), dir / "in.txt");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(Harness, ProcessReportsSignalsAndTimeouts) {
  TempDir dir;
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done"};
  o.stdout_path = dir / "out";
  o.stderr_path = dir / "err";
  Process p(o);
  EXPECT_FALSE(p.wait(100ms)) << "still running";
  EXPECT_TRUE(p.running());
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 7);
  EXPECT_FALSE(p.running());

  Process q(o);
  q.kill9();
  EXPECT_EQ(q.wait(10s), 128 + SIGKILL);
}

TEST(Harness, TempDirIsRemoved) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    appendLine(dir / "x", "1");
    appendLine(dir / "x", "2");
    EXPECT_EQ(readLines(dir / "x"), (std::vector<std::string>{"1", "2"}));
    appendRaw(dir / "x", "3");
    EXPECT_EQ(readLines(dir / "x").size(), 2u) << "an unterminated line is left out";
    EXPECT_EQ(readLines(dir / "x", true).size(), 3u);
  }
  EXPECT_EQ(readFile(path + "/x"), "");
}

TEST(Harness, ParsesPrometheusText) {
  const std::string body =
      "# HELP a_total A.\n# TYPE a_total counter\n"
      "a_total{source=\"ehr\",reason=\"bad \\\"json\\\"\"} 2\n"
      "a_total{source=\"ehr\",reason=\"x\"} 3\n"
      "a_total{source=\"other\",reason=\"x\"} 5\n"
      "g 1.5e+00\n";
  EXPECT_EQ(metricValue(body, "a_total", {{"source", "ehr"}}), 5.0);
  EXPECT_EQ(metricValue(body, "a_total", {{"reason", "bad \"json\""}}), 2.0);
  EXPECT_EQ(metricValue(body, "g"), 1.5);
  EXPECT_FALSE(metricValue(body, "missing"));
}

TEST(Harness, ParsesAlerts) {
  const auto alerts = parseAlerts(
      "{\"@timestamp\":\"t\",\"rule\":{\"id\":\"r\",\"title\":\"T\",\"level\":\"high\","
      "\"tags\":[\"soc2.cc7.2\"]},\"controls\":[\"soc2.cc7.2\"],"
      "\"event\":{\"user.id\":\"u1\",\"event.sequence\":7},"
      "\"source\":{\"name\":\"s\",\"file\":\"f\",\"offset\":12},\"detected_at\":\"d\"}\n"
      "{\"@timestamp\":\"t\",\"rule\":{\"id\":\"r\",\"title\":\"T\",\"level\":\"high\","
      "\"tags\":[]},\"controls\":[],\"event\":{\"event\":{\"sequence\":8.0},\"user\":{\"id\":1}},"
      "\"source\":{\"name\":\"s\",\"file\":\"f\",\"offset\":0},\"detected_at\":\"d\"}\n"
      "{\"rule\":1}\n"
      "{\"partial");
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_TRUE(alerts[0].valid) << alerts[0].error;
  EXPECT_EQ(alerts[0].sequence(), 7);
  EXPECT_EQ(alerts[0].field("user.id"), "u1");
  EXPECT_EQ(alerts[0].source_offset, 12u);
  EXPECT_TRUE(alerts[1].valid) << alerts[1].error;
  EXPECT_EQ(alerts[1].sequence(), 8);
  EXPECT_EQ(alerts[1].field("user.id"), "1");
  EXPECT_FALSE(alerts[2].valid);
}

TEST(Harness, HttpGetFailsCleanlyWithoutAServer) {
  EXPECT_FALSE(httpGet("127.0.0.1", freePort(), "/metrics"));
}

}  // namespace
}  // namespace trailwatch::it
