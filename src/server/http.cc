// The HTTP server (include/govcredit/http.h) over Boost.Beast.
#include "govcredit/http.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>

namespace govcredit::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

Response json_response(int http_status, std::string body) {
  Response r;
  r.status = http_status;
  r.body = std::move(body);
  return r;
}

Response error_response(int http_status, const Status& s) {
  nlohmann::json j = {{"code", std::string(s.code())}, {"message", s.message()}};
  return json_response(http_status,
                       j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

namespace {

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

// Percent-decoding; nullopt for a malformed escape.
std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int a = hex(s[i + 1]), b = hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out.push_back(static_cast<char>(a * 16 + b));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

const std::string& Request::header(const std::string& lower_case_name) const {
  static const std::string kNone;
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? kNone : it->second;
}

void Router::add(std::string method, std::string pattern, Handler h) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), std::move(h)});
}

std::vector<std::string> Router::routes() const {
  std::vector<std::string> out;
  for (const Route& r : routes_) out.push_back(r.method + " " + r.pattern);
  return out;
}

Response Router::dispatch(Request r) const {
  const std::vector<std::string> segs = split_path(r.path);
  bool path_known = false;
  for (const Route& route : routes_) {
    if (route.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < segs.size() && match; ++i) {
      const std::string& p = route.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}')
        params[p.substr(1, p.size() - 2)] = segs[i];
      else
        match = p == segs[i];
    }
    if (!match) continue;
    path_known = true;
    if (route.method != r.method) continue;
    r.params = std::move(params);
    Response resp = route.handler(r);
    resp.route = route.pattern;
    return resp;
  }
  if (path_known)
    return error_response(
        405, Status(Reason::kInvalidArgument, r.method + " is not allowed on " + r.path));
  return error_response(404, Status(Reason::kNotFound, "no such endpoint: " + r.path));
}

namespace {

// The answer to a request Beast could not read: too large, or malformed.
Response read_error_response(const beast::error_code& ec, std::size_t body_limit) {
  if (ec == bhttp::error::body_limit)
    return error_response(
        413, Status(Reason::kEventTooLarge,
                    "the request body exceeds " + std::to_string(body_limit) + " bytes"));
  if (ec == bhttp::error::header_limit)
    return error_response(431,
                          Status(Reason::kInvalidArgument, "the request headers are too large"));
  return error_response(
      400, Status(Reason::kInvalidArgument, "malformed HTTP request: " + ec.message()));
}

// The Request a handler sees, or the 400 for a target that does not decode.
std::variant<Request, Response> to_request(bhttp::request<bhttp::string_body>& req) {
  Request r;
  r.method = std::string(req.method_string());
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  std::string_view target(req.target().data(), req.target().size());
  r.target = std::string(target);
  std::size_t q = target.find('?');
  auto path = decode(target.substr(0, q), false);
  if (!path) return error_response(400, Status(Reason::kInvalidArgument, "malformed URL escape"));
  r.path = *path;
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      std::size_t eq = pair.find('=');
      auto k = decode(pair.substr(0, eq), true);
      auto v = decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!k || !v)
        return error_response(400, Status(Reason::kInvalidArgument, "malformed query string"));
      if (!k->empty()) r.query[*k] = *v;
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  r.body = std::move(req.body());
  return r;
}

Response dispatch_safely(const Router& router, const Request& r) {
  try {
    return router.dispatch(r);
  } catch (const std::exception&) {
    return error_response(500, Status(Reason::kInternal, "internal error"));
  }
}

}  // namespace

Response handle_raw(std::string_view bytes, const Router& router, const ServerOptions& o) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(o.body_limit);
  parser.header_limit(static_cast<std::uint32_t>(o.header_limit));
  parser.eager(true);
  beast::error_code ec;
  std::size_t used = 0;
  while (!ec && !parser.is_done() && used < bytes.size()) {
    std::size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == bhttp::error::need_more) {  // the input ended: handled below, as the end of stream
      ec = {};
      break;
    }
    used += n;
    if (n == 0 && !ec) break;
  }
  if (!ec && !parser.is_done()) {
    // put_eof() requires bytes before it (Beast asserts got_some()); no bytes at all are as
    // partial a message as a cut-off one.
    if (parser.got_some()) parser.put_eof(ec);
    if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
  }
  if (ec) return read_error_response(ec, o.body_limit);
  auto converted = to_request(parser.get());
  if (auto* resp = std::get_if<Response>(&converted)) return *resp;
  Request& r = std::get<Request>(converted);
  r.remote = "127.0.0.1";
  r.loopback = true;
  return dispatch_safely(router, r);
}

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool is_loopback(const net::ip::address& a) {
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() &&
         a.to_v6().to_v4().is_loopback();  // ::ffff:127.0.0.1
}

