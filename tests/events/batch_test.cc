// Batch signatures (events/FORMAT.md §2b): one signature over the Merkle root of many events'
// signing inputs; each event carries its path and stays individually verifiable and provable.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/merkle.h"
#include "support/support.h"

namespace govcredit {
namespace {

std::vector<Event> records(const demo::World& w, std::size_t n, std::int64_t t0) {
  std::vector<Event> out;
  for (std::size_t i = 0; i < n; ++i) {
    Event e;
    random_bytes(e.id.bytes);
    e.subject = AgencyId(i % 2 ? "sh.city.finance" : "sh.city.housing");
    e.issuer = PrincipalId("src.finance");
    e.issued_at = Timestamp{t0 + static_cast<std::int64_t>(i)};
    e.payload = RecordSubmitted{
        Category::kFiscalFraud,
        "批量导入记录 " + std::to_string(i),
        "财政部门年度报告发现的问题。",
        Timestamp{t0 - 86400000},
        {Evidence{sha256(std::to_string(i)), "https://example.gov.cn/" + std::to_string(i)}},
        std::nullopt};
    out.push_back(std::move(e));
  }
  (void)w;
  return out;
}

TEST(BatchSignature, EveryEventOfEveryBatchSizeVerifiesAndRoundTrips) {
  const PrivateKey key = demo::key_for(PrincipalId("src.finance"));
  for (std::size_t n : {1u, 2u, 3u, 5u, 8u, 13u, 64u, 100u}) {
    auto events = records({}, n, 1'400'000'000'000);
    sign_batch(events, key);
    std::optional<Digest> root;
    for (const Event& e : events) {
      ASSERT_TRUE(e.batch);
      EXPECT_EQ(e.batch->size, n);
      Bytes wire = encode_wire(e);
      EXPECT_EQ(wire.size(), signing_input(e).size() + wire_trailer_size(e));
      auto back = decode_wire(wire);
      ASSERT_TRUE(back) << back.status().to_string();
      EXPECT_EQ(*back, e);
      EXPECT_TRUE(verify_event_signature(*back, key.public_key())) << n << " " << e.batch->index;
      auto r = batch_root(e, signing_input(e));
      ASSERT_TRUE(r);
      if (root) {
        EXPECT_EQ(*r, *root);
      }
      root = r;
      auto json = event_from_json(event_to_json_text(e));
      ASSERT_TRUE(json) << json.status().to_string();
      EXPECT_EQ(*json, e);
    }
    // The root is the RFC 9162 tree hash of the signing inputs.
    std::vector<Digest> leaves;
    for (const Event& e : events) leaves.push_back(merkle::leaf_hash(signing_input(e)));
    std::function<Digest(std::size_t, std::size_t)> mth = [&](std::size_t a, std::size_t b) {
      if (b - a == 1) return leaves[a];
      std::size_t k = 1;
      while (k * 2 < b - a) k *= 2;
      return merkle::node_hash(mth(a, a + k), mth(a + k, b));
    };
    EXPECT_EQ(*root, mth(0, n));
  }
}

TEST(BatchSignature, AChangedEventOrAMovedProofFails) {
  const PrivateKey key = demo::key_for(PrincipalId("src.finance"));
  auto events = records({}, 7, 1'400'000'000'000);
  sign_batch(events, key);
  Event changed = events[3];
  std::get<RecordSubmitted>(changed.payload).title += "!";
  EXPECT_EQ(verify_event_signature(changed, key.public_key()).reason(), Reason::kSignatureInvalid);
  Event moved = events[3];
  moved.batch = events[4].batch;  // another leaf's path
  EXPECT_EQ(verify_event_signature(moved, key.public_key()).reason(), Reason::kSignatureInvalid);
  Event other_key = events[2];
  EXPECT_EQ(
      verify_event_signature(other_key, demo::key_for(demo::kAuthority).public_key()).reason(),
      Reason::kKeyIdMismatch);
  // A trailer whose path length does not fit its size and index is malformed.
  Bytes wire = encode_wire(events[0]);
  std::size_t k_at = signing_input(events[0]).size() + 9;
  wire[k_at] = static_cast<std::uint8_t>(wire[k_at] + 1);
  EXPECT_EQ(decode_wire(wire).status().reason(), Reason::kBinaryMalformed);
  Bytes truncated = encode_wire(events[0]);
  truncated.resize(truncated.size() - 1);
  EXPECT_EQ(decode_wire(truncated).status().reason(), Reason::kBinaryMalformed);
}

// Found by fuzz_event_json: the JSON form took a batch path of a length no proof of that leaf
// can have, which the wire decoder refuses; both now refuse it.
TEST(BatchSignature, JsonRefusesAPathOfTheWrongLength) {
  const demo::World w = demo::generate(demo::Options{.seed = 3, .records = 2});
  auto events = records(w, 6, 1400000000000);
  sign_batch(events, demo::key_for(PrincipalId("src.finance")));
  nlohmann::json j = event_to_json(events[2]);
  ASSERT_EQ(j["batch"]["path"].size(), 3u);
  auto ok = event_from_json(j.dump());
  ASSERT_TRUE(ok) << ok.status().to_string();
  for (std::size_t keep : {0u, 1u, 2u}) {
    nlohmann::json bad = j;
    bad["batch"]["path"].erase(bad["batch"]["path"].begin() + static_cast<std::ptrdiff_t>(keep),
                               bad["batch"]["path"].end());
    auto e = event_from_json(bad.dump());
    ASSERT_FALSE(e) << keep;
    EXPECT_EQ(e.status().reason(), Reason::kFieldInvalid);
  }
  nlohmann::json longer = j;
  longer["batch"]["path"].push_back(j["batch"]["path"][0]);
  EXPECT_FALSE(event_from_json(longer.dump()));
}

// signature_verdict keeps the nodes of each verified batch's tree and walks later members
// through them (registry.cc). Its verdicts must be the plain walk's (signature_valid) for every
// member however the members come, for every way of moving or changing a member's proof, and for
// batches too large to keep (beyond 4,096).
TEST(BatchSignature, VerdictsThroughKnownNodesAreThePlainWalks) {
  const PrivateKey key = demo::key_for(PrincipalId("src.finance"));
  const KeyInfo info{key.public_key(), PrincipalId("src.finance"), Timestamp{0}, std::nullopt};
  std::uint64_t x = 12345;
  auto next = [&](std::uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((x >> 33) % n);
  };
  std::int64_t t0 = 1'500'000'000'000;
  for (std::size_t n : {1u, 2u, 3u, 5u, 6u, 7u, 9u, 13u, 31u, 33u, 100u, 257u, 4097u}) {
    auto events = records({}, n, t0);
    t0 += 1'000'000;
    sign_batch(events, key);
    std::vector<Bytes> signing;
    for (const Event& e : events) signing.push_back(signing_input(e));
    auto verdict = [&](const Event& e, std::size_t i) {
      return signature_verdict(e, signing[i], info).valid;
    };
    auto plain = [&](const Event& e, std::size_t i) {
      return signature_valid(e, signing[i], key.public_key());
    };
    // Forgeries tried before any member was seen, half-way and after all of them.
    auto try_forgeries = [&] {
      for (int t = 0; t < 12 && n > 1; ++t) {
        const std::size_t i = next(n), j = (i + 1 + next(n - 1)) % n;
        Event moved = events[i];
        moved.batch = events[j].batch;  // another member's index and path
        EXPECT_FALSE(verdict(moved, i)) << n << " " << i << " as " << j;
        EXPECT_EQ(verdict(moved, i), plain(moved, i));
        Event flipped = events[i];
        if (!flipped.batch->path.empty()) {
          flipped.batch->path[next(flipped.batch->path.size())].bytes[next(32)] ^= 0x40;
          EXPECT_FALSE(verdict(flipped, i)) << n << " " << i;
        }
        // Member j's bytes with member i's proof: the leaf differs from the known one at i.
        EXPECT_FALSE(verdict(events[i], j)) << n << " " << i << " signing of " << j;
        EXPECT_EQ(plain(events[i], j), false);
      }
    };
    try_forgeries();
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[next(i)]);
    for (std::size_t k = 0; k < n; ++k) {
      EXPECT_TRUE(verdict(events[order[k]], order[k])) << n << " " << order[k];
      if (k == n / 2) try_forgeries();
    }
    try_forgeries();
    // Every member again, now entirely through known nodes.
    for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(verdict(events[i], i)) << n << " " << i;
  }
}

// A two-shard embedded bus holding a small demo world, and src.finance's current key.
class BatchIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir_.path(), .partitions = 2});
    ASSERT_TRUE(b);
    bus = std::move(*b);
    for (const auto& r : bus->publish_all_with_results(w.events)) ASSERT_TRUE(r);
  }
  testing::TempDir dir_;
  const demo::World w = demo::generate(demo::Options{.seed = 3, .records = 20});
  std::unique_ptr<EmbeddedBus> bus;
  const PrivateKey key = w.keys.count(PrincipalId("src.finance"))
                             ? w.keys.at(PrincipalId("src.finance"))
                             : demo::key_for(PrincipalId("src.finance"));
};

