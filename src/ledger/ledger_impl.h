// Internal to src/ledger: the Ledger's state and the entry layout helpers
// (docs/LEDGER_FORMAT.md §2).
#pragma once

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "govcredit/ledger.h"
#include "govcredit/merkle.h"
#include "lmdb.h"

namespace govcredit {

class EntryHasher;  // entry_hasher.h

inline constexpr std::string_view kChainPrefix{"govcredit/chain/v1\0", 19};
inline constexpr std::uint8_t kEntryVersion = 1;
inline constexpr std::size_t kEntryHeaderSize = 1 + 8 + 4 + 8;
// Format 2 stores only the Merkle nodes of level kLowestStoredLevel and up (LEDGER_FORMAT.md §4);
// format 3 keeps the event index in runs (§11); format 4 stores the chain hash of every
// kChainStride-th entry instead of every entry's (§2); format 5 packs each run's records into
// chunks (§11). Formats 1 (before 2026-12-01: every Merkle node), 2 (one `event_index` database),
// 3 and 4 (one LMDB record per id in the runs) are read as they are and converted at a shard's
// first write.
inline constexpr std::uint32_t kStorageFormat = 5;
inline constexpr std::uint32_t kLowestStoredLevel = 3;
inline constexpr std::uint64_t kChainStride = 1024;

// Whether the `log` value of entry `seq` starts with the entry's chain hash (LEDGER_FORMAT.md §2):
// every entry below `chain_legacy` (those a format-1 to -3 shard held when it was converted), and
// from there every kChainStride-th (seqs 1023, 2047, ...).
inline bool stores_chain(std::uint64_t seq, std::uint64_t chain_legacy) {
  return seq < chain_legacy || (seq + 1) % kChainStride == 0;
}
// The length of that prefix: 32 or 0 bytes.
inline std::size_t chain_prefix(std::uint64_t seq, std::uint64_t chain_legacy) {
  return stores_chain(seq, chain_legacy) ? 32 : 0;
}
// Whether `entry`, a `log` value past its chain hash prefix, starts with a whole entry header of
// the known version.
inline bool entry_header_ok(ByteView entry) {
  return entry.size() >= kEntryHeaderSize && entry[0] == kEntryVersion;
}

// The event index's runs (LEDGER_FORMAT.md §11): run (tier t, position j) holds the ids of the
// entries of one aligned block of 2^(kRunBlockBits + kRunFanBits·t) seqs, the j-th of its parent
// block. Slot 0 is `event_index`, the ids of the entries a format-1 or -2 shard held when it was
// converted (seqs below meta/index_legacy); slot 1 + 8t + j holds run (t, j).
inline constexpr std::uint32_t kRunBlockBits = 10, kRunFanBits = 3, kRunTiers = 9;
inline constexpr std::uint32_t kRunFan = 1u << kRunFanBits;
inline constexpr std::size_t kIndexSlots = 1 + kRunTiers * kRunFan;
inline constexpr std::uint64_t kMaxEntries = std::uint64_t{1}
                                             << (kRunBlockBits + kRunFanBits * kRunTiers);
inline constexpr std::size_t run_slot(std::uint32_t tier, std::uint32_t pos) {
  return 1 + tier * kRunFan + pos;
}
std::string index_slot_name(std::size_t slot);

// One run that may hold records when the log has n entries and the first `legacy` are indexed in
// slot 0: its slot and the seqs [first, end) its records must lie in (a run's block without the
// seqs below `legacy`; slot 0's [0, legacy), cut at n should a damaged meta/index_legacy exceed
// it).
struct IndexRun {
  std::size_t slot;
  std::uint64_t first, end;
  bool chunked = false;  // its records are in chunks (RunCursor); set by Ledger::Impl::runs
};
// The runs in use at log size n that hold records (slot 0 first when legacy > 0).
std::vector<IndexRun> index_runs(std::uint64_t n, std::uint64_t legacy);

// A record of the event index: the id's 16 bytes, then the seq (u64 LE). From format 5 a run
// (slots 1 and up) stores its records in chunks (LEDGER_FORMAT.md §11): LMDB key = the chunk's
// first id, value = 1 to kChunkRecords records in increasing id order, each chunk's first id
// above the last id of the chunk before. Slot 0, and the runs of formats 3 and 4, store one LMDB
// record per id (key = the id, value = the seq).
inline constexpr std::size_t kRunRecordSize = 24;
inline constexpr std::size_t kChunkRecords = 83;  // 1992 bytes: two chunks fill a 4 KiB page

// Whether slot `slot` of a shard in storage format `format` stores chunks.
inline bool chunked_slot(std::size_t slot, std::uint32_t format) {
  return slot != 0 && format >= 5;
}

// One run's records in increasing id order, in either layout. A malformed LMDB record (a key
// that is not an id, a chunk whose size is not a whole number of records or whose key is not its
// first id, an id not above the one before) is skipped and noted in malformed().
class RunCursor {
 public:
  RunCursor(const lmdb::Txn& txn, MDB_dbi dbi, bool chunked);
  bool valid() const { return p_ != end_; }
  const std::uint8_t* id() const { return p_; }
  std::uint64_t seq() const;
  void next();
  bool malformed() const { return malformed_; }

