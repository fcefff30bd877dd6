// The webhook sink's transport: POSTs alerts as JSON to a URL. With
// batch_max 1 each request carries one alert object; with batch_max > 1 a
// JSON array of up to batch_max alerts (always an array, even of one), in
// the order they were raised. The spool, retries and ordering are
// SpooledSink's.
//
// How a reply is classified (shared with the Alertmanager sink):
//   2xx                       delivered
//   400, 413, 422             rejected for good: this content will never be
//                             accepted (dropped, counted, logged)
//   anything else, and        retried with backoff: 401/403 (a token being
//   network errors/timeouts   fixed), 404 (a receiver being deployed),
//                             408/429, 5xx and redirects keep the alerts
//
// Thread-safety: one thread at a time (the sink's delivery thread).
#pragma once

#include <memory>

#include "daemon/alert/http_poster.h"
#include "daemon/alert/spooled_sink.h"

namespace trailwatch::alert {

SendResult classifyHttpReply(const Result<HttpReply>& reply);

class WebhookTransport : public Transport {
 public:
  WebhookTransport(std::unique_ptr<HttpPoster> poster, size_t batch_max);
  SendResult send(const std::vector<SpoolRecord>& batch) override;

 private:
  std::unique_ptr<HttpPoster> poster_;
  const size_t batch_max_;
};

}  // namespace trailwatch::alert
