// Ledger::verify(): recompute everything the chain and the Merkle tree cover and compare it with
// what is stored (docs/LEDGER_FORMAT.md §9).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "ledger_impl.h"

namespace govcredit {
namespace {

using lmdb::BeKey;

// The event index check, in sorted chunks: looking each id up in log order would visit the
// index's pages at random (the ids are random), the largest single cost verify had.
// Instead the (id, seq) pairs of up to kChunk entries are collected, sorted by id and looked up
// with one cursor walking forward, so every index page is read once per chunk and in order.
// Memory is bounded by the chunk (24 bytes per entry); the count check at the end catches ids
// the log does not hold.
class IndexCheck {
 public:
  static constexpr std::size_t kChunk = std::size_t{1} << 20;

  void add(const std::uint8_t* id, std::uint64_t seq) {
    Item it;
    std::memcpy(it.id.data(), id, 16);
    it.seq = seq;
    items_.push_back(it);
  }
  bool full() const { return items_.size() >= kChunk; }

  // The smallest seq below `before` whose index record is missing or points elsewhere; the
  // collected records are consumed.
  std::optional<std::uint64_t> check(const lmdb::Txn& txn, MDB_dbi dbi, std::uint64_t before) {
    std::sort(items_.begin(), items_.end(),
              [](const Item& a, const Item& b) { return a.id < b.id; });
    std::optional<std::uint64_t> bad;
    lmdb::Cursor cur(txn, dbi);
    for (const Item& it : items_) {
      if (it.seq >= before || (bad && it.seq > *bad)) continue;
      MDB_val key{16, const_cast<std::uint8_t*>(it.id.data())};
      bool ok = cur.seek(&key) && cur.key().mv_size == 16 &&
                std::memcmp(cur.key().mv_data, it.id.data(), 16) == 0 && cur.value().mv_size == 8 &&
                get_le(static_cast<const std::uint8_t*>(cur.value().mv_data), 8) == it.seq;
      if (!ok) bad = it.seq;
    }
    items_.clear();
    return bad;
  }

 private:
  struct Item {
    std::array<std::uint8_t, 16> id;
    std::uint64_t seq;
  };
  std::vector<Item> items_;
};

// The verifier's helper thread, which reads the log through its own read transaction on the
// same snapshot or a newer one (entries and their index records are append-only, so a given seq
// reads the same in both). It does two things:
//
// - Hashes entries (the Merkle leaf of each) ahead of the verifier. The verifier never waits for
//   it: when a leaf is not ready it hashes the entry itself, so a slow helper costs nothing but
//   the help, and the verifier still checks key, header and chain itself.
// - Checks the event index for every entry (IndexCheck). The verifier asks for that verdict
//   once, at its end or at its first failure, for the entries below that seq, and waits for it.
//
// Threading: the helper owns `txn_`, `index_` and the ring slots ahead of the verifier's
// position; the verifier owns the slot it reads. `ready_` (release/acquire) publishes slots;
// `limit_` tells the helper where the verifier stopped; `index_bad_` is published under `mu_`.
class Helper {
 public:
  static constexpr std::uint64_t kRing = 1 << 14;
  static constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

  // Precondition: the caller holds the environment's read lock for the helper's lifetime
  // (Ledger::verify runs inside Env::read), so the map cannot be resized under txn_.
  explicit Helper(const Ledger::Impl& impl)
      : txn_(impl.env->get(), false), log_(impl.log), index_db_(impl.index) {
    thread_ = std::thread([this] { run(); });
  }
  ~Helper() {
    (void)index_verdict(0);
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

  // The smallest seq below `before` whose index record is wrong. The first call fixes `before`
  // (the verifier has stopped there); later calls return the same verdict.
  std::optional<std::uint64_t> index_verdict(std::uint64_t before) {
    std::uint64_t expected = kNoLimit;
    limit_.compare_exchange_strong(expected, before);
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return done_; });
    return index_bad_;
  }

