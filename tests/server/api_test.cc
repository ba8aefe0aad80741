// The API over real HTTP and HTTPS on loopback, against real embedded shards holding demo data:
// reads with filters, proofs, submission and its status, authentication failures, citizens'
// complaints, metrics, the pages.
#include <gtest/gtest.h>

#include <thread>

#include "fixture.h"
#include "govcredit/checkpoint.h"
#include "govcredit/encoding.h"
#include "govcredit/http_client.h"
#include "govcredit/merkle.h"
#include "govcredit/privacy.h"
#include "govcredit/projections.h"

namespace govcredit {
namespace {

using nlohmann::json;
using testing::Call;
using testing::demo_key;
using testing::ServerFixture;

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { f_ = new ServerFixture(ApiContext{.complaints_burst = 1000}); }
  static void TearDownTestSuite() { delete f_; }
  static ServerFixture& f() { return *f_; }
  static const PrivateKey& auditor() {
    static PrivateKey k = demo_key(f_->world(), "auditor");
    return k;
  }
  static testing::Reply get(const std::string& target) { return f().get(target, &auditor()); }
  static inline ServerFixture* f_ = nullptr;
};

TEST_F(Api, PublicEndpointsAndPages) {
  EXPECT_EQ(f().get("/healthz").status, 200);
  auto ready = f().get("/readyz");
  ASSERT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body["shards"].size(), 2u);
  auto dir = f().get("/v1/directory");
  ASSERT_EQ(dir.status, 200);
  EXPECT_EQ(dir.body["agencies"].size(), 40u);
  auto page = f().get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.text.find("<html lang=\"zh-CN\">"), std::string::npos);
  EXPECT_EQ(page.headers["Content-Type"], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(f().get("/app.js").headers["Content-Type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(f().get("/openapi.yaml").status, 200);
  for (std::string bad : {"/..%2Fsecret.js", "/nothing.js", "/.hidden.js", "/index.exe"}) {
    auto r = f().get(bad);
    EXPECT_EQ(r.status, 404) << bad;
    EXPECT_EQ(r.body["code"], "not_found");
  }
}

TEST_F(Api, SignedEndpointsRefuseThePublic) {
  auto r = f().get("/v1/agencies");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body["code"], "unauthenticated");
  EXPECT_EQ(r.headers["WWW-Authenticate"], "Govcredit-Ed25519");
}

TEST_F(Api, AuditorListsAgenciesWithFilters) {
  auto all = get("/v1/agencies");
  ASSERT_EQ(all.status, 200) << all.text;
  ASSERT_EQ(all.body["agencies"].size(), 40u);
  for (const auto& a : all.body["agencies"]) {
    EXPECT_GE(a["score"].get<double>(), 0);
    EXPECT_TRUE(a["band"] == "A" || a["band"] == "B" || a["band"] == "C" || a["band"] == "D");
  }
  auto district = get("/v1/agencies?district=%E9%BB%84%E6%B5%A6%E5%8C%BA");  // 黄浦区
  ASSERT_EQ(district.status, 200);
  ASSERT_EQ(district.body["agencies"].size(), 2u);
  for (const auto& a : district.body["agencies"]) EXPECT_EQ(a["district"], "黄浦区");
}

TEST_F(Api, AgencyStatusNowAndAsOf) {
  auto now = get("/v1/agencies/sh.city.finance");
  ASSERT_EQ(now.status, 200) << now.text;
  EXPECT_EQ(now.body["name_zh"], "上海市财政局");
  auto past = get("/v1/agencies/sh.city.finance?as_of=2011-01-01T23:59:59%2B08:00");
  ASSERT_EQ(past.status, 200) << past.text;
  EXPECT_EQ(past.body["score"], 100);
  EXPECT_LT(past.body["events"].get<int>(), now.body["events"].get<int>());
  auto bad = get("/v1/agencies/sh.city.finance?as_of=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["code"], "invalid_argument");
  auto missing = get("/v1/agencies/no.such.agency");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["code"], "not_found");
  for (std::string odd : {std::string(600, 'a'), std::string("%00x"), std::string("a%2Fb")}) {
    auto r = get("/v1/agencies/" + odd);
    EXPECT_EQ(r.status, 404) << odd;
    EXPECT_EQ(r.body["code"], "not_found");
  }
}

TEST_F(Api, ExplainAddsUp) {
  auto j = get("/v1/agencies/sh.city.finance/explain?as_of=2013-06-30T00:00:00Z");
  ASSERT_EQ(j.status, 200);
  double sum = 0;
  for (const auto& c : j.body["contributions"]) sum += c["points"].get<double>();
  EXPECT_NEAR(sum, j.body["score"].get<double>(), 0.01);
  EXPECT_EQ(j.body["rules"], "2013.1");
}

// The records listing against the shards' own projections: filters select exactly the matching
// records, and pages add up to the total.
TEST_F(Api, RecordFiltersMatchTheProjections) {
  std::map<std::string, std::uint64_t> by_category;
  std::uint64_t all = 0;
  for (int p = 0; p < 2; ++p)
    ASSERT_TRUE(
        for_each_record(f().bus().shard(Partition{p}), [&](const EventId&, const RecordState& r) {
          ++by_category[std::string(enum_name(r.category))];
          ++all;
          return true;
        }));
  ASSERT_GT(all, 50u);
  auto first = get("/v1/records?limit=1000");
  ASSERT_EQ(first.status, 200) << first.text;
  EXPECT_EQ(first.body["total"], all);
  for (const auto& [category, n] : by_category) {
    auto r = get("/v1/records?limit=1000&category=" + category);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body["total"], n) << category;
    for (const auto& x : r.body["records"]) EXPECT_EQ(x["category"], category);
  }
  std::uint64_t seen = 0;
  std::string target = "/v1/records?limit=7";
  for (int guard = 0; guard < 100; ++guard) {
    auto r = get(target);
    ASSERT_EQ(r.status, 200);
    seen += r.body["records"].size();
    if (!r.body.contains("next_offset")) break;
    target = "/v1/records?limit=7&offset=" + std::to_string(r.body["next_offset"].get<int>());
  }
  EXPECT_EQ(seen, all);
  auto confirmed = get("/v1/records?state=confirmed&agency=sh.city.finance&limit=1000");
  ASSERT_EQ(confirmed.status, 200);
  for (const auto& x : confirmed.body["records"]) {
    EXPECT_EQ(x["phase"], "confirmed");
    EXPECT_EQ(x["agency"], "sh.city.finance");
  }
  EXPECT_EQ(get("/v1/records?category=nonsense").status, 400);
  EXPECT_EQ(get("/v1/records?state=nonsense").body["code"], "invalid_argument");
  EXPECT_EQ(get("/v1/records?overdue=maybe").status, 400);
}

