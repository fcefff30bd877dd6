#include "daemon/common/http_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "daemon/common/ascii.h"

namespace trailwatch {
namespace {

bool isHostNameChar(char c) { return ascii::isAlnum(c) || c == '.' || c == '-' || c == '_'; }

}  // namespace

std::string HttpUrl::hostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  HttpUrl out;
  if (ascii::startsWithFolded(url, "https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (ascii::startsWithFolded(url, "http://")) {
    url.remove_prefix(7);
  } else {
    return Error{"the URL must start with http:// or https://"};
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Error{"the URL must not contain spaces or control characters"};
    }
  }
  if (url.find('#') != std::string_view::npos) return Error{"the URL must not have a #fragment"};
  const size_t end = std::min(url.find('/'), url.find('?'));
  std::string_view authority = url.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return Error{"the URL must not hold a user name or password (use headers or headers_file)"};
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"an IPv6 address in a URL goes in brackets"};
    out.host = std::string(authority.substr(1, close - 1));
    in6_addr parsed{};
    if (inet_pton(AF_INET6, out.host.c_str(), &parsed) != 1) {
      return Error{"'" + out.host + "' is not an IPv6 address"};
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{"unexpected text after the IPv6 address"};
      port = after.substr(1);
      if (port.empty()) return Error{"the port is empty"};
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Error{"the port is empty"};
    }
    if (out.host.empty()) return Error{"the URL has no host"};
    if (!std::all_of(out.host.begin(), out.host.end(), isHostNameChar)) {
      return Error{"'" + out.host + "' is not a host name or IPv4 address"};
    }
  }
  if (out.host.empty()) return Error{"the URL has no host"};
  if (!port.empty()) {
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || ptr != port.data() + port.size() || n == 0 || n > 65535) {
      return Error{"the port must be a number from 1 to 65535"};
    }
    out.port = std::to_string(n);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.target = rest.empty() ? "/" : std::string(rest);
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  return out;
}

}  // namespace trailwatch
