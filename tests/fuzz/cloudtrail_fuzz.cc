// libFuzzer target for CloudTrailDecoder: any bytes as one CloudTrail (one event, Records files)
// record. The record is copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises;
// every event of the record is drained through next().
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/decode/cloudtrail.h"
#include "trailwatch/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Normalized fields plus native paths across arrays, dotted keys and objects.
  static const std::vector<std::string> kPaths = {
      "@timestamp",       "event.action",
      "event.outcome",    "user.id",
      "user.name",        "user.roles",
      "source.ip",        "patient.id",
      "resource.type",    "purpose_of_use",
      "url.path",         "event.provider",
      "cloud.region",     "agent.who.identifier.value",
      "entity.what",      "annotations.authorization.k8s.io/decision",
      "userIdentity",     "Records.eventName",
      "x.x.x.x",          "",
      "entry.resource.id"};
  static trailwatch::decode::CloudTrailDecoder* decoder = [] {
    auto* d = new trailwatch::decode::CloudTrailDecoder();
    d->setFields(kPaths);
    return d;
  }();

  std::vector<char> buffer(size + trailwatch::kRecordPadding);
  if (size > 0) std::memcpy(buffer.data(), data, size);
  trailwatch::DecodeError error;
  const trailwatch::Event* event = decoder->decode(std::string_view(buffer.data(), size), error);
  // This decoder never holds records: a failure always has a reason, which
  // is a metric label.
  if (event == nullptr && error.reason.empty()) __builtin_trap();
  volatile std::size_t sink = 0;
  while (event != nullptr) {
    sink = sink + event->raw().size();
    for (trailwatch::FieldId id = 0; id < kPaths.size(); ++id) {
      for (const auto& v : event->values(id)) {
        for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
        sink = sink + static_cast<std::size_t>(v.number != 0) + v.boolean;
      }
    }
    event = decoder->next(error);
  }
  (void)sink;
  return 0;
}
