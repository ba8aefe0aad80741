// The bad-input catalogue (tests/bad_inputs/): every kind of wrong submission a client can send,
// each sent to a running server over real HTTP. For each: the documented status and reason code,
// nothing appended to any shard, and the server still answering others.
//
// events.jsonl — one case per line: a template event (a valid one the runner builds and signs),
// JSON-pointer changes ("set", "remove"), how it is signed afterwards ("sign": issuer (default),
// none, fresh, authority, authority_keep_key_id, revoked), who sends it ("as", default its
// issuer), or a "raw" body; "expect": [HTTP status, reason code]. 202 means accepted for
// ingest and then rejected with that code. Placeholders: $R_PENDING / $R_CONFIRMED (records the
// runner sets up), @RANDOM_ID@, @ZERO_SIGNATURE@, @REPEAT:c:n@, @INVALID_UTF8@.
// http.jsonl — raw bytes on a connection ("parts": text, {"repeat", "times"} or {"hex"}) and the
// status of the answer; and, separately, stalled and idle clients while others are served.
#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <fstream>
#include <set>

#include "fixture.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

using nlohmann::json;
using testing::Call;
using testing::demo_key;
using testing::Reply;
using testing::ServerFixture;

std::vector<json> load_cases(const std::string& file) {
  std::ifstream in(std::string(GOVCREDIT_SOURCE_DIR) + "/tests/bad_inputs/" + file);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string random_id() {
  EventId id;
  random_bytes(id.bytes);
  return to_hex(id.view());
}

// "@REPEAT:c:n@" -> c repeated n times; other placeholders are kept for the body text.
json expand(const json& v, const std::map<std::string, std::string>& vars) {
  if (!v.is_string()) return v;
  std::string s = v.get<std::string>();
  if (s.rfind("@REPEAT:", 0) == 0) {
    std::size_t c1 = s.find(':', 8);
    std::string unit = s.substr(8, c1 - 8);
    std::size_t n = std::stoul(s.substr(c1 + 1));
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += unit;
    return out;
  }
  if (s == "@RANDOM_ID@") return random_id();
  if (s == "@ZERO_SIGNATURE@") return std::string(128, '0');
  if (auto it = vars.find(s); it != vars.end()) return it->second;
  return s;
}

// What a template carries until it is signed.
const std::string kUnsignedKeyId(32, '1');
const std::string kUnsigned(128, '1');

class BadInputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    f_ = new ServerFixture();
    // Two records of our own about sh.city.transport: one left pending, one confirmed.
    pending_ = submit(record_template());
    json c = record_template();
    confirmed_ = submit(c);
    json v = verify_template(confirmed_);
    submit(v);
  }
  static void TearDownTestSuite() {
    delete f_;
    f_ = nullptr;
  }

  static std::string now_text(std::int64_t plus_ms = 0) {
    return format_time(Timestamp{testing::wall_ms() + plus_ms});
  }
  static json base(const std::string& type, const std::string& issuer, const std::string& subject,
                   json payload) {
    return json{{"v", 1},
                {"id", random_id()},
                {"issued_at", now_text()},
                {"issuer", issuer},
                {"subject", subject},
                {"type", type},
                {"key_id", kUnsignedKeyId},
                {"signature", kUnsigned},
                {"payload", std::move(payload)}};
  }
  static json record_template() {
    return base("record.submitted", "src.audit", "sh.city.transport",
                {{"category", "service_commitment"},
                 {"conduct_at", now_text(-86400000)},
                 {"evidence",
                  {{{"sha256", to_hex(sha256(std::string("卷宗")).view())},
                    {"uri", "https://example.gov.cn/case/1"}}}},
                 {"source_ref", nullptr},
                 {"summary", "市民反映行政许可逾期两个月未办结。"},
                 {"title", "承诺办结时限未兑现"}});
  }
  static json verify_template(const std::string& record) {
    return base(
        "record.verified", "authority", "sh.city.transport",
        {{"note", "经核实"}, {"outcome", "confirmed"}, {"record", record}, {"severity", "minor"}});
  }
  static json template_for(const std::string& name) {
    if (name == "record") return record_template();
    if (name == "verify") return verify_template(pending_);
    if (name == "recommend")
      return base("recommendation.issued", "authority", "sh.city.transport",
                  {{"actions", {"限期整改并书面报告整改情况"}},
                   {"deadline", now_text(30LL * 86400000)},
                   {"records", {confirmed_}},
                   {"reference", "沪测〔2026〕" + random_id().substr(0, 6) + "号"}});
    if (name == "objection")
      return base(
          "objection.raised", "ag.sh.city.transport", "sh.city.transport",
          {{"evidence", json::array()}, {"grounds", "记录与事实不符"}, {"record", confirmed_}});
    if (name == "report")
      return base("report.published", "authority", "_system",
                  {{"content_bytes", 1000},
                   {"content_sha256", to_hex(sha256(std::string("报告")).view())},
                   {"period", "2013-Q1"},
                   {"title", "政府信用信息专报（2013-Q1）"},
                   {"uri", nullptr}});
    ADD_FAILURE() << "no template " << name;
    return {};
  }
  // Signs j (its issuer's key unless another is named) and returns the event's JSON.
  static json sign(const json& j, const std::string& how) {
    auto e = event_from_json(j.dump());
    EXPECT_TRUE(e) << e.status().to_string() << " " << j.dump();
    if (!e) return j;
    const std::string issuer = e->issuer.value;
    if (how == "fresh") {
      sign_event(*e, PrivateKey::generate().value());
    } else if (how == "authority" || how == "authority_keep_key_id") {
      sign_event(*e, demo_key(f_->world(), "authority"));
      if (how == "authority_keep_key_id") e->key_id = demo_key(f_->world(), issuer).key_id();
    } else if (how == "revoked") {
      sign_event(*e, demo::key_for(PrincipalId(issuer), 0));
    } else {
      sign_event(*e, demo_key(f_->world(), issuer));
    }
    return event_to_json(*e);
  }
  static std::string submit(const json& unsigned_event) {
    json e = sign(unsigned_event, "issuer");
    const PrivateKey key = demo_key(f_->world(), e["issuer"].get<std::string>());
    auto r =
        f_->call(Call{.method = "POST", .target = "/v1/events", .body = e.dump(), .key = &key});
    EXPECT_EQ(r.status, 202) << r.text;
    EXPECT_EQ(r.body["status"], "accepted") << r.text;
    return e["id"].get<std::string>();
  }

  static ServerFixture* f_;
  static std::string pending_, confirmed_;
};

