// Vocabulary types. Each identifier the system passes around has its own type so that an agency
// id cannot be handed where a principal id is expected, nor a ledger sequence where a Kafka
// offset is (STYLE.md habit 3). All are plain values, cheap to copy, safe to share read-only.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace govcredit {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A fixed-size byte string (hashes, ids, keys), ordered bytewise. Compared eight bytes at a time
// (big-endian, so the order stays bytewise): the defaulted comparisons of std::array called
// memcmp for every id look-up of the ingest path's tables (6% of a batch-signed drain's CPU).
template <std::size_t N, class Tag>
struct FixedBytes {
  static constexpr std::size_t kSize = N;
  std::array<std::uint8_t, N> bytes{};

  ByteView view() const { return {bytes.data(), N}; }

  bool operator==(const FixedBytes& o) const {
    if constexpr (N % 8 == 0) {
      std::uint64_t diff = 0;
      for (std::size_t i = 0; i < N; i += 8) diff |= word(i) ^ o.word(i);
      return diff == 0;
    } else {
      return bytes == o.bytes;
    }
  }
  std::strong_ordering operator<=>(const FixedBytes& o) const {
    if constexpr (N % 8 == 0) {
      for (std::size_t i = 0; i < N; i += 8) {
        std::uint64_t a = word(i), b = o.word(i);
        if (a == b) continue;
        if constexpr (std::endian::native == std::endian::little) {
          a = __builtin_bswap64(a);
          b = __builtin_bswap64(b);
        }
        return a <=> b;
      }
      return std::strong_ordering::equal;
    } else {
      return bytes <=> o.bytes;
    }
  }

 private:
  std::uint64_t word(std::size_t i) const {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    return w;
  }
};

struct DigestTag {};
struct EventIdTag {};
struct PublicKeyTag {};
struct SignatureTag {};
// A SHA-256 value.
using Digest = FixedBytes<32, DigestTag>;
// The 128-bit client-chosen event id; the idempotency key.
using EventId = FixedBytes<16, EventIdTag>;
// A raw Ed25519 public key (RFC 8032 encoding).
using PublicKeyBytes = FixedBytes<32, PublicKeyTag>;
// A raw Ed25519 signature.
using Signature = FixedBytes<64, SignatureTag>;

// A string identifier with a distinct type per kind.
template <class Tag>
struct StrongString {
  std::string value;

  StrongString() = default;
  explicit StrongString(std::string v) : value(std::move(v)) {}
  const std::string& str() const { return value; }
  bool empty() const { return value.empty(); }
  auto operator<=>(const StrongString&) const = default;
};

struct AgencyIdTag {};
struct PrincipalIdTag {};
struct KeyIdTag {};
// An agency id such as "sh.city.finance"; the subject of most events. "_system" is reserved.
using AgencyId = StrongString<AgencyIdTag>;
// A principal id such as "src.audit": whoever signs events.
using PrincipalId = StrongString<PrincipalIdTag>;
// 32 lowercase hex chars: the first 16 bytes of SHA-256 of the raw public key.
using KeyId = StrongString<KeyIdTag>;

// The subject of events that concern no single agency.
inline const AgencyId& system_subject() {
  static const AgencyId kSystem("_system");
  return kSystem;
}

// A point in time: milliseconds since 1970-01-01T00:00:00Z. Event time, never wall-clock time,
// drives every decision in ingest.
struct Timestamp {
  std::int64_t ms = 0;
  auto operator<=>(const Timestamp&) const = default;
};

// A strongly typed integer.
template <class Rep, class Tag>
struct StrongInt {
  Rep value{};
  auto operator<=>(const StrongInt&) const = default;
};

struct SeqTag {};
struct KafkaOffsetTag {};
struct PartitionTag {};
// The position of an entry in one shard's log, from 0.
using Seq = StrongInt<std::uint64_t, SeqTag>;
// A Kafka offset within one partition.
using KafkaOffset = StrongInt<std::int64_t, KafkaOffsetTag>;
// A Kafka partition number, which is also a shard number.
using Partition = StrongInt<std::int32_t, PartitionTag>;

}  // namespace govcredit

// String ids hash as their text does (for unordered look-up tables keyed by id).
template <class Tag>
struct std::hash<govcredit::StrongString<Tag>> {
  std::size_t operator()(const govcredit::StrongString<Tag>& s) const noexcept {
    return std::hash<std::string>{}(s.value);
  }
};
