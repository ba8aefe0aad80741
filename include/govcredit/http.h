// A small HTTP/1.1 server over Boost.Beast (work in progress for issue 6): asynchronous accept and
// keep-alive sessions on a pool of threads, a request size limit, a per-request timeout, and
// JSON errors for everything that goes wrong before a handler runs (malformed request, body too
// large, timeout). Handlers are plain functions from Request to Response, found by a Router.
//
// Thread-safety: handlers run on the server's threads, possibly at once; they must be
// thread-safe. start() and stop() are called from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "govcredit/status.h"

namespace govcredit::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;  // from the route pattern's {name} segments
  std::string body;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
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

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see Server::port())
  unsigned threads = 2;
  std::size_t body_limit = 64 * 1024;
  std::chrono::milliseconds timeout{10000};  // to read a whole request or write a response
};

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
