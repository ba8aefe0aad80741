// The event index's runs (docs/LEDGER_FORMAT.md §11) against a real LMDB environment: which runs
// exist at a log size, every id found once across merges, re-sends and conflicts told apart by a
// fresh handle, the same runs however the batches fell, and verify naming a damaged run's entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include "govcredit/codec.h"
#include "govcredit/crypto.h"
#include "govcredit/encoding.h"
#include "govcredit/ledger.h"
#include "ledger/ledger_impl.h"
#include "ledger/lmdb.h"
#include "ledger/runs.h"
#include "support/support.h"

namespace govcredit {
namespace index_test {  // named: the unity build shares one anonymous namespace per test binary

// A synthetic event of the given number: its id (bytes 16..31 of a SHA-256 of the number) at the
// place an event's wire form carries it; the ledger checks nothing else without --signatures.
struct Synthetic {
  EventId id;
  Bytes wire;
};
Synthetic synthetic(std::uint64_t i, std::uint8_t variant = 0) {
  std::uint8_t n[8];
  put_le(n, i, 8);
  const Digest d = sha256(ByteView(n, 8));
  Synthetic s;
  std::memcpy(s.id.bytes.data(), d.bytes.data() + 16, 16);
  s.wire.assign(kWireIdOffset + 16 + 40, static_cast<std::uint8_t>(0xa0 + variant));
  std::memcpy(s.wire.data() + kWireIdOffset, s.id.bytes.data(), 16);
  return s;
}

std::unique_ptr<Ledger> open(const std::string& dir) {
  auto l = Ledger::open(dir, Partition{0}, LedgerOptions{.no_sync = true});
  EXPECT_TRUE(l) << l.status().to_string();
  return l ? std::move(*l) : nullptr;
}

// Appends events [from, to) in batches whose sizes `next_size` picks.
void append(Ledger& l, std::uint64_t from, std::uint64_t to,
            const std::function<std::uint64_t()>& next_size) {
  for (std::uint64_t i = from; i < to;) {
    const std::uint64_t end = std::min(to, i + std::max<std::uint64_t>(1, next_size()));
    ASSERT_TRUE(l.write([&](Ledger::Batch& b) {
      for (std::uint64_t k = i; k < end; ++k) {
        Synthetic s = synthetic(k);
        AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0},
                                             KafkaOffset{static_cast<std::int64_t>(k)}});
        if (r.outcome != AppendOutcome::kAppended || r.seq.value != k)
          return Status(Reason::kInvalidArgument, "event " + std::to_string(k) + " not appended");
      }
      b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(end)});
      return Status::ok();
    }));
    i = end;
  }
}

// Every record of every index database of a closed shard, by database name: its id and seq.
std::map<std::string, std::vector<runs::Record>> index_dump(const std::string& dir) {
  std::map<std::string, std::vector<runs::Record>> out;
  for (auto& [name, records] : runs::all(dir)) out[name] = std::move(records);
  return out;
}

// Every LMDB record (key, value) of every index database of a closed shard, by database name.
std::map<std::string, std::vector<std::pair<Bytes, Bytes>>> index_raw(const std::string& dir) {
  lmdb::Env env(dir, lmdb::EnvOptions{.max_dbs = 128});
  std::map<std::string, std::vector<std::pair<Bytes, Bytes>>> out;
  for (std::size_t slot = 0; slot < kIndexSlots; ++slot) {
    const std::string name = index_slot_name(slot);
    MDB_dbi dbi = env.open_db(name.c_str());
    env.read([&](const lmdb::Txn& txn) {
      lmdb::Cursor c(txn, dbi);
      for (bool at = c.seek(nullptr); at; at = c.next()) {
        ByteView k = lmdb::view(c.key()), v = lmdb::view(c.value());
        out[name].emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
      }
    });
  }
  return out;
}

std::vector<std::string> names(const std::vector<IndexRun>& runs) {
  std::vector<std::string> out;
  for (const IndexRun& r : runs)
    out.push_back(index_slot_name(r.slot) + " [" + std::to_string(r.first) + "," +
                  std::to_string(r.end) + ")");
  return out;
}

