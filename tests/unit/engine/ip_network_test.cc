#include "daemon/engine/ip_network.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace trailwatch::engine {
namespace {

TEST(IpNetwork, Ipv4PrefixContainsAddresses) {
  auto net = IpNetwork::parse("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("10.1.2.3"));
  EXPECT_FALSE(net->contains("11.1.2.3"));
  EXPECT_FALSE(net->contains("not an ip"));
  EXPECT_FALSE(net->contains(""));
}

TEST(IpNetwork, OddPrefixLengthMasksPartialByte) {
  auto net = IpNetwork::parse("172.16.0.0/12");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("172.31.255.255"));
  EXPECT_FALSE(net->contains("172.32.0.1"));
}

TEST(IpNetwork, Ipv6PrefixContainsAddresses) {
  auto net = IpNetwork::parse("fc00::/7");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("fd12:3456::1"));
  EXPECT_FALSE(net->contains("fe80::1"));
  EXPECT_FALSE(net->contains("10.0.0.1"));
}

TEST(IpNetwork, FamiliesDoNotMix) {
  auto v4 = IpNetwork::parse("0.0.0.0/0");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->contains("::1"));
  auto v6 = IpNetwork::parse("::/0");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->contains("1.2.3.4"));
}

TEST(IpNetwork, MappedIpv6AddressMatchesIpv4Network) {
  auto net = IpNetwork::parse("192.168.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("::ffff:192.168.4.5"));
  auto mapped = IpNetwork::parse("::ffff:0:0/96");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->contains("::ffff:192.168.4.5"));
}

TEST(IpNetwork, BareAddressIsHostNetwork) {
  auto net = IpNetwork::parse("10.0.0.1");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("10.0.0.1"));
  EXPECT_FALSE(net->contains("10.0.0.2"));
}

TEST(IpNetwork, RejectsMalformedNetworks) {
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpNetwork::parse("10.0.0/8"));
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/"));
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/-1"));
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/8x"));
  EXPECT_FALSE(IpNetwork::parse("fc00::/129"));
  EXPECT_FALSE(IpNetwork::parse("banana"));
  EXPECT_FALSE(IpNetwork::parse(""));
}

// The hand-written IPv4 parser accepts exactly what inet_pton(AF_INET)
// does, to the byte.
TEST(IpNetwork, Ipv4ParserAgreesWithInetPton) {
  std::vector<std::string> cases{
      "0.0.0.0",  "255.255.255.255", "10.0.21.182", "1.2.3.4",    "256.1.1.1", "1.2.3.256",
      "01.2.3.4", "1.02.3.4",        "1.2.3.04",    "00.0.0.0",   "1.2.3",     "1.2.3.4.5",
      "1.2.3.4.", ".1.2.3.4",        "1..2.3",      "1.2.3.-4",   "+1.2.3.4",  " 1.2.3.4",
      "1.2.3.4 ", "1.2.3.4/8",       "a.b.c.d",     "",           ".",         "...",
      "999",      "1.2.3.4x",        "0x1.2.3.4",   "1.2.3.0255", "127.0.0.1", "300.300.300.300"};
  // And a sweep of short strings over the characters that matter.
  const std::string alphabet = "0159.";
  for (size_t length = 1; length <= 8; ++length) {
    std::vector<size_t> at(length, 0);
    for (;;) {
      std::string text;
      for (size_t i : at) text.push_back(alphabet[i]);
      cases.push_back(text);
      size_t i = 0;
      while (i < length && ++at[i] == alphabet.size()) at[i++] = 0;
      if (i == length) break;
    }
  }
  for (const std::string& text : cases) {
    std::array<uint8_t, 4> mine{}, theirs{};
    const bool ok = IpNetwork::parseIpv4(text, mine.data());
    const bool expected = inet_pton(AF_INET, text.c_str(), theirs.data()) == 1;
    ASSERT_EQ(ok, expected) << "'" << text << "'";
    if (ok) {
      EXPECT_EQ(mine, theirs) << "'" << text << "'";
    }
  }
}

}  // namespace
}  // namespace trailwatch::engine
