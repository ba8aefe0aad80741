// Hashing of bytes a client chooses (event ids, nonces' digests, signatures) for in-memory hash
// tables: absl's hash, seeded per process, over every byte, so that no one can choose keys that
// pile up on one slot (docs/SECURITY.md §5). The seed changes a table's iteration order from one
// process to the next: a table hashed this way must never be iterated where the order could
// reach what is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include <absl/hash/hash.h>

namespace govcredit {

// 16 bytes (an event id, a digest's first half), as two words.
inline std::size_t seeded_hash16(const std::uint8_t* p) {
  std::uint64_t a, b;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  return absl::Hash<std::pair<std::uint64_t, std::uint64_t>>{}(std::make_pair(a, b));
}

inline std::size_t seeded_hash(const std::uint8_t* p, std::size_t n) {
  return absl::Hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), n));
}

}  // namespace govcredit