// Ingest: a batch is accepted with one signature check per shard; an event changed after
// signing is rejected alone; verify --signatures re-checks the stored batch events.
TEST_F(BatchIngest, AcceptsABatchAndRejectsATamperedMember) {
  auto events = records(w, 50, w.events.back().issued_at.ms + 1000);
  sign_batch(events, key);
  std::get<RecordSubmitted>(events[17].payload).summary += "（篡改）";
  auto results = bus->publish_all_with_results(events);
  ASSERT_EQ(results.size(), 50u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]);
    const IngestResult& r = (*results[i])[0];
    if (i == 17) {
      EXPECT_EQ(r.outcome, IngestOutcome::kRejected);
      EXPECT_EQ(r.status.reason(), Reason::kSignatureInvalid);
    } else {
      EXPECT_EQ(r.outcome, IngestOutcome::kAccepted) << i << " " << r.status.to_string();
    }
  }
  for (int p = 0; p < 2; ++p) {
    auto v = bus->shard(Partition{p}).verify(VerifyOptions{.signatures = true});
    EXPECT_TRUE(v.ok) << v.problem.to_string();
  }
}

// Batch verdicts are remembered across ingest calls, threads and shards (ingest.cc): members of
// one batch arriving in separate calls are each still judged by their own path, and a forged
// batch signature stays refused however its members arrive.
TEST_F(BatchIngest, VerdictsHoldAcrossCallsAndShards) {
  const std::int64_t t0 = w.events.back().issued_at.ms + 1000;
  auto genuine = records(w, 30, t0);
  sign_batch(genuine, key);
  // The same events' signature over another batch of the same size: a valid signature by the
  // right key, but not over these events' root.
  auto forged = records(w, 30, t0 + 100);
  auto other = records(w, 30, t0 + 200);
  sign_batch(other, key);
  sign_batch(forged, key);
  for (auto& e : forged) e.signature = other.front().signature;
  std::get<RecordSubmitted>(genuine[25].payload).summary += "（篡改）";

  auto publish = [&](const std::vector<Event>& events, std::size_t from, std::size_t to) {
    std::vector<IngestOutcome> out;
    std::vector<Event> part(events.begin() + static_cast<std::ptrdiff_t>(from),
                            events.begin() + static_cast<std::ptrdiff_t>(to));
    for (const auto& r : bus->publish_all_with_results(part)) {
      EXPECT_TRUE(r);
      if (r) out.push_back((*r)[0].outcome);
    }
    return out;
  };
  std::size_t accepted = 0, rejected = 0;
  // Genuine members in three calls (the second holds the tampered one), the forged batch
  // interleaved in two.
  for (auto [events, from, to] : {std::tuple{&genuine, 0, 10},
                                  {&forged, 0, 15},
                                  {&genuine, 10, 26},
                                  {&forged, 15, 30},
                                  {&genuine, 26, 30}})
    for (IngestOutcome o :
         publish(*events, static_cast<std::size_t>(from), static_cast<std::size_t>(to))) {
      accepted += o == IngestOutcome::kAccepted;
      rejected += o == IngestOutcome::kRejected;
    }
  EXPECT_EQ(accepted, 29u);       // every genuine member but the tampered one
  EXPECT_EQ(rejected, 1u + 30u);  // the tampered one and the whole forged batch
  for (int p = 0; p < 2; ++p) {
    auto v = bus->shard(Partition{p}).verify(VerifyOptions{.signatures = true});
    EXPECT_TRUE(v.ok) << v.problem.to_string();
  }
}

}  // namespace
}  // namespace govcredit
