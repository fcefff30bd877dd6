#include "daemon/alert/webhook_sink.h"

namespace trailwatch::alert {

SendResult classifyHttpReply(const Result<HttpReply>& reply) {
  if (!reply.ok()) return SendResult{SendResult::Kind::kRetry, reply.error()};
  const int status = reply->status;
  std::string detail = "HTTP " + std::to_string(status);
  if (!reply->body.empty() && (status < 200 || status > 299)) {
    std::string body = reply->body.substr(0, 300);
    for (char& c : body) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    detail += ": " + body;
  }
  if (status >= 200 && status <= 299) return SendResult{SendResult::Kind::kDelivered, detail};
  if (status == 400 || status == 413 || status == 422) {
    return SendResult{SendResult::Kind::kRejected, detail};
  }
  return SendResult{SendResult::Kind::kRetry, detail};
}

WebhookTransport::WebhookTransport(std::unique_ptr<HttpPoster> poster, size_t batch_max)
    : poster_(std::move(poster)), batch_max_(batch_max) {}

SendResult WebhookTransport::send(const std::vector<SpoolRecord>& batch) {
  std::string body;
  if (batch_max_ <= 1 && batch.size() == 1) {
    body = batch.front().payload;
  } else {
    body.push_back('[');
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i > 0) body.push_back(',');
      body.append(batch[i].payload);
    }
    body.push_back(']');
  }
  return classifyHttpReply(poster_->post(body, "application/json"));
}

}  // namespace trailwatch::alert
