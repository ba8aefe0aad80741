// The ledger against a real LMDB environment: append, idempotency, proofs, checkpoints, growth,
// reopen, the rejection journal, exactly-once offsets, and tamper detection by verify().
#include "govcredit/ledger.h"

#include <gtest/gtest.h>

#include <cstring>

#include <filesystem>
#include <functional>
#include <map>
#include <thread>
#include <tuple>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/ingest.h"
#include "govcredit/merkle.h"
#include "ledger/entry_hasher.h"
#include "ledger/ledger_impl.h"
#include "ledger/lmdb.h"
#include "ledger/rfc9162_reference.h"
#include "ledger/runs.h"
#include "support/support.h"

namespace govcredit {
namespace {

namespace ref = rfc9162;

const demo::World& world() {
  static const demo::World w = demo::generate(demo::Options{.seed = 5, .records = 40});
  return w;
}

std::vector<Message> messages(std::size_t from, std::size_t to, std::int64_t first_offset) {
  std::vector<Message> out;
  for (std::size_t i = from; i < to && i < world().events.size(); ++i)
    out.push_back(Message{encode_wire(world().events[i]), Partition{0},
                          KafkaOffset{first_offset + static_cast<std::int64_t>(i - from)},
                          Timestamp{1000}});
  return out;
}

std::unique_ptr<Ledger> open(const std::string& dir, LedgerOptions o = {}) {
  auto l = Ledger::open(dir, Partition{0}, o);
  EXPECT_TRUE(l) << l.status().to_string();
  return std::move(*l);
}

// Ingests the whole demo world in batches of 100.
void ingest_world(Ledger& l) {
  auto ing = Ingestor::create(l);
  ASSERT_TRUE(ing);
  for (std::size_t i = 0; i < world().events.size(); i += 100) {
    auto r = (*ing)->ingest(messages(i, i + 100, static_cast<std::int64_t>(i)));
    ASSERT_TRUE(r) << r.status().to_string();
    for (const auto& x : *r) ASSERT_EQ(x.outcome, IngestOutcome::kAccepted) << x.status.to_string();
  }
}

// An 8-byte big-endian key, as the log and the Merkle database store them.
Bytes be_key(std::uint64_t v) {
  lmdb::BeKey k(v);
  ByteView b = lmdb::view(k.val());
  return Bytes(b.begin(), b.end());
}

// Copies a (closed) shard's files to another directory, to damage the copy.
void copy_store(const std::string& from, const std::string& to) {
  std::filesystem::copy(
      from, to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

TEST(Ledger, AppendsReadsBackAndSurvivesReopen) {
  testing::TempDir dir;
  Head before;
  {
    auto l = open(dir.path());
    ingest_world(*l);
    before = l->head();
    EXPECT_EQ(before.size, world().events.size());
    EXPECT_EQ(l->next_offset().value, static_cast<std::int64_t>(world().events.size()));
    auto e = l->get(Seq{7});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->wire, encode_wire(world().events[7]));
    EXPECT_EQ(e->offset.value, 7);
    auto byid = l->get_by_event(world().events[9].id);
    ASSERT_TRUE(byid);
    EXPECT_EQ(byid->seq.value, 9u);
    EXPECT_EQ(l->get(Seq{before.size}).status().reason(), Reason::kNotFound);
  }
  auto l = open(dir.path());
  EXPECT_EQ(l->head().size, before.size);
  EXPECT_EQ(l->head().chain, before.chain);
  EXPECT_EQ(l->head().root, before.root);
  EXPECT_TRUE(l->verify(VerifyOptions{.signatures = true}).ok);
  // The registry comes back from the log's registry events.
  auto ing = Ingestor::create(*l);
  ASSERT_TRUE(ing);
  EXPECT_EQ((*ing)->registry().agencies().size(), 40u);
}

TEST(Ledger, ShardOfAnotherPartitionIsRefused) {
  testing::TempDir dir;
  { open(dir.path()); }
  auto l = Ledger::open(dir.path(), Partition{3});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.status().reason(), Reason::kInvalidArgument);
}

// Every key and value of one database of a closed shard, in key order.
std::vector<std::pair<Bytes, Bytes>> dump(const std::string& dir, const char* db) {
  lmdb::Env env(dir, lmdb::EnvOptions{});
  MDB_dbi dbi = env.open_db(db);
  std::vector<std::pair<Bytes, Bytes>> out;
  env.read([&](const lmdb::Txn& txn) {
    lmdb::Cursor c(txn, dbi);
    const std::uint8_t none = 0;
    MDB_val first{1, const_cast<std::uint8_t*>(&none)};  // sorts before any other key
    for (bool at = c.seek(&first); at; at = c.next()) {
      ByteView k = lmdb::view(c.key()), v = lmdb::view(c.value());
      out.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    }
  });
  return out;
}

Bytes u64_le(std::uint64_t v);

// Every event index record of a closed shard, whichever run holds it, sorted: (id, seq).
std::vector<std::pair<Bytes, Bytes>> index_records(const std::string& dir) {
  std::vector<std::pair<Bytes, Bytes>> out;
  for (const auto& [name, records] : runs::all(dir))
    for (const runs::Record& r : records) out.emplace_back(r.id, u64_le(r.seq));
  std::sort(out.begin(), out.end());
  return out;
}

// The name of the event index database that holds `id` in a closed shard ("" when none does).
std::string index_db_holding(const std::string& dir, ByteView id) {
  for (const auto& [name, records] : runs::all(dir))
    for (const runs::Record& r : records)
      if (std::equal(r.id.begin(), r.id.end(), id.begin(), id.end())) return name;
  return "";
}

// Formats 1 to 3 (before 2026-12-02) stored every entry's chain hash before it in `log`: gives
// every entry of a closed shard of fewer than 1024 entries (none of which stores one in format 4)
// its chain hash, as those formats did, and returns them.
std::vector<Digest> add_chain_hashes(const std::string& dir) {
  std::vector<Digest> chains;
  lmdb::Env env(dir, lmdb::EnvOptions{});
  MDB_dbi log = env.open_db("log");
  env.write([&](lmdb::Txn& txn) {
    Digest chain{};
    const auto entries = [&] {
      std::vector<std::pair<Bytes, Bytes>> out;
      lmdb::Cursor c(txn, log);
      for (bool at = c.seek(nullptr); at; at = c.next()) {
        ByteView k = lmdb::view(c.key()), v = lmdb::view(c.value());
        out.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
      }
      return out;
    }();
    ASSERT_LT(entries.size(), 1024u);
    for (const auto& [k, v] : entries) {
      chain = chain_hash(chain, merkle::leaf_hash(v));
      chains.push_back(chain);
      Bytes with = Bytes(chain.bytes.begin(), chain.bytes.end());
      with.insert(with.end(), v.begin(), v.end());
      txn.put(log, lmdb::val(ByteView(k)), lmdb::val(ByteView(with)));
    }
  });
  return chains;
}

// After the first write to a converted shard: its `log` is a new shard's of the same entries,
// but that the first `legacy` entries still start with their chain hash.
void expect_log_with_legacy_chain_hashes(const std::string& converted, const std::string& fresh,
                                         std::uint64_t legacy) {
  auto old_log = dump(converted, "log"), new_log = dump(fresh, "log");
  ASSERT_EQ(old_log.size(), new_log.size());
  auto l = open(fresh);
  for (std::size_t i = 0; i < old_log.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(old_log[i].first, new_log[i].first);
    Bytes want = new_log[i].second;
    if (i < legacy) {
      auto chain = l->entry_hash(Seq{i});
      ASSERT_TRUE(chain);
      want.insert(want.begin(), chain->bytes.begin(), chain->bytes.end());
    }
    EXPECT_EQ(old_log[i].second, want);
  }
}

// The value of meta/<name> in a closed shard, if it has one.
std::optional<Bytes> meta_value(const std::string& dir, std::string_view name) {
  for (const auto& [k, v] : dump(dir, "meta"))
    if (ByteView(k).size() == name.size() && std::equal(k.begin(), k.end(), name.begin())) return v;
  return std::nullopt;
}

Bytes u64_le(std::uint64_t v) {
  Bytes b = be_key(v);  // the big-endian key reversed
  std::reverse(b.begin(), b.end());
  return b;
}

// Changes the `log` value of entry seq of a closed shard behind the ledger's back.
void change_log_value(const std::string& dir, std::uint64_t seq,
                      const std::function<void(Bytes&)>& change) {
  lmdb::Env env(dir, lmdb::EnvOptions{});
  MDB_dbi log = env.open_db("log");
  env.write([&](lmdb::Txn& txn) {
    lmdb::BeKey k(seq);
    auto v = txn.find(log, k.val());
    ASSERT_TRUE(v);
    Bytes b(v->begin(), v->end());
    change(b);
    txn.put(log, k.val(), lmdb::val(ByteView(b)));
  });
}

// The first half of the demo world ingested into a new shard at dir; its head.
Head ingest_first_half(const std::string& dir) {
  auto l = open(dir);
  auto ing = Ingestor::create(*l);
  EXPECT_TRUE(ing);
  if (ing) {
    EXPECT_TRUE((*ing)->ingest(messages(0, world().events.size() / 2, 0)));
  }
  return l->head();
}

// The first write to a shard holding the first half (it converts an older format): the rest of
// the demo world; the shard verifies after it.
void ingest_second_half(const std::string& dir) {
  const std::size_t half = world().events.size() / 2;
  auto l = open(dir);
  auto ing = Ingestor::create(*l);
  ASSERT_TRUE(ing);
  ASSERT_TRUE(
      (*ing)->ingest(messages(half, world().events.size(), static_cast<std::int64_t>(half))));
  VerifyReport r = l->verify();
  EXPECT_TRUE(r.ok) << r.problem.to_string();
}

// A converted shard of the whole demo world against a new one: the same `merkle` and index
// records, the same `log` but for the chain hashes its first `legacy` entries keep, and
// meta/chain_legacy = legacy.
void expect_converted_like_a_new_shard(const std::string& converted, const std::string& fresh,
                                       std::uint64_t legacy) {
  ingest_world(*open(fresh));
  EXPECT_EQ(runs::format_of(converted), 5u);
  EXPECT_EQ(dump(converted, "merkle"), dump(fresh, "merkle"));
  expect_log_with_legacy_chain_hashes(converted, fresh, legacy);
  EXPECT_EQ(index_records(converted), index_records(fresh));
  EXPECT_EQ(meta_value(converted, "chain_legacy"), u64_le(legacy));
}

// Storage format 1 (before 2026-12-01) stored every Merkle node and one `event_index`; format 3
// stores the nodes of level 3 and up (LEDGER_FORMAT.md §4) and the index in runs (§11). A format-1
// shard opens, reads and verifies as it is, and its first write converts it: afterwards its
// `merkle` database is the one a new shard of the same entries holds, the ids it held stay in
// `event_index` (meta/index_legacy says how many) and the later ones go into runs.
TEST(Ledger, AFormatOneShardIsReadAndConvertedAtItsFirstWrite) {
  testing::TempDir old_shard, fresh;
  const Head before = ingest_first_half(old_shard.path());
  ASSERT_GT(before.size, 100u);
  ASSERT_EQ(runs::format_of(old_shard.path()), 5u);
  ASSERT_EQ(dump(old_shard.path(), "merkle").size(), merkle::stored_node_count(before.size, 3));
  add_chain_hashes(old_shard.path());
  {  // Back to format 1: add the nodes below level 3 and move the ids into one `event_index`.
    lmdb::Env env(old_shard.path(), lmdb::EnvOptions{.max_dbs = 128});
    MDB_dbi log = env.open_db("log"), nodes = env.open_db("merkle");
    env.write([&](lmdb::Txn& txn) {
      merkle::CompactRange range;
      for (std::uint64_t seq = 0; seq < before.size; ++seq) {
        lmdb::BeKey k(seq);
        auto v = txn.find(log, k.val());
        ASSERT_TRUE(v);
        range.append(merkle::leaf_hash(v->subspan(32)), [&](const merkle::CompactRange::Node& n) {
          if (n.level >= 3) return;
          lmdb::BeKey pos(merkle::node_position(n.level, n.index));
          txn.put(nodes, pos.val(), lmdb::val(n.hash.view()));
        });
      }
    });
    auto records = index_records(old_shard.path());
    ASSERT_EQ(records.size(), before.size);
    std::vector<MDB_dbi> slots;
    for (std::size_t slot = 0; slot < kIndexSlots; ++slot)
      slots.push_back(env.open_db(index_slot_name(slot).c_str()));
    env.write([&](lmdb::Txn& txn) {
      for (MDB_dbi s : slots) txn.clear(s);
      for (auto& [k, v] : records)
        txn.put(slots[0], lmdb::val(ByteView(k)), lmdb::val(ByteView(v)));
    });
  }
  runs::set_format(old_shard.path(), 1);
  ASSERT_EQ(dump(old_shard.path(), "event_index").size(), before.size);
  ASSERT_EQ(dump(old_shard.path(), "merkle").size(), merkle::stored_node_count(before.size));
  {  // Read as it is: the same head, proofs and a clean verify; nothing written.
    auto l = open(old_shard.path());
    EXPECT_EQ(l->head().root, before.root);
    VerifyReport r = l->verify();
    EXPECT_TRUE(r.ok) << r.problem.to_string();
    auto p = l->inclusion_proof(Seq{5}, before.size);
    ASSERT_TRUE(p) << p.status().to_string();
    EXPECT_TRUE(merkle::verify_inclusion(merkle::leaf_hash(p->leaf_data), 5, before.size, p->path,
                                         before.root));
  }
  EXPECT_EQ(runs::format_of(old_shard.path()), 1u);
  ingest_second_half(old_shard.path());                                  // converts it
  EXPECT_EQ(dump(old_shard.path(), "event_index").size(), before.size);  // where they were
  expect_converted_like_a_new_shard(old_shard.path(), fresh.path(), before.size);
  EXPECT_EQ(meta_value(old_shard.path(), "index_legacy"), u64_le(before.size));
  auto old_meta = dump(old_shard.path(), "meta");
  std::erase_if(old_meta, [](const auto& kv) {
    const std::string name(kv.first.begin(), kv.first.end());
    return name == "index_legacy" || name == "chain_legacy";
  });
  EXPECT_EQ(old_meta, dump(fresh.path(), "meta"));
  {  // A format this build does not know is refused, and named.
    lmdb::Env env(fresh.path(), lmdb::EnvOptions{});
    MDB_dbi meta = env.open_db("meta");
    env.write([&](lmdb::Txn& txn) {
      const std::uint8_t nine[4] = {9, 0, 0, 0};
      txn.put(meta, lmdb::val(std::string_view("format")),
              MDB_val{4, const_cast<std::uint8_t*>(nine)});
    });
  }
  auto l = Ledger::open(fresh.path(), Partition{0});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.status().reason(), Reason::kCorrupt);
  EXPECT_NE(l.status().message().find("unknown storage format (9"), std::string::npos)
      << l.status().to_string();
}

// Format 3 (before 2026-12-02) stored every entry's chain hash; format 4 that of every 1024th
// (LEDGER_FORMAT.md §2). A format-3 shard opens, reads and verifies as it is; its first write
// converts it in O(1): the entries it held keep their chain hashes (meta/chain_legacy counts
// them), so a change to one of them is still named exactly, and later entries are stored as in a
// new shard.
TEST(Ledger, AFormatThreeShardKeepsItsChainHashesAndIsConvertedAtItsFirstWrite) {
  testing::TempDir old_shard, fresh;
  const Head before = ingest_first_half(old_shard.path());
  const std::vector<Digest> chains = add_chain_hashes(old_shard.path());
  ASSERT_EQ(chains.size(), before.size);
  EXPECT_EQ(chains.back(), before.chain);
  runs::relayout(old_shard.path(), false);  // format 3's runs: one LMDB record per id
  runs::set_format(old_shard.path(), 3);
  {  // Read as it is.
    auto l = open(old_shard.path());
    EXPECT_EQ(l->head().chain, before.chain);
    EXPECT_EQ(l->head().root, before.root);
    VerifyReport r = l->verify(VerifyOptions{.signatures = true});
    EXPECT_TRUE(r.ok) << r.problem.to_string();
    EXPECT_EQ(r.head.chain, before.chain);
    auto e = l->get(Seq{5});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->wire, encode_wire(world().events[5]));
    EXPECT_EQ(*l->entry_hash(Seq{5}), chains[5]);
  }
  EXPECT_EQ(runs::format_of(old_shard.path()), 3u);
  ingest_second_half(old_shard.path());  // converts it
  EXPECT_EQ(*open(old_shard.path())->entry_hash(Seq{5}), chains[5]);
  expect_converted_like_a_new_shard(old_shard.path(), fresh.path(), before.size);
  EXPECT_FALSE(meta_value(old_shard.path(), "index_legacy"));  // format 3 had its runs already
  // A byte of entry 5's event changed: named at 5 by its own chain hash, at every chunk size.
  change_log_value(old_shard.path(), 5, [](Bytes& b) {
    b[b.size() - 70] ^= 0x04;  // inside the event, before its signature
  });
  auto l = open(old_shard.path());
  for (std::uint32_t level : testing::chunk_levels({16, 2, 0})) {
    VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
    ASSERT_TRUE(r.first_bad) << r.problem.to_string();
    EXPECT_EQ(r.first_bad->value, 5u) << r.problem.to_string();
    EXPECT_NE(r.problem.message().find("do not match its chain hash"), std::string::npos)
        << r.problem.to_string();
  }
}

