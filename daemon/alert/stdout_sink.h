// StdoutSink: writes alerts as JSON lines to standard output (the terminal,
// or the journal under systemd). flush() flushes stdio; that is as durable
// as a pipe gets.
//
// Thread-safety: write() and flush() may be called from any thread (mu_).
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include "trailwatch/alert_sink.h"

namespace trailwatch::alert {

class StdoutSink : public AlertSink {
 public:
  explicit StdoutSink(std::FILE* out = stdout) : out_(out) {}
  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override;
  Status flush() override;
  Status deliver() override { return flush(); }  // fflush: no fsync to wait for

 private:
  const std::string name_ = "stdout";
  std::mutex mu_;
  std::FILE* out_;  // guarded by mu_
};

}  // namespace trailwatch::alert
