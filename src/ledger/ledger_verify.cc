// Ledger::verify(): recompute everything the chain and the Merkle tree cover and compare it with
// what is stored (docs/LEDGER_FORMAT.md §9).
#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "ledger_impl.h"

namespace govcredit {
namespace {

using lmdb::BeKey;

// What is wrong with the first bad entry found, and where.
struct Problem {
  std::uint64_t seq;
  Reason reason;
  std::string what;
  // When the problem lies somewhere in the entries seq to *last (a group of eight whose Merkle
  // node differs): verify --signatures checks them too, to name the entry.
  std::optional<std::uint64_t> last = std::nullopt;
};

// A multiset fingerprint of (id, seq) pairs: two 64-bit sums of mixed pairs. The log's pairs of
// a chunk and the index records pointing into it sum to the same fingerprint exactly when they
// are the same pairs (but with odds of 2^-128), whatever runs the records are in; only a chunk
// whose fingerprints differ is searched record by record (LEDGER_FORMAT.md §9).
struct Fingerprint {
  std::uint64_t a = 0, b = 0;
  void add(const std::uint8_t* id, std::uint64_t seq) {
    const std::uint64_t x = mix64(get_le(id, 8) ^ mix64(seq + 0x9e3779b97f4a7c15ULL));
    a += x;
    b += mix64(get_le(id + 8, 8) ^ mix64(seq ^ 0x6a09e667f3bcc909ULL) ^ x);
  }
  bool operator==(const Fingerprint&) const = default;
};

// The structural check (docs/LEDGER_FORMAT.md §9): every entry's key, header, chain link and
// Merkle leaf, every stored Merkle node, every event index record. The log is cut into chunks of
// 2^level entries checked in parallel, one thread per core, each through its own read
// transaction (on the verifier's snapshot or a newer one: entries, nodes and index records are
// append-only, so what lies below the verifier's size reads the same in both):
//
// - A chunk's first entry is linked to the chain hash its predecessor stores, so a chunk needs
//   nothing from the chunk before it. Checking every link against the stored predecessor is the
//   same check as recomputing the chain from the start: the first link that fails is the first
//   entry whose recomputed chain hash differs.
// - The chunk computes its own Merkle subtree and compares every node inside it with the stored
//   one; the nodes above the chunks are computed from the chunks' roots, in order, by the
//   caller (`run`), which also reports progress.
// - The chunk sums the fingerprint of its (id, seq) pairs; meanwhile the caller reads every
//   event index run once, in key order, and sums the records pointing into each chunk. A chunk
//   whose sums differ is searched entry by entry for the first one the index does not point at.
//
// Each chunk yields the first problem in it; the first problem of the log is that of the first
// chunk that has one (or of a node above the chunks, completed by an earlier chunk's last
// entry). Once a chunk fails, later chunks are not started.
class StructureCheck {
 public:
  StructureCheck(const Ledger::Impl& impl, const lmdb::Txn& txn, std::uint64_t entries,
                 std::uint32_t level)
      : impl_(impl),
        txn_(txn),
        n_(entries),
        legacy_(impl.chain_legacy(txn)),
        level_(std::min<std::uint32_t>(level, 40)),
        chunks_((entries + (std::uint64_t{1} << level_) - 1) >> level_),
        results_(chunks_),
        indexed_(chunks_) {}

