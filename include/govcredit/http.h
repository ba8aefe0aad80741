// A small HTTP/1.1 server over Boost.Beast: asynchronous accept and keep-alive sessions on a pool
// of threads, plain or TLS (OpenSSL through Asio ssl), a request size limit, a per-request
// timeout (a request not received in time closes the connection), and JSON errors for what goes
// wrong before a handler runs (malformed request, body or headers too large). Handlers are plain
// functions from Request to Response, found by a Router.
//
// Thread-safety: handlers run on the server's threads, possibly at once; they must be
// thread-safe. start() and stop() are called from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "govcredit/status.h"

namespace govcredit::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // exactly as sent: path and query, still percent-encoded
  std::string path;    // decoded, without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;   // from the route pattern's {name} segments
  std::map<std::string, std::string> headers;  // names in lower case
  std::string remote;                          // the client's IP address
  bool loopback = false;                       // the client connected from 127.0.0.0/8 or ::1
  std::string body;

  // The header's value, or "".
  const std::string& header(const std::string& lower_case_name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string route;  // the pattern that matched, set by Router::dispatch (for metrics)
};

// {"code": ..., "message": ...} with the HTTP status for a Status.
Response error_response(int http_status, const Status& s);
Response json_response(int http_status, std::string body);

// Routes "GET /v1/agencies/{id}" style patterns; {name} matches one path segment.
class Router {
 public:
  using Handler = std::function<Response(const Request&)>;
  void add(std::string method, std::string pattern, Handler h);
  // The handler's response; 404 for an unknown path, 405 for a known path with another method.
  Response dispatch(Request r) const;
  // Every "METHOD pattern", in the order added (the OpenAPI document is checked against it).
  std::vector<std::string> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct TlsOptions {
  std::string certificate_chain;  // PEM file: the server's certificate, then any intermediates
  std::string private_key;        // PEM file
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see Server::port())
  unsigned threads = 2;
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds timeout{10000};  // to read a whole request or write a response
  std::optional<TlsOptions> tls{};           // HTTPS (TLS 1.2 or later) when set
  // Called after each response is written with the time from the request's last byte to the
  // response's; runs on a server thread.
  std::function<void(const Request&, const Response&, double seconds)> observe{};
};

// One request from raw bytes, parsed with the server's limits and answered as the server would
// (the same error responses, the router, a handler's exception as a 500), as if from loopback.
// Incomplete input is a malformed request. For fuzzing and tests of request handling.
Response handle_raw(std::string_view bytes, const Router& router, const ServerOptions& o = {});

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(const ServerOptions& o, const Router& router);
  ~Server();
  unsigned short port() const;
  void stop();

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace govcredit::http
