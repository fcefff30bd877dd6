// libFuzzer target for JsonDecoder: any bytes as one record. The record is
// copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/decode/json_decoder.h"
#include "trailwatch/source.h"

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

  std::vector<char> buffer(size + trailwatch::kRecordPadding);
  if (size > 0) std::memcpy(buffer.data(), data, size);
  trailwatch::DecodeError error;
  const trailwatch::Event* event = decoder->decode(std::string_view(buffer.data(), size), error);
  if (event == nullptr) {
    // The reason is a metric label: it must be one of the fixed words.
    if (error.reason.empty()) __builtin_trap();
    return 0;
  }
  volatile std::size_t sink = event->raw().size();
  for (trailwatch::FieldId id = 0; id < kPaths.size(); ++id) {
    for (const auto& v : event->values(id)) {
      for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
      sink = sink + static_cast<std::size_t>(v.number != 0) + v.boolean;
    }
  }
  (void)sink;
  return 0;
}
