// Complainants' contact details: sealing, the key vault, and erasure that leaves every proof
// intact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/merkle.h"
#include "govcredit/privacy.h"
#include "ledger/lmdb.h"
#include "support/support.h"

namespace govcredit {
namespace {

TEST(Privacy, SealedContactsOpenOnlyWithTheirKeyForTheirComplaint) {
  DataKey k = new_data_key(), other = new_data_key();
  EventId id, id2;
  id.bytes[0] = 1;
  id2.bytes[0] = 2;
  auto sealed = seal_contact(k, id, "联系人：王先生，电话 13912345678");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), 12 + std::string("联系人：王先生，电话 13912345678").size() + 16);
  auto opened = open_contact(k, id, *sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "联系人：王先生，电话 13912345678");
  EXPECT_EQ(open_contact(other, id, *sealed).status().reason(), Reason::kCorrupt);
  EXPECT_EQ(open_contact(k, id2, *sealed).status().reason(), Reason::kCorrupt);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    Bytes bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(open_contact(k, id, bad)) << "flipped byte " << i;
  }
  // Random nonces: sealing twice gives different bytes.
  EXPECT_NE(*seal_contact(k, id, "x"), *seal_contact(k, id, "x"));
}

bool file_contains(const std::filesystem::path& p, ByteView needle) {
  std::ifstream in(p, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::search(data.begin(), data.end(), needle.begin(), needle.end(),
                     [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }) !=
         data.end();
}

TEST(Privacy, EraseDestroysTheKeyAndEveryProofStillHolds) {
  testing::TempDir dir;
  demo::World w = demo::generate(demo::Options{.seed = 3, .records = 60});
  ASSERT_FALSE(w.contact_keys.empty());
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path()});
  ASSERT_TRUE(bus);
  for (const auto& r : (*bus)->publish_all_with_results(w.events)) {
    ASSERT_TRUE(r);
    for (const auto& x : *r) ASSERT_EQ(x.outcome, IngestOutcome::kAccepted) << x.status.to_string();
  }
  const std::string vault_dir = dir.path() + "/vault";
  auto vault = KeyVault::open(vault_dir);
  ASSERT_TRUE(vault);
  for (const auto& [id, key] : w.contact_keys) ASSERT_TRUE((*vault)->put(id, key));
  EXPECT_FALSE(KeyVault::open(vault_dir)) << "a second opener must be refused";

  const auto& [victim, key] = *w.contact_keys.begin();
  Ledger& ledger = (*bus)->shard(Partition{0});
  auto entry = ledger.get_by_event(victim);
  ASSERT_TRUE(entry);
  auto ev = decode_wire(entry->wire);
  ASSERT_TRUE(ev);
  const Bytes sealed = ev->as<ComplaintFiled>()->contact_sealed;
  ASSERT_TRUE(open_contact(key, victim, sealed));
  const Head head = ledger.head();

  ASSERT_TRUE((*vault)->erase(victim));
  EXPECT_EQ((*vault)->erase(victim).reason(), Reason::kNotFound);
  auto gone = (*vault)->get(victim);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ((*vault)->size(), w.contact_keys.size() - 1);
  // The other complaints' keys survive the compaction.
  for (const auto& [id, k] : w.contact_keys)
    if (id != victim) {
      EXPECT_EQ((*vault)->get(id)->value(), k);
    }
  // No file under the data directory still holds the key's bytes.
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path()))
    if (f.is_regular_file()) {
      EXPECT_FALSE(file_contains(f.path(), key.view())) << f.path();
    }
  // The log is untouched: same head, verify passes with signatures, the entry's proof holds.
  EXPECT_EQ(ledger.head().chain, head.chain);
  EXPECT_EQ(ledger.head().root, head.root);
  VerifyOptions vo;
  vo.signatures = true;
  EXPECT_TRUE(ledger.verify(vo).ok);
  auto proof = ledger.inclusion_proof(entry->seq, head.size);
  ASSERT_TRUE(proof);
  EXPECT_TRUE(merkle::verify_inclusion(merkle::leaf_hash(proof->leaf_data), entry->seq.value,
                                       head.size, proof->path, head.root));
  // And the sealed bytes (still in the log) do not open without the key.
  EXPECT_FALSE(open_contact(DataKey{}, victim, sealed));
}

}  // namespace
}  // namespace govcredit

namespace govcredit {
namespace {

TEST(Privacy, AVaultFinishesAnInterruptedErase) {
  testing::TempDir dir;
  EventId a, b;
  a.bytes[0] = 1;
  b.bytes[0] = 2;
  DataKey ka = new_data_key(), kb = new_data_key();
  {
    auto v = KeyVault::open(dir.path());
    ASSERT_TRUE(v);
    ASSERT_TRUE((*v)->put(a, ka));
    ASSERT_TRUE((*v)->put(b, kb));
  }
  // Stopped after the old file was moved aside, before the compact copy took its place.
  std::filesystem::rename(dir.path() + "/data.mdb", dir.path() + "/data.mdb.erased");
  {
    auto v = KeyVault::open(dir.path());
    ASSERT_TRUE(v) << v.status().to_string();
    EXPECT_EQ((*v)->get(a)->value(), ka);
    EXPECT_EQ((*v)->get(b)->value(), kb);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data.mdb.erased"));
  // Stopped after the swap, before the old file was shredded.
  std::ofstream(dir.path() + "/data.mdb.erased") << "stale key material";
  {
    auto v = KeyVault::open(dir.path());
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)->size(), 2u);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data.mdb.erased"));
}

// Stopped after the erase's transaction, before its compaction (a crash, or the machine's power):
// the key is gone from the live data, its bytes are still in a free page of the file, and a
// second erase finds no key to erase. The erase's marker makes the next open compact the vault.
TEST(Privacy, AnEraseStoppedBeforeItsCompactionIsFinishedAtOpen) {
  testing::TempDir dir;
  EventId a, b;
  a.bytes[0] = 1;
  b.bytes[0] = 2;
  const DataKey ka = new_data_key(), kb = new_data_key();
  {
    auto v = KeyVault::open(dir.path());
    ASSERT_TRUE(v);
    ASSERT_TRUE((*v)->put(a, ka));
    ASSERT_TRUE((*v)->put(b, kb));
  }
  std::ofstream(dir.path() + "/erasing").flush();  // written first by KeyVault::erase
  {
    lmdb::Env env(dir.path(), lmdb::EnvOptions{std::size_t{64} << 20, 4, false});
    const MDB_dbi keys = env.open_db("keys");
    env.write([&](lmdb::Txn& t) {  // as KeyVault::erase's transaction
      std::uint8_t zeros[32] = {};
      t.put(keys, lmdb::val(a.view()), MDB_val{32, zeros});
      t.erase(keys, lmdb::val(a.view()));
    });
  }
  ASSERT_TRUE(file_contains(dir.path() + "/data.mdb", ka.view()))
      << "the premise: the key's bytes left in a free page";
  {
    auto v = KeyVault::open(dir.path());
    ASSERT_TRUE(v) << v.status().to_string();
    EXPECT_FALSE((*v)->get(a)->has_value());
    EXPECT_EQ((*v)->get(b)->value(), kb);
  }
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path()))
    if (f.is_regular_file()) {
      EXPECT_FALSE(file_contains(f.path(), ka.view())) << f.path();
    }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/erasing"));
}

}  // namespace
}  // namespace govcredit
