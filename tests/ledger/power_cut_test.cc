// Power cuts, simulated. A writer process ingests the demo world into a new shard under
// write_log_shim.so, which logs every write to the shard's data file, every call that made earlier
// writes or changes of names durable, and every change of the data file's names, in order, with
// the writer's acknowledgements (the shard's size each time an ingest returned). From that log
// this test rebuilds what the disk may hold had the power failed after any logged call
// (support/power_cut.h): the bytes made durable by then, and for every 512-byte sector written
// since, any one of the versions the page cache held of it, or none — the disk may have taken
// some of the writes, in any order, torn at sector boundaries. Each such state must open as a
// shard that verifies, holds whole batches only, a prefix of the writer's history (its chain head
// and Merkle root those of a clean run at that size), projections and ingest position as current
// as its log — and keeps every acknowledged batch: with Durability::kOnReturn all of them, with
// kByNextCommit all but possibly the last (LEDGER_FORMAT.md §6). The data file is made under a
// temporary name and renamed into place: until the directory is flushed, a state may hold it
// under either name, and an open must then make the shard again (and remove the stray file).
// Checked to fail with the temporary name and its rename taken out (a cut while the shard's two
// meta pages are half written: MDB_INVALID, the shard never opens again), without the directory's
// flush (the shard lost with its acknowledged batches), with the flushes ignored (corrupt
// states), and under kByNextCommit when held to kOnReturn's promise (the last batch lost).
//
// What the model leaves out (support/power_cut.h): a disk that lies about its flushes, or that
// writes a sector other than the one asked for; writes made through mmap (the ledger's LMDB does
// not use MDB_WRITEMAP).
// GOVCREDIT_POWER_CUT_KEEP=DIR copies the first state that fails there.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/ingest.h"
#include "govcredit/projections.h"
#include "support/power_cut.h"
#include "support/support.h"

extern char** environ;