ServerFixture* BadInputs::f_ = nullptr;
std::string BadInputs::pending_, BadInputs::confirmed_;

TEST_F(BadInputs, EveryKindOfBadEventIsRefusedWithItsCodeAndNothingIsWritten) {
  const auto cases = load_cases("events.jsonl");
  ASSERT_GE(cases.size(), 60u);
  const std::map<std::string, std::string> vars{{"$R_PENDING", pending_},
                                                {"$R_CONFIRMED", confirmed_}};
  std::set<std::string> names;
  for (const json& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "two cases named " << name;
    std::string body, as = "src.audit";
    if (c.contains("raw")) {
      body = expand(c["raw"], vars).get<std::string>();
    } else {
      // The template signed by its issuer, then changed: "sign": "none" sends it so (a
      // signature over other bytes); otherwise it is signed again as the case says.
      json e = sign(template_for(c["template"]), "issuer");
      if (c.contains("set"))
        for (const auto& [ptr, v] : c["set"].items()) e[json::json_pointer(ptr)] = expand(v, vars);
      if (c.contains("remove"))
        for (const auto& ptr : c["remove"]) {
          json::json_pointer p(ptr.get<std::string>());
          e[p.parent_pointer()].erase(p.back());
        }
      const std::string how = c.value("sign", std::string("issuer"));
      if (how != "none") e = sign(e, how);
      const bool named = e.contains("issuer") && e["issuer"].is_string();
      as = c.value("as", named ? e["issuer"].get<std::string>() : std::string("src.audit"));
      body = e.dump() + c.value("append_raw", std::string());
      if (auto at = body.find("@INVALID_UTF8@"); at != std::string::npos)
        body.replace(at, 14, std::string("\xff\xfe\xc0\xaf"));
    }
    const PrivateKey key = demo_key(f_->world(), as);
    const std::uint64_t before = f_->total_entries();
    Reply r = f_->call(Call{.method = "POST", .target = "/v1/events", .body = body, .key = &key});
    const int status = c["expect"][0];
    EXPECT_EQ(r.status, status) << r.text;
    if (!c["expect"][1].is_null()) {
      EXPECT_EQ(r.body.value("code", std::string()), c["expect"][1].get<std::string>()) << r.text;
      if (status == 202) {
        EXPECT_EQ(r.body.value("status", std::string()), "rejected") << r.text;
      }
    }
    EXPECT_TRUE(r.body.is_object() && r.body.contains("message")) << "no message: " << r.text;
    EXPECT_EQ(f_->total_entries(), before) << "something was appended";
    EXPECT_EQ(f_->get("/healthz").status, 200) << "the server stopped answering";
  }
}

