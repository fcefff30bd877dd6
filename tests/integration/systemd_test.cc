// The daemon under a service manager, without one running: the test plays
// systemd's part. It owns the notify socket (NOTIFY_SOCKET, a unix
// datagram socket) and sets WATCHDOG_USEC/WATCHDOG_PID the way systemd
// does; socket activation goes through `systemd-socket-activate` (Debian's
// systemd package), which binds a socket and execs the daemon with
// LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES set as systemd would.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

constexpr size_t kNone = std::string::npos;

// The service manager's end of the notify protocol: a unix datagram
// socket; every message the daemon sent, in order.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // Takes in what has arrived; returns every message so far.
  const std::vector<std::string>& messages() {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) > 0;) messages_.emplace_back(buf, n);
    return messages_;
  }
  // The index of the first message at or after `from` containing `text`.
  size_t find(const std::string& text, size_t from = 0) {
    const auto& m = messages();
    for (size_t i = from; i < m.size(); ++i) {
      if (m[i].find(text) != std::string::npos) return i;
    }
    return kNone;
  }
  std::string all() {
    std::string out;
    for (const auto& m : messages()) out += "[" + m + "] ";
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> messages_;
};

// trailwatch.yaml with the EHR file source and `outputs`.
std::string writeConfig(const TempDir& dir, const std::string& outputs) {
  writeTestRules(dir / "rules/itpack");
  std::filesystem::create_directories(dir / "logs");
  const std::string config = dir / "trailwatch.yaml";
  writeFile(config,
            "state_dir: ./state\nrules: [./rules]\ncheckpoint_interval: 200ms\n"
            "sources:\n  - {name: ehr, type: file, paths: [\"./logs/*.ndjson\"], format: json}\n"
            "metrics: {listen: \"127.0.0.1:" +
                std::to_string(freePort()) + "\"}\noutputs:\n" + outputs);
  return config;
}

// Runs `trailwatch run -c config` as systemd would with WatchdogSec=2s:
// WATCHDOG_PID is the daemon's own pid (the shell execs it).
ProcessOptions underSystemd(const TempDir& dir, const NotifySocket& notify,
                            const std::string& config, const std::string& stdout_path) {
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "WATCHDOG_PID=$$ exec \"$0\" run -c \"$1\"", trailwatchBinary(),
            config};
  o.env = {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"};
  o.stdout_path = stdout_path;
  o.stderr_path = dir / "daemon.err";
  o.cwd = dir.path();
  return o;
}

void appendBtgEvents(const TempDir& dir, int first, int count) {
  std::string lines;
  for (int i = first; i < first + count; ++i) lines += ehrEvent(i, EventKind::kBtg) + "\n";
  appendRaw(dir / "logs/a.ndjson", lines);
}

// A STATUS= message at or after `from` reporting events/s > 0 and alerts > 0.
size_t findBusyStatus(NotifySocket& notify, size_t from) {
  const auto& m = notify.messages();
  for (size_t i = from; i < m.size(); ++i) {
    unsigned long rate = 0, alerts = 0, sources = 0, rules = 0;
    if (std::sscanf(m[i].c_str(), "STATUS=%lu events/s, %lu alerts, %lu sources, %lu rules", &rate,
                    &alerts, &sources, &rules) == 4 &&
        rate > 0 && alerts > 0 && sources == 1 && rules == 3) {
      return i;
    }
  }
  return kNone;
}

TEST(Systemd, NotifiesReadyStatusReloadingAndStoppingAndPingsTheWatchdog) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.bound()) << notify.path();
  const std::string config = writeConfig(dir, "  - {type: file, path: ./alerts.jsonl}\n");
  Process daemon(underSystemd(dir, notify, config, dir / "daemon.out"));

  ASSERT_TRUE(waitFor([&] { return notify.find("READY=1") != kNone; }, 20s))
      << daemon.stderrText() << notify.all();
  EXPECT_NE(daemon.stderrText().find("trailwatch running"), std::string::npos);
  ASSERT_TRUE(waitFor([&] { return notify.find("WATCHDOG=1") != kNone; }, 10s))
      << daemon.stderrText() << notify.all();

  // STATUS= reports the events of the last interval as a rate, and alerts.
  appendBtgEvents(dir, 1, 50);
  ASSERT_TRUE(waitFor([&] { return findBusyStatus(notify, 0) != kNone; }, 15s))
      << daemon.stderrText() << notify.all();

  // SIGHUP: RELOADING=1 with MONOTONIC_USEC=, then READY=1.
  const size_t before_hup = notify.messages().size();
  daemon.signal(SIGHUP);
  ASSERT_TRUE(waitFor(
      [&] {
        const size_t reloading = notify.find("RELOADING=1", before_hup);
        return reloading != kNone && notify.find("READY=1", reloading) != kNone;
      },
      10s))
      << daemon.stderrText() << notify.all();
  const std::string& reloading = notify.messages()[notify.find("RELOADING=1", before_hup)];
  EXPECT_NE(reloading.find("MONOTONIC_USEC="), std::string::npos) << reloading;

  const size_t before_term = notify.messages().size();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(waitFor([&] { return notify.find("STOPPING=1", before_term) != kNone; }, 10s))
      << daemon.stderrText() << notify.all();
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.stderrText();
}