  // What stopped the helper from reading the store, if anything (after index_verdict).
  std::optional<std::string> error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  struct Slot {
    std::uint64_t key = ~0ull;
    bool valid = false;
    Digest leaf;
  };

  // The helper's own work; what goes wrong in it (an LMDB error on a damaged store) is kept for
  // the verifier to report rather than thrown on this thread.
  void run() {
    std::optional<std::uint64_t> bad;
    std::optional<std::string> error;
    try {
      bad = walk();
    } catch (const std::exception& e) {
      error = e.what();
    }
    // Wait until the verifier says where it stopped (its snapshot may be older than ours).
    while (limit_.load(std::memory_order_acquire) == kNoLimit)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    const std::uint64_t before = limit_.load(std::memory_order_acquire);
    try {
      if (!bad && !error) bad = index_.check(txn_, index_db_, before);
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard lock(mu_);
    index_bad_ = bad && *bad < before ? bad : std::nullopt;
    error_ = std::move(error);
    done_ = true;
    done_cv_.notify_all();
  }

  // Reads the log from the start up to where the verifier stops; returns the smallest bad index
  // record found in a full chunk, if any.
  std::optional<std::uint64_t> walk() {
    std::optional<std::uint64_t> bad;
    lmdb::Cursor cur(txn_, log_);
    for (bool ok = cur.seek(nullptr); ok; ok = cur.next()) {
      const std::uint64_t key = BeKey::decode(cur.key());
      if (key >= limit_.load(std::memory_order_acquire)) break;
      ByteView v = lmdb::view(cur.value());
      const bool valid = v.size() >= 32 + kEntryHeaderSize && v[32] == kEntryVersion;
      // An entry too short to carry an id fails in the verifier; the index is not asked.
      if (!bad && valid && v.size() >= 32 + kEntryHeaderSize + kWireIdOffset + 16) {
        index_.add(v.data() + 32 + kEntryHeaderSize + kWireIdOffset, key);
        // A bad record found here precedes every later chunk's: the rest need not be checked.
        if (index_.full()) bad = index_.check(txn_, index_db_, kNoLimit);
      }
      if (key < position_.load(std::memory_order_acquire)) continue;  // the verifier passed it
      // Stay within the ring: never overwrite a slot the verifier may still read.
      bool stopped = false;
      while (!stopped && key >= position_.load(std::memory_order_acquire) + kRing - 1) {
        stopped = limit_.load(std::memory_order_acquire) != kNoLimit;
        if (!stopped) std::this_thread::yield();
      }
      if (stopped) continue;  // the verifier is done with leaves; keep collecting ids
      Slot& s = ring_[key % kRing];
      s.key = key;
      s.valid = valid;
      if (valid)
        s.leaf = entry_leaf_hash(v.subspan(32, kEntryHeaderSize), v.subspan(32 + kEntryHeaderSize));
      ready_.store(key + 1, std::memory_order_release);
    }
    return bad;
  }

  lmdb::Txn txn_;
  MDB_dbi log_, index_db_;
  IndexCheck index_;
  std::vector<Slot> ring_ = std::vector<Slot>(kRing);
  std::atomic<std::uint64_t> ready_{0}, position_{0}, limit_{kNoLimit};
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::optional<std::uint64_t> index_bad_;
  std::optional<std::string> error_;
  std::thread thread_;
};

struct Verifier {
  const Ledger::Impl& impl;
  const lmdb::Txn& txn;
  const VerifyOptions& opt;
  VerifyReport report;
  std::unique_ptr<Helper> helper = std::make_unique<Helper>(impl);

  struct Problem {
    std::uint64_t seq;
    Reason reason;
    std::string what;
  };

  // With opt.signatures: entries whose signatures and rules are checked a window at a time (the
  // signatures on all cores against the registry as of the window's start, then each entry in
  // order; an event signed by a key registered inside the window is verified in order).
  static constexpr std::size_t kWindow = 2048;
  std::vector<std::pair<std::uint64_t, ByteView>> window{};
  Registry registry{};

