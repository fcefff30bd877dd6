// IpNetwork: an IPv4 or IPv6 network (`10.0.0.0/8`, `fc00::/7`) for the Sigma
// `cidr` modifier. An address with no prefix length is a host network. An
// IPv4-mapped IPv6 address in an event (`::ffff:10.1.2.3`) is compared as the
// IPv4 address it carries, since dual-stack servers log clients that way.
//
// Thread-safety: immutable value; contains() never allocates.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace trailwatch::engine {

class IpNetwork {
 public:
  // An address from an event, parsed once for any number of networks.
  struct Address {
    std::array<uint8_t, 16> bytes{};
    int length = 0;       // 4 or 16; 0: not an address
    bool mapped = false;  // IPv4 written as IPv4-mapped IPv6 (`::ffff:10.1.2.3`)
  };

  // nullopt when `text` is not an address or network.
  static std::optional<IpNetwork> parse(std::string_view text);
  // `text` as an address (length 0 when it is none).
  static Address address(std::string_view text);

  // True when `address` (text from an event) parses as an address of the
  // same family inside this network.
  bool contains(std::string_view address) const { return contains(IpNetwork::address(address)); }
  bool contains(const Address& address) const;

  // Parses a dotted-quad IPv4 address into out[0..4), exactly as
  // inet_pton(AF_INET) would; false (out untouched) when it would not.
  static bool parseIpv4(std::string_view text, uint8_t* out);

 private:
  std::array<uint8_t, 16> bytes_{};
  int length_ = 4;  // address length in bytes: 4 or 16
  int prefix_ = 0;  // in bits
};

}  // namespace trailwatch::engine
