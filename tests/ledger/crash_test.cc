// A child process ingests while the parent kills it with SIGKILL at random moments. After every
// kill the shard must hold a prefix of what was sent, in whole batches, with an intact chain;
// at the end nothing is lost or duplicated and the head equals a clean run's. The projections,
// committed with the entries, must equal a rebuild after every kill, and a clean run's at the end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/ingest.h"
#include "govcredit/projections.h"
#include "support/support.h"

namespace govcredit {

namespace {

constexpr std::size_t kBatch = 50;

const std::vector<Bytes>& wires() {
  static const std::vector<Bytes> w = [] {
    std::vector<Bytes> out;
    for (const auto& e : demo::generate(demo::Options{.seed = 77, .records = 1500}).events)
      out.push_back(encode_wire(e));
    return out;
  }();
  return w;
}

// Ingests from the shard's next offset to the end, in batches. Returns false on a storage error.
bool ingest_rest(Ledger& l) {
  auto ing = Ingestor::create(l);
  if (!ing) return false;
  for (std::size_t i = static_cast<std::size_t>(l.next_offset().value); i < wires().size();
       i += kBatch) {
    std::vector<Message> batch;
    for (std::size_t j = i; j < i + kBatch && j < wires().size(); ++j)
      batch.push_back(Message{wires()[j], Partition{0}, KafkaOffset{static_cast<std::int64_t>(j)},
                              Timestamp{0}});
    if (!(*ing)->ingest(batch)) return false;
  }
  return true;
}

// Under either durability (a process killed, not the machine: the kernel keeps what was written).
class Crash : public ::testing::TestWithParam<Durability> {};

TEST_P(Crash, KilledWriterLeavesAValidPrefixOfWholeBatches) {
  const LedgerOptions options{.durability = GetParam()};
  ASSERT_GT(wires().size(), 5000u);
  testing::TempDir clean, crashed;
  Head expected;
  Digest expected_projections;
  // How long an uninterrupted writer takes here sets the kills' waits, so that several kills land
  // mid-ingest on a fast machine as on a slow one. (With waits of 5-124 ms whatever the machine,
  // the writer here needed 5 of them, against a bound of 3 below; a machine twice as fast would
  // have failed it.)
  std::chrono::milliseconds whole{0};
  {
    const auto t0 = std::chrono::steady_clock::now();
    auto l = Ledger::open(clean.path(), Partition{0}, options);
    ASSERT_TRUE(l && ingest_rest(**l));
    whole = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0);
    expected = (*l)->head();
    ASSERT_TRUE((*l)->read_side([&](const SideReader& r) {
      expected_projections = side_digest(r);
      return Status::ok();
    }));
  }
  std::uint64_t seed = 4242;
  int kills = 0, progressed = 0;
  std::size_t last_size = 0;
  for (int round = 0; round < 20; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the writer: open, ingest, exit; no gtest in here
      auto l = Ledger::open(crashed.path(), Partition{0}, options);
      bool ok = l && ingest_rest(**l);
      _exit(ok ? 0 : 3);
    }
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    // 2 ms to a sixth of the whole ingest: a dozen kills or more before it is done, at most 20
    // (12-18 here, 15-20 beside two busy loops and under ASan, most of them after some progress).
    const std::uint64_t spread = static_cast<std::uint64_t>(whole.count()) / 6 + 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + (seed >> 33) % spread));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
      ++kills;
    else
      ASSERT_EQ(WEXITSTATUS(status), 0) << "the writer failed on its own";

    auto l = Ledger::open(crashed.path(), Partition{0}, options);
    ASSERT_TRUE(l) << l.status().to_string();
    const Head h = (*l)->head();
    EXPECT_TRUE(h.size % kBatch == 0 || h.size == wires().size()) << "a partial batch: " << h.size;
    EXPECT_EQ((*l)->next_offset().value, static_cast<std::int64_t>(h.size));
    VerifyReport r = (*l)->verify();
    ASSERT_TRUE(r.ok) << r.problem.to_string();
    // The projections were committed with the entries: exactly as current, equal to a rebuild.
    auto meta = projection_meta(**l);
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->applied, h.size);
    auto pc = check_projections(**l);
    ASSERT_TRUE(pc) << pc.status().to_string();
    EXPECT_TRUE(pc->ok()) << "after a kill the projections differ from a rebuild";
    // A prefix of what was sent: spot-check the last entry.
    if (h.size > 0) {
      auto last = (*l)->get(Seq{h.size - 1});
      ASSERT_TRUE(last);
      EXPECT_EQ(last->wire, wires()[h.size - 1]);
    }
    if (h.size > last_size) ++progressed;
    last_size = h.size;
    if (h.size == wires().size()) break;
  }
  std::cerr << "crash: " << kills << " kills of the writer over " << wires().size() << " messages, "
            << progressed << " rounds wrote something, " << last_size
            << " before the last ingest; uninterrupted it took " << whole.count() << " ms\n";
  EXPECT_GE(kills, 3) << "the writer finished too fast to be killed";
  auto l = Ledger::open(crashed.path(), Partition{0}, options);
  ASSERT_TRUE(l && ingest_rest(**l));
  EXPECT_EQ((*l)->head().size, expected.size);
  EXPECT_EQ((*l)->head().chain, expected.chain);
  EXPECT_EQ((*l)->head().root, expected.root);
  EXPECT_TRUE((*l)->verify(VerifyOptions{.signatures = true}).ok);
  Digest projections;
  ASSERT_TRUE((*l)->read_side([&](const SideReader& r) {
    projections = side_digest(r);
    return Status::ok();
  }));
  EXPECT_EQ(projections, expected_projections);
}

INSTANTIATE_TEST_SUITE_P(Durability, Crash,
                         ::testing::Values(Durability::kOnReturn, Durability::kByNextCommit),
                         testing::DurabilityName());

}  // namespace
}  // namespace govcredit
