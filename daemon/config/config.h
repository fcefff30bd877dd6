// The configuration model (`trailwatch.yaml`) and its loader.
//
// The loader is strict: an unknown key, a wrong type or a missing required
// value is a Diagnostic naming the file, line and column, and nothing is
// half-loaded. Relative paths resolve against the configuration file's
// folder, so a configuration and the files it names can move together.
//
// Thread-safety: a loaded Config is an immutable value.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trailwatch/diagnostic.h"
#include "trailwatch/logsource.h"

namespace trailwatch::config {

struct SourceConfig {
  std::string name;                    // unique among sources; a metric label
  std::string type = "file";           // "file" (more types in later versions)
  std::vector<std::string> paths;      // glob patterns, absolute after loading
  std::string format = "json";         // decoder name; validated by the caller against the decoders
  int format_line = 0;                 // where `format` was written (1-based; 0 if defaulted),
  int format_column = 0;               // so the caller can report an unknown format precisely
  bool start_at_end = true;            // `start_at: end|beginning`, for files first seen
  std::optional<LogSource> logsource;  // declared kind of log; absent = every rule
  std::size_t max_line_bytes = 1 << 20;  // `max_line_bytes`; longer records are skipped
  // `timestamp_field`: the field holding the event's time, for correlation
  // windows (RFC 3339 text or Unix seconds); events without it use the time
  // they were read.
  std::string timestamp_field = "@timestamp";
  // `extra_fields`: access-log only (validated by the caller against the
  // format): names of the fields after the user agent.
  std::vector<std::string> extra_fields;
  int extra_fields_line = 0, extra_fields_column = 0;
};

// `correlation:`: the state behind correlation rules and suppression.
struct CorrelationConfig {
  std::size_t workers = 0;  // shards, one thread each; 0 = one per hardware thread (at most 8)
  std::size_t max_keys = 1'000'000;                  // groups held, all shards together
  std::chrono::milliseconds late_allowance{60'000};  // how late an event may arrive and count
  std::size_t sample_size = 3;  // contributing events kept per group for alerts
  std::size_t max_events_per_group = 100'000;
};

// `redact:` of an output: what it may not see of the events behind an alert
// (alert/redaction.h). Field names may hold `*` wildcards.
struct RedactConfig {
  std::vector<std::string> drop;          // removed from the alert
  std::vector<std::string> pseudonymize;  // replaced by a keyed pseudonym
  std::string key_file;  // HMAC key, absolute after loading; required with pseudonymize
  // `records: redact|drop`: alerts that carry a whole record (the rule
  // lists no fields) keep it, redacted by path, or get an empty `event`.
  bool redact_records = false;
};

struct OutputConfig {
  std::string type;  // "file" or "stdout"
  std::string path;  // for "file": absolute after loading
  // "file": each line carries a hash chain link (alert/hash_chain.h);
  // `chain_key_file` (absolute after loading) holds an HMAC key.
  bool hash_chain = true;
  std::string chain_key_file;
  std::optional<RedactConfig> redact;  // any output type; absent: the whole alert
};

struct MetricsConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9808";  // `listen`; host:port
};

// A CSV lookup table that enriches events (`lookups:`).
struct LookupConfig {
  std::string name;    // unique among lookups; a metric label
  std::string path;    // absolute after loading
  std::string key;     // the CSV column joined on
  std::string match;   // the event field whose value is looked up
  std::string prefix;  // added fields are prefix + column; default: `match` up to its last dot
  bool case_insensitive = false;
};

struct Config {
  std::string file;                // the configuration file, absolute
  std::string state_dir;           // absolute; checkpoints live under it
  std::vector<std::string> rules;  // rule files or folders, absolute
  // `unusable_rules: skip`: load the rules that can be used and report the
  // rest per rule (public packs); `fail` (default): any problem rejects the set.
  bool skip_unusable_rules = false;
  std::vector<SourceConfig> sources;
  std::vector<OutputConfig> outputs;
  MetricsConfig metrics;
  std::vector<LookupConfig> lookups;
  std::map<std::string, std::string> placeholders;      // name -> list file, absolute
  std::chrono::milliseconds checkpoint_interval{1000};  // `checkpoint_interval: 1s`
  CorrelationConfig correlation;
  std::string log_level = "info";  // trace, debug, info, warn, error
};

// Loads and validates `path`. On any problem returns nullopt and appends one
// Diagnostic per problem found (it keeps going to report them all).
std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags);

// Parses a duration such as `250ms`, `1s`, `5m`, `2h`, `1d`; nullopt if malformed.
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text);

}  // namespace trailwatch::config
