// Projection determinism, catch-up, time travel and scoring, over the demo world in a real shard.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <set>

#include "demo/world.h"
#include "encoded.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/ingest.h"
#include "govcredit/projections.h"
#include "govcredit/registry.h"
#include "govcredit/scoring.h"
#include "govcredit/status_cache.h"
#include "pack.h"
#include "projector_impl.h"
#include "support/support.h"

namespace govcredit {
namespace {

const demo::World& world() {
  static const demo::World w = demo::generate(demo::Options{.seed = 11, .records = 400});
  return w;
}

std::unique_ptr<Ledger> open(const std::string& dir) {
  auto l = Ledger::open(dir, Partition{0});
  EXPECT_TRUE(l) << l.status().to_string();
  return std::move(*l);
}

// Ingests the world in batches of `batch`; every event must be accepted.
void ingest_world(Ledger& l, std::size_t batch) {
  auto ing = Ingestor::create(l);
  ASSERT_TRUE(ing) << ing.status().to_string();
  const auto& ev = world().events;
  for (std::size_t i = 0; i < ev.size(); i += batch) {
    std::vector<Message> m;
    for (std::size_t j = i; j < std::min(ev.size(), i + batch); ++j)
      m.push_back(Message{encode_wire(ev[j]), Partition{0},
                          KafkaOffset{static_cast<std::int64_t>(j)}, Timestamp{0}});
    auto r = (*ing)->ingest(m);
    ASSERT_TRUE(r) << r.status().to_string();
    for (const auto& x : *r) ASSERT_EQ(x.outcome, IngestOutcome::kAccepted) << x.status.to_string();
  }
}

Digest stored_digest(const Ledger& l) {
  Digest d;
  EXPECT_TRUE(l.read_side([&](const SideReader& r) {
    d = side_digest(r);
    return Status::ok();
  }));
  return d;
}

TEST(Projections, IncrementalApplyEqualsRebuildByteForByte) {
  testing::TempDir a, b;
  auto la = open(a.path()), lb = open(b.path());
  ingest_world(*la, 1);
  ingest_world(*lb, 97);
  const Digest incremental = stored_digest(*la);
  EXPECT_EQ(incremental, stored_digest(*lb)) << "batch boundaries changed the projections";
  auto mem = rebuild_in_memory(*la);
  ASSERT_TRUE(mem);
  EXPECT_EQ(side_digest(*mem), incremental);
  auto r = rebuild_projections(*la);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->entries, world().events.size());
  EXPECT_EQ(r->digest, incremental);
  EXPECT_EQ(stored_digest(*la), incremental);
  auto check = check_projections(*lb);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok());
}

// Encoded keeps its rows in chunks: rows of every size, across many chunks and past a chunk's
// size, read back in order and byte for byte; clear() forgets them all.
TEST(Projections, EncodedRowsReadBackAcrossChunks) {
  projections_internal::Encoded e(64);
  std::vector<std::pair<Bytes, Bytes>> want;
  for (std::size_t i = 0; i < 300; ++i) {
    Bytes key(1 + i % 9, static_cast<std::uint8_t>(i)),
        value(i % 7 == 0 ? 100 + i : i % 13, static_cast<std::uint8_t>(~i));
    e.add_encoded(key, value);
    want.emplace_back(std::move(key), std::move(value));
    if (i % 5 == 0) {  // an id value, as the receipts and references tables have
      EventId id;
      id.bytes.fill(static_cast<std::uint8_t>(i));
      e.add(want.back().first, id);
      want.emplace_back(want.back().first, Bytes(id.bytes.begin(), id.bytes.end()));
    }
  }
  EXPECT_GT(e.chunks.size(), 50u);
  std::size_t n = 0;
  e.for_each([&](ByteView k, ByteView v) {
    ASSERT_LT(n, want.size());
    EXPECT_TRUE(std::equal(k.begin(), k.end(), want[n].first.begin(), want[n].first.end())) << n;
    EXPECT_TRUE(std::equal(v.begin(), v.end(), want[n].second.begin(), want[n].second.end())) << n;
    ++n;
  });
  EXPECT_EQ(n, want.size());
  // drain() passes the same rows, freeing the chunks as it goes.
  {
    projections_internal::Encoded d(64);
    for (const auto& [k, v] : want) d.add_encoded(k, v);
    std::size_t m = 0;
    d.drain([&](ByteView k, ByteView v) {
      ASSERT_LT(m, want.size());
      EXPECT_TRUE(std::equal(k.begin(), k.end(), want[m].first.begin(), want[m].first.end()));
      EXPECT_TRUE(std::equal(v.begin(), v.end(), want[m].second.begin(), want[m].second.end()));
      if (m > 0) {  // the chunks of the rows before this one's are gone
        EXPECT_TRUE(d.chunks.front().empty());
        EXPECT_EQ(d.chunks.front().capacity(), 0u);
      }
      ++m;
    });
    EXPECT_EQ(m, want.size());
    EXPECT_TRUE(d.chunks.empty());
    EXPECT_TRUE(d.rows.empty());
  }
  e.clear();
  n = 0;
  e.for_each([&](ByteView, ByteView) { ++n; });
  EXPECT_EQ(n, 0u);
  e.add_encoded(as_bytes("k"), as_bytes("v"));
  e.for_each([&](ByteView k, ByteView v) {
    EXPECT_EQ(as_chars(k), "k");
    EXPECT_EQ(as_chars(v), "v");
    ++n;
  });
  EXPECT_EQ(n, 1u);
}

// A flush of more than 20,000 records (a rebuild's) encodes the records, the item blocks and the
// trails on a second thread and writes them as each is ready, while its own thread writes the
// other tables. It must write what flushes small enough for one thread write: the same events
// applied in batches of 2,000, each flushed on top of the last.
TEST(Projections, AFlushOnTwoThreadsWritesWhatSmallFlushesWrite) {
  const demo::World big = demo::generate(demo::Options{.seed = 5, .records = 21000});
  const auto& ev = big.events;
  ASSERT_GT(std::count_if(ev.begin(), ev.end(),
                          [](const Event& e) { return e.as<RecordSubmitted>() != nullptr; }),
            20000);
  MemorySide whole;
  {
    Projector p;
    for (std::size_t i = 0; i < ev.size(); ++i) p.apply(ev[i], Seq{i});
    p.flush(whole, ev.size(), /*empty_tables=*/true);
  }
  MemorySide batches;
  for (std::size_t from = 0; from < ev.size(); from += 2000) {
    const std::size_t to = std::min(ev.size(), from + 2000);
    Projector p(&batches);
    for (std::size_t i = from; i < to; ++i) p.apply(ev[i], Seq{i});
    p.flush(batches, to);
  }
  EXPECT_EQ(side_digest(whole), side_digest(batches));
  std::size_t records = 0, record_bytes = 0, blocks = 0, trails = 0, full_trail_blocks = 0;
  whole.scan(Side::kRecord, {}, [&](ByteView k, ByteView v) {
    record_bytes += k.size() + v.size();
    return ++records, true;
  });
  whole.scan(Side::kAgencyItem, {}, [&](ByteView, ByteView) { return ++blocks, true; });
  whole.scan(Side::kTrail, {}, [&](ByteView, ByteView v) {
    auto lines = pack::decode_lines(v);
    full_trail_blocks += lines && lines->size() == pack::kTrailBlockLines;
    return ++trails, true;
  });
  EXPECT_GT(records, 20000u);
  // (Over 2 MB of records: the second thread's Encoded takes them in one 4 MiB chunk, and the
  // trails' blocks that filled were encoded as they filled, long before the flush.)
  EXPECT_GT(record_bytes, std::size_t{2} << 20);
  EXPECT_GT(blocks, 0u);
  EXPECT_GT(full_trail_blocks, 100u);
  EXPECT_GT(trails, full_trail_blocks);
}

