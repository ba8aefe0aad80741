// A running API server over a real embedded bus (two shards) holding demo data, and a client that
// speaks HTTP or HTTPS on loopback and signs requests like any other client (auth.h).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "govcredit/api.h"
#include "govcredit/auth.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "support/support.h"

namespace govcredit::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

struct Reply {
  int status = 0;  // -1: no response
  nlohmann::json body;
  std::string text;
  std::map<std::string, std::string> headers;
};

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Call {
  std::string method = "GET";
  std::string target{};
  std::string body{};
  const PrivateKey* key = nullptr;  // signs when set
  std::int64_t time_ms = 0;         // 0: now
  std::string nonce{};              // "": a fresh one
  std::map<std::string, std::string> headers{};
};

// One request on a fresh connection; TLS when ca_file is given (the server's certificate is
// verified against it, for the name "localhost").
inline Reply send(unsigned short port, const Call& c, const std::string& ca_file = "") {
  net::io_context ioc;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(c.method), c.target, 11};
  req.set(bhttp::field::host, "localhost");
  req.body() = c.body;
  req.prepare_payload();
  if (c.key)
    for (const auto& [k, v] : auth::sign_request(*c.key, c.method, c.target, c.body,
                                                 c.time_ms ? c.time_ms : wall_ms(), c.nonce))
      req.set(k, v);
  for (const auto& [k, v] : c.headers) req.set(k, v);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
  if (ca_file.empty()) {
    beast::tcp_stream stream(ioc);
    stream.connect(ep);
    stream.expires_after(std::chrono::seconds(30));
    bhttp::write(stream, req, ec);
    if (!ec) bhttp::read(stream, buf, res, ec);
  } else {
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    stream.set_verify_mode(net::ssl::verify_peer);
    stream.set_verify_callback(net::ssl::host_name_verification("localhost"));
    beast::get_lowest_layer(stream).connect(ep);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    stream.handshake(net::ssl::stream_base::client, ec);
    if (!ec) bhttp::write(stream, req, ec);
    if (!ec) bhttp::read(stream, buf, res, ec);
  }
  Reply r;
  if (ec) {
    r.status = -1;
    r.text = ec.message();
    return r;
  }
  r.status = static_cast<int>(res.result_int());
  r.text = res.body();
  r.body = nlohmann::json::parse(r.text, nullptr, false);
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

// The key a demo principal signs with now (a rotation replaces the first one).
inline PrivateKey demo_key(const demo::World& w, const std::string& principal) {
  auto it = w.keys.find(PrincipalId(principal));
  return it != w.keys.end() ? it->second : demo::key_for(PrincipalId(principal));
}

// A self-signed certificate for "localhost" / 127.0.0.1 made with the openssl CLI, as in the
// documented development set-up (ops/dev-tls.sh).
inline bool make_dev_certificate(const std::string& dir) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
      "-keyout '" +
      dir + "/key.pem' -out '" + dir + "/cert.pem' > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Demo data on a two-shard embedded bus, the API and a server on a free loopback port.
class ServerFixture {
 public:
  explicit ServerFixture(ApiContext extra = {}, bool tls = false) {
    auto bus =
        EmbeddedBus::open(EmbeddedOptions{.data_dir = dir_.path() + "/data", .partitions = 2});
    if (!bus) throw std::runtime_error(bus.status().to_string());
    bus_ = std::move(*bus);
    world_ = demo::generate(demo::Options{.seed = 5, .records = 120});
    for (const auto& r : bus_->publish_all_with_results(world_.events))
      if (!r) throw std::runtime_error(r.status().to_string());
    auto vault = KeyVault::open(dir_.path() + "/data/vault");
    if (!vault) throw std::runtime_error(vault.status().to_string());
    vault_ = std::move(*vault);
    ledger_key_.emplace(PrivateKey::generate().value());
    complaint_key_.emplace(demo_key(world_, "complaints"));
    ApiContext ctx = std::move(extra);
    ctx.partitions = 2;
    ctx.shard = [b = bus_.get()](Partition p) { return &b->shard(p); };
    ctx.bus = bus_.get();
    ctx.embedded = bus_.get();
    ctx.rules = &ScoringRules::builtin();
    ctx.ledger_key = &*ledger_key_;
    ctx.complaint_key = &*complaint_key_;
    ctx.vault = vault_.get();
    if (ctx.web_dir.empty()) ctx.web_dir = GOVCREDIT_SOURCE_DIR "/web";
    api_ = make_api(ctx);
    http::ServerOptions so{.port = 0};
    so.observe = api_.observe;
    if (tls) {
      if (!make_dev_certificate(dir_.path())) throw std::runtime_error("openssl req failed");
      so.tls = http::TlsOptions{dir_.path() + "/cert.pem", dir_.path() + "/key.pem"};
      ca_ = dir_.path() + "/cert.pem";
    }
    auto s = http::Server::start(so, api_.router);
    if (!s) throw std::runtime_error(s.status().to_string());
    server_ = std::move(*s);
  }
  ~ServerFixture() { server_->stop(); }

  Reply call(const Call& c) { return send(server_->port(), c, ca_); }
  Reply get(const std::string& target, const PrivateKey* key = nullptr) {
    return call(Call{.target = target, .key = key});
  }
  unsigned short port() const { return server_->port(); }
  const std::string& ca_file() const { return ca_; }  // the TLS certificate ("" without TLS)
  EmbeddedBus& bus() { return *bus_; }
  const demo::World& world() const { return world_; }
  KeyVault& vault() { return *vault_; }
  const PrivateKey& ledger_key() const { return *ledger_key_; }
  const std::string& ca() const { return ca_; }
  const Api& api() const { return api_; }
  std::uint64_t total_entries() {
    return bus_->shard(Partition{0}).head().size + bus_->shard(Partition{1}).head().size;
  }

 private:
  TempDir dir_;
  std::unique_ptr<EmbeddedBus> bus_;
  demo::World world_;
  std::unique_ptr<KeyVault> vault_;
  std::optional<PrivateKey> ledger_key_, complaint_key_;
  Api api_;
  std::unique_ptr<http::Server> server_;
  std::string ca_;
};

}  // namespace govcredit::testing
