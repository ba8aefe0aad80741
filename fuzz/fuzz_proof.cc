// Fuzz target: the proof verifiers. The input is read as sizes, an index and a path of hashes
// (RFC 9162 inclusion and consistency proofs), as a Merkle leaf (the ledger's entry encoding) and
// as a checkpoint note: each is accepted or refused, never a crash or a hang; a proof that
// verifies must agree with the tree it claims (a one-leaf tree's root is its leaf).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "govcredit/checkpoint.h"
#include "govcredit/ledger.h"
#include "govcredit/merkle.h"

namespace {

std::uint64_t take_u64(const std::uint8_t*& p, std::size_t& n) {
  std::uint64_t v = 0;
  std::size_t k = n < 8 ? n : 8;
  std::memcpy(&v, p, k);
  p += k;
  n -= k;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using govcredit::Digest;
  (void)govcredit::entry_from_leaf_data(govcredit::ByteView(data, size));
  (void)govcredit::parse_checkpoint(std::string_view(reinterpret_cast<const char*>(data), size));

  const std::uint8_t* p = data;
  std::size_t n = size;
  // Small sizes most of the time, so that real proofs of these shapes are reachable.
  const std::uint64_t size1 = take_u64(p, n) % 100000, size2 = take_u64(p, n);
  const std::uint64_t index = take_u64(p, n);
  Digest a, b;
  std::size_t k = n < 32 ? n : 32;
  std::memcpy(a.bytes.data(), p, k);
  p += k;
  n -= k;
  k = n < 32 ? n : 32;
  std::memcpy(b.bytes.data(), p, k);
  p += k;
  n -= k;
  std::vector<Digest> path;
  while (n >= 32 && path.size() < 80) {
    Digest d;
    std::memcpy(d.bytes.data(), p, 32);
    path.push_back(d);
    p += 32;
    n -= 32;
  }
  const bool included = govcredit::merkle::verify_inclusion(a, index, size2, path, b);
  if (included && size2 == 1 && !(path.empty() && index == 0 && a == b)) std::abort();
  const bool consistent = govcredit::merkle::verify_consistency(size1, size2, a, b, path);
  if (consistent && size1 > size2) std::abort();
  return 0;
}
