// Sigma correlation rules end to end: a small pack (bulk patient access as
// value_count, a terminated-user rule fed by a lookup table, failed logins
// chained into failed-then-successful login, and an absence rule for silent
// hosts) over generated events with known bursts, through `scan -c`, through
// `run` following a file, across restarts (and a replay after a crash), and
// with absence noticed as wall-clock time passes when nothing arrives at all.
//
// The scenario (event time, minutes from a base T; heartbeats every minute):
//   app-1 heartbeats 0..90            app-2 heartbeats 0..40, then silent
//   u-a  50 distinct patients in 9 min (5m..13m59s), then 10 re-reads    fires
//   u-b  49 distinct (+30 re-reads) in 9 min                               no
//   u-c  50 distinct spread over 11 min: no 10-minute window holds 50      no
//   u-g  50 distinct, the 50th exactly 10 min after the first (outside)    no
//   u-h  50 distinct, the 50th 10 min - 1 ms after the first (inside)      fires
//   u-t  one read; terminated in the staff CSV                  plain alert
//   u-d  5 failed logins, then a success                                   fires
//   u-e  4 failed logins, then a success                                   no
//   u-f  a success, then 5 failed logins                                   no
//   app-2 silent for 5 min                                                 fires
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr const char* kReadRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000201";
constexpr const char* kBulkRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000202";
constexpr const char* kTerminatedRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000203";
constexpr const char* kFailedLoginRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000204";
constexpr const char* kSuccessLoginRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000205";
constexpr const char* kManyFailuresRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000206";
constexpr const char* kBruteForceRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000207";
constexpr const char* kHeartbeatRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000208";
constexpr const char* kSilentHostRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000209";

// Short names for failure messages.
std::string nameOf(const std::string& rule_id) {
  static const std::map<std::string, std::string> kNames = {
      {kReadRuleId, "phi_read"},
      {kBulkRuleId, "bulk_patient_access"},
      {kTerminatedRuleId, "terminated_user"},
      {kFailedLoginRuleId, "failed_login"},
      {kSuccessLoginRuleId, "successful_login"},
      {kManyFailuresRuleId, "many_failed_logins"},
      {kBruteForceRuleId, "failed_logins_then_success"},
      {kHeartbeatRuleId, "host_heartbeat"},
      {kSilentHostRuleId, "host_silent"}};
  auto it = kNames.find(rule_id);
  return it != kNames.end() ? it->second : rule_id;
}

