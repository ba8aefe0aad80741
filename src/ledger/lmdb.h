// A thin RAII layer over LMDB (lmdb.h), internal to src/ledger.
//
// LMDB's caveats, restated because every caller must respect them:
// - A transaction belongs to one thread. We open the environment with MDB_NOTLS, so a read-only
//   transaction may move between threads, but it is never used by two threads at once.
// - Only one write transaction exists at a time per environment (LMDB serialises them with a
//   mutex); keep them short and never open a second one on the same thread.
// - Keep read transactions short: a long reader pins old pages and makes the file grow.
// - Data returned in an MDB_val points into the memory map and is valid only until the next
//   update operation in that transaction or the end of the transaction. Copy it out first.
// - mdb_env_set_mapsize() may only run while this process has no transaction open; Env::write()
//   grows the map on MDB_MAP_FULL by aborting, resizing under an exclusive lock, and retrying
//   the whole write function, so write functions must be safe to run again (they are: nothing
//   they did survives the abort).
// - Durability: by default a committed write transaction is on disk when commit returns (LMDB
//   flushes its pages, then writes the meta page that makes them current through a descriptor
//   opened with O_DSYNC: two device flushes). With MDB_NOMETASYNC (EnvOptions::defer_meta_sync)
//   the meta page is written without the second flush and reaches the disk with the next
//   commit's flush of its pages, or mdb_env_sync(): a crash of the machine may undo the last
//   commit, never corrupt the file (LMDB does not reuse the pages of the last two commits).
//   With MDB_NOSYNC neither flush happens; a crash may lose recent commits, still without
//   corruption as long as the disk writes pages in order (not guaranteed).
// - A new environment's data file is made under a temporary name, flushed and renamed into place
//   (Env's constructor), so that a machine crash during its creation cannot leave a file holding
//   only some of its meta pages, which LMDB would refuse to open ever again.
// - Never open the same environment twice in one process (LMDB's lock file would deadlock).
//
// Errors surface as LmdbError exceptions inside src/ledger only; the Ledger catches them at its
// public boundary and returns Status values.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "govcredit/types.h"

namespace govcredit::lmdb {

struct LmdbError : std::runtime_error {
  LmdbError(int code, const std::string& what)
      : std::runtime_error(what + ": " + mdb_strerror(code)), code(code) {}
  int code;
};

inline void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw LmdbError(rc, what);
}

inline MDB_val val(ByteView b) {
  return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())};
}
inline MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline ByteView view(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}

// A u64 as 8 big-endian bytes: keys whose bytewise order is numeric order.
struct BeKey {
  std::uint8_t b[8];
  explicit BeKey(std::uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<std::uint8_t>(v);
  }
  MDB_val val() { return MDB_val{8, b}; }
  static std::uint64_t decode(const MDB_val& v) {
    std::uint64_t x = 0;
    auto* p = static_cast<const std::uint8_t*>(v.mv_data);
    for (std::size_t i = 0; i < 8 && i < v.mv_size; ++i) x = x << 8 | p[i];
    return x;
  }
};

class Txn {
 public:
  Txn(MDB_env* env, bool write);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  MDB_txn* get() const { return txn_; }
  // nullopt when the key is absent. The view is valid until the next write or the txn's end.
  std::optional<ByteView> find(MDB_dbi dbi, MDB_val key) const;
  void put(MDB_dbi dbi, MDB_val key, MDB_val data, unsigned flags = 0);
  bool erase(MDB_dbi dbi, MDB_val key);
  // Removes every key of the database (mdb_drop with del = 0).
  void clear(MDB_dbi dbi);
  std::size_t count(MDB_dbi dbi) const;
  // Bytes of the pages the database holds (branch, leaf and overflow pages × page size).
  std::uint64_t bytes(MDB_dbi dbi) const;
  void commit();

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(const Txn& txn, MDB_dbi dbi);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Positions at the first key >= key (MDB_SET_RANGE), or the first key when key is null.
  bool seek(const MDB_val* key);
  bool next();
  bool last();
  bool prev();
  const MDB_val& key() const { return key_; }
  const MDB_val& value() const { return val_; }
  // mdb_cursor_put (a write transaction's cursor). With MDB_APPEND on a cursor left at the last
  // key by the previous put, LMDB skips the search from the root that mdb_put does every time.
  void put(MDB_val key, MDB_val data, unsigned flags = 0);
  // The same with MDB_RESERVE: returns where to write the value's size bytes.
  std::uint8_t* reserve(MDB_val key, std::size_t size, unsigned flags = 0);

 private:
  bool op(MDB_cursor_op o, const MDB_val* key = nullptr);
  MDB_cursor* cur_ = nullptr;
  MDB_val key_{}, val_{};
};

