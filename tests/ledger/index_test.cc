// The event index's runs (docs/LEDGER_FORMAT.md §11) against a real LMDB environment: which runs
// exist at a log size, every id found once across merges, re-sends and conflicts told apart by a
// fresh handle, the same runs however the batches fell, and verify naming a damaged run's entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "govcredit/codec.h"
#include "govcredit/crypto.h"
#include "govcredit/ledger.h"
#include "ledger/ledger_impl.h"
#include "ledger/lmdb.h"
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

// Every record of every index database of a closed shard, by database name.
std::map<std::string, std::vector<std::pair<Bytes, Bytes>>> index_dump(const std::string& dir) {
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
    for (const auto& [k, v] : it->second) {
      const std::uint64_t seq = get_le(v.data(), 8);
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

// The writer's filter fills as the log grows (its capacity is fixed when it is built) and is then
// built again, larger, at the next look-up. Before a58953a the look-ups made after a full filter
// was dropped were counted as if no filter had ever paid for itself: the next n/32 new ids each
// searched every run (2,874 searches in this test). New ids now get past the filter only as its
// false positives (~0.01-0.04%).
TEST(EventIndex, AFilterThatFillsIsBuiltAgainRatherThanSearchingTheRuns) {
  testing::TempDir dir;
  auto l = open(dir.path());
  append(*l, 0, 100'000, [] { return 1000; });
  EXPECT_EQ(l->head().size, 100'000u);
  EXPECT_LT(l->index_searches_for_testing(), 200u);
  // And a re-send of an id appended before the filter was built again is still found (a search).
  ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
    Synthetic s = synthetic(12'345);
    AppendResult r = b.append(AppendItem{s.wire, s.id, false, Partition{0}, KafkaOffset{0}});
    EXPECT_EQ(r.outcome, AppendOutcome::kAlreadyPresent);
    EXPECT_EQ(r.seq.value, 12'345u);
    return Status::ok();
  }));
  EXPECT_EQ(l->head().size, 100'000u);
}

// Replaying the same entries in other batches builds byte-identical runs (LEDGER_FORMAT.md §8).
TEST(EventIndex, TheRunsAreTheSameHoweverTheBatchesFell) {
  testing::TempDir a, b, c;
  constexpr std::uint64_t kN = 17'500;
  std::mt19937_64 rng(11);
  append(*open(a.path()), 0, kN, [] { return kN; });
  append(*open(b.path()), 0, kN, [&] { return 1 + rng() % 2500; });
  append(*open(c.path()), 0, kN, [&] { return 1 + rng() % 40; });
  const auto da = index_dump(a.path());
  EXPECT_EQ(da, index_dump(b.path()));
  EXPECT_EQ(da, index_dump(c.path()));
  EXPECT_EQ(da.size(), index_runs(kN, 0).size());  // 2 runs of tier 1, 1 of tier 0 and a partial
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
         EXPECT_TRUE(t.erase(db("event_index.1.1"), lmdb::val(ByteView(id(9000)))));
       },
       9000, "does not point at this entry"},
      {"pointing elsewhere",
       [&](lmdb::Txn& t, auto db) {
         t.put(db("event_index.0.2"), lmdb::val(ByteView(id(18500))),
               lmdb::val(ByteView(seq_value(18501))));
       },
       18500, "does not point at this entry"},
      {"moved into another run",
       [&](lmdb::Txn& t, auto db) {
         EXPECT_TRUE(t.erase(db("event_index.1.0"), lmdb::val(ByteView(id(300)))));
         t.put(db("event_index.1.1"), lmdb::val(ByteView(id(300))),
               lmdb::val(ByteView(seq_value(300))));
       },
       300, "does not point at this entry"},
      {"a second id for an entry",
       [&](lmdb::Txn& t, auto db) {
         t.put(db("event_index.0.0"), lmdb::val(ByteView(id(kN + 5))),
               lmdb::val(ByteView(seq_value(17000))));
       },
       17000, "another id at this entry"},
      {"a record in a run not in use",
       [&](lmdb::Txn& t, auto db) {
         t.put(db("event_index.2.3"), lmdb::val(ByteView(id(kN + 5))),
               lmdb::val(ByteView(seq_value(5))));
       },
       kN - 1, "ids that are not in the log"},
      {"a record beyond the log",
       [&](lmdb::Txn& t, auto db) {
         t.put(db("event_index.0.3"), lmdb::val(ByteView(id(kN + 5))),
               lmdb::val(ByteView(seq_value(kN))));
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

}  // namespace index_test
}  // namespace govcredit