// LEDGER_FORMAT.md §2's test vector: the leaf and chain hashes of two short entries, and what a
// format-4 shard stores for them (the entries alone; the chain hash in meta/head).
TEST(Ledger, ChainHashMatchesTheTestVector) {
  const Entry e0{Seq{0}, Partition{0}, KafkaOffset{0}, Bytes{'a', 'b', 'c'}};
  const Entry e1{Seq{1}, Partition{0}, KafkaOffset{1}, Bytes{'a', 'b', 'd'}};
  EXPECT_EQ(to_hex(e0.leaf_data()), "010000000000000000000000000000000000000000616263");
  EXPECT_EQ(to_hex(e1.leaf_data()), "010100000000000000000000000100000000000000616264");
  EXPECT_EQ(to_hex(merkle::leaf_hash(e0.leaf_data())),
            "57e5c7619058f88c93379a36acfcec6ac4268bce5fd8dc3340df95471deab4ff");
  EXPECT_EQ(to_hex(merkle::leaf_hash(e1.leaf_data())),
            "850404866c65eaf4472326c3ead49e712e5ecf701aa8ea6697b0e8903d8a8d6d");
  const Digest c0 = next_entry_hash(Digest{}, e0), c1 = next_entry_hash(c0, e1);
  EXPECT_EQ(to_hex(c0), "ee046040d45b97a940331752f9ca0a08b0c41a10a6a551d4186baf301a545151");
  EXPECT_EQ(to_hex(c1), "f7620f5bb6d173030249c867cffa21f50458df26e440f43ac65c62145b0316f0");
  testing::TempDir dir;
  {
    auto l = open(dir.path());
    ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
      for (const Entry* e : {&e0, &e1}) {
        EventId id{};
        id.bytes[0] = static_cast<std::uint8_t>(1 + e->seq.value);
        b.append(AppendItem{e->wire, id, false, e->partition, e->offset});
      }
      b.set_next_offset(KafkaOffset{2});
      return Status::ok();
    }));
    EXPECT_EQ(l->head().chain, c1);
    EXPECT_EQ(*l->entry_hash(Seq{0}), c0);
  }
  auto log = dump(dir.path(), "log");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].second, e0.leaf_data());
  EXPECT_EQ(log[1].second, e1.leaf_data());
  Bytes head = u64_le(2);
  head.insert(head.end(), c1.bytes.begin(), c1.bytes.end());
  EXPECT_EQ(meta_value(dir.path(), "head"), head);
}