TEST_F(Api, OverdueRecommendationsAndComplaintFilters) {
  auto overdue = get("/v1/recommendations?overdue=true&limit=1000");
  ASSERT_EQ(overdue.status, 200) << overdue.text;
  ASSERT_GT(overdue.body["total"].get<int>(), 0);
  for (const auto& r : overdue.body["recommendations"]) EXPECT_TRUE(r["overdue"].get<bool>());
  auto not_overdue = get("/v1/recommendations?overdue=false&limit=1000");
  auto all = get("/v1/recommendations?limit=1000");
  EXPECT_EQ(overdue.body["total"].get<int>() + not_overdue.body["total"].get<int>(),
            all.body["total"].get<int>());
  auto closed = get("/v1/complaints?state=closed&limit=1000");
  ASSERT_EQ(closed.status, 200);
  ASSERT_GT(closed.body["total"].get<int>(), 0);
  for (const auto& c : closed.body["complaints"]) {
    EXPECT_EQ(c["phase"], "closed");
    EXPECT_FALSE(c.contains("contact")) << "a listing never carries contact details";
  }
}

TEST_F(Api, TrailLinesHaveInclusionProofsAgainstTheCheckpoint) {
  auto page = get("/v1/agencies/sh.city.finance/trail?limit=5");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.body["lines"].size(), 5u);
  ASSERT_TRUE(page.body.contains("next_from"));
  auto next = get("/v1/agencies/sh.city.finance/trail?limit=5&from=" +
                  std::to_string(page.body["next_from"].get<std::uint64_t>()));
  ASSERT_EQ(next.status, 200);
  EXPECT_GT(next.body["lines"][0]["seq"].get<std::uint64_t>(),
            page.body["lines"][4]["seq"].get<std::uint64_t>());
  EXPECT_EQ(get("/v1/agencies/sh.city.finance/trail?limit=-1").status, 400);

  const int part = page.body["partition"];
  auto cp = get("/v1/checkpoints/latest?partition=" + std::to_string(part));
  ASSERT_EQ(cp.status, 200);
  auto parsed = parse_checkpoint(cp.body["note"].get<std::string>());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(verify_checkpoint(*parsed, f().ledger_key().public_key()));
  const std::uint64_t size = cp.body["size"];
  const Digest root = *fixed_from_hex<Digest>(cp.body["root"].get<std::string>());
  for (const auto& line : page.body["lines"]) {
    auto proof = get("/v1/proofs/inclusion?partition=" + std::to_string(part) +
                     "&seq=" + std::to_string(line["seq"].get<std::uint64_t>()) +
                     "&size=" + std::to_string(size));
    ASSERT_EQ(proof.status, 200) << proof.text;
    std::vector<Digest> path;
    for (const auto& h : proof.body["path"])
      path.push_back(*fixed_from_hex<Digest>(h.get<std::string>()));
    auto leaf = from_hex(proof.body["leaf_data"].get<std::string>());
    ASSERT_TRUE(leaf);
    EXPECT_TRUE(
        merkle::verify_inclusion(merkle::leaf_hash(*leaf), proof.body["seq"], size, path, root));
  }
  auto c = get("/v1/proofs/consistency?partition=" + std::to_string(part) +
               "&from=100&to=" + std::to_string(size));
  ASSERT_EQ(c.status, 200) << c.text;
  std::vector<Digest> cpath;
  for (const auto& h : c.body["path"])
    cpath.push_back(*fixed_from_hex<Digest>(h.get<std::string>()));
  EXPECT_TRUE(merkle::verify_consistency(
      100, size, *fixed_from_hex<Digest>(c.body["from_root"].get<std::string>()), root, cpath));
  auto out_of_range = get("/v1/proofs/inclusion?seq=999999999");
  EXPECT_EQ(out_of_range.status, 400);
  EXPECT_EQ(get("/v1/proofs/inclusion?partition=7").status, 400);
}