// A pipeline stuck inside a batch: its only sink writes to stdout, a pipe
// the test holds and does not read, so the write blocks once the pipe is
// full. The daemon must name the stuck source and stop feeding the
// watchdog (systemd would then restart it); once the pipe is read again,
// the pings resume.
TEST(Systemd, WatchdogPingsStopWhileAPipelineIsStuckAndResumeAfter) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.bound()) << notify.path();
  const std::string fifo = dir / "stdout.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ::fcntl(reader, F_SETPIPE_SZ, 4096);  // the smallest pipe fills fastest
  std::string drained;
  auto drain = [&] {
    char buf[65536];
    for (ssize_t n; (n = ::read(reader, buf, sizeof buf)) > 0;) drained.append(buf, n);
  };
  const std::string config = writeConfig(dir, "  - {type: stdout}\n");
  auto daemon = std::make_unique<Process>(underSystemd(dir, notify, config, fifo));
  ASSERT_TRUE(waitFor([&] { return notify.find("WATCHDOG=1") != kNone; }, 20s))
      << daemon->stderrText() << notify.all();

  appendBtgEvents(dir, 1, 400);  // far more alert bytes than the pipe holds
  const std::string stuck = "watchdog: source ehr has made no progress";
  ASSERT_TRUE(waitFor([&] { return daemon->stderrText().find(stuck) != std::string::npos; }, 20s))
      << daemon->stderrText() << notify.all();

  // Two STATUS= lines are 5 s apart by the daemon's own clock, long enough
  // for two pings at WatchdogSec=2s: none may come between them.
  const size_t after_stuck = notify.messages().size();
  ASSERT_TRUE(waitFor(
      [&] {
        const size_t first = notify.find("STATUS=", after_stuck);
        return first != kNone && notify.find("STATUS=", first + 1) != kNone;
      },
      15s))
      << notify.all();
  const size_t first = notify.find("STATUS=", after_stuck);
  const size_t second = notify.find("STATUS=", first + 1);
  const size_t ping = notify.find("WATCHDOG=1", first);
  EXPECT_TRUE(ping == kNone || ping > second) << notify.all();

  // Reading the pipe unblocks the pipeline: pings come back.
  const size_t before_drain = notify.messages().size();
  ASSERT_TRUE(waitFor(
      [&] {
        drain();
        return notify.find("WATCHDOG=1", before_drain) != kNone;
      },
      20s))
      << daemon->stderrText() << notify.all();
  EXPECT_NE(daemon->stderrText().find("watchdog: source ehr makes progress again"),
            std::string::npos);
  daemon->signal(SIGTERM);
  ASSERT_TRUE(waitFor(
      [&] {
        drain();
        return !daemon->running();
      },
      20s));
  EXPECT_EQ(daemon->wait(1s), 0) << daemon->stderrText();
  EXPECT_FALSE(parseAlerts(drained).empty()) << drained.substr(0, 500);
  ::close(reader);
}

// Socket activation: systemd-socket-activate binds a UDP port and execs the
// daemon with it as fd 3 named syslog-udp; the source of that name uses it
// and does not bind its own `listen:` (an address no interface has, which
// would fail to bind).
TEST(Systemd, SocketActivatedSyslogListenerRaisesAlerts) {
  const char* activate = "/usr/bin/systemd-socket-activate";
  if (::access(activate, X_OK) != 0 || ::access("/usr/bin/logger", X_OK) != 0) {
    GTEST_SKIP() << "systemd-socket-activate (systemd) or logger (bsdutils) missing";
  }
  TempDir dir;
  std::filesystem::create_directories(dir / "rules");
  writeFile(dir / "rules/mark.yml",
            "title: IT syslog marker\nid: 5b0e7a0c-1a11-4c4b-9f31-6e1d00000102\nstatus: test\n"
            "level: high\ntags: [soc2.cc7.2]\nlogsource: {product: linux, service: syslog}\n"
            "detection:\n  selection:\n    message|contains: TWMARK\n  condition: selection\n");
  writeFile(dir / "trailwatch.yaml",
            "state_dir: ./state\nrules: [./rules]\nsources:\n"
            "  - {name: syslog-udp, type: syslog, protocol: udp, listen: \"192.0.2.1:5514\"}\n"
            "outputs:\n  - {type: file, path: ./alerts.jsonl}\n"
            "metrics: {listen: \"127.0.0.1:" +
                std::to_string(freePort()) + "\"}\n");
  const int port = freePort();
  ProcessOptions o;
  o.argv = {activate,
            "--datagram",
            "-l",
            "127.0.0.1:" + std::to_string(port),
            "--fdname=syslog-udp",
            trailwatchBinary(),
            "run",
            "-c",
            dir / "trailwatch.yaml"};
  o.stdout_path = dir / "daemon.out";
  o.stderr_path = dir / "daemon.err";
  o.cwd = dir.path();
  Process daemon(o);
  auto logger = [&](const std::string& message) {
    return runToCompletion({"/usr/bin/logger", "-d", "--server", "127.0.0.1", "--port",
                            std::to_string(port), "-t", "twtest", message},
                           dir.path())
        .exit_code;
  };
  // The first datagram makes systemd-socket-activate exec the daemon.
  ASSERT_TRUE(waitFor(
      [&] {
        if (daemon.stderrText().find("Listening on") == std::string::npos) return false;
        return logger("wake up") == 0;
      },
      10s))
      << daemon.stderrText();
  ASSERT_TRUE(waitFor(
      [&] {
        return !daemon.running() ||
               daemon.stderrText().find("trailwatch running") != std::string::npos;
      },
      20s));
  ASSERT_TRUE(daemon.running()) << daemon.stderrText();
  EXPECT_NE(daemon.stderrText().find("socket from systemd"), std::string::npos)
      << daemon.stderrText();
  ASSERT_EQ(logger("TWMARK activated"), 0);
  ASSERT_TRUE(waitFor(
      [&] {
        for (const auto& a : parseAlertsFile(dir / "alerts.jsonl")) {
          if (a.field("message").value_or("").find("TWMARK activated") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10s))
      << daemon.stderrText();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.stderrText();
}

}  // namespace
}  // namespace trailwatch::it
