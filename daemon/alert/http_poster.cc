#include "daemon/alert/http_poster.h"

#include <fstream>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "daemon/common/ascii.h"

#ifndef TRAILWATCH_VERSION
#define TRAILWATCH_VERSION "unknown"
#endif

namespace trailwatch::alert {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxReplyBody = 64u << 10;
constexpr size_t kLoggedBody = 4u << 10;

std::string trim(std::string s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\r'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool isTokenChar(char c) {
  return ascii::isAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Runs the io_context until the operation just started completes.
void runOne(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

std::string describe(const beast::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout || ec == net::error::operation_aborted) {
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  }
  return ec.message();
}

}  // namespace

std::string headerNameProblem(const std::string& name) {
  if (name.empty()) return "the header name is empty";
  if (!std::all_of(name.begin(), name.end(), isTokenChar)) {
    return "'" + name + "' is not a valid HTTP header name";
  }
  return "";
}

Result<HttpHeaders> readHeadersFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read headers file " + path + ": " + std::strerror(errno)};
  HttpHeaders headers;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    const size_t colon = t.find(':');
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (colon == std::string::npos) return Error{where + "expected 'Name: value'"};
    std::string name = trim(t.substr(0, colon));
    std::string value = trim(t.substr(colon + 1));
    if (std::string problem = headerNameProblem(name); !problem.empty()) {
      return Error{where + problem};
    }
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return Error{where + "the value of header '" + name + "' holds a control character"};
      }
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
  return headers;
}

struct HttpPoster::Impl {
  net::io_context ioc;
  std::optional<ssl::context> tls;
};

HttpPoster::HttpPoster(HttpPosterOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpPoster::~HttpPoster() = default;

Result<std::unique_ptr<HttpPoster>> HttpPoster::create(HttpPosterOptions options) {
  std::unique_ptr<HttpPoster> poster(new HttpPoster(std::move(options)));
  const HttpPosterOptions& o = poster->options_;
  if (o.url.tls) {
    auto& ctx = poster->impl_->tls.emplace(ssl::context::tls_client);
    beast::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                    ec);
    if (!ec) {
      if (o.tls_ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
      } else {
        ctx.load_verify_file(o.tls_ca_file, ec);
      }
    }
    if (ec) {
      return Error{"cannot set up TLS" +
                   (o.tls_ca_file.empty() ? std::string() : " with CA file " + o.tls_ca_file) +
                   ": " + ec.message()};
    }
    ctx.set_verify_mode(ssl::verify_peer, ec);
  }
  if (!o.headers_file.empty()) {
    auto headers = readHeadersFile(o.headers_file);
    if (!headers.ok()) return Error{headers.error()};
    poster->file_headers_ = std::move(headers).value();
  }
  return poster;
}

Result<HttpReply> HttpPoster::post(const std::string& body, const std::string& content_type) {
  if (!options_.headers_file.empty()) {
    if (auto headers = readHeadersFile(options_.headers_file); headers.ok()) {
      file_headers_ = std::move(headers).value();
    }
  }
  http::request<http::string_body> req{http::verb::post, options_.url.target, 11};
  req.set(http::field::host, options_.url.hostHeader());
  req.set(http::field::user_agent, "trailwatch/" TRAILWATCH_VERSION);
  req.set(http::field::content_type, content_type);
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : options_.headers) req.set(name, value);
  for (const auto& [name, value] : file_headers_) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  net::io_context& ioc = impl_->ioc;
  const auto timeout = options_.timeout;
  const auto deadline = Clock::now() + timeout;
  beast::error_code ec;

  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  {
    net::steady_timer timer(ioc);
    timer.expires_at(deadline);
    timer.async_wait([&](const beast::error_code& e) {
      if (!e) resolver.cancel();
    });
    resolver.async_resolve(options_.url.host, options_.url.port,
                           [&](const beast::error_code& e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    runOne(ioc);
  }
  if (ec) return Error{"cannot resolve " + options_.url.host + ": " + describe(ec, timeout)};

  const std::string where = options_.url.hostHeader();
  auto exchange = [&](auto& stream) -> Result<HttpReply> {
    http::async_write(stream, req, [&](const beast::error_code& e, size_t) { ec = e; });
    runOne(ioc);
    if (ec) return Error{"cannot send to " + where + ": " + describe(ec, timeout)};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxReplyBody);
    http::async_read(stream, buffer, parser, [&](const beast::error_code& e, size_t) { ec = e; });
    runOne(ioc);
    if (ec && !(ec == http::error::body_limit && parser.is_header_done())) {
      return Error{"no reply from " + where + ": " + describe(ec, timeout)};
    }
    HttpReply reply;
    reply.status = static_cast<int>(parser.get().result_int());
    reply.body = parser.get().body().substr(0, kLoggedBody);
    return reply;
  };

  if (!impl_->tls) {
    beast::tcp_stream stream(ioc);
    stream.expires_at(deadline);
    stream.async_connect(endpoints,
                         [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    runOne(ioc);
    if (ec) return Error{"cannot connect to " + where + ": " + describe(ec, timeout)};
    auto reply = exchange(stream);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return reply;
  }

  beast::ssl_stream<beast::tcp_stream> stream(ioc, *impl_->tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), options_.url.host.c_str())) {
    return Error{"cannot set TLS server name " + options_.url.host};
  }
  stream.set_verify_callback(ssl::host_name_verification(options_.url.host), ec);
  beast::get_lowest_layer(stream).expires_at(deadline);
  beast::get_lowest_layer(stream).async_connect(
      endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
  runOne(ioc);
  if (ec) return Error{"cannot connect to " + where + ": " + describe(ec, timeout)};
  stream.async_handshake(ssl::stream_base::client, [&](const beast::error_code& e) { ec = e; });
  runOne(ioc);
  if (ec) return Error{"TLS handshake with " + where + " failed: " + describe(ec, timeout)};
  auto reply = exchange(stream);
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  return reply;
}

}  // namespace trailwatch::alert
