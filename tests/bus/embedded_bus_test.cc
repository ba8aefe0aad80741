#include <gtest/gtest.h>

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
