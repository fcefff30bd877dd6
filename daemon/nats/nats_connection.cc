#include "daemon/nats/nats_connection.h"

#include <nats/nats.h>

#include "daemon/common/nats_names.h"

#include <cstdint>

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

NatsConnection::~NatsConnection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  natsConnection_Close(connection_);
  natsConnection_Destroy(connection_);
}

}  // namespace trailwatch::nats
