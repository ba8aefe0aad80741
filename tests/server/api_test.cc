// The /v1 API over real HTTP on loopback, against a real embedded shard holding demo data.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "govcredit/api.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"
#include "support/support.h"

namespace govcredit {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

std::pair<int, json> get(unsigned short port, const std::string& target) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buf, res);
  return {static_cast<int>(res.result_int()), json::parse(res.body(), nullptr, false)};
}

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir_->path()});
    ASSERT_TRUE(bus);
    bus_ = bus->release();
    world_ = new demo::World(demo::generate(demo::Options{.seed = 5, .records = 120}));
    for (const auto& r : bus_->publish_all_with_results(world_->events)) ASSERT_TRUE(r);
    key_ = new PrivateKey(PrivateKey::generate().value());
    ctx_ = ApiContext{bus_, &ScoringRules::builtin(), key_};
    auto s = http::Server::start(http::ServerOptions{.port = 0}, make_api(ctx_));
    ASSERT_TRUE(s);
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete bus_;
    delete key_;
    delete world_;
    delete dir_;
  }
  static unsigned short port() { return server_->port(); }

  static inline testing::TempDir* dir_ = nullptr;
  static inline EmbeddedBus* bus_ = nullptr;
  static inline demo::World* world_ = nullptr;
  static inline PrivateKey* key_ = nullptr;
  static inline ApiContext ctx_{};
  static inline http::Server* server_ = nullptr;
};

TEST_F(Api, ListsEveryAgencyWithScoreAndBand) {
  auto [status, j] = get(port(), "/v1/agencies");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(j["agencies"].size(), 40u);
  for (const auto& a : j["agencies"]) {
    EXPECT_GE(a["score"].get<double>(), 0);
    EXPECT_TRUE(a["band"] == "A" || a["band"] == "B" || a["band"] == "C" || a["band"] == "D");
  }
}

TEST_F(Api, AgencyStatusNowAndAsOf) {
  auto [status, now] = get(port(), "/v1/agencies/sh.city.finance");
  ASSERT_EQ(status, 200) << now.dump();
  EXPECT_EQ(now["name_zh"], "上海市财政局");
  auto [s2, past] = get(port(), "/v1/agencies/sh.city.finance?as_of=2011-01-01T23:59:59%2B08:00");
  ASSERT_EQ(s2, 200) << past.dump();
  EXPECT_EQ(past["score"], 100);
  EXPECT_EQ(past["events"].get<int>() < now["events"].get<int>(), true);
  auto [s3, bad] = get(port(), "/v1/agencies/sh.city.finance?as_of=yesterday");
  EXPECT_EQ(s3, 400);
  EXPECT_EQ(bad["code"], "invalid_argument");
  auto [s4, missing] = get(port(), "/v1/agencies/no.such.agency");
  EXPECT_EQ(s4, 404);
  EXPECT_EQ(missing["code"], "not_found");
  for (std::string odd : {std::string(600, 'a'), std::string("%00x"), std::string("a%2Fb")}) {
    auto [s5, j] = get(port(), "/v1/agencies/" + odd);
    EXPECT_EQ(s5, 404) << odd;
    EXPECT_EQ(j["code"], "not_found");
  }
}

TEST_F(Api, ExplainAddsUp) {
  auto [status, j] = get(port(), "/v1/agencies/sh.city.finance/explain?as_of=2013-06-30T00:00:00Z");
  ASSERT_EQ(status, 200);
  double sum = 0;
  for (const auto& c : j["contributions"]) sum += c["points"].get<double>();
  EXPECT_NEAR(sum, j["score"].get<double>(), 0.01);
  EXPECT_EQ(j["rules"], "2013.1");
}

TEST_F(Api, TrailPagesPointAtProvableEntries) {
  auto [status, page] = get(port(), "/v1/agencies/sh.city.finance/trail?limit=5");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(page["lines"].size(), 5u);
  ASSERT_TRUE(page.contains("next_from"));
  auto [s2, next] = get(port(), "/v1/agencies/sh.city.finance/trail?limit=5&from=" +
                                    std::to_string(page["next_from"].get<std::uint64_t>()));
  ASSERT_EQ(s2, 200);
  EXPECT_GT(next["lines"][0]["seq"].get<std::uint64_t>(),
            page["lines"][4]["seq"].get<std::uint64_t>());
  auto [s3, bad] = get(port(), "/v1/agencies/sh.city.finance/trail?limit=-1");
  EXPECT_EQ(s3, 400);

  // Each line's inclusion proof verifies against the checkpoint's root.
  auto [s4, cp] = get(port(), "/v1/checkpoints/latest");
  ASSERT_EQ(s4, 200);
  for (const auto& line : page["lines"]) {
    auto [s5, proof] =
        get(port(), "/v1/proofs/inclusion?seq=" + std::to_string(line["seq"].get<std::uint64_t>()) +
                        "&size=" + std::to_string(cp["size"].get<std::uint64_t>()));
    ASSERT_EQ(s5, 200) << proof.dump();
    std::vector<Digest> path;
    for (const auto& h : proof["path"])
      path.push_back(*fixed_from_hex<Digest>(h.get<std::string>()));
    auto leaf = from_hex(proof["leaf_data"].get<std::string>());
    ASSERT_TRUE(leaf);
    EXPECT_TRUE(merkle::verify_inclusion(merkle::leaf_hash(*leaf),
                                         proof["seq"].get<std::uint64_t>(),
                                         cp["size"].get<std::uint64_t>(), path,
                                         *fixed_from_hex<Digest>(cp["root"].get<std::string>())));
  }
  auto [s6, out_of_range] = get(port(), "/v1/proofs/inclusion?seq=999999999");
  EXPECT_EQ(s6, 400);
  EXPECT_EQ(out_of_range["code"], "invalid_argument");
}

}  // namespace
}  // namespace govcredit
