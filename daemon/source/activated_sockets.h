// Sockets handed over by the service manager (systemd socket activation,
// sd_listen_fds(3)): a `trailwatch.socket` unit listens, and starts the
// service with the sockets as fds 3.. and their FileDescriptorName= in
// LISTEN_FDNAMES. A syslog source takes the socket whose name is the
// source's name instead of binding its `listen:` address itself.
//
// The environment is read once, on first use, and unset (so children do not
// inherit it); each fd can be taken once, and is then owned by the taker.
//
// Thread-safety: all functions may be called from any thread (one mutex).
#pragma once

#include <string>
#include <vector>

namespace trailwatch::source {

// The fd named `name` (removed from the set, close-on-exec set), or -1.
int takeActivatedSocket(const std::string& name);

// Closes the fds nobody took and returns their names, for a warning.
std::vector<std::string> closeUnclaimedActivatedSockets();

}  // namespace trailwatch::source
