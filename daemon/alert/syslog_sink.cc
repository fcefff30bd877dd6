#include "daemon/alert/syslog_sink.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include <simdjson.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "daemon/common/json_writer.h"

namespace trailwatch::alert {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using udp = net::ip::udp;

// IANA's private enterprise number for documentation (RFC 5612); a site
// with its own PEN may want it here one day.
constexpr std::string_view kSdId = "trailwatch@32473";

constexpr std::pair<std::string_view, int> kFacilities[] = {
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"ntp", 12},    {"audit", 13},  {"local0", 16},
    {"local1", 17},   {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},
    {"local6", 22},   {"local7", 23}};

bool isPrintUsAscii(char c) { return c >= 33 && c <= 126; }

// The rule id, level and controls of an alert; empty when absent or when
// the payload is not JSON (it always is, as the pipeline wrote it).
struct AlertSummary {
  std::string rule_id, level;
  std::vector<std::string> controls;
};

AlertSummary summarize(std::string_view alert_json) {
  AlertSummary s;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(alert_json.data(), alert_json.size()).get(root)) return s;
  std::string_view v;
  if (!root.at_pointer("/rule/id").get_string().get(v)) s.rule_id = v;
  if (!root.at_pointer("/rule/level").get_string().get(v)) s.level = v;
  simdjson::dom::array controls;
  if (!root["controls"].get_array().get(controls)) {
    for (auto c : controls) {
      if (!c.get_string().get(v)) s.controls.emplace_back(v);
    }
  }
  return s;
}

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view cutUtf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string describe(const beast::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout || ec == net::error::operation_aborted) {
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  }
  return ec.message();
}