namespace govcredit {
namespace {

constexpr int kRecords = 200;         // the demo world's size (962 events)
constexpr long kBatch = 20;           // messages per ingest call
constexpr std::size_t kEarly = 60;    // the first calls of the log, each a cut point
constexpr std::size_t kStates = 250;  // cut points spread over the rest

const std::vector<Bytes>& wires() {
  static const std::vector<Bytes> w = [] {
    std::vector<Bytes> out;
    for (const auto& e : demo::generate(demo::Options{.seed = 77, .records = kRecords}).events)
      out.push_back(encode_wire(e));
    return out;
  }();
  return w;
}

// The heads of a clean run, by size, after each batch.
std::map<std::uint64_t, Head> clean_heads() {
  std::map<std::uint64_t, Head> heads;
  testing::TempDir dir;
  auto l = Ledger::open(dir.path(), Partition{0});
  EXPECT_TRUE(l) << l.status().to_string();
  if (!l) return heads;
  heads[0] = (*l)->head();
  auto ing = Ingestor::create(**l);
  EXPECT_TRUE(ing);
  if (!ing) return heads;
  const auto n = static_cast<long>(wires().size());
  for (long i = 0; i < n; i += kBatch) {
    std::vector<Message> m;
    for (long j = i; j < i + kBatch && j < n; ++j)
      m.push_back(Message{wires()[static_cast<std::size_t>(j)], Partition{0}, KafkaOffset{j},
                          Timestamp{0}});
    EXPECT_TRUE((*ing)->ingest(m));
    heads[(*l)->head().size] = (*l)->head();
  }
  return heads;
}

// Opens the shard in `dir` in a child process (a state that made LMDB read past the file's end
// would kill it, not this test: "killed by signal N") and checks it against the clean run. Returns
// the shard's size, or a message saying what is wrong.
struct Opened {
  bool ok = false;
  std::uint64_t size = 0;
  std::string problem;
};
Opened open_and_check(const std::string& dir, const std::map<std::uint64_t, Head>& heads) {
  const std::string out = testing::answer_in_child([&]() -> std::string {
    auto l = Ledger::open(dir, Partition{0});
    if (!l) return "does not open: " + l.status().to_string();
    const Head h = (*l)->head();
    const std::string at = " (size " + std::to_string(h.size) + ")";
    VerifyReport r = (*l)->verify();
    if (!r.ok) return "does not verify" + at + ": " + r.problem.to_string();
    auto it = heads.find(h.size);
    if (it == heads.end()) return "holds part of a batch" + at;
    if (h.chain != it->second.chain || h.root != it->second.root)
      return "is not a prefix of the writer's history" + at + ": chain head " + to_hex(h.chain) +
             ", a clean run's " + to_hex(it->second.chain);
    if ((*l)->next_offset().value != static_cast<std::int64_t>(h.size))
      return "its ingest position is " + std::to_string((*l)->next_offset().value) + at;
    auto meta = projection_meta(**l);
    if (!meta || meta->applied != h.size)
      return "its projections are not as current as its log" + at;
    auto pc = check_projections(**l);
    if (!pc || !pc->ok()) return "its projections differ from a rebuild" + at;
    return "ok " + std::to_string(h.size);
  });
  if (out.rfind("ok ", 0) == 0) return {true, std::stoull(out.substr(3)), ""};
  return {false, 0, out};
}

class PowerCut : public ::testing::TestWithParam<Durability> {};

TEST_P(PowerCut, EveryStateTheDiskMayHoldIsAValidShardKeepingWhatWasAcknowledged) {
  const bool on_return = GetParam() == Durability::kOnReturn;
  const auto heads = clean_heads();
  ASSERT_GT(heads.size(), 20u);
  const std::uint64_t total = heads.rbegin()->first;

  // The writer, under the shim.
  testing::TempDir root;
  const std::string shard = root.path() + "/shard", log = root.path() + "/write.log";
  const testing::LoggedRun run =
      testing::run_logged({GOVCREDIT_POWER_CUT_WRITER, shard, root.path() + "/power_cut.acks",
                           on_return ? "on-return" : "by-next-commit", std::to_string(kRecords),
                           std::to_string(kBatch)},
                          log);
  ASSERT_TRUE(run.started);
  ASSERT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0)
      << "the writer failed: " << run.status;

  const std::vector<testing::LoggedCall> calls = testing::read_write_log(log);
  const std::string data = shard + "/data.mdb";
  std::size_t writes = 0, syncs = 0, durable_writes = 0, acked = 0, renames = 0;
  for (const auto& c : calls) {
    writes += c.kind == 'W';
    syncs += c.kind == 'S';
    durable_writes += c.kind == 'D';
    acked += c.kind == 'A';
    renames += c.kind == 'R' && c.text().substr(c.text().find('\0') + 1) == data;
  }
  EXPECT_EQ(renames, 1u) << "the data file is made under another name and renamed into place";
  EXPECT_EQ(acked, heads.size() - 1);  // one acknowledgement a batch
  EXPECT_GT(syncs, heads.size() - 1);  // a flush a commit at least (and at the close)
  // The meta page through LMDB's O_DSYNC descriptor with each commit, or never.
  if (on_return) {
    EXPECT_GE(durable_writes, heads.size() - 1);
  } else {
    EXPECT_EQ(durable_writes, 0u);
  }
  std::cout << "write log: " << calls.size() << " calls, " << writes << " writes, "
            << durable_writes << " durable writes, " << syncs << " flushes, " << renames
            << " rename, " << acked << " acknowledgements\n";

  // Cut points: every call of the shard's creation and first commits (kEarly), four states each;
  // then kStates spread over the rest of the log, one state each; and after the writer's close.
  std::mt19937_64 rng(on_return ? 1 : 2);
  std::set<std::size_t> cuts;
  for (std::size_t i = 0; i < std::min(kEarly, calls.size()); ++i) cuts.insert(i);
  while (cuts.size() < std::min<std::size_t>(kEarly + kStates, calls.size()))
    cuts.insert(static_cast<std::size_t>(rng() % calls.size()));
  cuts.insert(calls.size() - 1);

