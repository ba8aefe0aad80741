// src/ledger/merkle.cc against the independent RFC 9162 reference in rfc9162_reference.h.
#include "govcredit/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <map>

#include "govcredit/crypto.h"
#include "ledger/rfc9162_reference.h"

#include <cstring>

namespace govcredit {
namespace {

namespace ref = rfc9162;

// Leaves 0..n-1 with data "leaf i", and the stored-subtree source computed the slow way.
struct Tree {
  std::vector<Bytes> data;
  std::vector<ref::Hash> leaves;
  std::map<std::uint64_t, Digest> stored;  // post-order position -> hash, filled by CompactRange

  explicit Tree(std::uint64_t n) {
    merkle::CompactRange range;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string s = "leaf " + std::to_string(i);
      data.emplace_back(s.begin(), s.end());
      leaves.push_back(ref::leaf(data.back()));
      range.append(merkle::leaf_hash(data.back()), [&](const merkle::CompactRange::Node& node) {
        std::uint64_t pos = merkle::node_position(node.level, node.index);
        EXPECT_EQ(pos, stored.size()) << "nodes must arrive in post-order";
        stored[pos] = node.hash;
      });
    }
    EXPECT_EQ(stored.size(), merkle::stored_node_count(n));
    EXPECT_EQ(ref::of(range.root()), ref::mth(leaves, 0, n));
  }
  merkle::SubtreeFn fn() const {
    return [this](std::uint32_t level, std::uint64_t index) {
      return stored.at(merkle::node_position(level, index));
    };
  }
};

TEST(Merkle, HashesAreDomainSeparated) {
  EXPECT_EQ(ref::of(merkle::empty_root()), ref::h({}));
  Bytes d{1, 2, 3};
  EXPECT_EQ(ref::of(merkle::leaf_hash(d)), ref::leaf(d));
  EXPECT_NE(merkle::leaf_hash(d), sha256(ByteView(d)));
}

TEST(Merkle, NodePositionsArePostOrder) {
  EXPECT_EQ(merkle::node_position(0, 0), 0u);
  EXPECT_EQ(merkle::node_position(0, 1), 1u);
  EXPECT_EQ(merkle::node_position(1, 0), 2u);
  EXPECT_EQ(merkle::node_position(0, 2), 3u);
  EXPECT_EQ(merkle::node_position(0, 3), 4u);
  EXPECT_EQ(merkle::node_position(1, 1), 5u);
  EXPECT_EQ(merkle::node_position(2, 0), 6u);
}

// The ledger stores the nodes of level 3 and up (docs/LEDGER_FORMAT.md §4); the count verify
// expects is that of the nodes a growing tree completes at those levels.
TEST(Merkle, NodeCountsFromALevelUpMatchTheNodesCompleted) {
  std::vector<std::uint64_t> at_level(64, 0);  // nodes completed so far, per level
  merkle::CompactRange range;
  for (std::uint64_t n = 1; n <= 300; ++n) {
    range.append(merkle::leaf_hash(Bytes{static_cast<std::uint8_t>(n)}),
                 [&](const merkle::CompactRange::Node& node) { ++at_level[node.level]; });
    std::uint64_t from = 0;
    for (std::uint32_t level = 64; level-- > 0;) {
      from += at_level[level];
      ASSERT_EQ(merkle::stored_node_count(n, level), from) << n << " leaves, level " << level;
    }
  }
  EXPECT_EQ(merkle::stored_node_count(16, 3), 3u);  // (3,0), (3,1), (4,0)
  EXPECT_EQ(merkle::stored_node_count(7, 3), 0u);
  EXPECT_EQ(merkle::stored_node_count(std::uint64_t{1} << 40, 3),
            (std::uint64_t{1} << 38) - 1);  // 2^37 + 2^36 + … + 1
}

TEST(Merkle, RootsAndProofsMatchTheRfcForEverySizeUpTo70) {
  Tree t(70);
  // Every root once, from both implementations (the loops below compare against them).
  std::vector<ref::Hash> ref_roots{ref::Hash{}};
  std::vector<Digest> roots{Digest{}};
  for (std::uint64_t n = 1; n <= 70; ++n) {
    ref_roots.push_back(ref::mth(t.leaves, 0, n));
    roots.push_back(merkle::root_hash(n, t.fn()));
  }
  for (std::uint64_t n = 1; n <= 70; ++n) {
    const ref::Hash& root = ref_roots[n];
    ASSERT_EQ(ref::of(roots[n]), root) << n;
    for (std::uint64_t m = 0; m < n; ++m) {
      auto proof = merkle::inclusion_proof(m, n, t.fn());
      ASSERT_EQ(ref::of_all(proof), ref::path(m, t.leaves, 0, n)) << m << "/" << n;
      EXPECT_TRUE(ref::verify_inclusion(t.leaves[m], m, n, ref::of_all(proof), root));
      EXPECT_TRUE(merkle::verify_inclusion(merkle::leaf_hash(t.data[m]), m, n, proof, roots[n]));
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      auto proof = merkle::consistency_proof(m, n, t.fn());
      ASSERT_EQ(ref::of_all(proof),
                m == n ? std::vector<ref::Hash>{} : ref::subproof(m, t.leaves, 0, n, true))
          << m << "->" << n;
      EXPECT_TRUE(ref::verify_consistency(m, n, ref_roots[m], root, ref::of_all(proof)))
          << m << "->" << n;
      EXPECT_TRUE(merkle::verify_consistency(m, n, roots[m], roots[n], proof));
    }
  }
}

TEST(Merkle, VerifiersRejectWrongProofs) {
  Tree t(13);
  auto fn = t.fn();
  Digest root = merkle::root_hash(13, fn);
  auto proof = merkle::inclusion_proof(5, 13, fn);
  Digest leaf = merkle::leaf_hash(t.data[5]);
  EXPECT_TRUE(merkle::verify_inclusion(leaf, 5, 13, proof, root));
  EXPECT_FALSE(merkle::verify_inclusion(leaf, 6, 13, proof, root));
  EXPECT_FALSE(merkle::verify_inclusion(leaf, 5, 17, proof, root));  // another tree shape
  EXPECT_FALSE(merkle::verify_inclusion(leaf, 5, 6, proof, root));
  EXPECT_FALSE(merkle::verify_inclusion(merkle::leaf_hash(t.data[4]), 5, 13, proof, root));
  auto shorter = proof;
  shorter.pop_back();
  EXPECT_FALSE(merkle::verify_inclusion(leaf, 5, 13, shorter, root));
  auto flipped = proof;
  flipped[1].bytes[0] ^= 1;
  EXPECT_FALSE(merkle::verify_inclusion(leaf, 5, 13, flipped, root));

  auto cproof = merkle::consistency_proof(6, 13, fn);
  Digest r6 = merkle::root_hash(6, fn);
  EXPECT_TRUE(merkle::verify_consistency(6, 13, r6, root, cproof));
  EXPECT_FALSE(merkle::verify_consistency(6, 13, merkle::root_hash(7, fn), root, cproof));
  EXPECT_FALSE(merkle::verify_consistency(7, 13, r6, root, cproof));
  EXPECT_FALSE(merkle::verify_consistency(6, 13, r6, root, {}));
  cproof[0].bytes[3] ^= 1;
  EXPECT_FALSE(merkle::verify_consistency(6, 13, r6, root, cproof));
}

// Proof sizes and read counts at and around one million entries stay within the log2 bounds.
// The hashes do not matter for sizes, so the subtree source returns a counter-derived hash and
// counts its calls.
TEST(Merkle, ProofSizesAtOneMillionEntriesStayWithinLog2Bounds) {
  std::uint64_t reads = 0;
  merkle::SubtreeFn fake = [&](std::uint32_t level, std::uint64_t index) {
    ++reads;
    Digest d;
    d.bytes[0] = static_cast<std::uint8_t>(level);
    std::memcpy(d.bytes.data() + 1, &index, 8);
    return d;
  };
  for (std::uint64_t n : std::vector<std::uint64_t>{1000000, 1048576, 1048577, 1234567}) {
    const std::uint64_t log2n = static_cast<std::uint64_t>(std::bit_width(n - 1));  // ceil(log2 n)
    for (std::uint64_t m : std::vector<std::uint64_t>{0, 1, n / 3, n / 2, n - 2, n - 1}) {
      reads = 0;
      auto p = merkle::inclusion_proof(m, n, fake);
      EXPECT_LE(p.size(), log2n) << m << "/" << n;
      EXPECT_LE(reads, log2n * log2n) << m << "/" << n;
    }
    for (std::uint64_t m : std::vector<std::uint64_t>{1, 2, n / 3, n / 2, n - 1}) {
      reads = 0;
      auto p = merkle::consistency_proof(m, n, fake);
      EXPECT_LE(p.size(), log2n + 1) << m << "->" << n;
      EXPECT_LE(reads, (log2n + 1) * log2n) << m << "->" << n;
    }
  }
}

}  // namespace
}  // namespace govcredit
