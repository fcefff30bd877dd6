// The one place that turns a configured source or output into the object
// that implements it. Adding a source or sink type means one branch here
// (and its keys in config/config.cc); `run` builds every source and sink
// through these functions.
//
// Thread-safety: plain functions; call from the main thread at start-up.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "daemon/config/config.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/snapshot_holder.h"
#include "trailwatch/alert_sink.h"
#include "trailwatch/result.h"
#include "trailwatch/source.h"

namespace trailwatch::server {

// Where a source keeps its checkpoint: <state_dir>/checkpoints/<name>.ckpt.
std::string checkpointPath(const config::Config& config, const std::string& source);

// A followed file source of `sc` (type file) keeping its checkpoint under
// `checkpoint_name` (run: the source's name; forward: its own name, so the
// two modes never share a position).
std::unique_ptr<Source> makeFileSource(const config::Config& config, const config::SourceConfig& sc,
                                       const std::string& checkpoint_name);

// How much event history rebuilds every window the rules keep: the longest
// correlation or suppression timespan (a chained correlation adds the
// history its inputs need), plus `late_allowance`; zero without stateful
// rules.
std::chrono::nanoseconds stateHistorySpan(const engine::RuleSet& rules,
                                          std::chrono::nanoseconds late_allowance);

// A live source for `sc` (not yet opened), or a message naming the source.
// `rules` (may be null) is the running rule set: a partitioned nats source
// sizes its takeover replay by it (stateHistorySpan()).
Result<std::unique_ptr<Source>> makeSource(const config::Config& config,
                                           const config::SourceConfig& sc,
                                           metrics::Metrics& metrics,
                                           const RuleSetHolder* rules = nullptr);

// An opened sink for `output`, or a message naming the problem.
Result<std::unique_ptr<AlertSink>> makeSink(const config::Config& config,
                                            const config::OutputConfig& output,
                                            metrics::Metrics& metrics);

}  // namespace trailwatch::server