// One connection: plain (Stream = beast::tcp_stream) or TLS (TlsStream).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... TlsContext>
  Session(tcp::socket socket, const Router& router, const ServerOptions& o, TlsContext&... tls)
      : stream_(std::move(socket), tls...), router_(router), o_(o) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().to_string();
      loopback_ = is_loopback(ep.address());
    }
  }

  void run() {
    net::dispatch(beast::get_lowest_layer(stream_).get_executor(),
                  beast::bind_front_handler(&Session::start, this->shared_from_this()));
  }

 private:
  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(o_.timeout);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          beast::bind_front_handler(&Session::on_handshake, this->shared_from_this()));
    } else {
      read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return;  // not TLS, or a failed handshake: nothing to answer in
    read();
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(o_.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(o_.header_limit));
    beast::get_lowest_layer(stream_).expires_after(o_.timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::ssl::error::stream_truncated)
      return close();
    // A client that does not send a whole request in time (a slow or stalled client, or an idle
    // keep-alive connection) has its connection closed: Beast closed the timed-out socket.
    if (ec == beast::error::timeout) return close();
    if (ec) return write(read_error_response(ec, o_.body_limit), false);
    started_ = std::chrono::steady_clock::now();
    auto& req = parser_->get();
    const bool keep_alive = req.keep_alive();
    auto converted = to_request(req);
    if (auto* resp = std::get_if<Response>(&converted)) return write(std::move(*resp), keep_alive);
    Request& r = std::get<Request>(converted);
    r.remote = remote_;
    r.loopback = loopback_;
    Response resp = dispatch_safely(router_, r);
    r.body.clear();
    last_ = std::move(r);
    write(std::move(resp), keep_alive);
  }

  void write(Response r, bool keep_alive) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<bhttp::status>(r.status));
    res_.set(bhttp::field::server, "govcredit");
    res_.set(bhttp::field::content_type, r.content_type);
    res_.set(bhttp::field::cache_control, "no-store");
    res_.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : r.headers) res_.set(name, value);
    if constexpr (std::is_same_v<Stream, TlsStream>)
      res_.set("Strict-Transport-Security", "max-age=31536000");
    res_.keep_alive(keep_alive);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    status_ = r.status;
    route_ = std::move(r.route);
    beast::get_lowest_layer(stream_).expires_after(o_.timeout);
    bhttp::async_write(
        stream_, res_,
        beast::bind_front_handler(&Session::on_write, this->shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    if (o_.observe && last_) {
      Response meta;
      meta.status = status_;
      meta.route = route_;
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      try {
        o_.observe(*last_, meta, secs);
      } catch (const std::exception&) {
      }
    }
    last_.reset();
    if (ec) return;
    if (!keep_alive) return close();
    read();
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  const Router& router_;
  const ServerOptions& o_;
  std::string remote_;
  bool loopback_ = false;
  std::optional<Request> last_;
  int status_ = 0;
  std::string route_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Router router;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::optional<net::ssl::context> tls;

  // The handler holds a plain pointer: the io_context is a member, so no handler outlives this
  // (a shared_ptr here would be a cycle through the io_context's queue, and a leak).
  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        if (tls)
          std::make_shared<Session<TlsStream>>(std::move(socket), router, options, *tls)->run();
        else
          std::make_shared<Session<beast::tcp_stream>>(std::move(socket), router, options)->run();
      }
      accept();
    });
  }
};

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& o, const Router& router) {
  auto impl = std::make_shared<Impl>();
  impl->options = o;
  impl->router = router;
  beast::error_code ec;
  if (o.tls) {
    impl->tls.emplace(net::ssl::context::tls_server);
    impl->tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                           net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    impl->tls->use_certificate_chain_file(o.tls->certificate_chain, ec);
    if (ec)
      return Status(Reason::kIoError, "cannot load the TLS certificate chain '" +
                                          o.tls->certificate_chain + "': " + ec.message());
    impl->tls->use_private_key_file(o.tls->private_key, net::ssl::context::pem, ec);
    if (ec)
      return Status(Reason::kIoError, "cannot load the TLS private key '" + o.tls->private_key +
                                          "': " + ec.message());
  }
  auto address = net::ip::make_address(o.address, ec);
  if (ec) return Status(Reason::kInvalidArgument, "bad listen address '" + o.address + "'");
  tcp::endpoint ep(address, o.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status(Reason::kIoError, "cannot listen on " + o.address + ":" + std::to_string(o.port) +
                                        ": " + ec.message());
  impl->accept();
  for (unsigned i = 0; i < std::max(1u, o.threads); ++i)
    impl->threads.emplace_back([p = impl.get()] { p->ioc.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

unsigned short Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::stop() {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace govcredit::http
