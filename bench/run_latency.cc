// run_latency: drives a running `trailwatch run` for the whole-daemon
// benchmark (bench/run.sh) and measures it from outside.
//
//   run_latency --corpus FILE --live FILE --alerts FILE --pid PID
//               [--rate 100000] [--seconds 30] [--probe-every 100]
//               [--drain-seconds 30] [--rotate-bytes 1073741824] [--rss-log FILE]
//               [--probe-log FILE]
//
// It appends to --live (the file trailwatch tails) at a fixed rate: lines
// of the corpus, replayed in order and cycled, their leading @timestamp
// rewritten to the time of the append (so correlation windows, which follow
// the wall clock in `run`, see live events rather than days-old ones; the
// corpus generator puts @timestamp first), and every --probe-every'th
// event a probe instead, an EHR event that the shipped break-the-glass
// rule flags (purpose_of_use BTG), whose patient.id is `probe-<n>` and
// whose @timestamp is the wall-clock time it was appended. A second thread
// follows --alerts with inotify and, for each probe's alert, records how
// long after its append() the alert line could be read: the append→alert
// latency a consumer of the alert file sees.
//
// Once a second it reads the daemon's CPU time (/proc/PID/stat utime+stime)
// and resident memory (/proc/PID/status VmRSS, VmHWM). CPU per million
// events is the CPU the daemon spent from the first paced append until the
// last probe's alert (the last event written is a probe, so every event has
// been through the pipeline by then), divided by the events appended.
//
// Before pacing starts it appends one probe and waits for its alert, so the
// daemon is known to be tailing the file. Once --live reaches --rotate-bytes
// it is rotated as logrotate does by default (the previous FILE.1 removed,
// the file renamed to FILE.1 and created anew), so long runs keep a bounded
// disk footprint and the daemon follows rotations as it would in production.
// As with logrotate and a logging program, the rename and create happen
// beside the writer (on a thread of their own), which keeps appending to
// the renamed file until the new one exists: under heavy writeback a
// rename can wait most of a second for the filesystem journal, and a
// writer stopped for it would hand the daemon a second's events at once.
// Prints one JSON line on stdout.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/common/json_writer.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string corpus, live, alerts, rss_log, probe_log;
  long pid = 0;
  uint64_t rate = 100'000;
  double seconds = 30;
  uint64_t probe_every = 100;
  double drain_seconds = 30;
  size_t replay_lines = 200'000;
  uint64_t rotate_bytes = 1ULL << 30;
  bool restamp = true;
};

// `{"@timestamp":"` then `2026-11-20T08:00:00.005Z` in generated EHR lines.
constexpr std::string_view kStampPrefix = R"({"@timestamp":")";
constexpr size_t kStampLength = 24;

// Now as RFC 3339 UTC with milliseconds, kStampLength characters.
void formatStamp(char (&out)[kStampLength + 1]) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string text = trailwatch::formatRfc3339Millis(millis);
  std::memcpy(out, text.data(), kStampLength);
  out[kStampLength] = '\0';
}

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// A probe: the break-the-glass rule's condition, the fields its alert
// lists, and padding to the corpus's typical size (~550 bytes).
void appendProbe(std::string& out, uint64_t n) {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::string stamp = trailwatch::formatRfc3339Micros(micros);
  char line[640];
  const int len = std::snprintf(
      line, sizeof line,
      R"({"@timestamp":"%s","event":{"action":"read","outcome":"success","category":"phi-access","sequence":%)" PRIu64
      R"(},"user":{"id":"u0001","roles":["physician"]},"source":{"ip":"10.0.0.1"},"patient":{"id":"probe-%)" PRIu64
      R"("},"resource":{"type":"Patient"},"purpose_of_use":"BTG","host":{"name":"bench-probe"},"session":{"id":"000000000000","user_name":"Bench Probe","department":"emergency"},"url":{"path":"/fhir/r4/Patient/probe"},"message":"latency probe appended by bench/run_latency: emergency access to a patient chart, break the glass"})"
      "\n",
      stamp.c_str(), n, n);
  out.append(line, static_cast<size_t>(std::min<int>(len, sizeof line - 1)));
}

struct ProcSample {
  double t = 0;            // seconds since pacing began
  double cpu_seconds = 0;  // utime + stime
  uint64_t rss_kib = 0, hwm_kib = 0;
};

