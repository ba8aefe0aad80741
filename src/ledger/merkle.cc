#include "govcredit/merkle.h"

#include <bit>

#include "govcredit/crypto.h"

namespace govcredit::merkle {

Digest leaf_hash(ByteView entry) {
  thread_local Sha256 h;
  static constexpr std::uint8_t kLeaf = 0x00;
  return h.update(ByteView(&kLeaf, 1)).update(entry).finish();
}

Digest node_hash(const Digest& left, const Digest& right) {
  thread_local Sha256 h;
  static constexpr std::uint8_t kNode = 0x01;
  return h.update(ByteView(&kNode, 1)).update(left.view()).update(right.view()).finish();
}

// The RFC 9162 inclusion path's length for leaf `index` of a tree of `size` leaves: the steps
// of the verifier's walk (§2.1.3.2), one path element each.
std::size_t inclusion_path_length(std::uint64_t index, std::uint64_t size) {
  std::size_t n = 0;
  std::uint64_t fn = index, sn = size - 1;
  while (sn > 0) {
    if (!(fn & 1) && fn == sn)
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    ++n;
    fn >>= 1;
    sn >>= 1;
  }
  return n;
}

Digest empty_root() {
  return sha256(ByteView{});
}

std::uint64_t node_position(std::uint32_t level, std::uint64_t index) {
  std::uint64_t m = (index + 1) << level;
  return 2 * (m - 1) - static_cast<std::uint64_t>(std::popcount(m - 1)) + level;
}

std::uint64_t stored_node_count(std::uint64_t n, std::uint32_t from_level) {
  std::uint64_t all = 2 * n - static_cast<std::uint64_t>(std::popcount(n));
  for (std::uint32_t level = 0; level < from_level && level < 64; ++level) all -= n >> level;
  return all;
}

namespace {
// The largest power of two strictly below n (n >= 2).
std::uint64_t split_point(std::uint64_t n) {
  return std::bit_floor(n - 1);
}
}  // namespace

Digest range_hash(std::uint64_t a, std::uint64_t b, const SubtreeFn& subtree) {
  // Decompose [a, b) into complete subtrees, largest first, then fold from the right.
  std::vector<Digest> parts;
  std::uint64_t pos = a, n = b - a;
  for (int bit = 63; bit >= 0; --bit) {
    std::uint64_t size = std::uint64_t{1} << bit;
    if (n & size) {
      parts.push_back(subtree(static_cast<std::uint32_t>(bit), pos >> bit));
      pos += size;
    }
  }
  Digest h = parts.back();
  for (std::size_t i = parts.size() - 1; i-- > 0;) h = node_hash(parts[i], h);
  return h;
}

Digest root_hash(std::uint64_t size, const SubtreeFn& subtree) {
  return size == 0 ? empty_root() : range_hash(0, size, subtree);
}

namespace {
void path(std::uint64_t m, std::uint64_t a, std::uint64_t b, const SubtreeFn& f,
          std::vector<Digest>& out) {
  if (b - a <= 1) return;
  std::uint64_t k = split_point(b - a);
  if (m - a < k) {
    path(m, a, a + k, f, out);
    out.push_back(range_hash(a + k, b, f));
  } else {
    path(m, a + k, b, f, out);
    out.push_back(range_hash(a, a + k, f));
  }
}

void subproof(std::uint64_t m, std::uint64_t a, std::uint64_t b, bool complete, const SubtreeFn& f,
              std::vector<Digest>& out) {
  std::uint64_t n = b - a;
  if (m == n) {
    if (!complete) out.push_back(range_hash(a, b, f));
    return;
  }
  std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(m, a, a + k, complete, f, out);
    out.push_back(range_hash(a + k, b, f));
  } else {
    subproof(m - k, a + k, b, false, f, out);
    out.push_back(range_hash(a, a + k, f));
  }
}
}  // namespace

std::vector<Digest> inclusion_proof(std::uint64_t leaf, std::uint64_t size, const SubtreeFn& f) {
  std::vector<Digest> out;
  path(leaf, 0, size, f, out);
  return out;
}

std::vector<Digest> consistency_proof(std::uint64_t size1, std::uint64_t size2,
                                      const SubtreeFn& f) {
  std::vector<Digest> out;
  if (size1 == 0 || size1 >= size2) return out;
  subproof(size1, 0, size2, true, f, out);
  return out;
}

std::optional<Digest> root_from_path(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                                     std::span<const Digest> path, StepFn step) {
  if (index >= size) return std::nullopt;
  std::uint64_t fn = index, sn = size - 1;
  std::uint32_t level = 0;
  Digest r = leaf;
  for (const Digest& p : path) {
    if (sn == 0) return std::nullopt;
    const bool left = (fn & 1) || fn == sn;
    if (!(fn & 1) && fn == sn)
      // The last node of its level, without a sibling: the same node a level up, until it is
      // a right child (the §2.1.3.2 walk shifts after hashing; the hash is the same).
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
        ++level;
      }
    const Digest* known = step(WalkStep{level, fn, r, p, left});
    r = known ? *known : left ? node_hash(p, r) : node_hash(r, p);
    fn >>= 1;
    sn >>= 1;
    ++level;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

std::optional<Digest> root_from_path(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                                     std::span<const Digest> path) {
  return root_from_path(leaf, index, size, path, [](const WalkStep&) -> const Digest* {
    return nullptr;  // hash every step
  });
}

bool verify_inclusion(const Digest& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> proof, const Digest& root) {
  auto r = root_from_path(leaf, index, size, proof);
  return r && *r == root;
}

bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const Digest& root1,
                        const Digest& root2, std::span<const Digest> proof) {
  if (size1 > size2) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (size1 == 0) return proof.empty();
  if (proof.empty()) return false;
  std::vector<Digest> p(proof.begin(), proof.end());
  if (std::has_single_bit(size1)) p.insert(p.begin(), root1);
  if (p.empty()) return false;
  std::uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Digest fr = p[0], sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root1 && sr == root2 && sn == 0;
}

CompactRange::CompactRange(std::uint64_t size, std::vector<Digest> peaks)
    : size_(size), peaks_(std::move(peaks)) {
  for (auto [level, index] : peak_positions(size)) {
    (void)index;
    peak_levels_.push_back(level);
  }
}

Digest CompactRange::root() const {
  if (peaks_.empty()) return empty_root();
  Digest h = peaks_.back();
  for (std::size_t i = peaks_.size() - 1; i-- > 0;) h = node_hash(peaks_[i], h);
  return h;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> peak_positions(std::uint64_t size) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  std::uint64_t pos = 0;
  for (int bit = 63; bit >= 0; --bit) {
    std::uint64_t s = std::uint64_t{1} << bit;
    if (size & s) {
      out.emplace_back(static_cast<std::uint32_t>(bit), pos >> bit);
      pos += s;
    }
  }
  return out;
}

}  // namespace govcredit::merkle
