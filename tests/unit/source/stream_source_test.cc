#include "daemon/source/stream_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/unit/source/test_files.h"

namespace trailwatch::source {
namespace {

using Lines = std::vector<std::string>;

struct Pipe {
  Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    closeWriter();
    if (fds[0] >= 0) ::close(fds[0]);
  }
  void write(const std::string& s) {
    ASSERT_EQ(::write(fds[1], s.data(), s.size()), ssize_t(s.size()));
  }
  void closeWriter() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

StreamSourceOptions optionsFor(int fd) {
  StreamSourceOptions o;
  o.fd = fd;
  return o;
}

TEST(StreamSource, ReadsPipeUntilEofIncludingUnterminatedLastLine) {
  Pipe p;
  StreamSource src(optionsFor(p.fds[0]));
  ASSERT_TRUE(src.open().ok());
  p.write("one\r\ntwo\nthr");
  auto got = testing::collect(src);
  EXPECT_FALSE(got.ended);
  EXPECT_EQ(got.lines, (Lines{"one", "two"}));
  EXPECT_EQ(got.origins, (Lines{"-", "-"}));
  p.write("ee\nlast");
  p.closeWriter();
  got = testing::collect(src);
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.lines, (Lines{"three", "last"}));
  EXPECT_EQ(got.offsets, (std::vector<uint64_t>{9, 15}));
  EXPECT_TRUE(src.commit().ok());
  auto s = src.stats();
  EXPECT_EQ(s.records, 4u);
  EXPECT_EQ(s.bytes_read, 19u);
}

TEST(StreamSource, TimesOutWithEmptyBatchWhileInputIsOpen) {
  Pipe p;
  StreamSource src(optionsFor(p.fds[0]));
  ASSERT_TRUE(src.open().ok());
  RecordBatch batch;
  EXPECT_TRUE(src.next(batch, std::chrono::milliseconds(20)));
  EXPECT_TRUE(batch.records.empty());
}

TEST(StreamSource, SkipsOversizedLinesAndHonoursBatchLimit) {
  Pipe p;
  auto o = optionsFor(p.fds[0]);
  o.label = "stdin";
  o.max_line_bytes = 8;
  o.read_size = 5;
  o.max_batch_records = 2;
  StreamSource src(o);
  ASSERT_TRUE(src.open().ok());
  p.write("a\n" + std::string(30, 'x') + "\nb\nc\nd\n" + std::string(9, 'y'));
  p.closeWriter();
  RecordBatch batch;
  Lines lines;
  while (src.next(batch, std::chrono::milliseconds(200))) {
    EXPECT_LE(batch.records.size(), 2u);
    for (auto& r : batch.records) {
      lines.emplace_back(r.text);
      EXPECT_EQ(r.origin, "stdin");
    }
  }
  EXPECT_EQ(lines, (Lines{"a", "b", "c", "d"}));
  EXPECT_EQ(src.stats().oversized_skipped, 2u);
}

TEST(StreamSource, WakeEndsWaitEarly) {
  Pipe p;
  StreamSource src(optionsFor(p.fds[0]));
  ASSERT_TRUE(src.open().ok());
  src.wake();
  RecordBatch batch;
  EXPECT_TRUE(src.next(batch, std::chrono::minutes(1)));
  EXPECT_TRUE(batch.records.empty());
}

}  // namespace
}  // namespace trailwatch::source
