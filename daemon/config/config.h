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
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trailwatch/diagnostic.h"
#include "trailwatch/logsource.h"

namespace trailwatch::config {

// `type: syslog`: a network listener (source/syslog_listener.h).
struct SyslogSourceConfig {
  std::string protocol;          // `protocol`: udp, tcp or tls (required)
  std::string listen;            // `listen`: host:port or [v6]:port (required)
  std::string framing = "auto";  // `framing` (tcp, tls): auto, octet-counting or newline
  // `tls:` (tls only): file paths absolute after loading; cert and key required.
  std::string cert_file, key_file, ca_file;
  std::vector<std::string> allowed_peers;                           // needs ca_file
  std::size_t max_connections = 512;                                // tcp, tls
  std::size_t max_connections_per_peer = 64;                        // tcp, tls
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  // tcp, tls
};

// `type: nats`: a JetStream durable pull consumer (source/nats_source.h).
struct NatsSourceConfig {
  std::string url;              // `url` (required): nats://host:port[,...]
  std::string creds_file;       // `creds_file`: absolute after loading; empty: none
  std::string stream;           // `stream` (required): must exist on the server
  std::string subject;          // `subject`: the consumer's filter; empty: the whole stream
  std::string consumer;         // `consumer` (required): durable name shared by instances
  bool create_consumer = true;  // `create_consumer`: create the consumer when missing
  std::size_t batch = 256;      // `batch`: messages per fetch
  std::chrono::milliseconds ack_wait{30'000};  // `ack_wait`: redelivery after this
  std::size_t max_ack_pending = 20'000;        // `max_ack_pending`: for a created consumer
  // Partitioned mode (README "Partitions across instances"): `partitions`
  // subjects <subject>.<k>, leased to one instance each.
  std::size_t partitions = 0;             // `partitions`: 0 = one shared consumer
  std::chrono::milliseconds lease{6000};  // `lease`: a lease ages out after this
  std::string lease_bucket;               // `lease_bucket`: default <consumer>-leases
  std::string instance;                   // `instance`: default <hostname>-<pid>
};

struct SourceConfig {
  std::string name;                // unique among sources; a metric label
  std::string type = "file";       // "file", "syslog", "journald" or "nats"
  std::vector<std::string> paths;  // file: glob patterns, absolute after loading
  SyslogSourceConfig syslog;       // syslog: the listener
  std::string format = "json";     // decoder name (default `syslog` for syslog sources);
                                   // validated by the caller against the decoders
  int format_line = 0;             // where `format` was written (1-based; 0 if defaulted),
  int format_column = 0;           // so the caller can report an unknown format precisely
  bool start_at_end = true;        // `start_at: end|beginning`, for files first seen (and journald)
  std::optional<LogSource> logsource;    // declared kind of log; absent = every rule
  std::size_t max_line_bytes = 1 << 20;  // `max_line_bytes`; longer records are skipped
                                         // (default 64KiB for syslog sources)
  // file: `batch_wait`, how long a small batch of a tail waits for more
  // (FileSourceOptions::batch_wait); 0 hands each on at once.
  std::chrono::milliseconds batch_wait{5};
  // `timestamp_field`: the field holding the event's time, for correlation
  // windows (RFC 3339 text or Unix seconds); events without it use the time
  // they were read.
  std::string timestamp_field = "@timestamp";
  // `extra_fields`: access-log only (validated by the caller against the
  // format): names of the fields after the user agent.
  std::vector<std::string> extra_fields;
  int extra_fields_line = 0, extra_fields_column = 0;
  // journald: `directory` (absolute after loading) of journal files to read
  // instead of the local journal; empty: the local journal.
  std::string journal_directory;
  // journald: "FIELD=value" matches from `units` (_SYSTEMD_UNIT=, a name
  // without a type suffix gets ".service"), `identifiers` (SYSLOG_IDENTIFIER=)
  // and `matches`, in that order; values of one field OR-ed, fields AND-ed.
  std::vector<std::string> journal_matches;
  std::string journal_record = "json";  // journald: `record: json|message`
  NatsSourceConfig nats;                // nats: the consumer (start_at defaults to beginning)
};

// `correlation:`: the state behind correlation rules and suppression.
struct CorrelationConfig {
  std::size_t workers = 0;           // lanes and shards; 0 = one per 2 hardware threads (1 to 8)
  std::size_t max_keys = 1'000'000;  // groups held, all shards together
  std::chrono::milliseconds late_allowance{60'000};  // how late an event may arrive and count
  std::size_t sample_size = 3;  // contributing events kept per group for alerts
  std::size_t max_events_per_group = 100'000;
};

// `spool:` of a network output (alert/spool.h).
struct SpoolConfig {
  std::uint64_t max_bytes = std::uint64_t{256} << 20;  // `max_bytes`
  std::string on_full = "block";                       // block, drop_oldest, drop_newest
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

// `type: syslog` output: RFC 5424 to a SIEM (alert/syslog_sink.h).
struct SyslogOutputConfig {
  std::string protocol;                    // `protocol`: udp, tcp or tls (required)
  std::string host, port;                  // from `address: host:port` (required)
  std::string framing = "octet-counting";  // tcp, tls: octet-counting or newline
  // `tls:` (tls only; optional): paths absolute after loading. ca_file
  // empty: the system CA store; cert_file and key_file go together.
  std::string ca_file, cert_file, key_file, server_name;
  std::string facility = "authpriv";    // `facility`: kern ... local7
  std::string app_name = "trailwatch";  // `app_name`
  std::string hostname;                 // `hostname`; empty: the machine's name
  std::size_t max_message_bytes = 0;    // 0: the protocol's default (udp 65507, else 1MiB)
};

struct OutputConfig {
  std::string type;  // "file", "stdout", "webhook", "alertmanager", "syslog" or "nats"
  std::string path;  // for "file": absolute after loading
  // "file": each line carries a hash chain link (alert/hash_chain.h);
  // `chain_key_file` (absolute after loading) holds an HMAC key.
  bool hash_chain = true;
  std::string chain_key_file;

