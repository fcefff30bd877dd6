#include "daemon/alert/nats_sink.h"

#include <nats/nats.h>
#include <openssl/evp.h>

#include <utility>

namespace trailwatch::alert {

std::string alertMessageId(std::string_view alert_json) {
  // The renderer writes `,"detected_at":"<RFC 3339>"` as the last member.
  constexpr std::string_view kKey = ",\"detected_at\":\"";
  std::string_view head = alert_json, tail;
  if (const auto at = alert_json.rfind(kKey); at != std::string_view::npos) {
    const auto close = alert_json.find('"', at + kKey.size());
    if (close != std::string_view::npos) {
      head = alert_json.substr(0, at);
      tail = alert_json.substr(close + 1);
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, head.data(), head.size());
  EVP_DigestUpdate(ctx, tail.data(), tail.size());
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 16 && i < size; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 0xf]);
  }
  return id;
}

NatsTransport::NatsTransport(NatsTransportOptions options) : options_(std::move(options)) {}
NatsTransport::~NatsTransport() = default;

SendResult NatsTransport::send(const std::vector<SpoolRecord>& batch) {
  if (!connection_) {
    auto c = nats::NatsConnection::connect(options_.connection);
    if (!c.ok()) return {SendResult::Kind::kRetry, c.error()};
    connection_ = std::move(c).value();
  }
  for (const SpoolRecord& r : batch) {
    const std::string id = alertMessageId(r.payload);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.MaxWait = options_.connection.timeout.count();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s =
        js_Publish(&ack, connection_->jetStream(), options_.subject.c_str(), r.payload.data(),
                   static_cast<int>(r.payload.size()), &po, &jerr);
    jsPubAck_Destroy(ack);
    if (s == NATS_MAX_PAYLOAD) {
      return {SendResult::Kind::kRejected,
              nats::natsError("publishing to " + options_.subject, s, jerr)};
    }
    if (s != NATS_OK) {
      std::string detail = nats::natsError("publishing to " + options_.subject, s, jerr);
      if (s == NATS_CONNECTION_CLOSED) connection_.reset();  // connect again next time
      return {SendResult::Kind::kRetry, std::move(detail)};
    }
  }
  return {SendResult::Kind::kDelivered, "stored"};
}

}  // namespace trailwatch::alert
