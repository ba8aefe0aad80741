// The event index: id → seq in runs over aligned blocks of the log (docs/LEDGER_FORMAT.md §11).
//
// Ids are random, so one B-tree over every id puts each new id at a random place: every entry of
// a batch dirties its own index page once the index outgrows the batch, and the pages a batch
// copies and writes grow with the log. A run holds the ids of one aligned block of seqs instead:
// a batch's ids land in the one or two small tier-0 runs of its blocks, and when a block of
// 8^t tier-0 blocks completes, the runs inside it are merged into one run of tier t, written in
// key order with MDB_APPEND. Each id is rewritten once per tier it climbs (log₈ n/1024 times),
// always sequentially. Which runs exist, and which seqs each holds, is a function of the log's
// size alone, so a replay builds the same runs however its batches fell.
//
// A run stores its records in chunks of kChunkRecords (format 5): one LMDB record, written with
// one put and read with one cursor step, for 83 ids. One LMDB record per id (formats 3 and 4)
// made LMDB's per-record put over half of a merge, and a 1M-entry append spend ~15% of its time
// on the index (PERFORMANCE.md §5.18).
#include <algorithm>
#include <cstring>
#include <functional>

#include "ledger_impl.h"

namespace govcredit {
namespace {

constexpr std::uint64_t kBitsPerId = 12;  // ~0.5% false positives with 6 probes in a 512-bit block
constexpr int kProbes = 6;

// An id as two big-endian words, which order as LMDB orders the keys (bytewise), and its seq.
struct IdKey {
  std::uint64_t hi, lo, seq;
  explicit IdKey(const std::uint8_t* id, std::uint64_t s)
      : hi(__builtin_bswap64(get_le(id, 8))), lo(__builtin_bswap64(get_le(id + 8, 8))), seq(s) {}
  bool operator<(const IdKey& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
  template <class Writer>
  void put(Writer& w) const {
    std::uint8_t id[16];
    put_le(id, __builtin_bswap64(hi), 8);
    put_le(id + 8, __builtin_bswap64(lo), 8);
    w.add(id, seq);
  }
};

// Writes one empty run's records, given in increasing id order, in chunks: full ones, then the
// rest (LEDGER_FORMAT.md §11). Throws MDB_KEYEXIST on an id not above the one before.
class RunWriter {
 public:
  RunWriter(lmdb::Txn& txn, MDB_dbi dbi) : c_(txn, dbi) {}
  void add(const std::uint8_t* id, std::uint64_t seq) {
    if (any_ && std::memcmp(id, last_, 16) <= 0)
      throw lmdb::LmdbError(MDB_KEYEXIST,
                            "an event index run would hold an id twice, or out of order");
    std::uint8_t* r = chunk_ + n_ * kRunRecordSize;
    std::memcpy(r, id, 16);
    put_le(r + 16, seq, 8);
    std::memcpy(last_, id, 16);
    any_ = true;
    if (++n_ == kChunkRecords) flush();
  }
  // Writes the last chunk.
  void finish() {
    if (n_ > 0) flush();
  }

