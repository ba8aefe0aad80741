// The ledger: one shard's append-only, hash-chained, Merkle-tree log in LMDB
// (docs/LEDGER_FORMAT.md). A Ledger object owns one shard's LMDB environment.
//
// Thread-safety: read methods (head, get, scan, proofs, checkpoints, verify) may run
// concurrently with each other and with one writer. write() and make_checkpoint() must be
// called from one thread at a time (the ingest thread); LMDB would serialise them anyway, but the
// in-memory head is only updated by the writer.
//
// Errors: no exception leaves this interface. Storage failures are kStorageError; absent data is
// kNotFound; arguments out of range are kInvalidArgument.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "govcredit/checkpoint.h"
#include "govcredit/registry.h"
#include "govcredit/side.h"
#include "govcredit/status.h"
#include "govcredit/types.h"

namespace govcredit {

// When a committed write reaches the disk.
enum class Durability {
  // write() returns once its transaction is on disk: LMDB flushes the transaction's pages, then
  // writes the meta page that makes them current through a descriptor opened with O_DSYNC (two
  // device flushes a commit).
  kOnReturn,
  // write() returns once the transaction's pages are on disk and the transaction is visible to
  // readers; its meta page reaches the disk with the next commit's flush of its pages, sync(),
  // or the Ledger's close (LMDB's MDB_NOMETASYNC; one device flush a commit, the meta page's
  // taken out of the writer's way). A crash of the machine before then (not of the process: the
  // kernel still holds the page) undoes that last transaction, whole, and never corrupts the
  // file. For a shard fed from Kafka, whose ingest position is in the same transaction, that
  // transaction is consumed again and appended identically; a writer whose callers need the
  // disk before they answer asks durable_size() or calls sync().
  kByNextCommit,
};

struct LedgerOptions {
  // Checkpoint origin is "govcredit/<name>/shard/<partition>".
  std::string name = "local";
  // The LMDB map starts this large and doubles whenever it fills; the file only grows with use.
  std::size_t initial_map_size = std::size_t{1} << 30;
  Durability durability = Durability::kOnReturn;
  // Skip fsync at commit: faster, but a crash may lose the last commits (for tests and
  // benchmarks). Overrides durability.
  bool no_sync = false;
};

// One log entry, copied out of LMDB.
struct Entry {
  Seq seq;
  Partition partition;
  KafkaOffset offset;
  Bytes wire;  // the event's wire form

  // The Merkle leaf data: version ‖ seq ‖ partition ‖ offset ‖ wire (LEDGER_FORMAT.md §2).
  Bytes leaf_data() const;
};

// The entry a Merkle leaf's data holds (without its chain hash): the inverse of leaf_data(), for
// verifiers that hold only proofs. kCorrupt for bytes that are no leaf.
Result<Entry> entry_from_leaf_data(ByteView leaf);

// The chain hash through `entry`, given the chain hash through the entry before it (32 zero
// bytes before seq 0): H("govcredit/chain/v1" 0x00 ‖ prev ‖ leaf hash) (LEDGER_FORMAT.md §2).
Digest next_entry_hash(const Digest& prev, const Entry& entry);

struct Head {
  std::uint64_t size = 0;  // number of entries; the next seq
  Digest chain;            // entry_hash of the last entry, zeros when empty
  Digest root;             // Merkle root of all entries
};

// What happened to one appended item. Appending is idempotent (Kafka redelivers).
enum class AppendOutcome {
  kAppended,        // new entry at seq
  kAlreadyPresent,  // the identical event is already at seq; nothing written
  kConflict,        // another event with this id is at seq; nothing written
};
struct AppendResult {
  AppendOutcome outcome;
  Seq seq;
};

struct AppendItem {
  ByteView wire;
  EventId id;
  bool registry_event = false;  // indexed for a fast registry rebuild at open
  Partition partition;
  KafkaOffset offset;
};

struct Rejection {
  std::uint64_t number = 0;
  std::string reason;
  std::string message;
  Partition partition;
  KafkaOffset offset;
  Timestamp received_at;
  Digest sha256;
  std::uint64_t size = 0;
  std::optional<EventId> event_id;
};

// The rejection as one JSON object: the journal's stored form (docs/LEDGER_FORMAT.md §7).
std::string to_json(const Rejection& r);

struct InclusionProof {
  Seq seq;
  std::uint64_t tree_size = 0;
  Bytes leaf_data;  // the entry, so the verifier can hash it and find the event inside
  std::vector<Digest> path;
  Digest root;
};

struct VerifyOptions {
  bool signatures = false;                 // also decode and check every event against the registry
  std::optional<Checkpoint> checkpoint{};  // also compare the root at its size
  const PublicKey* checkpoint_key = nullptr;  // and check its signature
  std::function<void(std::uint64_t done, std::uint64_t total)> progress{};
  // The structure is checked in parallel chunks of 2^chunk_level entries; by default about eight
  // chunks per core, of 2^12 to 2^20 entries (tests set small ones).
  std::optional<std::uint32_t> chunk_level{};
  // With signatures, the entries are checked in windows of this many (signatures on every core,
  // then the rules in order); by default 2048 (tests set small ones).
  std::optional<std::size_t> signature_window{};
};

struct VerifyReport {
  bool ok = true;
  std::uint64_t entries = 0;
  Head head;
  std::optional<Seq> first_bad;  // the first entry found wrong, when one is
  Status problem;                // the first problem found
};

class Ledger {
 public:
  // Opens (creating if needed) the shard in dir for partition. An existing shard must belong to
  // the same partition (kInvalidArgument otherwise).
  static Result<std::unique_ptr<Ledger>> open(const std::string& dir, Partition partition,
                                              const LedgerOptions& options = {});
  ~Ledger();