// LEDGER_FORMAT.md §4's example: after 20 entries `merkle` holds exactly the nodes at 14 (level 3,
// e0–e7), 29 (level 3, e8–e15) and 30 (level 4, e0–e15); proofs take the rest from the log.
TEST(Ledger, StoredNodesMatchTheWorkedExample) {
  testing::TempDir dir;
  std::vector<Digest> leaf;
  {
    auto l = open(dir.path());
    ASSERT_TRUE(l->write([&](Ledger::Batch& batch) {
      for (std::size_t i = 0; i < 20; ++i) {
        const Event& e = world().events[i];
        AppendResult r = batch.append(AppendItem{encode_wire(e), e.id, false, Partition{0},
                                                 KafkaOffset{static_cast<std::int64_t>(i)}});
        EXPECT_EQ(r.outcome, AppendOutcome::kAppended);
      }
      return Status::ok();
    }));
    for (std::uint64_t i = 0; i < 20; ++i)
      leaf.push_back(merkle::leaf_hash(l->get(Seq{i})->leaf_data()));
    auto node = [&](std::size_t a, std::size_t b) {  // MTH(e_a … e_{b-1}), b − a a power of two
      std::vector<Digest> h(leaf.begin() + static_cast<std::ptrdiff_t>(a),
                            leaf.begin() + static_cast<std::ptrdiff_t>(b));
      for (; h.size() > 1; h.resize(h.size() / 2))
        for (std::size_t i = 0; i < h.size() / 2; ++i)
          h[i] = merkle::node_hash(h[2 * i], h[2 * i + 1]);
      return h[0];
    };
    const Digest pos14 = node(0, 8), pos29 = node(8, 16), pos30 = node(0, 16);
    EXPECT_EQ(pos30, merkle::node_hash(pos14, pos29));
    EXPECT_EQ(l->head().root, merkle::node_hash(pos30, node(16, 20)));
    auto p = l->inclusion_proof(Seq{17}, 20);
    ASSERT_TRUE(p) << p.status().to_string();
    EXPECT_EQ(p->path, (std::vector<Digest>{leaf[16], node(18, 20), pos30}));
    auto c = l->consistency_proof(8, 20);
    ASSERT_TRUE(c) << c.status().to_string();
    EXPECT_EQ(*c, (std::vector<Digest>{pos29, node(16, 20)}));
    l.reset();
    const auto stored = dump(dir.path(), "merkle");
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_EQ(stored[0], std::make_pair(be_key(14), Bytes(pos14.bytes.begin(), pos14.bytes.end())));
    EXPECT_EQ(stored[1], std::make_pair(be_key(29), Bytes(pos29.bytes.begin(), pos29.bytes.end())));
    EXPECT_EQ(stored[2], std::make_pair(be_key(30), Bytes(pos30.bytes.begin(), pos30.bytes.end())));
  }
}

TEST(Ledger, AppendIsIdempotentAndDetectsConflicts) {
  testing::TempDir dir;
  auto l = open(dir.path());
  Bytes a = encode_wire(world().events[0]);
  Bytes b = encode_wire(world().events[1]);
  EventId id = world().events[0].id;
  std::vector<AppendResult> out;
  ASSERT_TRUE(l->write([&](Ledger::Batch& batch) {
    out.push_back(batch.append(AppendItem{a, id, true, Partition{0}, KafkaOffset{0}}));
    out.push_back(
        batch.append(AppendItem{a, id, true, Partition{0}, KafkaOffset{1}}));  // same batch
    return Status::ok();
  }));
  ASSERT_TRUE(l->write([&](Ledger::Batch& batch) {
    out.push_back(
        batch.append(AppendItem{a, id, true, Partition{0}, KafkaOffset{2}}));  // later batch
    out.push_back(batch.append(
        AppendItem{b, id, false, Partition{0}, KafkaOffset{3}}));  // other bytes, same id
    return Status::ok();
  }));
  EXPECT_EQ(out[0].outcome, AppendOutcome::kAppended);
  EXPECT_EQ(out[1].outcome, AppendOutcome::kAlreadyPresent);
  EXPECT_EQ(out[2].outcome, AppendOutcome::kAlreadyPresent);
  EXPECT_EQ(out[3].outcome, AppendOutcome::kConflict);
  for (const auto& r : out) EXPECT_EQ(r.seq.value, 0u);
  EXPECT_EQ(l->head().size, 1u);
}

// Client-chosen ids that share their first twelve bytes (the batch's map hashes all sixteen): an
// id appended earlier in the same batch is found whichever entries were appended between, and
// so is one of an earlier batch.
TEST(Ledger, IdsSharingAPrefixAreFoundInTheirBatchAndAfterIt) {
  testing::TempDir dir;
  auto l = open(dir.path());
  auto id_of = [](std::uint32_t n) {
    EventId id;
    id.bytes.fill(0x5a);
    std::memcpy(id.bytes.data() + 12, &n, 4);
    return id;
  };
  auto wire_of = [](std::uint32_t n) { return Bytes{1, 2, 3, static_cast<std::uint8_t>(n)}; };
  std::int64_t offset = 0;
  ASSERT_TRUE(l->write([&](Ledger::Batch& batch) {
    for (std::uint32_t n = 0; n < 600; ++n) {
      AppendResult a = batch.append(
          AppendItem{wire_of(n), id_of(n), false, Partition{0}, KafkaOffset{offset++}});
      EXPECT_EQ(a.outcome, AppendOutcome::kAppended) << n;
      EXPECT_EQ(a.seq.value, n);
      if (n % 7 == 6) {  // again, some entries later
        const std::uint32_t earlier = n / 2;
        AppendResult again = batch.append(AppendItem{wire_of(earlier), id_of(earlier), false,
                                                     Partition{0}, KafkaOffset{offset++}});
        EXPECT_EQ(again.outcome, AppendOutcome::kAlreadyPresent) << n;
        EXPECT_EQ(again.seq.value, earlier) << n;
        AppendResult other = batch.append(AppendItem{wire_of(earlier + 1), id_of(earlier), false,
                                                     Partition{0}, KafkaOffset{offset++}});
        EXPECT_EQ(other.outcome, AppendOutcome::kConflict) << n;
      }
    }
    return Status::ok();
  }));
  ASSERT_TRUE(l->write([&](Ledger::Batch& batch) {
    for (std::uint32_t n : {0u, 299u, 599u}) {
      AppendResult a = batch.append(
          AppendItem{wire_of(n), id_of(n), false, Partition{0}, KafkaOffset{offset++}});
      EXPECT_EQ(a.outcome, AppendOutcome::kAlreadyPresent) << n;
      EXPECT_EQ(a.seq.value, n);
    }
    EXPECT_EQ(batch
                  .append(AppendItem{wire_of(600), id_of(600), false, Partition{0},
                                     KafkaOffset{offset++}})
                  .outcome,
              AppendOutcome::kAppended);
    return Status::ok();
  }));
  EXPECT_EQ(l->head().size, 601u);
}

TEST(Ledger, FailedBatchWritesNothing) {
  testing::TempDir dir;
  auto l = open(dir.path());
  Status s = l->write([&](Ledger::Batch& batch) {
    Bytes a = encode_wire(world().events[0]);
    batch.append(AppendItem{a, world().events[0].id, true, Partition{0}, KafkaOffset{0}});
    batch.set_next_offset(KafkaOffset{1});
    return Status(Reason::kInternal, "give up");
  });
  EXPECT_EQ(s.reason(), Reason::kInternal);
  EXPECT_EQ(l->head().size, 0u);
  EXPECT_EQ(l->next_offset().value, 0);
  EXPECT_EQ(l->get(Seq{0}).status().reason(), Reason::kNotFound);
}

// Appends world events [from, to) in one write, at offsets equal to their index.
void append_range(Ledger& l, std::size_t from, std::size_t to) {
  Status s = l.write([&](Ledger::Batch& batch) {
    for (std::size_t i = from; i < to; ++i) {
      Bytes wire = encode_wire(world().events[i]);
      batch.append(AppendItem{wire, world().events[i].id, false, Partition{0},
                              KafkaOffset{static_cast<std::int64_t>(i)}});
    }
    batch.set_next_offset(KafkaOffset{static_cast<std::int64_t>(to)});
    return Status::ok();
  });
  ASSERT_TRUE(s) << s.to_string();
}

TEST(Ledger, EachCommitIsOnDiskWhenItsWriteReturnsByDefault) {
  testing::TempDir dir;
  auto l = open(dir.path());
  EXPECT_EQ(l->durable_size(), 0u);
  append_range(*l, 0, 5);
  EXPECT_EQ(l->durable_size(), 5u);
  append_range(*l, 5, 12);
  EXPECT_EQ(l->durable_size(), 12u);
  EXPECT_TRUE(l->sync());
  EXPECT_EQ(l->durable_size(), 12u);
}

// Durability::kByNextCommit: the last commit's meta page reaches the disk with the next commit's
// flush (any commit: entries or side tables), sync() or the close.
TEST(Ledger, ByNextCommitACommitIsOnDiskOnceAnotherCommitOrASyncFlushedIt) {
  testing::TempDir dir;
  {
    auto l = open(dir.path(), LedgerOptions{.durability = Durability::kByNextCommit});
    append_range(*l, 0, 5);
    EXPECT_EQ(l->head().size, 5u);     // visible
    EXPECT_EQ(l->durable_size(), 0u);  // not yet known on disk
    append_range(*l, 5, 12);
    EXPECT_EQ(l->durable_size(), 5u);
    EXPECT_TRUE(l->sync());
    EXPECT_EQ(l->durable_size(), 12u);
    EXPECT_TRUE(l->sync());  // nothing pending: a no-op
    EXPECT_EQ(l->durable_size(), 12u);
    append_range(*l, 12, 20);
    EXPECT_EQ(l->durable_size(), 12u);
    // A commit of the side tables alone carries the entries' commit to the disk too.
    const Bytes key{'k'}, value{'v'};
    ASSERT_TRUE(l->write_side([&](SideWriter& w) {
      w.put(Side::kMeta, key, value);
      return Status::ok();
    }));
    EXPECT_EQ(l->durable_size(), 20u);
    append_range(*l, 20, 25);
    EXPECT_EQ(l->durable_size(), 20u);
  }  // the close syncs
  auto l = open(dir.path(), LedgerOptions{.durability = Durability::kByNextCommit});
  EXPECT_EQ(l->head().size, 25u);
  EXPECT_EQ(l->durable_size(), 25u);
  EXPECT_TRUE(l->verify().ok);
}

