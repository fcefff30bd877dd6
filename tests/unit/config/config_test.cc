#include "daemon/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace trailwatch::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A fresh folder per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trailwatch-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& text, const std::string& name = "trailwatch.yaml") {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  std::optional<Config> load(const std::string& text) {
    file_ = write(text);
    diags_.clear();
    return loadConfig(file_, diags_);
  }

  // All diagnostics as `file:line:col: message` lines, for failure output.
  std::string all() const {
    std::string out;
    for (const auto& d : diags_) out += d.str() + "\n";
    return out;
  }

  // Expects exactly one diagnostic, at `line`:`col`, with `message`.
  void expectOnly(int line, int col, const std::string& message) {
    ASSERT_EQ(diags_.size(), 1u) << all();
    EXPECT_EQ(diags_[0].file, file_);
    EXPECT_EQ(diags_[0].line, line) << all();
    EXPECT_EQ(diags_[0].column, col) << all();
    EXPECT_EQ(diags_[0].message, message);
  }

  bool has(int line, int col, const std::string& message) const {
    return std::any_of(diags_.begin(), diags_.end(), [&](const Diagnostic& d) {
      return d.line == line && d.column == col && d.message == message;
    });
  }

  fs::path dir_;
  std::string file_;
  Diagnostics diags_;
};

constexpr const char* kMinimal =
    "rules: [/etc/trailwatch/rules]\n"
    "sources:\n"
    "  - name: ehr\n"
    "    paths: /var/log/ehr/*.ndjson\n";

TEST_F(ConfigTest, FullExampleLoadsEveryValue) {
  auto c = load(
      "state_dir: /var/lib/trailwatch\n"                    // 1
      "rules: [/etc/trailwatch/rules, /opt/rules/x.yml]\n"  // 2
      "checkpoint_interval: 250ms\n"                        // 3
      "log_level: debug\n"                                  // 4
      "sources:\n"                                          // 5
      "  - name: ehr\n"                                     // 6
      "    type: file\n"                                    // 7
      "    paths: [\"/var/log/ehr/*.ndjson\", /var/log/ehr2/a.log]\n"
      "    format: json\n"  // 9
      "    start_at: beginning\n"
      "    max_line_bytes: 4096\n"
      "    logsource: {product: EHR, service: Audit, category: phi_access}\n"
      "  - name: k8s.audit-2\n"
      "    paths: /var/log/kube/audit.log\n"
      "    max_line_bytes: 512KiB\n"
      "outputs:\n"
      "  - type: file\n"
      "    path: /var/log/trailwatch/alerts.jsonl\n"
      "  - type: stdout\n"
      "metrics:\n"
      "  listen: \"[::1]:9808\"\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_TRUE(diags_.empty()) << all();
  EXPECT_EQ(c->file, file_);
  EXPECT_EQ(c->state_dir, "/var/lib/trailwatch");
  EXPECT_EQ(c->rules, (std::vector<std::string>{"/etc/trailwatch/rules", "/opt/rules/x.yml"}));
  EXPECT_EQ(c->checkpoint_interval, milliseconds(250));
  EXPECT_EQ(c->log_level, "debug");
  ASSERT_EQ(c->sources.size(), 2u);
  const SourceConfig& ehr = c->sources[0];
  EXPECT_EQ(ehr.name, "ehr");
  EXPECT_EQ(ehr.type, "file");
  EXPECT_EQ(ehr.paths, (std::vector<std::string>{"/var/log/ehr/*.ndjson", "/var/log/ehr2/a.log"}));
  EXPECT_EQ(ehr.format, "json");
  EXPECT_EQ(ehr.format_line, 9);
  EXPECT_EQ(ehr.format_column, 13);
  EXPECT_FALSE(ehr.start_at_end);
  EXPECT_EQ(ehr.max_line_bytes, 4096u);
  ASSERT_TRUE(ehr.logsource.has_value());
  EXPECT_EQ(ehr.logsource->product, "ehr");
  EXPECT_EQ(ehr.logsource->service, "audit");
  EXPECT_EQ(ehr.logsource->category, "phi_access");
  const SourceConfig& k8s = c->sources[1];
  EXPECT_EQ(k8s.name, "k8s.audit-2");
  EXPECT_EQ(k8s.paths, std::vector<std::string>{"/var/log/kube/audit.log"});
  EXPECT_EQ(k8s.max_line_bytes, 512u * 1024);
  EXPECT_FALSE(k8s.logsource.has_value());
  ASSERT_EQ(c->outputs.size(), 2u);
  EXPECT_EQ(c->outputs[0].type, "file");
  EXPECT_EQ(c->outputs[0].path, "/var/log/trailwatch/alerts.jsonl");
  EXPECT_EQ(c->outputs[1].type, "stdout");
  EXPECT_TRUE(c->metrics.enabled);
  EXPECT_EQ(c->metrics.listen, "[::1]:9808");
}

TEST_F(ConfigTest, DefaultsFillWhatIsLeftOut) {
  auto c = load(kMinimal);
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->state_dir, "/var/lib/trailwatch");
  EXPECT_EQ(c->rules, std::vector<std::string>{"/etc/trailwatch/rules"});
  EXPECT_EQ(c->checkpoint_interval, milliseconds(1000));
  EXPECT_EQ(c->log_level, "info");
  ASSERT_EQ(c->sources.size(), 1u);
  EXPECT_EQ(c->sources[0].type, "file");
  EXPECT_EQ(c->sources[0].paths, std::vector<std::string>{"/var/log/ehr/*.ndjson"});
  EXPECT_EQ(c->sources[0].format, "json");
  EXPECT_EQ(c->sources[0].format_line, 0);
  EXPECT_EQ(c->sources[0].format_column, 0);
  EXPECT_TRUE(c->sources[0].start_at_end);
  EXPECT_EQ(c->sources[0].max_line_bytes, std::size_t{1} << 20);
  EXPECT_EQ(c->sources[0].batch_wait, milliseconds(5));
  EXPECT_FALSE(c->sources[0].logsource.has_value());
  ASSERT_EQ(c->outputs.size(), 1u);
  EXPECT_EQ(c->outputs[0].type, "stdout");
  EXPECT_TRUE(c->metrics.enabled);
  EXPECT_EQ(c->metrics.listen, "127.0.0.1:9808");
}

TEST_F(ConfigTest, RelativePathsResolveAgainstTheConfigFolder) {
  file_ = write(
      "state_dir: ./state/../var\n"
      "rules: ../rules\n"
      "sources:\n"
      "  - name: ehr\n"
      "    paths: [\"logs/*.ndjson\", /abs/./x.log]\n"
      "outputs:\n"
      "  - type: file\n"
      "    path: out//alerts.jsonl\n",
      "etc/trailwatch.yaml");
  // Load through a relative path to check Config::file is made absolute.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  auto c = loadConfig("etc/../etc/trailwatch.yaml", diags_);
  fs::current_path(cwd);
  ASSERT_TRUE(c.has_value()) << all();
  const std::string d = dir_.string();
  EXPECT_EQ(c->file, d + "/etc/trailwatch.yaml");
  EXPECT_EQ(c->state_dir, d + "/etc/var");
  EXPECT_EQ(c->rules, std::vector<std::string>{d + "/rules"});
  EXPECT_EQ(c->sources[0].paths,
            (std::vector<std::string>{d + "/etc/logs/*.ndjson", "/abs/x.log"}));
  EXPECT_EQ(c->outputs[0].path, d + "/etc/out/alerts.jsonl");
}

TEST_F(ConfigTest, UnknownKeyNamesTheKeyAndWhereItIs) {
  auto c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: ehr\n"
      "    type: file\n"
      "    paths: [/x]\n"
      "\n"
      "    pathz: [/y]\n");
  EXPECT_FALSE(c.has_value());
  expectOnly(7, 5,
             "unknown key 'pathz' in source (expected one of: name, type, paths, format, "
             "start_at, batch_wait, max_line_bytes, logsource, timestamp_field, extra_fields, "
             "protocol, "
             "listen, framing, tls, max_connections, max_connections_per_peer, idle_timeout, "
             "directory, units, identifiers, matches, record, url, creds_file, stream, "
             "subject, consumer, create_consumer, batch, ack_wait, max_ack_pending, partitions, "
             "lease, lease_bucket, instance)");
  EXPECT_EQ(diags_[0].str(),
            file_ +
                ":7:5: unknown key 'pathz' in source (expected one of: name, "
                "type, paths, format, start_at, batch_wait, max_line_bytes, logsource, "
                "timestamp_field, extra_fields, protocol, listen, framing, tls, "
                "max_connections, max_connections_per_peer, idle_timeout, "
                "directory, units, identifiers, matches, record, url, creds_file, stream, "
                "subject, consumer, create_consumer, batch, ack_wait, max_ack_pending, partitions, "
                "lease, lease_bucket, instance)");
}

