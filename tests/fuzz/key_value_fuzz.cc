// libFuzzer target for KeyValueDecoder (format `kv`): any bytes as one record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/decode/key_value.h"
#include "tests/fuzz/decoder_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kPaths = {"user",      "kv.user", "action",
                                                  "user.name", "kv.msg",  "n"};
  static trailwatch::decode::KeyValueDecoder* decoder = [] {
    auto* d = new trailwatch::decode::KeyValueDecoder();
    d->setFields(kPaths);
    return d;
  }();
  trailwatch::fuzz::decodeOneRecord(*decoder, kPaths.size(), data, size);
  return 0;
}
