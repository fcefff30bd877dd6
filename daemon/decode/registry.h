// The decoder registry: the one place that maps a `format:` name from the
// configuration (or `trailwatch scan --format`) to a Decoder. Adding a
// format is one line in registry.cc. `syslog+FORMAT` is a syslog message
// whose body is in FORMAT, for every registered FORMAT but syslog itself
// (syslog.h).
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

// What a source's configuration tells its decoder beyond the format name.
struct DecoderOptions {
  // access-log (also as a syslog body): names of the fields written after
  // the user agent, in order (`extra_fields:`, `scan --extra-fields`).
  std::vector<std::string> extra_fields;
};

// A new decoder for `format`, or nullptr when no decoder has that name.
std::unique_ptr<Decoder> makeDecoder(std::string_view format, const DecoderOptions& options = {});

// Whether `format` reads DecoderOptions::extra_fields.
bool takesExtraFields(std::string_view format);

// What an unknown-format message lists: the names, and the syslog+ form.
std::string formatsHelp();

// The registered format names, in registration order (`auto` looks among
// them; each is also a valid syslog body but `syslog`).
std::vector<std::string> decoderNames();

}  // namespace trailwatch::decode
