// The subcommands behind `trailwatch run|check|scan`: each takes parsed
// options and returns the process exit code (0 ok, 1 runtime failure,
// 2 usage or configuration error). main.cc only parses arguments.
//
// Thread-safety: each is called once, from the main thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/config.h"

namespace trailwatch::server {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct RunOptions {
  std::string config_file;
};

struct CheckOptions {
  std::string config_file;         // empty: rules only
  std::vector<std::string> rules;  // extra rule paths (--rules)
  bool skip_unusable = false;      // --skip-unusable, or the configuration's unusable_rules: skip
  bool show_unindexed = false;     // --show-unindexed: list the rules every event visits
};

struct ScanOptions {
  std::string config_file;          // optional: rules and settings from it
  std::vector<std::string> rules;   // --rules, added to the configuration's
  std::string format = "auto";      // a registered format, or auto (picked from the first record)
  std::vector<std::string> inputs;  // files; "-" or none: stdin
  std::size_t max_line_bytes = 1 << 20;
  std::string timestamp_field = "@timestamp";
  std::size_t workers = 0;                // lanes and shards; 0: config's, else autoWorkers()
  std::vector<std::string> extra_fields;  // --extra-fields (access-log)
  bool skip_unusable = false;             // --skip-unusable, or unusable_rules: skip
};

int runDaemon(const RunOptions& options);
int runCheck(const CheckOptions& options);
int runScan(const ScanOptions& options);

// Loads and checks a configuration as every command does (its formats
// and their options included); prints `file:line:col: message` per problem
// on stderr and returns nullopt when there is any.
std::optional<config::Config> loadConfigOrReport(const std::string& file);

// Sends log output to stderr (stdout carries alerts) at `level`.
void setUpLogging(const std::string& level);

}  // namespace trailwatch::server
