// libFuzzer target for AccessLogDecoder: any bytes as one record. The record
// is copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/decode/access_log.h"
#include "trailwatch/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kPaths = {"source.ip",
                                                  "user.name",
                                                  "@timestamp",
                                                  "http.request.method",
                                                  "url.path",
                                                  "url.query",
                                                  "url.original",
                                                  "http.version",
                                                  "http.response.status_code",
                                                  "http.response.body.bytes",
                                                  "http.request.referrer",
                                                  "user_agent.original",
                                                  "event.outcome",
                                                  "access_log.request",
                                                  "access_log.extra",
                                                  "access_log.truncated"};
  static trailwatch::decode::AccessLogDecoder* decoder = [] {
    auto* d = new trailwatch::decode::AccessLogDecoder();
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
      sink = sink + static_cast<std::size_t>(v.number != 0);
    }
  }
  (void)sink;
  return 0;
}
