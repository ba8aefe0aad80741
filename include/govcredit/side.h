// Side tables: the named LMDB databases of a shard that hold state derived from its log (the
// projections, docs/LEDGER_FORMAT.md §10). They live in the shard's environment so that ingest
// updates them in the same transaction as the entries it appends, but they are not covered by
// the hash chain or the Merkle tree: they can be dropped and rebuilt from the log at any time.
//
// SideReader / SideWriter are the only way code outside src/ledger touches them. MemorySide is
// an in-memory implementation (rebuilds into memory, digests, tests).
//
// Thread-safety: a reader or writer handed out by the Ledger belongs to one transaction and one
// thread; MemorySide is a plain value.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "govcredit/types.h"

namespace govcredit {

enum class Side : std::uint8_t {
  kMeta,
  kAgency,
  kRecord,
  kObjection,
  kComplaint,
  kReceipt,
  kRecommendation,
  kReference,
  kRectification,
  kReport,
  kTrail,
  kAgencyItem,  // an agency's record and recommendation items, in blocks (since format 3)
};
inline constexpr std::size_t kSideCount = 12;
// The LMDB database name, e.g. "p.agency".
std::string_view side_name(Side t);

class SideReader {
 public:
  virtual ~SideReader() = default;
  // The value under key, or nullopt. The view is valid until the next write or the end of the
  // transaction: copy it out before either.
  virtual std::optional<ByteView> get(Side t, ByteView key) const = 0;
  // Calls fn for every key starting with prefix, in bytewise key order, until fn returns false.
  virtual void scan(Side t, ByteView prefix,
                    const std::function<bool(ByteView key, ByteView value)>& fn) const = 0;
  // The last key starting with prefix and its value, or nullopt.
  virtual std::optional<std::pair<Bytes, Bytes>> last_with_prefix(Side t, ByteView prefix) const;
};

class SideWriter : public SideReader {
 public:
  virtual void put(Side t, ByteView key, ByteView value) = 0;
  // put() of a key greater than every key in the table (LMDB's MDB_APPEND: no tree search).
  // Only for filling an emptied table in key order.
  virtual void append(Side t, ByteView key, ByteView value) { put(t, key, value); }
  // Removes every key of the table.
  virtual void clear(Side t) = 0;
};

// Everything in memory, ordered like LMDB (bytewise).
class MemorySide final : public SideWriter {
 public:
  std::optional<ByteView> get(Side t, ByteView key) const override;
  void scan(Side t, ByteView prefix,
            const std::function<bool(ByteView key, ByteView value)>& fn) const override;
  void put(Side t, ByteView key, ByteView value) override;
  void clear(Side t) override;

 private:
  std::array<std::map<std::string, std::string>, kSideCount> tables_;
};

// SHA-256 over every side table's content in a fixed order (LEDGER_FORMAT.md §10.4): two shards
// with equal digests hold byte-identical projections.
Digest side_digest(const SideReader& r);

}  // namespace govcredit