bool sampleProc(long pid, ProcSample& s) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  std::ifstream stat(path);
  std::string text;
  if (!std::getline(stat, text)) return false;
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime 14 and stime 15 (proc(5)).
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < text.size()) {
    const size_t space = std::min(text.find(' ', pos), text.size());
    fields.push_back(text.substr(pos, space - pos));
    pos = space + 1;
  }
  if (fields.size() < 13) return false;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds =
      (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) / ticks;
  std::snprintf(path, sizeof path, "/proc/%ld/status", pid);
  std::ifstream status(path);
  while (std::getline(status, text)) {
    if (text.rfind("VmRSS:", 0) == 0) s.rss_kib = std::strtoull(text.c_str() + 6, nullptr, 10);
    if (text.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::strtoull(text.c_str() + 6, nullptr, 10);
  }
  return true;
}

// Follows the alert file and stamps each probe's alert as it appears.
class AlertFollower {
 public:
  explicit AlertFollower(std::vector<std::atomic<int64_t>>& seen) : seen_(seen) {}

  bool open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0 || inotify_ < 0) return false;
    if (::inotify_add_watch(inotify_, path.c_str(), IN_MODIFY) < 0) return false;
    ::lseek(fd_, 0, SEEK_END);  // alerts from before this run are not ours
    return true;
  }

  void run(const std::atomic<bool>& stop) {
    char events[4096];
    while (!stop.load()) {
      pollfd p{inotify_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        while (::read(inotify_, events, sizeof events) > 0) {
        }
      }
      readNew();
    }
    readNew();
  }

  ~AlertFollower() {
    if (fd_ >= 0) ::close(fd_);
    if (inotify_ >= 0) ::close(inotify_);
  }

  uint64_t alerts() const { return alerts_; }

 private:
  void readNew() {
    char buf[1 << 16];
    while (true) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return;
      const int64_t now = steadyNanos();
      pending_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      while (true) {
        const size_t nl = pending_.find('\n', start);
        if (nl == std::string::npos) break;
        onLine(std::string_view(pending_).substr(start, nl - start), now);
        start = nl + 1;
      }
      pending_.erase(0, start);
    }
  }

  void onLine(std::string_view line, int64_t now) {
    ++alerts_;
    static constexpr std::string_view kMarker = "\"patient.id\":\"probe-";
    const size_t at = line.find(kMarker);
    if (at == std::string_view::npos) return;
    const uint64_t n = std::strtoull(line.data() + at + kMarker.size(), nullptr, 10);
    if (n < seen_.size()) {
      int64_t expected = 0;
      seen_[n].compare_exchange_strong(expected, now);
    }
  }

  std::vector<std::atomic<int64_t>>& seen_;
  int fd_ = -1, inotify_ = -1;
  std::string pending_;
  uint64_t alerts_ = 0;
};

bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

