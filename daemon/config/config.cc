#include "daemon/config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <span>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "daemon/common/ascii.h"
#include "daemon/common/http_url.h"
#include "daemon/common/nats_names.h"

namespace trailwatch::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kOutputTypes[] = {"file",         "stdout", "webhook",
                                             "alertmanager", "syslog", "nats"};
// The keys only a syslog output takes, and the facilities it knows (RFC
// 5424 §6.2.1 and the usual names).
constexpr std::string_view kSyslogOutputKeys[] = {"address",  "protocol",         "framing",
                                                  "tls",      "facility",         "app_name",
                                                  "hostname", "max_message_bytes"};
constexpr std::string_view kSyslogOutputFramings[] = {"octet-counting", "newline"};
constexpr std::string_view kSyslogFacilities[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "local0", "local1",
    "local2", "local3", "local4",   "local5", "local6", "local7"};
// The largest UDP payload over IPv4 (RFC 5426 §3.2).
constexpr std::uint64_t kSyslogUdpMaxBytes = 65507;
constexpr std::string_view kSpoolOnFull[] = {"block", "drop_oldest", "drop_newest"};
constexpr std::string_view kSourceTypes[] = {"file", "syslog", "journald", "nats"};
constexpr std::string_view kSyslogProtocols[] = {"udp", "tcp", "tls"};
constexpr std::string_view kSyslogFramings[] = {"auto", "octet-counting", "newline"};
// Syslog messages are far shorter than the records of some files; a smaller
// default keeps max_connections partial frames small.
constexpr std::size_t kSyslogMaxLineBytes = 64 * 1024;
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kUnusableRules[] = {"fail", "skip"};
constexpr std::string_view kStartAt[] = {"end", "beginning"};
constexpr std::string_view kJournalRecords[] = {"json", "message"};
// The keys of each source type beyond those every source takes (name,
// type, format, max_line_bytes, logsource, timestamp_field, extra_fields);
// another type's key on a source is an error.
constexpr std::string_view kFileKeys[] = {"paths", "start_at", "batch_wait"};
constexpr std::string_view kSyslogKeys[] = {
    "protocol",    "listen", "framing", "tls", "max_connections", "max_connections_per_peer",
    "idle_timeout"};
constexpr std::string_view kJournaldKeys[] = {"directory", "units",  "identifiers",
                                              "matches",   "record", "start_at"};
constexpr std::string_view kNatsKeys[] = {
    "url",          "creds_file", "stream",          "subject",  "consumer",   "create_consumer",
    "batch",        "ack_wait",   "max_ack_pending", "start_at", "partitions", "lease",
    "lease_bucket", "instance"};
constexpr std::pair<std::string_view, std::span<const std::string_view>> kSourceTypeKeys[] = {
    {"file", kFileKeys}, {"syslog", kSyslogKeys}, {"journald", kJournaldKeys}, {"nats", kNatsKeys}};

std::span<const std::string_view> keysOfSourceType(std::string_view type) {
  for (const auto& [t, keys] : kSourceTypeKeys) {
    if (t == type) return keys;
  }
  return {};
}

constexpr std::string_view kRedactRecords[] = {"drop", "redact"};

// A shorter HMAC key can be guessed from one known identifier and its
// pseudonym; 16 bytes is the floor RFC 2104 section 3 suggests for SHA-256 (L/2).
constexpr std::size_t kMinRedactionKeyBytes = 16;

// Why the pseudonym key file at `path` cannot be used, or empty when it can:
// it must be a readable regular file, hold at least kMinRedactionKeyBytes
// (one trailing newline aside), and not be open to every user: whoever
// reads the key can re-identify every pseudonym.
std::string redactionKeyProblem(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return "key file " + path + " does not exist";
  if (!fs::is_regular_file(status)) return "key file " + path + " is not a regular file";
  const auto perms = status.permissions();
  if ((perms & (fs::perms::others_read | fs::perms::others_write)) != fs::perms::none) {
    return "key file " + path +
           " is readable or writable by every user; whoever reads it can re-identify "
           "pseudonyms (chmod o-rw it, e.g. mode 0640 for root:trailwatch)";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read key file " + path + ": " + std::strerror(errno);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.size() < kMinRedactionKeyBytes) {
    return "key file " + path + " holds " + std::to_string(key.size()) +
           " byte(s); a pseudonym key needs at least " + std::to_string(kMinRedactionKeyBytes) +
           " (e.g. openssl rand -hex 32 > " + path + ")";
  }
  return "";
}

// A line limit above this is almost certainly a typo, and the file source
// would try to buffer that much for one record.
constexpr std::uint64_t kMaxLineBytesLimit = std::uint64_t{1} << 30;

template <typename List>
std::string joinList(const List& items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

template <typename List>
bool contains(const List& items, std::string_view wanted) {
  return std::find(std::begin(items), std::end(items), wanted) != std::end(items);
}

// Parses `digits` (nothing else) into `out`; false on overflow or a non-digit.
bool parseUnsigned(std::string_view digits, std::uint64_t& out) {
  if (digits.empty()) return false;
  out = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    out = out * 10 + d;
  }
  return true;
}

// `4096`, `512KiB`, `1MiB`, `1GiB`; nullopt if malformed, zero or above `limit`.
std::optional<std::uint64_t> parseByteSize(std::string_view text,
                                           std::uint64_t limit = kMaxLineBytesLimit) {
  static constexpr std::pair<std::string_view, std::uint64_t> kSuffixes[] = {
      {"KiB", std::uint64_t{1} << 10},
      {"MiB", std::uint64_t{1} << 20},
      {"GiB", std::uint64_t{1} << 30},
      {"B", 1}};
  std::uint64_t unit = 1;
  for (const auto& [suffix, multiplier] : kSuffixes) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      unit = multiplier;
      break;
    }
  }
  std::uint64_t n = 0;
  if (!parseUnsigned(text, n) || n == 0) return std::nullopt;
  if (n > limit / unit) return std::nullopt;
  return n * unit;
}

bool isSourceNameChar(char c) { return ascii::isAlnum(c) || c == '_' || c == '.' || c == '-'; }

bool isHostNameChar(char c) { return ascii::isAlnum(c) || c == '.' || c == '-'; }

// Why `listen` is not a usable `host:port`, or empty when it is.
std::string listenProblem(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return "expected host:port";
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  std::uint64_t port_number = 0;
  if (!parseUnsigned(port, port_number) || port_number > 65535) {
    return "the port must be a number from 0 to 65535";
  }
  if (host.empty()) return "the host is missing (use 0.0.0.0 to listen on every interface)";
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return "an IPv6 address goes in brackets";
    const std::string address = host.substr(1, host.size() - 2);
    in6_addr parsed{};
    if (inet_pton(AF_INET6, address.c_str(), &parsed) != 1) {
      return "'" + address + "' is not an IPv6 address";
    }
    return "";
  }
  if (host.find(':') != std::string::npos) {
    return "an IPv6 address goes in brackets, as in [::1]:9808";
  }
  if (!std::all_of(host.begin(), host.end(), isHostNameChar)) {
    return "'" + host + "' is not a host name or IPv4 address";
  }
  return "";
}

// An HTTP header name is an RFC 9110 token.
bool isHeaderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return ascii::isAlnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Headers the HTTP client sets itself.
bool isReservedHeader(std::string name) {
  ascii::lowerInPlace(name);
  return name == "host" || name == "content-length" || name == "transfer-encoding" ||
         name == "connection";
}

