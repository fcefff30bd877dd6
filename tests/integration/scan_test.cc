// `trailwatch scan`: one-shot scans of files and stdin, the alerts they
// print, the summary line, and the usage errors (exit 2).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

// A log file built line by line, remembering where each sequence starts.
struct LogFile {
  std::string path;
  std::string content;
  std::map<int64_t, uint64_t> offset_of;  // sequence -> byte offset of its line

  void add(int64_t seq, EventKind kind) {
    offset_of[seq] = content.size();
    content += ehrEvent(seq, kind) + "\n";
  }
  void addRaw(const std::string& line) { content += line + "\n"; }
  void write() const { writeFile(path, content); }
};

std::string lastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

class ScanCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    writeTestRules(rules_);
    first_.path = dir_ / "first.ndjson";
    first_.add(1, EventKind::kBenign);
    first_.add(2, EventKind::kBtg);
    first_.add(3, EventKind::kBenign);
    first_.addRaw(
        "{\"@timestamp\":\"2026-11-20T00:00:03.500Z\",\"event\":{\"action\":");  // malformed
    first_.add(4, EventKind::kExport);
    first_.add(5, EventKind::kDenied);
    first_.add(6, EventKind::kBenign);
    first_.write();
    second_.path = dir_ / "second.ndjson";
    second_.add(11, EventKind::kBenign);
    second_.add(12, EventKind::kBtg);
    second_.add(13, EventKind::kBenign);
    second_.write();
  }

  RunResult scan(std::vector<std::string> args, const std::string& stdin_path = "") {
    args.insert(args.begin(), {trailwatchBinary(), "scan"});
    return runToCompletion(args, dir_.path(), stdin_path);
  }

  const Alert* find(const std::vector<Alert>& alerts, const std::string& rule, int64_t seq) {
    for (const auto& a : alerts) {
      if (a.rule_id == rule && a.sequence() == seq) return &a;
    }
    return nullptr;
  }

  TempDir dir_;
  std::string rules_ = dir_ / "rules/itpack";
  LogFile first_, second_;
};

TEST_F(ScanCommand, AlertsOnExactlyTheMatchingRecordsOfTwoFiles) {
  const RunResult r = scan({"--rules", dir_ / "rules", first_.path, second_.path});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto alerts = parseAlerts(r.out);
  for (const auto& a : alerts) EXPECT_TRUE(a.valid) << a.error << ": " << a.line;
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& a : alerts) got.emplace_back(a.rule_id, a.sequence().value_or(-1));
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, int64_t>> want = {
      {kBtgRuleId, 2}, {kBtgRuleId, 12}, {kExportRuleId, 4}, {kDeniedRuleId, 5}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want) << r.out;

  // A rule with `fields`: the event holds exactly those, with the record's values.
  if (const Alert* a = find(alerts, kBtgRuleId, 2)) {
    EXPECT_EQ(a->rule_title, kBtgTitle);
    EXPECT_EQ(a->rule_level, "high");
    EXPECT_EQ(a->tags, (std::vector<std::string>{"hipaa.164.312.b", "soc2.cc7.2", "attack.t1078"}));
    EXPECT_EQ(a->controls, (std::vector<std::string>{"hipaa.164.312.b", "soc2.cc7.2"}));
    EXPECT_EQ(a->event_json, "{\"user.id\":\"u1002\",\"patient.id\":\"p-2\",\"event.sequence\":2}");
    EXPECT_EQ(a->timestamp, "2026-11-20T00:00:02.000Z");
    EXPECT_EQ(a->source_name, "scan");
    EXPECT_EQ(a->source_file, first_.path);
    EXPECT_EQ(a->source_offset, first_.offset_of[2]);
    EXPECT_FALSE(a->detected_at.empty());
  }
  if (const Alert* a = find(alerts, kBtgRuleId, 12)) {
    EXPECT_EQ(a->source_file, second_.path);
    EXPECT_EQ(a->source_offset, second_.offset_of[12]);
    EXPECT_EQ(a->field("patient.id"), "p-12");
  }
  if (const Alert* a = find(alerts, kExportRuleId, 4)) {
    EXPECT_EQ(a->rule_level, "medium");
    EXPECT_EQ(a->controls, (std::vector<std::string>{"soc2.cc7.2"}));
    EXPECT_EQ(a->event_json, "{\"user.id\":\"u1004\",\"event.sequence\":4}");
    EXPECT_EQ(a->source_offset, first_.offset_of[4]);
  }
  // A rule without `fields`: the whole record.
  if (const Alert* a = find(alerts, kDeniedRuleId, 5)) {
    EXPECT_EQ(a->event_json, ehrEvent(5, EventKind::kDenied));
    EXPECT_EQ(a->controls, (std::vector<std::string>{"hipaa.164.312.b"}));
    EXPECT_EQ(a->source_offset, first_.offset_of[5]);
  }

  const auto summary = parseJsonNumbers(lastLine(r.err));
  ASSERT_TRUE(summary) << "last stderr line is not a JSON object:\n" << r.err;
  auto value = [&](const char* k) { return summary->count(k) ? summary->at(k) : -1.0; };
  EXPECT_EQ(value("events"), 9) << r.err;  // decoded records; the malformed one is not an event
  EXPECT_EQ(value("decode_errors"), 1) << r.err;
  EXPECT_EQ(value("alerts"), 4) << r.err;
  EXPECT_EQ(value("bytes"), static_cast<double>(first_.content.size() + second_.content.size()))
      << r.err;
  EXPECT_GE(value("seconds"), 0) << r.err;
}

