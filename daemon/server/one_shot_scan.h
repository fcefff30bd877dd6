// One-shot scan: a finite source read to its end through decode →
// enrichment → rules → correlation → one alert sink, then what the last
// event time makes due (absence, suppression summaries) is emitted. This is
// `trailwatch scan`, and `trailwatch test` runs every rule test case through
// it with the case's records in memory, so a rule test exercises exactly
// what a scan of the same lines does.
//
// Thread-safety: runOneShotScan() runs on the calling thread (the
// correlator's shard threads live within the call); concurrent calls share
// nothing but the immutable rule and lookup sets.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "daemon/config/config.h"
#include "daemon/engine/rule_set.h"
#include "daemon/enrich/enricher.h"
#include "daemon/server/correlator.h"
#include "daemon/server/pipeline.h"
#include "trailwatch/alert_sink.h"
#include "trailwatch/decoder.h"
#include "trailwatch/result.h"
#include "trailwatch/source.h"

namespace trailwatch::server {

struct OneShotScanSettings {
  std::shared_ptr<const engine::RuleSet> rules;      // required
  std::shared_ptr<const enrich::LookupSet> lookups;  // null: no enrichment
  CorrelatorOptions correlation;                     // no state_file: nothing is saved
  std::string timestamp_field = "@timestamp";
};

struct OneShotScanResult {
  PipelineTotals totals;  // `alerts` counts correlation alerts too
  std::string format;     // the format an `auto` decoder chose; empty for others
};

// Opens `source`, evaluates every record against every rule (no logsource
// filtering, as `scan` does) and returns once the input has ended and every
// alert was written to `sink` and flushed. Errors: the source does not open,
// or the correlator does not start.
Result<OneShotScanResult> runOneShotScan(std::unique_ptr<Source> source,
                                         std::unique_ptr<Decoder> decoder,
                                         const OneShotScanSettings& settings, AlertSink& sink);

// Correlation settings from the configuration's `correlation:` (its
// defaults without one); `workers`, when not 0, overrides its shard count;
// when both are 0, autoWorkers() of the host's hardware threads.
CorrelatorOptions correlatorOptions(const config::CorrelationConfig& c, size_t workers);

// The worker count `workers: 0` means: one per two hardware threads, at
// least 1 and at most 8. A worker is a lane that decodes and evaluates and
// a correlation shard, and on the shipped packs it keeps about 1.4 cores
// busy, so one per hardware thread made its threads take turns on the
// cores: on 2 cores, 2 workers scanned at 0.8–1.05× the rate of 1 and
// spent 9–25% more CPU per event (bench/RESULTS.md).
size_t autoWorkers(unsigned hardware_threads);

}  // namespace trailwatch::server