double percentile(std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[i]) / 1e6;
}

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "run_latency: %s\n", why);
  std::fprintf(stderr,
               "usage: run_latency --corpus FILE --live FILE --alerts FILE --pid PID\n"
               "       [--rate 100000] [--seconds 30] [--probe-every 100] [--drain-seconds 30]\n"
               "       [--replay-lines 200000] [--rotate-bytes 1073741824] [--restamp yes|no]\n"
               "       [--rss-log FILE] [--probe-log FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return usage(nullptr), 0;
    if (i + 1 >= argc) return usage("missing value after an option");
    const char* v = argv[++i];
    if (arg == "--corpus") {
      o.corpus = v;
    } else if (arg == "--live") {
      o.live = v;
    } else if (arg == "--alerts") {
      o.alerts = v;
    } else if (arg == "--probe-log") {
      o.probe_log = v;
    } else if (arg == "--rss-log") {
      o.rss_log = v;
    } else if (arg == "--pid") {
      o.pid = std::strtol(v, nullptr, 10);
    } else if (arg == "--rate") {
      o.rate = std::strtoull(v, nullptr, 10);
    } else if (arg == "--seconds") {
      o.seconds = std::strtod(v, nullptr);
    } else if (arg == "--probe-every") {
      o.probe_every = std::strtoull(v, nullptr, 10);
    } else if (arg == "--drain-seconds") {
      o.drain_seconds = std::strtod(v, nullptr);
    } else if (arg == "--replay-lines") {
      o.replay_lines = std::strtoull(v, nullptr, 10);
    } else if (arg == "--rotate-bytes") {
      o.rotate_bytes = std::strtoull(v, nullptr, 10);
    } else if (arg == "--restamp") {
      o.restamp = std::string_view(v) != "no";
    } else {
      return usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  if (o.corpus.empty() || o.live.empty() || o.alerts.empty() || o.pid <= 0 || o.rate == 0 ||
      o.seconds <= 0 || o.probe_every == 0) {
    return usage(
        "--corpus, --live, --alerts, --pid and positive --rate/--seconds/--probe-every "
        "are required");
  }

  // The replayed lines, newline included.
  std::vector<std::string> lines;
  {
    std::ifstream in(o.corpus);
    std::string line;
    while (lines.size() < o.replay_lines && std::getline(in, line)) lines.push_back(line + "\n");
  }
  if (lines.empty()) {
    std::fprintf(stderr, "run_latency: %s: no lines\n", o.corpus.c_str());
    return 1;
  }
  const uint64_t total = static_cast<uint64_t>(static_cast<double>(o.rate) * o.seconds);
  const uint64_t probes = total / o.probe_every + 2;  // warm-up probe 0, the last event
  std::vector<std::atomic<int64_t>> seen(probes + 1);
  std::vector<int64_t> appended(probes + 1, 0);

  int live = ::open(o.live.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (live < 0) {
    std::fprintf(stderr, "run_latency: %s: %s\n", o.live.c_str(), std::strerror(errno));
    return 1;
  }
  AlertFollower follower(seen);
  if (!follower.open(o.alerts)) {
    std::fprintf(stderr, "run_latency: cannot follow %s: %s\n", o.alerts.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::atomic<bool> stop_follower{false};
  std::thread follower_thread([&] { follower.run(stop_follower); });
  auto finish = [&](int code) {
    stop_follower.store(true);
    follower_thread.join();
    ::close(live);
    return code;
  };

  // Warm-up: the daemon has picked up the file once probe 0 comes back.
  std::string batch;
  appendProbe(batch, 0);
  appended[0] = steadyNanos();
  if (!writeAll(live, batch)) return finish(1);
  const int64_t warm_deadline = steadyNanos() + 30'000'000'000;
  while (seen[0].load() == 0 && steadyNanos() < warm_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (seen[0].load() == 0) {
    std::fprintf(stderr, "run_latency: no alert for the warm-up probe within 30 s\n");
    return finish(1);
  }

  std::vector<ProcSample> samples;
  ProcSample first;
  if (!sampleProc(o.pid, first)) {
    std::fprintf(stderr, "run_latency: cannot read /proc/%ld\n", o.pid);
    return finish(1);
  }
  samples.push_back(first);
  const int64_t start = steadyNanos();
  std::atomic<bool> stop_sampler{false};
  std::thread sampler([&] {
    int64_t next = start + 1'000'000'000;
    while (!stop_sampler.load()) {
      if (steadyNanos() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      ProcSample s;
      if (sampleProc(o.pid, s)) {
        s.t = static_cast<double>(steadyNanos() - start) / 1e9;
        samples.push_back(s);
      }
      next += 1'000'000'000;
    }
  });

  // Paced appends: each millisecond, the events due by then, in one write.
  uint64_t sent = 0, bytes = 0, next_probe = 1, live_bytes = 0, rotations = 0;
  size_t replay = 0;
  timespec tick{};
  clock_gettime(CLOCK_MONOTONIC, &tick);
  bool write_failed = false;
  std::future<int> rotated;  // the new file's descriptor, or -1
  while (sent < total) {
    const double elapsed = static_cast<double>(steadyNanos() - start) / 1e9;
    const uint64_t due =
        std::min<uint64_t>(total, static_cast<uint64_t>(elapsed * static_cast<double>(o.rate)) + 1);
    batch.clear();
    std::vector<uint64_t> batch_probes;
    char stamp[kStampLength + 1];
    formatStamp(stamp);
    for (; sent < due; ++sent) {
      if ((sent + 1) % o.probe_every == 0 || sent + 1 == total) {
        appendProbe(batch, next_probe);
        batch_probes.push_back(next_probe++);
      } else {
        const std::string& line = lines[replay];
        const size_t at = batch.size();
        batch += line;
        if (o.restamp && line.size() > kStampPrefix.size() + kStampLength &&
            line.compare(0, kStampPrefix.size(), kStampPrefix) == 0 &&
            line[kStampPrefix.size() + kStampLength] == '"') {
          std::memcpy(batch.data() + at + kStampPrefix.size(), stamp, kStampLength);
        }
        replay = (replay + 1) % lines.size();
      }
    }
    if (!batch.empty()) {
      const int64_t now = steadyNanos();
      for (uint64_t p : batch_probes) appended[p] = now;
      if (!writeAll(live, batch)) {
        write_failed = true;
        break;
      }
      bytes += batch.size();
      live_bytes += batch.size();
    }
    if (rotated.valid() && rotated.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      const int fd = rotated.get();
      if (fd < 0) {
        write_failed = true;
        break;
      }
      ::close(live);
      live = fd;
      live_bytes = 0;
      ++rotations;
    }
    if (o.rotate_bytes > 0 && live_bytes >= o.rotate_bytes && !rotated.valid()) {
      rotated = std::async(std::launch::async, [&] {
        const std::string old = o.live + ".1";
        // logrotate removes the oldest file before renaming onto its name:
        // a rename that replaces a file makes ext4 (auto_da_alloc) write
        // out the renamed file's data first, a second or more at this rate.
        if (::unlink(old.c_str()) != 0 && errno != ENOENT) {
          std::fprintf(stderr, "run_latency: removing %s: %s\n", old.c_str(), std::strerror(errno));
        }
        const int fd = ::rename(o.live.c_str(), old.c_str()) == 0
                           ? ::open(o.live.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)
                           : -1;
        if (fd < 0) {
          std::fprintf(stderr, "run_latency: rotating %s: %s\n", o.live.c_str(),
                       std::strerror(errno));
        }
        return fd;
      });
    }
    tick.tv_nsec += 1'000'000;
    if (tick.tv_nsec >= 1'000'000'000) {
      tick.tv_nsec -= 1'000'000'000;
      ++tick.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, nullptr);
  }
  if (rotated.valid()) {
    if (const int fd = rotated.get(); fd >= 0) ::close(fd);
  }
  const int64_t paced_end = steadyNanos();
  const uint64_t last_probe = next_probe - 1;

  // Drain: until the last probe (the last event written) is alerted on.
  const int64_t drain_deadline = paced_end + static_cast<int64_t>(o.drain_seconds * 1e9);
  while (seen[last_probe].load() == 0 && steadyNanos() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int64_t drained = seen[last_probe].load();
  ProcSample end;
  sampleProc(o.pid, end);
  end.t = static_cast<double>(steadyNanos() - start) / 1e9;
  stop_sampler.store(true);
  sampler.join();
  samples.push_back(end);
  const int code = finish(write_failed ? 1 : 0);

  std::vector<int64_t> latencies;
  uint64_t lost = 0;
  for (uint64_t p = 1; p <= last_probe; ++p) {
    const int64_t t = seen[p].load();
    if (t == 0) {
      ++lost;
    } else {
      latencies.push_back(t - appended[p]);
    }
  }
  if (!o.probe_log.empty()) {
    // One line per probe: when it was appended (seconds into the paced run)
    // and its latency, to see when the slow ones happen.
    if (std::FILE* f = std::fopen(o.probe_log.c_str(), "w")) {
      std::fprintf(f, "seconds\tlatency_ms\n");
      for (uint64_t p = 1; p <= last_probe; ++p) {
        const int64_t t = seen[p].load();
        std::fprintf(f, "%.3f\t%.3f\n", static_cast<double>(appended[p] - start) / 1e9,
                     t == 0 ? -1.0 : static_cast<double>(t - appended[p]) / 1e6);
      }
      std::fclose(f);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  uint64_t rss_peak = 0;
  for (const auto& s : samples) rss_peak = std::max({rss_peak, s.rss_kib, s.hwm_kib});
  if (!o.rss_log.empty()) {
    if (std::FILE* f = std::fopen(o.rss_log.c_str(), "w")) {
      std::fprintf(f, "seconds\trss_kib\tcpu_seconds\n");
      for (const auto& s : samples)
        std::fprintf(f, "%.1f\t%" PRIu64 "\t%.2f\n", s.t, s.rss_kib, s.cpu_seconds);
      std::fclose(f);
    }
  }
  const double paced_seconds = static_cast<double>(paced_end - start) / 1e9;
  const double cpu = end.cpu_seconds - first.cpu_seconds;
  std::printf(
      "{\"rate_target\":%" PRIu64 ",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
      ",\"paced_seconds\":%.3f,\"rate_achieved\":%.0f,\"drained\":%s,\"drain_seconds\":%.3f,"
      "\"rotations\":%" PRIu64 ",\"probes\":%" PRIu64 ",\"lost\":%" PRIu64
      ",\"alerts_read\":%" PRIu64
      ",\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
      "\"cpu_seconds\":%.2f,\"cpu_seconds_per_million\":%.3f,\"rss_start_mib\":%.1f,"
      "\"rss_end_mib\":%.1f,\"rss_peak_mib\":%.1f}\n",
      o.rate, sent, bytes, paced_seconds, static_cast<double>(sent) / paced_seconds,
      drained != 0 ? "true" : "false",
      drained != 0 ? static_cast<double>(drained - paced_end) / 1e9 : -1.0, rotations, last_probe,
      lost, follower.alerts(), percentile(latencies, 0.50), percentile(latencies, 0.90),
      percentile(latencies, 0.99),
      latencies.empty() ? 0.0 : static_cast<double>(latencies.back()) / 1e6, cpu,
      sent > 0 ? cpu / (static_cast<double>(sent) / 1e6) : 0.0,
      static_cast<double>(first.rss_kib) / 1024, static_cast<double>(end.rss_kib) / 1024,
      static_cast<double>(rss_peak) / 1024);
  return code != 0 ? code : (drained != 0 ? 0 : 1);
}