// A record a source submits over HTTP: 202 with the event id, its status, a re-send, a
// rejection with its reason code (and nothing appended), an issuer that is not the signer.
TEST_F(Api, SubmissionAndItsStatus) {
  const std::string source = "src.audit";
  const PrivateKey key = demo_key(f().world(), source);
  Event e;
  random_bytes(e.id.bytes);
  e.subject = AgencyId("sh.city.transport");
  e.issuer = PrincipalId(source);
  e.issued_at = Timestamp{testing::wall_ms()};
  e.payload = RecordSubmitted{Category::kServiceCommitment,
                              "承诺办结时限未兑现",
                              "市民反映行政许可逾期两个月未办结。",
                              Timestamp{testing::wall_ms() - 86400000},
                              {Evidence{sha256("卷宗"), "https://example.gov.cn/case/1"}},
                              std::nullopt};
  sign_event(e, key);
  const std::string body = event_to_json_text(e);
  const std::uint64_t before = f().total_entries();
  auto r = f().call(Call{.method = "POST", .target = "/v1/events", .body = body, .key = &key});
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.body["status"], "accepted");
  EXPECT_EQ(r.body["event"], to_hex(e.id.view()));
  EXPECT_EQ(f().total_entries(), before + 1);
  auto st = f().get(r.body["status_url"].get<std::string>(), &key);
  ASSERT_EQ(st.status, 200) << st.text;
  EXPECT_EQ(st.body["status"], "accepted");
  EXPECT_EQ(st.body["seq"], r.body["seq"]);

  // The same bytes again: acknowledged at the same seq, nothing new.
  auto again = f().call(Call{.method = "POST", .target = "/v1/events", .body = body, .key = &key});
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(again.body["seq"], r.body["seq"]);
  EXPECT_EQ(f().total_entries(), before + 1);

  // Verifying a record that does not exist: rejected by the domain rules, nothing appended.
  Event v;
  random_bytes(v.id.bytes);
  v.subject = AgencyId("sh.city.transport");
  v.issuer = PrincipalId("authority");
  v.issued_at = Timestamp{testing::wall_ms()};
  EventId nowhere;
  random_bytes(nowhere.bytes);
  v.payload = RecordVerified{nowhere, VerificationOutcome::kConfirmed, Severity::kMinor, "核实"};
  const PrivateKey authority = demo_key(f().world(), "authority");
  sign_event(v, authority);
  auto rej = f().call(Call{
      .method = "POST", .target = "/v1/events", .body = event_to_json_text(v), .key = &authority});
  ASSERT_EQ(rej.status, 202) << rej.text;
  EXPECT_EQ(rej.body["status"], "rejected");
  EXPECT_EQ(rej.body["code"], "record_unknown");
  EXPECT_EQ(f().total_entries(), before + 1);
  auto rej_status = f().get("/v1/events/" + to_hex(v.id.view()), &authority);
  EXPECT_EQ(rej_status.body["status"], "rejected");
  EXPECT_EQ(rej_status.body["code"], "record_unknown");

  // Somebody else's event.
  auto other =
      f().call(Call{.method = "POST", .target = "/v1/events", .body = body, .key = &auditor()});
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body["code"], "forbidden");
  // Not an event at all.
  auto junk =
      f().call(Call{.method = "POST", .target = "/v1/events", .body = "{\"x\":", .key = &key});
  EXPECT_EQ(junk.status, 400);
  EXPECT_EQ(junk.body["code"], "json_malformed");
  EXPECT_EQ(f().total_entries(), before + 1);
  EXPECT_EQ(f().get("/v1/events/" + std::string(32, '0'), &key).status, 404);
  EXPECT_EQ(f().get("/v1/events/xyz", &key).body["code"], "invalid_argument");
}