// LEDGER_FORMAT.md §11's worked example.
TEST(EventIndex, RunsAtALogSizeMatchTheWorkedExample) {
  EXPECT_EQ(names(index_runs(0, 0)), std::vector<std::string>{});
  EXPECT_EQ(names(index_runs(9500, 0)),
            (std::vector<std::string>{"event_index.1.0 [0,8192)", "event_index.0.0 [8192,9216)",
                                      "event_index.0.1 [9216,9500)"}));
  EXPECT_EQ(names(index_runs(1024, 0)), std::vector<std::string>{"event_index.0.0 [0,1024)"});
  EXPECT_EQ(names(index_runs(8192, 0)), std::vector<std::string>{"event_index.1.0 [0,8192)"});
  // A converted shard: the first 5000 ids stay in `event_index`; the runs hold the seqs after
  // them, and runs wholly below it are gone. A damaged index_legacy beyond the log is cut at n.
  EXPECT_EQ(names(index_runs(9500, 20'000)), std::vector<std::string>{"event_index [0,9500)"});
  EXPECT_EQ(
      names(index_runs(9500, 5000)),
      (std::vector<std::string>{"event_index [0,5000)", "event_index.1.0 [5000,8192)",
                                "event_index.0.0 [8192,9216)", "event_index.0.1 [9216,9500)"}));
  EXPECT_EQ(names(index_runs(9500, 8192)),
            (std::vector<std::string>{"event_index [0,8192)", "event_index.0.0 [8192,9216)",
                                      "event_index.0.1 [9216,9500)"}));
  // 10,000,000 = 2·8^4 + 3·8^3 + 0·8^2 + 4·8 + 5 blocks of 1024, and 640 entries more.
  const auto big = index_runs(10'000'000, 0);
  EXPECT_EQ(big.size(), 2u + 3 + 0 + 4 + 5 + 1);
  EXPECT_EQ(index_slot_name(big.front().slot), "event_index.4.0");
  EXPECT_EQ(big.back().end, 10'000'000u);
  // The runs tile the log.
  std::uint64_t at = 0;
  std::vector<IndexRun> sorted = big;
  std::sort(sorted.begin(), sorted.end(),
            [](const IndexRun& a, const IndexRun& b) { return a.first < b.first; });
  for (const IndexRun& r : sorted) {
    EXPECT_EQ(r.first, at);
    at = r.end;
  }
  EXPECT_EQ(at, 10'000'000u);
}

// The batches of §11's example: what each run holds after each.
TEST(EventIndex, BatchesFillStartAndMergeRunsAsTheExampleSays) {
  testing::TempDir dir;
  auto counts = [&] {
    std::map<std::string, std::size_t> out;
    for (const auto& [name, records] : index_dump(dir.path())) out[name] = records.size();
    return out;
  };
  using Counts = std::map<std::string, std::size_t>;
  {
    auto l = open(dir.path());
    append(*l, 0, 9500, [] { return 9500; });
  }
  EXPECT_EQ(
      counts(),
      (Counts{{"event_index.0.0", 1024}, {"event_index.0.1", 284}, {"event_index.1.0", 8192}}));
  append(*open(dir.path()), 9500, 10'300, [] { return 800; });
  EXPECT_EQ(counts(), (Counts{{"event_index.0.0", 1024},
                              {"event_index.0.1", 1024},
                              {"event_index.0.2", 60},
                              {"event_index.1.0", 8192}}));
  append(*open(dir.path()), 10'300, 16'384, [] { return 2000; });
  EXPECT_EQ(counts(), (Counts{{"event_index.1.0", 8192}, {"event_index.1.1", 8192}}));
  append(*open(dir.path()), 16'384, 65'536, [] { return 4000; });
  EXPECT_EQ(counts(), (Counts{{"event_index.2.0", 65'536}}));
}

// 70,000 entries cross the 65,536-entry block, so every tier-0 and tier-1 run has been merged
// at least once and the first tier-2 run written. Each run holds exactly the ids of its seqs;
// every id is found, a re-send and a conflict are told apart by a new handle (whose filter is
// built from the runs), and verify passes.
TEST(EventIndex, EveryIdIsInItsRunAcrossMergesAndFoundByANewHandle) {
  testing::TempDir dir;
  constexpr std::uint64_t kN = 70'000;
  std::mt19937_64 rng(7);
  {
    auto l = open(dir.path());
    append(*l, 0, kN, [&] { return 1 + rng() % 3000; });
    EXPECT_EQ(l->head().size, kN);
  }
  const auto dump = index_dump(dir.path());
  std::uint64_t records = 0;
  for (const IndexRun& r : index_runs(kN, 0)) {
    const auto it = dump.find(index_slot_name(r.slot));
    ASSERT_NE(it, dump.end()) << index_slot_name(r.slot);
    EXPECT_EQ(it->second.size(), r.end - r.first) << index_slot_name(r.slot);
    for (const auto& [k, seq] : it->second) {
      ASSERT_GE(seq, r.first);
      ASSERT_LT(seq, r.end);
      const EventId want = synthetic(seq).id;
      EXPECT_EQ(k, Bytes(want.bytes.begin(), want.bytes.end()));
    }
    records += it->second.size();
  }
  EXPECT_EQ(records, kN);  // and no other database holds any
  std::uint64_t elsewhere = 0;
  for (const auto& [name, recs] : dump) elsewhere += recs.size();
  EXPECT_EQ(elsewhere, kN);

  auto l = open(dir.path());
  for (std::uint64_t seq : {0ull, 1023ull, 1024ull, 65535ull, 65536ull, 69999ull}) {
    auto e = l->get_by_event(synthetic(seq).id);
    ASSERT_TRUE(e) << seq << ": " << e.status().to_string();
    EXPECT_EQ(e->seq.value, seq);
  }
  EXPECT_FALSE(l->get_by_event(synthetic(kN).id));
  // Re-sends of every 7th event and a conflicting event under every 11th id: nothing appended.
  ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
    for (std::uint64_t k = 0; k < kN; k += 7) {
      Synthetic s = synthetic(k);
      AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{0}});
      EXPECT_EQ(r.outcome, AppendOutcome::kAlreadyPresent) << k;
      EXPECT_EQ(r.seq.value, k);
    }
    for (std::uint64_t k = 0; k < kN; k += 11) {
      Synthetic s = synthetic(k, 1);
      AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{0}});
      EXPECT_EQ(r.outcome, AppendOutcome::kConflict) << k;
    }
    return Status::ok();
  }));
  EXPECT_EQ(l->head().size, kN);
  VerifyReport v = l->verify();
  EXPECT_TRUE(v.ok) << v.problem.to_string();
}

// The ids a batch appended before the writer's filter was built (mid-batch, once enough look-ups
// pay for it) are in the filter too: a re-send of one in the next batch is found.
TEST(EventIndex, IdsAppendedBeforeTheFilterWasBuiltAreFoundByTheNextBatch) {
  testing::TempDir dir;
  {
    auto l = open(dir.path());
    append(*l, 0, 40'000, [] { return 5000; });
  }
  auto l = open(dir.path());  // no filter yet: it is built after 1,250 look-ups
  append(*l, 40'000, 43'000, [] { return 3000; });  // so in the middle of this batch
  ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
    for (std::uint64_t k : {40'000ull, 40'500ull, 41'249ull, 42'999ull, 100ull}) {
      Synthetic s = synthetic(k);
      AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{0}});
      EXPECT_EQ(r.outcome, AppendOutcome::kAlreadyPresent) << k;
      EXPECT_EQ(r.seq.value, k);
    }
    return Status::ok();
  }));
  EXPECT_EQ(l->head().size, 43'000u);
}

