// End to end with a real PostgreSQL 15 and pgaudit: the test starts its own
// server (initdb into a TempDir, loopback on a free port, unix socket in
// the TempDir, logging_collector writing a stderr log with Debian's
// log_line_prefix), creates a patients table, runs reads and writes as two
// roles through psql while `trailwatch run` tails the server's log, then
// also runs `trailwatch scan --format pgaudit` over the
// server's log and checks that every audited statement is reported with the
// right user, object and action.
//
// Skips, with the reason, when PostgreSQL 15 or the pgaudit extension
// (Debian package postgresql-15-pgaudit) is not installed. PostgreSQL
// refuses to run as root: as root the server runs as `nobody` (setpriv
// keeps the pid, so Process can still stop it).
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

const std::string kPgBin = "/usr/lib/postgresql/15/bin";
const std::string kPgLib = "/usr/lib/postgresql/15/lib";
constexpr const char* kRuleId = "5b0e7a0c-1a11-4c4b-9f31-6e1d0000f001";

std::string lastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

class PgauditEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"initdb", "postgres", "psql"}) {
      if (!std::filesystem::exists(kPgBin + "/" + tool)) {
        GTEST_SKIP() << "PostgreSQL 15 is not installed (" << kPgBin << "/" << tool
                     << " missing; Debian package postgresql-15)";
      }
    }
    if (!std::filesystem::exists(kPgLib + "/pgaudit.so")) {
      GTEST_SKIP() << "pgaudit is not installed (" << kPgLib
                   << "/pgaudit.so missing; Debian package postgresql-15-pgaudit)";
    }
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      if (nobody == nullptr || !std::filesystem::exists("/usr/bin/setpriv")) {
        GTEST_SKIP() << "running as root without user `nobody` or setpriv: cannot start "
                        "PostgreSQL, which refuses to run as root";
      }
      run_as_ = {"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                 "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups", "--"};
      // The server's user must reach its data, socket and log folders.
      for (const auto& p : {dir_.path(), data_, sockets_, logs_}) {
        std::filesystem::create_directories(p);
        ASSERT_EQ(::chown(p.c_str(), nobody->pw_uid, nobody->pw_gid), 0) << p;
      }
    } else {
      for (const auto& p : {data_, sockets_, logs_}) std::filesystem::create_directories(p);
    }
    ::chmod(data_.c_str(), 0700);

    RunResult init = runAsServerUser({kPgBin + "/initdb", "-D", data_, "-U", "postgres",
                                      "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"});
    ASSERT_EQ(init.exit_code, 0) << "initdb failed:\n" << init.out << init.err;

    port_ = freePort();
    std::vector<std::string> argv = run_as_;
    argv.insert(argv.end(),
                {kPgBin + "/postgres", "-D", data_, "-c", "port=" + std::to_string(port_), "-c",
                 "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + sockets_, "-c",
                 "shared_preload_libraries=pgaudit", "-c", "pgaudit.log=read,write,ddl,role",
                 // One audit record per relation, so reads and writes name their table.
                 "-c", "pgaudit.log_relation=on", "-c", "log_destination=stderr", "-c",
                 "logging_collector=on", "-c", "log_directory=" + logs_, "-c",
                 "log_filename=postgresql.log", "-c", "log_line_prefix=%m [%p] %q%u@%d ", "-c",
                 "log_timezone=UTC", "-c", "lc_messages=C", "-c", "fsync=off"});
    ProcessOptions options;
    options.argv = argv;
    options.stdout_path = dir_ / "postgres.out";
    options.stderr_path = dir_ / "postgres.err";
    options.cwd = dir_.path();
    server_ = std::make_unique<Process>(options);
    ASSERT_TRUE(server_->started());
    const bool ready = waitFor(
        [&] {
          return readFile(logPath()).find("database system is ready to accept connections") !=
                 std::string::npos;
        },
        60s);
    ASSERT_TRUE(ready) << "PostgreSQL did not start:\n"
                       << server_->stderrText() << readFile(logPath());
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGINT);  // fast shutdown: ends the backends too
      server_->wait(30s);
    }
  }

  std::string logPath() const { return logs_ + "/postgresql.log"; }

  RunResult runAsServerUser(const std::vector<std::string>& command) {
    std::vector<std::string> argv = run_as_;
    argv.insert(argv.end(), command.begin(), command.end());
    return runToCompletion(argv, dir_.path(), "", 60s);
  }

  // Runs `sql` (a file's worth of statements) as `user` through psql.
  void psql(const std::string& user, const std::string& sql) {
    const std::string file = dir_ / ("script-" + std::to_string(++scripts_) + ".sql");
    writeFile(file, sql);
    ::chmod(file.c_str(), 0644);
    const RunResult r =
        runToCompletion({kPgBin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sockets_,
                         "-p", std::to_string(port_), "-U", user, "-d", "clinic", "-f", file},
                        dir_.path(), "", 60s);
    ASSERT_EQ(r.exit_code, 0) << "psql as " << user << " failed:\n" << r.out << r.err;
  }

  TempDir dir_;
  std::string data_ = dir_ / "data";
  std::string sockets_ = dir_ / "sock";
  std::string logs_ = dir_ / "log";
  std::vector<std::string> run_as_;
  int port_ = 0;
  int scripts_ = 0;
  std::unique_ptr<Process> server_;
};