TEST(Ledger, WithoutSyncNothingIsKnownOnDiskUntilASync) {
  testing::TempDir dir;
  auto l = open(dir.path(), LedgerOptions{.no_sync = true});
  append_range(*l, 0, 5);
  append_range(*l, 5, 9);
  EXPECT_EQ(l->durable_size(), 0u);
  EXPECT_TRUE(l->sync());
  EXPECT_EQ(l->durable_size(), 9u);
}

// The environment under each mode: the LMDB flags that decide what a commit flushes, and the
// transaction ids it reports on disk.
TEST(LmdbEnv, DurabilityFlagsAndSyncedTransactions) {
  for (int mode = 0; mode < 3; ++mode) {
    testing::TempDir dir;
    lmdb::Env env(dir.path(), lmdb::EnvOptions{.initial_map_size = 1 << 20,
                                               .max_dbs = 4,
                                               .no_sync = mode == 2,
                                               .defer_meta_sync = mode == 1});
    unsigned flags = 0;
    ASSERT_EQ(mdb_env_get_flags(env.get(), &flags), 0);
    EXPECT_EQ((flags & MDB_NOMETASYNC) != 0, mode == 1);
    EXPECT_EQ((flags & MDB_NOSYNC) != 0, mode == 2);
    MDB_dbi db = env.open_db("t");
    const std::uint64_t first = env.last_txnid();
    const std::uint64_t synced_first = env.synced_txnid();
    std::uint8_t k = 1, v = 2;
    EXPECT_EQ(env.write([&](lmdb::Txn& txn) {
      txn.put(db, MDB_val{1, &k}, MDB_val{1, &v});
    }),
              first + 1);
    EXPECT_EQ(env.last_txnid(), first + 1);
    // Writes nothing: commits nothing, flushes nothing.
    EXPECT_EQ(env.write([](lmdb::Txn&) {}), 0u);
    EXPECT_EQ(env.last_txnid(), first + 1);
    EXPECT_EQ(env.synced_txnid(), mode == 0 ? first + 1 : mode == 1 ? first : synced_first);
    env.sync();
    EXPECT_EQ(env.synced_txnid(), first + 1);
  }
}

TEST(Ledger, MapGrowsWhenFullAndNothingIsLost) {
  testing::TempDir dir;
  auto l = open(dir.path(), LedgerOptions{.initial_map_size = 256 * 1024});
  ingest_world(*l);  // several times the initial map
  EXPECT_EQ(l->head().size, world().events.size());
  EXPECT_TRUE(l->verify().ok);
}

// A commit can meet a full map too (LMDB allocates pages for the free list there); the write is
// then run again, whole, on a larger map. Nothing may be lost or doubled.
TEST(Ledger, ACommitThatMeetsAFullMapIsRunAgainAndNothingIsLostOrDoubled) {
  testing::TempDir clean_dir, dir;
  auto clean = open(clean_dir.path());
  ingest_world(*clean);
  auto l = open(dir.path());
  l->fail_commits_as_full_for_testing(3);  // the first three batches' commits
  ingest_world(*l);
  EXPECT_EQ(l->head().size, world().events.size());
  EXPECT_EQ(l->head().root, clean->head().root);
  EXPECT_EQ(l->head().chain, clean->head().chain);
  EXPECT_EQ(l->next_offset().value, clean->next_offset().value);
  EXPECT_TRUE(l->verify().ok);
}

TEST(Ledger, MakingRoomGrowsTheMapNotTheFile) {
  testing::TempDir dir;
  {
    lmdb::Env env(dir.path(), lmdb::EnvOptions{.initial_map_size = 256 * 1024});
    const std::uint64_t used = env.used_bytes();
    const auto file = std::filesystem::file_size(dir.path() + "/data.mdb");
    env.reserve(std::size_t{64} << 20);
    EXPECT_GE(env.map_size(), std::size_t{64} << 20);
    EXPECT_EQ(env.used_bytes(), used);
    EXPECT_EQ(std::filesystem::file_size(dir.path() + "/data.mdb"), file);
    const std::size_t grown = env.map_size();
    env.reserve(1024);  // never shrinks
    EXPECT_EQ(env.map_size(), grown);
  }
  testing::TempDir shard;
  auto l = open(shard.path(), LedgerOptions{.initial_map_size = 256 * 1024});
  ASSERT_TRUE(l->make_room(std::uint64_t{64} << 20));
  ingest_world(*l);
  EXPECT_EQ(l->head().size, world().events.size());
  EXPECT_TRUE(l->verify().ok);
}

// Every row of every side table, table by table, in key order.
std::vector<std::tuple<std::size_t, Bytes, Bytes>> side_rows(const Ledger& l) {
  std::vector<std::tuple<std::size_t, Bytes, Bytes>> rows;
  EXPECT_TRUE(l.read_side([&](const SideReader& r) {
    for (std::size_t t = 0; t < kSideCount; ++t)
      r.scan(static_cast<Side>(t), {}, [&](ByteView k, ByteView v) {
        rows.emplace_back(t, Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
        return true;
      });
    return Status::ok();
  }));
  return rows;
}

TEST(Ledger, ThePageCacheFilledForASideCopyChangesNoRecordAndTheCopyGrowsIntoIt) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data.mdb";
  auto l = open(dir.path());
  ingest_world(*l);
  // ~2 MiB of rows in one transaction: the tables then hold more pages than the free list
  // (the ingest's many small commits leave it larger than the world's own tables).
  ASSERT_TRUE(l->write_side([&](SideWriter& w) {
    for (int i = 0; i < 2000; ++i)
      w.put(Side::kMeta, as_bytes("pad/" + std::to_string(i)), Bytes(1000, std::uint8_t(i)));
    return Status::ok();
  }));
  const auto rows = side_rows(*l);
  ASSERT_GT(rows.size(), 2000u);
  const Head head = l->head();
  const std::uint64_t used = l->store_bytes();
  EXPECT_EQ(l->fill_page_cache_for_side_copy(std::uint64_t{1} << 40), nullptr) << "under at_least";
  auto fill = l->fill_page_cache_for_side_copy(0);
  ASSERT_NE(fill, nullptr);
  // The side tables' pages less the free list's: more than the padding's half.
  EXPECT_GE(fill->planned(), std::uint64_t{1} << 20);
  EXPECT_LT(fill->planned(), used);
  // The filling thread runs when a core is idle; its one chunk (8 MiB) extends the file first.
  ASSERT_LT(fill->planned(), std::uint64_t{8} << 20) << "this test waits for one chunk";
  for (int i = 0; i < 6000 && std::filesystem::file_size(data) < used + fill->planned(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fill->finish(), fill->planned());
  EXPECT_EQ(fill->finish(), fill->planned()) << "finish() is idempotent";
  EXPECT_GE(std::filesystem::file_size(data), used + fill->planned());
  // Nothing LMDB holds moved: the filled part is past its last used page.
  EXPECT_EQ(l->store_bytes(), used);
  EXPECT_EQ(side_rows(*l), rows);
  EXPECT_TRUE(l->verify().ok);
  // A second copy of every table, written as a rebuild writes it, goes into the filled part.
  ASSERT_TRUE(l->write_side([&](SideWriter& w) {
    for (std::size_t t = 0; t < kSideCount; ++t) w.clear(static_cast<Side>(t));
    for (const auto& [t, k, v] : rows) w.put(static_cast<Side>(t), k, v);
    return Status::ok();
  }));
  EXPECT_GT(l->store_bytes(), used);
  EXPECT_EQ(side_rows(*l), rows);
  l.reset();
  l = open(dir.path());  // a data file longer than its used part opens as any other
  EXPECT_EQ(l->head().size, head.size);
  EXPECT_EQ(l->head().root, head.root);
  EXPECT_EQ(side_rows(*l), rows);
  EXPECT_TRUE(l->verify().ok);
}

TEST(Ledger, InclusionAndConsistencyProofsVerifyIndependently) {
  testing::TempDir dir;
  auto l = open(dir.path());
  ingest_world(*l);
  std::vector<ref::Hash> leaves;
  const std::uint64_t n = l->head().size;
  ASSERT_TRUE(l->scan(Seq{0}, Seq{n}, [&](const Entry& e) {
    leaves.push_back(ref::leaf(e.leaf_data()));
    return true;
  }));
  ASSERT_EQ(leaves.size(), n);
  EXPECT_EQ(ref::of(l->head().root), ref::mth(leaves, 0, n));
  // Sizes around the lowest stored level (nodes below level 3 come from the log, §4).
  std::vector<std::uint64_t> sizes{64, 65, n - 1, n};
  for (std::uint64_t size = 1; size <= 17; ++size) sizes.push_back(size);
  for (std::uint64_t size : sizes) {
    ref::Hash root = ref::mth(leaves, 0, size);
    for (std::uint64_t seq = 0; seq < size; seq += (size > 80 ? 7 : 1)) {
      auto p = l->inclusion_proof(Seq{seq}, size);
      ASSERT_TRUE(p) << p.status().to_string();
      EXPECT_EQ(ref::of(p->root), root);
      EXPECT_TRUE(
          ref::verify_inclusion(ref::leaf(p->leaf_data), seq, size, ref::of_all(p->path), root))
          << seq << "/" << size;
    }
    for (std::uint64_t older : {std::uint64_t{1}, size / 2 + 1, size}) {
      if (older > size) continue;
      auto c = l->consistency_proof(older, size);
      ASSERT_TRUE(c);
      EXPECT_TRUE(
          ref::verify_consistency(older, size, ref::mth(leaves, 0, older), root, ref::of_all(*c)))
          << older << "->" << size;
    }
  }
  EXPECT_EQ(l->inclusion_proof(Seq{n}, n).status().reason(), Reason::kInvalidArgument);
  EXPECT_EQ(l->consistency_proof(2, n + 1).status().reason(), Reason::kInvalidArgument);
}

TEST(Ledger, CheckpointsAreSignedStoredAndChecked) {
  testing::TempDir dir;
  auto l = open(dir.path(), LedgerOptions{.name = "test"});
  ingest_world(*l);
  PrivateKey key = *PrivateKey::generate();
  auto c = l->make_checkpoint(key, Timestamp{1764403200000});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->origin, "govcredit/test/shard/0");
  EXPECT_EQ(c->size, l->head().size);
  auto parsed = parse_checkpoint(c->text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->root, l->head().root);
  EXPECT_TRUE(verify_checkpoint(*parsed, key.public_key()));
  EXPECT_FALSE(verify_checkpoint(*parsed, PrivateKey::generate()->public_key()));
  std::string forged = c->text;
  forged.replace(forged.find('\n') + 1, 1, "9");  // another tree size
  auto f = parse_checkpoint(forged);
  ASSERT_TRUE(f);
  EXPECT_EQ(verify_checkpoint(*f, key.public_key()).reason(), Reason::kSignatureInvalid);
  ASSERT_TRUE(l->checkpoints());
  EXPECT_EQ(l->checkpoints()->size(), 1u);
  auto at = l->checkpoint_at(c->size);
  ASSERT_TRUE(at);
  EXPECT_TRUE(at->has_value());
  auto none = l->checkpoint_at(c->size + 1);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  // verify() against the checkpoint: ok, and a checkpoint with another root fails.
  auto pub = key.public_key();
  VerifyOptions o;
  o.checkpoint = *parsed;
  o.checkpoint_key = &pub;
  EXPECT_TRUE(l->verify(o).ok);
  Checkpoint other = sign_checkpoint(c->origin, c->size, Digest{}, c->time, key);
  o.checkpoint = other;
  VerifyReport r = l->verify(o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.message().find("rewritten"), std::string::npos);
  EXPECT_FALSE(parse_checkpoint("garbage\n"));
}

