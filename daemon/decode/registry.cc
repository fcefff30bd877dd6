#include "daemon/decode/registry.h"

#include "daemon/decode/json_decoder.h"

namespace trailwatch::decode {
namespace {

struct Registration {
  std::string_view name;
  std::unique_ptr<Decoder> (*make)();
};

template <typename T>
std::unique_ptr<Decoder> make() {
  return std::make_unique<T>();
}

// One line per format.
constexpr Registration kDecoders[] = {
    {"json", &make<JsonDecoder>},
};

}  // namespace

std::unique_ptr<Decoder> makeDecoder(std::string_view format) {
  for (const auto& r : kDecoders) {
    if (r.name == format) return r.make();
  }
  return nullptr;
}

std::vector<std::string> decoderNames() {
  std::vector<std::string> names;
  for (const auto& r : kDecoders) names.emplace_back(r.name);
  return names;
}

}  // namespace trailwatch::decode
