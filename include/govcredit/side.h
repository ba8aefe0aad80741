// Side tables: the named LMDB databases of a shard that hold state derived from its log (the
// projections, docs/LEDGER_FORMAT.md §10). They live in the shard's environment so that ingest
// updates them in the same transaction as the entries it appends, but they are not covered by
// the hash chain or the Merkle tree: they can be dropped and rebuilt from the log at any time.
//
// SideReader / SideWriter are the only way code outside src/ledger touches them. MemorySide is
// an in-memory implementation (rebuilds into memory, digests, tests).
//
// Thread-safety: a reader or writer handed out by the Ledger belongs to one transaction and one
// thread; MemorySide is a plain value (its seq_of fills a cache: one thread at a time, const or
// not).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "govcredit/crypto.h"
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

// The tables of objects (records, objections, complaints, recommendations, rectifications): each
// row is keyed `seq u64 BE ‖ event id`, the seq of the log entry that created the object and its
// id (LEDGER_FORMAT.md §10.2), so that the rows of new objects go to the end of their table.
bool keyed_by_seq(Side t);
inline constexpr std::size_t kObjectKeySize = 24;
using ObjectKey = std::array<std::uint8_t, kObjectKeySize>;
ObjectKey object_key(Seq seq, const EventId& id);
// The seq at the front of an object key (at least 8 bytes).
Seq object_key_seq(ByteView key);

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
  // The seq of the log entry whose event has this id, or nullopt when there is none (a
  // MemorySide: when no object table holds a row of that id). An object is found from its id
  // alone through this: get(t, object_key(*seq_of(id), id)).
  virtual std::optional<Seq> seq_of(const EventId& id) const = 0;
  // That look-up: the value of object `id` in an object table, or nullopt.
  std::optional<ByteView> get_object(Side t, const EventId& id) const;
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
  std::optional<Seq> seq_of(const EventId& id) const override;
  void put(Side t, ByteView key, ByteView value) override;
  void clear(Side t) override;

 private:
  std::array<std::map<std::string, std::string>, kSideCount> tables_;
  // The seq of each id the object tables hold a row of, what seq_of answers from: built at the
  // first seq_of after a change to an object table (a rebuild in memory never asks, and an
  // index kept up to date by every put made it a quarter slower at 1M entries).
  mutable std::optional<std::map<std::string, std::uint64_t>> seqs_;
};

// The projection digest (LEDGER_FORMAT.md §10.4): SHA-256 over each side table's name, row count
// and own SHA-256 of its rows, in a fixed order of tables. Two shards with equal digests hold
// byte-identical projections.
Digest side_digest(const SideReader& r);

// A writer that passes everything on to another and hashes the rows as they go by, so that the
// digest of what the transaction will hold is known without reading it back (a rebuild's flush).
// Each table is hashed on its own, so the tables may be written in any order, and nothing is
// kept but a few KiB per table. The digest equals side_digest of the result whenever every table
// was cleared through this writer and then filled only through it in strictly ascending key
// order; digest() checks that and refuses otherwise.
class DigestingWriter final : public SideWriter {
 public:
  explicit DigestingWriter(SideWriter& inner) : inner_(inner) {}
  std::optional<ByteView> get(Side t, ByteView key) const override { return inner_.get(t, key); }
  void scan(Side t, ByteView prefix,
            const std::function<bool(ByteView key, ByteView value)>& fn) const override {
    inner_.scan(t, prefix, fn);
  }
  std::optional<Seq> seq_of(const EventId& id) const override { return inner_.seq_of(id); }
  void put(Side t, ByteView key, ByteView value) override;
  void append(Side t, ByteView key, ByteView value) override;
  void clear(Side t) override;
  // side_digest of the tables as written, or nullopt when the rows do not tell it (above). The
  // first call ends the hashing: rows written after it are passed on but not hashed.
  std::optional<Digest> digest() noexcept;

 private:
  struct Table {
    bool cleared = false;
    bool ascending = true;
    std::uint64_t rows = 0;
    Bytes last_key;
    Bytes pending;  // framed rows not yet hashed (hashed in pieces of 64 KiB)
    Sha256 hash;
  };
  void record(Side t, ByteView key, ByteView value);
  // Every table cleared through this writer and filled in strictly ascending key order.
  bool whole_tables() const;

  SideWriter& inner_;
  std::array<Table, kSideCount> tables_;
  bool finished_ = false;  // digest() was called: the hashing has ended
  std::optional<Digest> digest_;
};

}  // namespace govcredit
