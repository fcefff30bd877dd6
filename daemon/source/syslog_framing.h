// SyslogDeframer: splits one syslog-over-TCP byte stream into messages, as
// RFC 6587 section 3.4 describes, incrementally (bytes arrive in any pieces)
// and in bounded memory.
//
// Framings:
// - octet counting (section 3.4.1): `MSG-LEN SP SYSLOG-MSG`, MSG-LEN a
//   decimal without leading zero (NONZERO-DIGIT *DIGIT). RFC 5425 (TLS)
//   section 4.3 uses the same frame.
// - non-transparent (section 3.4.2): the message ends at LF; one CR before
//   the LF is dropped. Empty lines are no message.
// - auto: decided per frame from its first byte, as rsyslog does: a digit
//   1-9 starts an octet-counted frame, anything else a line. Digits not
//   followed by a space after at most 10 digits (a line such as
//   `2026-11-23T10:00:00Z host app: ...`) are the start of a line instead.
//   Per frame rather than per connection, so a sender that mixes framings is
//   still read.
//
// Limits (why: a client that never ends a frame or declares a huge length
// must not make the daemon buffer without bound): a frame longer than
// max_frame_bytes is never buffered. An octet-counted one has its declared
// bytes skipped (framing stays exact); a line is dropped up to its LF. Each
// counts once in counts().oversized. So a deframer holds at most
// max_frame_bytes of one partial frame.
//
// Malformed input: in octet-counting mode, a frame that does not start with
// MSG-LEN SP (a letter, a leading zero, more than 10 digits) cannot be
// framed; the bytes up to the next LF are dropped (counts().malformed) and
// framing resumes after it, which is where a sender that ended its frames
// with LF starts the next one. In that mode a bare CR or LF between frames
// (some senders end octet-counted frames with LF) is tolerated silently.
//
// Thread-safety: none; one deframer per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trailwatch::source {

enum class SyslogFraming { kAuto, kOctetCounting, kNewline };

// Receives each complete frame. `frame` is valid only during the call.
class SyslogFrameHandler {
 public:
  virtual ~SyslogFrameHandler() = default;
  virtual void onFrame(std::string_view frame) = 0;
};

struct SyslogFrameCounts {
  uint64_t frames = 0;     // handed to the handler
  uint64_t oversized = 0;  // frames over max_frame_bytes, dropped
  uint64_t malformed = 0;  // unframeable bytes dropped up to the next LF
  uint64_t truncated = 0;  // an octet-counted frame cut short by the end of the stream
};

class SyslogDeframer {
 public:
  SyslogDeframer(SyslogFraming framing, std::size_t max_frame_bytes);

  // Hands every frame completed by `data` to `handler`.
  void feed(std::string_view data, SyslogFrameHandler& handler);
  // At end of stream: an unterminated line is the last frame; a partial
  // octet-counted frame is counted as truncated. Leaves the deframer ready
  // for a new stream.
  void finish(SyslogFrameHandler& handler);

  const SyslogFrameCounts& counts() const { return counts_; }
  // Bytes of a partial frame held (at most max_frame_bytes).
  std::size_t buffered() const { return partial_.size(); }

 private:
  enum class State {
    kFrameStart,  // between frames
    kLength,      // reading MSG-LEN digits (kept in partial_)
    kOctetBody,   // remaining_ bytes of an octet-counted frame to go
    kOctetSkip,   // remaining_ bytes of an oversized octet-counted frame to drop
    kLine,        // a line, its bytes so far in partial_
    kSkipLine,    // dropping bytes up to the next LF
  };

  void emit(std::string_view frame, SyslogFrameHandler& handler);
  void emitLine(std::string_view line, SyslogFrameHandler& handler);
  void release();

  SyslogFraming framing_;
  std::size_t max_frame_bytes_;
  State state_ = State::kFrameStart;
  uint64_t remaining_ = 0;
  std::string partial_;
  SyslogFrameCounts counts_;
};

}  // namespace trailwatch::source