void runOne(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

// Whether the receiver closed (or reset) the connection on `fd`: a syslog
// receiver never sends, so a read-side hang-up is the only thing to see.
bool peerHungUp(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace

int syslogSeverity(std::string_view level) {
  if (level == "critical") return 2;
  if (level == "high") return 3;
  if (level == "medium") return 4;
  if (level == "low") return 5;
  if (level == "informational") return 6;
  return 5;
}

int syslogFacility(std::string_view name) {
  for (const auto& [n, code] : kFacilities) {
    if (n == name) return code;
  }
  return -1;
}

std::string escapeSdParamValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string syslogHeaderField(std::string_view value, std::size_t max) {
  std::string out(value.substr(0, max));
  for (char& c : out) {
    if (!isPrintUsAscii(c)) c = '_';
  }
  return out.empty() ? "-" : out;
}

SyslogMessage formatSyslogMessage(const SyslogMessageOptions& options, std::string_view alert_json,
                                  int64_t time_ms) {
  const AlertSummary s = summarize(alert_json);
  const int pri = options.facility * 8 + syslogSeverity(s.level);
  const bool id_fits =
      !s.rule_id.empty() && s.rule_id.size() <= 32 &&
      std::all_of(s.rule_id.begin(), s.rule_id.end(), [](char c) { return isPrintUsAscii(c); });
  std::string head = "<" + std::to_string(pri) + ">1 " + formatRfc3339Millis(time_ms) + " " +
                     syslogHeaderField(options.hostname, 255) + " " +
                     syslogHeaderField(options.app_name, 48) + " " +
                     syslogHeaderField(options.procid, 128) + " " +
                     (id_fits ? s.rule_id : std::string("alert")) + " ";
  std::string sd = "[" + std::string(kSdId);
  auto param = [&](std::string_view name, std::string_view value) {
    sd += " ";
    sd += name;
    sd += "=\"";
    sd += escapeSdParamValue(value);
    sd += "\"";
  };
  if (!s.rule_id.empty()) param("rule", s.rule_id);
  if (!s.level.empty()) param("level", s.level);
  for (const auto& c : s.controls) param("control", c);

  SyslogMessage m;
  const std::size_t max = options.max_message_bytes;
  if (max == 0 || head.size() + sd.size() + 2 + alert_json.size() <= max) {
    m.text = head + sd + "] " + std::string(alert_json);
    return m;
  }
  m.truncated = true;
  param("truncated", std::to_string(alert_json.size()));
  std::string prefix = head + sd + "] ";
  if (prefix.size() >= max) {
    // The header alone does not fit: cut the whole message.
    m.text = std::string(cutUtf8(prefix, max));
    return m;
  }
  m.text = prefix + std::string(cutUtf8(alert_json, max - prefix.size()));
  return m;
}

void appendSyslogFrame(SyslogOutputFraming framing, std::string_view message, std::string& out) {
  if (framing == SyslogOutputFraming::kOctetCounting) {
    out += std::to_string(message.size());
    out.push_back(' ');
    out.append(message);
  } else {
    out.append(message);
    out.push_back('\n');
  }
}

struct SyslogTransport::Impl {
  net::io_context ioc;
  std::optional<ssl::context> tls_context;
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<udp::socket> datagram;

  void close() {
    beast::error_code ec;
    if (tcp) tcp->socket().close(ec);
    if (tls) beast::get_lowest_layer(*tls).socket().close(ec);
    if (datagram) datagram->close(ec);
    tcp.reset();
    tls.reset();
    datagram.reset();
  }
  bool open() const { return tcp || tls || datagram; }
  int fd() {
    if (tcp) return tcp->socket().native_handle();
    if (tls) return beast::get_lowest_layer(*tls).socket().native_handle();
    return -1;
  }
};

SyslogTransport::SyslogTransport(SyslogTransportOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

SyslogTransport::~SyslogTransport() { impl_->close(); }

Result<std::unique_ptr<SyslogTransport>> SyslogTransport::create(SyslogTransportOptions options) {
  std::unique_ptr<SyslogTransport> t(new SyslogTransport(std::move(options)));
  const SyslogTransportOptions& o = t->options_;
  if (o.protocol == SyslogOutputProtocol::kTls) {
    auto& ctx = t->impl_->tls_context.emplace(ssl::context::tls_client);
    beast::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                    ec);
    std::string step;
    if (!ec) {
      step = o.ca_file.empty() ? "loading the system CA store" : "reading CA file " + o.ca_file;
      if (o.ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
      } else {
        ctx.load_verify_file(o.ca_file, ec);
      }
    }
    if (!ec && !o.cert_file.empty()) {
      step = "reading client certificate " + o.cert_file;
      ctx.use_certificate_chain_file(o.cert_file, ec);
      if (!ec) {
        step = "reading client key " + o.key_file;
        ctx.use_private_key_file(o.key_file, ssl::context::pem, ec);
      }
    }
    if (!ec) ctx.set_verify_mode(ssl::verify_peer, ec);
    if (ec) return Error{"cannot set up TLS (" + step + "): " + ec.message()};
  }
  return t;
}

SendResult SyslogTransport::send(const std::vector<SpoolRecord>& batch) {
  Impl& impl = *impl_;
  const auto timeout = options_.timeout;
  const std::string where = options_.host + ":" + options_.port;
  auto retry = [&](std::string detail) {
    impl.close();
    return SendResult{SendResult::Kind::kRetry, std::move(detail)};
  };

  // A connection the receiver closed since the last batch is reopened
  // rather than written into (the write would "succeed" and be lost).
  if (impl.open() && impl.fd() >= 0 && peerHungUp(impl.fd())) impl.close();

  if (!impl.open()) {
    beast::error_code ec;
    const bool is_udp = options_.protocol == SyslogOutputProtocol::kUdp;
    std::vector<tcp::endpoint> tcp_endpoints;
    std::vector<udp::endpoint> udp_endpoints;
    {
      net::steady_timer timer(impl.ioc);
      timer.expires_after(timeout);
      tcp::resolver tr(impl.ioc);
      udp::resolver ur(impl.ioc);
      timer.async_wait([&](const beast::error_code& e) {
        if (!e) {
          tr.cancel();
          ur.cancel();
        }
      });
      if (is_udp) {
        ur.async_resolve(options_.host, options_.port,
                         [&](const beast::error_code& e, udp::resolver::results_type r) {
                           ec = e;
                           for (const auto& entry : r) udp_endpoints.push_back(entry.endpoint());
                           timer.cancel();
                         });
      } else {
        tr.async_resolve(options_.host, options_.port,
                         [&](const beast::error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           for (const auto& entry : r) tcp_endpoints.push_back(entry.endpoint());
                           timer.cancel();
                         });
      }
      runOne(impl.ioc);
    }
    if (ec || (tcp_endpoints.empty() && udp_endpoints.empty())) {
      return retry("cannot resolve " + options_.host + ": " +
                   (ec ? describe(ec, timeout) : std::string("no address")));
    }
    if (is_udp) {
      auto& s = impl.datagram.emplace(impl.ioc);
      s.open(udp_endpoints.front().protocol(), ec);
      if (!ec) s.connect(udp_endpoints.front(), ec);
      if (ec) return retry("cannot open a udp socket to " + where + ": " + ec.message());
    } else if (options_.protocol == SyslogOutputProtocol::kTcp) {
      auto& s = impl.tcp.emplace(impl.ioc);
      s.expires_after(timeout);
      s.async_connect(tcp_endpoints,
                      [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
      runOne(impl.ioc);
      if (ec) return retry("cannot connect to " + where + ": " + describe(ec, timeout));
    } else {
      auto& s = impl.tls.emplace(impl.ioc, *impl.tls_context);
      const std::string name = options_.server_name.empty() ? options_.host : options_.server_name;
      beast::error_code parse_ec;
      net::ip::make_address(name, parse_ec);
      if (parse_ec && !SSL_set_tlsext_host_name(s.native_handle(), name.c_str())) {
        return retry("cannot set TLS server name " + name);
      }
      s.set_verify_callback(ssl::host_name_verification(name), ec);
      beast::get_lowest_layer(s).expires_after(timeout);
      beast::get_lowest_layer(s).async_connect(
          tcp_endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
      runOne(impl.ioc);
      if (ec) return retry("cannot connect to " + where + ": " + describe(ec, timeout));
      s.async_handshake(ssl::stream_base::client, [&](const beast::error_code& e) { ec = e; });
      runOne(impl.ioc);
      if (ec) return retry("TLS handshake with " + where + " failed: " + describe(ec, timeout));
    }
  }

  std::vector<std::string> messages;
  messages.reserve(batch.size());
  for (const auto& record : batch) {
    SyslogMessage m = formatSyslogMessage(options_.message, record.payload, record.appended_ms);
    if (m.truncated && options_.on_truncated) options_.on_truncated();
    messages.push_back(std::move(m.text));
  }

  beast::error_code ec;
  if (impl.datagram) {
    for (const auto& m : messages) {
      impl.datagram->send(net::buffer(m), 0, ec);
      if (ec) return retry("cannot send to " + where + ": " + ec.message());
    }
    return SendResult{SendResult::Kind::kDelivered, ""};
  }
  std::string data;
  for (const auto& m : messages) appendSyslogFrame(options_.framing, m, data);
  auto done = [&](const beast::error_code& e, std::size_t) { ec = e; };
  if (impl.tcp) {
    impl.tcp->expires_after(timeout);
    net::async_write(*impl.tcp, net::buffer(data), done);
  } else {
    beast::get_lowest_layer(*impl.tls).expires_after(timeout);
    net::async_write(*impl.tls, net::buffer(data), done);
  }
  runOne(impl.ioc);
  if (ec) return retry("cannot send to " + where + ": " + describe(ec, timeout));
  return SendResult{SendResult::Kind::kDelivered, ""};
}

}  // namespace trailwatch::alert
