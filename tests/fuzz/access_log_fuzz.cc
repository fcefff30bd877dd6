// libFuzzer target for AccessLogDecoder: any bytes as one record. The record
// is copied into a buffer with exactly kRecordPadding bytes after it, so
// AddressSanitizer catches a read past the padding the source promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/decode/access_log.h"
#include "tests/fuzz/decoder_fuzz.h"

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

  trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  return 0;
}
