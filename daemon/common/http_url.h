// HttpUrl: an `http://` or `https://` URL split into what an HTTP client
// needs, parsed strictly (the configuration loader and the network sinks
// use the same parser, so what `check` accepts is what `run` can use).
//
// Accepted: scheme http or https (any case), a host name, IPv4 address or
// bracketed IPv6 address, an optional port 1-65535, an optional path and
// query. Refused: user:password@ (put credentials in headers), fragments,
// spaces and control characters.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <string>
#include <string_view>

#include "trailwatch/result.h"

namespace trailwatch {

struct HttpUrl {
  bool tls = false;
  std::string host;    // without brackets for IPv6
  std::string port;    // "80" / "443" when not written
  std::string target;  // path and query; "/" when not written
  // host:port as written in a Host header ([v6] bracketed; port left out
  // when it is the scheme's default).
  std::string hostHeader() const;
};

// The URL, or a message saying what is wrong with it.
Result<HttpUrl> parseHttpUrl(std::string_view url);

}  // namespace trailwatch
