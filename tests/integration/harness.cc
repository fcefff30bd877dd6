#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <simdjson.h>

extern char** environ;

namespace trailwatch::it {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void writeAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write " + path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

const char* trailwatchBinary() { return TRAILWATCH_BINARY; }
const char* sourceDir() { return TRAILWATCH_SOURCE_DIR; }

// ---------------------------------------------------------------- TempDir

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/trailwatch-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp " + tmpl);
  // Canonical, so paths the daemon reports (it makes them absolute and
  // normal) compare equal to the ones the test builds.
  path_ = std::filesystem::canonical(tmpl).string();
}

TempDir::~TempDir() {
  const char* keep = std::getenv("TRAILWATCH_IT_KEEP");
  if (keep != nullptr && std::string(keep) == "1") {
    std::fprintf(stderr, "[harness] kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// ---------------------------------------------------------------- Process

Process::Process(const ProcessOptions& options) : options_(options) {
  if (options_.argv.empty()) throw std::invalid_argument("Process: empty argv");
  // Everything the child needs is prepared before fork(): between fork and
  // execve only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (auto& a : options_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const auto& e : options_.env) env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string in = options_.stdin_path.empty() ? "/dev/null" : options_.stdin_path;
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGPIPE}) ::signal(sig, SIG_DFL);
    const int fd_in = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
    const int fd_out =
        ::open(options_.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int fd_err =
        ::open(options_.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0) ::_exit(126);
    if (::dup2(fd_in, 0) < 0 || ::dup2(fd_out, 1) < 0 || ::dup2(fd_err, 2) < 0) ::_exit(126);
    if (!options_.cwd.empty() && ::chdir(options_.cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

bool Process::reap(bool block) {
  if (status_) return true;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  if (WIFEXITED(st)) {
    status_ = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    status_ = 128 + WTERMSIG(st);
  } else {
    status_ = -1;
  }
  return true;
}

bool Process::running() { return pid_ > 0 && !reap(false); }

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void Process::kill9() { signal(SIGKILL); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  waitFor([this] { return reap(false); }, timeout);
  return status_;
}

std::string Process::stdoutText() const { return readFile(options_.stdout_path); }
std::string Process::stderrText() const { return readFile(options_.stderr_path); }

RunResult runToCompletion(const std::vector<std::string>& args, const std::string& dir,
                          const std::string& stdin_path, std::chrono::milliseconds timeout) {
  static int counter = 0;
  const std::string stem = dir + "/run" + std::to_string(++counter);
  ProcessOptions o;
  o.argv = args;
  o.stdin_path = stdin_path;
  o.stdout_path = stem + ".out";
  o.stderr_path = stem + ".err";
  Process p(o);
  RunResult r;
  if (auto code = p.wait(timeout)) {
    r.exit_code = *code;
  } else {
    p.kill9();
    p.wait(5s);
  }
  r.out = p.stdoutText();
  r.err = p.stderrText();
  return r;
}

// ---------------------------------------------------------------- waiting

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return predicate();
}

// ---------------------------------------------------------------- files

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> readLines(const std::string& path, bool include_partial) {
  const std::string text = readFile(path);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      if (include_partial) lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

void writeFile(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + path);
  writeAll(fd, content.data(), content.size(), path);
  ::close(fd);
}

void writeFileAtomic(const std::string& path, const std::string& content) {
  // The temporary name ends in ".tmp~" so no rule or log glob picks it up.
  const std::string tmp = path + ".tmp~";
  writeFile(tmp, content);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename " + tmp);
}

void appendRaw(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + path);
  writeAll(fd, data.data(), data.size(), path);
  ::close(fd);
}

void appendLine(const std::string& path, const std::string& line) { appendRaw(path, line + "\n"); }

uint64_t fileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

// ---------------------------------------------------------------- network

int listenOnLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {
const std::vector<std::string> kEcKey = {"-newkey", "ec", "-pkeyopt",
                                         "ec_paramgen_curve:prime256v1", "-nodes"};
}  // namespace

bool CertificateMaker::run(const std::vector<std::string>& args) {
  const RunResult r = runToCompletion(args, dir_);
  if (r.exit_code != 0) errors_ += r.err;
  return r.exit_code == 0;
}

bool CertificateMaker::ca(const std::string& name) {
  std::vector<std::string> a = {"/usr/bin/openssl", "req", "-x509"};
  a.insert(a.end(), kEcKey.begin(), kEcKey.end());
  a.insert(a.end(), {"-keyout", dir_ + "/" + name + ".key", "-out", dir_ + "/" + name + ".pem",
                     "-days", "2", "-subj", "/CN=" + name});
  return run(a);
}

bool CertificateMaker::leaf(const std::string& name, const std::string& signer,
                            const std::string& cn, const std::string& san,
                            const std::string& usage) {
  const std::string base = dir_ + "/" + name;
  std::vector<std::string> a = {"/usr/bin/openssl", "req"};
  a.insert(a.end(), kEcKey.begin(), kEcKey.end());
  a.insert(a.end(), {"-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + cn});
  writeFile(base + ".ext", "subjectAltName=" + san + "\nextendedKeyUsage=" + usage + "\n");
  return run(a) &&
         run({"/usr/bin/openssl", "x509", "-req", "-in", base + ".csr", "-CA",
              dir_ + "/" + signer + ".pem", "-CAkey", dir_ + "/" + signer + ".key",
              "-CAcreateserial", "-out", base + ".pem", "-days", "2", "-extfile", base + ".ext"});
}

std::optional<HttpResponse> httpGet(const std::string& host, int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host + ":" + std::to_string(port) + "\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[8192];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/", 0) != 0 || header_end == std::string::npos) return std::nullopt;
  HttpResponse r;
  const size_t sp = response.find(' ');
  r.status = std::atoi(response.c_str() + sp + 1);
  r.body = response.substr(header_end + 4);
  return r;
}

// ---------------------------------------------------------------- Prometheus

std::vector<Sample> parsePrometheusText(const std::string& body) {
  std::vector<Sample> samples;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name.push_back(line[i++]);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key.push_back(line[i++]);
        i += 2;  // ="
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        s.labels[key] = value;
      }
      ++i;  // '}'
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string rest = line.substr(i);
    const std::string number = rest.substr(0, rest.find(' '));
    if (number == "+Inf") {
      s.value = HUGE_VAL;
    } else if (number == "-Inf") {
      s.value = -HUGE_VAL;
    } else if (number == "NaN") {
      s.value = NAN;
    } else {
      s.value = std::strtod(number.c_str(), nullptr);
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<Sample> metricSamples(const std::string& body, const std::string& name) {
  std::vector<Sample> out;
  for (auto& s : parsePrometheusText(body)) {
    if (s.name == name) out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> metricValue(const std::string& body, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  std::optional<double> sum;
  for (const auto& s : metricSamples(body, name)) {
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) sum = sum.value_or(0) + s.value;
  }
  return sum;
}

// ---------------------------------------------------------------- alerts

namespace {

std::string render(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(std::string_view(e.get_string().value()));
    case simdjson::dom::element_type::INT64:
      return std::to_string(int64_t(e.get_int64().value()));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(uint64_t(e.get_uint64().value()));
    case simdjson::dom::element_type::DOUBLE: {
      const double d = e.get_double().value();
      if (std::floor(d) == d && std::fabs(d) < 9e15) {
        return std::to_string(static_cast<int64_t>(d));
      }
      return simdjson::minify(e);
    }
    default:
      return simdjson::minify(e);
  }
}

bool stringArray(simdjson::simdjson_result<simdjson::dom::element> e,
                 std::vector<std::string>& out) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return false;
  for (auto item : a) {
    std::string_view s;
    if (item.get_string().get(s)) return false;
    out.emplace_back(s);
  }
  return true;
}

bool getString(simdjson::dom::object o, const char* key, std::string& out) {
  std::string_view s;
  if (o[key].get_string().get(s)) return false;
  out = std::string(s);
  return true;
}

Alert parseAlert(simdjson::dom::parser& parser, const std::string& line) {
  Alert a;
  a.line = line;
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc)) {
    a.error = "not JSON";
    return a;
  }
  simdjson::dom::object o, rule, source, event;
  if (doc.get_object().get(o)) {
    a.error = "not an object";
    return a;
  }
  if (!getString(o, "@timestamp", a.timestamp)) a.error = "no @timestamp string";
  if (o["rule"].get_object().get(rule) || !getString(rule, "id", a.rule_id) ||
      !getString(rule, "title", a.rule_title) || !getString(rule, "level", a.rule_level) ||
      !stringArray(rule["tags"], a.tags)) {
    a.error = "rule: want {id,title,level,tags}";
  }
  if (!stringArray(o["controls"], a.controls)) a.error = "controls: want an array of strings";
  if (o["event"].get_object().get(event)) {
    a.error = "event: want an object";
  } else {
    a.event_json = simdjson::minify(event);
  }
  uint64_t offset = 0;
  if (o["source"].get_object().get(source) || !getString(source, "name", a.source_name) ||
      !getString(source, "file", a.source_file) || source["offset"].get_uint64().get(offset)) {
    a.error = "source: want {name,file,offset}";
  }
  a.source_offset = offset;
  if (!getString(o, "detected_at", a.detected_at)) a.error = "no detected_at string";
  a.valid = a.error.empty();
  return a;
}

}  // namespace

std::optional<std::string> Alert::field(const std::string& path) const {
  if (event_json.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(event_json).get(doc)) return std::nullopt;
  simdjson::dom::element e;
  if (!doc[path].get(e)) return render(e);  // the rule's `fields` form
  e = doc;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = std::min(path.find('.', start), path.size());
    const std::string key = path.substr(start, dot - start);
    simdjson::dom::object o;
    if (e.get_object().get(o) || o[key].get(e)) return std::nullopt;
    start = dot + 1;
  }
  return render(e);
}

std::optional<int64_t> Alert::sequence() const {
  const auto s = field("event.sequence");
  if (!s || s->empty()) return std::nullopt;
  char* end = nullptr;
  const long long v = std::strtoll(s->c_str(), &end, 10);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return v;
}

std::vector<Alert> parseAlerts(const std::string& text) {
  simdjson::dom::parser parser;
  std::vector<Alert> alerts;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;  // a line still being written
    const std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (line.empty()) continue;
    alerts.push_back(parseAlert(parser, line));
  }
  return alerts;
}

std::optional<std::map<std::string, double>> parseJsonNumbers(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(text).get_object().get(o)) return std::nullopt;
  std::map<std::string, double> out;
  for (auto [key, value] : o) {
    double d = 0;
    if (!value.get_double().get(d)) out[std::string(key)] = d;
  }
  return out;
}

std::vector<Alert> parseAlertsFile(const std::string& path) { return parseAlerts(readFile(path)); }

}  // namespace trailwatch::it