 private:
  void load(bool at);  // at the records of the first well-formed LMDB record from the cursor's
  void settle();       // at the first record from p_ in order, loading LMDB records as needed
  lmdb::Cursor c_;
  const bool chunked_;
  const std::uint8_t* p_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  std::uint8_t record_[kRunRecordSize];  // the unchunked layout's record, assembled
  std::uint8_t last_[16];                // the last id passed, to check the order
  bool any_ = false, malformed_ = false, done_ = false;
};

// The seq a run gives `id`, if it holds it (one search).
std::optional<std::uint64_t> find_in_run(const lmdb::Txn& txn, MDB_dbi dbi, bool chunked,
                                         const std::uint8_t* id);

// MurmurHash3's 64-bit finaliser: mixes client-chosen ids (and seqs) before they are hashed on.
inline std::uint64_t mix64(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

// The writer's filter of every id in the shard (a blocked Bloom filter): false means absent.
class IdFilter {
 public:
  explicit IdFilter(std::uint64_t capacity);
  void add(const std::uint8_t* id);
  bool may_contain(const std::uint8_t* id) const;
  // Asks the CPU to fetch the id's block into its cache (what may_contain and add read).
  void prefetch(const std::uint8_t* id) const;
  std::uint64_t count() const { return count_; }
  std::uint64_t capacity() const { return capacity_; }

 private:
  using Block = std::array<std::uint64_t, 8>;
  // The id's block, and in `bits` the 6 × 9 bits that pick its probes inside the block.
  std::size_t block_of(const std::uint8_t* id, std::uint64_t* bits) const;
  std::vector<Block> blocks_;
  std::uint64_t count_ = 0, capacity_ = 0;
};

// Inline, and an asm statement on x86-64: with a __builtin_prefetch here, GCC 12's release build
// compiled BatchImpl::expect to a bare return (seen in its disassembly), the prefetches dropped.
inline void IdFilter::prefetch(const std::uint8_t* id) const {
  std::uint64_t bits;
  const Block& b = blocks_[block_of(id, &bits)];
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(b));
#else
  __builtin_prefetch(&b);
#endif
}

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

// Parses a `log` value whose chain hash prefix is `prefix` bytes (chain_prefix). Returns kCorrupt
// when it is too short or of an unknown version.
Result<Entry> decode_log_value(ByteView value, std::size_t prefix);
// The same into an Entry the caller keeps (its wire buffer is reused).
Status decode_log_value(ByteView value, std::size_t prefix, Entry& into);

struct LedgerState {
  Head head;
  KafkaOffset next_offset{0};
  std::uint64_t rejections = 0;
  merkle::CompactRange range;
};

struct Ledger::Impl {
  std::unique_ptr<lmdb::Env> env;
  MDB_dbi meta = 0, log = 0, merkle = 0, registry = 0, checkpoints = 0, rejections = 0;
  std::array<MDB_dbi, kIndexSlots> index{};  // by slot (kIndexSlots)
  std::array<MDB_dbi, kSideCount> side{};    // indexed by Side
  Partition partition;
  std::string origin;
  std::string dir;
  int writer_lock = -1;   // fd holding flock(LOCK_EX) on dir/writer.lock once claimed
  bool upgraded = false;  // whether this handle has seen the shard in kStorageFormat (writer)
  // The writer's id filter, built once enough look-ups make it pay (index.cc), and the log size
  // it was last brought up to date at; only Ledger::write touches them. One that was built and
  // then dropped (full, or another writer's entries missing) is built again at the next look-up.
  std::unique_ptr<IdFilter> filter;
  std::uint64_t filter_size = 0, lookups = 0, searches = 0;
  bool filter_paid = false;
  // The filter that replaces it once it is over its capacity, built from a read transaction on
  // another thread when it is three quarters full (start_next_filter), with the log size that
  // transaction saw; the writer adds the ids it appends meanwhile to next_filter_ids, which the
  // new filter takes before it replaces the old one (BatchImpl). Only Ledger::write touches
  // them; destroyed before env (declared after it), which the build's transaction needs.
  struct BuiltFilter {
    std::unique_ptr<IdFilter> filter;
    std::uint64_t size = 0;
  };
  std::future<BuiltFilter> next_filter;
  std::vector<std::array<std::uint8_t, 16>> next_filter_ids;
  std::uint64_t filters_built_beside = 0;  // for tests
  // Starts building the next filter if the filter is three quarters full and none is under way.
  void start_next_filter() noexcept;
  // Replaces the full filter by the one built beside the writer, given the batch's start size
  // n0; false (and no filter) when that build failed or missed entries (the caller builds one).
  bool adopt_next_filter(std::uint64_t n0);
  // Hashes the writer's entries beside it, started at the first write (entry_hasher.h).
  std::unique_ptr<EntryHasher> hasher;
  ~Impl();
  mutable std::mutex mu;  // guards state, unsynced and durable_size
  LedgerState state;      // GUARDED_BY(mu); written only by the writer thread
  // The log sizes of the write transactions not yet known to be on disk, by transaction id, in
  // commit order; durable_size is the size of the last one that is (Ledger::durable_size()).
  std::deque<std::pair<std::uint64_t, std::uint64_t>> unsynced;
  std::uint64_t durable_size = 0;
  bool sync_on_close = false;  // Durability::kByNextCommit
  // Moves the unsynced writes the environment now knows on disk into durable_size. Under mu.
  void settle_unsynced();

