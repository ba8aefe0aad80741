// Internal to src/projections: rows encoded into memory by Projector::flush.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "pack.h"

namespace govcredit::projections_internal {

// A table's changed objects, encoded, in key order (Projector::flush's second thread encodes
// whole tables into these while its own thread writes others): each row's key and value side by
// side, so that writing them reads memory in order (the keys otherwise live in the hash maps'
// nodes, a cache miss each) and encoding allocates no buffer per row.
//
// The bytes lie in chunks of `chunk` bytes (4 MiB), each reserved whole, so that a table of
// hundreds of MB is neither copied nor its memory touched twice as one vector doubles (at 10M
// entries the records alone are ~350 MB; first touches of memory are dear on a virtual machine,
// PERFORMANCE.md §5.19). A row lies within one chunk (a row longer than the room left makes that
// chunk longer, once).
struct Encoded {
  static constexpr std::size_t kChunk = std::size_t{4} << 20;
  explicit Encoded(std::size_t chunk = kChunk) : chunk_(chunk) {}

  struct Row {
    std::uint32_t chunk, at;
    std::uint32_t key_size, value_size;
  };
  std::vector<Bytes> chunks;
  std::vector<Row> rows;

  // Adds one row: the key, then the value (an id's 16 bytes, or a state packed: mostly under
  // 256 bytes).
  template <class Value>
  void add(ByteView key, const Value& value) {
    Bytes& data = room(key.size() + 256);
    const std::size_t at = data.size();
    data.insert(data.end(), key.begin(), key.end());
    if constexpr (std::is_same_v<Value, EventId>)
      data.insert(data.end(), value.bytes.begin(), value.bytes.end());
    else
      pack::encode_to(data, value);
    rows.push_back({static_cast<std::uint32_t>(chunks.size() - 1), static_cast<std::uint32_t>(at),
                    static_cast<std::uint32_t>(key.size()),
                    static_cast<std::uint32_t>(data.size() - at - key.size())});
  }

  // Adds one row whose value is already encoded.
  void add_encoded(ByteView key, ByteView value) {
    Bytes& data = room(key.size() + value.size());
    const std::size_t at = data.size();
    data.insert(data.end(), key.begin(), key.end());
    data.insert(data.end(), value.begin(), value.end());
    rows.push_back({static_cast<std::uint32_t>(chunks.size() - 1), static_cast<std::uint32_t>(at),
                    static_cast<std::uint32_t>(key.size()),
                    static_cast<std::uint32_t>(value.size())});
  }

  // fn(key, value) for each row, in the order added.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Row& r : rows) {
      const std::uint8_t* p = chunks[r.chunk].data() + r.at;
      fn(ByteView(p, r.key_size), ByteView(p + r.key_size, r.value_size));
    }
  }

  // for_each, freeing each chunk as soon as its rows are passed, then everything else: the memory
  // is there for what comes next (at 10M entries the records' chunks are ~0.4 GiB, and the item
  // blocks and trails are encoded, and LMDB's pages allocated, while they are being written).
  template <class Fn>
  void drain(Fn&& fn) {
    std::size_t freed = 0;
    for (const Row& r : rows) {
      for (; freed < r.chunk; ++freed) Bytes().swap(chunks[freed]);
      const std::uint8_t* p = chunks[r.chunk].data() + r.at;
      fn(ByteView(p, r.key_size), ByteView(p + r.key_size, r.value_size));
    }
    std::vector<Bytes>().swap(chunks);
    std::vector<Row>().swap(rows);
  }

  // Forgets the rows, keeping the first chunk's memory.
  void clear() {
    rows.clear();
    if (chunks.size() > 1) chunks.resize(1);
    if (!chunks.empty()) chunks[0].clear();
  }

 private:
  // The chunk to add about `need` bytes to: the last, or a new one when the last has no room.
  Bytes& room(std::size_t need) {
    if (chunks.empty() || chunks.back().capacity() - chunks.back().size() < need) {
      if (chunks.empty() || !chunks.back().empty()) chunks.emplace_back();
      chunks.back().reserve(std::max(chunk_, need));
    }
    return chunks.back();
  }
  std::size_t chunk_;
};

}  // namespace govcredit::projections_internal
