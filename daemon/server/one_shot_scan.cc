#include "daemon/server/one_shot_scan.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "daemon/decode/auto_decoder.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/snapshot_holder.h"

namespace trailwatch::server {

size_t autoWorkers(unsigned hardware_threads) {
  return std::clamp<size_t>(hardware_threads / 2, 1, 8);
}

CorrelatorOptions correlatorOptions(const config::CorrelationConfig& c, size_t workers) {
  CorrelatorOptions o;
  o.shards = workers != 0 ? workers : c.workers;
  if (o.shards == 0) o.shards = autoWorkers(std::thread::hardware_concurrency());
  o.limits.max_keys = c.max_keys;
  o.limits.late_allowance_nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(c.late_allowance).count();
  o.limits.sample_size = c.sample_size;
  o.limits.max_events_per_group = c.max_events_per_group;
  return o;
}

Result<OneShotScanResult> runOneShotScan(std::unique_ptr<Source> source,
                                         std::unique_ptr<Decoder> decoder,
                                         const OneShotScanSettings& settings, AlertSink& sink) {
  if (Status s = source->open(); !s.ok()) return Error{s.error()};
  // Kept to report what `auto` chose; the pipeline owns the decoder.
  const auto* detector = dynamic_cast<const decode::AutoDecoder*>(decoder.get());

  metrics::Metrics metrics;
  RuleSetHolder holder(settings.rules);
  std::optional<LookupSetHolder> lookups;
  if (settings.lookups) lookups.emplace(settings.lookups);
  Correlator correlator(settings.correlation, holder, {&sink}, metrics);
  if (Status s = correlator.start(); !s.ok()) return Error{s.error()};
  // A scan persists no checkpoint, so it commits only when its input pauses
  // or ends: a commit on a timer would flush the decoder mid-file and split
  // an event whose records straddle it (auditd), so the output would depend
  // on how fast the machine is. Alerts still go out after every batch.
  constexpr auto kNoTimedCommit = std::chrono::hours(24 * 365 * 100);
  SourcePipeline pipeline(std::move(source), std::move(decoder), std::nullopt, {&sink}, holder,
                          metrics, kNoTimedCommit, lookups ? &*lookups : nullptr, &correlator,
                          settings.timestamp_field, settings.correlation.shards);
  pipeline.run();
  correlator.stop();  // the windows the last event time closes, then the rest of the output
  (void)sink.flush();

  OneShotScanResult result;
  result.totals = pipeline.totals();
  result.totals.alerts += correlator.alerts();
  if (detector != nullptr) result.format = detector->chosen();
  return result;
}

}  // namespace trailwatch::server