  LedgerState snapshot() const {
    std::lock_guard lock(mu);
    return state;
  }
  // Calls fn(seq, leaf hash) for the log entries [first, end), in order. Throws
  // LmdbError(MDB_NOTFOUND) naming the first that is missing or malformed, and whose() after
  // its seq.
  void leaf_hashes(const lmdb::Txn& txn, std::uint64_t first, std::uint64_t end,
                   const std::function<void(std::uint64_t, const Digest&)>& fn,
                   const std::function<std::string()>& whose) const;
  // The hash of the complete subtree (level, index): read from `merkle`, or below
  // kLowestStoredLevel computed from its ≤ 4 log entries. Throws LmdbError(MDB_NOTFOUND) when
  // a node or entry is missing or malformed (corruption).
  Digest node(const lmdb::Txn& txn, std::uint32_t level, std::uint64_t index) const;
  // The storage format in meta/format as this transaction sees it (1 to 4).
  std::uint32_t format(const lmdb::Txn& txn) const;
  // How many of the first entries store their chain hash whatever their seq (stores_chain):
  // meta/chain_legacy in format 4 (0 when absent: a shard created in format 4), every entry in
  // formats 1 to 3. Fixed once the shard is in format 4, so then kept here.
  std::uint64_t chain_legacy(const lmdb::Txn& txn) const;
  mutable std::atomic<std::uint64_t> chain_legacy_known{~std::uint64_t{0}};  // ~0: not yet
  // The chain hash through entry `seq` (< the log's size): the one stored with it, or hashed on
  // from the nearest entry below that stores one (at most kChainStride - 1 entries). Throws
  // LmdbError(MDB_NOTFOUND) when an entry is missing or malformed.
  Digest entry_hash(const lmdb::Txn& txn, std::uint64_t seq) const;
  // The log's size as this transaction sees it (meta/head; 0 when there is none).
  std::uint64_t stored_size(const lmdb::Txn& txn) const;
  // How many of the first entries slot 0 indexes: meta/index_legacy in format 3, every entry of
  // the log (of size n) in formats 1 and 2.
  std::uint64_t index_legacy(const lmdb::Txn& txn, std::uint64_t n) const;
  // Converts a format-1 to -4 shard to format 5 in `txn`: deletes the Merkle nodes below
  // kLowestStoredLevel (format 1), records meta/index_legacy (formats 1 and 2) and
  // meta/chain_legacy (formats 1 to 3), writes the runs again in chunks (formats 3 and 4).
  void upgrade(lmdb::Txn& txn) const;
  // The event index runs in use at log size n, as this transaction sees meta/index_legacy.
  std::vector<IndexRun> runs(const lmdb::Txn& txn, std::uint64_t n) const;
  // The seq those runs give `id`, if any (one search per run).
  std::optional<std::uint64_t> find_id(const lmdb::Txn& txn, const std::uint8_t* id,
                                       const std::vector<IndexRun>& runs) const;
  // find_id over the runs of the log this transaction holds (its meta/head), for LmdbSide.
  std::function<std::optional<std::uint64_t>(const EventId&)> seq_of(const lmdb::Txn& txn) const;
  Result<Entry> get(const lmdb::Txn& txn, Seq seq) const;
};

// One id a batch appended, waiting for the batch's end to be written into its run.
struct PendingId {
  std::array<std::uint8_t, 16> id;
  std::uint64_t seq;
};
// Writes a batch's ids (in seq order, continuing the log) into their tier-0 runs and merges the
// runs of every block the batch completed (LEDGER_FORMAT.md §11).
void write_index(lmdb::Txn& txn, const Ledger::Impl& impl, const std::vector<PendingId>& ids);
// Writes the records of a run (one of format 3 or 4, one LMDB record per id) again in chunks.
void chunk_run(lmdb::Txn& txn, MDB_dbi dbi);
// A filter holding every id of these runs, sized for n entries and growth.
std::unique_ptr<IdFilter> build_filter(const lmdb::Txn& txn, const Ledger::Impl& impl,
                                       const std::vector<IndexRun>& runs, std::uint64_t n);

// The side tables over one LMDB transaction (read-only when the txn is).
class LmdbSide final : public SideWriter {
 public:
  // seq_of answers seq_of() (the event index of the ledger, as this transaction sees it).
  using SeqOf = std::function<std::optional<std::uint64_t>(const EventId&)>;
  LmdbSide(lmdb::Txn& txn, const std::array<MDB_dbi, kSideCount>& dbs, SeqOf seq_of)
      : txn_(txn), dbs_(dbs), seq_of_(std::move(seq_of)) {}
  std::optional<ByteView> get(Side t, ByteView key) const override;
  std::optional<Seq> seq_of(const EventId& id) const override;
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
  SeqOf seq_of_;
  // The cursor of the last append(), left at the end of its table: the next append to the same
  // table needs no search from the root (a rebuild appends every row of every table). Closed by
  // any other write to that table and with this object, which ends before its transaction.
  std::optional<lmdb::Cursor> appending_;
  Side appending_side_{};
};

}  // namespace govcredit
