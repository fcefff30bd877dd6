// HttpPoster: POSTs a body to one URL with Boost.Beast, HTTP/1.1, over TCP
// or TLS, and reports the status code. Each post opens its own connection
// (alerts are rare; a fresh connection never meets a server-closed idle
// one) and is bounded by one timeout covering resolve, connect, TLS
// handshake, write and read.
//
// TLS verifies the server's certificate chain (the system CA store, or
// `tls_ca_file` when given) and its name against the URL's host, and sends
// SNI.
//
// Headers: fixed ones (configuration) plus, when `headers_file` is set,
// `Name: value` lines read from that file before every post (so a rotated
// token is picked up; when the file cannot be read, the last good headers
// stay in use).
//
// Thread-safety: one thread at a time (the sink's delivery thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/http_url.h"
#include "trailwatch/result.h"

namespace trailwatch::alert {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpPosterOptions {
  HttpUrl url;
  HttpHeaders headers;
  std::string headers_file;  // empty: none
  std::chrono::milliseconds timeout{10'000};
  std::string tls_ca_file;  // empty: the system's CA store
};

// Parses a headers file: `Name: value` per line; blank lines and lines
// starting with '#' are skipped. Errors name the file and line.
Result<HttpHeaders> readHeadersFile(const std::string& path);
// Why `name` is not a valid HTTP header name (RFC 9110 token), or "".
std::string headerNameProblem(const std::string& name);

struct HttpReply {
  int status = 0;
  std::string body;  // at most the first 4 KiB, for logs
};

class HttpPoster {
 public:
  // Fails when the TLS context cannot be set up (e.g. unreadable CA file)
  // or the headers file cannot be read.
  static Result<std::unique_ptr<HttpPoster>> create(HttpPosterOptions options);
  ~HttpPoster();

  // The receiver's reply, or a message (connection refused, timeout, TLS).
  Result<HttpReply> post(const std::string& body, const std::string& content_type);

  const HttpPosterOptions& options() const { return options_; }

 private:
  struct Impl;
  explicit HttpPoster(HttpPosterOptions options);

  HttpPosterOptions options_;
  HttpHeaders file_headers_;  // last good content of headers_file
  std::unique_ptr<Impl> impl_;
};

}  // namespace trailwatch::alert
