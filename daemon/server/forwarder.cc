#include "daemon/server/forwarder.h"

#include <nats/nats.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/config/config.h"
#include "daemon/decode/registry.h"
#include "daemon/nats/nats_connection.h"
#include "daemon/server/commands.h"
#include "daemon/server/components.h"

namespace trailwatch::server {
namespace {

uint64_t fnv1a(std::string_view text, uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 0xf];
  return out;
}

// One forwarded source: the file source, and the decoder that finds the
// partition key (null without partitioning).
struct Forwarded {
  std::unique_ptr<Source> source;
  std::unique_ptr<Decoder> decoder;
  uint64_t records = 0, undecoded = 0;
};

class Forwarder {
 public:
  Forwarder(const config::Config& config, nats::NatsConnection& nats, sigset_t signals)
      : config_(config), fc_(*config.forward), nats_(nats), signals_(signals) {}

  // Publishes `batch` until every record of it is stored, or a stop signal
  // came (false).
  bool publish(Forwarded& f, const RecordBatch& batch) {
    std::mt19937_64 random(std::random_device{}());
    for (unsigned failures = 0;; ++failures) {
      const std::string problem = tryPublish(f, batch);
      if (problem.empty()) return true;
      const auto delay = std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(30'000),
          std::chrono::milliseconds(250) * (1LL << std::min(failures, 7u)));
      spdlog::warn("forward: {} records of {} not stored ({}); sending again in {} ms",
                   batch.records.size(), f.source->name(), problem, delay.count());
      if (waitForStop(delay)) return false;
    }
  }

  // Whether SIGTERM or SIGINT arrived, waiting up to `wait` for one.
  bool waitForStop(std::chrono::milliseconds wait) {
    if (stopping_) return true;
    timespec ts{static_cast<time_t>(wait.count() / 1000),
                static_cast<long>((wait.count() % 1000) * 1'000'000)};
    const int sig = sigtimedwait(&signals_, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("forward: signal {}: stopping after the batch in flight", sig);
      stopping_ = true;
    }
    return stopping_;
  }

 private:
  std::string subjectFor(Forwarded& f, const Record& r) {
    if (!f.decoder) return fc_.subject;
    DecodeError error;
    const Event* event = f.decoder->decode(r.text, error);
    std::size_t bucket = 0;
    if (event == nullptr) {
      ++f.undecoded;
    } else {
      const auto values = event->values(0);
      if (!values.empty()) bucket = partitionOf(values.front().text, fc_.partitions);
      // Formats with several events per record: the first decides.
      while (f.decoder->next(error) != nullptr) {
      }
    }
    return fc_.subject + "." + std::to_string(bucket);
  }

  // Empty when every record was stored, else why not.
  std::string tryPublish(Forwarded& f, const RecordBatch& batch) {
    jsCtx* js = nats_.jetStream();
    const uint64_t failures_before = nats_.asyncPublishFailures();
    for (const Record& r : batch.records) {
      const std::string subject = subjectFor(f, r);
      const std::string id = forwardMessageId(r.origin, r.offset, r.text);
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = id.c_str();
      natsStatus s =
          js_PublishAsync(js, subject.c_str(), r.text.data(), static_cast<int>(r.text.size()), &po);
      if (s != NATS_OK) {
        drainPending();
        return nats::natsError("publishing to " + subject, s);
      }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = fc_.timeout.count();
    natsStatus s = js_PublishAsyncComplete(js, &po);
    if (s != NATS_OK) {
      drainPending();
      return nats::natsError("waiting for acknowledgements", s);
    }
    if (nats_.asyncPublishFailures() != failures_before) return nats_.lastAsyncPublishError();
    return "";
  }

  // Forgets publishes still waiting for an acknowledgement (the batch is
  // sent again; the stream drops the ones it already has).
  void drainPending() {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, nats_.jetStream()) == NATS_OK) {
      natsMsgList_Destroy(&pending);
    }
  }

  const config::Config& config_;
  const config::ForwardConfig& fc_;
  nats::NatsConnection& nats_;
  sigset_t signals_;
  bool stopping_ = false;
};

}  // namespace

std::size_t partitionOf(std::string_view value, std::size_t partitions) {
  if (partitions <= 1) return 0;
  return static_cast<std::size_t>(fnv1a(value) % partitions);
}