TEST(Ledger, ACheckpointAskedForByANewKeyCarriesItsSignatureToo) {
  testing::TempDir dir;
  auto l = open(dir.path(), LedgerOptions{.name = "test"});
  ingest_world(*l);
  PrivateKey old_key = *PrivateKey::generate();
  PrivateKey new_key = *PrivateKey::generate();
  auto first = l->make_checkpoint(old_key, Timestamp{1764403200000});
  ASSERT_TRUE(first);
  // The ledger's key replaced; a checkpoint of the same head asked for later.
  auto second = l->make_checkpoint(new_key, Timestamp{1764403300000});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->size, first->size);
  EXPECT_EQ(second->time.ms, first->time.ms);  // the same body, co-signed
  EXPECT_EQ(second->text.substr(0, first->text.size()), first->text);
  auto parsed = parse_checkpoint(second->text);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(verify_checkpoint(*parsed, new_key.public_key()));
  EXPECT_TRUE(verify_checkpoint(*parsed, old_key.public_key()));
  EXPECT_EQ(verify_checkpoint(*parsed, PrivateKey::generate()->public_key()).reason(),
            Reason::kKeyUnknown);
  // Stored so, once: asking again with either key returns it unchanged.
  auto stored = l->checkpoint_at(first->size);
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->text, second->text);
  for (const PrivateKey* k : {&new_key, &old_key}) {
    auto again = l->make_checkpoint(*k, Timestamp{1764403400000});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->text, second->text);
  }
  ASSERT_TRUE(l->checkpoints());
  EXPECT_EQ(l->checkpoints()->size(), 1u);
  // verify() against the co-signed checkpoint with the new key.
  auto pub = new_key.public_key();
  VerifyOptions o;
  o.checkpoint = *parsed;
  o.checkpoint_key = &pub;
  EXPECT_TRUE(l->verify(o).ok);
}

TEST(Ingest, RejectionsAreJournaledNeverLogged) {
  testing::TempDir dir;
  auto l = open(dir.path());
  auto ing = Ingestor::create(*l);
  std::vector<Message> batch = messages(0, 3, 0);
  batch.push_back(
      Message{Bytes{1, 2, 3}, Partition{0}, KafkaOffset{3}, Timestamp{5000}});  // garbage
  Event forged = world().events[3];
  forged.subject = AgencyId("sh.city.finance");  // changed after signing
  batch.push_back(Message{encode_wire(forged), Partition{0}, KafkaOffset{4}, Timestamp{6000}});
  auto r = (*ing)->ingest(batch);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[3].outcome, IngestOutcome::kRejected);
  EXPECT_EQ((*r)[3].status.reason(), Reason::kBinaryMalformed);
  EXPECT_EQ((*r)[4].outcome, IngestOutcome::kRejected);
  EXPECT_EQ((*r)[4].status.reason(), Reason::kSignatureInvalid);
  EXPECT_EQ(l->head().size, 3u);
  EXPECT_EQ(l->next_offset().value, 5);
  auto journal = l->rejections();
  ASSERT_TRUE(journal);
  const auto& rej = *journal;
  ASSERT_EQ(rej.size(), 2u);
  EXPECT_EQ(rej[0].reason, "binary_malformed");
  EXPECT_EQ(rej[0].offset.value, 3);
  EXPECT_EQ(rej[0].received_at.ms, 5000);
  EXPECT_EQ(rej[0].sha256, sha256(ByteView(batch[3].value)));
  EXPECT_EQ(rej[1].reason, "signature_invalid");
  EXPECT_EQ(rej[1].event_id, forged.id);
  EXPECT_EQ(l->rejection_count(), 2u);
  EXPECT_TRUE(l->verify(VerifyOptions{.signatures = true}).ok);
}

TEST(Ingest, RedeliveredOffsetsAreConsumedExactlyOnce) {
  testing::TempDir dir;
  auto l = open(dir.path());
  auto ing = Ingestor::create(*l);
  ASSERT_TRUE((*ing)->ingest(messages(0, 10, 0)));
  // Kafka redelivers 5..14 after a rebalance: 5..9 are ignored, 10..14 appended.
  auto r = (*ing)->ingest(messages(5, 15, 5));
  ASSERT_TRUE(r);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*r)[i].outcome, IngestOutcome::kAlreadyConsumed);
  for (int i = 5; i < 10; ++i) EXPECT_EQ((*r)[i].outcome, IngestOutcome::kAccepted);
  EXPECT_EQ(l->head().size, 15u);
  // The same events re-published at new offsets are acknowledged as duplicates.
  auto d = (*ing)->ingest(messages(0, 3, 100));
  ASSERT_TRUE(d);
  for (const auto& x : *d) EXPECT_EQ(x.outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ(l->head().size, 15u);
  EXPECT_EQ(l->next_offset().value, 103);
}

// What a fresh shard makes of `batches` when its Ingestor checks signatures on `threads` threads:
// every message's result, in order, the head and the next offset. The shard verifies, signatures
// included.
struct ThreadedRun {
  std::vector<IngestResult> results;
  Head head;
  KafkaOffset next_offset{0};

  std::vector<IngestOutcome> outcomes() const {
    std::vector<IngestOutcome> o;
    for (const auto& x : results) o.push_back(x.outcome);
    return o;
  }
};
ThreadedRun ingest_with_threads(unsigned threads,
                                const std::vector<std::vector<Message>>& batches) {
  ThreadedRun run;
  testing::TempDir dir;
  auto l = open(dir.path());
  auto ing = Ingestor::create(*l);
  EXPECT_TRUE(ing);
  if (!ing) return run;
  (*ing)->set_verify_threads(threads);
  for (const auto& batch : batches) {
    auto r = (*ing)->ingest(batch);
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r) return run;
    EXPECT_EQ(r->size(), batch.size());
    for (auto& x : *r) run.results.push_back(std::move(x));
  }
  run.head = l->head();
  run.next_offset = l->next_offset();
  EXPECT_TRUE(l->verify(VerifyOptions{.signatures = true}).ok);
  return run;
}

// Every thread count gives the same outcomes and the same chain.
void expect_the_same_runs(const std::vector<ThreadedRun>& runs) {
  for (std::size_t i = 1; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].outcomes(), runs[0].outcomes()) << "run " << i;
    EXPECT_EQ(runs[i].head.chain, runs[0].head.chain) << "run " << i;
  }
}

// Signatures are checked on several threads ahead of the sequential pass: whatever the number
// of threads, a batch gets the same outcomes and the same shard. The
// registry's events go first, in a batch of their own (so that the helpers know the keys), then
// every other event of the demo world in one batch, with forged events (changed after signing)
// spread over it.
TEST(Ingest, SignatureThreadsNeverChangeAnOutcome) {
  std::vector<Message> registry, batch;
  std::vector<std::size_t> forged;
  auto add = [](std::vector<Message>& to, const Event& e, std::int64_t offset) {
    to.push_back(Message{encode_wire(e), Partition{0}, KafkaOffset{offset}, Timestamp{1000}});
  };
  std::int64_t offset = 0;
  for (const Event& e : world().events)
    if (Registry::is_registry_event(e)) add(registry, e, offset++);
  for (std::size_t i = 0; i < world().events.size(); ++i) {
    const Event& e = world().events[i];
    if (Registry::is_registry_event(e)) continue;
    if (batch.size() % 37 == 36) {
      Event f = e;
      f.id.bytes[0] ^= 0x5a;  // a new id, so not a duplicate; the signature no longer holds
      forged.push_back(batch.size());
      add(batch, f, offset++);
    }
    add(batch, e, offset++);
  }
  ASSERT_GE(forged.size(), 3u);
  ASSERT_GT(batch.size(), 100u);
  std::vector<ThreadedRun> runs;
  for (unsigned threads : {1u, 2u, 5u}) {
    SCOPED_TRACE(threads);
    runs.push_back(ingest_with_threads(threads, {registry, batch}));
    const auto& r = runs.back().results;
    ASSERT_EQ(r.size(), registry.size() + batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const IngestResult& x = r[registry.size() + i];
      const bool bad = std::find(forged.begin(), forged.end(), i) != forged.end();
      EXPECT_EQ(x.outcome, bad ? IngestOutcome::kRejected : IngestOutcome::kAccepted)
          << "message " << i << ": " << x.status.to_string();
      if (bad) {
        EXPECT_EQ(x.status.reason(), Reason::kSignatureInvalid) << "message " << i;
      }
    }
  }
  expect_the_same_runs(runs);
  EXPECT_EQ(runs[0].head.size, world().events.size());
}

