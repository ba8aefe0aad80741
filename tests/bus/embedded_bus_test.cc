#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "support/support.h"

namespace govcredit {
namespace {

const demo::World& world() {
  static const demo::World w = demo::generate(demo::Options{.seed = 21, .records = 200});
  return w;
}

TEST(EmbeddedBus, RoutesLikeKafkaAndFansOutRegistryEvents) {
  testing::TempDir dir;
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path(), .partitions = 3});
  ASSERT_TRUE(bus);
  std::map<int, std::uint64_t> expected;
  for (const auto& r : (*bus)->publish_all(world().events)) ASSERT_TRUE(r);
  for (const Event& e : world().events) {
    if (Registry::is_registry_event(e)) {
      for (int p = 0; p < 3; ++p) expected[p]++;
    } else {
      expected[partition_for_key(e.subject.value, 3)]++;
    }
  }
  for (auto [p, n] : expected) {
    Ledger& l = (*bus)->shard(Partition{p});
    EXPECT_EQ(l.head().size, n) << p;
    EXPECT_EQ(l.next_offset().value, static_cast<std::int64_t>(n));
    EXPECT_TRUE(l.verify(VerifyOptions{.signatures = true}).ok);
  }
}

TEST(EmbeddedBus, ConcurrentPublishersLoseNothingAndReportOutcomes) {
  testing::TempDir dir;
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path(), .partitions = 2});
  ASSERT_TRUE(bus);
  // Every registry event first (including the mid-history key rotation: a key revoked at T
  // still signs events issued before T), then the records from four threads at once.
  std::vector<Event> registry, records;
  for (const Event& e : world().events) {
    if (Registry::is_registry_event(e)) registry.push_back(e);
    if (e.as<RecordSubmitted>()) records.push_back(e);
  }
  for (const auto& r : (*bus)->publish_all(registry)) ASSERT_TRUE(r);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < records.size(); i += 4) {
        auto r = (*bus)->publish_all_with_results({records[i]});
        if (r[0] && (*r[0])[0].outcome == IngestOutcome::kAccepted)
          ++accepted;
        else if (r[0])
          ADD_FAILURE() << (*r[0])[0].status.to_string();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), static_cast<int>(records.size()));
  // A second publication of the same events is acknowledged, not appended.
  auto again = (*bus)->publish_all_with_results({records[0], records[1]});
  EXPECT_EQ((*again[0])[0].outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ((*again[1])[0].outcome, IngestOutcome::kDuplicate);
  // A forged event is rejected with its reason, and nothing is appended.
  Event forged = records[2];
  forged.id.bytes[0] ^= 1;
  auto bad = (*bus)->publish_all_with_results({forged});
  EXPECT_EQ((*bad[0])[0].outcome, IngestOutcome::kRejected);
  EXPECT_EQ((*bad[0])[0].status.reason(), Reason::kSignatureInvalid);
}

// A publisher may queue its next events before it waits for those it queued last
// (enqueue_all, as the ingest benchmark does): every event still reaches its shards in order, so
// follow-ups never come before what they follow, and the shards are those of one publish_all.
TEST(EmbeddedBus, PartsQueuedAheadOfTheirWaitKeepTheirOrder) {
  testing::TempDir one_go, in_parts;
  auto whole = EmbeddedBus::open(EmbeddedOptions{.data_dir = one_go.path(), .partitions = 2});
  auto parts = EmbeddedBus::open(
      EmbeddedOptions{.data_dir = in_parts.path(), .partitions = 2, .max_batch = 50});
  ASSERT_TRUE(whole);
  ASSERT_TRUE(parts);
  for (const auto& r : (*whole)->publish_all(world().events)) ASSERT_TRUE(r);

  const std::vector<Event>& events = world().events;
  std::optional<EmbeddedBus::Pending> in_flight;
  std::size_t accepted = 0, waited = 0;
  auto finish = [&](EmbeddedBus::Pending& p) {
    for (const auto& r : p.wait()) {
      ASSERT_TRUE(r);
      for (const IngestResult& x : *r) {
        EXPECT_EQ(x.outcome, IngestOutcome::kAccepted) << x.status.to_string();
        accepted += x.outcome == IngestOutcome::kAccepted;
      }
      ++waited;
    }
  };
  for (std::size_t from = 0; from < events.size(); from += 97) {
    std::vector<Event> part(
        events.begin() + static_cast<std::ptrdiff_t>(from),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), from + 97)));
    EmbeddedBus::Pending next = (*parts)->enqueue_all(part);
    if (in_flight) finish(*in_flight);
    in_flight = std::move(next);
  }
  ASSERT_TRUE(in_flight);
  finish(*in_flight);
  EXPECT_EQ(waited, events.size());
  std::size_t stored = 0;
  for (int p = 0; p < 2; ++p) {
    const Head a = (*whole)->shard(Partition{p}).head(), b = (*parts)->shard(Partition{p}).head();
    EXPECT_EQ(a.size, b.size) << p;
    EXPECT_EQ(a.root, b.root) << p;
    EXPECT_EQ(a.chain, b.chain) << p;
    stored += b.size;
  }
  EXPECT_EQ(accepted, stored);
}

TEST(EmbeddedBus, ReopenedBusContinuesTheOffsets) {
  testing::TempDir dir;
  std::size_t half = world().events.size() / 2;
  Head first;
  {
    auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path()});
    ASSERT_TRUE(bus);
    (*bus)->publish_all(std::vector<Event>(
        world().events.begin(), world().events.begin() + static_cast<std::ptrdiff_t>(half)));
  }
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path()});
  ASSERT_TRUE(bus);
  (*bus)->publish_all(std::vector<Event>(world().events.begin() + static_cast<std::ptrdiff_t>(half),
                                         world().events.end()));
  Ledger& l = (*bus)->shard(Partition{0});
  EXPECT_EQ(l.head().size, world().events.size());
  EXPECT_EQ(l.next_offset().value, static_cast<std::int64_t>(world().events.size()));
  auto last = l.get(Seq{l.head().size - 1});
  ASSERT_TRUE(last);
  EXPECT_EQ(last->offset.value, static_cast<std::int64_t>(world().events.size() - 1));
  EXPECT_TRUE(l.verify(VerifyOptions{.signatures = true}).ok);
}

}  // namespace
}  // namespace govcredit
