// libFuzzer target for SyslogDecoder: any bytes as one record, decoded by
// the three registered variants (`syslog`, `syslog+json`, `syslog+kv`), so
// the envelope, structured data, ATNA XML, JSON and key=value readers are
// all reached. The record is copied into a buffer with exactly
// kRecordPadding bytes after it, so AddressSanitizer catches a read past
// the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/decode/syslog.h"
#include "tests/fuzz/decoder_fuzz.h"

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

  for (auto& decoder : *decoders) {
    trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  }
  return 0;
}