// The signature checks run ahead on worker threads while the sequential pass runs. A redelivered
// prefix of several chunks is skipped by the pass while workers may still be checking it, and
// re-sent events come back as duplicates: every thread count gives the same outcomes and shard.
TEST(Ingest, SignatureWorkersAheadOfThePassNeverChangeAnOutcome) {
  const std::size_t n = world().events.size();
  ASSERT_GT(n, 250u);
  std::vector<ThreadedRun> runs;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    SCOPED_TRACE(threads);
    runs.push_back(ingest_with_threads(
        threads, {messages(0, 120, 0), messages(0, n, 0), messages(40, 200, 1000)}));
    const auto o = runs.back().outcomes();
    // 120 accepted; 120 (almost four chunks) redelivered and the rest accepted; 160 re-sent at
    // new offsets.
    EXPECT_EQ(o.size(), 120 + n + 160);
    EXPECT_EQ(std::count(o.begin(), o.end(), IngestOutcome::kAccepted), static_cast<long>(n));
    EXPECT_EQ(std::count(o.begin(), o.end(), IngestOutcome::kAlreadyConsumed), 120);
    EXPECT_EQ(std::count(o.begin(), o.end(), IngestOutcome::kDuplicate), 160);
    EXPECT_EQ(runs.back().head.size, n);
    EXPECT_EQ(runs.back().next_offset.value, 1160);
  }
  expect_the_same_runs(runs);
}

// An empty shard's root is the empty tree's (RFC 9162 §2.1.1), new or reopened.
TEST(Ledger, AnEmptyShardHasTheEmptyTreesRootNewOrReopened) {
  testing::TempDir dir;
  EXPECT_EQ(open(dir.path())->head().root, merkle::empty_root());
  EXPECT_EQ(open(dir.path())->head().root, merkle::empty_root());
  EXPECT_EQ(open(dir.path())->head().chain, Digest{});
}

TEST(Ingest, ReplayingThePartitionGivesAnIdenticalShard) {
  testing::TempDir a, b;
  auto la = open(a.path());
  auto lb = open(b.path());
  ingest_world(*la);
  // Different batch boundaries on the second node.
  auto ing = Ingestor::create(*lb);
  for (std::size_t i = 0; i < world().events.size(); i += 37)
    ASSERT_TRUE((*ing)->ingest(messages(i, i + 37, static_cast<std::int64_t>(i))));
  EXPECT_EQ(la->head().chain, lb->head().chain);
  EXPECT_EQ(la->head().root, lb->head().root);
}

// ---- Tamper detection: raw LMDB writes behind the ledger's back ----

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = open(dir_.path());
    ingest_world(*l);
    size_ = l->head().size;
  }
  void raw(const char* db, const std::function<void(lmdb::Txn&, MDB_dbi)>& fn) {
    lmdb::Env env(dir_.path(), lmdb::EnvOptions{});
    MDB_dbi dbi = env.open_db(db);
    env.write([&](lmdb::Txn& t) { fn(t, dbi); });
  }
  VerifyReport verify() { return open(dir_.path())->verify(); }
  Bytes value(lmdb::Txn& t, MDB_dbi dbi, std::uint64_t key) {
    lmdb::BeKey k(key);
    auto v = t.find(dbi, k.val());
    return Bytes(v->begin(), v->end());
  }
  void set(lmdb::Txn& t, MDB_dbi dbi, std::uint64_t key, const Bytes& v) {
    lmdb::BeKey k(key);
    t.put(dbi, k.val(), lmdb::val(ByteView(v)));
  }

  testing::TempDir dir_;
  std::uint64_t size_ = 0;
};

// Every database the chain or the proofs cover (LEDGER_FORMAT.md: log, merkle, event_index), and
// every kind of change to it behind the ledger's back: one byte flipped, one record deleted, two
// records swapped. verify must fail and name the first entry affected; a changed entry or level-3
// node whose group of eight entries stores no chain hash of its own, by the group's first entry
// (LEDGER_FORMAT.md §9).
TEST(TamperMatrix, EveryCoveredDatabaseAndEveryKindOfChangeIsNamed) {
  testing::TempDir clean;
  ingest_world(*open(clean.path()));
  // The record of each database to change (its key), a second one to swap it with, and the seq
  // verify must name after a flip, a deletion and a swap. Merkle node (level 3, index 1) covers
  // leaves 8 to 15 and is completed by leaf 15; (3, 2) by leaf 23; (3, 5) covers entries 40 to 47.
  // A missing entry or node, or an entry under another seq, is named exactly. (Nodes below level
  // 3 are not stored: LEDGER_FORMAT.md §4.)
  auto id_key = [](std::size_t i) {
    return Bytes(world().events[i].id.bytes.begin(), world().events[i].id.bytes.end());
  };
  struct Target {
    const char* db;
    Bytes key, other;
    std::map<std::string, std::uint64_t> first_bad;  // by kind of change
  };
  const std::vector<Target> targets = {
      {"log", be_key(42), be_key(43), {{"flip", 40}, {"delete", 42}, {"swap", 42}}},
      {"merkle",
       be_key(merkle::node_position(3, 1)),
       be_key(merkle::node_position(3, 2)),
       {{"flip", 8}, {"delete", 15}, {"swap", 8}}},
      // the event index run holding ids 30 and 31
      {"", id_key(30), id_key(31), {{"flip", 30}, {"delete", 30}, {"swap", 30}}},
  };
  const std::string index_db = index_db_holding(clean.path(), id_key(30));
  ASSERT_EQ(index_db, "event_index.0.0");  // the world is smaller than one 1024-entry block
  for (Target t : targets) {
    if (!*t.db) t.db = index_db.c_str();
    for (const std::string kind : {"flip", "delete", "swap"}) {
      SCOPED_TRACE(std::string(t.db) + " " + kind);
      testing::TempDir dir;
      copy_store(clean.path(), dir.path());
      {
        lmdb::Env env(dir.path(), lmdb::EnvOptions{});
        MDB_dbi dbi = env.open_db(t.db);
        env.write([&](lmdb::Txn& txn) {
          if (t.db == index_db) {  // the records of ids 30 and 31, inside their run's chunks
            auto records = runs::read(txn, dbi, true);
            auto at = [&](const Bytes& id) {
              auto it = std::find_if(records.begin(), records.end(),
                                     [&](const runs::Record& r) { return r.id == id; });
              EXPECT_NE(it, records.end()) << "no such record";
              return it;
            };
            if (kind == "flip")
              at(t.key)->seq ^= std::uint64_t{0x10} << 32;  // a byte of the seq, as below
            else if (kind == "delete")
              records.erase(at(t.key));
            else
              std::swap(at(t.key)->seq, at(t.other)->seq);
            runs::write(txn, dbi, records, true);
            return;
          }
          auto get = [&](const Bytes& k) {
            auto v = txn.find(dbi, lmdb::val(ByteView(k)));
            EXPECT_TRUE(v) << "no such record";
            return v ? Bytes(v->begin(), v->end()) : Bytes{};
          };
          Bytes a = get(t.key), b = get(t.other);
          if (kind == "flip") {
            a[a.size() / 2] ^= 0x10;
            txn.put(dbi, lmdb::val(ByteView(t.key)), lmdb::val(ByteView(a)));
          } else if (kind == "delete") {
            txn.erase(dbi, lmdb::val(ByteView(t.key)));
          } else {
            txn.put(dbi, lmdb::val(ByteView(t.key)), lmdb::val(ByteView(b)));
            txn.put(dbi, lmdb::val(ByteView(t.other)), lmdb::val(ByteView(a)));
          }
        });
      }
      // The structure is checked in parallel chunks; the Merkle node is inside a chunk (16), at
      // a chunk's root (3) or above the chunks (2, 1, 0); the log entry starts a chunk (1) or not.
      auto l = open(dir.path());
      for (std::uint32_t level : testing::chunk_levels({16, 3, 2, 1, 0})) {
        VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
        EXPECT_FALSE(r.ok) << "chunks of 2^" << level;
        ASSERT_TRUE(r.first_bad) << r.problem.to_string();
        EXPECT_EQ(r.first_bad->value, t.first_bad.at(kind))
            << "chunks of 2^" << level << ": " << r.problem.to_string();
      }
      if (std::string_view(t.db) == "log" && kind == "flip") {  // the entry's signature fails
        VerifyReport r = l->verify(VerifyOptions{.signatures = true});
        ASSERT_TRUE(r.first_bad) << r.problem.to_string();
        EXPECT_EQ(r.first_bad->value, 42u) << r.problem.to_string();
      }
    }
  }
}