  // The first problem, if any; `progress(done)` is called as the entries below `done` pass.
  std::optional<Problem> run(const std::function<void(std::uint64_t)>& progress) {
    const std::size_t threads =
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), chunks_);
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < threads; ++i) pool.emplace_back([this] { work(); });
    guard([&] { read_index(); });  // on this thread, while the pool checks the log
    std::optional<Problem> found;
    merkle::CompactRange above;  // over the roots of the complete chunks
    for (std::uint64_t k = 0; k < chunks_ && !found; ++k) {
      Result r;
      {
        std::unique_lock lock(mu_);
        ready_cv_.wait(lock, [&] { return results_[k].done || error_.has_value(); });
        if (error_) break;
        r = std::move(results_[k]);
      }
      // The index problem of this chunk, if any, below its structural problem, if any.
      if (r.problem || r.ids != indexed_[k])
        guard([&] {
          if (auto bad = index_problem(k, r.problem ? r.problem->seq : (k + 1) << level_))
            r.problem = std::move(bad);
        });
      if (error()) break;
      if (r.problem) {
        found = std::move(r.problem);
        break;
      }
      head_chain_ = r.chain;
      const std::uint64_t end = std::min(n_, (k + 1) << level_);
      if (end - (k << level_) == std::uint64_t{1} << level_)
        above.append(r.root, [&](const merkle::CompactRange::Node& node) {
          // Level 0 is the chunk's root, checked in it; nodes below kLowestStoredLevel are not
          // stored.
          if (found || node.level == 0 || node.level + level_ < kLowestStoredLevel) return;
          if (auto p = node_problem(txn_, node.level + level_, node.index, node.hash, end - 1))
            found = std::move(p);
        });
      if (progress) progress(end);
    }
    stop_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    for (auto& t : pool) t.join();
    return found;
  }

  // Whether the index holds records that cannot be in it: outside every run, or in a run whose
  // seqs they are not (after run).
  bool index_extra() const { return index_extra_; }
  // The first index slot holding a malformed LMDB record or chunk, or records out of order
  // (skipped when read; after run).
  const std::optional<std::string>& malformed_run() const { return malformed_run_; }

  // The chain hash through the last entry, when run() found no problem (zeros for an empty log).
  Digest head_chain() const { return head_chain_; }

  // What stopped a thread from reading the store, if anything (after run).
  std::optional<std::string> error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  struct Result {
    bool done = false;
    std::optional<Problem> problem;
    Digest root;      // of a complete chunk's subtree
    Fingerprint ids;  // of the chunk's (id, seq) pairs
    Digest chain;     // through the chunk's last entry (when it has no problem)
  };

  // Runs fn; what it throws becomes the check's error (the pool must be joined either way).
  void guard(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = e.what();
    }
  }

  // Reads every slot of the index on the verifier's snapshot: sums each record into the
  // fingerprint of the chunk its seq lies in, and notes records that cannot be there.
  void read_index() {
    std::vector<std::optional<IndexRun>> range(kIndexSlots);  // by slot: the runs in use
    for (const IndexRun& r : impl_.runs(txn_, n_)) range[r.slot] = r;
    const std::uint32_t format = impl_.format(txn_);
    for (std::size_t slot = 0; slot < kIndexSlots; ++slot) {
      RunCursor c(txn_, impl_.index[slot], chunked_slot(slot, format));
      for (; c.valid(); c.next()) {
        const std::uint64_t seq = c.seq();
        if (!range[slot] || seq < range[slot]->first || seq >= range[slot]->end) {
          index_extra_ = true;
          continue;
        }
        indexed_[seq >> level_].add(c.id(), seq);
      }
      if (c.malformed() && !malformed_run_) malformed_run_ = index_slot_name(slot);
    }
  }

  // The first entry of chunk k below `before` that its run does not index; failing that, the
  // first entry of the chunk that a record of another id points at.
  std::optional<Problem> index_problem(std::uint64_t k, std::uint64_t before) const {
    const std::uint64_t from = k << level_, to = std::min(before, std::min(n_, (k + 1) << level_));
    const std::vector<IndexRun> runs = impl_.runs(txn_, n_);
    auto id_at = [&](std::uint64_t m) -> std::optional<ByteView> {
      BeKey key(m);
      auto v = txn_.find(impl_.log, key.val());
      const std::size_t at = chain_prefix(m, legacy_) + kEntryHeaderSize + kWireIdOffset;
      if (!v || v->size() < at + 16) return std::nullopt;
      return v->subspan(at, 16);
    };
    for (std::uint64_t m = from; m < to; ++m) {
      auto id = id_at(m);
      if (!id) continue;  // the structural check names it
      auto run = std::find_if(runs.begin(), runs.end(),
                              [&](const IndexRun& r) { return m >= r.first && m < r.end; });
      auto seq = run == runs.end()
                     ? std::nullopt
                     : find_in_run(txn_, impl_.index[run->slot], run->chunked, id->data());
      if (seq != m)
        return Problem{m, Reason::kCorrupt, "the event index does not point at this entry"};
    }
    std::optional<std::uint64_t> second;
    for (const IndexRun& r : runs) {
      if (r.end <= from || r.first >= to) continue;
      for (RunCursor c(txn_, impl_.index[r.slot], r.chunked); c.valid(); c.next()) {
        const std::uint64_t m = c.seq();
        if (m < from || m >= to || (second && m >= *second)) continue;
        auto id = id_at(m);
        if (id && std::memcmp(id->data(), c.id(), 16) != 0) second = m;
      }
    }
    if (second)
      return Problem{*second, Reason::kCorrupt,
                     "the event index points another id at this entry as well"};
    return std::nullopt;
  }

  // What is wrong when the stored Merkle node (level, index), completed by entry `last`, is not
  // `hash`, if it is not. A node of the lowest stored level that differs is the only hash of its
  // eight entries but for those below chain_legacy (LEDGER_FORMAT.md §2, §9): the problem is
  // named at the first of them that stores no chain hash of its own.
  std::optional<Problem> node_problem(const lmdb::Txn& txn, std::uint32_t level,
                                      std::uint64_t index, const Digest& hash,
                                      std::uint64_t last) const {
    const std::uint64_t position = merkle::node_position(level, index);
    const std::string name =
        "Merkle node " + std::to_string(position) + " (level " + std::to_string(level) + ")";
    BeKey key(position);
    auto v = txn.find(impl_.merkle, key.val());
    if (!v) return Problem{last, Reason::kCorrupt, name + " is missing"};
    if (v->size() == 32 && std::memcmp(v->data(), hash.bytes.data(), 32) == 0) return std::nullopt;
    const std::uint64_t first = std::max(index << level, legacy_);
    if (level != kLowestStoredLevel || first > last)
      return Problem{last, Reason::kCorrupt, name + " differs"};
    return Problem{first, Reason::kCorrupt,
                   "entries " + std::to_string(first) + " to " + std::to_string(last) +
                       " do not hash to " + name + ": one of them, or the node, was altered",
                   last};
  }

  // One thread: takes the next chunk until none is left or one has failed.
  void work() {
    try {
      lmdb::Txn txn(impl_.env->get(), false);
      for (;;) {
        const std::uint64_t k = next_.fetch_add(1);
        if (k >= chunks_ || k > stop_.load(std::memory_order_relaxed)) break;
        Result r = check_chunk(txn, k);
        r.done = true;
        if (r.problem) {
          std::uint64_t s = stop_.load();
          while (k < s && !stop_.compare_exchange_weak(s, k)) {
          }
        }
        std::lock_guard lock(mu_);
        if (cancelled_) break;
        results_[k] = std::move(r);
        ready_cv_.notify_all();
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = e.what();
      ready_cv_.notify_all();
    }
  }

  Result check_chunk(const lmdb::Txn& txn, std::uint64_t k) const {
    const std::uint64_t from = k << level_, to = std::min(n_, (k + 1) << level_);
    Result r;
    auto fail = [&](std::uint64_t seq, std::string what) {
      r.problem = Problem{seq, Reason::kCorrupt, std::move(what)};
    };
    // The chain hash through the previous entry: the one it stores (chunks of 2^10 entries or more
    // start after an entry that stores one), or hashed on from the last entry that does. When an
    // entry it needs is missing, an earlier chunk fails.
    Digest prev{};
    bool prev_known = true;
    if (from > 0) {
      try {
        prev = impl_.entry_hash(txn, from - 1);
      } catch (const lmdb::LmdbError&) {
        prev_known = false;
      }
    }
    lmdb::Cursor log(txn, impl_.log), nodes(txn, impl_.merkle);
    bool node_at = false;  // whether `nodes` stands on a record
    merkle::CompactRange range;
    BeKey first(from);
    MDB_val first_key = first.val();
    bool at = log.seek(&first_key);
    for (std::uint64_t m = from; m < to && !r.problem; ++m, at = log.next()) {
      if (!at) {
        fail(m, "entry missing (the log ends)");
        break;
      }
      const std::uint64_t key = BeKey::decode(log.key());
      if (log.key().mv_size != 8 || key != m) {
        fail(m, "entry missing (the next stored key is " + std::to_string(key) + ")");
        break;
      }
      ByteView value = lmdb::view(log.value());
      const std::size_t prefix = chain_prefix(m, legacy_);
      if (value.size() < prefix || !entry_header_ok(value.subspan(prefix))) {
        fail(m, "entry is truncated or of an unknown version");
        break;
      }
      ByteView header = value.subspan(prefix, kEntryHeaderSize);
      ByteView wire = value.subspan(prefix + kEntryHeaderSize);
      if (get_le(header.data() + 1, 8) != m) {
        fail(m, "entry says it is seq " + std::to_string(get_le(header.data() + 1, 8)) +
                    " (entries reordered?)");
        break;
      }
      const Digest leaf = entry_leaf_hash(header, wire);
      const Digest chain = chain_hash(prev, leaf);  // meaningful when prev_known
      // An entry written before the shard's conversion to format 4 stores its own chain hash,
      // which names it exactly when its bytes changed; a later entry's bytes are covered by
      // the Merkle node of its group of eight, checked below first.
      const bool legacy = m < legacy_;
      if (legacy && prev_known && std::memcmp(chain.bytes.data(), value.data(), 32) != 0) {
        fail(m, "the entry's bytes do not match its chain hash");
        break;
      }
      range.append(leaf, [&](const merkle::CompactRange::Node& node) {
        if (r.problem || node.level < kLowestStoredLevel) return;  // not stored (§4)
        const std::uint64_t index = (from >> node.level) + node.index;
        const std::uint64_t want = merkle::node_position(node.level, index);
        // The chunk's nodes are stored in the order they are completed: step, or seek.
        if (!node_at || BeKey::decode(nodes.key()) != want) {
          BeKey k(want);
          MDB_val kv = k.val();
          node_at = nodes.seek(&kv);
        }
        if (!node_at || nodes.key().mv_size != 8 || BeKey::decode(nodes.key()) != want) {
          fail(m, "Merkle node " + std::to_string(want) + " (level " + std::to_string(node.level) +
                      ") is missing");
          return;
        }
        if (nodes.value().mv_size != 32 ||
            std::memcmp(nodes.value().mv_data, node.hash.bytes.data(), 32) != 0) {
          r.problem = node_problem(txn, node.level, index, node.hash, m);
          return;
        }
        node_at = nodes.next();
      });
      if (r.problem) break;
      if (prefix && !legacy && prev_known &&
          std::memcmp(chain.bytes.data(), value.data(), 32) != 0) {
        fail(m, "the chain hash stored with this entry does not match the entries up to it");
        break;
      }
      if (prefix) {
        std::memcpy(prev.bytes.data(), value.data(), 32);
        prev_known = true;
      } else {
        prev = chain;
      }
      if (wire.size() < kWireIdOffset + 16) {
        fail(m, "the event is too short to carry an id");
        break;
      }
      r.ids.add(wire.data() + kWireIdOffset, m);
    }
    if (!r.problem && to - from == std::uint64_t{1} << level_) r.root = range.root();
    r.chain = prev;
    return r;
  }

  const Ledger::Impl& impl_;
  const lmdb::Txn& txn_;  // the verifier's; used by run() only
  const std::uint64_t n_;
  const std::uint64_t legacy_;  // the entries below it store their chain hash (chain_legacy)
  const std::uint32_t level_;
  const std::uint64_t chunks_;
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> stop_{~std::uint64_t{0}};  // no chunk above this one is started
  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::vector<Result> results_;       // under mu_
  std::vector<Fingerprint> indexed_;  // by chunk: the index records pointing into it (read_index)
  bool index_extra_ = false;
  std::optional<std::string> malformed_run_;
  Digest head_chain_{};               // run(): the chain through the last chunk checked
  bool cancelled_ = false;            // under mu_
  std::optional<std::string> error_;  // under mu_
};

