#include "daemon/source/activated_sockets.h"

#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>

namespace trailwatch::source {
namespace {

struct Activated {
  std::mutex mu;
  bool loaded = false;                  // guarded by mu
  std::multimap<std::string, int> fds;  // guarded by mu: name → fd, not yet taken
};

Activated& activated() {
  static Activated a;
  return a;
}

void loadLocked(Activated& a) {
  if (a.loaded) return;
  a.loaded = true;
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    a.fds.emplace(names != nullptr && names[i] != nullptr ? names[i] : "unknown", fd);
  }
  if (names != nullptr) {
    for (int i = 0; names[i] != nullptr; ++i) std::free(names[i]);
    std::free(names);
  }
}

}  // namespace

int takeActivatedSocket(const std::string& name) {
  Activated& a = activated();
  std::lock_guard lock(a.mu);
  loadLocked(a);
  auto it = a.fds.find(name);
  if (it == a.fds.end()) return -1;
  const int fd = it->second;
  a.fds.erase(it);
  return fd;
}

std::vector<std::string> closeUnclaimedActivatedSockets() {
  Activated& a = activated();
  std::lock_guard lock(a.mu);
  loadLocked(a);
  std::vector<std::string> names;
  for (const auto& [name, fd] : a.fds) {
    ::close(fd);
    names.push_back(name);
  }
  a.fds.clear();
  return names;
}

}  // namespace trailwatch::source
