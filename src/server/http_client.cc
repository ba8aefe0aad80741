#include "govcredit/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "govcredit/auth.h"

namespace govcredit::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<Url> parse_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Status(Reason::kInvalidArgument, "'" + url + "' is not a usable URL: " + why);
  };
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return bad("it must start with http:// or https://");
  }
  std::size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (authority.find('@') != std::string::npos) return bad("user names in URLs are not supported");
  if (!authority.empty() && authority[0] == '[') {  // [v6]:port
    std::size_t close = authority.find(']');
    if (close == std::string::npos) return bad("an unclosed [ in the host");
    u.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after the IPv6 address");
      u.port = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("no host");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.port.find_first_not_of("0123456789") != std::string::npos || u.port.size() > 5 ||
      std::stoi(u.port) == 0 || std::stoi(u.port) > 65535)
    return bad("the port must be a number from 1 to 65535");
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad("spaces and control characters must be percent-encoded");
  return u;
}

namespace {

template <class Stream>
Result<FetchResult> round_trip(Stream& stream, const bhttp::request<bhttp::string_body>& req) {
  beast::error_code ec;
  bhttp::write(stream, req, ec);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (!ec) bhttp::read(stream, buf, parser, ec);
  if (ec)
    return Status(Reason::kUnavailable, "the exchange with the server failed: " + ec.message());
  const auto& res = parser.get();
  FetchResult out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
  return out;
}

}  // namespace

Result<FetchResult> fetch(const Url& url, const FetchOptions& o) {
  try {
    net::io_context ioc;
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(o.method), url.target, 11};
    if (req.method() == bhttp::verb::unknown)
      return Status(Reason::kInvalidArgument, "'" + o.method + "' is not an HTTP method");
    const bool v6 = url.host.find(':') != std::string::npos;
    req.set(bhttp::field::host, (v6 ? "[" + url.host + "]" : url.host) +
                                    (url.port == (url.tls ? "443" : "80") ? "" : ":" + url.port));
    req.set(bhttp::field::user_agent, "govcredit");
    req.set(bhttp::field::accept, "application/json");
    req.body() = o.body;
    req.prepare_payload();
    if (o.key)
      for (const auto& [k, v] :
           auth::sign_request(*o.key, o.method, url.target, o.body,
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()))
        req.set(k, v);
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return Status(Reason::kUnavailable, "cannot resolve " + url.host + ": " + ec.message());
    const auto timeout = std::chrono::milliseconds(o.timeout_ms);
    auto unreachable = [&](const beast::error_code& e) {
      return Status(Reason::kUnavailable,
                    "cannot connect to " + url.host + " port " + url.port + ": " + e.message());
    };
    if (!url.tls) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(timeout);
      stream.connect(endpoints, ec);
      if (ec) return unreachable(ec);
      auto r = round_trip(stream, req);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      return r;
    }
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.set_options(net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    if (o.ca_file.empty())
      ctx.set_default_verify_paths();
    else
      ctx.load_verify_file(o.ca_file, ec);
    if (ec)
      return Status(Reason::kInvalidArgument,
                    "cannot read the CA file " + o.ca_file + ": " + ec.message());
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    stream.set_verify_mode(net::ssl::verify_peer);
    stream.set_verify_callback(net::ssl::host_name_verification(url.host));
    if (!v6) SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(endpoints, ec);
    if (ec) return unreachable(ec);
    stream.handshake(net::ssl::stream_base::client, ec);
    if (ec)
      return Status(Reason::kUnavailable, "the TLS handshake with " + url.host +
                                              " failed (is its certificate trusted? see "
                                              "--ca-file): " +
                                              ec.message());
    auto r = round_trip(stream, req);
    stream.shutdown(ec);  // the server may just close; nothing to do about it
    return r;
  } catch (const std::exception& e) {
    return Status(Reason::kUnavailable, std::string("HTTP request failed: ") + e.what());
  }
}

}  // namespace govcredit::http
