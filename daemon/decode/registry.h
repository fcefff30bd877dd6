// The decoder registry: the one place that maps a `format:` name from the
// configuration (or `trailwatch scan --format`) to a Decoder. Adding a
// format is one line in registry.cc.
//
// Thread-safety: both functions may be called from any thread; each
// makeDecoder() call returns a new decoder for one thread's use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/decoder.h"

namespace trailwatch::decode {

// A new decoder for `format`, or nullptr when no decoder has that name.
std::unique_ptr<Decoder> makeDecoder(std::string_view format);

// The registered format names, in registration order (for messages such as
// "unknown format 'x' (known: json)").
std::vector<std::string> decoderNames();

}  // namespace trailwatch::decode