TEST_F(Api, AuthenticationFailuresHaveTheirOwnCodes) {
  const std::string t = "/v1/whoami";
  ASSERT_EQ(get(t).status, 200);
  EXPECT_EQ(get(t).body["role"], "auditor");
  // A signature over other bytes: signed for another target, sent to this one.
  auto hdrs = auth::sign_request(auditor(), "GET", "/v1/agencies", "", testing::wall_ms());
  auto forged = f().call(Call{.target = t, .headers = hdrs});
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.body["code"], "unauthenticated");
  // Too old, and from too far in the future.
  for (std::int64_t skew : {-10 * 60 * 1000, 10 * 60 * 1000}) {
    auto r = f().call(Call{.target = t, .key = &auditor(), .time_ms = testing::wall_ms() + skew});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body["code"], "request_expired");
  }
  // The same signed request twice.
  auto once = auth::sign_request(auditor(), "GET", t, "", testing::wall_ms());
  EXPECT_EQ(f().call(Call{.target = t, .headers = once}).status, 200);
  auto replay = f().call(Call{.target = t, .headers = once});
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.body["code"], "request_replayed");
  // An unregistered key; the audit office's first key, revoked by the demo's rotation.
  const PrivateKey stranger = PrivateKey::generate().value();
  EXPECT_EQ(f().get(t, &stranger).body["code"], "unauthenticated");
  const PrivateKey revoked = demo::key_for(PrincipalId("src.audit"), 0);
  auto r = f().get(t, &revoked);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body["message"].get<std::string>().find("revoked"), std::string::npos);
  // Some of the headers only.
  auto partial = f().call(Call{.target = t, .headers = {{"X-Govcredit-Key", "abc"}}});
  EXPECT_EQ(partial.status, 401);
  EXPECT_EQ(partial.body["code"], "unauthenticated");
}