// The rebuild takes its digest from the rows it wrote (DigestingWriter) rather than reading the
// tables back: it must agree with side_digest of what the tables end up holding, in whatever
// order the tables were written, and refuse rows that do not make whole tables in key order.
TEST(Projections, DigestingWriterDigestsExactlyWhatItWrote) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  MemorySide source;
  ASSERT_TRUE(l->read_side([&](const SideReader& r) {
    for (std::size_t i = 0; i < kSideCount; ++i)
      r.scan(static_cast<Side>(i), {}, [&](ByteView k, ByteView v) {
        source.put(static_cast<Side>(i), k, v);
        return true;
      });
    return Status::ok();
  }));
  // A value larger than the writer's 64-KiB pieces, and an empty one, at the end of a table.
  source.put(Side::kReport, as_bytes("~big"), Bytes(std::size_t{5} << 20, 0x5a));
  source.put(Side::kReport, as_bytes("~empty"), {});
  const Digest want = side_digest(source);
  ASSERT_NE(want, stored_digest(*l));

  // The tables in reverse order (a rebuild's flush writes them in the order they are ready).
  MemorySide written;
  written.put(Side::kAgency, as_bytes("stale"), as_bytes("row"));  // cleared through the writer
  DigestingWriter tee(written);
  for (std::size_t i = kSideCount; i-- > 0;) {
    tee.clear(static_cast<Side>(i));
    source.scan(static_cast<Side>(i), {}, [&](ByteView k, ByteView v) {
      tee.append(static_cast<Side>(i), k, v);
      return true;
    });
  }
  EXPECT_EQ(side_digest(written), want);
  ASSERT_TRUE(tee.digest());
  EXPECT_EQ(*tee.digest(), want);  // (asked again: the same)

  // A table never cleared through the writer may hold rows it did not see.
  MemorySide partial;
  partial.put(Side::kMeta, as_bytes("unseen"), as_bytes("row"));
  DigestingWriter skipping(partial);
  for (std::size_t i = 1; i < kSideCount; ++i) skipping.clear(static_cast<Side>(i));
  skipping.put(Side::kMeta, as_bytes("zz"), as_bytes("x"));
  EXPECT_FALSE(skipping.digest());
  // A key written twice, or out of order, leaves the table other than the rows in write order.
  for (auto keys : {std::pair{"a", "a"}, std::pair{"b", "a"}}) {
    MemorySide m;
    DigestingWriter w(m);
    for (std::size_t i = 0; i < kSideCount; ++i) w.clear(static_cast<Side>(i));
    w.put(Side::kAgency, as_bytes(keys.first), as_bytes("1"));
    w.put(Side::kAgency, as_bytes(keys.second), as_bytes("2"));
    EXPECT_FALSE(w.digest()) << keys.first << " then " << keys.second;
  }
  // In order, the same two rows digest like the table they make.
  MemorySide m;
  DigestingWriter w(m);
  for (std::size_t i = 0; i < kSideCount; ++i) w.clear(static_cast<Side>(i));
  w.put(Side::kAgency, as_bytes("a"), as_bytes("1"));
  w.put(Side::kAgency, as_bytes("ab"), as_bytes("2"));
  ASSERT_TRUE(w.digest());
  EXPECT_EQ(*w.digest(), side_digest(m));
}

// The test vectors of LEDGER_FORMAT.md §10.4.
TEST(Projections, TheDigestMatchesTheFormatsTestVectors) {
  MemorySide empty;
  EXPECT_EQ(to_hex(side_digest(empty)),
            "376e16dbcff0ebb15e604f8ce241d24d2f21a96c63fe51479945ed97542ac8ec");
  MemorySide two;
  two.put(Side::kAgency, as_bytes("a"), as_bytes("1"));
  two.put(Side::kAgency, as_bytes("ab"), as_bytes("2"));
  EXPECT_EQ(to_hex(side_digest(two)),
            "35db1fee03b1120a58c8afef45538204d32d834e036308d6ba888ad0016fa13b");
}

// A rebuild writes a second copy of every table in one transaction before the first copy's pages
// are freed. On a shard whose map is nearly full it makes room first (and were that not enough,
// LMDB's map would fill and the whole write run again on a larger one): either way the tables
// come out the same.
TEST(Projections, ARebuildThatOutgrowsTheMapGivesTheSameProjections) {
  testing::TempDir d;
  auto opened = Ledger::open(d.path(), Partition{0}, LedgerOptions{.initial_map_size = 64 * 1024});
  ASSERT_TRUE(opened) << opened.status().to_string();
  Ledger& l = **opened;
  // The map LMDB grew to: the smallest 64 KiB x 2^k that holds every page used so far.
  auto map_bound = [](std::uint64_t used) {
    std::uint64_t m = 64 * 1024;
    while (m < used) m *= 2;
    return m;
  };
  // The log alone (no projections yet), appended until it is at least 256 KiB and fills more
  // than 7/8 of that map.
  auto full = [&] {
    const std::uint64_t used = l.store_bytes();
    return used >= 256 * 1024 && used > map_bound(used) / 8 * 7;
  };
  const auto& ev = world().events;
  std::size_t n = 0;
  while (n < ev.size() && !full()) {
    const std::size_t from = n, to = std::min(ev.size(), n + 10);
    ASSERT_TRUE(l.write([&](Ledger::Batch& b) {
      for (std::size_t i = from; i < to; ++i) {
        const Bytes wire = encode_wire(ev[i]);
        b.append(AppendItem{wire, ev[i].id, Registry::is_registry_event(ev[i]), Partition{0},
                            KafkaOffset{static_cast<std::int64_t>(i)}});
      }
      b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(to)});
      return Status::ok();
    }));
    n = to;
  }
  ASSERT_TRUE(full()) << "the world is too small";
  const std::uint64_t map = map_bound(l.store_bytes());
  auto mem = rebuild_in_memory(l);
  ASSERT_TRUE(mem) << mem.status().to_string();
  auto r = rebuild_projections(l);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_GT(l.store_bytes(), map) << "the rebuild fitted in the map it found";
  EXPECT_EQ(r->entries, n);
  EXPECT_EQ(r->digest, side_digest(*mem));
  EXPECT_EQ(stored_digest(l), side_digest(*mem));
}

// The rebuild frees its in-memory state once its rows are written, before LMDB commits. Should
// the commit meet a full map and be run again (on a larger map), the rebuild starts again from
// the log (an earlier build that freed the state early crashed there; a later one wrote the rows
// again from a copy).
TEST(Projections, ARebuildWhoseCommitMeetsAFullMapWritesTheSameRowsAgain) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  const Digest want = stored_digest(*l);
  for (int failures : {1, 2}) {
    // Something for the rebuild to repair: a transaction that wrote nothing would leave it.
    ASSERT_TRUE(l->write_side([](SideWriter& w) {
      w.put(Side::kAgency, as_bytes("sh.city.finance"), as_bytes("garbage"));
      return Status::ok();
    }));
    ASSERT_NE(stored_digest(*l), want);
    l->fail_commits_as_full_for_testing(failures);
    auto r = rebuild_projections(*l);
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->digest, want) << failures;
    EXPECT_EQ(stored_digest(*l), want) << failures;
  }
  auto check = check_projections(*l);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok());
}

