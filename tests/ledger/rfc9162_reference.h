// An independent RFC 9162 §2.1 implementation for the tests: straight from the RFC's recursive
// definitions over an explicit list of leaves, sharing no code with src/ledger/merkle.cc (it
// hashes with OpenSSL's one-shot SHA256 directly).
#pragma once

#include <openssl/sha.h>

#include <cstdint>
#include <vector>

#include "govcredit/types.h"

namespace govcredit::rfc9162 {

using Hash = std::array<std::uint8_t, 32>;

inline Hash h(const std::vector<std::uint8_t>& data) {
  Hash out;
  SHA256(data.data(), data.size(), out.data());
  return out;
}
inline Hash leaf(ByteView d) {
  std::vector<std::uint8_t> b{0x00};
  b.insert(b.end(), d.begin(), d.end());
  return h(b);
}
inline Hash node(const Hash& l, const Hash& r) {
  std::vector<std::uint8_t> b{0x01};
  b.insert(b.end(), l.begin(), l.end());
  b.insert(b.end(), r.begin(), r.end());
  return h(b);
}
inline std::uint64_t k_of(std::uint64_t n) {  // largest power of two < n
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
// MTH(D[lo:hi]) over leaf hashes.
inline Hash mth(const std::vector<Hash>& leaves, std::uint64_t lo, std::uint64_t hi) {
  if (hi - lo == 0) return h({});
  if (hi - lo == 1) return leaves[lo];
  std::uint64_t k = k_of(hi - lo);
  return node(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}
inline std::vector<Hash> path(std::uint64_t m, const std::vector<Hash>& l, std::uint64_t lo,
                              std::uint64_t hi) {
  if (hi - lo <= 1) return {};
  std::uint64_t k = k_of(hi - lo);
  std::vector<Hash> out;
  if (m < k) {
    out = path(m, l, lo, lo + k);
    out.push_back(mth(l, lo + k, hi));
  } else {
    out = path(m - k, l, lo + k, hi);
    out.push_back(mth(l, lo, lo + k));
  }
  return out;
}
inline std::vector<Hash> subproof(std::uint64_t m, const std::vector<Hash>& l, std::uint64_t lo,
                                  std::uint64_t hi, bool b) {
  std::uint64_t n = hi - lo;
  if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{mth(l, lo, hi)};
  std::uint64_t k = k_of(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = subproof(m, l, lo, lo + k, b);
    out.push_back(mth(l, lo + k, hi));
  } else {
    out = subproof(m - k, l, lo + k, hi, false);
    out.push_back(mth(l, lo, lo + k));
  }
  return out;
}
// RFC 9162 §2.1.3.2, written independently.
inline bool verify_inclusion(Hash r, std::uint64_t index, std::uint64_t size,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if (fn % 2 == 1 || fn == sn) {
      r = node(p, r);
      while (fn % 2 == 0 && fn != 0) fn /= 2, sn /= 2;
    } else {
      r = node(r, p);
    }
    fn /= 2, sn /= 2;
  }
  return sn == 0 && r == root;
}
// RFC 9162 §2.1.4.2, written independently.
inline bool verify_consistency(std::uint64_t first, std::uint64_t second, const Hash& h1,
                               const Hash& h2, std::vector<Hash> proof) {
  if (first == second) return proof.empty() && h1 == h2;
  if (first == 0 || first > second || proof.empty()) return false;
  if ((first & (first - 1)) == 0) proof.insert(proof.begin(), h1);
  std::uint64_t fn = first - 1, sn = second - 1;
  while (fn % 2 == 1) fn /= 2, sn /= 2;
  Hash fr = proof[0], sr = proof[0];
  for (std::size_t i = 1; i < proof.size(); ++i) {
    if (sn == 0) return false;
    if (fn % 2 == 1 || fn == sn) {
      fr = node(proof[i], fr);
      sr = node(proof[i], sr);
      while (fn % 2 == 0 && fn != 0) fn /= 2, sn /= 2;
    } else {
      sr = node(sr, proof[i]);
    }
    fn /= 2, sn /= 2;
  }
  return fr == h1 && sr == h2 && sn == 0;
}

template <class D>
Hash of(const D& d) {
  Hash out;
  std::copy(d.bytes.begin(), d.bytes.end(), out.begin());
  return out;
}
template <class D>
std::vector<Hash> of_all(const std::vector<D>& v) {
  std::vector<Hash> out;
  for (const auto& d : v) out.push_back(of(d));
  return out;
}

}  // namespace govcredit::rfc9162
