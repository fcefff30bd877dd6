// A full disk under the daemon: state_dir (checkpoints, correlation state,
// and the network outputs' spools, which live in state_dir/spool/<name>/)
// or the alert log's folder, each on a small tmpfs the test mounts and then
// fills. The daemon must keep running and reading, hold its checkpoints
// where they were (the on-disk checkpoint does not move), say so (an error
// line, trailwatch_checkpoint_errors_total rising), and, once the filler is
// deleted, save checkpoints again and have lost no alert.
//
// Mounting needs root (CAP_SYS_ADMIN); elsewhere the tests skip and say why.
// The unit tests of FileSink and SpooledSink cover the same failures with
// RLIMIT_FSIZE, without root.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

// A tmpfs of `size` mounted on `path` (created) for the object's life;
// lazily unmounted (MNT_DETACH) when it goes, also after a failed test.
class TmpfsMount {
 public:
  TmpfsMount(std::string path, const std::string& size) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    if (::geteuid() != 0) {
      why_ = "not root: mounting a small tmpfs to fill needs CAP_SYS_ADMIN";
      return;
    }
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      why_ = "mount -t tmpfs -o " + options + " on " + path_ + " failed: " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string why_;
  bool mounted_ = false;
};

// Fills the file system holding `path` with the file `path`, down to the
// last byte (tmpfs hands out pages: big writes first, then single bytes).
// Returns the bytes written, or nullopt on an error other than ENOSPC.
std::optional<uint64_t> fillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::nullopt;
  uint64_t total = 0;
  const std::string chunk(65536, 'f');
  for (size_t size : {size_t{65536}, size_t{4096}, size_t{1}}) {
    while (true) {
      const ssize_t n = ::write(fd, chunk.data(), size);
      if (n > 0) {
        total += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != ENOSPC) {
        ::close(fd);
        return std::nullopt;
      }
      break;
    }
  }
  ::close(fd);
  return total;
}

// The offset saved for `file` in the source's checkpoint (lines of
// "dev ino fingerprint_len fingerprint offset path"); nullopt when none.
std::optional<uint64_t> committedOffset(const std::string& state_dir, const std::string& file) {
  std::istringstream in(readFile(state_dir + "/checkpoints/ehr.ckpt"));
  std::string l;
  while (std::getline(in, l)) {
    std::istringstream fields(l);
    std::string dev, ino, len, fp, offset, path;
    if (!(fields >> dev >> ino >> len >> fp >> offset >> path)) continue;
    if (path == file) return std::stoull(offset);
  }
  return std::nullopt;
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Each test: a daemon whose `full_dir` (relative to its folder) is a small
// tmpfs; records numbered from 1, every third a break-the-glass access
// (one alert each).
class DiskFullTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
    daemon_.reset();  // stopped before its disk is unmounted
  }

  bool mount(const std::string& full_dir, const std::string& size) {
    mount_ = std::make_unique<TmpfsMount>(dir_ / full_dir, size);
    return mount_->mounted();
  }

  void append(int count) {
    for (int i = 0; i < count; ++i) {
      ++written_;
      appendLine(log_,
                 ehrEvent(written_, written_ % 3 == 0 ? EventKind::kBtg : EventKind::kBenign));
    }
  }
  std::set<int64_t> expectedAlerts() const {
    std::set<int64_t> out;
    for (int64_t s = 3; s <= written_; s += 3) out.insert(s);
    return out;
  }
  double checkpointErrors() {
    return daemon_->metric("trailwatch_checkpoint_errors_total", {{"source", "ehr"}}).value_or(0);
  }
  bool allRead() {
    return daemon_->metric("trailwatch_events_total", {{"source", "ehr"}}) ==
           static_cast<double>(written_);
  }
  bool allCommitted() { return committedOffset(daemon_->state_dir, log_) == fileSize(log_); }

  // Fills the disk, streams more records, and checks the daemon holds its
  // checkpoint and says why; then frees the disk and checks it recovers.
  // `alerts_path`: an alert log that must hold every alert exactly once.
  void fillStreamAndRecover(const std::string& alerts_path) {
    ASSERT_TRUE(waitFor([&] { return allRead() && allCommitted(); }, 15s))
        << "the first records were not committed";
    const std::string checkpoint = daemon_->state_dir + "/checkpoints/ehr.ckpt";
    const std::string saved = readFile(checkpoint);
    const double errors_before = checkpointErrors();

    const std::string filler = mount_->path() + "/filler";
    ASSERT_TRUE(fillUp(filler).has_value()) << std::strerror(errno);
    append(90);  // 30 alerts: more than a tmpfs page of alert log or spool
    ASSERT_TRUE(waitFor([&] { return allRead(); }, 15s)) << "reading stopped on a full disk";
    ASSERT_TRUE(waitFor([&] { return checkpointErrors() >= errors_before + 3; }, 15s))
        << "checkpoint errors do not rise: " << daemon_->scrape();
    EXPECT_EQ(readFile(checkpoint), saved) << "the checkpoint moved while the disk was full";
    ASSERT_TRUE(daemon_->running()) << "the daemon died of a full disk";
    const std::string logs = daemon_->logs();
    const size_t lines = countOf(logs, "checkpoint NOT saved");
    EXPECT_GE(lines, 1u) << "no error line says that checkpoints are not saved";
    EXPECT_LE(lines, 2u) << "one line per failed attempt floods the log";

    ASSERT_EQ(::unlink(filler.c_str()), 0);
    append(9);
    ASSERT_TRUE(waitFor([&] { return allRead() && allCommitted(); }, 15s))
        << "checkpoints did not move again once there was space: " << daemon_->scrape();
    // Logged just after the checkpoint file is replaced.
    EXPECT_TRUE(waitFor([&] { return countOf(daemon_->logs(), "checkpoint saved again") > 0; }, 5s))
        << "no line says that checkpoints are saved again";

    const auto sequences = sequencesOf(parseAlertsFile(alerts_path));
    const std::set<int64_t> expected = expectedAlerts();
    EXPECT_EQ(std::set<int64_t>(sequences.begin(), sequences.end()), expected)
        << "alerts lost in " << alerts_path;
    EXPECT_EQ(sequences.size(), expected.size()) << "alerts written twice in " << alerts_path;
  }

  TempDir dir_;
  std::unique_ptr<TmpfsMount> mount_;
  std::unique_ptr<Daemon> daemon_;
  std::string log_;
  int64_t written_ = 0;
};