// A rebuild writes a new copy of every table and frees the old one at its commit. The next
// rebuild writes over those freed pages: the store does not grow from one rebuild to the next.
// (LMDB reuses a page only from the second transaction after the one that freed it; without the
// transaction a rebuild commits after its own, back-to-back rebuilds grew the store by a copy
// of the projections each until it held two spare copies.)
TEST(Projections, ARebuildWritesOverThePagesTheRebuildBeforeFreed) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  const Digest want = stored_digest(*l);
  auto first = rebuild_projections(*l);
  ASSERT_TRUE(first) << first.status().to_string();
  const std::uint64_t after_first = l->store_bytes();
  for (int i = 2; i <= 4; ++i) {
    auto r = rebuild_projections(*l);
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->digest, want) << i;
    EXPECT_EQ(l->store_bytes(), after_first) << "rebuild " << i << " grew the store";
  }
  EXPECT_EQ(stored_digest(*l), want);
}

// A rebuild that leaves its state to the process's exit (as `govcredit rebuild` does with its last
// shard's) writes the same tables, and the state stays in the process: one more left each time.
TEST(Projections, ARebuildThatLeavesItsStateToTheExitWritesTheSameTables) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  const Digest want = stored_digest(*l);
  const std::size_t left_before = rebuild_states_left();
  auto left = rebuild_projections(*l, {}, {.free_state = false});
  ASSERT_TRUE(left) << left.status().to_string();
  EXPECT_EQ(left->digest, want);
  EXPECT_EQ(stored_digest(*l), want);
  EXPECT_EQ(rebuild_states_left(), left_before + 1);
  auto c = check_projections(*l);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->ok());
  // The default frees it.
  auto freed = rebuild_projections(*l);
  ASSERT_TRUE(freed) << freed.status().to_string();
  EXPECT_EQ(freed->digest, want);
  EXPECT_EQ(rebuild_states_left(), left_before + 1);
}

// ~2 MiB of rows in one transaction, in a table a rebuild empties: the side tables then hold
// more pages than LMDB's free list, as a node's shard does at 10M entries (~1 GB against little).
void pad_side_tables(Ledger& l) {
  ASSERT_TRUE(l.write_side([&](SideWriter& w) {
    for (int i = 0; i < 2000; ++i)
      w.put(Side::kMeta, as_bytes("pad/" + std::to_string(i)), Bytes(1000, std::uint8_t(i)));
    return Status::ok();
  }));
}

TEST(Projections, ARebuildFillsThePageCacheForWhatItsCopyWillGrowIntoAndComesOutTheSame) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  const Digest want = stored_digest(*l);
  pad_side_tables(*l);
  auto filled = rebuild_projections(*l, {}, {.page_cache_fill_at_least = 0});
  ASSERT_TRUE(filled) << filled.status().to_string();
  EXPECT_GE(filled->page_cache_planned_bytes, std::uint64_t{1} << 20);
  EXPECT_LE(filled->page_cache_filled_bytes, filled->page_cache_planned_bytes);
  EXPECT_EQ(filled->digest, want);
  EXPECT_EQ(stored_digest(*l), want);
  auto c = check_projections(*l);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->ok());
  EXPECT_TRUE(l->verify().ok);
  // The copy that rebuild freed is on the free list, which a next copy fills first: there is
  // nothing to grow into.
  EXPECT_EQ(l->fill_page_cache_for_side_copy(0), nullptr);
  // By default nothing is filled under 4 MiB (the padding's ~2 MiB is under it).
  pad_side_tables(*l);
  auto plain = rebuild_projections(*l);
  ASSERT_TRUE(plain) << plain.status().to_string();
  EXPECT_EQ(plain->page_cache_planned_bytes, 0u);
  EXPECT_EQ(plain->page_cache_filled_bytes, 0u);
  EXPECT_EQ(plain->digest, want);
}

// The world's log alone, appended in one transaction: no projections, and a free list of a page
// or two (many small commits would leave one larger than the world's first copy).
void append_log_alone(Ledger& l) {
  const auto& ev = world().events;
  ASSERT_TRUE(l.write([&](Ledger::Batch& b) {
    for (std::size_t i = 0; i < ev.size(); ++i)
      b.append(AppendItem{encode_wire(ev[i]), ev[i].id, Registry::is_registry_event(ev[i]),
                          Partition{0}, KafkaOffset{static_cast<std::int64_t>(i)}});
    b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(ev.size())});
    return Status::ok();
  }));
}

TEST(Projections, TheFirstRebuildOfALogFillsThePageCacheForAFirstCopyOnlyWhenOneIsLarge) {
  testing::TempDir da, db;
  auto la = open(da.path());
  auto lb = open(db.path());
  append_log_alone(*la);
  append_log_alone(*lb);
  ASSERT_EQ(projection_meta(*la)->applied, 0u);
  // By default a first copy is filled from 256 MiB on, which the world's is far under (the
  // floor for a copy already there is taken out of the way).
  auto plain = rebuild_projections(*la, {}, {.page_cache_fill_at_least = 0});
  ASSERT_TRUE(plain) << plain.status().to_string();
  EXPECT_EQ(plain->page_cache_planned_bytes, 0u);
  // With no floor it is estimated from the log's length, less the free list.
  const std::uint64_t entries = lb->head().size;
  auto filled =
      rebuild_projections(*lb, {}, {.page_cache_fill_at_least = 0, .first_copy_fill_at_least = 0});
  ASSERT_TRUE(filled) << filled.status().to_string();
  EXPECT_GT(filled->page_cache_planned_bytes, entries * kRebuildFirstCopyBytesPerEntry / 2);
  EXPECT_LE(filled->page_cache_planned_bytes, entries * kRebuildFirstCopyBytesPerEntry);
  EXPECT_LE(filled->page_cache_filled_bytes, filled->page_cache_planned_bytes);
  // The fill changes no byte of what is written.
  EXPECT_EQ(filled->digest, plain->digest);
  EXPECT_EQ(stored_digest(*lb), stored_digest(*la));
  auto c = check_projections(*lb);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->ok());
  EXPECT_TRUE(lb->verify().ok);
  // Once the projections are built, their copy sizes the fill, not the estimate.
  auto by_tables = la->fill_page_cache_for_side_copy(0);
  ASSERT_NE(by_tables, nullptr);
  const std::uint64_t planned = by_tables->planned();
  by_tables->finish();
  auto given_more = la->fill_page_cache_for_side_copy(0, std::uint64_t{1} << 40);
  ASSERT_NE(given_more, nullptr);
  EXPECT_EQ(given_more->planned(), planned);
}

TEST(Projections, ATamperedProjectionIsDetectedAndRepairedByRebuild) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 500);
  const Digest good = stored_digest(*l);
  ASSERT_TRUE(l->write_side([](SideWriter& w) {
    w.put(Side::kAgency, as_bytes("sh.city.finance"), as_bytes("garbage"));
    return Status::ok();
  }));
  auto c = check_projections(*l);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->ok());
  auto st = agency_state(*l, AgencyId("sh.city.finance"));
  EXPECT_FALSE(st);
  EXPECT_EQ(st.status().reason(), Reason::kCorrupt);
  ASSERT_TRUE(rebuild_projections(*l));
  EXPECT_EQ(stored_digest(*l), good);
}