// The writer's filter fills as the log grows (its capacity is fixed when it is built). Before
// a58953a the look-ups made after a full filter was dropped were counted as if no filter had ever
// paid for itself: the next n/32 new ids each searched every run (2,874 searches in 100k appends).
// Since then it was built again at the next look-up; now, once three quarters full, its successor
// is built from a read transaction on another thread while the writer goes on, and the ids the
// writer appends meanwhile are added to it before it replaces the full one. New ids get past the
// filter only as its false positives (~0.01-0.04%), and a re-send of any id — appended before,
// during or after a build — is found.
TEST(EventIndex, AFullFilterIsReplacedByOneBuiltBesideTheWriterThatMissesNoId) {
  testing::TempDir dir;
  auto l = open(dir.path());
  append(*l, 0, 100'000, [] { return 1000; });
  EXPECT_EQ(l->head().size, 100'000u);
  // The first filter's capacity is 87,381 ids: its successor is built beside from ~65.5k entries
  // and adopted at ~87.4k. (100k entries, not more: the test also runs under valgrind.)
  EXPECT_GE(l->filters_built_beside_for_testing(), 1u);
  EXPECT_LT(l->index_searches_for_testing(), 200u);
  // Every id, since when a build's transaction starts (and so which ids it misses) depends on
  // the threads' timing.
  std::uint64_t missed = 0, first_missed = 0;
  ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
    for (std::uint64_t k = 0; k < 100'000; ++k) {
      Synthetic s = synthetic(k);
      AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{0}});
      if (r.outcome != AppendOutcome::kAlreadyPresent || r.seq.value != k)
        if (missed++ == 0) first_missed = k;
    }
    return Status::ok();
  }));
  EXPECT_EQ(missed, 0u) << "the first re-send not found: " << first_missed;
  EXPECT_EQ(l->head().size, 100'000u);
  EXPECT_TRUE(l->verify().ok);
}