  // Checks the windowed entries below `limit` in order; the first that fails, if any. Consumes
  // the window.
  std::optional<Problem> signatures_before(std::uint64_t limit) {
    std::size_t n = 0;
    while (n < window.size() && window[n].first < limit) ++n;
    std::vector<std::optional<Result<Event>>> events(n);
    std::vector<std::optional<SignatureVerdict>> verdicts(n);
    auto signing = [](ByteView wire, const Event& e) {
      return wire.first(wire.size() - wire_trailer_size(e));
    };
    auto work = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i) {
        events[i] = decode_wire(window[i].second);
        if (!*events[i]) continue;
        const Event& e = **events[i];
        if (const KeyInfo* k = registry.key(e.key_id))
          verdicts[i] = signature_verdict(e, signing(window[i].second, e), *k);
      }
    };
    const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    const std::size_t per = (n + threads - 1) / threads;
    for (std::size_t from = per; n >= 64 && from < n; from += per)
      pool.emplace_back(work, from, std::min(n, from + per));
    work(0, n >= 64 ? std::min(n, per) : n);
    for (auto& t : pool) t.join();
    std::optional<Problem> found;
    for (std::size_t i = 0; i < n && !found; ++i) {
      const std::uint64_t seq = window[i].first;
      const Result<Event>& e = *events[i];
      if (!e) {
        found =
            Problem{seq, e.status().reason(), "the event does not decode: " + e.status().message()};
        break;
      }
      const SignatureVerdict* v = verdicts[i] ? &*verdicts[i] : nullptr;
      if (Status st = registry.check(*e, signing(window[i].second, *e), v); !st)
        found = Problem{seq, st.reason(), "the event fails its checks: " + st.message()};
      else
        registry.apply(*e);
    }
    window.clear();
    return found;
  }

  // Settles the deferred checks (the signature window, the helper's index verdict) below the
  // problem p (or below `before` when there is none) and reports the first problem in log
  // order. Returns whether there was none.
  bool settle(std::optional<Problem> p, std::uint64_t before) {
    std::uint64_t limit = p ? p->seq : before;
    if (auto sig = signatures_before(limit)) {
      p = std::move(sig);
      limit = p->seq;
    }
    if (auto bad = helper->index_verdict(limit))
      p = Problem{*bad, Reason::kCorrupt, "the event index does not point at this entry"};
    if (auto error = helper->error()) {
      report.ok = false;
      report.problem = Status(Reason::kStorageError, "reading the store failed: " + *error);
      return false;
    }
    if (!p) return true;
    report.ok = false;
    report.first_bad = Seq{p->seq};
    report.problem = Status(p->reason, "seq " + std::to_string(p->seq) + ": " + p->what);
    return false;
  }

  bool fail(std::uint64_t seq, Reason r, std::string what) {
    return settle(Problem{seq, r, std::move(what)}, seq);
  }

  void run() {
    const Head stored = impl.snapshot().head;
    lmdb::Cursor log(txn, impl.log);
    lmdb::Cursor nodes(txn, impl.merkle);
    bool nodes_left = nodes.seek(nullptr);
    merkle::CompactRange range;
    Digest prev{};
    std::optional<Digest> root_at_checkpoint;
    if (opt.checkpoint && opt.checkpoint->size == 0) root_at_checkpoint = merkle::empty_root();
    std::uint64_t n = 0;
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
      std::optional<Digest> ready = helper->take(n);
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
      if (opt.signatures) {
        window.emplace_back(n, wire);
        if (window.size() >= kWindow)
          if (auto p = signatures_before(n + 1)) return (void)settle(std::move(p), p->seq);
      }
      prev = chain;
      if (opt.checkpoint && opt.checkpoint->size == n + 1) root_at_checkpoint = range.root();
      if (opt.progress && (n + 1) % 65536 == 0) opt.progress(n + 1, stored.size);
    }
    if (!settle(std::nullopt, n)) return;
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