TEST(Projections, DroppedProjectionsCatchUpWhenIngestStarts) {
  testing::TempDir d;
  Digest good;
  {
    auto l = open(d.path());
    ingest_world(*l, 300);
    good = stored_digest(*l);
    ASSERT_TRUE(l->write_side([](SideWriter& w) {
      for (std::size_t i = 0; i < kSideCount; ++i) w.clear(static_cast<Side>(i));
      return Status::ok();
    }));
  }
  auto l = open(d.path());
  auto meta = projection_meta(*l);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->applied, 0u);
  ASSERT_TRUE(Ingestor::create(*l));  // catches up
  EXPECT_EQ(stored_digest(*l), good);
  EXPECT_EQ(projection_meta(*l)->applied, world().events.size());
}

TEST(Projections, AnOlderFormatIsNamedAndRebuiltWhenIngestStarts) {
  // A trail block as format 1 wrote it: one 17-byte line (seq 5, 2013-08-28T09:00:00Z, type 4).
  const Bytes format1_block = *from_hex("01010000000500000000000000809e26c44001000004");
  testing::TempDir d;
  Digest good;
  {
    auto l = open(d.path());
    ingest_world(*l, 300);
    good = stored_digest(*l);
    ASSERT_TRUE(trail(*l, TrailKind::kAgency, "sh.city.housing"));
    // What a format-1 build left: its version, and such a block.
    ASSERT_TRUE(l->write_side([&](SideWriter& w) {
      w.put(Side::kMeta, as_bytes("version"), *from_hex("01000000"));
      w.put(Side::kTrail, pack::trail_key(TrailKind::kAgency, "sh.city.housing", Seq{0}),
            format1_block);
      return Status::ok();
    }));
  }
  auto l = open(d.path());
  auto old = trail(*l, TrailKind::kAgency, "sh.city.housing");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.status().reason(), Reason::kUnavailable);
  EXPECT_NE(old.status().message().find("format 1"), std::string::npos) << old.status().message();
  // An object not found under this format's key may be stored under the old format's.
  EventId unknown;
  unknown.bytes.fill(0xee);
  auto missing = record_state(*l, unknown);
  EXPECT_EQ(missing.status().reason(), Reason::kUnavailable) << missing.status().to_string();
  EXPECT_NE(missing.status().message().find("format 1"), std::string::npos);
  ASSERT_TRUE(Ingestor::create(*l));  // rebuilds
  EXPECT_EQ(record_state(*l, unknown).status().reason(), Reason::kNotFound);
  EXPECT_EQ(projection_meta(*l)->version, kProjectionVersion);
  EXPECT_EQ(stored_digest(*l), good);
  EXPECT_TRUE(trail(*l, TrailKind::kAgency, "sh.city.housing"));
  // The same block under the current version is reported as corrupt, not as an old format.
  ASSERT_TRUE(l->write_side([&](SideWriter& w) {
    w.put(Side::kTrail, pack::trail_key(TrailKind::kAgency, "sh.city.housing", Seq{0}),
          format1_block);
    return Status::ok();
  }));
  EXPECT_EQ(trail(*l, TrailKind::kAgency, "sh.city.housing").status().reason(), Reason::kCorrupt);
}

// Every object table is keyed `seq ‖ id` by the log entry that created the object
// (LEDGER_FORMAT.md §10.2), and an object is found from its id alone: in the shard through the
// event index, in a MemorySide through the seqs of its rows.
TEST(Projections, ObjectsAreKeyedByTheEntryThatCreatedThemAndFoundByIdAlone) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 97);
  auto mem = rebuild_in_memory(*l);
  ASSERT_TRUE(mem);
  const std::pair<Side, std::string_view> tables[] = {
      {Side::kRecord, "record.submitted"},
      {Side::kObjection, "objection.raised"},
      {Side::kComplaint, "complaint.filed"},
      {Side::kRecommendation, "recommendation.issued"},
      {Side::kRectification, "rectification.reported"}};
  std::vector<EventId> other_ids;  // ids of events that created no object
  ASSERT_TRUE(l->scan(Seq{0}, Seq{l->head().size}, [&](const Entry& e) {
    auto ev = decode_logged_wire(e.wire);
    EXPECT_TRUE(ev);
    if (ev && event_type_name(ev->payload.index()) == "record.verified")
      other_ids.push_back(ev->id);
    return true;
  }));
  ASSERT_FALSE(other_ids.empty());
  for (const auto& [table, creator] : tables) {
    std::vector<std::pair<Seq, EventId>> keys;
    ASSERT_TRUE(l->read_side([&](const SideReader& r) {
      r.scan(table, {}, [&](ByteView k, ByteView) {
        EXPECT_EQ(k.size(), kObjectKeySize);
        EventId id;
        std::copy(k.begin() + 8, k.end(), id.bytes.begin());
        keys.emplace_back(object_key_seq(k), id);
        return true;
      });
      for (const auto& [seq, id] : keys) {
        EXPECT_EQ(r.seq_of(id), seq);
        EXPECT_TRUE(r.get_object(table, id));
      }
      for (const EventId& id : other_ids) EXPECT_FALSE(r.get_object(table, id));
      return Status::ok();
    }));
    ASSERT_FALSE(keys.empty()) << side_name(table);
    for (const auto& [seq, id] : keys) {
      auto e = l->get(seq);
      ASSERT_TRUE(e);
      auto ev = decode_logged_wire(e->wire);
      ASSERT_TRUE(ev);
      EXPECT_EQ(ev->id, id) << side_name(table) << " at seq " << seq.value;
      EXPECT_EQ(event_type_name(ev->payload.index()), creator);
      EXPECT_EQ(mem->seq_of(id), seq);
      EXPECT_TRUE(mem->get_object(table, id));
    }
  }
  // The read side: in the order of submission, by id, and not under the id of an event that
  // is no such object.
  std::vector<EventId> records;
  std::optional<Seq> last;
  ASSERT_TRUE(for_each_record(*l, [&](const EventId& id, const RecordState& s) {
    EXPECT_TRUE(!last || *last < s.submitted);
    last = s.submitted;
    records.push_back(id);
    return true;
  }));
  ASSERT_FALSE(records.empty());
  for (const EventId& id : records) EXPECT_TRUE(record_state(*l, id)) << to_hex(id.view());
  EXPECT_EQ(record_state(*l, other_ids.front()).status().reason(), Reason::kNotFound);
  EventId unknown;
  unknown.bytes.fill(0xee);
  EXPECT_EQ(record_state(*l, unknown).status().reason(), Reason::kNotFound);
}

