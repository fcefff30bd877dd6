// Integration-test harness: what a test needs to drive the real `trailwatch`
// binary against real files and a real HTTP endpoint, and to clean up after
// itself.
//
// - TempDir: a private directory per test, removed recursively at the end
//   (kept when TRAILWATCH_IT_KEEP=1, to look at after a failure).
// - Process: a child with argv, extra environment, stdin from a file and
//   stdout/stderr captured in files; the destructor kills (SIGKILL) and
//   reaps it, so no test leaves a daemon behind, even when it fails early.
// - waitFor: polls a condition every ~20 ms until it holds or time runs
//   out. Tests wait for conditions; they never assert how fast they came.
// - File helpers (appendLine writes the whole line in one write(2), no
//   user-space buffering, so the daemon never sees a half-written record
//   unless a test asks for one), freePort, httpGet, a Prometheus text
//   parser and an alert (JSON line) parser built on simdjson.
//
// Thread-safety: none of this is shared between threads. Process must be
// started and destroyed on the test's main thread (see Process).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trailwatch::it {

using namespace std::chrono_literals;

// Path of the trailwatch binary under test (set by CMake).
const char* trailwatchBinary();
// The repository root (set by CMake).
const char* sourceDir();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative.
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::vector<std::string> env;   // "KEY=value" entries added to this process's environment
  std::string stdin_path;         // empty: /dev/null
  std::string stdout_path;        // required
  std::string stderr_path;        // required
  std::string cwd;                // empty: inherit
};

// A child process. It is started with fork + execve rather than
// posix_spawn so that the child can ask the kernel to SIGKILL it when the
// test process dies (PR_SET_PDEATHSIG): a test binary killed by ctest's
// timeout must not leave a daemon running. The death signal is tied to the
// thread that started the child, hence "start it on the test's main thread".
class Process {
 public:
  explicit Process(const ProcessOptions& options);
  ~Process();  // SIGKILL and reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // True until the child has been reaped by wait()/exited().
  bool running();
  void signal(int sig);
  void kill9();
  // Waits for the child to end. Returns its exit code, or 128 + signal
  // number when a signal ended it; nullopt when `timeout` passed first.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  std::string stdoutText() const;
  std::string stderrText() const;
  const ProcessOptions& options() const { return options_; }

 private:
  bool reap(bool block);

  ProcessOptions options_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it did not finish in time
  std::string out;
  std::string err;
};

// Runs `args` (argv[0] included) to completion with `dir` holding the
// captured output files. Kills it after `timeout`.
RunResult runToCompletion(const std::vector<std::string>& args, const std::string& dir,
                          const std::string& stdin_path = "",
                          std::chrono::milliseconds timeout = 30s);

// Polls `predicate` every ~20 ms until it returns true (-> true) or
// `timeout` passes (-> false, after one last try).
bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

std::string readFile(const std::string& path);  // "" when absent
// Lines of the file; an unterminated last line (a write still in
// progress) is left out unless `include_partial`.
std::vector<std::string> readLines(const std::string& path, bool include_partial = false);
void writeFile(const std::string& path, const std::string& content);
// Writes `content` to a temporary name beside `path` and renames it over
// `path`, so a reader sees the old or the new content, never half of one.
void writeFileAtomic(const std::string& path, const std::string& content);
// Appends `line` + "\n" with a single write(2) on an O_APPEND descriptor.
void appendLine(const std::string& path, const std::string& line);
// Appends `data` as is (no newline added), in one write(2).
void appendRaw(const std::string& path, const std::string& data);
uint64_t fileSize(const std::string& path);

// A TCP socket listening on 127.0.0.1:port (SO_REUSEADDR, backlog 16), for
// receivers a test runs itself; -1 if it cannot be bound.
int listenOnLoopback(int port);
// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0,
// read back, closed).
int freePort();

// Certificates for TLS tests, made with the openssl command in one folder:
// NAME.pem and NAME.key (EC P-256, valid two days). Each call returns false
// when openssl failed; errors() says why.
class CertificateMaker {
 public:
  explicit CertificateMaker(std::string dir) : dir_(std::move(dir)) {}
  // A self-signed CA certificate.
  bool ca(const std::string& name);
  // A certificate for `cn` signed by the CA `signer`, with subjectAltName
  // `san` ("DNS:a,IP:127.0.0.1") and extendedKeyUsage `usage`
  // (serverAuth or clientAuth).
  bool leaf(const std::string& name, const std::string& signer, const std::string& cn,
            const std::string& san, const std::string& usage);
  const std::string& errors() const { return errors_; }

 private:
  bool run(const std::vector<std::string>& args);
  std::string dir_;
  std::string errors_;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};
// Plain HTTP/1.0 GET; nullopt when the connection fails or times out.
std::optional<HttpResponse> httpGet(const std::string& host, int port, const std::string& path);

// Prometheus text exposition format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::vector<Sample> parsePrometheusText(const std::string& body);
// Sum of the samples named `name` whose labels include every pair in
// `labels`; nullopt when no sample matches.
std::optional<double> metricValue(const std::string& body, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});
std::vector<Sample> metricSamples(const std::string& body, const std::string& name);

// One alert line as written by trailwatch's sinks.
struct Alert {
  std::string line;    // as read
  bool valid = false;  // a JSON object with the documented shape
  std::string error;   // why not, when !valid
  std::string timestamp;
  std::string rule_id, rule_title, rule_level;
  std::vector<std::string> tags, controls;
  std::string event_json;  // the "event" object, minified
  std::string source_name, source_file;
  uint64_t source_offset = 0;
  std::string detected_at;

  // The value at `path` in "event": a key equal to the whole dotted path
  // (a rule's `fields`), else the nested path in the embedded record.
  // Strings come back unquoted, integral numbers without a fraction,
  // anything else as minified JSON; nullopt when absent.
  std::optional<std::string> field(const std::string& path) const;
  // event.sequence as an integer, when present.
  std::optional<int64_t> sequence() const;
};
std::vector<Alert> parseAlerts(const std::string& text);  // one per complete line
// A JSON object's top-level number members (others are left out); nullopt
// when `text` is not a JSON object. For the `scan` summary line.
std::optional<std::map<std::string, double>> parseJsonNumbers(const std::string& text);
std::vector<Alert> parseAlertsFile(const std::string& path);

}  // namespace trailwatch::it
