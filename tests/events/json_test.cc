// The JSON representation: every syntax reason code, with the input that causes it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "govcredit/codec.h"
#include "support/support.h"

namespace govcredit {
namespace {

using nlohmann::json;

json vector_json(const std::string& name) {
  return json::parse(testing::vector_file(name, "event.json"));
}

Reason reason_of(std::string_view text) {
  auto r = event_from_json(text);
  return r ? Reason::kOk : r.status().reason();
}
Reason reason_of_json(const json& j) {
  return reason_of(std::string_view(j.dump()));
}

TEST(Json, EveryVectorRoundTrips) {
  for (const char* name :
       {"record-submitted", "complaint-filed", "recommendation-issued", "agency-registered"}) {
    std::string text = testing::vector_file(name, "event.json");
    auto e = event_from_json(text);
    ASSERT_TRUE(e) << name << ": " << e.status().to_string();
    EXPECT_EQ(event_to_json_text(*e, true, 2) + "\n", text) << name;
  }
}

TEST(Json, SyntaxErrors) {
  EXPECT_EQ(reason_of("{"), Reason::kJsonMalformed);
  EXPECT_EQ(reason_of("{} trailing"), Reason::kJsonMalformed);
  EXPECT_EQ(reason_of(""), Reason::kJsonMalformed);
  EXPECT_EQ(reason_of("{\"v\":1,\"v\":1}"), Reason::kJsonDuplicateKey);
  EXPECT_EQ(reason_of("{\"a\":\"\xC0\xAF\"}"), Reason::kUtf8Invalid);
  EXPECT_EQ(reason_of("[1,2]"), Reason::kFieldType);
  EXPECT_EQ(reason_of(std::string(4 * kMaxWireEventBytes + 1, ' ')), Reason::kEventTooLarge);
}

TEST(Json, DuplicateKeyInsidePayloadIsFound) {
  std::string text = testing::vector_file("record-submitted", "event.json");
  auto pos = text.find("\"title\"");
  text.insert(pos, "\"title\": \"first\",\n    ");
  EXPECT_EQ(reason_of(text), Reason::kJsonDuplicateKey);
}

TEST(Json, EnvelopeFieldRules) {
  json base = vector_json("record-submitted");
  json j = base;
  j.erase("issuer");
  EXPECT_EQ(reason_of_json(j), Reason::kFieldMissing);
  j = base;
  j["extra"] = 1;
  EXPECT_EQ(reason_of_json(j), Reason::kFieldUnknown);
  j = base;
  j["v"] = 2;
  EXPECT_EQ(reason_of_json(j), Reason::kVersionUnsupported);
  j = base;
  j["v"] = "1";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldType);
  j = base;
  j["type"] = "record.deleted";
  EXPECT_EQ(reason_of_json(j), Reason::kTypeUnknown);
  j = base;
  j["id"] = "xyz";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldInvalid);
  j = base;
  j["issued_at"] = "2013-08-30 09:00";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldInvalid);
  j = base;
  j["subject"] = "Not An Id";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldInvalid);
  j = base;
  j["key_id"] = "ABC";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldInvalid);
  j = base;
  j["signature"] = std::string(126, 'a');
  EXPECT_EQ(reason_of_json(j), Reason::kFieldInvalid);
  j = base;
  j["payload"] = "x";
  EXPECT_EQ(reason_of_json(j), Reason::kFieldType);
}

TEST(Json, PayloadFieldRules) {
  json base = vector_json("record-submitted");
  auto with = [&](auto mutate) {
    json j = base;
    mutate(j["payload"]);
    return reason_of_json(j);
  };
  EXPECT_EQ(with([](json& p) { p.erase("title"); }), Reason::kFieldMissing);
  EXPECT_EQ(with([](json& p) { p.erase("source_ref"); }), Reason::kOk);  // optional may be omitted
  EXPECT_EQ(with([](json& p) { p["title"] = nullptr; }), Reason::kFieldType);
  EXPECT_EQ(with([](json& p) { p["severity"] = "grave"; }), Reason::kFieldUnknown);
  EXPECT_EQ(with([](json& p) { p["title"] = 5; }), Reason::kFieldType);
  EXPECT_EQ(with([](json& p) { p["category"] = "bribery"; }), Reason::kFieldInvalid);
  EXPECT_EQ(with([](json& p) { p["conduct_at"] = "yesterday"; }), Reason::kFieldInvalid);
  EXPECT_EQ(with([](json& p) { p["title"] = std::string(257, 'a'); }), Reason::kFieldTooLong);
  EXPECT_EQ(with([](json& p) { p["title"] = std::string(256, 'a'); }), Reason::kOk);
  EXPECT_EQ(with([](json& p) { p["title"] = std::string("a\0b", 3); }), Reason::kTextControlChar);
  EXPECT_EQ(with([](json& p) { p["evidence"] = json::object(); }), Reason::kFieldType);
  EXPECT_EQ(with([](json& p) { p["evidence"][0]["sha256"] = "00"; }), Reason::kFieldInvalid);
  EXPECT_EQ(with([](json& p) { p["evidence"][0]["mime"] = "pdf"; }), Reason::kFieldUnknown);
  EXPECT_EQ(with([](json& p) { p["evidence"][0].erase("uri"); }), Reason::kFieldMissing);
  EXPECT_EQ(with([](json& p) {
              for (int i = 0; i < 32; ++i) p["evidence"].push_back(p["evidence"][0]);
            }),
            Reason::kFieldTooLong);
}

