// RFC 9162 §2.1 Merkle tree hashing, proofs and their verification (docs/LEDGER_FORMAT.md §3-4).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <absl/functional/function_ref.h>

#include "govcredit/types.h"

namespace govcredit::merkle {

Digest leaf_hash(ByteView entry);                           // H(0x00 ‖ entry)
Digest node_hash(const Digest& left, const Digest& right);  // H(0x01 ‖ left ‖ right)
Digest empty_root();                                        // H("")

// The post-order number of the complete subtree at (level, index): its key in the `merkle` db.
std::uint64_t node_position(std::uint32_t level, std::uint64_t index);
// How many complete subtrees of level from_level or higher a tree of n leaves has:
// Σ_{L ≥ from_level} ⌊n / 2^L⌋, which is 2n − popcount(n) for from_level 0.
std::uint64_t stored_node_count(std::uint64_t n, std::uint32_t from_level = 0);

// Source of complete-subtree hashes: (level, index) -> hash of leaves [index·2^level,
// (index+1)·2^level).
using SubtreeFn = std::function<Digest(std::uint32_t level, std::uint64_t index)>;

// MTH(D[a:b]) for the ranges that occur in RFC 9162 proofs (a aligned to the largest power of two
// ≤ b − a). Reads at most ⌈log₂(b − a)⌉ + 1 subtrees.
Digest range_hash(std::uint64_t a, std::uint64_t b, const SubtreeFn& subtree);
Digest root_hash(std::uint64_t size, const SubtreeFn& subtree);
// RFC 9162 §2.1.3.1 PATH(leaf, D[0:size]), leaf to root. Precondition: leaf < size.
std::vector<Digest> inclusion_proof(std::uint64_t leaf, std::uint64_t size,
                                    const SubtreeFn& subtree);
// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]). Precondition: 0 < size1 <= size2.
std::vector<Digest> consistency_proof(std::uint64_t size1, std::uint64_t size2,
                                      const SubtreeFn& subtree);

// The length of PATH(index, D[0:size]): the steps of the §2.1.3.2 verifier's walk. A proof of
// another length never verifies. Precondition: index < size.
std::size_t inclusion_path_length(std::uint64_t index, std::uint64_t size);

// One step of the RFC 9162 §2.1.3.2 walk: the node it holds, at (level, index) of the tree
// (level 0 the leaves; the last node of a level without a sibling counts as the same node a
// level up, as the walk promotes it), and the path's next element, its sibling, on the left or
// the right. A step function may return the parent's hash to use instead of hashing the two.
struct WalkStep {
  std::uint32_t level;
  std::uint64_t index;
  const Digest& node;
  const Digest& sibling;
  bool sibling_left;
};
// (A reference to the caller's callable, not a copy: a batch member's walk passes one per event.)
using StepFn = absl::FunctionRef<const Digest*(const WalkStep&)>;
// The root that §2.1.3.2's walk computes from `leaf` at `index` of a tree of `size` leaves and
// its inclusion path; nullopt when the path does not fit the index and size. `step` is called at
// every step.
std::optional<Digest> root_from_path(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                                     std::span<const Digest> path, StepFn step);
std::optional<Digest> root_from_path(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                                     std::span<const Digest> path);
// RFC 9162 §2.1.3.2.
bool verify_inclusion(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> proof, const Digest& root);
// RFC 9162 §2.1.4.2. size1 == size2 needs an empty proof and equal roots; size1 == 0 is
// consistent with anything given an empty proof.
bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const Digest& root1,
                        const Digest& root2, std::span<const Digest> proof);

// The right edge of a growing tree: the complete subtrees of its binary decomposition. Appending
// a leaf reports every subtree it completes, in post-order (the order they are stored in).
class CompactRange {
 public:
  struct Node {
    std::uint32_t level;
    std::uint64_t index;
    Digest hash;
  };
  CompactRange() = default;
  // Resumes a tree of `size` leaves from its complete subtrees, largest (leftmost) first.
  CompactRange(std::uint64_t size, std::vector<Digest> peaks);
  // Adds a leaf; calls emit(node) for the leaf and each subtree it completes, bottom up.
  template <class F>
  void append(const Digest& leaf, F&& emit) {
    std::uint32_t level = 0;
    std::uint64_t index = size_;
    Digest h = leaf;
    emit(Node{0, index, h});
    while (!peaks_.empty() && peak_levels_.back() == level) {
      h = node_hash(peaks_.back(), h);
      peaks_.pop_back();
      peak_levels_.pop_back();
      ++level;
      index >>= 1;
      emit(Node{level, index, h});
    }
    peaks_.push_back(h);
    peak_levels_.push_back(level);
    ++size_;
  }
  std::uint64_t size() const { return size_; }
  Digest root() const;
  const std::vector<Digest>& peaks() const { return peaks_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Digest> peaks_;
  std::vector<std::uint32_t> peak_levels_;
};

// The (level, index) of each complete subtree in the decomposition of a tree of `size` leaves,
// largest first.
std::vector<std::pair<std::uint32_t, std::uint64_t>> peak_positions(std::uint64_t size);

}  // namespace govcredit::merkle
