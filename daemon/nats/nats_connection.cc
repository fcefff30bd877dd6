#include "daemon/nats/nats_connection.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "daemon/common/nats_names.h"

#include <cstdint>
#include <string>

namespace trailwatch::nats {

std::string natsError(std::string_view what, int status, int js_error) {
  const auto s = static_cast<natsStatus>(status);
  std::string out(what);
  out += ": ";
  out += natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  if (const char* detail = nats_GetLastError(&last);
      detail != nullptr && *detail != '\0' && last == s) {
    out += ": ";
    out += detail;
  }
  if (js_error != 0) out += " (JetStream error " + std::to_string(js_error) + ")";
  return out;
}

struct NatsConnection::AsyncErrors {
  // jsPubAckErrHandler: the library's thread; the message is destroyed by
  // the library after the callback returns.
  static void onError(jsCtx* /*js*/, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<NatsConnection*>(closure);
    std::string why = natsError("asynchronous publish", pae->Err, pae->ErrCode);
    if (pae->ErrText != nullptr && *pae->ErrText != '\0') why += std::string(": ") + pae->ErrText;
    {
      std::lock_guard lock(self->mu_);
      self->last_async_error_ = std::move(why);
    }
    self->async_failures_.fetch_add(1);
  }
};

std::string NatsConnection::lastAsyncPublishError() const {
  std::lock_guard lock(mu_);
  return last_async_error_;
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::connect(
    const NatsConnectionOptions& options) {
  if (std::string problem = natsUrlProblem(options.url); !problem.empty()) {
    return Error{"NATS URL: " + problem};
  }
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options.timeout.count());
  if (s == NATS_OK && !options.name.empty()) s = natsOptions_SetName(opts, options.name.c_str());
  // Reconnect forever: the daemon outlives server restarts; what is not
  // acknowledged meanwhile is redelivered (source) or retried (sink).
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, options.reconnect_wait.count());
  if (s == NATS_OK && !options.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts, options.creds_file.c_str(), nullptr);
  }
  if (s != NATS_OK) {
    std::string message = natsError("NATS options", s);
    natsOptions_Destroy(opts);
    return Error{std::move(message)};
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return Error{natsError("connecting to " + options.url, s)};

  std::unique_ptr<NatsConnection> self(new NatsConnection());
  self->connection_ = nc;
  self->url_ = options.url;
  self->timeout_ = options.timeout;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options.timeout.count();
  jo.PublishAsync.ErrHandler = &AsyncErrors::onError;
  jo.PublishAsync.ErrHandlerClosure = self.get();
  jo.PublishAsync.MaxPending = 4096;
  s = natsConnection_JetStream(&self->js_, nc, &jo);
  if (s != NATS_OK) {
    self->js_ = nullptr;
    return Error{natsError("JetStream context on " + options.url, s)};
  }
  return self;
}

Status NatsConnection::ensurePullConsumer(const PullConsumerSpec& spec) const {
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetConsumerInfo(&ci, js_, spec.stream.c_str(), spec.consumer.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    const char* filter = ci->Config != nullptr ? ci->Config->FilterSubject : nullptr;
    const std::string have = filter != nullptr ? filter : "";
    const bool pull = ci->Config == nullptr || ci->Config->DeliverSubject == nullptr ||
                      *ci->Config->DeliverSubject == '\0';
    jsConsumerInfo_Destroy(ci);
    if (!pull) return Error{"consumer '" + spec.consumer + "' is a push consumer"};
    if (have != spec.subject) {
      return Error{"consumer '" + spec.consumer + "' filters subject '" + have +
                   "', not the configured '" + spec.subject +
                   "' (delete the consumer or use another name)"};
    }
    return Status::Ok();
  }
  if (jerr != JSConsumerNotFoundErr) {
    return Error{natsError("looking up consumer " + spec.consumer, s, jerr)};
  }
  if (!spec.create) {
    return Error{"consumer '" + spec.consumer + "' does not exist on stream '" + spec.stream +
                 "' (create it, or set create_consumer: true)"};
  }
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = spec.consumer.c_str();
  cc.AckPolicy = js_AckExplicit;
  cc.DeliverPolicy = spec.start_at_end ? js_DeliverNew : js_DeliverAll;
  cc.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(spec.ack_wait).count();
  cc.MaxAckPending = static_cast<int64_t>(spec.max_ack_pending);
  if (!spec.subject.empty()) cc.FilterSubject = spec.subject.c_str();
  jerr = static_cast<jsErrCode>(0);
  // Instances starting together may race to create it: the same
  // configuration succeeds for each.
  s = js_AddConsumer(&ci, js_, spec.stream.c_str(), &cc, nullptr, &jerr);
  if (s != NATS_OK) return Error{natsError("creating consumer " + spec.consumer, s, jerr)};
  jsConsumerInfo_Destroy(ci);
  spdlog::info("nats: created durable consumer {} on stream {}", spec.consumer, spec.stream);
  return Status::Ok();
}

Status NatsConnection::acknowledge(std::span<natsMsg* const> messages,
                                   std::string_view what) const {
  natsStatus failed = NATS_OK;
  for (natsMsg* m : messages) {
    const natsStatus s = natsMsg_Ack(m, nullptr);
    if (s != NATS_OK && failed == NATS_OK) failed = s;
    natsMsg_Destroy(m);
  }
  // A round trip: the server has the acknowledgements once it answers.
  if (failed == NATS_OK) failed = natsConnection_FlushTimeout(connection_, timeout_.count());
  if (failed == NATS_OK) return Status::Ok();
  return Error{natsError(
      std::string(what) + ": acknowledging " + std::to_string(messages.size()) + " messages",
      failed)};
}

Status NatsConnection::deleteKeyAtRevision(std::string_view bucket, std::string_view key,
                                           uint64_t revision) const {
  // A KV delete is a message with the header KV-Operation: DEL on the key's
  // subject; JetStream refuses it when the subject's last sequence (the
  // key's revision) is another. Revision 0 would expect nothing.
  if (revision == 0) return Error{"deleting " + std::string(key) + ": no revision to expect"};
  const std::string subject = "$KV." + std::string(bucket) + "." + std::string(key);
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, nullptr, 0);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (s == NATS_OK) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = revision;
    po.MaxWait = timeout_.count();
    s = js_PublishMsg(nullptr, js_, msg, &po, &jerr);
  }
  natsMsg_Destroy(msg);
  if (s == NATS_OK) return Status::Ok();
  return Error{natsError("deleting " + std::string(key) + " of bucket " + std::string(bucket) +
                             " at revision " + std::to_string(revision),
                         s, jerr)};
}

NatsConnection::~NatsConnection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  natsConnection_Close(connection_);
  natsConnection_Destroy(connection_);
}

}  // namespace trailwatch::nats
