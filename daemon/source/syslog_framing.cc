#include "daemon/source/syslog_framing.h"

#include <algorithm>

#include "daemon/common/ascii.h"

namespace trailwatch::source {
namespace {

// MSG-LEN digits accepted: 10 covers any length a frame limit allows (at
// most 1GiB) and keeps the value far from overflow.
constexpr std::size_t kMaxLengthDigits = 10;

// A partial-frame buffer grown past this is given back after its frame, so
// one huge message does not pin memory on an idle connection.
constexpr std::size_t kKeepCapacity = 64 * 1024;

using ascii::isDigit;

}  // namespace

SyslogDeframer::SyslogDeframer(SyslogFraming framing, std::size_t max_frame_bytes)
    : framing_(framing), max_frame_bytes_(std::max<std::size_t>(max_frame_bytes, 1)) {}

void SyslogDeframer::emit(std::string_view frame, SyslogFrameHandler& handler) {
  ++counts_.frames;
  handler.onFrame(frame);
}

void SyslogDeframer::emitLine(std::string_view line, SyslogFrameHandler& handler) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.empty()) emit(line, handler);
}

void SyslogDeframer::release() {
  partial_.clear();
  if (partial_.capacity() > kKeepCapacity) partial_.shrink_to_fit();
}

void SyslogDeframer::feed(std::string_view data, SyslogFrameHandler& handler) {
  std::size_t i = 0;
  const std::size_t n = data.size();
  while (i < n) {
    switch (state_) {
      case State::kFrameStart: {
        const char c = data[i];
        if (framing_ != SyslogFraming::kNewline && c >= '1' && c <= '9') {
          state_ = State::kLength;
          break;
        }
        if (framing_ == SyslogFraming::kOctetCounting) {
          if (c == '\n' || c == '\r') {
            ++i;
            break;
          }
          ++counts_.malformed;
          state_ = State::kSkipLine;
          break;
        }
        state_ = State::kLine;
        break;
      }
      case State::kLength: {
        while (i < n && isDigit(data[i]) && partial_.size() < kMaxLengthDigits) {
          partial_.push_back(data[i++]);
        }
        if (i == n) break;  // more digits (or the space) may follow
        if (data[i] == ' ') {
          ++i;
          uint64_t length = 0;
          for (char d : partial_) length = length * 10 + static_cast<uint64_t>(d - '0');
          partial_.clear();
          remaining_ = length;
          if (length > max_frame_bytes_) {
            ++counts_.oversized;
            state_ = State::kOctetSkip;
          } else {
            state_ = State::kOctetBody;
          }
          break;
        }
        if (framing_ == SyslogFraming::kAuto) {
          state_ = State::kLine;  // the digits begin a line; they stay in partial_
          break;
        }
        ++counts_.malformed;
        release();
        state_ = State::kSkipLine;
        break;
      }
      case State::kOctetBody: {
        const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(remaining_, n - i));
        if (partial_.empty() && take == remaining_) {
          emit(data.substr(i, take), handler);  // whole frame in this piece: no copy
        } else {
          partial_.append(data.data() + i, take);
          if (take == remaining_) {
            emit(partial_, handler);
            release();
          }
        }
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kFrameStart;
        break;
      }
      case State::kOctetSkip: {
        const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(remaining_, n - i));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kFrameStart;
        break;
      }
      case State::kLine: {
        const std::size_t lf = data.find('\n', i);
        const std::size_t end = lf == std::string_view::npos ? n : lf;
        const std::string_view piece = data.substr(i, end - i);
        // The CR of a CRLF is not part of the frame; allow for it at the limit.
        const std::size_t limit = max_frame_bytes_ + 1;
        if (partial_.size() + piece.size() > limit) {
          ++counts_.oversized;
          release();
          state_ = lf == std::string_view::npos ? State::kSkipLine : State::kFrameStart;
          i = lf == std::string_view::npos ? n : lf + 1;
          break;
        }
        if (lf == std::string_view::npos) {
          partial_.append(piece);
          i = n;
          break;
        }
        std::string_view line = piece;
        if (!partial_.empty()) {
          partial_.append(piece);
          line = partial_;
        }
        const bool cr = !line.empty() && line.back() == '\r';
        if (line.size() - (cr ? 1 : 0) > max_frame_bytes_) {
          ++counts_.oversized;
        } else {
          emitLine(line, handler);
        }
        release();
        state_ = State::kFrameStart;
        i = lf + 1;
        break;
      }
      case State::kSkipLine: {
        const std::size_t lf = data.find('\n', i);
        if (lf == std::string_view::npos) {
          i = n;
        } else {
          i = lf + 1;
          state_ = State::kFrameStart;
        }
        break;
      }
    }
  }
}

void SyslogDeframer::finish(SyslogFrameHandler& handler) {
  switch (state_) {
    case State::kLine:
      if (partial_.size() <= max_frame_bytes_ ||
          (partial_.size() == max_frame_bytes_ + 1 && partial_.back() == '\r')) {
        emitLine(partial_, handler);
      } else {
        ++counts_.oversized;
      }
      break;
    case State::kLength:
      if (framing_ == SyslogFraming::kAuto) {
        emitLine(partial_, handler);  // digits and nothing else: a line
      } else {
        ++counts_.truncated;
      }
      break;
    case State::kOctetBody:
      ++counts_.truncated;
      break;
    case State::kFrameStart:
    case State::kOctetSkip:
    case State::kSkipLine:
      break;
  }
  release();
  remaining_ = 0;
  state_ = State::kFrameStart;
}

}  // namespace trailwatch::source
