// FileSizeLimit: a full disk for unit tests, without root or a mount. While
// it lives, RLIMIT_FSIZE caps the size of every file this process writes:
// a write past the cap writes what fits and then fails (EFBIG), as writes
// to a full file system fail with ENOSPC. SIGXFSZ, which would kill the
// process, is ignored meanwhile. lift() (or the destructor) restores both.
//
// Thread-safety: the limit is process-wide; tests that use it must not run
// beside others writing files in the same process (gtest runs tests one at
// a time).
#pragma once

#include <signal.h>
#include <sys/resource.h>

namespace trailwatch::alert {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  void lift() {
    if (lifted_) return;
    setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
    lifted_ = true;
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_ = SIG_DFL;
  bool lifted_ = false;
};

}  // namespace trailwatch::alert