  // Network outputs ("webhook", "alertmanager", "syslog"), delivered from a spool
  // under <state_dir>/spool/<name>/.
  std::string name;  // unique among network outputs; a metric label; default: the type
  std::string url;   // validated http(s) URL; for alertmanager its base URL
  std::vector<std::pair<std::string, std::string>> headers;  // `headers:` name -> value
  std::string headers_file;  // `Name: value` lines, absolute after loading
  std::string tls_ca_file;   // absolute after loading; empty: the system CA store
  std::chrono::milliseconds timeout{10'000};
  std::size_t batch_max = 0;  // 0: the type's default (webhook 1, alertmanager 64)
  std::chrono::milliseconds resolve_after{300'000};     // alertmanager: endsAt = send time + this
  std::chrono::milliseconds retry_initial_delay{1000};  // `retry: {initial_delay, max_delay}`
  std::chrono::milliseconds retry_max_delay{60'000};
  SpoolConfig spool;
  SyslogOutputConfig syslog;  // "syslog" only
  // "nats": JetStream publish of each alert to `subject` (url is nats://).
  std::string subject;
  std::string creds_file;  // absolute after loading; empty: none

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

// `forward:`: what `trailwatch forward` publishes (server/forwarder.h):
// the file sources' records to a JetStream subject, partitioned by a field.
struct ForwardConfig {
  std::string url;             // `url` (required)
  std::string creds_file;      // `creds_file`: absolute after loading
  std::string subject;         // `subject` (required): the subject, or the prefix with partitions
  std::string partition_key;   // `partition_key`: the field hashed to a partition; empty: none
  std::size_t partitions = 1;  // `partitions`: subjects <subject>.0 ... <subject>.<N-1>
  std::vector<std::string> sources;  // `sources`: file source names; empty: every file source
  std::chrono::milliseconds timeout{10'000};  // `timeout`: for publish acknowledgements
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
  std::string log_level = "info";        // trace, debug, info, warn, error
  std::optional<ForwardConfig> forward;  // `forward:`; absent: `trailwatch forward` refuses
};

// Loads and validates `path`. On any problem returns nullopt and appends one
// Diagnostic per problem found (it keeps going to report them all).
std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags);

// Parses a duration such as `250ms`, `1s`, `5m`, `2h`, `1d`; nullopt if
// malformed, or 0 (`0ms`) unless `zero`.
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text, bool zero = false);

}  // namespace trailwatch::config