// Parallel chunks report what one walk in log order would: with damage in several chunks the
// first is named whatever the chunk size, and an intact log gives the same head at every size.
TEST(VerifyChunks, FirstDamageInLogOrderIsNamedAndHeadsAgree) {
  testing::TempDir clean;
  auto l = open(clean.path());
  ingest_world(*l);
  const Head head = l->head();
  ASSERT_GT(head.size, 100u);
  for (std::uint32_t level : testing::chunk_levels({0, 1, 3, 5, 16})) {
    VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
    EXPECT_TRUE(r.ok) << r.problem.to_string();
    EXPECT_EQ(r.entries, head.size);
    EXPECT_EQ(r.head.chain, head.chain);
    EXPECT_EQ(r.head.root, head.root) << "chunks of 2^" << level;
  }
  l.reset();
  // Damage to Merkle node (3, 5), over entries 40 to 47 (named by the first of them), to node
  // (5, 1), which leaf 63 completes, and to entry 70 in the log (named by the first entry of its
  // group of eight, 64): with all three the first is named, then with the last two the second,
  // and so on.
  struct Damage {
    const char* db;
    Bytes key;
    std::uint64_t seq;
  };
  const std::vector<Damage> damage = {{"merkle", be_key(merkle::node_position(3, 5)), 40},
                                      {"merkle", be_key(merkle::node_position(5, 1)), 63},
                                      {"log", be_key(70), 64}};
  for (std::size_t first = 0; first < damage.size(); ++first) {
    SCOPED_TRACE(first);
    testing::TempDir dir;
    copy_store(clean.path(), dir.path());
    {
      lmdb::Env env(dir.path(), lmdb::EnvOptions{});
      for (std::size_t i = first; i < damage.size(); ++i) {
        MDB_dbi dbi = env.open_db(damage[i].db);
        env.write([&](lmdb::Txn& txn) {
          auto v = txn.find(dbi, lmdb::val(ByteView(damage[i].key)));
          ASSERT_TRUE(v);
          Bytes b(v->begin(), v->end());
          b[b.size() - 1] ^= 0x01;
          txn.put(dbi, lmdb::val(ByteView(damage[i].key)), lmdb::val(ByteView(b)));
        });
      }
    }
    auto d = open(dir.path());
    const std::uint64_t want = damage[first].seq;
    for (std::uint32_t level : testing::chunk_levels({0, 2, 4, 6, 16})) {
      VerifyReport r = d->verify(VerifyOptions{.chunk_level = level});
      ASSERT_TRUE(r.first_bad) << "chunks of 2^" << level << ": " << r.problem.to_string();
      EXPECT_EQ(r.first_bad->value, want)
          << "chunks of 2^" << level << ": " << r.problem.to_string();
    }
  }
}

// verify --signatures checks signatures a window (2048 entries) at a time on every core, and the
// event index in sorted chunks on every core: whatever is found, the first bad entry in log
// order is the one named.
TEST(VerifySignatures, NamesTheFirstBadEntryAcrossWindowsAndIndexChecks) {
  // Windows of 256 entries (2048 by default): the forged entry is in the second, and the whole
  // log spans several.
  static const demo::World big = demo::generate(demo::Options{.seed = 8, .records = 200});
  ASSERT_GT(big.events.size(), 900u);
  const std::size_t window = 256, forged_at = 300;
  const VerifyOptions with_signatures{.signatures = true, .signature_window = window};
  std::vector<Bytes> wires;
  for (std::size_t i = 0; i < big.events.size(); ++i) {
    if (i == forged_at) {  // a record event under a new id, not re-signed
      Event forged = big.events[i - 1];
      forged.id.bytes[3] ^= 0x40;
      wires.push_back(encode_wire(forged));
    }
    wires.push_back(encode_wire(big.events[i]));
  }
  testing::TempDir clean;
  {
    auto l = open(clean.path());
    ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
      for (std::size_t i = 0; i < wires.size(); ++i) {
        EventId id;
        std::memcpy(id.bytes.data(), wires[i].data() + kWireIdOffset, 16);
        b.append(AppendItem{wires[i], id, false, Partition{0},
                            KafkaOffset{static_cast<std::int64_t>(i)}});
      }
      b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(wires.size())});
      return Status::ok();
    }));
    EXPECT_TRUE(l->verify().ok);  // without signatures nothing is wrong
    VerifyReport r = l->verify(with_signatures);
    EXPECT_FALSE(r.ok);
    ASSERT_TRUE(r.first_bad);
    EXPECT_EQ(r.first_bad->value, forged_at);
    EXPECT_EQ(r.problem.reason(), Reason::kSignatureInvalid) << r.problem.to_string();
  }
  // An index record removed before the forged entry is named first; one after it is not.
  ASSERT_GT(wires.size(), forged_at + 2 * window);
  for (std::size_t removed : {std::size_t{100}, wires.size() - 100}) {
    SCOPED_TRACE(removed);
    testing::TempDir dir;
    copy_store(clean.path(), dir.path());
    {
      lmdb::Env env(dir.path(), lmdb::EnvOptions{});
      const ByteView id(wires[removed].data() + kWireIdOffset, 16);
      const std::string db = index_db_holding(clean.path(), id);
      ASSERT_FALSE(db.empty());
      MDB_dbi index = env.open_db(db.c_str());
      env.write([&](lmdb::Txn& txn) {
        auto records = runs::read(txn, index, true);
        EXPECT_EQ(std::erase_if(records,
                                [&](const runs::Record& r) {
                                  return std::equal(r.id.begin(), r.id.end(), id.begin(), id.end());
                                }),
                  1u);
        runs::write(txn, index, records, true);
      });
    }
    auto l = open(dir.path());
    VerifyReport r = l->verify(with_signatures);
    ASSERT_TRUE(r.first_bad) << r.problem.to_string();
    EXPECT_EQ(r.first_bad->value, std::min(removed, forged_at)) << r.problem.to_string();
    EXPECT_EQ(l->verify().first_bad->value, removed);
  }
}

// A world of more than 1100 events: its log stores a chain hash with entry 1023.
const demo::World& past_a_stored_chain_hash() {
  static const demo::World big = demo::generate(demo::Options{.seed = 8, .records = 300});
  return big;
}

// Appends the events in one batch, each under its index as the source offset.
void append_in_one_batch(Ledger& l, const std::vector<Event>& events) {
  ASSERT_TRUE(l.write([&](Ledger::Batch& b) {
    for (std::size_t i = 0; i < events.size(); ++i)
      b.append(AppendItem{encode_wire(events[i]), events[i].id, false, Partition{0},
                          KafkaOffset{static_cast<std::int64_t>(i)}});
    b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(events.size())});
    return Status::ok();
  }));
}

// Format 4 stores the chain hash with every 1024th entry, and no other (LEDGER_FORMAT.md §2):
// entry_hash() gives the chain through any entry, as hashing it on from seq 0 does, and a stored
// one that differs is named at its entry whatever the chunk size.
TEST(ChainHashes, EveryThousandTwentyFourthEntryStoresOneAndVerifyChecksIt) {
  const demo::World& big = past_a_stored_chain_hash();
  ASSERT_GT(big.events.size(), 1100u);
  testing::TempDir clean;
  std::vector<Digest> chains;
  {
    auto l = open(clean.path());
    append_in_one_batch(*l, big.events);
    const std::uint64_t n = l->head().size;
    ASSERT_EQ(n, big.events.size());
    Digest chain{};
    ASSERT_TRUE(l->scan(Seq{0}, Seq{n}, [&](const Entry& e) {
      chains.push_back(chain = next_entry_hash(chain, e));
      return true;
    }));
    EXPECT_EQ(chains.back(), l->head().chain);
    for (std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{7}, std::uint64_t{1022},
                              std::uint64_t{1023}, std::uint64_t{1024}, n - 1}) {
      auto h = l->entry_hash(Seq{seq});
      ASSERT_TRUE(h) << seq;
      EXPECT_EQ(*h, chains[seq]) << seq;
    }
    EXPECT_EQ(l->entry_hash(Seq{n}).status().reason(), Reason::kNotFound);
    VerifyReport r = l->verify(VerifyOptions{.chunk_level = testing::chunk_levels({0}).front()});
    EXPECT_TRUE(r.ok) << r.problem.to_string();
    EXPECT_EQ(r.head.chain, chains.back());
  }
  {  // Only entry 1023 carries a chain hash: its value is 32 bytes longer than its entry.
    auto log = dump(clean.path(), "log");
    for (std::size_t seq : {std::size_t{1022}, std::size_t{1023}, std::size_t{1024}}) {
      const std::size_t entry = 21 + encode_wire(big.events[seq]).size();
      EXPECT_EQ(log[seq].second.size(), seq == 1023 ? 32 + entry : entry) << seq;
    }
    EXPECT_TRUE(
        std::equal(chains[1023].bytes.begin(), chains[1023].bytes.end(), log[1023].second.begin()));
  }
  testing::TempDir dir;
  copy_store(clean.path(), dir.path());
  change_log_value(dir.path(), 1023, [](Bytes& b) { b[3] ^= 0x80; });  // its chain hash
  auto l = open(dir.path());
  for (std::uint32_t level : testing::chunk_levels({16, 10, 3, 0})) {
    VerifyReport r = l->verify(VerifyOptions{.chunk_level = level});
    ASSERT_TRUE(r.first_bad) << "chunks of 2^" << level;
    EXPECT_EQ(r.first_bad->value, 1023u)
        << "chunks of 2^" << level << ": " << r.problem.to_string();
    EXPECT_NE(r.problem.message().find("chain hash stored with this entry"), std::string::npos)
        << r.problem.to_string();
  }
}