// Event ids are the publishers' choice: ids that share most of their bytes must still spread over
// the projections' tables (SECURITY.md §5). The tables are absl's, which take a hash's low seven
// bits for a slot's control byte and the rest for where its probe starts.
TEST(Projections, IdsSharingMostOfTheirBytesHashApart) {
  const projections_internal::IdHash hash;
  for (std::size_t varied : {12u, 0u}) {  // the last four bytes vary, or the first four
    SCOPED_TRACE("bytes " + std::to_string(varied) + "-" + std::to_string(varied + 3) + " vary");
    std::set<std::size_t> hashes, control, start;
    for (std::uint32_t n = 0; n < 1024; ++n) {
      EventId id;
      id.bytes.fill(0x5a);
      std::memcpy(id.bytes.data() + varied, &n, 4);
      const std::size_t h = hash(id);
      hashes.insert(h);
      control.insert(h & 0x7f);
      start.insert((h >> 7) % 1024);
    }
    EXPECT_EQ(hashes.size(), 1024u);
    EXPECT_GT(control.size(), 100u);  // of 128 (~128 expected)
    EXPECT_GT(start.size(), 500u);    // of 1024 (~647 expected)
  }
}

// An agency's items live in p.agency_item blocks of 16 (LEDGER_FORMAT.md §10.2). With several
// blocks per agency, items changed long after they were added (repairs, overturns, amendments,
// recommendations rectified and closed) and batches of every size, incremental ingest must still
// store exactly what a rebuild stores, and every agency must read back whole.
// The ingest path keeps agency, record, complaint and recommendation states between its
// transactions (StateCache). Whatever the cache's limits, the batches must write what a projector
// loading every state from the tables writes, and every state kept must be the one the tables
// would give back.
TEST(Projections, StateCacheKeepsWhatTheTablesWouldLoad) {
  const auto& ev = world().events;
  MemorySide whole;
  {
    Projector p;
    for (std::size_t i = 0; i < ev.size(); ++i) p.apply(ev[i], Seq{i});
    p.flush(whole, ev.size(), /*empty_tables=*/true);
  }
  struct Counts {
    std::size_t agencies = 0, records = 0, complaints = 0, recommendations = 0;
  };
  auto counts = [](const StateCache& c) {
    return Counts{c.agencies(), c.records(), c.complaints(), c.recommendations()};
  };
  const std::pair<std::size_t, std::size_t> limits[] = {
      {0, 0}, {40, 16}, {StateCache::kDefaultMaxItems, StateCache::kDefaultMaxObjects}};
  for (auto [max_items, max_objects] : limits) {
    SCOPED_TRACE("limits " + std::to_string(max_items) + ", " + std::to_string(max_objects));
    MemorySide side;
    StateCache cache(max_items, max_objects);
    Counts taken;  // states a projector took out of the cache instead of loading them
    for (std::size_t from = 0; from < ev.size(); from += 37) {
      const std::size_t to = std::min(ev.size(), from + 37);
      const Counts before = counts(cache);
      Projector p(&side);
      p.use_cache(cache, from);
      for (std::size_t i = from; i < to; ++i) p.apply(ev[i], Seq{i});
      const Counts after = counts(cache);
      taken.agencies += before.agencies - after.agencies;
      taken.records += before.records - after.records;
      taken.complaints += before.complaints - after.complaints;
      taken.recommendations += before.recommendations - after.recommendations;
      p.flush(side, to);
      p.keep_states(cache, to);
      EXPECT_LE(cache.items(), max_items);
      EXPECT_LE(cache.records(), max_objects);
      EXPECT_LE(cache.complaints(), max_objects);
      EXPECT_LE(cache.recommendations(), max_objects);
    }
    EXPECT_EQ(side_digest(side), side_digest(whole));
    if (max_objects > 16) {
      EXPECT_GT(taken.agencies, 0u);
      EXPECT_GT(taken.records, 0u);
      EXPECT_GT(taken.complaints, 0u);
      EXPECT_GT(taken.recommendations, 0u);
      EXPECT_GT(cache.items(), 40u);
      EXPECT_GT(cache.records(), 16u);
      EXPECT_GT(cache.complaints(), 16u);
      EXPECT_GT(cache.recommendations(), 16u);
    }
    // Every state kept is the one its table holds.
    auto same_as_stored = [&](Side table, const EventId& id, const auto& kept, auto decode) {
      auto stored = side.get_object(table, id);
      ASSERT_TRUE(stored) << side_name(table) << " " << to_hex(id);
      auto loaded = decode(*stored);
      ASSERT_TRUE(loaded) << side_name(table) << " " << to_hex(id);
      EXPECT_EQ(kept, *loaded) << side_name(table) << " " << to_hex(id);
    };
    Counts checked;
    for (const Event& e : ev) {
      if (e.as<AgencyRegistered>())
        if (const AgencyState* kept = cache.find(e.subject.value)) {
          std::optional<AgencyState> loaded;
          ASSERT_TRUE(pack::load_agency(side, e.subject.value, loaded));
          ASSERT_TRUE(loaded);
          EXPECT_EQ(*kept, *loaded) << e.subject.value;
          ++checked.agencies;
        }
      if (const RecordState* kept = cache.find_record(e.id)) {
        same_as_stored(Side::kRecord, e.id, *kept, pack::decode_record);
        ++checked.records;
      }
      if (const ComplaintState* kept = cache.find_complaint(e.id)) {
        same_as_stored(Side::kComplaint, e.id, *kept, pack::decode_complaint);
        ++checked.complaints;
      }
      if (const RecommendationState* kept = cache.find_recommendation(e.id)) {
        same_as_stored(Side::kRecommendation, e.id, *kept, pack::decode_recommendation);
        ++checked.recommendations;
      }
    }
    EXPECT_EQ(checked.agencies, cache.agencies());
    EXPECT_EQ(checked.records, cache.records());
    EXPECT_EQ(checked.complaints, cache.complaints());
    EXPECT_EQ(checked.recommendations, cache.recommendations());
    // States kept as of another log size are dropped, not used.
    Projector p(&side);
    p.use_cache(cache, ev.size() + 1);
    EXPECT_EQ(cache.agencies(), 0u);
    EXPECT_EQ(cache.records(), 0u);
    EXPECT_EQ(cache.complaints(), 0u);
    EXPECT_EQ(cache.recommendations(), 0u);
  }
}

// A batch whose commit meets a full map runs again from scratch on a larger one: the agency
// states its first run took out of the ingestor's cache are gone with that run, and the second
// loads them from the tables.
TEST(Projections, AnIngestRunTwiceForAFullMapKeepsTheAgenciesRight) {
  testing::TempDir a, b;
  auto la = open(a.path()), lb = open(b.path());
  ingest_world(*la, 29);
  auto ing = Ingestor::create(*lb);
  ASSERT_TRUE(ing) << ing.status().to_string();
  const auto& ev = world().events;
  for (std::size_t i = 0, batch = 0; i < ev.size(); i += 29, ++batch) {
    std::vector<Message> m;
    for (std::size_t j = i; j < std::min(ev.size(), i + 29); ++j)
      m.push_back(Message{encode_wire(ev[j]), Partition{0},
                          KafkaOffset{static_cast<std::int64_t>(j)}, Timestamp{0}});
    // (Each refusal doubles the map: a few, spread over the world's history.)
    if (batch == 2 || batch == 9 || batch == 20 || batch == 41)
      lb->fail_commits_as_full_for_testing(1);
    auto r = (*ing)->ingest(m);
    ASSERT_TRUE(r) << r.status().to_string();
    for (const auto& x : *r) ASSERT_EQ(x.outcome, IngestOutcome::kAccepted) << x.status.to_string();
  }
  EXPECT_EQ(stored_digest(*lb), stored_digest(*la));
  auto check = check_projections(*lb);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok());
}