constexpr std::uint64_t kMinSpoolBytes = std::uint64_t{64} << 10;
constexpr std::uint64_t kMaxSpoolBytes = std::uint64_t{1} << 40;
// Why `match` is not a journal match libsystemd accepts, or empty when it
// is: FIELD=value, the name of upper-case letters, digits and '_', not
// starting with "__" (the journal's own fields cannot be matched).
std::string journalMatchProblem(const std::string& match) {
  const std::size_t eq = match.find('=');
  if (eq == std::string::npos) return "expected FIELD=value";
  const std::string_view field(match.data(), eq);
  if (field.empty()) return "the field name is missing before '='";
  if (!std::all_of(field.begin(), field.end(),
                   [](char c) { return ascii::isUpper(c) || ascii::isDigit(c) || c == '_'; })) {
    return "field name '" + std::string(field) +
           "' may hold only upper-case letters, digits and '_'";
  }
  if (field.starts_with("__")) {
    return "field '" + std::string(field) + "' is the journal's own and cannot be matched";
  }
  if (field.size() > 64) return "field name longer than 64 characters";
  return "";
}

// Characters systemd allows in unit names (unit_name_is_valid); a backslash escapes.
bool isUnitNameChar(char c) {
  return ascii::isAlnum(c) || c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
}