// The entries' hashes are computed on a thread beside the batch (src/ledger/entry_hasher.h),
// a block of kBlock entries at a time, the last few by the batch itself. Whatever the batch sizes
// (1, a block less one, a block, a block and one, and more, one crossing the stored chain hash
// of seq 1023), a head
// asked for mid-batch, an entry re-sent inside its own batch, and a batch that fails after
// queueing blocks, the heads are those of the RFC 9162 reference over the entries and of the
// chain hashed in order; verify agrees, and so does a ledger that took every entry in one batch.
TEST(Ledger, HashesComputedBesideTheBatchAreThoseOfTheEntriesInOrder) {
  const demo::World& big = past_a_stored_chain_hash();
  ASSERT_GT(big.events.size(), 1100u);
  const std::size_t n = 1100;
  std::vector<ref::Hash> leaves;
  std::vector<Digest> chains;
  Digest chain{};
  for (std::size_t i = 0; i < n; ++i) {
    Entry e{Seq{i}, Partition{0}, KafkaOffset{static_cast<std::int64_t>(i)},
            encode_wire(big.events[i])};
    leaves.push_back(ref::leaf(e.leaf_data()));
    chains.push_back(chain = next_entry_hash(chain, e));
  }
  auto expect_head = [&](const Head& h, std::size_t size) {
    ASSERT_EQ(h.size, size);
    EXPECT_EQ(ref::of(h.root), ref::mth(leaves, 0, size)) << size;
    EXPECT_EQ(h.chain, size ? chains[size - 1] : Digest{}) << size;
  };
  auto item = [&](std::size_t i, const Bytes& wire) {
    return AppendItem{wire, big.events[i].id, false, Partition{0},
                      KafkaOffset{static_cast<std::int64_t>(i)}};
  };
  testing::TempDir dir;
  auto l = open(dir.path());
  std::size_t next = 0;
  bool failed_one = false;
  constexpr std::size_t kBlock = EntryHasher::kBlock;
  static_assert(1 + 3 * kBlock + 100 < 1023);   // the last batch crosses seq 1023
  const std::size_t failing = 2 * kBlock + 10;  // queues two blocks, then fails
  ASSERT_GE(big.events.size(), 1 + 3 * kBlock + failing);
  for (std::size_t size : {std::size_t{1}, kBlock - 1, kBlock, kBlock + 1, std::size_t{100},
                           n - (1 + 3 * kBlock + 100)}) {
    ASSERT_TRUE(l->write([&](Ledger::Batch& b) {
      for (std::size_t i = next; i < next + size; ++i) {
        const Bytes wire = encode_wire(big.events[i]);
        EXPECT_EQ(b.append(item(i, wire)).outcome, AppendOutcome::kAppended);
        if (i == next + size / 2) {
          expect_head(b.head(), i + 1);
          EXPECT_EQ(b.size(), i + 1);
          // The same event again, inside its own batch: found, nothing appended or hashed.
          AppendResult again = b.append(item(i, wire));
          EXPECT_EQ(again.outcome, AppendOutcome::kAlreadyPresent);
          EXPECT_EQ(again.seq.value, i);
        }
      }
      b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(next + size)});
      return Status::ok();
    }));
    next += size;
    expect_head(l->head(), next);
    if (next == 1 + 3 * kBlock) {  // a batch that queues blocks and then fails leaves nothing
      failed_one = true;
      Status failed = l->write([&](Ledger::Batch& b) {
        for (std::size_t i = next; i < next + failing; ++i)
          b.append(item(i, encode_wire(big.events[i])));
        return Status(Reason::kInternal, "give up");
      });
      EXPECT_EQ(failed.reason(), Reason::kInternal);
      expect_head(l->head(), next);
    }
  }
  ASSERT_EQ(next, n);
  ASSERT_TRUE(failed_one);
  auto stored = l->entry_hash(Seq{1023});
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, chains[1023]);
  VerifyReport r = l->verify(VerifyOptions{.chunk_level = testing::chunk_levels({0}).front()});
  EXPECT_TRUE(r.ok) << r.problem.to_string();
  testing::TempDir one_dir;
  auto one = open(one_dir.path());
  append_in_one_batch(
      *one, std::vector<Event>(big.events.begin(), big.events.begin() + static_cast<long>(n)));
  EXPECT_EQ(one->head().root, l->head().root);
  EXPECT_EQ(one->head().chain, l->head().chain);
  one.reset();
  l.reset();
  EXPECT_EQ(dump(one_dir.path(), "log"), dump(dir.path(), "log"));
  EXPECT_EQ(dump(one_dir.path(), "merkle"), dump(dir.path(), "merkle"));
}

// The hasher alone, fed far faster than it hashes (add() only copies): 5,000 entries, more than
// its queue holds (kMaxQueued blocks), so add() waits for room; the hashes are those computed in
// order, one entry after the other, with a sync() half-way and another batch after.
TEST(EntryHasher, AQueueFedFasterThanItHashesGivesTheHashesInOrder) {
  const std::size_t n = 5000;
  static_assert(5000 > EntryHasher::kBlock * EntryHasher::kMaxQueued);
  EntryHasher hasher;
  for (int round = 0; round < 2; ++round) {
    const Digest start = sha256(as_bytes(std::string_view(round ? "after" : "first")));
    merkle::CompactRange range;  // a log that begins here
    Digest chain = start;
    std::vector<merkle::CompactRange::Node> nodes;
    std::vector<std::pair<std::uint64_t, Digest>> chains;
    hasher.begin(start, merkle::CompactRange{}, 0);
    for (std::size_t i = 0; i < n; ++i) {
      Bytes wire(40 + i % 300, static_cast<std::uint8_t>(i * 7 + round));
      EntryHeader header(Seq{i}, Partition{2}, KafkaOffset{static_cast<std::int64_t>(i * 3)});
      hasher.add(header, wire);
      const Digest leaf = entry_leaf_hash(header.view(), wire);
      chain = chain_hash(chain, leaf);
      if (stores_chain(i, 0)) chains.emplace_back(i, chain);
      range.append(leaf, [&](const merkle::CompactRange::Node& node) {
        if (node.level >= kLowestStoredLevel) nodes.push_back(node);
      });
      if (i == n / 2) {
        const BatchHashes& mid = hasher.sync();
        EXPECT_EQ(mid.chain, chain);
        EXPECT_EQ(mid.range.root(), range.root());
      }
    }
    const BatchHashes& h = hasher.sync();
    EXPECT_EQ(h.chain, chain);
    EXPECT_EQ(h.range.size(), n);
    EXPECT_EQ(h.range.root(), range.root());
    ASSERT_EQ(h.nodes.size(), nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      EXPECT_EQ(h.nodes[i].level, nodes[i].level) << i;
      EXPECT_EQ(h.nodes[i].index, nodes[i].index) << i;
      EXPECT_EQ(h.nodes[i].hash, nodes[i].hash) << i;
    }
    EXPECT_EQ(h.chains, chains);
    EXPECT_EQ(chains.size(), n / kChainStride);
  }
}

// scan_wire hands out each entry's wire form where LMDB holds it: the same seqs and bytes as
// scan's copies, in a range starting and ending mid-log that includes an entry stored with a
// chain hash (seq 1023); an entry cut short behind the ledger's back is refused as corrupt.
TEST(Ledger, ScanWireSeesWhatScanSeesAndRefusesATruncatedEntry) {
  const demo::World& big = past_a_stored_chain_hash();
  ASSERT_GT(big.events.size(), 1100u);
  testing::TempDir dir;
  auto l = open(dir.path());
  append_in_one_batch(*l, big.events);
  const std::uint64_t n = l->head().size;
  std::vector<std::pair<std::uint64_t, Bytes>> copied, in_place;
  ASSERT_TRUE(l->scan(Seq{3}, Seq{1100}, [&](const Entry& e) {
    copied.emplace_back(e.seq.value, e.wire);
    return true;
  }));
  ASSERT_TRUE(l->scan_wire(Seq{3}, Seq{1100}, [&](Seq seq, ByteView wire) {
    in_place.emplace_back(seq.value, Bytes(wire.begin(), wire.end()));
    return true;
  }));
  ASSERT_EQ(copied.size(), 1097u);
  EXPECT_EQ(in_place, copied);
  EXPECT_EQ(in_place[1020].second, encode_wire(big.events[1023]));
  std::size_t calls = 0;
  ASSERT_TRUE(l->scan_wire(Seq{0}, Seq{n}, [&](Seq, ByteView) { return ++calls < 5; }));
  EXPECT_EQ(calls, 5u) << "returning false stops the scan";
  l.reset();
  {
    lmdb::Env env(dir.path(), lmdb::EnvOptions{});
    MDB_dbi log = env.open_db("log");
    env.write([&](lmdb::Txn& t) {
      lmdb::BeKey k(7);
      const Bytes cut{0x01, 0x02};
      t.put(log, k.val(), lmdb::val(ByteView(cut)));
    });
  }
  l = open(dir.path());
  calls = 0;
  Status s = l->scan_wire(Seq{0}, Seq{n}, [&](Seq, ByteView) { return ++calls, true; });
  EXPECT_EQ(s.reason(), Reason::kCorrupt) << s.to_string();
  EXPECT_EQ(calls, 7u) << "entries 0 to 6 are whole";
  EXPECT_NE(s.message().find("seq 7"), std::string::npos) << s.to_string();
  s = l->scan(Seq{0}, Seq{n}, [](const Entry&) { return true; });
  EXPECT_EQ(s.reason(), Reason::kCorrupt) << s.to_string();
  EXPECT_NE(s.message().find("seq 7"), std::string::npos) << s.to_string();
}

TEST_F(Tamper, DeletedLastEntryIsNamed) {
  raw("log", [&](lmdb::Txn& t, MDB_dbi log) {
    lmdb::BeKey k(size_ - 1);
    t.erase(log, k.val());
  });
  VerifyReport r = verify();
  EXPECT_FALSE(r.ok);
  ASSERT_TRUE(r.first_bad);
  EXPECT_EQ(r.first_bad->value, size_ - 1);
}

TEST_F(Tamper, RewrittenHistoryWithValidChainFailsAgainstACheckpoint) {
  // An insider rebuilds the whole shard with one event left out: the new shard verifies on its
  // own, but not against a checkpoint of the original.
  PrivateKey key = *PrivateKey::generate();
  Checkpoint c = *open(dir_.path())->make_checkpoint(key, Timestamp{1});
  testing::TempDir forged;
  {
    auto l = open(forged.path());
    auto ing = Ingestor::create(*l);
    auto msgs = messages(0, world().events.size(), 0);
    msgs.erase(msgs.begin() + 100);
    ASSERT_TRUE((*ing)->ingest(msgs));
  }
  auto l = open(forged.path());
  EXPECT_TRUE(l->verify().ok);
  VerifyOptions o;
  o.checkpoint = c;
  EXPECT_FALSE(l->verify(o).ok);
}

}  // namespace
}  // namespace govcredit
