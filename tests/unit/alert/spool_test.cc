#include "daemon/alert/spool.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace trailwatch::alert {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch-spool-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/spool";
    options_.dir = dir_;
  }
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path()); }

  std::unique_ptr<Spool> open() {
    auto s = Spool::open(options_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::vector<std::string> payloads(Spool& spool, size_t max = 1000) {
    auto batch = spool.peek(max, 1 << 30);
    EXPECT_TRUE(batch.ok());
    std::vector<std::string> out;
    if (batch.ok()) {
      for (auto& r : *batch) out.push_back(r.payload);
    }
    return out;
  }
  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".seg") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string alert(int i) { return "{\"n\":" + std::to_string(i) + "}"; }

  std::string dir_;
  SpoolOptions options_;
};

TEST_F(SpoolTest, PeeksInOrderAndAckRemoves) {
  auto spool = open();
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(*spool->append(alert(i), 1000 + i), Spool::Appended::kSpooled);
  EXPECT_EQ(spool->stats().records, 5u);
  EXPECT_EQ(spool->stats().oldest_ms, 1000);
  auto batch = spool->peek(2, 1 << 20);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0].payload, alert(0));
  EXPECT_EQ((*batch)[1].payload, alert(1));
  // peek does not consume.
  EXPECT_EQ(payloads(*spool, 1), std::vector<std::string>{alert(0)});
  ASSERT_TRUE(spool->ack(batch->back().seq).ok());
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(2), alert(3), alert(4)}));
  EXPECT_EQ(spool->stats().records, 3u);
  EXPECT_EQ(spool->stats().oldest_ms, 1002);
}

TEST_F(SpoolTest, PeekStopsAtByteLimitButReturnsAtLeastOne) {
  auto spool = open();
  const std::string big(1000, 'x');
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->append(big, 1).ok());
  auto batch = spool->peek(10, 10);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 1u);
  batch = spool->peek(10, 2500);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 2u);
}

TEST_F(SpoolTest, RestartResumesAtFirstUnacknowledged) {
  {
    auto spool = open();
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
    auto batch = spool->peek(4, 1 << 20);
    ASSERT_TRUE(spool->ack((*batch)[3].seq).ok());
    ASSERT_TRUE(spool->sync().ok());
  }
  auto spool = open();
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(4), alert(5)}));
  // New records continue after the old ones, in order, with fresh numbers.
  ASSERT_TRUE(spool->append(alert(6), 1).ok());
  auto batch = spool->peek(10, 1 << 20);
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_LT((*batch)[1].seq, (*batch)[2].seq);
  EXPECT_EQ((*batch)[2].payload, alert(6));
}

TEST_F(SpoolTest, RestartWithEverythingAcknowledgedDoesNotReuseNumbers) {
  uint64_t last = 0;
  {
    auto spool = open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
    last = spool->peek(10, 1 << 20)->back().seq;
    ASSERT_TRUE(spool->ack(last).ok());
  }
  auto spool = open();
  EXPECT_EQ(spool->stats().records, 0u);
  ASSERT_TRUE(spool->append(alert(9), 1).ok());
  auto batch = spool->peek(10, 1 << 20);
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_GT((*batch)[0].seq, last);
}

TEST_F(SpoolTest, TornTailIsCutAndCounted) {
  {
    auto spool = open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  const auto whole = fs::file_size(segs[0]);
  // A crash in the middle of a fourth record: its header and half its
  // payload made it to disk.
  {
    std::ofstream out(segs[0], std::ios::app | std::ios::binary);
    std::string partial = std::string(32, '\0');
    partial[0] = 'T';
    partial[1] = 'W';
    partial[2] = 'S';
    partial[3] = '1';
    partial[4] = 100;  // claims 100 bytes of payload
    out << partial << "{\"n\":3";
  }
  auto spool = open();
  EXPECT_EQ(spool->stats().torn, 1u);
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(0), alert(1), alert(2)}));
  EXPECT_EQ(fs::file_size(segs[0]), whole);
  // Appends after the cut are readable after another restart.
  ASSERT_TRUE(spool->append(alert(3), 1).ok());
  spool.reset();
  spool = open();
  EXPECT_EQ(spool->stats().torn, 0u);
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(0), alert(1), alert(2), alert(3)}));
}