struct Expected {
  std::string user, object, action, statement_start;
};

TEST_F(PgauditEndToEnd, RunTailingTheLogAndScanReportEveryAuditedStatement) {
  const std::string rules = dir_ / "rules";
  std::filesystem::create_directories(rules);
  writeFile(rules + "/pgaudit.yml",
            std::string("title: IT every database audit record\n"
                        "id: ") +
                kRuleId +
                "\n"
                "status: test\n"
                "level: low\n"
                "tags: [hipaa.164.312.b]\n"
                "logsource: {product: postgresql, service: pgaudit}\n"
                "detection:\n"
                "  selection:\n"
                "    event.category: database\n"
                "  condition: selection\n"
                "fields: [db.user, db.name, db.object, event.action, db.command, db.statement, "
                "pgaudit.audit_type]\n");

  // The daemon follows the server's log file from before the first audited
  // statement, as on a database host.
  const int metrics_port = freePort();
  const std::string alerts_path = dir_ / "alerts.jsonl";
  writeFile(dir_ / "trailwatch.yaml",
            "state_dir: ./tw-state\n"
            "rules: [./rules]\n"
            "checkpoint_interval: 200ms\n"
            "sources:\n"
            "  - name: postgres\n"
            "    paths: [\"" +
                logPath() +
                "\"]\n"
                "    format: pgaudit\n"
                "    start_at: beginning\n"
                "    logsource: {product: postgresql, service: pgaudit}\n"
                "outputs:\n"
                "  - type: file\n"
                "    path: ./alerts.jsonl\n"
                "metrics:\n"
                "  listen: 127.0.0.1:" +
                std::to_string(metrics_port) + "\n");
  ProcessOptions daemon_options;
  daemon_options.argv = {trailwatchBinary(), "run", "-c", dir_ / "trailwatch.yaml"};
  daemon_options.stdout_path = dir_ / "trailwatch.out";
  daemon_options.stderr_path = dir_ / "trailwatch.err";
  daemon_options.cwd = dir_.path();
  Process daemon(daemon_options);
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(waitFor(
      [&] {
        return readFile(dir_ / "trailwatch.err").find("trailwatch running") != std::string::npos;
      },
      30s))
      << readFile(dir_ / "trailwatch.err");

  // Setup as the superuser: the extension (DDL object names), two roles and
  // the table they share.
  {
    const RunResult r = runToCompletion(
        {kPgBin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sockets_, "-p",
         std::to_string(port_), "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE clinic"},
        dir_.path(), "", 60s);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  psql("postgres",
       "CREATE EXTENSION pgaudit;\n"
       "CREATE ROLE dr_house LOGIN;\n"
       "CREATE ROLE clerk_amy LOGIN;\n"
       "CREATE TABLE public.patients (id int PRIMARY KEY, name text, ssn text);\n"
       "GRANT SELECT, INSERT, UPDATE, DELETE ON public.patients TO dr_house, clerk_amy;\n");
  psql("clerk_amy",
       "INSERT INTO patients VALUES (1, 'Ann', '111-22-3333');\n"
       "INSERT INTO patients VALUES (2, 'O''Brien, \"Bo\"', '222-33-4444');\n"
       "DELETE FROM patients WHERE id = 2;\n");
  psql("dr_house",
       "SELECT name FROM patients WHERE id = 1;\n"
       "SELECT id,\n"
       "       ssn\n"
       "  FROM patients;\n"
       "UPDATE patients SET name = 'Ann, \"the\" patient' WHERE id = 1;\n");
  // Wait until the last statement's audit record is in the log.
  ASSERT_TRUE(
      waitFor([&] { return readFile(logPath()).find("UPDATE,TABLE") != std::string::npos; }, 30s))
      << readFile(logPath());
  const RunResult r = runToCompletion(
      {trailwatchBinary(), "scan", "--format", "pgaudit", "--rules", rules, logPath()}, dir_.path(),
      "", 60s);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << "\n" << r.err;
  const auto alerts = parseAlerts(r.out);
  for (const auto& a : alerts) EXPECT_TRUE(a.valid) << a.error << ": " << a.line;

  const std::vector<Expected> expected = {
      {"postgres", "public.patients", "ddl", "CREATE TABLE public.patients"},
      // pgaudit names no object for GRANT (object type TABLE, empty name).
      {"postgres", "", "role", "GRANT SELECT, INSERT, UPDATE, DELETE"},
      {"clerk_amy", "public.patients", "write", "INSERT INTO patients VALUES (1, 'Ann'"},
      {"clerk_amy", "public.patients", "write",
       "INSERT INTO patients VALUES (2, 'O''Brien, \"Bo\"'"},
      {"clerk_amy", "public.patients", "write", "DELETE FROM patients WHERE id = 2"},
      {"dr_house", "public.patients", "read", "SELECT name FROM patients WHERE id = 1"},
      // Spans three log lines (tab-continued): one event, newlines kept.
      {"dr_house", "public.patients", "read", "SELECT id,\n       ssn\n  FROM patients"},
      {"dr_house", "public.patients", "write", "UPDATE patients SET name = 'Ann, \"the\" patient'"},
  };
  for (const auto& e : expected) {
    bool found = false;
    for (const auto& a : alerts) {
      if (a.rule_id != kRuleId) continue;
      const auto statement = a.field("db.statement");
      const auto object = a.field("db.object");
      const bool object_ok = e.object.empty() ? (!object || *object == "null") : object == e.object;
      if (a.field("db.user") == e.user && object_ok && a.field("event.action") == e.action &&
          statement && statement->starts_with(e.statement_start)) {
        EXPECT_EQ(a.field("db.name"), "clinic");
        EXPECT_EQ(a.timestamp.substr(0, 2), "20") << a.line;  // the log's time, RFC 3339
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no alert for " << e.user << " " << e.action << " " << e.object << ": "
                       << e.statement_start << "\nalerts:\n"
                       << r.out << "\nlog:\n"
                       << readFile(logPath());
  }
  // Exactly one event per AUDIT record in the log; the tab-indented lines
  // that continue a record are part of it, every other line is counted as a
  // decode error (not_an_audit_record).
  int audit_records = 0, continuations = 0, others = 0;
  bool in_audit = false;
  for (const auto& line : readLines(logPath())) {
    if (line.find(" LOG:  AUDIT: ") != std::string::npos) {
      ++audit_records;
      in_audit = true;
    } else if (in_audit && line.starts_with('\t')) {
      ++continuations;
    } else {
      in_audit = false;
      ++others;
    }
  }
  EXPECT_EQ(continuations, 2);  // the three-line SELECT
  const auto summary = parseJsonNumbers(lastLine(r.err));
  ASSERT_TRUE(summary) << r.err;
  EXPECT_EQ(summary->at("events"), audit_records) << r.err;
  EXPECT_EQ(static_cast<int>(alerts.size()), audit_records);
  EXPECT_EQ(summary->at("decode_errors"), others) << r.err;

  // The daemon tailing the live log raised the same alerts, each once.
  EXPECT_TRUE(waitFor([&] { return parseAlertsFile(alerts_path).size() >= alerts.size(); }, 30s))
      << readFile(alerts_path) << readFile(dir_ / "trailwatch.err");
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(15s), 0) << readFile(dir_ / "trailwatch.err");
  const auto tailed = parseAlertsFile(alerts_path);
  ASSERT_EQ(tailed.size(), alerts.size()) << readFile(alerts_path);
  for (size_t i = 0; i < alerts.size(); ++i) {
    EXPECT_EQ(tailed[i].field("db.user"), alerts[i].field("db.user")) << tailed[i].line;
    EXPECT_EQ(tailed[i].field("db.object"), alerts[i].field("db.object")) << tailed[i].line;
    EXPECT_EQ(tailed[i].field("event.action"), alerts[i].field("event.action")) << tailed[i].line;
    EXPECT_EQ(tailed[i].field("db.statement"), alerts[i].field("db.statement")) << tailed[i].line;
  }
}

}  // namespace
}  // namespace trailwatch::it
