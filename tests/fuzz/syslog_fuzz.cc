// libFuzzer target for SyslogDecoder: any bytes as one record, decoded by
// the three registered variants (`syslog`, `syslog+json`, `syslog+kv`), so
// the envelope, structured data, ATNA XML, JSON and key=value readers are
// all reached. The record is copied into a buffer with exactly
// kRecordPadding bytes after it, so AddressSanitizer catches a read past
// the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "daemon/decode/syslog.h"
#include "trailwatch/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kPaths = {"@timestamp",
                                                  "host.name",
                                                  "message",
                                                  "process.name",
                                                  "process.pid",
                                                  "log.syslog.priority",
                                                  "log.syslog.facility.name",
                                                  "log.syslog.severity.name",
                                                  "log.syslog.msgid",
                                                  "log.syslog.structured_data",
                                                  "syslog.tag",
                                                  "syslog.sd_id",
                                                  "syslog.sd.exampleSDID@32473.iut",
                                                  "syslog.sd.x.k",
                                                  "syslog.body_error",
                                                  "event.action",
                                                  "event.outcome",
                                                  "event.type",
                                                  "user.id",
                                                  "user.name",
                                                  "source.ip",
                                                  "patient.id",
                                                  "syslog.atna.participant_object.id",
                                                  "syslog.atna.truncated",
                                                  "user",
                                                  "kv.user",
                                                  "a.b"};
  static std::vector<std::unique_ptr<trailwatch::decode::SyslogDecoder>>* decoders = [] {
    auto* d = new std::vector<std::unique_ptr<trailwatch::decode::SyslogDecoder>>();
    d->push_back(std::make_unique<trailwatch::decode::SyslogDecoder>());
    d->push_back(std::make_unique<trailwatch::decode::SyslogJsonDecoder>());
    d->push_back(std::make_unique<trailwatch::decode::SyslogKeyValueDecoder>());
    for (auto& decoder : *d) decoder->setFields(kPaths);
    return d;
  }();

  std::vector<char> buffer(size + trailwatch::kRecordPadding);
  if (size > 0) std::memcpy(buffer.data(), data, size);
  for (auto& decoder : *decoders) {
    trailwatch::DecodeError error;
    const trailwatch::Event* event = decoder->decode(std::string_view(buffer.data(), size), error);
    if (event == nullptr) {
      // The reason is a metric label: it must be one of the fixed words.
      if (error.reason.empty()) __builtin_trap();
      continue;
    }
    volatile std::size_t sink = event->raw().size();
    for (trailwatch::FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : event->values(id)) {
        for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
        sink = sink + static_cast<std::size_t>(v.number != 0);
      }
    }
    (void)sink;
  }
  return 0;
}
