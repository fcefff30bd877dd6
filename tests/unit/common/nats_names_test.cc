#include "daemon/common/nats_names.h"

#include <gtest/gtest.h>

namespace trailwatch {
namespace {

TEST(NatsUrlProblem, AcceptsNatsUrlsAndClusters) {
  EXPECT_EQ(natsUrlProblem("nats://127.0.0.1:4222"), "");
  EXPECT_EQ(natsUrlProblem("nats://user:secret@nats.example.org:4222"), "");
  EXPECT_EQ(natsUrlProblem("nats://a:4222, nats://b:4222"), "");
  EXPECT_EQ(natsUrlProblem("nats://nats"), "");
}

TEST(NatsUrlProblem, RefusesOtherSchemesAndBadPorts) {
  EXPECT_EQ(natsUrlProblem(""), "empty URL");
  EXPECT_EQ(natsUrlProblem("127.0.0.1:4222"), "'127.0.0.1:4222' is not a nats:// URL");
  EXPECT_EQ(natsUrlProblem("tls://h:4222"), "tls:// is not supported by this build (use nats://)");
  EXPECT_EQ(natsUrlProblem("nats://h:0"), "'nats://h:0' has an invalid port");
  EXPECT_EQ(natsUrlProblem("nats://h:65536"), "'nats://h:65536' has an invalid port");
  EXPECT_EQ(natsUrlProblem("nats://:4222"), "'nats://:4222' names no host");
  EXPECT_EQ(natsUrlProblem("nats://a:1,"), "'' is not a nats:// URL");
}

TEST(NatsSubjectProblem, WildcardsOnlyWhereAllowed) {
  EXPECT_EQ(natsSubjectProblem("audit.ehr.3", false), "");
  EXPECT_EQ(natsSubjectProblem("audit.*.3", true), "");
  EXPECT_EQ(natsSubjectProblem("audit.>", true), "");
  EXPECT_EQ(natsSubjectProblem("audit.>", false), "subject 'audit.>' holds a wildcard");
  EXPECT_EQ(natsSubjectProblem("audit.>.x", true),
            "in subject 'audit.>.x', '*' must be a whole token and '>' the whole last token");
  EXPECT_EQ(natsSubjectProblem("au*dit", true),
            "in subject 'au*dit', '*' must be a whole token and '>' the whole last token");
  EXPECT_EQ(natsSubjectProblem("audit.", false), "empty token in subject 'audit.'");
  EXPECT_EQ(natsSubjectProblem("a b", false), "subject 'a b' holds a space or control character");
}

TEST(NatsNameProblem, LettersDigitsDashUnderscore) {
  EXPECT_EQ(natsNameProblem("AUDIT_2-x"), "");
  EXPECT_EQ(natsNameProblem(""), "empty name");
  EXPECT_EQ(natsNameProblem("a.b"), "allowed characters: letters, digits, '-' and '_'");
  EXPECT_EQ(natsNameProblem(std::string(65, 'a')), "longer than 64 characters");
}

}  // namespace
}  // namespace trailwatch