 private:
  void flush() {
    c_.put(MDB_val{16, chunk_}, MDB_val{n_ * kRunRecordSize, chunk_}, MDB_APPEND);
    n_ = 0;
  }
  lmdb::Cursor c_;
  std::uint8_t chunk_[kChunkRecords * kRunRecordSize];
  std::uint8_t last_[16];
  std::size_t n_ = 0;
  bool any_ = false;
};

// Reads every record of a run out, in key order, and empties it (to be written again). Throws on
// a malformed chunk or record (corruption).
std::vector<IdKey> take_run(lmdb::Txn& txn, MDB_dbi dbi, bool chunked) {
  std::vector<IdKey> out;
  RunCursor c(txn, dbi, chunked);
  for (; c.valid(); c.next()) out.emplace_back(c.id(), c.seq());
  if (c.malformed())
    throw lmdb::LmdbError(MDB_CORRUPTED, "an event index run holds a malformed chunk or record");
  txn.clear(dbi);
  return out;
}

std::uint64_t span(std::uint32_t tier) {
  return std::uint64_t{1} << (kRunBlockBits + kRunFanBits * tier);
}

}  // namespace

RunCursor::RunCursor(const lmdb::Txn& txn, MDB_dbi dbi, bool chunked)
    : c_(txn, dbi), chunked_(chunked) {
  load(c_.seek(nullptr));
  settle();
}

std::uint64_t RunCursor::seq() const {
  return get_le(p_ + 16, 8);
}

void RunCursor::next() {
  std::memcpy(last_, p_, 16);
  any_ = true;
  p_ += kRunRecordSize;
  settle();
}

void RunCursor::load(bool at) {
  for (; at; at = c_.next()) {
    const MDB_val &k = c_.key(), &v = c_.value();
    if (k.mv_size != 16) {
      malformed_ = true;
      continue;
    }
    if (!chunked_) {
      if (v.mv_size != 8) {
        malformed_ = true;
        continue;
      }
      std::memcpy(record_, k.mv_data, 16);
      std::memcpy(record_ + 16, v.mv_data, 8);
      p_ = record_;
      end_ = record_ + kRunRecordSize;
      return;
    }
    if (v.mv_size == 0 || v.mv_size % kRunRecordSize != 0 ||
        v.mv_size > kChunkRecords * kRunRecordSize || std::memcmp(k.mv_data, v.mv_data, 16) != 0) {
      malformed_ = true;
      continue;
    }
    p_ = static_cast<const std::uint8_t*>(v.mv_data);
    end_ = p_ + v.mv_size;
    return;
  }
  p_ = end_ = nullptr;
  done_ = true;
}

void RunCursor::settle() {
  for (;;) {
    while (p_ != end_ && any_ && std::memcmp(p_, last_, 16) <= 0) {  // out of order: skipped
      malformed_ = true;
      p_ += kRunRecordSize;
    }
    if (p_ != end_ || done_) return;
    load(c_.next());
  }
}

std::optional<std::uint64_t> find_in_run(const lmdb::Txn& txn, MDB_dbi dbi, bool chunked,
                                         const std::uint8_t* id) {
  MDB_val key{16, const_cast<std::uint8_t*>(id)};
  if (!chunked) {
    auto v = txn.find(dbi, key);
    if (v && v->size() == 8) return get_le(v->data(), 8);
    return std::nullopt;
  }
  // The chunk whose first id is the greatest at or below id.
  lmdb::Cursor c(txn, dbi);
  bool at = c.seek(&key);
  if (!at || c.key().mv_size != 16 || std::memcmp(c.key().mv_data, id, 16) != 0)
    at = at ? c.prev() : c.last();
  if (!at || c.value().mv_size % kRunRecordSize != 0) return std::nullopt;
  const auto* p = static_cast<const std::uint8_t*>(c.value().mv_data);
  std::size_t lo = 0, hi = c.value().mv_size / kRunRecordSize;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const int cmp = std::memcmp(p + mid * kRunRecordSize, id, 16);
    if (cmp == 0) return get_le(p + mid * kRunRecordSize + 16, 8);
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return std::nullopt;
}

void chunk_run(lmdb::Txn& txn, MDB_dbi dbi) {
  const std::vector<IdKey> records = take_run(txn, dbi, false);
  RunWriter w(txn, dbi);
  for (const IdKey& r : records) r.put(w);
  w.finish();
}

std::string index_slot_name(std::size_t slot) {
  if (slot == 0) return "event_index";
  const std::size_t r = slot - 1;
  return "event_index." + std::to_string(r / kRunFan) + "." + std::to_string(r % kRunFan);
}

std::vector<IndexRun> index_runs(std::uint64_t n, std::uint64_t legacy) {
  std::vector<IndexRun> out;
  if (legacy > 0) out.push_back({0, 0, legacy});
  for (std::uint32_t t = kRunTiers; t-- > 0;) {  // the largest first
    const std::uint64_t s = span(t);
    // The start of the parent block n lies in; the top tier's parent is the whole log.
    const std::uint64_t base = t + 1 == kRunTiers ? 0 : n / (s << kRunFanBits) * (s << kRunFanBits);
    const std::uint64_t complete = (n - base) / s;
    for (std::uint64_t j = 0; j < complete; ++j)
      out.push_back({run_slot(t, static_cast<std::uint32_t>(j)), base + j * s, base + (j + 1) * s});
    if (t == 0 && n % s != 0)  // the block being filled
      out.push_back({run_slot(0, static_cast<std::uint32_t>(complete)), base + complete * s, n});
  }
  for (IndexRun& r : out) {
    if (r.slot == 0)
      r.end = std::min(r.end, n);
    else
      r.first = std::max(r.first, legacy);  // the seqs below it are in slot 0
  }
  std::erase_if(out, [](const IndexRun& r) { return r.slot != 0 && r.first >= r.end; });
  return out;
}

IdFilter::IdFilter(std::uint64_t capacity) {
  std::uint64_t blocks = 1;
  while (blocks * 512 < capacity * kBitsPerId) blocks *= 2;
  blocks_.assign(blocks, {});
  capacity_ = blocks * 512 / kBitsPerId;
}

std::size_t IdFilter::block_of(const std::uint8_t* id, std::uint64_t* bits) const {
  const std::uint64_t a = mix64(get_le(id, 8) ^ mix64(get_le(id + 8, 8)));
  *bits = mix64(a ^ get_le(id + 8, 8));
  return a & (blocks_.size() - 1);
}

void IdFilter::add(const std::uint8_t* id) {
  std::uint64_t bits;
  Block& block = blocks_[block_of(id, &bits)];
  for (int i = 0; i < kProbes; ++i, bits >>= 9) block[(bits & 511) / 64] |= 1ULL << (bits % 64);
  ++count_;
}

bool IdFilter::may_contain(const std::uint8_t* id) const {
  std::uint64_t bits;
  const Block& block = blocks_[block_of(id, &bits)];
  for (int i = 0; i < kProbes; ++i, bits >>= 9)
    if (!(block[(bits & 511) / 64] >> (bits % 64) & 1)) return false;
  return true;
}

std::uint64_t Ledger::Impl::index_legacy(const lmdb::Txn& txn, std::uint64_t n) const {
  if (format(txn) < 3) return n;
  auto v = txn.find(meta, lmdb::val(std::string_view("index_legacy")));
  return v && v->size() == 8 ? get_le(v->data(), 8) : 0;
}

std::vector<IndexRun> Ledger::Impl::runs(const lmdb::Txn& txn, std::uint64_t n) const {
  std::vector<IndexRun> out = index_runs(n, index_legacy(txn, n));
  const std::uint32_t f = format(txn);
  for (IndexRun& r : out) r.chunked = chunked_slot(r.slot, f);
  return out;
}

std::optional<std::uint64_t> Ledger::Impl::find_id(const lmdb::Txn& txn, const std::uint8_t* id,
                                                   const std::vector<IndexRun>& runs) const {
  // The newest runs first: an id that is looked up is most often a recent event's (a record's
  // verification follows its submission by days).
  for (auto r = runs.rbegin(); r != runs.rend(); ++r)
    if (auto seq = find_in_run(txn, index[r->slot], r->chunked, id)) return seq;
  return std::nullopt;
}

std::unique_ptr<IdFilter> build_filter(const lmdb::Txn& txn, const Ledger::Impl& impl,
                                       const std::vector<IndexRun>& runs, std::uint64_t n) {
  auto f = std::make_unique<IdFilter>(n + std::max<std::uint64_t>(n / 2, 1 << 16));
  for (const IndexRun& r : runs)
    for (RunCursor c(txn, impl.index[r.slot], r.chunked); c.valid(); c.next()) f->add(c.id());
  return f;
}

namespace {

// Merges every run of a tier below `tier` into the empty slot `target`, in key order, and empties
// them. Throws on a malformed or repeated key (corruption).
void merge_runs(lmdb::Txn& txn, const Ledger::Impl& impl, std::uint32_t tier, std::size_t target) {
  if (txn.count(impl.index[target]) != 0)
    throw lmdb::LmdbError(MDB_CORRUPTED, "event index run " + index_slot_name(target) +
                                             " should be empty before a merge but is not");
  std::vector<std::unique_ptr<RunCursor>> cursors;
  for (std::uint32_t t = 0; t < tier; ++t)
    for (std::uint32_t j = 0; j < kRunFan; ++j)
      cursors.push_back(std::make_unique<RunCursor>(txn, impl.index[run_slot(t, j)], true));
  // A min-heap of the cursors' current ids, each as two big-endian words (the ids' byte order).
  struct Head {
    std::uint64_t hi, lo;
    std::size_t cursor;
    bool operator>(const Head& o) const { return hi != o.hi ? hi > o.hi : lo > o.lo; }
  };
  auto head = [&](std::size_t i) {
    const std::uint8_t* p = cursors[i]->id();
    return Head{__builtin_bswap64(get_le(p, 8)), __builtin_bswap64(get_le(p + 8, 8)), i};
  };
  RunWriter out(txn, impl.index[target]);
  std::vector<Head> heap;
  for (std::size_t i = 0; i < cursors.size(); ++i)
    if (cursors[i]->valid()) heap.push_back(head(i));
  std::make_heap(heap.begin(), heap.end(), std::greater<>{});
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    RunCursor& c = *cursors[heap.back().cursor];
    out.add(c.id(), c.seq());  // MDB_KEYEXIST on a repeated id
    c.next();
    if (c.valid()) {
      heap.back() = head(heap.back().cursor);
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    } else {
      heap.pop_back();
    }
  }
  out.finish();
  for (const auto& c : cursors)
    if (c->malformed())
      throw lmdb::LmdbError(MDB_CORRUPTED, "an event index run holds a malformed chunk");
  cursors.clear();
  for (std::uint32_t t = 0; t < tier; ++t)
    for (std::uint32_t j = 0; j < kRunFan; ++j) txn.clear(impl.index[run_slot(t, j)]);
}

}  // namespace

void write_index(lmdb::Txn& txn, const Ledger::Impl& impl, const std::vector<PendingId>& ids) {
  const std::uint64_t block = span(0);
  for (auto from = ids.begin(); from != ids.end();) {
    const std::uint64_t k = from->seq / block, end = (k + 1) * block;
    auto to = std::find_if(from, ids.end(), [&](const PendingId& p) { return p.seq >= end; });
    const bool last = std::prev(to)->seq + 1 == end;
    std::vector<IdKey> keys;
    keys.reserve(static_cast<std::size_t>(to - from));
    for (auto it = from; it != to; ++it) keys.emplace_back(it->id.data(), it->seq);
    std::sort(keys.begin(), keys.end());
    const MDB_dbi run = impl.index[run_slot(0, static_cast<std::uint32_t>(k % kRunFan))];
    // The run is written in key order with MDB_APPEND. When a batch before started it, its ids
    // (at most 1023: thirteen chunks) are read out and written again merged with these.
    std::vector<IdKey> held;
    if (txn.count(run) != 0) held = take_run(txn, run, true);
    {
      RunWriter w(txn, run);
      auto h = held.begin();
      for (const IdKey& key : keys) {
        for (; h != held.end() && *h < key; ++h) h->put(w);
        key.put(w);
      }
      for (; h != held.end(); ++h) h->put(w);
      w.finish();
    }
    from = to;
    if (!last) continue;
    // The block is complete: merge the runs of the largest block it completes into one.
    std::uint32_t tier = 0;
    while (tier + 1 < kRunTiers && end % span(tier + 1) == 0) ++tier;
    if (tier == 0) continue;
    const auto pos = static_cast<std::uint32_t>((end / span(tier) - 1) % kRunFan);
    // Runs wholly below meta/index_legacy are empty; merging them costs nothing.
    merge_runs(txn, impl, tier, run_slot(tier, pos));
  }
}

}  // namespace govcredit
