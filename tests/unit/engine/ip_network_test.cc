#include "daemon/engine/ip_network.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace trailwatch::engine