// The pack, one file per concern. Base rules are referenced by name
// (phi_read, successful_login, host_heartbeat) or by id (failed_login);
// none has `generate`, so none alerts on its own, nor does the event_count
// that only feeds the chain.
void writePack(const std::string& dir, const std::string& absence_timespan) {
  std::filesystem::create_directories(dir);
  writeFile(dir + "/bulk.yml", std::string("title: IT patient record read\nid: ") + kReadRuleId +
                                   "\nname: phi_read\nstatus: test\nlevel: informational\n"
                                   "logsource: {product: ehr, service: audit}\n"
                                   "detection:\n  selection:\n    event.action: read\n"
                                   "  condition: selection\n"
                                   "---\n"
                                   "title: IT bulk patient access\nid: " +
                                   kBulkRuleId +
                                   "\nname: bulk_patient_access\nstatus: test\nlevel: high\n"
                                   "tags: [hipaa.164.312.b]\n"
                                   "correlation:\n"
                                   "  type: value_count\n"
                                   "  rules: phi_read\n"
                                   "  group-by: [user.id]\n"
                                   "  timespan: 10m\n"
                                   "  condition:\n    field: patient.id\n    gte: 50\n"
                                   "fields: [user.id, patient.id]\n");
  writeFile(dir + "/terminated.yml",
            std::string("title: IT terminated user activity\nid: ") + kTerminatedRuleId +
                "\nstatus: test\nlevel: high\nlogsource: {product: ehr, service: audit}\n"
                "detection:\n  selection:\n    user.status: terminated\n  condition: selection\n"
                "fields: [user.id, user.status, patient.id]\n");
  writeFile(dir + "/logins.yml",
            std::string("title: IT failed login\nid: ") + kFailedLoginRuleId +
                "\nname: failed_login\nstatus: test\nlevel: low\n"
                "logsource: {product: ehr, service: audit}\n"
                "detection:\n  selection:\n    event.action: login\n    event.outcome: failure\n"
                "  condition: selection\n"
                "---\n"
                "title: IT successful login\nid: " +
                kSuccessLoginRuleId +
                "\nname: successful_login\nstatus: test\nlevel: informational\n"
                "logsource: {product: ehr, service: audit}\n"
                "detection:\n  selection:\n    event.action: login\n    event.outcome: success\n"
                "  condition: selection\n"
                "---\n"
                "title: IT many failed logins\nid: " +
                kManyFailuresRuleId +
                "\nname: many_failed_logins\nstatus: test\nlevel: medium\n"
                "correlation:\n"
                "  type: event_count\n"
                "  rules: " +
                kFailedLoginRuleId +
                "\n  group-by: [user.id]\n"
                "  timespan: 10m\n"
                "  condition: {gte: 5}\n"
                "---\n"
                "title: IT failed logins then success\nid: " +
                kBruteForceRuleId +
                "\nname: failed_logins_then_success\nstatus: test\nlevel: high\n"
                "tags: [attack.t1110, soc2.cc6.1]\n"
                "correlation:\n"
                "  type: temporal_ordered\n"
                "  rules: [many_failed_logins, successful_login]\n"
                "  group-by: [user.id]\n"
                "  timespan: 15m\n");
  writeFile(dir + "/heartbeat.yml",
            std::string("title: IT host heartbeat\nid: ") + kHeartbeatRuleId +
                "\nname: host_heartbeat\nstatus: test\nlevel: informational\n"
                "logsource: {product: ehr, service: audit}\n"
                "detection:\n  selection:\n    event.action: heartbeat\n  condition: selection\n"
                "---\n"
                "title: IT host went silent\nid: " +
                kSilentHostRuleId +
                "\nname: host_silent\nstatus: test\nlevel: medium\n"
                "correlation:\n"
                "  type: absence\n"
                "  rules: host_heartbeat\n"
                "  group-by: [host.name]\n"
                "  timespan: " +
                absence_timespan + "\n");
}

void writeStaff(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string csv = "user_id,status\n";
  for (const char* u : {"u-a", "u-b", "u-c", "u-d", "u-e", "u-f", "u-g", "u-h"}) {
    csv += std::string(u) + ",active\n";
  }
  csv += "u-t,terminated\n";
  writeFile(path, csv);
}

constexpr const char* kLookupConfig =
    "lookups:\n"
    "  - name: staff\n"
    "    path: lookups/staff.csv\n"
    "    key: user_id\n"
    "    match: user.id\n";

std::string correlationConfig(const std::string& late_allowance) {
  return "correlation:\n  late_allowance: " + late_allowance + "\n  workers: 3\n";
}

// ---------------------------------------------------------------- time

constexpr int64_t kSec = 1000;  // the scenario counts in milliseconds
constexpr int64_t kMin = 60 * kSec;