  // One write transaction. Everything a Batch does commits together or not at all.
  class Batch {
   public:
    virtual ~Batch() = default;
    // If the id is in the shard (committed or appended earlier in this batch): its seq, and
    // whether the stored event's wire bytes equal `wire` (a re-send) or not (a conflict).
    virtual std::optional<std::pair<Seq, bool>> find_event(const EventId& id, ByteView wire) = 0;
    virtual AppendResult append(const AppendItem& item) = 0;
    // A hint: these ids are about to go to find_event or append, so the shard may start fetching
    // what their look-ups read (the id filter's blocks) now, many at once, instead of one cache
    // miss at a time as each comes. Changes no result; may be called with any ids, or not at all.
    // The ingest hands the next kExpectAhead ids every kExpectAhead appends: a few hundred cache
    // lines, fetched while the ids before them are appended (PERFORMANCE.md §5.44).
    virtual void expect(std::span<const EventId> ids) { (void)ids; }
    static constexpr std::size_t kExpectAhead = 256;
    // Journals a rejected message (never touches the log).
    virtual void reject(Rejection r) = 0;
    // The next source offset to consume after this batch.
    virtual void set_next_offset(KafkaOffset next) = 0;
    // The log's size with this batch's entries so far: the next seq.
    virtual std::uint64_t size() const = 0;
    // The head with this batch's entries so far. Waits for their hashes (which are computed
    // beside the batch), so size() is the cheaper way to the size alone.
    virtual Head head() const = 0;
    // The side tables (projections), in this same transaction.
    virtual SideWriter& side() = 0;
  };
  // Runs fn in one write transaction and commits when it returns ok. If fn fails nothing is
  // written. fn may run more than once (when the map must grow); it must not keep side effects
  // of a failed attempt.
  Status write(const std::function<Status(Batch&)>& fn);

  // Runs fn with the side tables in one read transaction (a consistent snapshot).
  Status read_side(const std::function<Status(const SideReader&)>& fn) const;
  // Runs fn in one write transaction touching only side tables; commits when it returns ok.
  // Like write(), fn may run more than once.
  Status write_side(const std::function<Status(SideWriter&)>& fn);

  // Claims the shard for writing by this Ledger object: an exclusive lock on DIR/writer.lock,
  // held until the Ledger closes. Ingest and rebuilds claim it first, so two processes never
  // append to, or rebuild the projections of, one shard at once (the domain rules read the
  // projections; a rebuild under a running ingest would feed them half-built state).
  // Idempotent; kIoError naming the problem when another process holds the shard.
  Status claim_writer();

  // Puts every committed transaction on disk (with Durability::kByNextCommit or no_sync: the
  // last commit's meta page and pages; otherwise a no-op). Safe beside a writer on another
  // thread; cheap when nothing is pending.
  Status sync();
  // The log's size as far as it is on disk: head().size with Durability::kOnReturn; with
  // kByNextCommit the size before the last write until another commit or sync(); with no_sync
  // the size at the last sync(). At open, the size found.
  std::uint64_t durable_size() const;

  Partition partition() const;
  const std::string& origin() const;
  Head head() const;
  // The next source offset to consume (0 for a new shard).
  KafkaOffset next_offset() const;