// About eight chunks per core, so that the chunks still running when the others are done cost
// little; at least 2^12 entries (a chunk's set-up), at most 2^20 (its sorted ids, 24 MiB).
std::uint32_t chunk_level(std::uint64_t entries) {
  const std::uint64_t want = entries / (8 * std::max(1u, std::thread::hardware_concurrency()));
  std::uint32_t level = 12;
  while (level < 20 && (std::uint64_t{2} << level) <= want) ++level;
  return level;
}

struct Verifier {
  const Ledger::Impl& impl;
  const lmdb::Txn& txn;
  const VerifyOptions& opt;
  VerifyReport report;

  // With opt.signatures: entries whose signatures and rules are checked a window at a time (the
  // signatures on all cores against the registry as of the window's start, then each entry in
  // order; an event signed by a key registered inside the window is verified in order).
  static constexpr std::size_t kWindow = 2048;  // unless opt.signature_window says otherwise
  std::vector<std::pair<std::uint64_t, ByteView>> window{};
  Registry registry{};
  std::uint64_t total = 0;  // the stored head's size, for progress

  // Checks the windowed entries in order; the first that fails, if any. Consumes the window.
  std::optional<Problem> check_window() {
    const std::size_t n = window.size();
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

  // The signatures and rules of the entries below `limit` (all structurally sound), in log
  // order; the first that fails, if any.
  std::optional<Problem> signatures_before(std::uint64_t limit) {
    const std::uint64_t legacy = impl.chain_legacy(txn);
    lmdb::Cursor log(txn, impl.log);
    for (bool ok = log.seek(nullptr); ok; ok = log.next()) {
      const std::uint64_t seq = BeKey::decode(log.key());
      if (seq >= limit) break;
      window.emplace_back(
          seq, lmdb::view(log.value()).subspan(chain_prefix(seq, legacy) + kEntryHeaderSize));
      if (window.size() >= std::max<std::size_t>(1, opt.signature_window.value_or(kWindow)))
        if (auto p = check_window()) return p;
      if (opt.progress && (seq + 1) % 65536 == 0) opt.progress(seq + 1, total);
    }
    return check_window();
  }

  bool fail(std::uint64_t seq, Reason r, std::string what) {
    report.ok = false;
    report.first_bad = Seq{seq};
    report.problem = Status(r, "seq " + std::to_string(seq) + ": " + what);
    return false;
  }

  // The stored Merkle node (level, index); every one below the log's size has been checked.
  Digest node(std::uint32_t level, std::uint64_t index) const {
    return impl.node(txn, level, index);
  }

  void run() {
    const Head stored = impl.snapshot().head;
    const std::uint64_t n = txn.count(impl.log);
    total = stored.size;
    StructureCheck structure(impl, txn, n, opt.chunk_level ? *opt.chunk_level : chunk_level(n));
    std::optional<Problem> p = structure.run([&](std::uint64_t done) {
      if (opt.progress && !opt.signatures) opt.progress(done, stored.size);
    });
    if (auto error = structure.error()) {
      report.ok = false;
      report.problem = Status(Reason::kStorageError, "reading the store failed: " + *error);
      return;
    }
    // A signature or rule failure before the first structural problem is the first problem, and
    // one inside the group of entries a differing Merkle node covers names the entry.
    if (opt.signatures)
      if (auto sig = signatures_before(p ? (p->last ? *p->last + 1 : p->seq) : n))
        p = std::move(sig);
    if (p) return (void)fail(p->seq, p->reason, p->what);
    const Digest chain = structure.head_chain();
    auto subtree = [&](std::uint32_t level, std::uint64_t index) { return node(level, index); };
    report.entries = n;
    report.head = Head{n, chain, merkle::root_hash(n, subtree)};
    if (opt.progress) opt.progress(n, stored.size);
    if (stored.size != n)
      return (void)fail(std::min(n, stored.size), Reason::kCorrupt,
                        "the stored head counts " + std::to_string(stored.size) +
                            " entries but the log holds " + std::to_string(n));
    if (stored.chain != chain)
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt, "the stored head hash differs");
    // A format-1 shard (converted at its next write) still holds the nodes below
    // kLowestStoredLevel; nothing reads them.
    const std::uint32_t lowest = impl.format(txn) == 1 ? 0 : kLowestStoredLevel;
    if (txn.count(impl.merkle) != merkle::stored_node_count(n, lowest))
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt,
                        "the Merkle database holds nodes beyond the log");
    if (structure.index_extra())
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt,
                        "the event index holds ids that are not in the log");
    if (const auto& run = structure.malformed_run())
      return (void)fail(n ? n - 1 : 0, Reason::kCorrupt,
                        "the event index run " + *run +
                            " holds a malformed chunk or record, or ids out of order");
    if (opt.checkpoint) {
      std::optional<Digest> root;
      if (opt.checkpoint->size <= n) root = merkle::root_hash(opt.checkpoint->size, subtree);
      check_checkpoint(root);
    }
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
      Verifier v{*impl_, txn, options, {}, {}, {}, 0};
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