  testing::TempDir state;
  testing::DiskModel disk;
  std::size_t checked = 0, with_pending = 0, kept_some = 0, newer_than_bound = 0, no_file = 0,
              undid_last = 0, stray_names = 0;
  std::set<std::uint64_t> sizes;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string problem = disk.apply(calls[i]);
    ASSERT_EQ(problem, "") << "call " << i << " of the write log";
    if (!cuts.count(i)) continue;
    const auto& acks = disk.acks();
    const std::uint64_t last_ack = acks.empty() ? 0 : std::stoull(acks.back()),
                        ack_before = acks.size() < 2 ? 0 : std::stoull(acks[acks.size() - 2]);
    for (int repeat = i < kEarly ? 4 : 1; repeat > 0; --repeat) {
      std::filesystem::remove_all(state.path());
      std::filesystem::create_directories(state.path());
      const testing::DiskModel::State st = disk.write_state(rng, shard, state.path());
      const bool has_data =
          std::find(st.files.begin(), st.files.end(), "data.mdb") != st.files.end();
      const Opened o = open_and_check(state.path(), heads);
      if (!o.ok && getenv("GOVCREDIT_POWER_CUT_KEEP"))
        std::filesystem::copy(state.path(), getenv("GOVCREDIT_POWER_CUT_KEEP"),
                              std::filesystem::copy_options::recursive);
      const std::string where = "power cut after call " + std::to_string(i) + " of " +
                                std::to_string(calls.size()) + " (" +
                                std::to_string(st.unflushed_sectors) + " sectors unflushed, " +
                                std::to_string(st.kept_sectors) + " of them kept" +
                                (has_data ? "" : ", no file named data.mdb") + ")";
      ASSERT_TRUE(o.ok) << where << ": the shard " << o.problem;
      const std::uint64_t bound = on_return ? last_ack : ack_before;
      ASSERT_GE(o.size, bound) << where << ": an acknowledged batch was lost (acknowledged "
                               << last_ack << ", found " << o.size << ")";
      for (const auto& f : std::filesystem::directory_iterator(state.path()))
        EXPECT_NE(f.path().filename().string().rfind("data.mdb.creating-", 0), 0u)
            << where << ": a temporary file was left: " << f.path();
      ++checked;
      with_pending += st.unflushed_sectors > 0;
      kept_some += st.kept_sectors > 0 && st.kept_sectors < st.unflushed_sectors;
      newer_than_bound += o.size > bound;
      undid_last += o.size < last_ack;
      no_file += !has_data;
      stray_names += st.files.size() > (has_data ? 1u : 0u);
      sizes.insert(o.size);
    }
  }
  std::cout << checked << " states checked: " << no_file << " without a data file, " << stray_names
            << " with a temporary file, " << with_pending << " with unflushed sectors, "
            << kept_some << " holding some of them; " << newer_than_bound
            << " newer than the acknowledged bound, " << undid_last
            << " without the last acknowledged batch; " << sizes.size() << " different sizes\n";
  // The states must have exercised something: half-written commits, and sizes across the run.
  EXPECT_GT(with_pending, checked / 4);
  EXPECT_GT(kept_some, 10u);
  EXPECT_GT(no_file, 0u);
  EXPECT_GT(stray_names, 0u);
  EXPECT_GT(sizes.size(), 20u);
  EXPECT_EQ(*sizes.rbegin(), total);  // after the close, everything
  if (!on_return) {
    EXPECT_GT(newer_than_bound, 0u);
    EXPECT_GT(undid_last, 0u);  // the promise is weaker, and the model reaches where it is
  }
}

INSTANTIATE_TEST_SUITE_P(Durability, PowerCut,
                         ::testing::Values(Durability::kOnReturn, Durability::kByNextCommit),
                         testing::DurabilityName());

}  // namespace
}  // namespace govcredit