// Ids handed to the shard ahead of their look-ups (Ledger::Batch::expect, a prefetch of the
// filter's blocks) change nothing: two shards given the same batches, one with every batch's ids
// (and ids never appended) handed ahead, the other without, give the same outcomes, run the same
// index searches and hold the same runs and head. The hint comes before the filter exists (a new
// handle's first batch) and after, with a re-send, a conflict and an id expected but never sent.
TEST(EventIndex, IdsHandedAheadChangeNoOutcomeSearchOrRecord) {
  testing::TempDir with, without;
  auto run = [](const std::string& dir, bool ahead) {
    std::vector<std::pair<AppendOutcome, std::uint64_t>> outcomes;
    std::vector<std::optional<std::uint64_t>> found;
    auto batch = [&](Ledger& l, std::uint64_t from, std::uint64_t to) {
      ASSERT_TRUE(l.write([&](Ledger::Batch& b) {
        if (ahead) {
          std::vector<EventId> ids;
          for (std::uint64_t k = from; k < to + 50; ++k) ids.push_back(synthetic(k).id);
          ids.push_back(synthetic(7).id);          // a re-send below
          ids.push_back(synthetic(1'000'000).id);  // never sent
          ids.push_back(EventId{});                // nobody's
          b.expect(ids);
        }
        for (std::uint64_t k = from; k < to; ++k) {
          Synthetic s = synthetic(k);
          AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0},
                                               KafkaOffset{static_cast<std::int64_t>(k)}});
          outcomes.emplace_back(r.outcome, r.seq.value);
        }
        Synthetic resend = synthetic(7), conflict = synthetic(11, 1);
        for (const Synthetic* s : {&resend, &conflict}) {
          AppendResult r =
              b.append(AppendItem{s->wire, s->id, false, Partition{0}, KafkaOffset{0}});
          outcomes.emplace_back(r.outcome, r.seq.value);
        }
        for (std::uint64_t k : {from, to - 1, to, std::uint64_t{1'000'000}}) {
          auto at = b.find_event(synthetic(k).id, synthetic(k).wire);
          found.push_back(at ? std::optional(at->first.value) : std::nullopt);
        }
        b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(to)});
        return Status::ok();
      }));
    };
    std::uint64_t searches = 0;
    {
      auto l = open(dir);
      for (std::uint64_t i = 0; i < 12'000; i += 1500) batch(*l, i, i + 1500);
      searches += l->index_searches_for_testing();
    }
    auto l = open(dir);  // a new handle: no filter until its look-ups pay for one
    for (std::uint64_t i = 12'000; i < 15'000; i += 1000) batch(*l, i, i + 1000);
    searches += l->index_searches_for_testing();
    EXPECT_TRUE(l->verify().ok);
    return std::make_tuple(outcomes, found, searches, l->head().size, l->head().root);
  };
  const auto a = run(with.path(), true), b = run(without.path(), false);
  EXPECT_EQ(std::get<0>(a), std::get<0>(b));
  EXPECT_EQ(std::get<1>(a), std::get<1>(b));
  EXPECT_EQ(std::get<2>(a), std::get<2>(b));
  EXPECT_EQ(std::get<3>(a), 15'000u);
  EXPECT_EQ(std::get<3>(a), std::get<3>(b));
  EXPECT_EQ(std::get<4>(a), std::get<4>(b));
  EXPECT_EQ(index_raw(with.path()), index_raw(without.path()));
  // The outcomes are the expected ones, not merely the same: every new event appended at its
  // seq, the re-send found at 7, the conflict refused.
  const auto& outcomes = std::get<0>(a);
  ASSERT_EQ(outcomes.size(), 15'000u + 2 * 11);
  EXPECT_EQ(outcomes[0], std::make_pair(AppendOutcome::kAppended, std::uint64_t{0}));
  EXPECT_EQ(outcomes[1500], std::make_pair(AppendOutcome::kAlreadyPresent, std::uint64_t{7}));
  EXPECT_EQ(outcomes[1501].first, AppendOutcome::kConflict);
  EXPECT_EQ(outcomes.back().first, AppendOutcome::kConflict);
  EXPECT_EQ(std::get<1>(a)[2], std::nullopt);  // `to`, expected ahead but not yet appended
  EXPECT_EQ(std::get<1>(a)[3], std::nullopt);  // never sent
}

// Replaying the same entries in other batches builds byte-identical runs (LEDGER_FORMAT.md §8).
TEST(EventIndex, TheRunsAreTheSameHoweverTheBatchesFell) {
  testing::TempDir a, b, c;
  constexpr std::uint64_t kN = 17'500;
  std::mt19937_64 rng(11);
  append(*open(a.path()), 0, kN, [] { return kN; });
  append(*open(b.path()), 0, kN, [&] { return 1 + rng() % 2500; });
  append(*open(c.path()), 0, kN, [&] { return 1 + rng() % 40; });
  const auto da = index_raw(a.path());
  EXPECT_EQ(da, index_raw(b.path()));
  EXPECT_EQ(da, index_raw(c.path()));
  EXPECT_EQ(da.size(), index_runs(kN, 0).size());  // 2 runs of tier 1, 1 of tier 0 and a partial
}

// A run is stored in chunks of 83 records, the last holding the rest, each under its first id,
// the ids increasing throughout (LEDGER_FORMAT.md §11's example): 8,192 ids in 98 full chunks
// and one of 58; the 284 ids of the block being filled in three and one of 35.
TEST(EventIndex, ARunIsStoredInFullChunksThenTheRest) {
  testing::TempDir dir;
  append(*open(dir.path()), 0, 9500, [] { return 1000; });
  const auto raw = index_raw(dir.path());
  auto sizes = [&](const std::string& name) {
    std::vector<std::size_t> out;
    Bytes last;
    for (const auto& [k, v] : raw.at(name)) {
      EXPECT_EQ(v.size() % kRunRecordSize, 0u);
      out.push_back(v.size() / kRunRecordSize);
      EXPECT_EQ(k, Bytes(v.begin(), v.begin() + 16));  // the key is the first id
      for (std::size_t i = 0; i < v.size(); i += kRunRecordSize) {
        const Bytes id(v.begin() + static_cast<std::ptrdiff_t>(i),
                       v.begin() + static_cast<std::ptrdiff_t>(i + 16));
        EXPECT_LT(last, id);
        last = id;
        const EventId want = synthetic(get_le(v.data() + i + 16, 8)).id;
        EXPECT_EQ(id, Bytes(want.bytes.begin(), want.bytes.end()));
      }
    }
    return out;
  };
  std::vector<std::size_t> want(98, 83);
  want.push_back(58);
  EXPECT_EQ(sizes("event_index.1.0"), want);
  EXPECT_EQ(sizes("event_index.0.1"), (std::vector<std::size_t>{83, 83, 83, 35}));
}

// LEDGER_FORMAT.md §11's chunk: ids 11…11 at seq 7 and 22…22 at seq 3, one LMDB record; read
// back, and each id found by the search a look-up makes (an id between or around them is not).
TEST(EventIndex, AChunkReadsAsTheExampleSays) {
  testing::TempDir dir;
  lmdb::Env env(dir.path(), lmdb::EnvOptions{});
  MDB_dbi run = env.open_db("event_index.0.0");
  const Bytes key = from_hex("11111111111111111111111111111111").value();
  const Bytes value = from_hex(
                          "11111111111111111111111111111111"
                          "0700000000000000"
                          "22222222222222222222222222222222"
                          "0300000000000000")
                          .value();
  env.write(
      [&](lmdb::Txn& txn) { txn.put(run, lmdb::val(ByteView(key)), lmdb::val(ByteView(value))); });
  env.read([&](const lmdb::Txn& txn) {
    const Bytes a(16, 0x11), b(16, 0x22), between(16, 0x1a), below(16, 0x01), above(16, 0x33);
    EXPECT_EQ(runs::read(txn, run, true), (std::vector<runs::Record>{{a, 7}, {b, 3}}));
    EXPECT_EQ(find_in_run(txn, run, true, a.data()), 7u);
    EXPECT_EQ(find_in_run(txn, run, true, b.data()), 3u);
    for (const Bytes& id : {between, below, above})
      EXPECT_FALSE(find_in_run(txn, run, true, id.data())) << to_hex(id);
    // Read as one LMDB record per id (formats 3 and 4), the chunk is malformed.
    RunCursor c(txn, run, false);
    EXPECT_FALSE(c.valid());
    EXPECT_TRUE(c.malformed());
  });
}

// A format-4 shard (one LMDB record per id in its runs) opens, finds ids and verifies as it is;
// its first write converts it to format 5, after which its index is byte for byte a new shard's
// of the same entries.
TEST(EventIndex, AFormatFourShardIsReadAsItIsAndItsRunsChunkedAtItsFirstWrite) {
  testing::TempDir old_shard, fresh;
  constexpr std::uint64_t kHalf = 20'000, kN = 40'000;
  append(*open(old_shard.path()), 0, kHalf, [] { return 1500; });
  runs::relayout(old_shard.path(), false);
  runs::set_format(old_shard.path(), 4);
  ASSERT_EQ(runs::format_of(old_shard.path()), 4u);
  EXPECT_EQ(index_raw(old_shard.path()).at("event_index.1.0").size(), 8192u);  // one per id
  {                                                                            // Read as it is.
    auto l = open(old_shard.path());
    for (std::uint64_t seq : {0ull, 8191ull, 8192ull, 19'999ull}) {
      auto e = l->get_by_event(synthetic(seq).id);
      ASSERT_TRUE(e) << seq << ": " << e.status().to_string();
      EXPECT_EQ(e->seq.value, seq);
    }
    VerifyReport r = l->verify();
    EXPECT_TRUE(r.ok) << r.problem.to_string();
  }
  EXPECT_EQ(runs::format_of(old_shard.path()), 4u);
  append(*open(old_shard.path()), kHalf, kN, [] { return 1500; });  // converts it
  append(*open(fresh.path()), 0, kN, [] { return 1500; });
  EXPECT_EQ(runs::format_of(old_shard.path()), 5u);
  EXPECT_EQ(index_raw(old_shard.path()), index_raw(fresh.path()));
  auto l = open(old_shard.path());
  VerifyReport r = l->verify();
  EXPECT_TRUE(r.ok) << r.problem.to_string();
  auto e = l->get_by_event(synthetic(12'345).id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->seq.value, 12'345u);
}

// Damage to a run: verify names the entry whose record is missing, points elsewhere or sits in
// another run, and reports records no entry has.
TEST(EventIndex, VerifyNamesTheEntryOfADamagedRun) {
  testing::TempDir clean;
  constexpr std::uint64_t kN = 20'000;
  append(*open(clean.path()), 0, kN, [] { return 777; });
  auto id = [](std::uint64_t seq) {
    Synthetic s = synthetic(seq);
    return Bytes(s.id.bytes.begin(), s.id.bytes.end());
  };
  auto seq_value = [](std::uint64_t seq) {
    Bytes v(8);
    put_le(v.data(), seq, 8);
    return v;
  };
  // A run's records, changed by `edit` and written back in chunks, in id order.
  using Records = std::vector<runs::Record>;
  auto edit = [](lmdb::Txn& t, MDB_dbi run, const std::function<void(Records&)>& fn) {
    Records r = runs::read(t, run, true);
    fn(r);
    std::sort(r.begin(), r.end());
    runs::write(t, run, r, true);
  };
  auto erase = [](Records& r, const Bytes& id) {
    const auto n = std::erase_if(r, [&](const runs::Record& x) { return x.id == id; });
    EXPECT_EQ(n, 1u);
  };
  struct Case {
    std::string what;
    std::function<void(lmdb::Txn&, const std::function<MDB_dbi(const char*)>&)> damage;
    std::uint64_t first_bad;
    std::string message;
  };
  // 20,000 entries: runs 1.0 [0,8192), 1.1 [8192,16384), 0.0-0.2 [16384,19456), 0.3 [19456,20000).
  const std::vector<Case> cases = {
      {"deleted from a tier-1 run",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.1.1"), [&](Records& r) { erase(r, id(9000)); });
       },
       9000, "does not point at this entry"},
      {"pointing elsewhere",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.0.2"), [&](Records& r) {
           for (runs::Record& x : r)
             if (x.id == id(18500)) x.seq = 18501;
         });
       },
       18500, "does not point at this entry"},
      {"moved into another run",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.1.0"), [&](Records& r) { erase(r, id(300)); });
         edit(t, db("event_index.1.1"), [&](Records& r) { r.push_back({id(300), 300}); });
       },
       300, "does not point at this entry"},
      {"a second id for an entry",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.0.0"), [&](Records& r) { r.push_back({id(kN + 5), 17000}); });
       },
       17000, "another id at this entry"},
      {"a record in a run not in use",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.2.3"), [&](Records& r) { r.push_back({id(kN + 5), 5}); });
       },
       kN - 1, "ids that are not in the log"},
      {"a record beyond the log",
       [&](lmdb::Txn& t, auto db) {
         edit(t, db("event_index.0.3"), [&](Records& r) { r.push_back({id(kN + 5), kN}); });
       },
       kN - 1, "ids that are not in the log"},
      {"meta/index_legacy beyond the log",  // as if every entry were in `event_index`, empty here
       [&](lmdb::Txn& t, auto db) {
         t.put(db("meta"), lmdb::val(std::string_view("index_legacy")),
               lmdb::val(ByteView(seq_value(kN + 1000))));
         // and a record in it beyond the log, inside the range the damaged value claims
         t.put(db("event_index"), lmdb::val(ByteView(id(kN + 5))),
               lmdb::val(ByteView(seq_value(kN + 10))));
       },
       0, "does not point at this entry"},
  };
  // Every chunk size for every case; under memcheck (ops/valgrind.sh) one per case, in turn.
  const std::array<std::uint32_t, 3> levels = {12, 16, 5};
  const std::size_t stride = testing::exhaustive_stride() > 1 ? levels.size() : 1;
  for (std::size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    SCOPED_TRACE(c.what);
    testing::TempDir dir;
    std::filesystem::copy(clean.path(), dir.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    {
      lmdb::Env env(dir.path(), lmdb::EnvOptions{.max_dbs = 128});
      std::map<std::string, MDB_dbi> dbs;
      for (std::size_t slot = 0; slot < kIndexSlots; ++slot)
        dbs[index_slot_name(slot)] = env.open_db(index_slot_name(slot).c_str());
      dbs["meta"] = env.open_db("meta");
      env.write([&](lmdb::Txn& txn) { c.damage(txn, [&](const char* n) { return dbs.at(n); }); });
    }
    auto l = open(dir.path());
    for (std::size_t li = stride > 1 ? n % levels.size() : 0; li < levels.size(); li += stride) {
      const std::uint32_t level = levels[li];
      VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
      EXPECT_FALSE(r.ok) << "chunks of 2^" << level;
      ASSERT_TRUE(r.first_bad) << r.problem.to_string();
      EXPECT_EQ(r.first_bad->value, c.first_bad) << "chunks of 2^" << level;
      EXPECT_NE(r.problem.message().find(c.message), std::string::npos) << r.problem.to_string();
    }
  }
}

