// Side tables (include/govcredit/side.h): names, the LMDB and in-memory implementations, and
// the digest of docs/LEDGER_FORMAT.md §10.4.
#include <algorithm>
#include <cstring>

#include "govcredit/crypto.h"
#include "ledger_impl.h"

namespace govcredit {

std::string_view side_name(Side t) {
  static constexpr std::array<std::string_view, kSideCount> kNames = {
      "p.meta",          "p.agency",  "p.record",         "p.objection",
      "p.complaint",     "p.receipt", "p.recommendation", "p.reference",
      "p.rectification", "p.report",  "p.trail",          "p.agency_item"};
  return kNames[static_cast<std::size_t>(t)];
}

bool keyed_by_seq(Side t) {
  switch (t) {
    case Side::kRecord:
    case Side::kObjection:
    case Side::kComplaint:
    case Side::kRecommendation:
    case Side::kRectification:
      return true;
    default:
      return false;
  }
}

ObjectKey object_key(Seq seq, const EventId& id) {
  ObjectKey k;
  for (int i = 0; i < 8; ++i) k[i] = static_cast<std::uint8_t>(seq.value >> (56 - 8 * i));
  std::copy(id.bytes.begin(), id.bytes.end(), k.begin() + 8);
  return k;
}

Seq object_key_seq(ByteView key) {
  std::uint64_t seq = 0;
  for (int i = 0; i < 8; ++i) seq = seq << 8 | key[i];
  return Seq{seq};
}

std::optional<ByteView> SideReader::get_object(Side t, const EventId& id) const {
  auto seq = seq_of(id);
  if (!seq) return std::nullopt;
  const ObjectKey k = object_key(*seq, id);
  return get(t, ByteView(k.data(), k.size()));
}

namespace {

bool has_prefix(ByteView key, ByteView prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

}  // namespace

std::optional<std::pair<Bytes, Bytes>> SideReader::last_with_prefix(Side t, ByteView prefix) const {
  std::optional<std::pair<Bytes, Bytes>> out;
  scan(t, prefix, [&](ByteView k, ByteView v) {
    out.emplace(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    return true;
  });
  return out;
}

// ---- LMDB ----

std::optional<ByteView> LmdbSide::get(Side t, ByteView key) const {
  if (key.empty()) return std::nullopt;
  return txn_.find(db(t), lmdb::val(key));
}

void LmdbSide::scan(Side t, ByteView prefix,
                    const std::function<bool(ByteView, ByteView)>& fn) const {
  lmdb::Cursor cur(txn_, db(t));
  MDB_val k = lmdb::val(prefix);
  for (bool ok = cur.seek(prefix.empty() ? nullptr : &k); ok; ok = cur.next()) {
    ByteView key = lmdb::view(cur.key());
    if (!has_prefix(key, prefix)) break;
    if (!fn(key, lmdb::view(cur.value()))) break;
  }
}

std::optional<Seq> LmdbSide::seq_of(const EventId& id) const {
  if (!seq_of_) return std::nullopt;
  auto seq = seq_of_(id);
  return seq ? std::optional<Seq>(Seq{*seq}) : std::nullopt;
}

std::optional<std::pair<Bytes, Bytes>> LmdbSide::last_with_prefix(Side t, ByteView prefix) const {
  // Seek just past the prefix (prefix followed by 0xff bytes is beyond every key of interest
  // because keys are at most 511 bytes), then step back once.
  lmdb::Cursor cur(txn_, db(t));
  Bytes beyond(prefix.begin(), prefix.end());
  beyond.resize(std::min<std::size_t>(511, prefix.size() + 64), 0xff);
  MDB_val k = lmdb::val(beyond);
  bool ok = cur.seek(&k) ? cur.prev() : cur.last();
  if (!ok) return std::nullopt;
  ByteView key = lmdb::view(cur.key());
  if (!has_prefix(key, prefix)) return std::nullopt;
  ByteView v = lmdb::view(cur.value());
  return std::make_pair(Bytes(key.begin(), key.end()), Bytes(v.begin(), v.end()));
}

void LmdbSide::put(Side t, ByteView key, ByteView value) {
  if (appending_ && appending_side_ == t) appending_.reset();
  txn_.put(db(t), lmdb::val(key), lmdb::val(value));
}

void LmdbSide::append(Side t, ByteView key, ByteView value) {
  if (!appending_ || appending_side_ != t) {
    appending_.reset();
    appending_.emplace(txn_, db(t));
    appending_side_ = t;
  }
  appending_->put(lmdb::val(key), lmdb::val(value), MDB_APPEND);
}

void LmdbSide::clear(Side t) {
  if (appending_ && appending_side_ == t) appending_.reset();
  txn_.clear(db(t));
}

// ---- Memory ----

std::optional<ByteView> MemorySide::get(Side t, ByteView key) const {
  const auto& m = tables_[static_cast<std::size_t>(t)];
  auto it = m.find(std::string(as_chars(key)));
  if (it == m.end()) return std::nullopt;
  return as_bytes(it->second);
}

void MemorySide::scan(Side t, ByteView prefix,
                      const std::function<bool(ByteView, ByteView)>& fn) const {
  const auto& m = tables_[static_cast<std::size_t>(t)];
  std::string p(as_chars(prefix));
  for (auto it = m.lower_bound(p); it != m.end(); ++it) {
    if (it->first.compare(0, p.size(), p) != 0) break;
    if (!fn(as_bytes(it->first), as_bytes(it->second))) break;
  }
}

std::optional<Seq> MemorySide::seq_of(const EventId& id) const {
  if (!seqs_) {
    seqs_.emplace();
    for (std::size_t t = 0; t < kSideCount; ++t) {
      if (!keyed_by_seq(static_cast<Side>(t))) continue;
      for (const auto& [key, value] : tables_[t]) {
        if (key.size() != kObjectKeySize) continue;
        seqs_->insert_or_assign(key.substr(8), object_key_seq(as_bytes(key)).value);
      }
    }
  }
  auto it = seqs_->find(std::string(as_chars(id.view())));
  if (it == seqs_->end()) return std::nullopt;
  return Seq{it->second};
}

void MemorySide::put(Side t, ByteView key, ByteView value) {
  tables_[static_cast<std::size_t>(t)].insert_or_assign(std::string(as_chars(key)),
                                                        std::string(as_chars(value)));
  if (keyed_by_seq(t)) seqs_.reset();
}

void MemorySide::clear(Side t) {
  tables_[static_cast<std::size_t>(t)].clear();
  if (keyed_by_seq(t)) seqs_.reset();
}

// ---- Digest ----

namespace {

constexpr std::string_view kDigestDomain("govcredit/projections/v2\0", 25);

void put_u64(Sha256& h, std::uint64_t v) {
  std::uint8_t b[8];
  put_le(b, v, 8);
  h.update(ByteView(b, 8));
}

// The outer hash's part for one table: u64 LE len(name) ‖ name ‖ u64 LE rows ‖ SHA-256(rows).
void put_table(Sha256& h, Side t, std::uint64_t rows, const Digest& rows_hash) {
  const std::string_view name = side_name(t);
  put_u64(h, name.size());
  h.update(as_bytes(name));
  put_u64(h, rows);
  h.update(ByteView(rows_hash.bytes.data(), rows_hash.bytes.size()));
}

}  // namespace

Digest side_digest(const SideReader& r) {
  Sha256 h, rows;
  h.update(as_bytes(kDigestDomain));
  for (std::size_t i = 0; i < kSideCount; ++i) {
    const Side t = static_cast<Side>(i);
    std::uint64_t n = 0;
    r.scan(t, {}, [&](ByteView k, ByteView v) {
      put_u64(rows, k.size());
      rows.update(k);
      put_u64(rows, v.size());
      rows.update(v);
      ++n;
      return true;
    });
    put_table(h, t, n, rows.finish());
  }
  return h.finish();
}

// ---- DigestingWriter ----

void DigestingWriter::put(Side t, ByteView key, ByteView value) {
  inner_.put(t, key, value);
  record(t, key, value);
}

void DigestingWriter::append(Side t, ByteView key, ByteView value) {
  inner_.append(t, key, value);
  record(t, key, value);
}

void DigestingWriter::clear(Side t) {
  inner_.clear(t);
  Table& table = tables_[static_cast<std::size_t>(t)];
  table.cleared = true;
  table.ascending = true;
  table.rows = 0;
  table.last_key.clear();
  table.pending.clear();
  (void)table.hash.finish();  // (resets it)
}

void DigestingWriter::record(Side t, ByteView key, ByteView value) {
  constexpr std::size_t kPiece = std::size_t{64} << 10;
  if (finished_) return;
  Table& table = tables_[static_cast<std::size_t>(t)];
  // Strictly ascending keys: the table will hold exactly these rows, in this order. (A put over
  // an earlier key, or out of order, would make the hash differ from what LMDB holds.)
  if (table.rows > 0 && !std::lexicographical_compare(table.last_key.begin(), table.last_key.end(),
                                                      key.begin(), key.end()))
    table.ascending = false;
  table.last_key.assign(key.begin(), key.end());
  ++table.rows;
  // The row framed as side_digest hashes it, gathered into pieces: one SHA-256 update per
  // piece instead of four per row.
  Bytes& out = table.pending;
  const std::size_t at = out.size();
  out.resize(at + 16 + key.size() + value.size());
  std::uint8_t* p = out.data() + at;
  put_le(p, key.size(), 8);
  if (!key.empty()) std::memcpy(p + 8, key.data(), key.size());
  put_le(p + 8 + key.size(), value.size(), 8);
  if (!value.empty()) std::memcpy(p + 16 + key.size(), value.data(), value.size());
  if (out.size() >= kPiece) {
    table.hash.update(ByteView(out.data(), out.size()));
    out.clear();
  }
}

bool DigestingWriter::whole_tables() const {
  return std::all_of(tables_.begin(), tables_.end(),
                     [](const Table& t) { return t.cleared && t.ascending; });
}

std::optional<Digest> DigestingWriter::digest() noexcept {
  if (finished_) return digest_;
  finished_ = true;
  if (!whole_tables()) return std::nullopt;
  Sha256 h;
  h.update(as_bytes(kDigestDomain));
  for (std::size_t i = 0; i < kSideCount; ++i) {
    Table& table = tables_[i];
    table.hash.update(ByteView(table.pending.data(), table.pending.size()));
    put_table(h, static_cast<Side>(i), table.rows, table.hash.finish());
    Bytes().swap(table.pending);
  }
  digest_ = h.finish();
  return digest_;
}

}  // namespace govcredit
