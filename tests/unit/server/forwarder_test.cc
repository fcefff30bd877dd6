#include "daemon/server/forwarder.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace trailwatch::server {
namespace {

TEST(PartitionOf, IsStableAndSpreadsKeys) {
  EXPECT_EQ(partitionOf("u1001", 1), 0u);
  EXPECT_EQ(partitionOf("u1001", 16), partitionOf("u1001", 16));
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector).
  EXPECT_EQ(partitionOf("a", 1000), 0xaf63dc4c8601ec8cULL % 1000);
  std::set<std::size_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(partitionOf("u" + std::to_string(i), 8));
  EXPECT_EQ(seen.size(), 8u);
}

TEST(ForwardMessageId, DiffersByFileOffsetAndText) {
  const std::string id = forwardMessageId("/var/log/a", 10, "x");
  EXPECT_EQ(id, forwardMessageId("/var/log/a", 10, "x"));
  EXPECT_NE(id, forwardMessageId("/var/log/b", 10, "x"));
  EXPECT_NE(id, forwardMessageId("/var/log/a", 11, "x"));
  EXPECT_NE(id, forwardMessageId("/var/log/a", 10, "y"));
}

}  // namespace
}  // namespace trailwatch::server