TEST_F(DiskFullTest, FullStateDirHoldsCheckpointsAndRecovers) {
  if (!mount("state", "256k")) GTEST_SKIP() << mount_->why();
  daemon_ = std::make_unique<Daemon>(dir_);
  log_ = daemon_->logs_dir + "/a.ndjson";
  append(9);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  fillStreamAndRecover(daemon_->alerts_path);
  EXPECT_EQ(daemon_->stop(), 0);
}

// The webhook's spool is in state_dir too: with its receiver down, every
// alert must end up in the spool once there is space, none twice.
TEST_F(DiskFullTest, FullSpoolKeepsAlertsUntilThereIsSpace) {
  if (!mount("state", "256k")) GTEST_SKIP() << mount_->why();
  daemon_ = std::make_unique<Daemon>(dir_);
  log_ = daemon_->logs_dir + "/a.ndjson";
  daemon_->extra_outputs =
      "  - type: webhook\n"
      "    name: hook\n"
      "    url: http://127.0.0.1:" +
      std::to_string(freePort()) +
      "/alerts\n"
      "    timeout: 1s\n"
      "    retry: {initial_delay: 50ms, max_delay: 200ms}\n"
      "    spool: {max_bytes: 1MiB}\n";
  append(9);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  fillStreamAndRecover(daemon_->alerts_path);
  const double alerts = static_cast<double>(expectedAlerts().size());
  EXPECT_TRUE(waitFor(
      [&] {
        return daemon_->metric("trailwatch_spool_records", {{"sink", "hook"}}) == alerts;
      },
      10s))
      << "every alert waits in the spool for the receiver, once: " << daemon_->scrape();
  EXPECT_EQ(daemon_->metric("trailwatch_spool_refused_total", {{"sink", "hook"}}).value_or(0), 0);
  EXPECT_EQ(daemon_->stop(), 0);
}

// A second alert log on a full disk: its flushes fail, which holds the
// checkpoints back; once there is space it holds every alert once, with an
// unbroken hash chain (a line cut by the full disk was completed, not
// repeated).
TEST_F(DiskFullTest, FullAlertLogHoldsCheckpointsAndLosesNoAlert) {
  if (!mount("alog", "64k")) GTEST_SKIP() << mount_->why();
  daemon_ = std::make_unique<Daemon>(dir_);
  log_ = daemon_->logs_dir + "/a.ndjson";
  daemon_->extra_outputs =
      "  - type: file\n"
      "    path: ./alog/alerts.jsonl\n";
  append(9);
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;
  const std::string alog = dir_ / "alog/alerts.jsonl";
  fillStreamAndRecover(alog);
  EXPECT_EQ(daemon_->stop(), 0);
  const RunResult verify = runToCompletion({trailwatchBinary(), "verify", alog}, dir_.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace trailwatch::it
