// libFuzzer target for SyslogDecoder: any bytes as one record, decoded as
// `syslog` and with nested bodies of one event (`syslog+json`, `syslog+kv`,
// `syslog+access-log` with extra fields) and of several (`syslog+cloudtrail`),
// so the envelope, structured data, ATNA XML and the nesting are all
// reached (the body formats have their own targets; `syslog+auditd`, which
// holds records, is driven line by line in auditd_fuzz). The record is copied into a buffer with
// exactly kRecordPadding bytes after it, so AddressSanitizer catches a read past the padding the
// source promises.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/decode/registry.h"
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
                                                  "a.b",
                                                  "eventName",
                                                  "forwarded_for",
                                                  "request_time"};
  static std::vector<std::unique_ptr<trailwatch::Decoder>>* decoders = [] {
    auto* d = new std::vector<std::unique_ptr<trailwatch::Decoder>>();
    for (const char* format : {"syslog", "syslog+json", "syslog+kv", "syslog+cloudtrail"}) {
      d->push_back(trailwatch::decode::makeDecoder(format));
    }
    d->push_back(trailwatch::decode::makeDecoder("syslog+access-log",
                                                 {{"forwarded_for", "-", "request_time"}}));
    for (auto& decoder : *d) decoder->setFields(kPaths);
    return d;
  }();

  for (auto& decoder : *decoders) {
    trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  }
  return 0;
}
