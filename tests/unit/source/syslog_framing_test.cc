#include "daemon/source/syslog_framing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace trailwatch::source {
namespace {

struct Collect final : SyslogFrameHandler {
  void onFrame(std::string_view frame) override { frames.emplace_back(frame); }
  std::vector<std::string> frames;
};

// Feeds `input` in pieces of `chunk` bytes, then ends the stream.
std::vector<std::string> deframe(SyslogDeframer& d, const std::string& input, std::size_t chunk,
                                 bool finish = true) {
  Collect out;
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    d.feed(std::string_view(input).substr(pos, chunk), out);
  }
  if (finish) d.finish(out);
  return out.frames;
}

using Frames = std::vector<std::string>;

TEST(SyslogDeframer, OctetCountedFramesInAnyPieces) {
  const std::string input = "11 <13>1 - x y10 <13>abcdef26 line\nwith an LF inside it!";
  for (std::size_t chunk : {1, 2, 3, 7, 100}) {
    SyslogDeframer d(SyslogFraming::kOctetCounting, 1024);
    EXPECT_EQ(deframe(d, input, chunk),
              (Frames{"<13>1 - x y", "<13>abcdef", "line\nwith an LF inside it!"}))
        << chunk;
    EXPECT_EQ(d.counts().frames, 3u);
    EXPECT_EQ(d.counts().malformed, 0u);
  }
}

TEST(SyslogDeframer, NewlineFramesDropCrAndEmptyLines) {
  for (std::size_t chunk : {1, 4, 100}) {
    SyslogDeframer d(SyslogFraming::kNewline, 1024);
    EXPECT_EQ(deframe(d, "<13>a b\r\n\n\r\n12 starts with digits\nlast", chunk),
              (Frames{"<13>a b", "12 starts with digits", "last"}))
        << chunk;
  }
}

TEST(SyslogDeframer, AutoDecidesPerFrame) {
  SyslogDeframer d(SyslogFraming::kAuto, 1024);
  EXPECT_EQ(deframe(d, "5 hello<14>line one\n3 abc2026-11-23T10:00:00Z host app: x\n42", 3),
            (Frames{"hello", "<14>line one", "abc", "2026-11-23T10:00:00Z host app: x", "42"}));
  EXPECT_EQ(d.counts().malformed, 0u);
}

TEST(SyslogDeframer, HugeDeclaredLengthIsSkippedNotBuffered) {
  SyslogDeframer d(SyslogFraming::kOctetCounting, 16);
  Collect out;
  d.feed("9999999999 ", out);
  // Ten digits declare ~10 GB; feed a few MB of it and check nothing is held.
  const std::string mb(1 << 20, 'x');
  for (int i = 0; i < 4; ++i) d.feed(mb, out);
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_TRUE(out.frames.empty());
  EXPECT_EQ(d.counts().oversized, 1u);
}

TEST(SyslogDeframer, OversizedOctetFrameIsSkippedExactly) {
  SyslogDeframer d(SyslogFraming::kOctetCounting, 8);
  EXPECT_EQ(deframe(d, "20 aaaaaaaaaaaaaaaaaaaa4 good8 12345678", 5), (Frames{"good", "12345678"}));
  EXPECT_EQ(d.counts().oversized, 1u);
}

TEST(SyslogDeframer, NeverEndingLineIsDroppedUpToItsNewline) {
  SyslogDeframer d(SyslogFraming::kNewline, 10);
  Collect out;
  const std::string junk(4096, 'j');
  for (int i = 0; i < 100; ++i) {
    d.feed(junk, out);
    EXPECT_LE(d.buffered(), 11u);
  }
  d.feed("still junk\nnext one\n", out);
  EXPECT_EQ(out.frames, (Frames{"next one"}));
  EXPECT_EQ(d.counts().oversized, 1u);
}

TEST(SyslogDeframer, LineAtTheLimitPassesWithItsCr) {
  SyslogDeframer d(SyslogFraming::kNewline, 4);
  EXPECT_EQ(deframe(d, "abcd\r\nabcde\nab\n", 2), (Frames{"abcd", "ab"}));
  EXPECT_EQ(d.counts().oversized, 1u);
}

TEST(SyslogDeframer, MalformedOctetCountResyncsAtNextNewline) {
  SyslogDeframer d(SyslogFraming::kOctetCounting, 1024);
  EXPECT_EQ(deframe(d, "garbage here\n5 hello\n05 xxxxx\n12345678901 y\n3x abc\n2 ok", 4),
            (Frames{"hello", "ok"}));
  EXPECT_EQ(d.counts().malformed, 4u);  // garbage, leading zero, 11 digits, no space
}

TEST(SyslogDeframer, TruncatedOctetFrameAtEndIsCounted) {
  SyslogDeframer d(SyslogFraming::kOctetCounting, 1024);
  EXPECT_EQ(deframe(d, "5 hello10 short", 3), (Frames{"hello"}));
  EXPECT_EQ(d.counts().truncated, 1u);
  // The deframer starts clean for the next stream.
  EXPECT_EQ(deframe(d, "2 ok", 1), (Frames{"ok"}));
}

TEST(SyslogDeframer, LargeFrameAcrossPiecesIsReleasedAfterwards) {
  SyslogDeframer d(SyslogFraming::kOctetCounting, 1 << 20);
  const std::string body(200000, 'b');
  auto frames = deframe(d, std::to_string(body.size()) + " " + body + "1 z", 65536);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], body);
  EXPECT_EQ(frames[1], "z");
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
}  // namespace trailwatch::source
