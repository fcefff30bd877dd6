#include "tests/integration/fixtures.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>

namespace trailwatch::it {

std::string btgRule() {
  return std::string(
             "title: IT break-the-glass access\n"
             "id: ") +
         kBtgRuleId +
         "\n"
         "status: test\n"
         "level: high\n"
         "tags: [hipaa.164.312.b, soc2.cc7.2, attack.t1078]\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    purpose_of_use: BTG\n"
         "  condition: selection\n"
         "fields: [user.id, patient.id, event.sequence]\n";
}

std::string exportRule() {
  return std::string(
             "title: IT bulk export\n"
             "id: ") +
         kExportRuleId +
         "\n"
         "status: test\n"
         "level: medium\n"
         "tags: [soc2.cc7.2, attack.exfiltration]\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    event.action: export\n"
         "  condition: selection\n"
         "fields: [user.id, event.sequence]\n";
}

std::string deniedRule() {
  return std::string(
             "title: IT denied access\n"
             "id: ") +
         kDeniedRuleId +
         "\n"
         "status: test\n"
         "level: low\n"
         "tags: [hipaa.164.312.b]\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    event.outcome: failure\n"
         "  condition: selection\n";
}

std::string printRule() {
  return std::string(
             "title: IT printed record\n"
             "id: ") +
         kPrintRuleId +
         "\n"
         "status: test\n"
         "level: medium\n"
         "tags: [soc2.cc7.2]\n"
         "logsource: {product: ehr, service: audit}\n"
         "detection:\n"
         "  selection:\n"
         "    event.action: print\n"
         "  condition: selection\n"
         "fields: [user.id, event.sequence]\n";
}

void writeTestRules(const std::string& pack_dir) {
  std::filesystem::create_directories(pack_dir);
  writeFile(pack_dir + "/btg.yml", btgRule());
  writeFile(pack_dir + "/export.yml", exportRule());
  writeFile(pack_dir + "/denied.yml", deniedRule());
}

std::string ehrEvent(int64_t sequence, EventKind kind, size_t padding) {
  const char* action = "read";
  const char* outcome = "success";
  const char* purpose = "TREAT";
  switch (kind) {
    case EventKind::kBenign:
      break;
    case EventKind::kBtg:
      purpose = "BTG";
      break;
    case EventKind::kExport:
      action = "export";
      break;
    case EventKind::kDenied:
      outcome = "failure";
      break;
    case EventKind::kPrint:
      action = "print";
      break;
  }
  const int64_t s = sequence % 86400;
  char ts[40];
  std::snprintf(ts, sizeof ts, "2026-11-20T%02d:%02d:%02d.000Z", static_cast<int>(s / 3600),
                static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  std::string line = std::string("{\"@timestamp\":\"") + ts + "\",\"event\":{\"action\":\"" +
                     action + "\",\"outcome\":\"" + outcome +
                     "\",\"category\":\"phi-access\",\"sequence\":" + std::to_string(sequence) +
                     "},\"user\":{\"id\":\"u" + std::to_string(1000 + sequence % 50) +
                     "\",\"roles\":[\"nurse\"]},\"source\":{\"ip\":\"10.0.3.17\"},"
                     "\"patient\":{\"id\":\"p-" +
                     std::to_string(sequence) + "\"},\"purpose_of_use\":\"" + purpose +
                     "\",\"host\":{\"name\":\"ehr-app-1\"}";
  if (padding > 0) line += ",\"note\":\"" + std::string(padding, 'x') + "\"";
  line += "}";
  return line;
}

std::multiset<int64_t> sequencesOf(const std::vector<Alert>& alerts, const std::string& rule_id) {
  std::multiset<int64_t> out;
  for (const auto& a : alerts) {
    if (!rule_id.empty() && a.rule_id != rule_id) continue;
    if (auto s = a.sequence()) out.insert(*s);
  }
  return out;
}

// ---------------------------------------------------------------- Daemon

Daemon::Daemon(const TempDir& dir, DaemonSettings settings)
    : config_path(dir / "trailwatch.yaml"),
      rules_dir(dir / "rules"),
      pack_dir(dir / "rules/itpack"),
      logs_dir(dir / "logs"),
      state_dir(dir / "state"),
      alerts_path(dir / "alerts.jsonl"),
      dir_(dir),
      settings_(std::move(settings)) {
  std::filesystem::create_directories(logs_dir);
  writeTestRules(pack_dir);
}

Daemon::~Daemon() {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(10s)) process_->kill9();
  }
}

void Daemon::writeConfig() {
  port = freePort();
  std::string c;
  c += "state_dir: ./state\n";
  c += "rules: [./rules]\n";
  c += "checkpoint_interval: " + settings_.checkpoint_interval + "\n";
  c += "log_level: " + settings_.log_level + "\n";
  c += "sources:\n";
  c += "  - name: ehr\n";
  c += "    type: file\n";
  c += "    paths: [\"./logs/*.ndjson\"]\n";
  c += "    format: json\n";
  c += "    start_at: " + settings_.start_at + "\n";
  if (settings_.max_line_bytes) {
    c += "    max_line_bytes: " + std::to_string(*settings_.max_line_bytes) + "\n";
  }
  c += "outputs:\n";
  c += "  - type: file\n";
  c += "    path: ./alerts.jsonl\n";
  c += extra_outputs;
  c += "metrics:\n";
  c += "  listen: 127.0.0.1:" + std::to_string(port) + "\n";
  c += extra_config;
  writeFile(config_path, c);
}

bool Daemon::start(std::string& why) {
  if (process_ && process_->running()) {
    why = "already running";
    return false;
  }
  writeConfig();
  ++runs_;
  ProcessOptions o;
  o.argv = {trailwatchBinary(), "run", "-c", config_path};
  o.stdout_path = dir_ / ("daemon" + std::to_string(runs_) + ".out");
  o.stderr_path = dir_ / ("daemon" + std::to_string(runs_) + ".err");
  process_ = std::make_unique<Process>(o);
  const bool up = waitFor(
      [&] {
        if (!process_->running()) return true;
        auto r = httpGet("127.0.0.1", port, "/metrics");
        return r && r->status == 200;
      },
      20s);
  if (!up || !process_->running()) {
    why = "trailwatch run did not come up (" +
          std::string(process_->running() ? "no /metrics answer"
                                          : "exited " + std::to_string(*process_->wait(0ms))) +
          "); its stderr:\n" + process_->stderrText();
    return false;
  }
  return true;
}

std::optional<int> Daemon::stop(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->signal(SIGTERM);
  return process_->wait(timeout);
}

std::string Daemon::scrape() {
  auto r = httpGet("127.0.0.1", port, "/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

std::optional<double> Daemon::metric(const std::string& name,
                                     const std::map<std::string, std::string>& labels) {
  return metricValue(scrape(), name, labels);
}

std::string Daemon::logs() const {
  std::string out;
  for (int i = 1; i <= runs_; ++i) {
    out += "---- daemon run " + std::to_string(i) + " stderr ----\n";
    out += readFile(dir_ / ("daemon" + std::to_string(i) + ".err"));
  }
  return out;
}

}  // namespace trailwatch::it