// Sends raw bytes on a fresh connection and returns the answer (status -1 for none within the
// time allowed: the server closed the connection or did not answer).
Reply raw_exchange(unsigned short port, const std::string& bytes) {
  namespace net = boost::asio;
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  boost::beast::error_code ec;
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  Reply r;
  r.status = -2;
  if (ec) return r;
  stream.expires_after(std::chrono::seconds(5));
  net::write(stream, net::buffer(bytes), ec);  // the server may answer and close early
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(stream, buf, res, ec);
  r.status = -1;
  if (ec) return r;
  r.status = static_cast<int>(res.result_int());
  r.text = res.body();
  r.body = json::parse(r.text, nullptr, false);
  return r;
}

std::string render(const json& parts) {
  std::string out;
  for (const json& p : parts) {
    if (p.is_string()) {
      out += p.get<std::string>();
    } else if (p.contains("repeat")) {
      for (int i = 0; i < p["times"].get<int>(); ++i) out += p["repeat"].get<std::string>();
    } else {
      auto b = from_hex(p["hex"].get<std::string>());
      out.append(b->begin(), b->end());
    }
  }
  return out;
}

TEST_F(BadInputs, EveryKindOfBadHttpGetsItsStatusAndTheServerGoesOn) {
  const auto cases = load_cases("http.jsonl");
  ASSERT_GE(cases.size(), 20u);
  std::set<std::string> names;
  for (const json& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "two cases named " << name;
    const std::uint64_t before = f_->total_entries();
    Reply r = raw_exchange(f_->port(), render(c["parts"]));
    EXPECT_EQ(r.status, c["expect"][0].get<int>()) << r.text;
    ASSERT_TRUE(r.body.is_object() && r.body.contains("message")) << "not a JSON error: " << r.text;
    EXPECT_EQ(r.body.value("code", std::string()), c["expect"][1].get<std::string>()) << r.text;
    EXPECT_EQ(f_->total_entries(), before) << "something was appended";
    EXPECT_EQ(f_->get("/healthz").status, 200) << "the server stopped answering";
  }
}

// Clients that stall mid-request, and many idle connections, do not keep others waiting.
TEST_F(BadInputs, StalledAndIdleClientsDoNotStopOthers) {
  namespace net = boost::asio;
  net::io_context ioc;
  const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), f_->port());
  std::vector<std::unique_ptr<net::ip::tcp::socket>> held;
  for (int i = 0; i < 64; ++i) {
    auto s = std::make_unique<net::ip::tcp::socket>(ioc);
    boost::system::error_code ec;
    s->connect(ep, ec);
    ASSERT_FALSE(ec) << ec.message();
    // Every fourth sends half a request line, every fourth half the headers, one in four a body
    // shorter than it declared, the rest nothing at all.
    const char* partial[] = {
        "GET /heal", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        "POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", ""};
    net::write(*s, net::buffer(std::string(partial[i % 4])), ec);
    held.push_back(std::move(s));
  }
  for (int i = 0; i < 20; ++i) {
    auto r = f_->get("/healthz");
    ASSERT_EQ(r.status, 200) << "request " << i << " while 64 clients stall";
  }
  const PrivateKey auditor = demo_key(f_->world(), "auditor");
  EXPECT_EQ(f_->get("/v1/agencies/sh.city.transport", &auditor).status, 200);
}

}  // namespace
}  // namespace govcredit
