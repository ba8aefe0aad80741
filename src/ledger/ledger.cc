#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <absl/container/flat_hash_map.h>
#include <nlohmann/json.hpp>

#include "entry_hasher.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/seeded_hash.h"
#include "ledger_impl.h"

namespace govcredit {
namespace {

using lmdb::BeKey;
using lmdb::LmdbError;

Status storage_error(const std::exception& e) {
  return Status(Reason::kStorageError, e.what());
}

// Meta keys (LEDGER_FORMAT.md §6).
constexpr std::string_view kMetaFormat = "format", kMetaPartition = "partition", kMetaHead = "head",
                           kMetaIngest = "ingest", kMetaRejections = "rejections",
                           kMetaIndexLegacy = "index_legacy", kMetaChainLegacy = "chain_legacy";

}  // namespace

std::string to_json(const Rejection& r) {
  nlohmann::json j = {{"n", r.number},
                      {"reason", r.reason},
                      {"message", r.message},
                      {"partition", r.partition.value},
                      {"offset", r.offset.value},
                      {"received_at", format_time(r.received_at)},
                      {"sha256", to_hex(r.sha256)},
                      {"size", r.size}};
  if (r.event_id) j["event_id"] = to_hex(*r.event_id);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

Rejection parse_rejection(ByteView v) {
  Rejection r;
  auto j = nlohmann::json::parse(as_chars(v), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.reason = "corrupt";
    return r;
  }
  r.number = j.value("n", std::uint64_t{0});
  r.reason = j.value("reason", "");
  r.message = j.value("message", "");
  r.partition.value = j.value("partition", 0);
  r.offset.value = j.value("offset", std::int64_t{0});
  if (auto t = parse_time(j.value("received_at", ""))) r.received_at = *t;
  if (auto d = fixed_from_hex<Digest>(j.value("sha256", ""))) r.sha256 = *d;
  r.size = j.value("size", std::uint64_t{0});
  if (j.contains("event_id"))
    if (auto id = fixed_from_hex<EventId>(j.value("event_id", ""))) r.event_id = *id;
  return r;
}

class BatchImpl final : public Ledger::Batch {
 public:
  BatchImpl(lmdb::Txn& txn, Ledger::Impl& impl, LedgerState state)
      : txn_(txn),
        impl_(impl),
        s_(std::move(state)),
        n0_(s_.head.size),
        chain_legacy_(impl.chain_legacy(txn)),
        runs_(impl.runs(txn, n0_)),
        side_(txn, impl.side, [this](const EventId& id) { return lookup(id); }) {
    // A filter that missed another writer's entries is built again; one over its size is
    // replaced by the one built beside the writer meanwhile, or built again.
    if (impl_.filter && impl_.filter_size != n0_) {
      impl_.filter.reset();
      impl_.next_filter = {};  // (waits for a build under way: std::async's future does)
      impl_.next_filter_ids.clear();
    } else if (impl_.filter && impl_.filter->count() > impl_.filter->capacity()) {
      if (!impl_.adopt_next_filter(n0_)) impl_.filter.reset();
    }
    if (!impl_.hasher) impl_.hasher = std::make_unique<EntryHasher>();
    impl_.hasher->begin(s_.head.chain, s_.range, chain_legacy_);
  }

  SideWriter& side() override { return side_; }

  std::optional<std::pair<Seq, bool>> find_event(const EventId& id, ByteView wire) override {
    auto at = lookup(id);
    if (!at) return std::nullopt;
    return std::make_pair(Seq{*at}, same_wire(Seq{*at}, wire));
  }

  // Whether the entry at seq carries exactly these wire bytes (the rare path of a re-send).
  bool same_wire(Seq seq, ByteView wire) {
    BeKey k(seq.value);
    auto v = txn_.find(impl_.log, k.val());
    const std::size_t at = chain_prefix(seq.value, chain_legacy_) + kEntryHeaderSize;
    if (!v || v->size() != at + wire.size()) return false;
    return std::memcmp(v->data() + at, wire.data(), wire.size()) == 0;
  }

  void expect(std::span<const EventId> ids) override {
    if (impl_.filter)
      for (const EventId& id : ids) impl_.filter->prefetch(id.bytes.data());
  }

  AppendResult append(const AppendItem& item) override {
    const Seq seq{s_.head.size};
    if (auto at = lookup(item.id))
      return {same_wire(Seq{*at}, item.wire) ? AppendOutcome::kAlreadyPresent
                                             : AppendOutcome::kConflict,
              Seq{*at}};
    if (seq.value >= kMaxEntries)
      throw std::length_error("the shard holds " + std::to_string(kMaxEntries) +
                              " entries, the most its event index can (LEDGER_FORMAT.md §11)");
    ids_.push_back({item.id.bytes, seq.value});
    if (impl_.filter) impl_.filter->add(item.id.bytes.data());
    if (impl_.next_filter.valid()) impl_.next_filter_ids.push_back(item.id.bytes);
    EntryHeader header(seq, item.partition, item.offset);
    BeKey key(seq.value);
    if (!log_) log_.emplace(txn_, impl_.log);
    // An entry that stores its chain hash gets it in finish(), once the hasher has it.
    const std::size_t prefix = chain_prefix(seq.value, chain_legacy_);
    std::uint8_t* out =
        log_->reserve(key.val(), prefix + kEntryHeaderSize + item.wire.size(), MDB_APPEND);
    if (prefix) std::memset(out, 0, prefix);
    std::memcpy(out + prefix, header.bytes, kEntryHeaderSize);
    std::memcpy(out + prefix + kEntryHeaderSize, item.wire.data(), item.wire.size());
    impl_.hasher->add(header, item.wire);
    if (item.registry_event) {
      BeKey rk(seq.value);
      txn_.put(impl_.registry, rk.val(), MDB_val{0, nullptr}, MDB_APPEND);
    }
    s_.head.size = seq.value + 1;
    return {AppendOutcome::kAppended, seq};
  }

  void reject(Rejection r) override {
    r.number = s_.rejections++;
    BeKey k(r.number);
    std::string j = to_json(r);
    txn_.put(impl_.rejections, k.val(), lmdb::val(j), MDB_APPEND);
  }

  void set_next_offset(KafkaOffset next) override { s_.next_offset = next; }

  std::uint64_t size() const override { return s_.head.size; }

  Head head() const override {
    const BatchHashes& hashes = impl_.hasher->sync();
    return Head{s_.head.size, hashes.chain, hashes.range.root()};
  }

  // Writes the meta records that account for this batch; returns the state to adopt on commit.
  LedgerState finish() {
    log_.reset();
    write_index(txn_, impl_, ids_);  // while the hasher catches up
    const BatchHashes& hashes = impl_.hasher->sync();
    if (hashes.range.size() != s_.head.size)
      throw std::logic_error("the hasher holds " + std::to_string(hashes.range.size()) +
                             " entries, the batch " + std::to_string(s_.head.size));
    if (!hashes.nodes.empty()) {
      lmdb::Cursor merkle(txn_, impl_.merkle);
      for (const merkle::CompactRange::Node& n : hashes.nodes) {
        BeKey k(merkle::node_position(n.level, n.index));
        merkle.put(k.val(), lmdb::val(n.hash.view()), MDB_APPEND);
      }
    }
    for (const auto& [seq, chain] : hashes.chains) {  // the prefixes append() left zero
      BeKey k(seq);
      auto v = txn_.find(impl_.log, k.val());
      if (!v || seq < n0_ || chain_prefix(seq, chain_legacy_) != 32)
        throw std::logic_error("the hasher's entry " + std::to_string(seq) +
                               " is not one of this batch that stores its chain hash");
      Bytes value(v->begin(), v->end());
      std::memcpy(value.data(), chain.bytes.data(), 32);
      txn_.put(impl_.log, k.val(), lmdb::val(ByteView(value)));
    }
    s_.head.chain = hashes.chain;
    s_.range = hashes.range;
    s_.head.root = s_.range.root();
    std::uint8_t head[40];
    put_le(head, s_.head.size, 8);
    std::memcpy(head + 8, s_.head.chain.bytes.data(), 32);
    txn_.put(impl_.meta, lmdb::val(kMetaHead), MDB_val{40, head});
    std::uint8_t ingest[8], rej[8];
    put_le(ingest, static_cast<std::uint64_t>(s_.next_offset.value), 8);
    put_le(rej, s_.rejections, 8);
    txn_.put(impl_.meta, lmdb::val(kMetaIngest), MDB_val{8, ingest});
    txn_.put(impl_.meta, lmdb::val(kMetaRejections), MDB_val{8, rej});
    return std::move(s_);
  }

 private:
  // The seq of `id` if the shard or this batch holds it.
  std::optional<std::uint64_t> lookup(const EventId& id) {
    // Without the filter every run is searched; it is built once the searches would have cost
    // more than reading every id once (a few hundred nanoseconds a search, tens per id read),
    // and built again as soon as it is needed after that. (Counting the searches anew after each
    // drop made a bulk append search every run for n/32 of its ids each time its filter filled.)
    if (!impl_.filter && (impl_.filter_paid || ++impl_.lookups * 32 >= n0_)) {
      impl_.filter = build_filter(txn_, impl_, runs_, n0_);
      impl_.filter_size = n0_;
      impl_.filter_paid = true;
      for (const PendingId& p : ids_) impl_.filter->add(p.id.data());
    }
    // The filter holds this batch's ids too, so an id it has never seen is in neither place.
    if (impl_.filter && !impl_.filter->may_contain(id.bytes.data())) return std::nullopt;
    // This batch's ids are hashed only once a look-up gets here: with the filter, few do.
    while (batch_ids_.size() < ids_.size()) {
      const PendingId& p = ids_[batch_ids_.size()];
      batch_ids_.emplace(EventId{p.id}, p.seq);
    }
    if (auto it = batch_ids_.find(id); it != batch_ids_.end()) return it->second;
    ++impl_.searches;
    return impl_.find_id(txn_, id.bytes.data(), runs_);
  }

  // Ids are chosen by clients (events/FORMAT.md §1); the map is never iterated.
  struct IdHash {
    std::size_t operator()(const EventId& id) const { return seeded_hash16(id.bytes.data()); }
  };

  lmdb::Txn& txn_;
  Ledger::Impl& impl_;
  LedgerState s_;
  const std::uint64_t n0_;            // the log's size when the batch began
  const std::uint64_t chain_legacy_;  // the entries below it store their chain hash (§2)
  const std::vector<IndexRun> runs_;  // the index runs at n0_: what lookup() searches
  LmdbSide side_;
  std::vector<PendingId> ids_;  // appended by this batch, in seq order
  // A write cursor kept at the end of `log`: an MDB_APPEND through it needs no search from the
  // root. Closed before the transaction ends (with the batch, or in finish).
  std::optional<lmdb::Cursor> log_;
  // The first batch_ids_.size() of ids_, by id; lookup() adds the rest when a look-up needs them.
  absl::flat_hash_map<EventId, std::uint64_t, IdHash> batch_ids_;
};

struct AbortWrite {};

}  // namespace

Digest chain_hash(const Digest& prev, const Digest& leaf) {
  thread_local Sha256 h;
  return h.update(kChainPrefix).update(prev.view()).update(leaf.view()).finish();
}

Digest entry_leaf_hash(ByteView header, ByteView wire) {
  thread_local Sha256 h;
  static constexpr std::uint8_t kLeaf = 0x00;
  return h.update(ByteView(&kLeaf, 1)).update(header).update(wire).finish();
}

Status decode_log_value(ByteView v, std::size_t prefix, Entry& e) {
  if (v.size() < prefix || !entry_header_ok(v.subspan(prefix)))
    return Status(Reason::kCorrupt, "a log entry is truncated or of an unknown version");
  const std::uint8_t* h = v.data() + prefix;
  e.seq.value = get_le(h + 1, 8);
  e.partition.value = static_cast<std::int32_t>(get_le(h + 9, 4));
  e.offset.value = static_cast<std::int64_t>(get_le(h + 13, 8));
  e.wire.assign(v.begin() + static_cast<std::ptrdiff_t>(prefix + kEntryHeaderSize), v.end());
  return Status::ok();
}

Result<Entry> decode_log_value(ByteView v, std::size_t prefix) {
  Entry e;
  if (Status s = decode_log_value(v, prefix, e); !s) return s;
  return e;
}

Digest next_entry_hash(const Digest& prev, const Entry& e) {
  EntryHeader header(e.seq, e.partition, e.offset);
  return chain_hash(prev, entry_leaf_hash(header.view(), e.wire));
}

Result<Entry> entry_from_leaf_data(ByteView leaf) {
  if (leaf.size() < kEntryHeaderSize || leaf[0] != kEntryVersion)
    return Status(Reason::kCorrupt, "the leaf data is truncated or of an unknown entry version");
  Entry e;
  e.seq.value = get_le(leaf.data() + 1, 8);
  e.partition.value = static_cast<std::int32_t>(get_le(leaf.data() + 9, 4));
  e.offset.value = static_cast<std::int64_t>(get_le(leaf.data() + 13, 8));
  e.wire.assign(leaf.begin() + kEntryHeaderSize, leaf.end());
  return e;
}

Bytes Entry::leaf_data() const {
  EntryHeader h(seq, partition, offset);
  Bytes out(kEntryHeaderSize + wire.size());
  std::memcpy(out.data(), h.bytes, kEntryHeaderSize);
  if (!wire.empty()) std::memcpy(out.data() + kEntryHeaderSize, wire.data(), wire.size());
  return out;
}

void Ledger::Impl::leaf_hashes(const lmdb::Txn& txn, std::uint64_t first, std::uint64_t end,
                               const std::function<void(std::uint64_t, const Digest&)>& fn,
                               const std::function<std::string()>& whose) const {
  const std::uint64_t legacy = chain_legacy(txn);
  lmdb::Cursor c(txn, log);
  BeKey k(first);
  MDB_val kv = k.val();
  bool at = c.seek(&kv);
  for (std::uint64_t seq = first; seq < end; ++seq, at = c.next()) {
    const std::size_t prefix = chain_prefix(seq, legacy);
    if (!at || c.key().mv_size != 8 || BeKey::decode(c.key()) != seq ||
        c.value().mv_size < prefix + kEntryHeaderSize)
      throw LmdbError(MDB_NOTFOUND,
                      "log entry " + std::to_string(seq) + whose() + " is missing or malformed");
    fn(seq, merkle::leaf_hash(lmdb::view(c.value()).subspan(prefix)));
  }
}

Digest Ledger::Impl::node(const lmdb::Txn& txn, std::uint32_t level, std::uint64_t index) const {
  if (level < kLowestStoredLevel) {
    // The subtree's leaves, hashed from their log entries, then folded pairwise in place.
    std::array<Digest, std::size_t{1} << kLowestStoredLevel> h;
    const std::uint64_t first = index << level, width = std::uint64_t{1} << level;
    leaf_hashes(
        txn, first, first + width,
        [&](std::uint64_t seq, const Digest& leaf) { h[seq - first] = leaf; },
        [&] {
          return " (a leaf of Merkle node level " + std::to_string(level) + ", index " +
                 std::to_string(index) + ")";
        });
    for (std::uint64_t w = width; w > 1; w /= 2)
      for (std::uint64_t i = 0; i < w / 2; ++i) h[i] = merkle::node_hash(h[2 * i], h[2 * i + 1]);
    return h[0];
  }
  BeKey k(merkle::node_position(level, index));
  auto v = txn.find(merkle, k.val());
  if (!v || v->size() != 32)
    throw LmdbError(MDB_NOTFOUND, "Merkle node (level " + std::to_string(level) + ", index " +
                                      std::to_string(index) + ") is missing or malformed");
  Digest d;
  std::memcpy(d.bytes.data(), v->data(), 32);
  return d;
}

std::uint32_t Ledger::Impl::format(const lmdb::Txn& txn) const {
  auto f = txn.find(meta, lmdb::val(kMetaFormat));
  return f && f->size() == 4 ? static_cast<std::uint32_t>(get_le(f->data(), 4)) : 0;
}

std::uint64_t Ledger::Impl::chain_legacy(const lmdb::Txn& txn) const {
  if (std::uint64_t known = chain_legacy_known.load(std::memory_order_relaxed); known != ~0ULL)
    return known;
  if (format(txn) < 4) return ~std::uint64_t{0};  // may be converted later: not kept
  auto v = txn.find(meta, lmdb::val(kMetaChainLegacy));
  const std::uint64_t legacy = v && v->size() == 8 ? get_le(v->data(), 8) : 0;
  chain_legacy_known.store(legacy, std::memory_order_relaxed);
  return legacy;
}

Digest Ledger::Impl::entry_hash(const lmdb::Txn& txn, std::uint64_t seq) const {
  const std::uint64_t legacy = chain_legacy(txn);
  // The nearest entry at or below seq that stores its chain hash, if any.
  std::optional<std::uint64_t> from;
  if (stores_chain(seq, legacy)) {
    from = seq;
  } else {
    if (seq + 1 >= kChainStride) from = seq - (seq + 1) % kChainStride;  // a stride's last entry
    if (legacy > 0 && (!from || legacy - 1 > *from)) from = legacy - 1;
  }
  Digest chain{};
  if (from) {
    BeKey k(*from);
    auto v = txn.find(log, k.val());
    if (!v || v->size() < 32 + kEntryHeaderSize)
      throw LmdbError(MDB_NOTFOUND,
                      "log entry " + std::to_string(*from) + " is missing or malformed");
    std::memcpy(chain.bytes.data(), v->data(), 32);
    if (*from == seq) return chain;
  }
  leaf_hashes(
      txn, from ? *from + 1 : 0, seq + 1,
      [&](std::uint64_t, const Digest& leaf) { chain = chain_hash(chain, leaf); },
      [] { return std::string(); });
  return chain;
}

std::uint64_t Ledger::Impl::stored_size(const lmdb::Txn& txn) const {
  auto h = txn.find(meta, lmdb::val(kMetaHead));
  return h && h->size() == 40 ? get_le(h->data(), 8) : 0;
}

void Ledger::Impl::upgrade(lmdb::Txn& txn) const {
  const std::uint32_t f = format(txn);
  if (f == kStorageFormat) return;
  const std::uint64_t n = stored_size(txn);
  if (f == 1)
    for (std::uint32_t level = 0; level < kLowestStoredLevel; ++level)
      for (std::uint64_t i = 0; i < n >> level; ++i) {
        BeKey k(merkle::node_position(level, i));
        txn.erase(merkle, k.val());
      }
  std::uint8_t legacy[8], fmt[4];
  put_le(legacy, n, 8);
  // The ids indexed so far stay where they are, in slot 0 (`event_index`).
  if (f < 3) txn.put(meta, lmdb::val(kMetaIndexLegacy), MDB_val{8, legacy});
  // The entries so far keep their chain hashes.
  if (f < 4) txn.put(meta, lmdb::val(kMetaChainLegacy), MDB_val{8, legacy});
  // The runs are written again in chunks.
  if (f == 3 || f == 4)
    for (std::size_t slot = 1; slot < kIndexSlots; ++slot)
      if (txn.count(index[slot]) != 0) chunk_run(txn, index[slot]);
  put_le(fmt, kStorageFormat, 4);
  txn.put(meta, lmdb::val(kMetaFormat), MDB_val{4, fmt});
}

Result<Entry> Ledger::Impl::get(const lmdb::Txn& txn, Seq seq) const {
  BeKey k(seq.value);
  auto v = txn.find(log, k.val());
  if (!v) return Status(Reason::kNotFound, "no entry at seq " + std::to_string(seq.value));
  return decode_log_value(*v, chain_prefix(seq.value, chain_legacy(txn)));
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

Ledger::Impl::~Impl() {
  if (sync_on_close && env) {
    try {
      env->sync();
    } catch (const std::exception&) {  // nothing to tell a destructor's caller; the file is whole
    }
  }
  if (writer_lock >= 0) ::close(writer_lock);
}

Status Ledger::claim_writer() {
  std::lock_guard lock(impl_->mu);
  if (impl_->writer_lock >= 0) return Status::ok();
  std::string path = impl_->dir + "/writer.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Reason::kIoError, "cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status(Reason::kIoError, "the shard " + impl_->dir +
                                        " is being written by another process (a ledger node, "
                                        "the server, or another append or rebuild); stop it first");
  }
  impl_->writer_lock = fd;
  return Status::ok();
}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::string& dir, Partition partition,
                                             const LedgerOptions& options) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->env = std::make_unique<lmdb::Env>(
        dir, lmdb::EnvOptions{.initial_map_size = options.initial_map_size,
                              .max_dbs = 128,
                              .no_sync = options.no_sync,
                              .defer_meta_sync = options.durability == Durability::kByNextCommit});
    impl->sync_on_close = options.durability == Durability::kByNextCommit && !options.no_sync;
    impl->meta = impl->env->open_db("meta");
    impl->log = impl->env->open_db("log");
    impl->merkle = impl->env->open_db("merkle");
    std::vector<std::string> slots;
    for (std::size_t i = 0; i < kIndexSlots; ++i) slots.push_back(index_slot_name(i));
    auto dbs = impl->env->open_dbs(slots);
    std::copy(dbs.begin(), dbs.end(), impl->index.begin());
    impl->registry = impl->env->open_db("registry");
    impl->checkpoints = impl->env->open_db("checkpoints");
    impl->rejections = impl->env->open_db("rejections");
    for (std::size_t i = 0; i < kSideCount; ++i)
      impl->side[i] = impl->env->open_db(std::string(side_name(static_cast<Side>(i))).c_str());
    impl->partition = partition;
    impl->dir = dir;
    impl->origin = "govcredit/" + options.name + "/shard/" + std::to_string(partition.value);
    Status bad;
    impl->env->write([&](lmdb::Txn& txn) {
      auto fmt = txn.find(impl->meta, lmdb::val(kMetaFormat));
      if (!fmt) {  // a new shard
        std::uint8_t f[4], p[4];
        put_le(f, kStorageFormat, 4);
        put_le(p, static_cast<std::uint32_t>(partition.value), 4);
        txn.put(impl->meta, lmdb::val(kMetaFormat), MDB_val{4, f});
        txn.put(impl->meta, lmdb::val(kMetaPartition), MDB_val{4, p});
        // The empty tree's root (RFC 9162 §2.1.1: the hash of the empty string), as a reopened
        // empty shard computes it below.
        impl->state.head.root = merkle::empty_root();
        return;
      }
      if (const std::uint32_t f = impl->format(txn); f < 1 || f > kStorageFormat) {
        bad = Status(Reason::kCorrupt, dir + " holds an unknown storage format (" +
                                           std::to_string(f) + "; this build reads 1 to " +
                                           std::to_string(kStorageFormat) + ")");
        return;
      }
      auto p = txn.find(impl->meta, lmdb::val(kMetaPartition));
      if (!p || p->size() != 4 ||
          static_cast<std::int32_t>(get_le(p->data(), 4)) != partition.value) {
        bad = Status(Reason::kInvalidArgument, dir + " is the shard of another partition");
        return;
      }
      LedgerState& s = impl->state;
      if (auto h = txn.find(impl->meta, lmdb::val(kMetaHead)); h && h->size() == 40) {
        s.head.size = get_le(h->data(), 8);
        std::memcpy(s.head.chain.bytes.data(), h->data() + 8, 32);
      }
      if (auto i = txn.find(impl->meta, lmdb::val(kMetaIngest)); i && i->size() == 8)
        s.next_offset.value = static_cast<std::int64_t>(get_le(i->data(), 8));
      if (auto r = txn.find(impl->meta, lmdb::val(kMetaRejections)); r && r->size() == 8)
        s.rejections = get_le(r->data(), 8);
      std::vector<Digest> peaks;
      for (auto [level, index] : merkle::peak_positions(s.head.size))
        peaks.push_back(impl->node(txn, level, index));
      s.range = merkle::CompactRange(s.head.size, std::move(peaks));
      s.head.root = s.range.root();
    });
    if (!bad) return bad;
    impl->durable_size = impl->state.head.size;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Status Ledger::write(const std::function<Status(Batch&)>& fn) {
  Status result;
  LedgerState adopted;
  std::uint64_t txnid = 0;  // the commit's, 0 when it wrote nothing
  try {
    if (!impl_->upgraded) {  // an older shard becomes format 5 before its next entry
      impl_->env->write([&](lmdb::Txn& txn) { impl_->upgrade(txn); });
      impl_->upgraded = true;
    }
    txnid = impl_->env->write([&](lmdb::Txn& txn) {
      BatchImpl batch(txn, *impl_, impl_->snapshot());
      result = fn(batch);
      if (!result) throw AbortWrite{};
      adopted = batch.finish();
    });
    if (impl_->filter) {
      impl_->filter_size = adopted.head.size;
      impl_->start_next_filter();
    }
  } catch (const AbortWrite&) {
    return result;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  std::lock_guard lock(impl_->mu);
  impl_->state = std::move(adopted);
  if (txnid != 0) impl_->unsynced.emplace_back(txnid, impl_->state.head.size);
  impl_->settle_unsynced();
  return Status::ok();
}

void Ledger::Impl::start_next_filter() noexcept {
  if (next_filter.valid() || filter->count() * 4 < filter->capacity() * 3) return;
  next_filter_ids.clear();
  // The transaction sees the log as committed when it starts, at least filter_size entries; the
  // writer keeps every id it appends from now on, so the ids between the two are in both.
  try {
    next_filter = std::async(std::launch::async, [this] {
      BuiltFilter built;
      env->read([&](const lmdb::Txn& txn) {
        built.size = stored_size(txn);
        built.filter = build_filter(txn, *this, runs(txn, built.size), built.size);
      });
      return built;
    });
  } catch (const std::exception&) {  // no thread to be had: the writer builds it when it must
    next_filter = {};
  }
}

bool Ledger::Impl::adopt_next_filter(std::uint64_t n0) {
  if (!next_filter.valid()) return false;
  BuiltFilter built;
  try {
    built = next_filter.get();  // waits, when the build is not done yet
  } catch (const std::exception&) {
    built = {};
  }
  std::vector<std::array<std::uint8_t, 16>> ids = std::move(next_filter_ids);
  next_filter_ids.clear();
  // The ids appended since the build was started cover [filter_size then, n0) (the writer's own
  // entries: filter_size == n0 here), so everything from the build's snapshot on.
  if (!built.filter || built.size > n0) return false;
  for (const auto& id : ids) built.filter->add(id.data());
  filter = std::move(built.filter);
  ++filters_built_beside;
  return true;
}

void Ledger::Impl::settle_unsynced() {
  const std::uint64_t synced = env->synced_txnid();
  while (!unsynced.empty() && unsynced.front().first <= synced) {
    durable_size = unsynced.front().second;
    unsynced.pop_front();
  }
}

Status Ledger::sync() {
  try {
    impl_->env->sync();
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return Status::ok();
}

std::uint64_t Ledger::filters_built_beside_for_testing() const {
  return impl_->filters_built_beside;
}

std::uint64_t Ledger::durable_size() const {
  std::lock_guard lock(impl_->mu);
  impl_->settle_unsynced();
  return impl_->durable_size;
}

std::function<std::optional<std::uint64_t>(const EventId&)> Ledger::Impl::seq_of(
    const lmdb::Txn& txn) const {
  // The runs are found at the first look-up (most readers never make one).
  auto runs = std::make_shared<std::optional<std::vector<IndexRun>>>();
  return [this, &txn, runs](const EventId& id) {
    if (!*runs) runs->emplace(this->runs(txn, stored_size(txn)));
    return find_id(txn, id.bytes.data(), **runs);
  };
}

Status Ledger::read_side(const std::function<Status(const SideReader&)>& fn) const {
  Status result;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      LmdbSide side(const_cast<lmdb::Txn&>(txn), impl_->side,  // read-only: put never called
                    impl_->seq_of(txn));
      result = fn(side);
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return result;
}

Status Ledger::write_side(const std::function<Status(SideWriter&)>& fn) {
  Status result;
  try {
    impl_->env->write([&](lmdb::Txn& txn) {
      LmdbSide side(txn, impl_->side, impl_->seq_of(txn));
      result = fn(side);
      if (!result) throw AbortWrite{};
    });
  } catch (const AbortWrite&) {
    return result;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return Status::ok();
}

Partition Ledger::partition() const {
  return impl_->partition;
}
const std::string& Ledger::origin() const {
  return impl_->origin;
}
Head Ledger::head() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.head;
}
KafkaOffset Ledger::next_offset() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.next_offset;
}

Result<Entry> Ledger::get(Seq seq) const {
  Result<Entry> out(Reason::kNotFound, "");
  try {
    impl_->env->read([&](const lmdb::Txn& txn) { out = impl_->get(txn, seq); });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

Result<Entry> Ledger::get_by_event(const EventId& id) const {
  Result<Entry> out(Reason::kNotFound, "no event " + to_hex(id) + " in this shard");
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      const auto runs = impl_->runs(txn, txn.count(impl_->log));
      if (auto seq = impl_->find_id(txn, id.bytes.data(), runs)) out = impl_->get(txn, Seq{*seq});
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

namespace {

Status truncated_entry(std::uint64_t seq) {
  return Status(Reason::kCorrupt, "the log entry at seq " + std::to_string(seq) +
                                      " is truncated or of an unknown version");
}

// Calls fn(seq, value without its chain hash) for the log values of [from, to) in order until it
// returns false: scan() and scan_wire().
template <class Fn>
Status walk_log(const Ledger::Impl& impl, Seq from, Seq to, Fn&& fn) {
  try {
    impl.env->read([&](const lmdb::Txn& txn) {
      const std::uint64_t legacy = impl.chain_legacy(txn);
      lmdb::Cursor cur(txn, impl.log);
      BeKey k(from.value);
      MDB_val kv = k.val();
      for (bool ok = cur.seek(&kv); ok; ok = cur.next()) {
        const std::uint64_t seq = BeKey::decode(cur.key());
        if (seq >= to.value ||
            !fn(seq, lmdb::view(cur.value())
                         .subspan(std::min(cur.value().mv_size, chain_prefix(seq, legacy)))))
          return;
      }
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return Status::ok();
}

}  // namespace

Status Ledger::scan(Seq from, Seq to, const std::function<bool(const Entry&)>& fn) const {
  Status out;
  Entry e;  // one for the whole scan: its wire buffer is reused, not allocated per entry
  Status s = walk_log(*impl_, from, to, [&](std::uint64_t seq, ByteView v) {
    if (!decode_log_value(v, 0, e)) {
      out = truncated_entry(seq);
      return false;
    }
    return fn(e);
  });
  return !s ? s : out;
}

Status Ledger::scan_wire(Seq from, Seq to,
                         const std::function<bool(Seq, ByteView wire)>& fn) const {
  Status out;
  Status s = walk_log(*impl_, from, to, [&](std::uint64_t seq, ByteView v) {
    if (!entry_header_ok(v)) {
      out = truncated_entry(seq);
      return false;
    }
    return fn(Seq{seq}, v.subspan(kEntryHeaderSize));
  });
  return !s ? s : out;
}

Result<Digest> Ledger::entry_hash(Seq seq) const {
  if (seq.value >= head().size)
    return Status(Reason::kNotFound, "no entry at seq " + std::to_string(seq.value) +
                                         " (the log has " + std::to_string(head().size) + ")");
  Digest out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) { out = impl_->entry_hash(txn, seq.value); });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

Result<Digest> Ledger::root_at(std::uint64_t size) const {
  if (size > head().size)
    return Status(Reason::kInvalidArgument, "tree size " + std::to_string(size) +
                                                " is beyond the log's " +
                                                std::to_string(head().size) + " entries");
  Digest out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      out = merkle::root_hash(
          size, [&](std::uint32_t l, std::uint64_t i) { return impl_->node(txn, l, i); });
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

Result<InclusionProof> Ledger::inclusion_proof(Seq seq, std::uint64_t tree_size) const {
  if (tree_size > head().size || seq.value >= tree_size)
    return Status(Reason::kInvalidArgument, "no entry " + std::to_string(seq.value) +
                                                " in a tree of size " + std::to_string(tree_size) +
                                                " (the log has " + std::to_string(head().size) +
                                                ")");
  InclusionProof p;
  p.seq = seq;
  p.tree_size = tree_size;
  Status bad;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      auto fn = [&](std::uint32_t l, std::uint64_t i) { return impl_->node(txn, l, i); };
      auto e = impl_->get(txn, seq);
      if (!e) {
        bad = e.status();
        return;
      }
      p.leaf_data = e->leaf_data();
      p.path = merkle::inclusion_proof(seq.value, tree_size, fn);
      p.root = merkle::root_hash(tree_size, fn);
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  if (!bad) return bad;
  return p;
}

Result<std::vector<Digest>> Ledger::consistency_proof(std::uint64_t size1,
                                                      std::uint64_t size2) const {
  if (size1 > size2 || size2 > head().size)
    return Status(Reason::kInvalidArgument,
                  "a consistency proof needs size1 <= size2 <= " + std::to_string(head().size));
  std::vector<Digest> out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      out = merkle::consistency_proof(
          size1, size2, [&](std::uint32_t l, std::uint64_t i) { return impl_->node(txn, l, i); });
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

namespace {
// A note read from the `checkpoints` table; one that does not parse is kCorrupt, naming its size.
Result<Checkpoint> parse_stored_checkpoint(std::uint64_t size, std::string_view text) {
  auto c = parse_checkpoint(text);
  if (!c)
    return Status(Reason::kCorrupt, "stored checkpoint for size " + std::to_string(size) + ": " +
                                        c.status().message());
  return c;
}
}  // namespace

Result<Checkpoint> Ledger::make_checkpoint(const PrivateKey& key, Timestamp now) {
  const Head h = head();
  // What to return for the note stored at this size: itself when key signed it; otherwise
  // (signed by another key: the ledger's key was replaced since) nullopt, to be co-signed, so
  // that it verifies against today's ledger.pub and still against the key that signed it first
  // (LEDGER_FORMAT.md §5).
  auto signed_by_key = [&](const Checkpoint& stored) -> Result<std::optional<Checkpoint>> {
    const std::string at = "stored checkpoint for size " + std::to_string(h.size);
    if (stored.root != h.root) return Status(Reason::kCorrupt, at + " names another root");
    Status by_key = verify_checkpoint(stored, key.public_key());
    if (by_key) return std::optional<Checkpoint>(stored);
    if (by_key.reason() != Reason::kKeyUnknown)
      return Status(Reason::kCorrupt, at + ": " + by_key.message());
    return std::optional<Checkpoint>();
  };
  // Most calls find the note signed by this key, in a read transaction.
  auto existing = checkpoint_at(h.size);
  if (!existing) return existing.status();
  if (*existing) {
    auto done = signed_by_key(**existing);
    if (!done) return done.status();
    if (*done) return **done;
  }
  // Otherwise sign or co-sign in the write transaction, deciding again on what it finds there
  // (another process may have stored or co-signed the note since).
  Result<Checkpoint> out = Status(Reason::kInternal, "no checkpoint made");
  try {
    impl_->env->write([&](lmdb::Txn& txn) {
      BeKey k(h.size);
      Checkpoint c;
      if (auto v = txn.find(impl_->checkpoints, k.val())) {
        auto stored = parse_stored_checkpoint(h.size, as_chars(*v));
        if (!stored) {
          out = stored.status();
          return;
        }
        auto done = signed_by_key(*stored);
        if (!done || *done) {
          out = done ? Result<Checkpoint>(**done) : Result<Checkpoint>(done.status());
          return;
        }
        c = cosign_checkpoint(*stored, key);
      } else {
        c = sign_checkpoint(impl_->origin, h.size, h.root, now, key);
      }
      txn.put(impl_->checkpoints, k.val(), lmdb::val(c.text));
      out = std::move(c);
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

Result<std::vector<Checkpoint>> Ledger::checkpoints() const {
  std::vector<Checkpoint> out;
  Status bad;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      lmdb::Cursor cur(txn, impl_->checkpoints);
      for (bool ok = cur.seek(nullptr); ok && bad; ok = cur.next()) {
        auto c =
            parse_stored_checkpoint(BeKey::decode(cur.key()), as_chars(lmdb::view(cur.value())));
        if (c)
          out.push_back(std::move(*c));
        else
          bad = c.status();
      }
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  if (!bad) return bad;
  return out;
}

Result<std::optional<Checkpoint>> Ledger::checkpoint_at(std::uint64_t size) const {
  std::optional<Checkpoint> out;
  Status bad;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      BeKey k(size);
      if (auto v = txn.find(impl_->checkpoints, k.val())) {
        auto c = parse_stored_checkpoint(size, as_chars(*v));
        if (c)
          out = std::move(*c);
        else
          bad = c.status();
      }
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  if (!bad) return bad;
  return out;
}

Result<std::vector<Rejection>> Ledger::rejections(std::uint64_t from, std::size_t limit) const {
  std::vector<Rejection> out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      lmdb::Cursor cur(txn, impl_->rejections);
      BeKey k(from);
      MDB_val kv = k.val();
      for (bool ok = cur.seek(&kv); ok && out.size() < limit; ok = cur.next())
        out.push_back(parse_rejection(lmdb::view(cur.value())));
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return out;
}

std::uint64_t Ledger::rejection_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.rejections;
}

Result<Registry> Ledger::load_registry() const {
  Registry reg;
  Status bad;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      lmdb::Cursor cur(txn, impl_->registry);
      for (bool ok = cur.seek(nullptr); ok; ok = cur.next()) {
        auto e = impl_->get(txn, Seq{BeKey::decode(cur.key())});
        if (!e) {
          bad = e.status();
          return;
        }
        auto ev = decode_wire(e->wire);
        if (!ev) {
          bad = Status(Reason::kCorrupt, "registry event at seq " + std::to_string(e->seq.value) +
                                             " does not decode: " + ev.status().to_string());
          return;
        }
        reg.apply(*ev);
      }
    });
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  if (!bad) return bad;
  return reg;
}

Status Ledger::make_room(std::uint64_t bytes) {
  try {
    impl_->env->reserve(impl_->env->used_bytes() + bytes);
  } catch (const std::exception& e) {
    return storage_error(e);
  }
  return Status::ok();
}

void Ledger::fail_commits_as_full_for_testing(int n) {
  impl_->env->fail_commits_as_full(n);
}

void Ledger::fail_commits_for_testing(int n) {
  impl_->env->fail_commits(n, EIO);
}

std::uint64_t Ledger::index_searches_for_testing() const {
  return impl_->searches;
}

std::uint64_t Ledger::store_bytes() const {
  try {
    return impl_->env->used_bytes();
  } catch (const std::exception&) {
    return 0;
  }
}

namespace {

class LmdbPageCacheFill final : public Ledger::PageCacheFill {
 public:
  LmdbPageCacheFill(const lmdb::Env& env, std::uint64_t bytes)
      : planned_(bytes), fill_(env, bytes) {}
  std::uint64_t planned() const override { return planned_; }
  std::uint64_t finish() override { return fill_.finish(); }

 private:
  std::uint64_t planned_;
  lmdb::PageCacheFill fill_;
};

}  // namespace

std::unique_ptr<Ledger::PageCacheFill> Ledger::fill_page_cache_for_side_copy(
    std::uint64_t at_least, std::uint64_t if_none) const {
  try {
    std::uint64_t tables = 0;
    impl_->env->read([&](const lmdb::Txn& txn) {
      for (MDB_dbi db : impl_->side) tables += txn.bytes(db);
    });
    if (tables == 0) tables = if_none;
    const std::uint64_t free = impl_->env->free_bytes();
    if (tables <= free || tables - free < at_least) return nullptr;
    return std::make_unique<LmdbPageCacheFill>(*impl_->env, tables - free);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace govcredit