TEST(Projections, AgencyItemBlocksFollowEveryChangeAndReadBackWhole) {
  static const demo::World big = demo::generate(demo::Options{.seed = 12, .records = 1500});
  auto ingest = [&](Ledger& l, std::size_t batch) {
    auto ing = Ingestor::create(l);
    ASSERT_TRUE(ing) << ing.status().to_string();
    for (std::size_t i = 0; i < big.events.size(); i += batch) {
      std::vector<Message> m;
      for (std::size_t j = i; j < std::min(big.events.size(), i + batch); ++j)
        m.push_back(Message{encode_wire(big.events[j]), Partition{0},
                            KafkaOffset{static_cast<std::int64_t>(j)}, Timestamp{0}});
      auto r = (*ing)->ingest(m);
      ASSERT_TRUE(r) << r.status().to_string();
      for (const auto& x : *r) ASSERT_EQ(x.outcome, IngestOutcome::kAccepted);
    }
  };
  testing::TempDir a, b;
  auto la = open(a.path()), lb = open(b.path());
  ingest(*la, 13);
  ingest(*lb, 4000);
  const Digest incremental = stored_digest(*la);
  EXPECT_EQ(stored_digest(*lb), incremental);
  auto mem = rebuild_in_memory(*la);
  ASSERT_TRUE(mem);
  EXPECT_EQ(side_digest(*mem), incremental);

  auto agencies = all_agencies(*la);
  ASSERT_TRUE(agencies) << agencies.status().to_string();
  std::size_t multi_block = 0, ended_in_early_block = 0;
  for (const AgencyState& s : *agencies) {
    std::size_t rows = 0;
    ASSERT_TRUE(la->read_side([&](const SideReader& r) {
      r.scan(Side::kAgencyItem, pack::agency_item_prefix(s.info.id.value), [&](ByteView, ByteView) {
        ++rows;
        return true;
      });
      return Status::ok();
    }));
    const std::size_t per = pack::kAgencyBlockItems;
    EXPECT_EQ(rows, (s.items.size() + per - 1) / per + (s.recommendations.size() + per - 1) / per)
        << s.info.id.value;
    if (s.items.size() > per) ++multi_block;
    for (std::size_t i = 0; i < std::min(s.items.size(), per); ++i)
      if (s.items[i].end != ItemEnd::kCounting || s.items[i].amended) ++ended_in_early_block;
    auto one = agency_state(*la, s.info.id);
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, s);
  }
  EXPECT_GT(multi_block, 5u) << "the world should give agencies several blocks of items";
  EXPECT_GT(ended_in_early_block, 5u) << "and change items of their first block later on";

  // A missing or surplus block is corruption, not a shorter list.
  const AgencyId id = [&] {
    for (const AgencyState& s : *agencies)
      if (s.items.size() > 2 * pack::kAgencyBlockItems) return s.info.id;
    return AgencyId("none");
  }();
  MemorySide m;
  ASSERT_TRUE(la->read_side([&](const SideReader& r) {
    for (Side t : {Side::kAgency, Side::kAgencyItem})
      r.scan(t, {}, [&](ByteView k, ByteView v) {
        m.put(t, k, v);
        return true;
      });
    return Status::ok();
  }));
  std::optional<AgencyState> got;
  ASSERT_TRUE(pack::load_agency(m, id.value, got));
  ASSERT_TRUE(got);
  const AgencyState whole = *got;
  const Bytes second = pack::agency_item_key(id.value, pack::AgencyItemKind::kRecord, 1);
  const Bytes block =
      Bytes(m.get(Side::kAgencyItem, second)->begin(), m.get(Side::kAgencyItem, second)->end());
  MemorySide missing;  // all but the second block of items
  for (Side t : {Side::kAgency, Side::kAgencyItem})
    m.scan(t, {}, [&](ByteView k, ByteView v) {
      if (!(t == Side::kAgencyItem && Bytes(k.begin(), k.end()) == second)) missing.put(t, k, v);
      return true;
    });
  EXPECT_FALSE(pack::load_agency(missing, id.value, got));
  MemorySide empty_block = m;
  empty_block.put(Side::kAgencyItem, second, {});
  EXPECT_FALSE(pack::load_agency(empty_block, id.value, got));
  // A block that lists no item is never written, not even where one would add up: a first
  // block of recommendations for an agency that has none.
  AgencyState bare = whole;
  bare.items.clear();
  bare.recommendations.clear();
  MemorySide no_items;
  no_items.put(Side::kAgency, as_bytes(id.value), pack::encode(bare));
  ASSERT_TRUE(pack::load_agency(no_items, id.value, got));
  EXPECT_EQ(got, bare);
  no_items.put(Side::kAgencyItem,
               pack::agency_item_key(id.value, pack::AgencyItemKind::kRecommendation, 0),
               *from_hex("0100000000"));
  EXPECT_FALSE(pack::load_agency(no_items, id.value, got));
  MemorySide surplus = m;
  surplus.put(Side::kAgencyItem,
              pack::agency_item_key(id.value, pack::AgencyItemKind::kRecord, 999), block);
  EXPECT_FALSE(pack::load_agency(surplus, id.value, got));
}

// Time travel: for many times T, every agency's as-of state equals its state in a rebuild of the
// log truncated at T.
TEST(Projections, AsOfEqualsARebuildOfTheLogTruncatedAtT) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 250);
  auto agencies = all_agencies(*l);
  ASSERT_TRUE(agencies);
  ASSERT_GT(agencies->size(), 30u);
  const Timestamp first = world().events.front().issued_at, last = world().events.back().issued_at;
  demo::Rng rng(5);
  int compared = 0, differing_from_now = 0;
  for (int round = 0; round < 12; ++round) {
    Timestamp t{first.ms + static_cast<std::int64_t>(
                               rng.next() % static_cast<std::uint64_t>(last.ms - first.ms + 1))};
    auto truncated = rebuild_in_memory(*l, t);
    ASSERT_TRUE(truncated);
    for (const AgencyState& now : *agencies) {
      auto expected = agency_state_in(*truncated, now.info.id);
      auto got = agency_state_as_of(*l, now.info.id, t);
      ASSERT_TRUE(expected.has_value()) << now.info.id.value;
      ASSERT_TRUE(got) << got.status().to_string();
      EXPECT_EQ(pack::encode(*got), pack::encode(*expected))
          << now.info.id.value << " at " << format_time(t);
      ++compared;
      differing_from_now += !(*got == now);
    }
  }
  EXPECT_EQ(compared, 12 * static_cast<int>(agencies->size()));
  EXPECT_GT(differing_from_now, compared / 2) << "the as-of states should mostly differ from now";
  // At the end of time the as-of state is the current one.
  for (const AgencyState& now : *agencies) {
    auto got = agency_state_as_of(*l, now.info.id, last);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, now);
  }
}

