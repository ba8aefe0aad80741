// Ledger::verify(): recompute everything the chain and the Merkle tree cover and compare it with
// what is stored (docs/LEDGER_FORMAT.md §9).
#include <atomic>
#include <thread>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "ledger_impl.h"

namespace govcredit {
namespace {

using lmdb::BeKey;

// Hashes log entries (the Merkle leaf of each) on a second thread, ahead of the verifier, through
// its own read transaction on the same snapshot-or-newer (entries are append-only, so a given seq
// has the same bytes in both). The verifier never waits for it: when a leaf is not ready it hashes
// the entry itself, so a slow or stalled helper costs nothing but the help. It never decides
// anything either: the verifier still checks key, header and chain itself.
//
// Threading: the helper owns `txn_` and the ring slots ahead of the verifier's position; the
// verifier owns the slot it reads. `ready_` (release/acquire) publishes slots.
class LeafPrefetcher {
 public:
  static constexpr std::uint64_t kRing = 1 << 14;

  // Precondition: the caller holds the environment's read lock for the prefetcher's lifetime
  // (Ledger::verify runs inside Env::read), so the map cannot be resized under txn_.
  explicit LeafPrefetcher(const Ledger::Impl& impl) : txn_(impl.env->get(), false), dbi_(impl.log) {
    thread_ = std::thread([this] { run(); });
  }
  ~LeafPrefetcher() {
    stop_.store(true);
    thread_.join();
  }

  // The leaf hash of entry n when the helper has it; otherwise nullopt. Call with n increasing.
  std::optional<Digest> take(std::uint64_t n) {
    position_.store(n, std::memory_order_release);
    if (n >= ready_.load(std::memory_order_acquire)) return std::nullopt;
    const Slot& s = ring_[n % kRing];
    if (s.key != n || !s.valid) return std::nullopt;
    return s.leaf;
  }

 private:
  struct Slot {
    std::uint64_t key = ~0ull;
    bool valid = false;
    Digest leaf;
  };

  void run() {
    lmdb::Cursor cur(txn_, dbi_);
    for (bool ok = cur.seek(nullptr); ok && !stop_.load(std::memory_order_relaxed);
         ok = cur.next()) {
      const std::uint64_t key = BeKey::decode(cur.key());
      if (key < position_.load(std::memory_order_acquire)) continue;  // the verifier passed it
      // Stay within the ring: never overwrite a slot the verifier may still read.
      while (key >= position_.load(std::memory_order_acquire) + kRing - 1) {
        if (stop_.load(std::memory_order_relaxed)) return;
        std::this_thread::yield();
      }
      ByteView v = lmdb::view(cur.value());
      Slot& s = ring_[key % kRing];
      s.key = key;
      s.valid = v.size() >= 32 + kEntryHeaderSize && v[32] == kEntryVersion;
      if (s.valid)
        s.leaf = entry_leaf_hash(v.subspan(32, kEntryHeaderSize), v.subspan(32 + kEntryHeaderSize));
      ready_.store(key + 1, std::memory_order_release);
    }
  }

