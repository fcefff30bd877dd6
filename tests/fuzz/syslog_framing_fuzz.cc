// libFuzzer target for SyslogDeframer (RFC 6587 framing): the input is one
// TCP byte stream, deframed in each framing (auto, octet-counting, newline)
// with a small frame limit, once whole and once in pieces whose sizes the
// input's first byte picks. Checks what the listener relies on: no frame is
// longer than the limit, the partial frame held stays bounded, and the
// frames and counts do not depend on how the stream was cut into reads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/source/syslog_framing.h"

namespace {

using trailwatch::source::SyslogDeframer;
using trailwatch::source::SyslogFrameCounts;
using trailwatch::source::SyslogFrameHandler;
using trailwatch::source::SyslogFraming;

constexpr std::size_t kMaxFrame = 48;

struct Collect final : SyslogFrameHandler {
  void onFrame(std::string_view frame) override {
    if (frame.size() > kMaxFrame || frame.empty()) std::abort();
    frames.emplace_back(frame);
  }
  std::vector<std::string> frames;
};

bool sameCounts(const SyslogFrameCounts& a, const SyslogFrameCounts& b) {
  return a.frames == b.frames && a.oversized == b.oversized && a.malformed == b.malformed &&
         a.truncated == b.truncated;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 13;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (SyslogFraming framing :
       {SyslogFraming::kAuto, SyslogFraming::kOctetCounting, SyslogFraming::kNewline}) {
    SyslogDeframer whole(framing, kMaxFrame);
    Collect a;
    whole.feed(stream, a);
    whole.finish(a);

    SyslogDeframer cut(framing, kMaxFrame);
    Collect b;
    for (std::size_t pos = 0; pos < stream.size(); pos += piece) {
      cut.feed(stream.substr(pos, piece), b);
      if (cut.buffered() > kMaxFrame + 1) std::abort();
    }
    cut.finish(b);
    if (a.frames != b.frames || !sameCounts(whole.counts(), cut.counts())) std::abort();
    if (whole.counts().frames != a.frames.size()) std::abort();
  }
  return 0;
}
