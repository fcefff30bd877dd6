// Test data and a daemon under test, shared by the integration tests.
//
// Rules (written by writeTestRules into a pack folder `itpack`):
//   kBtgRuleId     purpose_of_use: BTG       level high,   fields [user.id, patient.id,
//   event.sequence] kExportRuleId  event.action: export      level medium, fields [user.id,
//   event.sequence] kDeniedRuleId  event.outcome: failure    level low,    no fields (the whole
//   record)
// Events (ehrEvent) are EHR audit records numbered by event.sequence, so an
// alert names exactly which record raised it.
//
// Daemon lays out one test's world in a TempDir:
//   trailwatch.yaml, rules/itpack/*.yml, logs/, state/, alerts.jsonl
// and starts `trailwatch run -c trailwatch.yaml` with metrics on a free
// loopback port.
//
// Thread-safety: none; one test thread.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace trailwatch::it {

inline constexpr const char* kBtgRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000001";
inline constexpr const char* kExportRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000002";
inline constexpr const char* kDeniedRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000003";
inline constexpr const char* kPrintRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d00000004";
inline constexpr const char* kBtgTitle = "IT break-the-glass access";

std::string btgRule();
std::string exportRule();
std::string deniedRule();
std::string printRule();  // event.action: print (used as a replacement rule)

// Writes btg.yml, export.yml, denied.yml into `pack_dir` (created).
void writeTestRules(const std::string& pack_dir);

enum class EventKind {
  kBenign,  // a normal treatment read: matches no rule
  kBtg,     // purpose_of_use BTG
  kExport,  // event.action export
  kDenied,  // event.outcome failure
  kPrint,   // event.action print
};
// One EHR audit record as a JSON line (no newline), numbered `sequence`.
// `padding` adds a "note" field of that many bytes.
std::string ehrEvent(int64_t sequence, EventKind kind, size_t padding = 0);

// Sequence numbers of the alerts of rule `rule_id` (all rules when empty),
// as a multiset.
std::multiset<int64_t> sequencesOf(const std::vector<Alert>& alerts,
                                   const std::string& rule_id = "");

struct DaemonSettings {
  std::string start_at = "beginning";
  std::string checkpoint_interval = "200ms";
  std::optional<size_t> max_line_bytes;
  std::string log_level = "info";
};

class Daemon {
 public:
  explicit Daemon(const TempDir& dir, DaemonSettings settings = {});
  ~Daemon();

  // Writes the configuration (again, with a new free port) and starts the
  // daemon; waits until its /metrics answers (bounded), which means the
  // configuration and rules loaded (the sources may still be opening).
  // Returns false (with the daemon's stderr in `why`) when it did not come up.
  bool start(std::string& why);
  // SIGTERM, then wait; the exit code or nullopt on timeout.
  std::optional<int> stop(std::chrono::milliseconds timeout = 10s);
  Process& process() { return *process_; }
  bool running() { return process_ && process_->running(); }

  std::string scrape();  // the /metrics body, "" when unreachable
  std::optional<double> metric(const std::string& name,
                               const std::map<std::string, std::string>& labels = {});
  std::vector<Alert> alerts() const { return parseAlertsFile(alerts_path); }

  // The daemon's stderr so far, every run appended (for failure messages).
  std::string logs() const;

  std::string config_path, rules_dir, pack_dir, logs_dir, state_dir, alerts_path;
  int port = 0;
  std::string extra_config;   // top-level YAML appended to the configuration (lookups, ...)
  std::string extra_outputs;  // YAML list items appended under `outputs:` (after alerts.jsonl)

 private:
  void writeConfig();

  const TempDir& dir_;
  DaemonSettings settings_;
  std::unique_ptr<Process> process_;
  int runs_ = 0;
};

}  // namespace trailwatch::it