std::string forwardMessageId(std::string_view origin, uint64_t offset, std::string_view text) {
  return hex(fnv1a(origin)) + "-" + std::to_string(offset) + "-" + hex(fnv1a(text));
}

int runForward(const ForwardOptions& options) {
  auto loaded = loadConfigOrReport(options.config_file);
  if (!loaded) return kExitUsage;
  const config::Config& config = *loaded;
  setUpLogging(config.log_level);
  if (!config.forward) {
    spdlog::error("{}: no 'forward:' section (url, subject, ...): nothing to forward to",
                  config.file);
    return kExitUsage;
  }
  const config::ForwardConfig& fc = *config.forward;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<Forwarded> forwarded;
  for (const config::SourceConfig& sc : config.sources) {
    if (sc.type != "file") continue;
    if (!fc.sources.empty() &&
        std::find(fc.sources.begin(), fc.sources.end(), sc.name) == fc.sources.end()) {
      continue;
    }
    Forwarded f;
    f.source = makeFileSource(config, sc, "forward-" + sc.name);
    if (!fc.partition_key.empty()) {
      decode::DecoderOptions dopts;
      dopts.extra_fields = sc.extra_fields;
      f.decoder = decode::makeDecoder(sc.format, dopts);
      if (!f.decoder) {
        spdlog::error("forward: source {}: unknown format '{}'", sc.name, sc.format);
        return kExitUsage;
      }
      const std::string paths[] = {fc.partition_key};
      f.decoder->setFields(paths);
    }
    if (Status s = f.source->open(); !s.ok()) {
      spdlog::error("forward: source {}: {}", sc.name, s.error());
      return kExitFailure;
    }
    forwarded.push_back(std::move(f));
  }
  if (forwarded.empty()) {
    spdlog::error("{}: no file source to forward", config.file);
    return kExitUsage;
  }

  nats::NatsConnectionOptions no;
  no.url = fc.url;
  no.creds_file = fc.creds_file;
  no.name = "trailwatch forward";
  no.timeout = fc.timeout;
  auto connection = nats::NatsConnection::connect(no);
  if (!connection.ok()) {
    spdlog::error("forward: {}", connection.error());
    return kExitFailure;
  }
  Forwarder forwarder(config, **connection, signals);
  spdlog::info("forward: {} source(s) to {} on {}{}", forwarded.size(), fc.subject, fc.url,
               fc.partition_key.empty()
                   ? std::string()
                   : " in " + std::to_string(fc.partitions) + " partitions by " + fc.partition_key);

  const auto poll = std::chrono::milliseconds(250 / forwarded.size() + 1);
  auto last_commit = std::chrono::steady_clock::now();
  std::vector<bool> dirty(forwarded.size(), false);
  RecordBatch batch;
  int exit_code = kExitOk;
  auto commitAll = [&] {
    for (std::size_t i = 0; i < forwarded.size(); ++i) {
      if (!dirty[i]) continue;
      if (Status s = forwarded[i].source->commit(); !s.ok()) {
        spdlog::error("forward: source {}: checkpoint: {}", forwarded[i].source->name(), s.error());
        exit_code = kExitFailure;
      } else {
        dirty[i] = false;
      }
    }
    last_commit = std::chrono::steady_clock::now();
  };
  bool stop = false;
  while (!stop) {
    bool idle = true;
    for (std::size_t i = 0; i < forwarded.size() && !stop; ++i) {
      Forwarded& f = forwarded[i];
      f.source->next(batch, poll);
      if (batch.records.empty()) continue;
      idle = false;
      if (!forwarder.publish(f, batch)) {
        // Stopped with this batch not all stored: FileSource::commit() would
        // save past it, so this source keeps its last checkpoint (what it
        // sent since is sent again, and dropped as duplicates in the window).
        dirty[i] = false;
        stop = true;
        break;
      }
      f.records += batch.records.size();
      dirty[i] = true;
    }
    if (idle || std::chrono::steady_clock::now() - last_commit >= config.checkpoint_interval) {
      commitAll();
    }
    stop = forwarder.waitForStop(std::chrono::milliseconds(0));
  }
  commitAll();
  for (std::size_t i = 0; i < forwarded.size(); ++i) {
    spdlog::info("forward: source {}: {} records published ({} not decoded, sent to bucket 0)",
                 forwarded[i].source->name(), forwarded[i].records, forwarded[i].undecoded);
  }
  return exit_code;
}

}  // namespace trailwatch::server