struct EnvOptions {
  std::size_t initial_map_size = std::size_t{1} << 30;
  unsigned max_dbs = 32;
  bool no_sync = false;  // trade durability of the last commits for speed; off by default
  // MDB_NOMETASYNC: a commit's meta page reaches the disk with the next commit or sync().
  bool defer_meta_sync = false;
};

class Env {
 public:
  // Creates dir if needed and opens the environment in it.
  Env(const std::string& dir, const EnvOptions& options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* get() const { return env_; }
  // Opens (creating if needed) a named database. Call once per name, before concurrent use.
  MDB_dbi open_db(const char* name);
  // The same for several names, in one transaction.
  std::vector<MDB_dbi> open_dbs(const std::vector<std::string>& names);

  // Runs fn in a write transaction and commits it. On MDB_MAP_FULL the transaction is aborted,
  // the map doubled and fn run again from scratch. Returns the committed transaction's id, or 0
  // when it wrote nothing (LMDB then commits nothing).
  std::uint64_t write(const std::function<void(Txn&)>& fn);
  // Runs fn in a read-only transaction.
  void read(const std::function<void(const Txn&)>& fn) const;
  std::size_t map_size() const;
  // Doubles the map until it is at least `bytes` (address space: the file grows only with use),
  // so that a large write does not fill it half-way and run again.
  void reserve(std::size_t bytes);
  // Bytes of the data file in use (last page number × page size).
  std::uint64_t used_bytes() const;
  // Bytes of the pages on LMDB's free list, as of the last commit: pages a write may take
  // before it grows the file (those the last two commits freed only once no snapshot holds
  // them).
  std::uint64_t free_bytes() const;
  // The id of the last committed write transaction (0 for a new environment, and should LMDB
  // fail to say, which it does only for a null environment).
  std::uint64_t last_txnid() const noexcept;
  // The id of the last write transaction known to be on disk: every commit's, by default; with
  // defer_meta_sync the one before the last commit (whose flush carried its meta page), or
  // the last one after sync(); with no_sync the last one after sync(). Starts at the last
  // committed one when the environment is opened.
  std::uint64_t synced_txnid() const { return synced_txnid_.load(); }
  // Puts every committed transaction on disk (mdb_env_sync with force); a no-op when
  // synced_txnid() is already the last. May run beside a writer on another thread.
  void sync();
  // For tests: the next n write transactions are aborted at their commit as if it had filled
  // the map (MDB_MAP_FULL), so that write() runs them again — the case a commit that allocates
  // the free list's pages can meet, too rare to arrange otherwise.
  void fail_commits_as_full(int n) { fail_commits(n, MDB_MAP_FULL); }
  // For tests: the next n write transactions fail at their commit with `code`; write() throws
  // it (EIO: as a commit on a failing disk does), or runs them again on a larger map
  // (MDB_MAP_FULL).
  void fail_commits(int n, int code) {
    failing_code_ = code;
    failing_commits_ = n;
  }

 private:
  void grow();
  MDB_env* env_ = nullptr;
  std::atomic<int> failing_commits_{0}, failing_code_{MDB_MAP_FULL};
  bool no_sync_ = false, defer_meta_sync_ = false;
  std::atomic<std::uint64_t> synced_txnid_{0};
  std::mutex sync_mu_;  // one sync() at a time
  // Shared by every transaction; exclusive while the map is resized.
  mutable std::shared_mutex resize_mu_;
};

// Puts the next `bytes` of the data file past its used part into the page cache, on a thread of
// its own, until destroyed: the file is extended over them with fallocate (blocks allocated,
// unwritten, read as zeros; LMDB never reads or writes past its last used page) and they are
// read, which makes the kernel put zeroed pages for them in the page cache without reading the
// disk. A large commit that grows the file then copies its pages into page-cache pages that
// already exist instead of taking new ones on the committing thread (PERFORMANCE.md §5.43). The
// thread runs at SCHED_IDLE: only when a core has nothing else to run. Any error stops the
// filling, silently: it only ever saves time. The file keeps the extended part (zeros the next
// writes fill) when less is written than was filled. It must not outlive the Env.
class PageCacheFill {
 public:
  PageCacheFill(const Env& env, std::uint64_t bytes);
  ~PageCacheFill() { finish(); }
  PageCacheFill(const PageCacheFill&) = delete;
  PageCacheFill& operator=(const PageCacheFill&) = delete;
  // Stops the filling and waits for the thread; returns the bytes filled. Idempotent.
  std::uint64_t finish();

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> filled_{0};
  std::thread thread_;
};

}  // namespace govcredit::lmdb