std::string rfc3339(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 2026-11-20T08:00:00Z: the base of the `scan` scenario.
int64_t fixedBase() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 20;
  tm.tm_hour = 8;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// ---------------------------------------------------------------- events

// Record bodies, without the timestamp (Timeline adds it first).
std::string readBody(const std::string& user, const std::string& patient) {
  return "\"event\":{\"action\":\"read\",\"outcome\":\"success\",\"category\":\"phi-access\"},"
         "\"user\":{\"id\":\"" +
         user + "\"},\"patient\":{\"id\":\"" + patient + "\"},\"host\":{\"name\":\"app-1\"}";
}
std::string patient(const std::string& user, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p-%s-%02d", user.c_str() + 2, i);  // "u-a" -> "p-a-07"
  return buf;
}
std::string loginBody(const std::string& user, const std::string& outcome) {
  return "\"event\":{\"action\":\"login\",\"outcome\":\"" + outcome +
         "\",\"category\":\"authentication\"},\"user\":{\"id\":\"" + user +
         "\"},\"host\":{\"name\":\"app-1\"}";
}
std::string heartbeatBody(const std::string& host) {
  return "\"event\":{\"action\":\"heartbeat\"},\"host\":{\"name\":\"" + host + "\"}";
}
std::string otherBody() {
  return "\"event\":{\"action\":\"view-schedule\",\"outcome\":\"success\"},"
         "\"user\":{\"id\":\"u-z\"},\"host\":{\"name\":\"app-1\"}";
}
std::string line(int64_t ms, const std::string& body) {
  return "{\"@timestamp\":\"" + rfc3339(ms) + "\"," + body + "}";
}

// Events by time; lines() sorts them as a log would hold them.
class Timeline {
 public:
  void add(int64_t ms, std::string body) { events_.emplace_back(ms, std::move(body)); }
  std::vector<std::string> lines() const {
    auto sorted = events_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (const auto& [ms, body] : sorted) out.push_back(line(ms, body));
    return out;
  }

 private:
  std::vector<std::pair<int64_t, std::string>> events_;
};

// The scenario of the header comment, from `base` (ms).
std::vector<std::string> scenario(int64_t t) {
  Timeline tl;
  for (int m = 0; m <= 90; ++m) tl.add(t + m * kMin, heartbeatBody("app-1"));
  for (int m = 0; m <= 40; ++m) tl.add(t + m * kMin, heartbeatBody("app-2"));
  for (int i = 0; i < 50; ++i)
    tl.add(t + 5 * kMin + i * 11 * kSec, readBody("u-a", patient("u-a", i)));
  for (int i = 0; i < 10; ++i)
    tl.add(t + 15 * kMin + i * 5 * kSec, readBody("u-a", patient("u-a", i)));
  for (int i = 0; i < 49; ++i)
    tl.add(t + 20 * kMin + i * 11 * kSec, readBody("u-b", patient("u-b", i)));
  for (int i = 0; i < 30; ++i) {
    tl.add(t + 20 * kMin + 5 * kSec + i * 11 * kSec, readBody("u-b", patient("u-b", i)));
  }
  tl.add(t + 25 * kMin, readBody("u-t", "p-t-00"));
  for (int i = 0; i < 50; ++i)
    tl.add(t + 30 * kMin + i * 13500, readBody("u-c", patient("u-c", i)));
  for (int i = 0; i < 49; ++i)
    tl.add(t + 45 * kMin + i * 12 * kSec, readBody("u-g", patient("u-g", i)));
  tl.add(t + 55 * kMin, readBody("u-g", patient("u-g", 49)));
  for (int i = 0; i < 49; ++i)
    tl.add(t + 60 * kMin + i * 12 * kSec, readBody("u-h", patient("u-h", i)));
  tl.add(t + 70 * kMin - 1, readBody("u-h", patient("u-h", 49)));
  for (int i = 0; i < 5; ++i) tl.add(t + 50 * kMin + i * 30 * kSec, loginBody("u-d", "failure"));
  tl.add(t + 53 * kMin, loginBody("u-d", "success"));
  for (int i = 0; i < 4; ++i) tl.add(t + 55 * kMin + i * 30 * kSec, loginBody("u-e", "failure"));
  tl.add(t + 57 * kMin, loginBody("u-e", "success"));
  tl.add(t + 60 * kMin, loginBody("u-f", "success"));
  for (int i = 0; i < 5; ++i) tl.add(t + 61 * kMin + i * 30 * kSec, loginBody("u-f", "failure"));
  return tl.lines();
}

// ---------------------------------------------------------------- alerts

// A correlation alert as documented in daemon/alert/alert_json.h.
struct CorrelationAlert {
  std::string line;
  std::string error;  // empty when it has the documented shape
  std::string timestamp, rule_id, type, timespan, field, first_seen, last_seen, detected_at;
  std::map<std::string, std::string> group;
  std::optional<double> count, value;
  std::optional<int64_t> events;
  std::vector<std::string> samples;  // minified JSON objects

  // "name {k=v} type=... count=... events=... first=... last=...", for
  // comparing against expectations with a readable difference. Absence
  // has no window: only its last event time.
  std::string summary() const {
    std::string s = nameOf(rule_id) + " {";
    for (const auto& [k, v] : group) s += k + "=" + v;
    s += "} " + type;
    if (type == "absence") return s + " last=" + last_seen;
    std::ostringstream figures;
    if (count) figures << " count=" << *count;
    if (value) figures << " value=" << *value;
    figures << " events=" << events.value_or(-1);
    return s + figures.str() + " first=" + first_seen + " last=" + last_seen;
  }
};

std::optional<double> number(simdjson::simdjson_result<simdjson::dom::element> e) {
  simdjson::dom::element el;
  if (e.get(el)) return std::nullopt;
  switch (el.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<double>(int64_t(el.get_int64().value()));
    case simdjson::dom::element_type::UINT64:
      return static_cast<double>(uint64_t(el.get_uint64().value()));
    case simdjson::dom::element_type::DOUBLE:
      return el.get_double().value();
    default:
      return std::nullopt;
  }
}

std::string text(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  return e.get_string().get(s) ? std::string() : std::string(s);
}

// The correlation alerts among the alert lines of `text_in` (the others,
// plain rule alerts, are left out).
std::vector<CorrelationAlert> correlationAlerts(const std::string& text_in) {
  std::vector<CorrelationAlert> out;
  simdjson::dom::parser parser;
  std::istringstream in(text_in);
  std::string l;
  while (std::getline(in, l)) {
    simdjson::dom::element doc;
    simdjson::dom::object o, corr, group;
    if (parser.parse(l).get(doc) || doc.get_object().get(o)) continue;
    if (o["correlation"].get_object().get(corr)) continue;
    CorrelationAlert a;
    a.line = l;
    a.timestamp = text(o["@timestamp"]);
    a.rule_id = text(o["rule"]["id"]);
    a.detected_at = text(o["detected_at"]);
    a.type = text(corr["type"]);
    a.timespan = text(corr["timespan"]);
    a.field = text(corr["field"]);
    a.first_seen = text(corr["first_seen"]);
    a.last_seen = text(corr["last_seen"]);
    a.count = number(corr["count"]);
    a.value = number(corr["value"]);
    if (auto e = number(corr["events"])) a.events = static_cast<int64_t>(*e);
    if (corr["group"].get_object().get(group)) {
      a.error = "correlation.group: want an object";
    } else {
      for (const auto field : group)
        a.group[std::string(field.key)] = text(simdjson::dom::element(field.value));
    }
    simdjson::dom::array samples;
    if (o["sample"].get_array().get(samples)) {
      a.error = "sample: want an array";
    } else {
      for (auto s : samples) a.samples.push_back(simdjson::minify(s));
    }
    if (a.timestamp.empty() || a.rule_id.empty() || a.detected_at.empty() || a.type.empty() ||
        a.timespan.empty() || a.first_seen.empty() || a.last_seen.empty() || !a.events ||
        (!a.count && !a.value)) {
      a.error =
          "missing one of @timestamp, rule.id, detected_at, correlation.{type, timespan, "
          "first_seen, last_seen, events, count|value}";
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<std::string> summaries(const std::vector<CorrelationAlert>& alerts,
                                   const std::string& rule_id = "") {
  std::vector<std::string> out;
  for (const auto& a : alerts) {
    if (rule_id.empty() || a.rule_id == rule_id) out.push_back(a.summary());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string windowSummary(const std::string& rule_id, const std::string& group,
                          const std::string& type, int count, int events, int64_t first,
                          int64_t last) {
  return nameOf(rule_id) + " {" + group + "} " + type + " count=" + std::to_string(count) +
         " events=" + std::to_string(events) + " first=" + rfc3339(first) +
         " last=" + rfc3339(last);
}

// The correlation alerts the scenario must raise, each once.
std::vector<std::string> expectedSummaries(int64_t t) {
  std::vector<std::string> out = {
      windowSummary(kBulkRuleId, "user.id=u-a", "value_count", 50, 50, t + 5 * kMin,
                    t + 5 * kMin + 49 * 11 * kSec),
      windowSummary(kBulkRuleId, "user.id=u-h", "value_count", 50, 50, t + 60 * kMin,
                    t + 70 * kMin - 1),
      // The chain's window: the firing of many_failed_logins (at the fifth
      // failure) and the success.
      windowSummary(kBruteForceRuleId, "user.id=u-d", "temporal_ordered", 2, 2, t + 52 * kMin,
                    t + 53 * kMin),
      nameOf(kSilentHostRuleId) + " {host.name=app-2} absence last=" + rfc3339(t + 40 * kMin),
  };
  std::sort(out.begin(), out.end());
  return out;
}

// Everything `alerts_text` must hold for the scenario from `t`: exactly the
// expected correlation alerts, the one terminated-user alert, and nothing
// from the rules that only feed correlations.
void expectScenarioAlerts(const std::string& alerts_text, int64_t t) {
  const auto correlations = correlationAlerts(alerts_text);
  for (const auto& a : correlations) EXPECT_EQ(a.error, "") << a.line;
  EXPECT_EQ(summaries(correlations), expectedSummaries(t)) << alerts_text;

  for (const auto& a : correlations) {
    EXPECT_EQ(a.timestamp, a.last_seen) << a.line;
    if (a.rule_id == kBulkRuleId) {
      EXPECT_EQ(a.timespan, "10m") << a.line;
      EXPECT_EQ(a.field, "patient.id") << a.line;
      EXPECT_FALSE(a.samples.empty()) << a.line;
      EXPECT_LE(a.samples.size(), 3u) << "sample_size defaults to 3: " << a.line;
    }
    if (a.rule_id == kBulkRuleId && a.group.count("user.id") && a.group.at("user.id") == "u-a" &&
        !a.samples.empty()) {
      // The latest contributing event, with the correlation's `fields`.
      EXPECT_NE(a.samples.back().find("\"patient.id\":\"p-a-49\""), std::string::npos) << a.line;
      EXPECT_NE(a.samples.back().find("\"rule\":\"phi_read\""), std::string::npos) << a.line;
    }
    if (a.rule_id == kBruteForceRuleId) {
      EXPECT_EQ(a.timespan, "15m") << a.line;
      const bool names_the_count =
          std::any_of(a.samples.begin(), a.samples.end(), [](const std::string& s) {
            return s.find("\"value\":5") != std::string::npos ||
                   s.find("\"value\":\"5\"") != std::string::npos;
          });
      EXPECT_TRUE(names_the_count)
          << "the chain's sample should name the event_count firing (5): " << a.line;
    }
    if (a.rule_id == kSilentHostRuleId) {
      EXPECT_EQ(a.timespan, "5m") << a.line;
    }
  }

  const auto all = parseAlerts(alerts_text);
  int terminated = 0;
  for (const auto& a : all) {
    EXPECT_NE(a.rule_id, kReadRuleId) << "phi_read only feeds a correlation: " << a.line;
    EXPECT_NE(a.rule_id, kFailedLoginRuleId) << "failed_login only feeds a correlation: " << a.line;
    EXPECT_NE(a.rule_id, kSuccessLoginRuleId)
        << "successful_login only feeds a correlation: " << a.line;
    EXPECT_NE(a.rule_id, kHeartbeatRuleId) << "host_heartbeat only feeds a correlation: " << a.line;
    EXPECT_NE(a.rule_id, kManyFailuresRuleId)
        << "many_failed_logins only feeds the chain: " << a.line;
    if (a.rule_id != kTerminatedRuleId) continue;
    ++terminated;
    EXPECT_TRUE(a.valid) << a.error << ": " << a.line;
    EXPECT_EQ(a.field("user.id"), "u-t") << a.line;
    EXPECT_EQ(a.field("user.status"), "terminated") << a.line;
    EXPECT_EQ(a.timestamp, rfc3339(t + 25 * kMin)) << a.line;
  }
  EXPECT_EQ(terminated, 1) << alerts_text;
  EXPECT_EQ(all.size(), correlations.size() + 1) << alerts_text;
}

// ---------------------------------------------------------------- scan

class CorrelationTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CorrelationTest, ScanRaisesEachInjectedBurstOnce) {
  writePack(dir_ / "rules/corr", "5m");
  writeStaff(dir_ / "lookups/staff.csv");
  writeFile(dir_ / "trailwatch.yaml", std::string("rules: [./rules]\n"
                                                  "sources:\n"
                                                  "  - name: ehr\n"
                                                  "    paths: [./logs/*.ndjson]\n") +
                                          kLookupConfig + correlationConfig("30s"));
  const int64_t t = fixedBase();
  std::string log;
  for (const auto& l : scenario(t)) log += l + "\n";
  writeFile(dir_ / "events.ndjson", log);

  const RunResult r = runToCompletion(
      {trailwatchBinary(), "scan", "-c", dir_ / "trailwatch.yaml", dir_ / "events.ndjson"},
      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expectScenarioAlerts(r.out, t);
  const size_t brace = r.err.rfind('{');
  ASSERT_NE(brace, std::string::npos) << "no summary line on stderr: " << r.err;
  const auto summary = parseJsonNumbers(r.err.substr(brace));
  ASSERT_TRUE(summary) << r.err;
  EXPECT_EQ(summary->at("alerts"), 5.0) << r.err;
  EXPECT_EQ(summary->at("events"), static_cast<double>(scenario(t).size())) << r.err;
}

// ---------------------------------------------------------------- run

// Offset committed for `file` in the source's checkpoint file (lines of
// "dev ino fingerprint_len fingerprint offset path"); nullopt when none.
std::optional<uint64_t> committedOffset(const std::string& state_dir, const std::string& file) {
  std::istringstream in(readFile(state_dir + "/checkpoints/ehr.ckpt"));
  std::string l;
  while (std::getline(in, l)) {
    std::istringstream fields(l);
    std::string dev, ino, len, fp, offset, path;
    if (!(fields >> dev >> ino >> len >> fp >> offset >> path)) continue;
    if (path == file) return std::stoull(offset);
  }
  return std::nullopt;
}

class CorrelationDaemonTest : public CorrelationTest {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(daemon_.pack_dir);  // the fixture's own rules
    writePack(daemon_.pack_dir, "5m");
    writeStaff(dir_ / "lookups/staff.csv");
    daemon_.extra_config = std::string(kLookupConfig) + correlationConfig("30s");
    writeFile(log_, "");
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", daemon_.logs().c_str());
  }

  // Everything in the log was read, and its alerts (correlations included:
  // a commit waits for the correlation shards) are in the alert file.
  bool waitCommitted(std::chrono::milliseconds timeout = 20s) {
    return waitFor(
        [&] {
          const auto offset = committedOffset(daemon_.state_dir, log_);
          return offset && *offset == fileSize(log_);
        },
        timeout);
  }
  std::string committedText() {
    const auto offset = committedOffset(daemon_.state_dir, log_);
    return "committed " + (offset ? std::to_string(*offset) : std::string("nothing")) + " of " +
           std::to_string(fileSize(log_)) + " bytes";
  }
  std::vector<CorrelationAlert> alertsOf(const std::string& rule_id) {
    std::vector<CorrelationAlert> out;
    for (auto& a : correlationAlerts(readFile(daemon_.alerts_path))) {
      if (a.rule_id == rule_id) out.push_back(std::move(a));
    }
    return out;
  }
  std::string stateFile() const { return daemon_.state_dir + "/correlation.state"; }

  void restartInTheMiddleOfABurst(bool kill9);

  Daemon daemon_{dir_, DaemonSettings{.start_at = "beginning",
                                      .checkpoint_interval = "200ms",
                                      .max_line_bytes = std::nullopt,
                                      .log_level = "info"}};
  std::string log_ = daemon_.logs_dir + "/a.ndjson";
};

TEST_F(CorrelationDaemonTest, RunRaisesTheSameAlertsOnceEach) {
  // The data `scan` read, days old, appended while the daemon follows the
  // file. Its windows run on event time; between appends an idle shard's
  // clock only runs on from the latest event time at the wall clock's pace,
  // which moves nothing here by the late allowance.
  const int64_t t = fixedBase();
  const auto lines = scenario(t);
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  std::string chunk;
  for (size_t i = 0; i < lines.size(); ++i) {
    chunk += lines[i] + "\n";
    if (i % 64 == 63 || i + 1 == lines.size()) {
      appendRaw(log_, chunk);
      chunk.clear();
    }
  }
  ASSERT_TRUE(waitCommitted()) << committedText();
  EXPECT_EQ(daemon_.metric("trailwatch_correlation_late_events_total").value_or(0), 0.0)
      << daemon_.scrape();
  const auto code = daemon_.stop(10s);
  ASSERT_TRUE(code) << "trailwatch did not exit within 10 s of SIGTERM";
  EXPECT_EQ(*code, 0);
  expectScenarioAlerts(readFile(daemon_.alerts_path), t);
}

// u-a opens 30 patients, the daemon commits and goes down, comes back, and
// u-a opens 20 more: the bulk alert fires once, over all 50.
void CorrelationDaemonTest::restartInTheMiddleOfABurst(bool kill9) {
  const int64_t t = nowMs() / kSec * kSec;
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  for (int i = 0; i < 30; ++i) {
    appendLine(log_, line(t + i * kSec, readBody("u-a", patient("u-a", i))));
  }
  ASSERT_TRUE(waitCommitted()) << committedText();
  ASSERT_TRUE(std::filesystem::exists(stateFile())) << "no " << stateFile() << " after a commit";
  EXPECT_GT(fileSize(stateFile()), 0u);
  if (kill9) {
    daemon_.process().kill9();
    EXPECT_EQ(daemon_.process().wait(10s), 128 + SIGKILL);
  } else {
    EXPECT_EQ(daemon_.stop(10s), 0);
  }
  EXPECT_TRUE(alertsOf(kBulkRuleId).empty()) << "30 patients is not a burst";

  ASSERT_TRUE(daemon_.start(why)) << why;
  for (int i = 30; i < 50; ++i) {
    appendLine(log_, line(t + i * kSec, readBody("u-a", patient("u-a", i))));
  }
  EXPECT_TRUE(waitFor([&] { return !alertsOf(kBulkRuleId).empty(); }, 20s))
      << "the burst straddling the restart never alerted; " << committedText();
  ASSERT_TRUE(waitCommitted()) << committedText();
  EXPECT_EQ(daemon_.stop(10s), 0);

  const auto bulk = alertsOf(kBulkRuleId);
  EXPECT_EQ(summaries(bulk),
            (std::vector<std::string>{windowSummary(kBulkRuleId, "user.id=u-a", "value_count", 50,
                                                    50, t, t + 49 * kSec)}))
      << readFile(daemon_.alerts_path);
  EXPECT_EQ(parseAlertsFile(daemon_.alerts_path).size(), 1u) << readFile(daemon_.alerts_path);
}

TEST_F(CorrelationDaemonTest, RestartAfterSigtermAlertsOnTheBurstOnce) {
  restartInTheMiddleOfABurst(false);
}

TEST_F(CorrelationDaemonTest, RestartAfterKillNineAlertsOnTheBurstOnce) {
  restartInTheMiddleOfABurst(true);
}

// A SIGHUP reload in the middle of a burst keeps the state of an unchanged
// correlation: 30 patients, reload, 20 more alert once, over all 50.
TEST_F(CorrelationDaemonTest, ReloadInTheMiddleOfABurstKeepsItsWindow) {
  const int64_t t = nowMs() / kSec * kSec;
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  for (int i = 0; i < 30; ++i) {
    appendLine(log_, line(t + i * kSec, readBody("u-a", patient("u-a", i))));
  }
  ASSERT_TRUE(waitCommitted()) << committedText();
  const double loads = daemon_.metric("trailwatch_rules_last_reload_timestamp_seconds").value_or(0);
  daemon_.process().signal(SIGHUP);
  ASSERT_TRUE(waitFor(
      [&] {
        return daemon_.metric("trailwatch_rules_last_reload_timestamp_seconds").value_or(0) > loads;
      },
      15s))
      << daemon_.scrape();
  for (int i = 30; i < 50; ++i) {
    appendLine(log_, line(t + i * kSec, readBody("u-a", patient("u-a", i))));
  }
  EXPECT_TRUE(waitFor([&] { return !alertsOf(kBulkRuleId).empty(); }, 20s)) << committedText();
  ASSERT_TRUE(waitCommitted()) << committedText();
  EXPECT_EQ(daemon_.stop(10s), 0);
  EXPECT_EQ(summaries(alertsOf(kBulkRuleId)),
            (std::vector<std::string>{windowSummary(kBulkRuleId, "user.id=u-a", "value_count", 50,
                                                    50, t, t + 49 * kSec)}))
      << readFile(daemon_.alerts_path);
}

// A crash after the correlation state was saved but before the source's
// offsets were committed (commit() saves the state first): on restart the
// records after the old offsets are read again, and the state already holds
// them. daemon/server/correlator.h promises they are recognised and not
// counted twice. Simulated by putting back the checkpoint from before the
// records while keeping the newer state.
TEST_F(CorrelationDaemonTest, RecordsReadAgainAfterACrashAreNotCountedTwice) {
  const int64_t t = nowMs() / kSec * kSec;
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  appendLine(log_, line(t, otherBody()));
  ASSERT_TRUE(waitCommitted()) << committedText();
  const std::string checkpoint_before = readFile(daemon_.state_dir + "/checkpoints/ehr.ckpt");

  for (int i = 1; i <= 3; ++i) appendLine(log_, line(t + i * kSec, loginBody("u-x", "failure")));
  ASSERT_TRUE(waitCommitted()) << committedText();
  daemon_.process().kill9();
  EXPECT_EQ(daemon_.process().wait(10s), 128 + SIGKILL);
  writeFileAtomic(daemon_.state_dir + "/checkpoints/ehr.ckpt", checkpoint_before);

  // 3 failures (in the state, and read again) + 1 = 4: no firing, and the
  // success S1 after it is just a success. One more failure makes 5, and the
  // success S2 after that completes the chain, in a window that holds S1,
  // the firing and S2. Counted twice, S1 would already complete it.
  ASSERT_TRUE(daemon_.start(why)) << why;
  appendLine(log_, line(t + 4 * kSec, loginBody("u-x", "failure")));
  appendLine(log_, line(t + 5 * kSec, loginBody("u-x", "success")));
  appendLine(log_, line(t + 6 * kSec, loginBody("u-x", "failure")));
  appendLine(log_, line(t + 7 * kSec, loginBody("u-x", "success")));
  EXPECT_TRUE(waitFor([&] { return !alertsOf(kBruteForceRuleId).empty(); }, 20s))
      << committedText();
  ASSERT_TRUE(waitCommitted()) << committedText();
  EXPECT_EQ(daemon_.stop(10s), 0);

  EXPECT_EQ(
      summaries(alertsOf(kBruteForceRuleId)),
      (std::vector<std::string>{windowSummary(kBruteForceRuleId, "user.id=u-x", "temporal_ordered",
                                              2, 3, t + 5 * kSec, t + 7 * kSec)}))
      << "the failures read again were counted twice:\n"
      << readFile(daemon_.alerts_path);
}

// With no traffic at all, an idle shard's clock runs on at the wall clock's
// pace: a host that stops sending is reported once its timespan and the late
// allowance have passed, without another event to move event time.
TEST_F(CorrelationDaemonTest, AbsenceFiresOnTheWallClockWithNoTraffic) {
  std::filesystem::remove_all(daemon_.pack_dir);
  writePack(daemon_.pack_dir, "2s");
  daemon_.extra_config = std::string(kLookupConfig) + correlationConfig("1s");
  std::string why;
  ASSERT_TRUE(daemon_.start(why)) << why;
  int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    last = nowMs();
    appendLine(log_, line(last, heartbeatBody("quiet-1")));
  }
  ASSERT_TRUE(waitCommitted()) << committedText();

  EXPECT_TRUE(waitFor([&] { return !alertsOf(kSilentHostRuleId).empty(); }, 15s))
      << "no absence alert in the alert file 15 s after the last heartbeat (" << rfc3339(last)
      << ", timespan 2s, late_allowance 1s); the daemon counts "
      << daemon_.metric("trailwatch_alerts_total", {{"rule_id", kSilentHostRuleId}}).value_or(0)
      << " raised and "
      << daemon_.metric("trailwatch_sink_alerts_total", {{"sink", "file:" + daemon_.alerts_path}})
             .value_or(0)
      << " written to the file sink";
  // Time for a second (wrong) one to show up.
  EXPECT_FALSE(waitFor([&] { return alertsOf(kSilentHostRuleId).size() > 1; }, 3s))
      << readFile(daemon_.alerts_path);
  EXPECT_EQ(daemon_.stop(10s), 0);

  const auto silent = alertsOf(kSilentHostRuleId);
  ASSERT_EQ(silent.size(), 1u) << readFile(daemon_.alerts_path);
  EXPECT_EQ(silent[0].summary(),
            nameOf(kSilentHostRuleId) + " {host.name=quiet-1} absence last=" + rfc3339(last));
  EXPECT_EQ(silent[0].timespan, "2s");
  EXPECT_EQ(parseAlertsFile(daemon_.alerts_path).size(), 1u) << readFile(daemon_.alerts_path);
}

}  // namespace
}  // namespace trailwatch::it
