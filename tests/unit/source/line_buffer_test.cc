#include "daemon/source/line_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace trailwatch::source {
namespace {

struct Out {
  std::vector<std::string> lines;
  std::vector<uint64_t> offsets;
  int skipped = 0;
};

// Feeds `input` in chunks of `chunk` bytes, draining lines after each.
Out frame(LineBuffer& buf, const std::string& input, std::size_t chunk, bool finish) {
  Out out;
  std::size_t pos = 0;
  auto drain = [&] {
    std::string_view line;
    uint64_t offset = 0;
    for (;;) {
      auto r = buf.nextLine(line, offset);
      if (r == LineBuffer::Next::kNeedMore) break;
      if (r == LineBuffer::Next::kSkipped) {
        ++out.skipped;
        continue;
      }
      out.lines.emplace_back(line);
      out.offsets.push_back(offset);
    }
    buf.releaseViews();
  };
  while (pos < input.size()) {
    EXPECT_TRUE(buf.prepareWrite());
    std::size_t n = std::min({chunk, buf.writable(), input.size() - pos});
    std::memcpy(buf.writePtr(), input.data() + pos, n);
    buf.commitWrite(n);
    pos += n;
    drain();
  }
  if (finish) {
    std::string_view line;
    uint64_t offset = 0;
    auto r = buf.finish(line, offset);
    if (r == LineBuffer::Next::kLine) {
      out.lines.emplace_back(line);
      out.offsets.push_back(offset);
    } else if (r == LineBuffer::Next::kSkipped) {
      ++out.skipped;
    }
  }
  return out;
}

TEST(LineBuffer, FramesLinesStripsCrAndTracksOffsets) {
  LineBuffer buf(100, 4);
  auto out = frame(buf, "ab\r\n\ncd\nef", 3, false);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"ab", "", "cd"}));
  EXPECT_EQ(out.offsets, (std::vector<uint64_t>{0, 4, 5}));
  EXPECT_EQ(buf.consumedOffset(), 8u);
  EXPECT_EQ(buf.readOffset(), 10u);
}

TEST(LineBuffer, FinishReturnsUnterminatedRest) {
  LineBuffer buf(100, 64);
  auto out = frame(buf, "a\nlast\r", 64, true);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"a", "last"}));
  EXPECT_EQ(buf.consumedOffset(), 7u);
}

TEST(LineBuffer, SkipsOversizedLinesAcrossReadsAndResumes) {
  LineBuffer buf(5, 3);
  std::string input = "12345\n" + std::string(40, 'x') + "\nok\n123456\nend";
  auto out = frame(buf, input, 3, true);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"12345", "ok", "end"}));
  EXPECT_EQ(out.skipped, 2);
  EXPECT_EQ(out.offsets[1], 47u);
}

TEST(LineBuffer, ConsumedOffsetStaysAtStartOfLineBeingSkipped) {
  LineBuffer buf(4, 4);
  frame(buf, "ab\n0123456789", 4, false);
  EXPECT_EQ(buf.consumedOffset(), 3u);
}

TEST(LineBuffer, KeepsViewsValidWhileOut) {
  LineBuffer buf(8, 4);
  std::vector<std::string_view> views;
  std::string input = "aa\nbb\ncc\ndd\nee\n";
  std::size_t pos = 0;
  while (pos < input.size() && buf.prepareWrite()) {
    std::size_t n = std::min(buf.writable(), input.size() - pos);
    std::memcpy(buf.writePtr(), input.data() + pos, n);
    buf.commitWrite(n);
    pos += n;
    std::string_view line;
    uint64_t offset;
    while (buf.nextLine(line, offset) == LineBuffer::Next::kLine) views.push_back(line);
  }
  std::vector<std::string> copies(views.begin(), views.end());
  ASSERT_FALSE(copies.empty());
  EXPECT_EQ(copies[0], "aa");
  for (std::size_t i = 0; i < copies.size(); ++i) {
    EXPECT_EQ(copies[i], std::string(2, static_cast<char>('a' + i)));
  }
}

}  // namespace
}  // namespace trailwatch::source
