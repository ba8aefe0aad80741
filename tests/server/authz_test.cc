// The authorisation matrix of docs/API.md §3, cell by cell: every role against every endpoint,
// over real HTTP. A route without a row here fails the test, so a new endpoint cannot ship
// without its row.
#include <gtest/gtest.h>

#include <set>

#include "fixture.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

using nlohmann::json;
using testing::Call;
using testing::demo_key;
using testing::ServerFixture;

// The roles, as columns.
enum Col { kPublic, kAuditor, kAuthority, kOwnAgency, kOtherAgency, kSource, kChannel, kCols };
const char* kColNames[kCols] = {"public",           "auditor",       "authority",
                                "agency(own)",      "agency(other)", "source(submitter)",
                                "complaint_channel"};

struct Row {
  std::string route;   // "METHOD pattern", as the router lists it
  std::string method;  // the request made for it
  std::string target;
  std::string body;
  std::array<int, kCols> expect;  // HTTP status per column
};

TEST(Authorisation, EveryRoleAgainstEveryEndpoint) {
  ServerFixture f(ApiContext{.complaints_burst = 1000});
  const demo::World& w = f.world();
  // A record about sh.city.housing, and the source that submitted it.
  const Event* record = nullptr;
  for (const Event& e : w.events)
    if (e.as<RecordSubmitted>() && e.subject.value == "sh.city.housing") {
      record = &e;
      break;
    }
  ASSERT_NE(record, nullptr);
  const std::string rid = to_hex(record->id.view());
  Ledger& shard =
      f.bus().shard(Partition{partition_for_key("sh.city.housing", f.bus().partitions())});
  auto entry = shard.get_by_event(record->id);
  ASSERT_TRUE(entry);
  const std::string part =
      std::to_string(partition_for_key("sh.city.housing", f.bus().partitions()));
  const std::string seq = std::to_string(entry->seq.value);

  std::array<std::optional<PrivateKey>, kCols> keys;
  keys[kAuditor] = demo_key(w, "auditor");
  keys[kAuthority] = demo_key(w, "authority");
  keys[kOwnAgency] = demo_key(w, "ag.sh.city.housing");
  keys[kOtherAgency] = demo_key(w, "ag.sh.city.finance");
  keys[kSource] = demo_key(w, record->issuer.value);
  keys[kChannel] = demo_key(w, "complaints");

  // An event nobody here issued (the auditor's own events are never submitted in this test).
  Event foreign = *record;
  random_bytes(foreign.id.bytes);
  foreign.issuer = PrincipalId(record->issuer.value == "src.media" ? "src.other" : "src.media");
  const std::string foreign_json = event_to_json_text(foreign);
  const std::string complaint = json{{"agency", "sh.city.housing"}, {"summary", "投诉"}}.dump();
  const std::string lookup = json{{"receipt", "TS00000000-0"}, {"secret", "X"}}.dump();

  //                                                     pub  aud  auth own  oth  src  chan
  const std::vector<Row> rows = {
      {"GET /healthz", "GET", "/healthz", "", {200, 200, 200, 200, 200, 200, 200}},
      {"GET /readyz", "GET", "/readyz", "", {200, 200, 200, 200, 200, 200, 200}},
      {"GET /metrics", "GET", "/metrics", "", {200, 200, 200, 200, 200, 200, 200}},  // loopback
      {"GET /v1/directory", "GET", "/v1/directory", "", {200, 200, 200, 200, 200, 200, 200}},
      {"POST /v1/complaints",
       "POST",
       "/v1/complaints",
       complaint,
       {201, 201, 201, 201, 201, 201, 201}},
      {"POST /v1/complaints/lookup",
       "POST",
       "/v1/complaints/lookup",
       lookup,
       {404, 404, 404, 404, 404, 404, 404}},
      {"GET /v1/demo/identities",
       "GET",
       "/v1/demo/identities",
       "",
       {404, 404, 404, 404, 404, 404, 404}},
      {"GET /v1/whoami", "GET", "/v1/whoami", "", {401, 200, 200, 200, 200, 200, 200}},
      {"POST /v1/sessions", "POST", "/v1/sessions", "", {401, 201, 201, 201, 201, 201, 201}},
      // Ending a session needs its bearer token: a signed request without one is a 400.
      {"DELETE /v1/sessions", "DELETE", "/v1/sessions", "", {401, 400, 400, 400, 400, 400, 400}},
      {"POST /v1/events", "POST", "/v1/events", foreign_json, {401, 403, 403, 403, 403, 403, 403}},
      {"GET /v1/events/{id}", "GET", "/v1/events/" + rid, "", {401, 200, 200, 200, 403, 200, 403}},
      {"GET /v1/agencies", "GET", "/v1/agencies", "", {401, 200, 200, 200, 200, 403, 403}},
      {"GET /v1/agencies/{id}",
       "GET",
       "/v1/agencies/sh.city.housing",
       "",
       {401, 200, 200, 200, 403, 403, 403}},
      {"GET /v1/agencies/{id}/explain",
       "GET",
       "/v1/agencies/sh.city.housing/explain",
       "",
       {401, 200, 200, 200, 403, 403, 403}},
      {"GET /v1/agencies/{id}/trail",
       "GET",
       "/v1/agencies/sh.city.housing/trail",
       "",
       {401, 200, 200, 200, 403, 403, 403}},
      {"GET /v1/records",
       "GET",
       "/v1/records?agency=sh.city.housing",
       "",
       {401, 200, 200, 200, 403, 200, 403}},
      {"GET /v1/records/{id}",
       "GET",
       "/v1/records/" + rid,
       "",
       {401, 200, 200, 200, 403, 200, 403}},
      {"GET /v1/complaints",
       "GET",
       "/v1/complaints?agency=sh.city.housing",
       "",
       {401, 200, 200, 200, 403, 403, 200}},
      {"GET /v1/recommendations",
       "GET",
       "/v1/recommendations?agency=sh.city.housing",
       "",
       {401, 200, 200, 200, 403, 403, 403}},
      {"GET /v1/reports", "GET", "/v1/reports", "", {401, 200, 200, 403, 403, 403, 403}},
      {"GET /v1/reports/{period}",
       "GET",
       "/v1/reports/2012-Q4",
       "",
       {401, 200, 200, 403, 403, 403, 403}},
      {"GET /v1/checkpoints/latest",
       "GET",
       "/v1/checkpoints/latest?partition=" + part,
       "",
       {401, 200, 200, 200, 200, 200, 200}},
      {"GET /v1/proofs/inclusion",
       "GET",
       "/v1/proofs/inclusion?partition=" + part + "&seq=" + seq,
       "",
       {401, 200, 200, 200, 403, 200, 403}},
      {"GET /v1/proofs/consistency",
       "GET",
       "/v1/proofs/consistency?partition=0&from=10",
       "",
       {401, 200, 200, 200, 200, 200, 200}},
      {"GET /", "GET", "/", "", {200, 200, 200, 200, 200, 200, 200}},
      {"GET /{file}", "GET", "/app.js", "", {200, 200, 200, 200, 200, 200, 200}},
  };

  std::set<std::string> covered;
  for (const Row& row : rows) {
    covered.insert(row.route);
    for (int c = 0; c < kCols; ++c) {
      const PrivateKey* key = keys[c] ? &*keys[c] : nullptr;
      auto r =
          f.call(Call{.method = row.method, .target = row.target, .body = row.body, .key = key});
      EXPECT_EQ(r.status, row.expect[c])
          << row.route << " as " << kColNames[c] << ": " << r.text.substr(0, 300);
      if (r.status >= 400) {
        EXPECT_TRUE(r.body.is_object() && r.body.contains("code") && r.body.contains("message"))
            << row.route << " as " << kColNames[c];
        if (r.status == 401) {
          EXPECT_EQ(r.body["code"], "unauthenticated");
        }
        if (r.status == 403) {
          EXPECT_EQ(r.body["code"], "forbidden");
        }
      }
    }
  }
  for (const std::string& route : f.api().router.routes())
    EXPECT_TRUE(covered.count(route)) << route << " has no row in the authorisation matrix";

  // Scoped answers: an agency's listings hold only itself; a source's only what it submitted.
  auto own = f.get("/v1/agencies", &*keys[kOwnAgency]);
  ASSERT_EQ(own.body["agencies"].size(), 1u);
  EXPECT_EQ(own.body["agencies"][0]["agency"], "sh.city.housing");
  auto recs = f.get("/v1/records?limit=1000", &*keys[kOwnAgency]);
  ASSERT_GT(recs.body["total"].get<int>(), 0);
  for (const auto& x : recs.body["records"]) EXPECT_EQ(x["agency"], "sh.city.housing");
  auto mine = f.get("/v1/records?limit=1000", &*keys[kSource]);
  ASSERT_GT(mine.body["total"].get<int>(), 0);
  for (const auto& x : mine.body["records"]) EXPECT_EQ(x["source"], record->issuer.value);
  auto cps = f.get("/v1/complaints?limit=1000", &*keys[kOwnAgency]);
  for (const auto& x : cps.body["complaints"]) EXPECT_EQ(x["agency"], "sh.city.housing");
}

}  // namespace
}  // namespace govcredit