TEST_F(ConfigTest, UnknownKeysAreReportedAtEveryLevel) {
  load(std::string(kMinimal) +
       "    logsource: {product: x, vendor: y}\n"  // 5
       "outputs:\n"                                // 6
       "  - type: stdout\n"                        // 7
       "    format: x\n"                           // 8
       "metrics:\n"                                // 9
       "  port: 9\n"                               // 10
       "rulez: []\n");                             // 11
  EXPECT_EQ(diags_.size(), 4u) << all();
  EXPECT_TRUE(has(5, 29,
                  "unknown key 'vendor' in logsource (expected one of: product, service, "
                  "category)"))
      << all();
  EXPECT_TRUE(has(8, 5,
                  "unknown key 'format' in output (expected one of: type, path, hash_chain, "
                  "chain_key_file, name, url, headers, headers_file, tls_ca_file, timeout, "
                  "batch_max, resolve_after, retry, spool, redact, address, protocol, framing, "
                  "tls, facility, app_name, hostname, max_message_bytes, subject, creds_file)"))
      << all();
  EXPECT_TRUE(has(10, 3, "unknown key 'port' in metrics (expected one of: listen, enabled)"))
      << all();
  EXPECT_TRUE(has(11, 1,
                  "unknown key 'rulez' in configuration (expected one of: state_dir, rules, "
                  "unusable_rules, checkpoint_interval, log_level, sources, outputs, metrics, "
                  "lookups, placeholders, correlation, forward)"))
      << all();
}

TEST_F(ConfigTest, UnusableRulesIsFailOrSkip) {
  auto c = load(kMinimal);
  ASSERT_TRUE(c) << all();
  EXPECT_FALSE(c->skip_unusable_rules);
  c = load(std::string(kMinimal) + "unusable_rules: skip\n");
  ASSERT_TRUE(c) << all();
  EXPECT_TRUE(c->skip_unusable_rules);
  c = load(std::string(kMinimal) + "unusable_rules: ignore\n");
  EXPECT_FALSE(c);
  EXPECT_NE(all().find("unusable_rules"), std::string::npos) << all();
}

TEST_F(ConfigTest, MissingRequiredKeys) {
  load("state_dir: /s\n");
  EXPECT_EQ(diags_.size(), 2u) << all();
  EXPECT_TRUE(has(1, 1, "missing required key 'rules' in configuration")) << all();
  EXPECT_TRUE(has(1, 1, "missing required key 'sources' in configuration")) << all();

  load(
      "rules: /r\n"
      "sources:\n"
      "  - type: file\n");
  EXPECT_EQ(diags_.size(), 2u) << all();
  EXPECT_TRUE(has(3, 5, "missing required key 'name' in source")) << all();
  EXPECT_TRUE(has(3, 5, "missing required key 'paths' in source")) << all();
}

TEST_F(ConfigTest, WrongTypes) {
  load(
      "state_dir: [a]\n"             // 1
      "rules: {a: b}\n"              // 2
      "sources:\n"                   // 3
      "  - name: ehr\n"              // 4
      "    paths: [/x, [nested]]\n"  // 5
      "    logsource: ehr\n"         // 6
      "metrics:\n"                   // 7
      "  enabled: maybe\n");         // 8
  EXPECT_EQ(diags_.size(), 5u) << all();
  EXPECT_TRUE(has(1, 12, "'state_dir' must be a string")) << all();
  EXPECT_TRUE(has(2, 8, "'rules' must be a list of strings or a string")) << all();
  EXPECT_TRUE(has(5, 17, "each entry of 'paths' must be a non-empty string")) << all();
  EXPECT_TRUE(has(6, 16, "'logsource' must be a mapping of product, service and category"))
      << all();
  EXPECT_TRUE(has(8, 12, "'enabled' must be true or false")) << all();
}

TEST_F(ConfigTest, NullValueIsReportedAtItsKey) {
  load(
      "rules:\n"
      "sources:\n"
      "  - name: ehr\n"
      "    paths: /x\n");
  expectOnly(1, 1, "'rules' must be a list of strings or a string");
}

TEST_F(ConfigTest, EmptyListsAreErrors) {
  load(
      "rules: []\n"
      "sources: []\n"
      "outputs: []\n");
  EXPECT_EQ(diags_.size(), 3u) << all();
  EXPECT_TRUE(has(1, 8, "'rules' must not be empty")) << all();
  EXPECT_TRUE(has(2, 10, "'sources' must not be empty: give at least one source")) << all();
  EXPECT_TRUE(has(3, 10, "'outputs' must not be empty (leave it out to print alerts on stdout)"))
      << all();
}

TEST_F(ConfigTest, BadEnumValuesNameTheAcceptedOnes) {
  load(
      "rules: /r\n"             // 1
      "log_level: verbose\n"    // 2
      "sources:\n"              // 3
      "  - name: ehr\n"         // 4
      "    type: kafka\n"       // 5
      "    paths: /x\n"         // 6
      "    start_at: middle\n"  // 7
      "outputs:\n"              // 8
      "  - type: kafka\n");     // 9
  EXPECT_EQ(diags_.size(), 4u) << all();
  EXPECT_TRUE(has(2, 12,
                  "invalid log_level 'verbose' (expected one of: trace, debug, info, warn, "
                  "error)"))
      << all();
  EXPECT_TRUE(
      has(5, 11, "unsupported source type 'kafka' (accepted types: file, syslog, journald, nats)"))
      << all();
  EXPECT_TRUE(has(7, 15, "invalid start_at 'middle' (expected one of: end, beginning)")) << all();
  EXPECT_TRUE(has(9, 11,
                  "unsupported output type 'kafka' (accepted types: file, stdout, webhook, "
                  "alertmanager, syslog, nats)"))
      << all();
}

TEST_F(ConfigTest, BadDuration) {
  load(std::string("checkpoint_interval: 10x\n") + kMinimal);
  expectOnly(1, 22,
             "invalid duration '10x' for 'checkpoint_interval' (expected a positive integer and a "
             "unit: ms, s, m, h or d, as in 250ms or 1s)");
}

TEST_F(ConfigTest, DuplicateSourceNames) {
  load(
      "rules: /r\n"
      "sources:\n"
      "  - name: ehr\n"
      "    paths: /a\n"
      "  - name: ehr\n"
      "    paths: /b\n");
  expectOnly(5, 11, "duplicate source name 'ehr' (first defined at 3:11)");
}

TEST_F(ConfigTest, InvalidSourceName) {
  load(
      "rules: /r\n"
      "sources:\n"
      "  - name: \"ehr logs\"\n"
      "    paths: /a\n");
  expectOnly(3, 11,
             "invalid source name 'ehr logs' (allowed characters: letters, digits, '_', '.' and "
             "'-')");
}

TEST_F(ConfigTest, DuplicateKey) {
  load(
      "rules: /r\n"
      "sources:\n"
      "  - name: ehr\n"
      "    paths: /a\n"
      "    name: other\n");
  expectOnly(5, 5, "duplicate key 'name' in source");
}

TEST_F(ConfigTest, FileOutputNeedsAPath) {
  load(std::string(kMinimal) +
       "outputs:\n"          // 5
       "  - type: file\n"    // 6
       "  - type: stdout\n"  // 7
       "    path: /x\n");    // 8
  EXPECT_EQ(diags_.size(), 2u) << all();
  EXPECT_TRUE(has(6, 5, "missing required key 'path' in output (a file output needs a path)"))
      << all();
  EXPECT_TRUE(has(8, 5, "key 'path' does not apply to a stdout output")) << all();
}