TEST_F(SpoolTest, CorruptRecordEndsItsSegment) {
  {
    auto spool = open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  // Flip a payload byte of the second record: its checksum no longer holds.
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    const auto second = 32 + alert(0).size();
    f.seekp(static_cast<std::streamoff>(second + 32 + 2));
    f.put('X');
  }
  auto spool = open();
  EXPECT_EQ(spool->stats().torn, 1u);
  EXPECT_EQ(payloads(*spool), std::vector<std::string>{alert(0)});
}

TEST_F(SpoolTest, FullWithBlockRefuses) {
  options_.max_bytes = 3 * (32 + alert(0).size());
  options_.on_full = SpoolFullPolicy::kBlock;
  auto spool = open();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(*spool->append(alert(i), 1), Spool::Appended::kSpooled);
  EXPECT_EQ(*spool->append(alert(3), 1), Spool::Appended::kRefused);
  EXPECT_EQ(spool->stats().full, 1u);
  EXPECT_EQ(spool->stats().refused, 1u);
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(0), alert(1), alert(2)}));
  // Room again once something is acknowledged.
  ASSERT_TRUE(spool->ack(spool->peek(1, 1 << 20)->front().seq).ok());
  EXPECT_EQ(*spool->append(alert(3), 1), Spool::Appended::kSpooled);
}

TEST_F(SpoolTest, FullWithDropNewestKeepsTheOld) {
  options_.max_bytes = 3 * (32 + alert(0).size());
  options_.on_full = SpoolFullPolicy::kDropNewest;
  auto spool = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
  EXPECT_EQ(spool->stats().dropped_newest, 2u);
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(0), alert(1), alert(2)}));
}

TEST_F(SpoolTest, FullWithDropOldestKeepsTheNew) {
  options_.max_bytes = 3 * (32 + alert(0).size());
  options_.on_full = SpoolFullPolicy::kDropOldest;
  auto spool = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
  EXPECT_EQ(spool->stats().dropped_oldest, 2u);
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(2), alert(3), alert(4)}));
  // The drop is remembered across a restart once synced.
  ASSERT_TRUE(spool->sync().ok());
  spool.reset();
  spool = open();
  EXPECT_EQ(payloads(*spool), (std::vector<std::string>{alert(2), alert(3), alert(4)}));
}

TEST_F(SpoolTest, RecordLargerThanTheSpoolIsDroppedWhateverThePolicy) {
  options_.max_bytes = 100;
  options_.on_full = SpoolFullPolicy::kBlock;
  auto spool = open();
  EXPECT_EQ(*spool->append(std::string(200, 'x'), 1), Spool::Appended::kDroppedNewest);
  EXPECT_EQ(spool->stats().dropped_newest, 1u);
}

TEST_F(SpoolTest, AcknowledgedSegmentsAreDeleted) {
  options_.max_bytes = 1 << 20;
  options_.segment_bytes = 200;  // a few records per segment
  auto spool = open();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(spool->append(alert(i), 1).ok());
  const size_t before = segments().size();
  EXPECT_GT(before, 5u);
  auto batch = spool->peek(30, 1 << 20);
  ASSERT_TRUE(spool->ack(batch->back().seq).ok());
  EXPECT_LT(segments().size(), before);
  // What remains is still whole and in order across a restart.
  spool.reset();
  spool = open();
  const auto left = payloads(*spool);
  ASSERT_EQ(left.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(left[static_cast<size_t>(i)], alert(30 + i));
  // Acknowledging everything leaves at most the active segment.
  ASSERT_TRUE(spool->ack(spool->peek(100, 1 << 20)->back().seq).ok());
  EXPECT_LE(segments().size(), 1u);
  EXPECT_EQ(spool->stats().bytes, 0u);
}

TEST_F(SpoolTest, OrderHoldsAcrossManySegmentsAndRestarts) {
  options_.segment_bytes = 300;
  int next = 0;
  std::vector<std::string> expected;
  for (int round = 0; round < 4; ++round) {
    auto spool = open();
    for (int i = 0; i < 25; ++i) {
      ASSERT_TRUE(spool->append(alert(next), 1).ok());
      expected.push_back(alert(next++));
    }
    // Acknowledge a few each round, as a receiver coming and going would.
    auto batch = spool->peek(7, 1 << 20);
    ASSERT_TRUE(spool->ack(batch->back().seq).ok());
    expected.erase(expected.begin(), expected.begin() + 7);
  }
  auto spool = open();
  EXPECT_EQ(payloads(*spool), expected);
}

}  // namespace
}  // namespace trailwatch::alert