// A session: one signed request opens it; its bearer token then stands for the principal (same
// visibility), until it is ended.
TEST_F(Api, SessionTokensStandForTheSignedPrincipal) {
  const PrivateKey agency = demo_key(f().world(), "ag.sh.city.housing");
  auto open = f().call(Call{.method = "POST", .target = "/v1/sessions", .key = &agency});
  ASSERT_EQ(open.status, 201) << open.text;
  EXPECT_EQ(open.body["role"], "agency");
  const std::string bearer = "Bearer " + open.body["token"].get<std::string>();
  auto own = f().call(
      Call{.target = "/v1/agencies/sh.city.housing", .headers = {{"Authorization", bearer}}});
  EXPECT_EQ(own.status, 200) << own.text;
  auto other = f().call(
      Call{.target = "/v1/agencies/sh.city.finance", .headers = {{"Authorization", bearer}}});
  EXPECT_EQ(other.status, 403);
  // A session cannot open another one.
  EXPECT_EQ(f().call(Call{.method = "POST",
                          .target = "/v1/sessions",
                          .headers = {{"Authorization", bearer}}})
                .status,
            401);
  auto end = f().call(
      Call{.method = "DELETE", .target = "/v1/sessions", .headers = {{"Authorization", bearer}}});
  EXPECT_EQ(end.status, 200);
  auto after = f().call(
      Call{.target = "/v1/agencies/sh.city.housing", .headers = {{"Authorization", bearer}}});
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.body["code"], "unauthenticated");
  auto junk = f().call(Call{.target = "/v1/whoami", .headers = {{"Authorization", "Basic eA=="}}});
  EXPECT_EQ(junk.status, 401);
}