// One key of a YAML mapping with the nodes its diagnostics point at.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// The known keys of one mapping, in the order written.
struct Mapping {
  const Entry* find(std::string_view key) const {
    for (const auto& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
  std::vector<Entry> entries;
};

// Walks the YAML tree once, collecting a Diagnostic for every problem rather
// than stopping at the first, so `trailwatch check` lists them all.
class Loader {
 public:
  Loader(std::string display_file, fs::path base_dir, Diagnostics& diags)
      : file_(std::move(display_file)), base_dir_(std::move(base_dir)), diags_(diags) {}

  bool failed() const { return failed_; }

  void load(const YAML::Node& root, Config& config) {
    if (!root.IsMap()) {
      if (root.IsNull()) {
        fail(0, 0,
             "the configuration is empty (expected a mapping with at least 'rules' and 'sources')");
      } else {
        fail(root, "expected a mapping at the top level of the configuration");
      }
      return;
    }
    const Mapping top = mapping(
        root, "configuration",
        {"state_dir", "rules", "unusable_rules", "checkpoint_interval", "log_level", "sources",
         "outputs", "metrics", "lookups", "placeholders", "correlation", "forward"});
    if (const Entry* e = top.find("state_dir")) {
      if (auto s = nonEmptyString(*e)) config.state_dir = resolve(*s);
    } else {
      config.state_dir = fs::path("/var/lib/trailwatch").string();
    }
    if (const Entry* e = top.find("rules")) {
      for (auto& r : stringList(*e)) config.rules.push_back(resolve(r));
    } else {
      missing(root, "rules", "configuration");
    }
    if (const Entry* e = top.find("unusable_rules")) {
      if (auto s = oneOf(*e, kUnusableRules)) config.skip_unusable_rules = *s == "skip";
    }
    if (const Entry* e = top.find("checkpoint_interval")) {
      if (auto s = text(*e)) {
        if (auto d = parseDuration(*s)) {
          config.checkpoint_interval = *d;
        } else {
          fail(e->value, "invalid duration '" + *s +
                             "' for 'checkpoint_interval' (expected a positive integer and a "
                             "unit: ms, s, m, h or d, as in 250ms or 1s)");
        }
      }
    }
    if (const Entry* e = top.find("log_level")) {
      if (auto s = oneOf(*e, kLogLevels)) config.log_level = *s;
    }
    if (const Entry* e = top.find("sources")) {
      loadSources(*e, config);
    } else {
      missing(root, "sources", "configuration");
    }
    if (const Entry* e = top.find("outputs")) {
      loadOutputs(*e, config);
    } else {
      OutputConfig stdout_output;
      stdout_output.type = "stdout";
      config.outputs.push_back(std::move(stdout_output));
    }
    if (const Entry* e = top.find("metrics")) loadMetrics(*e, config.metrics);
    if (const Entry* e = top.find("lookups")) loadLookups(*e, config);
    if (const Entry* e = top.find("placeholders")) loadPlaceholders(*e, config);
    if (const Entry* e = top.find("correlation")) loadCorrelation(*e, config.correlation);
    if (const Entry* e = top.find("forward")) loadForward(*e, config);
  }

 private:
  void loadSources(const Entry& e, Config& config) {
    if (!e.value.IsSequence()) {
      fail(e.value, "'sources' must be a list of sources");
      return;
    }
    if (e.value.size() == 0) {
      fail(e.value, "'sources' must not be empty: give at least one source");
      return;
    }
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    std::vector<std::pair<std::string, YAML::Mark>> listening;  // "udp 127.0.0.1:514"
    for (const auto& node : e.value) {
      if (!node.IsMap()) {
        fail(node, "each source must be a mapping (name, type, paths, ...)");
        continue;
      }
      SourceConfig source;
      const Mapping m = mapping(node, "source",
                                {"name",
                                 "type",
                                 "paths",
                                 "format",
                                 "start_at",
                                 "batch_wait",
                                 "max_line_bytes",
                                 "logsource",
                                 "timestamp_field",
                                 "extra_fields",
                                 "protocol",
                                 "listen",
                                 "framing",
                                 "tls",
                                 "max_connections",
                                 "max_connections_per_peer",
                                 "idle_timeout",
                                 "directory",
                                 "units",
                                 "identifiers",
                                 "matches",
                                 "record",
                                 "url",
                                 "creds_file",
                                 "stream",
                                 "subject",
                                 "consumer",
                                 "create_consumer",
                                 "batch",
                                 "ack_wait",
                                 "max_ack_pending",
                                 "partitions",
                                 "lease",
                                 "lease_bucket",
                                 "instance"});
      if (const Entry* f = m.find("name")) {
        if (auto name = nonEmptyString(*f)) {
          if (!std::all_of(name->begin(), name->end(), isSourceNameChar)) {
            fail(f->value, "invalid source name '" + *name +
                               "' (allowed characters: letters, digits, '_', '.' and '-')");
          } else {
            auto it = std::find_if(seen.begin(), seen.end(),
                                   [&](const auto& s) { return s.first == *name; });
            if (it != seen.end()) {
              fail(f->value, "duplicate source name '" + *name + "' (first defined at " +
                                 std::to_string(it->second.line + 1) + ":" +
                                 std::to_string(it->second.column + 1) + ")");
            } else {
              seen.emplace_back(*name, f->value.Mark());
            }
          }
          source.name = *name;
        }
      } else {
        missing(node, "name", "source");
      }
      if (const Entry* f = m.find("type")) {
        if (auto type = text(*f)) {
          if (!contains(kSourceTypes, *type)) {
            fail(f->value, "unsupported source type '" + *type +
                               "' (accepted types: " + joinList(kSourceTypes) + ")");
          }
          source.type = *type;
        }
      }
      // A key of another source type is an error on this one.
      if (const std::span<const std::string_view> own = keysOfSourceType(source.type);
          !own.empty()) {
        for (const Entry& f : m.entries) {
          if (contains(own, f.key)) continue;
          const bool typed = std::any_of(std::begin(kSourceTypeKeys), std::end(kSourceTypeKeys),
                                         [&](const auto& t) { return contains(t.second, f.key); });
          if (typed) {
            fail(f.key_node, "key '" + f.key + "' does not apply to a " + source.type + " source");
          }
        }
      }
      if (source.type == "syslog") {
        loadSyslog(node, m, source.syslog, listening);
        source.format = "syslog";
        source.max_line_bytes = kSyslogMaxLineBytes;
      } else if (source.type == "journald") {
        loadJournald(m, source);
      } else if (source.type == "nats") {
        loadNatsSource(node, m, source, config.checkpoint_interval);
      } else {
        if (const Entry* f = m.find("paths")) {
          for (auto& p : stringList(*f)) source.paths.push_back(resolve(p));
        } else {
          missing(node, "paths", "source");
        }
        durationKey(m, "batch_wait", source.batch_wait, std::chrono::milliseconds(0),
                    std::chrono::milliseconds(1000));
      }
      if (const Entry* f = m.find("format")) {
        if (auto format = nonEmptyString(*f)) {
          source.format = *format;
          source.format_line = f->value.Mark().line + 1;
          source.format_column = f->value.Mark().column + 1;
        }
      }
      if (const Entry* f = m.find("start_at"); f != nullptr && source.type != "syslog") {
        if (auto s = oneOf(*f, kStartAt)) source.start_at_end = (*s == "end");
      }
      if (const Entry* f = m.find("max_line_bytes")) {
        if (auto s = text(*f)) {
          if (auto n = parseByteSize(*s)) {
            source.max_line_bytes = static_cast<std::size_t>(*n);
          } else {
            fail(f->value, "invalid max_line_bytes '" + *s +
                               "' (expected a positive integer of bytes, optionally with a "
                               "KiB, MiB or GiB suffix, at most 1GiB)");
          }
        }
      }
      if (const Entry* f = m.find("logsource")) source.logsource = logSource(*f);
      if (const Entry* f = m.find("timestamp_field")) {
        if (auto s = nonEmptyString(*f)) source.timestamp_field = *s;
      }
      if (const Entry* f = m.find("extra_fields")) {
        source.extra_fields = stringList(*f);
        source.extra_fields_line = f->value.Mark().line + 1;
        source.extra_fields_column = f->value.Mark().column + 1;
      }
      config.sources.push_back(std::move(source));
    }
  }

  // The keys of a `type: syslog` source; `listening` holds the sockets of
  // the sources before it, so two sources cannot claim the same one.
  void loadSyslog(const YAML::Node& node, const Mapping& m, SyslogSourceConfig& sc,
                  std::vector<std::pair<std::string, YAML::Mark>>& listening) {
    if (const Entry* f = m.find("protocol")) {
      if (auto p = oneOf(*f, kSyslogProtocols)) sc.protocol = *p;
    } else {
      missing(node, "protocol", "syslog source (udp, tcp or tls)");
    }
    const bool udp = sc.protocol == "udp";
    const bool tls = sc.protocol == "tls";
    if (const Entry* f = m.find("listen")) {
      if (auto s = text(*f)) {
        sc.listen = *s;
        if (const std::string problem = listenProblem(*s); !problem.empty()) {
          fail(f->value, "invalid listen address '" + *s + "': " + problem);
        } else if (!sc.protocol.empty()) {
          const std::string socket = (udp ? "udp " : "tcp ") + *s;
          auto it = std::find_if(listening.begin(), listening.end(),
                                 [&](const auto& l) { return l.first == socket; });
          if (it != listening.end()) {
            fail(f->value, "another source already listens on " + socket + " (at " +
                               std::to_string(it->second.line + 1) + ":" +
                               std::to_string(it->second.column + 1) + ")");
          } else {
            listening.emplace_back(socket, f->value.Mark());
          }
        }
      }
    } else {
      missing(node, "listen", "syslog source (host:port, as in 0.0.0.0:6514)");
    }
    if (udp) {
      for (const char* key :
           {"framing", "max_connections", "max_connections_per_peer", "idle_timeout"}) {
        if (const Entry* f = m.find(key)) {
          fail(f->key_node, std::string("key '") + key +
                                "' does not apply to a udp source (each datagram is one "
                                "message; there are no connections)");
        }
      }
    } else {
      if (const Entry* f = m.find("framing")) {
        if (auto s = oneOf(*f, kSyslogFramings)) sc.framing = *s;
      }
      if (const Entry* f = m.find("max_connections")) {
        if (auto n = boundedCount(*f, 1, 1'000'000)) sc.max_connections = *n;
      }
      if (const Entry* f = m.find("max_connections_per_peer")) {
        if (auto n = boundedCount(*f, 1, 1'000'000)) sc.max_connections_per_peer = *n;
      }
      if (const Entry* f = m.find("idle_timeout")) {
        if (auto s = text(*f)) {
          if (auto d = parseDuration(*s)) {
            sc.idle_timeout = *d;
          } else {
            fail(f->value, "invalid duration '" + *s +
                               "' for 'idle_timeout' (expected a positive integer and a unit: "
                               "ms, s, m, h or d, as in 5m)");
          }
        }
      }
    }
    const Entry* t = m.find("tls");
    if (t != nullptr && !tls && !sc.protocol.empty()) {
      fail(t->key_node, "key 'tls' applies only to a source with protocol: tls");
    } else if (t == nullptr && tls) {
      missing(node, "tls", "syslog source with protocol: tls (cert_file, key_file, ca_file)");
    } else if (t != nullptr && tls) {
      loadTls(*t, sc);
    }
  }

  void loadTls(const Entry& e, SyslogSourceConfig& sc) {
    if (!e.value.IsMap()) {
      fail(e.value.IsNull() ? e.key_node : e.value,
           "'tls' must be a mapping (cert_file, key_file, ca_file, allowed_peers)");
      return;
    }
    const Mapping m =
        mapping(e.value, "tls", {"cert_file", "key_file", "ca_file", "allowed_peers"});
    fileKey(m, e.value, "tls", "cert_file", sc.cert_file, true);
    fileKey(m, e.value, "tls", "key_file", sc.key_file, true);
    fileKey(m, e.value, "tls", "ca_file", sc.ca_file, false);
    if (const Entry* f = m.find("allowed_peers")) {
      sc.allowed_peers = stringList(*f);
      if (m.find("ca_file") == nullptr) {
        fail(f->key_node,
             "'allowed_peers' needs 'ca_file': peer names are read from client certificates "
             "verified against it");
      }
    }
  }

  // The keys of a journald source (README "journald"): where to read and
  // which entries, turned into sd_journal matches.
  void loadJournald(const Mapping& m, SourceConfig& source) {
    if (const Entry* f = m.find("directory")) {
      if (auto d = nonEmptyString(*f)) source.journal_directory = resolve(*d);
    }
    if (const Entry* f = m.find("record")) {
      if (auto r = oneOf(*f, kJournalRecords)) source.journal_record = *r;
    }
    if (const Entry* f = m.find("units")) {
      for (const auto& [unit, at] : stringItems(*f)) {
        if (!std::all_of(unit.begin(), unit.end(), isUnitNameChar)) {
          fail(at, "invalid unit name '" + unit +
                       "' (letters, digits and ':-_.\\@' only; globs are not supported)");
          continue;
        }
        // As journalctl -u: a name without a type suffix is a service.
        const bool typed = unit.find('.') != std::string::npos;
        source.journal_matches.push_back("_SYSTEMD_UNIT=" + unit + (typed ? "" : ".service"));
      }
    }
    if (const Entry* f = m.find("identifiers")) {
      for (const auto& [id, at] : stringItems(*f)) {
        source.journal_matches.push_back("SYSLOG_IDENTIFIER=" + id);
      }
    }
    if (const Entry* f = m.find("matches")) {
      for (const auto& [match, at] : stringItems(*f)) {
        const std::string problem = journalMatchProblem(match);
        if (!problem.empty()) {
          fail(at, "invalid journal match '" + match + "': " + problem);
          continue;
        }
        source.journal_matches.push_back(match);
      }
    }
  }

  // `forward:` (README "Forwarding to NATS"); after the sources, whose
  // names it refers to.
  void loadForward(const Entry& e, Config& config) {
    if (!e.value.IsMap()) {
      fail(e.value.IsNull() ? e.key_node : e.value,
           "'forward' must be a mapping (url, subject, partition_key, partitions, sources)");
      return;
    }
    const Mapping m = mapping(
        e.value, "forward",
        {"url", "creds_file", "subject", "partition_key", "partitions", "sources", "timeout"});
    ForwardConfig fc;
    natsUrlKey(e.value, m, fc.url, "forward");
    if (const Entry* f = m.find("creds_file")) {
      if (auto p = nonEmptyString(*f)) fc.creds_file = resolve(*p);
    }
    if (const Entry* f = m.find("subject")) {
      if (auto s = nonEmptyString(*f)) {
        if (const std::string problem = natsSubjectProblem(*s, false); !problem.empty()) {
          fail(f->value, "invalid subject: " + problem);
        }
        fc.subject = *s;
      }
    } else {
      missing(e.value, "subject", "forward (the subject, or the prefix of the partitions)");
    }
    if (const Entry* f = m.find("partition_key")) {
      if (auto k = nonEmptyString(*f)) fc.partition_key = *k;
    }
    if (const Entry* f = m.find("partitions")) {
      if (auto n = boundedCount(*f, 1, 4096)) fc.partitions = *n;
      if (fc.partition_key.empty()) {
        fail(f->key_node, "'partitions' needs 'partition_key' (the field records are split by)");
      }
    }
    durationKey(m, "timeout", fc.timeout, std::chrono::milliseconds(100),
                std::chrono::milliseconds(600'000));
    if (const Entry* f = m.find("sources")) {
      for (const auto& [name, at] : stringItems(*f)) {
        auto it = std::find_if(config.sources.begin(), config.sources.end(),
                               [&](const SourceConfig& sc) { return sc.name == name; });
        if (it == config.sources.end()) {
          fail(at, "forward: no source named '" + name + "'");
        } else if (it->type != "file") {
          fail(at, "forward: source '" + name + "' is a " + it->type +
                       " source; only file sources are forwarded");
        } else {
          fc.sources.push_back(name);
        }
      }
    }
    config.forward = std::move(fc);
  }

  // The keys of a nats source (README "NATS JetStream"). `checkpoint_interval`
  // is loaded first: ack_wait must leave room for it.
  void loadNatsSource(const YAML::Node& node, const Mapping& m, SourceConfig& source,
                      std::chrono::milliseconds checkpoint_interval) {
    NatsSourceConfig& nc = source.nats;
    source.start_at_end = false;  // a stream is kept to be read: from its start
    natsUrlKey(node, m, nc.url, "nats source");
    if (const Entry* f = m.find("creds_file")) {
      if (auto p = nonEmptyString(*f)) nc.creds_file = resolve(*p);
    }
    natsNameKey(node, m, "stream", nc.stream, "nats source (the JetStream stream to read)");
    natsNameKey(node, m, "consumer", nc.consumer,
                "nats source (the durable consumer name every instance shares)");
    if (const Entry* f = m.find("subject")) {
      if (auto s = nonEmptyString(*f)) {
        if (const std::string problem = natsSubjectProblem(*s, true); !problem.empty()) {
          fail(f->value, "invalid subject: " + problem);
        }
        nc.subject = *s;
      }
    }
    if (const Entry* f = m.find("create_consumer")) {
      if (!f->value.IsScalar() || !YAML::convert<bool>::decode(f->value, nc.create_consumer)) {
        fail(f->value, "'create_consumer' must be true or false");
      }
    }
    if (const Entry* f = m.find("batch")) {
      if (auto n = boundedCount(*f, 1, 10'000)) nc.batch = *n;
    }
    if (const Entry* f = m.find("max_ack_pending")) {
      if (auto n = boundedCount(*f, 1, 10'000'000)) nc.max_ack_pending = *n;
    }
    durationKey(m, "ack_wait", nc.ack_wait, std::chrono::milliseconds(1000),
                std::chrono::milliseconds(12LL * 3600'000));
    if (const Entry* f = m.find("ack_wait");
        f != nullptr && nc.ack_wait < 2 * checkpoint_interval) {
      fail(f->value, "ack_wait must be at least twice checkpoint_interval (" +
                         std::to_string(checkpoint_interval.count()) +
                         "ms): messages are acknowledged at checkpoints, and would be "
                         "redelivered while waiting");
    }
    loadNatsPartitions(node, m, nc);
  }

  // partitions, lease, lease_bucket, instance of a nats source.
  void loadNatsPartitions(const YAML::Node& node, const Mapping& m, NatsSourceConfig& nc) {
    const Entry* pf = m.find("partitions");
    if (pf != nullptr) {
      if (auto n = boundedCount(*pf, 1, 1024)) nc.partitions = *n;
    }
    for (const char* key : {"lease", "lease_bucket", "instance"}) {
      if (const Entry* f = m.find(key); f != nullptr && pf == nullptr) {
        fail(f->value, std::string("'") + key + "' applies only with 'partitions'");
      }
    }
    if (pf == nullptr) return;
    if (nc.subject.empty()) {
      missing(node, "subject",
              "partitioned nats source (the base subject; partition k is <subject>.<k>)");
    } else if (natsSubjectProblem(nc.subject, false) != "") {
      fail(m.find("subject")->value,
           "with 'partitions' the subject is the base of <subject>.<k> and takes no wildcards");
    }
    durationKey(m, "lease", nc.lease, std::chrono::milliseconds(1000),
                std::chrono::milliseconds(300'000));
    nc.lease_bucket = nc.consumer + "-leases";
    if (const Entry* f = m.find("lease_bucket")) {
      if (auto name = nonEmptyString(*f)) {
        if (const std::string problem = natsNameProblem(*name); !problem.empty()) {
          fail(f->value, "invalid lease_bucket name '" + *name + "': " + problem);
        }
        nc.lease_bucket = *name;
      }
    }
    if (const Entry* f = m.find("instance")) {
      if (auto name = nonEmptyString(*f)) {
        if (const std::string problem = natsNameProblem(*name); !problem.empty()) {
          fail(f->value, "invalid instance '" + *name + "': " + problem);
        }
        nc.instance = *name;
      }
    }
  }

  // `url` of a NATS source, output or forward section (required).
  void natsUrlKey(const YAML::Node& node, const Mapping& m, std::string& out, const char* what) {
    const Entry* f = m.find("url");
    if (f == nullptr) {
      missing(node, "url", std::string(what) + " (nats://host:4222)");
      return;
    }
    if (auto url = nonEmptyString(*f)) {
      if (const std::string problem = natsUrlProblem(*url); !problem.empty()) {
        fail(f->value, "invalid url: " + problem);
      }
      out = *url;
    }
  }

  void natsNameKey(const YAML::Node& node, const Mapping& m, const char* key, std::string& out,
                   const std::string& what) {
    const Entry* f = m.find(key);
    if (f == nullptr) {
      missing(node, key, what);
      return;
    }
    if (auto name = nonEmptyString(*f)) {
      if (const std::string problem = natsNameProblem(*name); !problem.empty()) {
        fail(f->value, "invalid " + std::string(key) + " name '" + *name + "': " + problem);
      }
      out = *name;
    }
  }

  // An integer from `min` to `max`, or nullopt after a diagnostic.
  std::optional<std::size_t> boundedCount(const Entry& e, std::size_t min, std::size_t max) {
    auto s = text(e);
    if (!s) return std::nullopt;
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec != std::errc() || ptr != s->data() + s->size() || n < min || n > max) {
      fail(e.value, "invalid " + e.key + " '" + *s + "' (expected an integer from " +
                        std::to_string(min) + " to " + std::to_string(max) + ")");
      return std::nullopt;
    }
    return n;
  }

  std::optional<LogSource> logSource(const Entry& e) {
    if (!e.value.IsMap()) {
      fail(e.value, "'logsource' must be a mapping of product, service and category");
      return std::nullopt;
    }
    const Mapping m = mapping(e.value, "logsource", {"product", "service", "category"});
    LogSource ls;
    if (const Entry* f = m.find("product"))
      ls.product = ascii::lowered(nonEmptyString(*f).value_or(""));
    if (const Entry* f = m.find("service"))
      ls.service = ascii::lowered(nonEmptyString(*f).value_or(""));
    if (const Entry* f = m.find("category")) {
      ls.category = ascii::lowered(nonEmptyString(*f).value_or(""));
    }
    if (m.entries.empty()) {
      fail(e.value, "'logsource' must give at least one of product, service, category");
      return std::nullopt;
    }
    return ls;
  }

  void loadOutputs(const Entry& e, Config& config) {
    if (!e.value.IsSequence()) {
      fail(e.value, "'outputs' must be a list of outputs");
      return;
    }
    if (e.value.size() == 0) {
      fail(e.value, "'outputs' must not be empty (leave it out to print alerts on stdout)");
      return;
    }
    std::vector<std::pair<std::string, YAML::Mark>> seen_names;
    for (const auto& node : e.value) {
      if (!node.IsMap()) {
        fail(node, "each output must be a mapping (type, path)");
        continue;
      }
      OutputConfig output;
      const Mapping m = mapping(node, "output",
                                {"type",
                                 "path",
                                 "hash_chain",
                                 "chain_key_file",
                                 "name",
                                 "url",
                                 "headers",
                                 "headers_file",
                                 "tls_ca_file",
                                 "timeout",
                                 "batch_max",
                                 "resolve_after",
                                 "retry",
                                 "spool",
                                 "redact",
                                 "address",
                                 "protocol",
                                 "framing",
                                 "tls",
                                 "facility",
                                 "app_name",
                                 "hostname",
                                 "max_message_bytes",
                                 "subject",
                                 "creds_file"});
      const Entry* type = m.find("type");
      const Entry* path = m.find("path");
      if (type == nullptr) {
        missing(node, "type", "output");
        continue;
      }
      auto t = text(*type);
      if (!t) continue;
      if (!contains(kOutputTypes, *t)) {
        fail(type->value, "unsupported output type '" + *t +
                              "' (accepted types: " + joinList(kOutputTypes) + ")");
        continue;
      }
      output.type = *t;
      const bool network =
          *t == "webhook" || *t == "alertmanager" || *t == "syslog" || *t == "nats";
      auto notFor = [&](std::initializer_list<const char*> keys) {
        for (const char* key : keys) {
          if (const Entry* f = m.find(key)) {
            fail(f->key_node,
                 std::string("key '") + key + "' does not apply to a " + *t + " output");
          }
        }
      };
      if (*t == "file") {
        if (path == nullptr) {
          fail(node, "missing required key 'path' in output (a file output needs a path)");
        } else if (auto p = nonEmptyString(*path)) {
          output.path = resolve(*p);
        }
        if (const Entry* f = m.find("hash_chain")) {
          if (!f->value.IsScalar() || !YAML::convert<bool>::decode(f->value, output.hash_chain)) {
            fail(f->value, "'hash_chain' must be true or false");
          }
        }
        if (const Entry* f = m.find("chain_key_file")) {
          if (auto k = nonEmptyString(*f)) output.chain_key_file = resolve(*k);
        }
      } else {
        notFor({"path", "hash_chain", "chain_key_file"});
      }
      if (network) {
        loadNetworkOutput(node, m, output, seen_names);
      } else {
        notFor({"name", "url", "headers", "headers_file", "tls_ca_file", "timeout", "batch_max",
                "resolve_after", "retry", "spool"});
      }
      if (*t == "webhook") notFor({"resolve_after"});
      if (*t == "nats") {
        notFor({"headers", "headers_file", "tls_ca_file", "resolve_after"});
        loadNatsOutput(node, m, output);
      } else {
        notFor({"subject", "creds_file"});
      }
      if (*t == "syslog") {
        notFor({"url", "headers", "headers_file", "tls_ca_file", "resolve_after"});
        loadSyslogOutput(node, m, output.syslog);
      } else {
        for (std::string_view key : kSyslogOutputKeys) {
          if (const Entry* f = m.find(std::string(key))) {
            fail(f->key_node, "key '" + std::string(key) + "' does not apply to a " + *t +
                                  " output (only to type: syslog)");
          }
        }
      }
      if (const Entry* f = m.find("redact")) output.redact = loadRedact(*f);
      config.outputs.push_back(std::move(output));
    }
  }

  // The keys of a network output: the common ones, and url, headers,
  // headers_file and tls_ca_file for webhook and alertmanager.
  void loadNetworkOutput(const YAML::Node& node, const Mapping& m, OutputConfig& output,
                         std::vector<std::pair<std::string, YAML::Mark>>& seen_names) {
    output.name = output.type;
    YAML::Mark name_mark = node.Mark();
    if (const Entry* f = m.find("name")) {
      if (auto name = nonEmptyString(*f)) {
        if (!std::all_of(name->begin(), name->end(), isSourceNameChar)) {
          fail(f->value, "invalid output name '" + *name +
                             "' (allowed characters: letters, digits, '_', '.' and '-')");
        }
        output.name = *name;
        name_mark = f->value.Mark();
      }
    }
    if (auto it = std::find_if(seen_names.begin(), seen_names.end(),
                               [&](const auto& s) { return s.first == output.name; });
        it != seen_names.end()) {
      fail(name_mark.line + 1, name_mark.column + 1,
           "duplicate output name '" + output.name + "' (first used at " +
               std::to_string(it->second.line + 1) + ":" + std::to_string(it->second.column + 1) +
               "); give each " + output.type +
               " output its own 'name' (it names the spool folder and the metrics)");
    } else {
      seen_names.emplace_back(output.name, name_mark);
    }
    const bool http = output.type != "syslog" && output.type != "nats";
    if (!http) {
      // url, headers, headers_file and tls_ca_file are reported by the caller.
    } else if (const Entry* f = m.find("url")) {
      if (auto url = nonEmptyString(*f)) {
        auto parsed = parseHttpUrl(*url);
        if (!parsed.ok()) {
          fail(f->value, "invalid url '" + *url + "': " + parsed.error());
        } else if (output.type == "alertmanager" && parsed->target.find('?') != std::string::npos) {
          fail(f->value, "invalid url '" + *url +
                             "': an Alertmanager URL is its base URL, without a query "
                             "(/api/v2/alerts is added)");
        }
        output.url = *url;
      }
    } else {
      fail(node, "missing required key 'url' in output (a " + output.type + " output needs a url)");
    }
    if (const Entry* f = http ? m.find("headers") : nullptr) {
      if (!f->value.IsMap()) {
        fail(f->value.IsNull() ? f->key_node : f->value,
             "'headers' must be a mapping of header names to values");
      } else {
        for (auto it = f->value.begin(); it != f->value.end(); ++it) {
          const YAML::Node key = it->first;
          if (!key.IsScalar() || !isHeaderName(key.Scalar())) {
            fail(key, "invalid HTTP header name" +
                          (key.IsScalar() ? " '" + key.Scalar() + "'" : std::string()));
            continue;
          }
          if (isReservedHeader(key.Scalar())) {
            fail(key, "header '" + key.Scalar() + "' is set by trailwatch itself");
            continue;
          }
          if (!it->second.IsScalar()) {
            fail(it->second.IsNull() ? key : it->second,
                 "the value of header '" + key.Scalar() + "' must be a string");
            continue;
          }
          const std::string& value = it->second.Scalar();
          if (std::any_of(value.begin(), value.end(), [](char c) {
                return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
              })) {
            fail(it->second, "the value of header '" + key.Scalar() +
                                 "' must not hold control characters or line breaks");
            continue;
          }
          output.headers.emplace_back(key.Scalar(), value);
        }
      }
    }
    if (const Entry* f = http ? m.find("headers_file") : nullptr) {
      if (auto p = nonEmptyString(*f)) output.headers_file = resolve(*p);
    }
    if (const Entry* f = http ? m.find("tls_ca_file") : nullptr) {
      if (auto p = nonEmptyString(*f)) output.tls_ca_file = resolve(*p);
    }
    durationKey(m, "timeout", output.timeout, std::chrono::milliseconds(100),
                std::chrono::milliseconds(600'000));
    durationKey(m, "resolve_after", output.resolve_after, std::chrono::milliseconds(1000),
                std::chrono::milliseconds(30LL * 24 * 3600 * 1000));
    if (const Entry* f = m.find("batch_max")) {
      if (auto s = text(*f)) {
        std::uint64_t n = 0;
        if (!parseUnsigned(*s, n) || n < 1 || n > 1000) {
          fail(f->value, "invalid batch_max '" + *s + "' (expected an integer from 1 to 1000)");
        } else {
          output.batch_max = static_cast<std::size_t>(n);
        }
      }
    }
    if (output.batch_max == 0) {
      output.batch_max = output.type == "alertmanager" ? 64
                         : output.type == "syslog"     ? 16
                         : output.type == "nats"       ? 64
                                                       : 1;
    }
    if (const Entry* f = m.find("retry")) {
      if (!f->value.IsMap()) {
        fail(f->value.IsNull() ? f->key_node : f->value,
             "'retry' must be a mapping (initial_delay, max_delay)");
      } else {
        const Mapping r = mapping(f->value, "retry", {"initial_delay", "max_delay"});
        durationKey(r, "initial_delay", output.retry_initial_delay, std::chrono::milliseconds(1),
                    std::chrono::milliseconds(3600'000));
        durationKey(r, "max_delay", output.retry_max_delay, std::chrono::milliseconds(1),
                    std::chrono::milliseconds(24LL * 3600'000));
        if (output.retry_max_delay < output.retry_initial_delay) {
          fail(f->value, "retry: max_delay must not be shorter than initial_delay");
        }
      }
    }
    if (const Entry* f = m.find("spool")) {
      if (!f->value.IsMap()) {
        fail(f->value.IsNull() ? f->key_node : f->value,
             "'spool' must be a mapping (max_bytes, on_full)");
      } else {
        const Mapping sp = mapping(f->value, "spool", {"max_bytes", "on_full"});
        if (const Entry* g = sp.find("max_bytes")) {
          if (auto s = text(*g)) {
            auto n = parseByteSize(*s, kMaxSpoolBytes);
            if (!n || *n < kMinSpoolBytes) {
              fail(g->value, "invalid max_bytes '" + *s +
                                 "' (expected bytes from 64KiB to 1024GiB, with a KiB, MiB or "
                                 "GiB suffix, as in 256MiB)");
            } else {
              output.spool.max_bytes = *n;
            }
          }
        }
        if (const Entry* g = sp.find("on_full")) {
          if (auto s = oneOf(*g, kSpoolOnFull)) output.spool.on_full = *s;
        }
      }
    }
  }

  // The keys of a `type: nats` output beyond the network ones.
  void loadNatsOutput(const YAML::Node& node, const Mapping& m, OutputConfig& output) {
    natsUrlKey(node, m, output.url, "nats output");
    if (const Entry* f = m.find("subject")) {
      if (auto s = nonEmptyString(*f)) {
        if (const std::string problem = natsSubjectProblem(*s, false); !problem.empty()) {
          fail(f->value, "invalid subject: " + problem);
        }
        output.subject = *s;
      }
    } else {
      missing(node, "subject", "nats output (the subject alerts are published to)");
    }
    if (const Entry* f = m.find("creds_file")) {
      if (auto p = nonEmptyString(*f)) output.creds_file = resolve(*p);
    }
  }

  // The keys of a `type: syslog` output (the network keys are loaded by
  // loadNetworkOutput).
  void loadSyslogOutput(const YAML::Node& node, const Mapping& m, SyslogOutputConfig& sc) {
    if (const Entry* f = m.find("protocol")) {
      if (auto p = oneOf(*f, kSyslogProtocols)) sc.protocol = *p;
    } else {
      missing(node, "protocol", "syslog output (udp, tcp or tls)");
    }
    const bool udp = sc.protocol == "udp";
    const bool tls = sc.protocol == "tls";
    if (const Entry* f = m.find("address")) {
      if (auto s = text(*f)) {
        if (const std::string problem = listenProblem(*s); !problem.empty()) {
          fail(f->value, "invalid address '" + *s + "': " + problem);
        } else {
          const std::size_t colon = s->rfind(':');
          sc.host = s->substr(0, colon);
          sc.port = s->substr(colon + 1);
          if (sc.host.front() == '[') sc.host = sc.host.substr(1, sc.host.size() - 2);
          if (sc.port == "0")
            fail(f->value, "invalid address '" + *s + "': the port must not be 0");
        }
      }
    } else {
      missing(node, "address", "syslog output (host:port of the receiver, as in siem:6514)");
    }
    if (const Entry* f = m.find("framing")) {
      if (udp) {
        fail(f->key_node,
             "key 'framing' does not apply to a udp syslog output (each alert is one datagram)");
      } else if (auto s = oneOf(*f, kSyslogOutputFramings)) {
        sc.framing = *s;
      }
    }
    if (const Entry* f = m.find("facility")) {
      if (auto s = oneOf(*f, kSyslogFacilities)) sc.facility = *s;
    }
    auto headerField = [&](const char* key, std::size_t max, std::string& out) {
      const Entry* f = m.find(key);
      if (f == nullptr) return;
      auto s = nonEmptyString(*f);
      if (!s) return;
      if (s->size() > max ||
          !std::all_of(s->begin(), s->end(), [](char c) { return c >= 33 && c <= 126; })) {
        fail(f->value, "invalid " + std::string(key) + " '" + *s + "' (RFC 5424: 1 to " +
                           std::to_string(max) + " printable ASCII characters, no spaces)");
        return;
      }
      out = *s;
    };
    headerField("app_name", 48, sc.app_name);
    headerField("hostname", 255, sc.hostname);
    const std::uint64_t limit = udp ? kSyslogUdpMaxBytes : std::uint64_t{64} << 20;
    if (const Entry* f = m.find("max_message_bytes")) {
      if (auto s = text(*f)) {
        auto n = parseByteSize(*s, limit);
        if (!n || *n < 480) {
          fail(f->value, "invalid max_message_bytes '" + *s + "' (expected 480 to " +
                             std::to_string(limit) + " bytes" +
                             (udp ? ", the largest UDP datagram" : std::string()) + ")");
        } else {
          sc.max_message_bytes = static_cast<std::size_t>(*n);
        }
      }
    }
    if (sc.max_message_bytes == 0) sc.max_message_bytes = udp ? kSyslogUdpMaxBytes : 1u << 20;
    const Entry* t = m.find("tls");
    if (t == nullptr) return;
    if (!tls) {
      if (!sc.protocol.empty()) {
        fail(t->key_node, "key 'tls' applies only to a syslog output with protocol: tls");
      }
      return;
    }
    if (!t->value.IsMap()) {
      fail(t->value.IsNull() ? t->key_node : t->value,
           "'tls' must be a mapping (ca_file, cert_file, key_file, server_name)");
      return;
    }
    const Mapping tm =
        mapping(t->value, "tls", {"ca_file", "cert_file", "key_file", "server_name"});
    fileKey(tm, t->value, "tls", "ca_file", sc.ca_file, false);
    fileKey(tm, t->value, "tls", "cert_file", sc.cert_file, false);
    fileKey(tm, t->value, "tls", "key_file", sc.key_file, false);
    const Entry* cert = tm.find("cert_file");
    const Entry* key = tm.find("key_file");
    if ((cert == nullptr) != (key == nullptr)) {
      fail((cert != nullptr ? cert : key)->key_node,
           "'cert_file' and 'key_file' go together (a client certificate and its key)");
    }
    if (const Entry* f = tm.find("server_name")) {
      if (auto s = nonEmptyString(*f)) {
        if (!std::all_of(s->begin(), s->end(), isHostNameChar)) {
          fail(f->value, "invalid server_name '" + *s + "' (a host name or IPv4 address)");
        } else {
          sc.server_name = *s;
        }
      }
    }
  }

  // A file named by `key` of `m` (a mapping at `node`, called `what` in
  // messages): resolved against the config's folder into `out`; it must be
  // a readable regular file now (`check` catches a missing certificate).
  void fileKey(const Mapping& m, const YAML::Node& node, const char* what, const char* key,
               std::string& out, bool required) {
    const Entry* f = m.find(key);
    if (f == nullptr) {
      if (required) missing(node, key, what);
      return;
    }
    auto p = nonEmptyString(*f);
    if (!p) return;
    out = resolve(*p);
    std::error_code ec;
    if (!fs::is_regular_file(out, ec)) {
      fail(f->value, "'" + std::string(key) + "': " + out + " does not exist or is not a file");
    } else if (!std::ifstream(out, std::ios::binary)) {
      fail(f->value,
           "'" + std::string(key) + "': cannot read " + out + ": " + std::strerror(errno));
    }
  }

  // A duration key of `m` within [min, max], written into `out`.
  // `key` as a duration from `min` to `max`; 0 (written with a unit, as
  // in 0ms) only where `min` is 0.
  void durationKey(const Mapping& m, const char* key, std::chrono::milliseconds& out,
                   std::chrono::milliseconds min, std::chrono::milliseconds max) {
    const Entry* f = m.find(key);
    if (f == nullptr) return;
    auto s = text(*f);
    if (!s) return;
    auto d = parseDuration(*s, min.count() == 0);
    if (!d || *d < min || *d > max) {
      fail(f->value, "invalid duration '" + *s + "' for '" + key + "' (expected " +
                         (min.count() == 0 ? "an integer" : "a positive integer") +
                         " and a unit: ms, s, m, h or d, from " + std::to_string(min.count()) +
                         "ms to " + std::to_string(max.count()) + "ms)");
      return;
    }
    out = *d;
  }

  std::optional<RedactConfig> loadRedact(const Entry& e) {
    if (!e.value.IsMap()) {
      fail(e.value.IsNull() ? e.key_node : e.value,
           "'redact' must be a mapping (drop, pseudonymize, key_file, records)");
      return std::nullopt;
    }
    const Mapping m = mapping(e.value, "redact", {"drop", "pseudonymize", "key_file", "records"});
    RedactConfig r;
    const std::size_t problems_before = diags_.size();
    auto fieldList = [&](const char* key, std::vector<std::string>& out) -> const Entry* {
      const Entry* f = m.find(key);
      if (f == nullptr) return nullptr;
      out = stringList(*f);
      for (const auto& name : out) {
        if (name.find_first_of(" \t\r\n") != std::string::npos) {
          fail(f->value, "invalid field name '" + name + "' in '" + key +
                             "' (a field path such as patient.id, or a pattern such as "
                             "patient.*)");
        }
      }
      return f;
    };
    const Entry* drop = fieldList("drop", r.drop);
    const Entry* pseudonymize = fieldList("pseudonymize", r.pseudonymize);
    if (drop == nullptr && pseudonymize == nullptr) {
      fail(e.key_node, "'redact' needs 'drop' or 'pseudonymize' (the fields to redact)");
    }
    if (drop != nullptr && pseudonymize != nullptr) {
      for (const auto& name : r.pseudonymize) {
        if (contains(r.drop, name)) {
          fail(pseudonymize->value,
               "field '" + name + "' is both in 'drop' and in 'pseudonymize' (choose one)");
        }
      }
    }
    if (const Entry* f = m.find("records")) {
      if (auto s = oneOf(*f, kRedactRecords)) r.redact_records = *s == "redact";
    }
    const Entry* key = m.find("key_file");
    if (key != nullptr && pseudonymize == nullptr) {
      fail(key->key_node, "'key_file' is only used with 'pseudonymize'");
    } else if (key == nullptr && pseudonymize != nullptr) {
      fail(e.value,
           "missing required key 'key_file' in redact (the HMAC key that 'pseudonymize' needs)");
    } else if (key != nullptr) {
      if (auto k = nonEmptyString(*key)) {
        r.key_file = resolve(*k);
        const std::string problem = redactionKeyProblem(r.key_file);
        if (!problem.empty()) fail(key->value, problem);
      }
    }
    if (diags_.size() != problems_before) return std::nullopt;
    return r;
  }

  void loadLookups(const Entry& e, Config& config) {
    if (!e.value.IsSequence()) {
      fail(e.value.IsNull() ? e.key_node : e.value, "'lookups' must be a list of lookup tables");
      return;
    }
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    for (const auto& node : e.value) {
      if (!node.IsMap()) {
        fail(node, "each lookup must be a mapping (name, path, key, match, ...)");
        continue;
      }
      LookupConfig lookup;
      const Mapping m =
          mapping(node, "lookup", {"name", "path", "key", "match", "prefix", "case_insensitive"});
      if (const Entry* f = m.find("name")) {
        if (auto name = nonEmptyString(*f)) {
          if (!std::all_of(name->begin(), name->end(), isSourceNameChar)) {
            fail(f->value, "invalid lookup name '" + *name +
                               "' (allowed characters: letters, digits, '_', '.' and '-')");
          } else if (auto it = std::find_if(seen.begin(), seen.end(),
                                            [&](const auto& s) { return s.first == *name; });
                     it != seen.end()) {
            fail(f->value, "duplicate lookup name '" + *name + "' (first defined at " +
                               std::to_string(it->second.line + 1) + ":" +
                               std::to_string(it->second.column + 1) + ")");
          } else {
            seen.emplace_back(*name, f->value.Mark());
          }
          lookup.name = *name;
        }
      } else {
        missing(node, "name", "lookup");
      }
      if (const Entry* f = m.find("path")) {
        if (auto p = nonEmptyString(*f)) lookup.path = resolve(*p);
      } else {
        missing(node, "path", "lookup");
      }
      if (const Entry* f = m.find("key")) {
        if (auto k = nonEmptyString(*f)) lookup.key = *k;
      } else {
        missing(node, "key", "lookup");
      }
      if (const Entry* f = m.find("match")) {
        if (auto k = nonEmptyString(*f)) lookup.match = *k;
      } else {
        missing(node, "match", "lookup");
      }
      if (const Entry* f = m.find("prefix")) {
        if (auto p = text(*f)) lookup.prefix = *p;
      } else {
        const size_t dot = lookup.match.rfind('.');
        lookup.prefix = dot == std::string::npos ? "" : lookup.match.substr(0, dot + 1);
      }
      if (const Entry* f = m.find("case_insensitive")) {
        bool value = false;
        if (!f->value.IsScalar() || !YAML::convert<bool>::decode(f->value, value)) {
          fail(f->value, "'case_insensitive' must be true or false");
        }
        lookup.case_insensitive = value;
      }
      config.lookups.push_back(std::move(lookup));
    }
  }

  void loadPlaceholders(const Entry& e, Config& config) {
    if (!e.value.IsMap()) {
      fail(e.value.IsNull() ? e.key_node : e.value,
           "'placeholders' must be a mapping of placeholder names to list files");
      return;
    }
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar() || key.Scalar().empty()) {
        fail(key, "expected a placeholder name in placeholders");
        continue;
      }
      const std::string name = key.Scalar();
      if (!std::all_of(name.begin(), name.end(), isSourceNameChar)) {
        fail(key, "invalid placeholder name '" + name +
                      "' (allowed characters: letters, digits, '_', '.' and '-')");
        continue;
      }
      if (config.placeholders.count(name) != 0) {
        fail(key, "duplicate placeholder '" + name + "'");
        continue;
      }
      const Entry entry{name, key, it->second};
      if (auto p = nonEmptyString(entry)) config.placeholders.emplace(name, resolve(*p));
    }
  }

  void loadCorrelation(const Entry& e, CorrelationConfig& c) {
    if (!e.value.IsMap()) {
      fail(e.value,
           "'correlation' must be a mapping (workers, max_keys, late_allowance, "
           "sample_size, max_events_per_group)");
      return;
    }
    const Mapping m =
        mapping(e.value, "correlation",
                {"workers", "max_keys", "late_allowance", "sample_size", "max_events_per_group"});
    auto count = [&](const char* key, std::size_t& out, std::size_t min, std::size_t max) {
      const Entry* f = m.find(key);
      if (f == nullptr) return;
      auto s = text(*f);
      if (!s) return;
      std::size_t n = 0;
      auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
      if (ec != std::errc() || ptr != s->data() + s->size() || n < min || n > max) {
        fail(f->value, "invalid " + std::string(key) + " '" + *s + "' (expected an integer from " +
                           std::to_string(min) + " to " + std::to_string(max) + ")");
        return;
      }
      out = n;
    };
    count("workers", c.workers, 1, 64);
    count("max_keys", c.max_keys, 1, 100'000'000);
    count("sample_size", c.sample_size, 0, 100);
    count("max_events_per_group", c.max_events_per_group, 1, 10'000'000);
    if (const Entry* f = m.find("late_allowance")) {
      if (auto s = text(*f)) {
        if (auto d = parseDuration(*s)) {
          c.late_allowance = *d;
        } else {
          fail(f->value, "invalid duration '" + *s +
                             "' for 'late_allowance' (expected a positive integer and a unit: "
                             "ms, s, m, h or d, as in 30s)");
        }
      }
    }
  }

  void loadMetrics(const Entry& e, MetricsConfig& metrics) {
    if (!e.value.IsMap()) {
      fail(e.value, "'metrics' must be a mapping (listen, enabled)");
      return;
    }
    const Mapping m = mapping(e.value, "metrics", {"listen", "enabled"});
    if (const Entry* f = m.find("enabled")) {
      bool enabled = true;
      if (!f->value.IsScalar() || !YAML::convert<bool>::decode(f->value, enabled)) {
        fail(f->value, "'enabled' must be true or false");
      }
      metrics.enabled = enabled;
    }
    if (const Entry* f = m.find("listen")) {
      if (auto s = text(*f)) {
        const std::string problem = listenProblem(*s);
        if (!problem.empty()) {
          fail(f->value, "invalid listen address '" + *s + "': " + problem);
        }
        metrics.listen = *s;
      }
    }
  }

  // Collects `node`'s keys, reporting unknown, duplicate and non-scalar keys.
  Mapping mapping(const YAML::Node& node, std::string_view what,
                  std::initializer_list<std::string_view> allowed) {
    Mapping m;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        fail(key, "expected a key name in " + std::string(what));
        continue;
      }
      const std::string name = key.Scalar();
      if (!contains(allowed, name)) {
        fail(key, "unknown key '" + name + "' in " + std::string(what) +
                      " (expected one of: " + joinList(allowed) + ")");
        continue;
      }
      if (m.find(name) != nullptr) {
        fail(key, "duplicate key '" + name + "' in " + std::string(what));
        continue;
      }
      m.entries.push_back(Entry{name, key, it->second});
    }
    return m;
  }

  std::optional<std::string> text(const Entry& e) {
    if (!e.value.IsScalar()) {
      fail(e.value.IsNull() ? e.key_node : e.value, "'" + e.key + "' must be a string");
      return std::nullopt;
    }
    return e.value.Scalar();
  }

  std::optional<std::string> nonEmptyString(const Entry& e) {
    auto s = text(e);
    if (s && s->empty()) {
      fail(e.value, "'" + e.key + "' must not be empty");
      return std::nullopt;
    }
    return s;
  }

  template <typename List>
  std::optional<std::string> oneOf(const Entry& e, const List& accepted) {
    auto s = text(e);
    if (!s) return std::nullopt;
    if (!contains(accepted, *s)) {
      fail(e.value,
           "invalid " + e.key + " '" + *s + "' (expected one of: " + joinList(accepted) + ")");
      return std::nullopt;
    }
    return s;
  }

  // A non-empty list of non-empty strings, or a single string.
  std::vector<std::string> stringList(const Entry& e) {
    std::vector<std::string> out;
    if (e.value.IsScalar()) {
      if (auto s = nonEmptyString(e)) out.push_back(*s);
      return out;
    }
    if (!e.value.IsSequence()) {
      fail(e.value.IsNull() ? e.key_node : e.value,
           "'" + e.key + "' must be a list of strings or a string");
      return out;
    }
    if (e.value.size() == 0) {
      fail(e.value, "'" + e.key + "' must not be empty");
      return out;
    }
    for (const auto& item : e.value) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        fail(item, "each entry of '" + e.key + "' must be a non-empty string");
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  // stringList() with the node of each string, for messages about one item.
  std::vector<std::pair<std::string, YAML::Node>> stringItems(const Entry& e) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    const std::vector<std::string> strings = stringList(e);
    if (e.value.IsScalar()) {
      if (!strings.empty()) out.emplace_back(strings.front(), e.value);
      return out;
    }
    if (!e.value.IsSequence()) return out;
    for (const auto& item : e.value) {
      if (item.IsScalar() && !item.Scalar().empty()) out.emplace_back(item.Scalar(), item);
    }
    return out;
  }

  std::string resolve(const std::string& path) const {
    const fs::path p(path);
    return (p.is_absolute() ? p : base_dir_ / p).lexically_normal().string();
  }

  void missing(const YAML::Node& map, std::string_view key, std::string_view what) {
    fail(map, "missing required key '" + std::string(key) + "' in " + std::string(what));
  }

  void fail(const YAML::Node& at, std::string message) {
    const YAML::Mark mark = at.Mark();
    fail(mark.line + 1, mark.column + 1, std::move(message));
  }

  void fail(int line, int column, std::string message) {
    diags_.push_back(Diagnostic{file_, std::max(line, 0), std::max(column, 0), std::move(message)});
    failed_ = true;
  }

  std::string file_;
  fs::path base_dir_;
  Diagnostics& diags_;
  bool failed_ = false;
};

}  // namespace

std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(fs::path(path), ec).lexically_normal();
  if (ec) {
    diags.push_back(Diagnostic{path, 0, 0, "cannot resolve the path: " + ec.message()});
    return std::nullopt;
  }
  std::ifstream in(absolute, std::ios::binary);
  if (!in) {
    diags.push_back(Diagnostic{
        path, 0, 0, std::string("cannot read the configuration: ") + std::strerror(errno)});
    return std::nullopt;
  }
  if (fs::is_directory(absolute, ec)) {
    diags.push_back(Diagnostic{path, 0, 0, "cannot read the configuration: it is a directory"});
    return std::nullopt;
  }

  Config config;
  config.file = absolute.string();
  Loader loader(path, absolute.parent_path(), diags);
  // yaml-cpp reports syntax errors (and a few conversion errors) by
  // throwing; this is the edge where they become diagnostics.
  try {
    const YAML::Node root = YAML::Load(in);
    loader.load(root, config);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    diags.push_back(Diagnostic{path, line, column, "YAML syntax error: " + e.msg});
    return std::nullopt;
  } catch (const std::exception& e) {
    diags.push_back(
        Diagnostic{path, 0, 0, std::string("cannot load the configuration: ") + e.what()});
    return std::nullopt;
  }
  if (loader.failed()) return std::nullopt;
  return config;
}

std::optional<std::chrono::milliseconds> parseDuration(const std::string& text, bool zero) {
  static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24 * 3600 * 1000}};
  const std::string_view t(text);
  for (const auto& [unit, ms] : kUnits) {
    if (t.size() <= unit.size() || !t.ends_with(unit)) continue;
    const std::string_view digits = t.substr(0, t.size() - unit.size());
    // "5ms" also ends with "s"; only accept the unit whose prefix is all digits.
    std::uint64_t n = 0;
    if (!parseUnsigned(digits, n)) continue;
    if (n == 0 && !zero) return std::nullopt;
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / ms)) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(n) * ms);
  }
  return std::nullopt;
}

}  // namespace trailwatch::config
