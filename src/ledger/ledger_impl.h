// Internal to src/ledger: the Ledger's state and the entry layout helpers
// (docs/LEDGER_FORMAT.md §2).
#pragma once

#include <array>
#include <cstring>
#include <memory>
#include <mutex>

#include "govcredit/ledger.h"
#include "govcredit/merkle.h"
#include "lmdb.h"

namespace govcredit {

inline constexpr std::string_view kChainPrefix{"govcredit/chain/v1\0", 19};
inline constexpr std::uint8_t kEntryVersion = 1;
inline constexpr std::size_t kEntryHeaderSize = 1 + 8 + 4 + 8;
// Format 2 stores only the Merkle nodes of level kLowestStoredLevel and up (LEDGER_FORMAT.md §4);
// format 1 (before 2026-12-01) stored every node, and is converted at a shard's first write.
inline constexpr std::uint32_t kStorageFormat = 2;
inline constexpr std::uint32_t kLowestStoredLevel = 3;

inline void put_le(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
inline std::uint64_t get_le(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct EntryHeader {
  std::uint8_t bytes[kEntryHeaderSize];
  EntryHeader(Seq seq, Partition p, KafkaOffset o) {
    bytes[0] = kEntryVersion;
    put_le(bytes + 1, seq.value, 8);
    put_le(bytes + 9, static_cast<std::uint32_t>(p.value), 4);
    put_le(bytes + 13, static_cast<std::uint64_t>(o.value), 8);
  }
  ByteView view() const { return {bytes, kEntryHeaderSize}; }
};

// H(0x00 ‖ header ‖ wire): the Merkle leaf hash of an entry, without building the entry.
Digest entry_leaf_hash(ByteView header, ByteView wire);
// H(prefix ‖ prev ‖ leaf): the chain hash (LEDGER_FORMAT.md §2).
Digest chain_hash(const Digest& prev, const Digest& leaf);

// Parses a `log` value. Returns kCorrupt when it is too short or of an unknown version.
Result<Entry> decode_log_value(ByteView value);

struct LedgerState {
  Head head;
  KafkaOffset next_offset{0};
  std::uint64_t rejections = 0;
  merkle::CompactRange range;
};

struct Ledger::Impl {
  std::unique_ptr<lmdb::Env> env;
  MDB_dbi meta = 0, log = 0, merkle = 0, index = 0, registry = 0, checkpoints = 0, rejections = 0;
  std::array<MDB_dbi, kSideCount> side{};  // indexed by Side
  Partition partition;
  std::string origin;
  std::string dir;
  int writer_lock = -1;   // fd holding flock(LOCK_EX) on dir/writer.lock once claimed
  bool upgraded = false;  // whether this handle has seen the shard in kStorageFormat (writer)
  ~Impl();
  mutable std::mutex mu;  // guards state
  LedgerState state;      // GUARDED_BY(mu); written only by the writer thread

  LedgerState snapshot() const {
    std::lock_guard lock(mu);
    return state;
  }
  // The hash of the complete subtree (level, index): read from `merkle`, or below
  // kLowestStoredLevel computed from its ≤ 4 log entries. Throws LmdbError(MDB_NOTFOUND) when
  // a node or entry is missing or malformed (corruption).
  Digest node(const lmdb::Txn& txn, std::uint32_t level, std::uint64_t index) const;
  // The storage format in meta/format as this transaction sees it (1 or 2).
  std::uint32_t format(const lmdb::Txn& txn) const;
  // Converts a format-1 shard to format 2 in `txn`: deletes the nodes below kLowestStoredLevel.
  void upgrade(lmdb::Txn& txn) const;
  Result<Entry> get(const lmdb::Txn& txn, Seq seq) const;
};

// The side tables over one LMDB transaction (read-only when the txn is).
class LmdbSide final : public SideWriter {
 public:
  LmdbSide(lmdb::Txn& txn, const std::array<MDB_dbi, kSideCount>& dbs) : txn_(txn), dbs_(dbs) {}
  std::optional<ByteView> get(Side t, ByteView key) const override;
  void scan(Side t, ByteView prefix,
            const std::function<bool(ByteView key, ByteView value)>& fn) const override;
  std::optional<std::pair<Bytes, Bytes>> last_with_prefix(Side t, ByteView prefix) const override;
  void put(Side t, ByteView key, ByteView value) override;
  void append(Side t, ByteView key, ByteView value) override;
  void clear(Side t) override;

 private:
  MDB_dbi db(Side t) const { return dbs_[static_cast<std::size_t>(t)]; }
  lmdb::Txn& txn_;
  const std::array<MDB_dbi, kSideCount>& dbs_;
};

}  // namespace govcredit
