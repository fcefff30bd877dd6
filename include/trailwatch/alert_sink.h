// AlertSink: where rendered alerts go (stdout, the alert log file; later
// syslog, webhooks, Alertmanager).
//
// An alert is one JSON object on one line (no trailing newline in the
// argument). flush() returns only when every alert written before it is as
// durable as the sink can make it; the pipeline calls it before a source's
// checkpoint moves, which is what makes delivery at least once. deliver()
// hands what write() buffered on to its destination now, without waiting
// for durability (no fsync): the pipeline calls it after each batch that
// raised alerts, so people see them within milliseconds while checkpoints
// (and flushes) stay at checkpoint_interval.
//
// Thread-safety: implementations must allow write() and flush() from several
// pipeline threads (one per source).
#pragma once

#include <string>
#include <string_view>

#include "trailwatch/result.h"

namespace trailwatch {

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual const std::string& name() const = 0;
  virtual Status write(std::string_view alert_json) = 0;
  virtual Status flush() = 0;
  virtual Status deliver() { return Status::Ok(); }
};

}  // namespace trailwatch
