// libFuzzer target for CloudTrailDecoder: any bytes as one CloudTrail (one event, Records files)
// record. The record is copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises;
// every event of the record is drained through next().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/decode/cloudtrail.h"
#include "tests/fuzz/decoder_fuzz.h"

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

  trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  return 0;
}