  Result<Entry> get(Seq seq) const;
  Result<Entry> get_by_event(const EventId& id) const;
  // Calls fn for entries [from, to) in order until it returns false. The Entry passed is valid
  // only during the call (one is reused for the whole scan).
  Status scan(Seq from, Seq to, const std::function<bool(const Entry&)>& fn) const;
  // The same without copying each entry: fn sees the seq and the event's wire form where LMDB
  // holds it, valid only during the call (a rebuild decodes straight from there).
  Status scan_wire(Seq from, Seq to, const std::function<bool(Seq, ByteView wire)>& fn) const;
  // The chain hash through entry seq (LEDGER_FORMAT.md §2). The log stores it for every 1024th
  // entry; for another it is hashed on from the last stored one (≤ 1023 entries read).
  Result<Digest> entry_hash(Seq seq) const;

  Result<Digest> root_at(std::uint64_t size) const;
  Result<InclusionProof> inclusion_proof(Seq seq, std::uint64_t tree_size) const;
  Result<std::vector<Digest>> consistency_proof(std::uint64_t size1, std::uint64_t size2) const;

  // Signs the current head with key and stores the checkpoint. Idempotent per size and key: a
  // checkpoint stored at this size is returned as it is when key signed it, and with key's
  // signature added (stored so) when another key did.
  Result<Checkpoint> make_checkpoint(const PrivateKey& key, Timestamp now);
  // Every stored checkpoint, by size. A stored note that does not parse is kCorrupt.
  Result<std::vector<Checkpoint>> checkpoints() const;
  // The checkpoint at this tree size, or nullopt when none was made.
  Result<std::optional<Checkpoint>> checkpoint_at(std::uint64_t size) const;

  Result<std::vector<Rejection>> rejections(std::uint64_t from = 0, std::size_t limit = 1000) const;
  std::uint64_t rejection_count() const;

  // The registry as of the end of the log (from the registry events, in order).
  Result<Registry> load_registry() const;

  // Recomputes the chain, the Merkle tree and the event index from the entries and compares
  // them with what is stored (LEDGER_FORMAT.md §9). Never stops at the first error silently:
  // the report names the first bad seq and what was wrong.
  VerifyReport verify(const VerifyOptions& options = {}) const;

  // Bytes of the data file in use.
  std::uint64_t store_bytes() const;
  // Filling the page cache ahead of a write that replaces every side table (a rebuild of the
  // projections). Such a write puts a whole new copy of the tables into the file before its
  // commit frees the old one; the part LMDB's free list cannot hold grows the file. This puts
  // that part of the file into the page cache now, on a thread of its own, so that the commit
  // copies its pages into page-cache pages that are already there (PERFORMANCE.md §5.43). The
  // thread runs only when a core is otherwise idle (SCHED_IDLE). It never fails: it only ever
  // saves time, and stops at the first error. Nothing is filled (a null handle) when that part
  // is under `at_least` bytes. Side tables that hold nothing yet (a log whose projections were
  // never built) have no copy to size that part from: it is then taken as `if_none` bytes, the
  // caller's estimate (0: nothing filled). The file keeps what was filled past its used part
  // (zeros that the next writes fill) should less be written. The handle must not outlive this
  // Ledger.
  class PageCacheFill {
   public:
    virtual ~PageCacheFill() = default;  // stops the filling, as finish()
    // Bytes it set out to fill: the side tables' pages (or `if_none`) less the free list's.
    virtual std::uint64_t planned() const = 0;
    // Stops the filling and waits for its thread; returns the bytes filled. Call it before the
    // write (filling beside LMDB's commit would only contend with it). Idempotent.
    virtual std::uint64_t finish() = 0;
  };
  std::unique_ptr<PageCacheFill> fill_page_cache_for_side_copy(std::uint64_t at_least,
                                                               std::uint64_t if_none = 0) const;
  // Grows the LMDB map, when needed, so that the shard has room for `bytes` more than the file
  // uses now. The map is address space, not disk: the file grows only with use. A write that
  // fills the map is otherwise aborted and run again, whole, on a map twice as large.
  Status make_room(std::uint64_t bytes);
  // For tests: the next n writes (write, write_side, rebuilds) meet a full map at their commit,
  // as a commit can when it allocates the free list's pages, and are run again on a larger map.
  void fail_commits_as_full_for_testing(int n);
  // For tests: the next n writes fail at their commit with an I/O error, as on a failing disk;
  // each returns Reason::kStorageError and changes nothing.
  void fail_commits_for_testing(int n);
  // For tests: how many of this handle's write-batch look-ups of an id (an append's re-send
  // check, the projections' look-up of the entry that created an object) searched the event
  // index's runs, that is, got past the writer's filter and the batch's own ids.
  std::uint64_t index_searches_for_testing() const;
  // For tests: how many times a full filter was replaced by one built beside the writer.
  std::uint64_t filters_built_beside_for_testing() const;

  // Opaque: defined in src/ledger/ledger_impl.h; callers never see it.
  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govcredit