TEST(Json, IntegerAndBytesFields) {
  json c = vector_json("compensation-recorded");
  c["payload"]["amount_fen"] = 1.5;
  EXPECT_EQ(reason_of_json(c), Reason::kFieldType);
  c["payload"]["amount_fen"] = 18446744073709551615ULL;
  EXPECT_EQ(reason_of_json(c), Reason::kFieldInvalid);
  c["payload"]["amount_fen"] = -1;
  EXPECT_EQ(reason_of_json(c), Reason::kFieldInvalid);
  json f = vector_json("complaint-filed");
  f["payload"]["contact_sealed"] = "not base64!";
  EXPECT_EQ(reason_of_json(f), Reason::kFieldInvalid);
  f["payload"]["contact_sealed"] = std::string(2800, 'A');
  EXPECT_EQ(reason_of_json(f), Reason::kFieldTooLong);
  f["payload"]["contact_sealed"] = "AAAA";  // 3 bytes: neither empty nor a sealed box
  EXPECT_EQ(reason_of_json(f), Reason::kFieldInvalid);
}

TEST(Json, ConditionalRulesOfEachType) {
  json a = vector_json("agency-registered");
  a["payload"]["level"] = "district";
  EXPECT_EQ(reason_of_json(a), Reason::kFieldInvalid);  // district missing
  a["payload"]["district"] = "浦东新区";
  EXPECT_EQ(reason_of_json(a), Reason::kOk);

  json p = vector_json("principal-registered");
  p["payload"]["source_kind"] = "audit";  // an authority has no source kind
  EXPECT_EQ(reason_of_json(p), Reason::kFieldInvalid);

  json v = vector_json("record-verified");
  v["payload"]["severity"] = nullptr;  // confirmed without severity
  EXPECT_EQ(reason_of_json(v), Reason::kFieldInvalid);
  v["payload"]["outcome"] = "unfounded";
  EXPECT_EQ(reason_of_json(v), Reason::kOk);

  json c = vector_json("record-corrected");
  c["payload"]["summary"] = nullptr;  // amends nothing
  EXPECT_EQ(reason_of_json(c), Reason::kFieldInvalid);

  json t = vector_json("complaint-triaged");
  t["payload"]["outcome"] = "duplicate";
  EXPECT_EQ(reason_of_json(t), Reason::kFieldInvalid);
  t["payload"]["outcome"] = "transferred";
  EXPECT_EQ(reason_of_json(t), Reason::kFieldInvalid);
  t["payload"]["transferred_to"] = "区监察局";
  EXPECT_EQ(reason_of_json(t), Reason::kOk);

  json r = vector_json("recommendation-issued");
  r["payload"]["deadline"] = r["issued_at"];
  EXPECT_EQ(reason_of_json(r), Reason::kDeadlineBeforeIssue);
  r = vector_json("recommendation-issued");
  r["payload"]["records"] = json::array();
  EXPECT_EQ(reason_of_json(r), Reason::kFieldInvalid);

  json rep = vector_json("report-published");
  for (const char* bad : {"2013-Q5", "13", "2013-13", "2013-8"}) {
    rep["payload"]["period"] = bad;
    EXPECT_EQ(reason_of_json(rep), Reason::kFieldInvalid) << bad;
  }
  for (const char* good : {"2013", "2013-Q3", "2013-08"}) {
    rep["payload"]["period"] = good;
    EXPECT_EQ(reason_of_json(rep), Reason::kOk) << good;
  }
}

TEST(Json, SigningModeFillsIdTimeAndKey) {
  json j = vector_json("record-submitted");
  j.erase("id");
  j.erase("issued_at");
  j.erase("key_id");
  j.erase("signature");
  EXPECT_EQ(reason_of_json(j), Reason::kFieldMissing);
  auto e = event_from_json(j.dump(), JsonReadOptions{.for_signing = true});
  ASSERT_TRUE(e) << e.status().to_string();
  EXPECT_NE(e->id, EventId{});
  EXPECT_GT(e->issued_at.ms, 1700000000000);
  PrivateKey k = demo::key_for(e->issuer);
  sign_event(*e, k);
  EXPECT_TRUE(verify_event_signature(*e, k.public_key()));
}

}  // namespace
}  // namespace govcredit
