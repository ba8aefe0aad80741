// Test helpers over the event index (docs/LEDGER_FORMAT.md §11): a run's records in either
// layout, written back in either layout, for tests that damage the index or make a shard of an
// older storage format.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "govcredit/types.h"
#include "ledger/ledger_impl.h"
#include "ledger/lmdb.h"

namespace govcredit::runs {

struct Record {
  Bytes id;  // 16 bytes
  std::uint64_t seq;
  bool operator==(const Record&) const = default;
  auto operator<=>(const Record&) const = default;
};

// The records of one run, in order, as RunCursor reads them.
inline std::vector<Record> read(const lmdb::Txn& txn, MDB_dbi dbi, bool chunked) {
  std::vector<Record> out;
  for (RunCursor c(txn, dbi, chunked); c.valid(); c.next())
    out.push_back({Bytes(c.id(), c.id() + 16), c.seq()});
  return out;
}

// Empties the run and writes `records` in the order given (a test may give them out of order):
// in chunks of kChunkRecords, the last holding the rest, each under its first id; or one LMDB
// record per id (slot 0, formats 3 and 4).
inline void write(lmdb::Txn& txn, MDB_dbi dbi, const std::vector<Record>& records, bool chunked) {
  txn.clear(dbi);
  for (std::size_t i = 0; i < records.size(); i += chunked ? kChunkRecords : 1) {
    const std::size_t end = chunked ? std::min(records.size(), i + kChunkRecords) : i + 1;
    Bytes value;
    for (std::size_t j = i; j < end; ++j) {
      if (chunked) value.insert(value.end(), records[j].id.begin(), records[j].id.end());
      std::uint8_t seq[8];
      put_le(seq, records[j].seq, 8);
      value.insert(value.end(), seq, seq + 8);
    }
    txn.put(dbi, lmdb::val(ByteView(records[i].id)), lmdb::val(ByteView(value)));
  }
}

// The storage format in meta/format of a closed shard.
inline std::uint32_t format_of(const std::string& dir) {
  lmdb::Env env(dir, lmdb::EnvOptions{});
  MDB_dbi meta = env.open_db("meta");
  std::uint32_t f = 0;
  env.read([&](const lmdb::Txn& txn) {
    auto v = txn.find(meta, lmdb::val(std::string_view("format")));
    if (v && v->size() == 4) f = static_cast<std::uint32_t>(get_le(v->data(), 4));
  });
  return f;
}

// Sets meta/format of a closed shard (a test making a shard of an older format).
inline void set_format(const std::string& dir, std::uint32_t format) {
  lmdb::Env env(dir, lmdb::EnvOptions{});
  MDB_dbi meta = env.open_db("meta");
  env.write([&](lmdb::Txn& txn) {
    std::uint8_t f[4];
    put_le(f, format, 4);
    txn.put(meta, lmdb::val(std::string_view("format")), MDB_val{4, f});
  });
}

// Every slot's records of a closed shard (read in the layout its format gives the slot), by
// slot; empty slots left out.
inline std::vector<std::pair<std::string, std::vector<Record>>> all(const std::string& dir) {
  const std::uint32_t f = format_of(dir);
  lmdb::Env env(dir, lmdb::EnvOptions{.max_dbs = 128});
  std::vector<std::pair<std::string, std::vector<Record>>> out;
  for (std::size_t slot = 0; slot < kIndexSlots; ++slot) {
    MDB_dbi dbi = env.open_db(index_slot_name(slot).c_str());
    env.read([&](const lmdb::Txn& txn) {
      auto records = read(txn, dbi, chunked_slot(slot, f));
      if (!records.empty()) out.emplace_back(index_slot_name(slot), std::move(records));
    });
  }
  return out;
}

// Writes every run (slots 1 and up) of a closed shard again, chunked or one LMDB record per id:
// with meta/format set to 3 or 4, a shard as those formats stored it.
inline void relayout(const std::string& dir, bool chunked) {
  const std::uint32_t f = format_of(dir);
  lmdb::Env env(dir, lmdb::EnvOptions{.max_dbs = 128});
  for (std::size_t slot = 1; slot < kIndexSlots; ++slot) {
    MDB_dbi dbi = env.open_db(index_slot_name(slot).c_str());
    env.write([&](lmdb::Txn& txn) {
      if (txn.count(dbi) != 0) write(txn, dbi, read(txn, dbi, chunked_slot(slot, f)), chunked);
    });
  }
}

}  // namespace govcredit::runs