TEST_F(ScanCommand, ReadsStandardInput) {
  const RunResult r = scan({"--rules", dir_ / "rules", "-"}, first_.path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = parseAlerts(r.out);
  ASSERT_EQ(alerts.size(), 3u) << r.out;
  for (const auto& a : alerts) {
    EXPECT_TRUE(a.valid) << a.error << ": " << a.line;
    EXPECT_EQ(a.source_file, "-");
    ASSERT_TRUE(a.sequence()) << a.line;
    EXPECT_EQ(a.source_offset, first_.offset_of[*a.sequence()]) << a.line;
  }
  EXPECT_EQ(sequencesOf(alerts), (std::multiset<int64_t>{2, 4, 5}));

  const auto summary = parseJsonNumbers(lastLine(r.err));
  ASSERT_TRUE(summary) << r.err;
  EXPECT_EQ(summary->at("events"), 6);
  EXPECT_EQ(summary->at("decode_errors"), 1);
  EXPECT_EQ(summary->at("alerts"), 3);
  EXPECT_EQ(summary->at("bytes"), static_cast<double>(first_.content.size()));
}

TEST_F(ScanCommand, WithoutRulesIsAUsageError) {
  const RunResult r = scan({first_.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("rules"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ScanCommand, UnknownFormatIsAUsageError) {
  const RunResult r = scan({"--rules", dir_ / "rules", "--format", "klingon", first_.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown format 'klingon'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("json"), std::string::npos) << "should list the known formats: " << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ScanCommand, ExtraFieldsAreForAccessLogs) {
  const RunResult r = scan({"--rules", dir_ / "rules", "--format", "json", "--extra-fields",
                            "forwarded_for", first_.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--extra-fields is for --format access-log"), std::string::npos) << r.err;
}

// nginx logging through syslog with a site's extra field, read with
// `syslog+access-log`: a rule on the extra field fires on its line only.
TEST_F(ScanCommand, SyslogAccessLogBodyWithExtraFields) {
  std::filesystem::create_directories(dir_ / "proxy-rules");
  writeFile(dir_ / "proxy-rules/proxy.yml",
            "title: request forwarded from a listed proxy\n"
            "id: 0d6a8b64-6a39-4c38-9a5e-3f1c2b7d9e01\n"
            "level: medium\n"
            "logsource: {category: webserver}\n"
            "detection:\n"
            "  selection:\n"
            "    forwarded_for: 203.0.113.9\n"
            "    http.request.method: GET\n"
            "    host.name: web01\n"
            "  condition: selection\n");
  const std::string log = dir_ / "nginx.log";
  writeFile(log,
            "<190>Nov 23 10:00:00 web01 nginx: 10.0.0.5 - - [23/Nov/2026:10:00:00 +0000] \"GET / "
            "HTTP/1.1\" 200 5 \"-\" \"curl/8\" \"203.0.113.9\" 0.004\n"
            "<190>Nov 23 10:00:01 web01 nginx: 10.0.0.6 - - [23/Nov/2026:10:00:01 +0000] \"GET / "
            "HTTP/1.1\" 200 5 \"-\" \"curl/8\" \"198.51.100.7\" 0.002\n"
            "<190>Nov 23 10:00:02 web01 nginx: not an access log line\n");
  const RunResult r = scan({"--rules", dir_ / "proxy-rules", "--format", "syslog+access-log",
                            "--extra-fields", "forwarded_for,request_time", log});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = parseAlerts(r.out);
  ASSERT_EQ(alerts.size(), 1u) << r.out << r.err;
  EXPECT_NE(alerts[0].line.find("10.0.0.5"), std::string::npos) << r.out;
  const auto summary = parseJsonNumbers(lastLine(r.err));
  ASSERT_TRUE(summary) << r.err;
  EXPECT_EQ(summary->at("events"), 3) << "a body the format rejects keeps its envelope";
  EXPECT_EQ(summary->at("decode_errors"), 0);
}

TEST_F(ScanCommand, MissingInputFileIsAUsageError) {
  const std::string missing = dir_ / "no-such.ndjson";
  const RunResult r = scan({"--rules", dir_ / "rules", first_.path, missing});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "no alerts before the arguments are validated";
}

TEST_F(ScanCommand, BrokenRuleIsAUsageErrorWithItsLocation) {
  const std::string broken = rules_ + "/broken.yml";
  writeFile(broken,
            "title: broken modifier\n"                    // 1
            "id: 6c1d8d55-6b5d-4f0e-8a2b-000000000099\n"  // 2
            "logsource: {product: ehr}\n"                 // 3
            "detection:\n"                                // 4
            "  selection:\n"                              // 5
            "    user.id|contians: x\n"                   // 6
            "  condition: selection\n");                  // 7
  const RunResult r = scan({"--rules", dir_ / "rules", first_.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(broken + ":6:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("contians"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// The default configuration (both packs, the sample lookups and site lists)
// over tests/data/ehr_sample.ndjson: each record's
// event.sequence is its line number, and tests/data/README.md says which
// rule must flag which one.
TEST(ShippedRules, FlagTheDocumentedSequences) {
  TempDir dir;
  const std::string sample = std::string(sourceDir()) + "/tests/data/ehr_sample.ndjson";
  const std::string content = readFile(sample);
  ASSERT_FALSE(content.empty()) << sample;
  std::map<uint64_t, int64_t> line_at;  // byte offset -> 1-based line
  int64_t line = 1;
  line_at[0] = 1;
  for (size_t i = 0; i + 1 < content.size(); ++i) {
    if (content[i] == '\n') line_at[i + 1] = ++line;
  }
  const RunResult r =
      runToCompletion({trailwatchBinary(), "scan", "-c",
                       std::string(sourceDir()) + "/deploy/trailwatch.yaml", sample},
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::multiset<std::pair<std::string, int64_t>> got;
  for (const auto& a : parseAlerts(r.out)) {
    EXPECT_TRUE(a.valid) << a.error << ": " << a.line;
    auto it = line_at.find(a.source_offset);
    EXPECT_NE(it, line_at.end()) << "offset " << a.source_offset << " is not a line start";
    got.emplace(a.rule_id, it == line_at.end() ? -1 : it->second);
  }
  const std::string btg = "6f1c2a4e-3b5d-4c8e-9a71-0d2e4f6b8c01";
  const std::string bulk = "2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02";
  const std::string disclosure = "8c4b1e7a-2d6f-4a3c-b5e9-3f7a1c9e5d03";
  const std::string outside = "4e7a2c9b-6d1f-4b8e-a3c5-5d9b3e1f7a04";
  const std::string audit = "9b3d5f7a-1c4e-4a6b-8d2f-9c5e7a3b1d06";
  const std::string role = "3f7b1d5e-9a2c-4e8b-b6d4-2e8a4c6f9b07";
  const std::multiset<std::pair<std::string, int64_t>> want = {
      {btg, 2}, {bulk, 3}, {disclosure, 4}, {outside, 6}, {audit, 7}, {role, 8}, {outside, 9}};
  EXPECT_EQ(got, want) << r.out;
}

}  // namespace
}  // namespace trailwatch::it
