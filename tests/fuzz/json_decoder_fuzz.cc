// libFuzzer target for JsonDecoder: any bytes as one record. The record is
// copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/decode/json_decoder.h"
#include "tests/fuzz/decoder_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Paths that cross nested objects, arrays, dotted keys and composites.
  static const std::vector<std::string> kPaths = {"a",
                                                  "a.b",
                                                  "a.b.c",
                                                  "user.name",
                                                  "annotations.authorization.k8s.io/decision",
                                                  "entity.what.reference",
                                                  "x.x.x.x.x.x.x.x",
                                                  "",
                                                  "o"};
  static trailwatch::decode::JsonDecoder* decoder = [] {
    auto* d = new trailwatch::decode::JsonDecoder();
    d->setFields(kPaths);
    return d;
  }();

  trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  return 0;
}