// A chunk that is not one (cut short, under another key than its first id, its ids out of
// order, too many records): verify fails, naming either an entry of the chunk that the index no
// longer finds or, when every entry is still found, the run; and the writer, reading back the
// run of the block being filled, fails its batch rather than extend it (nothing written).
TEST(EventIndex, AMalformedChunkIsReportedAndNotWrittenOn) {
  testing::TempDir clean;
  constexpr std::uint64_t kN = 9000;  // runs 1.0 [0,8192) and 0.0 [8192,9000)
  append(*open(clean.path()), 0, kN, [] { return 1000; });
  struct Case {
    std::string what;
    std::function<void(std::pair<Bytes, Bytes>&)> damage;  // to chunk 40 of run 1.0
  };
  const std::vector<Case> cases = {
      {"cut short", [](auto& kv) { kv.second.resize(kv.second.size() - 5); }},
      {"under another key", [](auto& kv) { kv.first.back() ^= 0x01; }},
      {"ids out of order",
       [](auto& kv) {  // records 40 and 41 swapped
         std::swap_ranges(kv.second.begin() + 40 * kRunRecordSize,
                          kv.second.begin() + 41 * kRunRecordSize,
                          kv.second.begin() + 41 * kRunRecordSize);
       }},
      {"more records than a chunk holds",
       [](auto& kv) {  // the next chunk's first record appended: 84
         kv.second.insert(kv.second.end(), kv.second.end() - kRunRecordSize, kv.second.end());
         kv.second.back() ^= 0x01;
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    testing::TempDir dir;
    std::filesystem::copy(clean.path(), dir.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    std::vector<std::uint64_t> seqs;  // of the damaged chunk's records
    {
      lmdb::Env env(dir.path(), lmdb::EnvOptions{.max_dbs = 128});
      MDB_dbi run = env.open_db("event_index.1.0");
      env.write([&](lmdb::Txn& txn) {
        lmdb::Cursor cur(txn, run);
        bool at = cur.seek(nullptr);
        for (int i = 0; i < 40 && at; ++i) at = cur.next();
        ASSERT_TRUE(at);
        std::pair<Bytes, Bytes> kv{
            Bytes(lmdb::view(cur.key()).begin(), lmdb::view(cur.key()).end()),
            Bytes(lmdb::view(cur.value()).begin(), lmdb::view(cur.value()).end())};
        for (std::size_t i = 0; i + kRunRecordSize <= kv.second.size(); i += kRunRecordSize)
          seqs.push_back(get_le(kv.second.data() + i + 16, 8));
        const Bytes key = kv.first;
        c.damage(kv);
        txn.erase(run, lmdb::val(ByteView(key)));
        txn.put(run, lmdb::val(ByteView(kv.first)), lmdb::val(ByteView(kv.second)));
      });
    }
    auto l = open(dir.path());
    for (std::uint32_t level : {12u, 5u}) {
      VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
      EXPECT_FALSE(r.ok) << "chunks of 2^" << level;
      ASSERT_TRUE(r.first_bad) << r.problem.to_string();
      const bool names_entry =
          std::find(seqs.begin(), seqs.end(), r.first_bad->value) != seqs.end() &&
          r.problem.message().find("does not point at this entry") != std::string::npos;
      const bool names_run =
          r.problem.message().find("event_index.1.0 holds a malformed chunk") != std::string::npos;
      EXPECT_TRUE(names_entry || names_run)
          << "chunks of 2^" << level << ": " << r.problem.to_string();
    }
  }
  // The writer reads the run of the block being filled back at its next batch: a chunk of it
  // cut short fails the write, and nothing is written.
  {
    lmdb::Env env(clean.path(), lmdb::EnvOptions{.max_dbs = 128});
    MDB_dbi run = env.open_db("event_index.0.0");
    env.write([&](lmdb::Txn& txn) {
      lmdb::Cursor cur(txn, run);
      ASSERT_TRUE(cur.seek(nullptr) && cur.next());
      const Bytes key(lmdb::view(cur.key()).begin(), lmdb::view(cur.key()).end());
      Bytes value(lmdb::view(cur.value()).begin(), lmdb::view(cur.value()).end());
      value.resize(value.size() - 5);
      txn.put(run, lmdb::val(ByteView(key)), lmdb::val(ByteView(value)));
    });
  }
  auto l = open(clean.path());
  const Synthetic s = synthetic(kN);
  Status w = l->write([&](Ledger::Batch& b) {
    b.append(
        AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{static_cast<std::int64_t>(kN)}});
    return Status::ok();
  });
  EXPECT_FALSE(w);
  EXPECT_NE(w.message().find("malformed chunk"), std::string::npos) << w.to_string();
  EXPECT_EQ(l->head().size, kN);
  EXPECT_EQ(open(clean.path())->head().size, kN);
}

}  // namespace index_test
}  // namespace govcredit
