// A real nats-server with JetStream for the integration tests, and the
// tests' own JetStream client (nats.c, the library the daemon uses). Streams
// are the operator's to create, so the tests create them as an operator
// would.
//
// Thread-safety: none; one test thread.
#pragma once

#include <nats/nats.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness.h"

namespace trailwatch::it {

inline constexpr const char* kNatsServer = "/usr/sbin/nats-server";

// In a test body: skip, saying why, where nats-server is not installed.
#define SKIP_WITHOUT_NATS_SERVER()                                                  \
  if (::access(kNatsServer, X_OK) != 0) {                                           \
    GTEST_SKIP() << kNatsServer << " is missing (apt-get install nats-server; see " \
                 << "deploy/install-deps.sh)";                                      \
  }

// The forwarder's partition hash (FNV-1a 64-bit of the key's text), so a
// test can tell which partition a record lands in.
inline uint64_t fnv1a(const std::string& text) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// A nats-server with JetStream on 127.0.0.1:<free port>, killed with the test.
class NatsServer {
 public:
  explicit NatsServer(const TempDir& dir) {
    port_ = freePort();
    std::filesystem::create_directories(dir / "jetstream");
    ProcessOptions o;
    o.argv = {kNatsServer,      "-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd",
              dir / "jetstream"};
    o.stdout_path = dir / "nats-server.out";
    o.stderr_path = dir / "nats-server.err";
    process_ = std::make_unique<Process>(o);
    up_ = waitFor(
        [&] {
          if (!process_->running()) return true;
          natsConnection* nc = nullptr;
          if (natsConnection_ConnectTo(&nc, url().c_str()) != NATS_OK) return false;
          natsConnection_Destroy(nc);
          return true;
        },
        15s);
    up_ = up_ && process_->running();
  }
  bool up() const { return up_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string logs() const { return process_->stderrText(); }

 private:
  int port_ = 0;
  bool up_ = false;
  std::unique_ptr<Process> process_;
};

// The test's JetStream client.
class NatsClient {
 public:
  explicit NatsClient(const std::string& url) {
    ok_ = natsConnection_ConnectTo(&nc_, url.c_str()) == NATS_OK &&
          natsConnection_JetStream(&js_, nc_, nullptr) == NATS_OK;
  }
  ~NatsClient() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  bool ok() const { return ok_; }

  bool addStream(const std::string& name, const std::string& subjects) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    const char* subs[] = {subjects.c_str()};
    cfg.Subjects = subs;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    const bool ok = js_AddStream(&si, js_, &cfg, nullptr, nullptr) == NATS_OK;
    jsStreamInfo_Destroy(si);
    return ok;
  }

  bool publish(const std::string& subject, const std::string& data) {
    return js_Publish(nullptr, js_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                      nullptr, nullptr) == NATS_OK;
  }

  // Asynchronous publishes; complete() waits until the server stored each.
  bool publishAsync(const std::string& subject, const std::string& data) {
    return js_PublishAsync(js_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                           nullptr) == NATS_OK;
  }
  bool complete() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60'000;
    return js_PublishAsyncComplete(js_, &po) == NATS_OK;
  }

  // (num_pending, num_ack_pending) of a consumer; nullopt when unknown.
  std::optional<std::pair<uint64_t, int64_t>> pending(const std::string& stream,
                                                      const std::string& consumer) {
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, js_, stream.c_str(), consumer.c_str(), nullptr, nullptr) !=
        NATS_OK) {
      return std::nullopt;
    }
    std::pair<uint64_t, int64_t> out{ci->NumPending, ci->NumAckPending};
    jsConsumerInfo_Destroy(ci);
    return out;
  }

  // Messages stored in `stream`; -1 when it cannot be asked.
  int64_t messages(const std::string& stream) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, nullptr) != NATS_OK) return -1;
    const auto n = static_cast<int64_t>(si->State.Msgs);
    jsStreamInfo_Destroy(si);
    return n;
  }

  // Every message of `stream` as (subject, data), through an ephemeral
  // consumer.
  std::vector<std::pair<std::string, std::string>> readAll(const std::string& stream,
                                                           const std::string& subjects) {
    std::vector<std::pair<std::string, std::string>> out;
    const int64_t total = messages(stream);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    natsSubscription* sub = nullptr;
    if (js_PullSubscribe(&sub, js_, subjects.c_str(), nullptr, nullptr, &so, nullptr) != NATS_OK) {
      return out;
    }
    while (static_cast<int64_t>(out.size()) < total) {
      natsMsgList list{};
      if (natsSubscription_Fetch(&list, sub, 512, 2000, nullptr) != NATS_OK) break;
      for (int i = 0; i < list.Count; ++i) {
        out.emplace_back(natsMsg_GetSubject(list.Msgs[i]),
                         std::string(natsMsg_GetData(list.Msgs[i]),
                                     static_cast<size_t>(natsMsg_GetDataLength(list.Msgs[i]))));
        natsMsg_Ack(list.Msgs[i], nullptr);
      }
      natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return out;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  bool ok_ = false;
};

}  // namespace trailwatch::it
