#include "daemon/server/components.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>

#include "daemon/alert/alertmanager_sink.h"
#include "daemon/alert/file_sink.h"
#include "daemon/alert/spooled_sink.h"
#include "daemon/alert/stdout_sink.h"
#include "daemon/alert/webhook_sink.h"
#include "daemon/common/http_url.h"
#include "daemon/source/file_source.h"

namespace trailwatch::server {

std::string checkpointPath(const config::Config& config, const std::string& source) {
  return (std::filesystem::path(config.state_dir) / "checkpoints" / (source + ".ckpt")).string();
}

Result<std::unique_ptr<Source>> makeSource(const config::Config& config,
                                           const config::SourceConfig& sc,
                                           metrics::Metrics& /*metrics*/) {
  if (sc.type == "file") {
    source::FileSourceOptions fo;
    fo.name = sc.name;
    fo.patterns = sc.paths;
    fo.follow = true;
    fo.start_at_end = sc.start_at_end;
    fo.max_line_bytes = sc.max_line_bytes;
    fo.checkpoint_path = checkpointPath(config, sc.name);
    return std::unique_ptr<Source>(std::make_unique<source::FileSource>(std::move(fo)));
  }
  return Error{"source " + sc.name + ": unsupported type '" + sc.type + "'"};
}

namespace {

// Pushes a spooled sink's cumulative stats into its metrics as deltas.
std::function<void(const alert::DeliveryStats&)> spoolMonitor(metrics::SpoolMetrics m) {
  auto last = std::make_shared<alert::DeliveryStats>();
  return [m, last](const alert::DeliveryStats& now) {
    auto add = [](prometheus::Counter& c, uint64_t was, uint64_t is) {
      if (is > was) c.Increment(static_cast<double>(is - was));
    };
    add(m.full, last->spool.full, now.spool.full);
    add(m.refused, last->spool.refused, now.spool.refused);
    add(m.dropped_oldest, last->spool.dropped_oldest, now.spool.dropped_oldest);
    add(m.dropped_newest, last->spool.dropped_newest, now.spool.dropped_newest);
    add(m.dropped_torn, last->spool.torn, now.spool.torn);
    add(m.dropped_rejected, last->rejected, now.rejected);
    add(m.delivered, last->delivered, now.delivered);
    add(m.send_failures, last->send_failures, now.send_failures);
    m.records.Set(static_cast<double>(now.spool.records));
    m.bytes.Set(static_cast<double>(now.spool.bytes));
    m.capacity_bytes.Set(static_cast<double>(now.spool.capacity_bytes));
    double age = 0;
    if (now.spool.oldest_ms > 0) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      age = std::max<double>(0, static_cast<double>(now_ms - now.spool.oldest_ms) / 1000.0);
    }
    m.oldest_age_seconds.Set(age);
    *last = now;
  };
}

Result<std::unique_ptr<AlertSink>> makeNetworkSink(const config::Config& config,
                                                   const config::OutputConfig& output,
                                                   metrics::Metrics& metrics) {
  const std::string what = output.type + " output " + output.name;
  auto url = parseHttpUrl(output.url);
  if (!url.ok()) return Error{what + ": " + url.error()};
  alert::HttpPosterOptions http;
  http.url = std::move(url).value();
  if (output.type == "alertmanager")
    http.url.target = alert::alertmanagerAlertsPath(http.url.target);
  http.headers = output.headers;
  http.headers_file = output.headers_file;
  http.timeout = output.timeout;
  http.tls_ca_file = output.tls_ca_file;
  auto poster = alert::HttpPoster::create(std::move(http));
  if (!poster.ok()) return Error{what + ": " + poster.error()};

  alert::SpoolOptions so;
  so.dir = (std::filesystem::path(config.state_dir) / "spool" / output.name).string();
  so.max_bytes = output.spool.max_bytes;
  so.on_full = output.spool.on_full == "drop_oldest"   ? alert::SpoolFullPolicy::kDropOldest
               : output.spool.on_full == "drop_newest" ? alert::SpoolFullPolicy::kDropNewest
                                                       : alert::SpoolFullPolicy::kBlock;
  auto spool = alert::Spool::open(so);
  if (!spool.ok()) return Error{what + ": " + spool.error()};

  std::unique_ptr<alert::Transport> transport;
  if (output.type == "alertmanager") {
    transport = std::make_unique<alert::AlertmanagerTransport>(std::move(poster).value(),
                                                               output.resolve_after);
  } else {
    transport =
        std::make_unique<alert::WebhookTransport>(std::move(poster).value(), output.batch_max);
  }
  alert::DeliveryOptions delivery;
  delivery.batch_max = output.batch_max;
  delivery.retry_initial_delay = output.retry_initial_delay;
  delivery.retry_max_delay = output.retry_max_delay;
  delivery.monitor = spoolMonitor(metrics.spool(output.name));
  return std::unique_ptr<AlertSink>(std::make_unique<alert::SpooledSink>(
      output.name, std::move(spool).value(), std::move(transport), std::move(delivery)));
}

}  // namespace

Result<std::unique_ptr<AlertSink>> makeSink(const config::Config& config,
                                            const config::OutputConfig& output,
                                            metrics::Metrics& metrics) {
  if (output.type == "webhook" || output.type == "alertmanager") {
    return makeNetworkSink(config, output, metrics);
  }
  if (output.type == "stdout") {
    return std::unique_ptr<AlertSink>(std::make_unique<alert::StdoutSink>());
  }
  if (output.type == "file") {
    alert::FileSinkOptions options;
    options.hash_chain = output.hash_chain;
    if (!output.chain_key_file.empty()) {
      auto key = alert::readChainKey(output.chain_key_file);
      if (!key.ok()) return Error{key.error()};
      options.chain_key = std::move(key).value();
    }
    auto sink = alert::FileSink::open(output.path, options);
    if (!sink.ok()) return Error{sink.error()};
    return std::unique_ptr<AlertSink>(std::move(sink).value());
  }
  return Error{"unsupported output type '" + output.type + "'"};
}

}  // namespace trailwatch::server
