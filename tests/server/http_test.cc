// The HTTP server over real loopback sockets: routing, JSON errors, limits, keep-alive.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "govcredit/http.h"

namespace govcredit::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
};

// One request on a fresh connection (or on `stream` when given, for keep-alive).
Reply request(unsigned short port, bhttp::verb method, const std::string& target,
              const std::string& body = "") {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(stream, buf, res, ec);
  return {ec ? -1 : static_cast<int>(res.result_int()), res.body()};
}

Router test_router() {
  Router r;
  r.add("GET", "/healthz", [](const Request&) { return json_response(200, R"({"ok":true})"); });
  r.add("GET", "/v1/agencies/{id}", [](const Request& q) {
    nlohmann::json j = {{"id", q.params.at("id")},
                        {"as_of", q.query.count("as_of") ? q.query.at("as_of") : ""}};
    return json_response(200, j.dump());
  });
  r.add("POST", "/v1/echo", [](const Request& q) { return json_response(200, q.body); });
  r.add("GET", "/v1/boom",
        [](const Request&) -> Response { throw std::runtime_error("secret detail"); });
  return r;
}

TEST(Http, RoutesParamsAndQueries) {
  auto s = Server::start(ServerOptions{.port = 0}, test_router());
  ASSERT_TRUE(s) << s.status().to_string();
  const unsigned short port = (*s)->port();
  ASSERT_NE(port, 0);
  EXPECT_EQ(request(port, bhttp::verb::get, "/healthz").status, 200);
  auto r = request(port, bhttp::verb::get, "/v1/agencies/sh.city.finance?as_of=2013-12-31%2B08");
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["id"], "sh.city.finance");
  EXPECT_EQ(j["as_of"], "2013-12-31+08");
}

TEST(Http, EveryErrorIsJsonWithACode) {
  auto s = Server::start(ServerOptions{.port = 0, .body_limit = 1024}, test_router());
  ASSERT_TRUE(s);
  const unsigned short port = (*s)->port();
  auto code_of = [](const Reply& r) {
    return nlohmann::json::parse(r.body).at("code").get<std::string>();
  };
  Reply missing = request(port, bhttp::verb::get, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(code_of(missing), "not_found");
  Reply wrong_method = request(port, bhttp::verb::post, "/healthz");
  EXPECT_EQ(wrong_method.status, 405);
  Reply too_big = request(port, bhttp::verb::post, "/v1/echo", std::string(2000, 'x'));
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(code_of(too_big), "event_too_large");
  Reply boom = request(port, bhttp::verb::get, "/v1/boom");
  EXPECT_EQ(boom.status, 500);
  EXPECT_EQ(boom.body.find("secret detail"), std::string::npos) << "internals leaked";
  Reply bad_escape = request(port, bhttp::verb::get, "/v1/agencies/%zz");
  EXPECT_EQ(bad_escape.status, 400);
  // The server still serves after all that.
  EXPECT_EQ(request(port, bhttp::verb::get, "/healthz").status, 200);
}

TEST(Http, MalformedRequestGetsA400AndTheServerGoesOn) {
  auto s = Server::start(ServerOptions{.port = 0}, test_router());
  ASSERT_TRUE(s);
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), (*s)->port()));
  std::string junk = "NOT HTTP AT ALL\r\n\r\n";
  net::write(sock, net::buffer(junk));
  std::string reply(512, '\0');
  beast::error_code ec;
  std::size_t n = sock.read_some(net::buffer(reply), ec);
  reply.resize(n);
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_EQ(request((*s)->port(), bhttp::verb::get, "/healthz").status, 200);
}

// handle_raw (the fuzz target's way in): no bytes, a cut-off request line and a cut-off body are
// a partial message, answered with the 400 of any malformed request. Before 2026-12-07 the empty
// input broke a precondition of Beast's parser (an assertion where they are kept: the ASan
// build, and the fuzz build since that day, where it was found), and a cut-off input was
// answered "need more".
TEST(Http, RawInputThatEndsEarlyOrIsEmptyIsAMalformedRequest) {
  const Router router = test_router();
  for (std::string_view raw :
       {std::string_view(""), std::string_view("GET /heal"),
        std::string_view("POST /v1/echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")}) {
    Response r = handle_raw(raw, router);
    EXPECT_EQ(r.status, 400) << "'" << raw << "'";
    auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j.at("code"), "invalid_argument") << r.body;
    EXPECT_NE(j.at("message").get<std::string>().find("partial message"), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(handle_raw("GET /healthz HTTP/1.1\r\n\r\n", router).status, 200);
}

TEST(Http, AnOccupiedPortIsAClearError) {
  auto a = Server::start(ServerOptions{.port = 0}, test_router());
  ASSERT_TRUE(a);
  auto b = Server::start(ServerOptions{.port = (*a)->port()}, test_router());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().reason(), Reason::kIoError);
}

}  // namespace
}  // namespace govcredit::http