TEST(Projections, CountsAgreeWithTheLog) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 400);
  std::size_t submitted = 0, complaints = 0, recs = 0;
  for (const Event& e : world().events) {
    submitted += e.as<RecordSubmitted>() != nullptr;
    complaints += e.as<ComplaintFiled>() != nullptr;
    recs += e.as<RecommendationIssued>() != nullptr;
  }
  auto all = all_agencies(*l);
  ASSERT_TRUE(all);
  std::size_t r = 0, c = 0, m = 0;
  for (const auto& a : *all) {
    for (const auto& row : a.records)
      for (auto n : row) r += n;
    for (auto n : a.complaints) c += n;
    m += a.recommendations.size();
  }
  EXPECT_EQ(r, submitted);
  EXPECT_EQ(c, complaints);
  EXPECT_EQ(m, recs);
  // Every trail line points at an entry about that agency.
  auto lines = trail(*l, TrailKind::kAgency, "sh.city.finance");
  ASSERT_TRUE(lines);
  ASSERT_FALSE(lines->empty());
  for (const Line& x : *lines) {
    auto e = l->get(x.seq);
    ASSERT_TRUE(e);
    auto ev = decode_wire(e->wire);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->subject.value, "sh.city.finance");
    EXPECT_EQ(ev->issued_at, x.at);
    EXPECT_EQ(event_type_code(*ev), x.type);
  }
}

TEST(Projections, TypeCodesAreTheDocumentedOnes) {
  const char* documented[] = {"agency.registered",     "principal.registered",
                              "key.authorised",        "key.revoked",
                              "record.submitted",      "record.verified",
                              "record.corrected",      "objection.raised",
                              "objection.resolved",    "record.repaired",
                              "complaint.filed",       "complaint.triaged",
                              "complaint.reopened",    "complaint.closed",
                              "recommendation.issued", "rectification.reported",
                              "recommendation.closed", "compensation.recorded",
                              "report.published"};
  ASSERT_EQ(std::size(documented), kEventTypeCount);
  for (std::uint8_t i = 0; i < kEventTypeCount; ++i)
    EXPECT_EQ(event_type_from_code(i), documented[i]);
}

TEST(Projections, StoredValuesRejectTruncationAndTrailingBytes) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 400);
  auto a = agency_state(*l, AgencyId("sh.city.finance"));
  ASSERT_TRUE(a);
  Bytes b = pack::encode(*a);
  ASSERT_TRUE(pack::decode_agency(b));
  for (std::size_t cut = 0; cut < b.size(); cut += 7)
    EXPECT_FALSE(pack::decode_agency(ByteView(b.data(), cut))) << cut;
  b.push_back(0);
  EXPECT_FALSE(pack::decode_agency(b));
}

// ---- Scoring ----

TEST(Scoring, BuiltInRulesParseAndVersionsSwitchByTime) {
  const ScoringRules& r = ScoringRules::builtin();
  ASSERT_EQ(r.versions().size(), 2u);
  EXPECT_EQ(r.at(*parse_time("2012-06-01T00:00:00Z")).id, "2011.1");
  EXPECT_EQ(r.at(*parse_time("2012-12-31T15:59:59Z")).id, "2011.1");
  EXPECT_EQ(r.at(*parse_time("2012-12-31T16:00:00Z")).id, "2013.1");  // 00:00 in Shanghai
}

TEST(Scoring, BadRuleFilesSayWhatIsWrong) {
  auto missing = ScoringRules::parse(
      "[[version]]\nid = \"x\"\neffective_from = \"2011-01-01T00:00:00Z\"\n", "t.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("base"), std::string::npos);
  auto syntax = ScoringRules::parse("[[version]\n", "t.toml");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.status().message().find("t.toml:1"), std::string::npos);
}

TEST(Scoring, ContributionsAddUpAndEachPointsAtItsCause) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 400);
  auto all = all_agencies(*l);
  ASSERT_TRUE(all);
  const Timestamp end = world().events.back().issued_at;
  int with_records = 0;
  for (const auto& a : *all) {
    Score s = score(a, end, ScoringRules::builtin());
    double sum = 0;
    for (const auto& c : s.lines) {
      sum += c.points;
      if (c.seq) {
        EXPECT_LT(c.seq->value, l->head().size);
      }
    }
    EXPECT_NEAR(sum, s.value, 0.01) << a.info.id.value;
    EXPECT_GE(s.value, 0);
    EXPECT_LE(s.value, 100);
    with_records += !a.items.empty();
  }
  EXPECT_GT(with_records, 20);
}

TEST(Scoring, DecayRepairAndDeadlines) {
  AgencyState a;
  const Timestamp t0 = *parse_time("2011-03-01T00:00:00Z");
  a.items.push_back(RecordItem{EventId{}, Seq{5}, t0, Category::kFiscalFraud, Severity::kGrave,
                               std::nullopt, ItemEnd::kCounting, Timestamp{}, Seq{}});
  const ScoringRules& rules = ScoringRules::builtin();
  EXPECT_DOUBLE_EQ(score(a, add_months(t0, 1), rules).value, 100 - 5 * 3);
  // 24 months on it is 2013: rules 2013.1 weigh fiscal_fraud 6, halved by decay.
  EXPECT_DOUBLE_EQ(score(a, add_months(t0, 24), rules).value, 100 - 6 * 3 * 0.5);
  a.items[0].end = ItemEnd::kRepaired;
  a.items[0].ended_at = add_months(t0, 6);
  EXPECT_DOUBLE_EQ(score(a, add_months(t0, 5), rules).value, 85);
  EXPECT_DOUBLE_EQ(score(a, add_months(t0, 7), rules).value, 100);
  AgencyState b;
  b.recommendations.push_back(
      RecItem{EventId{}, Seq{9}, t0, add_months(t0, 2), std::nullopt, std::nullopt});
  EXPECT_DOUBLE_EQ(score(b, add_months(t0, 1), rules).value, 100);
  EXPECT_DOUBLE_EQ(score(b, add_months(t0, 3), rules).value, 95);
  EXPECT_EQ(add_months(*parse_time("2012-01-31T10:00:00Z"), 1),
            *parse_time("2012-02-29T10:00:00Z"));
}

}  // namespace
}  // namespace govcredit

namespace govcredit {
namespace {

TEST(Scoring, TheIndexScoresLikeTheFullComputation) {
  testing::TempDir d;
  auto l = open(d.path());
  ingest_world(*l, 400);
  auto all = all_agencies(*l);
  ASSERT_TRUE(all);
  demo::Rng rng(9);
  int compared = 0;
  for (const auto& a : *all) {
    ScoreIndex index(a);
    EXPECT_FALSE(index.score(Timestamp{a.last_at.ms - 1}, ScoringRules::builtin()));
    for (int k = 0; k < 20; ++k) {
      // From the last event to four years on: decay and deadlines cross over in between.
      Timestamp t{a.last_at.ms + static_cast<std::int64_t>(rng.next() % (4 * 366 * 86400000ULL))};
      auto fast = index.score(t, ScoringRules::builtin());
      ASSERT_TRUE(fast);
      Score full = score(a, t, ScoringRules::builtin(), false);
      EXPECT_EQ(fast->value, full.value) << a.info.id.value << " at " << format_time(t);
      EXPECT_EQ(fast->band, full.band);
      EXPECT_EQ(fast->version, full.version);
      ++compared;
    }
  }
  EXPECT_GT(compared, 600);
}

TEST(Scoring, TheStatusCacheFollowsTheLog) {
  testing::TempDir d;
  auto l = open(d.path());
  const auto& ev = world().events;
  // Everything except the last 200 events, then the rest: the cache must notice.
  auto ing = Ingestor::create(*l);
  ASSERT_TRUE(ing);
  std::vector<Message> first, rest;
  for (std::size_t j = 0; j < ev.size(); ++j)
    (j + 200 < ev.size() ? first : rest)
        .push_back(Message{encode_wire(ev[j]), Partition{0},
                           KafkaOffset{static_cast<std::int64_t>(j)}, Timestamp{0}});
  ASSERT_TRUE((*ing)->ingest(first));
  StatusCache cache(*l);
  const Timestamp t = ev.back().issued_at;
  std::map<std::string, std::uint64_t> before;
  auto all = all_agencies(*l);
  ASSERT_TRUE(all);
  for (const auto& a : *all) {
    auto s = cache.get(a.info.id, t, ScoringRules::builtin());
    ASSERT_TRUE(s);
    before[a.info.id.value] = s->agency->events;
  }
  EXPECT_EQ(cache.get(AgencyId("no.such"), t, ScoringRules::builtin()).status().reason(),
            Reason::kNotFound);
  ASSERT_TRUE((*ing)->ingest(rest));
  int changed = 0;
  for (const auto& a : *all) {
    auto s = cache.get(a.info.id, t, ScoringRules::builtin());
    ASSERT_TRUE(s);
    auto fresh = agency_state(*l, a.info.id);
    EXPECT_EQ(*s->agency, *fresh);
    EXPECT_EQ(s->score.value, score(*fresh, t, ScoringRules::builtin(), false).value);
    changed += s->agency->events != before[a.info.id.value];
  }
  EXPECT_GT(changed, 0);
}

}  // namespace
}  // namespace govcredit