TEST_F(Api, ACitizenFilesAComplaintAndLooksItUp) {
  const std::uint64_t before = f().total_entries();
  json c = {{"agency", "sh.city.housing"},
            {"category", "service_commitment"},
            {"summary", "承诺五个工作日办结，两个月仍未办结。"},
            {"contact", "王先生 13900001111"}};
  auto r = f().call(Call{.method = "POST", .target = "/v1/complaints", .body = c.dump()});
  ASSERT_EQ(r.status, 201) << r.text;
  EXPECT_EQ(f().total_entries(), before + 1);
  const std::string receipt = r.body["receipt"], secret = r.body["secret"];
  // The event is signed by the complaint channel, carries only the secret's digest, and its
  // contact opens with the data key kept in the vault.
  auto id = fixed_from_hex<EventId>(r.body["complaint"].get<std::string>());
  ASSERT_TRUE(id);
  Ledger& shard = f().bus().shard(Partition{r.body["partition"].get<int>()});
  auto entry = shard.get_by_event(*id);
  ASSERT_TRUE(entry);
  auto ev = decode_logged_wire(entry->wire);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->issuer.value, "complaints");
  const auto* filed = ev->as<ComplaintFiled>();
  ASSERT_NE(filed, nullptr);
  EXPECT_EQ(filed->secret_digest, sha256(secret));
  EXPECT_EQ(std::string(entry->wire.begin(), entry->wire.end()).find("13900001111"),
            std::string::npos);
  auto data_key = f().vault().get(*id);
  ASSERT_TRUE(data_key && *data_key);
  EXPECT_EQ(open_contact(**data_key, *id, filed->contact_sealed).value(), "王先生 13900001111");

  auto look = f().call(Call{.method = "POST",
                            .target = "/v1/complaints/lookup",
                            .body = json{{"receipt", receipt}, {"secret", secret}}.dump()});
  ASSERT_EQ(look.status, 200) << look.text;
  EXPECT_EQ(look.body["phase"], "awaiting_triage");
  EXPECT_EQ(look.body["agency_name_zh"], "上海市住房保障和房屋管理局");
  EXPECT_EQ(look.text.find("13900001111"), std::string::npos);
  auto wrong = f().call(Call{.method = "POST",
                             .target = "/v1/complaints/lookup",
                             .body = json{{"receipt", receipt}, {"secret", "AAAAA"}}.dump()});
  EXPECT_EQ(wrong.status, 404);
  EXPECT_EQ(wrong.body["code"], "not_found");

  // Refusals name the problem and write nothing.
  const std::uint64_t after = f().total_entries();
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"agency", "no.such"}, {"summary", "x"}}, "agency_unknown"},
      {json{{"agency", "sh.city.housing"}}, "field_missing"},
      {json{{"agency", "sh.city.housing"}, {"summary", "x"}, {"who", "me"}}, "field_unknown"},
      {json{{"agency", "sh.city.housing"}, {"summary", 5}}, "field_type"},
      {json{{"agency", "sh.city.housing"}, {"summary", "x"}, {"category", "bad"}}, "field_invalid"},
      {json{{"agency", "sh.city.housing"}, {"summary", std::string(70000, 'x')}}, ""},
      {json{{"agency", "sh.city.housing"}, {"summary", "a\u0001b"}}, "text_control_char"},
  };
  for (const auto& [body, code] : bad) {
    auto x = f().call(Call{.method = "POST", .target = "/v1/complaints", .body = body.dump()});
    EXPECT_GE(x.status, 400) << body.dump().substr(0, 80);
    EXPECT_LT(x.status, 500);
    if (!code.empty()) {
      EXPECT_EQ(x.body["code"], code) << x.text;
    }
  }
  auto not_json = f().call(Call{.method = "POST", .target = "/v1/complaints", .body = "[1,"});
  EXPECT_EQ(not_json.body["code"], "json_malformed");
  EXPECT_EQ(f().total_entries(), after);
}

TEST_F(Api, MetricsInPrometheusTextFormat) {
  ASSERT_EQ(get("/v1/agencies").status, 200);
  const std::vector<std::string> wanted = {
      "govcredit_ledger_entries{partition=\"1\"}",
      "govcredit_store_bytes{partition=\"0\"}",
      "govcredit_ingest_events_total",
      "govcredit_consumer_lag_events 0",
      "govcredit_http_requests_total{method=\"GET\",route=\"/v1/agencies\",code=\"200\"}",
      "govcredit_http_request_duration_seconds_bucket{route=\"/v1/agencies\",le=\"+Inf\"}"};
  // A request is counted once its response has been written, which the client may see first:
  // ask again for a moment until the count shows.
  testing::Reply m;
  for (int attempt = 0; attempt < 100; ++attempt) {
    m = f().get("/metrics");  // loopback: no signature needed
    ASSERT_EQ(m.status, 200);
    bool all = true;
    for (const auto& w : wanted) all = all && m.text.find(w) != std::string::npos;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(m.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const auto& want : wanted) EXPECT_NE(m.text.find(want), std::string::npos) << want;
}

// A separate server: a rate limit of 2 complaints per client, then 429 with Retry-After.
TEST(ApiRateLimit, ComplaintsPerClientAreLimited) {
  ServerFixture f(ApiContext{.complaints_per_minute = 1, .complaints_burst = 2});
  json c = {{"agency", "sh.city.housing"}, {"summary", "投诉"}};
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(f.call(Call{.method = "POST", .target = "/v1/complaints", .body = c.dump()}).status,
              201);
  const std::uint64_t before = f.total_entries();
  auto r = f.call(Call{.method = "POST", .target = "/v1/complaints", .body = c.dump()});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["code"], "rate_limited");
  EXPECT_FALSE(r.headers["Retry-After"].empty());
  EXPECT_EQ(f.total_entries(), before);
  // Others are still served meanwhile.
  EXPECT_EQ(f.get("/v1/directory").status, 200);
}

