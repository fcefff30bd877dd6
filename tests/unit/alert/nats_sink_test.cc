#include "daemon/alert/nats_sink.h"

#include <gtest/gtest.h>

namespace trailwatch::alert {
namespace {

TEST(AlertMessageId, IgnoresOnlyDetectedAt) {
  const std::string a =
      R"({"@timestamp":"2026-11-20T00:00:10.000Z","rule":{"id":"r1"},"source":{"name":"bus",)"
      R"("file":"nats:AUDIT","offset":10},"detected_at":"2026-11-23T10:00:00.000Z"})";
  const std::string again =
      R"({"@timestamp":"2026-11-20T00:00:10.000Z","rule":{"id":"r1"},"source":{"name":"bus",)"
      R"("file":"nats:AUDIT","offset":10},"detected_at":"2026-11-23T11:30:00.500Z"})";
  const std::string other =
      R"({"@timestamp":"2026-11-20T00:00:10.000Z","rule":{"id":"r1"},"source":{"name":"bus",)"
      R"("file":"nats:AUDIT","offset":11},"detected_at":"2026-11-23T10:00:00.000Z"})";
  EXPECT_EQ(alertMessageId(a).size(), 32u);
  EXPECT_EQ(alertMessageId(a), alertMessageId(again));
  EXPECT_NE(alertMessageId(a), alertMessageId(other));
  // Text without the member still gets an id of its whole content.
  EXPECT_NE(alertMessageId("{}"), alertMessageId("{ }"));
}

}  // namespace
}  // namespace trailwatch::alert