  lmdb::Txn txn_;
  MDB_dbi dbi_;
  std::vector<Slot> ring_ = std::vector<Slot>(kRing);
  std::atomic<std::uint64_t> ready_{0}, position_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Verifier {
  const Ledger::Impl& impl;
  const lmdb::Txn& txn;
  const VerifyOptions& opt;
  VerifyReport report;

  bool fail(std::uint64_t seq, Reason r, std::string what) {
    report.ok = false;
    report.first_bad = Seq{seq};
    report.problem = Status(r, "seq " + std::to_string(seq) + ": " + std::move(what));
    return false;
  }

  void run() {
    const Head stored = impl.snapshot().head;
    lmdb::Cursor log(txn, impl.log);
    lmdb::Cursor nodes(txn, impl.merkle);
    bool nodes_left = nodes.seek(nullptr);
    merkle::CompactRange range;
    Digest prev{};
    Registry registry;
    std::optional<Digest> root_at_checkpoint;
    if (opt.checkpoint && opt.checkpoint->size == 0) root_at_checkpoint = merkle::empty_root();
    std::uint64_t n = 0;
    LeafPrefetcher prefetch(impl);
    for (bool ok = log.seek(nullptr); ok; ok = log.next(), ++n) {
      std::uint64_t key = BeKey::decode(log.key());
      if (log.key().mv_size != 8 || key != n)
        return (void)fail(n, Reason::kCorrupt,
                          "entry missing (the next stored key is " + std::to_string(key) + ")");
      ByteView value = lmdb::view(log.value());
      if (value.size() < 32 + kEntryHeaderSize || value[32] != kEntryVersion)
        return (void)fail(n, Reason::kCorrupt, "entry is truncated or of an unknown version");
      ByteView header = value.subspan(32, kEntryHeaderSize);
      ByteView wire = value.subspan(32 + kEntryHeaderSize);
      if (get_le(header.data() + 1, 8) != n)
        return (void)fail(n, Reason::kCorrupt,
                          "entry says it is seq " + std::to_string(get_le(header.data() + 1, 8)) +
                              " (entries reordered?)");
      std::optional<Digest> ready = prefetch.take(n);
      Digest leaf = ready ? *ready : entry_leaf_hash(header, wire);
      Digest chain = chain_hash(prev, leaf);
      if (std::memcmp(chain.bytes.data(), value.data(), 32) != 0)
        return (void)fail(n, Reason::kCorrupt, "the entry's bytes do not match its chain hash");
      bool nodes_ok = true;
      std::string node_problem;
      range.append(leaf, [&](const merkle::CompactRange::Node& node) {
        if (!nodes_ok) return;
        std::uint64_t want = merkle::node_position(node.level, node.index);
        if (!nodes_left || BeKey::decode(nodes.key()) != want) {
          nodes_ok = false;
          node_problem = "Merkle node " + std::to_string(want) + " (level " +
                         std::to_string(node.level) + ") is missing";
          return;
        }
        if (nodes.value().mv_size != 32 ||
            std::memcmp(nodes.value().mv_data, node.hash.bytes.data(), 32) != 0) {
          nodes_ok = false;
          node_problem = "Merkle node " + std::to_string(want) + " (level " +
                         std::to_string(node.level) + ") differs";
          return;
        }
        nodes_left = nodes.next();
      });
      if (!nodes_ok) return (void)fail(n, Reason::kCorrupt, node_problem);
      if (wire.size() < kWireIdOffset + 16)
        return (void)fail(n, Reason::kCorrupt, "the event is too short to carry an id");
      auto idx =
          txn.find(impl.index, MDB_val{16, const_cast<std::uint8_t*>(wire.data() + kWireIdOffset)});
      bool index_ok = idx && idx->size() == 8 && get_le(idx->data(), 8) == n;
      if (!index_ok)
        return (void)fail(n, Reason::kCorrupt, "the event index does not point at this entry");
      if (opt.signatures) {
        auto e = decode_wire(wire);
        if (!e)
          return (void)fail(n, e.status().reason(),
                            "the event does not decode: " + e.status().message());
        if (Status s = registry.check(*e, wire.first(wire.size() - wire_trailer_size(*e))); !s)
          return (void)fail(n, s.reason(), "the event fails its checks: " + s.message());
        registry.apply(*e);
      }
      prev = chain;
      if (opt.checkpoint && opt.checkpoint->size == n + 1) root_at_checkpoint = range.root();
      if (opt.progress && (n + 1) % 65536 == 0) opt.progress(n + 1, stored.size);
    }
    report.entries = n;
    report.head = Head{n, prev, range.root()};
    if (opt.progress) opt.progress(n, stored.size);
    if (stored.size != n)
      return (void)fail(std::min(n, stored.size), Reason::kCorrupt,
                        "the stored head counts " + std::to_string(stored.size) +
                            " entries but the log holds " + std::to_string(n));
    if (stored.chain != prev)
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt, "the stored head hash differs");
    if (nodes_left || txn.count(impl.merkle) != merkle::stored_node_count(n))
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt,
                        "the Merkle database holds nodes beyond the log");
    if (txn.count(impl.index) != n)
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt,
                        "the event index holds ids that are not in the log");
    if (opt.checkpoint) check_checkpoint(root_at_checkpoint);
  }

  void check_checkpoint(const std::optional<Digest>& root) {
    const Checkpoint& c = *opt.checkpoint;
    report.ok = false;
    if (c.origin != impl.origin)
      report.problem =
          Status(Reason::kCorrupt, "the checkpoint is for " + c.origin + ", not " + impl.origin);
    else if (!root)
      report.problem =
          Status(Reason::kCorrupt, "the checkpoint is for size " + std::to_string(c.size) +
                                       " but the log holds only " + std::to_string(report.entries));
    else if (*root != c.root)
      report.problem =
          Status(Reason::kCorrupt, "the log's root at size " + std::to_string(c.size) +
                                       " differs from the checkpoint's: history was rewritten");
    else if (opt.checkpoint_key)
      report.problem = verify_checkpoint(c, *opt.checkpoint_key);
    else
      report.problem = Status::ok();
    report.ok = report.problem.is_ok();
  }
};

}  // namespace

VerifyReport Ledger::verify(const VerifyOptions& options) const {
  VerifyReport out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      Verifier v{*impl_, txn, options, {}};
      v.run();
      out = std::move(v.report);
    });
  } catch (const std::exception& e) {
    out.ok = false;
    out.problem = Status(Reason::kStorageError, e.what());
  }
  return out;
}

}  // namespace govcredit