// HTTPS with the documented self-signed set-up: the client verifies the certificate; a plain
// HTTP request to the TLS port gets no answer in plaintext and does not hang.
TEST(ApiTls, ServesHttpsAndVerifiesTheCertificate) {
  ServerFixture f(ApiContext{}, /*tls=*/true);
  auto h = f.get("/healthz");
  ASSERT_EQ(h.status, 200) << h.text;
  EXPECT_EQ(h.headers["Strict-Transport-Security"], "max-age=31536000");
  const PrivateKey auditor = demo_key(f.world(), "auditor");
  auto a = f.get("/v1/agencies/sh.city.finance", &auditor);
  EXPECT_EQ(a.status, 200) << a.text;
  auto plain = testing::send(f.port(), Call{.target = "/healthz"});
  EXPECT_EQ(plain.status, -1);
  // A client that trusts another certificate refuses the server.
  testing::TempDir other;
  ASSERT_TRUE(testing::make_dev_certificate(other.path()));
  auto untrusted = testing::send(f.port(), Call{.target = "/healthz"}, other.path() + "/cert.pem");
  EXPECT_EQ(untrusted.status, -1);
}

// The command line's client (http_client.h), as `verify --checkpoint https://...` uses it.
TEST(HttpClient, FetchesSignedOverHttpsAndRefusesAnUntrustedServer) {
  ServerFixture f(ApiContext{}, /*tls=*/true);
  const PrivateKey auditor = demo_key(f.world(), "auditor");
  auto url = http::parse_url("https://localhost:" + std::to_string(f.port()) +
                             "/v1/checkpoints/latest?partition=1");
  ASSERT_TRUE(url) << url.status().to_string();
  auto r = http::fetch(*url, http::FetchOptions{.key = &auditor, .ca_file = f.ca_file()});
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  auto c = parse_checkpoint(j["note"].get<std::string>());
  ASSERT_TRUE(c);
  EXPECT_TRUE(verify_checkpoint(*c, f.ledger_key().public_key()));
  EXPECT_EQ(c->size, f.bus().shard(Partition{1}).head().size);
  // Unsigned: the server's refusal is a result, not a transport error.
  auto anon = http::fetch(*url, http::FetchOptions{.ca_file = f.ca_file()});
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  // Another certificate trusted: the handshake fails.
  testing::TempDir other;
  ASSERT_TRUE(testing::make_dev_certificate(other.path()));
  auto untrusted = http::fetch(*url, http::FetchOptions{.ca_file = other.path() + "/cert.pem"});
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.status().reason(), Reason::kUnavailable);
  // Nobody listening.
  auto closed = http::fetch(*http::parse_url("http://127.0.0.1:1/"));
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.status().reason(), Reason::kUnavailable);
}

TEST(HttpClient, ParsesUrls) {
  auto u = http::parse_url("https://[::1]:8443/v1/x?a=1");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/v1/x?a=1");
  auto d = http::parse_url("http://ledger.example");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, "80");
  EXPECT_EQ(d->target, "/");
  for (const char* bad : {"ftp://x/", "http://", "http://x:0/", "http://x:70000/", "http://x:a/",
                          "https://[::1/", "http://u@x/", "http://x/a b", "x/y"}) {
    auto b = http::parse_url(bad);
    EXPECT_FALSE(b) << bad;
    if (!b) {
      EXPECT_EQ(b.status().reason(), Reason::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace govcredit
