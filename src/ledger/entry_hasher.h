// Internal to src/ledger: hashes a write batch's entries on a thread of its own while the batch
// goes on (docs/PERFORMANCE.md §5.14). The leaf hash, the chain hash and the Merkle nodes of an
// entry depend only on the entries before it, so a batch can copy its entries into the log, and
// write its event index, while another core hashes them; it waits for the hashes before it
// stores the Merkle nodes and its head. The result is the same whichever thread hashed what.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "govcredit/merkle.h"
#include "govcredit/types.h"
#include "ledger_impl.h"

namespace govcredit {

// What a batch's entries hash to: the chain hash through its last entry, the Merkle range after
// it, the stored Merkle nodes it completed (level ≥ kLowestStoredLevel, in the order they
// completed: their keys ascend), and the chain hashes of the entries that store theirs
// (stores_chain), by seq.
struct BatchHashes {
  Digest chain;
  merkle::CompactRange range;
  std::vector<merkle::CompactRange::Node> nodes;
  std::vector<std::pair<std::uint64_t, Digest>> chains;
};

// Used by one thread at a time (the ledger's writer); the hashing thread is its own.
class EntryHasher {
 public:
  EntryHasher();
  ~EntryHasher();  // stops the thread (any batch left is dropped)
  EntryHasher(const EntryHasher&) = delete;
  EntryHasher& operator=(const EntryHasher&) = delete;

  // Starts a batch that continues a log with this chain hash and Merkle range (entries go at seqs
  // range.size(), range.size() + 1, ...), dropping whatever the last batch left.
  void begin(const Digest& chain, merkle::CompactRange range, std::uint64_t chain_legacy);
  // Queues the next entry; its header and wire form are copied. Entries are handed to the
  // thread kBlock at a time; a batch's last few are hashed by sync() itself.
  void add(const EntryHeader& header, ByteView wire);
  // Waits until every entry added so far is hashed and returns the batch's hashes (valid until
  // the next call of any method). add() may go on afterwards. Throws std::runtime_error if the
  // hashing failed.
  const BatchHashes& sync();

  // Each block handed over may wake the thread (a futex call and a context switch): 256 entries a
  // block, not 32 (until 2026-12-04), took a 1M drain's context switches from ~26k to ~9k in 4 s
  // of its polls (docs/PERFORMANCE.md §5.31). A batch hashes its last fewer than 256 itself
  // before its commit: at most ~0.15 ms of one core, beside the commit's ~1 ms of flushes.
  static constexpr std::size_t kBlock = 256;
  // Blocks queued at most: add() waits for the thread beyond (2,048 entries, ~1 MB).
  static constexpr std::size_t kMaxQueued = 8;

 private:
  // Entries handed over together: each one's header ‖ wire, end to end.
  struct Block {
    Bytes data;
    std::vector<std::size_t> ends;
    void clear() {
      data.clear();
      ends.clear();
    }
  };
  void hash(const Block& b);  // into out_; by one thread at a time
  void sync_idle();           // waits until the thread has nothing to do
  void run();

  std::uint64_t chain_legacy_ = 0;
  BatchHashes out_;                 // touched by the thread only while busy_ or queued_
  std::unique_ptr<Block> filling_;  // the caller's
  std::mutex mu_;
  std::condition_variable work_, done_;        // a block queued; a block hashed
  std::deque<std::unique_ptr<Block>> queued_;  // GUARDED_BY(mu_), oldest first
  std::vector<std::unique_ptr<Block>> spare_;  // GUARDED_BY(mu_)
  bool busy_ = false, stop_ = false;           // GUARDED_BY(mu_)
  std::string failed_;                         // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace govcredit
