#include "daemon/engine/ip_network.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "daemon/common/ascii.h"

namespace trailwatch::engine {
namespace {

// Longer than any textual IPv6 address (45 chars) plus room for a zone id we
// refuse anyway; inet_pton needs a NUL-terminated copy.
constexpr size_t kMaxAddressText = 64;

}  // namespace

bool IpNetwork::parseIpv4(std::string_view text, uint8_t* out) {
  // What inet_pton(AF_INET) accepts: four dot-separated decimal octets of
  // at most 255, without leading zeros, signs or spaces. Written out
  // because every CIDR test parses its field's value, and inet_pton wants
  // a NUL-terminated copy and walks the text a byte at a time through a
  // library call.
  uint8_t octets[4];
  size_t n = 0;
  unsigned value = 0;
  size_t digits = 0;
  for (const char c : text) {
    if (ascii::isDigit(c)) {
      if (digits > 0 && value == 0) return false;  // a leading zero
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > 255) return false;
      ++digits;
    } else if (c == '.' && digits > 0 && n < 3) {
      octets[n++] = static_cast<uint8_t>(value);
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (n != 3 || digits == 0) return false;
  octets[3] = static_cast<uint8_t>(value);
  std::memcpy(out, octets, 4);
  return true;
}

IpNetwork::Address IpNetwork::address(std::string_view text) {
  Address out;
  if (text.empty() || text.size() >= kMaxAddressText) return out;
  if (text.find(':') == std::string_view::npos) {
    if (parseIpv4(text, out.bytes.data())) out.length = 4;
    return out;
  }
  char buffer[kMaxAddressText];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (inet_pton(AF_INET6, buffer, out.bytes.data()) != 1) return out;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    out.length = 4;
    out.mapped = true;
    return out;
  }
  out.length = 16;
  return out;
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  IpNetwork net;
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  // A network is written as the network, so a mapped address in a rule stays IPv6.
  if (address.find(':') != std::string_view::npos) {
    char buffer[kMaxAddressText];
    if (address.empty() || address.size() >= kMaxAddressText) return std::nullopt;
    std::memcpy(buffer, address.data(), address.size());
    buffer[address.size()] = '\0';
    if (inet_pton(AF_INET6, buffer, net.bytes_.data()) != 1) return std::nullopt;
    net.length_ = 16;
  } else {
    if (!parseIpv4(address, net.bytes_.data())) return std::nullopt;
    net.length_ = 4;
  }
  net.prefix_ = net.length_ * 8;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > net.length_ * 8) {
      return std::nullopt;
    }
    net.prefix_ = prefix;
  }
  return net;
}

bool IpNetwork::contains(const Address& address) const {
  std::array<uint8_t, 16> bytes = address.bytes;
  if (address.length == 4 && length_ == 16) {
    // A mapped address was unwrapped when parsed; an IPv6 rule still matches
    // it in mapped form (and never a plain IPv4 address).
    if (!address.mapped) return false;
    std::memmove(bytes.data() + 12, bytes.data(), 4);
    std::memset(bytes.data(), 0, 10);
    bytes[10] = bytes[11] = 0xff;
  } else if (address.length != length_) {
    return false;
  }
  const int full = prefix_ / 8;
  if (std::memcmp(bytes.data(), bytes_.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (bytes_[full] & mask);
}

}  // namespace trailwatch::engine