namespace govcredit {
namespace {

TEST(Projections, TrailBlockMatchesTheWorkedExample) {  // docs/LEDGER_FORMAT.md §10.2
  std::vector<Line> lines = {{Seq{5}, *parse_time("2013-08-28T09:00:00Z"), 4},
                             {Seq{9}, *parse_time("2013-09-07T09:00:00Z"), 5}};
  EXPECT_EQ(to_hex(pack::trail_key(TrailKind::kAgency, "sh.city.housing", Seq{5})),
            "6173682e636974792e686f7573696e6700"
            "0000000000000005");
  EXPECT_EQ(to_hex(pack::encode_lines(lines)), "01020000000a80fab4c29850040880e0fcb70605");
  EXPECT_EQ(pack::decode_lines(pack::encode_lines(lines)), lines);
}

TEST(Projections, ObjectKeyMatchesTheWorkedExample) {  // docs/LEDGER_FORMAT.md §10.2
  const auto id = fixed_from_hex<EventId>("00112233445566778899aabbccddeeff");
  ASSERT_TRUE(id);
  const ObjectKey k = object_key(Seq{1234567}, *id);
  EXPECT_EQ(object_key_seq(ByteView(k.data(), k.size())), Seq{1234567});
  EXPECT_EQ(to_hex(ByteView(k.data(), k.size())),
            "000000000012d687"
            "00112233445566778899aabbccddeeff");
  MemorySide m;
  m.put(Side::kComplaint, ByteView(k.data(), k.size()), as_bytes("x"));
  EXPECT_EQ(m.seq_of(*id), Seq{1234567});
  ASSERT_TRUE(m.get_object(Side::kComplaint, *id));
  EXPECT_FALSE(m.get_object(Side::kRecord, *id));
  m.clear(Side::kComplaint);
  EXPECT_FALSE(m.seq_of(*id));
}

TEST(Projections, AgencyItemKeyMatchesTheWorkedExample) {  // docs/LEDGER_FORMAT.md §10.2
  EXPECT_EQ(to_hex(pack::agency_item_key("sh.city.housing", pack::AgencyItemKind::kRecord, 1)),
            "73682e636974792e686f7573696e67"
            "00"
            "69"
            "00000001");
  EXPECT_EQ(to_hex(pack::agency_item_key("a", pack::AgencyItemKind::kRecommendation, 258)),
            "61"
            "00"
            "72"
            "00000102");
}

TEST(Projections, LineListsRoundTripAnySeqsAndTimes) {  // docs/LEDGER_FORMAT.md §10.1
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kTop = std::numeric_limits<std::int64_t>::max();
  // Extremes, and seqs and times that go down as well as up (the encoding wraps modulo 2^64).
  std::vector<Line> lines = {{Seq{0}, Timestamp{0}, 0},        {Seq{kMax}, Timestamp{kMin}, 18},
                             {Seq{0}, Timestamp{kTop}, 1},     {Seq{kMax}, Timestamp{-1}, 2},
                             {Seq{1}, Timestamp{kMin}, 3},     {Seq{1}, Timestamp{kTop}, 4},
                             {Seq{kMax - 1}, Timestamp{1}, 5}, {Seq{2}, Timestamp{kMin + 1}, 6}};
  EXPECT_EQ(pack::decode_lines(pack::encode_lines(lines)), lines);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Line> random(rng() % 40);
    for (Line& l : random) {
      const int bits = static_cast<int>(rng() % 64) + 1;  // small and large values both
      l.seq.value = rng() >> (64 - bits);
      l.at.ms = static_cast<std::int64_t>(rng() >> (64 - bits)) * (rng() % 2 ? 1 : -1);
      l.type = static_cast<std::uint8_t>(rng() % 19);
    }
    const Bytes b = pack::encode_lines(random);
    ASSERT_EQ(pack::decode_lines(b), random) << round;
    for (std::size_t cut = 0; cut < b.size(); ++cut)  // every truncation is refused
      ASSERT_FALSE(pack::decode_lines(ByteView(b.data(), cut))) << round << " " << cut;
  }
  // A trail's lines (seqs a few apart, times hours apart) take 6 to 8 bytes each, not 17.
  std::vector<Line> trail;
  for (std::uint64_t i = 0; i < pack::kTrailBlockLines; ++i)
    trail.push_back(
        {Seq{1'000'000 + 397 * i}, Timestamp{1'377'680'400'000 + 3'600'000 * std::int64_t(i)}, 4});
  EXPECT_LE(pack::encode_lines(trail).size(), 5 + 8 * pack::kTrailBlockLines);
}

TEST(Projections, LineListsRefuseNonCanonicalVarints) {
  auto block = [](const std::string& line_hex) { return *from_hex("0101000000" + line_hex); };
  ASSERT_TRUE(pack::decode_lines(block("0a0004")));     // seq 5, at 0, type 4
  EXPECT_FALSE(pack::decode_lines(block("8a000004")));  // seq 5 in two bytes
  EXPECT_FALSE(pack::decode_lines(block("0a800004")));  // at 0 in two bytes
  EXPECT_FALSE(pack::decode_lines(block("0a0013")));    // type 19 does not exist
  EXPECT_FALSE(pack::decode_lines(block("0a000400")));  // a trailing byte
  EXPECT_FALSE(pack::decode_lines(block("0a00")));      // no type
  // The largest varint (2^64 - 1, ten bytes) is accepted; bit 64 or an eleventh byte is not.
  const std::string at0_type4 = "0004";
  ASSERT_TRUE(pack::decode_lines(block("ffffffffffffffffff01" + at0_type4)));
  EXPECT_FALSE(pack::decode_lines(block("ffffffffffffffffff02" + at0_type4)));
  EXPECT_FALSE(pack::decode_lines(block("ffffffffffffffffff8101" + at0_type4)));
  // A count larger than the bytes could hold (3 bytes a line at least) is refused up front.
  EXPECT_FALSE(pack::decode_lines(*from_hex("01ffffff7f0a0004")));
}

}  // namespace
}  // namespace govcredit