TEST_F(ConfigTest, NetworkOutputsLoadWithDefaultsAndResolvedPaths) {
  auto config = load(std::string(kMinimal) +
                     "outputs:\n"
                     "  - type: webhook\n"
                     "    url: https://hooks.example.com/x\n"
                     "    headers: {Authorization: Bearer t, X-Team: soc}\n"
                     "    headers_file: secrets/hook.headers\n"
                     "    tls_ca_file: ca.pem\n"
                     "    timeout: 3s\n"
                     "    batch_max: 10\n"
                     "    retry: {initial_delay: 200ms, max_delay: 30s}\n"
                     "    spool: {max_bytes: 1GiB, on_full: drop_oldest}\n"
                     "  - type: alertmanager\n"
                     "    url: http://127.0.0.1:9093\n"
                     "    resolve_after: 10m\n");
  ASSERT_TRUE(config) << all();
  ASSERT_EQ(config->outputs.size(), 2u);
  const auto& hook = config->outputs[0];
  EXPECT_EQ(hook.name, "webhook");
  EXPECT_EQ(hook.url, "https://hooks.example.com/x");
  ASSERT_EQ(hook.headers.size(), 2u);
  EXPECT_EQ(hook.headers[0].first, "Authorization");
  EXPECT_EQ(hook.headers[0].second, "Bearer t");
  EXPECT_EQ(hook.headers_file, (dir_ / "secrets/hook.headers").string());
  EXPECT_EQ(hook.tls_ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(hook.timeout, std::chrono::seconds(3));
  EXPECT_EQ(hook.batch_max, 10u);
  EXPECT_EQ(hook.retry_initial_delay, std::chrono::milliseconds(200));
  EXPECT_EQ(hook.retry_max_delay, std::chrono::seconds(30));
  EXPECT_EQ(hook.spool.max_bytes, std::uint64_t{1} << 30);
  EXPECT_EQ(hook.spool.on_full, "drop_oldest");
  const auto& am = config->outputs[1];
  EXPECT_EQ(am.name, "alertmanager");
  EXPECT_EQ(am.batch_max, 64u);
  EXPECT_EQ(am.resolve_after, std::chrono::minutes(10));
  EXPECT_EQ(am.timeout, std::chrono::seconds(10));
  EXPECT_EQ(am.spool.max_bytes, std::uint64_t{256} << 20);
  EXPECT_EQ(am.spool.on_full, "block");
}

TEST_F(ConfigTest, NetworkOutputsRejectBadValues) {
  load(std::string(kMinimal) +
       "outputs:\n"                                           // 5
       "  - type: webhook\n"                                  // 6
       "    url: ftp://x\n"                                   // 7
       "    headers: {\"Bad Name\": x, Host: y}\n"            // 8
       "    timeout: 0s\n"                                    // 9
       "    batch_max: 0\n"                                   // 10
       "    resolve_after: 1m\n"                              // 11
       "    retry: {initial_delay: 2s, max_delay: 1s}\n"      // 12
       "    spool: {max_bytes: 1KiB, on_full: wait, x: 1}\n"  // 13
       "  - type: webhook\n"                                  // 14
       "    path: /x\n"                                       // 15
       "  - type: stdout\n"                                   // 16
       "    url: http://h/\n"                                 // 17
       "  - type: alertmanager\n"                             // 18
       "    url: http://u:p@h:99999/\n");                     // 19
  EXPECT_TRUE(has(7, 10, "invalid url 'ftp://x': the URL must start with http:// or https://"))
      << all();
  EXPECT_TRUE(has(8, 15, "invalid HTTP header name 'Bad Name'")) << all();
  EXPECT_TRUE(has(8, 30, "header 'Host' is set by trailwatch itself")) << all();
  EXPECT_TRUE(has(9, 14,
                  "invalid duration '0s' for 'timeout' (expected a positive integer and a unit: "
                  "ms, s, m, h or d, from 100ms to 600000ms)"))
      << all();
  EXPECT_TRUE(has(10, 16, "invalid batch_max '0' (expected an integer from 1 to 1000)")) << all();
  EXPECT_TRUE(has(11, 5, "key 'resolve_after' does not apply to a webhook output")) << all();
  EXPECT_TRUE(has(12, 12, "retry: max_delay must not be shorter than initial_delay")) << all();
  EXPECT_TRUE(has(13, 24,
                  "invalid max_bytes '1KiB' (expected bytes from 64KiB to 1024GiB, with a KiB, "
                  "MiB or GiB suffix, as in 256MiB)"))
      << all();
  EXPECT_TRUE(has(13, 39,
                  "invalid on_full 'wait' (expected one of: block, drop_oldest, "
                  "drop_newest)"))
      << all();
  EXPECT_TRUE(has(13, 45, "unknown key 'x' in spool (expected one of: max_bytes, on_full)"))
      << all();
  EXPECT_TRUE(has(14, 5,
                  "duplicate output name 'webhook' (first used at 6:5); give each webhook output "
                  "its own 'name' (it names the spool folder and the metrics)"))
      << all();
  EXPECT_TRUE(has(15, 5, "key 'path' does not apply to a webhook output")) << all();
  EXPECT_TRUE(has(14, 5, "missing required key 'url' in output (a webhook output needs a url)"))
      << all();
  EXPECT_TRUE(has(17, 5, "key 'url' does not apply to a stdout output")) << all();
  EXPECT_TRUE(has(19, 10,
                  "invalid url 'http://u:p@h:99999/': the URL must not hold a user name or "
                  "password (use headers or headers_file)"))
      << all();
  EXPECT_EQ(diags_.size(), 15u) << all();
}

TEST_F(ConfigTest, SyslogOutputsLoadWithDefaults) {
  write("ca", "ca.pem");
  write("c", "client.pem");
  write("k", "client.key");
  auto config = load(std::string(kMinimal) +
                     "outputs:\n"
                     "  - type: syslog\n"
                     "    protocol: tcp\n"
                     "    address: siem.example.org:601\n"
                     "  - type: syslog\n"
                     "    name: siem-tls\n"
                     "    protocol: tls\n"
                     "    address: '[::1]:6514'\n"
                     "    framing: newline\n"
                     "    tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key,\n"
                     "          server_name: siem.example.org}\n"
                     "    facility: local3\n"
                     "    app_name: tw\n"
                     "    hostname: ehr1\n"
                     "    max_message_bytes: 8KiB\n"
                     "    batch_max: 1\n"
                     "    spool: {on_full: drop_newest}\n"
                     "  - type: syslog\n"
                     "    name: siem-udp\n"
                     "    protocol: udp\n"
                     "    address: 10.0.0.5:514\n");
  ASSERT_TRUE(config) << all();
  ASSERT_EQ(config->outputs.size(), 3u);
  const auto& tcp = config->outputs[0];
  EXPECT_EQ(tcp.name, "syslog");
  EXPECT_EQ(tcp.syslog.protocol, "tcp");
  EXPECT_EQ(tcp.syslog.host, "siem.example.org");
  EXPECT_EQ(tcp.syslog.port, "601");
  EXPECT_EQ(tcp.syslog.framing, "octet-counting");
  EXPECT_EQ(tcp.syslog.facility, "authpriv");
  EXPECT_EQ(tcp.syslog.app_name, "trailwatch");
  EXPECT_EQ(tcp.syslog.hostname, "");
  EXPECT_EQ(tcp.syslog.max_message_bytes, 1u << 20);
  EXPECT_EQ(tcp.batch_max, 16u);
  EXPECT_EQ(tcp.spool.on_full, "block");
  const auto& tls = config->outputs[1];
  EXPECT_EQ(tls.syslog.host, "::1");
  EXPECT_EQ(tls.syslog.port, "6514");
  EXPECT_EQ(tls.syslog.framing, "newline");
  EXPECT_EQ(tls.syslog.ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(tls.syslog.cert_file, (dir_ / "client.pem").string());
  EXPECT_EQ(tls.syslog.key_file, (dir_ / "client.key").string());
  EXPECT_EQ(tls.syslog.server_name, "siem.example.org");
  EXPECT_EQ(tls.syslog.facility, "local3");
  EXPECT_EQ(tls.syslog.app_name, "tw");
  EXPECT_EQ(tls.syslog.hostname, "ehr1");
  EXPECT_EQ(tls.syslog.max_message_bytes, 8192u);
  EXPECT_EQ(tls.batch_max, 1u);
  EXPECT_EQ(config->outputs[2].syslog.max_message_bytes, 65507u);
}

TEST_F(ConfigTest, SyslogOutputsRejectBadValues) {
  write("k", "client.key");
  load(std::string(kMinimal) +
       "outputs:\n"                                          // 5
       "  - type: syslog\n"                                  // 6
       "    protocol: sctp\n"                                // 7
       "    address: siem\n"                                 // 8
       "    facility: local9\n"                              // 9
       "    app_name: 'trail watch'\n"                       // 10
       "    url: http://x/\n"                                // 11
       "  - type: syslog\n"                                  // 12
       "    name: u\n"                                       // 13
       "    protocol: udp\n"                                 // 14
       "    address: 127.0.0.1:514\n"                        // 15
       "    framing: newline\n"                              // 16
       "    max_message_bytes: 1MiB\n"                       // 17
       "    tls: {ca_file: ca.pem}\n"                        // 18
       "  - type: syslog\n"                                  // 19
       "    name: t\n"                                       // 20
       "    protocol: tls\n"                                 // 21
       "    framing: lf\n"                                   // 22
       "    tls: {key_file: client.key, ca_file: no.pem}\n"  // 23
       "  - type: webhook\n"                                 // 24
       "    url: http://h/\n"                                // 25
       "    facility: user\n");                              // 26
  EXPECT_TRUE(has(7, 15, "invalid protocol 'sctp' (expected one of: udp, tcp, tls)")) << all();
  EXPECT_TRUE(has(8, 14, "invalid address 'siem': expected host:port")) << all();
  EXPECT_TRUE(has(9, 15,
                  "invalid facility 'local9' (expected one of: kern, user, mail, daemon, auth, "
                  "syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, local0, local1, "
                  "local2, local3, local4, local5, local6, local7)"))
      << all();
  EXPECT_TRUE(has(10, 15,
                  "invalid app_name 'trail watch' (RFC 5424: 1 to 48 printable ASCII "
                  "characters, no spaces)"))
      << all();
  EXPECT_TRUE(has(11, 5, "key 'url' does not apply to a syslog output")) << all();
  EXPECT_TRUE(has(16, 5,
                  "key 'framing' does not apply to a udp syslog output (each alert is one "
                  "datagram)"))
      << all();
  EXPECT_TRUE(has(17, 24,
                  "invalid max_message_bytes '1MiB' (expected 480 to 65507 bytes, the largest "
                  "UDP datagram)"))
      << all();
  EXPECT_TRUE(has(18, 5, "key 'tls' applies only to a syslog output with protocol: tls")) << all();
  EXPECT_TRUE(has(19, 5,
                  "missing required key 'address' in syslog output (host:port of the receiver, "
                  "as in siem:6514)"))
      << all();
  EXPECT_TRUE(has(22, 14, "invalid framing 'lf' (expected one of: octet-counting, newline)"))
      << all();
  EXPECT_TRUE(has(23, 11,
                  "'cert_file' and 'key_file' go together (a client certificate and its "
                  "key)"))
      << all();
  EXPECT_TRUE(
      has(23, 42, "'ca_file': " + (dir_ / "no.pem").string() + " does not exist or is not a file"))
      << all();
  EXPECT_TRUE(has(26, 5,
                  "key 'facility' does not apply to a webhook output (only to type: "
                  "syslog)"))
      << all();
  EXPECT_EQ(diags_.size(), 13u) << all();
}

TEST_F(ConfigTest, MaxLineBytes) {
  for (const char* bad : {"0", "-5", "12XB", "1.5MiB", "2GiB", "MiB"}) {
    load(std::string(kMinimal) + "    max_line_bytes: " + bad + "\n");
    expectOnly(5, 21,
               std::string("invalid max_line_bytes '") + bad +
                   "' (expected a positive integer of bytes, optionally with a KiB, MiB or GiB "
                   "suffix, at most 1GiB)");
  }
  auto c = load(std::string(kMinimal) + "    max_line_bytes: 1MiB\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->sources[0].max_line_bytes, std::size_t{1} << 20);
  c = load(std::string(kMinimal) + "    max_line_bytes: 1GiB\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->sources[0].max_line_bytes, std::size_t{1} << 30);
}

TEST_F(ConfigTest, BatchWait) {
  for (const char* bad : {"2s", "-1ms", "5", "0", "fast"}) {
    load(std::string(kMinimal) + "    batch_wait: " + bad + "\n");
    expectOnly(5, 17,
               std::string("invalid duration '") + bad +
                   "' for 'batch_wait' (expected an integer and a unit: ms, s, m, h or d, from "
                   "0ms to 1000ms)");
  }
  for (const auto& [text, want] : {std::pair{"0ms", 0}, {"00s", 0}, {"20ms", 20}, {"1s", 1000}}) {
    auto c = load(std::string(kMinimal) + "    batch_wait: " + text + "\n");
    ASSERT_TRUE(c.has_value()) << text << ": " << all();
    EXPECT_EQ(c->sources[0].batch_wait, milliseconds(want)) << text;
  }
}

TEST_F(ConfigTest, ListenAddresses) {
  for (const char* good :
       {"127.0.0.1:9808", "0.0.0.0:0", "localhost:65535", "\"[::1]:9808\"", "\"[::]:80\""}) {
    auto c = load(std::string(kMinimal) + "metrics:\n  listen: " + good + "\n");
    EXPECT_TRUE(c.has_value()) << good << "\n" << all();
  }
  const std::pair<const char*, const char*> bad[] = {
      {"127.0.0.1", "expected host:port"},
      {"127.0.0.1:65536", "the port must be a number from 0 to 65535"},
      {"127.0.0.1:http", "the port must be a number from 0 to 65535"},
      {"\":9808\"", "the host is missing (use 0.0.0.0 to listen on every interface)"},
      {"::1:9808", "an IPv6 address goes in brackets, as in [::1]:9808"},
      {"\"[zz]:9808\"", "'zz' is not an IPv6 address"},
      {"\"bad host:1\"", "'bad host' is not a host name or IPv4 address"},
  };
  for (const auto& [text, why] : bad) {
    load(std::string(kMinimal) + "metrics:\n  listen: " + text + "\n");
    std::string shown = text;
    shown.erase(std::remove(shown.begin(), shown.end(), '"'), shown.end());
    expectOnly(6, 11, "invalid listen address '" + shown + "': " + why);
  }
}

TEST_F(ConfigTest, MetricsCanBeDisabled) {
  auto c = load(std::string(kMinimal) + "metrics:\n  enabled: false\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_FALSE(c->metrics.enabled);
}

TEST_F(ConfigTest, LogsourceNeedsAKey) {
  load(std::string(kMinimal) + "    logsource: {}\n");
  expectOnly(5, 16, "'logsource' must give at least one of product, service, category");
}

TEST_F(ConfigTest, SeveralErrorsAreReportedAtOnce) {
  auto c = load(
      "state_dir: /s\n"              // 1
      "rules: []\n"                  // 2
      "checkpoint_interval: soon\n"  // 3
      "sources:\n"                   // 4
      "  - name: ehr\n"              // 5
      "    paths: /a\n"              // 6
      "    pathz: /b\n"              // 7
      "  - name: ehr\n"              // 8
      "    paths: /c\n"              // 9
      "metrics:\n"                   // 10
      "  listen: nowhere\n");        // 11
  EXPECT_FALSE(c.has_value());
  EXPECT_EQ(diags_.size(), 5u) << all();
  EXPECT_TRUE(has(2, 8, "'rules' must not be empty")) << all();
  EXPECT_TRUE(has(3, 22,
                  "invalid duration 'soon' for 'checkpoint_interval' (expected a positive "
                  "integer and a unit: ms, s, m, h or d, as in 250ms or 1s)"))
      << all();
  EXPECT_TRUE(has(
      7, 5,
      "unknown key 'pathz' in source (expected one of: name, type, paths, format, "
      "start_at, batch_wait, max_line_bytes, logsource, timestamp_field, "
      "extra_fields, protocol, listen, framing, tls, max_connections, max_connections_per_peer, "
      "idle_timeout, directory, units, identifiers, matches, record, url, creds_file, "
      "stream, subject, consumer, create_consumer, batch, ack_wait, max_ack_pending, "
      "partitions, lease, lease_bucket, instance)"))
      << all();
  EXPECT_TRUE(has(8, 11, "duplicate source name 'ehr' (first defined at 5:11)")) << all();
  EXPECT_TRUE(has(11, 11, "invalid listen address 'nowhere': expected host:port")) << all();
}

TEST_F(ConfigTest, SyntaxErrorHasItsPosition) {
  auto c = load(
      "rules: [/r\n"
      "sources: x\n");
  EXPECT_FALSE(c.has_value());
  ASSERT_EQ(diags_.size(), 1u) << all();
  EXPECT_GT(diags_[0].line, 0);
  EXPECT_GT(diags_[0].column, 0);
  EXPECT_NE(diags_[0].message.find("YAML syntax error"), std::string::npos) << all();

  load(
      "rules: /r\n"
      "sources:\n"
      "  - name: a\n"
      "   bad: indentation\n");
  ASSERT_EQ(diags_.size(), 1u) << all();
  EXPECT_EQ(diags_[0].line, 4) << all();
  EXPECT_NE(diags_[0].message.find("YAML syntax error"), std::string::npos) << all();
}

TEST_F(ConfigTest, MissingFileIsADiagnostic) {
  const std::string path = (dir_ / "absent.yaml").string();
  auto c = loadConfig(path, diags_);
  EXPECT_FALSE(c.has_value());
  ASSERT_EQ(diags_.size(), 1u);
  EXPECT_EQ(diags_[0].str(), path + ": cannot read the configuration: No such file or directory");
}

TEST_F(ConfigTest, DirectoryIsNotAConfiguration) {
  auto c = loadConfig(dir_.string(), diags_);
  EXPECT_FALSE(c.has_value());
  ASSERT_EQ(diags_.size(), 1u);
  EXPECT_EQ(diags_[0].line, 0);
}

TEST_F(ConfigTest, EmptyOrNonMappingDocument) {
  load("");
  expectOnly(0, 0,
             "the configuration is empty (expected a mapping with at least 'rules' and "
             "'sources')");
  load("- a\n- b\n");
  expectOnly(1, 1, "expected a mapping at the top level of the configuration");
}

TEST_F(ConfigTest, SingleStringsAreAcceptedForLists) {
  auto c = load(
      "rules: /r\n"
      "sources:\n"
      "  - name: s\n"
      "    paths: '/a/*.log'\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->rules, std::vector<std::string>{"/r"});
  EXPECT_EQ(c->sources[0].paths, std::vector<std::string>{"/a/*.log"});
}

TEST_F(ConfigTest, LookupsAndPlaceholdersLoadWithResolvedPaths) {
  auto c = load(std::string(kMinimal) +
                "lookups:\n"
                "  - name: staff\n"
                "    path: lookups/staff.csv\n"
                "    key: user_id\n"
                "    match: user.id\n"
                "  - name: patients\n"
                "    path: /srv/patients.csv\n"
                "    key: mrn\n"
                "    match: patient.id\n"
                "    prefix: patient.meta.\n"
                "    case_insensitive: true\n"
                "placeholders:\n"
                "  terminated_users: lookups/terminated_users.txt\n");
  ASSERT_TRUE(c.has_value()) << all();
  ASSERT_EQ(c->lookups.size(), 2u);
  const auto& staff = c->lookups[0];
  EXPECT_EQ(staff.name, "staff");
  EXPECT_EQ(staff.path, (dir_ / "lookups/staff.csv").string());
  EXPECT_EQ(staff.key, "user_id");
  EXPECT_EQ(staff.match, "user.id");
  EXPECT_EQ(staff.prefix, "user.") << "default: match up to and including its last dot";
  EXPECT_FALSE(staff.case_insensitive);
  EXPECT_EQ(c->lookups[1].prefix, "patient.meta.");
  EXPECT_TRUE(c->lookups[1].case_insensitive);
  EXPECT_EQ(c->placeholders.size(), 1u);
  EXPECT_EQ(c->placeholders.at("terminated_users"),
            (dir_ / "lookups/terminated_users.txt").string());
}

TEST_F(ConfigTest, CorrelationSettingsAndTimestampFieldLoad) {
  auto c = load(std::string(kMinimal) +
                "    timestamp_field: recorded\n"
                "correlation:\n"
                "  workers: 3\n"
                "  max_keys: 5000\n"
                "  late_allowance: 30s\n"
                "  sample_size: 0\n"
                "  max_events_per_group: 10\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->sources[0].timestamp_field, "recorded");
  EXPECT_EQ(c->correlation.workers, 3u);
  EXPECT_EQ(c->correlation.max_keys, 5000u);
  EXPECT_EQ(c->correlation.late_allowance, std::chrono::seconds(30));
  EXPECT_EQ(c->correlation.sample_size, 0u);
  EXPECT_EQ(c->correlation.max_events_per_group, 10u);

  auto d = load(kMinimal);
  ASSERT_TRUE(d.has_value()) << all();
  EXPECT_EQ(d->sources[0].timestamp_field, "@timestamp");
  EXPECT_EQ(d->correlation.max_keys, 1'000'000u);
  EXPECT_EQ(d->correlation.late_allowance, std::chrono::minutes(1));
}

TEST_F(ConfigTest, BadCorrelationSettingsAreLocated) {
  auto c = load(std::string(kMinimal) +
                "correlation:\n"         // 5
                "  workers: 0\n"         // 6
                "  max_keys: lots\n"     // 7
                "  late_allowance: 5\n"  // 8
                "  shards: 2\n");        // 9
  EXPECT_FALSE(c.has_value());
  EXPECT_TRUE(has(6, 12, "invalid workers '0' (expected an integer from 1 to 64)")) << all();
  EXPECT_TRUE(has(7, 13, "invalid max_keys 'lots' (expected an integer from 1 to 100000000)"))
      << all();
  EXPECT_TRUE(has(8, 19,
                  "invalid duration '5' for 'late_allowance' (expected a positive integer and a "
                  "unit: ms, s, m, h or d, as in 30s)"))
      << all();
  EXPECT_TRUE(has(9, 3,
                  "unknown key 'shards' in correlation (expected one of: workers, max_keys, "
                  "late_allowance, sample_size, max_events_per_group)"))
      << all();
}

TEST_F(ConfigTest, LookupsAreOptional) {
  auto c = load(kMinimal);
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_TRUE(c->lookups.empty());
  EXPECT_TRUE(c->placeholders.empty());
}

TEST_F(ConfigTest, LookupUnknownKeyAndMissingKeysAreLocated) {
  auto c = load(std::string(kMinimal) +   // lines 1-4
                "lookups:\n"              // 5
                "  - name: staff\n"       // 6
                "    path: staff.csv\n"   // 7
                "    colum: user_id\n");  // 8
  EXPECT_FALSE(c.has_value());
  EXPECT_TRUE(has(8, 5,
                  "unknown key 'colum' in lookup (expected one of: name, path, key, match, "
                  "prefix, case_insensitive)"))
      << all();
  EXPECT_TRUE(has(6, 5, "missing required key 'key' in lookup")) << all();
  EXPECT_TRUE(has(6, 5, "missing required key 'match' in lookup")) << all();
  EXPECT_EQ(diags_.size(), 3u) << all();
}

TEST_F(ConfigTest, LookupNamesAreUniqueAndLabelSafe) {
  auto c = load(std::string(kMinimal) +
                "lookups:\n"                                                             // 5
                "  - {name: staff, path: a.csv, key: k, match: m}\n"                     // 6
                "  - {name: staff, path: b.csv, key: k, match: m}\n"                     // 7
                "  - {name: 'bad name', path: c.csv, key: k, match: m}\n"                // 8
                "  - {name: x, path: d.csv, key: k, match: m, case_insensitive: 3}\n");  // 9
  EXPECT_FALSE(c.has_value());
  EXPECT_TRUE(has(7, 12, "duplicate lookup name 'staff' (first defined at 6:12)")) << all();
  EXPECT_TRUE(has(8, 12,
                  "invalid lookup name 'bad name' (allowed characters: letters, digits, '_', "
                  "'.' and '-')"))
      << all();
  EXPECT_TRUE(has(9, 64, "'case_insensitive' must be true or false")) << all();
}

TEST_F(ConfigTest, PlaceholdersMustMapNamesToFiles) {
  auto c = load(std::string(kMinimal) +
                "placeholders:\n"     // 5
                "  ok: a.txt\n"       // 6
                "  'bad%': b.txt\n"   // 7
                "  empty: ''\n"       // 8
                "  list: [a, b]\n");  // 9
  EXPECT_FALSE(c.has_value());
  EXPECT_TRUE(has(7, 3,
                  "invalid placeholder name 'bad%' (allowed characters: letters, digits, '_', "
                  "'.' and '-')"))
      << all();
  EXPECT_TRUE(has(8, 10, "'empty' must not be empty")) << all();
  EXPECT_TRUE(has(9, 9, "'list' must be a string")) << all();
  EXPECT_EQ(diags_.size(), 3u) << all();

  c = load(std::string(kMinimal) + "placeholders: [a.txt]\n");
  EXPECT_FALSE(c.has_value());
  expectOnly(5, 15, "'placeholders' must be a mapping of placeholder names to list files");
}

constexpr const char* kSyslogHead =
    "rules: [/etc/trailwatch/rules]\n"  // 1
    "sources:\n"                        // 2
    "  - name: net\n"                   // 3
    "    type: syslog\n";               // 4

TEST_F(ConfigTest, SyslogSourceLoadsWithDefaults) {
  auto c = load(std::string(kSyslogHead) +
                "    protocol: tcp\n"
                "    listen: 0.0.0.0:6514\n");
  ASSERT_TRUE(c.has_value()) << all();
  const auto& s = c->sources[0];
  EXPECT_EQ(s.type, "syslog");
  EXPECT_TRUE(s.paths.empty());
  EXPECT_EQ(s.format, "syslog");
  EXPECT_EQ(s.max_line_bytes, 64u * 1024);
  EXPECT_EQ(s.syslog.protocol, "tcp");
  EXPECT_EQ(s.syslog.listen, "0.0.0.0:6514");
  EXPECT_EQ(s.syslog.framing, "auto");
  EXPECT_EQ(s.syslog.max_connections, 512u);
  EXPECT_EQ(s.syslog.max_connections_per_peer, 64u);
  EXPECT_EQ(s.syslog.idle_timeout, milliseconds(300'000));
}

TEST_F(ConfigTest, SyslogTlsSourceLoadsEveryValue) {
  write("cert", "tls/server.pem");
  write("key", "tls/server.key");
  write("ca", "tls/ca.pem");
  auto c = load(std::string(kSyslogHead) +
                "    protocol: tls\n"
                "    listen: \"[::]:6514\"\n"
                "    format: syslog+json\n"
                "    framing: octet-counting\n"
                "    max_line_bytes: 8KiB\n"
                "    max_connections: 100\n"
                "    max_connections_per_peer: 5\n"
                "    idle_timeout: 30s\n"
                "    tls:\n"
                "      cert_file: tls/server.pem\n"
                "      key_file: tls/server.key\n"
                "      ca_file: tls/ca.pem\n"
                "      allowed_peers: [ehr1.example.org, \"*.hosts.example.org\"]\n");
  ASSERT_TRUE(c.has_value()) << all();
  const auto& s = c->sources[0];
  EXPECT_EQ(s.format, "syslog+json");
  EXPECT_EQ(s.max_line_bytes, 8u * 1024);
  EXPECT_EQ(s.syslog.framing, "octet-counting");
  EXPECT_EQ(s.syslog.max_connections, 100u);
  EXPECT_EQ(s.syslog.max_connections_per_peer, 5u);
  EXPECT_EQ(s.syslog.idle_timeout, milliseconds(30'000));
  EXPECT_EQ(s.syslog.cert_file, (dir_ / "tls/server.pem").string());
  EXPECT_EQ(s.syslog.key_file, (dir_ / "tls/server.key").string());
  EXPECT_EQ(s.syslog.ca_file, (dir_ / "tls/ca.pem").string());
  EXPECT_EQ(s.syslog.allowed_peers,
            (std::vector<std::string>{"ehr1.example.org", "*.hosts.example.org"}));
}

TEST_F(ConfigTest, SyslogSourceNeedsProtocolAndListenButNoPaths) {
  load(kSyslogHead);
  EXPECT_TRUE(has(3, 5, "missing required key 'protocol' in syslog source (udp, tcp or tls)"))
      << all();
  EXPECT_TRUE(has(3, 5,
                  "missing required key 'listen' in syslog source (host:port, as in "
                  "0.0.0.0:6514)"))
      << all();
  EXPECT_EQ(diags_.size(), 2u) << all();
}

TEST_F(ConfigTest, FileKeysOnSyslogSourcesAndSyslogKeysOnFilesAreErrors) {
  load(std::string(kSyslogHead) +
       "    protocol: udp\n"
       "    listen: 127.0.0.1:514\n"
       "    paths: /var/log/x\n"
       "    start_at: beginning\n");
  EXPECT_TRUE(has(7, 5, "key 'paths' does not apply to a syslog source")) << all();
  EXPECT_TRUE(has(8, 5, "key 'start_at' does not apply to a syslog source")) << all();
  EXPECT_EQ(diags_.size(), 2u) << all();

  load(std::string(kMinimal) + "    protocol: tcp\n    idle_timeout: 5s\n");
  EXPECT_TRUE(has(5, 5, "key 'protocol' does not apply to a file source")) << all();
  EXPECT_TRUE(has(6, 5, "key 'idle_timeout' does not apply to a file source")) << all();
  EXPECT_EQ(diags_.size(), 2u) << all();
}

TEST_F(ConfigTest, BadSyslogValuesAreLocated) {
  load(std::string(kSyslogHead) +
       "    protocol: relp\n"       // 5
       "    listen: 127.0.0.1\n");  // 6
  EXPECT_TRUE(has(5, 15, "invalid protocol 'relp' (expected one of: udp, tcp, tls)")) << all();
  EXPECT_TRUE(has(6, 13, "invalid listen address '127.0.0.1': expected host:port")) << all();

  load(std::string(kSyslogHead) +
       "    protocol: tcp\n"                   // 5
       "    listen: 127.0.0.1:514\n"           // 6
       "    framing: lines\n"                  // 7
       "    max_connections: 0\n"              // 8
       "    max_connections_per_peer: lots\n"  // 9
       "    idle_timeout: 5\n"                 // 10
       "    tls: {cert_file: x}\n");           // 11
  EXPECT_TRUE(
      has(7, 14, "invalid framing 'lines' (expected one of: auto, octet-counting, newline)"))
      << all();
  EXPECT_TRUE(has(8, 22, "invalid max_connections '0' (expected an integer from 1 to 1000000)"))
      << all();
  EXPECT_TRUE(has(9, 31,
                  "invalid max_connections_per_peer 'lots' (expected an integer from 1 to "
                  "1000000)"))
      << all();
  EXPECT_TRUE(has(10, 19,
                  "invalid duration '5' for 'idle_timeout' (expected a positive integer and a "
                  "unit: ms, s, m, h or d, as in 5m)"))
      << all();
  EXPECT_TRUE(has(11, 5, "key 'tls' applies only to a source with protocol: tls")) << all();
  EXPECT_EQ(diags_.size(), 5u) << all();

  load(std::string(kSyslogHead) +
       "    protocol: udp\n"
       "    listen: 127.0.0.1:514\n"
       "    framing: newline\n");
  expectOnly(7, 5,
             "key 'framing' does not apply to a udp source (each datagram is one message; there "
             "are no connections)");
}

TEST_F(ConfigTest, SyslogTlsFilesMustExist) {
  write("cert", "server.pem");
  load(std::string(kSyslogHead) +
       "    protocol: tls\n"            // 5
       "    listen: 127.0.0.1:6514\n"   // 6
       "    tls:\n"                     // 7
       "      cert_file: server.pem\n"  // 8
       "      key_file: missing.key\n"  // 9
       "      allowed_peers: [a]\n");   // 10
  EXPECT_TRUE(has(
      9, 17, "'key_file': " + (dir_ / "missing.key").string() + " does not exist or is not a file"))
      << all();
  EXPECT_TRUE(has(10, 7,
                  "'allowed_peers' needs 'ca_file': peer names are read from client "
                  "certificates verified against it"))
      << all();
  EXPECT_EQ(diags_.size(), 2u) << all();

  load(std::string(kSyslogHead) + "    protocol: tls\n    listen: 127.0.0.1:6514\n");
  expectOnly(3, 5,
             "missing required key 'tls' in syslog source with protocol: tls (cert_file, "
             "key_file, ca_file)");

  load(std::string(kSyslogHead) +
       "    protocol: tls\n    listen: 127.0.0.1:6514\n    tls: {ca_file: server.pem}\n");
  EXPECT_TRUE(has(7, 10, "missing required key 'cert_file' in tls")) << all();
  EXPECT_TRUE(has(7, 10, "missing required key 'key_file' in tls")) << all();
}

TEST_F(ConfigTest, TwoSyslogSourcesCannotShareASocket) {
  load(
      "rules: [/etc/trailwatch/rules]\n"  // 1
      "sources:\n"                        // 2
      "  - {name: a, type: syslog, protocol: tcp, listen: \"127.0.0.1:514\"}\n"
      "  - {name: b, type: syslog, protocol: udp, listen: \"127.0.0.1:514\"}\n"
      "  - {name: c, type: syslog, protocol: tls, listen: \"127.0.0.1:514\", tls: {}}\n");
  EXPECT_TRUE(has(5, 52, "another source already listens on tcp 127.0.0.1:514 (at 3:52)")) << all();
}

TEST_F(ConfigTest, NatsSourceLoadsItsKeysWithDefaults) {
  auto c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: bus\n"
      "    type: nats\n"
      "    url: nats://127.0.0.1:4222,nats://10.0.0.2:4222\n"
      "    stream: AUDIT\n"
      "    subject: \"audit.ehr.>\"\n"
      "    consumer: trailwatch\n"
      "    creds_file: tw.creds\n"
      "    batch: 100\n"
      "    ack_wait: 1m\n"
      "    max_ack_pending: 5000\n"
      "    create_consumer: false\n"
      "    format: json\n");
  ASSERT_TRUE(c.has_value()) << all();
  const auto& s = c->sources[0];
  EXPECT_EQ(s.type, "nats");
  EXPECT_EQ(s.nats.url, "nats://127.0.0.1:4222,nats://10.0.0.2:4222");
  EXPECT_EQ(s.nats.stream, "AUDIT");
  EXPECT_EQ(s.nats.subject, "audit.ehr.>");
  EXPECT_EQ(s.nats.consumer, "trailwatch");
  EXPECT_EQ(s.nats.creds_file, (dir_ / "tw.creds").string());
  EXPECT_EQ(s.nats.batch, 100u);
  EXPECT_EQ(s.nats.ack_wait, milliseconds(60'000));
  EXPECT_EQ(s.nats.max_ack_pending, 5000u);
  EXPECT_FALSE(s.nats.create_consumer);
  EXPECT_FALSE(s.start_at_end);  // a stream is read from its start unless told

  c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: bus\n"
      "    type: nats\n"
      "    url: nats://nats:4222\n"
      "    stream: AUDIT\n"
      "    consumer: tw\n"
      "    start_at: end\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_TRUE(c->sources[0].nats.subject.empty());
  EXPECT_TRUE(c->sources[0].nats.create_consumer);
  EXPECT_EQ(c->sources[0].nats.batch, 256u);
  EXPECT_EQ(c->sources[0].nats.ack_wait, milliseconds(30'000));
  EXPECT_TRUE(c->sources[0].start_at_end);
}

TEST_F(ConfigTest, NatsSourceRejectsBadValues) {
  load(
      "rules: [/r]\n"                      // 1
      "checkpoint_interval: 2s\n"          // 2
      "sources:\n"                         // 3
      "  - name: bus\n"                    // 4
      "    type: nats\n"                   // 5
      "    url: http://127.0.0.1:4222\n"   // 6
      "    stream: AU.DIT\n"               // 7
      "    subject: \"audit..x\"\n"        // 8
      "    consumer: \"tw*\"\n"            // 9
      "    batch: 0\n"                     // 10
      "    ack_wait: 3s\n"                 // 11
      "    create_consumer: maybe\n"       // 12
      "    paths: [/x]\n"                  // 13
      "  - name: bus2\n"                   // 14
      "    type: nats\n"                   // 15
      "    url: tls://127.0.0.1:4222\n");  // 16
  EXPECT_TRUE(has(6, 10, "invalid url: 'http://127.0.0.1:4222' is not a nats:// URL")) << all();
  EXPECT_TRUE(has(7, 13,
                  "invalid stream name 'AU.DIT': allowed characters: letters, digits, '-' and "
                  "'_'"))
      << all();
  EXPECT_TRUE(has(8, 14, "invalid subject: empty token in subject 'audit..x'")) << all();
  EXPECT_TRUE(
      has(9, 15, "invalid consumer name 'tw*': allowed characters: letters, digits, '-' and '_'"))
      << all();
  EXPECT_TRUE(has(10, 12, "invalid batch '0' (expected an integer from 1 to 10000)")) << all();
  EXPECT_TRUE(has(11, 15,
                  "ack_wait must be at least twice checkpoint_interval (2000ms): messages are "
                  "acknowledged at checkpoints, and would be redelivered while waiting"))
      << all();
  EXPECT_TRUE(has(12, 22, "'create_consumer' must be true or false")) << all();
  EXPECT_TRUE(has(13, 5, "key 'paths' does not apply to a nats source")) << all();
  EXPECT_TRUE(has(16, 10, "invalid url: tls:// is not supported by this build (use nats://)"))
      << all();
  EXPECT_TRUE(
      has(14, 5, "missing required key 'stream' in nats source (the JetStream stream to read)"))
      << all();
}

TEST_F(ConfigTest, NatsSourcePartitions) {
  auto c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: bus\n"
      "    type: nats\n"
      "    url: nats://nats:4222\n"
      "    stream: AUDIT\n"
      "    subject: audit.ehr\n"
      "    consumer: tw\n"
      "    partitions: 8\n"
      "    instance: host-a\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->sources[0].nats.partitions, 8u);
  EXPECT_EQ(c->sources[0].nats.lease, milliseconds(6000));
  EXPECT_EQ(c->sources[0].nats.lease_bucket, "tw-leases");
  EXPECT_EQ(c->sources[0].nats.instance, "host-a");

  load(
      "rules: [/r]\n"                // 1
      "sources:\n"                   // 2
      "  - name: bus\n"              // 3
      "    type: nats\n"             // 4
      "    url: nats://nats:4222\n"  // 5
      "    stream: AUDIT\n"          // 6
      "    subject: \"audit.>\"\n"   // 7
      "    consumer: tw\n"           // 8
      "    partitions: 0\n"          // 9
      "    lease: 100ms\n"           // 10
      "    lease_bucket: \"a.b\"\n"  // 11
      "    instance: \"h 1\"\n"      // 12
      "  - name: bus2\n"             // 13
      "    type: nats\n"             // 14
      "    url: nats://nats:4222\n"  // 15
      "    stream: AUDIT\n"          // 16
      "    consumer: tw2\n"          // 17
      "    lease: 6s\n");            // 18
  EXPECT_TRUE(has(9, 17, "invalid partitions '0' (expected an integer from 1 to 1024)")) << all();
  EXPECT_TRUE(has(7, 14,
                  "with 'partitions' the subject is the base of <subject>.<k> and takes no "
                  "wildcards"))
      << all();
  EXPECT_TRUE(has(11, 19,
                  "invalid lease_bucket name 'a.b': allowed characters: letters, digits, '-' "
                  "and '_'"))
      << all();
  EXPECT_TRUE(
      has(12, 15, "invalid instance 'h 1': allowed characters: letters, digits, '-' and '_'"))
      << all();
  EXPECT_TRUE(has(18, 12, "'lease' applies only with 'partitions'")) << all();
  EXPECT_TRUE(has(10, 12,
                  "invalid duration '100ms' for 'lease' (expected a positive integer and a unit: "
                  "ms, s, m, h or d, from 1000ms to 300000ms)"))
      << all();
}

TEST_F(ConfigTest, NatsOutputAndForwardSection) {
  auto c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: ehr\n"
      "    paths: /var/log/ehr/*.ndjson\n"
      "outputs:\n"
      "  - type: nats\n"
      "    name: bus\n"
      "    url: nats://127.0.0.1:4222\n"
      "    subject: alerts.trailwatch\n"
      "forward:\n"
      "  url: nats://127.0.0.1:4222\n"
      "  subject: audit.ehr\n"
      "  partition_key: user.id\n"
      "  partitions: 16\n"
      "  sources: [ehr]\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_EQ(c->outputs[0].type, "nats");
  EXPECT_EQ(c->outputs[0].subject, "alerts.trailwatch");
  EXPECT_EQ(c->outputs[0].batch_max, 64u);
  ASSERT_TRUE(c->forward.has_value());
  EXPECT_EQ(c->forward->subject, "audit.ehr");
  EXPECT_EQ(c->forward->partition_key, "user.id");
  EXPECT_EQ(c->forward->partitions, 16u);
  EXPECT_EQ(c->forward->sources, std::vector<std::string>{"ehr"});
}

TEST_F(ConfigTest, NatsOutputAndForwardRejectBadValues) {
  load(
      "rules: [/r]\n"                       // 1
      "sources:\n"                          // 2
      "  - name: ehr\n"                     // 3
      "    paths: /var/log/ehr/*.ndjson\n"  // 4
      "outputs:\n"                          // 5
      "  - type: nats\n"                    // 6
      "    url: nats://127.0.0.1:4222\n"    // 7
      "    subject: \"alerts.*\"\n"         // 8
      "    headers: {X: y}\n"               // 9
      "  - type: webhook\n"                 // 10
      "    url: http://127.0.0.1:9/\n"      // 11
      "    subject: alerts\n"               // 12
      "forward:\n"                          // 13
      "  subject: audit\n"                  // 14
      "  partitions: 4\n"                   // 15
      "  sources: [ehr, nope]\n");          // 16
  EXPECT_TRUE(has(8, 14, "invalid subject: subject 'alerts.*' holds a wildcard")) << all();
  EXPECT_TRUE(has(9, 5, "key 'headers' does not apply to a nats output")) << all();
  EXPECT_TRUE(has(12, 5, "key 'subject' does not apply to a webhook output")) << all();
  EXPECT_TRUE(has(14, 3, "missing required key 'url' in forward (nats://host:4222)")) << all();
  EXPECT_TRUE(has(15, 3, "'partitions' needs 'partition_key' (the field records are split by)"))
      << all();
  EXPECT_TRUE(has(16, 18, "forward: no source named 'nope'")) << all();
}

TEST_F(ConfigTest, JournaldSourceTurnsUnitsIdentifiersAndMatchesIntoJournalMatches) {
  auto c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: journal\n"
      "    type: journald\n"
      "    directory: remote\n"
      "    units: [sshd, cron.service, getty@tty1.service]\n"
      "    identifiers: sudo\n"
      "    matches: [\"_TRANSPORT=audit\", \"PRIORITY=\"]\n"
      "    record: message\n"
      "    format: kv\n"
      "    start_at: beginning\n");
  ASSERT_TRUE(c.has_value()) << all();
  const auto& s = c->sources[0];
  EXPECT_EQ(s.type, "journald");
  EXPECT_TRUE(s.paths.empty());
  EXPECT_EQ(s.journal_directory, (dir_ / "remote").string());
  EXPECT_EQ(s.journal_matches,
            (std::vector<std::string>{"_SYSTEMD_UNIT=sshd.service", "_SYSTEMD_UNIT=cron.service",
                                      "_SYSTEMD_UNIT=getty@tty1.service", "SYSLOG_IDENTIFIER=sudo",
                                      "_TRANSPORT=audit", "PRIORITY="}));
  EXPECT_EQ(s.journal_record, "message");
  EXPECT_FALSE(s.start_at_end);

  c = load(
      "rules: [/r]\n"
      "sources:\n"
      "  - name: journal\n"
      "    type: journald\n");
  ASSERT_TRUE(c.has_value()) << all();
  EXPECT_TRUE(c->sources[0].journal_directory.empty());
  EXPECT_TRUE(c->sources[0].journal_matches.empty());
  EXPECT_EQ(c->sources[0].journal_record, "json");
}

TEST_F(ConfigTest, JournaldSourceRejectsBadValuesAndFileKeys) {
  load(
      "rules: [/r]\n"                                           // 1
      "sources:\n"                                              // 2
      "  - name: journal\n"                                     // 3
      "    type: journald\n"                                    // 4
      "    paths: [/var/log/x]\n"                               // 5
      "    units: [\"ssh*\", ok]\n"                             // 6
      "    matches: [NOEQUALS, lower=x, __CURSOR=1, \"=v\"]\n"  // 7
      "    record: xml\n"                                       // 8
      "    directory: ''\n"                                     // 9
      "    identifiers: []\n");                                 // 10
  EXPECT_TRUE(has(5, 5, "key 'paths' does not apply to a journald source")) << all();
  EXPECT_TRUE(has(6, 13,
                  "invalid unit name 'ssh*' (letters, digits and ':-_.\\@' only; globs are not "
                  "supported)"))
      << all();
  EXPECT_TRUE(has(7, 15, "invalid journal match 'NOEQUALS': expected FIELD=value")) << all();
  EXPECT_TRUE(has(7, 25,
                  "invalid journal match 'lower=x': field name 'lower' may hold only upper-case "
                  "letters, digits and '_'"))
      << all();
  EXPECT_TRUE(has(7, 34,
                  "invalid journal match '__CURSOR=1': field '__CURSOR' is the journal's own and "
                  "cannot be matched"))
      << all();
  EXPECT_TRUE(has(7, 46, "invalid journal match '=v': the field name is missing before '='"))
      << all();
  EXPECT_TRUE(has(8, 13, "invalid record 'xml' (expected one of: json, message)")) << all();
  EXPECT_TRUE(has(9, 16, "'directory' must not be empty")) << all();
  EXPECT_TRUE(has(10, 18, "'identifiers' must not be empty")) << all();
  EXPECT_EQ(diags_.size(), 9u) << all();
}

TEST_F(ConfigTest, FileSourceRejectsJournaldKeys) {
  load(std::string(kMinimal) +
       "    units: [sshd]\n"      // 5
       "    record: message\n");  // 6
  EXPECT_TRUE(has(5, 5, "key 'units' does not apply to a file source")) << all();
  EXPECT_TRUE(has(6, 5, "key 'record' does not apply to a file source")) << all();
  EXPECT_EQ(diags_.size(), 2u) << all();
}

// A pseudonym key file only its owner and group can read.
std::string writeKey(const fs::path& dir, const std::string& name, const std::string& key,
                     fs::perms perms = fs::perms::owner_read | fs::perms::owner_write |
                                       fs::perms::group_read) {
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << key;
  fs::permissions(path, perms);
  return path.string();
}

TEST_F(ConfigTest, RedactionLoadsPerOutput) {
  writeKey(dir_, "redact.key", "0123456789abcdef0123456789abcdef\n");
  auto c = load(std::string(kMinimal) +
                "outputs:\n"
                "  - type: file\n"
                "    path: alerts.jsonl\n"
                "  - type: stdout\n"
                "    redact:\n"
                "      drop: [user.name, 'patient.*']\n"
                "      pseudonymize: patient.id\n"
                "      key_file: redact.key\n"
                "      records: redact\n"
                "  - type: file\n"
                "    path: chat.jsonl\n"
                "    redact: {drop: [patient.id]}\n");
  ASSERT_TRUE(c) << all();
  ASSERT_EQ(c->outputs.size(), 3u);
  EXPECT_FALSE(c->outputs[0].redact);
  ASSERT_TRUE(c->outputs[1].redact);
  const RedactConfig& r = *c->outputs[1].redact;
  EXPECT_EQ(r.drop, (std::vector<std::string>{"user.name", "patient.*"}));
  EXPECT_EQ(r.pseudonymize, std::vector<std::string>{"patient.id"});
  EXPECT_EQ(r.key_file, (dir_ / "redact.key").string());
  EXPECT_TRUE(r.redact_records);
  ASSERT_TRUE(c->outputs[2].redact);
  EXPECT_TRUE(c->outputs[2].redact->key_file.empty());
  EXPECT_FALSE(c->outputs[2].redact->redact_records);
}

TEST_F(ConfigTest, RedactionNeedsFieldsAndAKeyToPseudonymize) {
  const std::string head = std::string(kMinimal) +  // 1-4
                           "outputs:\n"             // 5
                           "  - type: stdout\n"     // 6
                           "    redact:\n";         // 7
  load(head + "      pseudonymize: [patient.id]\n");
  expectOnly(8, 7,
             "missing required key 'key_file' in redact (the HMAC key that 'pseudonymize' "
             "needs)");
  load(head + "      records: drop\n");
  expectOnly(7, 5, "'redact' needs 'drop' or 'pseudonymize' (the fields to redact)");
  load(head + "      drop: [patient.id]\n      key_file: k\n");
  expectOnly(9, 7, "'key_file' is only used with 'pseudonymize'");
  load(std::string(kMinimal) + "outputs:\n  - type: stdout\n    redact: [patient.id]\n");
  expectOnly(7, 13, "'redact' must be a mapping (drop, pseudonymize, key_file, records)");
  load(head + "      drop: [patient.id]\n      records: keep\n");
  expectOnly(9, 16, "invalid records 'keep' (expected one of: drop, redact)");
  load(head + "      drop: []\n");
  expectOnly(8, 13, "'drop' must not be empty");
  load(head + "      drop: ['patient id']\n");
  expectOnly(8, 13,
             "invalid field name 'patient id' in 'drop' (a field path such as patient.id, or a "
             "pattern such as patient.*)");
  load(head + "      dorp: [patient.id]\n");
  EXPECT_TRUE(has(8, 7,
                  "unknown key 'dorp' in redact (expected one of: drop, pseudonymize, key_file, "
                  "records)"))
      << all();
  writeKey(dir_, "good.key", std::string(32, 'k'));
  load(head +
       "      drop: [patient.id, user.id]\n      pseudonymize: [user.id]\n"
       "      key_file: good.key\n");
  expectOnly(9, 21, "field 'user.id' is both in 'drop' and in 'pseudonymize' (choose one)");
}

TEST_F(ConfigTest, RedactionKeyFileIsCheckedAtLoad) {
  const std::string head = std::string(kMinimal) +               // 1-4
                           "outputs:\n"                          // 5
                           "  - type: stdout\n"                  // 6
                           "    redact:\n"                       // 7
                           "      pseudonymize: [patient.id]\n"  // 8
                           "      key_file: ";                   // 9, value at column 17
  const std::string missing = (dir_ / "missing.key").string();
  load(head + "missing.key\n");
  expectOnly(9, 17, "key file " + missing + " does not exist");

  const std::string shortKey = writeKey(dir_, "short.key", "Jefe\n");
  load(head + "short.key\n");
  expectOnly(9, 17,
             "key file " + shortKey +
                 " holds 4 byte(s); a pseudonym key needs at least 16 (e.g. openssl rand -hex 32 "
                 "> " +
                 shortKey + ")");

  const std::string open =
      writeKey(dir_, "open.key", std::string(32, 'k'),
               fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  load(head + "open.key\n");
  expectOnly(9, 17,
             "key file " + open +
                 " is readable or writable by every user; whoever reads it can re-identify "
                 "pseudonyms (chmod o-rw it, e.g. mode 0640 for root:trailwatch)");

  fs::create_directories(dir_ / "folder.key");
  load(head + "folder.key\n");
  expectOnly(9, 17, "key file " + (dir_ / "folder.key").string() + " is not a regular file");

  writeKey(dir_, "good.key", std::string(32, 'k'));
  EXPECT_TRUE(load(head + "good.key\n")) << all();
}

TEST(ParseDuration, AcceptsEachUnit) {
  EXPECT_EQ(parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(parseDuration("1s"), milliseconds(1000));
  EXPECT_EQ(parseDuration("5m"), milliseconds(5 * 60 * 1000));
  EXPECT_EQ(parseDuration("2h"), milliseconds(2 * 3600 * 1000));
  EXPECT_EQ(parseDuration("1d"), milliseconds(24 * 3600 * 1000));
  EXPECT_EQ(parseDuration("90s"), milliseconds(90000));
}

TEST(ParseDuration, RefusesMalformedText) {
  for (const char* bad :
       {"", "s", "ms", "0s", "0ms", "-1s", "+1s", "1", "1.5s", "1 s", " 1s", "1s ", "1sec", "1S",
        "1ms5", "1y", "99999999999999999999s", "9999999999999999d"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace trailwatch::config
